// Goal: the pre-fault versus lazy experiment measures what it claims, on the simulated clock and on real threads — a pre-faulted guest takes no EPT exits, lazy takes one per page touched, parallel pre-fault and partitioned faults scale, shared ones do not (the TDP MMU's published shape), every strategy runs clean; method: small guests through runSimPoint.

import test from 'ava';
import { STRATEGIES, pointOps, runSimPoint, runWallPoint } from '../../src/bench/prefault.js';
import { guestWorkload } from '../../src/workload/guest.js';

const MiB = 1024 * 1024;

test('pre-faulting the whole guest first leaves zero EPT-violation exits for a read-only workload afterwards', (t) => {
  const w = guestWorkload({ kind: 'uniform', vcpus: 2, memoryBytes: 32 * MiB, sharing: 'partitioned', seed: 3, writeRatio: 0 });
  for (const strategy of ['prefault', 'prefault-parallel', 'map-memory'] as const) {
    const m = runSimPoint({ strategy, pageSize: '4K', workload: w });
    t.is(m.exits, 0, strategy);
    t.is(m.prefaultPages, (32 * MiB) / 4096, `${strategy}: every page pre-faulted`);
    t.deepEqual(m.violations, []);
    t.true(m.prefaultNs! > 0 && m.prefaultNs! < m.totalNs, `${strategy}: the pre-fault came first`);
  }
  const lazy = runSimPoint({ strategy: 'lazy', pageSize: '4K', workload: w });
  const distinct = new Set(w.vcpus.flatMap((v) => [...v.gfns])).size;
  // One EPT violation per distinct page touched, and one more per fault that lost a CAS race
  // (two vCPUs linking the same upper-level table) and went back to the guest.
  const retries = Object.values(lazy.retriesByReason).reduce((a, b) => a + b, 0);
  t.is(lazy.exits, distinct + retries, JSON.stringify(lazy.retriesByReason));
  t.is(lazy.prefaultNs, null);
  t.is(lazy.accesses, w.vcpus.reduce((s, v) => s + v.gfns.length, 0));
});

test('with 2M pages a sequential touch of RAM exits once per 2 MiB', (t) => {
  const w = guestWorkload({ kind: 'sequential', vcpus: 1, memoryBytes: 32 * MiB, sharing: 'partitioned', seed: 1 });
  t.is(runSimPoint({ strategy: 'lazy', pageSize: '2M', workload: w }).exits, 16);
  t.is(runSimPoint({ strategy: 'lazy', pageSize: '4K', workload: w }).exits, (32 * MiB) / 4096);
});

test('parallel pre-fault across vCPUs finishes sooner than one vCPU pre-faulting everything', (t) => {
  const w = guestWorkload({ kind: 'boot', vcpus: 4, memoryBytes: 32 * MiB, sharing: 'partitioned', seed: 1 });
  const one = runSimPoint({ strategy: 'prefault', pageSize: '4K', workload: w });
  const par = runSimPoint({ strategy: 'prefault-parallel', pageSize: '4K', workload: w });
  t.true(par.prefaultNs! < one.prefaultNs! / 3, `${par.prefaultNs} vs ${one.prefaultNs}`);
  t.is(par.prefaultCalls, 4);
});

test('the TDP MMU shape (reference §7.2): faults on disjoint memory scale with vCPUs, faults on shared memory do not', (t) => {
  const time = (vcpus: number, sharing: 'partitioned' | 'shared') =>
    runSimPoint({ strategy: 'lazy', pageSize: '4K', workload: guestWorkload({ kind: 'sequential', vcpus, memoryBytes: 16 * MiB, sharing, seed: 1 }) });
  const p1 = time(1, 'partitioned');
  const p4 = time(4, 'partitioned');
  const s4 = time(4, 'shared');
  t.true(p1.totalNs / p4.totalNs > 3.5, `partitioned: ${p1.totalNs} → ${p4.totalNs}`);
  t.true(p1.totalNs / s4.totalNs < 2, `shared: ${p1.totalNs} → ${s4.totalNs}`);
  t.true(s4.exits > 2 * p4.exits, 'shared: vCPUs fault the same pages');
  t.true(Object.values(s4.retriesByReason).reduce((a, b) => a + b, 0) > 0, 'shared: CAS races retry');
});

