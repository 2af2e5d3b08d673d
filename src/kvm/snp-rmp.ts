/**
 * SEV-SNP's Reverse Map Table, for the pages guest_memfd hands out: one entry per page,
 * in three states (arch/x86/kvm/svm/sev.c, arch/x86/virt/svm/sev.c):
 *
 * - shared: hypervisor-owned, the state a page is allocated in; the host may write it.
 * - private: assigned to the guest by rmp_make_private(..., immutable = false) in
 *   sev_gmem_prepare(), when a fault (or a pre-fault) first maps the page; the guest
 *   validates it later with PVALIDATE.
 * - validated: assigned by sev_gmem_post_populate() (KVM_SEV_SNP_LAUNCH_UPDATE) after it
 *   copied the initial contents in: rmp_make_private(..., immutable = true), then the
 *   firmware's SNP_LAUNCH_UPDATE measures and validates it.
 *
 * A host write to a page whose entry is assigned is an RMP #PF in the host.
 */

import type { Vm } from './vm.js';
import * as S from './shm.js';

export const RMP_SHARED = 0;
export const RMP_PRIVATE = 1;
export const RMP_VALIDATED = 2;
export type RmpState = typeof RMP_SHARED | typeof RMP_PRIVATE | typeof RMP_VALIDATED;
export const RMP_STATE_NAMES = ['shared', 'private (assigned, not validated)', 'private (validated by SNP_LAUNCH_UPDATE)'] as const;

/** snp_lookup_rmpentry() for the page at guest_memfd index `index`. */
export function rmpState(vm: Vm, index: number): RmpState {
  return S.load(vm.i32, vm.layout.gmemRmpBase + index) as RmpState;
}

/** rmp_make_private() / firmware validation: the entry's new state. */
export function rmpSet(vm: Vm, index: number, state: RmpState): void {
  S.store(vm.i32, vm.layout.gmemRmpBase + index, state);
}

/**
 * sev_gmem_prepare(), from kvm_gmem_get_pfn() on an SNP VM: an entry already assigned is
 * left alone; a shared one becomes private (assigned, immutable = false).
 */
export function sevGmemPrepare(vm: Vm, index: number): void {
  if (rmpState(vm, index) === RMP_SHARED) rmpSet(vm, index, RMP_PRIVATE);
}
