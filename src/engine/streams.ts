/**
 * The threaded engine's event streams (rxjs): the main thread drains every actor's ring
 * into one Observable of events; these operators turn it into running statistics and
 * online checks. Streams observe: they count and report, and never steer an actor — the
 * engine decides what to do with what they report.
 */

import { Observable, filter, map, scan, startWith } from 'rxjs';
import type { Violation } from '../kvm/findings.js';
import { HOST_EVENT_KINDS } from '../kvm/host.js';
import { EV, type ActorEvent } from './control.js';
import { ERRNOS, MEMSLOT_CHANGES, RETRY_REASON_LIST, faultOutcomeName } from './threaded-actor.js';

/** Running totals of a stress run, as the events tell them. */
export interface StressStats {
  accesses: number;
  tlbHits: number;
  accessFailures: Record<string, number>;
  faults: number;
  faultsByRet: Record<string, number>;
  retries: number;
  retriesByReason: Record<string, number>;
  casFailures: number;
  zaps: number;
  flushes: number;
  invalidations: Record<string, number>;
  pagesFreed: number;
  memslotChanges: Record<string, number>;
  attributeChanges: number;
  preFaultOps: number;
  preFaultCalls: number;
  preFaultPages: number;
  preFaultErrors: Record<string, number>;
  dirtyLogCalls: number;
  dirtyPagesReported: number;
  violations: number;
  /** vCPUs the vmm signalled out of an ioctl that held up synchronize_srcu(). */
  kicks: number;
  /** Per actor: accesses and faults. */
  perActor: { accesses: number; faults: number }[];
}

export function emptyStats(actors: number): StressStats {
  return {
    accesses: 0, tlbHits: 0, accessFailures: {}, faults: 0, faultsByRet: {}, retries: 0, retriesByReason: {}, casFailures: 0, zaps: 0, flushes: 0,
    invalidations: {}, pagesFreed: 0, memslotChanges: {}, attributeChanges: 0, preFaultOps: 0, preFaultCalls: 0, preFaultPages: 0,
    preFaultErrors: {}, dirtyLogCalls: 0, dirtyPagesReported: 0, violations: 0, kicks: 0,
    perActor: Array.from({ length: actors }, () => ({ accesses: 0, faults: 0 })),
  };
}

const bump = (m: Record<string, number>, k: string, n = 1): void => {
  m[k] = (m[k] ?? 0) + n;
};

const errnoName = (code: number): string | null => (code === 0 ? null : ERRNOS[code - 1] ?? `errno#${code}`);

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

/**
 * Online checks that need no model state, only the events: every KVM_PRE_FAULT_MEMORY
 * loop of the stress workload targets guest memory in the stress memslots, which are never
 * deleted, so it must end with 0 (the selftest's expectation; EAGAIN and EINTR are retried
 * by the loop) — or with an errno in `allowed`: EFAULT when attributes churn, because a
 * conversion between the ioctl's private/shared choice and kvm_mmu_faultin_pfn() is a
 * KVM_EXIT_MEMORY_FAULT.
 */
export function onlineChecks(events$: Observable<ActorEvent>, actorName: (a: number) => string, allowed: ReadonlySet<string> = new Set()): Observable<Violation> {
  return events$.pipe(
    filter((e) => e.type === EV.PRE_FAULT && e.a !== 0 && !allowed.has(errnoName(e.a) ?? '')),
    map((e): Violation => ({
      kind: 'pre-fault-conformance', actors: [actorName(e.actor)], step: -1,
      message: `${actorName(e.actor)}: KVM_PRE_FAULT_MEMORY over guest memory inside the stress memslots (never deleted) ended with ${errnoName(e.a)} after ${e.c} call(s); the loop may only end with 0${allowed.size > 0 ? ` or ${[...allowed].join(', ')}` : ''}`,
    })),
  );
}

/**
 * `--preset mmu-stress`: what the selftest asserts per stage. While the host has guest
 * memory read-only (stage 3) every write must fail with EFAULT — a write that succeeds went
 * through a writable SPTE the mprotect notifier should have zapped; in every other stage
 * every access must succeed.
 */
export function mmuStressChecks(events$: Observable<ActorEvent>, actorName: (a: number) => string): Observable<Violation> {
  return events$.pipe(
    filter((e) => e.type === EV.STAGE && (e.code === 3 ? e.a > 0 || e.c > 0 : e.b > 0 || e.c > 0)),
    map((e): Violation => ({
      kind: 'access-conformance', actors: [actorName(e.actor)], step: -1,
      message: e.code === 3
        ? `${actorName(e.actor)}: with guest memory mprotect(PROT_READ) on the host, ${e.a} write(s) succeeded and ${e.c} failed other than EFAULT (mmu_stress_test: every write must return EFAULT)`
        : `${actorName(e.actor)}: in stage ${e.code} ${e.b + e.c} access(es) failed (${e.b} with EFAULT); mmu_stress_test expects every one to succeed`,
    })),
  );
}
