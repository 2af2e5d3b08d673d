/**
 * A threaded run's result, once every worker has ended: the final invariant scan and the
 * quiescence check (only after a clean end — an aborted actor may have left an op half
 * done), each actor's own violations, coverage summed over the actors, and a script's op
 * end times.
 */

import { checkQuiesced } from '../check/invariants.js';
import { COMPILED } from '../protocol/machines.js';
import { CTL } from './control.js';
import type { CoverageEntry } from './deterministic.js';
import type { RunState } from './threaded-run.js';
import type { Scanner } from './threaded-scan.js';
import { scriptViews } from './threaded-script.js';
import type { ActorOutcome } from './threaded-task.js';

/** The final scan and quiescence check (after a clean end), then every actor's own violations. */
export function collectViolations(run: RunState, scanner: Scanner): void {
  const clean = run.outcomes.every((o) => o !== null) && !Atomics.load(run.ctl.i32, CTL.ABORT);
  if (clean) {
    scanner.scanAll();
    for (const v of checkQuiesced(run.vm)) run.violations.push(v);
  }
  for (const o of run.outcomes) {
    if (o === null) continue;
    run.violations.push(...o.violations);
    if (o.violationsDropped > 0) run.violations.push({ kind: o.violations[0]!.kind, actors: [o.name], step: -1, message: `${o.name} reported ${o.violationsDropped} more violations after its first ${o.violations.length} (not kept)` });
  }
}

/** How often each transition of each machine fired, over every actor. */
export function sumCoverage(outcomes: readonly (ActorOutcome | null)[]): CoverageEntry[] {
  const coverage: CoverageEntry[] = [];
  for (const m of COMPILED) {
    m.transitions.forEach((t, i) => {
      let count = 0;
      for (const o of outcomes) count += o?.coverage[m.id]?.[i] ?? 0;
      coverage.push({ machine: m.id, transition: t.label + (m.events.length > 1 ? ` on ${t.event}` : ''), count });
    });
  }
  return coverage;
}

/** A script's op end times, ms after the start barrier `t0` (NaN: the op did not end). */
export function scriptEnds(sab: SharedArrayBuffer, nOps: number, t0: number): number[] {
  const { done, endMs } = scriptViews(sab, nOps);
  return [...endMs].map((e, i) => (done[i] === 1 ? e - (performance.timeOrigin + t0) : NaN));
}
