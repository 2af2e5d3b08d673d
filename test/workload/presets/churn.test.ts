// Goal: the default stress run's sources draw what their options say — the same ops for the same seed, partitions respected, a memslot churn that only issues valid changes, dirty logging kept off guest_memfd slots; method: drive the sources directly.

import test from 'ava';
import type { Op } from '../../../src/kvm/ops.js';
import { KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES } from '../../../src/kvm/memslots.js';
import { HostSource, VcpuSource, VmmSource } from '../../../src/workload/presets/churn.js';
import { DUMMY_SLOT, dummySlotGpa, stressSlots, type StressConfig } from '../../../src/workload/stress.js';

const MiB = 1024 * 1024;
const cfg = (over: Partial<StressConfig> = {}): StressConfig => ({ vcpus: 4, memoryBytes: 64 * MiB, durationMs: 1000, accesses: null, workload: 'uniform', churn: {}, backingLevel: 1, vmType: 'sw_protected', seed: 9, writeRatio: 0.5, ...over });

function take(src: { next(now: number): unknown }, n: number, now = 0): Op[] {
  const out: Op[] = [];
  for (let i = 0; i < n; i++) {
    const x = src.next(now + i) as { op?: Op } | null;
    if (x === null) break;
    if (x.op) out.push(x.op);
  }
  return out;
}

test('the same seed gives the same accesses; another seed does not', (t) => {
  t.deepEqual(take(new VcpuSource(cfg(), 1, 0), 200), take(new VcpuSource(cfg(), 1, 0), 200));
  t.notDeepEqual(take(new VcpuSource(cfg(), 1, 0), 200), take(new VcpuSource(cfg({ seed: 10 }), 1, 0), 200));
});

test('partitioned: each vCPU stays in its quarter; sequential: consecutive pages; --accesses ends the stream', (t) => {
  const quarter = 16 * MiB;
  for (let v = 0; v < 4; v++) {
    for (const op of take(new VcpuSource(cfg({ workload: 'partitioned' }), v, 0), 500)) {
      if (op.op !== 'access') continue;
      t.true(op.gpa >= v * quarter && op.gpa < (v + 1) * quarter, `vcpu${v} 0x${op.gpa.toString(16)}`);
    }
  }
  const seq = take(new VcpuSource(cfg({ workload: 'sequential' }), 0, 0), 10).map((o) => (o.op === 'access' ? o.gpa : -1));
  t.deepEqual(seq, Array.from({ length: 10 }, (_, i) => i * 4096));
  t.is(take(new VcpuSource(cfg({ accesses: 7 }), 0, 0), 100).length, 7);
});

test('shared-hot: nine in ten accesses hit the 64 hot pages', (t) => {
  const ops = take(new VcpuSource(cfg({ workload: 'shared-hot' }), 2, 0), 5000);
  const hot = ops.filter((o) => o.op === 'access' && o.gpa < 64 * 4096).length;
  t.true(hot / ops.length > 0.85 && hot / ops.length < 0.95, `${hot}/${ops.length}`);
});

test('pre-fault churn: loops until done over 2 MiB-aligned ranges inside guest memory', (t) => {
  const src = new VcpuSource(cfg({ churn: { prefault: 4000 } }), 0, 0);
  const pre = [];
  for (let now = 0; now < 100; now += 1) { const x = src.next(now); if (x && 'op' in x && x.op.op === 'pre_fault') pre.push(x.op); }
  t.true(pre.length > 10);
  for (const p of pre) {
    if (p.op !== 'pre_fault') continue;
    t.true(p.untilDone);
    t.is(p.gpa % BigInt(2 * MiB), 0n);
    t.true(p.gpa + p.size <= BigInt(64 * MiB));
  }
});

test('host: notifier events inside guest memory; an mprotect to read-only is undone by the next event', (t) => {
  const src = new HostSource(cfg({ churn: { invalidate: 1000 } }), 4, 0);
  const ops = take(src, 3000).filter((o): o is Extract<Op, { op: 'invalidate' }> => o.op === 'invalidate');
  t.true(ops.length > 100);
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i]!;
    t.true(o.gpa + o.size <= 64 * MiB);
    if (o.kind === 'mprotect' && o.prot === 'r' && i + 1 < ops.length) t.deepEqual([ops[i + 1]!.kind, ops[i + 1]!.prot, ops[i + 1]!.gpa], ['mprotect', 'rw', o.gpa]);
  }
});

test('vmm: the dummy slot is created before it is moved or deleted, keeps its size, and dirty logging never touches the guest_memfd slot', (t) => {
  const src = new VmmSource(cfg({ churn: { memslots: 1000, attributes: 1000, 'dirty-log': 1000 } }), 5, 0, false);
  const ops = take(src, 3000);
  let present: bigint | null = null;
  const slots = stressSlots(cfg());
  t.is(slots.length, 2);
  t.is(slots[0]!.flags, KVM_MEM_GUEST_MEMFD);
  for (const o of ops) {
    if (o.op === 'set_memslot' && o.slot === DUMMY_SLOT) {
      if (o.size === 0n) { t.not(present, null); present = null; }
      else if (present === null) { present = o.size; t.is(o.gpa, BigInt(dummySlotGpa(cfg()))); }
      else t.is(o.size, present, 'a move keeps the size');
    } else if (o.op === 'set_memslot') {
      t.is(o.slot, 1);
      t.is(o.flags & KVM_MEM_GUEST_MEMFD, 0);
    } else if (o.op === 'set_memory_attributes') {
      t.true(o.gpa + o.size <= BigInt(slots[0]!.size));
    } else if (o.op === 'get_dirty_log') t.is(o.slot, 1);
  }
  t.true(ops.some((o) => o.op === 'set_memslot' && o.slot === 1 && (o.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0));
  t.true(ops.some((o) => o.op === 'set_memory_attributes'));
});
