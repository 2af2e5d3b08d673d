/**
 * The compiled protocol an engine run uses, built once per mutation set: the actors'
 * runner factory (each machine bound to its implementations and compiled to one step
 * function) and the mmu-lock protocol. An exploration builds thousands of runs of the same
 * scenario; compiling the machines again for each was a tenth of its time. Both are
 * stateless across runs but for the lock protocol's transition counters, which a run
 * zeroes when it starts (buildRun).
 */

import type { KvmActor } from '../kvm/actor.js';
import { compiled } from '../protocol/machines.js';
import { CompiledLockProtocol } from '../protocol/lock-protocol.js';
import type { Mutations } from '../protocol/mutations.js';
import type { RunnerFactory, RunnerKind } from '../protocol/runner.js';
import { runnerFactory } from './machine-set.js';

/** Mutation sets kept: a swarm draws many; past this many the cache starts again. */
const CACHE_ENTRIES_MAX = 64;

const factories = new Map<string, RunnerFactory<KvmActor>>();
const locks = new Map<string, CompiledLockProtocol>();

/** A mutation set as a key: its forced guards and skipped actions, sorted (null: a set with more to it than those, not cached). */
export function mutationsKey(m: Mutations): string | null {
  if (Object.keys(m).length !== 2) return null;
  const guards = [...m.forceGuards].map(([g, v]) => `${g}=${v}`).sort();
  return `${guards.join(',')}|${[...m.skipActions].sort().join(',')}`;
}

function cached<T>(cache: Map<string, T>, key: string | null, make: () => T): T {
  if (key === null) return make();
  let v = cache.get(key);
  if (v === undefined) {
    if (cache.size >= CACHE_ENTRIES_MAX) cache.clear();
    v = make();
    cache.set(key, v);
  }
  return v;
}

/** The runner factory of `kind` for `mutations`, compiled once. */
export function cachedRunnerFactory(kind: RunnerKind, mutations: Mutations): RunnerFactory<KvmActor> {
  const key = mutationsKey(mutations);
  return cached(factories, key === null ? null : `${kind}:${key}`, () => runnerFactory(kind, mutations));
}

/** The mmu-lock protocol for `mutations`, compiled once; its coverage counters zeroed. */
export function cachedLockProtocol(mutations: Mutations): CompiledLockProtocol {
  const lock = cached(locks, mutationsKey(mutations), () => new CompiledLockProtocol(compiled('mmu-lock'), mutations));
  lock.fired.fill(0);
  return lock;
}
