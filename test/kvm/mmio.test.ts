// Goal: an access that reaches an MMIO SPTE is handle_mmio_page_fault(): emulated from the vCPU's MMIO info or an MMIO SPTE only while their memslot generation is current, else the full fault maps the memslot that appeared since; a generation taken as current while new memslots already back the gfn is `stale-mmio`; method: sequential runs counting which vCPU transitions fired, explorations of a memslot created under a vCPU's MMIO accesses with the generation's protections mutated away one by one.

import test from 'ava';
import type { OpResult } from '../../src/kvm/ops.js';
import { G } from '../../src/kvm/layout.js';
import { checkMmioSpte } from '../../src/kvm/mmio.js';
import { makeMmioHi, makeMmioLo } from '../../src/kvm/spte.js';
import { explore, type RaceTarget } from '../../src/race/race.js';
import { scenarioHash } from '../../src/race/token.js';
import { parseScenario } from '../../src/workload/scenario.js';
import { MiB, access, run, slot } from '../helpers/run.js';
import { newVm } from './fixtures.js';
import { KvmActor } from '../../src/kvm/actor.js';

const VMM = 2; // vcpus = 1: vcpu0, host, vmm
const emulated = (r: OpResult | null): boolean => {
  if (r?.op !== 'access') throw new Error(`not an access: ${JSON.stringify(r)}`);
  if (!r.ok) throw new Error(`access failed: ${JSON.stringify(r)}`);
  return r.emulated;
};
const fired = (r: ReturnType<typeof run>, transition: string): number => r.coverage.find((c) => c.machine === 'vcpu' && c.transition === transition)?.count ?? 0;

test('a gfn without a memslot is MMIO: the first access faults and installs an MMIO SPTE, the next ones are emulated from the MMIO info; after a memslot appears there the access maps memory', (t) => {
  const r = run({
    setup: [slot(0, 0, 16 * MiB)],
    ops: [
      { actor: 0, op: access(32 * MiB, 'write') },
      { actor: 0, op: access(32 * MiB, 'write') },
      { actor: VMM, op: slot(1, 32 * MiB, 2 * MiB) },
      { actor: 0, op: access(32 * MiB, 'write') },
      { actor: 0, op: access(32 * MiB, 'write') },
    ],
  });
  t.deepEqual(r.violations, []);
  t.deepEqual(r.results.filter((x) => x?.op === 'access').map(emulated), [true, true, false, false]);
  t.is(fired(r, 'mmio → entry [mmioInfoInCache]'), 1, 'the second access: the MMIO info at the current generation');
  t.is(fired(r, 'mmioCheck → exit [isMmioSpte]'), 1, 'after the create: the MMIO SPTE\'s generation is old, the full fault runs');
});

test('with the MMIO info on another gfn, the MMIO SPTE\'s own generation decides: current → emulated (and cached), old → the full fault', (t) => {
  const r = run({
    setup: [slot(0, 0, 16 * MiB)],
    ops: [
      { actor: 0, op: access(32 * MiB, 'read') },
      { actor: 0, op: access(40 * MiB, 'read') },
      { actor: 0, op: access(32 * MiB, 'read') },
      { actor: 0, op: access(40 * MiB, 'read') },
      { actor: VMM, op: slot(1, 32 * MiB, 2 * MiB) },
      { actor: 0, op: access(32 * MiB, 'read') },
    ],
  });
  t.deepEqual(r.violations, []);
  t.deepEqual(r.results.filter((x) => x?.op === 'access').map(emulated), [true, true, true, true, false]);
  t.is(fired(r, 'mmioCheck → entry [isMmioSpte && checkMmioSpte]'), 2);
  t.is(fired(r, 'mmioCheck → exit [isMmioSpte]'), 1);
});

test('check_mmio_spte() rejects every MMIO SPTE while a memslot update is in progress, and one of another generation', (t) => {
  const vm = newVm();
  const a = new KvmActor(vm, 0, { peek: () => null, complete: () => {}, replaceHead: () => {} }, { report: () => {} });
  const gen = Atomics.load(vm.i32, G.MEMSLOTS_GEN);
  a.mmioLo = makeMmioLo(0x2000, gen);
  a.mmioHi = makeMmioHi(0x2000, gen);
  t.true(checkMmioSpte(a));
  Atomics.store(vm.i32, G.MEMSLOTS_GEN_UPDATE_IN_PROGRESS, 1);
  t.false(checkMmioSpte(a));
  Atomics.store(vm.i32, G.MEMSLOTS_GEN_UPDATE_IN_PROGRESS, 0);
  Atomics.add(vm.i32, G.MEMSLOTS_GEN, 1);
  t.false(checkMmioSpte(a));
});

/** vcpu0 touches two unbacked gfns (its MMIO info keeps the second) while the VMM creates a memslot over the first, then touches the first again. */
const createUnderMmio = {
  name: 'create-under-mmio',
  vm: { type: 'default', vcpus: 1 },
  memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }],
  ops: [
    { actor: 'vcpu0', op: 'access', gpa: '32MiB', access: 'write' },
    { actor: 'vcpu0', op: 'access', gpa: '40MiB', access: 'write' },
    { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '32MiB', size: '2MiB', after: 0 },
    { actor: 'vcpu0', op: 'access', gpa: '32MiB', access: 'write', repeat: 4 },
  ],
};
const target: RaceTarget = { id: 'test:create-under-mmio', scenario: parseScenario(JSON.stringify(createUnderMmio), 'create-under-mmio'), hash: scenarioHash(createUnderMmio), entry: null };

test('a memslot created under a vCPU\'s MMIO accesses: no schedule of the portfolio emulates a gfn the new memslot backs', (t) => {
  const r = explore(target, { budget: 600 });
  t.false(r.found, r.run?.violations[0]?.message ?? '');
});

test('without KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS (the generation bumped only after synchronize_srcu), or with check_mmio_spte() or the MMIO info always trusted, a vCPU emulates a gfn the new memslot backs (stale-mmio)', (t) => {
  const cases: { skip?: string[]; mutate?: string[] }[] = [
    { skip: ['memslot-update.memslotsGenBeginUpdate'] },
    { mutate: ['vcpu.checkMmioSpte=true'] },
    { mutate: ['vcpu.mmioInfoInCache=true'] },
  ];
  for (const c of cases) {
    const r = explore(target, { budget: 600, ...c });
    const what = JSON.stringify(c);
    t.true(r.found, what);
    t.is(r.run!.violations[0]!.kind, 'stale-mmio', what);
  }
});
