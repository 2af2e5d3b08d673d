/** Shared builders for engine-level tests: memslots, ops and runs in a few words. */

import { runDeterministic, type RunConfig, type RunResult, type ScheduledOp } from '../../src/engine/deterministic.js';
import type { KernelRelease } from '../../src/kvm/kernel-release.js';
import type { HostMemory } from '../../src/kvm/host.js';
import type { Op, OpResult } from '../../src/kvm/ops.js';
import type { KvmQuirk } from '../../src/kvm/quirks.js';
import type { VmType } from '../../src/kvm/vm-types.js';
import { COMPILED } from '../../src/protocol/machines.js';
import { buildMutations } from '../../src/protocol/mutations.js';
import type { Scheduler, SchedulerName } from '../../src/sched/scheduler.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function slot(id: number, gpa: number, size: number, flags = 0, backingLevel = 1, hostMemory?: HostMemory, populated?: boolean): Op {
  return { op: 'set_memslot', slot: id, gpa: BigInt(gpa), size: BigInt(size), flags, backingLevel, ...(hostMemory !== undefined ? { hostMemory } : {}), ...(populated !== undefined ? { populated } : {}) };
}

export function preFault(gpa: bigint | number, size: bigint | number, opts: { flags?: bigint; untilDone?: boolean } = {}): Op {
  return { op: 'pre_fault', gpa: BigInt(gpa), size: BigInt(size), flags: opts.flags ?? 0n, untilDone: opts.untilDone ?? false };
}

export function access(gpa: number, kind: 'read' | 'write' | 'exec' = 'read'): Op {
  return { op: 'access', gpa, access: kind };
}

export interface TestRun {
  type?: VmType;
  vcpus?: number;
  guestBytes?: number;
  setup?: Op[];
  ops?: ScheduledOp[];
  scheduler?: SchedulerName | Scheduler;
  seed?: number;
  mutate?: string[];
  skip?: string[];
  trace?: boolean;
  check?: 'step' | 'full' | 'end';
  vmOptions?: { manualDirtyLogProtect?: boolean; pageTables?: number; kernel?: KernelRelease; disabledQuirks?: KvmQuirk[]; mmuInvalidateSeq?: bigint; physBits?: number };
}

export function run(t: TestRun): RunResult {
  const cfg: RunConfig = {
    vm: { type: t.type ?? 'default', vcpus: t.vcpus ?? 1, guestBytes: t.guestBytes ?? 64 * MiB, ...(t.vmOptions ?? {}) },
    setup: t.setup ?? [],
    ops: t.ops ?? [],
    scheduler: t.scheduler ?? 'sequential',
    seed: t.seed ?? 1,
    mutations: buildMutations(COMPILED, t.mutate ?? [], t.skip ?? []),
    trace: t.trace ?? false,
    check: t.check ?? 'step',
  };
  return runDeterministic(cfg);
}

/** A scheduler following a script of actor ids, then the lowest runnable actor. */
export function scripted(script: number[]): Scheduler {
  let i = 0;
  return {
    name: 'scripted',
    next(view) {
      while (i < script.length) {
        const want = script[i++]!;
        if (view.runnable.includes(want)) return want;
      }
      return view.runnable[0]!;
    },
  };
}

export function preFaultResult(r: OpResult | null): { ret: number; errno: string | null; gpa: string; size: string; calls: number } {
  if (r === null || r.op !== 'pre_fault') throw new Error(`not a pre_fault result: ${JSON.stringify(r)}`);
  return r;
}
