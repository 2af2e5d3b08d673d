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
 *   populate             RAM written before the guest runs (MAP_POPULATE, QEMU's
 *                        -mem-prealloc), then as `prefault`
 *   populate-lazy        RAM written before the guest runs, then as `lazy`
 *
 * Host memory (`hostMemory`): a pre-fault is a read fault. On anonymous memory (QEMU's
 * default) it maps the zero page read-only, and each first write still exits and breaks
 * CoW (an MMU-notifier invalidation in the vCPU's context, then a retried fault); shared
 * memory and hugetlbfs allocate on the read and map writable; populated memory is
 * already written, so the read maps it writable. Populating is not free: its time (one
 * host fault per host page, and zeroing every 4K, from the cost model) is `populateNs`,
 * part of the total.
 *
 * What each run measures: the time until the workload completes (the latest end of a
 * guest vCPU's accesses) — which includes the pre-fault when it comes first —, EPT-violation
 * exits, CoW breaks, faults by RET_PF outcome, retries by reason, time spent waiting for
 * mmu_lock, the pre-fault's own time, calls and pages, and the page-table memory in use at
 * the end.
 */

import { runDeterministic, type RunProgress, type RunResult } from '../engine/deterministic.js';
import { STEPS_MAX } from '../kvm/limits.js';
import { COST_DEFAULTS, type CostModel } from '../engine/cost-model.js';
import type { HostMemory } from '../kvm/host.js';
import { sumCounters, type ActorCounters } from '../engine/counters.js';
import { poolTablesInUse } from '../kvm/page-pool.js';
import { EarliestClockScheduler } from '../sched/scheduler.js';
import { PAGE_LEVEL, pointOps, type PageSize, type SimPoint, type Strategy } from './point-ops.js';

export { PAGE_SIZES, STRATEGIES, pointOps, type PageSize, type PointOps, type SimPoint, type Strategy } from './point-ops.js';

/** Each vCPU thread of a wall-clock run first runs the model on a private VM this long (engine warm-up). */
const WALL_WARMUP_MS = 500;
/** Step budget per unit of work (access or 4K page to pre-fault): four times what one takes. */
const STEPS_PER_UNIT = 64;

export interface SimMetrics {
  /** Which clock the times are on: `sim` (virtual ns of the cost model) or `wall` (real ns on the threaded engine). */
  readonly clock: 'sim' | 'wall';
  readonly strategy: Strategy;
  readonly memoryBytes: number;
  readonly vcpus: number;
  readonly pageSize: PageSize;
  readonly hostMemory: HostMemory;
  /** Time until the workload completed (ns), the populate and the pre-fault included when they came first. */
  readonly totalNs: number;
  /** The populate strategies: writing all of RAM before the guest runs (ns, from the cost model; null on the wall clock and without populate). */
  readonly populateNs: number | null;
  /** When the pre-fault phase ended (ns from the start; null for lazy). */
  readonly prefaultNs: number | null;
  readonly exits: number;
  /** Zero-page CoW breaks by the guest's write faults (anonymous memory only). */
  readonly cowBreaks: number;
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

/** Runs one point on the deterministic engine with the simulated clock. */
export function runSimPoint(p: SimPoint): SimMetrics {
  const { setup, ops, vcpus, guest, prefault, guestBytes, work } = pointOps(p);
  const onProgress = p.onProgress;
  const r = runDeterministic({
    vm: { type: 'default', vcpus, guestBytes, maxBackingLevel: PAGE_LEVEL[p.pageSize], ...(p.kernel !== undefined ? { kernel: p.kernel } : {}) },
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
  const level = PAGE_LEVEL[p.pageSize];
  const { startStress } = await import('../workload/presets/index.js');
  const run = startStress({
    stress: { vcpus, memoryBytes: p.workload.memoryBytes, durationMs: null, accesses: null, workload: 'uniform', churn: {}, backingLevel: level, vmType: 'default', seed: p.seed ?? 1, writeRatio: 0 },
    script: { vm: { type: 'default', vcpus, guestBytes, maxBackingLevel: level, ...(p.kernel !== undefined ? { kernel: p.kernel } : {}) }, setup, ops },
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
    clock: 'wall', strategy: p.strategy, memoryBytes: p.workload.memoryBytes, vcpus: p.workload.vcpus.length, pageSize: p.pageSize, hostMemory: p.hostMemory ?? 'anonymous',
    totalNs: end(guest), populateNs: null, prefaultNs: prefault.length > 0 ? end(prefault) : null, ...t,
    lockWaitNs: null, lockWaits: r.actors.reduce((n, a) => n + a.lockWaits, 0), pageTableBytes: r.pageTablesInUse * 4096,
    accesses: p.workload.vcpus.reduce((n, v) => n + v.gfns.length, 0), steps: r.actors.reduce((n, a) => n + a.steps, 0), violations: problems,
  };
}

/**
 * What writing all of RAM before the guest costs (the populate strategies; null for the
 * others): one host page fault per host page (hostAlloc) and zeroing every 4K
 * (hostZero4k) — what the simulated clock charges a first touch, made by the VMM before
 * time zero. On the simulated clock the populate then comes first in the total.
 */
function populateCostNs(p: SimPoint, model: CostModel): number | null {
  if (p.strategy !== 'populate' && p.strategy !== 'populate-lazy') return null;
  const bytes = p.workload.memoryBytes;
  const hostPageBytes = p.pageSize === '4K' ? 4096 : p.pageSize === '2M' ? 2 << 20 : 1 << 30;
  return (bytes / hostPageBytes) * model.hostAlloc + (bytes / 4096) * model.hostZero4k;
}

/** The latest end time among `ops` (0 when none ended). */
function latestEnd(ends: readonly number[], ops: readonly number[]): number {
  return ops.reduce((m, i) => (Number.isNaN(ends[i]!) ? m : Math.max(m, ends[i]!)), 0);
}

/** What a point's vCPUs did, summed: exits, faults by outcome, retries by reason, pre-fault calls, pages and errors. */
function vcpuTotals(vcpus: readonly ActorCounters[]): Pick<SimMetrics, 'exits' | 'cowBreaks' | 'faultsByRet' | 'retriesByReason' | 'prefaultCalls' | 'prefaultPages' | 'prefaultErrnos'> {
  const t = sumCounters(vcpus);
  return { exits: t.exits, cowBreaks: t.cowBreaks, faultsByRet: t.faultsByRet, retriesByReason: t.retriesByReason, prefaultCalls: t.preFaultCalls, prefaultPages: t.preFaultPages, prefaultErrnos: t.preFaultErrnos };
}

function metricsOf(p: SimPoint, r: RunResult, guest: number[], prefault: number[], vcpus: number): SimMetrics {
  const sim = r.sim!;
  const end = (ops: number[]): number => latestEnd(sim.opEndNs, ops);
  const accesses = guest.reduce((s, i) => s + ((r.results[i] as { accesses?: number } | null)?.accesses ?? 0), 0);
  const problems = r.violations.map((v) => `${v.kind}: ${v.message}`);
  if (r.error !== null) problems.push(r.error);
  const populateNs = populateCostNs(p, p.costModel ?? COST_DEFAULTS);
  return {
    clock: 'sim', strategy: p.strategy, memoryBytes: p.workload.memoryBytes, vcpus: p.workload.vcpus.length, pageSize: p.pageSize, hostMemory: p.hostMemory ?? 'anonymous',
    totalNs: (populateNs ?? 0) + end(guest), populateNs, prefaultNs: prefault.length > 0 ? (populateNs ?? 0) + end(prefault) : null, ...vcpuTotals(r.actors.slice(0, vcpus)),
    lockWaitNs: sim.lockWaitNs.reduce((a, b) => a + b, 0), lockWaits: r.actors.reduce((n, a) => n + a.lockWaits, 0),
    pageTableBytes: poolTablesInUse(r.vm) * 4096, accesses, steps: r.steps - r.setupSteps, violations: problems,
  };
}
