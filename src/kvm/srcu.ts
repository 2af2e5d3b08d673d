/**
 * kvm->srcu, the sleepable RCU that protects the memslot sets.
 *
 * srcu_read_lock() stores the current grace-period epoch + 1 in the actor's SRCU word;
 * srcu_read_unlock() stores 0. synchronize_srcu() bumps the epoch to E and then waits
 * until every actor's word is 0 or greater than E: every reader that could have seen
 * the old memslot set has left. Waiting is explicit: `srcuGracePeriodPendingOn` returns
 * the first reader word still in an old section (the word the updater waits on), or -1.
 */

import { epochAdvance, epochReadHeld, epochReadLock, epochReadUnlock, epochReaderPendingOn } from './epoch-readers.js';
import { ACTOR, G } from './layout.js';
import type { KvmActor } from './actor.js';
import type { Vm } from './vm.js';

export function srcuReadLock(vm: Vm, actor: number): void {
  epochReadLock(vm, actor, ACTOR.SRCU_READ, G.SRCU_EPOCH);
}

export function srcuReadUnlock(vm: Vm, actor: number): void {
  epochReadUnlock(vm, actor, ACTOR.SRCU_READ);
}

/** An actor's srcu_read_unlock(): without a matching srcu_read_lock() it is lockdep's "bad unlock balance". */
export function actorSrcuReadUnlock(a: KvmActor): void {
  if (!srcuReadHeld(a.vm, a.actor)) a.report('lock-discipline', `${a.name}: srcu_read_unlock(&kvm->srcu) without a matching srcu_read_lock() (lockdep: bad unlock balance)`);
  srcuReadUnlock(a.vm, a.actor);
}

/** True while the actor is inside an SRCU read-side section. */
export function srcuReadHeld(vm: Vm, actor: number): boolean {
  return epochReadHeld(vm, actor, ACTOR.SRCU_READ);
}

/** Start of synchronize_srcu(): returns the epoch E whose readers must drain. */
export function synchronizeSrcuStart(vm: Vm): number {
  return epochAdvance(vm, G.SRCU_EPOCH);
}

/**
 * The word of the first reader (other than `self`) still inside a section that began at
 * or before epoch `target`, or -1 when the grace period has ended.
 */
export function srcuGracePeriodPendingOn(vm: Vm, target: number, self: number): number {
  return epochReaderPendingOn(vm, ACTOR.SRCU_READ, target, self);
}
