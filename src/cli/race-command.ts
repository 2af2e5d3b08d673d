/**
 * `faultline race list | explore TARGET | replay TOKEN | shrink TOKEN`: the catalogue of
 * historical KVM MMU races, exploration of interleavings on the deterministic engine,
 * exact replay from a token, and shrinking. Exit 0 nothing found, 1 a violation found (or
 * reproduced), 2 bad input — a damaged token, or one that no longer applies, included.
 */

import { writeFileSync } from 'node:fs';
import type { RunResult } from '../engine/deterministic.js';
import { ReplayMismatch } from '../sched/replay.js';
import { PctScheduler } from '../sched/pct.js';
import { explore, replay, resolveTarget, shrink, TargetError, type ExploreScheduler } from '../race/race.js';
import { decodeToken, TokenError } from '../race/token.js';
import { formatColumnTrace, toPerfetto } from '../report/race.js';
import { formatViolation } from '../report/text.js';
import { CATALOGUE } from '../workload/catalogue.js';
import { COMPILED } from '../protocol/machines.js';
import { UsageError, parseArgs, type OptionSpec } from './args.js';
import type { Io } from './io.js';
import { parseDuration } from './stress-command.js';

const EXPLORE_OPTIONS: readonly OptionSpec[] = [
  { name: 'scheduler', kind: 'value', choices: ['random', 'pct', 'dfs'] },
  { name: 'depth', kind: 'value' },
  { name: 'budget', kind: 'value' },
  { name: 'time', kind: 'value' },
  { name: 'mutate', kind: 'multi' },
  { name: 'skip', kind: 'multi' },
  { name: 'shard', kind: 'value' },
  { name: 'json', kind: 'flag' },
  { name: 'trace-out', kind: 'value' },
  { name: 'control', kind: 'flag' },
  { name: 'no-sleep-sets', kind: 'flag' },
  { name: 'coverage', kind: 'flag' },
];

function asBadInput(e: unknown): never {
  if (e instanceof TokenError || e instanceof TargetError || e instanceof ReplayMismatch) throw new UsageError(e.message);
  throw e;
}

