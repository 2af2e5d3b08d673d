/**
 * Each vCPU's TLB: a small direct-mapped cache of 4K translations (gfn → pfn, W, X) that
 * hardware fills on a successful walk and uses without looking at the SPTEs again, until
 * the vCPU flushes it (KVM_REQ_TLB_FLUSH, or loading a new root). The entry keeps the
 * host page's generation at fill time, so a guest access through a stale entry to a page
 * the host has since freed is detected as a use-after-free.
 *
 * Beside it, the paging-structure cache (Intel SDM "paging-structure caches", the PDE
 * cache): per 2 MiB region, the last-level table a walk went through, which a later walk
 * for another gfn of the region may start from instead of the root. A flush drops it with
 * the TLB; so does an EPT violation for the gfn it translated (SDM: the violation
 * invalidates the mappings used to translate that address). It is why unlinking a table
 * needs a flush before the table is freed: kvm_flush_remote_tlbs_gfn() after a fault
 * replaced a table by a huge SPTE, the flush of recover-huge, the kick before an invalid
 * root is zapped.
 *
 * kvm_flush_remote_tlbs() / kvm_flush_remote_tlbs_gfn(): request a flush on every vCPU.
 */

import { gfnHi, gfnLo } from './address-space.js';
import { TLB_ENTRIES } from './limits.js';
import { TLBE, tlbWord } from './layout.js';
import { KVM_REQ_TLB_FLUSH, kvmMakeAllCpusRequest } from './requests.js';
import type { Vm } from './vm.js';
import * as S from './shm.js';

export const TLB_FLAG_W = 1;
export const TLB_FLAG_X = 2;
/** The entry holds a translation (cleared by a flush). */
export const TLB_FLAG_VALID = 4;
/** The translation is to a private (guest_memfd) page: a shared access must not hit it. */
export const TLB_FLAG_PRIVATE = 8;

/** The entry index for `gfn` if it caches it, else -1. */
export function tlbLookup(vm: Vm, vcpu: number, gfn: number): number {
  const e = gfn & (TLB_ENTRIES - 1);
  const w = tlbWord(vm.layout, vcpu, e, 0);
  if ((S.load(vm.i32, w + TLBE.FLAGS) & TLB_FLAG_VALID) === 0) return -1;
  if (S.load(vm.i32, w + TLBE.GFN) !== gfnLo(gfn)) return -1;
  return S.load(vm.i32, w + TLBE.GFN_HI) === gfnHi(gfn) ? e : -1;
}

export function tlbFill(vm: Vm, vcpu: number, gfn: number, pfn: number, flags: number, pfnGen: number): void {
  const i32 = vm.i32;
  const w = tlbWord(vm.layout, vcpu, gfn & (TLB_ENTRIES - 1), 0);
  S.store(i32, w + TLBE.FLAGS, 0);
  S.store(i32, w + TLBE.GFN, gfnLo(gfn));
  S.store(i32, w + TLBE.GFN_HI, gfnHi(gfn));
  S.store(i32, w + TLBE.PFN, pfn);
  S.store(i32, w + TLBE.PFN_GEN, pfnGen);
  S.store(i32, w + TLBE.FLAGS, flags | TLB_FLAG_VALID);
}

/** A TLB entry's translation, read into `out` (a caller on the access path passes its own: no allocation per TLB hit). */
export function tlbEntry(vm: Vm, vcpu: number, e: number, out: TlbEntry = { pfn: 0, flags: 0, pfnGen: 0 }): TlbEntry {
  const i32 = vm.i32;
  const w = tlbWord(vm.layout, vcpu, e, 0);
  out.pfn = S.load(i32, w + TLBE.PFN);
  out.flags = S.load(i32, w + TLBE.FLAGS) & ~TLB_FLAG_VALID;
  out.pfnGen = S.load(i32, w + TLBE.PFN_GEN);
  return out;
}

export interface TlbEntry {
  pfn: number;
  flags: number;
  pfnGen: number;
}

/** kvm_vcpu_flush_tlb_guest() / the flush on loading a new root: drop every entry, and the paging-structure cache. */
export function tlbFlushAll(vm: Vm, vcpu: number): void {
  for (let e = 0; e < TLB_ENTRIES; e++) {
    S.store(vm.i32, tlbWord(vm.layout, vcpu, e, TLBE.FLAGS), 0);
    S.store(vm.i32, tlbWord(vm.layout, vcpu, e, TLBE.PSC_TABLE), 0);
  }
}

/** The 2 MiB region of a gfn: the key of the paging-structure cache (below 2^31: one word). */
function pscRegion(gfn: number): number {
  return Math.floor(gfn / 512);
}

/** The last-level table cached for `gfn`'s 2 MiB region, or 0. */
export function pscLookup(vm: Vm, vcpu: number, gfn: number): number {
  const region = pscRegion(gfn);
  const w = tlbWord(vm.layout, vcpu, region & (TLB_ENTRIES - 1), 0);
  const table = S.load(vm.i32, w + TLBE.PSC_TABLE);
  if (table === 0) return 0;
  return S.load(vm.i32, w + TLBE.PSC_REGION) === region ? table : 0;
}

/** The SPTE word the cached table of `gfn`'s region was linked under when cached (valid after a hit). */
export function pscParentWord(vm: Vm, vcpu: number, gfn: number): number {
  return S.load(vm.i32, tlbWord(vm.layout, vcpu, pscRegion(gfn) & (TLB_ENTRIES - 1), TLBE.PSC_PARENT)) - 1;
}

/** A walk that reached a 4K leaf in `table` (linked under `parentWord`) caches the table for its region. */
export function pscFill(vm: Vm, vcpu: number, gfn: number, table: number, parentWord: number): void {
  const region = pscRegion(gfn);
  const i32 = vm.i32;
  const w = tlbWord(vm.layout, vcpu, region & (TLB_ENTRIES - 1), 0);
  S.store(i32, w + TLBE.PSC_TABLE, 0);
  S.store(i32, w + TLBE.PSC_REGION, region);
  S.store(i32, w + TLBE.PSC_PARENT, parentWord + 1);
  S.store(i32, w + TLBE.PSC_TABLE, table);
}

/** The EPT violation for `gfn` drops the paging-structure cache entry its walk used. */
export function pscDrop(vm: Vm, vcpu: number, gfn: number): void {
  if (pscLookup(vm, vcpu, gfn) !== 0) S.store(vm.i32, tlbWord(vm.layout, vcpu, pscRegion(gfn) & (TLB_ENTRIES - 1), TLBE.PSC_TABLE), 0);
}

/**
 * kvm_flush_remote_tlbs(): KVM_REQ_TLB_FLUSH on every vCPU, waiting (KVM_REQUEST_WAIT) for
 * every vCPU that was in guest mode to leave it: a guest access already past its request
 * check finishes before the flush returns, and the next one sees the request.
 */
export function kvmFlushRemoteTlbs(vm: Vm): void {
  kvmMakeAllCpusRequest(vm, KVM_REQ_TLB_FLUSH, true);
}

/** kvm_flush_remote_tlbs() issued by an actor's step, counted in its statistics. */
export function actorFlushRemoteTlbs(a: { readonly vm: Vm; readonly stats: { flushes: number } }): void {
  a.stats.flushes++;
  kvmFlushRemoteTlbs(a.vm);
}
