// Goal: the memory-attributes contract fires when the xarray does not hold what the last successful KVM_SET_MEMORY_ATTRIBUTES set — at the set's return, at a completed guest access, at the end of a run — and stays silent for a failed set, a set still in progress and the correct model; on whole runs it catches a set that stores nothing; method: the checker driven by hand on a real Vm, then scenarios on the deterministic engine with and without the skip, and a short threaded stress run (where the vmm's set is checked when it returns).

import test from 'ava';
import { AttributesContract } from '../../src/check/attributes-contract.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, kvmStoreMemoryAttributes } from '../../src/kvm/mem-attrs.js';
import { KVM_MEM_GUEST_MEMFD } from '../../src/kvm/memslots.js';
import type { Op } from '../../src/kvm/ops.js';
import { MiB, access, run, slot } from '../helpers/run.js';
import { startStress } from '../../src/workload/presets/index.js';
import { vmWithSlot } from '../kvm/fixtures.js';

const P = KVM_MEMORY_ATTRIBUTE_PRIVATE;

function contract() {
  const s = vmWithSlot({ type: 'sw_protected', flags: KVM_MEM_GUEST_MEMFD, npages: 1024 });
  return { vm: s.vm, c: new AttributesContract(s.vm) };
}

test('a set that returned 0 must read back; a later set overrides an earlier one', (t) => {
  const { vm, c } = contract();
  c.setBegin(16, 32);
  const v = c.setEnd(true, 16, 32, P);
  t.is(v?.kind, 'memory-attributes-conformance');
  t.is(v?.gfn, 16);
  kvmStoreMemoryAttributes(vm, 16, 32, P);
  t.is(c.atEnd(), null);
  c.setBegin(20, 24);
  kvmStoreMemoryAttributes(vm, 20, 24, 0);
  t.is(c.setEnd(true, 20, 24, 0), null);
  t.is(c.checkGfn(21), null);
  t.is(c.checkGfn(16), null);
  t.is(c.atEnd(), null);
  kvmStoreMemoryAttributes(vm, 30, 31, 0);
  t.is(c.checkGfn(30)?.gfn, 30, 'the fault would read shared where userspace set private');
  t.is(c.atEnd()?.gfn, 30);
});

test('a failed set, a set in progress and a gfn never set are not checked', (t) => {
  const { vm, c } = contract();
  t.false(c.watching);
  t.is(c.setEnd(false, 0, 8, P), null);
  t.is(c.atEnd(), null);
  kvmStoreMemoryAttributes(vm, 40, 48, P);
  c.setEnd(true, 40, 48, P);
  c.setBegin(40, 44);
  kvmStoreMemoryAttributes(vm, 40, 44, 0);
  t.is(c.checkGfn(41), null, 'the store of the set in progress has run');
  t.is(c.checkGfn(100), null);
  c.setEnd(false, 40, 44, 0);
  t.is(c.atEnd(), null, 'the failed set made its range unknown');
});

const VMM = 1;
const set = (gpa: number, size: number, attributes: bigint): Op => ({ op: 'set_memory_attributes', gpa: BigInt(gpa), size: BigInt(size), attributes, flags: 0n });
const base = { type: 'sw_protected' as const, setup: [slot(0, 0, 2 * MiB, KVM_MEM_GUEST_MEMFD)] };
const ops = [{ actor: 0, op: access(0x1000, 'write') }, { actor: VMM, op: set(0x1000, 0x3000, 8n) }, { actor: 0, op: access(0x2000) }, { actor: VMM, op: set(0x2000, 0x1000, 0n) }, { actor: 0, op: access(0x2000, 'write') }];

test('runs: the correct model keeps the contract under random interleavings', (t) => {
  for (let seed = 0; seed < 30; seed++) t.deepEqual(run({ ...base, ops, scheduler: 'random', seed }).violations, [], `seed ${seed}`);
});

test('runs: a KVM_SET_MEMORY_ATTRIBUTES that stores nothing breaks the contract', (t) => {
  const r = run({ ...base, ops, skip: ['invalidation.storeAttributes'] });
  t.is(r.violations[0]?.kind, 'memory-attributes-conformance', JSON.stringify(r.violations[0]));
});

test('threaded: the vmm thread checks each set when it returns', async (t) => {
  const r = await startStress({
    stress: { vcpus: 1, memoryBytes: 16 * MiB, durationMs: 1000, accesses: null, workload: 'uniform', churn: { attributes: 400 }, backingLevel: 1, vmType: 'sw_protected', seed: 1, writeRatio: 0.5 },
    skip: ['invalidation.storeAttributes'],
  }).result;
  t.is(r.violations[0]?.kind, 'memory-attributes-conformance', JSON.stringify(r.violations[0]));
  t.deepEqual(r.violations[0]?.actors, ['vmm']);
});
