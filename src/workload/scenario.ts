/**
 * Scenario files: a VM, its initial memslots and a list of ops, each run by one actor
 * (`vcpu0`…, `host`, `vmm`), in uAPI terms — the JSON form of the engine's RunConfig.
 *
 * ```json
 * { "name": "…", "description": "…",
 *   "vm": { "type": "default", "vcpus": 2, "memory": "256MiB" },
 *   "memslots": [ { "slot": 0, "gpa": "0x0", "size": "64MiB", "flags": ["log_dirty_pages"], "backing": "4K" } ],
 *   "ops": [ { "actor": "vcpu0", "op": "access", "gpa": "0x1000", "access": "write", "repeat": 3 }, … ] }
 * ```
 *
 * Two kinds of wrong input, kept apart on purpose:
 * - bad input — malformed JSON, an unknown field, op, actor, flag name or enum value, an
 *   op given to an actor that cannot run it, a number that is not one: ScenarioError,
 *   with a one-line message naming the field (`ops[3].size: …`);
 * - values the kernel rejects — an unaligned or wrapping pre-fault range, non-zero
 *   pre-fault flags, an unaligned memslot, unknown attribute or memslot flag bits: passed
 *   through unchanged (u64 fields as bigint), so the model answers with the kernel's errno.
 *
 * An access with `repeat: N` expands into N ops; `Scenario.ops` is the expanded list and
 * each entry remembers its position in the file and its repetition.
 */

import type { RunConfig, ScheduledOp } from '../engine/deterministic.js';
import { GUEST_BYTES_MAX, KVM_MMU_MAX_GFN, PAGE_TABLES_MAX, PAGE_TABLES_MIN, SCENARIO_OPS_MAX, VCPUS_MAX } from '../kvm/limits.js';
import { MEMSLOT_FLAG_NAMES } from '../kvm/memslots.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../kvm/mem-attrs.js';
import type { AccessKind, InvalidateOp, Op, SetMemslotOp } from '../kvm/ops.js';
import { HOST_EVENT_KINDS, type HostEventKind } from '../kvm/host.js';
import { VM_TYPE_NAMES, VM_TYPES, isVmType, type VmType } from '../kvm/vm-types.js';
import type { Mutations } from '../protocol/mutations.js';
import type { RunnerKind } from '../protocol/runner.js';
import type { Scheduler, SchedulerName } from '../sched/scheduler.js';
import { FieldError, formatSize, parseBoundedNumber, parseIntegerField, parseU64, showValue } from './numbers.js';

/** Bad scenario input. `field` is the path of the offending field (`ops[3].size`), or '' for the file as a whole. */
export class ScenarioError extends Error {
  constructor(readonly source: string, readonly field: string, readonly detail: string) {
    super(`${source}: ${field === '' ? '' : `${field}: `}${detail}`);
    this.name = 'ScenarioError';
  }
}

export interface ScenarioVm {
  readonly type: VmType;
  readonly vcpus: number;
  /** Guest bytes the shared memory is laid out for (VmConfig.guestBytes). */
  readonly memoryBytes: number;
  /** True when `memory` was not given and was computed from the memslots. */
  readonly memoryDefaulted: boolean;
  /** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled: GET_DIRTY_LOG copies, CLEAR_DIRTY_LOG protects. */
  readonly manualDirtyLogProtect: boolean;
  /** mmu_invalidate_seq at VM creation (a long-lived VM's counter; 0 by default). */
  readonly mmuInvalidateSeq: number;
  /** Page-table pages KVM may allocate (a host short of memory: top-ups then fail with -ENOMEM); null = enough for the whole guest. */
  readonly pageTables: number | null;
}

export interface ScenarioOp {
  /** `vcpu0`…, `host` or `vmm`. */
  readonly actor: string;
  /** Engine actor index: 0..vcpus-1, vcpus = host, vcpus + 1 = vmm. */
  readonly actorIndex: number;
  readonly op: Op;
  /** Position of the op in the file's `ops` array. */
  readonly scenarioIndex: number;
  /** Expanded index of an op (of another actor) that must complete before this one starts. */
  readonly after?: number;
  /** 1-based repetition of an access with `repeat` (1 otherwise), out of `repeats`. */
  readonly repeat: number;
  readonly repeats: number;
}

