/**
 * KVM_SEV_SNP_LAUNCH_UPDATE: kvm_gmem_populate() → sev_gmem_post_populate()
 * (arch/x86/kvm/svm/sev.c, virt/kvm/guest_memfd.c), one page per pass: look the RMP entry
 * up (it must still be in its initial shared state, else -EEXIST), copy the initial
 * contents in from userspace (a host write), then rmp_make_private(immutable) and the
 * firmware's SNP_LAUNCH_UPDATE, which validates the page. Each of the three is a step:
 * between the lookup and the copy nothing stops a fault from assigning the page.
 */

import { setup } from 'xstate';

const unbound = () => { throw new Error('snp-launch-update: guard/action not bound (see src/protocol/bindings.ts)'); };

export const snpLaunchUpdateMachine = setup({
  guards: { populateFailed: unbound, populateDone: unbound, rmpEntryAssigned: unbound },
  actions: { setErrno: unbound, kvmGmemGetPfn: unbound, copyFromUser: unbound, snpLaunchUpdate: unbound },
}).createMachine({
  id: 'snp-launch-update',
  initial: 'lookup',
  states: {
    /** __kvm_gmem_get_pfn(); snp_lookup_rmpentry(): assigned → -EEXIST. */
    lookup: {
      on: {
        STEP: [
          { guard: 'populateFailed', target: 'done' },
          { guard: 'populateDone', target: 'done' },
          { guard: 'rmpEntryAssigned', target: 'done', actions: { type: 'setErrno', params: { errno: 'EEXIST' } } },
          { target: 'copy', actions: 'kvmGmemGetPfn' },
        ],
      },
    },
    /** kmap_local_pfn(); copy_from_user(): the host writes the page. */
    copy: { on: { STEP: { target: 'update', actions: 'copyFromUser' } } },
    /** rmp_make_private(..., immutable = true); SEV_CMD_SNP_LAUNCH_UPDATE. */
    update: { on: { STEP: { target: 'lookup', actions: 'snpLaunchUpdate' } } },
    done: { type: 'final' },
  },
});
