/**
 * Race reproduction on the deterministic engine: explore a target's interleavings until a
 * violation, turn the failing run into a token, replay a token bit for bit, and shrink it
 * (fewer context switches, fewer workload ops) while the same violation still occurs.
 *
 * A target is a catalogue entry (src/workload/catalogue.ts: a scenario plus the mutation
 * that reintroduces a historical bug) or a scenario file. Schedules are drawn by the
 * portfolio (random, PCT and DFS in rotation, src/race/portfolio.ts) or by one strategy;
 * schedule i of an exploration uses seed i, so shards (`--shard i/n`) take disjoint seeds.
 */

import { readFileSync } from 'node:fs';
import { runDeterministic, type RunConfig, type RunResult } from '../engine/deterministic.js';
import { transitionNames } from '../engine/coverage.js';
import { RunSnapshot, snapshotable, type ScheduleRun } from '../engine/run-snapshot.js';
import { COMPILED } from '../protocol/machines.js';
import { buildMutations } from '../protocol/mutations.js';
import { patchNames, withPatches } from '../protocol/patches.js';
import { PctScheduler } from '../sched/pct.js';
import { Prng } from '../sched/prng.js';
import { ReplayScheduler } from '../sched/replay.js';
import { RandomScheduler, type Scheduler } from '../sched/scheduler.js';
import { kernelChangeOfCommit, type KernelRelease } from '../kvm/kernel-release.js';
import { EXPLORE_STEPS_MAX } from '../kvm/limits.js';
import { CATALOGUE, DROPPED_ENTRIES, type CatalogueEntry } from '../workload/catalogue.js';
import { parseScenario, scenarioToRunConfig, type Scenario } from '../workload/scenario.js';
import { ROTATION, buildRotation, drawFrom, strategyLabel, type DfsStrategy, type StrategySpec } from './portfolio.js';
import { TokenError, encodeToken, kernelField, scenarioHash, segmentSteps, toSegments, tokenKernel, type RaceToken, type Segment } from './token.js';

export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

/** What a race run is about: the scenario, its hash, and (for a catalogue entry) the bug. */
export interface RaceTarget {
  /** `catalogue:NAME` or `file:PATH` */
  readonly id: string;
  readonly scenario: Scenario;
  readonly hash: string;
  readonly entry: CatalogueEntry | null;
}

/** A catalogue entry by name, or a scenario file by path. */
export function resolveTarget(spec: string): RaceTarget {
  const name = spec.replace(/^catalogue:/, '');
  const entry = CATALOGUE.find((e) => e.name === name);
  if (entry !== undefined && !spec.startsWith('file:')) {
    return { id: `catalogue:${entry.name}`, scenario: parseScenario(JSON.stringify(entry.scenario), `catalogue:${entry.name}`), hash: scenarioHash(entry.scenario), entry };
  }
  const dropped = spec.startsWith('file:') ? undefined : DROPPED_ENTRIES.get(name);
  if (dropped !== undefined) throw new TargetError(`catalogue:${name}: ${dropped}`);
  const path = spec.replace(/^file:/, '');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TargetError(`'${spec}' is neither a catalogue entry (see 'faultline race list') nor a readable scenario file${code === 'ENOENT' ? '' : ` (${code})`}`);
  }
  const scenario = parseScenario(text, path);
  return { id: `file:${path}`, scenario, hash: scenarioHash(JSON.parse(text.replace(/^\uFEFF/, ''))), entry: null };
}

/** One strategy (`--scheduler`), or the portfolio that rotates them (the default). */
export type ExploreScheduler = 'random' | 'pct' | 'dfs' | 'portfolio';

export interface RaceOptions {
  /** Mutations on top of the catalogue entry's own. */
  readonly mutate?: readonly string[];
  readonly skip?: readonly string[];
  /** Candidate fixes (`--patch`, src/protocol/patches.ts). */
  readonly patch?: readonly string[];
  /** Run the entry's scenario without its mutation (the control). */
  readonly withoutEntryMutation?: boolean;
  /** Run on this kernel release, whatever the target says (`--kernel`). */
  readonly kernel?: KernelRelease;
  readonly dropOps?: readonly number[];
  readonly trace?: boolean;
}

