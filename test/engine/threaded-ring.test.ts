// Goal: ring draining on the main thread — every actor's records reach the Subject in per-actor order, the totals and event count follow them, and nothing is read twice; method: write rings with RingWriter, drain with EventPump.

import test from 'ava';
import { Subject } from 'rxjs';
import { Control, EV, RingWriter, type ActorEvent } from '../../src/engine/control.js';
import { EventPump } from '../../src/engine/threaded-ring.js';

test('drainAll: every actor\'s records, in order per actor, counted into the totals', (t) => {
  const ctl = Control.create(3, 16);
  const out = new Subject<ActorEvent>();
  const seen: ActorEvent[] = [];
  out.subscribe((e) => seen.push(e));
  const pump = new EventPump(ctl, 3, out);
  const w0 = new RingWriter(ctl, 0);
  const w2 = new RingWriter(ctl, 2);
  w0.emit(EV.ACCESSES, 0, 100, 40);
  w2.emit(EV.ZAPS, 0, 3);
  w0.emit(EV.ACCESSES, 0, 50, 10);
  t.is(pump.drainAll(), 3);
  t.deepEqual(seen.map((e) => [e.actor, e.type, e.a]), [[0, EV.ACCESSES, 100], [0, EV.ACCESSES, 50], [2, EV.ZAPS, 3]]);
  t.is(pump.events, 3);
  t.is(pump.stats.accesses, 150);
  t.is(pump.stats.tlbHits, 50);
  t.is(pump.stats.zaps, 3);
  t.deepEqual(pump.stats.perActor.map((a) => a.accesses), [150, 0, 0]);
  t.is(pump.drainAll(), 0, 'nothing is read twice');
  w2.emit(EV.FLUSHES, 0, 2);
  t.is(pump.drainAll(), 1);
  t.is(pump.stats.flushes, 2);
  t.is(pump.events, 4);
});
