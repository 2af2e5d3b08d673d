// Goal: every shared-memory access can be recorded as a step footprint, exactly (words read and written, a failed CAS only read), and costs nothing when no recorder is set; method: direct calls on a small buffer.

import test from 'ava';
import * as S from '../../src/kvm/shm.js';

const sab = new SharedArrayBuffer(4096);
const i32 = new Int32Array(sab);
const i64 = new BigInt64Array(sab);
const u8 = new Uint8Array(sab);

function recorded(body: () => void): S.StepFootprint {
  const f = new S.Footprint();
  S.recordFootprint(f);
  try {
    body();
  } finally {
    S.recordFootprint(null);
  }
  return f.freeze();
}

const ranges = (a: Int32Array): number[][] => Array.from({ length: a.length / 2 }, (_, i) => [a[2 * i]!, a[2 * i + 1]!]);

test('with no recorder the accessors are the bare operations', (t) => {
  S.recordFootprint(null);
  t.is(S.load as unknown, Atomics.load as unknown);
  t.is(S.compareExchange64 as unknown, Atomics.compareExchange as unknown);
  S.store(i32, 3, 7);
  t.is(S.load(i32, 3), 7);
});

test('loads, stores, read-modify-writes and plain accesses land in the footprint as words', (t) => {
  const f = recorded(() => {
    S.load(i32, 10);
    S.get(i32, 20);
    S.store(i32, 30, 1);
    S.put(i32, 40, 2);
    S.add(i32, 50, 1);
  });
  t.deepEqual(ranges(f.reads), [[10, 11], [20, 21], [50, 51]]);
  t.deepEqual(ranges(f.writes), [[30, 31], [40, 41], [50, 51]]);
});

test('a 64-bit SPTE is two words; a failed compare-and-swap only read it', (t) => {
  i64[8] = 5n;
  const lost = recorded(() => { S.compareExchange64(i64, 8, 4n, 9n); });
  t.deepEqual(ranges(lost.reads), [[16, 18]]);
  t.is(lost.writes.length, 0);
  const won = recorded(() => { S.compareExchange64(i64, 8, 5n, 9n); });
  t.deepEqual(ranges(won.writes), [[16, 18]]);
  t.is(i64[8], 9n);
});

test('bytes count as their word; fills and copies as ranges; adjacent accesses merge', (t) => {
  const f = recorded(() => {
    S.load8(u8, 13);
    S.fill8(u8, 1, 100, 108);
    S.copyIn(i32, new Int32Array(4), 200);
    for (let i = 300; i < 310; i++) S.load(i32, i);
  });
  t.deepEqual(ranges(f.reads), [[3, 4], [300, 310]]);
  t.deepEqual(ranges(f.writes), [[25, 27], [200, 204]]);
});

test('conflicts: a write against a read or a write of the same word; reads never conflict', (t) => {
  const r = (a: number[]): Int32Array => Int32Array.from(a);
  const fp = (reads: number[], writes: number[]): S.StepFootprint => ({ reads: r(reads), writes: r(writes) });
  t.false(S.conflicts(fp([1, 2], []), fp([1, 2], [])));
  t.true(S.conflicts(fp([1, 2], []), fp([], [1, 2])));
  t.true(S.conflicts(fp([], [5, 9]), fp([], [8, 10])));
  t.false(S.conflicts(fp([], [5, 9]), fp([9, 12], [0, 5])));
});
