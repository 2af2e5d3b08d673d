// Goal: `--preset memslot-churn` churns memslot_modification_stress_test's way — the vmm adds and deletes one one-page dummy slot right after guest memory, back to back, never moving it, and the vCPUs' dummy accesses go to that one page; method: drive the plain sources with the preset's config.

import test from 'ava';
import type { Op } from '../../../src/kvm/ops.js';
import { VcpuSource, VmmSource } from '../../../src/workload/presets/churn.js';
import { isMemslotChurn, memslotChurnOp } from '../../../src/workload/presets/memslot-churn.js';
import { DUMMY_SLOT, type StressConfig } from '../../../src/workload/stress.js';

const MiB = 1024 * 1024;
const cfg: StressConfig = { vcpus: 2, memoryBytes: 16 * MiB, durationMs: 1000, accesses: null, workload: 'partitioned', churn: { memslots: 1_000_000 }, backingLevel: 1, vmType: 'default', seed: 3, writeRatio: 0.5, preset: 'memslot-churn' };

test('the vmm: add, delete, add, … one page at the end of guest memory', (t) => {
  t.true(isMemslotChurn(cfg));
  const vmm = new VmmSource(cfg, 3, 0, false);
  const ops: Op[] = [];
  for (let now = 1; ops.length < 6; now++) {
    const n = vmm.next(now);
    if (n !== null && 'op' in n) ops.push(n.op);
  }
  t.deepEqual(ops.map((o) => (o.op === 'set_memslot' ? [o.slot, Number(o.gpa), Number(o.size)] : o.op)), [0, 1, 2, 3, 4, 5].map((i) => [DUMMY_SLOT, 16 * MiB, i % 2 === 0 ? 4096 : 0]));
  t.deepEqual(memslotChurnOp(true, 8n), { op: 'set_memslot', slot: DUMMY_SLOT, gpa: 8n, size: 4096n, flags: 0, backingLevel: 1 });
});

test('the vCPUs: accesses outside their partition go to the dummy page only', (t) => {
  const src = new VcpuSource(cfg, 0, 0);
  const outside = new Set<number>();
  for (let i = 0; i < 5000; i++) {
    const n = src.next(0);
    if (n !== null && 'op' in n && n.op.op === 'access' && n.op.gpa >= 16 * MiB) outside.add(n.op.gpa);
  }
  t.deepEqual([...outside], [16 * MiB]);
});
