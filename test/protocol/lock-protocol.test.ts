// Goal: mmu_lock behaves as the kernel's queued rwlock (reader counts, writer exclusion, a waiting writer holds off new readers and gets the lock from the last reader) and unlock without hold is LOCK_BROKEN; method: CompiledLockProtocol checked against a hand-written specification over every state × event, then src/kvm/mmu-lock.ts on a real Vm with lockdep, plus seeded random interleavings.

import test from 'ava';
import fc from 'fast-check';
import { LOCK_BROKEN, LOCK_HELD_NONE, LOCK_HELD_READ, LOCK_HELD_WRITE, LOCK_WAIT, LOCK_EVENT, lockHeld, mmuReadTrylock, mmuReadUnlock, mmuWriteTrylock, mmuWriteUnlock, type LockEventName } from '../../src/kvm/mmu-lock.js';
import { ACTOR, G, actorWord } from '../../src/kvm/layout.js';
import { CompiledLockProtocol } from '../../src/protocol/lock-protocol.js';
import { COMPILED, compiled } from '../../src/protocol/machines.js';
import { buildMutations } from '../../src/protocol/mutations.js';
import { Vm } from '../../src/kvm/vm.js';
import { MiB } from '../kvm/fixtures.js';

const machine = compiled('mmu-lock');
const S = (name: string): number => machine.stateIndex.get(name)!;
const word = (state: string, readers = 0): number => ((S(state) << 24) | readers) | 0;
const EVENTS: readonly LockEventName[] = ['READ_LOCK', 'READ_UNLOCK', 'WRITE_LOCK', 'WRITE_WAIT', 'WRITE_UNLOCK'];

/** The queued rwlock, written out by hand: [state, readers] → next, 'wait' or 'broken'. */
function spec(state: string, readers: number, ev: LockEventName): [string, number] | 'wait' | 'broken' {
  switch (state) {
    case 'unlocked':
      if (ev === 'READ_LOCK') return ['readHeld', 1];
      if (ev === 'WRITE_LOCK') return ['writeHeld', 0];
      if (ev === 'READ_UNLOCK' || ev === 'WRITE_UNLOCK') return 'broken';
      return 'wait';
    case 'readHeld':
      if (ev === 'READ_LOCK') return ['readHeld', readers + 1];
      if (ev === 'READ_UNLOCK') return readers === 1 ? ['unlocked', 0] : ['readHeld', readers - 1];
      if (ev === 'WRITE_WAIT') return ['writerWaiting', readers];
      if (ev === 'WRITE_UNLOCK') return 'broken';
      return 'wait';
    case 'writerWaiting':
      if (ev === 'READ_UNLOCK') return readers === 1 ? ['writerPending', 0] : ['writerWaiting', readers - 1];
      if (ev === 'WRITE_UNLOCK') return 'broken';
      return 'wait';
    case 'writerPending':
      if (ev === 'WRITE_LOCK') return ['writeHeld', 0];
      if (ev === 'READ_UNLOCK' || ev === 'WRITE_UNLOCK') return 'broken';
      return 'wait';
    case 'writeHeld':
      if (ev === 'WRITE_UNLOCK') return ['unlocked', 0];
      if (ev === 'READ_UNLOCK') return 'broken';
      return 'wait';
    default:
      return 'wait';
  }
}

test('the lock word of an unlocked lock is 0 and state indices fit the encoding', (t) => {
  t.is(S('unlocked'), 0);
  t.true(machine.states.length < 128);
  t.deepEqual(machine.states.map((s) => s.name).sort(), ['broken', 'readHeld', 'unlocked', 'writeHeld', 'writerPending', 'writerWaiting']);
});

