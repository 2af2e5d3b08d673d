/**
 * Worker entry of the threaded engine: piscina runs one task per actor (vCPU, host, vmm)
 * for the whole run. The task is the actor loop of src/engine/threaded-actor.ts.
 */

import { runActor, type ActorOutcome, type ActorTask } from '../src/engine/threaded-actor.js';

export default function actor(task: ActorTask): ActorOutcome {
  return runActor(task);
}
