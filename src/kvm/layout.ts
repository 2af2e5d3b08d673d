/**
 * The SharedArrayBuffer layout: all MMU state of one VM, laid out once from the VM's
 * configuration, every region aligned to 128 bytes so per-actor data never shares a cache
 * line. Offsets are in 32-bit words (`i32` index) unless named `...Byte`.
 *
 * SPTEs are 64-bit words in the page-table pool: SPTE `s` (global index) occupies words
 * `2s` (low) and `2s + 1` (high) of `i32`, and element `s` of `i64` (little-endian). The
 * walk reads the halves; every change is one 64-bit `Atomics.compareExchange` on `i64`.
 */

import { checkPhysBits } from './address-space.js';
import { MEMSLOTS_MAX, MMU_CACHE_TABLES, ROOTS_MAX, SPTES_PER_TABLE, TLB_ENTRIES, ATTR_CHUNK_GFNS, VCPUS_MAX } from './limits.js';

/** Words per 128-byte line. */
export const LINE_WORDS = 32;

/**
 * Lays out a named table of word offsets: the fields follow one another from word
 * `start`, each taking `width` words, in the order listed. The result keeps each field's
 * doc comment.
 */
export function wordOffsets<T extends Record<string, number>>(start: number, widths: T): { readonly [K in keyof T]: number } {
  const out: Record<string, number> = {};
  let at = start;
  for (const name of Object.keys(widths)) {
    out[name] = at;
    at += widths[name]!;
  }
  return out as { readonly [K in keyof T]: number };
}

