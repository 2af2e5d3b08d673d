/**
 * VM types (KVM_CREATE_VM type argument, arch/x86/include/uapi/asm/kvm.h) and the rules
 * the model applies per type: private memory (guest_memfd, KVM_MEMORY_ATTRIBUTE_PRIVATE)
 * and kvm->arch.pre_fault_allowed — true at creation for DEFAULT and SW_PROTECTED, false
 * for SNP until SNP_LAUNCH_FINISH and for TDX until KVM_TDX_FINALIZE_VM
 * ("KVM: x86: disallow pre-fault for SNP VMs before initialization", R10).
 */

import { kernelProfile, type KernelRelease } from './kernel-release.js';

export type VmType = 'default' | 'sw_protected' | 'snp' | 'tdx';

export interface VmTypeInfo {
  /** KVM_X86_*_VM value. */
  readonly uapi: number;
  /** kvm_arch_has_private_mem(). */
  readonly hasPrivateMem: boolean;
  /** pre_fault_allowed at creation. */
  readonly preFaultAllowedAtCreate: boolean;
  /** The guest chooses private/shared per access (C-bit / shared bit) rather than KVM from attributes. */
  readonly guestChoosesPrivate: boolean;
  /** The ioctl that makes pre-fault legal (the `finalize` op). */
  readonly finalizeIoctl: string | null;
}

export const VM_TYPES: Readonly<Record<VmType, VmTypeInfo>> = {
  default: { uapi: 0, hasPrivateMem: false, preFaultAllowedAtCreate: true, guestChoosesPrivate: false, finalizeIoctl: null },
  sw_protected: { uapi: 1, hasPrivateMem: true, preFaultAllowedAtCreate: true, guestChoosesPrivate: false, finalizeIoctl: null },
  snp: { uapi: 4, hasPrivateMem: true, preFaultAllowedAtCreate: false, guestChoosesPrivate: true, finalizeIoctl: 'KVM_SEV_SNP_LAUNCH_FINISH' },
  tdx: { uapi: 5, hasPrivateMem: true, preFaultAllowedAtCreate: false, guestChoosesPrivate: true, finalizeIoctl: 'KVM_TDX_FINALIZE_VM' },
};

export const VM_TYPE_NAMES = Object.keys(VM_TYPES) as VmType[];

export function isVmType(s: string): s is VmType {
  return Object.prototype.hasOwnProperty.call(VM_TYPES, s);
}

/** KVM_CREATE_VM refused a type the release does not have (kvm_arch_init_vm(): -EINVAL). */
export class VmCreateError extends Error {
  override readonly name = 'VmCreateError';
}

/** The release's kvm_caps.supported_vm_types has `type`; throws VmCreateError if not. */
export function checkVmTypeSupported(type: VmType, release: KernelRelease): void {
  if (type === 'tdx' && !kernelProfile(release).switches.tdxVmType) {
    throw new VmCreateError(`KVM_CREATE_VM(KVM_X86_TDX_VM) is EINVAL on ${release}: TDX VMs exist from 6.16 (161d34609f9b); pick --kernel 6.16 or later, or another vm type`);
  }
}

/**
 * The gfn bit that marks a TDX VM's shared alias (kvm_gfn_direct_bits(): GPA bit 47 with a
 * 4-level, bit 51 with a 5-level secure EPT); 0 on other VM types, which have no aliases.
 */
export function aliasedGfnBit(type: VmType, rootLevel: number): number {
  if (type !== 'tdx') return 0;
  return 2 ** ((rootLevel === 5 ? 51 : 47) - 12);
}

/** kvm_is_gfn_alias(): the gfn has the alias bit set. */
export function isGfnAlias(type: VmType, rootLevel: number, gfn: number): boolean {
  const bit = aliasedGfnBit(type, rootLevel);
  return bit !== 0 && Math.floor(gfn / bit) % 2 === 1;
}
