/**
 * Every access the model makes to a VM's SharedArrayBuffer goes through these functions:
 * the same `Atomics` operations (or plain element accesses, where the kernel uses plain
 * loads and stores), and — only while an exploring engine has set a recorder — a record
 * of the 32-bit words each step reads and writes: its footprint. Two steps of different
 * actors whose footprints do not conflict (neither writes a word the other touches)
 * commute, which is what the DFS's sleep sets and the causal slice of a race trace rely
 * on. The exported functions are live bindings: with no recorder set they are the bare
 * operations (`Atomics.load` itself, a plain element access), so the hot path pays
 * nothing; setting a recorder swaps in versions that note each access first. A run that
 * owns the memory alone (the deterministic engine) swaps in plain element accesses for
 * the `Atomics` ones (`withSingleThreadAccess`); the model's code is the same either way.
 *
 * Word units: `i32` index i is word i; `i64` index s is words 2s and 2s + 1; `u8` byte b
 * is word b >> 2 (a byte access counts as its whole word: conservative).
 */

import { FOOTPRINT_CHUNK_WORDS, FOOTPRINT_WORDS_INITIAL } from './limits.js';

/**
 * Half-open word ranges [start, end, start, end, …] in the order they were added; an
 * access adjacent to or inside the last range (a walk, a loop over a table) extends it.
 */
class WordRanges {
  ranges = new Int32Array(FOOTPRINT_WORDS_INITIAL);
  n = 0;

  add(start: number, end: number): void {
    const n = this.n;
    if (n > 0 && start >= this.ranges[n - 2]! && start <= this.ranges[n - 1]!) {
      if (end > this.ranges[n - 1]!) this.ranges[n - 1] = end;
      return;
    }
    if (n + 2 > this.ranges.length) this.ranges = grow(this.ranges);
    this.ranges[n] = start;
    this.ranges[n + 1] = end;
    this.n = n + 2;
  }

  /** Appends the ranges to `to` at `at` (the caller made room). */
  copyTo(to: Int32Array, at: number): void {
    for (let i = 0; i < this.n; i++) to[at + i] = this.ranges[i]!;
  }
}

/**
 * Frozen footprints' ranges, one after another in chunks: freezing a step's footprint (every
 * step of a run with a sleep-set DFS) made two typed arrays, ~0.3 µs a step; now it copies
 * a dozen words into the chunk and makes the arrays (views of it) only when read — the DFS
 * reads the footprints of the steps it has not explored before, a trace those of one run.
 * A full chunk is left to the footprints that view it (small: a search keeps footprints of
 * steps from many runs, and each pins its chunk).
 */
let chunk = new Int32Array(FOOTPRINT_CHUNK_WORDS);
let chunkAt = 0;

/** A step's footprint as frozen: its ranges in a chunk, viewed as arrays when first read. */
class FrozenFootprint implements StepFootprint {
  private r: Int32Array | null = null;
  private w: Int32Array | null = null;

  constructor(private readonly words: Int32Array, private readonly at: number, private readonly nReads: number, private readonly nWrites: number) {}

  get reads(): Int32Array {
    return (this.r ??= this.words.subarray(this.at, this.at + this.nReads));
  }

  get writes(): Int32Array {
    const start = this.at + this.nReads;
    return (this.w ??= this.words.subarray(start, start + this.nWrites));
  }
}

/** The words one step read and wrote, as half-open ranges [start, end) of word indices. */
export class Footprint {
  private readonly reads = new WordRanges();
  private readonly writes = new WordRanges();

  reset(): void {
    this.reads.n = 0;
    this.writes.n = 0;
  }

  read(start: number, end: number): void {
    this.reads.add(start, end);
  }

  write(start: number, end: number): void {
    this.writes.add(start, end);
  }

  /** A compact copy (the recorder is reused from step to step). */
  freeze(): StepFootprint {
    const nr = this.reads.n;
    const nw = this.writes.n;
    if (chunkAt + nr + nw > chunk.length) {
      chunk = new Int32Array(Math.max(FOOTPRINT_CHUNK_WORDS, nr + nw));
      chunkAt = 0;
    }
    const at = chunkAt;
    this.reads.copyTo(chunk, at);
    this.writes.copyTo(chunk, at + nr);
    chunkAt = at + nr + nw;
    return new FrozenFootprint(chunk, at, nr, nw);
  }
}