test('every state × event × reader count follows the queued-rwlock specification', (t) => {
  const p = new CompiledLockProtocol(machine);
  for (const state of ['unlocked', 'readHeld', 'writerWaiting', 'writerPending', 'writeHeld']) {
    const counts = state === 'readHeld' || state === 'writerWaiting' ? [1, 2, 3, 0xfffffe] : [0];
    for (const readers of counts) {
      for (const ev of EVENTS) {
        const want = spec(state, readers, ev);
        const got = p.next(word(state, readers), LOCK_EVENT[ev]);
        const expected = want === 'wait' ? LOCK_WAIT : want === 'broken' ? LOCK_BROKEN : word(want[0], want[1]);
        t.is(got, expected, `${state}(${readers}) ${ev}: got ${got === LOCK_WAIT ? 'WAIT' : got === LOCK_BROKEN ? 'BROKEN' : p.describe(got)}`);
      }
    }
  }
});

test('readers count up and down; the last one unlocks', (t) => {
  const p = new CompiledLockProtocol(machine);
  let w = 0;
  for (let i = 1; i <= 5; i++) { w = p.next(w, LOCK_EVENT.READ_LOCK); t.is(w, word('readHeld', i)); }
  t.is(p.describe(w), 'readHeld(5 readers)');
  for (let i = 4; i >= 1; i--) { w = p.next(w, LOCK_EVENT.READ_UNLOCK); t.is(w, word('readHeld', i)); }
  w = p.next(w, LOCK_EVENT.READ_UNLOCK);
  t.is(w, 0);
  t.is(p.describe(w), 'unlocked');
});

test('a writer excludes readers and writers; readers exclude a writer', (t) => {
  const p = new CompiledLockProtocol(machine);
  const wh = p.next(0, LOCK_EVENT.WRITE_LOCK);
  t.is(wh, word('writeHeld'));
  t.is(p.next(wh, LOCK_EVENT.READ_LOCK), LOCK_WAIT);
  t.is(p.next(wh, LOCK_EVENT.WRITE_LOCK), LOCK_WAIT);
  t.is(p.next(wh, LOCK_EVENT.WRITE_UNLOCK), 0);
  const r = p.next(0, LOCK_EVENT.READ_LOCK);
  t.is(p.next(r, LOCK_EVENT.WRITE_LOCK), LOCK_WAIT);
});

test('a waiting writer blocks new readers and the last reader hands the lock to it', (t) => {
  const p = new CompiledLockProtocol(machine);
  let w = p.next(p.next(0, LOCK_EVENT.READ_LOCK), LOCK_EVENT.READ_LOCK);
  t.is(p.next(w, LOCK_EVENT.WRITE_LOCK), LOCK_WAIT);
  w = p.next(w, LOCK_EVENT.WRITE_WAIT);
  t.is(w, word('writerWaiting', 2));
  t.is(p.describe(w), 'writerWaiting(2 readers)');
  t.is(p.next(w, LOCK_EVENT.READ_LOCK), LOCK_WAIT, 'new reader must queue behind the writer');
  t.is(p.next(w, LOCK_EVENT.WRITE_LOCK), LOCK_WAIT, 'the writer waits for the readers');
  w = p.next(w, LOCK_EVENT.READ_UNLOCK);
  t.is(w, word('writerWaiting', 1));
  w = p.next(w, LOCK_EVENT.READ_UNLOCK);
  t.is(w, word('writerPending', 0));
  t.is(p.next(w, LOCK_EVENT.READ_LOCK), LOCK_WAIT, 'reserved for the writer');
  w = p.next(w, LOCK_EVENT.WRITE_LOCK);
  t.is(w, word('writeHeld'));
  t.is(p.next(w, LOCK_EVENT.WRITE_UNLOCK), 0);
});

test('unlock without hold is LOCK_BROKEN', (t) => {
  const p = new CompiledLockProtocol(machine);
  t.is(p.next(0, LOCK_EVENT.READ_UNLOCK), LOCK_BROKEN);
  t.is(p.next(0, LOCK_EVENT.WRITE_UNLOCK), LOCK_BROKEN);
  t.is(p.next(word('readHeld', 1), LOCK_EVENT.WRITE_UNLOCK), LOCK_BROKEN);
  t.is(p.next(word('writeHeld'), LOCK_EVENT.READ_UNLOCK), LOCK_BROKEN);
  t.is(p.next(word('writerPending'), LOCK_EVENT.READ_UNLOCK), LOCK_BROKEN);
});

