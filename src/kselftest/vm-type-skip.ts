/**
 * The selftests' VM-type skip: `if (vm_type && !(kvm_check_cap(KVM_CAP_VM_TYPES) &
 * BIT(vm_type))) skip` — on a release where KVM_CREATE_VM refuses the type (the model's
 * checkVmTypeSupported(): TDX before 6.16), every case of that type is `# SKIP`.
 */

import type { KernelRelease } from '../kvm/kernel-release.js';
import { checkVmTypeSupported, VmCreateError, type VmType } from '../kvm/vm-types.js';
import { skipCases, type Subtest } from './harness.js';

/** The skipped cases, or null when the release supports the type. */
export function vmTypeSkip(type: VmType, kernel: KernelRelease, prefix: string, cases: readonly { readonly name: string }[]): Subtest[] | null {
  try {
    checkVmTypeSupported(type, kernel);
    return null;
  } catch (e) {
    if (!(e instanceof VmCreateError)) throw e;
    return skipCases(prefix, cases, `vm_type ${type} not in KVM_CAP_VM_TYPES on ${kernel}: ${(e as Error).message}`);
  }
}