export interface Scenario {
  readonly sourceName: string;
  readonly name: string;
  readonly description: string;
  readonly vm: ScenarioVm;
  /** The initial memslots, as vmm set_memslot ops (the RunConfig's setup). */
  readonly memslots: readonly SetMemslotOp[];
  /** The ops, `repeat` expanded; RunConfig op i is ops[i]. */
  readonly ops: readonly ScenarioOp[];
}

/** The smallest guest memory a scenario is laid out for. */
export const SCENARIO_MEMORY_MIN = 64 * 1024 * 1024;
/** Largest guest access gpa (a JS number in the model). */
export const ACCESS_GPA_LIMIT = 2 ** 52;

export const OP_NAMES = ['access', 'pre_fault', 'map_memory', 'mmu_reset', 'set_memslot', 'set_memory_attributes', 'invalidate', 'get_dirty_log', 'clear_dirty_log', 'signal', 'finalize'] as const;
export type OpName = (typeof OP_NAMES)[number];

type ActorKind = 'vcpu' | 'host' | 'vmm';
const OP_ACTOR: Readonly<Record<OpName, ActorKind>> = {
  access: 'vcpu', pre_fault: 'vcpu', map_memory: 'vcpu', mmu_reset: 'vcpu',
  set_memslot: 'vmm', set_memory_attributes: 'vmm', get_dirty_log: 'vmm', clear_dirty_log: 'vmm', signal: 'vmm', finalize: 'vmm',
  invalidate: 'host',
};

/** Fields each op accepts (besides `actor` and `op`). */
const OP_FIELDS: Readonly<Record<OpName, readonly string[]>> = {
  access: ['gpa', 'access', 'private', 'repeat'],
  pre_fault: ['gpa', 'size', 'flags', 'until_done'],
  map_memory: ['base_gfn', 'nr_pages', 'flags', 'source', 'until_done'],
  mmu_reset: [],
  set_memslot: ['slot', 'gpa', 'size', 'flags', 'backing'],
  set_memory_attributes: ['gpa', 'size', 'attributes', 'flags'],
  invalidate: ['gpa', 'size', 'kind', 'prot'],
  get_dirty_log: ['slot'],
  clear_dirty_log: ['slot', 'first_page', 'num_pages'],
  signal: ['vcpu'],
  finalize: [],
};

const TOP_FIELDS = ['name', 'description', 'vm', 'memslots', 'ops'] as const;
const VM_FIELDS = ['type', 'vcpus', 'memory', 'manual_dirty_log_protect', 'mmu_invalidate_seq', 'page_tables'] as const;
const MEMSLOT_FIELDS = ['slot', 'gpa', 'size', 'flags', 'backing'] as const;

/** Host backing of a memslot's memory → backingLevel (anonymous 4K, THP 2M, hugetlb 1G). */
export const BACKINGS: Readonly<Record<string, number>> = { '4K': 1, '2M': 2, '1G': 3 };

/** KVM_MAP_MEMORY (RFC) flag names. */
export const MAP_MEMORY_FLAG_NAMES: Readonly<Record<string, bigint>> = { write: 1n, exec: 2n, user: 4n, private: 8n };

const ACCESS_KINDS: readonly AccessKind[] = ['read', 'write', 'exec'];
const PROTS = ['r', 'rw', 'none'] as const;
const U32_MAX = 0xffffffff;

// ---------------------------------------------------------------------------
// Field readers: each throws FieldError naming the path.

type Json = Record<string, unknown>;

function expectObject(v: unknown, path: string, what: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FieldError(path, `expected ${what}, got ${showValue(v)}`);
  return v as Json;
}

function expectArray(v: unknown, path: string, what: string): unknown[] {
  if (!Array.isArray(v)) throw new FieldError(path, `expected ${what}, got ${showValue(v)}`);
  return v;
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

function checkFields(o: Json, path: string, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new FieldError(join(path, k), `unknown field of ${what}; fields: ${allowed.join(', ')}`);
  }
}

function required(o: Json, key: string, path: string, what: string): unknown {
  if (o[key] === undefined) throw new FieldError(`${path}.${key}`, `missing (${what})`);
  return o[key];
}

function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) throw new FieldError(path, `expected one of ${values.join(', ')}, got ${showValue(v)}`);
  return v as T;
}

function bool(v: unknown, path: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new FieldError(path, `expected true or false, got ${showValue(v)}`);
  return v;
}

