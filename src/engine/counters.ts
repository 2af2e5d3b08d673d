/**
 * What one actor counted in a run — the same record from both engines, the event streams
 * and the reports. The model keeps its counters per actor (src/kvm/actor.ts ActorStats, no
 * shared counter on the fault path); this is their plain, structured-cloneable form.
 */

import type { ActorStats } from '../kvm/actor.js';

/** An actor's counters: guest accesses and exits, faults by RET_PF outcome, retries by reason, pre-fault calls. */
export interface ActorCounters {
  readonly accesses: number;
  readonly tlbHits: number;
  /** EPT-violation exits (guest accesses the hardware walk could not complete). */
  readonly exits: number;
  readonly faults: number;
  /** Faults by RET_PF outcome (fixed, spurious, retry, emulate, …). */
  readonly faultsByRet: Record<string, number>;
  /** RET_PF_RETRY by reason (invalidate-precheck, stale, frozen, cas-failed, …). */
  readonly retriesByReason: Record<string, number>;
  readonly casFailures: number;
  readonly zaps: number;
  readonly flushes: number;
  /** Zero-page CoW breaks run by this vCPU's write faults. */
  readonly cowBreaks: number;
  readonly preFaultCalls: number;
  readonly preFaultPages: number;
  /** Pre-fault / map-memory calls that returned an error, by errno. */
  readonly preFaultErrnos: Record<string, number>;
  readonly lockWaits: number;
}

/** countersOf(): a snapshot of an actor's live statistics. */
export function countersOf(s: ActorStats): ActorCounters {
  return {
    accesses: s.accesses, tlbHits: s.tlbHits, exits: s.exits, faults: s.faults,
    faultsByRet: Object.fromEntries(s.faultsByRet), retriesByReason: Object.fromEntries(s.retriesByReason),
    casFailures: s.casFailures, zaps: s.zaps, flushes: s.flushes, cowBreaks: s.cowBreaks, preFaultCalls: s.preFaultCalls, preFaultPages: s.preFaultPages,
    preFaultErrnos: Object.fromEntries(s.preFaultErrnos), lockWaits: s.lockWaits,
  };
}

/** addCounts(): adds every key of `from` into `into`. */
export function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

/** sumCounters(): the totals over several actors (e.g. every vCPU of a run). */
export function sumCounters(list: readonly ActorCounters[]): ActorCounters {
  const t = { accesses: 0, tlbHits: 0, exits: 0, faults: 0, faultsByRet: {}, retriesByReason: {}, casFailures: 0, zaps: 0, flushes: 0, cowBreaks: 0, preFaultCalls: 0, preFaultPages: 0, preFaultErrnos: {}, lockWaits: 0 };
  for (const c of list) {
    t.accesses += c.accesses; t.tlbHits += c.tlbHits; t.exits += c.exits; t.faults += c.faults;
    t.casFailures += c.casFailures; t.zaps += c.zaps; t.flushes += c.flushes; t.cowBreaks += c.cowBreaks; t.lockWaits += c.lockWaits;
    t.preFaultCalls += c.preFaultCalls; t.preFaultPages += c.preFaultPages;
    addCounts(t.faultsByRet, c.faultsByRet); addCounts(t.retriesByReason, c.retriesByReason); addCounts(t.preFaultErrnos, c.preFaultErrnos);
  }
  return t;
}
