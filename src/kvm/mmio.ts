/**
 * Emulated MMIO on the TDP MMU: what a vCPU does when a guest access reaches an MMIO SPTE
 * (an EPT misconfiguration, error code PFERR_RSVD_MASK): handle_mmio_page_fault().
 *
 * A fault that finds no memslot for its gfn installs an MMIO SPTE carrying the memslot
 * generation (make_mmio_spte) and caches the gfn in the vCPU's MMIO info
 * (vcpu_cache_mmio_info from kvm_handle_noslot_fault). Neither is zapped when a memslot
 * appears later — creating a memslot zaps nothing —, so both are trusted only while the
 * generation they carry is the current one:
 *
 *   1. mmio_info_in_cache() → vcpu_match_mmio_gpa(): the cached gfn, with mmio_gen equal
 *      to the memslots' generation (flag included, so never during an update) → emulate;
 *   2. else the lockless walk to the SPTE (get_mmio_spte → kvm_tdp_mmu_get_walk under
 *      RCU); an MMIO SPTE whose generation check_mmio_spte() accepts (no update in
 *      progress, equal low 19 bits) → cache the gfn, emulate; one it rejects →
 *      RET_PF_INVALID, the full page fault (which finds the new memslot); no MMIO SPTE any
 *      more (zapped meanwhile) → RET_PF_RETRY, back into the guest.
 *
 * The KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS flag covers the window between publishing new
 * memslots and bumping the generation after synchronize_srcu(): within it neither check
 * passes, and vcpu_cache_mmio_info() does not cache (ddfd1730fd82, "KVM: x86/mmu: Do not
 * cache MMIO accesses while memslots are in flux"). Without it, a vCPU that already sees
 * the new memslots emulates a gfn they back as MMIO: the guest's write goes to the VMM as
 * an MMIO exit instead of to memory. That is the `stale-mmio` check here.
 */

import type { KvmActor } from './actor.js';
import { KVM_MEMSLOT_INVALID, SlotInfo, gfnToMemslot, memslotsActiveSet, memslotsGeneration, memslotsUpdateInProgress } from './memslots.js';
import { rcuReadLock, rcuReadUnlock } from './rcu.js';
import { MMIO_SPTE_GEN_MASK, isMmio, mmioGeneration } from './spte.js';
import { tdpFindLeaf } from './tdp-iter.js';
import { rootTable, vcpuRootSlot } from './tdp-mmu.js';
import { exitGfn, exitPageFaultInit } from './vcpu.js';

/**
 * vcpu_cache_mmio_info(): remember gfn as MMIO at the current generation — not while a
 * memslot update is in progress (the generation would be stale the moment it ends).
 */
export function vcpuCacheMmioInfo(a: KvmActor, gfn: number): void {
  if (memslotsUpdateInProgress(a.vm)) return;
  a.mmioGfn = gfn;
  a.mmioGen = memslotsGeneration(a.vm);
}

/** kvm_handle_noslot_fault() caches the faulting gfn (a private access fails before, with -EFAULT). */
export function faultCacheMmioInfo(a: KvmActor): void {
  vcpuCacheMmioInfo(a, a.fault.gfn);
}

/**
 * vcpu_match_mmio_gpa(): the cached gfn, at the current generation. mmio_gfn 0 means
 * nothing cached, so gfn 0 never matches (as in the kernel).
 */
export function mmioInfoInCache(a: KvmActor): boolean {
  const gfn = exitGfn(a);
  return a.mmioGfn !== 0 && a.mmioGfn === gfn && !memslotsUpdateInProgress(a.vm) && a.mmioGen === memslotsGeneration(a.vm);
}

/** get_mmio_spte(): the SPTE the vCPU's root maps the access's gfn with, read locklessly under RCU. */
export function getMmioSpte(a: KvmActor): void {
  const gfn = exitGfn(a);
  const slot = vcpuRootSlot(a.vm, a.actor);
  a.mmioLo = 0;
  a.mmioHi = 0;
  if (slot < 0 || gfn > a.vm.maxGfn) return;
  rcuReadLock(a.vm, a.actor);
  tdpFindLeaf(a.vm, rootTable(a.vm, slot), gfn, a.leaf);
  rcuReadUnlock(a.vm, a.actor);
  a.mmioLo = a.leaf.lo;
  a.mmioHi = a.leaf.hi;
}

/** is_mmio_spte() on what get_mmio_spte() read. */
export function isMmioSpte(a: KvmActor): boolean {
  return isMmio(a.mmioLo, a.mmioHi);
}

/** check_mmio_spte(): no memslot update in progress, and the SPTE's generation is the memslots' (low 19 bits). */
export function checkMmioSpte(a: KvmActor): boolean {
  if (memslotsUpdateInProgress(a.vm)) return false;
  return (memslotsGeneration(a.vm) & MMIO_SPTE_GEN_MASK) === mmioGeneration(a.mmioLo, a.mmioHi);
}

/** handle_mmio_page_fault() emulates: cache the gfn (vcpu_cache_mmio_info). */
export function cacheMmioInfoOfAccess(a: KvmActor): void {
  vcpuCacheMmioInfo(a, exitGfn(a));
}

/** RET_PF_INVALID: the full page fault for the access (kvm_mmu_do_page_fault with PFERR_RSVD_MASK; not present). */
export function mmioPageFault(a: KvmActor): void {
  exitPageFaultInit(a, false, false);
}

const checkSlot = new SlotInfo();

/**
 * The vCPU is about to emulate the access as MMIO on the strength of a generation it just
 * found current. With no update in progress, that means no memslot was published since the
 * MMIO SPTE or info was made — so the memslots must not back the gfn. If they do, the
 * access goes to the VMM as MMIO instead of to guest memory.
 */
export function checkMmioNotStale(a: KvmActor, via: string): void {
  // Read like a seqlock: on threads an update may publish between the reads; one that
  // started (or ran whole) meanwhile came after the vCPU's decision, which stands.
  const gen = memslotsGeneration(a.vm);
  if (memslotsUpdateInProgress(a.vm)) return;
  const gfn = exitGfn(a);
  if (!gfnToMemslot(a.vm, memslotsActiveSet(a.vm), gfn, checkSlot) || (checkSlot.flags & KVM_MEMSLOT_INVALID) !== 0) return;
  if (memslotsUpdateInProgress(a.vm) || memslotsGeneration(a.vm) !== gen) return;
  a.report('stale-mmio', `${a.name} emulates its access to gfn 0x${gfn.toString(16)} as MMIO (${via}, memslot generation ${memslotsGeneration(a.vm)} taken as current) while memslot ${checkSlot.id} backs that gfn: the guest's access goes to the VMM as an MMIO exit instead of to memory`, { gfn });
}
