/**
 * parseScenario(): a scenario file's text → Scenario. The schema (scenario-schema.ts)
 * judges each field; this pass judges what needs several — actor names against
 * vm.vcpus, `after` references, `private` against the VM type, the op count once `repeat`
 * is expanded, guest memory against the memslots — with the same one-line errors.
 *
 * Values only the kernel rejects (an unaligned pre-fault range, non-zero pre-fault flags,
 * unknown flag bits) pass through unchanged, so the model answers with the kernel's errno.
 */

import { kvmMmuMaxGfn } from '../kvm/address-space.js';
import { GUEST_BYTES_MAX, SCENARIO_OPS_MAX } from '../kvm/limits.js';
import type { KernelRelease } from '../kvm/kernel-release.js';
import type { KvmQuirk } from '../kvm/quirks.js';
import type { Op, SetMemslotOp } from '../kvm/ops.js';
import { VM_TYPES, type VmType } from '../kvm/vm-types.js';
import { FieldError, formatSize, showValue } from './numbers.js';
import { ScenarioError } from './scenario-error.js';
import { firstFieldError, genericMessage } from './scenario-issues.js';
import { parseJson } from './scenario-json.js';
import type { FileOp } from './scenario-ops.js';
import { scenarioFileSchema, type ScenarioFileParsed } from './scenario-schema.js';

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
  readonly mmuInvalidateSeq: bigint;
  /** Page-table pages KVM may allocate (a host short of memory: top-ups then fail with -ENOMEM); null = enough for the whole guest. */
  readonly pageTables: number | null;
  /** The kernel release the VM runs (default the newest modelled). */
  readonly kernel: KernelRelease;
  /** Quirks disabled with KVM_CAP_DISABLE_QUIRKS2 (default none). */
  readonly disabledQuirks: readonly KvmQuirk[];
  /** The guest physical address width, MAXPHYADDR (default 48). */
  readonly physBits: number;
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

function actorList(vcpus: number): string {
  return `${vcpus === 1 ? 'vcpu0' : `vcpu0…vcpu${vcpus - 1}`}, host, vmm`;
}

/** The engine index of an actor the schema already accepted by name and kind. */
function actorIndex(name: string, path: string, vcpus: number): number {
  if (name === 'host') return vcpus;
  if (name === 'vmm') return vcpus + 1;
  const i = Number(name.slice(4));
  if (i >= vcpus) throw new FieldError(path, `unknown actor ${showValue(name)}; actors: ${actorList(vcpus)}`);
  return i;
}

/** `after`: the expanded index of the last repetition of an earlier op of another actor. */
function resolveAfter(after: number, path: string, scenarioIndex: number, actor: number, out: readonly ScenarioOp[]): number {
  if (after >= scenarioIndex) throw new FieldError(path, `must name an earlier op (0…${scenarioIndex - 1}), got ${after}`);
  let last = -1;
  for (let k = 0; k < out.length; k++) if (out[k]!.scenarioIndex === after) last = k;
  if (out[last]!.actorIndex === actor) throw new FieldError(path, `op ${after} is ${out[last]!.actor}'s own: the ops of one actor already run in order`);
  return last;
}

/** Checks one op against the VM and appends it, `repeat` expanded. */
function expandOp(o: FileOp, i: number, vm: { type: VmType; vcpus: number }, out: ScenarioOp[]): void {
  const path = `ops[${i}]`;
  const index = actorIndex(o.actor, `${path}.actor`, vm.vcpus);
  if (o.op.op === 'signal' && o.op.vcpu >= vm.vcpus) throw new FieldError(`${path}.vcpu`, `unknown actor "vcpu${o.op.vcpu}"; actors: ${actorList(vm.vcpus)}`);
  if (o.op.op === 'access' && o.op.private !== undefined && !VM_TYPES[vm.type].guestChoosesPrivate) {
    throw new FieldError(`${path}.private`, `only SNP and TDX guests choose private or shared per access (vm.type is ${vm.type}; memory attributes decide)`);
  }
  if (out.length + o.repeat > SCENARIO_OPS_MAX) {
    throw new FieldError(o.repeat > 1 ? `${path}.repeat` : 'ops', `the scenario expands to more than SCENARIO_OPS_MAX = ${SCENARIO_OPS_MAX} ops (FAULTLINE_SCENARIO_OPS_MAX; a count where a size was meant?)`);
  }
  const after = o.after === undefined ? undefined : resolveAfter(o.after, `${path}.after`, i, index, out);
  for (let r = 1; r <= o.repeat; r++) {
    out.push({ actor: o.actor, actorIndex: index, op: o.op, scenarioIndex: i, repeat: r, repeats: o.repeat, ...(after !== undefined && r === 1 ? { after } : {}) });
  }
}

