/**
 * The vCPU thread: KVM_RUN (vcpu_run → vcpu_enter_guest) and the vCPU ioctls it serves
 * between runs. In the guest, each step is one guest access done by "hardware": the TLB,
 * else a lockless walk of the TDP tables that sets A/D by CAS and fills the TLB. A miss or
 * a permission fault is an EPT violation: the vCPU exits (re-taking kvm->srcu) and runs
 * the page-fault machine; on RETRY/FIXED/SPURIOUS it re-enters and the access is retried
 * by hardware, as in KVM. Requests (TLB flush, free obsolete roots) are served on entry;
 * a request raised while the vCPU is in the guest kicks it out. KVM_REQ_VM_DEAD ends
 * KVM_RUN with -EIO; on a dead VM every vCPU ioctl is -EIO at once.
 *
 * SRCU: the vCPU holds kvm->srcu outside the guest and drops it around guest entry
 * (which is why KVM_RUN cannot deadlock a memslot update, unlike pre-fault, R13).
 */

import { and, setup } from 'xstate';

const unbound = () => { throw new Error('vcpu: guard/action not bound (see src/protocol/bindings.ts)'); };

export const vcpuMachine = setup({
  guards: {
    noOpsLeft: unbound, nextOpIsMmuReset: unbound, nextOpIsIoctl: unbound, hasRequestTlbFlush: unbound, hasRequestFreeObsoleteRoots: unbound,
    needsRootLoad: unbound, hasPendingRequests: unbound, noGuestAccess: unbound, tryGuestAccess: unbound,
    faultFailed: unbound, faultEmulate: unbound, mmuLoadFailed: unbound, vmDead: unbound, hasRequestVmDead: unbound,
    walkHitMmioSpte: unbound, mmioInfoInCache: unbound, isMmioSpte: unbound, checkMmioSpte: unbound,
  },
  actions: {
    beginIoctl: unbound, kvmMmuResetContext: unbound, beginRun: unbound, srcuReadLock: unbound, srcuReadUnlock: unbound, kvmVcpuFlushTlb: unbound,
    kvmMmuFreeObsoleteRoots: unbound, kvmMmuLoad: unbound, completeAccess: unbound, eptViolation: unbound,
    failAccess: unbound, failRunMmuLoad: unbound, emulateAccess: unbound, completeIoctl: unbound, exitToUserspace: unbound,
    failIoctlVmDead: unbound, failRunVmDead: unbound,
    eptMisconfig: unbound, getMmioSpte: unbound, vcpuCacheMmioInfo: unbound, emulateMmioAccess: unbound, mmioPageFault: unbound,
  },
}).createMachine({
  id: 'vcpu',
  initial: 'outside',
  states: {
    /** In userspace (the VMM's vCPU thread), between ioctls. */
    outside: {
      on: {
        STEP: [
          { guard: 'noOpsLeft', target: 'stopped' },
          // kvm_vcpu_ioctl(): a dead VM (kvm_vm_dead()) answers every vCPU ioctl with -EIO.
          { guard: 'vmDead', target: 'outside', actions: 'failIoctlVmDead' },
          // KVM_SET_SREGS changing CR0.WP: kvm_mmu_reset_context() unloads the root.
          { guard: 'nextOpIsMmuReset', target: 'outside', actions: 'kvmMmuResetContext' },
          { guard: 'nextOpIsIoctl', target: 'ioctl', actions: 'beginIoctl' },
          { target: 'entry', actions: ['beginRun', 'srcuReadLock'] },
        ],
      },
    },
    /** vcpu_enter_guest(): service requests, kvm_mmu_reload() (its error ends KVM_RUN), then enter with SRCU dropped. */
    entry: {
      on: {
        STEP: [
          { guard: 'hasRequestVmDead', target: 'outside', actions: ['failRunVmDead', 'srcuReadUnlock'] },
          { guard: 'hasRequestTlbFlush', target: 'entry', actions: 'kvmVcpuFlushTlb' },
          { guard: 'hasRequestFreeObsoleteRoots', target: 'entry', actions: 'kvmMmuFreeObsoleteRoots' },
          { guard: 'mmuLoadFailed', target: 'outside', actions: ['failRunMmuLoad', 'srcuReadUnlock'] },
          { guard: 'needsRootLoad', target: 'entry', actions: 'kvmMmuLoad' },
          { target: 'guest', actions: 'srcuReadUnlock' },
        ],
      },
    },
    /** Guest mode: one access per step, by hardware. */
    guest: {
      on: {
        STEP: [
          { guard: 'hasPendingRequests', target: 'entry', actions: 'srcuReadLock' },
          { guard: 'noGuestAccess', target: 'outside', actions: 'exitToUserspace' },
          { guard: 'tryGuestAccess', target: 'guest', actions: 'completeAccess' },
          { guard: 'walkHitMmioSpte', target: 'mmio', actions: ['srcuReadLock', 'eptMisconfig'] },
          { target: 'exit', actions: ['srcuReadLock', 'eptViolation'] },
        ],
      },
    },
    /**
     * EPT misconfig: kvm_mmu_page_fault() with PFERR_RSVD_MASK → handle_mmio_page_fault().
     * The vCPU's MMIO info at the current memslot generation → emulate; else the lockless
     * walk to the SPTE (get_mmio_spte), checked in the next step.
     */
    mmio: {
      on: {
        STEP: [
          { guard: 'mmioInfoInCache', target: 'entry', actions: { type: 'emulateMmioAccess', params: { via: 'its MMIO info (mmio_gfn, mmio_gen)' } } },
          { target: 'mmioCheck', actions: 'getMmioSpte' },
        ],
      },
    },
    /**
     * check_mmio_spte(): an MMIO SPTE of the current generation (no update in progress) →
     * cache the gfn and emulate; of an older one → RET_PF_INVALID, the full page fault;
     * not MMIO any more (zapped meanwhile) → RET_PF_RETRY, back into the guest.
     */
    mmioCheck: {
      on: {
        STEP: [
          { guard: and(['isMmioSpte', 'checkMmioSpte']), target: 'entry', actions: ['vcpuCacheMmioInfo', { type: 'emulateMmioAccess', params: { via: 'an MMIO SPTE' } }] },
          { guard: 'isMmioSpte', target: 'exit', actions: 'mmioPageFault' },
          { target: 'entry' },
        ],
      },
    },
    /** EPT violation: kvm_mmu_page_fault() runs the page-fault machine to completion. */
    exit: {
      meta: { call: 'page-fault' },
      on: {
        STEP: [
          { guard: 'faultFailed', target: 'outside', actions: ['failAccess', 'srcuReadUnlock'] },
          { guard: 'faultEmulate', target: 'entry', actions: 'emulateAccess' },
          { target: 'entry' },
        ],
      },
    },
    /** KVM_PRE_FAULT_MEMORY / KVM_MAP_MEMORY on this vCPU: the pre-fault machine. */
    ioctl: {
      meta: { call: 'pre-fault' },
      on: { STEP: { target: 'outside', actions: 'completeIoctl' } },
    },
    stopped: { type: 'final' },
  },
});
