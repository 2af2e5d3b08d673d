/**
 * The generated part of the reproducer: the configuration macros, the backings, the
 * initial memslots and each actor's ops with the outcomes the model allows — as C
 * tables with designated initializers, one op per entry, so a reader sees the scenario.
 */

import type { Op } from '../kvm/ops.js';
import { VM_TYPES } from '../kvm/vm-types.js';
import { DONE_PORT, MAILBOX_OFFSET, RESUME_OFFSET } from './c-guest.js';
import { cIdent, cString, cU64 } from './c-text.js';
import type { COp, CPlan } from './plan.js';

/** Windows run by default, and the watchdog's deadline per window. */
export const WINDOWS_DEFAULT = 1000;
export const WATCHDOG_SECONDS_DEFAULT = 10;
/** Each actor starts up to this many µs after the barrier, a different offset every window. */
export const JITTER_US_DEFAULT = 200;

const VM_TYPE_MACROS: Readonly<Record<string, string>> = { default: 'KVM_X86_DEFAULT_VM', sw_protected: 'KVM_X86_SW_PROTECTED_VM', snp: 'KVM_X86_SNP_VM', tdx: 'KVM_X86_TDX_VM' };

/** What an op is, in the scenario's terms (its `what` string). */
export function describeOp(o: Op): string {
  const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
  switch (o.op) {
    case 'access': return `${o.access} ${hex(o.gpa)}`;
    case 'pre_fault': return `KVM_PRE_FAULT_MEMORY [${hex(o.gpa)}, +${hex(o.size)})${o.untilDone ? ' until done' : ''}`;
    case 'map_memory': return `KVM_MAP_MEMORY gfn ${hex(o.baseGfn)} +${o.nrPages} pages (as KVM_PRE_FAULT_MEMORY)${o.untilDone ? ' until done' : ''}`;
    case 'mmu_reset': return 'KVM_SET_SREGS toggling CR0.WP';
    case 'set_memslot': return o.size === 0n ? `KVM_SET_USER_MEMORY_REGION2 slot ${o.slot} delete` : `KVM_SET_USER_MEMORY_REGION2 slot ${o.slot} [${hex(o.gpa)}, +${hex(o.size)}) flags ${hex(o.flags)}`;
    case 'set_memory_attributes': return `KVM_SET_MEMORY_ATTRIBUTES [${hex(o.gpa)}, +${hex(o.size)}) = ${hex(o.attributes)}`;
    case 'invalidate': return `${o.kind}${o.kind === 'mprotect' ? `(${o.prot})` : ''} of gpa [${hex(o.gpa)}, +${hex(o.size)})`;
    case 'get_dirty_log': return `KVM_GET_DIRTY_LOG slot ${o.slot}`;
    case 'clear_dirty_log': return `KVM_CLEAR_DIRTY_LOG slot ${o.slot} pages [${o.firstPage}, +${o.numPages})`;
    case 'signal': return `SIGUSR1 to vcpu${o.vcpu}`;
    case 'snp_launch_update': return `KVM_SEV_SNP_LAUNCH_UPDATE [${hex(o.gpa)}, +${hex(o.size)})`;
    case 'finalize': return 'launch finish';
    case 'vm_dead': return 'kvm_vm_dead()';
    case 'access_stream': return 'access stream';
  }
}

const PROT: Readonly<Record<string, string>> = { r: 'PROT_READ', rw: 'PROT_READ | PROT_WRITE', none: 'PROT_NONE' };
const EVENT: Readonly<Record<string, string>> = { migrate: 'EV_MIGRATE', reclaim: 'EV_RECLAIM', mprotect: 'EV_MPROTECT', munmap: 'EV_MUNMAP' };

