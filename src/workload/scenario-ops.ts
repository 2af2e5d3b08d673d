/**
 * The ops of a scenario file, one zod schema each: the fields an op takes, what each
 * means, and the model Op (src/kvm/ops.ts) it becomes. Which actor kind runs an op is
 * part of its schema, so an editor flags `"actor": "host"` on a pre_fault too.
 */

import { z } from 'zod';
import { SCENARIO_OPS_MAX } from '../kvm/limits.js';
import { HOST_EVENT_KINDS, type HostEventKind } from '../kvm/host.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../kvm/mem-attrs.js';
import type { Op } from '../kvm/ops.js';
import { ACTOR_LIST, VCPU_PATTERN, boolField, boundedField, enumField, flagsField, intField, strictObject, u64Field } from './scenario-fields.js';
import { memslotCheck, memslotShape, toSetMemslot } from './scenario-memslot.js';
import { parseU64, showValue } from './numbers.js';

/** Largest guest access gpa (a JS number in the model). */
export const ACCESS_GPA_LIMIT = 2 ** 52;

/** KVM_MAP_MEMORY (RFC) flag names. */
export const MAP_MEMORY_FLAG_NAMES: Readonly<Record<string, bigint>> = { write: 1n, exec: 2n, user: 4n, private: 8n };

/** KVM_SET_MEMORY_ATTRIBUTES attribute names; `"shared"` alone means none. */
export const MEMORY_ATTRIBUTE_NAMES: Readonly<Record<string, bigint>> = { private: BigInt(KVM_MEMORY_ATTRIBUTE_PRIVATE), shared: 0n };

export type ActorKind = 'vcpu' | 'host' | 'vmm';

const ROLE: Readonly<Record<ActorKind, string>> = {
  vcpu: 'a vCPU op: use a vcpuN actor', host: 'a host mm event: use actor "host"', vmm: 'a VMM ioctl: use actor "vmm"',
};

export function actorKindOf(name: string): ActorKind | null {
  if (name === 'host' || name === 'vmm') return name;
  return VCPU_PATTERN.test(name) ? 'vcpu' : null;
}

/** The `actor` of an op run by `kind` (a signal: the VMM's or the host's thread). */
function actorField(op: string, kind: ActorKind) {
  const error = (iss: { input?: unknown }): string => {
    const v = iss.input;
    if (typeof v !== 'string') return `expected an actor name (${ACTOR_LIST}), got ${showValue(v)}`;
    if (actorKindOf(v) === null) return `unknown actor ${showValue(v)}; actors: ${ACTOR_LIST}`;
    return `${v} cannot run ${op} (${ROLE[kind]})`;
  };
  const description = `who runs it: ${kind === 'vcpu' ? 'a vCPU, vcpu0 … vcpuN-1' : op === 'signal' ? '"vmm" or "host" (any userspace thread)' : `"${kind}"`}`;
  if (kind === 'vcpu') return z.string({ error }).regex(VCPU_PATTERN, { error }).meta({ description });
  return (op === 'signal' ? z.enum(['vmm', 'host'], { error }) : z.enum([kind], { error })).meta({ description });
}

const AFTER = intField('index in `ops` of an earlier op of another actor that must complete before this one starts', 0, Number.MAX_SAFE_INTEGER, SCENARIO_OPS_MAX);

type Fields<S extends z.ZodRawShape> = z.output<z.ZodObject<S>>;

/**
 * One op: the common fields (actor, op, after) first, then the op's own; `check` relates
 * fields to each other; → a FileOp with the model Op.
 */
function opSchema<const N extends string, S extends z.ZodRawShape, R extends Op>(op: N, kind: ActorKind, what: string, shape: S, toOp: (o: Fields<S>) => R, check?: (o: Fields<S>) => { path: string; message: string } | null) {
  return strictObject(`a ${op} op`, 'an op object { actor, op, … }', {
    actor: actorField(op, kind),
    op: z.literal(op).meta({ description: what }),
    after: AFTER.optional(),
    ...shape,
  }).superRefine((o, ctx) => {
    const bad = check?.(o as Fields<S>) ?? null;
    if (bad !== null) ctx.addIssue({ code: 'custom', path: [bad.path], message: bad.message });
  }).transform((o): FileOp => {
    const common = o as unknown as { actor: string; after?: number; repeat?: number };
    return { actor: common.actor, after: common.after, repeat: common.repeat ?? 1, op: toOp(o as Fields<S>) };
  });
}

