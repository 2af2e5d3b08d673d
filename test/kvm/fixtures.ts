/** Shared fixtures for the model's module tests: a small VM, a recording thread, hand-built tables. */

import type { KernelRelease } from '../../src/kvm/kernel-release.js';
import { KvmActor, type OpQueue } from '../../src/kvm/actor.js';
import { dirtyBitmapAlloc } from '../../src/kvm/dirty-bitmap.js';
import type { Violation, ViolationKind } from '../../src/kvm/findings.js';
import { gmemReserve, hostMmap, type HostMemory } from '../../src/kvm/host.js';
import { spteWord } from '../../src/kvm/layout.js';
import { KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES, SlotInfo, memslotReplace, memslotsActiveSet } from '../../src/kvm/memslots.js';
import * as pf from '../../src/kvm/page-fault.js';
import { newLeafRef, tdpFindLeaf, type LeafRef } from '../../src/kvm/tdp-iter.js';
import { rootTable, vcpuRootSlot } from '../../src/kvm/tdp-mmu.js';
import type { KvmThread } from '../../src/kvm/thread.js';
import { kvmMmuLoad } from '../../src/kvm/vcpu.js';
import { Vm } from '../../src/kvm/vm.js';
import type { VmType } from '../../src/kvm/vm-types.js';
import { ACTOR_IMPLS } from '../../src/protocol/bindings.js';
import { CompiledLockProtocol } from '../../src/protocol/lock-protocol.js';
import { compiled } from '../../src/protocol/machines.js';
import { NO_MUTATIONS } from '../../src/protocol/mutations.js';
import { BoundMachine, CompiledRunner } from '../../src/protocol/runner.js';

export const MiB = 1024 * 1024;

export function newVm(opts: { type?: VmType; vcpus?: number; guestBytes?: number; tablesExtra?: number; kernel?: KernelRelease; physBits?: number } = {}): Vm {
  const cfg = {
    type: opts.type ?? 'default', vcpus: opts.vcpus ?? 2, guestBytes: opts.guestBytes ?? 16 * MiB,
    ...(opts.tablesExtra !== undefined ? { tablesExtra: opts.tablesExtra } : {}), ...(opts.kernel !== undefined ? { kernel: opts.kernel } : {}),
    ...(opts.physBits !== undefined ? { physBits: opts.physBits } : {}),
  };
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

export interface SlotVm {
  vm: Vm;
  a: KvmActor;
  violations: Violation[];
  slot: SlotInfo;
}

/**
 * A one-vCPU VM with memslot 0 at gfn `baseGfn` (host memory mmap()ed, guest_memfd and a
 * dirty bitmap as the flags ask) and a loaded root. The memory is shared (memfd) unless
 * asked: a read fault allocates and maps writable, so the fault tests are not about CoW.
 */
export function vmWithSlot(o: { type?: VmType; flags?: number; npages?: number; baseGfn?: number; backingLevel?: number; kernel?: KernelRelease; hostMemory?: HostMemory } = {}): SlotVm {
  const vm = newVm({ type: o.type ?? 'default', vcpus: 1, guestBytes: 16 * MiB, ...(o.kernel !== undefined ? { kernel: o.kernel } : {}) });
  const s = new SlotInfo();
  s.id = 0;
  s.baseGfn = o.baseGfn ?? 0;
  s.npages = o.npages ?? 2048;
  s.flags = o.flags ?? 0;
  s.hvaBase = hostMmap(vm, s.npages, o.backingLevel ?? 1, o.hostMemory ?? ((o.backingLevel ?? 1) > 1 ? 'hugetlbfs' : 'shared'));
  if ((s.flags & KVM_MEM_GUEST_MEMFD) !== 0) s.gmemBase = gmemReserve(vm, s.npages);
  if ((s.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0) s.dirtyBase = dirtyBitmapAlloc(vm, s.npages);
  memslotReplace(vm, memslotsActiveSet(vm), s);
  const { a, violations } = stubActor(vm, 0);
  kvmMmuLoad(a);
  return { vm, a, violations, slot: s };
}

export interface FaultOpts { write?: boolean; exec?: boolean; present?: boolean; prefetch?: boolean; isPrivate?: boolean }

export function init(a: KvmActor, gfn: number, o: FaultOpts = {}): void {
  pf.kvmMmuDoPageFaultInit(a, gfn, o.write ?? false, o.exec ?? false, o.present ?? false, o.prefetch ?? false, o.isPrivate ?? false);
}

const PAGE_FAULT = new BoundMachine(compiled('page-fault'), ACTOR_IMPLS['page-fault']!, NO_MUTATIONS);
const STEP = PAGE_FAULT.machine.eventIndex.get('STEP')!;

export interface Outcome { ret: string; reason: string | null; errno: string | null; states: string[] }

/** A whole fault through the compiled machine; `before(state)` runs before each step (another actor's move). */
export function fault(a: KvmActor, gfn: number, o: FaultOpts = {}, before?: (state: string) => void): Outcome {
  init(a, gfn, o);
  const r = new CompiledRunner(PAGE_FAULT);
  const states: string[] = [];
  for (let i = 0; i < 64 && !r.done; i++) {
    const name = PAGE_FAULT.machine.states[r.state]!.name;
    states.push(name);
    before?.(name);
    r.send(a, STEP);
  }
  return { ret: a.fault.ret, reason: a.fault.retryReason, errno: a.fault.errno, states };
}

/** A hook for fault()'s `before` that runs `fn` once, the first time the fault is about to step from state `at`. */
export function once(fn: () => void): (state: string, at: string) => void {
  let done = false;
  return (state, at) => { if (!done && state === at) { done = true; fn(); } };
}

/** The leaf (or first non-present SPTE) mapping `gfn` in the actor's root. */
export function leafOf(a: KvmActor, gfn: number): LeafRef {
  return tdpFindLeaf(a.vm, rootTable(a.vm, vcpuRootSlot(a.vm, a.actor)), gfn, newLeafRef());
}
