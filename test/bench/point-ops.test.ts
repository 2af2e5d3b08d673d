// Goal: a benchmark point becomes the ops its strategy promises — the memslots, the pre-fault before the guest (one call loop, per-vCPU slices, a spare vCPU), the churn and invalidations beside it, the guest streams gated on the pre-fault and on boot's BSP — and counts its work; method: pointOps on small guests, read op by op.

import test from 'ava';
import { pointOps } from '../../src/bench/point-ops.js';
import { guestWorkload } from '../../src/workload/guest.js';

const MiB = 1024 * 1024;

test('the ops of a point: the APs of a boot wait for the BSP and for the pre-fault; the concurrent pre-fault runs on a spare vCPU', (t) => {
  const w = guestWorkload({ kind: 'boot', vcpus: 3, memoryBytes: 16 * MiB, sharing: 'partitioned', seed: 1 });
  const p = pointOps({ strategy: 'prefault', pageSize: '4K', workload: w });
  t.is(p.prefault.length, 1);
  const pf = p.prefault[0]!;
  t.is(p.ops[pf]!.op.op, 'pre_fault');
  const bspFirst = p.guest.find((g) => p.ops[g]!.actor === 0)!;
  for (const ap of [1, 2]) {
    const g = p.guest.find((i) => p.ops[i]!.actor === ap)!;
    t.deepEqual(p.ops[g]!.after, [pf, bspFirst], `vcpu${ap}`);
  }
  const c = pointOps({ strategy: 'prefault-concurrent', pageSize: '4K', workload: w });
  t.is(c.vcpus, 4);
  t.is(c.ops[c.prefault[0]!]!.actor, 3);
  t.throws(() => pointOps({ strategy: 'lazy', pageSize: '1G', workload: w }), { message: /not a multiple of the 1G page size/ });
});

test('prefault-parallel: each vCPU pre-faults its page-aligned slice of RAM, together covering it once', (t) => {
  const w = guestWorkload({ kind: 'uniform', vcpus: 3, memoryBytes: 16 * MiB, sharing: 'partitioned', seed: 1, accesses: 10 });
  const p = pointOps({ strategy: 'prefault-parallel', pageSize: '2M', workload: w });
  const slices = p.prefault.map((i) => p.ops[i]!).map((o) => (o.op.op === 'pre_fault' ? [o.actor, Number(o.op.gpa), Number(o.op.size)] : []));
  t.deepEqual(slices.map((s) => s[0]), [0, 1, 2]);
  let next = 0;
  for (const [, gpa, size] of slices) {
    t.is(gpa, next);
    t.is(gpa! % (2 * MiB), 0);
    next = gpa! + size!;
  }
  t.is(next, 16 * MiB);
  // Each vCPU's guest waits for the others' slices, not its own (it runs first, in program order).
  for (const g of p.guest) t.deepEqual(p.ops[g]!.after, p.prefault.filter((i) => p.ops[i]!.actor !== p.ops[g]!.actor));
});

test('prefault-churn: low RAM in its own slot, deleted and created again by the vmm; the guest waits for the last re-create', (t) => {
  const w = guestWorkload({ kind: 'uniform', vcpus: 1, memoryBytes: 16 * MiB, sharing: 'partitioned', seed: 1, accesses: 10 });
  const p = pointOps({ strategy: 'prefault-churn', pageSize: '4K', workload: w });
  t.deepEqual(p.setup.map((o) => (o.op === 'set_memslot' ? [o.slot, Number(o.gpa), Number(o.size)] : [])), [[1, 0, 2 * MiB], [0, 2 * MiB, 14 * MiB]]);
  const vmm = p.ops.map((o, i) => [o, i] as const).filter(([o]) => o.actor === p.vcpus + 1);
  t.is(vmm.length, 16);
  t.deepEqual(vmm.map(([o]) => (o.op.op === 'set_memslot' ? Number(o.op.size) : -1)).slice(0, 2), [0, 2 * MiB]);
  t.deepEqual(p.ops[p.guest[0]!]!.after, [vmm[vmm.length - 1]![1]]);
  t.is(p.work, 10 + (16 * MiB) / 4096);
});
