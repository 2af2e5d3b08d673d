/**
 * A deterministic run in progress: what was built for it, the checkers that watch it
 * (invariants, liveness, the simulated clock), and where it stands — the step count,
 * whether and why it stopped, and what it records (choices, footprints, trace).
 */

import type { StepFootprint } from '../kvm/shm.js';
import type { StepRecord } from './actor-runtime.js';
import { ChoiceLog } from './choice-labels.js';
import { Liveness } from './liveness.js';
import type { BuiltRun } from './run-build.js';
import type { RunConfig } from './run-types.js';
import { SimClock } from './sim-clock.js';
import { StepChecker } from './step-check.js';

export class RunState {
  /** Steps taken so far (setup phase included): the next step's number. */
  step = 0;
  stopped = false;
  /** Why the run stopped other than a violation (the step limit). */
  error: string | null = null;
  /** The scheduler abandoned the run. */
  abandoned = false;
  /** The recorded choices, as label numbers (choice-labels.ts). */
  readonly choices: ChoiceLog;
  readonly footprints: StepFootprint[] = [];
  readonly trace: StepRecord[] = [];
  readonly checker: StepChecker;
  readonly liveness: Liveness;
  /** With a cost model: the simulated clock. */
  readonly sim: SimClock | null;

  /** `choices`: a log to record into, emptied (a snapshot's runs share one). */
  constructor(readonly cfg: RunConfig, readonly built: BuiltRun, choices?: ChoiceLog) {
    const b = built;
    if (choices !== undefined) choices.clear();
    this.choices = choices ?? new ChoiceLog();
    this.checker = new StepChecker(b.vm, b.provenance, b.prov, b.collector, cfg.check ?? 'step', cfg.stopOnViolation ?? true, b.contract);
    this.liveness = new Liveness(b.runtimes, b.collector);
    const model = cfg.costModel ?? null;
    this.sim = model !== null ? new SimClock(model, b.vm, b.vm.layout.actors, cfg.ops.length) : null;
  }
}