function mutationsOf(t: RaceTarget, o: RaceOptions): { mutate: string[]; skip: string[] } {
  const own = t.entry !== null && o.withoutEntryMutation !== true ? { mutate: [...t.entry.mutate], skip: [...t.entry.skip] } : { mutate: [], skip: [] };
  return { mutate: [...own.mutate, ...(o.mutate ?? [])], skip: [...own.skip, ...(o.skip ?? [])] };
}

/**
 * The release a run of the target uses: the one asked for; else, for a catalogue entry of
 * a race fixed within the modelled releases, the release before the fix (the control: the
 * release with it); else the scenario's.
 */
export function kernelOf(t: RaceTarget, o: RaceOptions): KernelRelease {
  if (o.kernel !== undefined) return o.kernel;
  const e = t.entry;
  if (e?.kernel === undefined) return t.scenario.vm.kernel;
  return o.withoutEntryMutation === true ? fixedIn(e) : e.kernel;
}

/** The first release with an entry's fix (its commit's row; catalogue.ts checks there is one). */
function fixedIn(e: CatalogueEntry): KernelRelease {
  const row = kernelChangeOfCommit(e.commit.hash);
  if (row === undefined) throw new Error(`catalogue entry ${e.name}: its fix ${e.commit.hash} has no row in the kernel table`);
  return row.since;
}

/**
 * The scenario's ops without those in `drop`; an `after` edge points at the same op in the
 * shorter list, and one whose op was dropped is gone (that op never runs, so nothing waits).
 */
export function withoutOps(ops: Scenario['ops'], drop: ReadonlySet<number>): Scenario['ops'] {
  const newIndex: number[] = [];
  let n = 0;
  ops.forEach((_, i) => { newIndex[i] = drop.has(i) ? -1 : n++; });
  return ops.filter((_, i) => !drop.has(i)).map((o) => {
    if (o.after === undefined) return o;
    const after = newIndex[o.after]!;
    if (after >= 0) return { ...o, after };
    const { after: _gone, ...rest } = o;
    return rest;
  });
}

/** The run configuration of the target under `scheduler`, recording its choices. */
function targetConfig(t: RaceTarget, scheduler: Scheduler, seed: number, o: RaceOptions): RunConfig {
  const m = mutationsOf(t, o);
  const drop = new Set(o.dropOps ?? []);
  const scenario: Scenario = drop.size === 0 ? t.scenario : { ...t.scenario, ops: withoutOps(t.scenario.ops, drop) };
  const cfg = scenarioToRunConfig(scenario, { scheduler, seed, mutations: withPatches(buildMutations(COMPILED, m.mutate, m.skip), patchNames(o.patch)), trace: o.trace ?? false, kernel: kernelOf(t, o) });
  // A traced run also records footprints: the column trace shows the violation's causal past.
  // A schedule that never ends is a finding (EXPLORE_STEPS_MAX), not a run lost to an error.
  return { ...cfg, recordChoices: true, footprints: o.trace === true, stepsMax: EXPLORE_STEPS_MAX, stepsMaxIsLivelock: true };
}

/** One run of the target under a scheduler, recording its choices. */
export function runTarget(t: RaceTarget, scheduler: Scheduler, seed: number, o: RaceOptions = {}): RunResult {
  return runDeterministic(targetConfig(t, scheduler, seed, o));
}

/**
 * Runs of one target with the same options, as an exploration makes them: the VM is built
 * and set up once, and each run restores that snapshot and runs only the main phase
 * (engine/run-snapshot.ts: the same result as a fresh build). `fresh`: build each run
 * anew instead (for comparison). A run's result shares its VM with the next run.
 */
export class TargetRuns {
  private base: RunConfig | null = null;
  private snap: RunSnapshot | null = null;

  constructor(readonly t: RaceTarget, readonly o: RaceOptions, readonly fresh = false) {}

  run(scheduler: Scheduler, seed: number): RunResult {
    return this.schedule(scheduler, seed).result();
  }

  /** One run as an exploration reads it: the full result is built only when asked for. */
  schedule(scheduler: Scheduler, seed: number): ScheduleRun {
    this.base ??= targetConfig(this.t, scheduler, seed, this.o);
    const cfg: RunConfig = { ...this.base, scheduler, seed };
    if (this.fresh || !snapshotable(cfg)) return asScheduleRun(runDeterministic(cfg));
    this.snap ??= new RunSnapshot(cfg);
    return this.snap.schedule(scheduler);
  }
}

