/** A Scenario as the deterministic engine's RunConfig, with the run's options. */

import { PHYS_BITS_DEFAULT } from '../kvm/address-space.js';
import type { RunConfig, ScheduledOp } from '../engine/deterministic.js';
import type { KernelRelease } from '../kvm/kernel-release.js';
import type { Mutations } from '../protocol/mutations.js';
import type { RunnerKind } from '../protocol/runner.js';
import type { Scheduler, SchedulerName } from '../sched/scheduler.js';
import type { Scenario } from './scenario-parse.js';

export interface ScenarioRunOptions {
  readonly scheduler?: SchedulerName | Scheduler;
  readonly seed?: number;
  readonly mutations?: Mutations;
  readonly runner?: RunnerKind;
  readonly trace?: boolean;
  readonly check?: 'step' | 'end';
  readonly stopOnViolation?: boolean;
  readonly stepsMax?: number;
  /** Run on this kernel release instead of the scenario's (`--kernel`). */
  readonly kernel?: KernelRelease;
}

/** scenarioToRunConfig(): the engine configuration of a scenario (sequential scheduler, seed 1 unless told). */
export function scenarioToRunConfig(s: Scenario, options: ScenarioRunOptions = {}): RunConfig {
  const ops: ScheduledOp[] = s.ops.map((o) => ({ actor: o.actorIndex, op: o.op, ...(o.after !== undefined ? { after: o.after } : {}) }));
  return {
    vm: { type: s.vm.type, vcpus: s.vm.vcpus, kernel: options.kernel ?? s.vm.kernel, ...(s.vm.disabledQuirks.length > 0 ? { disabledQuirks: s.vm.disabledQuirks } : {}), ...(s.vm.physBits !== PHYS_BITS_DEFAULT ? { physBits: s.vm.physBits } : {}), guestBytes: s.vm.memoryBytes, manualDirtyLogProtect: s.vm.manualDirtyLogProtect, ...(s.vm.mmuInvalidateSeq !== 0n ? { mmuInvalidateSeq: s.vm.mmuInvalidateSeq } : {}), ...(s.vm.pageTables !== null ? { pageTables: s.vm.pageTables } : {}) },
    setup: s.memslots,
    ops,
    scheduler: options.scheduler ?? 'sequential',
    seed: options.seed ?? 1,
    ...(options.mutations !== undefined ? { mutations: options.mutations } : {}),
    ...(options.runner !== undefined ? { runner: options.runner } : {}),
    ...(options.trace !== undefined ? { trace: options.trace } : {}),
    ...(options.check !== undefined ? { check: options.check } : {}),
    ...(options.stopOnViolation !== undefined ? { stopOnViolation: options.stopOnViolation } : {}),
    ...(options.stepsMax !== undefined ? { stepsMax: options.stepsMax } : {}),
  };
}