test('every strategy runs clean; churn and invalidations disturb only their own strategies', (t) => {
  const w = guestWorkload({ kind: 'boot', vcpus: 2, memoryBytes: 16 * MiB, sharing: 'partitioned', seed: 1 });
  for (const strategy of STRATEGIES) {
    const m = runSimPoint({ strategy, pageSize: '4K', workload: w });
    t.deepEqual(m.violations, [], strategy);
    t.true(m.totalNs > 0 && m.steps > 0, strategy);
  }
  const inv = runSimPoint({ strategy: 'prefault-invalidate', pageSize: '4K', workload: w });
  t.true(Object.keys(inv.retriesByReason).some((r) => r.startsWith('invalidate')), JSON.stringify(inv.retriesByReason));
});

test('memslot churn during the pre-fault: low RAM\'s slot being deleted is EAGAIN, retried; gone, ENOENT, and the next slot is pre-faulted; the deletes zap it all', (t) => {
  const w = guestWorkload({ kind: 'uniform', vcpus: 1, memoryBytes: 16 * MiB, sharing: 'partitioned', seed: 3, writeRatio: 0 });
  const p = pointOps({ strategy: 'prefault-churn', pageSize: '4K', workload: w });
  // Two memslots: low RAM (an eighth) and the rest; a pre-fault loop per slot.
  t.deepEqual(p.setup.map((o) => (o.op === 'set_memslot' ? [o.slot, Number(o.gpa), Number(o.size)] : null)), [[1, 0, 2 * MiB], [0, 2 * MiB, 14 * MiB]]);
  t.deepEqual(p.prefault.map((i) => (p.ops[i]!.op.op === 'pre_fault' ? Number((p.ops[i]!.op as { size: bigint }).size) : 0)), [2 * MiB, 14 * MiB]);
  // The guest waits for the VMM's last re-create as well as for the pre-fault.
  const lastVmm = p.ops.map((o, i) => [o, i] as const).filter(([o]) => o.op.op === 'set_memslot').pop()![1];
  t.true((p.ops[p.guest[0]!]!.after as number[]).includes(lastVmm));
  const m = runSimPoint({ strategy: 'prefault-churn', pageSize: '4K', workload: w });
  t.deepEqual(m.violations, []);
  t.is(m.prefaultErrnos.EAGAIN, 1, JSON.stringify(m.prefaultErrnos));
  t.is(m.prefaultErrnos.ENOENT, 1, JSON.stringify(m.prefaultErrnos));
  t.is(m.prefaultPages, (14 * MiB) / 4096, 'the rest of RAM is pre-faulted all the same');
  const lazy = runSimPoint({ strategy: 'lazy', pageSize: '4K', workload: w });
  t.is(m.exits, lazy.exits, 'a later delete zapped every root: the guest faults everything in again');
  const plain = runSimPoint({ strategy: 'prefault', pageSize: '4K', workload: w });
  t.deepEqual(plain.prefaultErrnos, {});
  t.is(plain.exits, 0);
});

test('on the wall clock (threaded engine, real workers): the same ops, the same exits; the pre-fault ends before the guest does', async (t) => {
  const w = guestWorkload({ kind: 'uniform', vcpus: 2, memoryBytes: 8 * MiB, sharing: 'partitioned', seed: 5, writeRatio: 0 });
  const pre = await runWallPoint({ strategy: 'prefault', pageSize: '4K', workload: w });
  t.is(pre.clock, 'wall');
  t.deepEqual(pre.violations, []);
  t.is(pre.exits, 0);
  t.is(pre.prefaultPages, (8 * MiB) / 4096);
  t.true(pre.prefaultNs! > 0 && pre.prefaultNs! <= pre.totalNs, `${pre.prefaultNs} ≤ ${pre.totalNs}`);
  const lazy = await runWallPoint({ strategy: 'lazy', pageSize: '4K', workload: w });
  t.deepEqual(lazy.violations, []);
  const distinct = new Set(w.vcpus.flatMap((v) => [...v.gfns])).size;
  const retries = Object.values(lazy.retriesByReason).reduce((a, b) => a + b, 0);
  t.true(lazy.exits >= distinct && lazy.exits <= distinct + retries + 2, `${lazy.exits} exits for ${distinct} pages (${retries} retries)`);
  t.is(lazy.lockWaitNs, null, 'the threaded engine counts mmu_lock waits, it does not time them');
});