/** A recorded step's footprint: ranges as [start, end, start, end, …] (the schedulers' StepFootprint, structurally). */
export interface StepFootprint {
  readonly reads: Int32Array;
  readonly writes: Int32Array;
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

function overlaps(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i += 2) {
    const s = a[i]!;
    const e = a[i + 1]!;
    for (let j = 0; j < b.length; j += 2) if (s < b[j + 1]! && b[j]! < e) return true;
  }
  return false;
}

/** Two steps conflict when one writes a word the other reads or writes; otherwise they commute. */
export function conflicts(x: StepFootprint, y: StepFootprint): boolean {
  return overlaps(x.writes, y.writes) || overlaps(x.writes, y.reads) || overlaps(y.writes, x.reads);
}

let rec: Footprint = new Footprint();

type Rd32 = (a: Int32Array, i: number) => number;
type Wr32 = (a: Int32Array, i: number, v: number) => number;
type Cas32 = (a: Int32Array, i: number, expected: number, v: number) => number;
type Rd64 = (a: BigInt64Array, s: number) => bigint;
type Wr64 = (a: BigInt64Array, s: number, v: bigint) => bigint;
type Cas64 = (a: BigInt64Array, s: number, expected: bigint, v: bigint) => bigint;
type Rd8 = (a: Uint8Array, b: number) => number;
/** A 64-bit compare-and-swap of word pair (w, w + 1) given as 32-bit halves: true when it swapped. */
type Cas64x2 = (i32: Int32Array, i64: BigInt64Array, w: number, oldLo: number, oldHi: number, newLo: number, newHi: number) => boolean;
/** A 64-bit store of word pair (w, w + 1) given as 32-bit halves. */
type Wr64x2 = (i32: Int32Array, i64: BigInt64Array, w: number, lo: number, hi: number) => void;
type Wr8 = (a: Uint8Array, b: number, v: number) => number;

// ---- the bare operations ------------------------------------------------------------

// Scratch to build 64-bit operands from 32-bit halves without BigInt arithmetic.
const scratch64 = new BigInt64Array(2);
const scratch32 = new Int32Array(scratch64.buffer);

/** The 64-bit value of halves (lo, hi), through scratch slot `slot` (0 or 1): two operands of one CAS use slots 0 and 1. */
export function joined(lo: number, hi: number, slot: number): bigint {
  scratch32[slot * 2] = lo;
  scratch32[slot * 2 + 1] = hi;
  return scratch64[slot]!;
}

const bare = {
  load: Atomics.load as Rd32,
  store: Atomics.store as Wr32,
  get: ((a, i) => a[i]!) as Rd32,
  put: ((a, i, v) => { a[i] = v; return v; }) as Wr32,
  add: Atomics.add as Wr32,
  sub: Atomics.sub as Wr32,
  and: Atomics.and as Wr32,
  or: Atomics.or as Wr32,
  xor: Atomics.xor as Wr32,
  exchange: Atomics.exchange as Wr32,
  compareExchange: Atomics.compareExchange as Cas32,
  copyIn: (a: Int32Array, src: Int32Array, offset: number): void => { a.set(src, offset); },
  load64: Atomics.load as Rd64,
  store64: Atomics.store as Wr64,
  exchange64: Atomics.exchange as Wr64,
  compareExchange64: Atomics.compareExchange as Cas64,
  load8: Atomics.load as Rd8,
  store8: Atomics.store as Wr8,
  get8: ((a, b) => a[b]!) as Rd8,
  fill8: (a: Uint8Array, v: number, start: number, end: number): void => { a.fill(v, start, end); },
  // One 64-bit Atomics operation on the SPTE (other threads may CAS it concurrently).
  cas64x2: ((_i32, i64, w, oldLo, oldHi, newLo, newHi) => {
    const expected = joined(oldLo, oldHi, 0);
    return Atomics.compareExchange(i64, w >>> 1, expected, joined(newLo, newHi, 1)) === expected;
  }) as Cas64x2,
  store64x2: ((_i32, i64, w, lo, hi) => { Atomics.store(i64, w >>> 1, joined(lo, hi, 0)); }) as Wr64x2,
};

// ---- plain accesses: one thread owns the memory ------------------------------------

