/**
 * KVM_SEV_SNP_LAUNCH_UPDATE (arch/x86/kvm/svm/sev.c snp_launch_update() →
 * kvm_gmem_populate() → sev_gmem_post_populate()), one page per pass:
 *
 *   lookup  __kvm_gmem_get_pfn(); snp_lookup_rmpentry(): an assigned entry is -EEXIST
 *   copy    kmap_local_pfn(); copy_from_user(): the host writes the page
 *   update  rmp_make_private(..., immutable = true); SNP_LAUNCH_UPDATE validates it
 *
 * Nothing holds the page against a fault between lookup and copy: a (pre-)fault that
 * reaches kvm_gmem_get_pfn() there runs sev_gmem_prepare(), which assigns the entry, and
 * the copy is then a host write to a guest-owned page — an RMP #PF (R10).
 */

import type { KvmActor } from './actor.js';
import { gmemGetPfn } from './host.js';
import { KVM_MEM_GUEST_MEMFD, SlotInfo, gfnToMemslot, memslotsActiveSet } from './memslots.js';
import type { SnpLaunchUpdateOp } from './ops.js';
import { RMP_SHARED, RMP_STATE_NAMES, RMP_VALIDATED, rmpSet, rmpState } from './snp-rmp.js';

/** Argument checks: an SNP VM, and a range inside one guest_memfd memslot; else -EINVAL. */
export function beginSnpLaunchUpdate(a: KvmActor, op: SnpLaunchUpdateOp): void {
  const p = a.populate;
  p.gfn = Math.floor(op.gpa / 4096);
  p.end = p.gfn + Math.ceil(op.size / 4096);
  p.pages = 0;
  p.errno = null;
  const s = new SlotInfo();
  const ok = a.vm.type === 'snp' && op.size > 0 && gfnToMemslot(a.vm, memslotsActiveSet(a.vm), p.gfn, s)
    && (s.flags & KVM_MEM_GUEST_MEMFD) !== 0 && p.end <= s.baseGfn + s.npages;
  if (!ok) {
    p.errno = 'EINVAL';
    return;
  }
  p.index = s.gmemBase + (p.gfn - s.baseGfn);
}

export function populateFailed(a: KvmActor): boolean {
  return a.populate.errno !== null;
}

export function populateDone(a: KvmActor): boolean {
  return a.populate.gfn >= a.populate.end;
}

/** snp_lookup_rmpentry(): the entry is no longer in its initial shared state. */
export function rmpEntryAssigned(a: KvmActor): boolean {
  return rmpState(a.vm, a.populate.index) !== RMP_SHARED;
}

/** __kvm_gmem_get_pfn(): the page, without preparing it (populate does its own RMP update). */
export function populateGetPfn(a: KvmActor): void {
  a.populate.pfn = gmemGetPfn(a.vm, a.populate.index);
}

/** copy_from_user() into kmap_local_pfn(pfn): a host write, legal only while the entry is shared. */
export function populateCopy(a: KvmActor): void {
  const p = a.populate;
  const st = rmpState(a.vm, p.index);
  if (st === RMP_SHARED) return;
  a.report('rmp-fault', `${a.name}'s sev_gmem_post_populate() writes pfn 0x${p.pfn.toString(16)} (gfn 0x${p.gfn.toString(16)}) with copy_from_user() after its RMP entry became ${RMP_STATE_NAMES[st]}: an RMP #PF in the host — a fault assigned the page between the lookup and the copy`, { gfn: p.gfn, pfn: p.pfn });
}

/** rmp_make_private(..., immutable = true) and SNP_LAUNCH_UPDATE: measured and validated; next page. */
export function populateUpdate(a: KvmActor): void {
  const p = a.populate;
  rmpSet(a.vm, p.index, RMP_VALIDATED);
  p.pages++;
  p.gfn++;
  p.index++;
}
