/**
 * A threaded actor's step loop: the ActorRuntime stepped as fast as the thread goes.
 *
 * Between steps the loop publishes its step count, progress and machine frames, writes
 * events to its ring, and looks at the run's control words (stop, park). A step that
 * cannot proceed names the VM word it waits on: the loop spins briefly on it, then
 * Atomics.wait()s with a short timeout (so a park or stop request is seen), never burning
 * a core another actor needs. Nothing here sends a message per fault.
 */

import { ACTOR, actorWord } from '../kvm/layout.js';
import { ACTOR_CONTROL_WAIT_MS, ACTOR_SLEEP_MAX_MS, ACTOR_SPINS, ACTOR_TICK_STEPS, ACTOR_WAIT_MS } from '../kvm/limits.js';
import { countFaultDone, type ActorRuntime } from './actor-runtime.js';
import { ACTOR_STATUS, AST, CTL, EV } from './control.js';
import type { ActorParts } from './threaded-actor-setup.js';

export class ActorLoop {
  steps = 0;
  /** Steps that did not end waiting (what the watchdog counts: retries of a wait are not steps). */
  activeSteps = 0;
  private waitRounds = 0;
  /** When to kick the SRCU reader this actor waits for (-1: not waiting on one). */
  private kickAt = -1;
  private status: number = ACTOR_STATUS.RUNNING;
  private readonly progressWord: number;

  constructor(private readonly p: ActorParts) {
    this.progressWord = p.word(AST.PROGRESS);
  }

  /** Steps until the runtime is done, the workload ends or the run stops. */
  run(): void {
    const { rt, queue, ctl, now } = this.p;
    const crashAfter = this.p.task.crashAfterSteps;
    this.setStatus(ACTOR_STATUS.RUNNING);
    this.p.frames.publish();
    for (let iter = 0; ; iter++) {
      if ((iter & (ACTOR_TICK_STEPS - 1)) === 0 || this.status !== ACTOR_STATUS.RUNNING) {
        if (ctl.aborted) break;
        this.parkIfAsked();
        this.publish();
      }
      // (Not rt.finished: for host and vmm it peeks, and a source that sleeps has no op yet.)
      if (rt.done) break;
      if (rt.waiting && this.waitStep()) continue;
      if (this.status === ACTOR_STATUS.WAITING && !rt.waiting) {
        Atomics.store(ctl.i32, this.p.word(AST.WAIT_WORD), -1);
        this.setStatusOnce(ACTOR_STATUS.RUNNING);
      }
      if (rt.betweenOps && !queue.hasHead) {
        const next = queue.prepare(now());
        if (next === 'end' && !rt.a.isVcpu) break; // (a vCPU steps on: its machine stops)
        if (next === 'sleep') {
          this.sleep();
          continue;
        }
        this.setStatusOnce(ACTOR_STATUS.RUNNING);
      }
      rt.step(this.steps, this.onFaultDone);
      this.steps++;
      if (crashAfter !== undefined && this.steps >= crashAfter) throw new Error(`injected crash after ${this.steps} steps`);
      if (!rt.waiting) {
        this.activeSteps++;
        this.kickAt = -1;
      }
    }
    this.publish();
    this.p.counters.flush(true);
  }

  /** A fault ended: progress unless it retried with no one else to run, and its counts. */
  private readonly onFaultDone = (r: ActorRuntime): void => {
    const spinning = countFaultDone(r.a);
    const f = r.a.fault;
    if (!spinning) Atomics.add(this.p.ctl.i32, this.progressWord, 1);
    this.p.counters.faultDone(f.ret, f.errno, f.retryReason);
  };

