/**
 * Stop-the-world scans at quiescent points: the main thread parks every running actor at
 * a step boundary through a shared word (an odd park generation), runs the full invariant
 * scan over every SPTE, memslot, attribute and TLB, and lets them go (the next, even,
 * generation). An actor that does not reach a step boundary within the watchdog's time is
 * a deadlock.
 */

import { THREADED_PARK_POLL_MS } from '../kvm/limits.js';
import { scanInvariants } from '../check/invariants.js';
import { ACTOR_STATUS, AST, CTL } from './control.js';
import { describeEveryone } from './threaded-describe.js';
import type { RunState } from './threaded-run.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Scanner {
  scans = 0;
  scanMs = 0;

  constructor(private readonly run: RunState, private readonly watchdogMs: number, private readonly drainAll: () => void) {}

  /** The full invariant scan, now (every actor parked, or ended). */
  scanAll(): void {
    const t = performance.now();
    for (const v of scanInvariants(this.run.vm)) this.run.violations.push({ ...v, message: `stop-the-world scan: ${v.message}` });
    this.scans++;
    this.scanMs += performance.now() - t;
  }

  /** Parks every running actor at a step boundary, scans, releases; false if they did not all park. */
  async quiescentScan(): Promise<boolean> {
    const i32 = this.run.ctl.i32;
    const gen = Atomics.add(i32, CTL.PARK, 1) + 1; // odd: park
    const deadline = performance.now() + this.watchdogMs;
    while (!this.allParked(gen)) {
      if (performance.now() > deadline || this.run.stopReason !== null) {
        this.release();
        if (this.run.stopReason === null) {
          this.run.fail({ kind: 'deadlock', actors: [], step: -1, message: `watchdog: not every actor reached a step boundary within ${this.watchdogMs} ms of a park request. Every actor: ${describeEveryone(this.run)}` }, 'watchdog');
        }
        return false;
      }
      await sleep(THREADED_PARK_POLL_MS);
    }
    this.scanAll();
    this.release();
    return true;
  }

  /** Drains the rings (a parked actor may wait on a full one), then: has every live actor parked at `gen`? */
  private allParked(gen: number): boolean {
    this.drainAll();
    const r = this.run;
    for (let a = 0; a < r.nActors; a++) {
      if (r.settled[a]) continue;
      const st = r.read(a, AST.STATUS);
      if (st === ACTOR_STATUS.DONE || st === ACTOR_STATUS.CRASHED) continue;
      if (r.read(a, AST.PARKED) !== gen) return false;
    }
    return true;
  }

  /** The next (even) park generation: everyone runs on. */
  private release(): void {
    Atomics.add(this.run.ctl.i32, CTL.PARK, 1);
    Atomics.notify(this.run.ctl.i32, CTL.PARK);
  }
}
