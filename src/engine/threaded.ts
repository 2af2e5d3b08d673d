/**
 * The threaded engine: every actor — each vCPU, the host, the vmm — is a long-running task
 * in a piscina pool (threaded-pool.ts), stepping the compiled machines over one
 * SharedArrayBuffer at full speed (threaded-actor.ts), so SPTE CASes, mmu_lock and the
 * notifier counters race for real. What each actor does comes from the run's op source
 * (op-source.ts): a workload module, or a fixed script.
 *
 * The main thread never steps the model. It drains the actors' event rings into an rxjs
 * Subject (threaded-ring.ts; statistics, progress, online checks observe it), and it
 * watches (threaded-supervise.ts):
 * - quiescent points: every `scanIntervalMs` it parks all actors at step boundaries and
 *   runs the full invariant scan (threaded-scan.ts);
 * - the watchdog: deadlocks and livelocks are reported with every actor's machine state
 *   and the mmu_lock and SRCU holders, and the run is torn down, never hung
 *   (threaded-watchdog.ts);
 * - a worker that throws ends the run with the actor, its machine state and the error.
 */

import { Subject, type Observable } from 'rxjs';
import type { Violation } from '../kvm/findings.js';
import { THREADED_KICK_MS, THREADED_RING_RECORDS, THREADED_SCAN_INTERVAL_MS, THREADED_WARMUP_MS, THREADED_WATCHDOG_MS } from '../kvm/limits.js';
import { poolTablesInUse } from '../kvm/page-pool.js';
import type { Op, OpResult } from '../kvm/ops.js';
import { Vm, type VmConfig } from '../kvm/vm.js';
import { CompiledLockProtocol } from '../protocol/lock-protocol.js';
import { COMPILED, compiled } from '../protocol/machines.js';
import { buildMutations } from '../protocol/mutations.js';
import { Control, type ActorEvent } from './control.js';
import type { CoverageEntry, ScheduledOp } from './deterministic.js';
import type { EventCheck, OpSourceSpec, StagePlan } from './op-source.js';
import { runSetup } from './setup.js';
import type { StressStats } from './streams.js';
import { ActorPool } from './threaded-pool.js';
import { collectViolations, scriptEnds, sumCoverage } from './threaded-result.js';
import { EventPump } from './threaded-ring.js';
import { RunState, type StopReason } from './threaded-run.js';
import { Scanner } from './threaded-scan.js';
import { scriptBuffer, scriptSpec, type ScriptedOp } from './threaded-script.js';
import { StageKeeper, type StageResult } from './threaded-stages.js';
import { Supervisor } from './threaded-supervise.js';
import type { ActorOutcome, ActorTask } from './threaded-task.js';
import { Watchdog } from './threaded-watchdog.js';

export type { StopReason } from './threaded-run.js';
export type { StageResult } from './threaded-stages.js';

/** An op of a scripted run: its actor, and the ops (indices into the script) it must wait for — as the deterministic engine's. */
export type ThreadedScriptOp = ScheduledOp;

export interface ThreadedConfig {
  /** The VM to build, and its setup (memslots, launch finish), run before any worker starts. */
  readonly vm: VmConfig;
  readonly setup: readonly Op[];
  /**
   * What the actors run: a workload's op-source module (op-source.ts), or `script` — each
   * actor its ops in order, `after` edges across threads, until every actor is done
   * (ThreadedResult.script has when each op ended). Exactly one of the two.
   */
  readonly source?: OpSourceSpec;
  readonly script?: readonly ThreadedScriptOp[];
  /** Stop after this long (ms); null or absent: no time bound. */
  readonly durationMs?: number | null;
  /** Stop once every vCPU's source has ended (stop reason 'accesses'). */
  readonly untilVcpusDone?: boolean;
  /** Online checks over the event stream (a workload's own conformance). */
  readonly checks?: readonly EventCheck[];
  /** The stages the vCPUs go through together (a selftest's rendezvous); the run stops after the last. */
  readonly stages?: StagePlan;
  readonly mutate?: readonly string[];
  readonly skip?: readonly string[];
  /** An actor with no step (or no progress) for this long is a deadlock (livelock). Default THREADED_WATCHDOG_MS. */
  readonly watchdogMs?: number;
  /** Stop-the-world invariant scan interval; 0 = only at the end. Default THREADED_SCAN_INTERVAL_MS. */
  readonly scanIntervalMs?: number;
  /** End the run at the first violation (default true). */
  readonly stopOnViolation?: boolean;
  readonly manualDirtyLogProtect?: boolean;
  /** Records per actor ring (power of two). Default THREADED_RING_RECORDS. */
  readonly ringRecords?: number;
  /** The vmm signals a vCPU whose SRCU read lock has held up a memslot update this long (ms; 0 = never). Default THREADED_KICK_MS. */
  readonly kickMs?: number;
  /** Test hook: make one actor's worker throw after some steps. */
  readonly crash?: { readonly actor: number; readonly afterSteps: number };
  /** Before the start barrier, each vCPU's worker runs its actor loop on a private VM this long (ms; threaded-warmup.ts). */
  readonly warmupMs?: number;
}

export interface ThreadedResult {
  readonly elapsedMs: number;
  readonly stopReason: StopReason;
  /** Totals as the event streams counted them. */
  readonly stats: StressStats;
  readonly actors: ActorOutcome[];
  readonly coverage: CoverageEntry[];
  readonly violations: Violation[];
  /** Stop-the-world scans run (including the final one). */
  readonly scans: number;
  readonly scanMs: number;
  readonly setupResults: (OpResult | null)[];
  readonly events: number;
  /** A staged run: each stage (empty otherwise). */
  readonly stages: StageResult[];
  /** A scripted run: per op, when it ended (ms after the start barrier; NaN if it did not). */
  readonly script: { readonly opEndMs: number[] } | null;
  /** Page-table pages in use at the end (linked, cached or waiting for a grace period). */
  readonly pageTablesInUse: number;
}

