/**
 * RCU for page-table pages (the TDP MMU's `rcu_read_lock()` around walks and
 * `call_rcu(tdp_mmu_free_sp_rcu_callback)` in handle_removed_pt()).
 *
 * Epoch-based grace periods (epoch-readers.ts): rcu_read_lock() records the current RCU epoch + 1 in the
 * actor's word; queuing a removed table bumps the epoch to E and tags the table with E;
 * the table may be reused only when every actor's word is 0 (quiescent) or greater than
 * E — nobody who could have loaded a pointer to it is still reading.
 */

import { epochAdvance, epochReadHeld, epochReadLock, epochReadUnlock, epochReaderPendingOn } from './epoch-readers.js';
import { ACTOR, G } from './layout.js';
import type { KvmActor } from './actor.js';
import type { Vm } from './vm.js';

export function rcuReadLock(vm: Vm, actor: number): void {
  epochReadLock(vm, actor, ACTOR.RCU_READ, G.RCU_EPOCH);
}

export function rcuReadUnlock(vm: Vm, actor: number): void {
  epochReadUnlock(vm, actor, ACTOR.RCU_READ);
}

/** An actor's rcu_read_unlock(): without a matching rcu_read_lock() it is lockdep's "bad unlock balance". */
export function actorRcuReadUnlock(a: KvmActor): void {
  if (!rcuReadHeld(a.vm, a.actor)) a.report('lock-discipline', `${a.name}: rcu_read_unlock() without a matching rcu_read_lock() (lockdep: bad unlock balance)`);
  rcuReadUnlock(a.vm, a.actor);
}

export function rcuReadHeld(vm: Vm, actor: number): boolean {
  return epochReadHeld(vm, actor, ACTOR.RCU_READ);
}

/** A new grace period for something just unpublished: returns its epoch. */
export function rcuNewEpoch(vm: Vm): number {
  return epochAdvance(vm, G.RCU_EPOCH);
}

/** True once no actor can still hold a pointer unpublished at `epoch`. */
export function rcuGracePeriodDone(vm: Vm, epoch: number): boolean {
  return epochReaderPendingOn(vm, ACTOR.RCU_READ, epoch, -1) < 0;
}
