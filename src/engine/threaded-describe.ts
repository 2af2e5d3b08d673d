/**
 * Who is doing what in a threaded run, for a watchdog or crash report: each actor's
 * status and machine frames (and the word it waits on, named after the kernel's), the
 * mmu_lock holders and the kvm->srcu readers.
 */

import { ACTOR, G, actorWord } from '../kvm/layout.js';
import { LOCK_HELD_READ, LOCK_HELD_WRITE } from '../kvm/mmu-lock.js';
import { ACTOR_STATUS_NAMES, AST } from './control.js';
import { describeFrames } from './threaded-frames.js';
import type { RunState } from './threaded-run.js';

/** A VM word an actor waits on, in kernel terms. */
export function describeWord(r: RunState, word: number): string {
  const { vm, lock } = r;
  if (word < 0) return 'nothing';
  if (word === G.MMU_LOCK) return `mmu_lock (${lock.describe(Atomics.load(vm.i32, word))})`;
  if (word === G.MN_ACTIVE_INVALIDATE_COUNT) return `mn_active_invalidate_count (${Atomics.load(vm.i32, word)})`;
  for (let a = 0; a < r.nActors; a++) {
    if (word === actorWord(vm.layout, a, ACTOR.SRCU_READ)) return `synchronize_srcu: ${vm.actorName(a)}'s SRCU read lock`;
    if (word === actorWord(vm.layout, a, ACTOR.MODE)) return `${vm.actorName(a)} to leave guest mode`;
  }
  return `shared word ${word} (= ${Atomics.load(vm.i32, word)})`;
}

/** Every actor's status and frames, then mmu_lock and its holders, then the SRCU readers. */
export function describeEveryone(r: RunState): string {
  const { vm, lock } = r;
  const parts: string[] = [];
  const holders: string[] = [];
  const readers: string[] = [];
  for (let a = 0; a < r.nActors; a++) {
    const st = ACTOR_STATUS_NAMES[r.read(a, AST.STATUS)] ?? '?';
    parts.push(`${vm.actorName(a)} ${st} in ${describeFrames(r.ctl, a)}${st === 'waiting' ? ` on ${describeWord(r, r.read(a, AST.WAIT_WORD))}` : ''}`);
  }
  for (let a = 0; a < r.nActors; a++) {
    const held = Atomics.load(vm.i32, actorWord(vm.layout, a, ACTOR.LOCK_HELD));
    if (held === LOCK_HELD_WRITE) holders.push(`${vm.actorName(a)} (write)`);
    if (held === LOCK_HELD_READ) holders.push(`${vm.actorName(a)} (read)`);
    if (Atomics.load(vm.i32, actorWord(vm.layout, a, ACTOR.SRCU_READ)) !== 0) readers.push(vm.actorName(a));
  }
  return `${parts.join('; ')}. mmu_lock ${lock.describe(Atomics.load(vm.i32, G.MMU_LOCK))}, held by ${holders.join(', ') || 'nobody'}; kvm->srcu readers: ${readers.join(', ') || 'none'}`;
}
