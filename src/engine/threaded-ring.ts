/**
 * Event-ring draining on the main thread: every actor's ring is read into one rxjs
 * Subject (statistics, progress, online checks observe it), in drain order — per actor in
 * order — and the run's totals and event count are kept as they pass.
 */

import type { Subject } from 'rxjs';
import { drainRing, type ActorEvent, type Control } from './control.js';
import { addEvent, emptyStats, type StressStats } from './streams.js';

export class EventPump {
  readonly stats: StressStats;
  events = 0;

  constructor(private readonly ctl: Control, private readonly actors: number, private readonly out: Subject<ActorEvent>) {
    this.stats = emptyStats(actors);
  }

  /** Reads every published record of every actor's ring; returns how many. */
  drainAll(): number {
    let n = 0;
    for (let a = 0; a < this.actors; a++) n += drainRing(this.ctl, a, this.onEvent);
    return n;
  }

  private readonly onEvent = (e: ActorEvent): void => {
    this.events++;
    addEvent(this.stats, e);
    this.out.next(e);
  };
}
