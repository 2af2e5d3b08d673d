/**
 * The state of one threaded run on the main thread, shared by the parts that watch it
 * (ring draining, watchdog, quiescent scans, stages, the pool): the VM and the control
 * memory, what every actor's worker returned so far, the violations found, and why the
 * run stops — set once, by the first to decide.
 */

import type { Violation } from '../kvm/findings.js';
import type { Vm } from '../kvm/vm.js';
import type { CompiledLockProtocol } from '../protocol/lock-protocol.js';
import { CTL, type Control } from './control.js';
import type { ActorOutcome } from './threaded-task.js';

export type StopReason = 'duration' | 'accesses' | 'stages' | 'violation' | 'watchdog' | 'actor-error';

export class RunState {
  readonly violations: Violation[] = [];
  stopReason: StopReason | null = null;
  /** Per actor: what its worker returned (null until then, or if it threw). */
  readonly outcomes: (ActorOutcome | null)[];
  /** Per actor: its worker's task has ended, either way. */
  readonly settled: boolean[];
  readonly nActors: number;

  constructor(readonly vm: Vm, readonly ctl: Control, readonly lock: CompiledLockProtocol) {
    this.nActors = vm.layout.actors;
    this.outcomes = new Array<ActorOutcome | null>(this.nActors).fill(null);
    this.settled = new Array<boolean>(this.nActors).fill(false);
  }

  actorName(a: number): string {
    return this.vm.actorName(a);
  }

  /** An actor's status-line field (AST). */
  read(actor: number, field: number): number {
    return Atomics.load(this.ctl.i32, this.ctl.word(actor, field));
  }

  /** Ends the run: actors take no new op; with `abort`, they end now, even mid-op. The first reason given stands. */
  stop(why: StopReason, abort = false): void {
    const i32 = this.ctl.i32;
    if (this.stopReason === null) this.stopReason = why;
    Atomics.store(i32, CTL.STOP, 1);
    Atomics.notify(i32, CTL.STOP);
    if (abort) {
      Atomics.store(i32, CTL.ABORT, 1);
      Atomics.notify(i32, CTL.PARK);
    }
  }

  /** A finding that ends the run at once. */
  fail(v: Violation, why: StopReason): void {
    this.violations.push(v);
    this.stop(why, true);
  }
}