/** The op's own fields, as designated initializers. */
function opFields(c: COp): string[] {
  const o = c.op;
  switch (o.op) {
    case 'access': return ['.kind = OP_ACCESS', `.gpa = ${cU64(o.gpa)}`, `.write = ${o.access === 'write' ? 1 : 0}`];
    case 'pre_fault': return ['.kind = OP_PRE_FAULT', `.gpa = ${cU64(o.gpa)}`, `.size = ${cU64(o.size)}`, `.flags = ${cU64(o.flags)}`, `.until_done = ${o.untilDone ? 1 : 0}`];
    case 'map_memory': return ['.kind = OP_PRE_FAULT', `.gpa = ${cU64(o.baseGfn << 12n)}`, `.size = ${cU64(o.nrPages << 12n)}`, `.until_done = ${o.untilDone ? 1 : 0}`];
    case 'mmu_reset': return ['.kind = OP_MMU_RESET'];
    case 'set_memslot': return ['.kind = OP_SET_MEMSLOT', `.slot = ${o.slot}`, `.gpa = ${cU64(o.gpa)}`, `.size = ${cU64(o.size)}`, `.flags = ${cU64(o.flags)}`, `.backing = ${c.backing}`];
    case 'set_memory_attributes': return ['.kind = OP_SET_ATTRIBUTES', `.gpa = ${cU64(o.gpa)}`, `.size = ${cU64(o.size)}`, `.attributes = ${cU64(o.attributes)}`, `.flags = ${cU64(o.flags)}`];
    case 'invalidate': return ['.kind = OP_INVALIDATE', `.gpa = ${cU64(o.gpa)}`, `.size = ${cU64(o.size)}`, `.event = ${EVENT[o.kind]}`, `.prot = ${PROT[o.prot]}`, `.backing = ${c.backing}`];
    case 'get_dirty_log': return ['.kind = OP_GET_DIRTY_LOG', `.slot = ${o.slot}`, `.size = ${cU64(c.slotBytes)}`];
    case 'clear_dirty_log': return ['.kind = OP_CLEAR_DIRTY_LOG', `.slot = ${o.slot}`, `.first_page = ${cU64(o.firstPage)}`, `.num_pages = ${cU64(o.numPages)}`];
    case 'signal': return ['.kind = OP_SIGNAL', `.vcpu = ${o.vcpu}`];
    case 'snp_launch_update': case 'finalize': case 'vm_dead': case 'access_stream': return ['.kind = OP_LAUNCH'];
  }
}

/** One op as a table entry. */
export function cOpEntry(c: COp): string {
  const expect = c.expect.length > 0 ? c.expect.join('|') : 'none';
  const fields = [`.index = ${c.index}`, ...opFields(c), `.after = ${c.after}`, `.what = ${cString(describeOp(c.op))}`, `.expect = ${cString(expect)}`];
  return `\t{ ${fields.join(', ')} },`;
}

/** The configuration macros. */
export function cConfig(p: CPlan, actors: readonly string[]): string {
  const has = (k: Op['op']): boolean => p.ops.some((o) => o.op.op === k);
  const lines: [string, string][] = [
    ['SCENARIO_NAME', cString(p.name)], ['VM_TYPE', VM_TYPE_MACROS[p.vmType]!], ['VM_TYPE_NAME', cString(VM_TYPE_MACROS[p.vmType]!)],
    ['NR_VCPUS', String(p.vcpus)], ['NR_ACTORS', String(actors.length)], ['NR_OPS', String(p.ops.length)],
    ['NR_BACKINGS', String(p.backings.length)], ['NR_INITIAL_SLOTS', String(p.initialSlots.length)],
    ['CODE_SLOT', String(p.codeSlot)], ['CODE_GPA', cU64(p.codeGpa)], ['DONE_PORT', `0x${DONE_PORT.toString(16)}`],
    ['MAILBOX_OFFSET', `0x${MAILBOX_OFFSET.toString(16)}`], ['RESUME_OFFSET', String(RESUME_OFFSET)], ['RUN_EXITS_MAX', '1000'], ['GRACE_MS', '5000'],
    ['DISABLED_QUIRKS', p.disabledQuirks === 0 ? '0' : `0x${p.disabledQuirks.toString(16)}`], ['MANUAL_DIRTY_LOG_PROTECT', p.manualDirtyLogProtect ? '1' : '0'],
    ['NEEDS_PRE_FAULT', has('pre_fault') || has('map_memory') ? '1' : '0'], ['NEEDS_ATTRIBUTES', has('set_memory_attributes') ? '1' : '0'],
    ['NEEDS_GUEST_MEMFD', p.backings.some((b) => b.guestMemfd) ? '1' : '0'], ['CANNOT_LAUNCH', p.cannotLaunch === null ? '((const char *)0)' : cString(p.cannotLaunch)],
    ['WINDOWS_DEFAULT', String(WINDOWS_DEFAULT)], ['WATCHDOG_SECONDS_DEFAULT', String(WATCHDOG_SECONDS_DEFAULT)], ['JITTER_US_DEFAULT', String(JITTER_US_DEFAULT)],
  ];
  return lines.map(([k, v]) => `#define ${k} ${v}`).join('\n');
}