function text(v: unknown, path: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new FieldError(path, `expected a string, got ${showValue(v)}`);
  return v;
}

/** Names from a table, or an integer (unknown bits pass through for the kernel to judge). */
function flagSet<T extends number | bigint>(v: unknown, path: string, names: Readonly<Record<string, T>>, what: string, fromInt: (v: unknown, path: string) => T, zero: T): T {
  if (v === undefined) return zero;
  if (!Array.isArray(v)) return fromInt(v, path);
  let acc: bigint = 0n;
  v.forEach((name, i) => {
    if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(names, name)) {
      throw new FieldError(`${path}[${i}]`, `unknown ${what} ${showValue(name)}; flags: ${Object.keys(names).join(', ')}`);
    }
    acc |= BigInt(names[name]!);
  });
  return (typeof zero === 'bigint' ? acc : Number(acc)) as T;
}

const u32 = (v: unknown, path: string): number => parseBoundedNumber(v, path, U32_MAX, 'a 32-bit value');

function backingLevel(v: unknown, path: string): number {
  if (v === undefined) return 1;
  return BACKINGS[oneOf(v, path, Object.keys(BACKINGS))]!;
}

function memslotFlags(v: unknown, path: string): number {
  return flagSet(v, path, MEMSLOT_FLAG_NAMES, 'memslot flag', u32, 0);
}

// ---------------------------------------------------------------------------
// Actors

interface ActorRef {
  readonly name: string;
  readonly index: number;
  readonly kind: ActorKind;
}

function actorList(vcpus: number): string {
  return `${vcpus === 1 ? 'vcpu0' : `vcpu0…vcpu${vcpus - 1}`}, host, vmm`;
}

function resolveActor(v: unknown, path: string, vcpus: number): ActorRef {
  if (typeof v !== 'string') throw new FieldError(path, `expected an actor name (${actorList(vcpus)}), got ${showValue(v)}`);
  if (v === 'host') return { name: v, index: vcpus, kind: 'host' };
  if (v === 'vmm') return { name: v, index: vcpus + 1, kind: 'vmm' };
  const m = /^vcpu(0|[1-9][0-9]*)$/.exec(v);
  if (m && Number(m[1]) < vcpus) return { name: v, index: Number(m[1]), kind: 'vcpu' };
  throw new FieldError(path, `unknown actor ${showValue(v)}; actors: ${actorList(vcpus)}`);
}

const ACTOR_ROLE: Readonly<Record<ActorKind, string>> = {
  vcpu: 'a vCPU op: use a vcpuN actor', host: 'a host mm event: use actor "host"', vmm: 'a VMM ioctl: use actor "vmm"',
};

// ---------------------------------------------------------------------------
// Sections

function parseVm(raw: unknown): { type: VmType; vcpus: number; memory: bigint | null; manualDirtyLogProtect: boolean; mmuInvalidateSeq: number; pageTables: number | null } {
  if (raw === undefined) return { type: 'default', vcpus: 1, memory: null, manualDirtyLogProtect: false, mmuInvalidateSeq: 0, pageTables: null };
  const o = expectObject(raw, 'vm', 'an object { type, vcpus, memory }');
  checkFields(o, 'vm', VM_FIELDS, 'vm');
  let type: VmType = 'default';
  if (o.type !== undefined) {
    if (typeof o.type !== 'string' || !isVmType(o.type)) throw new FieldError('vm.type', `expected one of ${VM_TYPE_NAMES.join(', ')}, got ${showValue(o.type)}`);
    type = o.type;
  }
  const vcpus = o.vcpus === undefined ? 1 : parseIntegerField(o.vcpus, 'vm.vcpus', 1, VCPUS_MAX);
  const memory = o.memory === undefined ? null : parseU64(o.memory, 'vm.memory');
  const m = o.manual_dirty_log_protect;
  if (m !== undefined && typeof m !== 'boolean') throw new FieldError('vm.manual_dirty_log_protect', `expected true or false, got ${showValue(m)}`);
  let seq = 0;
  if (o.mmu_invalidate_seq !== undefined) {
    const v = parseU64(o.mmu_invalidate_seq, 'vm.mmu_invalidate_seq');
    if (v > 0xffffffffn) throw new FieldError('vm.mmu_invalidate_seq', `the model keeps mmu_invalidate_seq in 32 bits: at most 0xffffffff, got ${showValue(o.mmu_invalidate_seq)}`);
    seq = Number(v);
  }
  // Page-table pages the host lets KVM allocate (mmu_topup_memory_caches() gets -ENOMEM beyond).
  const pageTables = o.page_tables === undefined ? null : parseIntegerField(o.page_tables, 'vm.page_tables', PAGE_TABLES_MIN, PAGE_TABLES_MAX);
  return { type, vcpus, memory, manualDirtyLogProtect: m === true, mmuInvalidateSeq: seq, pageTables };
}

