/**
 * What the benchmark scripts share: timing, medians, the figures table, and the raw
 * walk + CAS fault loop every fault figure is compared with.
 */

import { G, spteWord } from '../src/kvm/layout.js';
import { SPTES_PER_TABLE } from '../src/kvm/limits.js';
import { joined } from '../src/kvm/shm.js';
import { NONLEAF_HI, NONPRESENT_HI, isShadowPresent, makeNonleafLo, makeSpteHi, makeSpteLo, spteChildTable, type MakeSpteArgs } from '../src/kvm/spte.js';
import { spteIndex } from '../src/kvm/tdp-iter.js';
import { Vm } from '../src/kvm/vm.js';
import { CompiledLockProtocol } from '../src/protocol/lock-protocol.js';
import { compiled } from '../src/protocol/machines.js';

export const PAGE_BYTES = 4096;

// ------------------------------------------------------------------ timing

export const now = (): bigint => process.hrtime.bigint();
export const nsSince = (t0: bigint): number => Number(now() - t0);

/** One timed repetition: `ns` of timed work for `ops` operations, plus named side counts. */
export interface Sample {
  ns: number;
  ops: number;
  extra?: Record<string, number>;
}

export interface Stats {
  median: number;
  min: number;
  max: number;
}

export function stats(values: readonly number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

export const rateOf = (s: Sample): number => (s.ops * 1e9) / s.ns;

/** Runs `once` warm-up + `reps` times; returns ops/s statistics and the samples. */
export function repeat(reps: number, once: () => Sample): { rate: Stats; samples: Sample[] } {
  once();
  const samples: Sample[] = [];
  for (let i = 0; i < reps; i++) samples.push(once());
  return { rate: stats(samples.map(rateOf)), samples };
}

// ------------------------------------------------------------------ report

interface Row {
  section: string;
  figure: string;
  value: string;
  spread: string;
  note: string;
}

export const rows: Row[] = [];

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (Number.isInteger(x) && a < 1e6) return x.toLocaleString('en-US');
  if (a >= 1e6) return `${(x / 1e6).toFixed(3)}e6`;
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 10) return x.toFixed(1);
  return x.toPrecision(3);
}

export function addRow(section: string, figure: string, value: number | string, spread: Stats | null = null, note = ''): void {
  const v = typeof value === 'number' ? fmt(value) : value;
  rows.push({ section, figure, value: v, spread: spread ? `${fmt(spread.min)} – ${fmt(spread.max)}` : '', note });
}

export function addRate(section: string, figure: string, rate: Stats, note = ''): void {
  addRow(section, figure, rate.median, rate, note);
}

export function printTable(): void {
  const head: Row = { section: 'section', figure: 'figure', value: 'median', spread: 'min – max', note: 'note' };
  const all = [head, ...rows];
  const w = (k: keyof Row): number => Math.max(...all.map((r) => r[k].length));
  const line = (r: Row): string => `${r.section.padEnd(w('section'))}  ${r.figure.padEnd(w('figure'))}  ${r.value.padStart(w('value'))}  ${r.spread.padEnd(w('spread'))}  ${r.note}`;
  console.log(line(head));
  console.log('-'.repeat(line(head).length));
  let last = '';
  for (const r of rows) {
    console.log(line({ ...r, section: r.section === last ? '' : r.section }));
    last = r.section;
  }
}

// ------------------------------------------------------------------ 1. raw baseline

/** Vm.create as the brief's baseline: default type, one vCPU, the compiled mmu-lock. */
export function freshVm(guestBytes: number): Vm {
  return Vm.create({ type: 'default', vcpus: 1, guestBytes }, new CompiledLockProtocol(compiled('mmu-lock')));
}

// 64-bit CAS operands from 32-bit halves without BigInt arithmetic, as the model's CAS builds them.
const pair = joined;

/**
 * A page-table bump allocator of its own over the VM's pool region (from POOL_BUMP on):
 * each table is filled with SHADOW_NONPRESENT_VALUE before it is linked, as
 * tdp_mmu_alloc_sp's cache does.
 */
export class RawTables {
  private next: number;
  readonly root: number;

  constructor(private readonly vm: Vm) {
    this.next = Atomics.load(vm.i32, G.POOL_BUMP);
    this.root = this.alloc();
  }

  alloc(): number {
    if (this.next >= this.vm.layout.config.tables) throw new RangeError('raw baseline: page-table pool exhausted');
    const t = this.next++;
    const i64Base = spteWord(this.vm.layout, t, 0) >>> 1;
    this.vm.i64.fill(pair(0, NONPRESENT_HI, 0), i64Base, i64Base + SPTES_PER_TABLE);
    return t;
  }
}

/** The leaf of a write fault: host- and MMU-writable, accessed, dirty (make_spte). */
const rawArgs: MakeSpteArgs = { pfn: 0, level: 1, hostWritable: true, writable: true, exec: true, prefetch: false };

/** One raw fault: walk levels root..2 linking missing tables by CAS, then CAS the leaf. */
export function rawFault(vm: Vm, tables: RawTables, gfn: number): boolean {
  const i32 = vm.i32;
  const i64 = vm.i64;
  let table = tables.root;
  for (let level: number = vm.rootLevel; level > 1; level--) {
    const w = spteWord(vm.layout, table, spteIndex(gfn, level));
    let lo = Atomics.load(i32, w);
    if (!isShadowPresent(lo)) {
      const expected = pair(lo, Atomics.load(i32, w + 1), 0);
      const child = tables.alloc();
      const linked = makeNonleafLo(child);
      // Single-threaded here, so the CAS cannot lose; a loser would re-read (and leak the table).
      lo = Atomics.compareExchange(i64, w >>> 1, expected, pair(linked, NONLEAF_HI, 1)) === expected ? linked : Atomics.load(i32, w);
    }
    table = spteChildTable(lo);
  }
  const w = spteWord(vm.layout, table, spteIndex(gfn, 1));
  const expected = pair(Atomics.load(i32, w), Atomics.load(i32, w + 1), 0);
  rawArgs.pfn = gfn + 1;
  return Atomics.compareExchange(i64, w >>> 1, expected, pair(makeSpteLo(rawArgs), makeSpteHi(rawArgs), 1)) === expected;
}

export function rawSample(faults: number): Sample {
  const vm = freshVm(faults * PAGE_BYTES);
  const tables = new RawTables(vm);
  let lost = 0;
  const t0 = now();
  for (let gfn = 0; gfn < faults; gfn++) if (!rawFault(vm, tables, gfn)) lost++;
  return { ns: nsSince(t0), ops: faults, extra: { lost } };
}

