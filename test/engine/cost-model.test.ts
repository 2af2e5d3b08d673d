// Goal: the simulated clock charges exactly what the cost model says for what each step did (checked against a count made by hand), runs actors in parallel in virtual time and makes a waiter resume when the step that released it ended; method: tiny deterministic runs with one-hot cost models.

import test from 'ava';
import { runDeterministic, type RunResult } from '../../src/engine/deterministic.js';
import { COST_DEFAULTS, COST_KEYS, CostError, costModelOf, type CostKey, type CostModel } from '../../src/engine/cost-model.js';
import { EarliestClockScheduler } from '../../src/sched/scheduler.js';
import type { HostMemory } from '../../src/kvm/host.js';
import type { Op } from '../../src/kvm/ops.js';

const MiB = 1024 * 1024;
const oneHot = (k: CostKey): CostModel => Object.fromEntries(COST_KEYS.map((x) => [x, x === k ? 1 : 0])) as CostModel;
const slot = (backingLevel: number, hostMemory: HostMemory): Op => ({ op: 'set_memslot', slot: 0, gpa: 0n, size: BigInt(16 * MiB), flags: 0, backingLevel, hostMemory });
const read = (gpa: number): Op => ({ op: 'access', gpa, access: 'read' });
const write = (gpa: number): Op => ({ op: 'access', gpa, access: 'write' });

// Shared memory unless asked: a read allocates (and zeroes) a host page, as the hand counts expect.
function run(model: CostModel, ops: { actor: number; op: Op; after?: number }[], vcpus = 1, backingLevel = 1, hostMemory: HostMemory = backingLevel > 1 ? 'hugetlbfs' : 'shared'): RunResult {
  return runDeterministic({ vm: { type: 'default', vcpus, guestBytes: 64 * MiB }, setup: [slot(backingLevel, hostMemory)], ops, scheduler: new EarliestClockScheduler(), seed: 1, costModel: model });
}

test('one read of an unmapped 4K page, counted by hand: what each cost key is charged', (t) => {
  // vcpu: outside → entry; entry → entry (load the root); entry → guest (entry 1); guest → exit
  // (the access misses the TLB: a 4-level hardware walk, then the EPT violation's exit); the
  // fault: topup, snapshot, precheck, hva_to_pfn (gup + a first-touch host page, zeroed),
  // postcheck → lock (read_lock), checkStale, three levels walked and linked (3 tables, 3
  // CAS), the goal level walked, the leaf installed (a 4th CAS), done ⇒ exit → entry; entry →
  // guest (entry 2); the retried access walks in hardware again (miss, fills the TLB) and
  // completes; guest → outside; outside → stopped. 24 steps.
  const expected: Record<CostKey, number> = {
    vmExit: 1, vmEntry: 2, guestAccess: 1, hwWalkLevel: 8, walkLevel: 4, spteCas: 4, tableAlloc: 3, lock: 1, gup: 1,
    hostAlloc: 1, hostZero4k: 1, tlbFlushLocal: 0, tlbFlushRemote: 0, ioctl: 0, step: 24,
  };
  for (const k of COST_KEYS) t.is(run(oneHot(k), [{ actor: 0, op: read(0x5000) }]).sim!.timeNs, expected[k], k);
  const total = COST_KEYS.reduce((s, k) => s + expected[k] * COST_DEFAULTS[k], 0);
  t.is(total, 3501);
  t.is(run(COST_DEFAULTS, [{ actor: 0, op: read(0x5000) }]).sim!.timeNs, total);
});

test('a 2M-backed slot: the first touch zeroes 512 host pages', (t) => {
  t.is(run(oneHot('hostZero4k'), [{ actor: 0, op: read(0x5000) }], 1, 2).sim!.timeNs, 512);
});

test('anonymous memory: a read maps the zero page (nothing allocated or zeroed); a write allocates; THP reads map the huge zero page', (t) => {
  for (const k of ['hostAlloc', 'hostZero4k'] as const) t.is(run(oneHot(k), [{ actor: 0, op: read(0x5000) }], 1, 1, 'anonymous').sim!.timeNs, 0, k);
  t.is(run(oneHot('hostZero4k'), [{ actor: 0, op: write(0x5000) }], 1, 1, 'anonymous').sim!.timeNs, 1);
  t.is(run(oneHot('hostZero4k'), [{ actor: 0, op: read(0x5000) }], 1, 2, 'anonymous').sim!.timeNs, 0);
  t.is(run(oneHot('hostZero4k'), [{ actor: 0, op: write(0x5000) }], 1, 2, 'anonymous').sim!.timeNs, 512);
  // Read, then write: the write breaks CoW of the huge zero page — on the newest release a
  // whole THP replaces it (1ced09e0331f, 6.13), 512 pages zeroed.
  t.is(run(oneHot('hostZero4k'), [{ actor: 0, op: read(0x5000) }, { actor: 0, op: write(0x5000) }], 1, 2, 'anonymous').sim!.timeNs, 512);
});