/** Global words, each group on its own 128-byte line. */
export const G = {
  ...wordOffsets(0 * LINE_WORDS, {
    /** kvm->mmu_lock (rwlock word, see mmu-lock.ts). */
    MMU_LOCK: 1,
  }),
  // --- invalidation line (mmu-invalidate.ts) ---
  ...wordOffsets(1 * LINE_WORDS, {
    /**
     * kvm->mmu_invalidate_seq: an `unsigned long`, 64 bits — two words, the first at an
     * even offset so it is element INVALIDATE_SEQ / 2 of `i64` (read and written whole).
     */
    INVALIDATE_SEQ: 2,
    /** kvm->mmu_invalidate_in_progress */
    INVALIDATE_IN_PROGRESS: 1,
    /**
     * kvm->mmu_invalidate_range_start / _end as gfns: the first gfn and the LAST gfn
     * (inclusive), each as low and high words (address-space.ts); RANGE_VALID = 0 is
     * INVALID_GPA (no range added since the first begin).
     */
    INVALIDATE_RANGE_START: 1,
    INVALIDATE_RANGE_LAST: 1,
    INVALIDATE_RANGE_START_HI: 1,
    INVALIDATE_RANGE_LAST_HI: 1,
    /** kvm->mn_active_invalidate_count (blocks memslot swaps) */
    MN_ACTIVE_INVALIDATE_COUNT: 1,
    INVALIDATE_RANGE_VALID: 1,
    /** kvm->mn_invalidate_lock: orders the count's increment against a memslot swap (internal mutex word). */
    MN_INVALIDATE_LOCK: 1,
  }),
  // --- memslots line (memslots.ts, srcu.ts) ---
  ...wordOffsets(2 * LINE_WORDS, {
    /** Which of the two memslot sets is active (0 or 1). */
    MEMSLOTS_ACTIVE: 1,
    /** Memslot generation, low 31 bits. */
    MEMSLOTS_GEN: 1,
    /** 1 while a swap is in progress (KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS, bit 63 in the kernel). */
    MEMSLOTS_GEN_UPDATE_IN_PROGRESS: 1,
    /** kvm->srcu grace-period counter (bumped by synchronize_srcu). */
    SRCU_EPOCH: 1,
    /** nr_memslots_dirty_logging */
    NR_MEMSLOTS_DIRTY_LOGGING: 1,
    /** kvm->arch.pre_fault_allowed (SNP/TDX: false until launch finish / finalize). */
    PRE_FAULT_ALLOWED: 1,
    /** kvm->slots_lock (mutex word: 0 free, actor + 1 = holder). */
    SLOTS_LOCK: 1,
    /** kvm->manual_dirty_log_protect (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled, without INITIALLY_SET). */
    MANUAL_DIRTY_LOG_PROTECT: 1,
  }),
  // --- MMU line (tdp-mmu.ts, page-pool.ts, rcu.ts) ---
  ...wordOffsets(3 * LINE_WORDS, {
    /** kvm->arch.mmu_valid_gen (bumped by kvm_mmu_zap_all_fast). */
    MMU_VALID_GEN: 1,
    /** RCU epoch counter: bumped when a table is queued for freeing. */
    RCU_EPOCH: 1,
    /** Page-table pool: bump pointer, free-stack top, pending-free count, internal lock. */
    POOL_BUMP: 1,
    POOL_FREE_TOP: 1,
    POOL_PENDING_COUNT: 1,
    POOL_LOCK: 1,
    /** Tables currently in use (linked, cached or pending), for the memory figures. */
    POOL_IN_USE: 1,
    /** kvm->vm_dead (kvm_vm_dead(): every vCPU ioctl is -EIO from then on). */
    VM_DEAD: 1,
    /**
     * Root slots ever allocated: every slot at or above it was never in use (bookkeeping,
     * not part of the modelled kernel: the invariant scans of the root slots stop there).
     */
    ROOTS_HIGH: 1,
    /** Unused words. */
    MMU_LINE_SPARE: 3,
    /** guest_memfd pages handed out. */
    GMEM_BUMP: 1,
    /** Attribute chunks handed out; dirty-bitmap words handed out. */
    ATTR_CHUNK_BUMP: 1,
    DIRTY_BUMP: 1,
    /** Bump pointer of the host virtual address space (pages). */
    HVA_BUMP: 1,
    /** Non-zero once a run's checker has found a violation (threaded engine stops on it). */
    VIOLATION_FLAG: 1,
    /** Head of the RCU pending-free ring (POOL_PENDING_COUNT is its tail). */
    POOL_PENDING_HEAD: 1,
    /** kvm->arch.tdp_mmu_pages_lock: the root list (internal, never held across a step). */
    ROOTS_LOCK: 1,
    /**
     * Bumped by every change that can make an existing SPTE wrong without touching it (host
     * mapping change or free, attribute store, memslot swap, dirty bit taken, end of an
     * invalidation or of a dirty-log update): the checker rescans all SPTEs when it moves
     * and otherwise checks only the SPTEs a step wrote. Not part of the modelled kernel.
     */
    STATE_EPOCH: 1,
  }),
  // --- host line (host.ts): written on every host page fault-in, so kept off the line
  // every walker reads (RCU_EPOCH) ---
  ...wordOffsets(4 * LINE_WORDS, {
    /** Host page allocator: bump pointer, free-stack top, internal lock, pages in use. */
    HOST_PFN_BUMP: 1,
    HOST_FREE_TOP: 1,
    HOST_LOCK: 1,
    HOST_PAGES_IN_USE: 1,
    /** The shared zero page (ZERO_PAGE(0)), allocated on first use; 0 until then. */
    ZERO_PFN: 1,
    /** The huge zero page (mm_get_huge_zero_folio()): first of 512 aligned pfns, allocated on first use. */
    HUGE_ZERO_PFN: 1,
  }),
};
const GLOBALS_WORDS = 5 * LINE_WORDS;

/**
 * Per-root record: table index, role.invalid, tdp_mmu_root_count, in-use, and whether the
 * TDP MMU still owns a reference to drop after zapping it (tdp_mmu_scheduled_root_to_zap).
 */
export const ROOT = wordOffsets(0, { TABLE: 1, INVALID: 1, REFCOUNT: 1, IN_USE: 1, SCHEDULED_ZAP: 1 });
export const ROOT_WORDS = 8;