function parseMemslotFields(o: Json, path: string, what: string): Omit<SetMemslotOp, 'op'> {
  const need = `${what} needs slot, gpa and size`;
  return {
    slot: u32(required(o, 'slot', path, need), `${path}.slot`),
    gpa: parseU64(required(o, 'gpa', path, need), `${path}.gpa`),
    size: parseU64(required(o, 'size', path, need), `${path}.size`),
    flags: memslotFlags(o.flags, `${path}.flags`),
    backingLevel: backingLevel(o.backing, `${path}.backing`),
  };
}

function parseMemslot(raw: unknown, path: string): SetMemslotOp {
  const o = expectObject(raw, path, 'a memslot object { slot, gpa, size, flags, backing }');
  checkFields(o, path, MEMSLOT_FIELDS, 'a memslot');
  return { op: 'set_memslot', ...parseMemslotFields(o, path, 'a memslot') };
}

// ---------------------------------------------------------------------------
// Ops

interface OpCtx {
  readonly type: VmType;
  readonly vcpus: number;
}

function parseAccess(o: Json, path: string, ctx: OpCtx): { op: Op; repeat: number } {
  const need = 'an access needs gpa and access';
  const gpa = parseBoundedNumber(required(o, 'gpa', path, need), `${path}.gpa`, ACCESS_GPA_LIMIT - 1, 'below 2^52');
  const access = oneOf(required(o, 'access', path, need), `${path}.access`, ACCESS_KINDS);
  const repeat = o.repeat === undefined ? 1 : parseIntegerField(o.repeat, `${path}.repeat`, 1, SCENARIO_OPS_MAX);
  if (o.private === undefined) return { op: { op: 'access', gpa, access }, repeat };
  const isPrivate = bool(o.private, `${path}.private`, false);
  if (!VM_TYPES[ctx.type].guestChoosesPrivate) {
    throw new FieldError(`${path}.private`, `only SNP and TDX guests choose private or shared per access (vm.type is ${ctx.type}; memory attributes decide)`);
  }
  return { op: { op: 'access', gpa, access, private: isPrivate }, repeat };
}

function parseInvalidate(o: Json, path: string): InvalidateOp {
  const kind = oneOf<HostEventKind>(required(o, 'kind', path, 'an invalidate needs gpa, size and kind'), `${path}.kind`, HOST_EVENT_KINDS);
  const gpa = parseBoundedNumber(required(o, 'gpa', path, 'an invalidate needs gpa, size and kind'), `${path}.gpa`, ACCESS_GPA_LIMIT - 1, 'below 2^52');
  const size = parseBoundedNumber(required(o, 'size', path, 'an invalidate needs gpa, size and kind'), `${path}.size`, ACCESS_GPA_LIMIT, 'at most 2^52');
  if (size === 0) throw new FieldError(`${path}.size`, 'a host event covers at least one byte');
  if (o.prot !== undefined && kind !== 'mprotect') throw new FieldError(`${path}.prot`, `only an mprotect has a prot (kind is ${kind})`);
  const prot = o.prot === undefined ? 'r' : oneOf(o.prot, `${path}.prot`, PROTS);
  return { op: 'invalidate', gpa, size, kind, prot };
}

function parseAttributes(v: unknown, path: string): bigint {
  if (v === 'private') return BigInt(KVM_MEMORY_ATTRIBUTE_PRIVATE);
  if (v === 'shared') return 0n;
  if (typeof v === 'string' && !/^\s*(0x)?[0-9]/i.test(v)) throw new FieldError(path, `expected private, shared or an integer, got ${showValue(v)}`);
  return parseU64(v, path);
}

