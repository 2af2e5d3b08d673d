/** Shared fixtures for the model's module tests: a small VM, a recording thread, hand-built tables. */

import { KvmActor, type OpQueue } from '../../src/kvm/actor.js';
import type { Violation, ViolationKind } from '../../src/kvm/findings.js';
import { spteWord } from '../../src/kvm/layout.js';
import type { KvmThread } from '../../src/kvm/thread.js';
import { Vm } from '../../src/kvm/vm.js';
import type { VmType } from '../../src/kvm/vm-types.js';
import { CompiledLockProtocol } from '../../src/protocol/lock-protocol.js';
import { compiled } from '../../src/protocol/machines.js';

export const MiB = 1024 * 1024;

export function newVm(opts: { type?: VmType; vcpus?: number; guestBytes?: number; tablesExtra?: number } = {}): Vm {
  const cfg = { type: opts.type ?? 'default', vcpus: opts.vcpus ?? 2, guestBytes: opts.guestBytes ?? 16 * MiB, ...(opts.tablesExtra !== undefined ? { tablesExtra: opts.tablesExtra } : {}) };
  return Vm.create(cfg, new CompiledLockProtocol(compiled('mmu-lock')));
}

export interface Finding {
  kind: ViolationKind;
  message: string;
  gfn?: number | undefined;
}

/** A KvmThread that records what it reports. */
export interface RecordingThread extends KvmThread {
  readonly findings: Finding[];
  readonly writes: number[];
}

export function recorder(vm: Vm, actor: number): RecordingThread {
  const findings: Finding[] = [];
  const writes: number[] = [];
  return {
    vm, actor, findings, writes,
    report(kind, message, detail) { findings.push({ kind, message, gfn: detail?.gfn }); },
    noteSpteWrite(sptep) { writes.push(sptep); },
  };
}

/** A KvmActor with an empty op queue and a sink that records. */
export function stubActor(vm: Vm, actor: number): { a: KvmActor; violations: Violation[] } {
  const violations: Violation[] = [];
  const queue: OpQueue = { peek: () => null, complete: () => {}, replaceHead: () => {} };
  return { a: new KvmActor(vm, actor, queue, { report: (v) => violations.push(v) }), violations };
}

/** Writes SPTE `index` of table `table` (both halves). */
export function setSpte(vm: Vm, table: number, index: number, lo: number, hi: number): number {
  const w = spteWord(vm.layout, table, index);
  Atomics.store(vm.i32, w, lo);
  Atomics.store(vm.i32, w + 1, hi);
  return w;
}

export function getSpte(vm: Vm, table: number, index: number): [number, number] {
  const w = spteWord(vm.layout, table, index);
  return [Atomics.load(vm.i32, w), Atomics.load(vm.i32, w + 1)];
}

/** Fills a table with SHADOW_NONPRESENT_VALUE (bit 63), as tdp_mmu_alloc_sp does. */
export function clearTable(vm: Vm, table: number): void {
  for (let i = 0; i < 512; i++) setSpte(vm, table, i, 0, 1 << 31);
}