test('fired counts every transition taken, by id', (t) => {
  const p = new CompiledLockProtocol(machine);
  p.next(p.next(0, LOCK_EVENT.READ_LOCK), LOCK_EVENT.READ_UNLOCK);
  p.next(0, LOCK_EVENT.READ_LOCK);
  p.next(0, LOCK_EVENT.WRITE_UNLOCK);
  const byLabel = new Map(machine.transitions.map((tr) => [`${tr.event} ${tr.label}`, p.fired[tr.id]!]));
  t.is(byLabel.get('READ_LOCK unlocked → readHeld'), 2);
  t.is(byLabel.get('READ_UNLOCK readHeld → unlocked [lastReader]'), 1);
  t.is(byLabel.get('WRITE_UNLOCK unlocked → broken'), 1);
  t.is([...p.fired].reduce((a, b) => a + b, 0), 4);
});

test('a lock protocol needs the mmu-lock machine (unlocked = state 0)', (t) => {
  t.throws(() => new CompiledLockProtocol(compiled('vcpu')), { message: /initial state must be unlocked/ });
});

test('mutations apply: mmu-lock.lastReader=false never releases the lock', (t) => {
  const p = new CompiledLockProtocol(machine, buildMutations(COMPILED, ['mmu-lock.lastReader=false'], []));
  const w = p.next(p.next(0, LOCK_EVENT.READ_LOCK), LOCK_EVENT.READ_UNLOCK);
  t.is(w, word('readHeld', 0));
  t.is(p.next(w, LOCK_EVENT.WRITE_LOCK), LOCK_WAIT);
});

// ---------------------------------------------------------------- src/kvm/mmu-lock.ts on a Vm

function vm4(): Vm {
  return Vm.create({ type: 'default', vcpus: 2, guestBytes: 4 * MiB }, new CompiledLockProtocol(machine));
}

test('mmuReadTrylock / mmuWriteTrylock / unlocks on a Vm, with lockdep', (t) => {
  const vm = vm4(); // actors 0, 1 (vCPUs), 2 (host), 3 (vmm)
  t.is(mmuReadTrylock(vm, 0), 'ok');
  t.is(mmuReadTrylock(vm, 1), 'ok');
  t.is(lockHeld(vm, 0), LOCK_HELD_READ);
  t.is(lockHeld(vm, 1), LOCK_HELD_READ);
  t.is(lockHeld(vm, 2), LOCK_HELD_NONE);
  t.is(vm.lockProtocol.describe(Atomics.load(vm.i32, G.MMU_LOCK)), 'readHeld(2 readers)');
  t.is(mmuWriteTrylock(vm, 2), 'busy');
  t.is(lockHeld(vm, 2), LOCK_HELD_NONE);
  t.is(Atomics.load(vm.i32, G.MMU_LOCK), word('writerWaiting', 2), 'the failed write trylock marks the writer waiting');
  t.is(mmuReadTrylock(vm, 3), 'busy', 'a new reader waits behind the writer');
  t.is(lockHeld(vm, 3), LOCK_HELD_NONE);
  t.is(mmuWriteTrylock(vm, 2), 'busy');
  t.is(mmuReadUnlock(vm, 0), 'ok');
  t.is(lockHeld(vm, 0), LOCK_HELD_NONE);
  t.is(mmuReadUnlock(vm, 1), 'ok');
  t.is(Atomics.load(vm.i32, G.MMU_LOCK), word('writerPending'));
  t.is(mmuReadTrylock(vm, 3), 'busy');
  t.is(mmuWriteTrylock(vm, 2), 'ok');
  t.is(lockHeld(vm, 2), LOCK_HELD_WRITE);
  t.is(mmuReadTrylock(vm, 3), 'busy');
  t.is(mmuWriteTrylock(vm, 3), 'busy');
  t.is(mmuWriteUnlock(vm, 2), 'ok');
  t.is(lockHeld(vm, 2), LOCK_HELD_NONE);
  t.is(Atomics.load(vm.i32, G.MMU_LOCK), 0);
  t.is(mmuReadTrylock(vm, 3), 'ok');
});

