/**
 * The full invariant scan of DESIGN.md "What is checked", over every SPTE of every valid
 * root, the memslots, attributes, host pages and the lock: run by the deterministic engine
 * after every step and by the threaded engine at quiescent points.
 *
 * The exemptions mirror the protocol: an SPTE that disagrees with the host mapping is
 * legal while an invalidation covering it is in progress (the notifier has not returned,
 * the mm has not freed anything), and an SPTE of an INVALID slot is legal until
 * kvm_mmu_zap_all_fast has run. An SPTE to a freed page is never legal.
 *
 * The scan reads the tables, roots and lock words as plain elements of the VM's memory
 * (not through shm.ts: a call per word is most of a check that finds nothing). It runs
 * between steps, never inside one — no step's footprint is being recorded — and, in the
 * threaded engine, only at quiescent points.
 */

import { gfnJoin } from '../kvm/address-space.js';
import { dirtyLogInProgress, dirtyMarkInFlight, dirtyMarkOf, kvmSlotDirtyTrackEnabled, testPageDirty } from '../kvm/dirty-bitmap.js';
import type { Violation, ViolationKind } from '../kvm/findings.js';
import { HVA_WRITE, gmemPfn, hvaPfn, hvaProt, isZeroPfn, pfnAllocated, pfnOwner } from '../kvm/host.js';
import { ACTOR, ACTOR_WORDS, G, ROOT, ROOT_WORDS, TABLE, TABLE_LIVE, actorWord, rootWord, spteWord, tableMetaWord } from '../kvm/layout.js';
import { KVM_MEM_READONLY, SlotInfo, gfnToMemslot, memslotsActiveSet } from '../kvm/memslots.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, kvmGetMemoryAttributes, kvmRangeHasMemoryAttributes } from '../kvm/mem-attrs.js';
import { mmuInvalidateRange } from '../kvm/mmu-invalidate.js';
import { LOCK_HELD_READ, LOCK_HELD_WRITE } from '../kvm/mmu-lock.js';
import { SPTES_PER_TABLE } from '../kvm/limits.js';
import { isHostWritable, isLast, isShadowPresent, isWritable, spteChildTable, spteDescribe, spteHex, sptePfn, spteWritableInvariant } from '../kvm/spte.js';
import { isObsoleteRoot, rootTable } from '../kvm/tdp-mmu.js';
import * as S from '../kvm/shm.js';
import { pagesPerLevel } from '../kvm/types.js';
import type { Vm } from '../kvm/vm.js';

const slot = new SlotInfo();

/** Who last wrote an SPTE (by its low word index), if the engine tracks it. */
export interface SpteWriter {
  readonly actor: string;
  readonly step: number;
  readonly label: string;
}
export type SpteProvenance = (sptep: number) => SpteWriter | undefined;

/**
 * Which entries of a page-table page may be present, from an engine that saw every SPTE
 * write since the VM was created: a table comes out of the pool all non-present and an
 * entry becomes present only through a write the engine notes. Bit i (word i >> 5) of a
 * table's bitmap is set once its entry i was written; undefined: none ever was. The full
 * scan then visits those entries only (in the same order: the same findings).
 */
export interface SpteWrittenMap {
  writtenBits(table: number): Int32Array | undefined;
}

interface ScanCtx {
  vm: Vm;
  prov: SpteProvenance | undefined;
  written: SpteWrittenMap | undefined;
  out: Violation[];
  inProgress: number;
  /** The invalidation range [start, end), null while INVALID_GPA (read only while one is in progress). */
  range: [number, number] | null;
  activeSet: number;
  /** `slot` holds a memslot this scan found in `activeSet` (a leaf inside it needs no lookup). */
  slotKnown: boolean;
  /** The leaf being checked (reused). */
  readonly leaf: LeafRef;
  /** The full scan's walk: (table, level, base gfn) triples still to visit (reused). */
  readonly stack: number[];
}

function violation(kind: ViolationKind, message: string, extra: Partial<Violation> = {}): Violation {
  return { kind, message, actors: [], step: -1, ...extra } as Violation;
}

