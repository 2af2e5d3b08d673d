// Goal: the provenance table names each SPTE's last writer and step, and keeps the list of SPTEs written since the last check only when a per-step check empties it — with check=end a long run must not grow it (a 64 GiB pre-fault wrote ~17 M entries before); method: direct calls, and a built run's write hook under each check mode.

import test from 'ava';
import { buildRun } from '../../src/engine/run-build.js';
import { SpteProvenanceTable } from '../../src/engine/provenance.js';
import { newVm, stubActor } from '../kvm/fixtures.js';
import { MiB, slot } from '../helpers/run.js';

test('note() records the writer, its step and label; get() names them; an SPTE never written has none', (t) => {
  const vm = newVm();
  const p = new SpteProvenanceTable(vm, ['', 'page-fault: target → installed']);
  const { a } = stubActor(vm, 0);
  a.step = 42;
  a.stepLabel = 1;
  const sptep = vm.layout.ptBase + 2 * 7;
  t.is(p.get(sptep), undefined);
  p.note(sptep, a);
  t.deepEqual(p.get(sptep), { actor: vm.actorName(0), step: 42, label: 'page-fault: target → installed' });
  t.deepEqual(p.touched, [sptep]);
});

test('without a per-step check the written SPTEs are not collected (no leak with check=end); with one they are', (t) => {
  const vm = newVm();
  const { a } = stubActor(vm, 0);
  const off = new SpteProvenanceTable(vm, [''], false);
  for (let i = 0; i < 1000; i++) off.note(vm.layout.ptBase + 2 * i, a);
  t.is(off.touched.length, 0);
  t.is(off.get(vm.layout.ptBase + 2 * 999)?.actor, vm.actorName(0), 'provenance itself is still kept');
  for (const [check, collects] of [['end', false], ['step', true], ['full', true], [undefined, true]] as const) {
    const b = buildRun({ vm: { type: 'default', vcpus: 1, guestBytes: 16 * MiB }, setup: [slot(0, 0, 16 * MiB)], ops: [], scheduler: 'sequential', seed: 1, ...(check !== undefined ? { check } : {}) });
    b.hook(b.vm.layout.ptBase, b.runtimes[0]!.a);
    t.is(b.provenance.touched.length, collects ? 1 : 0, String(check));
  }
});

test('the written bitmap marks each entry written; restore() puts back the snapshot tables and forgets the others', (t) => {
  const vm = newVm();
  const p = new SpteProvenanceTable(vm, ['', 'x']);
  const { a } = stubActor(vm, 0);
  const at = (table: number, i: number): number => vm.layout.ptBase + 2 * (table * 512 + i);
  t.is(p.writtenBits(3), undefined);
  a.step = 1;
  p.note(at(3, 37), a);
  t.is(p.writtenBits(3)![1], 1 << 5);
  p.snapshot();
  a.step = 2;
  p.note(at(3, 0), a);
  p.note(at(5, 511), a);
  t.is(p.get(at(3, 0))?.step, 2);
  t.is(p.writtenBits(5)![15], 1 << 31);
  p.restore();
  t.is(p.get(at(3, 0)), undefined);
  t.is(p.get(at(3, 37))?.step, 1);
  t.is(p.get(at(5, 511)), undefined);
  t.deepEqual([...p.writtenBits(3)!], [0, 1 << 5, ...new Array(14).fill(0)]);
  t.deepEqual([...p.writtenBits(5)!], new Array(16).fill(0));
  t.deepEqual(p.touched, []);
});
