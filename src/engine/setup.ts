/**
 * A VM's setup ops (its memslots, launch finish) run to completion on the vmm actor, on the
 * calling thread, before any other actor starts: what the threaded engine does before it
 * starts its workers, and what a worker's warm-up does on its private VM.
 */

import type { Violation } from '../kvm/findings.js';
import type { Op, OpResult } from '../kvm/ops.js';
import type { Vm } from '../kvm/vm.js';
import type { Mutations } from '../protocol/mutations.js';
import { ActorQueue, ActorRuntime } from './actor-runtime.js';
import { coverageCounters, runnerFactory } from './machine-set.js';

/** Steps a setup may take before it is taken for a loop (a memslot op takes tens). */
const SETUP_STEPS_MAX = 10_000_000;

/** Runs `setup` on the vmm actor and returns what each op returned; throws when a step would block or an op fails (a setup has nothing to wait for). */
export function runSetup(vm: Vm, setup: readonly Op[], mutations: Mutations, violations: Violation[]): (OpResult | null)[] {
  const results: (OpResult | null)[] = setup.map(() => null);
  const queue = new ActorQueue(setup.map((op, index) => ({ index, op })), results);
  const rt = new ActorRuntime(vm, vm.layout.vmmActor, queue, { report: (v) => violations.push(v) }, runnerFactory('compiled', mutations), coverageCounters(), new Map(), []);
  let guard = 0;
  while (!rt.finished && guard++ < SETUP_STEPS_MAX) {
    if (rt.waiting && !rt.wakeIfChanged()) throw new Error('setup blocked: nothing else runs yet');
    rt.step(guard, () => {});
  }
  const bad = results.find((r) => r !== null && 'errno' in r && r.errno !== null);
  if (bad) throw new Error(`stress setup failed: ${JSON.stringify(bad)}`);
  return results;
}