/** A fresh build's result as an exploration reads it. */
function asScheduleRun(r: RunResult): ScheduleRun {
  return { steps: r.steps, violations: r.violations, choices: r.choices, coverage: [r.coverage.map((c) => c.count)], result: () => r };
}

export interface ExploreOptions extends RaceOptions {
  /** Default `portfolio`: random, PCT (depths 1–3) and DFS in rotation (src/race/portfolio.ts). */
  readonly scheduler?: ExploreScheduler;
  /** PCT depth (default 2); for DFS, the preemption bound (default 2). Not for the portfolio. */
  readonly depth?: number;
  /** Schedules to try (per shard). */
  readonly budget: number;
  /** Stop after this long (ms), whatever the budget. */
  readonly timeMs?: number;
  /** Shard i of n: schedules i, i + n, i + 2n, … */
  readonly shard?: { readonly i: number; readonly n: number };
  /** DFS: prune with sleep sets (default true). */
  readonly sleepSets?: boolean;
  /** Called after every schedule (progress, JSON lines). */
  readonly onSchedule?: (s: ScheduleOutcome) => void;
  /** Build every schedule's VM anew instead of restoring the snapshot taken after setup (for comparison; same results). */
  readonly fresh?: boolean;
}

export interface ScheduleOutcome {
  readonly schedule: number;
  readonly seed: number;
  /** The strategy that drew it: `random`, `pct depth 2`, `dfs (2 preemptions)`. */
  readonly strategy: string;
  readonly steps: number;
  readonly violation: string | null;
  readonly token: string | null;
}

export interface ExploreResult {
  readonly found: boolean;
  readonly schedules: number;
  readonly steps: number;
  readonly ms: number;
  readonly token: string | null;
  readonly run: RunResult | null;
  /** The strategy whose schedule found the violation (null when nothing was found). */
  readonly foundBy: (StrategySpec & { readonly label: string }) | null;
  /** Schedules run per strategy label. */
  readonly byStrategy: Readonly<Record<string, number>>;
  /** Expected run length used for PCT (steps of the sequential run). */
  readonly k: number;
  /** PCT's lower bound of finding a depth-d bug in one schedule (a single PCT strategy only). */
  readonly pctBound: number | null;
  /** Transition counts summed over every schedule run (`machine: transition` → count; fired ones only). */
  readonly coverage: Map<string, number>;
  /** Every transition of every machine, `machine: transition`, fired or not. */
  readonly transitions: readonly string[];
  /** DFS: runs abandoned because every runnable actor slept (sleep-set blocked), of all the search made (a shard: of the runs in its own subtrees). */
  readonly dfs: { readonly runs: number; readonly blocked: number; readonly sleepSets: boolean; readonly exhausted: boolean;
    /** Sharded: schedules run only to learn the path into another shard's subtree (to the split depth). */
    readonly learned: number;
    /** The last schedule's place in the search order (its subtree, its run in it): the key merge orders DFS violations by. */
    readonly at: { readonly subtree: number; readonly run: number } | null } | null;
}

/** The number of steps a sequential run of the target takes: PCT's k. */
function expectedSteps(runs: TargetRuns): number {
  const r = runs.run(new RandomScheduler(new Prng(0)), 0);
  return Math.max(2, r.steps);
}

/** The rotation of an exploration: the portfolio's, or one strategy's. */
function rotationOf(o: ExploreOptions): readonly StrategySpec[] {
  const s = o.scheduler ?? 'portfolio';
  return s === 'portfolio' ? ROTATION : [{ name: s, depth: o.depth ?? 2 }];
}

/** Coverage and step totals of an exploration, summed as schedules run. */
class Tally {
  readonly transitions: string[] = [];
  readonly byStrategy: Record<string, number> = {};
  steps = 0;
  schedules = 0;
  /** Transition counts by position in a run's coverage list (every run lists the same transitions in the same order). */
  private readonly counts: number[] = [];
  /** Positions in the order they first fired. */
  private readonly order: number[] = [];

