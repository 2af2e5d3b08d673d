/**
 * The pre-fault ioctl loop, in both uAPI forms.
 *
 * KVM_PRE_FAULT_MEMORY (merged, 6.11): kvm_vcpu_pre_fault_memory() (virt/kvm/kvm_main.c)
 * validates flags/alignment/overflow (EINVAL), takes SRCU for the whole loop, and per chunk
 * checks signal_pending (EINTR), then kvm_arch_vcpu_pre_fault_memory() (x86 mmu.c):
 * pre_fault_allowed (EOPNOTSUPP), kvm_mmu_reload() (6.15+: frees obsolete roots first),
 * private from the attribute of the chunk's first gfn, and kvm_tdp_map_page(): a read
 * fault with prefetch=true, RET_PF_RETRY retried in the kernel (signal → EINTR), FIXED /
 * SPURIOUS → the chunk up to the mapped level's end, EMULATE → ENOENT, other → EIO.
 * Returns 0 if any byte was processed in this call, else the error; gpa/size always
 * copied back.
 *
 * KVM_MAP_MEMORY (RFC v1, 2024-03): base_gfn/nr_pages/flags/source; flags WRITE/EXEC/
 * USER/PRIVATE pick the fault's error code; partial progress ends in EAGAIN.
 */

import { and, setup } from 'xstate';

const unbound = () => { throw new Error('pre-fault: guard/action not bound (see src/protocol/bindings.ts)'); };

