/**
 * Explaining a failing interleaving: a column trace for the terminal (one column per
 * actor; the steps that matter, with mmu_invalidate_seq, in_progress and the mmu_lock
 * state after each) and Chrome trace-event JSON for Perfetto (one track per actor).
 */

import type { StepRecord } from '../engine/actor-runtime.js';
import type { Violation } from '../kvm/findings.js';
import type { StepFootprint } from '../kvm/shm.js';

/** Why a step is in the causal past: a seed, it conflicts with a later step of another actor in it, or only program order. */
export type SliceReason = 'seed' | 'conflict' | 'order';

/**
 * The causal past of some steps (the violation's, and the steps that wrote the SPTEs it
 * names): every step that happens before one of them — an earlier step of the same
 * actor, or an earlier step whose footprint conflicts with one already in (it wrote a
 * word the later one read or wrote, or read a word it wrote) — closed transitively.
 * Steps outside it could be reordered past the violation without changing it: they are
 * not part of the story. `footprint(step)` is undefined for steps without one (setup).
 */
export function causalSlice(trace: readonly StepRecord[], footprint: (step: number) => StepFootprint | undefined, seeds: readonly number[]): Map<number, SliceReason> {
  const inSlice = new Map<number, SliceReason>();
  if (seeds.length === 0) return inSlice;
  const top = Math.max(...seeds);
  const seedSet = new Set(seeds);
  // Per actor: the latest step in the slice (all its earlier steps are in, by program
  // order), and the words its steps in the slice read and wrote.
  const last = new Map<string, number>();
  const reads = new Map<string, Set<number>>();
  const writes = new Map<string, Set<number>>();
  const words = (r: Int32Array, into: Set<number>): void => {
    for (let k = 0; k < r.length; k += 2) for (let w = r[k]!; w < r[k + 1]!; w++) into.add(w);
  };
  const hits = (r: Int32Array, set: Set<number>): boolean => {
    for (let k = 0; k < r.length; k += 2) for (let w = r[k]!; w < r[k + 1]!; w++) if (set.has(w)) return true;
    return false;
  };
  const conflictsWithOthers = (actor: string, fp: StepFootprint): boolean => {
    for (const [b, w] of writes) {
      if (b === actor) continue;
      if (hits(fp.writes, w) || hits(fp.reads, w) || hits(fp.writes, reads.get(b)!)) return true;
    }
    return false;
  };
  for (let i = trace.length - 1; i >= 0; i--) {
    const s = trace[i]!;
    if (s.step > top) continue;
    const fp = footprint(s.step);
    const conflict = fp !== undefined && conflictsWithOthers(s.actor, fp);
    const reason: SliceReason | null = seedSet.has(s.step) ? 'seed' : conflict ? 'conflict' : s.step <= (last.get(s.actor) ?? -1) ? 'order' : null;
    if (reason === null) continue;
    inSlice.set(s.step, reason);
    if (s.step > (last.get(s.actor) ?? -1)) last.set(s.actor, s.step);
    if (fp !== undefined) {
      if (!writes.has(s.actor)) { writes.set(s.actor, new Set()); reads.set(s.actor, new Set()); }
      words(fp.reads, reads.get(s.actor)!);
      words(fp.writes, writes.get(s.actor)!);
    }
  }
  // A step in by program order that conflicts with an *earlier* step of another actor in
  // the slice (it read what that one wrote, …) interacts too.
  reads.clear();
  writes.clear();
  for (const s of trace) {
    const reason = inSlice.get(s.step);
    const fp = footprint(s.step);
    if (reason === undefined || fp === undefined) continue;
    if (reason === 'order' && conflictsWithOthers(s.actor, fp)) inSlice.set(s.step, 'conflict');
    if (!writes.has(s.actor)) { writes.set(s.actor, new Set()); reads.set(s.actor, new Set()); }
    words(fp.reads, reads.get(s.actor)!);
    words(fp.writes, writes.get(s.actor)!);
  }
  return inSlice;
}

