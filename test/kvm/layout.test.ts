// Goal: the shared-memory layout keeps every region on its own 128-byte lines, without overlap, with the SPTE pool 8-byte aligned for 64-bit Atomics; method: computeLayout over a spread of VM configurations, checking each region's extent and the index helpers.

import test from 'ava';
import {
  ACTOR, ACTOR_WORDS, ATTR_CHUNK_BYTES, ATTR_INDEX, ATTR_INDEX_WORDS, G, LINE_WORDS, ROOT, ROOT_WORDS, SET_HEADER_WORDS, SLOT, SLOT_WORDS, TABLE,
  TABLE_META_WORDS, TLBE, TLBE_WORDS, actorWord, attrIndexEntries, wordOffsets, allocateSharedMem, computeLayout, rootWord, slotWord, spteWord, tableMetaWord, tlbWord,
  type Layout, type LayoutConfig,
} from '../../src/kvm/layout.js';
import { MEMSLOTS_MAX, MMU_CACHE_TABLES, ROOTS_MAX, SPTES_PER_TABLE, TLB_ENTRIES, VCPUS_MAX } from '../../src/kvm/limits.js';
import { layoutConfigFor } from '../../src/kvm/vm.js';
import { MiB, newVm } from './fixtures.js';

interface Region { name: string; startByte: number; endByte: number }

/** Every region with its extent in bytes (what the code indexes, not what was reserved). */
function regions(l: Layout): Region[] {
  const c = l.config;
  const w = (name: string, base: number, words: number): Region => ({ name, startByte: base * 4, endByte: (base + words) * 4 });
  return [
    w('globals', 0, 4 * LINE_WORDS),
    w('roots', l.rootsBase, ROOTS_MAX * ROOT_WORDS),
    w('actors', l.actorsBase, l.actors * ACTOR_WORDS),
    w('memslots', l.memslotsBase, 2 * (SET_HEADER_WORDS + MEMSLOTS_MAX * SLOT_WORDS)),
    w('dirtyLogInProgress', l.dirtyLogInProgressBase, MEMSLOTS_MAX),
    w('tlb', l.tlbBase, c.vcpus * Math.ceil((TLB_ENTRIES * TLBE_WORDS) / LINE_WORDS) * LINE_WORDS),
    w('tableMeta', l.tableMetaBase, c.tables * TABLE_META_WORDS),
    w('poolFree', l.poolFreeBase, c.tables),
    w('rcuPending', l.rcuPendingBase, c.tables * 2),
    w('hvaToPfn', l.hvaToPfnBase, c.hvaPages),
    w('pfnOwner', l.pfnOwnerBase, c.hostPages),
    w('pfnGen', l.pfnGenBase, c.hostPages),
    w('pfnFree', l.pfnFreeBase, c.hostPages),
    w('gmemToPfn', l.gmemToPfnBase, c.gmemPages),
    w('dirty', l.dirtyBase, c.dirtyWords),
    w('attrIndex', l.attrIndexBase, l.attrIndexEntries * ATTR_INDEX_WORDS),
    w('pt', l.ptBase, c.tables * SPTES_PER_TABLE * 2),
    { name: 'hvaProt', startByte: l.hvaProtByte, endByte: l.hvaProtByte + c.hvaPages },
    { name: 'attrChunks', startByte: l.attrChunksByte, endByte: l.attrChunksByte + c.attrChunks * ATTR_CHUNK_BYTES },
  ];
}

const CONFIGS: LayoutConfig[] = [
  layoutConfigFor({ type: 'default', vcpus: 1, guestBytes: 4096 }),
  layoutConfigFor({ type: 'default', vcpus: 2, guestBytes: 16 * MiB }),
  layoutConfigFor({ type: 'sw_protected', vcpus: 3, guestBytes: 100 * MiB + 12345 }),
  layoutConfigFor({ type: 'default', vcpus: 17, guestBytes: 1024 * MiB, tablesExtra: 7 }),
  { vcpus: 5, tables: 3, hostPages: 1, hvaPages: 3, gmemPages: 5, dirtyWords: 7, attrChunks: 1, physBits: 52 },
  layoutConfigFor({ type: 'sw_protected', vcpus: 2, guestBytes: 40 * 1024 * MiB, physBits: 36 }),
];

