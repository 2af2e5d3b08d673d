/**
 * Page-table pages (struct kvm_mmu_page) and their allocation: a pool of 4 KiB tables in
 * shared memory, per-vCPU caches topped up before mmu_lock is taken
 * (mmu_topup_memory_caches), and RCU-deferred freeing (call_rcu in handle_removed_pt):
 * a removed table goes to a FIFO ring tagged with its RCU epoch and returns to the free
 * stack only when the grace period has passed (rcu.ts).
 *
 * Table 0 is never handed out: index 0 means "no table".
 */

import { gfnHi, gfnLo } from './address-space.js';
import { MMU_CACHE_TABLES, SPTES_PER_TABLE } from './limits.js';
import { ACTOR, G, TABLE, TABLE_CACHED, TABLE_FREE, TABLE_LIVE, TABLE_REMOVED, TABLE_META_WORDS, actorWord, spteWord, tableMetaWord } from './layout.js';
import { rcuGracePeriodDone, rcuNewEpoch } from './rcu.js';
import { NONPRESENT_HI, NONPRESENT_LO } from './spte.js';

/** A table of SHADOW_NONPRESENT_VALUE SPTEs as 32-bit halves, copied into each new table (a memcpy). */
const EMPTY_TABLE = new Int32Array(SPTES_PER_TABLE * 2);
for (let i = 0; i < SPTES_PER_TABLE; i++) { EMPTY_TABLE[2 * i] = NONPRESENT_LO; EMPTY_TABLE[2 * i + 1] = NONPRESENT_HI; }
import { internalLock, internalUnlock, type Vm } from './vm.js';
import * as S from './shm.js';

export function tableState(vm: Vm, table: number): number {
  return S.get(vm.i32, vm.layout.tableMetaBase + table * TABLE_META_WORDS + TABLE.STATE);
}

/** The SPTE word a live table is linked under (0 for a root or an unlinked table). */
export function tableParentWord(vm: Vm, table: number): number {
  const p = S.load(vm.i32, tableMetaWord(vm.layout, table, TABLE.PARENT));
  return p === 0 ? 0 : p - 1;
}

function setTableState(vm: Vm, table: number, state: number): void {
  S.store(vm.i32, tableMetaWord(vm.layout, table, TABLE.STATE), state);
}

/** Moves tables whose grace period has ended from the pending ring to the free stack. Caller holds POOL_LOCK. */
function reclaimPending(vm: Vm): void {
  const i32 = vm.i32;
  const n = vm.layout.config.tables;
  let head = S.get(i32, G.POOL_PENDING_HEAD);
  const tail = S.get(i32, G.POOL_PENDING_COUNT);
  while (head !== tail) {
    const slot = vm.layout.rcuPendingBase + (head % n) * 2;
    if (!rcuGracePeriodDone(vm, S.get(i32, slot + 1))) break;
    const table = S.get(i32, slot);
    setTableState(vm, table, TABLE_FREE);
    const top = S.get(i32, G.POOL_FREE_TOP);
    S.put(i32, vm.layout.poolFreeBase + top, table);
    S.put(i32, G.POOL_FREE_TOP, top + 1);
    head++;
  }
  S.put(i32, G.POOL_PENDING_HEAD, head);
}

function takeTable(vm: Vm): number {
  const i32 = vm.i32;
  const top = S.get(i32, G.POOL_FREE_TOP);
  if (top > 0) {
    S.put(i32, G.POOL_FREE_TOP, top - 1);
    return S.get(i32, vm.layout.poolFreeBase + top - 1);
  }
  const bump = S.get(i32, G.POOL_BUMP);
  if (bump >= vm.layout.config.tables) return 0;
  S.put(i32, G.POOL_BUMP, bump + 1);
  return bump;
}

/**
 * mmu_topup_memory_caches(): fill the actor's cache to MMU_CACHE_TABLES tables. Returns
 * false when the pool is exhausted (the fault then fails with -ENOMEM).
 *
 * The cache (ACTOR.CACHE_COUNT and its entries) is the actor's own, as a vCPU's
 * mmu_shadow_page_cache is: only the actor reads and writes it, so those are plain
 * accesses in either engine. The tables' own words stay atomic (others walk them).
 */
export function mmuTopupMemoryCaches(vm: Vm, actor: number): boolean {
  const countW = actorWord(vm.layout, actor, ACTOR.CACHE_COUNT);
  let count = S.get(vm.i32, countW);
  if (count >= MMU_CACHE_TABLES) return true;
  internalLock(vm.i32, G.POOL_LOCK);
  try {
    reclaimPending(vm);
    while (count < MMU_CACHE_TABLES) {
      const t = takeTable(vm);
      if (t === 0) return false;
      setTableState(vm, t, TABLE_CACHED);
      S.add(vm.i32, G.POOL_IN_USE, 1);
      S.put(vm.i32, actorWord(vm.layout, actor, ACTOR.CACHE + count), t);
      count++;
      S.put(vm.i32, countW, count);
    }
    return true;
  } finally {
    internalUnlock(vm.i32, G.POOL_LOCK);
  }
}

/**
 * tdp_mmu_alloc_sp(): a table from the actor's cache, every SPTE SHADOW_NONPRESENT_VALUE.
 * Not yet visible to anyone (published by the CAS that links it). Returns 0 if the cache
 * is empty (a caller that did not top up).
 */
