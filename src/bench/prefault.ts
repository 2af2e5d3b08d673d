/**
 * Pre-populating guest memory versus faulting it lazily: one benchmark point is a guest
 * (memory, vCPUs, host page size), a workload (what the vCPUs touch) and a strategy (how,
 * if at all, memory is pre-faulted); it runs on the deterministic engine with the
 * simulated clock (cost-model.ts), so its times are virtual nanoseconds, noise-free.
 *
 * Strategies (reference §1: pre-fault calls may run in parallel on different vCPUs):
 *
 *   lazy                 the guest runs; every first touch is an EPT violation
 *   prefault             KVM_PRE_FAULT_MEMORY over all of RAM from vcpu0 (looped until
 *                        done, as the selftest), then the guest runs
 *   prefault-parallel    each vCPU pre-faults its slice of RAM, in parallel; the guest runs
 *                        when all are done
 *   prefault-concurrent  a spare vCPU pre-faults all of RAM while the guest already runs
 *   map-memory           the RFC's KVM_MAP_MEMORY over all of RAM from vcpu0, then the guest
 *   prefault-churn       as `prefault`, while the VMM deletes and re-creates the memslot of
 *                        low RAM (an eighth; as QEMU re-commits a region): pre-faulting it
 *                        meets the slot being deleted — EAGAIN (6.18), retried — or gone —
 *                        ENOENT, and the VMM moves on to the next memslot; each delete zaps
 *                        every root. The guest starts once the memory map is back.
 *   prefault-invalidate  as `prefault`, while the host migrates pages of RAM (MMU notifier)
 *
 * What each run measures: the time until the workload completes (the latest end of a
 * guest vCPU's accesses) — which includes the pre-fault when it comes first —, EPT-violation
 * exits, faults by RET_PF outcome, retries by reason, time spent waiting for mmu_lock, the
 * pre-fault's own time, calls and pages, and the page-table memory in use at the end.
 */

import { runDeterministic, type RunProgress, type RunResult, type ScheduledOp } from '../engine/deterministic.js';
import { STEPS_MAX } from '../kvm/limits.js';
import { COST_DEFAULTS, type CostModel } from '../engine/cost-model.js';
import { poolTablesInUse } from '../kvm/page-pool.js';
import type { Op } from '../kvm/ops.js';
import { EarliestClockScheduler } from '../sched/scheduler.js';
import { Prng } from '../sched/prng.js';
import type { GuestWorkload } from '../workload/guest.js';

