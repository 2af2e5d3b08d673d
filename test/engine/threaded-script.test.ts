// Goal: a scripted actor's source — ops in order, an op gated on another thread's op sleeps until that op is done, an access stream handed out one access at a time, each op's flag and end time set once it is done; method: drive ScriptSource directly over a script buffer.

import test from 'ava';
import { ScriptSource, createOpSource, scriptBuffer, scriptSpec, scriptViews, type ScriptedOp } from '../../src/engine/threaded-script.js';
import type { Op, OpResult } from '../../src/kvm/ops.js';

const ok: OpResult = { op: 'access', ok: true, errno: null, emulated: false, exits: 0 };

test('an access stream one access at a time, then the next op; flags and end times set as each ends', (t) => {
  const sab = scriptBuffer(3);
  const ops: ScriptedOp[] = [
    { index: 0, op: { op: 'access_stream', gfns: Uint32Array.of(5, 6), kinds: Uint8Array.of(1, 0) } },
    { index: 2, op: { op: 'mmu_reset' } },
  ];
  let clock = 100;
  const src = new ScriptSource(ops, sab, 3, () => clock++);
  const v = scriptViews(sab, 3);
  const got: Op[] = [];
  for (let n = src.next(0); n !== null; n = src.next(0)) {
    if (!('op' in n)) return t.fail('nothing is gated');
    got.push(n.op);
    src.completed(n.op, ok);
  }
  t.deepEqual(got, [{ op: 'access', gpa: 5 * 4096, access: 'write' }, { op: 'access', gpa: 6 * 4096, access: 'read' }, { op: 'mmu_reset' }]);
  t.deepEqual([...v.done], [1, 0, 1]);
  t.deepEqual([...v.endMs], [100, 0, 101]);
});

test('an op after another actor\'s op sleeps until that op\'s flag is set', (t) => {
  const sab = scriptBuffer(2);
  const spec = scriptSpec({ sab, nOps: 2 }, [[{ index: 1, op: { op: 'mmu_reset' }, after: 0 }], []]);
  const ctx = { vcpus: 1, hostActor: 1, startMs: 0, signals: null as never, manualDirtyLogProtect: false, epochMs: () => 7 };
  const gated = createOpSource(spec.data, { ...ctx, actor: 0, actorData: spec.actorData![0] });
  const n = gated.next(10);
  t.true(n !== null && 'sleepUntil' in n && n.sleepUntil > 10);
  Atomics.store(scriptViews(sab, 2).done, 0, 1);
  t.deepEqual(gated.next(11), { op: { op: 'mmu_reset' } });
  t.is(createOpSource(spec.data, { ...ctx, actor: 1, actorData: spec.actorData![1] }).next(0), null, 'actor 1 has no ops');
});