function underInvalidation(c: ScanCtx, start: number, end: number): boolean {
  return c.inProgress > 0 && c.range !== null && start < c.range[1] && c.range[0] < end;
}

function spteRefs(where: string, lo: number, hi: number, level: number, writer?: SpteWriter) {
  const ref = { where, value: spteHex(lo, hi), decoded: spteDescribe(lo, hi, level) };
  return [writer ? { ...ref, writtenBy: `${writer.actor} at step ${writer.step} (${writer.label})` } : ref];
}

/**
 * A leaf's description for a finding, built only when there is one (the scan runs after
 * every step): one per scan, set for each leaf it checks, so checking allocates nothing.
 */
class LeafRef {
  private sptep = 0;
  private rootSlot = 0;
  private table = 0;
  private i = 0;
  private lo = 0;
  private hi = 0;
  private level = 1;

  constructor(private readonly c: ScanCtx) {}

  set(sptep: number, rootSlot: number, table: number, i: number, lo: number, hi: number, level: number): this {
    this.sptep = sptep; this.rootSlot = rootSlot; this.table = table; this.i = i; this.lo = lo; this.hi = hi; this.level = level;
    return this;
  }

  get sptes() {
    return spteRefs(`root#${this.rootSlot} table#${this.table}[${this.i}] L${this.level}`, this.lo, this.hi, this.level, this.c.prov?.(this.sptep));
  }

  get writerActor(): string | undefined {
    return this.c.prov?.(this.sptep)?.actor;
  }
}

/** Checks one present leaf SPTE of a valid root (entry `i` of `table`, under root `rootSlot`). */
function checkLeaf(c: ScanCtx, sptep: number, rootSlot: number, table: number, i: number, lo: number, hi: number, level: number, baseGfn: number): void {
  const pages = pagesPerLevel(level);
  const ref = c.leaf.set(sptep, rootSlot, table, i, lo, hi, level);
  const before = c.out.length;
  checkLeafInner(c, lo, hi, level, baseGfn, pages, ref);
  if (c.out.length > before) {
    const writer = ref.writerActor;
    if (writer !== undefined) for (let i = before; i < c.out.length; i++) c.out[i]!.actors = [writer];
  }
}