  add(r: ScheduleRun, label: string): void {
    this.steps += r.steps;
    this.schedules++;
    this.byStrategy[label] = (this.byStrategy[label] ?? 0) + 1;
    if (this.transitions.length === 0) this.transitions.push(...transitionNames());
    const counts = this.counts;
    let i = 0;
    for (const arr of r.coverage) {
      for (let j = 0; j < arr.length; j++, i++) {
        const n = arr[j]!;
        if (n === 0) continue;
        if (!(counts[i]! > 0)) { counts[i] = 0; this.order.push(i); }
        counts[i]! += n;
      }
    }
  }

  /** `machine: transition` → count, for the fired ones, in the order they first fired. */
  get coverage(): Map<string, number> {
    return new Map(this.order.map((i) => [this.transitions[i]!, this.counts[i]!]));
  }
}

export function explore(t: RaceTarget, o: ExploreOptions): ExploreResult {
  const t0 = performance.now();
  const runs = new TargetRuns(t, o, o.fresh === true);
  const k = expectedSteps(runs);
  const actors = t.scenario.vm.vcpus + 2;
  const shard = o.shard ?? { i: 0, n: 1 };
  const specs = rotationOf(o);
  const rotation = buildRotation(specs, { actors, k, sleepSets: o.sleepSets ?? true, shard, learn: (s) => { runs.schedule(s, 0); } });
  const dfs = rotation.find((s) => s.spec.name === 'dfs') as DfsStrategy | undefined;
  const single = specs.length === 1 ? specs[0]! : null;
  const tally = new Tally();
  const result = (run: RunResult | null, token: string | null, by: StrategySpec | null): ExploreResult => ({
    found: run !== null, schedules: tally.schedules, steps: tally.steps, ms: performance.now() - t0, token, run,
    foundBy: by === null ? null : { ...by, label: strategyLabel(by) }, byStrategy: tally.byStrategy, k,
    pctBound: single?.name === 'pct' ? PctScheduler.bound(actors, k, single.depth ?? 2) : null, coverage: tally.coverage, transitions: tally.transitions,
    dfs: dfs === undefined ? null : { runs: dfs.search.runs, blocked: dfs.search.blocked, sleepSets: dfs.search.sleepSets, exhausted: dfs.exhausted, learned: dfs.learned, at: dfs.at },
  });
  for (let n = 0; n < o.budget; n++) {
    if (o.timeMs !== undefined && performance.now() - t0 > o.timeMs) break;
    const seed = shard.i + n * shard.n;
    const drawn = drawFrom(rotation, n, seed);
    if (drawn === null) break;
    const r = runs.schedule(drawn.scheduler, seed);
    drawn.strategy.done(drawn.scheduler);
    const spec = drawn.strategy.spec;
    tally.add(r, strategyLabel(spec));
    const v = r.violations[0];
    const token = v !== undefined ? tokenOf(t, o, spec.name, seed, spec.name === 'pct' ? spec.depth : undefined, v.kind, r.choices) : null;
    o.onSchedule?.({ schedule: n, seed, strategy: strategyLabel(spec), steps: r.steps, violation: v?.kind ?? null, token });
    if (v !== undefined) return result(r.result(), token, spec);
  }
  return result(null, null, null);
}

function tokenOf(t: RaceTarget, o: RaceOptions, scheduler: string, seed: number, depth: number | undefined, violation: string, choices: readonly string[]): string {
  // The effective mutation set (the entry's own included): a token says everything the run had.
  const m = mutationsOf(t, o);
  const tok: RaceToken = {
    v: 1, target: t.id, hash: t.hash, mutate: m.mutate, skip: m.skip, ...patchField(o.patch), dropOps: [...(o.dropOps ?? [])].sort((a, b) => a - b), scheduler, seed,
    ...(depth !== undefined ? { depth } : {}), ...kernelField(kernelOf(t, o)), violation, segments: toSegments(choices),
  };
  return encodeToken(tok);
}

/** A token's `patch` field: left out when the run had none (so tokens without patches stay what they were). */
export function patchField(patch: readonly string[] | undefined): { patch?: string[] } {
  const names = patchNames(patch);
  return names.length === 0 ? {} : { patch: names };
}

export interface ReplayResult {
  readonly run: RunResult;
  /** The violation the token promised occurred (its kind is the first violation's). */
  readonly reproduced: boolean;
}