export const preFaultMachine = setup({
  guards: {
    invalidFlags: unbound, invalidRange: unbound, rangeDone: unbound, signalPending: unbound,
    preFaultNotAllowed: unbound, hasRequestFreeObsoleteRoots: unbound, needsRootLoad: unbound,
    faultRetry: unbound, faultMapped: unbound, faultEmulate: unbound, faultErrno: unbound, mmuLoadFailed: unbound, prefaultSeesVmDead: unbound, gfnIsAlias: unbound,
    patchReloadInRetryLoop: unbound, patchEagainOnObsoleteRoot: unbound, patchSrcuCycleOnRetry: unbound, rootIsObsolete: unbound, requestFreeObsoleteRootsPending: unbound,
  },
  actions: {
    setResult: unbound, vcpuLoad: unbound, vcpuPut: unbound, srcuReadLock: unbound, srcuReadUnlock: unbound,
    kvmMmuFreeObsoleteRoots: unbound, kvmMmuLoad: unbound, setErrorCode: unbound, beginPrefetchFault: unbound,
    advanceRange: unbound, propagateFaultErrno: unbound, propagateMmuLoadErrno: unbound, finishIoctl: unbound, consumeRequestVmDead: unbound,
  },
}).createMachine({
  id: 'pre-fault',
  initial: 'validate',
  states: {
    /** Argument checks before vcpu_load(): flags must be 0 (RFC: known bits), range aligned and not wrapping. */
    validate: {
      on: {
        STEP: [
          { guard: 'invalidFlags', target: 'done', actions: { type: 'setResult', params: { errno: 'EINVAL' } } },
          { guard: 'invalidRange', target: 'done', actions: { type: 'setResult', params: { errno: 'EINVAL' } } },
          { target: 'loop', actions: ['vcpuLoad', 'srcuReadLock'] },
        ],
      },
    },
    /** while (size) { if (signal_pending(current)) { r = -EINTR; break; } ... } */
    loop: {
      on: {
        STEP: [
          { guard: 'rangeDone', target: 'finish' },
          { guard: 'signalPending', target: 'finish', actions: { type: 'setResult', params: { errno: 'EINTR' } } },
          { guard: 'preFaultNotAllowed', target: 'finish', actions: { type: 'setResult', params: { errno: 'EOPNOTSUPP' } } },
          // kvm_is_gfn_alias(): a TDX VM's shared-alias gpa is not one userspace registered.
          { guard: 'gfnIsAlias', target: 'finish', actions: { type: 'setResult', params: { errno: 'EINVAL' } } },
          { target: 'reload' },
        ],
      },
    },
    /** kvm_mmu_reload(): free obsolete roots (6.15 fix, R12), load a valid root; then the error code. */
    reload: {
      on: {
        STEP: [
          { guard: 'hasRequestFreeObsoleteRoots', target: 'reload', actions: 'kvmMmuFreeObsoleteRoots' },
          { guard: 'needsRootLoad', target: 'reloaded', actions: 'kvmMmuLoad' },
          { target: 'mapPage', actions: 'setErrorCode' },
        ],
      },
    },
    /** `r = kvm_mmu_reload(vcpu); if (r) return r;` (28cec7f08b8b, R11: v5 ignored r and faulted on an invalid root). */
    reloaded: {
      on: {
        STEP: [
          { guard: 'mmuLoadFailed', target: 'finish', actions: 'propagateMmuLoadErrno' },
          { target: 'mapPage', actions: 'setErrorCode' },
        ],
      },
    },
    /**
     * kvm_tdp_map_page(): do { if (signal_pending) return -EINTR; (6.16+: if
     * (kvm_check_request(KVM_REQ_VM_DEAD)) return -EIO;) r = kvm_mmu_do_page_fault(); } while (r == RET_PF_RETRY)
     */
    mapPage: {
      on: {
        STEP: [
          { guard: 'signalPending', target: 'finish', actions: { type: 'setResult', params: { errno: 'EINTR' } } },
          { guard: 'prefaultSeesVmDead', target: 'finish', actions: ['consumeRequestVmDead', { type: 'setResult', params: { errno: 'EIO' } }] },
          { target: 'fault', actions: 'beginPrefetchFault' },
        ],
      },
    },
    /**
     * The page fault itself (prefetch = true). The `patch*` guards are candidate fixes of
     * the obsolete-root spin (no kernel has them; false unless `--patch` turns one on, see
     * src/protocol/patches.ts): after RET_PF_RETRY, return -EAGAIN when the vCPU's root is
     * obsolete (`is_obsolete_root()`), reload the root before the next try, or drop and
     * retake kvm->srcu (`kvm_vcpu_srcu_read_unlock(); kvm_vcpu_srcu_read_lock();`).
     */
    fault: {
      meta: { call: 'page-fault' },
      on: {
        STEP: [
          { guard: and(['patchEagainOnObsoleteRoot', 'faultRetry', 'rootIsObsolete']), target: 'finish', actions: { type: 'setResult', params: { errno: 'EAGAIN' } } },
          { guard: and(['patchReloadInRetryLoop', 'faultRetry']), target: 'retryReload' },
          { guard: and(['patchSrcuCycleOnRetry', 'faultRetry']), target: 'mapPage', actions: ['srcuReadUnlock', 'srcuReadLock'] },
          { guard: 'faultRetry', target: 'mapPage' },
          { guard: 'faultMapped', target: 'loop', actions: 'advanceRange' },
          { guard: 'faultEmulate', target: 'finish', actions: { type: 'setResult', params: { errno: 'ENOENT' } } },
          { guard: 'faultErrno', target: 'finish', actions: 'propagateFaultErrno' },
          { target: 'finish', actions: { type: 'setResult', params: { errno: 'EIO' } } },
        ],
      },
    },
    /**
     * Candidate fix (`--patch prefault-reload-obsolete-roots`): inside kvm_tdp_map_page()'s
     * loop, `if (kvm_check_request(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, vcpu))
     * kvm_mmu_free_obsolete_roots(vcpu); r = kvm_mmu_reload(vcpu); if (r) return r;` before
     * the next fault — on every release, whether or not kvm_mmu_reload() frees obsolete roots.
     */
    retryReload: {
      on: {
        STEP: [
          { guard: 'requestFreeObsoleteRootsPending', target: 'retryReload', actions: 'kvmMmuFreeObsoleteRoots' },
          { guard: 'needsRootLoad', target: 'retryReloaded', actions: 'kvmMmuLoad' },
          { target: 'mapPage' },
        ],
      },
    },
    retryReloaded: {
      on: {
        STEP: [
          { guard: 'mmuLoadFailed', target: 'finish', actions: 'propagateMmuLoadErrno' },
          { target: 'mapPage' },
        ],
      },
    },
    /** srcu_read_unlock(); vcpu_put(); return processed ? 0 : r; copy the range back. */
    finish: {
      on: { STEP: { target: 'done', actions: ['srcuReadUnlock', 'vcpuPut', 'finishIoctl'] } },
    },
    done: { type: 'final' },
  },
});
