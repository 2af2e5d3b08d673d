/**
 * A deterministic run's configuration run many times from one setup: the VM is built and
 * the scenario's setup ops (its memslots) run once; then the VM and everything the engine
 * keeps outside it are snapshotted, and each run restores that state — the SAB's pages in
 * use (vm-snapshot.ts), the SPTE provenance of the tables written since, the coverage and
 * lock counters, the collector, the setup's results, and the run state's step count,
 * checker epoch, liveness count and trace — and runs only the main phase, with the
 * runtimes, op queues and results built at the first run and reset in place for each
 * (run-build.ts, ReusedRuns). The result is the one a fresh build would give with the same
 * scheduler, step for step (test/race/snapshot.test.ts compares them).
 *
 * A run's result shares the VM with the next run: read its `vm` before running another.
 */

import type { SpteWrittenMap } from '../check/invariants.js';
import type { Violation } from '../kvm/findings.js';
import type { OpResult } from '../kvm/ops.js';
import { VmSnapshot } from '../kvm/vm-snapshot.js';
import type { Scheduler } from '../sched/scheduler.js';
import type { StepRecord } from './actor-runtime.js';
import { mainPhase, setupPhase } from './phases.js';
import { buildRun, ReusedRuns, type RunParts } from './run-build.js';
import { runResult } from './run-result.js';
import { RunState } from './run-state.js';
import { ChoiceLog } from './choice-labels.js';
import { coverageArrays } from './coverage.js';
import type { RunConfig, RunResult } from './run-types.js';

/** The engine's state after the setup phase, outside the VM. */
interface AfterSetup {
  readonly setupSteps: number;
  readonly stopped: boolean;
  readonly error: string | null;
  readonly trace: readonly StepRecord[];
  readonly epochSeen: number;
  readonly productive: number;
  readonly violations: readonly Violation[];
  /** The coverage counters (the lock protocol's included), parallel to RunSnapshot.coverageStores. */
  readonly coverage: readonly Uint32Array[];
}

/** One run as an exploration reads it (its arrays are live: valid until the next run). */
export interface ScheduleRun {
  readonly steps: number;
  readonly violations: readonly Violation[];
  readonly choices: readonly string[];
  /** Per machine in coverage-entry order (coverage.ts), how often each transition fired, setup included. */
  readonly coverage: readonly ArrayLike<number>[];
  /** The run's full result (built when asked). */
  result(): RunResult;
}

/** Whether a configuration can run from a snapshot (the simulated clock's state is not snapshotted: those run fresh). */
export function snapshotable(cfg: RunConfig): boolean {
  return cfg.costModel === undefined;
}

export class RunSnapshot {
  private readonly parts: RunParts;
  private readonly vmSnap: VmSnapshot;
  private readonly saved: AfterSetup;
  /** The main phase's runtimes, built at the first run and reset in place for each. */
  private reused: ReusedRuns | null = null;
  /** The live coverage counters, in coverage-entry order. */
  private readonly coverageArrays: readonly Uint32Array[];
  /** The same counters as the spans of memory that hold them (one per buffer: the actors' share one, machine-set.ts). */
  private readonly coverageStores: readonly Uint32Array[];
  /** The choices of the run in progress (each run records into it anew). */
  private readonly choices = new ChoiceLog();
  /** The setup's results, one list every run shares (nothing writes them after the setup phase). */
  private readonly setupResults: (OpResult | null)[];

