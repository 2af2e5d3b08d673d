/**
 * The report of one scenario run: `buildRunReport()` turns the engine's RunResult into a
 * plain, JSON-serializable object (what `faultline scenario run --json` prints), and
 * `formatRunReport()` renders the same object for a terminal: one line per op (index,
 * actor, op, outcome), the violations with their SPTEs, a coverage line per machine and,
 * when asked, the step trace.
 */

import { PHYS_BITS_DEFAULT, kvmMmuGetTdpLevel } from '../kvm/address-space.js';
import type { ActorSummary, CoverageEntry, RunResult } from '../engine/deterministic.js';
import type { StepRecord } from '../engine/actor-runtime.js';
import type { Violation } from '../kvm/findings.js';
import { KERNEL_DEFAULT, type KernelRelease } from '../kvm/kernel-release.js';
import { MEMSLOT_FLAG_NAMES } from '../kvm/memslots.js';
import type { Op, OpResult } from '../kvm/ops.js';
import type { Mutations } from '../protocol/mutations.js';
import { mutationSpecs } from '../protocol/mutations.js';
import { foldPatches } from '../protocol/patches.js';
import type { RunnerKind } from '../protocol/runner.js';
import { formatSize, hex } from '../workload/numbers.js';
import type { Scenario } from '../workload/scenario.js';

type JsonScalar = string | number | boolean | null;

/** What every op line of the report carries. */
interface OpEntry {
  /** Position in the expanded op list (the engine's op index). */
  readonly index: number;
  /** The op's arguments (u64 fields in hex). */
  readonly input: Readonly<Record<string, JsonScalar>>;
  /** False when the run stopped before the op completed (its OpResult fields are then absent). */
  readonly ran: boolean;
  /** The OpResult fields: ret, errno, gpa/size left (pre_fault), … */
  readonly [field: string]: unknown;
}

export interface SetupEntry extends OpEntry {
  readonly op: 'set_memslot';
}

export interface ResultEntry extends OpEntry {
  /** Position in the scenario file's `ops` array. */
  readonly scenarioIndex: number;
  /** Present for an access with `repeat`: this is repetition `repeat` (1-based) of `repeats`. */
  readonly repeat?: number;
  readonly repeats?: number;
  readonly actor: string;
  readonly op: Op['op'];
}

export interface MachineCoverage {
  readonly fired: number;
  readonly total: number;
  readonly transitions: readonly { readonly transition: string; readonly count: number }[];
}

export interface TraceEntry {
  readonly step: number;
  readonly actor: string;
  readonly label: string;
  readonly waits: string | null;
}

export interface RunReport {
  readonly scenario: { readonly name: string; readonly description: string; readonly file: string };
  readonly vm: { readonly type: string; readonly vcpus: number; readonly memory: string; readonly memoryBytes: number; readonly kernel: KernelRelease; readonly physBits: number; readonly tdpLevel: number };
  readonly scheduler: string;
  readonly seed: number;
  readonly mutations: { readonly mutate: string[]; readonly skip: string[] };
  readonly runner: RunnerKind;
  readonly steps: number;
  readonly completed: boolean;
  readonly error: string | null;
  readonly setup: readonly SetupEntry[];
  readonly results: readonly ResultEntry[];
  readonly violations: readonly Violation[];
  readonly actors: readonly ActorSummary[];
  readonly coverage: Readonly<Record<string, MachineCoverage>>;
  readonly trace?: readonly TraceEntry[];
}

export interface RunReportContext {
  readonly scenario: Scenario;
  readonly scheduler: string;
  readonly seed: number;
  readonly mutations: Mutations;
  readonly runner: RunnerKind;
  readonly trace: boolean;
  /** The release the run used when not the scenario's (`--kernel`). */
  readonly kernel?: KernelRelease;
}