/** backings[] and initial_slots[]. */
export function cMemory(p: CPlan): string {
  const kind = { anonymous: 'MEM_ANONYMOUS', shared: 'MEM_SHARED', hugetlbfs: 'MEM_HUGETLBFS' } as const;
  const backings = p.backings.map((b, i) => `\t{ .what = ${cString(`slot ${b.slot} #${i}`)}, .gpa = ${cU64(b.gpa)}, .size = ${cU64(b.sizeBytes)}, .page_size = ${cU64(b.pageBytes)}, .kind = ${kind[b.memory]}, .populated = ${b.populated ? 1 : 0}, .guest_memfd = ${b.guestMemfd ? 1 : 0} },`);
  const slots = p.initialSlots.map((s) => `\t{ .index = -1, .kind = OP_SET_MEMSLOT, .slot = ${s.op.slot}, .gpa = ${cU64(s.op.gpa)}, .size = ${cU64(s.op.size)}, .flags = ${cU64(s.op.flags)}, .backing = ${s.backing}, .what = ${cString(describeOp(s.op))} },`);
  return [
    '/* Host memory, one per memslot creation (a move or flags change keeps its slot\'s). */',
    `static struct backing backings[${Math.max(1, p.backings.length)}] = {`, ...backings, '};', '',
    '/* The memslots present before the window. */',
    `static const struct op initial_slots[${Math.max(1, p.initialSlots.length)}] = {`, ...slots, '};',
  ].join('\n');
}

/** Each actor's ops, and actors[] (vCPUs first, then host and vmm). */
export function cActorTables(p: CPlan, actors: readonly string[]): string {
  const out: string[] = ['/* Each actor\'s ops, in order; .expect: what the model allows. */'];
  for (const a of actors) {
    const ops = p.ops.filter((o) => o.actor === a);
    out.push(`static const struct op ops_${cIdent(a)}[${Math.max(1, ops.length)}] = {`, ...ops.map(cOpEntry), '};');
  }
  out.push('', 'static struct actor actors[NR_ACTORS] = {');
  for (const a of actors) {
    const vcpu = /^vcpu([0-9]+)$/.exec(a);
    out.push(`\t{ .name = ${cString(a)}, .vcpu = ${vcpu ? vcpu[1] : -1}, .ops = ops_${cIdent(a)}, .nr_ops = ${p.ops.filter((o) => o.actor === a).length} },`);
  }
  out.push('};');
  return out.join('\n');
}

/** The actors of a plan: vcpu0 … vcpuN-1, host, vmm (engine order). */
export function actorsOf(p: CPlan): string[] {
  return [...Array.from({ length: p.vcpus }, (_, i) => `vcpu${i}`), 'host', 'vmm'];
}

/** The VM type info kept for the header. */
export function vmTypeMacro(p: CPlan): string {
  return `${VM_TYPE_MACROS[p.vmType]} (${VM_TYPES[p.vmType].uapi})`;
}
