/**
 * The TDP MMU page fault and its retries: kvm_mmu_do_page_fault() →
 * kvm_tdp_page_fault() → kvm_tdp_mmu_page_fault() → kvm_tdp_mmu_map()
 * (arch/x86/kvm/mmu/mmu.c, tdp_mmu.c, ~6.12).
 *
 * Order, as in the kernel: fast_page_fault (lockless, permission faults only) → mmu_topup_memory_caches → snapshot
 * mmu_invalidate_seq (before the pfn is resolved: the seq-before-gup rule) → lockless
 * mmu_invalidate_retry_gfn_unsafe → memslot checks (INVALID slot, no slot, private/shared
 * mismatch) → resolve the pfn (guest_memfd or host hva) → second lockless check →
 * read_lock(mmu_lock) → is_page_fault_stale (obsolete root, locked retry check) → walk,
 * linking or splitting tables by CAS → install the leaf by CAS → unlock.
 *
 * Every transition is one step with at most one access to shared state. Guards named
 * `try*` perform that access (a CAS, a trylock, an allocation) and report success; every
 * other guard only reads. The fault's result is `ctx.fault.ret` at the final state.
 */

import { setup, and, not } from 'xstate';

const unbound = () => { throw new Error('page-fault: guard/action not bound (see src/protocol/bindings.ts)'); };