/** The target a token names, checked against its hash. */
export function targetOfToken(tok: RaceToken): RaceTarget {
  const t = resolveTarget(tok.target);
  if (t.hash !== tok.hash) {
    throw new TokenError(`${tok.target} has changed since this token was made (scenario hash ${t.hash}, the token's ${tok.hash}): it cannot be replayed against it`);
  }
  return t;
}

/**
 * Replays a token bit for bit (strict: a step the model no longer offers is a
 * ReplayMismatch). `lenient`: where the schedule no longer fits (a patch the token did not
 * have changes the steps), the previous actor runs on, as when shrinking.
 */
export function replay(tok: RaceToken, o: { trace?: boolean; lenient?: boolean } = {}): ReplayResult {
  const t = targetOfToken(tok);
  const run = runTarget(t, new ReplayScheduler(tok.segments, o.lenient !== true), tok.seed, { mutate: tok.mutate, skip: tok.skip, patch: tok.patch ?? [], dropOps: tok.dropOps, trace: o.trace ?? false, withoutEntryMutation: true, kernel: tokenKernel(tok) });
  return { run, reproduced: run.violations[0]?.kind === tok.violation };
}

export interface ShrinkResult {
  readonly token: string;
  readonly before: { readonly segments: number; readonly ops: number; readonly steps: number };
  readonly after: { readonly segments: number; readonly ops: number; readonly steps: number };
  readonly attempts: number;
}

/**
 * Shrinks a token: drops workload ops and context switches while the same violation kind
 * still occurs (each candidate replayed leniently: where the shorter schedule no longer
 * fits, the previous actor carries on). Never returns a bigger token.
 */
export function shrink(tok: RaceToken, o: { maxAttempts?: number } = {}): ShrinkResult {
  const t = targetOfToken(tok);
  const maxAttempts = o.maxAttempts ?? 2000;
  let segs: Segment[] = tok.segments.map((s) => [s[0], s[1]] as const);
  let drop = [...tok.dropOps];
  let attempts = 0;
  const size = (s: readonly Segment[], d: readonly number[]): [number, number] => [s.length, t.scenario.ops.length - d.length];
  const before = { segments: segs.length, ops: t.scenario.ops.length - drop.length, steps: segmentSteps(segs) };
  const tryRun = (s: readonly Segment[], d: readonly number[]): Segment[] | null => {
    attempts++;
    const r = runTarget(t, new ReplayScheduler(s, false), tok.seed, { mutate: tok.mutate, skip: tok.skip, patch: tok.patch ?? [], dropOps: d, withoutEntryMutation: true, kernel: tokenKernel(tok) });
    if (r.violations[0]?.kind !== tok.violation) return null;
    // Keep only the schedule up to the violation, as it actually ran.
    return toSegments(r.choices).map((x) => [x[0], x[1]] as const);
  };
  const better = (a: [number, number], b: [number, number]): boolean => a[0] <= b[0] && a[1] <= b[1] && (a[0] < b[0] || a[1] < b[1]);
  let progress = true;
  while (progress && attempts < maxAttempts) {
    progress = false;
    // 1. Workload ops, last first.
    for (let i = t.scenario.ops.length - 1; i >= 0 && attempts < maxAttempts; i--) {
      if (drop.includes(i)) continue;
      const d = [...drop, i];
      const s = tryRun(segs, d);
      if (s !== null && better(size(s, d), size(segs, drop))) { segs = s; drop = d; progress = true; }
      else if (s !== null && size(s, d)[0] <= segs.length) { segs = s; drop = d; progress = true; }
    }
    // 2. Context switches: remove one segment at a time (its steps fall to whoever runs on).
    for (let i = segs.length - 1; i >= 0 && attempts < maxAttempts; i--) {
      if (i >= segs.length) continue;
      const cand = [...segs.slice(0, i), ...segs.slice(i + 1)];
      const s = tryRun(cand, drop);
      if (s !== null && better(size(s, drop), size(segs, drop))) { segs = s; progress = true; }
    }
  }
  const after = { segments: segs.length, ops: t.scenario.ops.length - drop.length, steps: segmentSteps(segs) };
  const out: RaceToken = { ...tok, scheduler: tok.scheduler, dropOps: [...drop].sort((a, b) => a - b), segments: segs };
  return { token: encodeToken(out), before, after, attempts };
}
