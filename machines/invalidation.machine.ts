/**
 * MMU-notifier invalidation (virt/kvm/kvm_main.c) and the memory-attribute update that
 * reuses its protocol.
 *
 * Host path — kvm_mmu_notifier_invalidate_range_start(): mn_active_invalidate_count++
 * (blocks memslot swaps), then under kvm->srcu, only if the hva range hits a memslot,
 * write_lock(mmu_lock), kvm_mmu_invalidate_begin (in_progress++), range_add, zap the leaf
 * SPTEs of every root (one per step; every ZAP_YIELD_SPTES the walk flushes what it owes
 * and yields mmu_lock), one kvm_flush_remote_tlbs() if anything was zapped, unlock. The mm then changes its page tables (migrate / reclaim / mprotect / munmap).
 * invalidate_range_end(): the same slot walk, kvm_mmu_invalidate_end (seq++ then
 * in_progress--), mn_active_invalidate_count--. Only after end returns does the mm free
 * the old pages.
 *
 * Attribute path — kvm_vm_set_mem_attributes(): under slots_lock; pre-set under the write
 * lock (begin, range_add including the hugepage head/tail of 9129633d568e, zap, flush);
 * mmu_lock dropped with in_progress still raised; store the attributes; post-set under
 * the write lock (recompute the hugepage "mixed" flags, invalidate_end).
 */

import { setup } from 'xstate';

const unbound = () => { throw new Error('invalidation: guard/action not bound (see src/protocol/bindings.ts)'); };