test('a pre-fault ioctl pays its entry; the setup (memslots) is before time zero', (t) => {
  const r = run(oneHot('ioctl'), [{ actor: 0, op: { op: 'pre_fault', gpa: 0n, size: 4096n, flags: 0n, untilDone: false } }]);
  t.is(r.sim!.timeNs, 1);
  t.is(r.sim!.clocks[2], 0, 'the VMM created the memslot before the guest ran');
});

test('vCPUs run in parallel in virtual time: two faulting on disjoint 2M regions take as long as one', (t) => {
  // A first fault links the upper levels; then the faults under test each link only their
  // own leaf table, under the shared read lock.
  const warm = { actor: 0, op: read(0x5000) };
  const one = run(COST_DEFAULTS, [warm, { actor: 0, op: read(0x200000) }], 2);
  const two = run(COST_DEFAULTS, [warm, { actor: 0, op: read(0x200000) }, { actor: 1, op: read(0x400000), after: 0 }], 2);
  t.true(two.sim!.clocks[1]! > 0);
  // vcpu1 enters the guest for the first time (vcpu0 is still in it from the warm-up): one
  // VM entry and its few steps more, and nothing else.
  const extra = two.sim!.timeNs - one.sim!.timeNs;
  t.true(extra >= 0 && extra <= COST_DEFAULTS.vmEntry + 4 * COST_DEFAULTS.step, `${two.sim!.timeNs} vs ${one.sim!.timeNs}`);
  // The same two faults by one vCPU, one after the other, take twice the extra time.
  const serial = run(COST_DEFAULTS, [warm, { actor: 0, op: read(0x200000) }, { actor: 0, op: read(0x400000) }], 2);
  const warmOnly = run(COST_DEFAULTS, [warm], 2).sim!.timeNs;
  t.true(serial.sim!.timeNs - warmOnly > 1.9 * (one.sim!.timeNs - warmOnly), `${serial.sim!.timeNs} vs ${one.sim!.timeNs} (warm-up ${warmOnly})`);
});

test('a vCPU waiting for mmu_lock held by the host resumes when the host releases it, and the wait is counted', (t) => {
  // vcpu0 maps 0x5000; then the host migrates it — zap and remote TLB flush (2 µs) under
  // the write lock — while vcpu0 faults on another page and reaches read_lock meanwhile.
  const ops = [
    { actor: 0, op: read(0x5000) },
    { actor: 1, op: { op: 'invalidate', gpa: 0x5000, size: 4096, kind: 'migrate', prot: 'rw' } as Op, after: 0 },
    { actor: 0, op: read(0x9000) },
  ];
  const r = runDeterministic({ vm: { type: 'default', vcpus: 1, guestBytes: 64 * MiB }, setup: [slot(1, 'shared')], ops, scheduler: new EarliestClockScheduler(), seed: 1, costModel: COST_DEFAULTS });
  t.deepEqual(r.violations, []);
  const lockWait = r.sim!.lockWaitNs[0]!;
  t.true(lockWait > 0 && lockWait < COST_DEFAULTS.tlbFlushRemote, `vcpu0 waited ${lockWait} ns for mmu_lock`);
  t.true(r.sim!.waitNs[0]! >= lockWait);
  t.true(r.sim!.clocks[1]! > COST_DEFAULTS.tlbFlushRemote, 'the host paid the flush');
});

test('--cost overrides: KEY=NS on top of the defaults; unknown keys and bad numbers are errors naming them', (t) => {
  const m = costModelOf(['vmExit=800', 'gup=0']);
  t.is(m.vmExit, 800);
  t.is(m.gup, 0);
  t.is(m.vmEntry, COST_DEFAULTS.vmEntry);
  t.throws(() => costModelOf(['vmexit=1']), { instanceOf: CostError, message: /unknown cost 'vmexit'; valid: vmExit/ });
  t.throws(() => costModelOf(['vmExit=-1']), { instanceOf: CostError });
  t.throws(() => costModelOf(['vmExit']), { instanceOf: CostError });
});

test('without a cost model there is no simulated clock', (t) => {
  const r = runDeterministic({ vm: { type: 'default', vcpus: 1, guestBytes: 64 * MiB }, setup: [slot(1, 'shared')], ops: [{ actor: 0, op: read(0x5000) }], scheduler: 'sequential', seed: 1 });
  t.is(r.sim, null);
});
