/**
 * Worker entry of the threaded engine: piscina runs one task per actor (vCPU, host, vmm)
 * for the whole run. The task names its op source by module (src/engine/op-source.ts):
 * the worker imports that module once and hands its `createOpSource` to the actor loop of
 * src/engine/threaded-actor.ts.
 */

import type { OpSourceFactory } from '../src/engine/op-source.js';
import { runActor, type ActorOutcome, type ActorTask } from '../src/engine/threaded-actor.js';

const factories = new Map<string, Promise<OpSourceFactory>>();

/** The module's `createOpSource`, imported once per worker. */
function factoryOf(module: string): Promise<OpSourceFactory> {
  let f = factories.get(module);
  if (f === undefined) {
    f = import(module).then((m: { createOpSource?: OpSourceFactory }) => {
      if (typeof m.createOpSource !== 'function') throw new Error(`op-source module ${module} exports no createOpSource`);
      return m.createOpSource;
    });
    factories.set(module, f);
  }
  return f;
}

export default async function actor(task: ActorTask): Promise<ActorOutcome> {
  return runActor(task, await factoryOf(task.source.module));
}
