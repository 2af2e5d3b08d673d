// Goal: an actor's op queue serves a scenario's ops in order — an access_stream one access at a time with its result aggregated, `after` gates by the first unfinished op — and reports every guest access that ends with an errno a guest fault never returns; method: a queue driven by hand with a collecting sink.

import test from 'ava';
import type { Violation } from '../../src/kvm/findings.js';
import type { Op, OpResult } from '../../src/kvm/ops.js';
import type { Errno } from '../../src/kvm/types.js';
import { ActorQueue, type QueuedOp } from '../../src/engine/op-queue.js';

const accessDone = (errno: Errno | null): OpResult => ({ op: 'access', ok: errno === null, errno, emulated: false, exits: 1 });

function queue(items: QueuedOp[], checked = true): { q: ActorQueue; results: (OpResult | null)[]; found: Violation[] } {
  const results: (OpResult | null)[] = items.map(() => null);
  const found: Violation[] = [];
  const q = new ActorQueue(items, results, checked ? { sink: { report: (v) => found.push(v) }, actor: 'vcpu0', vmDead: () => false } : null);
  return { q, results, found };
}

test('an access_stream is served access by access, and its result sums them', (t) => {
  const stream: Op = { op: 'access_stream', gfns: Uint32Array.of(1, 2, 3), kinds: Uint8Array.of(0, 1, 2) };
  const { q, results } = queue([{ index: 0, op: stream }, { index: 1, op: { op: 'signal', vcpu: 0 } }]);
  const seen: string[] = [];
  for (const errno of [null, 'EFAULT', null] as const) {
    const op = q.peek();
    if (op?.op === 'access') seen.push(`${op.gpa.toString(16)}:${op.access}`);
    q.complete(accessDone(errno));
  }
  t.deepEqual(seen, ['1000:read', '2000:write', '3000:exec']);
  t.deepEqual(results[0], { op: 'access_stream', accesses: 3, failed: 1, emulated: 0, exits: 3, errno: 'EFAULT' });
  t.is(q.headIndex(), 1);
  t.is(q.remaining, 1);
});

test('an empty access_stream completes at once', (t) => {
  const { q, results } = queue([{ index: 0, op: { op: 'access_stream', gfns: new Uint32Array(0), kinds: new Uint8Array(0) } }]);
  t.is(q.peek(), null);
  t.like(results[0], { op: 'access_stream', accesses: 0 });
  t.is(q.headIndex(), Infinity);
});

test('the head gate is the first `after` op not done yet, else the last', (t) => {
  const { q, results } = queue([{ index: 2, op: { op: 'signal', vcpu: 0 }, after: [0, 1] }]);
  t.is(q.headGate(), 0);
  results[0] = { op: 'signal', ret: 0 };
  t.is(q.headGate(), 1);
  results[1] = { op: 'signal', ret: 0 };
  t.is(q.headGate(), 1);
});

test('head position and gate follow the queue: one `after` op, none, then the end', (t) => {
  const { q } = queue([{ index: 3, op: { op: 'signal', vcpu: 0 }, after: 1 }, { index: 5, op: { op: 'signal', vcpu: 0 } }]);
  t.is(q.headIndex(), 3);
  t.is(q.headGate(), 1);
  q.complete({ op: 'signal', ret: 0 });
  t.is(q.headIndex(), 5);
  t.is(q.headGate(), -1);
  q.complete({ op: 'signal', ret: 0 });
  t.is(q.headIndex(), Infinity);
  t.is(q.headGate(), -1);
  q.reset();
  t.is(q.headIndex(), 3);
  t.is(q.headGate(), 1);
});

test('a guest access ending with EAGAIN is reported with its gpa — in a stream, the access that failed; EFAULT is not', (t) => {
  const { q, found } = queue([
    { index: 0, op: { op: 'access', gpa: 0x5000, access: 'read' } },
    { index: 1, op: { op: 'access_stream', gfns: Uint32Array.of(7, 9), kinds: Uint8Array.of(0, 0) } },
  ]);
  // (The runtime always peeks at the op it runs before completing it.)
  const done = (errno: Errno | null): void => { q.peek(); q.complete(accessDone(errno)); };
  done('EFAULT');
  t.deepEqual(found, []);
  done(null);
  done('EAGAIN');
  t.is(found.length, 1);
  t.like(found[0], { kind: 'access-conformance', actors: ['vcpu0'], gpa: 0x9000, gfn: 9, errno: 'EAGAIN' });
});

test('a queue without a check reports nothing', (t) => {
  const { q, found } = queue([{ index: 0, op: { op: 'access', gpa: 0x5000, access: 'read' } }], false);
  q.complete(accessDone('ENOENT'));
  t.deepEqual(found, []);
});
