// Goal: the watchdog's decision — a waiting actor reported first, no step or no progress for watchdogMs reported, idle, sleeping, done and ended actors never, and a reset forgives; method: feed StallClock samples at chosen times.

import test from 'ava';
import { ACTOR_STATUS } from '../../src/engine/control.js';
import { StallClock, type ActorSample } from '../../src/engine/threaded-watchdog.js';

const W = 1000;
const running = (steps: number, progress: number): ActorSample => ({ status: ACTOR_STATUS.RUNNING, steps, progress, settled: false });

test('an actor that steps and progresses is never a stall', (t) => {
  const c = new StallClock(2, W, 0);
  for (let now = 0; now <= 10 * W; now += 100) t.is(c.look(now, [running(now, now), running(now + 1, now)]), null);
});

test('no step for watchdogMs: a deadlock of that actor, with its last step', (t) => {
  const c = new StallClock(2, W, 0);
  t.is(c.look(0, [running(5, 1), running(7, 1)]), null);
  t.is(c.look(W - 1, [running(5, 1), running(8, 2)]), null);
  t.deepEqual(c.look(W, [running(5, 1), running(9, 3)]), { kind: 'no-step', actor: 0, step: 5, ms: W });
});

test('steps without progress for watchdogMs: a livelock, with the steps taken since the last progress', (t) => {
  const c = new StallClock(1, W, 0);
  t.is(c.look(0, [running(10, 4)]), null);
  t.is(c.look(W / 2, [running(500, 4)]), null);
  t.deepEqual(c.look(W, [running(900, 4)]), { kind: 'no-progress', actor: 0, step: 900, steps: 890, ms: W });
});

test('a waiting actor is reported before a running one that also stalled (it names the word everyone waits on)', (t) => {
  const c = new StallClock(2, W, 0);
  c.look(0, [running(3, 3), running(3, 3)]);
  const waiting: ActorSample = { status: ACTOR_STATUS.WAITING, steps: 3, progress: 3, settled: false };
  t.deepEqual(c.look(2 * W, [running(3, 3), waiting]), { kind: 'waiting', actor: 1, step: 3, ms: 2 * W });
});

test('sleeping, starting, done and ended actors are not watched; a reset counts as a step for everyone', (t) => {
  const c = new StallClock(4, W, 0);
  const idle = (status: number, settled = false): ActorSample => ({ status, steps: 0, progress: 0, settled });
  const samples = [idle(ACTOR_STATUS.SLEEPING), idle(ACTOR_STATUS.STARTING), idle(ACTOR_STATUS.DONE), idle(ACTOR_STATUS.RUNNING, true)];
  t.is(c.look(0, samples), null);
  t.is(c.look(5 * W, samples), null);
  const d = new StallClock(1, W, 0);
  d.look(0, [running(1, 1)]);
  d.reset(W * 0.9);
  t.is(d.look(W * 1.5, [running(1, 1)]), null, 'the reset at 0.9 s restarted the clock');
  t.is(d.look(W * 1.9, [running(1, 1)])?.kind, 'no-step');
});