  /** The runtime waits on a word: true if the loop waited (look again), false to step. */
  private waitStep(): boolean {
    const rt = this.p.rt;
    if (!rt.wakeIfChanged()) {
      if (this.kickAt >= 0 && this.p.now() >= this.kickAt) this.kickSrcuReader(rt.a.blockWord);
      if (this.waitRounds === 0) {
        this.waitOn(rt.a.blockWord, rt.a.blockValue);
        return true;
      }
      // Unlike the deterministic engine, a step here is not atomic: the word may have
      // changed between the failed try and the wait's load of it (a lost wake-up), so
      // after one timed wait the step is simply tried again.
      rt.a.clearWait();
    }
    this.waitRounds = 0;
    return false;
  }

  /** Publishes the wait, spins on the word a little, then waits on it briefly. */
  private waitOn(word: number, value: number): void {
    const vmI32 = this.p.vm.i32;
    Atomics.store(this.p.ctl.i32, this.p.word(AST.WAIT_WORD), word);
    this.setStatusOnce(ACTOR_STATUS.WAITING);
    this.publish();
    if (this.kickAt < 0 && this.srcuReaderOf(word) >= 0 && this.p.task.kickMs > 0) this.kickAt = this.p.now() + this.p.task.kickMs;
    this.waitRounds++;
    let woke = false;
    for (let i = 0; i < ACTOR_SPINS && !woke; i++) woke = Atomics.load(vmI32, word) !== value;
    if (!woke) Atomics.wait(vmI32, word, value, ACTOR_WAIT_MS);
  }

  /** Nothing due from the source yet: sleep until it is (at most ACTOR_SLEEP_MAX_MS; a stop wakes it). */
  private sleep(): void {
    this.setStatusOnce(ACTOR_STATUS.SLEEPING);
    this.p.counters.flush(true);
    const ms = Math.max(0, Math.min(this.p.queue.sleepUntil - this.p.now(), ACTOR_SLEEP_MAX_MS));
    if (ms > 0) Atomics.wait(this.p.ctl.i32, CTL.STOP, 0, ms);
  }

  /** The vCPU whose SRCU read-lock word this is (-1: none). */
  private srcuReaderOf(word: number): number {
    const vm = this.p.vm;
    for (let v = 0; v < vm.vcpus; v++) if (word === actorWord(vm.layout, v, ACTOR.SRCU_READ)) return v;
    return -1;
  }

  /** Signals the vCPU holding up this actor's synchronize_srcu(), as a VMM kicks a vCPU thread. */
  private kickSrcuReader(word: number): void {
    const v = this.srcuReaderOf(word);
    if (v >= 0) {
      Atomics.store(this.p.vm.i32, actorWord(this.p.vm.layout, v, ACTOR.SIGNAL), 1);
      this.p.ring.emit(EV.KICK, 0, v, Math.round(this.p.task.kickMs));
    }
    this.kickAt = this.p.now() + this.p.task.kickMs;
  }

  /** What the watchdog and a report read: steps, machine frames, counters — every tick and at every wait. */
  private publish(): void {
    Atomics.store(this.p.ctl.i32, this.p.word(AST.STEPS), this.activeSteps);
    this.p.frames.publish();
    this.p.counters.flush(false);
  }

  /** Parks until the park generation changes (a stop-the-world scan runs meanwhile). */
  private parkIfAsked(): void {
    const { ctl, word } = this.p;
    const gen = Atomics.load(ctl.i32, CTL.PARK);
    if ((gen & 1) === 0) return;
    this.p.counters.flush(true);
    this.p.frames.publish();
    const before = Atomics.load(ctl.i32, word(AST.STATUS));
    Atomics.store(ctl.i32, word(AST.PARKED), gen);
    this.setStatus(ACTOR_STATUS.PARKED);
    while (Atomics.load(ctl.i32, CTL.PARK) === gen && !ctl.aborted) Atomics.wait(ctl.i32, CTL.PARK, gen, ACTOR_CONTROL_WAIT_MS);
    this.setStatus(before);
  }

  setStatus(st: number): void {
    Atomics.store(this.p.ctl.i32, this.p.word(AST.STATUS), st);
  }

  private setStatusOnce(st: number): void {
    if (st !== this.status) { this.status = st; this.setStatus(st); }
  }
}