/** One op of the file (before `repeat` expansion). */
function parseOpBody(name: OpName, o: Json, path: string, ctx: OpCtx): { op: Op; repeat: number } {
  const one = (op: Op): { op: Op; repeat: number } => ({ op, repeat: 1 });
  const need = (fields: string): string => `a ${name} op needs ${fields}`;
  switch (name) {
    case 'access':
      return parseAccess(o, path, ctx);
    case 'pre_fault':
      return one({
        op: 'pre_fault',
        gpa: parseU64(required(o, 'gpa', path, need('gpa and size')), `${path}.gpa`),
        size: parseU64(required(o, 'size', path, need('gpa and size')), `${path}.size`),
        flags: o.flags === undefined ? 0n : parseU64(o.flags, `${path}.flags`),
        untilDone: bool(o.until_done, `${path}.until_done`, false),
      });
    case 'map_memory':
      return one({
        op: 'map_memory',
        baseGfn: parseU64(required(o, 'base_gfn', path, need('base_gfn and nr_pages')), `${path}.base_gfn`),
        nrPages: parseU64(required(o, 'nr_pages', path, need('base_gfn and nr_pages')), `${path}.nr_pages`),
        flags: flagSet(o.flags, `${path}.flags`, MAP_MEMORY_FLAG_NAMES, 'map_memory flag', parseU64, 0n),
        source: o.source === undefined ? 0n : parseU64(o.source, `${path}.source`),
        untilDone: bool(o.until_done, `${path}.until_done`, false),
      });
    case 'set_memslot':
      return one({ op: 'set_memslot', ...parseMemslotFields(o, path, 'a set_memslot op') });
    case 'set_memory_attributes':
      return one({
        op: 'set_memory_attributes',
        gpa: parseU64(required(o, 'gpa', path, need('gpa, size and attributes')), `${path}.gpa`),
        size: parseU64(required(o, 'size', path, need('gpa, size and attributes')), `${path}.size`),
        attributes: parseAttributes(required(o, 'attributes', path, need('gpa, size and attributes')), `${path}.attributes`),
        flags: o.flags === undefined ? 0n : parseU64(o.flags, `${path}.flags`),
      });
    case 'invalidate':
      return one(parseInvalidate(o, path));
    case 'get_dirty_log':
      return one({ op: 'get_dirty_log', slot: u32(required(o, 'slot', path, need('slot')), `${path}.slot`) });
    case 'clear_dirty_log':
      return one({
        op: 'clear_dirty_log',
        slot: u32(required(o, 'slot', path, need('slot, first_page and num_pages')), `${path}.slot`),
        firstPage: parseU64(required(o, 'first_page', path, need('slot, first_page and num_pages')), `${path}.first_page`),
        numPages: parseU64(required(o, 'num_pages', path, need('slot, first_page and num_pages')), `${path}.num_pages`),
      });
    case 'signal': {
      const target = resolveActor(required(o, 'vcpu', path, need('vcpu')), `${path}.vcpu`, ctx.vcpus);
      if (target.kind !== 'vcpu') throw new FieldError(`${path}.vcpu`, `a signal goes to a vCPU thread (vcpu0…vcpu${ctx.vcpus - 1}), got ${showValue(o.vcpu)}`);
      return one({ op: 'signal', vcpu: target.index });
    }
    case 'finalize':
      return one({ op: 'finalize' });
    case 'mmu_reset':
      return one({ op: 'mmu_reset' });
  }
}