export const pageFaultMachine = setup({
  guards: {
    tryFastPageFault: unbound, fastPageFaultMarkPending: unbound, fastPageFaultResolved: unbound, tryTopupMemoryCaches: unbound, isPrefetch: unbound,
    mmuInvalidateRetryGfnUnsafe: unbound, slotIsInvalid: unbound, noSlot: unbound, gfnAboveMaxGfn: unbound,
    isPrivateMismatch: unbound, writeToReadonlySlot: unbound, isPrivate: unbound, tryKvmGmemGetPfn: unbound, tryHvaToPfn: unbound, gupNeedsCowBreak: unbound,
    tryMmuReadLock: unbound, isObsoleteRoot: unbound, mmuSeqIsUnsignedLong: unbound, mmuInvalidateRetryGfn: unbound, mmuInvalidateRetryGfnIntSeq: unbound,
    isFrozenSpte: unbound, atGoalLevel: unbound, isPresentNonLeaf: unbound, isPresentLarge: unbound,
    tryTdpMmuLinkSp: unbound, tryTdpMmuSplitHugePage: unbound,
    prefetchOverPresent: unbound, isSpuriousAccess: unbound, newSpteEqualsOld: unbound, tryTdpMmuSetSpteAtomic: unbound, replacedPresentSpte: unbound,
  },
  actions: {
    setRet: unbound, setErrno: unbound, snapshotMmuSeq: unbound, computeGoalLevel: unbound, beginCowBreak: unbound,
    waitMmuLock: unbound, rcuReadLock: unbound, tdpIterStart: unbound, tdpIterStepDown: unbound,
    tdpIterUseLinkedSp: unbound, freeUnusedSp: unbound,
    flushRemoteTlbsGfn: unbound, rcuReadUnlock: unbound, mmuReadUnlock: unbound, releasePfn: unbound,
    vcpuCacheMmioInfo: unbound, fastPageFaultMarkDirty: unbound,
  },
}).createMachine({
  id: 'page-fault',
  initial: 'topup',
  states: {
    /**
     * fast_page_fault() — lockless fix of a write-protected (dirty-log) SPTE, or spurious;
     * only a permission fault on a present SPTE tries it — else mmu_topup_memory_caches():
     * page-table pages taken into the vCPU's own cache before mmu_lock.
     */
    topup: {
      on: {
        STEP: [
          { guard: and(['tryFastPageFault', 'fastPageFaultMarkPending']), target: 'fastMark' },
          { guard: 'fastPageFaultResolved', target: 'done' },
          { guard: 'tryTopupMemoryCaches', target: 'snapshot' },
          { target: 'done', actions: { type: 'setErrno', params: { errno: 'ENOMEM' } } },
        ],
      },
    },
    /**
     * fast_pf_fix_direct_spte() made the SPTE writable: mark_page_dirty_in_slot(), then
     * walk_shadow_page_lockless_end() (rcu_read_unlock).
     */
    fastMark: { on: { STEP: { target: 'done', actions: ['fastPageFaultMarkDirty', 'rcuReadUnlock'] } } },
    /** fault->mmu_seq = kvm->mmu_invalidate_seq; smp_rmb(); — before the pfn is resolved. */
    snapshot: {
      on: { STEP: { target: 'precheck', actions: 'snapshotMmuSeq' } },
    },
    /** mmu_invalidate_retry_gfn_unsafe(): retry before gup if the gfn is being invalidated (6.8, R9). */
    precheck: {
      on: {
        STEP: [
          { guard: 'mmuInvalidateRetryGfnUnsafe', target: 'done', actions: { type: 'setRet', params: { ret: 'retry', reason: 'invalidate-precheck' } } },
          { target: 'slotChecks' },
        ],
      },
    },
    /**
     * __kvm_faultin_pfn(): the memslot checks (on the slot looked up at fault entry, under
     * SRCU), then the pfn — kvm_gmem_get_pfn() for private, hva_to_pfn() (gup, may fault
     * the host page in) for shared. One step: the checks only read the fault's own copy
     * of the slot (and, for private memory, the attribute), the gup is its one access.
     * The checks go in kvm_mmu_faultin_pfn()'s order: private/shared mismatch (-EFAULT),
     * then the slot — INVALID (retry; -EAGAIN for a prefetch), none (kvm_handle_noslot_fault:
     * -EFAULT for a private access, else emulate above kvm_mmu_max_gfn() or MMIO).
     */
    slotChecks: {
      on: {
        STEP: [
          { guard: 'isPrivateMismatch', target: 'done', actions: { type: 'setErrno', params: { errno: 'EFAULT' } } },
          { guard: and(['slotIsInvalid', 'isPrefetch']), target: 'done', actions: { type: 'setErrno', params: { errno: 'EAGAIN' } } },
          { guard: 'slotIsInvalid', target: 'done', actions: { type: 'setRet', params: { ret: 'retry', reason: 'invalid-slot' } } },
          { guard: and(['noSlot', 'isPrivate']), target: 'done', actions: { type: 'setErrno', params: { errno: 'EFAULT' } } },
          { guard: and(['noSlot', 'gfnAboveMaxGfn']), target: 'done', actions: ['vcpuCacheMmioInfo', { type: 'setRet', params: { ret: 'emulate', reason: 'above-max-gfn' } }] },
          { guard: 'noSlot', target: 'lock', actions: ['vcpuCacheMmioInfo', 'computeGoalLevel'] },
          { guard: 'writeToReadonlySlot', target: 'done', actions: { type: 'setRet', params: { ret: 'emulate', reason: 'readonly-slot' } } },
          { guard: and(['isPrivate', 'tryKvmGmemGetPfn']), target: 'postcheck', actions: 'computeGoalLevel' },
          { guard: 'isPrivate', target: 'done', actions: { type: 'setErrno', params: { errno: 'EFAULT' } } },
          { guard: 'tryHvaToPfn', target: 'postcheck', actions: 'computeGoalLevel' },
          { guard: 'gupNeedsCowBreak', target: 'cow', actions: 'beginCowBreak' },
          { target: 'done', actions: { type: 'setErrno', params: { errno: 'EFAULT' } } },
        ],
      },
    },
    /**
     * gup with FOLL_WRITE found the zero page mapped read-only: handle_mm_fault() breaks
     * CoW (wp_page_copy) — a new page replaces the zero page between
     * mmu_notifier_invalidate_range_start and _end, which zap KVM's read-only SPTE and bump
     * mmu_invalidate_seq — in this vCPU's context, before gup looks again.
     */
    cow: {
      meta: { call: 'invalidation' },
      on: { STEP: { target: 'gup' } },
    },
    /** gup's retry after the fault (follow_page_mask again): the new page, writable. */
    gup: {
      on: {
        STEP: [
          { guard: 'tryHvaToPfn', target: 'postcheck', actions: 'computeGoalLevel' },
          { guard: 'gupNeedsCowBreak', target: 'cow', actions: 'beginCowBreak' },
          { target: 'done', actions: { type: 'setErrno', params: { errno: 'EFAULT' } } },
        ],
      },
    },
    /** Second lockless check, after gup: release the pfn and retry if an invalidation hit it. */
    postcheck: {
      on: {
        STEP: [
          { guard: 'mmuInvalidateRetryGfnUnsafe', target: 'done', actions: ['releasePfn', { type: 'setRet', params: { ret: 'retry', reason: 'invalidate-postcheck' } }] },
          { target: 'lock' },
        ],
      },
    },
    /** read_lock(&kvm->mmu_lock); rcu_read_lock() for the walk. */
    lock: {
      on: {
        STEP: [
          { guard: 'tryMmuReadLock', target: 'checkStale', actions: 'rcuReadLock' },
          { target: 'lock', actions: 'waitMmuLock' },
        ],
      },
    },
    /**
     * is_page_fault_stale(): the root went obsolete, or an invalidation raced with the pfn.
     * The snapshot is an `unsigned long` (mmuSeqIsUnsignedLong); before the fix of R3 the
     * 6.1 kernel passed it as an `int`, sign-extended back for mmu_invalidate_retry_hva().
     */
    checkStale: {
      on: {
        STEP: [
          { guard: 'isObsoleteRoot', target: 'unlock', actions: { type: 'setRet', params: { ret: 'retry', reason: 'obsolete-root' } } },
          { guard: and(['mmuSeqIsUnsignedLong', 'mmuInvalidateRetryGfn']), target: 'unlock', actions: { type: 'setRet', params: { ret: 'retry', reason: 'stale' } } },
          { guard: and([not('mmuSeqIsUnsignedLong'), 'mmuInvalidateRetryGfnIntSeq']), target: 'unlock', actions: { type: 'setRet', params: { ret: 'retry', reason: 'stale' } } },
          { target: 'walk', actions: 'tdpIterStart' },
        ],
      },
    },
    /** kvm_tdp_mmu_map(): one level per step, deciding on the SPTE the iterator just read. */
    walk: {
      on: {
        STEP: [
          { guard: 'isFrozenSpte', target: 'unlock', actions: { type: 'setRet', params: { ret: 'retry', reason: 'frozen' } } },
          { guard: 'atGoalLevel', target: 'target' },
          { guard: 'isPresentNonLeaf', target: 'walk', actions: 'tdpIterStepDown' },
          { guard: 'isPresentLarge', target: 'split' },
          { target: 'link' },
        ],
      },
    },
    /** tdp_mmu_link_sp(): CAS a fresh table from the vCPU cache into the non-present SPTE. */
    link: {
      on: {
        STEP: [
          { guard: 'tryTdpMmuLinkSp', target: 'walk', actions: 'tdpIterUseLinkedSp' },
          { target: 'unlock', actions: ['freeUnusedSp', { type: 'setRet', params: { ret: 'retry', reason: 'cas-failed' } }] },
        ],
      },
    },
    /** tdp_mmu_split_huge_page(): build an equivalent child table off-line, CAS it over the huge SPTE. */
    split: {
      on: {
        STEP: [
          { guard: 'tryTdpMmuSplitHugePage', target: 'walk', actions: 'tdpIterUseLinkedSp' },
          { target: 'unlock', actions: ['freeUnusedSp', { type: 'setRet', params: { ret: 'retry', reason: 'cas-failed' } }] },
        ],
      },
    },
    /**
     * tdp_mmu_map_handle_target_level(): make_spte() / make_mmio_spte() and install it by
     * CAS. An MMIO SPTE (no memslot) ends in RET_PF_EMULATE even when it was already there.
     */
    target: {
      on: {
        STEP: [
          { guard: 'prefetchOverPresent', target: 'unlock', actions: { type: 'setRet', params: { ret: 'spurious' } } },
          { guard: 'isSpuriousAccess', target: 'unlock', actions: { type: 'setRet', params: { ret: 'spurious' } } },
          { guard: and([not('noSlot'), 'newSpteEqualsOld']), target: 'unlock', actions: { type: 'setRet', params: { ret: 'spurious' } } },
          { guard: and(['noSlot', 'tryTdpMmuSetSpteAtomic']), target: 'installed', actions: { type: 'setRet', params: { ret: 'emulate', reason: 'mmio' } } },
          { guard: and([not('noSlot'), 'tryTdpMmuSetSpteAtomic']), target: 'installed', actions: { type: 'setRet', params: { ret: 'fixed' } } },
          { target: 'unlock', actions: { type: 'setRet', params: { ret: 'retry', reason: 'cas-failed' } } },
        ],
      },
    },
    /**
     * After the CAS: a replaced table (a present non-leaf SPTE, the guard's "present" SPTE)
     * needs kvm_flush_remote_tlbs_gfn() before the unlock, while the walk still holds
     * rcu_read_lock(); anything else unlocks at once.
     */
    installed: {
      on: {
        STEP: [
          { guard: 'replacedPresentSpte', target: 'unlock', actions: 'flushRemoteTlbsGfn' },
          { target: 'done', actions: ['rcuReadUnlock', 'mmuReadUnlock', 'releasePfn'] },
        ],
      },
    },
    /** rcu_read_unlock(); read_unlock(&kvm->mmu_lock); kvm_release_pfn_clean(). */
    unlock: {
      on: { STEP: { target: 'done', actions: ['rcuReadUnlock', 'mmuReadUnlock', 'releasePfn'] } },
    },
    done: { type: 'final' },
  },
});
