/**
 * One actor of the threaded engine, as its worker thread runs it: the same ActorRuntime,
 * compiled machines and model code as the deterministic engine, stepped as fast as the
 * thread goes, over the VM's SharedArrayBuffer — set up (threaded-actor-setup.ts),
 * optionally warmed up (threaded-warmup.ts), started at the run's barrier, stepped
 * (threaded-actor-loop.ts), and summed up as its outcome.
 */

import { ACTOR_CONTROL_WAIT_MS } from '../kvm/limits.js';
import { COMPILED } from '../protocol/machines.js';
import { ACTOR_STATUS, CTL, type Control } from './control.js';
import { countersOf } from './counters.js';
import type { OpSourceFactory } from './op-source.js';
import { ActorLoop } from './threaded-actor-loop.js';
import { setUpActor, type ActorParts } from './threaded-actor-setup.js';
import type { ActorOutcome, ActorTask } from './threaded-task.js';
import { warmUp } from './threaded-warmup.js';

export type { ActorOutcome, ActorTask } from './threaded-task.js';

/** Runs one actor until the run stops (or its workload ends); its ops from `createSource`. */
export function runActor(task: ActorTask, createSource: OpSourceFactory): ActorOutcome {
  const t0 = performance.now();
  const p = setUpActor(task, createSource);
  if ((task.warmupMs ?? 0) > 0 && task.actor < p.vm.vcpus) warmUp(task, p.mutations, runActor);
  awaitStart(p.ctl);
  const loopStart = performance.now();
  const loopStartMs = p.now();
  const loop = new ActorLoop(p);
  try {
    loop.run();
  } catch (e) {
    p.frames.publish();
    loop.setStatus(ACTOR_STATUS.CRASHED);
    const err = e instanceof Error ? e : new Error(String(e));
    const state = p.rt.describeState();
    throw Object.assign(new Error(`${p.rt.a.name} in ${state}: ${err.message}`), { actor: task.actor, state, cause: err.message });
  }
  p.frames.publish();
  loop.setStatus(ACTOR_STATUS.DONE);
  return outcome(p, loop.steps, { elapsedMs: performance.now() - t0, loopMs: performance.now() - loopStart, loopStartMs, loopEndMs: p.now() });
}

/** The start barrier: ready, then wait until the engine lets every actor go together (worker start-up differs by tens of ms). */
function awaitStart(ctl: Control): void {
  Atomics.add(ctl.i32, CTL.READY, 1);
  while (Atomics.load(ctl.i32, CTL.GO) === 0 && !ctl.aborted) Atomics.wait(ctl.i32, CTL.GO, 0, ACTOR_CONTROL_WAIT_MS);
}

type Timing = Pick<ActorOutcome, 'elapsedMs' | 'loopMs' | 'loopStartMs' | 'loopEndMs'>;

/** What the worker returns: counters, coverage per machine (mmu-lock's from the lock protocol), violations, timing. */
function outcome(p: ActorParts, steps: number, timing: Timing): ActorOutcome {
  const cov: Record<string, number[]> = {};
  for (const m of COMPILED) cov[m.id] = Array.from(m.id === 'mmu-lock' ? p.lock.fired : p.coverage.get(m.id)!);
  return {
    actor: p.task.actor, name: p.rt.a.name, steps, ...countersOf(p.rt.a.stats),
    opsDone: p.queue.opsDone, violations: p.violations.list, violationsDropped: p.violations.dropped, coverage: cov, state: p.rt.describeState(),
    ...timing,
  };
}
