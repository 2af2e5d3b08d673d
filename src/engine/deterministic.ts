/**
 * The deterministic engine: every actor (vCPUs, host, vmm) in one thread, over the same
 * shared-memory layout and compiled machines as the threaded engine; a scheduler chooses
 * whose step runs next. After every step the invariants of src/check are evaluated; a
 * violation is stamped with the step, actor and transition that revealed it.
 *
 * Waiting is explicit: a step that cannot proceed names the shared word it waits on; the
 * actor is not scheduled again until some other step changes that word. All actors
 * waiting is a deadlock; a fault that keeps retrying while nothing else can run is a
 * livelock. The same configuration and seed always give the same run.
 *
 * The pieces: run-build.ts (the VM and runtimes), phases.ts (setup, then main),
 * schedule-loop.ts (the loop), step-check.ts (invariants), liveness.ts (deadlock and
 * livelock), sim-clock.ts (the cost model's clock), coverage.ts and run-result.ts.
 */

import { withSingleThreadAccess } from '../kvm/shm.js';
import { Prng } from '../sched/prng.js';
import { createScheduler } from '../sched/scheduler.js';
import { mainPhase, setupPhase } from './phases.js';
import { buildRun } from './run-build.js';
import { runResult } from './run-result.js';
import { RunState } from './run-state.js';
import type { RunConfig, RunResult } from './run-types.js';

export type { ActorSummary, CoverageEntry, RunConfig, RunProgress, RunResult, ScheduledOp, SimClockResult } from './run-types.js';

/** Runs a configuration to completion (or to the first violation) and returns what happened. */
export function runDeterministic(cfg: RunConfig): RunResult {
  // One thread owns the VM for the whole (synchronous) run: plain accesses (docs/model.md).
  return withSingleThreadAccess(() => runOwned(cfg));
}

function runOwned(cfg: RunConfig): RunResult {
  const built = buildRun(cfg);
  const scheduler = typeof cfg.scheduler === 'string' ? createScheduler(cfg.scheduler, new Prng(cfg.seed)) : cfg.scheduler;
  const run = new RunState(cfg, built);
  const setupSteps = setupPhase(run);
  const completed = mainPhase(run, scheduler);
  return runResult(run, setupSteps, completed);
}