function parseOp(raw: unknown, path: string, ctx: OpCtx, scenarioIndex: number, out: ScenarioOp[]): void {
  const o = expectObject(raw, path, 'an op object { actor, op, … }');
  const opRaw = required(o, 'op', path, `every op names its op: ${OP_NAMES.join(', ')}`);
  if (typeof opRaw !== 'string' || !(OP_NAMES as readonly string[]).includes(opRaw)) {
    throw new FieldError(`${path}.op`, `unknown op ${showValue(opRaw)}; ops: ${OP_NAMES.join(', ')}`);
  }
  const name = opRaw as OpName;
  checkFields(o, path, ['actor', 'op', 'after', ...OP_FIELDS[name]], `a ${name} op`);
  const actor = resolveActor(required(o, 'actor', path, `every op names its actor: ${actorList(ctx.vcpus)}`), `${path}.actor`, ctx.vcpus);
  // A signal may come from any userspace thread: the VMM's or the host's.
  if (actor.kind !== OP_ACTOR[name] && !(name === 'signal' && actor.kind === 'host')) throw new FieldError(`${path}.actor`, `${actor.name} cannot run ${name} (${ACTOR_ROLE[OP_ACTOR[name]]})`);
  const { op, repeat } = parseOpBody(name, o, path, ctx);
  if (out.length + repeat > SCENARIO_OPS_MAX) {
    throw new FieldError(repeat > 1 ? `${path}.repeat` : 'ops', `the scenario expands to more than SCENARIO_OPS_MAX = ${SCENARIO_OPS_MAX} ops (FAULTLINE_SCENARIO_OPS_MAX; a count where a size was meant?)`);
  }
  let after: number | undefined;
  if (o.after !== undefined) {
    const i = parseIntegerField(o.after, `${path}.after`, 0, SCENARIO_OPS_MAX);
    if (i >= scenarioIndex) throw new FieldError(`${path}.after`, `must name an earlier op (0…${scenarioIndex - 1}), got ${i}`);
    let last = -1;
    for (let k = 0; k < out.length; k++) if (out[k]!.scenarioIndex === i) last = k;
    if (out[last]!.actorIndex === actor.index) throw new FieldError(`${path}.after`, `op ${i} is ${actor.name}'s own: the ops of one actor already run in order`);
    after = last;
  }
  for (let r = 1; r <= repeat; r++) out.push({ actor: actor.name, actorIndex: actor.index, op, scenarioIndex, repeat: r, repeats: repeat, ...(after !== undefined && r === 1 ? { after } : {}) });
}

// ---------------------------------------------------------------------------
// Guest memory sizing

/** Whether the model would create a slot of this shape (aligned, non-empty, below the max gfn) — only those need memory. */
function plausibleSlot(m: SetMemslotOp): boolean {
  return m.size > 0n && m.gpa % 4096n === 0n && m.size % 4096n === 0n && (m.gpa + m.size) / 4096n <= BigInt(KVM_MMU_MAX_GFN) + 1n;
}

/** Bytes of memslot memory the run may create: the initial slots plus every later create (a set_memslot on an absent id). */
function memslotBytes(memslots: readonly SetMemslotOp[], ops: readonly ScenarioOp[]): bigint {
  const present = new Set<number>();
  let total = 0n;
  const apply = (m: SetMemslotOp): void => {
    if (m.size === 0n) { present.delete(m.slot); return; }
    if (present.has(m.slot) || !plausibleSlot(m)) return;
    present.add(m.slot);
    total += m.size;
  };
  memslots.forEach(apply);
  for (const o of ops) if (o.op.op === 'set_memslot') apply(o.op);
  return total;
}

function guestMemory(explicit: bigint | null, needed: bigint): { bytes: number; defaulted: boolean } {
  const max = BigInt(GUEST_BYTES_MAX);
  const limit = `the model's limit GUEST_BYTES_MAX = ${formatSize(max)} (FAULTLINE_GUEST_BYTES_MAX)`;
  if (needed > max) throw new FieldError('memslots', `the memslots need ${formatSize(needed)} of guest memory, more than ${limit}`);
  if (explicit !== null) {
    if (explicit > max) throw new FieldError('vm.memory', `${formatSize(explicit)} is more than ${limit}`);
    if (explicit < needed) throw new FieldError('vm.memory', `${formatSize(explicit)} is less than the ${formatSize(needed)} the scenario's memslots need`);
    return { bytes: Number(explicit), defaulted: false };
  }
  let bytes = 2n * needed;
  if (bytes < BigInt(SCENARIO_MEMORY_MIN)) bytes = BigInt(SCENARIO_MEMORY_MIN);
  if (bytes > max) bytes = max;
  return { bytes: Number(bytes), defaulted: true };
}

// ---------------------------------------------------------------------------

