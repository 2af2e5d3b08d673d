/**
 * Epoch-based read-side sections, the one mechanism behind both RCU (rcu.ts, page-table
 * pages) and kvm->srcu (srcu.ts, memslot sets). Each actor has one word per flavour: 0
 * outside a section, else the flavour's epoch + 1 when the section began. An updater
 * bumps the epoch to E after unpublishing something; the grace period of E has ended
 * once every actor's word is 0 or greater than E — nobody who could have loaded a pointer
 * to the old thing is still reading.
 *
 * Locking: none; each actor writes only its own word, the epoch is bumped atomically.
 */

import { actorWord } from './layout.js';
import type { Vm } from './vm.js';
import * as S from './shm.js';

/** rcu_read_lock() / srcu_read_lock(): record the epoch the section began in. */
export function epochReadLock(vm: Vm, actor: number, field: number, epochWord: number): void {
  const w = actorWord(vm.layout, actor, field);
  const epoch = S.load(vm.i32, epochWord);
  S.store(vm.i32, w, epoch + 1);
}

/** rcu_read_unlock() / srcu_read_unlock() */
export function epochReadUnlock(vm: Vm, actor: number, field: number): void {
  S.store(vm.i32, actorWord(vm.layout, actor, field), 0);
}

/** True while the actor is inside a read-side section of this flavour. */
export function epochReadHeld(vm: Vm, actor: number, field: number): boolean {
  return S.load(vm.i32, actorWord(vm.layout, actor, field)) !== 0;
}

/** A new grace period: bumps the epoch and returns it (E). */
export function epochAdvance(vm: Vm, epochWord: number): number {
  return S.add(vm.i32, epochWord, 1) + 1;
}

/**
 * The word of the first reader (other than `self`; -1 for none) still inside a section
 * that began at or before epoch `target`, or -1 when the grace period has ended.
 */
export function epochReaderPendingOn(vm: Vm, field: number, target: number, self: number): number {
  for (let a = 0; a < vm.layout.actors; a++) {
    if (a === self) continue;
    const w = actorWord(vm.layout, a, field);
    const v = S.load(vm.i32, w);
    if (v !== 0 && v <= target) return w;
  }
  return -1;
}
