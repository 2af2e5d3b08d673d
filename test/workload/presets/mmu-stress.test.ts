// Goal: `--preset mmu-stress`'s sources — each vCPU covers its own partition once per stage in the selftest's order (write, reset + re-write, read, write, write), reports each stage's tally and waits for the next; the host mprotects on command and acknowledges; method: drive the sources with hand-made stage signals.

import test from 'ava';
import type { Next, OpSource, StageSignals, StageTally } from '../../../src/engine/op-source.js';
import type { Op, OpResult } from '../../../src/kvm/ops.js';
import { MMU_STRESS_PLAN, MMU_STRESS_STAGES, MmuStressHostSource, MmuStressVcpuSource, createOpSource } from '../../../src/workload/presets/mmu-stress.js';
import type { StressConfig } from '../../../src/workload/stress.js';

const MiB = 1024 * 1024;
const cfg: StressConfig = { vcpus: 2, memoryBytes: 2 * MiB, durationMs: null, accesses: null, workload: 'partitioned', churn: {}, backingLevel: 1, vmType: 'default', seed: 1, writeRatio: 1, preset: 'mmu-stress' };

function signals() {
  const s = { stage: 0, cmd: 0, ack: 0, finished: [] as [number, StageTally][] };
  const sig: StageSignals = { stage: () => s.stage, finishStage: (st, t) => { s.finished.push([st, { ...t }]); }, hostCommand: () => s.cmd, ackHostCommand: (n) => { s.ack = n; } };
  return { s, sig };
}

/** Ops until the source sleeps or ends; each completed with `result(op)`. */
function drain(src: OpSource, result: (op: Op) => OpResult): Op[] {
  const out: Op[] = [];
  for (let n: Next = src.next(0); n !== null && 'op' in n; n = src.next(0)) {
    out.push(n.op);
    src.completed?.(n.op, result(n.op));
  }
  return out;
}

const ok = (op: Op): OpResult => (op.op === 'mmu_reset' ? { op: 'mmu_reset', ret: 0, rootDropped: true } : { op: 'access', ok: true, errno: null, emulated: false, exits: 0 });

test('a vCPU: its partition once per stage, in the selftest\'s order, a tally per stage, then the end', (t) => {
  const { s, sig } = signals();
  const src = new MmuStressVcpuSource(cfg, 1, sig);
  const pages = (2 * MiB) / 4096 / 2;
  const kinds: string[][] = [];
  for (let stage = 0; stage < MMU_STRESS_STAGES.length; stage++) {
    s.stage = stage;
    const ops = drain(src, ok);
    kinds.push([...new Set(ops.map((o) => (o.op === 'access' ? o.access : o.op)))]);
    const gpas = ops.filter((o) => o.op === 'access').map((o) => (o.op === 'access' ? o.gpa : 0));
    t.is(gpas.length, pages);
    t.is(gpas[0], pages * 4096, 'vcpu1 starts at its half');
  }
  t.deepEqual(kinds, [['write'], ['mmu_reset', 'write'], ['read'], ['write'], ['write']]);
  t.deepEqual(s.finished.map(([st, tally]) => [st, tally.ok]), [0, 1, 2, 3, 4].map((st) => [st, pages]));
  s.stage = 5;
  t.is(src.next(0), null);
});

test('the host: mprotect read-only on command 1, back to read-write on command 2, acknowledged; nothing more after', (t) => {
  const { s, sig } = signals();
  const host = new MmuStressHostSource(cfg, sig);
  t.deepEqual(host.next(5), { sleepUntil: 6 });
  s.cmd = 1;
  t.deepEqual(drain(host, ok), [{ op: 'invalidate', gpa: 0, size: 2 * MiB, kind: 'mprotect', prot: 'r' }]);
  t.is(s.ack, 1);
  s.cmd = 2;
  t.deepEqual(drain(host, ok).map((o) => (o.op === 'invalidate' ? o.prot : '')), ['rw']);
  s.cmd = 3;
  t.is(host.next(0), null);
  t.deepEqual(MMU_STRESS_PLAN.hostCommandBefore, { 3: 1, 4: 2 });
});

test('createOpSource: the preset\'s vCPUs and host; the vmm has nothing to do', (t) => {
  const { sig } = signals();
  const ctx = { vcpus: 2, hostActor: 2, startMs: 0, signals: sig, manualDirtyLogProtect: false, epochMs: () => 0, actorData: undefined };
  t.true(createOpSource(cfg, { ...ctx, actor: 0 }) instanceof MmuStressVcpuSource);
  t.true(createOpSource(cfg, { ...ctx, actor: 2 }) instanceof MmuStressHostSource);
  t.is(createOpSource(cfg, { ...ctx, actor: 3 }).next(0), null, 'the vmm has nothing to do');
});
