// Goal: the stress configuration becomes the VM's setup — one slot for a default VM, a guest_memfd slot and a plain one with private memory, launch finish where the VM type needs it; method: call stressSetup and stressSlots.

import test from 'ava';
import { KVM_MEM_GUEST_MEMFD } from '../../src/kvm/memslots.js';
import { dirtyLogSlot, dummySlotGpa, stressSetup, stressSlots, type StressConfig } from '../../src/workload/stress.js';

const MiB = 1024 * 1024;
const cfg = (over: Partial<StressConfig> = {}): StressConfig => ({ vcpus: 4, memoryBytes: 64 * MiB, durationMs: 1000, accesses: null, workload: 'uniform', churn: {}, backingLevel: 1, vmType: 'sw_protected', seed: 9, writeRatio: 0.5, ...over });

test('setup: one slot for a default VM, two (guest_memfd, plain) for SW_PROTECTED, launch finish for SNP', (t) => {
  t.deepEqual(stressSetup(cfg({ vmType: 'default' })).map((o) => o.op), ['set_memslot']);
  t.deepEqual(stressSetup(cfg()).map((o) => o.op), ['set_memslot', 'set_memslot']);
  t.deepEqual(stressSetup(cfg({ vmType: 'snp' })).map((o) => o.op), ['set_memslot', 'set_memslot', 'finalize']);
});

test('slots: guest_memfd on the lower half (2 MiB aligned) with private memory, the plain rest logs dirty pages; the dummy slot\'s place', (t) => {
  const s = stressSlots(cfg({ memoryBytes: 10 * MiB }));
  t.deepEqual(s.map((x) => [x.id, x.gpa, x.size, x.flags]), [[0, 0, 4 * MiB, KVM_MEM_GUEST_MEMFD], [1, 4 * MiB, 6 * MiB, 0]]);
  t.is(dirtyLogSlot(cfg({ memoryBytes: 10 * MiB }))!.id, 1);
  t.deepEqual(stressSlots(cfg({ vmType: 'default' })).map((x) => [x.id, x.size, x.flags]), [[0, 64 * MiB, 0]]);
  t.is(dummySlotGpa(cfg({ memoryBytes: 5 * MiB })), 8 * MiB, 'a 2 MiB gap above 2 MiB-rounded memory');
  t.is(dummySlotGpa(cfg({ memoryBytes: 5 * MiB, preset: 'memslot-churn' })), 5 * MiB, 'the preset: right after guest memory');
});
