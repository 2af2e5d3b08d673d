/**
 * Liveness in the deterministic engine. Deadlock: every unfinished actor waits on a shared
 * word no runnable actor will write. Livelock: an actor's fault keeps coming back
 * (RET_PF_RETRY, or a guest access that keeps exiting) more than LIVELOCK_RETRIES times
 * while no productive step was taken — nothing that could end it happened.
 *
 * Productive steps are steps that did not end waiting, taken by an actor that is not
 * itself caught in a retry streak: two vCPUs retrying against each other make none. A
 * retry does not count towards a livelock either when, during the fault, another actor
 * not itself retrying could have run — the host, the VMM, or a vCPU whose last fault did
 * not spin (a fair scheduler would have let it make progress, e.g. finish the ioctl whose
 * SRCU read lock a memslot update waits for; a strict-priority schedule starving it is
 * not a livelock). A vCPU whose last fault spun is no such helper, so two spinning vCPUs
 * cannot excuse each other's retries — unless it is now breaking CoW: the invalidation it
 * runs inside its fault is what the others' retries wait for.
 */

import type { Violation } from '../kvm/findings.js';
import { LIVELOCK_RETRIES } from '../kvm/limits.js';
import { countFaultDone, type ActorRuntime } from './actor-runtime.js';
import type { Collector } from './run-build.js';

/**
 * A runnable actor that could end another's retries: one not itself retrying — the host,
 * the VMM, or a vCPU whose last fault did not spin (a vCPU inside an ioctl that holds
 * kvm->srcu, say, which a memslot update's synchronize_srcu() waits for).
 */
export function isHelper(rt: ActorRuntime): boolean {
  // A vCPU breaking CoW in its fault's gup runs an MMU-notifier invalidation (mmu_lock
  // held for write, then the flush and invalidate_range_end): that ends others' retries
  // however its earlier faults went.
  if (rt.a.isVcpu && rt.a.fault.cowBroken && !rt.finished) return true;
  return rt.retryStreak === 0 && !(rt.a.isVcpu && rt.spun);
}

export class Liveness {
  /** Productive steps taken so far (a run resumed from a snapshot sets it). */
  productive = 0;

  constructor(private readonly runtimes: readonly ActorRuntime[], private readonly collector: Collector) {}

  /** Before `rt` steps: `helpers` runnable helpers (it among them, maybe) could end its retries. */
  noteHelpers(rt: ActorRuntime, helpers: number): void {
    // Another helper is runnable when there are two, or one that is not `rt` (asked only then).
    if (!rt.otherCouldProgress && helpers > 0 && (helpers > 1 || !isHelper(rt))) rt.otherCouldProgress = true;
  }

  /** After `rt` took a step: it was productive when it did not end waiting and `rt` is not in a retry streak. */
  noteStep(rt: ActorRuntime): void {
    if (!rt.waiting && rt.retryStreak === 0) this.productive++;
  }

  /** `rt` took `steps` steps that did not end waiting, none of them ending a fault: noteStep for each at once. */
  noteProgress(rt: ActorRuntime, steps: number): void {
    if (rt.retryStreak === 0) this.productive += steps;
  }

  /** The runtime's fault-done hook (one function for the run: the step loop allocates nothing). */
  readonly onFaultDone = (rt: ActorRuntime): void => {
    const spinning = countFaultDone(rt.a);
    if (!spinning) {
      rt.spun = false;
      rt.retryStreak = 0;
      return;
    }
    rt.spun = true;
    if (rt.otherCouldProgress) {
      rt.otherCouldProgress = false;
      rt.retryStreak = 0;
      rt.streakBase = this.productive;
      return;
    }
    if (this.productive !== rt.streakBase) {
      rt.streakBase = this.productive;
      rt.retryStreak = 0;
    }
    rt.retryStreak++;
    if (rt.retryStreak <= LIVELOCK_RETRIES) return;
    this.collector.report(this.livelock(rt));
    rt.retryStreak = 0;
  };

  private livelock(rt: ActorRuntime): Violation {
    const f = rt.a.fault;
    const retry = f.errno === null && f.ret === 'retry';
    const what = retry
      ? `fault on gfn 0x${f.gfn.toString(16)} retried ${rt.retryStreak} times (last reason: ${f.retryReason}): RET_PF_RETRY that nothing will end`
      : `guest access to gfn 0x${f.gfn.toString(16)} exited ${rt.retryStreak} times in a row (last fault: ${f.ret}): the guest spins on an EPT violation that nothing resolves`;
    return { kind: 'livelock', actors: [rt.a.name], step: rt.a.step, gfn: f.gfn, message: `${rt.a.name}'s ${what}, while no productive step was taken. Others: ${this.others(rt)}` };
  }

  private others(rt: ActorRuntime): string {
    return this.runtimes
      .filter((o) => o !== rt)
      .map((o) => `${o.a.name} ${o.finished ? 'finished' : o.waiting ? `waits on ${o.a.blockReason} in ${o.describeState()}` : `in ${o.describeState()}`}`)
      .join('; ');
  }
}

/** Every unfinished actor of `active` waits: the deadlock finding, naming each one's wait. */
export function deadlock(active: readonly ActorRuntime[], step: number): Violation {
  const stuck = active.filter((r) => !r.finished);
  return {
    kind: 'deadlock', step, actors: stuck.map((r) => r.a.name),
    message: `every unfinished actor waits: ${stuck.map((r) => `${r.a.name} in ${r.describeState()} waits on ${r.a.blockReason}`).join('; ')}`,
  };
}

/** A schedule that did not end within its step limit (an exploration's): the livelock finding, naming where each unfinished actor is. */
export function endless(active: readonly ActorRuntime[], step: number, steps: number): Violation {
  const busy = active.filter((r) => !r.finished);
  return {
    kind: 'livelock', step, actors: busy.map((r) => r.a.name),
    message: `the schedule did not end within ${steps.toLocaleString('en-US')} steps (FAULTLINE_EXPLORE_STEPS_MAX): ${busy.map((r) => `${r.a.name} ${r.waiting ? `waits on ${r.a.blockReason} in` : 'runs in'} ${r.describeState()}`).join('; ')} — an actor loops without waiting, retrying a fault or finishing`,
  };
}