export function tdpMmuAllocSp(vm: Vm, actor: number, level: number, gfn: number): number {
  const countW = actorWord(vm.layout, actor, ACTOR.CACHE_COUNT);
  const count = S.get(vm.i32, countW);
  if (count === 0) return 0;
  const t = S.get(vm.i32, actorWord(vm.layout, actor, ACTOR.CACHE + count - 1));
  S.put(vm.i32, countW, count - 1);
  const i32 = vm.i32;
  S.copyIn(i32, EMPTY_TABLE, spteWord(vm.layout, t, 0));
  S.store(i32, tableMetaWord(vm.layout, t, TABLE.LEVEL), level);
  S.store(i32, tableMetaWord(vm.layout, t, TABLE.GFN), gfnLo(gfn));
  S.store(i32, tableMetaWord(vm.layout, t, TABLE.GFN_HI), gfnHi(gfn));
  S.store(i32, tableMetaWord(vm.layout, t, TABLE.PARENT), 0);
  return t;
}

/** tdp_mmu_free_sp() of a table that was never linked: back to the actor's cache. */
export function tdpMmuFreeUnusedSp(vm: Vm, actor: number, table: number): void {
  const countW = actorWord(vm.layout, actor, ACTOR.CACHE_COUNT);
  const count = S.get(vm.i32, countW);
  if (count < MMU_CACHE_TABLES) {
    S.put(vm.i32, actorWord(vm.layout, actor, ACTOR.CACHE + count), table);
    S.put(vm.i32, countW, count + 1);
    return;
  }
  internalLock(vm.i32, G.POOL_LOCK);
  try {
    setTableState(vm, table, TABLE_FREE);
    S.sub(vm.i32, G.POOL_IN_USE, 1);
    const top = S.get(vm.i32, G.POOL_FREE_TOP);
    S.put(vm.i32, vm.layout.poolFreeBase + top, table);
    S.put(vm.i32, G.POOL_FREE_TOP, top + 1);
  } finally {
    internalUnlock(vm.i32, G.POOL_LOCK);
  }
}

/** Marks a table linked into the tree under the SPTE at word `parentWord` (0 for a root). */
export function tableMarkLive(vm: Vm, table: number, parentWord: number): void {
  S.store(vm.i32, tableMetaWord(vm.layout, table, TABLE.PARENT), parentWord === 0 ? 0 : parentWord + 1);
  setTableState(vm, table, TABLE_LIVE);
}

/** A table whose link CAS lost: never published, back to the state of a cached table. */
export function tableMarkCached(vm: Vm, table: number): void {
  S.store(vm.i32, tableMetaWord(vm.layout, table, TABLE.PARENT), 0);
  setTableState(vm, table, TABLE_CACHED);
}

/** call_rcu(tdp_mmu_free_sp_rcu_callback): the table is reused only after a grace period. */
export function tdpMmuQueueFreeSp(vm: Vm, table: number): void {
  setTableState(vm, table, TABLE_REMOVED);
  const epoch = rcuNewEpoch(vm);
  S.store(vm.i32, tableMetaWord(vm.layout, table, TABLE.FREE_EPOCH), epoch);
  internalLock(vm.i32, G.POOL_LOCK);
  try {
    const tail = S.get(vm.i32, G.POOL_PENDING_COUNT);
    const slot = vm.layout.rcuPendingBase + (tail % vm.layout.config.tables) * 2;
    S.put(vm.i32, slot, table);
    S.put(vm.i32, slot + 1, epoch);
    S.put(vm.i32, G.POOL_PENDING_COUNT, tail + 1);
    S.sub(vm.i32, G.POOL_IN_USE, 1);
  } finally {
    internalUnlock(vm.i32, G.POOL_LOCK);
  }
}

/**
 * Where `table`, reached through a pointer taken when it was linked under the SPTE at
 * `parentWord`, is now if a walker may no longer read it: back in the free pool, in a
 * vCPU's page-table cache, or linked again under another SPTE. Null while it is still
 * linked there, or unlinked and waiting for its grace period.
 */
export function tableGoneFrom(vm: Vm, table: number, parentWord: number): string | null {
  const st = tableState(vm, table);
  // Every step down a walk asks: the usual answer (live, where it was linked) first.
  if (st === TABLE_LIVE) return tableParentWord(vm, table) !== parentWord ? 'linked again under another SPTE' : null;
  if (st === TABLE_FREE) return 'back in the free pool';
  return st === TABLE_CACHED ? 'in a vCPU\'s page-table cache' : null;
}

/**
 * A removed table whose grace period has ended: freed as far as any reader is concerned,
 * whether or not the pool has taken it back yet (the kernel's RCU callback frees it then).
 */
export function tableGracePeriodDone(vm: Vm, table: number): boolean {
  return tableState(vm, table) === TABLE_REMOVED && rcuGracePeriodDone(vm, S.load(vm.i32, tableMetaWord(vm.layout, table, TABLE.FREE_EPOCH)));
}

/** Tables in use (linked, cached or waiting for a grace period). */
export function poolTablesInUse(vm: Vm): number {
  return S.load(vm.i32, G.POOL_IN_USE);
}

export { TABLE_LIVE, TABLE_REMOVED, TABLE_FREE, TABLE_CACHED };