export interface ThreadedRun {
  /** Every actor event, in drain order (per actor in order). Completes when the run ends. */
  readonly events$: Observable<ActorEvent>;
  readonly result: Promise<ThreadedResult>;
}

/** Runs a configuration on real threads. Subscribe to `events$` before awaiting `result`. */
export function startThreaded(cfg: ThreadedConfig): ThreadedRun {
  if ((cfg.source === undefined) === (cfg.script === undefined)) throw new TypeError('a threaded run takes an op source or a script, exactly one');
  const events$ = new Subject<ActorEvent>();
  const result = (async () => {
    await Promise.resolve(); // let the caller subscribe first
    try {
      return await run(cfg, events$);
    } finally {
      events$.complete();
    }
  })();
  return { events$, result };
}

async function run(cfg: ThreadedConfig, events$: Subject<ActorEvent>): Promise<ThreadedResult> {
  const mutations = buildMutations(COMPILED, cfg.mutate ?? [], cfg.skip ?? []);
  const lock = new CompiledLockProtocol(compiled('mmu-lock'), mutations);
  const vm = Vm.create(cfg.vm, lock);
  const state = new RunState(vm, Control.create(vm.layout.actors, cfg.ringRecords ?? THREADED_RING_RECORDS), lock);
  const setupResults = runSetup(vm, [...cfg.setup], mutations, state.violations);
  const work = actorWork(cfg, state.nActors);
  const checks = (cfg.checks ?? []).map((check) => check(events$, (a) => vm.actorName(a)).subscribe((v) => state.violations.push(v)));
  const pump = new EventPump(state.ctl, state.nActors, events$);
  const watchdogMs = cfg.watchdogMs ?? THREADED_WATCHDOG_MS;
  const scanner = new Scanner(state, watchdogMs, () => pump.drainAll());
  const pool = new ActorPool(state.nActors);
  const allSettled = pool.runAll(state, actorTasks(cfg, state, work.source));
  const stages = new StageKeeper(state, cfg.stages ?? null, events$);
  const supervisor = new Supervisor(state, pump, new Watchdog(state, watchdogMs), scanner, stages, {
    stopOnViolation: cfg.stopOnViolation ?? true, durationMs: cfg.durationMs ?? null, untilVcpusDone: cfg.untilVcpusDone ?? false, scanIntervalMs: cfg.scanIntervalMs ?? THREADED_SCAN_INTERVAL_MS,
  });
  await supervisor.watch(allSettled);
  for (const c of checks) c.unsubscribe();
  const stageResults = stages.results();
  await pool.destroy(state);
  collectViolations(state, scanner);
  const t0 = supervisor.t0;
  return {
    elapsedMs: performance.now() - t0, stopReason: state.stopReason ?? 'duration', stats: pump.stats,
    actors: state.outcomes.filter((o): o is ActorOutcome => o !== null), coverage: sumCoverage(state.outcomes), violations: state.violations,
    scans: scanner.scans, scanMs: scanner.scanMs, setupResults, events: pump.events, stages: stageResults, pageTablesInUse: poolTablesInUse(vm),
    script: work.script === null ? null : { opEndMs: scriptEnds(work.script.sab, work.script.nOps, t0) },
  };
}

/** The run's op source: the workload's, or the script's (its ops split by actor, a shared op-done buffer). */
function actorWork(cfg: ThreadedConfig, nActors: number): { source: OpSourceSpec; script: { sab: SharedArrayBuffer; nOps: number } | null } {
  if (cfg.script === undefined) return { source: cfg.source!, script: null };
  const perActor: ScriptedOp[][] = Array.from({ length: nActors }, () => []);
  cfg.script.forEach((o, index) => {
    if (o.actor < 0 || o.actor >= nActors) throw new RangeError(`script op ${index}: actor ${o.actor} does not exist`);
    perActor[o.actor]!.push({ index, op: o.op, ...(o.after !== undefined ? { after: o.after } : {}) });
  });
  const data = { sab: scriptBuffer(cfg.script.length), nOps: cfg.script.length };
  return { source: scriptSpec(data, perActor), script: data };
}

/** One task per actor: the shared memory, the mutations, its part of the op source. */
function actorTasks(cfg: ThreadedConfig, state: RunState, source: OpSourceSpec): ActorTask[] {
  const { vm, ctl } = state;
  const startEpochMs = performance.timeOrigin + performance.now();
  return Array.from({ length: state.nActors }, (_, actor): ActorTask => ({
    vm: { sab: vm.sharedBuffer, layout: vm.layout, type: vm.type, kernel: vm.kernel.release, disabledQuirks: vm.disabledQuirks }, ctl: { sab: ctl.sab, layout: ctl.layout }, actor, mutate: cfg.mutate ?? [], skip: cfg.skip ?? [],
    source: { module: source.module, data: source.data, ...(source.actorData !== undefined ? { actorData: source.actorData[actor] } : {}) },
    startEpochMs, manualDirtyLogProtect: cfg.manualDirtyLogProtect ?? false, kickMs: cfg.kickMs ?? THREADED_KICK_MS, warmupMs: cfg.warmupMs ?? THREADED_WARMUP_MS,
    ...(cfg.crash !== undefined && cfg.crash.actor === actor ? { crashAfterSteps: cfg.crash.afterSteps } : {}),
  }));
}
