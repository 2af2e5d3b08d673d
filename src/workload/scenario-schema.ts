/**
 * The scenario file format, defined once: the zod schema below gives the TypeScript types
 * (ScenarioFile as written, ScenarioFileParsed after parsing), the validation (each refusal
 * one line naming the field), and the published JSON Schema (scenarios/scenario.schema.json,
 * written by `npm run schema`) that editors use to complete and check scenario files.
 *
 * What needs more than one field to judge — actor names against vm.vcpus, `after`, guest
 * memory against the memslots, `private` against the VM type — is checked after it, in
 * scenario-parse.ts.
 */

import { z } from 'zod';
import { VIOLATION_KINDS, type ViolationKind } from '../kvm/findings.js';
import { PHYS_BITS_DEFAULT, PHYS_BITS_MAX, PHYS_BITS_MIN } from '../kvm/address-space.js';
import { KERNEL_DEFAULT, KERNEL_RELEASES } from '../kvm/kernel-release.js';
import { KVM_QUIRKS } from '../kvm/quirks.js';
import { PAGE_TABLES_MAX, PAGE_TABLES_MIN, VCPUS_MAX } from '../kvm/limits.js';
import { VM_TYPE_NAMES, type VmType } from '../kvm/vm-types.js';
import { parseU64, showValue } from './numbers.js';
import { boolField, enumField, explainBy, intField, numberForm, parsedBy, strictObject, textField, u64Field } from './scenario-fields.js';
import { memslotSchema } from './scenario-memslot.js';
import { OP_NAMES, OP_SCHEMAS } from './scenario-ops.js';

/** The published schema's file name, inside the package's scenarios/ folder. */
export const SCENARIO_SCHEMA_FILE = 'scenario.schema.json';

/** mmu_invalidate_seq is an `unsigned long`: any u64. */
const seq64 = (v: unknown, path: string): bigint => parseU64(v, path);

const vmSchema = strictObject('vm', 'an object { type, vcpus, memory }', {
  type: enumField(VM_TYPE_NAMES as [VmType, ...VmType[]], 'VM type (KVM_CREATE_VM): default, sw_protected (KVM_X86_SW_PROTECTED_VM), snp or tdx').prefault('default'),
  vcpus: intField('number of vCPUs (actors vcpu0 … vcpuN-1)', 1, VCPUS_MAX).prefault(1),
  memory: u64Field('guest memory the model lays out; default twice what the memslots need, at least 64MiB').optional(),
  manual_dirty_log_protect: boolField('KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: GET_DIRTY_LOG only copies, CLEAR_DIRTY_LOG write-protects').prefault(false),
  mmu_invalidate_seq: numberForm(explainBy(seq64)).transform(parsedBy(seq64))
    .meta({ description: 'mmu_invalidate_seq at VM creation (an unsigned long, 64 bits), for a long-lived VM' }).prefault(0),
  page_tables: intField('page-table pages the host lets KVM allocate (a host short of memory: top-ups then fail with -ENOMEM); default enough for the whole guest', PAGE_TABLES_MIN, PAGE_TABLES_MAX).optional(),
  phys_bits: intField(`the guest physical address width, MAXPHYADDR (${PHYS_BITS_MIN} … ${PHYS_BITS_MAX}): kvm_mmu_max_gfn() is 2^(phys_bits - 12) - 1, and the TDP root has 4 levels up to 48 bits, 5 above`, PHYS_BITS_MIN, PHYS_BITS_MAX).prefault(PHYS_BITS_DEFAULT),
  kernel: enumField(KERNEL_RELEASES, `the kernel release the VM runs (\`faultline kernels\` lists what differs); default the newest modelled, ${KERNEL_DEFAULT}`).prefault(KERNEL_DEFAULT),
  disabled_quirks: z.array(enumField(KVM_QUIRKS, 'a KVM quirk: slot_zap_all (KVM_X86_QUIRK_SLOT_ZAP_ALL)')).prefault([])
    .meta({ description: 'quirks userspace disables with KVM_CAP_DISABLE_QUIRKS2; slot_zap_all off makes a DEFAULT VM on 6.12 or later zap only a deleted or moved memslot\'s leaf SPTEs instead of every root' }),
});

const MUTATE_PATTERN = /^[a-z][a-z0-9-]*\.[A-Za-z_][A-Za-z0-9_]*=(true|false)$/;
const SKIP_PATTERN = /^[a-z][a-z0-9-]*\.[A-Za-z_][A-Za-z0-9_]*$/;
const spec = (pattern: RegExp, form: string, description: string) =>
  z.string({ error: (iss) => `expected ${form}, got ${showValue(iss.input)}` }).regex(pattern, { error: (iss) => `expected ${form}, got ${showValue(iss.input)}` }).meta({ description });