/** Whether the model would create a slot of this shape (aligned, non-empty, below the max gfn) — only those need memory. */
function plausibleSlot(m: SetMemslotOp, maxGfn: number): boolean {
  return m.size > 0n && m.gpa % 4096n === 0n && m.size % 4096n === 0n && (m.gpa + m.size) / 4096n <= BigInt(maxGfn) + 1n;
}

/** Bytes of memslot memory the run may create: the initial slots plus every later create (a set_memslot on an absent id). */
function memslotBytes(memslots: readonly SetMemslotOp[], ops: readonly ScenarioOp[], maxGfn: number): bigint {
  const present = new Set<number>();
  let total = 0n;
  const apply = (m: SetMemslotOp): void => {
    if (m.size === 0n) { present.delete(m.slot); return; }
    if (present.has(m.slot) || !plausibleSlot(m, maxGfn)) return;
    present.add(m.slot);
    total += m.size;
  };
  memslots.forEach(apply);
  for (const o of ops) if (o.op.op === 'set_memslot') apply(o.op);
  return total;
}

function guestMemory(explicit: bigint | undefined, needed: bigint): { bytes: number; defaulted: boolean } {
  const max = BigInt(GUEST_BYTES_MAX);
  const limit = `the model's limit GUEST_BYTES_MAX = ${formatSize(max)} (FAULTLINE_GUEST_BYTES_MAX)`;
  if (needed > max) throw new FieldError('memslots', `the memslots need ${formatSize(needed)} of guest memory, more than ${limit}`);
  if (explicit !== undefined) {
    if (explicit > max) throw new FieldError('vm.memory', `${formatSize(explicit)} is more than ${limit}`);
    if (explicit < needed) throw new FieldError('vm.memory', `${formatSize(explicit)} is less than the ${formatSize(needed)} the scenario's memslots need`);
    return { bytes: Number(explicit), defaulted: false };
  }
  let bytes = 2n * needed;
  if (bytes < BigInt(SCENARIO_MEMORY_MIN)) bytes = BigInt(SCENARIO_MEMORY_MIN);
  if (bytes > max) bytes = max;
  return { bytes: Number(bytes), defaulted: true };
}

function baseName(source: string): string {
  const file = source.split(/[\\/]/).pop() ?? source;
  return file.replace(/\.json$/i, '');
}

/** The second pass: a schema-valid file → Scenario. Throws FieldError. */
function buildScenario(f: ScenarioFileParsed, sourceName: string): Scenario {
  if (f.ops.length > SCENARIO_OPS_MAX) {
    throw new FieldError('ops', `${f.ops.length} ops, more than SCENARIO_OPS_MAX = ${SCENARIO_OPS_MAX} (FAULTLINE_SCENARIO_OPS_MAX)`);
  }
  const ops: ScenarioOp[] = [];
  f.ops.forEach((o, i) => expandOp(o, i, f.vm, ops));
  const memory = guestMemory(f.vm.memory, memslotBytes(f.memslots, ops, kvmMmuMaxGfn(f.vm.phys_bits)));
  const vm: ScenarioVm = {
    type: f.vm.type, vcpus: f.vm.vcpus, memoryBytes: memory.bytes, memoryDefaulted: memory.defaulted,
    manualDirtyLogProtect: f.vm.manual_dirty_log_protect, mmuInvalidateSeq: f.vm.mmu_invalidate_seq, pageTables: f.vm.page_tables ?? null,
    kernel: f.vm.kernel, disabledQuirks: f.vm.disabled_quirks, physBits: f.vm.phys_bits,
  };
  return { sourceName, name: f.name ?? baseName(sourceName), description: f.description ?? '', vm, memslots: f.memslots, ops };
}

/** The schema alone: the parsed file, or the first refusal as a FieldError. */
export function validateScenarioDocument(doc: unknown): ScenarioFileParsed {
  const r = scenarioFileSchema.safeParse(doc, { error: genericMessage });
  if (!r.success) throw firstFieldError(r.error, doc, scenarioFileSchema);
  return r.data;
}

/**
 * parseScenario(): the scenario in `text` (JSON). `sourceName` (a file name) prefixes
 * error messages. Throws ScenarioError on bad input, never anything else for any text.
 */
export function parseScenario(text: string, sourceName: string): Scenario {
  return parseScenarioFile(text, sourceName).scenario;
}

/** parseScenario() that also returns the file as the schema parsed it (its `race`, say). */
export function parseScenarioFile(text: string, sourceName: string): { scenario: Scenario; file: ScenarioFileParsed; doc: unknown } {
  const doc = parseJson(text.replace(/^\uFEFF/, ''), sourceName);
  try {
    const file = validateScenarioDocument(doc);
    return { scenario: buildScenario(file, sourceName), file, doc };
  } catch (e) {
    if (e instanceof FieldError) throw new ScenarioError(sourceName, e.path, e.detail);
    throw e;
  }
}
