/**
 * KVM_SET_USER_MEMORY_REGION(2): kvm_set_memory_region() → kvm_set_memslot()
 * (virt/kvm/kvm_main.c, ≥5.17 two-set scheme).
 *
 * Under slots_lock: validate (EINVAL / EEXIST), classify (CREATE, DELETE, MOVE,
 * FLAGS_ONLY, no-op). DELETE and MOVE first install an INVALID copy of the slot and swap
 * it in (vCPUs faulting on it retry; pre-fault gets EAGAIN), then
 * kvm_arch_flush_shadow_memslot(): kvm_mmu_zap_all_fast() invalidates every root under
 * the write lock, requests KVM_REQ_MMU_FREE_OBSOLETE_ROOTS on every vCPU, and zaps the
 * invalidated roots under the read lock. Then the final slot is installed and swapped.
 *
 * Each swap (kvm_swap_active_memslots): generation |= UPDATE_IN_PROGRESS; wait until
 * mn_active_invalidate_count == 0; publish the other set; synchronize_srcu(kvm->srcu);
 * generation += 1 with the flag cleared; bring the old set up to date.
 * From 6.12 (aa8d1f48d353) kvm_arch_flush_shadow_memslot() zaps all only when
 * kvm_memslot_flush_zap_all() (a DEFAULT VM with KVM_X86_QUIRK_SLOT_ZAP_ALL on); otherwise
 * kvm_mmu_zap_memslot() zaps the slot's leaf SPTEs under the write lock, one per step,
 * and flushes if it zapped any: roots stay valid.
 * FLAGS_ONLY enabling dirty logging then write-protects the slot (read lock) and flushes
 * unconditionally (the 2022 fix, R7); disabling it recovers the slot's huge mappings
 * under the read lock (recover-huge.ts: in place from 6.13, by zapping before).
 */

import { and, not, setup } from 'xstate';

const unbound = () => { throw new Error('memslot-update: guard/action not bound (see src/protocol/bindings.ts)'); };

