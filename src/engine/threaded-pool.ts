/**
 * The threaded engine's workers: a piscina pool with one thread per actor for the whole
 * run (minThreads = maxThreads = actors, never idled out), one long task each. A task
 * that returns leaves its actor's outcome; one that throws is a finding — the actor, its
 * machine state and the error — that tears the run down; a pool error is reported too.
 */

import { Piscina } from 'piscina';
import { AST } from './control.js';
import { describeFrames } from './threaded-frames.js';
import type { RunState } from './threaded-run.js';
import type { ActorOutcome, ActorTask } from './threaded-task.js';

const WORKER_FILE = new URL('../../workers/actor.js', import.meta.url);

export class ActorPool {
  private readonly pool: Piscina;
  private readonly errors: Error[] = [];

  constructor(actors: number) {
    this.pool = new Piscina({ filename: WORKER_FILE.href, minThreads: actors, maxThreads: actors, idleTimeout: Infinity, concurrentTasksPerWorker: 1, maxQueue: 0 });
    this.pool.on('error', (e: Error) => this.errors.push(e));
  }

  /** Starts every actor's task; resolves once all have ended, their outcomes (or failures) in `run`. */
  runAll(run: RunState, tasks: readonly ActorTask[]): Promise<void> {
    return Promise.all(tasks.map((task) => (this.pool.run(task) as Promise<ActorOutcome>).then(
      (o) => { run.outcomes[task.actor] = o; run.settled[task.actor] = true; },
      (e: unknown) => { run.settled[task.actor] = true; actorThrew(run, task.actor, e); },
    ))).then(() => undefined);
  }

  /** Ends the threads; pool errors seen during the run become findings. */
  async destroy(run: RunState): Promise<void> {
    await this.pool.destroy();
    for (const e of this.errors) run.violations.push({ kind: 'actor-error', actors: [], step: -1, message: `worker pool error: ${e.message}` });
  }
}

function actorThrew(run: RunState, actor: number, e: unknown): void {
  const err = e as Error & { state?: string };
  const name = run.actorName(actor);
  const where = err.state === undefined ? ` (machine state: ${describeFrames(run.ctl, actor)})` : '';
  run.fail({ kind: 'actor-error', actors: [name], step: run.read(actor, AST.STEPS), message: `${name}'s worker threw: ${err.message ?? String(e)}${where}` }, 'actor-error');
}
