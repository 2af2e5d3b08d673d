/**
 * The stress presets' online checks (src/engine/op-source.ts EventCheck): what the
 * selftests assert, over the run's event stream on the main thread. Kept apart from the
 * op-source modules, which every worker loads, so the workers never load rxjs.
 */

import { filter, map, type Observable } from 'rxjs';
import { EV, type ActorEvent } from '../../engine/control.js';
import type { EventCheck } from '../../engine/op-source.js';
import { errnoName } from '../../engine/threaded-emit.js';
import type { Violation } from '../../kvm/findings.js';

/**
 * The stress run's online check: every KVM_PRE_FAULT_MEMORY loop of the stress workload
 * targets guest memory in the stress memslots, which are never deleted, so it must end
 * with 0 (the selftest's expectation; EAGAIN and EINTR are retried by the loop) — or with
 * an errno in `allowed`: EFAULT when attributes churn, because a conversion between the
 * ioctl's private/shared choice and kvm_mmu_faultin_pfn() is a KVM_EXIT_MEMORY_FAULT.
 */
export function preFaultChecks(allowed: ReadonlySet<string> = new Set()): EventCheck {
  return (events$: Observable<ActorEvent>, actorName: (a: number) => string): Observable<Violation> => events$.pipe(
    filter((e) => e.type === EV.PRE_FAULT && e.a !== 0 && !allowed.has(errnoName(e.a) ?? '')),
    map((e): Violation => ({
      kind: 'pre-fault-conformance', actors: [actorName(e.actor)], step: -1,
      message: `${actorName(e.actor)}: KVM_PRE_FAULT_MEMORY over guest memory inside the stress memslots (never deleted) ended with ${errnoName(e.a)} after ${e.c} call(s); the loop may only end with 0${allowed.size > 0 ? ` or ${[...allowed].join(', ')}` : ''}`,
    })),
  );
}

/**
 * `--preset mmu-stress`: what the selftest asserts per stage. While the host has guest memory read-only (stage
 * 3) every write must fail with EFAULT — a write that succeeds went through a writable
 * SPTE the mprotect notifier should have zapped; in every other stage every access must
 * succeed.
 */
export const mmuStressChecks: EventCheck = (events$: Observable<ActorEvent>, actorName: (a: number) => string): Observable<Violation> => events$.pipe(
  filter((e) => e.type === EV.STAGE && (e.code === 3 ? e.a > 0 || e.c > 0 : e.b > 0 || e.c > 0)),
  map((e): Violation => ({
    kind: 'access-conformance', actors: [actorName(e.actor)], step: -1,
    message: e.code === 3
      ? `${actorName(e.actor)}: with guest memory mprotect(PROT_READ) on the host, ${e.a} write(s) succeeded and ${e.c} failed other than EFAULT (mmu_stress_test: every write must return EFAULT)`
      : `${actorName(e.actor)}: in stage ${e.code} ${e.b + e.c} access(es) failed (${e.b} with EFAULT); mmu_stress_test expects every one to succeed`,
  })),
);