function intOption(name: string, raw: string, min: number, max: number): number {
  const v = Number(raw);
  if (!/^[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}, got '${raw}'`);
  return v;
}

function actorsOf(r: RunResult): string[] {
  return r.actors.map((a) => a.actor);
}

function explain(r: RunResult, io: Io, traceOut: string | undefined): void {
  const v = r.violations[0] ?? null;
  // The scenario's memslots are set up before any interleaving: not part of the story.
  const fp = r.footprints.length > 0 ? (step: number) => r.footprints[step - r.setupSteps] : undefined;
  io.out(formatColumnTrace(r.trace.filter((s) => s.step >= r.setupSteps), actorsOf(r), v, 40, fp));
  if (traceOut !== undefined) {
    writeFileSync(traceOut, JSON.stringify(toPerfetto(r.trace, actorsOf(r), v)));
    io.out(`Perfetto trace written to ${traceOut} (open it at ui.perfetto.dev)\n`);
  }
}

/** `race list [--json]` */
export function raceList(argv: readonly string[], io: Io): number {
  const args = parseArgs(argv, [{ name: 'json', kind: 'flag' }], 'race list');
  if (args.positionals.length > 0) throw new UsageError(`'race list' takes no arguments, got: ${args.positionals.join(' ')}`);
  if (args.flags.has('json')) {
    io.out(`${JSON.stringify(CATALOGUE.map((e) => ({ name: e.name, ref: e.ref, commit: e.commit, violation: e.violation, mutate: e.mutate, skip: e.skip, scheduler: e.scheduler, depth: e.depth ?? null, budget: e.budget, summary: e.summary })))}\n`);
    return 0;
  }
  io.out(`the race catalogue: ${CATALOGUE.length} entries; explore one with 'faultline race explore NAME'\n\n`);
  for (const e of CATALOGUE) {
    io.out(`${e.name}  (${e.ref})\n`);
    io.out(`  fix      ${e.commit.title} — ${e.commit.hash}\n`);
    io.out(`  bug      ${e.summary}\n`);
    io.out(`  put back ${[...e.mutate.map((m) => `--mutate ${m}`), ...e.skip.map((s) => `--skip ${s}`)].join(' ')}\n`);
    io.out(`  finds    ${e.violation}, within ${e.budget} ${e.scheduler}${e.depth !== undefined ? ` (depth ${e.depth})` : ''} schedules\n\n`);
  }
  return 0;
}

/** `race explore TARGET [options]` */
export function raceExplore(argv: readonly string[], io: Io): number {
  const args = parseArgs(argv, EXPLORE_OPTIONS, 'race explore');
  if (args.positionals.length !== 1) throw new UsageError("'race explore' needs one TARGET: a catalogue entry ('faultline race list') or a scenario file");
  let target;
  try {
    target = resolveTarget(args.positionals[0]!);
  } catch (e) {
    asBadInput(e);
  }
  const v = (k: string): string | undefined => args.values.get(k);
  const scheduler = (v('scheduler') ?? target.entry?.scheduler ?? 'random') as ExploreScheduler;
  const depth = v('depth') !== undefined ? intOption('depth', v('depth')!, scheduler === 'dfs' ? 0 : 1, 16) : (scheduler === target.entry?.scheduler ? target.entry?.depth : undefined) ?? (scheduler === 'dfs' ? 2 : 2);
  const budget = v('budget') !== undefined ? intOption('budget', v('budget')!, 1, 100_000_000) : target.entry?.budget ?? 1000;
  const timeMs = v('time') !== undefined ? parseDuration('time', v('time')!) : undefined;
  let shard = { i: 0, n: 1 };
  if (v('shard') !== undefined) {
    const m = /^([0-9]+)\/([1-9][0-9]*)$/.exec(v('shard')!.trim());
    if (!m || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard must be i/n with 0 ≤ i < n, got '${v('shard')}'`);
    shard = { i: Number(m[1]), n: Number(m[2]) };
  }
  const json = args.flags.has('json');
  const control = args.flags.has('control');
  if (control && target.entry === null) throw new UsageError('--control runs a catalogue entry without its mutation; the target is a scenario file');
  const mutate = args.multi.get('mutate') ?? [];
  const skip = args.multi.get('skip') ?? [];
  const r = explore(target, {
    scheduler, depth, budget, ...(timeMs !== undefined ? { timeMs } : {}), shard, mutate, skip, withoutEntryMutation: control, sleepSets: !args.flags.has('no-sleep-sets'),
    ...(json ? { onSchedule: (s) => io.out(`${JSON.stringify({ type: 'schedule', ...s })}\n`) } : {}),
  });
  const cover = coverageByMachine(r.coverage, r.transitions);
  if (json) {
    io.out(`${JSON.stringify({ type: 'summary', target: target.id, scheduler, depth: scheduler === 'pct' ? depth : null, shard, found: r.found, schedules: r.schedules, steps: r.steps, ms: Math.round(r.ms), pctBound: r.pctBound, k: r.k, dfs: r.dfs, token: r.token, violation: r.run?.violations[0] ?? null, coverage: cover })}\n`);
    return r.found ? 1 : 0;
  }
  const mode = scheduler === 'pct' ? `pct depth ${depth} (bound ≥ ${fmtP(PctScheduler.bound(target.scenario.vm.vcpus + 2, r.k, depth))} per schedule, k = ${r.k} steps)`
    : scheduler === 'dfs' ? `dfs, at most ${depth} preemption(s) per schedule, ${r.dfs?.sleepSets === true ? 'sleep sets' : 'no sleep sets'}` : 'random';
  io.out(`exploring ${target.id}${control ? ' without its mutation' : ''} — ${mode}, budget ${budget}${shard.n > 1 ? `, shard ${shard.i}/${shard.n}` : ''}\n`);
  io.out(`${r.schedules} schedule(s), ${r.steps.toLocaleString('en-US')} steps, ${(r.ms / 1000).toFixed(1)} s (${Math.round((r.steps * 1000) / Math.max(1, r.ms)).toLocaleString('en-US')} steps/s)\n`);
  if (r.dfs !== null) {
    const blocked = r.dfs.sleepSets ? `; ${r.dfs.blocked} of the search's ${r.dfs.runs} runs were sleep-set blocked (abandoned as equivalent to explored ones)` : '';
    io.out(`dfs: ${r.dfs.exhausted ? `the search is complete — every schedule within ${depth} preemption(s) up to the horizon, up to reordering of independent steps` : 'the search is not finished'}${blocked}\n`);
  }
  io.out(`coverage: ${Object.entries(cover).map(([m, c]) => `${m} ${c.fired}/${c.total}`).join(', ')}${args.flags.has('coverage') ? '' : ' (--coverage lists them)'}\n`);
  if (args.flags.has('coverage')) {
    for (const [m, c] of Object.entries(cover)) {
      io.out(`  ${m}: ${c.fired} of ${c.total} transitions fired\n`);
      for (const [tr, n] of Object.entries(c.transitions)) io.out(`    ${String(n).padStart(9)}  ${tr}\n`);
      for (const tr of c.never) io.out(`    ${'never'.padStart(9)}  ${tr}\n`);
    }
  }
  io.out('\n');
  if (!r.found) {
    io.out('nothing found\n');
    return 0;
  }
  const run = r.run!;
  for (const line of formatViolation(run.violations[0]!)) io.out(`${line}\n`);
  io.out(`\ntoken: ${r.token}\nreplay: faultline race replay ${r.token}\nshrink: faultline race shrink ${r.token}\n\n`);
  const traced = replay(decodeToken(r.token!), { trace: true }).run;
  explain(traced, io, v('trace-out'));
  return 1;
}

