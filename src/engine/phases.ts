/**
 * The two phases of a deterministic run. Setup: the scenario's setup ops (its memslots)
 * run in order on the vmm, before any other actor starts. Main: every actor, under the
 * run's scheduler, with the simulated clock starting at zero; when every actor finished
 * without a stop, the full invariant scan and the quiescence checks close the run.
 */

import { SequentialScheduler, type Scheduler } from '../sched/scheduler.js';
import { setupRuntime } from './run-build.js';
import type { RunState } from './run-state.js';
import { PhaseLoop } from './schedule-loop.js';

/** Runs the setup ops (if any) to completion; returns the steps they took. */
export function setupPhase(run: RunState): number {
  if (run.cfg.setup.length > 0) new PhaseLoop(run, [setupRuntime(run.built, run.cfg.setup)], new SequentialScheduler(), false).loop();
  return run.step;
}

/** Runs every actor under `scheduler`; returns true when all finished and nothing stopped the run. */
export function mainPhase(run: RunState, scheduler: Scheduler): boolean {
  const runtimes = run.built.runtimes;
  // Simulated time starts when the guest does: the scenario's memslot setup is before it.
  run.sim?.start();
  new PhaseLoop(run, runtimes, scheduler, true).loop();
  const completed = !run.stopped && runtimes.every((r) => r.finished);
  if (completed) {
    run.checker.atEnd();
    run.checker.stamp(0, runtimes[runtimes.length - 1]!, false, run.step);
  }
  return completed;
}
