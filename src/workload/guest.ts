/**
 * Guest access workloads for the pre-fault versus lazy benchmark: what each vCPU touches,
 * in order, as compact arrays (a 64 GiB guest is 16 M pages). All are seeded by the
 * project's PRNG, so a seed is the workload.
 *
 * - `boot`: a Linux boot, roughly. The BSP (vcpu0) runs the firmware in low memory (the
 *   first MiB, read and written), then reads the kernel image sequentially (at 16 MiB,
 *   1/16 of RAM up to 64 MiB); the APs start after that (`gate`), every vCPU zeroes its
 *   share of the memory the page allocator hands out (half of RAM, written in order), then
 *   init and services touch random pages (1/16 of RAM, 30% writes).
 * - `uniform`: random pages, `writeRatio` of them written.
 * - `sequential`: every page once, in address order, written.
 * - `zipf`: random pages with a Zipf(s = 1.1) popularity (a few hot pages, a long tail),
 *   the ranks scattered over memory by a fixed odd multiplier.
 *
 * `sharing` picks whose memory a vCPU touches: `partitioned` — each vCPU its own slice
 * (1/vcpus of RAM), `shared` — all of RAM (boot's zeroing stays partitioned: the
 * allocator hands each CPU different pages). Uniform and zipf do `accesses` accesses per
 * vCPU (default: as many as the vCPU's memory has pages).
 */

import { Prng } from '../sched/prng.js';
import type { KvmTrace } from './kvm-trace.js';

export const GUEST_WORKLOADS = ['boot', 'uniform', 'sequential', 'zipf'] as const;
export type GuestWorkloadKind = (typeof GUEST_WORKLOADS)[number];
export type Sharing = 'partitioned' | 'shared';

export const PAGE_BYTES = 4096;
const MIB = 1024 * 1024;

/** Access kinds in `VcpuAccesses.kinds`. */
export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_EXEC = 2;

export interface VcpuAccesses {
  /**
   * Guest frame numbers, in the order the vCPU touches them: 32 bits hold them, as a
   * workload's guest memory starts at gpa 0 and is at most BENCH_MEMORY_BYTES_MAX (a trace's
   * touched gigabytes are packed from 0 too).
   */
  readonly gfns: Uint32Array;
  /** ACCESS_READ / ACCESS_WRITE / ACCESS_EXEC per access. */
  readonly kinds: Uint8Array;
  /** The vCPU starts only after access `index` of vCPU `vcpu` (boot: the APs wait for the BSP). */
  readonly gate?: { readonly vcpu: number; readonly index: number };
}

export interface GuestWorkload {
  readonly kind: GuestWorkloadKind | 'trace';
  readonly memoryBytes: number;
  readonly vcpus: readonly VcpuAccesses[];
  /**
   * A trace only: the gigabytes of guest-physical space the trace never touches that were
   * left out (the PCI hole, high MMIO windows), as [first gpa, end gpa) — the layout keeps
   * the touched gigabytes, in order, each at its own offset.
   */
  readonly dropped?: readonly (readonly [bigint, bigint])[];
}

export interface GuestWorkloadConfig {
  readonly kind: GuestWorkloadKind;
  readonly vcpus: number;
  readonly memoryBytes: number;
  readonly sharing: Sharing;
  readonly seed: number;
  /** Accesses per vCPU for uniform and zipf (default: the pages of its memory). */
  readonly accesses?: number;
  /** Fraction of uniform/zipf accesses that write (default 0.5). */
  readonly writeRatio?: number;
}

/** Growable pair of arrays for one vCPU. */
class Builder {
  gfns = new Uint32Array(1024);
  kinds = new Uint8Array(1024);
  n = 0;

  push(gfn: number, kind: number): void {
    if (this.n === this.gfns.length) {
      const g = new Uint32Array(this.gfns.length * 2);
      g.set(this.gfns);
      this.gfns = g;
      const k = new Uint8Array(this.kinds.length * 2);
      k.set(this.kinds);
      this.kinds = k;
    }
    this.gfns[this.n] = gfn;
    this.kinds[this.n] = kind;
    this.n++;
  }

  done(gate?: { vcpu: number; index: number }): VcpuAccesses {
    return { gfns: this.gfns.slice(0, this.n), kinds: this.kinds.slice(0, this.n), ...(gate !== undefined ? { gate } : {}) };
  }
}