export const STRATEGIES = ['lazy', 'prefault', 'prefault-parallel', 'prefault-concurrent', 'map-memory', 'prefault-churn', 'prefault-invalidate'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const PAGE_SIZES = ['4K', '2M', '1G'] as const;
export type PageSize = (typeof PAGE_SIZES)[number];
const LEVEL: Record<PageSize, number> = { '4K': 1, '2M': 2, '1G': 3 };
const PAGE_SIZE_BYTES: Record<PageSize, number> = { '4K': 4096, '2M': 2 << 20, '1G': 1 << 30 };

/** Memslot churn and host invalidations during the pre-fault: how many of each. */
const CHURN_ROUNDS = 8;
/** Each vCPU thread of a wall-clock run first runs the model on a private VM this long (engine warm-up). */
const WALL_WARMUP_MS = 500;
/** Step budget per unit of work (access or 4K page to pre-fault): four times what one takes. */
const STEPS_PER_UNIT = 64;
/** The churned memslot (low RAM) and the rest of RAM. */
const CHURN_SLOT = 1;
const RAM_SLOT = 0;
const INVALIDATIONS = 32;

export interface SimPoint {
  readonly strategy: Strategy;
  readonly pageSize: PageSize;
  readonly workload: GuestWorkload;
  readonly costModel?: CostModel;
  readonly seed?: number;
  /** Called now and then during a long run with the fraction done (accesses and pre-fault pages so far over those the point holds). */
  readonly onProgress?: (fraction: number) => void;
}

export interface SimMetrics {
  /** Which clock the times are on: `sim` (virtual ns of the cost model) or `wall` (real ns on the threaded engine). */
  readonly clock: 'sim' | 'wall';
  readonly strategy: Strategy;
  readonly memoryBytes: number;
  readonly vcpus: number;
  readonly pageSize: PageSize;
  /** Time until the workload completed (ns, simulated), the pre-fault included when it came first. */
  readonly totalNs: number;
  /** When the pre-fault phase ended (ns from the start; null for lazy). */
  readonly prefaultNs: number | null;
  readonly exits: number;
  readonly faultsByRet: Record<string, number>;
  readonly retriesByReason: Record<string, number>;
  /** Time spent waiting for mmu_lock (sim); on the wall clock, null (the threaded engine counts waits, not their time). */
  readonly lockWaitNs: number | null;
  /** Times a fault or zap found mmu_lock taken and waited. */
  readonly lockWaits: number;
  readonly prefaultCalls: number;
  readonly prefaultPages: number;
  /** Pre-fault calls that returned an error, by errno (EAGAIN and ENOENT under memslot churn). */
  readonly prefaultErrnos: Record<string, number>;
  readonly pageTableBytes: number;
  readonly accesses: number;
  readonly steps: number;
  readonly violations: string[];
  /** Wall clock with --repeat: every run's total time (ns), in run order; the metrics are the median run's. */
  readonly runsNs?: number[];
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** The ops of a point, in order, and which of them are guest access streams and pre-fault calls. */
export function pointOps(p: SimPoint): { setup: Op[]; ops: ScheduledOp[]; vcpus: number; guest: number[]; prefault: number[]; guestBytes: number; work: number } {
  const w = p.workload;
  const n = w.vcpus.length;
  const ram = w.memoryBytes;
  const page = PAGE_SIZE_BYTES[p.pageSize];
  if (ram % page !== 0) throw new RangeError(`guest memory ${ram} bytes is not a multiple of the ${p.pageSize} page size`);
  const ops: ScheduledOp[] = [];
  const guest: number[] = [];
  const prefault: number[] = [];
  const add = (actor: number, op: Op, after?: number | readonly number[]): number => {
    ops.push({ actor, op, ...(after !== undefined && (typeof after === 'number' || after.length > 0) ? { after } : {}) });
    return ops.length - 1;
  };
  const helper = p.strategy === 'prefault-concurrent' ? n : -1;
  const vcpus = helper >= 0 ? n + 1 : n;
  const host = vcpus;
  const vmm = vcpus + 1;
  const preFault = (actor: number, gpa: number, size: number, after?: number): number =>
    add(actor, { op: 'pre_fault', gpa: BigInt(gpa), size: BigInt(size), flags: 0n, untilDone: true }, after);
  // The memslots: all of RAM in one, or — under churn — low RAM (an eighth, at least one
  // page of the page size) in its own, the rest in another.
  const level = LEVEL[p.pageSize];
  const low = p.strategy === 'prefault-churn' ? Math.max(page, Math.floor(ram / 8 / page) * page) : 0;
  const lowSlot = (size: number): Op => ({ op: 'set_memslot', slot: CHURN_SLOT, gpa: 0n, size: BigInt(size), flags: 0, backingLevel: level });
  const setup: Op[] = [];
  if (low > 0) setup.push(lowSlot(low));
  if (ram > low) setup.push({ op: 'set_memslot', slot: RAM_SLOT, gpa: BigInt(low), size: BigInt(ram - low), flags: 0, backingLevel: level });

  // Before the guest runs.
  const before: number[] = [];
  switch (p.strategy) {
    case 'lazy':
    case 'prefault-concurrent':
      break;
    case 'prefault':
    case 'prefault-invalidate':
      before.push(preFault(0, 0, ram));
      break;
    case 'prefault-churn':
      // One call loop per memslot, as a VMM pre-faults its RAM blocks: ENOENT on one (the
      // slot is gone) does not stop the next.
      before.push(preFault(0, 0, low));
      if (ram > low) before.push(preFault(0, low, ram - low));
      break;
    case 'map-memory':
      before.push(add(0, { op: 'map_memory', baseGfn: 0n, nrPages: BigInt(ram / 4096), flags: 0n, source: 0n, untilDone: true }));
      break;
    case 'prefault-parallel':
      for (let v = 0; v < n; v++) {
        const start = alignUp(Math.floor((ram * v) / n), page);
        const end = v === n - 1 ? ram : alignUp(Math.floor((ram * (v + 1)) / n), page);
        if (end > start) before.push(preFault(v, start, end - start));
      }
      break;
  }
  prefault.push(...before);
  // Disturbances during the pre-fault.
  if (p.strategy === 'prefault-churn') {
    // Low RAM's memslot deleted and created again, round after round; the guest starts
    // once it is back for good (the VMM does not run vCPUs across its memory commits).
    let last = -1;
    for (let i = 0; i < CHURN_ROUNDS; i++) {
      add(vmm, lowSlot(0));
      last = add(vmm, lowSlot(low));
    }
    before.push(last);
  }
  if (p.strategy === 'prefault-invalidate') {
    const prng = new Prng((p.seed ?? 1) ^ 0x51ed270b);
    for (let i = 0; i < INVALIDATIONS; i++) add(host, { op: 'invalidate', gpa: prng.below(ram / page) * page, size: page, kind: 'migrate', prot: 'rw' });
  }
  if (helper >= 0) prefault.push(preFault(helper, 0, ram));

  // The guest: each vCPU's accesses (boot's BSP split where the APs wait for it).
  const gateAt = new Map<number, number>();
  for (const v of w.vcpus) if (v.gate !== undefined) gateAt.set(v.gate.vcpu, Math.max(gateAt.get(v.gate.vcpu) ?? -1, v.gate.index));
  const gateOp = new Map<number, number>();
  w.vcpus.forEach((v, i) => {
    // Every pre-fault that comes first, but the vCPU's own (it runs before, in program order).
    const waitFor = before.filter((b) => ops[b]!.actor !== i);
    const split = gateAt.get(i);
    if (split !== undefined && split + 1 < v.gfns.length) {
      const first = add(i, { op: 'access_stream', gfns: v.gfns.subarray(0, split + 1), kinds: v.kinds.subarray(0, split + 1) }, waitFor);
      gateOp.set(i, first);
      guest.push(first, add(i, { op: 'access_stream', gfns: v.gfns.subarray(split + 1), kinds: v.kinds.subarray(split + 1) }));
    } else {
      const only = add(i, { op: 'access_stream', gfns: v.gfns, kinds: v.kinds }, waitFor);
      gateOp.set(i, only);
      guest.push(only);
    }
  });
  // The APs' gates: after the op that holds the gating access.
  for (const [i, v] of w.vcpus.entries()) {
    if (v.gate === undefined) continue;
    const mine = guest.find((g) => ops[g]!.actor === i)!;
    const o = ops[mine]!;
    const after = [...(o.after === undefined ? [] : typeof o.after === 'number' ? [o.after] : o.after), gateOp.get(v.gate.vcpu)!];
    ops[mine] = { ...o, after };
  }
  // Layout room: RAM, and slack (the layout itself doubles the leaf tables for moves).
  // The work a point holds: guest accesses and 4K pages to pre-fault (progress, step budget).
  let work = 0;
  for (const o of ops) {
    if (o.op.op === 'access_stream') work += o.op.gfns.length;
    else if (o.op.op === 'pre_fault') work += Number(o.op.size / 4096n);
    else if (o.op.op === 'map_memory') work += Number(o.op.nrPages);
  }
  return { setup, ops, vcpus, guest, prefault, guestBytes: Math.max(ram + (16 << 20), 64 << 20), work };
}

/** Runs one point on the deterministic engine with the simulated clock. */
export function runSimPoint(p: SimPoint): SimMetrics {
  const { setup, ops, vcpus, guest, prefault, guestBytes, work } = pointOps(p);
  const onProgress = p.onProgress;
  const r = runDeterministic({
    vm: { type: 'default', vcpus, guestBytes, maxBackingLevel: LEVEL[p.pageSize] },
    setup,
    ops, scheduler: new EarliestClockScheduler(), seed: p.seed ?? 1, costModel: p.costModel ?? COST_DEFAULTS, check: 'end',
    // A 4K fault or pre-fault page is about 16 steps: the engine's default budget (for
    // scenarios) is far too small for a 64 GiB guest; this one leaves a wide margin.
    stepsMax: Math.max(STEPS_MAX, STEPS_PER_UNIT * work + 1_000_000),
    ...(onProgress !== undefined ? { onProgress: (q: RunProgress) => onProgress(Math.min(1, (q.accesses + q.preFaultPages) / Math.max(1, work))) } : {}),
  });
  return metricsOf(p, r, guest, prefault, vcpus);
}

/**
 * Runs one point on the threaded engine: every actor a worker thread, the same ops, times
 * on the wall clock (ms after the start barrier, as ns). Noisy — the model's own speed on
 * this machine, not KVM's — so it can run `repeat` times: the result is the run with the
 * median total time (the lower middle one for an even count), with every run's total in
 * `runsNs`. A run that met a violation is never hidden: it is returned at once.
 */
export async function runWallPoint(p: SimPoint, repeat = 1): Promise<SimMetrics> {
  if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`repeat must be a positive integer, got ${repeat}`);
  const runs: SimMetrics[] = [];
  for (let i = 0; i < repeat; i++) {
    const m = await runWallOnce(p);
    if (m.violations.length > 0) return repeat === 1 ? m : { ...m, runsNs: [...runs.map((r) => r.totalNs), m.totalNs] };
    runs.push(m);
  }
  if (repeat === 1) return runs[0]!;
  const median = [...runs].sort((a, b) => a.totalNs - b.totalNs)[Math.floor((repeat - 1) / 2)]!;
  return { ...median, runsNs: runs.map((r) => r.totalNs) };
}

async function runWallOnce(p: SimPoint): Promise<SimMetrics> {
  const { setup, ops, vcpus, guest, prefault, guestBytes } = pointOps(p);
  const level = LEVEL[p.pageSize];
  const { startStress } = await import('../workload/presets/index.js');
  const run = startStress({
    stress: { vcpus, memoryBytes: p.workload.memoryBytes, durationMs: null, accesses: null, workload: 'uniform', churn: {}, backingLevel: level, vmType: 'default', seed: p.seed ?? 1, writeRatio: 0 },
    script: { vm: { type: 'default', vcpus, guestBytes, maxBackingLevel: level }, setup, ops },
    scanIntervalMs: 0, watchdogMs: 30_000, kickMs: 100, warmupMs: WALL_WARMUP_MS,
  });
  const r = await run.result;
  const endMs = r.script!.opEndMs;
  const end = (list: number[]): number => latestEnd(endMs, list) * 1e6;
  const t = vcpuTotals(r.actors.filter((a) => a.actor < vcpus));
  const missing = [...guest, ...prefault].filter((i) => Number.isNaN(endMs[i]!));
  const problems = r.violations.map((v) => `${v.kind}: ${v.message}`);
  if (missing.length > 0) problems.push(`${missing.length} op(s) did not complete (run stopped: ${r.stopReason})`);
  return {
    clock: 'wall', strategy: p.strategy, memoryBytes: p.workload.memoryBytes, vcpus: p.workload.vcpus.length, pageSize: p.pageSize,
    totalNs: end(guest), prefaultNs: prefault.length > 0 ? end(prefault) : null, ...t,
    lockWaitNs: null, lockWaits: r.actors.reduce((n, a) => n + a.lockWaits, 0), pageTableBytes: r.pageTablesInUse * 4096,
    accesses: p.workload.vcpus.reduce((n, v) => n + v.gfns.length, 0), steps: r.actors.reduce((n, a) => n + a.steps, 0), violations: problems,
  };
}

function merge(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** The latest end time among `ops` (0 when none ended). */
function latestEnd(ends: readonly number[], ops: readonly number[]): number {
  return ops.reduce((m, i) => (Number.isNaN(ends[i]!) ? m : Math.max(m, ends[i]!)), 0);
}

/** What a point's vCPUs did, summed: exits, faults by outcome, retries by reason, pre-fault calls, pages and errors. */
interface VcpuCounts {
  readonly exits: number;
  readonly faultsByRet: Record<string, number>;
  readonly retriesByReason: Record<string, number>;
  readonly preFaultCalls: number;
  readonly preFaultPages: number;
  readonly preFaultErrnos: Record<string, number>;
}

function vcpuTotals(vcpus: readonly VcpuCounts[]): Pick<SimMetrics, 'exits' | 'faultsByRet' | 'retriesByReason' | 'prefaultCalls' | 'prefaultPages' | 'prefaultErrnos'> {
  const t = { exits: 0, faultsByRet: {}, retriesByReason: {}, prefaultCalls: 0, prefaultPages: 0, prefaultErrnos: {} };
  for (const a of vcpus) {
    t.exits += a.exits;
    t.prefaultCalls += a.preFaultCalls;
    t.prefaultPages += a.preFaultPages;
    merge(t.prefaultErrnos, a.preFaultErrnos);
    merge(t.faultsByRet, a.faultsByRet);
    merge(t.retriesByReason, a.retriesByReason);
  }
  return t;
}

function metricsOf(p: SimPoint, r: RunResult, guest: number[], prefault: number[], vcpus: number): SimMetrics {
  const sim = r.sim!;
  const end = (ops: number[]): number => latestEnd(sim.opEndNs, ops);
  const accesses = guest.reduce((s, i) => s + ((r.results[i] as { accesses?: number } | null)?.accesses ?? 0), 0);
  const problems = r.violations.map((v) => `${v.kind}: ${v.message}`);
  if (r.error !== null) problems.push(r.error);
  return {
    clock: 'sim', strategy: p.strategy, memoryBytes: p.workload.memoryBytes, vcpus: p.workload.vcpus.length, pageSize: p.pageSize,
    totalNs: end(guest), prefaultNs: prefault.length > 0 ? end(prefault) : null, ...vcpuTotals(r.actors.slice(0, vcpus)),
    lockWaitNs: sim.lockWaitNs.reduce((a, b) => a + b, 0), lockWaits: r.actors.reduce((n, a) => n + a.lockWaits, 0),
    pageTableBytes: poolTablesInUse(r.vm) * 4096, accesses, steps: r.steps - r.setupSteps, violations: problems,
  };
}