/**
 * The rows of a sliced trace: the seeds, the steps that interact with another actor's
 * steps in the slice, and those that moved mmu_invalidate_seq or in_progress; runs of
 * the other steps (in only by program order) folded.
 */
function slicedRows(trace: readonly StepRecord[], slice: ReadonlyMap<number, SliceReason>): (StepRecord | { folded: number; actor: string })[] {
  const steps = trace.filter((s) => slice.has(s.step));
  const show = new Set<number>();
  const byActor = new Map<string, StepRecord[]>();
  for (const s of steps) {
    if (!byActor.has(s.actor)) byActor.set(s.actor, []);
    byActor.get(s.actor)!.push(s);
  }
  for (const list of byActor.values()) for (const s of list) if (slice.get(s.step) !== 'order') show.add(s.step);
  // Steps that moved mmu_invalidate_seq or in_progress stay visible: the story turns on them.
  for (let i = 1; i < trace.length; i++) {
    const s = trace[i]!;
    const p = trace[i - 1]!;
    if (slice.has(s.step) && (s.seq !== p.seq || s.inProgress !== p.inProgress)) show.add(s.step);
  }
  const out: (StepRecord | { folded: number; actor: string })[] = [];
  let fold: { folded: number; actor: string } | null = null;
  for (const s of steps) {
    if (show.has(s.step)) {
      fold = null;
      out.push(s);
      continue;
    }
    if (fold === null || fold.actor !== s.actor) {
      fold = { folded: 0, actor: s.actor };
      out.push(fold);
    }
    fold.folded++;
  }
  return out;
}

/** A run of more than this many quiet steps of one actor (no change to seq, in_progress, lock) folds into one line. */
const FOLD_AFTER = 6;
/** The last steps before the violation are never folded. */
const TRACE_UNFOLDED_TAIL_STEPS = 12;
/** Characters of one actor's column in the column view. */
const TRACE_COLUMN_CHARS = 46;

/**
 * The steps that lead to the violation: everything up to it, without the waits that
 * changed nothing (a retried trylock) and with long runs of one actor's steps that did not
 * touch the lock, the seq or in_progress folded into one line.
 */
export function relevantSteps(trace: readonly StepRecord[], upTo: number): (StepRecord | { folded: number; actor: string })[] {
  const out: (StepRecord | { folded: number; actor: string })[] = [];
  const steps = trace.filter((s) => s.step <= upTo);
  let prev: StepRecord | null = null;
  let fold: { folded: number; actor: string } | null = null;
  let run = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.waits !== null && i + 1 < steps.length && steps[i + 1]!.actor === s.actor && steps[i + 1]!.waits !== null) continue;
    const quiet = prev !== null && prev.actor === s.actor && prev.seq === s.seq && prev.inProgress === s.inProgress && prev.lock === s.lock && s.step !== upTo;
    run = quiet ? run + 1 : 0;
    const nearEnd = steps.length - i <= TRACE_UNFOLDED_TAIL_STEPS;
    if (run > FOLD_AFTER && !nearEnd) {
      if (fold === null || fold.actor !== s.actor) { fold = { folded: 0, actor: s.actor }; out.push(fold); }
      fold.folded++;
    } else {
      fold = null;
      out.push(s);
    }
    prev = s;
  }
  return out;
}

/**
 * The column view: step, one column per actor (the transition in its column), and the
 * shared state after it. With `footprint` (a run that recorded them), only the
 * violation's causal past is shown (causalSlice), and actors with no step in it get no
 * column; without, every step up to the violation.
 */
