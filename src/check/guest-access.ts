/**
 * What a guest access may end with. A guest access that the hardware cannot complete is an
 * EPT violation: kvm_mmu_page_fault() runs the fault, and a negative return from
 * kvm_mmu_do_page_fault() ends KVM_RUN with that errno (vcpu_enter_guest() returns it, and
 * so does kvm_mmu_reload() before entry). The fault path has only two:
 *
 *   EFAULT  the pfn cannot be had: hva_to_pfn() failed (the host mapping is gone or, for a
 *           write, read-only — mmu_stress_test's host-mprotect stage, where every write
 *           must fail with it), no guest_memfd page behind a private gfn, or the fault's
 *           private/shared view disagrees with the attributes (KVM_EXIT_MEMORY_FAULT);
 *   ENOMEM  mmu_topup_memory_caches() (or the root's allocation in kvm_mmu_load()) found
 *           no page.
 *
 * On a dead VM (kvm_vm_dead()) KVM_RUN itself ends with EIO — kvm_vcpu_ioctl() refuses
 * it, or vcpu_enter_guest() finds KVM_REQ_VM_DEAD — so there EIO is allowed too.
 *
 * Everything else — EAGAIN (kvm_mmu_faultin_pfn() returns it for an INVALID memslot only
 * when the fault is a prefetch, i.e. the pre-fault ioctl's; a guest fault gets
 * RET_PF_RETRY there), ENOENT, EINTR, EIO, … — is an ioctl's errno that a guest fault
 * never returns. So a guest access that ends with one is a finding.
 */

import type { Violation } from '../kvm/findings.js';
import type { Errno } from '../kvm/types.js';

/** The errnos KVM_RUN may end a guest access with (see above). */
export const GUEST_ACCESS_ERRNOS: readonly Errno[] = ['EFAULT', 'ENOMEM'];

/** A guest access that ended with an errno a guest page fault never returns. */
export interface GuestAccessErrnoViolation extends Violation {
  readonly kind: 'access-conformance';
  readonly gfn: number;
  readonly gpa: number;
  readonly errno: Errno;
}

/**
 * Checks one completed guest access of `actor` to `gpa` that ended with `errno` (null:
 * it succeeded), on a VM that is dead or not. Returns the violation, or null when the
 * access may end so.
 */
export function checkGuestAccessErrno(actor: string, gpa: number, errno: Errno | null, vmDead = false): GuestAccessErrnoViolation | null {
  if (errno === null || GUEST_ACCESS_ERRNOS.includes(errno) || (vmDead && errno === 'EIO')) return null;
  return {
    kind: 'access-conformance', actors: [actor], step: -1, gfn: Math.floor(gpa / 4096), gpa, errno,
    message: `${actor}: guest access to gpa 0x${gpa.toString(16)} ended with -${errno}, which KVM_RUN never returns for a guest page fault (it may end with ${GUEST_ACCESS_ERRNOS.join(' or ')} only)`,
  };
}