/**
 * The offset of the first JSON syntax error in `text` (V8's message does not always carry
 * one), by a small recursive-descent scan; -1 when none is found.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => { while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++; };
  const fail = (): never => { throw i; };
  const literal = (word: string): void => { if (text.startsWith(word, i)) i += word.length; else fail(); };
  const str = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') { if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail(); i += 4; }
        else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const num = (): void => {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail();
    i += m![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 10_000) fail();
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++; ws();
      if (text[i] === close) { i++; return; }
      for (;;) {
        if (c === '{') { ws(); if (text[i] !== '"') fail(); str(); ws(); if (text[i] !== ':') fail(); i++; }
        value(depth + 1); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === close) { i++; return; }
        fail();
      }
    }
    if (c === '"') return str();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    return num();
  };
  try {
    value(0); ws();
    return i < text.length ? i : -1;
  } catch (at) {
    return typeof at === 'number' ? at : -1;
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ');
    const pos = /at position (\d+)/.exec(msg);
    const offset = pos ? Number(pos[1]) : jsonErrorOffset(text);
    let where = '';
    if (offset >= 0) {
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      where = ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
    }
    throw new ScenarioError(source, '', `invalid JSON: ${msg}${where}`);
  }
}

function baseName(source: string): string {
  const file = source.split(/[\\/]/).pop() ?? source;
  return file.replace(/\.json$/i, '');
}

function parseBody(doc: unknown, sourceName: string): Scenario {
  const top = expectObject(doc, '', 'a JSON object { name, description, vm, memslots, ops }');
  checkFields(top, '', TOP_FIELDS, 'a scenario');
  const name = text(top.name, 'name') ?? baseName(sourceName);
  const description = text(top.description, 'description') ?? '';
  const vm = parseVm(top.vm);
  const memslots = (top.memslots === undefined ? [] : expectArray(top.memslots, 'memslots', 'an array of memslots'))
    .map((m, i) => parseMemslot(m, `memslots[${i}]`));
  const rawOps = top.ops === undefined ? [] : expectArray(top.ops, 'ops', 'an array of ops');
  if (rawOps.length > SCENARIO_OPS_MAX) {
    throw new FieldError('ops', `${rawOps.length} ops, more than SCENARIO_OPS_MAX = ${SCENARIO_OPS_MAX} (FAULTLINE_SCENARIO_OPS_MAX)`);
  }
  const ops: ScenarioOp[] = [];
  const ctx: OpCtx = { type: vm.type, vcpus: vm.vcpus };
  rawOps.forEach((o, i) => parseOp(o, `ops[${i}]`, ctx, i, ops));
  const memory = guestMemory(vm.memory, memslotBytes(memslots, ops));
  return {
    sourceName, name, description,
    vm: { type: vm.type, vcpus: vm.vcpus, memoryBytes: memory.bytes, memoryDefaulted: memory.defaulted, manualDirtyLogProtect: vm.manualDirtyLogProtect, mmuInvalidateSeq: vm.mmuInvalidateSeq, pageTables: vm.pageTables },
    memslots, ops,
  };
}

/**
 * parseScenario(): the scenario in `text` (JSON). `sourceName` (a file name) prefixes
 * error messages. Throws ScenarioError on bad input, never anything else for any text.
 */
export function parseScenario(text: string, sourceName: string): Scenario {
  const doc = parseJson(text.replace(/^\uFEFF/, ''), sourceName);
  try {
    return parseBody(doc, sourceName);
  } catch (e) {
    if (e instanceof FieldError) throw new ScenarioError(sourceName, e.path, e.detail);
    throw e;
  }
}

export interface ScenarioRunOptions {
  readonly scheduler?: SchedulerName | Scheduler;
  readonly seed?: number;
  readonly mutations?: Mutations;
  readonly runner?: RunnerKind;
  readonly trace?: boolean;
  readonly check?: 'step' | 'end';
  readonly stopOnViolation?: boolean;
  readonly stepsMax?: number;
}

/** scenarioToRunConfig(): the engine configuration of a scenario (sequential scheduler, seed 1 unless told). */
export function scenarioToRunConfig(s: Scenario, options: ScenarioRunOptions = {}): RunConfig {
  const ops: ScheduledOp[] = s.ops.map((o) => ({ actor: o.actorIndex, op: o.op, ...(o.after !== undefined ? { after: o.after } : {}) }));
  return {
    vm: { type: s.vm.type, vcpus: s.vm.vcpus, guestBytes: s.vm.memoryBytes, manualDirtyLogProtect: s.vm.manualDirtyLogProtect, ...(s.vm.mmuInvalidateSeq !== 0 ? { mmuInvalidateSeq: s.vm.mmuInvalidateSeq } : {}), ...(s.vm.pageTables !== null ? { pageTables: s.vm.pageTables } : {}) },
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
