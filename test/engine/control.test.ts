// Goal: the event rings lose nothing — records come out in order across wrap-around, a full ring makes the producer wait for the consumer, and the stream folding counts every kind; method: a ring in one thread, and one filled from a real worker while the main thread drains.

import test from 'ava';
import { Worker } from 'node:worker_threads';
import { Control, EV, RingWriter, drainRing, type ActorEvent } from '../../src/engine/control.js';
import { addEvent, emptyStats } from '../../src/engine/streams.js';
import { faultOutcomeCode } from '../../src/engine/threaded-emit.js';

test('records come out in order across many wrap-arounds of a small ring', (t) => {
  const c = Control.create(2, 8);
  const w = new RingWriter(c, 1);
  const got: number[] = [];
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 5; i++) w.emit(EV.ZAPS, 0, round * 5 + i);
    drainRing(c, 1, (e) => got.push(e.a));
    t.is(drainRing(c, 0, () => t.fail('actor 0 wrote nothing')), 0);
  }
  t.deepEqual(got, Array.from({ length: 250 }, (_, i) => i));
});

test('a full ring blocks the producer (another thread) until the consumer drains: nothing is dropped', async (t) => {
  const c = Control.create(1, 16);
  const code = `
    const { workerData } = require('node:worker_threads');
    const i32 = new Int32Array(workerData.sab);
    const { headWord, tailWord, ringBase, cap, n } = workerData;
    let head = 0;
    for (let k = 0; k < n; k++) {
      while (head - Atomics.load(i32, tailWord) >= cap) Atomics.wait(i32, tailWord, Atomics.load(i32, tailWord), 5);
      const w = ringBase + (head & (cap - 1)) * 4;
      i32[w] = (${EV.ZAPS} << 24); i32[w + 1] = k; i32[w + 2] = 0; i32[w + 3] = 0;
      head = (head + 1) | 0;
      Atomics.store(i32, headWord, head);
    }`;
  // The worker speaks the RingWriter protocol on the same words (plain CJS: no build step).
  const n = 5000;
  const worker = new Worker(code, { eval: true, workerData: { sab: c.sab, headWord: c.word(0, 12), tailWord: c.tailWord(0), ringBase: c.layout.ringBase, cap: 16, n } });
  const got: number[] = [];
  const done = new Promise((r) => worker.on('exit', r));
  let exited = false;
  void done.then(() => { exited = true; });
  while (!exited || got.length < n) {
    drainRing(c, 0, (e) => got.push(e.a));
    await new Promise((r) => setTimeout(r, 1));
    if (exited) drainRing(c, 0, (e) => got.push(e.a));
    if (exited && got.length < n) break;
  }
  t.is(got.length, n);
  t.deepEqual(got.slice(0, 5), [0, 1, 2, 3, 4]);
  t.is(got[n - 1], n - 1);
});

test('stream folding: faults by outcome and retry reason, accesses, invalidations, pre-fault pages', (t) => {
  const s = emptyStats(3);
  const ev = (actor: number, type: number, code: number, a: number, b = 0, c = 0): ActorEvent => ({ actor, type, code, a, b, c });
  addEvent(s, ev(0, EV.FAULT, faultOutcomeCode('fixed', null), 1));
  addEvent(s, ev(1, EV.FAULT, faultOutcomeCode('retry', null), 1));
  addEvent(s, ev(1, EV.RETRY, 4, 1));
  addEvent(s, ev(1, EV.FAULT, faultOutcomeCode('continue', 'EFAULT'), 1));
  addEvent(s, ev(0, EV.ACCESSES, 0, 100, 40));
  addEvent(s, ev(2, EV.INVALIDATION, 0, 7));
  addEvent(s, ev(0, EV.PRE_FAULT, 0, 0, 512, 2));
  addEvent(s, ev(2, EV.MEMSLOT, 1, 0));
  t.deepEqual(s.faultsByRet, { fixed: 1, retry: 1, '-EFAULT': 1 });
  t.deepEqual(s.retriesByReason, { stale: 1 });
  t.is(s.accesses, 100);
  t.is(s.tlbHits, 40);
  t.deepEqual(s.invalidations, { migrate: 1 });
  t.is(s.pagesFreed, 7);
  t.is(s.preFaultPages, 512);
  t.is(s.preFaultCalls, 2);
  t.deepEqual(s.memslotChanges, { delete: 1 });
  t.deepEqual(s.perActor.map((p) => p.faults), [1, 2, 0]);
});