test('on the wall clock with repeat: every run\'s total kept, the metrics of the median run', async (t) => {
  const w = guestWorkload({ kind: 'sequential', vcpus: 1, memoryBytes: 4 * MiB, sharing: 'partitioned', seed: 2, writeRatio: 0 });
  const m = await runWallPoint({ strategy: 'lazy', pageSize: '4K', workload: w }, 3);
  t.deepEqual(m.violations, []);
  t.is(m.runsNs!.length, 3);
  t.true(m.runsNs!.every((ns) => ns > 0));
  t.is(m.totalNs, [...m.runsNs!].sort((a, b) => a - b)[1]);
  t.is(m.exits, (4 * MiB) / 4096, 'the median run is a whole run: its own exits');
  await t.throwsAsync(() => runWallPoint({ strategy: 'lazy', pageSize: '4K', workload: w }, 0), { message: /repeat must be a positive integer/ });
});

test('a long run reports its progress: fractions of the accesses and pages it holds, rising to the end', (t) => {
  const w = guestWorkload({ kind: 'sequential', vcpus: 1, memoryBytes: 128 * MiB, sharing: 'partitioned', seed: 1, writeRatio: 0 });
  const seen: number[] = [];
  const m = runSimPoint({ strategy: 'prefault', pageSize: '4K', workload: w, onProgress: (f) => seen.push(f) });
  t.deepEqual(m.violations, []);
  t.true(seen.length >= 2, `${seen.length} reports`);
  t.true(seen.every((f, i) => f > 0 && f <= 1 && (i === 0 || f >= seen[i - 1]!)), seen.join(' '));
  // The pre-fault (32768 pages) comes first, then the 32768 accesses: a report before the guest ran is below one half.
  t.true(seen[0]! <= 0.5, String(seen[0]));
  t.is(pointOps({ strategy: 'prefault', pageSize: '4K', workload: w }).work, 2 * 32768);
});

test('per host memory: on anonymous memory a pre-fault maps the zero page, so every page written later still exits twice and breaks CoW; shared memory and populated anonymous memory take no exit; the populate is in the total', (t) => {
  const w = guestWorkload({ kind: 'uniform', vcpus: 1, memoryBytes: 8 * MiB, sharing: 'partitioned', seed: 5, writeRatio: 0.5 });
  const v = w.vcpus[0]!;
  const written = new Set([...v.gfns].filter((_, i) => v.kinds[i] === 1)).size;
  t.true(written > 100);
  const anon = runSimPoint({ strategy: 'prefault', pageSize: '4K', hostMemory: 'anonymous', workload: w });
  t.deepEqual(anon.violations, []);
  t.is(anon.cowBreaks, written, 'one CoW break per page written');
  t.is(anon.exits, 2 * written, 'the write exits, and the fault the CoW made retry exits again');
  const shared = runSimPoint({ strategy: 'prefault', pageSize: '4K', hostMemory: 'shared', workload: w });
  t.is(shared.exits, 0);
  t.is(shared.cowBreaks, 0);
  const populated = runSimPoint({ strategy: 'populate', pageSize: '4K', hostMemory: 'anonymous', workload: w });
  t.is(populated.exits, 0);
  t.is(populated.cowBreaks, 0);
  t.true(populated.populateNs! > 0 && populated.totalNs > populated.populateNs!, 'the populate comes first, in the total');
  const popLazy = runSimPoint({ strategy: 'populate-lazy', pageSize: '4K', hostMemory: 'anonymous', workload: w });
  t.is(popLazy.cowBreaks, 0, 'populated memory maps writable on a read fault');
  t.is(popLazy.exits, new Set(v.gfns).size, 'one exit per page touched');
  t.is(anon.populateNs, null);
});
