/**
 * The main thread's watch over a threaded run, until every actor's worker has ended: the
 * start barrier (once every actor is ready, all go together), then every tick — drain the
 * rings, open the next stage, decide whether to stop (a violation, the duration, every
 * vCPU's workload done), look with the watchdog, and run a stop-the-world scan when one is
 * due. The main thread never steps the model.
 */

import { THREADED_START_POLL_MS, THREADED_STARTUP_MS, THREADED_TICK_MS } from '../kvm/limits.js';
import { ACTOR_STATUS, AST, CTL } from './control.js';
import type { EventPump } from './threaded-ring.js';
import type { RunState } from './threaded-run.js';
import type { Scanner } from './threaded-scan.js';
import type { StageKeeper } from './threaded-stages.js';
import type { Watchdog } from './threaded-watchdog.js';

/** When the run stops by itself. */
export interface StopRules {
  readonly stopOnViolation: boolean;
  /** Stop after this long (ms, from the start barrier); null: no time bound. */
  readonly durationMs: number | null;
  /** Stop once every vCPU's workload has ended (stop reason 'accesses'). */
  readonly untilVcpusDone: boolean;
  /** 0: scan only at the end. */
  readonly scanIntervalMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Supervisor {
  /** The start barrier's time (before it: when watching began). */
  t0 = performance.now();
  private started = false;
  private lastScan = this.t0;
  private done = false;

  constructor(private readonly run: RunState, private readonly pump: EventPump, private readonly watchdog: Watchdog, private readonly scanner: Scanner, private readonly stages: StageKeeper, private readonly rules: StopRules) {}

  /** Watches until `allSettled` resolves (every worker's task ended), then drains the rings a last time. */
  async watch(allSettled: Promise<void>): Promise<void> {
    void allSettled.then(() => { this.done = true; });
    while (!this.done) {
      this.startIfReady();
      await sleep(this.started ? THREADED_TICK_MS : THREADED_START_POLL_MS);
      this.pump.drainAll();
      if (this.started) await this.tick(performance.now());
      else this.checkStartup(performance.now());
    }
    this.pump.drainAll();
  }

  /** The start barrier: every actor has built its machines; let them go together. */
  private startIfReady(): void {
    const i32 = this.run.ctl.i32;
    if (this.started || Atomics.load(i32, CTL.READY) < this.run.nActors) return;
    this.started = true;
    this.t0 = performance.now();
    this.watchdog.clock.reset(this.t0);
    this.lastScan = this.t0;
    Atomics.store(i32, CTL.GO, 1);
    Atomics.notify(i32, CTL.GO);
  }

  private checkStartup(now: number): void {
    const r = this.run;
    if (now - this.t0 <= THREADED_STARTUP_MS || r.stopReason !== null) return;
    r.fail({ kind: 'actor-error', actors: [], step: -1, message: `only ${Atomics.load(r.ctl.i32, CTL.READY)} of ${r.nActors} actors started within ${THREADED_STARTUP_MS / 1000} s` }, 'actor-error');
  }

  private async tick(now: number): Promise<void> {
    const r = this.run;
    if (r.stopReason === null) this.stages.advance();
    if (r.stopReason === null) this.checkStop(now);
    this.watchdog.check();
    if (r.stopReason === null && this.rules.scanIntervalMs > 0 && now - this.lastScan >= this.rules.scanIntervalMs) {
      if (await this.scanner.quiescentScan()) this.watchdog.clock.reset(performance.now());
      this.lastScan = performance.now();
    }
  }

  private checkStop(now: number): void {
    const r = this.run;
    const rules = this.rules;
    if ((r.violations.length > 0 || Atomics.load(r.ctl.i32, CTL.VIOLATIONS) > 0) && rules.stopOnViolation) r.stop('violation');
    else if (rules.durationMs !== null && now - this.t0 >= rules.durationMs) r.stop('duration');
    else if (rules.untilVcpusDone && this.vcpusDone()) r.stop('accesses');
  }

  private vcpusDone(): boolean {
    const r = this.run;
    for (let v = 0; v < r.vm.vcpus; v++) if (!r.settled[v] && r.read(v, AST.STATUS) !== ACTOR_STATUS.DONE) return false;
    return true;
  }
}
