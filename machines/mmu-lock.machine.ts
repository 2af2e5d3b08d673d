/**
 * kvm->mmu_lock on x86: an rwlock (KVM_HAVE_MMU_RWLOCK). Faults and pre-fault take it for
 * read; notifier zaps, kvm_mmu_zap_all_fast and attribute changes for write. Queued-rwlock
 * fairness: once a writer waits, new readers wait too, and when the last reader leaves
 * the lock is handed to the waiting writer.
 *
 * This machine is the lock word's protocol. mmu-lock.ts encodes its state and reader
 * count in one Int32 and changes it by CAS, computing each next word by stepping the
 * compiled machine: the machine is the single source of truth for what an acquire or a
 * release may do. No transition for an event = the caller must wait; a transition to
 * `broken` = a lock-discipline violation (unlock without hold).
 */

import { setup } from 'xstate';

const unbound = () => { throw new Error('mmu-lock: guard/action not bound (see src/kvm/mmu-lock.ts)'); };

export const mmuLockMachine = setup({
  guards: { lastReader: unbound },
  actions: { addReader: unbound, dropReader: unbound },
}).createMachine({
  id: 'mmu-lock',
  initial: 'unlocked',
  states: {
    unlocked: {
      on: {
        READ_LOCK: { target: 'readHeld', actions: 'addReader' },
        WRITE_LOCK: { target: 'writeHeld' },
        READ_UNLOCK: { target: 'broken' },
        WRITE_UNLOCK: { target: 'broken' },
      },
    },
    readHeld: {
      on: {
        READ_LOCK: { target: 'readHeld', actions: 'addReader' },
        READ_UNLOCK: [
          { guard: 'lastReader', target: 'unlocked', actions: 'dropReader' },
          { target: 'readHeld', actions: 'dropReader' },
        ],
        /** The writer does not get the lock; it marks itself waiting, which holds off new readers. */
        WRITE_WAIT: { target: 'writerWaiting' },
        WRITE_UNLOCK: { target: 'broken' },
      },
    },
    writerWaiting: {
      on: {
        READ_UNLOCK: [
          { guard: 'lastReader', target: 'writerPending', actions: 'dropReader' },
          { target: 'writerWaiting', actions: 'dropReader' },
        ],
        WRITE_UNLOCK: { target: 'broken' },
      },
    },
    /** Readers drained; the lock is reserved for the waiting writer. */
    writerPending: {
      on: {
        WRITE_LOCK: { target: 'writeHeld' },
        READ_UNLOCK: { target: 'broken' },
        WRITE_UNLOCK: { target: 'broken' },
      },
    },
    writeHeld: {
      on: {
        WRITE_UNLOCK: { target: 'unlocked' },
        READ_UNLOCK: { target: 'broken' },
      },
    },
    broken: { type: 'final' },
  },
});