test('every region starts on a 128-byte line', (t) => {
  for (const c of CONFIGS) {
    for (const r of regions(computeLayout(c))) t.is(r.startByte % 128, 0, `${r.name} (vcpus ${c.vcpus})`);
  }
});

test('regions do not overlap and all fit in the buffer, which is a whole number of lines', (t) => {
  for (const c of CONFIGS) {
    const l = computeLayout(c);
    const rs = regions(l).sort((a, b) => a.startByte - b.startByte);
    for (let i = 1; i < rs.length; i++) {
      t.true(rs[i - 1]!.endByte <= rs[i]!.startByte, `${rs[i - 1]!.name} overlaps ${rs[i]!.name}`);
    }
    t.true(rs.at(-1)!.endByte <= l.totalBytes);
    t.is(l.totalBytes % 128, 0);
  }
});

test('the SPTE pool is 8-byte aligned: every SPTE is one BigInt64Array element', (t) => {
  for (const c of CONFIGS) {
    const l = computeLayout(c);
    t.is((l.ptBase * 4) % 8, 0);
    for (const [table, i] of [[0, 0], [1, 511], [c.tables - 1, 7]] as const) {
      const w = spteWord(l, table, i);
      t.is(w % 2, 0);
      t.is(w, l.ptBase + (table * SPTES_PER_TABLE + i) * 2);
    }
  }
  const vm = newVm();
  const w = spteWord(vm.layout, 3, 9);
  Atomics.store(vm.i64, w >>> 1, -2n);
  t.deepEqual([vm.i32[w], vm.i32[w + 1]], [-2, -1], 'low word first (little-endian)');
});

test('wordOffsets lays a named table out field after field from its start, each as wide as asked', (t) => {
  t.deepEqual({ ...wordOffsets(32, { A: 1, B: 3, C: 1, D: 2 }) }, { A: 32, B: 33, C: 36, D: 37 });
  t.deepEqual({ ...wordOffsets(0, {}) }, {});
  // The per-actor record: the vCPU page cache takes MMU_CACHE_TABLES words.
  t.is(ACTOR.CACHE, ACTOR.CACHE_COUNT + 1);
  t.is(ACTOR.STEP_COUNT, ACTOR.CACHE + MMU_CACHE_TABLES);
  t.deepEqual([TLBE.GFN, TLBE.PFN, TLBE.FLAGS, TLBE.PFN_GEN, TLBE.GFN_HI], [0, 1, 2, 3, 4]);
});

test('global words sit in the globals block, grouped on their own lines', (t) => {
  const values = Object.values(G);
  t.is(new Set(values).size, values.length, 'no two globals share a word');
  for (const v of values) t.true(v >= 0 && v < 5 * LINE_WORDS);
  t.is(G.MMU_LOCK, 0);
  // The lock, the invalidation counters, the memslot words, the MMU words and the host
  // allocator (written on every fault-in) are on different lines.
  const line = (w: number): number => Math.floor(w / LINE_WORDS);
  t.is(new Set([line(G.MMU_LOCK), line(G.INVALIDATE_SEQ), line(G.MEMSLOTS_GEN), line(G.RCU_EPOCH), line(G.HOST_LOCK)]).size, 5);
  t.is(line(G.INVALIDATE_SEQ), line(G.MN_ACTIVE_INVALIDATE_COUNT));
});

