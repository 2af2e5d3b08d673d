/**
 * What a deterministic run is given and what it returns: the scenario's ops per actor, the
 * scheduler and checking options, and the result (op results, violations, coverage, the
 * actors' counters, the recorded choices and footprints, the simulated clock).
 */

import type { Violation } from '../kvm/findings.js';
import type { Op, OpResult } from '../kvm/ops.js';
import type { Vm, VmConfig } from '../kvm/vm.js';
import type { StepFootprint } from '../kvm/shm.js';
import type { Mutations } from '../protocol/mutations.js';
import type { RunnerKind } from '../protocol/runner.js';
import type { Scheduler, SchedulerName } from '../sched/scheduler.js';
import type { StepRecord } from './actor-runtime.js';
import type { CostModel } from './cost-model.js';
import type { ActorCounters } from './counters.js';

export interface ScheduledOp {
  /** Actor index: 0..vcpus-1, vcpus = host, vcpus + 1 = vmm. */
  readonly actor: number;
  readonly op: Op;
  /** The op (or ops, of other actors) that must have completed before this one starts. */
  readonly after?: number | readonly number[];
}

export interface RunConfig {
  readonly vm: VmConfig;
  /** Ops run by the vmm, in order, before any other actor starts (the scenario's memslots). */
  readonly setup: readonly Op[];
  readonly ops: readonly ScheduledOp[];
  readonly scheduler: SchedulerName | Scheduler;
  readonly seed: number;
  readonly mutations?: Mutations;
  readonly runner?: RunnerKind;
  /**
   * 'step' (default): after every step, the SPTEs it wrote — and every SPTE whenever the
   * state epoch moved (host mapping, attributes, memslots, dirty bits, invalidation end),
   * which makes it equivalent to a full scan per step; 'full': the full scan after every
   * step (slow, for cross-checking); 'end': only at the end.
   */
  readonly check?: 'step' | 'full' | 'end';
  /** Keep every step's record (for traces). */
  readonly trace?: boolean;
  /** Stop at the first violation (default true). */
  readonly stopOnViolation?: boolean;
  readonly stepsMax?: number;
  /** Reaching stepsMax is a livelock finding (an exploration's schedule), not a run error. */
  readonly stepsMaxIsLivelock?: boolean;
  /** Record every choice as a labelled step (RunResult.choices), for tokens and replay. */
  readonly recordChoices?: boolean;
  /**
   * Record each main-phase step's footprint — the shared words it read and wrote
   * (RunResult.footprints) — for partial-order reduction and causal trace slices.
   * Implied by a scheduler that `wantsFootprints`.
   */
  readonly footprints?: boolean;
  /**
   * Run a simulated clock with this cost model (cost-model.ts): each actor's clock advances
   * by what its steps cost; waits resume at the releasing step's end (RunResult.sim).
   */
  readonly costModel?: CostModel;
  /**
   * The scheduler-free fast path (default true): while one actor alone can run, its steps
   * skip the scan (and a forced scheduler's call), and with nothing watching single steps
   * run to completion in one loop. A run is the same with it off — tests compare both.
   */
  readonly fastPath?: boolean;
  /** Called every PROGRESS_EVERY steps of the main phase with what the actors have done so far (long benchmark runs show it). */
  readonly onProgress?: (p: RunProgress) => void;
}

/** How far a run has got: steps taken, guest accesses done and pages pre-faulted, over all actors. */
export interface RunProgress {
  readonly steps: number;
  readonly accesses: number;
  readonly preFaultPages: number;
}

/** The simulated clock's outcome: per actor, its clock, time spent waiting, and waiting for mmu_lock (ns). */
export interface SimClockResult {
  readonly clocks: number[];
  readonly waitNs: number[];
  readonly lockWaitNs: number[];
  /** The latest clock: when the run ended in simulated time. */
  readonly timeNs: number;
  /** Per op (scenario order): the simulated time its last step ended (NaN if it never completed). */
  readonly opEndNs: number[];
}

export interface CoverageEntry {
  readonly machine: string;
  readonly transition: string;
  readonly count: number;
}

/** An actor at the end of a deterministic run: where its machine stood, its steps, and its counters. */
export interface ActorSummary extends ActorCounters {
  readonly actor: string;
  readonly state: string;
  readonly steps: number;
}

export interface RunResult {
  readonly setupResults: (OpResult | null)[];
  readonly results: (OpResult | null)[];
  readonly violations: Violation[];
  readonly steps: number;
  /** Every actor finished (no violation stopped the run early). */
  readonly completed: boolean;
  readonly coverage: CoverageEntry[];
  readonly actors: ActorSummary[];
  readonly trace: StepRecord[];
  readonly vm: Vm;
  /** Set when the run stopped for a reason other than a violation (step limit). */
  readonly error: string | null;
  /** With `recordChoices`: the label of every step of the main phase, in order. */
  readonly choices: string[];
  /** Steps the setup phase (the scenario's memslots) took before the main phase. */
  readonly setupSteps: number;
  /** With `footprints`: each main-phase step's footprint, in step order. */
  readonly footprints: StepFootprint[];
  /** The scheduler abandoned the run (a sleep-set-blocked DFS branch: it would only repeat explored interleavings). */
  readonly abandoned: boolean;
  /** With a cost model: the simulated clock. */
  readonly sim: SimClockResult | null;
}
