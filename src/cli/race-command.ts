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
import { explore, kernelOf, patchField, replay, resolveTarget, shrink, TargetError, type ExploreResult, type ExploreScheduler, type RaceTarget as Target } from '../race/race.js';
import { PORTFOLIO_SUMMARY } from '../race/portfolio.js';
import { decodeToken, kernelField, TokenError, type RaceToken } from '../race/token.js';
import { KERNEL_DEFAULT, type KernelRelease } from '../kvm/kernel-release.js';
import { formatColumnTrace, toPerfetto } from '../report/race.js';
import { formatViolation } from '../report/text.js';
import { CATALOGUE } from '../workload/catalogue.js';
import { COMPILED } from '../protocol/machines.js';
import { EXPLORE_BUDGET_DEFAULT, EXPLORE_BUDGET_MAX, EXPLORE_DEPTH_MAX, SHRINK_ATTEMPTS_MAX } from '../kvm/limits.js';
import { UsageError, parseDuration, parseIntIn, parseShard } from './args.js';
import type { Io } from './io.js';
import type { ExploreFlags, ReplayFlags, ShrinkFlags } from './race-cli.js';

function asBadInput(e: unknown): never {
  if (e instanceof TokenError || e instanceof TargetError || e instanceof ReplayMismatch) throw new UsageError(e.message);
  throw e;
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
export function raceList(flags: { readonly json?: boolean }, io: Io): number {
  if (flags.json === true) {
    io.out(`${JSON.stringify(CATALOGUE.map((e) => ({ name: e.name, ref: e.ref, commit: e.commit, violation: e.violation, mutate: e.mutate, skip: e.skip, kernel: e.kernel ?? null, scheduler: e.scheduler, depth: e.depth ?? null, budget: e.budget, summary: e.summary })))}\n`);
    return 0;
  }
  io.out(`the race catalogue: ${CATALOGUE.length} entries; explore one with 'faultline race explore NAME'\n\n`);
  for (const e of CATALOGUE) {
    io.out(`${e.name}  (${e.ref})\n`);
    io.out(`  fix      ${e.commit.title} — ${e.commit.hash}\n`);
    io.out(`  bug      ${e.summary}\n`);
    io.out(`  put back ${[...(e.kernel !== undefined ? [`--kernel ${e.kernel} (the release before the fix; the control runs on ${kernelOf(resolveTarget(e.name), { withoutEntryMutation: true })})`] : []), ...e.mutate.map((m) => `--mutate ${m}`), ...e.skip.map((s) => `--skip ${s}`)].join(' ')}\n`);
    io.out(`  finds    ${e.violation}, within ${e.budget} ${e.scheduler}${e.depth !== undefined ? ` (depth ${e.depth})` : ''} schedules\n\n`);
  }
  return 0;
}

interface ExploreSettings {
  readonly scheduler: ExploreScheduler;
  readonly depth: number;
  readonly budget: number;
  readonly timeMs: number | undefined;
  readonly shard: { i: number; n: number };
  readonly kernel: KernelRelease;
}

/** The options of `race explore` checked, with the catalogue entry's scheduler, depth and budget where none is given. */
function exploreSettings(target: Target, f: ExploreFlags): ExploreSettings {
  const scheduler = (f.scheduler ?? 'portfolio') as ExploreScheduler;
  if (f.depth !== undefined && scheduler === 'portfolio') throw new UsageError('--depth is for --scheduler pct or dfs (the default portfolio runs PCT at depths 1 to 3 and DFS within 2 preemptions)');
  const depth = f.depth !== undefined ? parseIntIn('depth', f.depth, scheduler === 'dfs' ? 0 : 1, EXPLORE_DEPTH_MAX) : (scheduler === target.entry?.scheduler ? target.entry?.depth : undefined) ?? 2;
  const budget = f.budget !== undefined ? parseIntIn('budget', f.budget, 1, EXPLORE_BUDGET_MAX) : target.entry?.budget ?? EXPLORE_BUDGET_DEFAULT;
  const timeMs = f.time !== undefined ? parseDuration('time', f.time) : undefined;
  const shard = f.shard !== undefined ? parseShard(f.shard) : { i: 0, n: 1 };
  if (f.control === true && target.entry === null) throw new UsageError('--control runs a catalogue entry without its mutation; the target is a scenario file');
  // commander checked --kernel against the releases.
  const kernel = kernelOf(target, { withoutEntryMutation: f.control === true, ...(f.kernel !== undefined ? { kernel: f.kernel as KernelRelease } : {}) });
  return { scheduler, depth, budget, timeMs, shard, kernel };
}

/** The human summary of an exploration: what was explored, how fast, how far dfs got, and the coverage. */
function printExploration(target: Target, x: ExploreSettings, r: ExploreResult, cover: Record<string, MachineCoverage>, f: ExploreFlags, io: Io): void {
  const { scheduler, depth, shard } = x;
  const mode = scheduler === 'pct' ? `pct depth ${depth} (bound ≥ ${fmtP(PctScheduler.bound(target.scenario.vm.vcpus + 2, r.k, depth))} per schedule, k = ${r.k} steps)`
    : scheduler === 'dfs' ? `dfs, at most ${depth} preemption(s) per schedule, ${r.dfs?.sleepSets === true ? 'sleep sets' : 'no sleep sets'}`
    : scheduler === 'portfolio' ? `portfolio (${PORTFOLIO_SUMMARY}${r.dfs?.sleepSets === false ? ', no sleep sets' : ''})` : 'random';
  io.out(`exploring ${target.id}${x.kernel === KERNEL_DEFAULT ? '' : ` on ${x.kernel}`}${f.control !== true ? '' : target.entry?.kernel !== undefined ? ', the release with the fix' : ' without its mutation'}${(f.patch ?? []).length > 0 ? ` with --patch ${[...new Set(f.patch)].join(' --patch ')}` : ''} — ${mode}, budget ${x.budget}${shard.n > 1 ? `, shard ${shard.i}/${shard.n}` : ''}\n`);
  io.out(`${r.schedules} schedule(s), ${r.steps.toLocaleString('en-US')} steps, ${(r.ms / 1000).toFixed(1)} s (${Math.round((r.steps * 1000) / Math.max(1, r.ms)).toLocaleString('en-US')} steps/s)\n`);
  if (scheduler === 'portfolio') io.out(`schedules by strategy: ${Object.entries(r.byStrategy).map(([k, n]) => `${k} ${n}`).join(', ')}${r.foundBy !== null ? `; found by ${r.foundBy.label}` : ''}\n`);
  if (r.dfs !== null) {
    const blocked = r.dfs.sleepSets ? `; ${r.dfs.blocked} of the search's ${r.dfs.runs} runs were sleep-set blocked (abandoned as equivalent to explored ones)` : '';
    io.out(`dfs: ${r.dfs.exhausted ? `the search is complete — every schedule within ${depth} preemption(s) up to the horizon, up to reordering of independent steps` : 'the search is not finished'}${blocked}\n`);
  }
  io.out(`coverage: ${Object.entries(cover).map(([m, c]) => `${m} ${c.fired}/${c.total}`).join(', ')}${f.coverage === true ? '' : ' (--coverage lists them)'}\n`);
  if (f.coverage === true) {
    for (const [m, c] of Object.entries(cover)) {
      io.out(`  ${m}: ${c.fired} of ${c.total} transitions fired\n`);
      for (const [tr, n] of Object.entries(c.transitions)) io.out(`    ${String(n).padStart(9)}  ${tr}\n`);
      for (const tr of c.never) io.out(`    ${'never'.padStart(9)}  ${tr}\n`);
    }
  }
  io.out('\n');
}

/** `race explore TARGET [options]` */
export function raceExplore(targetName: string, f: ExploreFlags, io: Io): number {
  let target;
  try {
    target = resolveTarget(targetName);
  } catch (e) {
    asBadInput(e);
  }
  const x = exploreSettings(target, f);
  const json = f.json === true;
  const r = explore(target, {
    scheduler: x.scheduler, depth: x.depth, budget: x.budget, ...(x.timeMs !== undefined ? { timeMs: x.timeMs } : {}), shard: x.shard,
    mutate: f.mutate ?? [], skip: f.skip ?? [], patch: f.patch ?? [], withoutEntryMutation: f.control === true, sleepSets: f.sleepSets, kernel: x.kernel,
    ...(json ? { onSchedule: (s) => io.out(`${JSON.stringify({ type: 'schedule', ...s })}\n`) } : {}),
  });
  const cover = coverageByMachine(r.coverage, r.transitions);
  if (json) {
    io.out(`${JSON.stringify({ type: 'summary', target: target.id, kernel: x.kernel, scheduler: x.scheduler, depth: x.scheduler === 'random' || x.scheduler === 'portfolio' ? null : x.depth, shard: x.shard, mutate: f.mutate ?? [], skip: f.skip ?? [], patch: [...new Set(f.patch ?? [])], control: f.control === true, budget: x.budget, sleepSets: f.sleepSets, found: r.found, foundBy: r.foundBy?.label ?? null, byStrategy: r.byStrategy, schedules: r.schedules, steps: r.steps, ms: Math.round(r.ms), pctBound: r.pctBound, k: r.k, dfs: r.dfs, token: r.token, violation: r.run?.violations[0] ?? null, coverage: cover })}\n`);
    return r.found ? 1 : 0;
  }
  printExploration(target, x, r, cover, f, io);
  if (!r.found) {
    io.out('nothing found\n');
    return 0;
  }
  for (const line of formatViolation(r.run!.violations[0]!)) io.out(`${line}\n`);
  io.out(`\ntoken: ${r.token}\nreplay: faultline race replay ${r.token}\nshrink: faultline race shrink ${r.token}\n\n`);
  const traced = replay(decodeToken(r.token!), { trace: true }).run;
  explain(traced, io, f.traceOut);
  return 1;
}

function fmtP(p: number): string {
  return p >= 0.01 ? p.toFixed(3) : p.toExponential(1);
}

/** Transitions fired by the exploration, per machine: fired of total (from the model's machine list). */
export interface MachineCoverage {
  fired: number;
  total: number;
  /** Transitions the exploration fired, with how often. */
  transitions: Record<string, number>;
  /** Transitions that exist but never fired. */
  never: string[];
}

export function coverageByMachine(cov: ReadonlyMap<string, number>, all: readonly string[]): Record<string, MachineCoverage> {
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

/** A token run on another release (`--kernel`, checked by commander): the same schedule, asked of that release's model. */
function onKernel(tok: RaceToken, kernel: string | undefined): RaceToken {
  if (kernel === undefined) return tok;
  const { kernel: _old, ...rest } = tok;
  return { ...rest, ...kernelField(kernel as KernelRelease) };
}

/** A token with more patches (`--patch`): the same schedule, asked of the patched model. */
function withPatch(tok: RaceToken, patch: readonly string[] | undefined): RaceToken {
  const { patch: _old, ...rest } = tok;
  return { ...rest, ...patchField([...(tok.patch ?? []), ...(patch ?? [])]) };
}

/** Whether `--patch` adds a patch the token did not have. */
function addsPatch(tok: RaceToken, patch: readonly string[] | undefined): boolean {
  return (patch ?? []).some((p) => !(tok.patch ?? []).includes(p));
}

/** `race replay TOKEN [--json] [--trace-out FILE]` */
export function raceReplay(token: string, flags: ReplayFlags, io: Io): number {
  let res;
  let tok;
  let lenient = false;
  try {
    const decoded = decodeToken(token);
    lenient = addsPatch(decoded, flags.patch);
    tok = withPatch(onKernel(decoded, flags.kernel), flags.patch);
    res = replay(tok, { trace: true, lenient });
  } catch (e) {
    asBadInput(e);
  }
  const v = res.run.violations[0] ?? null;
  if (flags.json === true) {
    io.out(`${JSON.stringify({ target: tok.target, reproduced: res.reproduced, expected: tok.violation, violation: v, steps: res.run.steps, trace: res.run.trace })}\n`);
  } else {
    io.out(`replaying ${tok.target}${tok.kernel !== undefined ? ` on ${tok.kernel}` : ''} (${tok.segments.length} context switches, ${tok.segments.reduce((n, s) => n + s[1], 0)} steps; found by ${tok.scheduler} seed ${tok.seed}${tok.mutate.length + tok.skip.length > 0 ? `; ${[...tok.mutate, ...tok.skip].join(' ')}` : ''}${(tok.patch ?? []).length > 0 ? `; --patch ${tok.patch!.join(' --patch ')}` : ''})\n`);
    if (lenient) io.out('the patch changes the steps the token recorded: its schedule is followed as far as it still applies, then each actor runs on\n');
    io.out('\n');
    explain(res.run, io, flags.traceOut);
    io.out(res.reproduced ? `\nreproduced: ${tok.violation}\n` : `\nnot reproduced: expected ${tok.violation}, got ${v?.kind ?? 'no violation'}\n`);
  }
  if (flags.traceOut !== undefined && flags.json === true) writeFileSync(flags.traceOut, JSON.stringify(toPerfetto(res.run.trace, actorsOf(res.run), v)));
  return v !== null ? 1 : 0;
}

/** `race shrink TOKEN [--json]` */
export function raceShrink(token: string, flags: ShrinkFlags, io: Io): number {
  const attempts = parseIntIn('attempts', flags.attempts, 1, SHRINK_ATTEMPTS_MAX);
  let s;
  let tok;
  try {
    tok = withPatch(onKernel(decodeToken(token), flags.kernel), flags.patch);
    const check = replay(tok);
    if (!check.reproduced) throw new UsageError(`the token does not reproduce its ${tok.violation} any more: nothing to shrink`);
    s = shrink(tok, { maxAttempts: attempts });
  } catch (e) {
    asBadInput(e);
  }
  if (flags.json === true) {
    io.out(`${JSON.stringify({ token: s.token, before: s.before, after: s.after, attempts: s.attempts, violation: tok.violation })}\n`);
    return 1;
  }
  io.out(`shrunk ${tok.target}${tok.kernel !== undefined ? ` on ${tok.kernel}` : ''} keeping its ${tok.violation} (${s.attempts} replays):\n`);
  io.out(`  context switches ${s.before.segments} → ${s.after.segments}, workload ops ${s.before.ops} → ${s.after.ops}, steps ${s.before.steps} → ${s.after.steps}\n`);
  io.out(`token: ${s.token}\nreplay: faultline race replay ${s.token}\n`);
  return 1;
}
