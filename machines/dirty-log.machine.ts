/**
 * KVM_GET_DIRTY_LOG without manual protect: kvm_get_dirty_log_protect()
 * (virt/kvm/kvm_main.c). Under slots_lock and the mmu_lock write lock, each dirty bit is
 * taken (xchg) and its SPTE write-protected again (kvm_arch_mmu_enable_log_dirty_pt_masked),
 * then one remote TLB flush before the log is returned — a write after the return must
 * fault (and be logged) again.
 */

import { setup } from 'xstate';

const unbound = () => { throw new Error('dirty-log: guard/action not bound (see src/protocol/bindings.ts)'); };

export const dirtyLogMachine = setup({
  guards: { trySlotsLock: unbound, slotNotLogging: unbound, tryMmuWriteLock: unbound, bitmapDone: unbound, flushPending: unbound },
  actions: {
    waitSlotsLock: unbound, setErrno: unbound, beginGetDirtyLog: unbound, waitMmuLock: unbound,
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