/** The pages [first, first + count) vCPU `v` owns under `sharing`. */
function share(pages: number, vcpus: number, v: number, sharing: Sharing): { first: number; count: number } {
  if (sharing === 'shared') return { first: 0, count: pages };
  const first = Math.floor((pages * v) / vcpus);
  return { first, count: Math.floor((pages * (v + 1)) / vcpus) - first };
}

/** Zipf(s) sampler over ranks 0..n-1 by inverse CDF on a precomputed table (n capped for memory; ranks beyond share the tail). */
class Zipf {
  private readonly cdf: Float64Array;

  constructor(readonly n: number, s: number) {
    const m = Math.min(n, 1 << 20);
    this.cdf = new Float64Array(m);
    let sum = 0;
    for (let k = 0; k < m; k++) {
      sum += 1 / Math.pow(k + 1, s);
      this.cdf[k] = sum;
    }
    for (let k = 0; k < m; k++) this.cdf[k] = this.cdf[k]! / sum;
  }

  sample(prng: Prng): number {
    const u = prng.nextU32() / 0x100000000;
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    // The table covers the first 2^20 ranks; a draw in its last bucket picks uniformly from the rest.
    if (lo === this.cdf.length - 1 && this.n > this.cdf.length) return lo + Math.floor((prng.nextU32() / 0x100000000) * (this.n - lo));
    return lo;
  }
}

/** A rank's page: scattered over [0, count) by an odd multiplier (hot pages spread out, not clustered at the start). */
const scatter = (rank: number, count: number): number => (Math.imul(rank, 0x9e3779b1) >>> 0) % count;

export function guestWorkload(cfg: GuestWorkloadConfig): GuestWorkload {
  if (!Number.isInteger(cfg.vcpus) || cfg.vcpus < 1) throw new RangeError('vcpus must be a positive integer');
  if (cfg.memoryBytes < 2 * MIB || cfg.memoryBytes % PAGE_BYTES !== 0) throw new RangeError('guest memory must be whole pages, at least 2 MiB');
  const pages = cfg.memoryBytes / PAGE_BYTES;
  if (pages > 0xffffffff) throw new RangeError('guest memory too large for 32-bit frame numbers');
  const writeRatio = cfg.writeRatio ?? 0.5;
  const out: VcpuAccesses[] = [];
  for (let v = 0; v < cfg.vcpus; v++) {
    // One PRNG per vCPU, from the seed and the vCPU: adding a vCPU does not change the others.
    const prng = new Prng((Math.imul(cfg.seed | 0, 0x9e3779b1) ^ Math.imul(v + 1, 0x85ebca6b)) >>> 0);
    const b = new Builder();
    const mine = share(pages, cfg.vcpus, v, cfg.sharing);
    const kindOf = (): number => (prng.nextU32() / 0x100000000 < writeRatio ? ACCESS_WRITE : ACCESS_READ);
    switch (cfg.kind) {
      case 'sequential':
        for (let p = 0; p < mine.count; p++) b.push(mine.first + p, ACCESS_WRITE);
        out.push(b.done());
        break;
      case 'uniform': {
        const n = cfg.accesses ?? mine.count;
        for (let i = 0; i < n; i++) b.push(mine.first + prng.below(mine.count), kindOf());
        out.push(b.done());
        break;
      }
      case 'zipf': {
        const n = cfg.accesses ?? mine.count;
        const z = new Zipf(mine.count, 1.1);
        for (let i = 0; i < n; i++) b.push(mine.first + scatter(z.sample(prng), mine.count), kindOf());
        out.push(b.done());
        break;
      }
      case 'boot':
        out.push(bootVcpu(b, prng, pages, cfg, v));
        break;
    }
  }
  return { kind: cfg.kind, memoryBytes: cfg.memoryBytes, vcpus: out };
}

/** Pages of each boot phase, for a guest of `pages` pages. */
export function bootLayout(pages: number): { firmware: number; kernelFirst: number; kernel: number; zeroFirst: number; zero: number; random: number } {
  const firmware = Math.min(256, pages);
  const kernelFirst = Math.min((16 * MIB) / PAGE_BYTES, Math.floor(pages / 4));
  const kernel = Math.max(1, Math.min((64 * MIB) / PAGE_BYTES, Math.floor(pages / 16)));
  const zeroFirst = kernelFirst + kernel;
  const zero = Math.max(0, Math.min(Math.floor(pages / 2), pages - zeroFirst));
  return { firmware, kernelFirst, kernel, zeroFirst, zero, random: Math.max(1, Math.floor(pages / 16)) };
}

