// Goal: a StressConfig becomes the engine's configuration — the VM and setup of the stress run, its preset's op-source module with the config as data, the preset's stages and checks, the bound by time or accesses, and a script's VM and ops when given; method: call stressEngineConfig and look at what it returns.

import test from 'ava';
import { stressEngineConfig, stressSource } from '../../../src/workload/presets/index.js';
import { MMU_STRESS_PLAN } from '../../../src/workload/presets/mmu-stress.js';
import { stressGuestBytes, stressSetup, type StressConfig } from '../../../src/workload/stress.js';

const MiB = 1024 * 1024;
const cfg = (over: Partial<StressConfig> = {}): StressConfig => ({ vcpus: 2, memoryBytes: 16 * MiB, durationMs: 1000, accesses: null, workload: 'uniform', churn: {}, backingLevel: 1, vmType: 'sw_protected', seed: 1, writeRatio: 0.5, ...over });

test('a plain run: the stress VM and setup, churn.ts as the source, the pre-fault check, a time bound', (t) => {
  const s = cfg();
  const e = stressEngineConfig({ stress: s, watchdogMs: 700, manualDirtyLogProtect: true });
  t.deepEqual(e.vm, { type: 'sw_protected', vcpus: 2, guestBytes: stressGuestBytes(s), maxBackingLevel: 1, manualDirtyLogProtect: true });
  t.deepEqual(e.setup, stressSetup(s));
  t.regex(e.source!.module, /presets\/churn\.js$/);
  t.is(e.source!.data, s);
  t.is(e.checks!.length, 1);
  t.is(e.stages, undefined);
  t.is(e.durationMs, 1000);
  t.false(e.untilVcpusDone);
  t.is(e.watchdogMs, 700);
  t.is(e.script, undefined);
});

test('mmu-stress: its own module, its stage plan and stage check; --accesses bounds by the vCPUs', (t) => {
  const e = stressEngineConfig({ stress: cfg({ preset: 'mmu-stress', durationMs: null }) });
  t.regex(e.source!.module, /presets\/mmu-stress\.js$/);
  t.is(e.stages, MMU_STRESS_PLAN);
  t.is(e.checks!.length, 2);
  t.is(e.durationMs, null);
  t.true(stressEngineConfig({ stress: cfg({ durationMs: null, accesses: 10 }) }).untilVcpusDone!);
  t.regex(stressSource(cfg({ preset: 'memslot-churn' })).module, /presets\/churn\.js$/, 'memslot-churn runs the plain sources');
});

test('a script: its VM, setup and ops, no op source and no pre-fault check', (t) => {
  const script = { vm: { type: 'default' as const, vcpus: 1, guestBytes: 8 * MiB }, setup: [], ops: [{ actor: 0, op: { op: 'mmu_reset' as const } }] };
  const e = stressEngineConfig({ stress: cfg({ durationMs: null }), script });
  t.is(e.vm, script.vm);
  t.is(e.script, script.ops);
  t.is(e.source, undefined);
  t.deepEqual(e.checks, []);
});
