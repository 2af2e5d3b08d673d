/**
 * The op queue of a threaded actor: the head op, drawn from the workload's source on
 * demand (ActorRuntime steps it like the deterministic engine's fixed queue).
 */

import type { Op, OpResult } from '../kvm/ops.js';
import type { RuntimeQueue } from './actor-runtime.js';
import type { Control } from './control.js';
import type { OpSource } from './op-source.js';

export class StreamQueue implements RuntimeQueue {
  get hasHead(): boolean {
    return this.head !== null;
  }

  private head: Op | null = null;
  private ended = false;
  sleepUntil = 0;
  opsDone = 0;

  constructor(private readonly source: OpSource, private readonly ctl: Control, private readonly now: () => number, private readonly onComplete: (op: Op, r: OpResult) => void) {}

  /** Draws the next op if none is pending: 'ready', 'sleep' (sleepUntil set) or 'end'. */
  prepare(now: number): 'ready' | 'sleep' | 'end' {
    if (this.head !== null) return 'ready';
    if (this.ended || this.ctl.stopped) { this.ended = true; return 'end'; }
    const n = this.source.next(now);
    if (n === null) { this.ended = true; return 'end'; }
    if ('sleepUntil' in n) { this.sleepUntil = n.sleepUntil; return 'sleep'; }
    this.head = n.op;
    return 'ready';
  }

  peek(): Op | null {
    if (this.head === null && this.prepare(this.now()) !== 'ready') return null;
    return this.head;
  }

  complete(result: OpResult): void {
    const op = this.head;
    if (op === null) throw new Error('op completed with an empty queue');
    this.head = null;
    this.opsDone++;
    this.source.completed?.(op, result);
    this.onComplete(op, result);
  }

  replaceHead(op: Op): void {
    if (this.head === null) throw new Error('replaceHead with an empty queue');
    this.head = op;
  }

  headIndex(): number {
    return this.opsDone;
  }

  headGate(): number {
    return -1;
  }
}
