/**
 * A stress run on the threaded engine, from the workload's side: a StressConfig (and the
 * run's options) becomes the engine's ThreadedConfig — the VM and its setup, the op-source
 * module of the preset (churn.ts for a plain run and memslot-churn, mmu-stress.ts), the
 * preset's stage plan and online checks, the time or access bound — and the result
 * carries the StressConfig it ran. `startStress` is what the CLI, the benchmarks and the
 * API call.
 */

import type { EventCheck, OpSourceSpec } from '../../engine/op-source.js';
import { startThreaded, type ThreadedConfig, type ThreadedResult, type ThreadedRun, type ThreadedScriptOp } from '../../engine/threaded.js';
import type { Op } from '../../kvm/ops.js';
import { VM_TYPES } from '../../kvm/vm-types.js';
import type { VmConfig } from '../../kvm/vm.js';
import { stressGuestBytes, stressSetup, type StressConfig } from '../stress.js';
import { mmuStressChecks, preFaultChecks } from './checks.js';
import { MMU_STRESS_PLAN } from './mmu-stress.js';

/** A fixed script instead of the stress workload: the VM and its setup from here (the StressConfig then only names the run). */
export interface ThreadedScript {
  readonly vm: VmConfig;
  readonly setup: readonly Op[];
  readonly ops: readonly ThreadedScriptOp[];
}

type EngineOptions = Omit<ThreadedConfig, 'vm' | 'setup' | 'source' | 'script' | 'durationMs' | 'untilVcpusDone' | 'checks' | 'stages'>;

/** A stress run: the workload, the engine's options, and optionally a script to run instead. */
export interface StressRun extends EngineOptions {
  readonly stress: StressConfig;
  readonly script?: ThreadedScript;
}

/** The engine's result, with the StressConfig that ran. */
export interface StressResult extends ThreadedResult {
  readonly stress: StressConfig;
}

export interface StressRunHandle extends Omit<ThreadedRun, 'result'> {
  readonly result: Promise<StressResult>;
}

const module = (name: string): string => new URL(`./${name}.js`, import.meta.url).href;

/** The op-source spec of a stress config: its preset's module, the config as data. */
export function stressSource(s: StressConfig): OpSourceSpec {
  return { module: module(s.preset === 'mmu-stress' ? 'mmu-stress' : 'churn'), data: s };
}

/** The engine's configuration of a stress run. */
export function stressEngineConfig(run: StressRun): ThreadedConfig {
  const { stress: s, script, ...options } = run;
  const staged = s.preset === 'mmu-stress';
  const stageChecks: EventCheck[] = staged ? [mmuStressChecks] : [];
  const bounds = { durationMs: s.durationMs, untilVcpusDone: s.accesses !== null, ...(staged ? { stages: MMU_STRESS_PLAN } : {}) };
  // A script's ops decide for themselves what a pre-fault may return (a deleted slot is ENOENT).
  if (script !== undefined) return { ...options, ...bounds, vm: s.kernel !== undefined ? { ...script.vm, kernel: s.kernel } : script.vm, setup: script.setup, script: script.ops, checks: stageChecks };
  // The stress workload's own conformance (its memslots are never deleted).
  const attributesChurn = (s.churn.attributes ?? 0) > 0 && VM_TYPES[s.vmType].hasPrivateMem;
  return {
    ...options, ...bounds,
    vm: { type: s.vmType, vcpus: s.vcpus, guestBytes: stressGuestBytes(s), maxBackingLevel: s.backingLevel, manualDirtyLogProtect: run.manualDirtyLogProtect ?? false, ...(s.kernel !== undefined ? { kernel: s.kernel } : {}) },
    setup: stressSetup(s), source: stressSource(s), checks: [preFaultChecks(new Set(attributesChurn ? ['EFAULT'] : [])), ...stageChecks],
  };
}

/** Runs a stress configuration on real threads. Subscribe to `events$` before awaiting `result`. */
export function startStress(run: StressRun): StressRunHandle {
  const r = startThreaded(stressEngineConfig(run));
  return { events$: r.events$, result: r.result.then((res) => ({ stress: run.stress, ...res })) };
}
