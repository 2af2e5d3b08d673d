/**
 * Shrinking a failing swarm scenario — the scenario itself, not a schedule: drop ops,
 * drop actors (every op of a vCPU, of the host, of the VMM), drop initial memslots,
 * halve ranges and repeat counts, then drop details (VM options, memslot flags and
 * backings, op flags and `after` edges), for as long as exploring the smaller scenario still
 * ends in the same violation kind (and not a documented finding). Each candidate must
 * still be a valid scenario file; one the schema or the parser refuses is skipped.
 * Greedy and deterministic: the first smaller candidate that still fails is kept, and the
 * passes repeat until none helps or the attempts run out.
 */

import { ScenarioError } from '../workload/scenario-error.js';
import { parseScenario, type Scenario } from '../workload/scenario.js';
import { formatSize, parseU64 } from '../workload/numbers.js';

type Doc = { [k: string]: unknown };
type OpDoc = Doc & { actor: string; op: string; after?: number };
export type ScenarioDoc = Doc & { vm: Doc; memslots: Doc[]; ops: OpDoc[] };

/** `doc` without the ops at `drop`; `after` edges renumbered, an edge to a dropped op removed. */
export function dropOps(doc: ScenarioDoc, drop: ReadonlySet<number>): ScenarioDoc {
  const newIndex: number[] = [];
  let n = 0;
  doc.ops.forEach((_, i) => { newIndex[i] = drop.has(i) ? -1 : n++; });
  const ops = doc.ops.filter((_, i) => !drop.has(i)).map((o) => {
    if (o.after === undefined) return o;
    const after = newIndex[o.after]!;
    if (after >= 0) return { ...o, after };
    const { after: _gone, ...rest } = o;
    return rest as OpDoc;
  });
  return { ...doc, ops };
}

/** `doc` without vCPU k: its ops and signals to it gone, higher vCPUs renumbered down. */
function dropVcpu(doc: ScenarioDoc, k: number): ScenarioDoc | null {
  const vcpus = Number(doc.vm.vcpus ?? 1);
  if (vcpus <= 1) return null;
  const drop = new Set<number>();
  doc.ops.forEach((o, i) => { if (o.actor === `vcpu${k}` || o.vcpu === `vcpu${k}`) drop.add(i); });
  const less = dropOps(doc, drop);
  const rename = (a: unknown): unknown => (typeof a === 'string' && /^vcpu[0-9]+$/.test(a) && Number(a.slice(4)) > k ? `vcpu${Number(a.slice(4)) - 1}` : a);
  return { ...less, vm: { ...doc.vm, vcpus: vcpus - 1 }, ops: less.ops.map((o) => ({ ...o, actor: rename(o.actor) as string, ...(o.vcpu !== undefined ? { vcpu: rename(o.vcpu) } : {}) })) };
}

/** Halves a size field (bytes, whole pages, at least one page); null when it cannot shrink. */
function halfSize(v: unknown): string | null {
  let b: bigint;
  try { b = parseU64(v, 'size'); } catch { return null; }
  const h = (b / 2n / 4096n) * 4096n;
  return h >= 4096n && h < b ? formatSize(h) : null;
}

