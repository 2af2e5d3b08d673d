/**
 * KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG: kvm_get_dirty_log_protect() and
 * kvm_clear_dirty_log_protect() (virt/kvm/kvm_main.c). Under slots_lock and the mmu_lock
 * write lock, each dirty bit of the range is taken (xchg) and its SPTE write-protected
 * again (kvm_arch_mmu_enable_log_dirty_pt_masked), then one remote TLB flush before the
 * ioctl returns — a write after the return must fault (and be logged) again. With manual
 * protect (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2), GET only copies the bitmap and CLEAR does
 * the take-and-protect for the range userspace names.
 */

import { setup } from 'xstate';

const unbound = () => { throw new Error('dirty-log: guard/action not bound (see src/protocol/bindings.ts)'); };

export const dirtyLogMachine = setup({
  guards: { trySlotsLock: unbound, slotNotLogging: unbound, invalidClearRange: unbound, isManualGet: unbound, tryMmuWriteLock: unbound, bitmapDone: unbound, flushPending: unbound },
  actions: {
    waitSlotsLock: unbound, setErrno: unbound, copyDirtyBitmap: unbound, beginGetDirtyLog: unbound, waitMmuLock: unbound,
    takeDirtyGfn: unbound, wrprotDirtyGfn: unbound, dirtyAdvance: unbound, kvmFlushRemoteTlbs: unbound, mmuWriteUnlock: unbound, endGetDirtyLog: unbound, slotsUnlock: unbound,
  },
}).createMachine({
  id: 'dirty-log',
  initial: 'lockSlots',
  states: {
    lockSlots: {
      on: {
        STEP: [
          { guard: 'trySlotsLock', target: 'validate' },
          { target: 'lockSlots', actions: 'waitSlotsLock' },
        ],
      },
    },
    validate: {
      on: {
        STEP: [
          { guard: 'slotNotLogging', target: 'unlockSlots', actions: { type: 'setErrno', params: { errno: 'ENOENT' } } },
          { guard: 'invalidClearRange', target: 'unlockSlots', actions: { type: 'setErrno', params: { errno: 'EINVAL' } } },
          { guard: 'isManualGet', target: 'unlockSlots', actions: 'copyDirtyBitmap' },
          { target: 'lock', actions: 'beginGetDirtyLog' },
        ],
      },
    },
    lock: {
      on: {
        STEP: [
          { guard: 'tryMmuWriteLock', target: 'collect' },
          { target: 'lock', actions: 'waitMmuLock' },
        ],
      },
    },
    /** One dirty gfn per step: clear its bit into the returned log, write-protect its SPTE. */
    collect: {
      on: {
        STEP: [
          { guard: 'bitmapDone', target: 'flush' },
          { target: 'collect', actions: ['takeDirtyGfn', 'wrprotDirtyGfn', 'dirtyAdvance'] },
        ],
      },
    },
    flush: {
      on: {
        STEP: [
          { guard: 'flushPending', target: 'unlock', actions: 'kvmFlushRemoteTlbs' },
          { target: 'unlock' },
        ],
      },
    },
    unlock: { on: { STEP: { target: 'unlockSlots', actions: ['mmuWriteUnlock', 'endGetDirtyLog'] } } },
    unlockSlots: { on: { STEP: { target: 'done', actions: 'slotsUnlock' } } },
    done: { type: 'final' },
  },
});
