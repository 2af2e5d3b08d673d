/**
 * A run's transition coverage: how often each transition of each machine fired, against
 * every transition that exists — the actors' counters, and mmu-lock's from the lock
 * protocol, which steps that machine for every actor.
 */

import type { CompiledMachine, CompiledTransition } from '../protocol/compile.js';
import { COMPILED } from '../protocol/machines.js';
import type { CoverageCounters } from './machine-set.js';
import type { CoverageEntry } from './run-types.js';

/** One entry per transition of every machine, in machine order; a machine with several events names the event. */
export function coverageEntries(counters: CoverageCounters, lockFired: Uint32Array): CoverageEntry[] {
  const out: CoverageEntry[] = [];
  for (const m of COMPILED) {
    const counts = m.id === 'mmu-lock' ? lockFired : counters.get(m.id)!;
    m.transitions.forEach((t, i) => out.push({ machine: m.id, transition: transitionName(m, t), count: counts[i]! }));
  }
  return out;
}

/** Every transition as `machine: transition`, in coverage-entry order. */
export function transitionNames(): string[] {
  return COMPILED.flatMap((m) => m.transitions.map((t) => `${m.id}: ${transitionName(m, t)}`));
}

function transitionName(m: CompiledMachine, t: CompiledTransition): string {
  return t.label + (m.events.length > 1 ? ` on ${t.event}` : '');
}

/** The counters as plain arrays per machine id (structured-cloneable, for a worker's outcome). */
export function coverageRecord(counters: CoverageCounters, lockFired: Uint32Array): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const m of COMPILED) out[m.id] = Array.from(m.id === 'mmu-lock' ? lockFired : counters.get(m.id)!);
  return out;
}

/** The counters per machine in coverage-entry order (mmu-lock's from the lock protocol): each entry's count, flattened, in the order coverageEntries lists them. */
export function coverageArrays(counters: CoverageCounters, lockFired: Uint32Array): Uint32Array[] {
  return COMPILED.map((m) => (m.id === 'mmu-lock' ? lockFired : counters.get(m.id)!));
}