function fmtP(p: number): string {
  return p >= 0.01 ? p.toFixed(3) : p.toExponential(1);
}

/** Transitions fired by the exploration, per machine: fired of total (from the model's machine list). */
interface MachineCoverage {
  fired: number;
  total: number;
  /** Transitions the exploration fired, with how often. */
  transitions: Record<string, number>;
  /** Transitions that exist but never fired. */
  never: string[];
}

function coverageByMachine(cov: ReadonlyMap<string, number>, all: readonly string[]): Record<string, MachineCoverage> {
  const out: Record<string, MachineCoverage> = {};
  const of = (m: string): MachineCoverage => (out[m] ??= { fired: 0, total: 0, transitions: {}, never: [] });
  for (const m of COMPILED) of(m.id).total = m.transitions.length;
  for (const [key, n] of cov) {
    const c = of(key.slice(0, key.indexOf(':')));
    c.fired++;
    c.transitions[key.slice(key.indexOf(':') + 2)] = n;
  }
  for (const key of all) if (!cov.has(key)) of(key.slice(0, key.indexOf(':'))).never.push(key.slice(key.indexOf(':') + 2));
  return out;
}

/** `race replay TOKEN [--json] [--trace-out FILE]` */
export function raceReplay(argv: readonly string[], io: Io): number {
  const args = parseArgs(argv, [{ name: 'json', kind: 'flag' }, { name: 'trace-out', kind: 'value' }], 'race replay');
  if (args.positionals.length !== 1) throw new UsageError("'race replay' needs one TOKEN (printed by 'race explore')");
  let res;
  let tok;
  try {
    tok = decodeToken(args.positionals[0]!);
    res = replay(tok, { trace: true });
  } catch (e) {
    asBadInput(e);
  }
  const v = res.run.violations[0] ?? null;
  if (args.flags.has('json')) {
    io.out(`${JSON.stringify({ target: tok.target, reproduced: res.reproduced, expected: tok.violation, violation: v, steps: res.run.steps, trace: res.run.trace })}\n`);
  } else {
    io.out(`replaying ${tok.target} (${tok.segments.length} context switches, ${tok.segments.reduce((n, s) => n + s[1], 0)} steps; found by ${tok.scheduler} seed ${tok.seed}${tok.mutate.length + tok.skip.length > 0 ? `; ${[...tok.mutate, ...tok.skip].join(' ')}` : ''})\n\n`);
    explain(res.run, io, args.values.get('trace-out'));
    io.out(res.reproduced ? `\nreproduced: ${tok.violation}\n` : `\nnot reproduced: expected ${tok.violation}, got ${v?.kind ?? 'no violation'}\n`);
  }
  if (args.values.get('trace-out') !== undefined && args.flags.has('json')) writeFileSync(args.values.get('trace-out')!, JSON.stringify(toPerfetto(res.run.trace, actorsOf(res.run), v)));
  return v !== null ? 1 : 0;
}

/** `race shrink TOKEN [--json]` */
export function raceShrink(argv: readonly string[], io: Io): number {
  const args = parseArgs(argv, [{ name: 'json', kind: 'flag' }, { name: 'attempts', kind: 'value' }], 'race shrink');
  if (args.positionals.length !== 1) throw new UsageError("'race shrink' needs one TOKEN");
  const attempts = args.values.get('attempts') !== undefined ? intOption('attempts', args.values.get('attempts')!, 1, 1_000_000) : 2000;
  let s;
  let tok;
  try {
    tok = decodeToken(args.positionals[0]!);
    const check = replay(tok);
    if (!check.reproduced) throw new UsageError(`the token does not reproduce its ${tok.violation} any more: nothing to shrink`);
    s = shrink(tok, { maxAttempts: attempts });
  } catch (e) {
    asBadInput(e);
  }
  if (args.flags.has('json')) {
    io.out(`${JSON.stringify({ token: s.token, before: s.before, after: s.after, attempts: s.attempts, violation: tok.violation })}\n`);
    return 1;
  }
  io.out(`shrunk ${tok.target} keeping its ${tok.violation} (${s.attempts} replays):\n`);
  io.out(`  context switches ${s.before.segments} → ${s.after.segments}, workload ops ${s.before.ops} → ${s.after.ops}, steps ${s.before.steps} → ${s.after.steps}\n`);
  io.out(`token: ${s.token}\nreplay: faultline race replay ${s.token}\n`);
  return 1;
}
