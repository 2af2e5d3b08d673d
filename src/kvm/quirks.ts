/**
 * KVM quirks (arch/x86/kvm/x86.h kvm_check_has_quirk()): behaviours KVM keeps for old
 * userspace, on unless userspace disables them with KVM_CAP_DISABLE_QUIRKS2
 * (kvm->arch.disabled_quirks). The model has the quirks it reads, by name:
 *
 * - slot_zap_all (KVM_X86_QUIRK_SLOT_ZAP_ALL, 6.12): deleting or moving a memslot of a
 *   DEFAULT VM zaps every SPTE (kvm_mmu_zap_all_fast); disabled, only the slot's leaf
 *   SPTEs are zapped (set-memory-region.ts memslotFlushZapAll). Before 6.12 there is no
 *   quirk and every VM zaps all (kernel-release.ts slotZapOnlyWithQuirk).
 */

/** The quirks modelled, as scenario files name them. */
export const KVM_QUIRKS = ['slot_zap_all'] as const;
export type KvmQuirk = (typeof KVM_QUIRKS)[number];

/** kvm_check_has_quirk(): the quirk is on unless userspace disabled it. */
export function kvmCheckHasQuirk(disabledQuirks: readonly KvmQuirk[], quirk: KvmQuirk): boolean {
  return !disabledQuirks.includes(quirk);
}