export const memslotUpdateMachine = setup({
  guards: {
    trySlotsLock: unbound, invalidArgs: unbound, overlapsOtherSlot: unbound, isNoop: unbound, isCreate: unbound,
    isFlagsOnly: unbound, mnActiveInvalidateIdle: unbound, srcuGracePeriodDone: unbound, phaseIs: unbound,
    tryMmuWriteLock: unbound, tryMmuReadLock: unbound, zapDone: unbound, enablesDirtyLogging: unbound,
    memslotFlushZapAll: unbound, flushPending: unbound, disablesDirtyLogging: unbound, recoverZaps: unbound,
  },
  actions: {
    waitSlotsLock: unbound, setErrno: unbound, classifyChange: unbound, installInvalidSlot: unbound,
    installNewSlot: unbound, replaceInvalidSlot: unbound, memslotsGenBeginUpdate: unbound, waitMnActiveInvalidate: unbound,
    swapActiveMemslots: unbound, synchronizeSrcuStart: unbound, waitSrcuReader: unbound, memslotsGenEndUpdate: unbound,
    waitMmuLock: unbound, kvmMmuZapAllFast: unbound, mmuWriteUnlock: unbound, mmuReadUnlock: unbound,
    zapInvalidatedRootsStart: unbound, tdpMmuZapRootSpte: unbound, zapRootsAdvance: unbound, wrprotStart: unbound, wrprotLeaf: unbound, wrprotAdvance: unbound,
    kvmFlushRemoteTlbs: unbound, commitMemoryRegion: unbound, slotsUnlock: unbound, setPhase: unbound,
    zapSlotLeafsStart: unbound, tdpMmuZapLeaf: unbound, zapAdvance: unbound,
    rcuReadLock: unbound, rcuReadUnlock: unbound, recoverStart: unbound, recoverHugeSpte: unbound, recoverAdvance: unbound, recoverFreeze: unbound, recoverFlushFrozen: unbound,
  },
}).createMachine({
  id: 'memslot-update',
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
          { guard: 'invalidArgs', target: 'unlockSlots', actions: { type: 'setErrno', params: { errno: 'EINVAL' } } },
          { guard: 'overlapsOtherSlot', target: 'unlockSlots', actions: { type: 'setErrno', params: { errno: 'EEXIST' } } },
          { guard: 'isNoop', target: 'unlockSlots' },
          { target: 'classify', actions: 'classifyChange' },
        ],
      },
    },
    classify: {
      on: {
        STEP: [
          { guard: 'isCreate', target: 'swapBegin', actions: ['installNewSlot', { type: 'setPhase', params: { phase: 'final' } }] },
          { guard: 'isFlagsOnly', target: 'swapBegin', actions: ['installNewSlot', { type: 'setPhase', params: { phase: 'final' } }] },
          { target: 'swapBegin', actions: ['installInvalidSlot', { type: 'setPhase', params: { phase: 'invalidate' } }] },
        ],
      },
    },
    // ---------------- kvm_swap_active_memslots ----------------
    swapBegin: { on: { STEP: { target: 'swapWait', actions: 'memslotsGenBeginUpdate' } } },
    /** Wait for mn_active_invalidate_count == 0 (52ac8b358b0c, R4), then publish the other set. */
    swapWait: {
      on: {
        STEP: [
          { guard: 'mnActiveInvalidateIdle', target: 'syncStart', actions: 'swapActiveMemslots' },
          { target: 'swapWait', actions: 'waitMnActiveInvalidate' },
        ],
      },
    },
    syncStart: { on: { STEP: { target: 'syncWait', actions: 'synchronizeSrcuStart' } } },
    /** synchronize_srcu_expedited(&kvm->srcu): every reader of the old set has left. */
    syncWait: {
      on: {
        STEP: [
          { guard: 'srcuGracePeriodDone', target: 'swapEnd' },
          { target: 'syncWait', actions: 'waitSrcuReader' },
        ],
      },
    },
    swapEnd: {
      on: {
        STEP: [
          // kvm_arch_flush_shadow_memslot(): the slot's leafs only, or (below) zap all.
          { guard: and([{ type: 'phaseIs', params: { phase: 'invalidate' } }, not('memslotFlushZapAll')]), target: 'zapSlotLock', actions: 'memslotsGenEndUpdate' },
          { guard: { type: 'phaseIs', params: { phase: 'invalidate' } }, target: 'zapAllLock', actions: 'memslotsGenEndUpdate' },
          { target: 'commit', actions: 'memslotsGenEndUpdate' },
        ],
      },
    },
    // ---------------- kvm_arch_flush_shadow_memslot → kvm_mmu_zap_all_fast ----------------
    zapAllLock: {
      on: {
        STEP: [
          { guard: 'tryMmuWriteLock', target: 'zapAllFast' },
          { target: 'zapAllLock', actions: 'waitMmuLock' },
        ],
      },
    },
    /** mmu_valid_gen++, kvm_tdp_mmu_invalidate_all_roots(), KVM_REQ_MMU_FREE_OBSOLETE_ROOTS to all vCPUs. */
    zapAllFast: { on: { STEP: { target: 'zapRootsLock', actions: ['kvmMmuZapAllFast', 'mmuWriteUnlock'] } } },
    zapRootsLock: {
      on: {
        STEP: [
          { guard: 'tryMmuReadLock', target: 'zapRoots', actions: 'zapInvalidatedRootsStart' },
          { target: 'zapRootsLock', actions: 'waitMmuLock' },
        ],
      },
    },
    /** kvm_tdp_mmu_zap_invalidated_roots(): under the read lock, one top-level SPTE per step. */
    zapRoots: {
      on: {
        STEP: [
          { guard: 'zapDone', target: 'zapRootsUnlock' },
          { target: 'zapRoots', actions: ['tdpMmuZapRootSpte', 'zapRootsAdvance'] },
        ],
      },
    },
    zapRootsUnlock: {
      on: { STEP: { target: 'swapBegin', actions: ['mmuReadUnlock', 'replaceInvalidSlot', { type: 'setPhase', params: { phase: 'final' } }] } },
    },
    // ---------------- kvm_arch_flush_shadow_memslot → kvm_mmu_zap_memslot (6.12, no zap-all) ----------------
    zapSlotLock: {
      on: {
        STEP: [
          { guard: 'tryMmuWriteLock', target: 'zapSlot', actions: 'zapSlotLeafsStart' },
          { target: 'zapSlotLock', actions: 'waitMmuLock' },
        ],
      },
    },
    /** kvm_unmap_gfn_range() over the whole slot: tdp_mmu_zap_leafs in every root, one leaf SPTE per step. */
    zapSlot: {
      on: {
        STEP: [
          { guard: 'zapDone', target: 'zapSlotFlush' },
          { target: 'zapSlot', actions: ['tdpMmuZapLeaf', 'zapAdvance'] },
        ],
      },
    },
    /** Flush remote TLBs if anything was zapped, write_unlock, then install the final slot. */
    zapSlotFlush: {
      on: {
        STEP: [
          { guard: 'flushPending', target: 'swapBegin', actions: ['kvmFlushRemoteTlbs', 'mmuWriteUnlock', 'replaceInvalidSlot', { type: 'setPhase', params: { phase: 'final' } }] },
          { target: 'swapBegin', actions: ['mmuWriteUnlock', 'replaceInvalidSlot', { type: 'setPhase', params: { phase: 'final' } }] },
        ],
      },
    },
    // ---------------- kvm_commit_memory_region → kvm_mmu_slot_apply_flags ----------------
    commit: {
      on: {
        STEP: [
          { guard: 'enablesDirtyLogging', target: 'wrprotLock', actions: 'commitMemoryRegion' },
          { guard: 'disablesDirtyLogging', target: 'recoverLock', actions: 'commitMemoryRegion' },
          { target: 'unlockSlots', actions: 'commitMemoryRegion' },
        ],
      },
    },
    wrprotLock: {
      on: {
        STEP: [
          { guard: 'tryMmuReadLock', target: 'wrprot', actions: 'wrprotStart' },
          { target: 'wrprotLock', actions: 'waitMmuLock' },
        ],
      },
    },
    /** kvm_tdp_mmu_wrprot_slot(): clear W on each writable leaf of the slot, by CAS. */
    wrprot: {
      on: {
        STEP: [
          { guard: 'zapDone', target: 'wrprotFlush', actions: 'mmuReadUnlock' },
          { target: 'wrprot', actions: ['wrprotLeaf', 'wrprotAdvance'] },
        ],
      },
    },
    /** Always flush when enabling dirty logging (R7). */
    wrprotFlush: { on: { STEP: { target: 'unlockSlots', actions: 'kvmFlushRemoteTlbs' } } },
    recoverLock: {
      on: {
        STEP: [
          { guard: 'tryMmuReadLock', target: 'recover', actions: ['rcuReadLock', 'recoverStart'] },
          { target: 'recoverLock', actions: 'waitMmuLock' },
        ],
      },
    },
    /**
     * kvm_mmu_recover_huge_pages() (6.13+; kvm_mmu_zap_collapsible_sptes() before): one
     * non-leaf SPTE that can map huge per step — recovered in place, or zapped with its flush.
     * The walk is an RCU reader (rcu_read_lock() in recover_huge_pages_range()).
     */
    recover: {
      on: {
        STEP: [
          { guard: 'zapDone', target: 'recoverFlush' },
          { guard: 'recoverZaps', target: 'recoverFrozen', actions: 'recoverFreeze' },
          { target: 'recover', actions: ['recoverHugeSpte', 'recoverAdvance'] },
        ],
      },
    },
    /** Until 6.12: tdp_mmu_zap_spte_atomic()'s flush and clear after the freeze (a vCPU may meet FROZEN_SPTE between). */
    recoverFrozen: { on: { STEP: { target: 'recover', actions: 'recoverFlushFrozen' } } },
    /**
     * kvm_flush_remote_tlbs_memslot() if anything was recovered in place — still inside the
     * RCU read section and under mmu_lock, so no unlinked table is freed before every vCPU's
     * paging-structure cache has dropped it — then rcu_read_unlock() and read_unlock().
     */
    recoverFlush: {
      on: {
        STEP: [
          { guard: 'flushPending', target: 'unlockSlots', actions: ['kvmFlushRemoteTlbs', 'rcuReadUnlock', 'mmuReadUnlock'] },
          { target: 'unlockSlots', actions: ['rcuReadUnlock', 'mmuReadUnlock'] },
        ],
      },
    },
    unlockSlots: { on: { STEP: { target: 'done', actions: 'slotsUnlock' } } },
    done: { type: 'final' },
  },
});