/** The arguments of an op, for reports: u64 fields as hex strings. */
export function opInput(op: Op): Record<string, JsonScalar> {
  switch (op.op) {
    case 'access':
      return { gpa: hex(op.gpa), access: op.access, ...(op.private !== undefined ? { private: op.private } : {}) };
    case 'pre_fault':
      return { gpa: hex(op.gpa), size: hex(op.size), flags: hex(op.flags), until_done: op.untilDone };
    case 'map_memory':
      return { base_gfn: hex(op.baseGfn), nr_pages: hex(op.nrPages), flags: hex(op.flags), source: hex(op.source), until_done: op.untilDone };
    case 'set_memslot':
      return {
        slot: op.slot, gpa: hex(op.gpa), size: hex(op.size), flags: hex(op.flags), backing: ['4K', '2M', '1G'][op.backingLevel - 1] ?? String(op.backingLevel),
        // Only when not the default (anonymous, not populated).
        ...(op.hostMemory !== undefined && op.hostMemory !== 'anonymous' ? { host_memory: op.hostMemory } : {}), ...(op.populated === true ? { populated: true } : {}),
      };
    case 'set_memory_attributes':
      return { gpa: hex(op.gpa), size: hex(op.size), attributes: hex(op.attributes), flags: hex(op.flags) };
    case 'invalidate':
      return { gpa: hex(op.gpa), size: hex(op.size), kind: op.kind, ...(op.kind === 'mprotect' ? { prot: op.prot } : {}) };
    case 'get_dirty_log':
      return { slot: op.slot };
    case 'clear_dirty_log':
      return { slot: op.slot, first_page: hex(op.firstPage), num_pages: hex(op.numPages) };
    case 'signal':
      return { vcpu: `vcpu${op.vcpu}` };
    case 'snp_launch_update':
      return { gpa: hex(op.gpa), size: hex(op.size) };
    case 'finalize':
    case 'mmu_reset':
    case 'vm_dead':
      return {};
    case 'access_stream':
      return { accesses: op.gfns.length };
  }
}

function coverageByMachine(entries: readonly CoverageEntry[]): Record<string, MachineCoverage> {
  const out: Record<string, { fired: number; total: number; transitions: { transition: string; count: number }[] }> = {};
  for (const e of entries) {
    const m = (out[e.machine] ??= { fired: 0, total: 0, transitions: [] });
    m.total++;
    if (e.count > 0) m.fired++;
    m.transitions.push({ transition: e.transition, count: e.count });
  }
  return out;
}

/** buildRunReport(): the JSON form of a run (see RunReport). */
export function buildRunReport(ctx: RunReportContext, r: RunResult): RunReport {
  const s = ctx.scenario;
  const setup: SetupEntry[] = s.memslots.map((op, index) => {
    const res = r.setupResults[index] ?? null;
    return { index, op: 'set_memslot', input: opInput(op), ran: res !== null, ...(res ?? {}) } as SetupEntry;
  });
  const results: ResultEntry[] = s.ops.map((o, index) => {
    const res = r.results[index] ?? null;
    return {
      index, scenarioIndex: o.scenarioIndex, ...(o.repeats > 1 ? { repeat: o.repeat, repeats: o.repeats } : {}),
      actor: o.actor, op: o.op.op, input: opInput(o.op), ran: res !== null, ...(res ?? {}),
    } as ResultEntry;
  });
  return {
    scenario: { name: s.name, description: s.description, file: s.sourceName },
    vm: { type: s.vm.type, vcpus: s.vm.vcpus, memory: formatSize(s.vm.memoryBytes), memoryBytes: s.vm.memoryBytes, kernel: ctx.kernel ?? s.vm.kernel, physBits: s.vm.physBits, tdpLevel: kvmMmuGetTdpLevel(s.vm.physBits) },
    scheduler: ctx.scheduler,
    seed: ctx.seed,
    mutations: mutationSpecs(ctx.mutations),
    runner: ctx.runner,
    steps: r.steps,
    completed: r.completed,
    error: r.error,
    setup,
    results,
    violations: r.violations,
    actors: r.actors,
    coverage: coverageByMachine(r.coverage),
    ...(ctx.trace ? { trace: r.trace.map((t: StepRecord) => ({ step: t.step, actor: t.actor, label: t.label, waits: t.waits })) } : {}),
  };
}

/** True when the run found nothing wrong (exit status 0). */
export function reportIsClean(r: RunReport): boolean {
  return r.violations.length === 0 && r.error === null;
}

// ---------------------------------------------------------------------------
// Terminal rendering

const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));

