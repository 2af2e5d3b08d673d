// Goal: page-table pages are topped up per actor, allocated from the cache without touching the pool, and a removed table is reused only after every RCU reader that could still hold it has left; method: direct calls on a real Vm, with RCU read sections opened and closed by hand.

import test from 'ava';
import { ACTOR, G, TABLE, actorWord, tableMetaWord } from '../../src/kvm/layout.js';
import { MMU_CACHE_TABLES } from '../../src/kvm/limits.js';
import {
  TABLE_CACHED, TABLE_FREE, TABLE_LIVE, TABLE_REMOVED, mmuTopupMemoryCaches, poolTablesInUse, tableMarkLive, tableState, tdpMmuAllocSp,
  tdpMmuFreeUnusedSp, tdpMmuQueueFreeSp,
} from '../../src/kvm/page-pool.js';
import { rcuReadLock, rcuReadUnlock } from '../../src/kvm/rcu.js';
import { NONPRESENT_HI } from '../../src/kvm/spte.js';
import type { Vm } from '../../src/kvm/vm.js';
import { getSpte, newVm, setSpte } from './fixtures.js';

const cacheOf = (vm: Vm, actor: number): number[] => {
  const n = vm.i32[actorWord(vm.layout, actor, ACTOR.CACHE_COUNT)]!;
  return Array.from({ length: n }, (_, i) => vm.i32[actorWord(vm.layout, actor, ACTOR.CACHE + i)]!);
};

/** Empties an actor's cache (as faults would), returning the tables. */
const drain = (vm: Vm, actor: number): number[] => {
  const out: number[] = [];
  for (let t = tdpMmuAllocSp(vm, actor, 1, 0); t !== 0; t = tdpMmuAllocSp(vm, actor, 1, 0)) out.push(t);
  return out;
};

test('top-up fills the actor’s cache with distinct CACHED tables, never table 0; a full cache is left alone', (t) => {
  const vm = newVm();
  t.true(mmuTopupMemoryCaches(vm, 0));
  const c = cacheOf(vm, 0);
  t.is(c.length, MMU_CACHE_TABLES);
  t.is(new Set(c).size, c.length);
  t.false(c.includes(0));
  for (const tbl of c) t.is(tableState(vm, tbl), TABLE_CACHED);
  t.is(poolTablesInUse(vm), MMU_CACHE_TABLES);
  t.true(mmuTopupMemoryCaches(vm, 0));
  t.deepEqual(cacheOf(vm, 0), c);
  t.true(mmuTopupMemoryCaches(vm, 1));
  t.is(cacheOf(vm, 1).filter((x) => c.includes(x)).length, 0, 'caches are disjoint');
});

test('alloc takes the last cached table and clears it to SHADOW_NONPRESENT_VALUE; an empty cache gives 0', (t) => {
  const vm = newVm();
  t.is(tdpMmuAllocSp(vm, 0, 1, 0), 0);
  t.true(mmuTopupMemoryCaches(vm, 0));
  const c = cacheOf(vm, 0);
  const last = c.at(-1)!;
  setSpte(vm, last, 17, 0x1234, 0x5678); // garbage from a previous life
  const tbl = tdpMmuAllocSp(vm, 0, 2, 0x400);
  t.is(tbl, last);
  t.deepEqual(cacheOf(vm, 0), c.slice(0, -1));
  for (let i = 0; i < 512; i++) if (getSpte(vm, tbl, i)[0] !== 0 || getSpte(vm, tbl, i)[1] !== NONPRESENT_HI) t.fail(`SPTE ${i} not cleared`);
  t.is(vm.i32[tableMetaWord(vm.layout, tbl, TABLE.LEVEL)], 2);
  t.is(vm.i32[tableMetaWord(vm.layout, tbl, TABLE.GFN)], 0x400);
  t.is(poolTablesInUse(vm), MMU_CACHE_TABLES, 'allocation from the cache does not touch the pool');
});

test('an unused table goes back to the cache, or to the free stack when the cache is full', (t) => {
  const vm = newVm();
  t.true(mmuTopupMemoryCaches(vm, 0));
  const tbl = tdpMmuAllocSp(vm, 0, 1, 0);
  tdpMmuFreeUnusedSp(vm, 0, tbl);
  t.is(cacheOf(vm, 0).at(-1), tbl);
  t.is(cacheOf(vm, 0).length, MMU_CACHE_TABLES);
  // Cache full: a table from elsewhere goes to the free stack and is handed out next.
  t.true(mmuTopupMemoryCaches(vm, 1));
  const other = tdpMmuAllocSp(vm, 1, 1, 0);
  tdpMmuFreeUnusedSp(vm, 0, other);
  t.is(tableState(vm, other), TABLE_FREE);
  t.is(vm.i32[G.POOL_FREE_TOP], 1);
  t.true(mmuTopupMemoryCaches(vm, 1));
  t.true(cacheOf(vm, 1).includes(other));
});

