/**
 * The threaded engine's own shared memory (beside the VM's): run control words, one
 * 128-byte line of status per actor (steps, progress, machine frames, the word it waits
 * on) and one event ring per actor. Not part of the modelled kernel: this is how the
 * engine stops, parks, watches and listens to actors without a message per fault.
 *
 * Rings are single-producer (the actor) single-consumer (the main thread): the producer
 * writes records then publishes HEAD; the consumer reads up to HEAD then publishes TAIL.
 * A full ring makes the producer wait for the consumer (nothing is dropped).
 */

import { LINE_WORDS } from '../kvm/layout.js';
import { ACTOR_RING_FULL_WAIT_MS } from '../kvm/limits.js';

/** Run-wide words. */
export const CTL = {
  /** Non-zero: actors take no new op (they finish the one in flight and end). */
  STOP: 0,
  /** Park generation: odd = every actor must park at its next step boundary. */
  PARK: 1,
  /** Violations reported by actors so far. */
  VIOLATIONS: 2,
  /** Non-zero: an actor must end now, even mid-op (the run is being torn down). */
  ABORT: 3,
  /** A staged run (op-source.ts StagePlan): the stage the vCPUs may run; the host's command and its acknowledgement. */
  STAGE: 4,
  HOST_CMD: 5,
  HOST_ACK: 6,
  /** Start barrier: actors ready to step (counted up), and the go signal the engine gives once all are. */
  READY: 7,
  GO: 8,
} as const;

/** Per-actor status line. */
export const AST = {
  /** ACTOR_STATUS_* */
  STATUS: 0,
  /** The park generation this actor is parked at. */
  PARKED: 1,
  /** Steps taken (wraps at 2^32). */
  STEPS: 2,
  /** Progress: completed ops and faults that did not retry. */
  PROGRESS: 3,
  /** VM word the actor waits on (-1: none). */
  WAIT_WORD: 4,
  /** Running machines: count, then (machine index << 16 | state index) per frame. */
  FRAME_COUNT: 5,
  FRAMES: 6,
  /** Ring head (records published by the actor). */
  RING_HEAD: 12,
  /** A staged run: 1 + the last stage this vCPU finished (0: none). */
  STAGE_DONE: 13,
} as const;
export const FRAMES_MAX = 6;
/** Ring tail: on its own line (written by the consumer). */
const TAIL_LINE = 1;

export const ACTOR_STATUS = { STARTING: 0, RUNNING: 1, WAITING: 2, PARKED: 3, SLEEPING: 4, DONE: 5, CRASHED: 6 } as const;
export const ACTOR_STATUS_NAMES = ['starting', 'running', 'waiting', 'parked', 'sleeping', 'done', 'crashed'] as const;

/** Event record: 4 words — (type << 24 | code), a, b, c. */
export const EVENT_WORDS = 4;

export const EV = {
  /** Page faults that ended with one outcome since the last record: code = outcome index (FAULT_OUTCOMES), a = count. */
  FAULT: 1,
  /** Guest accesses completed since the last record: a = count, b = of them through the TLB. */
  ACCESSES: 2,
  /** A guest access failed (exit to userspace): code = errno index (ERRNOS), a, b = its gfn's low and high words. */
  ACCESS_FAILED: 3,
  /** CAS failures since the last record: a = count. */
  CAS_FAILED: 4,
  /** Leaf SPTEs zapped since the last record: a = count. */
  ZAPS: 5,
  /** Remote TLB flushes requested since the last record: a = count. */
  FLUSHES: 6,
  /** A host invalidation ended: code = kind index (HOST_KINDS), a = pages freed. */
  INVALIDATION: 7,
  /** A memslot ioctl ended: code = change index (MEMSLOT_CHANGES), a = errno index + 1 (0: success). */
  MEMSLOT: 8,
  /** KVM_SET_MEMORY_ATTRIBUTES ended: a = errno index + 1, b = private (1) or shared (0). */
  ATTRIBUTES: 9,
  /** A pre-fault op ended: a = errno index + 1, b = pages it mapped, c = ioctl calls. */
  PRE_FAULT: 10,
  /** A dirty-log ioctl ended: code = 0 get / 1 clear, a = errno index + 1, b = dirty pages. */
  DIRTY_LOG: 11,
  /** The actor reported a violation: a = its index in the actor's list. */
  VIOLATION: 12,
  /**
   * The vmm signalled a vCPU whose SRCU read lock held up its synchronize_srcu() for too
   * long (a VMM's kick out of an ioctl): a = the vCPU, b = ms waited.
   */
  KICK: 13,
  /** A vCPU finished a stage of a staged run: code = stage, a = accesses ok, b = failed with EFAULT, c = failed otherwise. */
  STAGE: 14,
  /** Faults retried for one reason since the last record: code = reason index (RETRY_REASON_LIST), a = count. */
  RETRY: 15,
  /** Zero-page CoW breaks run by a vCPU's write faults since the last record: a = count. */
  COW_BREAKS: 16,
} as const;