function checkLeafInner(c: ScanCtx, lo: number, hi: number, level: number, baseGfn: number, pages: number, ref: LeafRef): void {
  const vm = c.vm;
  const w = spteWritableInvariant(lo, hi);
  if (w !== null) c.out.push(violation('spte-invariant', `${w} at gfn 0x${baseGfn.toString(16)} (check_spte_writable_invariants)`, { gfn: baseGfn, sptes: ref.sptes }));
  // Consecutive leaves mostly share a memslot: the one found last answers while it covers
  // the gfn (slots do not overlap, and the set does not change during a scan).
  if (!(c.slotKnown && slot.contains(baseGfn))) c.slotKnown = gfnToMemslot(vm, c.activeSet, baseGfn, slot);
  if (!c.slotKnown || baseGfn + pages > slot.baseGfn + slot.npages) {
    if (slot.invalid) return;
    c.out.push(violation('stale-spte', `present SPTE for gfn 0x${baseGfn.toString(16)} (L${level}) survives outside any memslot (deleted or moved without a zap)`, { gfn: baseGfn, sptes: ref.sptes }));
    return;
  }
  if (slot.invalid) return;
  const inval = underInvalidation(c, baseGfn, baseGfn + pages);
  if (pages > 1 && !inval && !kvmRangeHasMemoryAttributes(vm, baseGfn, baseGfn + pages, kvmGetMemoryAttributes(vm, baseGfn))) {
    c.out.push(violation('mixed-attribute-hugepage', `L${level} hugepage at gfn 0x${baseGfn.toString(16)} spans gfns with different memory attributes`, { gfn: baseGfn, sptes: ref.sptes }));
  }
  const base = sptePfn(lo, hi);
  const stride = pages <= 512 ? 1 : 511;
  for (let i = 0; i < pages; i += stride) {
    const gfn = baseGfn + i;
    const pfn = base + i;
    if (!pfnAllocated(vm, pfn)) {
      c.out.push(violation('use-after-free', `SPTE for gfn 0x${gfn.toString(16)} maps host pfn 0x${pfn.toString(16)}, which the host has freed`, { gfn, pfn, sptes: ref.sptes }));
      return;
    }
    if ((isWritable(lo) || isHostWritable(hi)) && isZeroPfn(vm, pfn)) {
      c.out.push(violation('zero-page', `${isWritable(lo) ? 'writable' : 'host-writable'} SPTE for gfn 0x${gfn.toString(16)} maps the zero page (pfn 0x${pfn.toString(16)}): a guest write would change the page every untouched anonymous page reads as — only a CoW break makes a page writable`, { gfn, pfn, sptes: ref.sptes }));
      return;
    }
    const priv = vm.hasPrivateMem && (kvmGetMemoryAttributes(vm, gfn) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0;
    const gmem = pfnOwner(vm, pfn) < 0;
    const ginval = inval && underInvalidation(c, gfn, gfn + 1);
    if (priv !== gmem && !ginval) {
      c.out.push(violation('private-shared-mismatch', `${priv ? 'private' : 'shared'} gfn 0x${gfn.toString(16)} is mapped to a ${gmem ? 'guest_memfd' : 'host hva'} page`, { gfn, pfn, sptes: ref.sptes }));
      return;
    }
    const off = gfn - slot.baseGfn;
    const expected = gmem ? gmemPfn(vm, slot.gmemBase + off) : hvaPfn(vm, slot.hvaBase + off);
    if (expected !== pfn && !ginval) {
      // invalidate_range_end has returned for this page (or it was never invalidated): the
      // mm may free or reuse it at any moment while the guest can still reach it.
      c.out.push(violation('use-after-free', `SPTE for gfn 0x${gfn.toString(16)} maps pfn 0x${pfn.toString(16)}, which the ${gmem ? 'guest_memfd' : 'host'} no longer maps there (it maps 0x${expected.toString(16)}) and no invalidation is in progress: the old page is freed or reused under the guest`, { gfn, pfn, sptes: ref.sptes }));
      return;
    }
    if (isWritable(lo) && !gmem && !ginval && (hvaProt(vm, slot.hvaBase + off) & HVA_WRITE) === 0) {
      c.out.push(violation('stale-spte', `writable SPTE for gfn 0x${gfn.toString(16)} over a host page that is no longer writable (mprotect without a zap)`, { gfn, pfn, sptes: ref.sptes }));
      return;
    }
    // (A fast_page_fault() between its cmpxchg and its mark_page_dirty_in_slot() has made
    // the SPTE writable and not yet marked it: its next step does.)
    if (isWritable(lo) && kvmSlotDirtyTrackEnabled(slot) && !dirtyLogInProgress(vm, slot.id) && !testPageDirty(vm, slot, gfn) && !dirtyMarkInFlight(vm, gfn)) {
      c.out.push(violation('lost-dirty-page', `writable SPTE for gfn 0x${gfn.toString(16)} in a dirty-logged slot whose dirty bit is clear`, { gfn, pfn, sptes: ref.sptes }));
      return;
    }
  }
  if (isWritable(lo) && (slot.flags & KVM_MEM_READONLY) !== 0) {
    c.out.push(violation('spte-invariant', `writable SPTE for gfn 0x${baseGfn.toString(16)} in a read-only memslot`, { gfn: baseGfn, sptes: ref.sptes }));
  }
}

/**
 * Checks the SPTE at word `w` (table `table`, index `i`, `level`, table base gfn): a leaf
 * against everything, a non-leaf for its child's state and parent. Returns the child table
 * to descend into, or -1.
 */
function checkEntry(c: ScanCtx, rootSlot: number, table: number, i: number, level: number, gfnBase: number): number {
  const vm = c.vm;
  const w = spteWord(vm.layout, table, i);
  const lo = vm.i32[w]!;
  if (!isShadowPresent(lo)) return -1;
  const hi = vm.i32[w + 1]!;
  const gfn = gfnBase + i * pagesPerLevel(level);
  if (isLast(lo, level)) {
    checkLeaf(c, w, rootSlot, table, i, lo, hi, level, gfn);
    return -1;
  }
  const child = spteChildTable(lo);
  const parent = vm.i32[tableMetaWord(vm.layout, child, TABLE.PARENT)]!;
  const state = vm.i32[tableMetaWord(vm.layout, child, TABLE.STATE)]!;
  if (state !== TABLE_LIVE || parent !== w + 1) {
    c.out.push(violation('table-reuse', `table #${child} linked from root#${rootSlot} table#${table}[${i}] is ${state !== TABLE_LIVE ? 'not live (freed or reused)' : 'also linked elsewhere (two parents)'}`, { gfn, sptes: spteRefs(`table#${table}[${i}] L${level}`, lo, hi, level) }));
    return -1;
  }
  return child;
}

/** Walks one root with an explicit stack: every table's parent, every leaf (with a written map, only the entries ever written). */
function scanRoot(c: ScanCtx, rootSlot: number): void {
  const stack = c.stack;
  stack.push(rootTable(c.vm, rootSlot), c.vm.rootLevel, 0);
  const written = c.written;
  while (stack.length > 0) {
    const gfnBase = stack.pop()!;
    const level = stack.pop()!;
    const table = stack.pop()!;
    if (written === undefined) {
      for (let i = 0; i < SPTES_PER_TABLE; i++) scanEntry(c, stack, rootSlot, table, i, level, gfnBase);
      continue;
    }
    const bits = written.writtenBits(table);
    if (bits === undefined) continue;
    for (let w = 0; w < bits.length; w++) {
      // Lowest set bit first: ascending entries, as the full walk visits them.
      for (let m = bits[w]!; m !== 0; m &= m - 1) scanEntry(c, stack, rootSlot, table, (w << 5) | (31 - Math.clz32(m & -m)), level, gfnBase);
    }
  }
}

function scanEntry(c: ScanCtx, stack: number[], rootSlot: number, table: number, i: number, level: number, gfnBase: number): void {
  const child = checkEntry(c, rootSlot, table, i, level, gfnBase);
  if (child >= 0) stack.push(child, level - 1, gfnBase + i * pagesPerLevel(level));
}

/** The root slot a live table hangs from (following PARENT words up), or -1. */
function rootSlotOf(vm: Vm, table: number): number {
  let t = table;
  for (let hops = 0; hops < vm.rootLevel; hops++) {
    const parent = vm.i32[tableMetaWord(vm.layout, t, TABLE.PARENT)]!;
    if (parent === 0) break;
    t = ((parent - 1 - vm.layout.ptBase) >>> 1) >>> 9;
  }
  const i32 = vm.i32;
  const inUse = rootWord(vm.layout, 0, ROOT.IN_USE);
  const tableW = rootWord(vm.layout, 0, ROOT.TABLE);
  const n = i32[G.ROOTS_HIGH]!;
  for (let s = 0, o = 0; s < n; s++, o += ROOT_WORDS) if (i32[inUse + o]! !== 0 && i32[tableW + o]! === t) return s;
  return -1;
}

function newCtx(vm: Vm, prov: SpteProvenance | undefined, written?: SpteWrittenMap): ScanCtx {
  const c: ScanCtx = { vm, prov, written, out: [], inProgress: 0, range: null, activeSet: 0, slotKnown: false, leaf: undefined as unknown as LeafRef, stack: [] };
  (c as { leaf: LeafRef }).leaf = new LeafRef(c);
  return startCtx(c, vm, prov, written);
}

/** Points `c` at the VM's state now (with no findings yet). */
function startCtx(c: ScanCtx, vm: Vm, prov: SpteProvenance | undefined, written: SpteWrittenMap | undefined): ScanCtx {
  c.vm = vm;
  c.prov = prov;
  c.written = written;
  if (c.out.length !== 0) c.out.length = 0;
  c.inProgress = vm.i32[G.INVALIDATE_IN_PROGRESS]!;
  // underInvalidation() reads the range only while an invalidation is in progress.
  c.range = c.inProgress > 0 ? mmuInvalidateRange(vm) : null;
  c.activeSet = memslotsActiveSet(vm);
  c.slotKnown = false;
  return c;
}

/** The incremental check's and the full scan's contexts, reused from call to call (they run after steps). */
let incremental: ScanCtx | null = null;
let full: ScanCtx | null = null;
/** What checkSptes returns when it found nothing (frozen: never the reused list). */
const NONE: Violation[] = Object.freeze([]) as unknown as Violation[];

/**
 * The incremental form of scanInvariants: only the SPTEs at the given words (those a step
 * wrote), plus the global checks. Equivalent to a full scan when nothing else changed
 * since the last one (see G.STATE_EPOCH).
 */
export function checkSptes(vm: Vm, spteps: readonly number[], prov?: SpteProvenance): Violation[] {
  if (spteps.length === 0) return checkGlobalsOnly(vm);
  const c = incremental === null ? (incremental = newCtx(vm, prov)) : startCtx(incremental, vm, prov, undefined);
  checkGlobals(c);
  for (let k = 0; k < spteps.length; k++) {
    const rel = (spteps[k]! - vm.layout.ptBase) >>> 1;
    const table = rel >>> 9;
    const i = rel & (SPTES_PER_TABLE - 1);
    if (vm.i32[tableMetaWord(vm.layout, table, TABLE.STATE)]! !== TABLE_LIVE) continue;
    const root = rootSlotOf(vm, table);
    if (root < 0 || isObsoleteRoot(vm, root)) continue;
    const level = vm.i32[tableMetaWord(vm.layout, table, TABLE.LEVEL)]!;
    const gfnBase = gfnJoin(vm.i32[tableMetaWord(vm.layout, table, TABLE.GFN)]!, vm.i32[tableMetaWord(vm.layout, table, TABLE.GFN_HI)]!);
    checkEntry(c, root, table, i, level, gfnBase);
  }
  // Allocation-free when clean; a copy when not (the context is reused by the next call).
  return c.out.length === 0 ? NONE : c.out.slice();
}

/** checkSptes of no SPTE: the global checks alone (allocation-free when clean, as checkSptes). */
function checkGlobalsOnly(vm: Vm): Violation[] {
  if (globalsClean(vm)) return NONE;
  const c = incremental === null ? (incremental = newCtx(vm, undefined)) : startCtx(incremental, vm, undefined, undefined);
  checkGlobals(c);
  return c.out.slice();
}

/**
 * True when checkGlobals finds nothing: in_progress ≥ 0, the lock not broken, no reader
 * under a writer, mn_invalidate_lock free — the whole of checkSptes of no SPTE when clean, which the deterministic
 * engine asks after every step that wrote none (one pass over the actors' lock-held words,
 * nothing written).
 */
export function globalsClean(vm: Vm): boolean {
  const i32 = vm.i32;
  return i32[G.INVALIDATE_IN_PROGRESS]! >= 0 && !vm.lockProtocol.isBroken(i32[G.MMU_LOCK]!) && i32[G.MN_INVALIDATE_LOCK] === 0 && !countLockHolders(vm).clash;
}

/** countLockHolders()'s answer (reused: the check runs after every step). */
const holders = { readers: 0, writers: 0, clash: false };

/** How many actors hold mmu_lock for read and for write, and whether that breaks rwlock exclusion. */
function countLockHolders(vm: Vm): typeof holders {
  const i32 = vm.i32;
  let readers = 0;
  let writers = 0;
  const first = actorWord(vm.layout, 0, ACTOR.LOCK_HELD);
  const end = first + vm.layout.actors * ACTOR_WORDS;
  for (let w = first; w < end; w += ACTOR_WORDS) {
    const h = i32[w]!;
    if (h === LOCK_HELD_READ) readers++;
    else if (h === LOCK_HELD_WRITE) writers++;
  }
  holders.readers = readers;
  holders.writers = writers;
  holders.clash = writers > 1 || (writers === 1 && readers > 0);
  return holders;
}

/** Lock discipline and counters: no reader under a writer, no broken lock, in_progress ≥ 0. */
function checkGlobals(c: ScanCtx): void {
  const vm = c.vm;
  const { readers, writers, clash } = countLockHolders(vm);
  const lockWord = vm.i32[G.MMU_LOCK]!;
  if (clash) {
    c.out.push(violation('lock-discipline', `mmu_lock held by ${writers} writer(s) and ${readers} reader(s) at once (lock word ${vm.lockProtocol.describe(lockWord)})`));
  }
  if (vm.lockProtocol.isBroken(lockWord)) c.out.push(violation('lock-discipline', 'mmu_lock is broken: an unlock without a matching lock'));
  if (c.inProgress < 0) c.out.push(violation('unbalanced-in-progress', `mmu_invalidate_in_progress is ${c.inProgress}`));
  // A spinlock is taken and released inside one step; between steps, held is leaked
  // (lockdep: "lock held when returning to user space"; the next spin_lock never returns).
  if (vm.i32[G.MN_INVALIDATE_LOCK] !== 0) c.out.push(violation('lock-discipline', 'kvm->mn_invalidate_lock (a spinlock) is still held after the step that took it: no unlock followed the memslot swap'));
}

/**
 * Every invariant, now. Returns the violations found (empty when clean). `written`: which
 * entries may be present (see SpteWrittenMap), from an engine that saw every SPTE write.
 */
export function scanInvariants(vm: Vm, prov?: SpteProvenance, written?: SpteWrittenMap): Violation[] {
  const c = full === null ? (full = newCtx(vm, prov, written)) : startCtx(full, vm, prov, written);
  checkGlobals(c);
  if (c.stack.length !== 0) c.stack.length = 0;
  const i32 = vm.i32;
  const inUse = rootWord(vm.layout, 0, ROOT.IN_USE);
  const invalid = rootWord(vm.layout, 0, ROOT.INVALID);
  // (Slots at or above ROOTS_HIGH were never in use.)
  const n = i32[G.ROOTS_HIGH]!;
  for (let r = 0, o = 0; r < n; r++, o += ROOT_WORDS) {
    // In use and not obsolete (is_obsolete_sp: role.invalid).
    if (i32[inUse + o]! === 0 || i32[invalid + o]! !== 0) continue;
    scanRoot(c, r);
  }
  // A copy (the context is reused by the next scan); when clean, the frozen empty list (no allocation: it runs after every step that moved the state epoch).
  return c.out.length === 0 ? NONE : c.out.slice();
}

/**
 * End-of-run balance: every invalidation ended, no memslot swap left waiting, no actor
 * still in an RCU or kvm->srcu read-side section (lockdep's "lock held when returning to
 * user space"; an RCU reader that never leaves keeps every removed page table from being
 * freed, an SRCU one makes the next synchronize_srcu() wait forever).
 */
export function checkQuiesced(vm: Vm): Violation[] {
  const out: Violation[] = [];
  const ip = S.get(vm.i32, G.INVALIDATE_IN_PROGRESS);
  const mn = S.get(vm.i32, G.MN_ACTIVE_INVALIDATE_COUNT);
  if (ip !== 0) out.push(violation('unbalanced-in-progress', `mmu_invalidate_in_progress is ${ip} after every actor finished (an invalidate_start without its end: faults on the range retry forever)`));
  if (mn !== 0) out.push(violation('unbalanced-in-progress', `mn_active_invalidate_count is ${mn} after every actor finished (memslot swaps would wait forever)`));
  for (let a = 0; a < vm.layout.actors; a++) {
    if (S.get(vm.i32, actorWord(vm.layout, a, ACTOR.RCU_READ)) !== 0) out.push(violation('lock-discipline', `actor #${a} is still inside rcu_read_lock() after its last op (a read-side section without its unlock: no removed page table is ever freed)`));
    if (S.get(vm.i32, actorWord(vm.layout, a, ACTOR.SRCU_READ)) !== 0) out.push(violation('lock-discipline', `actor #${a} still holds kvm->srcu for read after its last op (a srcu_read_lock() without its unlock: the next synchronize_srcu() waits forever)`));
    const marking = dirtyMarkOf(vm, a);
    if (marking >= 0) out.push(violation('lost-dirty-page', `actor #${a} made the SPTE of gfn 0x${marking.toString(16)} writable in a dirty-logged slot and its mark_page_dirty_in_slot() never came: writes through it are in no dirty log`, { gfn: marking }));
  }
  return out;
}
