// Goal: an actor's kernel-side state reset in place is the state of one just built — every
// field of every nested object, whatever a run left in it — and what the reset cannot put
// back (an array of objects, a cycle) is refused when it is compiled, not skipped. Method:
// scribble over every field of a KvmActor, reset it, and compare it field by field with a
// fresh one.

import test from 'ava';
import { KvmActor, type OpQueue } from '../../src/kvm/actor.js';
import type { FindingSink } from '../../src/kvm/findings.js';
import { Vm } from '../../src/kvm/vm.js';
import { CompiledLockProtocol } from '../../src/protocol/lock-protocol.js';
import { compiled } from '../../src/protocol/machines.js';
import { NO_MUTATIONS } from '../../src/protocol/mutations.js';
import { compileReset } from '../../src/engine/reset-in-place.js';

const vm = Vm.create({ type: 'default', vcpus: 1, guestBytes: 4 << 20 }, new CompiledLockProtocol(compiled('mmu-lock'), NO_MUTATIONS));
const queue: OpQueue = { peek: () => null, complete: () => {}, replaceHead: () => {} };
const sink: FindingSink = { report: () => {} };
/** What the engine sets on an actor and shares with it: not the actor's own state. */
const SHARED = new Set(['vm', 'queue', 'sink', 'stateLabels', 'spteWriteHook']);

/** Changes every field reachable from `o` (numbers, strings, flags, bigints, nulls, arrays, maps, typed arrays). */
function scribble(o: Record<string, unknown>, seen = new Set<object>()): number {
  seen.add(o);
  let n = 0;
  for (const k of Object.keys(o)) {
    if (SHARED.has(k)) continue;
    const v = o[k];
    n++;
    if (typeof v === 'number') o[k] = v + 7;
    else if (typeof v === 'string') o[k] = `${v}x`;
    else if (typeof v === 'boolean') o[k] = !v;
    else if (typeof v === 'bigint') o[k] = v + 7n;
    else if (v === null) o[k] = 'scribbled';
    else if (ArrayBuffer.isView(v)) (v as Int32Array).fill(3);
    else if (Array.isArray(v)) v.push(1, 2);
    else if (v instanceof Map) v.set('x', 1);
    else if (typeof v === 'object' && !seen.has(v)) n += scribble(v as Record<string, unknown>, seen);
  }
  return n;
}

function own(a: KvmActor): Record<string, unknown> {
  return Object.fromEntries(Object.entries(a).filter(([k]) => !SHARED.has(k)));
}

for (const actor of [0, 1, 2]) {
  test(`actor ${actor}: every field scribbled over is reset to a fresh actor's`, (t) => {
    const a = new KvmActor(vm, actor, queue, sink);
    const reset = compileReset(a, new KvmActor(vm, actor, queue, sink));
    const fields = scribble(a as unknown as Record<string, unknown>);
    t.true(fields > 100, `${fields} fields scribbled`);
    t.notDeepEqual(own(a), own(new KvmActor(vm, actor, queue, sink)));
    reset(a);
    t.deepEqual(own(a), own(new KvmActor(vm, actor, queue, sink)));
    // And again: the reset reads the pristine twin, which it never changes.
    scribble(a as unknown as Record<string, unknown>);
    reset(a);
    t.deepEqual(own(a), own(new KvmActor(vm, actor, queue, sink)));
  });
}

test('an engine hook shared with the twin is left alone; one that differs is refused', (t) => {
  const hook = (): void => {};
  const a = new KvmActor(vm, 0, queue, sink);
  const twin = new KvmActor(vm, 0, queue, sink);
  a.spteWriteHook = hook;
  twin.spteWriteHook = hook;
  compileReset(a, twin)(a);
  t.is(a.spteWriteHook, hook);
  twin.spteWriteHook = () => {};
  t.throws(() => compileReset(a, twin), { message: /spteWriteHook: a function field differs/ });
});

test('what cannot be reset field by field is refused when compiled', (t) => {
  t.throws(() => compileReset({ list: [{ x: 1 }] }, { list: [{ x: 1 }] }), { message: /list: an array of objects/ });
  const a: Record<string, unknown> = { x: 1 };
  const b: Record<string, unknown> = { x: 1 };
  a.self = { up: a };
  b.self = { up: b };
  t.throws(() => compileReset(a, b), { message: /cycle/ });
  t.throws(() => compileReset({ o: null }, { o: { x: 1 } }), { message: /o: not an object/ });
});
