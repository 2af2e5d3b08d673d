/**
 * A deterministic run's result, built when it ends: the ops' results, the findings, the
 * coverage, each actor's summary (machine state, steps, counters), what was recorded, and
 * the simulated clock.
 */

import type { ActorRuntime } from './actor-runtime.js';
import { countersOf } from './counters.js';
import { coverageEntries } from './coverage.js';
import type { StepFootprint } from '../kvm/shm.js';
import type { RunState } from './run-state.js';
import type { ActorSummary, RunResult } from './run-types.js';

/** An actor at the end of the run: where its machine stood, its steps, and its counters. */
export function summarize(rt: ActorRuntime): ActorSummary {
  return { actor: rt.a.name, state: rt.describeState(), steps: rt.progressSteps, ...countersOf(rt.a.stats) };
}

export function runResult(run: RunState, setupSteps: number, completed: boolean): RunResult {
  const b = run.built;
  return {
    setupResults: b.setupResults, results: [...b.results], violations: b.collector.violations, steps: run.step, completed,
    coverage: coverageEntries(b.coverage, b.lock.fired), actors: b.runtimes.map(summarize), trace: run.trace, vm: b.vm, error: run.error,
    choices: run.choices.labels(), setupSteps, footprints: run.footprints.map(plainFootprint), abandoned: run.abandoned, sim: run.sim === null ? null : run.sim.result(),
  };
}

/** A footprint as plain data (a recorded one views the recorder's chunk until read: shm.ts). */
function plainFootprint(f: StepFootprint): StepFootprint {
  return { reads: f.reads.slice(), writes: f.writes.slice() };
}