  /** Builds the run of `cfg`, runs its setup and snapshots it (cfg's scheduler and seed are not used: each run() names its scheduler). */
  constructor(private readonly cfg: RunConfig) {
    if (!snapshotable(cfg)) throw new Error('a run with a cost model cannot run from a snapshot');
    const built = buildRun(cfg);
    const run = new RunState(cfg, built);
    const setupSteps = setupPhase(run);
    this.parts = built;
    this.vmSnap = new VmSnapshot(built.vm);
    built.provenance.snapshot();
    this.coverageArrays = coverageArrays(built.coverage, built.lock.fired);
    this.coverageStores = storesOf(this.coverageArrays);
    this.saved = {
      setupSteps, stopped: run.stopped, error: run.error, trace: [...run.trace], epochSeen: run.checker.epochSeen, productive: run.liveness.productive,
      violations: built.collector.violations.map(copyViolation),
      coverage: this.coverageStores.map((c) => c.slice()),
    };
    this.setupResults = [...built.setupResults];
  }

  /** One run of the main phase under `scheduler`, from the state after setup. */
  run(scheduler: Scheduler): RunResult {
    return this.schedule(scheduler).result();
  }

  /**
   * One run of the main phase under `scheduler`, as an exploration reads it: its steps,
   * findings, choices and coverage counters, and the full result built only on request
   * (each valid until the next run).
   */
  schedule(scheduler: Scheduler): ScheduleRun {
    const { run, completed } = this.runMain(scheduler);
    return new SnapshotRun(run, this.saved.setupSteps, completed, this.coverageArrays);
  }

  private runMain(scheduler: Scheduler): { run: RunState; completed: boolean } {
    const s = this.saved;
    const p = this.parts;
    this.vmSnap.restore();
    p.provenance.restore();
    for (let i = 0; i < s.coverage.length; i++) this.coverageStores[i]!.set(s.coverage[i]!);
    const built = (this.reused ??= new ReusedRuns(this.cfg, p)).next(this.setupResults);
    for (const v of s.violations) built.collector.violations.push(copyViolation(v));
    const run = new RunState(this.cfg, built, this.choices);
    run.step = s.setupSteps;
    run.stopped = s.stopped;
    run.error = s.error;
    if (s.trace.length !== 0) run.trace.push(...s.trace);
    run.checker.epochSeen = s.epochSeen;
    run.liveness.productive = s.productive;
    const completed = mainPhase(run, scheduler);
    return { run, completed };
  }

  /** Which SPTEs may be present (the provenance's written bitmaps; tests compare the scans). */
  provenanceMap(): SpteWrittenMap {
    return this.parts.provenance;
  }

  /** The first byte where the VM differs from its snapshot after a restore, or -1 (tests). */
  restoredDifference(): number {
    this.vmSnap.restore();
    return this.vmSnap.firstDifference();
  }
}

/** A run from the snapshot as an exploration reads it (its labels made only when read: a token for a schedule that found something). */
class SnapshotRun implements ScheduleRun {
  readonly steps: number;
  readonly violations: readonly Violation[];

  constructor(private readonly run: RunState, private readonly setupSteps: number, private readonly completed: boolean, readonly coverage: readonly Uint32Array[]) {
    this.steps = run.step;
    this.violations = run.built.collector.violations;
  }

  get choices(): readonly string[] {
    return this.run.choices.labels();
  }

  result(): RunResult {
    return runResult(this.run, this.setupSteps, this.completed);
  }
}

/** Per buffer the views of `arrays` lie in, the span from the first view's start to the last one's end. */
function storesOf(arrays: readonly Uint32Array[]): Uint32Array[] {
  const spans = new Map<ArrayBufferLike, { start: number; end: number }>();
  for (const a of arrays) {
    const s = spans.get(a.buffer);
    const end = a.byteOffset + a.byteLength;
    if (s === undefined) spans.set(a.buffer, { start: a.byteOffset, end });
    else { s.start = Math.min(s.start, a.byteOffset); s.end = Math.max(s.end, end); }
  }
  return [...spans].map(([buffer, s]) => new Uint32Array(buffer, s.start, (s.end - s.start) >> 2));
}

/** A finding as reported (the engine stamps its step, actors and transition in place). */
function copyViolation(v: Violation): Violation {
  return { ...v, actors: [...v.actors] };
}