const UNTIL_DONE = boolField('repeat the ioctl while it makes progress or fails with EINTR/EAGAIN (the selftest loop)').prefault(false);
const access = opSchema('access', 'vcpu', 'a guest memory access (an EPT violation exit on a miss)', {
  gpa: boundedField('guest physical address', ACCESS_GPA_LIMIT - 1, 'below 2^52'),
  access: enumField(['read', 'write', 'exec'], 'the kind of access'),
  private: boolField('SNP and TDX only: the guest\'s own private/shared choice (C-bit, shared bit)').optional(),
  repeat: intField('run the access this many times', 1, Number.MAX_SAFE_INTEGER, SCENARIO_OPS_MAX).optional(),
}, (o) => ({ op: 'access' as const, gpa: o.gpa, access: o.access, ...(o.private !== undefined ? { private: o.private } : {}) }));

const preFault = opSchema('pre_fault', 'vcpu', 'KVM_PRE_FAULT_MEMORY on the vCPU', {
  gpa: u64Field('struct kvm_pre_fault_memory.gpa'),
  size: u64Field('struct kvm_pre_fault_memory.size'),
  flags: u64Field('struct kvm_pre_fault_memory.flags (must be 0: the kernel answers anything else with EINVAL)').prefault(0),
  until_done: UNTIL_DONE,
}, (o) => ({ op: 'pre_fault' as const, gpa: o.gpa, size: o.size, flags: o.flags, untilDone: o.until_done }));

const mapMemory = opSchema('map_memory', 'vcpu', 'KVM_MAP_MEMORY (the RFC that preceded KVM_PRE_FAULT_MEMORY)', {
  base_gfn: u64Field('first guest frame number'),
  nr_pages: u64Field('number of 4 KiB pages'),
  flags: flagsField(MAP_MEMORY_FLAG_NAMES, 'map_memory flag', 'KVM_MAP_MEMORY flags', parseU64).prefault(0),
  source: u64Field('source address (SNP/TDX initial contents)').prefault(0),
  until_done: UNTIL_DONE,
}, (o) => ({ op: 'map_memory' as const, baseGfn: o.base_gfn, nrPages: o.nr_pages, flags: o.flags, source: o.source, untilDone: o.until_done }));

const setMemslot = opSchema('set_memslot', 'vmm', 'KVM_SET_USER_MEMORY_REGION2: create, move, delete (size 0) or change flags of a slot', memslotShape(), toSetMemslot, memslotCheck);

const setAttributes = opSchema('set_memory_attributes', 'vmm', 'KVM_SET_MEMORY_ATTRIBUTES', {
  gpa: u64Field('struct kvm_memory_attributes.address'),
  size: u64Field('struct kvm_memory_attributes.size'),
  attributes: flagsField(MEMORY_ATTRIBUTE_NAMES, 'memory attribute', 'the attributes to set ("shared" or [] for none)', parseU64, 'attributes'),
  flags: u64Field('struct kvm_memory_attributes.flags (must be 0)').prefault(0),
}, (o) => ({ op: 'set_memory_attributes' as const, gpa: o.gpa, size: o.size, attributes: o.attributes, flags: o.flags }));

const invalidate = opSchema('invalidate', 'host', 'a host mm event on the guest range: mmu_notifier invalidate_range_start … _end', {
  gpa: boundedField('first guest physical address covered', ACCESS_GPA_LIMIT - 1, 'below 2^52'),
  size: boundedField('bytes covered (at least 1)', ACCESS_GPA_LIMIT, 'at most 2^52'),
  kind: enumField(HOST_EVENT_KINDS as [HostEventKind, ...HostEventKind[]], 'what the host does to the pages'),
  prot: enumField(['r', 'rw', 'none'], 'mprotect only: the new protection (default r)').optional(),
}, (o) => ({ op: 'invalidate' as const, gpa: o.gpa, size: o.size, kind: o.kind, prot: o.prot ?? 'r' }), (o) => {
  if (o.size === 0) return { path: 'size', message: 'a host event covers at least one byte' };
  if (o.prot !== undefined && o.kind !== 'mprotect') return { path: 'prot', message: `only an mprotect has a prot (kind is ${o.kind})` };
  return null;
});

