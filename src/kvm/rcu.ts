/**
 * RCU for page-table pages (the TDP MMU's `rcu_read_lock()` around walks and
 * `call_rcu(tdp_mmu_free_sp_rcu_callback)` in handle_removed_pt()).
 *
 * Epoch-based grace periods: rcu_read_lock() records the current RCU epoch + 1 in the
 * actor's word; queuing a removed table bumps the epoch to E and tags the table with E;
 * the table may be reused only when every actor's word is 0 (quiescent) or greater than
 * E — nobody who could have loaded a pointer to it is still reading.
 */

import { ACTOR, G, actorWord } from './layout.js';
import type { Vm } from './vm.js';
import * as S from './shm.js';

export function rcuReadLock(vm: Vm, actor: number): void {
  S.store(vm.i32, actorWord(vm.layout, actor, ACTOR.RCU_READ), S.load(vm.i32, G.RCU_EPOCH) + 1);
}

export function rcuReadUnlock(vm: Vm, actor: number): void {
  S.store(vm.i32, actorWord(vm.layout, actor, ACTOR.RCU_READ), 0);
}

export function rcuReadHeld(vm: Vm, actor: number): boolean {
  return S.load(vm.i32, actorWord(vm.layout, actor, ACTOR.RCU_READ)) !== 0;
}

/** A new grace period for something just unpublished: returns its epoch. */
export function rcuNewEpoch(vm: Vm): number {
  return S.add(vm.i32, G.RCU_EPOCH, 1) + 1;
}

/** True once no actor can still hold a pointer unpublished at `epoch`. */
export function rcuGracePeriodDone(vm: Vm, epoch: number): boolean {
  for (let a = 0; a < vm.layout.actors; a++) {
    const v = S.load(vm.i32, actorWord(vm.layout, a, ACTOR.RCU_READ));
    if (v !== 0 && v <= epoch) return false;
  }
  return true;
}
