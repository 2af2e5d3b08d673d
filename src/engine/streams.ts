/**
 * The threaded engine's event streams (rxjs): the main thread drains every actor's ring
 * into one Observable of events; these operators turn it into running statistics (a
 * workload's online checks over the same stream are op-source.ts EventChecks). Streams
 * observe: they count and report, and never steer an actor — the engine decides what to
 * do with what they report.
 */

import { Observable, scan, startWith } from 'rxjs';
import { HOST_EVENT_KINDS } from '../kvm/host.js';
import { EV, type ActorEvent } from './control.js';
import type { ActorCounters } from './counters.js';
import { ERRNOS, MEMSLOT_CHANGES, RETRY_REASON_LIST, errnoName, faultOutcomeName } from './threaded-emit.js';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** The counters an actor's events carry: its ActorCounters as far as its ring reports them. */
export type StreamedCounters = Writable<Pick<ActorCounters, 'accesses' | 'tlbHits' | 'faults' | 'faultsByRet' | 'retriesByReason' | 'casFailures' | 'zaps' | 'flushes' | 'cowBreaks' | 'preFaultCalls' | 'preFaultPages'>>;

/** Per actor, what the events tell of it: its accesses and faults. */
export type ActorTotals = Writable<Pick<ActorCounters, 'accesses' | 'faults'>>;

/** Running totals of a stress run, as the events tell them: the actors' counters summed, and what only events carry. */
export interface StressStats extends StreamedCounters {
  accessFailures: Record<string, number>;
  retries: number;
  invalidations: Record<string, number>;
  pagesFreed: number;
  memslotChanges: Record<string, number>;
  attributeChanges: number;
  preFaultOps: number;
  preFaultErrors: Record<string, number>;
  dirtyLogCalls: number;
  dirtyPagesReported: number;
  violations: number;
  /** vCPUs the vmm signalled out of an ioctl that held up synchronize_srcu(). */
  kicks: number;
  perActor: ActorTotals[];
}

export function emptyStats(actors: number): StressStats {
  return {
    accesses: 0, tlbHits: 0, accessFailures: {}, faults: 0, faultsByRet: {}, retries: 0, retriesByReason: {}, casFailures: 0, zaps: 0, flushes: 0, cowBreaks: 0,
    invalidations: {}, pagesFreed: 0, memslotChanges: {}, attributeChanges: 0, preFaultOps: 0, preFaultCalls: 0, preFaultPages: 0,
    preFaultErrors: {}, dirtyLogCalls: 0, dirtyPagesReported: 0, violations: 0, kicks: 0,
    perActor: Array.from({ length: actors }, (): ActorTotals => ({ accesses: 0, faults: 0 })),
  };
}

const bump = (m: Record<string, number>, k: string, n = 1): void => {
  m[k] = (m[k] ?? 0) + n;
};

/** Folds one event into the totals (mutates and returns `s`). */
export function addEvent(s: StressStats, e: ActorEvent): StressStats {
  const who = s.perActor[e.actor];
  switch (e.type) {
    case EV.FAULT:
      s.faults += e.a;
      if (who) who.faults += e.a;
      bump(s.faultsByRet, faultOutcomeName(e.code), e.a);
      break;
    case EV.RETRY:
      s.retries += e.a;
      bump(s.retriesByReason, RETRY_REASON_LIST[e.code] ?? 'unknown', e.a);
      break;
    case EV.ACCESSES:
      s.accesses += e.a;
      s.tlbHits += e.b;
      if (who) who.accesses += e.a;
      break;
    case EV.ACCESS_FAILED:
      bump(s.accessFailures, ERRNOS[e.code] ?? 'EFAULT');
      break;
    case EV.CAS_FAILED: s.casFailures += e.a; break;
    case EV.ZAPS: s.zaps += e.a; break;
    case EV.FLUSHES: s.flushes += e.a; break;
    case EV.COW_BREAKS: s.cowBreaks += e.a; break;
    case EV.INVALIDATION:
      bump(s.invalidations, HOST_EVENT_KINDS[e.code] ?? 'unknown');
      s.pagesFreed += e.a;
      break;
    case EV.MEMSLOT: {
      const err = errnoName(e.a);
      bump(s.memslotChanges, err === null ? MEMSLOT_CHANGES[e.code] ?? 'unknown' : `-${err}`);
      break;
    }
    case EV.ATTRIBUTES: s.attributeChanges++; break;
    case EV.PRE_FAULT: {
      s.preFaultOps++;
      s.preFaultCalls += e.c;
      s.preFaultPages += e.b;
      const err = errnoName(e.a);
      if (err !== null) bump(s.preFaultErrors, err);
      break;
    }
    case EV.DIRTY_LOG:
      s.dirtyLogCalls++;
      s.dirtyPagesReported += e.b;
      break;
    case EV.VIOLATION: s.violations++; break;
    case EV.KICK: s.kicks++; break;
  }
  return s;
}

/** Running totals, one emission per event (use with sampleTime/auditTime for display). */
export function statsOf(events$: Observable<ActorEvent>, actors: number): Observable<StressStats> {
  return events$.pipe(scan(addEvent, emptyStats(actors)), startWith(emptyStats(actors)));
}