/** `write 0x1000`, `pre_fault [0x0, +2MiB)`, … — what an op asked for. */
export function describeInput(op: string, input: Readonly<Record<string, JsonScalar>>): string {
  const size = (v: JsonScalar | undefined): string => (typeof v === 'string' && /^0x[0-9a-f]+$/.test(v) ? formatSize(BigInt(v)) : str(v));
  switch (op) {
    case 'access':
      return `${str(input.access)} ${str(input.gpa)}${input.private !== undefined ? (input.private ? ' (private)' : ' (shared)') : ''}`;
    case 'pre_fault':
      return `[${str(input.gpa)}, +${size(input.size)})${input.flags !== '0x0' ? ` flags ${str(input.flags)}` : ''}${input.until_done ? ' until done' : ''}`;
    case 'map_memory':
      return `gfn ${str(input.base_gfn)} +${str(input.nr_pages)} pages flags ${str(input.flags)}${input.source !== '0x0' ? ` source ${str(input.source)}` : ''}${input.until_done ? ' until done' : ''}`;
    case 'set_memslot':
      return `slot ${str(input.slot)} [${str(input.gpa)}, +${size(input.size)})${input.flags !== '0x0' ? ` ${memslotFlagNames(input.flags)}` : ''}${input.backing !== '4K' ? ` ${str(input.backing)} backing` : ''}${input.host_memory !== undefined ? ` ${str(input.host_memory)}` : ''}${input.populated === true ? ' populated' : ''}`;
    case 'set_memory_attributes':
      return `[${str(input.gpa)}, +${size(input.size)}) ${input.attributes === '0x8' ? 'private' : input.attributes === '0x0' ? 'shared' : `attributes ${str(input.attributes)}`}${input.flags !== '0x0' ? ` flags ${str(input.flags)}` : ''}`;
    case 'invalidate':
      return `${str(input.kind)}${input.prot !== undefined ? `(${str(input.prot)})` : ''} [${str(input.gpa)}, +${size(input.size)})`;
    case 'get_dirty_log':
      return `slot ${str(input.slot)}`;
    case 'clear_dirty_log':
      return `slot ${str(input.slot)} pages [${str(input.first_page)}, +${str(input.num_pages)})`;
    case 'signal':
      return str(input.vcpu);
    default:
      return '';
  }
}

const errnoText = (errno: unknown): string => (errno === null || errno === undefined ? '' : ` (${str(errno)})`);

/** What an op returned, in a few words. */
export function describeOutcome(e: { readonly ran: boolean; readonly [k: string]: unknown }): string {
  if (!e.ran) return 'not run (the run stopped first)';
  const res = e as unknown as OpResult;
  switch (res.op) {
    case 'access':
      if (res.ok) return `ok${res.emulated ? ', emulated' : ''}, ${res.exits} exit${res.exits === 1 ? '' : 's'}`;
      return `failed${errnoText(res.errno)}${res.emulated ? ', emulated' : ''}, ${res.exits} exit${res.exits === 1 ? '' : 's'}`;
    case 'pre_fault':
      return `ret ${res.ret}${errnoText(res.errno)}, gpa ${res.gpa}, size ${res.size} left, ${res.calls} call${res.calls === 1 ? '' : 's'}`;
    case 'map_memory':
      return `ret ${res.ret}${errnoText(res.errno)}, base_gfn ${res.baseGfn}, nr_pages ${res.nrPages} left, source ${res.source}, ${res.calls} call${res.calls === 1 ? '' : 's'}`;
    case 'set_memslot':
      return `ret ${res.ret}${errnoText(res.errno)}${res.errno === null ? `, ${res.change}` : ''}`;
    case 'set_memory_attributes':
    case 'finalize':
      return `ret ${res.ret}${errnoText(res.errno)}`;
    case 'snp_launch_update':
      return `ret ${res.ret}${errnoText(res.errno)}, ${res.pages} page${res.pages === 1 ? '' : 's'} populated`;
    case 'invalidate':
      return `done, ${res.pagesFreed} host page${res.pagesFreed === 1 ? '' : 's'} freed`;
    case 'get_dirty_log':
      return `ret ${res.ret}${errnoText(res.errno)}, ${res.dirty.length} dirty${res.dirty.length > 0 ? `: ${res.dirty.slice(0, 8).join(' ')}${res.dirty.length > 8 ? ' …' : ''}` : ''}`;
    case 'clear_dirty_log':
      return `ret ${res.ret}${errnoText(res.errno)}, ${res.cleared.length} cleared${res.cleared.length > 0 ? `: ${res.cleared.slice(0, 8).join(' ')}${res.cleared.length > 8 ? ' …' : ''}` : ''}`;
    case 'signal':
      return 'sent';
    case 'mmu_reset':
      if (res.errno !== undefined) return `ret ${res.ret}${errnoText(res.errno)}`;
      return res.rootDropped ? 'root unloaded' : 'no root loaded';
    case 'vm_dead':
      return 'VM dead';
    case 'access_stream':
      return `${res.accesses} accesses, ${res.failed} failed${errnoText(res.errno)}, ${res.emulated} emulated, ${res.exits} exits`;
  }
}

