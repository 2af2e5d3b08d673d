/**
 * Explaining a failing interleaving: a column trace for the terminal (one column per
 * actor; the steps that matter, with mmu_invalidate_seq, in_progress and the mmu_lock
 * state after each) and Chrome trace-event JSON for Perfetto (one track per actor).
 */

import type { StepRecord } from '../engine/actor-runtime.js';
import type { Violation } from '../kvm/findings.js';

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
  const FOLD_AFTER = 6;
  let run = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.waits !== null && i + 1 < steps.length && steps[i + 1]!.actor === s.actor && steps[i + 1]!.waits !== null) continue;
    const quiet = prev !== null && prev.actor === s.actor && prev.seq === s.seq && prev.inProgress === s.inProgress && prev.lock === s.lock && s.step !== upTo;
    run = quiet ? run + 1 : 0;
    const nearEnd = steps.length - i <= 12;
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

/** The column view: step, one column per actor (the transition in its column), and the shared state after it. */
export function formatColumnTrace(trace: readonly StepRecord[], actors: readonly string[], violation: Violation | null, width = 46): string {
  const upTo = violation !== null && violation.step >= 0 ? violation.step : (trace[trace.length - 1]?.step ?? 0);
  const rows = relevantSteps(trace, upTo);
  // The SPTEs the violation names, by the step that wrote them (the engine's provenance).
  const wrote = new Map<number, string>();
  for (const sp of violation?.sptes ?? []) {
    const m = / at step ([0-9]+)/.exec(sp.writtenBy ?? '');
    if (m) wrote.set(Number(m[1]), `${sp.where} = ${sp.value}`);
  }
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