test('each actor has its own line; each vCPU TLB starts a line; records fit their stride', (t) => {
  const l = computeLayout(CONFIGS[2]!);
  for (let a = 0; a < l.actors; a++) t.is(actorWord(l, a, 0) % LINE_WORDS, 0);
  for (const f of Object.values(ACTOR)) t.true(f < ACTOR_WORDS);
  for (let v = 0; v < l.config.vcpus; v++) t.is(tlbWord(l, v, 0, 0) % LINE_WORDS, 0);
  t.is(tlbWord(l, 0, 1, TLBE.GFN), tlbWord(l, 0, 0, TLBE.GFN) + TLBE_WORDS);
  for (const f of Object.values(TLBE)) t.true(f < TLBE_WORDS);
  for (const f of Object.values(ROOT)) t.true(f < ROOT_WORDS);
  for (const f of Object.values(SLOT)) t.true(f < SLOT_WORDS);
  for (const f of Object.values(TABLE)) t.true(f < TABLE_META_WORDS);
  for (const f of Object.values(ATTR_INDEX)) t.true(f < ATTR_INDEX_WORDS);
  t.is(rootWord(l, 1, 0), l.rootsBase + ROOT_WORDS);
  t.is(tableMetaWord(l, 2, TABLE.GFN), l.tableMetaBase + 2 * TABLE_META_WORDS + TABLE.GFN);
  // The two memslot sets do not overlap and the last record of set 1 is inside the region.
  t.true(slotWord(l, 1, 0, 0) > slotWord(l, 0, MEMSLOTS_MAX - 1, SLOT_WORDS - 1));
  t.true(slotWord(l, 1, MEMSLOTS_MAX - 1, SLOT_WORDS - 1) < l.dirtyLogInProgressBase);
});

test('actors are the vCPUs, then host, then vmm', (t) => {
  const l = computeLayout(CONFIGS[1]!);
  t.is(l.actors, 4);
  t.is(l.hostActor, 2);
  t.is(l.vmmActor, 3);
});

test('bad configurations are rejected', (t) => {
  const base = CONFIGS[1]!;
  t.throws(() => computeLayout({ ...base, vcpus: 0 }), { instanceOf: RangeError });
  t.throws(() => computeLayout({ ...base, vcpus: VCPUS_MAX + 1 }), { instanceOf: RangeError });
  t.throws(() => computeLayout({ ...base, tables: 1 << 20 }), { instanceOf: RangeError, message: /2\^20 tables/ });
  t.throws(() => layoutConfigFor({ type: 'default', vcpus: 1.5, guestBytes: 4096 }), { instanceOf: RangeError });
  for (const physBits of [35, 53, 48.5]) t.throws(() => computeLayout({ ...base, physBits }), { instanceOf: RangeError, message: /phys_bits must be an integer in 36\.\.52/ });
});

test('the attribute index has a power-of-two count of entries, at least twice the chunks', (t) => {
  t.deepEqual([0, 1, 4, 5, 8, 9, 100].map(attrIndexEntries), [8, 8, 8, 16, 16, 32, 256]);
  for (const c of CONFIGS) {
    const l = computeLayout(c);
    t.true(l.attrIndexEntries >= 2 * c.attrChunks);
    t.is(l.attrIndexEntries & (l.attrIndexEntries - 1), 0);
  }
});

test('allocateSharedMem gives views over one zeroed SharedArrayBuffer', (t) => {
  const l = computeLayout(CONFIGS[0]!);
  const m = allocateSharedMem(l);
  t.is(m.sab.byteLength, l.totalBytes);
  t.is(m.i32.buffer, m.sab);
  t.is(m.i64.buffer, m.sab);
  t.is(m.u8.buffer, m.sab);
  t.true(m.i32.every((x) => x === 0));
});

test('Vm.create initializes: invalidation range INVALID, bumps at 1, no root per actor', (t) => {
  const vm = newVm({ vcpus: 3 });
  t.is(vm.i32[G.INVALIDATE_RANGE_VALID], 0);
  t.is(vm.i32[G.POOL_BUMP], 1);
  t.is(vm.i32[G.HOST_PFN_BUMP], 1);
  t.is(vm.i32[G.PRE_FAULT_ALLOWED], 1);
  for (let a = 0; a < vm.layout.actors; a++) t.is(vm.i32[actorWord(vm.layout, a, ACTOR.ROOT_SLOT)], -1);
  t.deepEqual([0, 1, 2, 3, 4].map((a) => vm.actorName(a)), ['vcpu0', 'vcpu1', 'vcpu2', 'host', 'vmm']);
  t.is(newVm({ type: 'snp' }).i32[G.PRE_FAULT_ALLOWED], 0);
});
