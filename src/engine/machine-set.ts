/**
 * The compiled protocol machines an engine's actor runtimes run, set up the same way by
 * both engines: the runner factory (every machine but mmu-lock, which the VM's lock
 * protocol runs), a transition counter per machine for coverage, and the `machine: state`
 * labels that findings and provenance name a step by.
 */

import type { KvmActor } from '../kvm/actor.js';
import { ACTOR_IMPLS } from '../protocol/bindings.js';
import { COMPILED } from '../protocol/machines.js';
import type { Mutations } from '../protocol/mutations.js';
import { ReferenceRunnerFactory } from '../protocol/reference-runner.js';
import { CompiledRunnerFactory, type RunnerFactory, type RunnerKind } from '../protocol/runner.js';

/** Per machine id, how often each of its transitions fired (indexed by transition id). */
export type CoverageCounters = Map<string, Uint32Array>;

/** The runner factory of `kind` for the actors' machines (mmu-lock excluded: the lock protocol steps it). */
export function runnerFactory(kind: RunnerKind, mutations: Mutations): RunnerFactory<KvmActor> {
  const machines = COMPILED.filter((m) => m.id !== 'mmu-lock');
  return kind === 'reference' ? new ReferenceRunnerFactory(machines, ACTOR_IMPLS, mutations) : new CompiledRunnerFactory(machines, ACTOR_IMPLS, mutations);
}

/**
 * A zeroed transition counter for every machine (mmu-lock's stays unused: the lock protocol
 * counts its own), all in one buffer: a run restored from a snapshot copies them back at once.
 */
export function coverageCounters(): CoverageCounters {
  const all = new Uint32Array(COMPILED.reduce((n, m) => n + m.transitions.length, 0));
  let at = 0;
  return new Map(COMPILED.map((m) => [m.id, all.subarray(at, (at += m.transitions.length))]));
}

/** Every machine state as `machine: state`, and where each machine's states start in that list. */
export interface StateLabels {
  readonly labels: string[];
  readonly labelBase: Map<string, number>;
}

export function stateLabels(): StateLabels {
  const labels: string[] = [];
  const labelBase = new Map<string, number>();
  for (const m of COMPILED) {
    labelBase.set(m.id, labels.length);
    for (const s of m.states) labels.push(`${m.id}: ${s.name}`);
  }
  return { labels, labelBase };
}