/**
 * The same operations as plain element accesses, for a VM that one thread owns for the
 * whole of a run (the deterministic engine: every actor steps in one thread, one step at a
 * time, and nothing else touches the buffer until the run returns). With one thread there
 * is no other observer, so ordering and atomicity are trivially those of program order:
 * a read-modify-write is a read and a write with nothing between them. On Node 20 each
 * `Atomics` call is an out-of-line builtin; these are inlined by the JIT.
 *
 * Conversions match `Atomics`: the expected value of a compare-exchange is converted to
 * the element type first (an unsigned 32-bit expected value matches its signed element),
 * and so is a stored value (the typed array's store does it).
 */
const plain: typeof bare = {
  load: bare.get,
  store: bare.put,
  get: bare.get,
  put: bare.put,
  add: (a, i, v) => { const o = a[i]!; a[i] = o + v; return o; },
  sub: (a, i, v) => { const o = a[i]!; a[i] = o - v; return o; },
  and: (a, i, v) => { const o = a[i]!; a[i] = o & v; return o; },
  or: (a, i, v) => { const o = a[i]!; a[i] = o | v; return o; },
  xor: (a, i, v) => { const o = a[i]!; a[i] = o ^ v; return o; },
  exchange: (a, i, v) => { const o = a[i]!; a[i] = v; return o; },
  compareExchange: (a, i, expected, v) => { const o = a[i]!; if (o === (expected | 0)) a[i] = v; return o; },
  copyIn: bare.copyIn,
  load64: (a, s) => a[s]!,
  store64: (a, s, v) => { a[s] = v; return v; },
  exchange64: (a, s, v) => { const o = a[s]!; a[s] = v; return o; },
  compareExchange64: (a, s, expected, v) => {
    const o = a[s]!;
    if (o === expected || o === BigInt.asIntN(64, expected)) a[s] = v;
    return o;
  },
  load8: bare.get8,
  store8: (a, b, v) => { a[b] = v; return v; },
  get8: bare.get8,
  fill8: bare.fill8,
  // Halves compared and written in program order: no other thread can see the pair torn.
  cas64x2: (i32, _i64, w, oldLo, oldHi, newLo, newHi) => {
    if (i32[w] !== (oldLo | 0) || i32[w + 1] !== (oldHi | 0)) return false;
    i32[w] = newLo;
    i32[w + 1] = newHi;
    return true;
  },
  store64x2: (i32, _i64, w, lo, hi) => { i32[w] = lo; i32[w + 1] = hi; },
};

// ---- the recording versions ---------------------------------------------------------

const rmw = (i: number): void => {
  rec.read(i, i + 1);
  rec.write(i, i + 1);
};

/** The operations of `base`, each noting the words it touches in the recorder first. */
function recordingOver(base: typeof bare): typeof bare {
  return {
    load: (a, i) => { rec.read(i, i + 1); return base.load(a, i); },
    store: (a, i, v) => { rec.write(i, i + 1); return base.store(a, i, v); },
    get: (a, i) => { rec.read(i, i + 1); return a[i]!; },
    put: (a, i, v) => { rec.write(i, i + 1); a[i] = v; return v; },
    add: (a, i, v) => { rmw(i); return base.add(a, i, v); },
    sub: (a, i, v) => { rmw(i); return base.sub(a, i, v); },
    and: (a, i, v) => { rmw(i); return base.and(a, i, v); },
    or: (a, i, v) => { rmw(i); return base.or(a, i, v); },
    xor: (a, i, v) => { rmw(i); return base.xor(a, i, v); },
    exchange: (a, i, v) => { rmw(i); return base.exchange(a, i, v); },
    // A failed compare-and-swap only read the word.
    compareExchange: (a, i, expected, v) => {
      const old = base.compareExchange(a, i, expected, v);
      rec.read(i, i + 1);
      if (old === (expected | 0)) rec.write(i, i + 1);
      return old;
    },
    copyIn: (a, src, offset) => { rec.write(offset, offset + src.length); a.set(src, offset); },
    load64: (a, s) => { rec.read(2 * s, 2 * s + 2); return base.load64(a, s); },
    store64: (a, s, v) => { rec.write(2 * s, 2 * s + 2); return base.store64(a, s, v); },
    exchange64: (a, s, v) => { rmw(2 * s); rmw(2 * s + 1); return base.exchange64(a, s, v); },
    compareExchange64: (a, s, expected, v) => {
      const old = base.compareExchange64(a, s, expected, v);
      rec.read(2 * s, 2 * s + 2);
      if (old === BigInt.asIntN(64, expected)) rec.write(2 * s, 2 * s + 2);
      return old;
    },
    load8: (a, b) => { rec.read(b >> 2, (b >> 2) + 1); return base.load8(a, b); },
    store8: (a, b, v) => { rec.write(b >> 2, (b >> 2) + 1); return base.store8(a, b, v); },
    get8: (a, b) => { rec.read(b >> 2, (b >> 2) + 1); return a[b]!; },
    fill8: (a, v, start, end) => { if (end > start) rec.write(start >> 2, ((end - 1) >> 2) + 1); a.fill(v, start, end); },
    cas64x2: (i32, i64, w, oldLo, oldHi, newLo, newHi) => {
      const swapped = base.cas64x2(i32, i64, w, oldLo, oldHi, newLo, newHi);
      rec.read(w, w + 2);
      if (swapped) rec.write(w, w + 2);
      return swapped;
    },
    store64x2: (i32, i64, w, lo, hi) => { rec.write(w, w + 2); base.store64x2(i32, i64, w, lo, hi); },
  };
}