test('unlock without hold is "broken" and leaves the lock word alone', (t) => {
  const vm = vm4();
  t.is(mmuReadUnlock(vm, 0), 'broken');
  t.is(mmuWriteUnlock(vm, 0), 'broken');
  t.is(Atomics.load(vm.i32, G.MMU_LOCK), 0);
  t.is(mmuReadTrylock(vm, 0), 'ok');
  const before = Atomics.load(vm.i32, G.MMU_LOCK);
  t.is(mmuWriteUnlock(vm, 0), 'broken', 'a reader write-unlocks');
  t.is(mmuReadUnlock(vm, 1), 'broken', 'someone else read-unlocks');
  t.is(Atomics.load(vm.i32, G.MMU_LOCK), before);
  t.is(lockHeld(vm, 0), LOCK_HELD_READ);
  t.is(mmuReadUnlock(vm, 0), 'ok');
  t.is(mmuWriteTrylock(vm, 1), 'ok');
  t.is(mmuReadUnlock(vm, 1), 'broken', 'a writer read-unlocks');
  t.is(lockHeld(vm, 1), LOCK_HELD_WRITE);
});

test('lockdep says held but the lock word disagrees → the machine reports broken', (t) => {
  const vm = vm4();
  Atomics.store(vm.i32, actorWord(vm.layout, 0, ACTOR.LOCK_HELD), LOCK_HELD_READ);
  t.is(mmuReadUnlock(vm, 0), 'broken');
  Atomics.store(vm.i32, actorWord(vm.layout, 1, ACTOR.LOCK_HELD), LOCK_HELD_WRITE);
  t.is(mmuWriteUnlock(vm, 1), 'broken');
  t.is(Atomics.load(vm.i32, G.MMU_LOCK), 0);
});

test('random interleavings never let a writer in with readers or another writer; every waiter eventually gets in', (t) => {
  // Each of 4 actors repeatedly wants the lock (read or write, from the command list), polling
  // trylock; the scheduler picks who steps next. Checked after every step.
  fc.assert(fc.property(
    fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    fc.array(fc.nat(3), { minLength: 20, maxLength: 300 }),
    (wantsWrite, schedule) => {
      const vm = vm4();
      const holding = [false, false, false, false];
      const acquisitions = [0, 0, 0, 0];
      const step = (a: number): void => {
        if (holding[a]) {
          const r = wantsWrite[a] ? mmuWriteUnlock(vm, a) : mmuReadUnlock(vm, a);
          if (r !== 'ok') throw new Error(`actor ${a} unlock → ${r}`);
          holding[a] = false;
          return;
        }
        const r = wantsWrite[a] ? mmuWriteTrylock(vm, a) : mmuReadTrylock(vm, a);
        if (r === 'broken') throw new Error('trylock broken');
        if (r === 'ok') { holding[a] = true; acquisitions[a]!++; }
      };
      for (const a of schedule) {
        step(a);
        const readers = holding.filter((h, i) => h && !wantsWrite[i]).length;
        const writers = holding.filter((h, i) => h && wantsWrite[i]).length;
        if (writers > 1 || (writers === 1 && readers > 0)) return false;
        const w = Atomics.load(vm.i32, G.MMU_LOCK);
        if (readers > 0 && (w & 0xffffff) !== readers) return false;
        for (let i = 0; i < 4; i++) {
          const want = holding[i] ? (wantsWrite[i] ? LOCK_HELD_WRITE : LOCK_HELD_READ) : LOCK_HELD_NONE;
          if (lockHeld(vm, i) !== want) return false;
        }
      }
      // Drain: round-robin until everybody got the lock at least once more (no starvation, no deadlock).
      const target = acquisitions.map((n) => n + 1);
      for (let round = 0; round < 100 && acquisitions.some((n, i) => n < target[i]!); round++) for (let a = 0; a < 4; a++) step(a);
      return acquisitions.every((n, i) => n >= target[i]!);
    },
  ), { seed: 42, numRuns: 300 });
  t.pass();
});