/** A catalogue entry's metadata: the historical race this scenario reproduces, and how. */
const raceSchema = strictObject('race', 'an object { ref, commit, summary, … }', {
  ref: z.string().regex(/^(R[0-9]+|classic)$/, { error: (iss) => `expected R1, R2, … or classic, got ${showValue(iss.input)}` })
    .meta({ description: 'the race\'s id in the reference\'s catalogue (R1 … R17), or classic' }),
  commit: strictObject('commit', 'an object { title, hash }', {
    title: textField('the fixing commit\'s title, as the kernel log has it'),
    hash: textField('the fixing commit\'s hash (abbreviated), or why it is unconfirmed'),
  }).meta({ description: 'the kernel commit that fixed the race' }),
  summary: textField('what goes wrong, in kernel terms'),
  mutate: z.array(spec(MUTATE_PATTERN, 'MACHINE.GUARD=true|false', 'a guard forced to a value')).prefault([])
    .meta({ description: 'guards forced to put the bug back (--mutate)' }),
  skip: z.array(spec(SKIP_PATTERN, 'MACHINE.ACTION', 'an action skipped')).prefault([])
    .meta({ description: 'actions skipped to put the bug back (--skip)' }),
  violation: enumField(VIOLATION_KINDS as [ViolationKind, ...ViolationKind[]], 'the violation class the bug shows as'),
  scheduler: enumField(['random', 'pct'], 'the scheduler `race explore` finds it with'),
  depth: intField('PCT depth (scheduler pct)', 1, 16).optional(),
  budget: intField('schedules within which `race explore` finds it (tests pin it)', 1, 1_000_000),
  signature: textField('text the found violation\'s message contains (tells the bug from a look-alike)').optional(),
  kernel: enumField(KERNEL_RELEASES, 'the release before the fix: the race runs on it, with no mutation; its control runs on the release with the fix (the commit\'s row of `faultline kernels`)').optional(),
  control_may_show: strictObject('control_may_show', 'an object { message, why }', {
    message: textField('text of the other finding\'s message'),
    why: textField('why the unmutated scenario can show it'),
  }).meta({ description: 'a finding the unmutated scenario can still show (and why): the control then shows only that one' }).optional(),
}).meta({ description: 'catalogue entries only (scenarios/races/): the historical race this file reproduces' });

const opSchema = z.discriminatedUnion('op', [...OP_SCHEMAS], {
  error: (iss) => {
    const v = iss.input as Record<string, unknown> | undefined;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return `expected an op object { actor, op, … }, got ${showValue(iss.input)}`;
    if (v.op === undefined) return `missing (every op names its op: ${OP_NAMES.join(', ')})`;
    return `unknown op ${showValue(v.op)}; ops: ${OP_NAMES.join(', ')}`;
  },
}).meta({ description: 'one op, run by one actor; an actor runs its ops in file order' });

const array = <T extends z.ZodType>(item: T, noun: string, description: string) =>
  z.array(item, { error: (iss) => `expected ${noun}, got ${showValue(iss.input)}` }).meta({ description });

/** A scenario file. Field order here is the order of `fields:` in messages and of editors' completion. */
export const scenarioFileSchema = strictObject('a scenario', 'a JSON object { name, description, vm, memslots, ops }', {
  name: textField('the scenario\'s name (default: the file name without .json)').optional(),
  description: textField('what the scenario does, in a line').optional(),
  vm: vmSchema.meta({ description: 'the VM' }).prefault({}),
  memslots: array(memslotSchema, 'an array of memslots', 'memslots present before any op runs (KVM_SET_USER_MEMORY_REGION2)').prefault([]),
  ops: array(opSchema, 'an array of ops', 'the ops; actors interleave as the scheduler decides').prefault([]),
  $schema: textField('the JSON Schema of this file, a path relative to it (scenario.schema.json in the package\'s scenarios/)').optional(),
  race: raceSchema.optional(),
}).meta({ description: 'a faultline scenario: a VM, its initial memslots and the ops its actors (vcpuN, host, vmm) run, in uAPI terms' });

/** A scenario file as written (what a TypeScript program may build and serialize). */
export type ScenarioFile = z.input<typeof scenarioFileSchema>;
/** A scenario file after the schema: defaults filled in, numbers parsed, ops as model Ops. */
export type ScenarioFileParsed = z.output<typeof scenarioFileSchema>;
/** A catalogue entry's `race` metadata, parsed. */
export type RaceMetadata = NonNullable<ScenarioFileParsed['race']>;

/** The published JSON Schema of scenario files (draft 2020-12), as `npm run schema` writes it. */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { $schema: schema.$schema, ...schema, title: 'faultline scenario' };
}