/** Per-actor record (one 128-byte line each, two lines for the vCPU page cache). */
export const ACTOR = wordOffsets(0, {
  /** RCU read-side: 0 outside, else RCU epoch + 1 at rcu_read_lock. */
  RCU_READ: 1,
  /** SRCU read-side on kvm->srcu: 0 outside, else SRCU epoch + 1 at srcu_read_lock. */
  SRCU_READ: 1,
  /** KVM request bits (KVM_REQ_*), set by others, cleared by the vCPU. */
  REQUESTS: 1,
  /** Root slot the vCPU uses (vcpu->arch.mmu->root.hpa), -1 = INVALID_PAGE; only its vCPU reads and writes it (plain). */
  ROOT_SLOT: 1,
  /** mmu_topup_memory_caches: count of cached tables, then the table indices. */
  CACHE_COUNT: 1,
  CACHE: MMU_CACHE_TABLES,
  /** Steps taken (watchdog, stats). */
  STEP_COUNT: 1,
  /** signal_pending(current) for the thread of this actor. */
  SIGNAL: 1,
  /** Holds mmu_lock: 0 none, 1 read, 2 write (lockdep for this actor). */
  LOCK_HELD: 1,
  /**
   * vcpu->mode, as a counter: odd while the vCPU executes a guest access (IN_GUEST_MODE),
   * even outside. A remote TLB flush waits for every vCPU it finds odd to move on
   * (KVM_REQUEST_WAIT: the IPI is acknowledged only once the CPU left guest mode).
   */
  MODE: 1,
  /**
   * gfn + 1 while this actor is between making an SPTE writable in a dirty-logged slot
   * and mark_page_dirty_in_slot() (two accesses in the kernel too); 0 otherwise, as low
   * and high words (the high word written first). Not modelled state: the lost-dirty-page
   * check reads it so as not to call that window a lost write (on threads another vCPU
   * can write through the SPTE inside it).
   */
  MARKING: 1,
  MARKING_HI: 1,
});
export const ACTOR_WORDS = LINE_WORDS;

/** Memslot record within a set. Flags use the uAPI bits plus KVM_MEMSLOT_INVALID. */
export const SLOT = wordOffsets(0, { USED: 1, ID: 1, FLAGS: 1, BASE_GFN: 1, NPAGES: 1, HVA_BASE: 1, GMEM_BASE: 1, DIRTY_BASE: 1, BASE_GFN_HI: 1 });
export const SLOT_WORDS = 9;
/** A memslot set: header line (count) + MEMSLOTS_MAX records. */
export const SET_HEADER_WORDS = LINE_WORDS;

/**
 * TLB entry: gfn (low word), pfn, flags (VALID/W/X), pfn generation at fill, gfn (high
 * word); then, in the same slot of the vCPU's paging-structure cache (indexed by the 2 MiB
 * region, not the gfn), the region (one word: a gfn is below 2^40, its region below
 * 2^31), the last-level table the walk went through (0: none) and the SPTE word it was
 * linked under then, plus 1.
 */
export const TLBE = wordOffsets(0, { GFN: 1, PFN: 1, FLAGS: 1, PFN_GEN: 1, GFN_HI: 1, PSC_REGION: 1, PSC_TABLE: 1, PSC_PARENT: 1 });
export const TLBE_WORDS = 8;

/**
 * Page-table page metadata: state, level, base gfn (low word), parent SPTE index + 1 (0 =
 * root), base gfn (high word), and the RCU epoch a removed table waits for.
 */
export const TABLE = wordOffsets(0, { STATE: 1, LEVEL: 1, GFN: 1, PARENT: 1, GFN_HI: 1, FREE_EPOCH: 1 });
export const TABLE_META_WORDS = 6;
/** Table states. */
export const TABLE_FREE = 0;
export const TABLE_CACHED = 1;
export const TABLE_LIVE = 2;
export const TABLE_REMOVED = 3;

/** Sizes the layout is built from. */
export interface LayoutConfig {
  vcpus: number;
  /** Page-table pages in the pool (table 0 is never used: index 0 means "none"). */
  tables: number;
  /** Host physical pages (pfns). */
  hostPages: number;
  /** Host virtual pages (the VMM's address space for memslots). */
  hvaPages: number;
  /** guest_memfd pages. */
  gmemPages: number;
  /** 32-bit words of dirty bitmaps. */
  dirtyWords: number;
  /** Attribute chunks (each ATTR_CHUNK_GFNS gfns). */
  attrChunks: number;
  /** The guest physical address width, MAXPHYADDR (address-space.ts): max gfn and root level. */
  physBits: number;
}

