/**
 * The C reproducer's plan: a scenario laid out as a real VMM would do it — one host
 * buffer per memslot creation (its kind: anonymous, shared memfd, hugetlbfs; a
 * guest_memfd beside it for KVM_MEM_GUEST_MEMFD slots), the memslot table the VMM's ops
 * walk through, a code page for the guest in a slot of its own, and each op with the
 * outcomes the model allows. What a real host cannot do is refused here (ExportError) or
 * noted for the file header.
 */

import type { HostMemory } from '../kvm/host.js';
import { KVM_MEM_GUEST_MEMFD } from '../kvm/memslots.js';
import type { Op, SetMemslotOp } from '../kvm/ops.js';
import { VM_TYPES, type VmType } from '../kvm/vm-types.js';
import type { Scenario } from '../workload/scenario.js';

/** A scenario the reproducer cannot express on a real host (one line: what and why). */
export class ExportError extends Error {
  override readonly name = 'ExportError';
}

/** The guest's flat 32-bit code segment reaches 4 GiB: every access must be below it. */
export const GUEST_GPA_LIMIT = 2 ** 32;
const PAGE = 4096n;

/** Host memory for one memslot creation. */
export interface CBacking {
  /** The memslot created with it, and the range it was created for. */
  readonly slot: number;
  readonly gpa: bigint;
  readonly sizeBytes: bigint;
  readonly memory: HostMemory;
  /** Host page size: 4 KiB, 2 MiB (THP when anonymous, else hugetlbfs) or 1 GiB. */
  readonly pageBytes: number;
  readonly populated: boolean;
  readonly guestMemfd: boolean;
}

/** One op of the scenario as the reproducer runs it. */
export interface COp {
  /** Index in the scenario's (expanded) op list. */
  readonly index: number;
  readonly actor: string;
  readonly op: Op;
  /** The backing a set_memslot passes, or an invalidation acts on (-1: none). */
  readonly backing: number;
  /** get_dirty_log: the slot's size when the VMM reaches this op (0: no such slot). */
  readonly slotBytes: bigint;
  readonly after: number;
  /** Outcomes the model allows (`ok`, `mmio`, an errno name). */
  readonly expect: readonly string[];
}

export interface CPlan {
  readonly name: string;
  readonly vmType: VmType;
  readonly vcpus: number;
  readonly backings: readonly CBacking[];
  /** The scenario's initial memslots, each with its backing. */
  readonly initialSlots: readonly { readonly op: SetMemslotOp; readonly backing: number }[];
  readonly ops: readonly COp[];
  readonly codeSlot: number;
  readonly codeGpa: bigint;
  /** KVM_X86_QUIRK_* bits to disable (KVM_CAP_DISABLE_QUIRKS2). */
  readonly disabledQuirks: number;
  readonly manualDirtyLogProtect: boolean;
  /** Why the file must skip on every host (a VM type this reproducer cannot launch), or null. */
  readonly cannotLaunch: string | null;
  /** What of the scenario a real host does not reproduce (for the header). */
  readonly notes: readonly string[];
}

/** KVM_X86_QUIRK_SLOT_ZAP_ALL (arch/x86/include/uapi/asm/kvm.h). */
const QUIRK_BITS: Readonly<Record<string, number>> = { slot_zap_all: 1 << 7 };

/** Refuses ops a userspace reproducer cannot issue. */
function checkOp(o: Op, i: number, actor: string): void {
  const at = `op #${i} (${actor} ${o.op})`;
  if (o.op === 'access') {
    if (o.access === 'exec') throw new ExportError(`${at}: exec accesses are not reproduced (the guest would have to run the scenario's memory as code)`);
    if (o.gpa >= GUEST_GPA_LIMIT) throw new ExportError(`${at}: gpa 0x${o.gpa.toString(16)} is above 4 GiB; the reproducer's guest is flat 32-bit without paging`);
  }
  if (o.op === 'vm_dead') throw new ExportError(`${at}: kvm_vm_dead() is what KVM does on a KVM_BUG_ON(), not something userspace can ask for`);
  if (o.op === 'map_memory' && (o.flags !== 0n || o.source !== 0n)) throw new ExportError(`${at}: KVM_MAP_MEMORY (an RFC never merged) is issued as KVM_PRE_FAULT_MEMORY, which has no flags or source`);
  if (o.op === 'access_stream') throw new ExportError(`${at}: an access stream is a benchmark workload, not a scenario op`);
}

function pageBytesOf(level: number): number {
  return level === 3 ? 1 << 30 : level === 2 ? 1 << 21 : 4096;
}

function backingOf(m: SetMemslotOp): CBacking {
  return {
    slot: m.slot, gpa: m.gpa, sizeBytes: m.size, memory: m.hostMemory ?? 'anonymous', pageBytes: pageBytesOf(m.backingLevel),
    populated: m.populated ?? false, guestMemfd: (m.flags & KVM_MEM_GUEST_MEMFD) !== 0,
  };
}

/** The backing covering gpa: the first created (initial slots first) whose range holds it, or -1. */
function backingAt(backings: readonly CBacking[], gpa: bigint): number {
  return backings.findIndex((b) => gpa >= b.gpa && gpa < b.gpa + b.sizeBytes);
}

/**
 * Walks the VMM's memslot ops in order (one thread runs them, so their order is fixed):
 * a create gets a new backing, a move or flags change keeps the slot's (KVM refuses a
 * new userspace_addr for an existing slot), a delete keeps nothing.
 */
