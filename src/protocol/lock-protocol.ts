/**
 * The compiled mmu-lock machine as the LockProtocol of src/kvm/mmu-lock.ts: a lock word
 * is (state index << 24) | readers; the next word for an event is found by stepping the
 * machine's table from the decoded state. `unlocked` is state 0, so a zeroed word is an
 * unlocked lock.
 */

import { LOCK_MEMO_ENTRIES } from '../kvm/limits.js';
import { LOCK_BROKEN, LOCK_EVENT_NAMES, LOCK_READERS_MASK, LOCK_STATE_SHIFT, LOCK_WAIT, type LockEvent, type LockProtocol } from '../kvm/mmu-lock.js';
import type { CompiledMachine } from './compile.js';
import { NO_MUTATIONS, type Mutations } from './mutations.js';
import { BoundMachine, CompiledRunner, type Impl } from './runner.js';

interface LockCtx {
  readers: number;
}


export const LOCK_IMPL: Impl<LockCtx> = {
  guards: { lastReader: (c) => c.readers === 1 },
  actions: {
    addReader: (c) => { c.readers++; },
    dropReader: (c) => { c.readers--; },
  },
};

export class CompiledLockProtocol implements LockProtocol {
  private readonly runner: CompiledRunner<LockCtx>;
  private readonly ctx: LockCtx = { readers: 0 };
  /** The machine's event index of each LockEvent. */
  private readonly eventIdx: Int32Array;
  private readonly broken: number;
  /** How often each mmu-lock transition fired (coverage). */
  readonly fired: Uint32Array;

  constructor(readonly machine: CompiledMachine, mutations: Mutations = NO_MUTATIONS) {
    if (machine.stateIndex.get('unlocked') !== 0) throw new Error('mmu-lock: the initial state must be unlocked (index 0)');
    this.runner = new CompiledRunner(new BoundMachine(machine, LOCK_IMPL, mutations));
    this.eventIdx = Int32Array.from(LOCK_EVENT_NAMES, (name) => {
      const i = machine.eventIndex.get(name);
      if (i === undefined) throw new Error(`mmu-lock machine has no event ${name}`);
      return i;
    });
    this.broken = machine.stateIndex.get('broken') ?? -1;
    this.brokenStates = Uint8Array.from(machine.states, (st) => (st.name.startsWith('broken') ? 1 : 0));
    this.fired = new Uint32Array(machine.transitions.length);
  }

  /**
   * Results already computed by the machine, by (word, event): the lock word's protocol is
   * deterministic in its inputs, so a repeat is answered from here (coverage still counted).
   */
  private readonly memoWord = new Int32Array(LOCK_MEMO_ENTRIES).fill(-1);
  private readonly memoNext = new Int32Array(LOCK_MEMO_ENTRIES);
  private readonly memoId = new Int32Array(LOCK_MEMO_ENTRIES);

  next(word: number, event: LockEvent): number {
    const ev = this.eventIdx[event]!;
    // Direct-mapped by (low bits of the reader count and state, event).
    const slot = ((((word >>> LOCK_STATE_SHIFT) * 31 + (word & 0xff)) << 3) + ev) & (LOCK_MEMO_ENTRIES - 1);
    if (this.memoWord[slot] === word && this.memoEv[slot] === ev) {
      const id = this.memoId[slot]!;
      if (id >= 0) this.fired[id]!++;
      return this.memoNext[slot]!;
    }
    const result = this.step(word, ev);
    this.memoWord[slot] = word;
    this.memoEv[slot] = ev;
    this.memoNext[slot] = result.next;
    this.memoId[slot] = result.id;
    return result.next;
  }

  private readonly memoEv = new Int8Array(LOCK_MEMO_ENTRIES);

  private step(word: number, ev: number): { next: number; id: number } {
    this.runner.state = word >>> LOCK_STATE_SHIFT;
    this.ctx.readers = word & LOCK_READERS_MASK;
    const t = this.runner.send(this.ctx, ev);
    if (t === null) return { next: LOCK_WAIT, id: -1 };
    this.fired[t.id]!++;
    if (this.runner.state === this.broken) return { next: LOCK_BROKEN, id: t.id };
    return { next: ((this.runner.state << LOCK_STATE_SHIFT) | this.ctx.readers) | 0, id: t.id };
  }

  /** 1 for each state whose name starts with `broken`. */
  private readonly brokenStates: Uint8Array;

  isBroken(word: number): boolean {
    return this.brokenStates[word >>> LOCK_STATE_SHIFT] === 1;
  }

  describe(word: number): string {
    const name = this.machine.states[word >>> LOCK_STATE_SHIFT]?.name ?? `state#${word >>> LOCK_STATE_SHIFT}`;
    const readers = word & LOCK_READERS_MASK;
    return readers > 0 ? `${name}(${readers} readers)` : name;
  }
}
