/**
 * kvm->mmu_lock: an rwlock in one Int32 of shared memory, changed by CAS. The word holds
 * the lock machine's state index (bits 24-30) and the reader count (bits 0-23); the
 * next word for an acquire or release is computed by the compiled `mmu-lock` machine
 * (machines/mmu-lock.machine.ts), injected as a LockProtocol so this module stays below
 * src/protocol.
 *
 * Nothing here blocks: a try that cannot succeed returns 'busy' and the caller reports
 * the lock word as what it waits on (the threaded engine then Atomics.wait()s on it, the
 * deterministic engine marks the actor blocked until the word changes).
 *
 * Lockdep: each actor's LOCK_HELD word records what it holds, so the SPTE setters can
 * assert `lockdep_assert_held_read/write` and a release without hold is a finding.
 */

import { ACTOR, G, actorWord } from './layout.js';
import { MMU_LOCK_CAS_TRIES } from './limits.js';
import type { Vm } from './vm.js';
import * as S from './shm.js';

/**
 * The lock machine's events as small integers (an acquire or release costs no string-keyed
 * lookup on the fault path); `LOCK_EVENT_NAMES[e]` is the machine's event name.
 */
export const LOCK_EVENT = { READ_LOCK: 0, READ_UNLOCK: 1, WRITE_LOCK: 2, WRITE_WAIT: 3, WRITE_UNLOCK: 4 } as const;
export type LockEventName = keyof typeof LOCK_EVENT;
export type LockEvent = (typeof LOCK_EVENT)[LockEventName];
export const LOCK_EVENT_NAMES: readonly LockEventName[] = ['READ_LOCK', 'READ_UNLOCK', 'WRITE_LOCK', 'WRITE_WAIT', 'WRITE_UNLOCK'];

/** The lock word: the lock machine's state index from this bit, the reader count below it. */
export const LOCK_STATE_SHIFT = 24;
export const LOCK_READERS_MASK = (1 << LOCK_STATE_SHIFT) - 1;

/** No transition for the event: the caller must wait. */
export const LOCK_WAIT = -1;
/** The event is illegal in the current state (unlock without hold). */
export const LOCK_BROKEN = -2;

/** The lock machine, compiled: the next lock word, LOCK_WAIT or LOCK_BROKEN. */
export interface LockProtocol {
  next(word: number, event: LockEvent): number;
  /** State name of a lock word, for reports. */
  describe(word: number): string;
  /** The lock word is in a broken state (its state name starts with `broken`): no string built, the check runs after every step. */
  isBroken(word: number): boolean;
}

export type LockTry = 'ok' | 'busy' | 'broken';

export const LOCK_HELD_NONE = 0;
export const LOCK_HELD_READ = 1;
export const LOCK_HELD_WRITE = 2;

function tryEvent(vm: Vm, event: LockEvent): LockTry {
  const i32 = vm.i32;
  for (let i = 0; i < MMU_LOCK_CAS_TRIES; i++) {
    const w = S.load(i32, G.MMU_LOCK);
    const n = vm.lockProtocol.next(w, event);
    if (n === LOCK_WAIT) return 'busy';
    if (n === LOCK_BROKEN) return 'broken';
    if (S.compareExchange(i32, G.MMU_LOCK, w, n) === w) return 'ok';
  }
  return 'busy';
}

/** read_trylock(&kvm->mmu_lock) */
export function mmuReadTrylock(vm: Vm, actor: number): LockTry {
  const r = tryEvent(vm, LOCK_EVENT.READ_LOCK);
  if (r === 'ok') S.put(vm.i32, actorWord(vm.layout, actor, ACTOR.LOCK_HELD), LOCK_HELD_READ); // lockdep bookkeeping: plain store
  return r;
}

/**
 * write_trylock(&kvm->mmu_lock): takes the lock if free or reserved for a waiting
 * writer; otherwise marks a writer waiting (new readers then wait) and returns 'busy'.
 */
export function mmuWriteTrylock(vm: Vm, actor: number): LockTry {
  const r = tryEvent(vm, LOCK_EVENT.WRITE_LOCK);
  if (r === 'ok') {
    S.put(vm.i32, actorWord(vm.layout, actor, ACTOR.LOCK_HELD), LOCK_HELD_WRITE);
    return r;
  }
  if (r === 'busy') tryEvent(vm, LOCK_EVENT.WRITE_WAIT);
  return r;
}

/** An unlock: 'broken' unless this actor holds the lock as `held` (lockdep), else the lock event. */
function unlockHeld(vm: Vm, actor: number, held: number, event: LockEvent): LockTry {
  const heldWord = actorWord(vm.layout, actor, ACTOR.LOCK_HELD);
  if (S.get(vm.i32, heldWord) !== held) return 'broken';
  const r = tryEvent(vm, event);
  if (r === 'ok') S.put(vm.i32, heldWord, LOCK_HELD_NONE);
  return r;
}

/** read_unlock(&kvm->mmu_lock); 'broken' when this actor did not hold it for read. */
export function mmuReadUnlock(vm: Vm, actor: number): LockTry {
  return unlockHeld(vm, actor, LOCK_HELD_READ, LOCK_EVENT.READ_UNLOCK);
}

/** write_unlock(&kvm->mmu_lock); 'broken' when this actor did not hold it for write. */
export function mmuWriteUnlock(vm: Vm, actor: number): LockTry {
  return unlockHeld(vm, actor, LOCK_HELD_WRITE, LOCK_EVENT.WRITE_UNLOCK);
}

/** What this actor holds (lockdep). */
export function lockHeld(vm: Vm, actor: number): number {
  return S.get(vm.i32, actorWord(vm.layout, actor, ACTOR.LOCK_HELD));
}