/** Every candidate one step smaller than `doc`, biggest cuts first. */
export function* shrinkCandidates(doc: ScenarioDoc): Generator<ScenarioDoc> {
  const vcpus = Number(doc.vm.vcpus ?? 1);
  for (let k = vcpus - 1; k >= 0; k--) { const d = dropVcpu(doc, k); if (d !== null) yield d; }
  for (const actor of ['host', 'vmm']) {
    const drop = new Set(doc.ops.flatMap((o, i) => (o.actor === actor ? [i] : [])));
    if (drop.size > 1) yield dropOps(doc, drop);
  }
  for (let i = doc.ops.length - 1; i >= 0; i--) yield dropOps(doc, new Set([i]));
  for (let j = doc.memslots.length - 1; j >= 0; j--) yield { ...doc, memslots: doc.memslots.filter((_, x) => x !== j) };
  for (let i = 0; i < doc.ops.length; i++) {
    const o = doc.ops[i]!;
    const change = (patch: Doc): ScenarioDoc => ({ ...doc, ops: doc.ops.map((x, y) => (y === i ? { ...x, ...patch } : x)) });
    if (typeof o.repeat === 'number' && o.repeat > 2) yield change({ repeat: Math.floor(o.repeat / 2) });
    const single = o.repeat !== undefined ? without(o, 'repeat') : null;
    if (single !== null) yield { ...doc, ops: doc.ops.map((x, y) => (y === i ? single : x)) };
    if (o.op !== 'set_memslot' && o.size !== undefined) { const h = halfSize(o.size); if (h !== null) yield change({ size: h }); }
    if (typeof o.nr_pages === 'number' && o.nr_pages > 1) yield change({ nr_pages: Math.floor(o.nr_pages / 2) });
    const once = without(o, 'until_done');
    if (once !== null) yield { ...doc, ops: doc.ops.map((x, y) => (y === i ? once : x)) };
  }
  for (let j = 0; j < doc.memslots.length; j++) {
    const h = halfSize(doc.memslots[j]!.size);
    if (h !== null) yield { ...doc, memslots: doc.memslots.map((m, x) => (x === j ? { ...m, size: h } : m)) };
  }
  yield* simpler(doc);
}

/** `o` without `key` (null when it has none). */
function without<T extends Doc>(o: T, key: string): T | null {
  if (!(key in o)) return null;
  const { [key]: _gone, ...rest } = o;
  return rest as T;
}

/** Candidates of the same size with fewer details: VM options, memslot flags and backings, op flags and edges. */
function* simpler(doc: ScenarioDoc): Generator<ScenarioDoc> {
  if (doc.vm.type !== 'default') yield { ...doc, vm: { ...doc.vm, type: 'default' } };
  for (const key of ['manual_dirty_log_protect', 'disabled_quirks']) { const vm = without(doc.vm, key); if (vm !== null) yield { ...doc, vm }; }
  for (let j = 0; j < doc.memslots.length; j++) {
    const m = doc.memslots[j]!;
    const at = (n: Doc): ScenarioDoc => ({ ...doc, memslots: doc.memslots.map((x, y) => (y === j ? n : x)) });
    for (const key of ['populated', 'flags']) { const n = without(m, key); if (n !== null) yield at(n); }
    if (m.backing !== '4K' || m.host_memory !== 'anonymous') yield at({ ...m, backing: '4K', host_memory: 'anonymous' });
  }
  for (let i = 0; i < doc.ops.length; i++) {
    for (const key of ['after', 'flags', 'private']) { const o = without(doc.ops[i]!, key); if (o !== null) yield { ...doc, ops: doc.ops.map((x, y) => (y === i ? o : x)) }; }
  }
}

/** The size a shrink is judged by: ops, then vCPUs, then memslots. */
export function scenarioSize(doc: ScenarioDoc): { ops: number; vcpus: number; memslots: number } {
  return { ops: doc.ops.length, vcpus: Number(doc.vm.vcpus ?? 1), memslots: doc.memslots.length };
}

/** The candidate as a Scenario, or null when it is not a valid scenario file. */
export function parseCandidate(doc: ScenarioDoc): Scenario | null {
  try {
    return parseScenario(JSON.stringify(doc), String(doc.name ?? 'swarm'));
  } catch (e) {
    if (e instanceof ScenarioError) return null;
    throw e;
  }
}

export interface ScenarioShrink {
  readonly doc: ScenarioDoc;
  readonly attempts: number;
  readonly steps: number;
}

/**
 * Shrinks `doc` while `fails(candidate)` (the candidate parsed) holds; at most `maxAttempts`
 * candidates are explored.
 */
export function shrinkScenario(doc: ScenarioDoc, fails: (s: Scenario, d: ScenarioDoc) => boolean, maxAttempts: number): ScenarioShrink {
  let cur = doc;
  let attempts = 0;
  let steps = 0;
  for (let progress = true; progress && attempts < maxAttempts;) {
    progress = false;
    for (const cand of shrinkCandidates(cur)) {
      if (attempts >= maxAttempts) break;
      const s = parseCandidate(cand);
      if (s === null) continue;
      attempts++;
      if (!fails(s, cand)) continue;
      cur = cand;
      steps++;
      progress = true;
      break;
    }
  }
  return { doc: cur, attempts, steps };
}