export function formatColumnTrace(trace: readonly StepRecord[], allActors: readonly string[], violation: Violation | null, width = TRACE_COLUMN_CHARS, footprint?: (step: number) => StepFootprint | undefined): string {
  const upTo = violation !== null && violation.step >= 0 ? violation.step : (trace[trace.length - 1]?.step ?? 0);
  // The SPTEs the violation names, by the step that wrote them (the engine's provenance).
  const wrote = new Map<number, string>();
  for (const sp of violation?.sptes ?? []) {
    const m = / at step ([0-9]+)/.exec(sp.writtenBy ?? '');
    if (m) wrote.set(Number(m[1]), `${sp.where} = ${sp.value}`);
  }
  const slice = footprint === undefined ? undefined : causalSlice(trace, footprint, [upTo, ...[...wrote.keys()].filter((k) => k <= upTo)]);
  const rows = slice === undefined ? relevantSteps(trace, upTo) : slicedRows(trace, slice);
  const actors = slice === undefined ? allActors : allActors.filter((a) => trace.some((s) => s.actor === a && slice.has(s.step)));
  const hidden = trace.filter((s) => s.step <= upTo).length - (slice?.size ?? trace.filter((s) => s.step <= upTo).length);
  const col = (s: string): string => (s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width));
  const head = `${'step'.padStart(6)}  ${actors.map(col).join(' ')}  seq/in_progress  mmu_lock`;
  const lines = [head, '-'.repeat(head.length)];
  for (const r of rows) {
    if ('folded' in r) {
      lines.push(`${''.padStart(6)}  ${actors.map((a) => col(a === r.actor ? `… ${r.folded} more steps` : '')).join(' ')}`);
      continue;
    }
    const text = `${r.label.replace(/^[a-z-]+: /, '')}${r.waits !== null ? `  [waits on ${r.waits}]` : ''}`;
    const mark = r.step === upTo && violation !== null ? ' ◀' : '';
    lines.push(`${String(r.step).padStart(6)}  ${actors.map((a) => col(a === r.actor ? `${r.machine}: ${text}` : '')).join(' ')}  ${`${r.seq ?? '?'}/${r.inProgress ?? '?'}`.padEnd(15)}  ${r.lock ?? ''}${mark}`);
    const w = wrote.get(r.step);
    if (w !== undefined) lines.push(`${''.padStart(6)}  ${' '.repeat((width + 1) * actors.indexOf(r.actor))}↳ ${r.actor} writes ${w}`);
  }
  if (violation !== null) {
    lines.push('');
    lines.push(`◀ ${violation.kind}: ${violation.message}`);
  }
  if (slice !== undefined && hidden > 0) {
    const gone = allActors.filter((a) => !actors.includes(a));
    lines.push(`(${hidden} step(s) outside the violation's causal past left out${gone.length > 0 ? `, among them every step of ${gone.join(', ')}` : ''})`);
  }
  return `${lines.join('\n')}\n`;
}

/** Chrome trace-event JSON (opens in Perfetto / chrome://tracing): one track per actor, 1 µs per step. */
export function toPerfetto(trace: readonly StepRecord[], actors: readonly string[], violation: Violation | null): object {
  const tid = new Map(actors.map((a, i) => [a, i + 1]));
  const events: object[] = actors.map((a, i) => ({ name: 'thread_name', ph: 'M', pid: 1, tid: i + 1, args: { name: a } }));
  events.push({ name: 'process_name', ph: 'M', pid: 1, args: { name: 'faultline (deterministic engine; 1 µs = 1 step)' } });
  for (const s of trace) {
    events.push({
      name: s.label, cat: s.machine, ph: 'X', pid: 1, tid: tid.get(s.actor) ?? 0, ts: s.step, dur: 1,
      args: { step: s.step, from: s.from, to: s.to, waits: s.waits, seq: s.seq, in_progress: s.inProgress, mmu_lock: s.lock },
    });
  }
  if (violation !== null) {
    events.push({ name: `${violation.kind}`, ph: 'i', s: 'g', pid: 1, tid: tid.get(violation.actors[0] ?? '') ?? 0, ts: Math.max(0, violation.step), args: { message: violation.message } });
  }
  return { traceEvents: events, displayTimeUnit: 'ns' };
}