/**
 * The attribute index: an open-addressed hash table from a 1-GiB chunk number (gfn >> 18,
 * below 2^22 in a 52-bit space) to the chunk, two words an entry (chunk number + 1, 0 =
 * empty; chunk index), at least twice as many entries as chunks so a probe ends at an
 * empty entry.
 */
export const ATTR_INDEX = wordOffsets(0, { KEY: 1, CHUNK: 1 });
export const ATTR_INDEX_WORDS = 2;

/** Entries of the attribute index for `chunks` chunks: the power of two at least twice as many (at least 8). */
export function attrIndexEntries(chunks: number): number {
  let n = 8;
  while (n < 2 * chunks) n *= 2;
  return n;
}
/** Bytes per attribute chunk: one byte per gfn, then one "mixed" byte per 2M region and one for the 1G region. */
export const ATTR_CHUNK_BYTES = ATTR_CHUNK_GFNS + 512 + 128;

export interface Layout {
  readonly config: LayoutConfig;
  readonly actors: number;
  readonly hostActor: number;
  readonly vmmActor: number;
  readonly rootsBase: number;
  readonly actorsBase: number;
  readonly memslotsBase: number;
  readonly dirtyLogInProgressBase: number;
  readonly tlbBase: number;
  readonly tableMetaBase: number;
  readonly poolFreeBase: number;
  readonly rcuPendingBase: number;
  readonly hvaToPfnBase: number;
  readonly pfnOwnerBase: number;
  readonly pfnGenBase: number;
  readonly pfnFreeBase: number;
  readonly gmemToPfnBase: number;
  /** SNP: the RMP entry of each guest_memfd page's pfn (snp-rmp.ts). */
  readonly gmemRmpBase: number;
  readonly dirtyBase: number;
  /** The attribute index (ATTR_INDEX entries). */
  readonly attrIndexBase: number;
  /** Entries of the attribute index (a power of two). */
  readonly attrIndexEntries: number;
  /** Word index of the first SPTE word (pool); SPTE global index s = (word - ptBase) / 2. */
  readonly ptBase: number;
  /** Byte regions. */
  readonly hvaProtByte: number;
  readonly attrChunksByte: number;
  readonly totalBytes: number;
}

const align = (words: number): number => Math.ceil(words / LINE_WORDS) * LINE_WORDS;

/** Words of one vCPU's TLB region (a constant: tlbWord() runs several times per guest access). */
const TLB_VCPU_WORDS = align(TLB_ENTRIES * TLBE_WORDS);