function layOut(s: Scenario): { backings: CBacking[]; initial: CPlan['initialSlots']; opBacking: Map<number, number>; slotBytes: Map<number, bigint> } {
  const backings: CBacking[] = [];
  const table = new Map<number, { backing: number; size: bigint }>();
  const initial = s.memslots.map((op) => {
    backings.push(backingOf(op));
    table.set(op.slot, { backing: backings.length - 1, size: op.size });
    return { op, backing: backings.length - 1 };
  });
  const opBacking = new Map<number, number>();
  const slotBytes = new Map<number, bigint>();
  s.ops.forEach((so, i) => {
    const o = so.op;
    if (o.op === 'get_dirty_log') slotBytes.set(i, table.get(o.slot)?.size ?? 0n);
    if (o.op !== 'set_memslot') return;
    const cur = table.get(o.slot);
    if (o.size === 0n) {
      opBacking.set(i, cur?.backing ?? -1);
      table.delete(o.slot);
    } else if (cur !== undefined) {
      opBacking.set(i, cur.backing);
      table.set(o.slot, { backing: cur.backing, size: o.size });
    } else {
      backings.push(backingOf(o));
      opBacking.set(i, backings.length - 1);
      table.set(o.slot, { backing: backings.length - 1, size: o.size });
    }
  });
  return { backings, initial, opBacking, slotBytes };
}

/**
 * The guest's code page: the highest 4 KiB page below 4 GiB that no memslot of the
 * scenario ever covers, so the scenario's own memory is touched only by its ops.
 */
export function codePageGpa(ranges: readonly { gpa: bigint; sizeBytes: bigint }[]): bigint {
  const free = (g: bigint): boolean => ranges.every((r) => g + PAGE <= r.gpa || g >= r.gpa + r.sizeBytes);
  for (let g = BigInt(GUEST_GPA_LIMIT) - PAGE; g >= 0x100000n; g -= 0x100000n) if (free(g)) return g;
  throw new ExportError('no free page below 4 GiB for the guest code: the scenario\'s memslots cover it all');
}

function rangesOf(s: Scenario): { gpa: bigint; sizeBytes: bigint }[] {
  const all = [...s.memslots, ...s.ops.map((o) => o.op).filter((o): o is SetMemslotOp => o.op === 'set_memslot')];
  return all.filter((m) => m.size > 0n).map((m) => ({ gpa: m.gpa, sizeBytes: m.size }));
}

function codeSlotOf(s: Scenario): number {
  const ids = [...s.memslots, ...s.ops.map((o) => o.op).filter((o): o is SetMemslotOp => o.op === 'set_memslot')].map((m) => m.slot & 0xffff);
  return Math.max(-1, ...ids) + 1;
}

function notesOf(s: Scenario): string[] {
  const notes: string[] = [];
  if (s.vm.mmuInvalidateSeq !== 0n) notes.push(`the VM starts with mmu_invalidate_seq 0x${s.vm.mmuInvalidateSeq.toString(16)} in the model; a real VM starts at 0 (userspace cannot set it)`);
  if (s.vm.pageTables !== null) notes.push(`the model's KVM may allocate only ${s.vm.pageTables} page-table pages (a host short of memory); a real host is not constrained here`);
  if (s.ops.some((o) => o.op.op === 'map_memory')) notes.push('KVM_MAP_MEMORY (the RFC that preceded KVM_PRE_FAULT_MEMORY, never merged) is issued as KVM_PRE_FAULT_MEMORY over the same range');
  if (s.ops.some((o) => o.op.op === 'invalidate' && o.op.kind === 'migrate')) notes.push('a host migration is madvise(MADV_DONTNEED): the same invalidate_range_start/end over the range and a new page on the next fault (the ops never read the contents)');
  return notes;
}

/** The plan of a scenario, with the outcomes the model allows per op (expect[i] for op i). */
export function planOf(s: Scenario, expect: readonly (readonly string[])[]): CPlan {
  s.ops.forEach((o, i) => checkOp(o.op, i, o.actor));
  const { backings, initial, opBacking, slotBytes } = layOut(s);
  const ops: COp[] = s.ops.map((o, i) => ({
    index: i, actor: o.actor, op: o.op, after: o.after ?? -1, expect: expect[i] ?? [], slotBytes: slotBytes.get(i) ?? 0n,
    backing: o.op.op === 'set_memslot' ? opBacking.get(i) ?? -1 : o.op.op === 'invalidate' ? backingAt(backings, BigInt(o.op.gpa)) : -1,
  }));
  const launch = VM_TYPES[s.vm.type].finalizeIoctl;
  return {
    name: s.name, vmType: s.vm.type, vcpus: s.vm.vcpus, backings, initialSlots: initial, ops,
    codeSlot: codeSlotOf(s), codeGpa: codePageGpa(rangesOf(s)),
    disabledQuirks: s.vm.disabledQuirks.reduce((m, q) => m | (QUIRK_BITS[q] ?? 0), 0),
    manualDirtyLogProtect: s.vm.manualDirtyLogProtect,
    cannotLaunch: launch === null ? null : `a ${s.vm.type.toUpperCase()} guest needs its launch flow (up to ${launch}), which this reproducer does not implement`,
    notes: notesOf(s),
  };
}