const getDirtyLog = opSchema('get_dirty_log', 'vmm', 'KVM_GET_DIRTY_LOG', {
  slot: boundedField('memslot id', 0xffffffff, 'a 32-bit value'),
}, (o) => ({ op: 'get_dirty_log' as const, slot: o.slot }));

const clearDirtyLog = opSchema('clear_dirty_log', 'vmm', 'KVM_CLEAR_DIRTY_LOG (manual dirty log protect)', {
  slot: boundedField('memslot id', 0xffffffff, 'a 32-bit value'),
  first_page: u64Field('first page of the slot to clear'),
  num_pages: u64Field('number of pages to clear'),
}, (o) => ({ op: 'clear_dirty_log' as const, slot: o.slot, firstPage: o.first_page, numPages: o.num_pages }));

const signal = opSchema('signal', 'vmm', 'a signal to a vCPU thread (a pending signal makes KVM ioctls return EINTR)', {
  vcpu: z.string({ error: (iss) => `a signal goes to a vCPU thread (vcpu0 … vcpuN-1), got ${showValue(iss.input)}` })
    .regex(VCPU_PATTERN, { error: (iss) => `a signal goes to a vCPU thread (vcpu0 … vcpuN-1), got ${showValue(iss.input)}` })
    .meta({ description: 'the vCPU thread signalled' }),
}, (o) => ({ op: 'signal' as const, vcpu: Number(o.vcpu.slice(4)) }));

const snpLaunchUpdate = opSchema('snp_launch_update', 'vmm', 'KVM_SEV_SNP_LAUNCH_UPDATE: kvm_gmem_populate() copies initial contents into guest_memfd pages and has the firmware validate them (SNP VMs, before launch finish)', {
  gpa: boundedField('first guest physical address populated', ACCESS_GPA_LIMIT - 1, 'below 2^52'),
  size: boundedField('bytes populated (at least 1)', ACCESS_GPA_LIMIT, 'at most 2^52'),
}, (o) => ({ op: 'snp_launch_update' as const, gpa: o.gpa, size: o.size }));
const finalize = opSchema('finalize', 'vmm', 'KVM_SEV_SNP_LAUNCH_FINISH / KVM_TDX_FINALIZE_VM: from then on pre-fault is allowed', {}, () => ({ op: 'finalize' as const }));
const vmDead = opSchema('vm_dead', 'vmm', 'kvm_vm_dead(), as KVM_BUG_ON() or a fatal error (a failed TDX SEAMCALL) does it: every vCPU ioctl is EIO from then on; KVM_REQ_VM_DEAD on every vCPU', {}, () => ({ op: 'vm_dead' as const }));
const mmuReset = opSchema('mmu_reset', 'vcpu', 'KVM_SET_SREGS changing CR0.WP: kvm_mmu_reset_context() drops the vCPU\'s root; the next KVM_RUN loads one', {}, () => ({ op: 'mmu_reset' as const }));

export const OP_SCHEMAS = [access, preFault, mapMemory, mmuReset, setMemslot, setAttributes, invalidate, getDirtyLog, clearDirtyLog, signal, snpLaunchUpdate, finalize, vmDead] as const;
export const OP_NAMES = ['access', 'pre_fault', 'map_memory', 'mmu_reset', 'set_memslot', 'set_memory_attributes', 'invalidate', 'get_dirty_log', 'clear_dirty_log', 'signal', 'snp_launch_update', 'finalize', 'vm_dead'] as const;
export type OpName = (typeof OP_NAMES)[number];

/** An op of the file, parsed: who, after what, how many times, and the model Op. */
export interface FileOp {
  readonly actor: string;
  readonly after: number | undefined;
  readonly repeat: number;
  readonly op: Op;
}
