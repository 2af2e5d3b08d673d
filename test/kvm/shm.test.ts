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

test('single-thread access: every plain operation returns and stores what its Atomics counterpart does, and the mode is restored', (t) => {
  // Each case runs on a fresh pair of buffers, once with Atomics and once plain.
  const cases: [string, (a32: Int32Array, a64: BigInt64Array, a8: Uint8Array) => unknown][] = [
    ['load', (a) => S.load(a, 1)], ['store', (a) => S.store(a, 1, -5)], ['add', (a) => S.add(a, 1, 0x7fffffff)],
    ['sub', (a) => S.sub(a, 1, 3)], ['and', (a) => S.and(a, 1, 6)], ['or', (a) => S.or(a, 1, 8)], ['xor', (a) => S.xor(a, 1, -1)],
    ['exchange', (a) => S.exchange(a, 1, 9)], ['cas hit', (a) => S.compareExchange(a, 1, 7, 11)], ['cas miss', (a) => S.compareExchange(a, 1, 8, 11)],
    ['cas unsigned expected', (a) => S.compareExchange(a, 2, 0x80000000, 1)],
    ['load64', (_, b) => S.load64(b, 2)], ['store64', (_, b) => S.store64(b, 2, -3n)], ['exchange64', (_, b) => S.exchange64(b, 2, 4n)],
    ['cas64 hit', (_, b) => S.compareExchange64(b, 2, -(1n << 62n), 5n)], ['cas64 miss', (_, b) => S.compareExchange64(b, 2, 1n, 5n)],
    ['cas64 unsigned expected', (_, b) => S.compareExchange64(b, 3, 1n << 63n, 6n)],
    ['load8', (_, __, c) => S.load8(c, 5)], ['store8', (_, __, c) => S.store8(c, 5, 300)],
    // Halves: word pair 4-5 is i64[2] (-(2^62): lo 0, hi 0xc0000000), 6-7 is i64[3] (-(2^63)).
    ['cas64x2 hit', (a, b) => S.cas64x2(a, b, 4, 0, 0xc0000000, 5, -1)], ['cas64x2 miss lo', (a, b) => S.cas64x2(a, b, 4, 1, 0xc0000000, 5, 0)],
    ['cas64x2 miss hi', (a, b) => S.cas64x2(a, b, 6, 0, 0x40000000, 5, 0)], ['cas64x2 signed hi', (a, b) => S.cas64x2(a, b, 6, 0, -0x80000000, 9, 9)],
    ['store64x2', (a, b) => S.store64x2(a, b, 4, -7, 0x12345678)],
  ];
  const fresh = (): [Int32Array, BigInt64Array, Uint8Array] => {
    const buf = new SharedArrayBuffer(64);
    const a = new Int32Array(buf);
    const b = new BigInt64Array(buf);
    a[1] = 7; a[2] = -0x80000000;
    b[2] = -(1n << 62n); b[3] = -(1n << 63n);
    return [a, b, new Uint8Array(buf)];
  };
  for (const [name, op] of cases) {
    const [x32, x64, x8] = fresh();
    const atomic = op(x32, x64, x8);
    const [y32, y64, y8] = fresh();
    t.false(S.singleThreadAccess());
    const plain = S.withSingleThreadAccess(() => {
      t.true(S.singleThreadAccess());
      t.not(S.load as unknown, Atomics.load as unknown);
      return op(y32, y64, y8);
    });
    t.is(plain, atomic, name);
    t.deepEqual([...y8], [...x8], `${name}: memory`);
  }
  t.is(S.load as unknown, Atomics.load as unknown);
  t.throws(() => S.withSingleThreadAccess(() => { throw new Error('x'); }));
  t.false(S.singleThreadAccess());
});

test('a 64-bit compare-and-swap by halves: two words read, written only when it swapped', (t) => {
  i64[9] = 0x0000000700000005n;
  const lost = recorded(() => { t.false(S.cas64x2(i32, i64, 18, 5, 8, 1, 1)); });
  t.deepEqual(ranges(lost.reads), [[18, 20]]);
  t.is(lost.writes.length, 0);
  const won = recorded(() => { t.true(S.cas64x2(i32, i64, 18, 5, 7, -1, 2)); });
  t.deepEqual(ranges(won.writes), [[18, 20]]);
  t.is(i64[9], 0x00000002ffffffffn);
});

test('single-thread access with a recorder: the same footprints as with Atomics', (t) => {
  const body = (): void => { S.load(i32, 40); S.compareExchange(i32, 41, 1, 2); S.compareExchange64(i64, 30, 0n, 1n); S.cas64x2(i32, i64, 62, 0, 0, 3, 4); S.store8(u8, 200, 1); };
  i32.fill(0, 40, 64);
  const atomic = recorded(body);
  i32.fill(0, 40, 64);
  const plain = S.withSingleThreadAccess(() => recorded(body));
  t.deepEqual(ranges(plain.reads), ranges(atomic.reads));
  t.deepEqual(ranges(plain.writes), ranges(atomic.writes));
});
