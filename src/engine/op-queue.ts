/**
 * An actor's op queue in the deterministic engine: the scenario's ops of that actor, in
 * order, each result stored at the op's scenario position; an access_stream op is served
 * one access at a time through a reused access op, and its result aggregated. Every guest
 * access that completes is checked for an errno a guest fault never returns
 * (src/check/guest-access.ts).
 */

import type { OpQueue } from '../kvm/actor.js';
import type { FindingSink } from '../kvm/findings.js';
import type { AccessKind, AccessStreamOp, Op, OpResult } from '../kvm/ops.js';
import type { Errno } from '../kvm/types.js';
import { checkGuestAccessErrno } from '../check/guest-access.js';
import type { UserspaceContract } from '../check/userspace-contract.js';

export interface QueuedOp {
  /** Position in the scenario's op list (results are indexed by it). */
  readonly index: number;
  op: Op;
  /** The op (or ops) that must complete before this one starts. */
  readonly after?: number | readonly number[];
}

/** The op queue an actor runtime reads: a scenario's ops, or a stress workload's stream. */
export interface RuntimeQueue extends OpQueue {
  /** Position of the head op in the run's op order (Infinity when none): schedulers use it. */
  headIndex(): number;
  /** The op the head op waits for (its `after`), or -1. */
  headGate(): number;
  /** A host or vmm op at the head begins (its ioctl is entered). */
  started?(op: Op): void;
}

const ACCESS_KINDS: readonly AccessKind[] = ['read', 'write', 'exec'];

/** An op whose `after` lists several ops (ActorQueue.gates). */
const AFTER_SEVERAL = -2;

/** An access_stream op in progress: the access at `pos` as a (reused) AccessOp, and the aggregate so far. */
class StreamCursor {
  pos = 0;
  readonly view: { op: 'access'; gpa: number; access: AccessKind } = { op: 'access', gpa: 0, access: 'read' };
  failed = 0;
  emulated = 0;
  exits = 0;
  errno: Errno | null = null;

  constructor(readonly op: AccessStreamOp) {
    this.load();
  }

  load(): void {
    this.view.gpa = this.op.gfns[this.pos]! * 4096;
    this.view.access = ACCESS_KINDS[this.op.kinds[this.pos]!] ?? 'read';
  }
}

/** Where an actor queue reports a guest access that ended with an errno it may not end with. */
export interface AccessCheck {
  readonly sink: FindingSink;
  readonly actor: string;
  /** kvm->vm_dead: KVM_RUN may end with EIO. */
  readonly vmDead: () => boolean;
  /** The run's userspace-contract checks, told of every op's start and end and every completed access. */
  readonly contract?: UserspaceContract;
}

export class ActorQueue implements RuntimeQueue {
  private head = 0;
  private stream: StreamCursor | null = null;

  /**
   * `check`: where a guest access that ends with an errno a guest fault never returns is
   * reported, and the actor it names (null: not checked — a setup queue has no accesses).
   */
  constructor(readonly items: QueuedOp[], private readonly results: (OpResult | null)[], private readonly check: AccessCheck | null = null) {
    this.ops = items.map((i) => i.op);
    this.indexes = items.map((i) => i.index);
    this.gates = items.map((i) => (i.after === undefined ? -1 : typeof i.after === 'number' ? i.after : AFTER_SEVERAL));
  }

  /** Per position, the op's scenario position (QueuedOp.index), in one packed list: the scheduling loop asks after every step. */
  private readonly indexes: readonly number[];
  /** Per position, the op its `after` names, -1 for none, AFTER_SEVERAL for a list (read from the item). */
  private readonly gates: readonly number[];

  /** The ops as queued (replaceHead changes an item's op). */
  private readonly ops: readonly Op[];

  /** Back to the first op, every op as queued (a run restored from a snapshot; the results are its owner's). */
  reset(): void {
    this.head = 0;
    this.stream = null;
    for (let i = 0; i < this.ops.length; i++) this.items[i]!.op = this.ops[i]!;
  }

  peek(): Op | null {
    for (;;) {
      const item = this.items[this.head];
      if (item === undefined) return null;
      if (item.op.op !== 'access_stream') return item.op;
      if (item.op.gfns.length === 0) {
        // Nothing to access: done at once.
        this.results[item.index] = { op: 'access_stream', accesses: 0, failed: 0, emulated: 0, exits: 0, errno: null };
        this.head++;
        continue;
      }
      if (this.stream === null || this.stream.op !== item.op) this.stream = new StreamCursor(item.op);
      return this.stream.view;
    }
  }

  headIndex(): number {
    return this.head < this.indexes.length ? this.indexes[this.head]! : Infinity;
  }

  /** The op the head op waits for: the first of its `after` ops not done yet, else the last of them; -1 when none. */
  headGate(): number {
    const gate = this.head < this.gates.length ? this.gates[this.head]! : -1;
    if (gate !== AFTER_SEVERAL) return gate;
    const after = this.items[this.head]!.after as readonly number[];
    for (const g of after) if (this.results[g] === null) return g;
    return after[after.length - 1] ?? -1;
  }

  started(op: Op): void {
    this.check?.contract?.opStarted(op);
  }

  complete(result: OpResult): void {
    const item = this.items[this.head];
    if (!item) throw new Error('op completed with an empty queue');
    const contract = this.check?.contract;
    if (result.op === 'access') {
      if (result.errno !== null) this.checkAccess(item.op, result.errno);
      else if (contract !== undefined && result.ok && !result.emulated) this.accessDone(contract, item.op);
    } else if (contract !== undefined) {
      contract.opCompleted(item.op, result);
    }
    if (item.op.op === 'access_stream') {
      const s = this.stream!;
      if (result.op === 'access') {
        s.exits += result.exits;
        if (result.emulated) s.emulated++;
        if (!result.ok) {
          s.failed++;
          s.errno ??= result.errno;
        }
      }
      s.pos++;
      if (s.pos < item.op.gfns.length) {
        s.load();
        return;
      }
      this.results[item.index] = { op: 'access_stream', accesses: item.op.gfns.length, failed: s.failed, emulated: s.emulated, exits: s.exits, errno: s.errno };
      this.stream = null;
      this.head++;
      return;
    }
    this.results[item.index] = result;
    this.head++;
  }

  /** A guest access (the head op, or the stream's current access) completed through the MMU. */
  private accessDone(contract: UserspaceContract, op: Op): void {
    const a = op.op === 'access_stream' ? this.stream!.view : op.op === 'access' ? op : null;
    if (a !== null) contract.accessCompleted(this.check!.actor, a.gpa, a.access === 'write');
  }

  /** A guest access (the head op, or the stream's current access) ended with `errno`. */
  private checkAccess(op: Op, errno: Errno): void {
    if (this.check === null) return;
    const gpa = op.op === 'access_stream' ? this.stream!.view.gpa : op.op === 'access' ? op.gpa : -1;
    const v = checkGuestAccessErrno(this.check.actor, gpa, errno, this.check.vmDead());
    if (v !== null) this.check.sink.report(v);
  }

  replaceHead(op: Op): void {
    const item = this.items[this.head];
    if (!item) throw new Error('replaceHead with an empty queue');
    item.op = op;
  }

  get remaining(): number {
    return this.items.length - this.head;
  }
}