test('tableMarkLive records the parent SPTE word (+1), 0 for a root', (t) => {
  const vm = newVm();
  t.true(mmuTopupMemoryCaches(vm, 0));
  const [a, b] = [tdpMmuAllocSp(vm, 0, 4, 0), tdpMmuAllocSp(vm, 0, 3, 0)];
  tableMarkLive(vm, a, 0);
  tableMarkLive(vm, b, 1000);
  t.deepEqual([tableState(vm, a), vm.i32[tableMetaWord(vm.layout, a, TABLE.PARENT)]], [TABLE_LIVE, 0]);
  t.deepEqual([tableState(vm, b), vm.i32[tableMetaWord(vm.layout, b, TABLE.PARENT)]], [TABLE_LIVE, 1001]);
});

test('a removed table is not reused while a reader that entered before the removal is still in its RCU section, and is reused after', (t) => {
  const vm = newVm();
  t.true(mmuTopupMemoryCaches(vm, 0));
  const removed = tdpMmuAllocSp(vm, 0, 1, 0);
  tableMarkLive(vm, removed, 0);
  rcuReadLock(vm, 1); // vcpu1 is walking and may hold a pointer into `removed`
  tdpMmuQueueFreeSp(vm, removed);
  t.is(tableState(vm, removed), TABLE_REMOVED);
  // Churn: actor 2 allocates and tops up again and again; the pool hands out other tables.
  for (let round = 0; round < 5; round++) {
    t.true(mmuTopupMemoryCaches(vm, 2));
    t.false(cacheOf(vm, 2).includes(removed), `round ${round}: reused under a reader`);
    drain(vm, 2);
  }
  t.is(tableState(vm, removed), TABLE_REMOVED);
  rcuReadUnlock(vm, 1);
  t.true(mmuTopupMemoryCaches(vm, 2));
  t.true(cacheOf(vm, 2).includes(removed), 'reused once the reader left');
  t.is(tableState(vm, removed), TABLE_CACHED);
});

test('a reader that entered after the removal does not hold the table back', (t) => {
  const vm = newVm();
  t.true(mmuTopupMemoryCaches(vm, 0));
  const removed = tdpMmuAllocSp(vm, 0, 1, 0);
  tdpMmuQueueFreeSp(vm, removed);
  rcuReadLock(vm, 1); // began after the removal: cannot have seen the table
  drain(vm, 0);
  t.true(mmuTopupMemoryCaches(vm, 0));
  t.true(cacheOf(vm, 0).includes(removed));
  rcuReadUnlock(vm, 1);
});

test('a reader that entered between two removals holds back only the later table', (t) => {
  const vm = newVm();
  t.true(mmuTopupMemoryCaches(vm, 0));
  const [a, b] = [tdpMmuAllocSp(vm, 0, 1, 0), tdpMmuAllocSp(vm, 0, 1, 0)];
  tdpMmuQueueFreeSp(vm, a);
  rcuReadLock(vm, 1);
  tdpMmuQueueFreeSp(vm, b); // vcpu1 entered between the two removals: it may hold b, not a
  drain(vm, 0);
  t.true(mmuTopupMemoryCaches(vm, 0));
  t.true(cacheOf(vm, 0).includes(a));
  t.false(cacheOf(vm, 0).includes(b));
  rcuReadUnlock(vm, 1);
  drain(vm, 0);
  t.true(mmuTopupMemoryCaches(vm, 0));
  t.true(cacheOf(vm, 0).includes(b));
});

test('top-up fails (→ -ENOMEM) when the pool is exhausted, and succeeds again once tables come back', (t) => {
  // 2 MiB guest, 1 vCPU, no slack: 2*(1+1+2) + 1*(4+2) = 14 tables, table 0 unused → 13.
  const vm = newVm({ vcpus: 1, guestBytes: 2 * 1024 * 1024, tablesExtra: 0 });
  t.is(vm.layout.config.tables, 14);
  t.true(mmuTopupMemoryCaches(vm, 0));
  t.true(mmuTopupMemoryCaches(vm, 1));
  t.true(mmuTopupMemoryCaches(vm, 2));
  const taken = drain(vm, 0);
  t.false(mmuTopupMemoryCaches(vm, 0), 'only one table left for four slots');
  t.is(cacheOf(vm, 0).length, 1, 'what could be taken was taken');
  tdpMmuQueueFreeSp(vm, taken[0]!);
  tdpMmuQueueFreeSp(vm, taken[1]!);
  tdpMmuQueueFreeSp(vm, taken[2]!);
  t.true(mmuTopupMemoryCaches(vm, 0));
});