/** `s` padded to `n` columns, and at least one space after it. */
function pad(s: string, n: number): string {
  return s + ' '.repeat(Math.max(1, n - s.length));
}

/** Memslot flags by name (`log_dirty_pages|readonly`), unknown bits in hex. */
function memslotFlagNames(hexFlags: JsonScalar | undefined): string {
  let v = typeof hexFlags === 'string' ? Number(hexFlags) : 0;
  const names: string[] = [];
  for (const [name, bit] of Object.entries(MEMSLOT_FLAG_NAMES)) {
    if ((v & bit) !== 0) { names.push(name); v &= ~bit; }
  }
  if (v !== 0) names.push(hex(v >>> 0));
  return names.join('|');
}

/** Column widths of the op lines: `#index`, actor (at least), and the op with its arguments. */
const INDEX_COLUMN_CHARS = 5;
const ACTOR_COLUMN_CHARS_MIN = 5;
const OP_COLUMN_CHARS = 50;

function formatResults(r: RunReport): string[] {
  const lines: string[] = [];
  if (r.setup.length > 0) {
    lines.push('setup');
    for (const e of r.setup) lines.push(`  ${pad(`#${e.index}`, INDEX_COLUMN_CHARS)}${pad('vmm', ACTOR_COLUMN_CHARS_MIN + 1)}${pad(`set_memslot ${describeInput('set_memslot', e.input)}`, OP_COLUMN_CHARS)} ${describeOutcome(e)}`);
  }
  lines.push('results');
  if (r.results.length === 0) lines.push('  (no ops)');
  const actorWidth = Math.max(ACTOR_COLUMN_CHARS_MIN, ...r.results.map((e) => e.actor.length));
  for (let i = 0; i < r.results.length; i++) {
    const e = r.results[i]!;
    if (!e.ran) {
      // Ops a stopped run never completed: one line for the whole tail.
      let j = i;
      while (j + 1 < r.results.length && !r.results[j + 1]!.ran) j++;
      if (j > i) {
        lines.push(`  ${pad(`#${e.index}…#${r.results[j]!.index}`, INDEX_COLUMN_CHARS + actorWidth + 1 + OP_COLUMN_CHARS)} not run (${j - i + 1} ops: the run stopped first)`);
        i = j;
        continue;
      }
    }
    const origin = e.repeats !== undefined ? ` (op ${e.scenarioIndex}, ${e.repeat}/${e.repeats})` : e.scenarioIndex !== e.index ? ` (op ${e.scenarioIndex})` : '';
    const what = `${e.op} ${describeInput(e.op, e.input)}`;
    lines.push(`  ${pad(`#${e.index}`, INDEX_COLUMN_CHARS)}${pad(e.actor, actorWidth + 1)}${pad(what, OP_COLUMN_CHARS)} ${describeOutcome(e)}${origin}`);
  }
  return lines;
}

/** One violation: kind, step, actors, transition, message, gfn/pfn and the SPTEs involved. */
export function formatViolation(v: Violation): string[] {
  const at = v.step >= 0 ? `at step ${v.step}, ` : '';
  const who = v.actors.length > 0 ? `actors ${v.actors.join(', ')}` : 'no actor (found by a scan)';
  const lines = [`  ${v.kind} ${at}${who}${v.transition ? `, during ${v.transition}` : ''}`];
  lines.push(`    ${v.message}`);
  const where = [v.gfn !== undefined ? `gfn ${hex(v.gfn)}` : '', v.pfn !== undefined ? `pfn ${hex(v.pfn)}` : ''].filter((x) => x !== '');
  if (where.length > 0) lines.push(`    ${where.join(', ')}`);
  for (const s of v.sptes ?? []) {
    lines.push(`    spte ${s.where} = ${s.value} (${s.decoded})${s.writtenBy ? `, written by ${s.writtenBy}` : ''}`);
  }
  return lines;
}

const plural = (n: number, word: string, words = `${word}s`): string => `${n} ${n === 1 ? word : words}`;

function formatActors(actors: readonly ActorSummary[]): string[] {
  const lines = ['actors'];
  for (const a of actors) {
    const parts = [plural(a.steps, 'step')];
    if (a.accesses > 0) parts.push(`${plural(a.accesses, 'access', 'accesses')} (${plural(a.tlbHits, 'TLB hit')}, ${plural(a.exits, 'exit')})`);
    if (a.faults > 0) parts.push(`${plural(a.faults, 'fault')} (${Object.entries(a.faultsByRet).map(([k, n]) => `${k} ${n}`).join(', ')})`);
    const retries = Object.entries(a.retriesByReason);
    if (retries.length > 0) parts.push(`retries: ${retries.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    if (a.preFaultCalls > 0) parts.push(`${plural(a.preFaultCalls, 'pre-fault call')}, ${plural(a.preFaultPages, 'page')}`);
    if (a.cowBreaks > 0) parts.push(plural(a.cowBreaks, 'CoW break'));
    if (a.zaps > 0) parts.push(plural(a.zaps, 'zap'));
    if (a.flushes > 0) parts.push(plural(a.flushes, 'flush', 'flushes'));
    if (a.casFailures > 0) parts.push(plural(a.casFailures, 'CAS failure'));
    if (a.lockWaits > 0) parts.push(plural(a.lockWaits, 'lock wait'));
    lines.push(`  ${pad(a.actor, 7)}${parts.join('; ')} — ${a.state}`);
  }
  return lines;
}

/** The step trace: step, actor, label, and what the actor now waits on. */
export function formatTrace(trace: readonly TraceEntry[]): string[] {
  const lines = ['trace'];
  const w = Math.max(5, ...trace.map((t) => t.actor.length));
  for (const t of trace) lines.push(`  ${pad(String(t.step), 7)}${pad(t.actor, w + 1)}${t.label}${t.waits !== null ? `  [waits on ${t.waits}]` : ''}`);
  return lines;
}

/** formatRunReport(): the terminal report of a run. */
export function formatRunReport(r: RunReport): string {
  const m = r.mutations;
  const mutations = foldPatches(m.mutate, m.skip).join(' ') || 'none';
  const lines = [
    `scenario ${r.scenario.name} (${r.scenario.file})${r.scenario.description ? `: ${r.scenario.description}` : ''}`,
    `vm ${r.vm.type}, ${r.vm.vcpus} vCPU${r.vm.vcpus === 1 ? '' : 's'}, laid out for ${r.vm.memory}${r.vm.physBits === PHYS_BITS_DEFAULT ? '' : `, ${r.vm.physBits}-bit guest physical space (${r.vm.tdpLevel}-level TDP)`}${r.vm.kernel === KERNEL_DEFAULT ? '' : `, kernel ${r.vm.kernel}`}; scheduler ${r.scheduler}, seed ${r.seed}, runner ${r.runner}, mutations: ${mutations}`,
    '',
    ...formatResults(r),
    '',
  ];
  if (r.violations.length === 0) lines.push('violations: none');
  else {
    lines.push(`violations (${r.violations.length})`);
    for (const v of r.violations) lines.push(...formatViolation(v));
  }
  if (r.error !== null) lines.push(`error: ${r.error}`);
  lines.push('', ...formatActors(r.actors), '', 'coverage');
  for (const [id, c] of Object.entries(r.coverage)) lines.push(`  ${id}: ${c.fired}/${c.total} transitions fired`);
  if (r.trace !== undefined) lines.push('', ...formatTrace(r.trace));
  const verdict = r.violations.length > 0 ? `VIOLATION (${r.violations[0]!.kind})` : r.error !== null ? 'ERROR' : 'clean';
  lines.push('', `${r.steps} steps, ${r.completed ? 'completed' : 'stopped early'}: ${verdict}`);
  return lines.join('\n') + '\n';
}
