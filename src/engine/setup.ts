/**
 * A VM's setup ops (its memslots, launch finish) run to completion on the vmm actor, on the
 * calling thread, before any other actor starts: what the threaded engine does before it
 * starts its workers, and what a worker's warm-up does on its private VM.
 */

import type { Violation } from '../kvm/findings.js';
import type { Op, OpResult } from '../kvm/ops.js';
import type { Vm } from '../kvm/vm.js';
import { ACTOR_IMPLS } from '../protocol/bindings.js';
import { COMPILED } from '../protocol/machines.js';
import type { Mutations } from '../protocol/mutations.js';
import { CompiledRunnerFactory } from '../protocol/runner.js';
import { ActorQueue, ActorRuntime } from './actor-runtime.js';

/** Runs `setup` on the vmm actor and returns what each op returned; throws when a step would block or an op fails (a setup has nothing to wait for). */
export function runSetup(vm: Vm, setup: readonly Op[], mutations: Mutations, violations: Violation[]): (OpResult | null)[] {
  const results: (OpResult | null)[] = setup.map(() => null);
  const factory = new CompiledRunnerFactory(COMPILED.filter((m) => m.id !== 'mmu-lock'), ACTOR_IMPLS, mutations);
  const rt = new ActorRuntime(vm, vm.layout.vmmActor, new ActorQueue(setup.map((op, index) => ({ index, op })), results), { report: (v) => violations.push(v) }, factory, new Map(COMPILED.map((m) => [m.id, new Uint32Array(m.transitions.length)])), new Map(), []);
  let guard = 0;
  while (!rt.finished && guard++ < 10_000_000) {
    if (rt.waiting && !rt.wakeIfChanged()) throw new Error('setup blocked: nothing else runs yet');
    rt.step(guard, () => {});
  }
  const bad = results.find((r) => r !== null && 'errno' in r && r.errno !== null);
  if (bad) throw new Error(`stress setup failed: ${JSON.stringify(bad)}`);
  return results;
}