export interface ControlLayout {
  readonly actors: number;
  readonly ringRecords: number;
  readonly actorBase: number;
  readonly ringBase: number;
  readonly totalWords: number;
}

export function controlLayout(actors: number, ringRecords: number): ControlLayout {
  if ((ringRecords & (ringRecords - 1)) !== 0) throw new RangeError('ring records must be a power of two');
  const actorBase = LINE_WORDS;
  const ringBase = actorBase + actors * 2 * LINE_WORDS;
  return { actors, ringRecords, actorBase, ringBase, totalWords: ringBase + actors * ringRecords * EVENT_WORDS };
}

export class Control {
  readonly i32: Int32Array;

  constructor(readonly sab: SharedArrayBuffer, readonly layout: ControlLayout) {
    this.i32 = new Int32Array(sab);
  }

  static create(actors: number, ringRecords: number): Control {
    const layout = controlLayout(actors, ringRecords);
    const c = new Control(new SharedArrayBuffer(layout.totalWords * 4), layout);
    for (let a = 0; a < actors; a++) c.i32[c.word(a, AST.WAIT_WORD)] = -1;
    return c;
  }

  word(actor: number, field: number): number {
    return this.layout.actorBase + actor * 2 * LINE_WORDS + field;
  }

  tailWord(actor: number): number {
    return this.layout.actorBase + (actor * 2 + TAIL_LINE) * LINE_WORDS;
  }

  ringWord(actor: number, record: number): number {
    return this.layout.ringBase + (actor * this.layout.ringRecords + (record & (this.layout.ringRecords - 1))) * EVENT_WORDS;
  }

  get stopped(): boolean {
    return Atomics.load(this.i32, CTL.STOP) !== 0;
  }

  get aborted(): boolean {
    return Atomics.load(this.i32, CTL.ABORT) !== 0;
  }
}

/** The producer side of one actor's ring. */
export class RingWriter {
  private head = 0;
  private readonly headWord: number;
  private readonly tailWord: number;

  constructor(private readonly c: Control, private readonly actor: number) {
    this.headWord = c.word(actor, AST.RING_HEAD);
    this.tailWord = c.tailWord(actor);
  }

  /** Appends one record; waits while the ring is full (the consumer drains it). */
  emit(type: number, code: number, a: number, b = 0, c = 0): void {
    const i32 = this.c.i32;
    const cap = this.c.layout.ringRecords;
    while (this.head - Atomics.load(i32, this.tailWord) >= cap) {
      if (this.c.aborted) return;
      const t = Atomics.load(i32, this.tailWord);
      if (this.head - t >= cap) Atomics.wait(i32, this.tailWord, t, ACTOR_RING_FULL_WAIT_MS);
    }
    const w = this.c.ringWord(this.actor, this.head);
    i32[w] = (type << 24) | code;
    i32[w + 1] = a;
    i32[w + 2] = b;
    i32[w + 3] = c;
    this.head = (this.head + 1) | 0;
    Atomics.store(i32, this.headWord, this.head);
  }
}

/** One decoded event. */
export interface ActorEvent {
  readonly actor: number;
  readonly type: number;
  readonly code: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** The consumer side: reads every published record of an actor's ring. */
export function drainRing(c: Control, actor: number, out: (e: ActorEvent) => void): number {
  const i32 = c.i32;
  const tailWord = c.tailWord(actor);
  let tail = Atomics.load(i32, tailWord);
  const head = Atomics.load(i32, c.word(actor, AST.RING_HEAD));
  let n = 0;
  while (tail !== head) {
    const w = c.ringWord(actor, tail);
    const tc = i32[w]!;
    out({ actor, type: tc >>> 24, code: tc & 0xffffff, a: i32[w + 1]!, b: i32[w + 2]!, c: i32[w + 3]! });
    tail = (tail + 1) | 0;
    n++;
  }
  Atomics.store(i32, tailWord, tail);
  if (n > 0) Atomics.notify(i32, tailWord);
  return n;
}