export const invalidationMachine = setup({
  guards: {
    isAttributeChange: unbound, noSlotIntersects: unbound, tryMmuWriteLock: unbound, zapDone: unbound, tdpMmuIterNeedResched: unbound,
    flushPending: unbound, attrInvalid: unbound, trySlotsLock: unbound, attrsAlreadySet: unbound,
  },
  actions: {
    mnActiveInvalidateCountInc: unbound, mnActiveInvalidateCountDec: unbound, srcuReadLock: unbound,
    srcuReadUnlock: unbound, computeGfnRanges: unbound, waitMmuLock: unbound, kvmMmuInvalidateBegin: unbound,
    kvmMmuInvalidateRangeAdd: unbound, addHugepageHeadTail: unbound, zapStart: unbound, tdpMmuZapLeaf: unbound, zapAdvance: unbound,
    flushBeforeYield: unbound, tdpIterRestart: unbound,
    kvmFlushRemoteTlbs: unbound, mmuWriteUnlock: unbound, hostApplyChange: unbound, kvmMmuInvalidateEnd: unbound,
    hostFreeOldPages: unbound, setErrno: unbound, waitSlotsLock: unbound, slotsUnlock: unbound,
    storeAttributes: unbound, postSetMemoryAttributes: unbound,
  },
}).createMachine({
  id: 'invalidation',
  initial: 'dispatch',
  states: {
    dispatch: {
      on: {
        STEP: [
          { guard: 'isAttributeChange', target: 'attrValidate' },
          { target: 'srcuStart', actions: 'mnActiveInvalidateCountInc' },
        ],
      },
    },
    // ---------------- invalidate_range_start ----------------
    srcuStart: { on: { STEP: { target: 'findStart', actions: 'srcuReadLock' } } },
    /** __kvm_handle_hva_range(): which memslots does the hva range hit? None → no mmu_lock at all. */
    findStart: {
      on: {
        STEP: [
          { guard: 'noSlotIntersects', target: 'mmChange', actions: 'srcuReadUnlock' },
          { target: 'lockStart', actions: 'computeGfnRanges' },
        ],
      },
    },
    lockStart: {
      on: {
        STEP: [
          { guard: 'tryMmuWriteLock', target: 'begin' },
          { target: 'lockStart', actions: 'waitMmuLock' },
        ],
      },
    },
    begin: { on: { STEP: { target: 'rangeAdd', actions: 'kvmMmuInvalidateBegin' } } },
    rangeAdd: { on: { STEP: { target: 'zap', actions: ['kvmMmuInvalidateRangeAdd', 'zapStart'] } } },
    /**
     * kvm_unmap_gfn_range() → tdp_mmu_zap_leafs(): one leaf SPTE per step, flush accumulated.
     * The range is blockable, so the walk may yield (tdp_mmu_iter_cond_resched()): the flush
     * owed so far first, then mmu_lock is dropped and taken again, and the walk restarts
     * at the gfn it reached.
     */
    zap: {
      on: {
        STEP: [
          { guard: 'zapDone', target: 'flush' },
          { guard: 'tdpMmuIterNeedResched', target: 'zapYield', actions: 'flushBeforeYield' },
          { target: 'zap', actions: ['tdpMmuZapLeaf', 'zapAdvance'] },
        ],
      },
    },
    zapYield: { on: { STEP: { target: 'zapRelock', actions: 'mmuWriteUnlock' } } },
    zapRelock: {
      on: {
        STEP: [
          { guard: 'tryMmuWriteLock', target: 'zap', actions: 'tdpIterRestart' },
          { target: 'zapRelock', actions: 'waitMmuLock' },
        ],
      },
    },
    /** flush_on_ret: one kvm_flush_remote_tlbs() before mmu_lock is dropped. */
    flush: {
      on: {
        STEP: [
          { guard: 'flushPending', target: 'unlockStart', actions: 'kvmFlushRemoteTlbs' },
          { target: 'unlockStart' },
        ],
      },
    },
    unlockStart: { on: { STEP: { target: 'mmChange', actions: ['mmuWriteUnlock', 'srcuReadUnlock'] } } },
    /** The primary MMU changes its PTEs: migrate (new page), reclaim/munmap (no page), mprotect (read-only). */
    mmChange: { on: { STEP: { target: 'srcuEnd', actions: 'hostApplyChange' } } },
    // ---------------- invalidate_range_end ----------------
    srcuEnd: { on: { STEP: { target: 'findEnd', actions: 'srcuReadLock' } } },
    findEnd: {
      on: {
        STEP: [
          { guard: 'noSlotIntersects', target: 'mnEnd', actions: 'srcuReadUnlock' },
          { target: 'lockEnd' },
        ],
      },
    },
    lockEnd: {
      on: {
        STEP: [
          { guard: 'tryMmuWriteLock', target: 'end' },
          { target: 'lockEnd', actions: 'waitMmuLock' },
        ],
      },
    },
    /** kvm_mmu_invalidate_end(): mmu_invalidate_seq++; smp_wmb(); in_progress--. */
    end: { on: { STEP: { target: 'unlockEnd', actions: 'kvmMmuInvalidateEnd' } } },
    unlockEnd: { on: { STEP: { target: 'mnEnd', actions: ['mmuWriteUnlock', 'srcuReadUnlock'] } } },
    mnEnd: { on: { STEP: { target: 'free', actions: 'mnActiveInvalidateCountDec' } } },
    /** Only now may the mm free the old pages. */
    free: { on: { STEP: { target: 'done', actions: 'hostFreeOldPages' } } },
    // ---------------- KVM_SET_MEMORY_ATTRIBUTES ----------------
    attrValidate: {
      on: {
        STEP: [
          { guard: 'attrInvalid', target: 'done', actions: { type: 'setErrno', params: { errno: 'EINVAL' } } },
          { target: 'attrSlotsLock' },
        ],
      },
    },
    attrSlotsLock: {
      on: {
        STEP: [
          { guard: 'trySlotsLock', target: 'attrCheck' },
          { target: 'attrSlotsLock', actions: 'waitSlotsLock' },
        ],
      },
    },
    attrCheck: {
      on: {
        STEP: [
          { guard: 'attrsAlreadySet', target: 'attrDone' },
          { guard: 'noSlotIntersects', target: 'attrStoreOnly' },
          { target: 'attrPreLock', actions: 'computeGfnRanges' },
        ],
      },
    },
    attrStoreOnly: { on: { STEP: { target: 'attrDone', actions: 'storeAttributes' } } },
    attrPreLock: {
      on: {
        STEP: [
          { guard: 'tryMmuWriteLock', target: 'attrBegin' },
          { target: 'attrPreLock', actions: 'waitMmuLock' },
        ],
      },
    },
    attrBegin: { on: { STEP: { target: 'attrRangeAdd', actions: 'kvmMmuInvalidateBegin' } } },
    attrRangeAdd: { on: { STEP: { target: 'attrZap', actions: ['addHugepageHeadTail', 'kvmMmuInvalidateRangeAdd', 'zapStart'] } } },
    /** The same zap, may_block too (pre_set_range): it yields the same way. */
    attrZap: {
      on: {
        STEP: [
          { guard: 'zapDone', target: 'attrFlush' },
          { guard: 'tdpMmuIterNeedResched', target: 'attrZapYield', actions: 'flushBeforeYield' },
          { target: 'attrZap', actions: ['tdpMmuZapLeaf', 'zapAdvance'] },
        ],
      },
    },
    attrZapYield: { on: { STEP: { target: 'attrZapRelock', actions: 'mmuWriteUnlock' } } },
    attrZapRelock: {
      on: {
        STEP: [
          { guard: 'tryMmuWriteLock', target: 'attrZap', actions: 'tdpIterRestart' },
          { target: 'attrZapRelock', actions: 'waitMmuLock' },
        ],
      },
    },
    attrFlush: {
      on: {
        STEP: [
          { guard: 'flushPending', target: 'attrPreUnlock', actions: 'kvmFlushRemoteTlbs' },
          { target: 'attrPreUnlock' },
        ],
      },
    },
    /** mmu_lock dropped, mmu_invalidate_in_progress stays raised across the store. */
    attrPreUnlock: { on: { STEP: { target: 'attrStore', actions: 'mmuWriteUnlock' } } },
    attrStore: { on: { STEP: { target: 'attrPostLock', actions: 'storeAttributes' } } },
    attrPostLock: {
      on: {
        STEP: [
          { guard: 'tryMmuWriteLock', target: 'attrPost' },
          { target: 'attrPostLock', actions: 'waitMmuLock' },
        ],
      },
    },
    /** kvm_arch_post_set_memory_attributes(): hugepage mixed flags; then invalidate_end. */
    attrPost: { on: { STEP: { target: 'attrEnd', actions: 'postSetMemoryAttributes' } } },
    attrEnd: { on: { STEP: { target: 'attrPostUnlock', actions: 'kvmMmuInvalidateEnd' } } },
    attrPostUnlock: { on: { STEP: { target: 'attrDone', actions: 'mmuWriteUnlock' } } },
    attrDone: { on: { STEP: { target: 'done', actions: 'slotsUnlock' } } },
    done: { type: 'final' },
  },
});