const recording = recordingOver(bare);
const recordingPlain = recordingOver(plain);

/** 32-bit words: Atomics operations, `get`/`put` plain accesses, `copyIn` a memcpy. */
export let load = bare.load;
export let store = bare.store;
export let get = bare.get;
export let put = bare.put;
export let add = bare.add;
export let sub = bare.sub;
export let and = bare.and;
export let or = bare.or;
export let xor = bare.xor;
export let exchange = bare.exchange;
export let compareExchange = bare.compareExchange;
export let copyIn = bare.copyIn;
/** 64-bit words (SPTEs). */
export let load64 = bare.load64;
export let store64 = bare.store64;
export let exchange64 = bare.exchange64;
export let compareExchange64 = bare.compareExchange64;
/** Bytes (host prot bits, attributes). */
export let load8 = bare.load8;
export let store8 = bare.store8;
export let get8 = bare.get8;
export let fill8 = bare.fill8;
/** 64-bit word pairs given as 32-bit halves (SPTEs: no BigInt on the fault path in one thread). */
export let cas64x2 = bare.cas64x2;
export let store64x2 = bare.store64x2;

let recordingOn = false;
let plainOn = false;

function install(): void {
  const impl = recordingOn ? (plainOn ? recordingPlain : recording) : (plainOn ? plain : bare);
  load = impl.load; store = impl.store; get = impl.get; put = impl.put; add = impl.add; sub = impl.sub;
  and = impl.and; or = impl.or; xor = impl.xor; exchange = impl.exchange; compareExchange = impl.compareExchange;
  copyIn = impl.copyIn; load64 = impl.load64; store64 = impl.store64; exchange64 = impl.exchange64;
  compareExchange64 = impl.compareExchange64; load8 = impl.load8; store8 = impl.store8; get8 = impl.get8; fill8 = impl.fill8;
  cas64x2 = impl.cas64x2; store64x2 = impl.store64x2;
}

/** Start recording the accesses that follow into `f`, or stop (null). */
export function recordFootprint(f: Footprint | null): void {
  if (f !== null) rec = f;
  const on = f !== null;
  if (on === recordingOn) return;
  recordingOn = on;
  install();
}

/**
 * While `fn` runs, every access is a plain element access (see `plain`): for code that
 * owns the VM's memory alone for the call — a synchronous run of the deterministic engine,
 * in which no other thread holds the buffer. Nothing else in this thread can run while a
 * synchronous `fn` does, and a worker has its own instance of this module, so the choice
 * is the run's alone. Nests; the previous mode is restored when `fn` returns or throws.
 */
export function withSingleThreadAccess<T>(fn: () => T): T {
  const was = plainOn;
  if (!was) { plainOn = true; install(); }
  try {
    return fn();
  } finally {
    if (!was) { plainOn = false; install(); }
  }
}

/** True while accesses are plain (inside `withSingleThreadAccess`). */
export function singleThreadAccess(): boolean {
  return plainOn;
}
