/**
 * kvm->srcu, the sleepable RCU that protects the memslot sets.
 *
 * srcu_read_lock() stores the current grace-period epoch + 1 in the actor's SRCU word;
 * srcu_read_unlock() stores 0. synchronize_srcu() bumps the epoch to E and then waits
 * until every actor's word is 0 or greater than E: every reader that could have seen
 * the old memslot set has left. Waiting is explicit: `srcuGracePeriodPendingOn` returns
 * the first reader word still in an old section (the word the updater waits on), or -1.
 */

import { ACTOR, G, actorWord } from './layout.js';
import type { Vm } from './vm.js';
import * as S from './shm.js';

export function srcuReadLock(vm: Vm, actor: number): void {
  const w = actorWord(vm.layout, actor, ACTOR.SRCU_READ);
  const epoch = S.load(vm.i32, G.SRCU_EPOCH);
  S.store(vm.i32, w, epoch + 1);
}

export function srcuReadUnlock(vm: Vm, actor: number): void {
  S.store(vm.i32, actorWord(vm.layout, actor, ACTOR.SRCU_READ), 0);
}

/** True while the actor is inside an SRCU read-side section. */
export function srcuReadHeld(vm: Vm, actor: number): boolean {
  return S.load(vm.i32, actorWord(vm.layout, actor, ACTOR.SRCU_READ)) !== 0;
}

/** Start of synchronize_srcu(): returns the epoch E whose readers must drain. */
export function synchronizeSrcuStart(vm: Vm): number {
  return S.add(vm.i32, G.SRCU_EPOCH, 1) + 1;
}

/**
 * The word of the first reader (other than `self`) still inside a section that began at
 * or before epoch `target`, or -1 when the grace period has ended.
 */
export function srcuGracePeriodPendingOn(vm: Vm, target: number, self: number): number {
  for (let a = 0; a < vm.layout.actors; a++) {
    if (a === self) continue;
    const w = actorWord(vm.layout, a, ACTOR.SRCU_READ);
    const v = S.load(vm.i32, w);
    if (v !== 0 && v <= target) return w;
  }
  return -1;
}