function bootVcpu(b: Builder, prng: Prng, pages: number, cfg: GuestWorkloadConfig, v: number): VcpuAccesses {
  const l = bootLayout(pages);
  let gate: { vcpu: number; index: number } | undefined;
  if (v === 0) {
    // Firmware: code fetched and data written in the first MiB.
    for (let p = 0; p < l.firmware; p++) b.push(p, p % 4 === 0 ? ACCESS_EXEC : ACCESS_WRITE);
    // The kernel image, read in order (decompression writes it: every 8th page written).
    for (let p = 0; p < l.kernel; p++) b.push(l.kernelFirst + p, p % 8 === 0 ? ACCESS_WRITE : ACCESS_READ);
  } else {
    gate = { vcpu: 0, index: l.firmware + l.kernel - 1 };
  }
  // The page allocator zeroes what it hands out: each vCPU its slice, in order.
  const z = share(l.zero, cfg.vcpus, v, 'partitioned');
  for (let p = 0; p < z.count; p++) b.push(l.zeroFirst + z.first + p, ACCESS_WRITE);
  // init and services: random pages anywhere (or in the vCPU's slice), 30% writes.
  const mine = share(pages, cfg.vcpus, v, cfg.sharing);
  const n = Math.max(1, Math.floor(l.random / cfg.vcpus));
  for (let i = 0; i < n; i++) b.push(mine.first + prng.below(mine.count), prng.nextU32() / 0x100000000 < 0.3 ? ACCESS_WRITE : ACCESS_READ);
  return b.done(gate);
}

/** A recorded fault trace as a workload: each fault an access of its vCPU (vCPU ids in ascending order → vCPUs 0, 1, …). */
export function traceWorkload(trace: KvmTrace, memoryBytes?: number): GuestWorkload {
  const index = new Map(trace.vcpuIds.map((id, i) => [id, i]));
  const builders = trace.vcpuIds.map(() => new Builder());
  // A real guest's faults are not one range: RAM below the PCI hole and above 4 GiB, and
  // the odd MMIO page high up (64-bit BARs). The gigabytes the trace touches are laid out
  // one after the other, each at its own offset (so the page-table shape below 1 GiB is
  // the trace's), and the untouched ones between them are left out.
  const gigs = [...new Set(trace.faults.map((f) => f.gpa >> 30n))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const slotOf = new Map(gigs.map((g, i) => [g, i]));
  let maxGfn = 0;
  for (const f of trace.faults) {
    const g = slotOf.get(f.gpa >> 30n)! * GIB_PAGES + Number((f.gpa >> 12n) & BigInt(GIB_PAGES - 1));
    if (g > 0xffffffff) throw new RangeError(`trace line ${f.line}: the trace touches more than 16 TiB of distinct gigabytes`);
    if (g > maxGfn) maxGfn = g;
    builders[index.get(f.vcpuId)!]!.push(g, f.access === 'exec' ? ACCESS_EXEC : f.access === 'write' ? ACCESS_WRITE : ACCESS_READ);
  }
  const dropped: [bigint, bigint][] = [];
  for (let i = 0; i < gigs.length; i++) {
    const from = i === 0 ? 0n : gigs[i - 1]! + 1n;
    if (gigs[i]! > from) dropped.push([from << 30n, gigs[i]! << 30n]);
  }
  // The guest must cover every address the trace touches (rounded up to 2 MiB).
  const needed = Math.ceil(((maxGfn + 1) * PAGE_BYTES) / (2 * MIB)) * 2 * MIB;
  const bytes = memoryBytes ?? Math.max(needed, 2 * MIB);
  if (bytes < needed) throw new RangeError(`the trace touches ${formatGib(needed)} of guest memory${dropped.length > 0 ? ' (its untouched gigabytes left out)' : ''}, more than the ${formatGib(bytes)} guest`);
  return { kind: 'trace', memoryBytes: bytes, vcpus: builders.map((b) => b.done()), ...(dropped.length > 0 ? { dropped } : {}) };
}

const GIB_PAGES = (1 << 30) / PAGE_BYTES;

function formatGib(bytes: number): string {
  return bytes % (1 << 30) === 0 ? `${bytes / (1 << 30)} GiB` : `${(bytes / MIB).toFixed(0)} MiB`;
}