/** computeLayout(): every region's offset, each 128-byte aligned. */
export function computeLayout(config: LayoutConfig): Layout {
  if (config.vcpus < 1 || config.vcpus > VCPUS_MAX) throw new RangeError(`vcpus must be 1..${VCPUS_MAX}`);
  checkPhysBits(config.physBits);
  if (config.tables >= 1 << 20) throw new RangeError('page-table pool exceeds 2^20 tables (the SPTE low word holds the table index)');
  const actors = config.vcpus + 2;
  let at = GLOBALS_WORDS;
  const take = (words: number): number => {
    const base = at;
    at += align(words);
    return base;
  };
  const rootsBase = take(ROOTS_MAX * ROOT_WORDS);
  const actorsBase = take(actors * ACTOR_WORDS);
  const memslotsBase = take(2 * (SET_HEADER_WORDS + MEMSLOTS_MAX * SLOT_WORDS));
  const dirtyLogInProgressBase = take(MEMSLOTS_MAX);
  const tlbBase = take(config.vcpus * TLB_VCPU_WORDS);
  const tableMetaBase = take(config.tables * TABLE_META_WORDS);
  const poolFreeBase = take(config.tables);
  const rcuPendingBase = take(config.tables * 2);
  const hvaToPfnBase = take(config.hvaPages);
  const pfnOwnerBase = take(config.hostPages);
  const pfnGenBase = take(config.hostPages);
  const pfnFreeBase = take(config.hostPages);
  const gmemToPfnBase = take(config.gmemPages);
  const gmemRmpBase = take(config.gmemPages);
  const dirtyBase = take(config.dirtyWords);
  const attrEntries = attrIndexEntries(config.attrChunks);
  const attrIndexBase = take(attrEntries * ATTR_INDEX_WORDS);
  // 64-bit alignment for the SPTE pool: LINE_WORDS is even, so every region start is.
  const ptBase = take(config.tables * SPTES_PER_TABLE * 2);
  const hvaProtByte = at * 4;
  const attrChunksByte = Math.ceil((hvaProtByte + config.hvaPages) / 128) * 128;
  const totalBytes = Math.ceil((attrChunksByte + config.attrChunks * ATTR_CHUNK_BYTES) / 128) * 128;
  return {
    config, actors, hostActor: config.vcpus, vmmActor: config.vcpus + 1,
    rootsBase, actorsBase, memslotsBase, dirtyLogInProgressBase, tlbBase, tableMetaBase, poolFreeBase, rcuPendingBase,
    hvaToPfnBase, pfnOwnerBase, pfnGenBase, pfnFreeBase, gmemToPfnBase, gmemRmpBase, dirtyBase, attrIndexBase, attrIndexEntries: attrEntries, ptBase,
    hvaProtByte, attrChunksByte, totalBytes,
  };
}

/** Typed views of one VM's shared memory. Every actor (thread) builds its own from the SAB. */
export interface SharedMem {
  /**
   * The memory: a SharedArrayBuffer the actor threads share, or a plain ArrayBuffer for a
   * VM one thread owns alone (the deterministic engine: cheaper to copy back from a snapshot).
   */
  readonly sab: SharedArrayBuffer | ArrayBuffer;
  readonly layout: Layout;
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly u8: Uint8Array;
}

/** Shared between threads, or owned by one (see SharedMem.sab). */
export type VmMemory = 'shared' | 'private';

export function allocateSharedMem(layout: Layout, memory: VmMemory = 'shared'): SharedMem {
  const sab = memory === 'shared' ? new SharedArrayBuffer(layout.totalBytes) : new ArrayBuffer(layout.totalBytes);
  return viewsOf(sab, layout);
}

export function viewsOf(sab: SharedArrayBuffer | ArrayBuffer, layout: Layout): SharedMem {
  return { sab, layout, i32: new Int32Array(sab), i64: new BigInt64Array(sab), u8: new Uint8Array(sab) };
}

/** Word index of an actor's field. */
export function actorWord(layout: Layout, actor: number, field: number): number {
  return layout.actorsBase + actor * ACTOR_WORDS + field;
}

/** Word index of a root record's field. */
export function rootWord(layout: Layout, slot: number, field: number): number {
  return layout.rootsBase + slot * ROOT_WORDS + field;
}

/** Word index of the low half of SPTE `index` of table `table`. */
export function spteWord(layout: Layout, table: number, index: number): number {
  return layout.ptBase + (table * SPTES_PER_TABLE + index) * 2;
}

/** Word index of a table's metadata field. */
export function tableMetaWord(layout: Layout, table: number, field: number): number {
  return layout.tableMetaBase + table * TABLE_META_WORDS + field;
}

/** Word index of a memslot record field in set `set` (0/1), record `i`. */
export function slotWord(layout: Layout, set: number, i: number, field: number): number {
  return layout.memslotsBase + set * (SET_HEADER_WORDS + MEMSLOTS_MAX * SLOT_WORDS) + SET_HEADER_WORDS + i * SLOT_WORDS + field;
}

/** Word index of a vCPU's TLB entry field. */
export function tlbWord(layout: Layout, vcpu: number, entry: number, field: number): number {
  return layout.tlbBase + vcpu * TLB_VCPU_WORDS + entry * TLBE_WORDS + field;
}
