/**
 * A pre-fault benchmark point as ops for the engines: the memslots (setup), the pre-fault
 * that comes before the guest (by strategy), what disturbs it (memslot churn, host
 * migrations), and each vCPU's guest accesses, gated on the pre-fault and on boot's
 * BSP/AP order. The same ops run on the simulated clock and on real threads.
 */

import type { KernelRelease } from '../kvm/kernel-release.js';
import type { ScheduledOp } from '../engine/deterministic.js';
import type { CostModel } from '../engine/cost-model.js';
import type { HostMemory } from '../kvm/host.js';
import type { Op } from '../kvm/ops.js';
import { Prng } from '../sched/prng.js';
import type { GuestWorkload } from '../workload/guest.js';

export const STRATEGIES = ['lazy', 'prefault', 'prefault-parallel', 'prefault-concurrent', 'map-memory', 'prefault-churn', 'prefault-invalidate', 'populate', 'populate-lazy'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const PAGE_SIZES = ['4K', '2M', '1G'] as const;
export type PageSize = (typeof PAGE_SIZES)[number];
/** The TDP level a page size maps at (the memslots' host backing). */
export const PAGE_LEVEL: Record<PageSize, number> = { '4K': 1, '2M': 2, '1G': 3 };
const PAGE_SIZE_BYTES: Record<PageSize, number> = { '4K': 4096, '2M': 2 << 20, '1G': 1 << 30 };

/** Memslot churn rounds during the pre-fault (delete and create again). */
const CHURN_ROUNDS = 8;
/** Host invalidations (migrations) during the pre-fault. */
const INVALIDATIONS = 32;
/** The churned memslot (low RAM) and the rest of RAM. */
const CHURN_SLOT = 1;
const RAM_SLOT = 0;

export interface SimPoint {
  readonly strategy: Strategy;
  readonly pageSize: PageSize;
  /** What backs guest memory in the host; default anonymous (QEMU's default). */
  readonly hostMemory?: HostMemory;
  readonly workload: GuestWorkload;
  readonly costModel?: CostModel;
  readonly seed?: number;
  /** The kernel release the VM runs; default the newest modelled. */
  readonly kernel?: KernelRelease;
  /** Called now and then during a long run with the fraction done (accesses and pre-fault pages so far over those the point holds). */
  readonly onProgress?: (fraction: number) => void;
}

/** A point's ops, in order, and which of them are guest access streams and pre-fault calls. */
export interface PointOps {
  readonly setup: Op[];
  readonly ops: ScheduledOp[];
  /** vCPUs of the VM (the guest's, plus a spare one for prefault-concurrent). */
  readonly vcpus: number;
  readonly guest: number[];
  readonly prefault: number[];
  readonly guestBytes: number;
  /** The work the point holds: guest accesses and 4K pages to pre-fault (progress, step budget). */
  readonly work: number;
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** The ops list being built, and the point's geometry. */
class PointBuilder {
  readonly ops: ScheduledOp[] = [];
  readonly guest: number[] = [];
  readonly prefault: number[] = [];
  /** Ops the guest waits for before it starts (pre-faults; the last churn round). */
  readonly before: number[] = [];
  readonly ram: number;
  readonly page: number;
  readonly level: number;
  readonly hostMemory: HostMemory;
  /** Memory written before the guest runs (the populate strategies: MAP_POPULATE, -mem-prealloc). */
  readonly populated: boolean;
  /** Low RAM's size under churn (an eighth, at least one page of the page size), else 0. */
  readonly low: number;
  /** The spare vCPU that pre-faults while the guest runs (prefault-concurrent), else -1. */
  readonly helper: number;
  readonly vcpus: number;

  constructor(readonly p: SimPoint) {
    const n = p.workload.vcpus.length;
    this.ram = p.workload.memoryBytes;
    this.page = PAGE_SIZE_BYTES[p.pageSize];
    if (this.ram % this.page !== 0) throw new RangeError(`guest memory ${this.ram} bytes is not a multiple of the ${p.pageSize} page size`);
    this.level = PAGE_LEVEL[p.pageSize];
    this.hostMemory = p.hostMemory ?? 'anonymous';
    this.populated = p.strategy === 'populate' || p.strategy === 'populate-lazy';
    this.low = p.strategy === 'prefault-churn' ? Math.max(this.page, Math.floor(this.ram / 8 / this.page) * this.page) : 0;
    this.helper = p.strategy === 'prefault-concurrent' ? n : -1;
    this.vcpus = this.helper >= 0 ? n + 1 : n;
  }

  get host(): number {
    return this.vcpus;
  }

  get vmm(): number {
    return this.vcpus + 1;
  }

  add(actor: number, op: Op, after?: number | readonly number[]): number {
    this.ops.push({ actor, op, ...(after !== undefined && (typeof after === 'number' || after.length > 0) ? { after } : {}) });
    return this.ops.length - 1;
  }

  preFault(actor: number, gpa: number, size: number, after?: number): number {
    return this.add(actor, { op: 'pre_fault', gpa: BigInt(gpa), size: BigInt(size), flags: 0n, untilDone: true }, after);
  }

  lowSlot(size: number): Op {
    return { op: 'set_memslot', slot: CHURN_SLOT, gpa: 0n, size: BigInt(size), flags: 0, backingLevel: this.level, hostMemory: this.hostMemory, populated: this.populated };
  }
}

/** The memslots: all of RAM in one, or — under churn — low RAM in its own, the rest in another. */
function memslots(b: PointBuilder): Op[] {
  const setup: Op[] = [];
  if (b.low > 0) setup.push(b.lowSlot(b.low));
  if (b.ram > b.low) setup.push({ op: 'set_memslot', slot: RAM_SLOT, gpa: BigInt(b.low), size: BigInt(b.ram - b.low), flags: 0, backingLevel: b.level, hostMemory: b.hostMemory, populated: b.populated });
  return setup;
}

/** The pre-fault that comes before the guest runs, by strategy. */
function preFaultFirst(b: PointBuilder): void {
  const { ram, low } = b;
  switch (b.p.strategy) {
    case 'lazy':
    case 'prefault-concurrent':
    case 'populate-lazy':
      break;
    case 'prefault':
    case 'prefault-invalidate':
    case 'populate':
      b.before.push(b.preFault(0, 0, ram));
      break;
    case 'prefault-churn':
      // One call loop per memslot, as a VMM pre-faults its RAM blocks: ENOENT on one (the
      // slot is gone) does not stop the next.
      b.before.push(b.preFault(0, 0, low));
      if (ram > low) b.before.push(b.preFault(0, low, ram - low));
      break;
    case 'map-memory':
      b.before.push(b.add(0, { op: 'map_memory', baseGfn: 0n, nrPages: BigInt(ram / 4096), flags: 0n, source: 0n, untilDone: true }));
      break;
    case 'prefault-parallel': {
      const n = b.p.workload.vcpus.length;
      for (let v = 0; v < n; v++) {
        const start = alignUp(Math.floor((ram * v) / n), b.page);
        const end = v === n - 1 ? ram : alignUp(Math.floor((ram * (v + 1)) / n), b.page);
        if (end > start) b.before.push(b.preFault(v, start, end - start));
      }
      break;
    }
  }
  b.prefault.push(...b.before);
}

/** What disturbs the pre-fault: memslot churn, host migrations; and the spare vCPU's pre-fault alongside the guest. */
function disturbances(b: PointBuilder): void {
  if (b.p.strategy === 'prefault-churn') {
    // Low RAM's memslot deleted and created again, round after round; the guest starts
    // once it is back for good (the VMM does not run vCPUs across its memory commits).
    let last = -1;
    for (let i = 0; i < CHURN_ROUNDS; i++) {
      b.add(b.vmm, b.lowSlot(0));
      last = b.add(b.vmm, b.lowSlot(b.low));
    }
    b.before.push(last);
  }
  if (b.p.strategy === 'prefault-invalidate') {
    const prng = new Prng((b.p.seed ?? 1) ^ 0x51ed270b);
    for (let i = 0; i < INVALIDATIONS; i++) b.add(b.host, { op: 'invalidate', gpa: prng.below(b.ram / b.page) * b.page, size: b.page, kind: 'migrate', prot: 'rw' });
  }
  if (b.helper >= 0) b.prefault.push(b.preFault(b.helper, 0, b.ram));
}

/** The guest: each vCPU's accesses after the pre-fault (boot's BSP split where the APs wait for it), then the APs' gates. */
function guestStreams(b: PointBuilder): void {
  const w = b.p.workload;
  const gateAt = new Map<number, number>();
  for (const v of w.vcpus) if (v.gate !== undefined) gateAt.set(v.gate.vcpu, Math.max(gateAt.get(v.gate.vcpu) ?? -1, v.gate.index));
  const gateOp = new Map<number, number>();
  w.vcpus.forEach((v, i) => {
    // Every pre-fault that comes first, but the vCPU's own (it runs before, in program order).
    const waitFor = b.before.filter((o) => b.ops[o]!.actor !== i);
    const split = gateAt.get(i);
    if (split !== undefined && split + 1 < v.gfns.length) {
      const first = b.add(i, { op: 'access_stream', gfns: v.gfns.subarray(0, split + 1), kinds: v.kinds.subarray(0, split + 1) }, waitFor);
      gateOp.set(i, first);
      b.guest.push(first, b.add(i, { op: 'access_stream', gfns: v.gfns.subarray(split + 1), kinds: v.kinds.subarray(split + 1) }));
    } else {
      const only = b.add(i, { op: 'access_stream', gfns: v.gfns, kinds: v.kinds }, waitFor);
      gateOp.set(i, only);
      b.guest.push(only);
    }
  });
  // The APs' gates: after the op that holds the gating access.
  for (const [i, v] of w.vcpus.entries()) {
    if (v.gate === undefined) continue;
    const mine = b.guest.find((g) => b.ops[g]!.actor === i)!;
    const o = b.ops[mine]!;
    const after = [...(o.after === undefined ? [] : typeof o.after === 'number' ? [o.after] : o.after), gateOp.get(v.gate.vcpu)!];
    b.ops[mine] = { ...o, after };
  }
}

/** The work `ops` hold: guest accesses and 4K pages to pre-fault. */
function workOf(ops: readonly ScheduledOp[]): number {
  let work = 0;
  for (const o of ops) {
    if (o.op.op === 'access_stream') work += o.op.gfns.length;
    else if (o.op.op === 'pre_fault') work += Number(o.op.size / 4096n);
    else if (o.op.op === 'map_memory') work += Number(o.op.nrPages);
  }
  return work;
}

/** The ops of a point, in order, and which of them are guest access streams and pre-fault calls. */
export function pointOps(p: SimPoint): PointOps {
  const b = new PointBuilder(p);
  const setup = memslots(b);
  preFaultFirst(b);
  disturbances(b);
  guestStreams(b);
  // Layout room: RAM, and slack (the layout itself doubles the leaf tables for moves).
  const guestBytes = Math.max(b.ram + (16 << 20), 64 << 20);
  return { setup, ops: b.ops, vcpus: b.vcpus, guest: b.guest, prefault: b.prefault, guestBytes, work: workOf(b.ops) };
}
