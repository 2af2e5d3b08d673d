/**
 * Exploration figures (a benchmark, not a test: it asserts nothing, it prints), in one run:
 *
 *  1. throughput — first what a schedule costs beyond its steps: schedules/s of `race
 *     explore` on the catalogue's seq-check scenario (clean, random), each schedule
 *     restoring the snapshot taken after setup, beside the same with a fresh build per
 *     schedule; and its steps/s side by side with one long run of the same scenario (its
 *     ops repeated, the same scheduler, per-step checks and choice recording), with the
 *     ratio. Then steps/s and schedules/s per scheduler (random, PCT, DFS) on a clean
 *     target (a catalogue scenario without its mutation, so every schedule runs to the
 *     end), beside the same scenario run by the engine without exploration (one
 *     sequential schedule, no choice recording, invariants only at the end): what
 *     scheduling, recording and the per-step checks cost;
 *  2. time to find — for every catalogue entry and scheduler (random, PCT, DFS with two
 *     preemptions and sleep sets, and the default portfolio that rotates them), the schedules and milliseconds until the first
 *     violation, median (and max) over five disjoint seed ranges (shards 0/5 … 4/5); DFS is
 *     one deterministic search, so it runs once, unsharded (its shards split the search
 *     into subtrees, and the first violation lies in one of them).
 *  3. partial-order reduction — for every catalogue entry without its mutation (clean), the
 *     DFS within one preemption with sleep sets and without: schedules until the search
 *     ends (or the cap), runs abandoned as sleep-set blocked, milliseconds.
 *
 * Usage: node build/bench/explore.js [--quick] [--seq-check]
 * (`--seq-check`: only section 1's seq-check figures — schedules/s and the ratio to the long run.)
 */

import { runDeterministic } from '../src/engine/deterministic.js';
import { COMPILED } from '../src/protocol/machines.js';
import { buildMutations } from '../src/protocol/mutations.js';
import { explore, kernelOf, resolveTarget, type ExploreScheduler, type RaceTarget } from '../src/race/race.js';
import { Prng } from '../src/sched/prng.js';
import { RandomScheduler } from '../src/sched/scheduler.js';
import { CATALOGUE } from '../src/workload/catalogue.js';
import { scenarioToRunConfig } from '../src/workload/scenario.js';
import { addRow, printTable, stats } from './common.js';

/** Schedules per scheduler in the throughput section (1), quick and full. */
const THROUGHPUT_BUDGET_QUICK = 200;
const THROUGHPUT_BUDGET_FULL = 1000;
/** Disjoint seed ranges (or DFS slices) each catalogue entry is searched in (section 2). */
const FIND_SHARDS = 5;
/**
 * Goal of section 2: each catalogue entry is found within its catalogue budget (the one
 * its test in test/races/ holds it to); a full run gives it this many times that budget,
 * so a miss there means the entry has grown harder to find, not an unlucky seed range.
 */
const FULL_BUDGET_FACTOR = 4;
/** Schedules at which the clean one-preemption DFS of section 3 stops, quick and full. */
const POR_CAP_QUICK = 2000;
const POR_CAP_FULL = 10_000;

const quick = process.argv.includes('--quick');
const t0 = performance.now();
console.log(`faultline explore bench — ${quick ? 'quick' : 'full'}, node ${process.version}`);

/** Schedules of the seq-check figures (section 1), quick and full; the fresh-build comparison runs a tenth. */
const SEQ_CHECK_BUDGET_QUICK = 2000;
const SEQ_CHECK_BUDGET_FULL = 20_000;
/** How often the long run repeats the scenario's ops (section 1). */
const LONG_RUN_REPEATS_QUICK = 1000;
const LONG_RUN_REPEATS_FULL = 4000;
/** Alternating rounds (an exploration, then the long run) of the seq-check figures. */
const SEQ_CHECK_ROUNDS = 5;

/** `f`'s result, and the milliseconds of wall-clock and of this process's CPU time it took (on a loaded machine the two part). */
function timed<T>(f: () => T): { r: T; ms: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = f();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { r, ms, cpuMs: (c.user + c.system) / 1000 };
}

/** A run of `t`'s scenario (clean) with its ops repeated `times` over, under the random scheduler with the exploration's checks and recording: timed by `run()`. */
function longRun(t: RaceTarget, times: number): () => { steps: number; ms: number; cpuMs: number } {
  const ops = t.scenario.ops;
  const long = Array.from({ length: times }, (_, k) => ops.map((o) => (o.after === undefined ? o : { ...o, after: o.after + k * ops.length }))).flat();
  const kernel = kernelOf(t, { withoutEntryMutation: true });
  const cfg = scenarioToRunConfig({ ...t.scenario, ops: long }, { scheduler: new RandomScheduler(new Prng(1)), seed: 1, mutations: buildMutations(COMPILED, [], []), kernel });
  runDeterministic({ ...cfg, scheduler: new RandomScheduler(new Prng(0)), recordChoices: true });
  return () => {
    const { r, ms, cpuMs } = timed(() => runDeterministic({ ...cfg, scheduler: new RandomScheduler(new Prng(1)), recordChoices: true }));
    return { steps: r.steps, ms, cpuMs };
  };
}

/**
 * Section 1a: schedules/s on seq-check from the snapshot and fresh, and exploration steps/s
 * against one long run's — in SEQ_CHECK_ROUNDS alternating rounds (an exploration, then the
 * long run), medians over the rounds and the median of the rounds' ratios, so a burst of
 * load from elsewhere falls on both sides of one round rather than on one figure (wall
 * clock; CPU time in the notes).
 */
function seqCheckFigures(): void {
  const t = resolveTarget('seq-check');
  const budget = quick ? SEQ_CHECK_BUDGET_QUICK : SEQ_CHECK_BUDGET_FULL;
  const times = quick ? LONG_RUN_REPEATS_QUICK : LONG_RUN_REPEATS_FULL;
  const ex = (fresh: boolean, n: number) => timed(() => explore(t, { scheduler: 'random', budget: n, withoutEntryMutation: true, fresh }));
  // Warmed up first: a process's first thousand or so schedules run mostly before the JIT
  // has optimized the model (a few hundred schedules/s).
  ex(false, budget);
  const long = longRun(t, times);
  const per = (n: number, ms: number): number => (n * 1000) / ms;
  const rounds: { sched: number; schedCpu: number; steps: number; stepsCpu: number; long: number; longCpu: number; longSteps: number }[] = [];
  for (let i = 0; i < SEQ_CHECK_ROUNDS; i++) {
    const e = ex(false, budget);
    const l = long();
    rounds.push({ sched: per(e.r.schedules, e.ms), schedCpu: per(e.r.schedules, e.cpuMs), steps: per(e.r.steps, e.ms), stepsCpu: per(e.r.steps, e.cpuMs), long: per(l.steps, l.ms), longCpu: per(l.steps, l.cpuMs), longSteps: l.steps });
  }
  ex(true, Math.ceil(budget / 10));
  const fresh = ex(true, Math.ceil(budget / 10));
  const med = (f: (r: (typeof rounds)[number]) => number): number => stats(rounds.map(f)).median;
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const stepsPerSchedule = 140;
  addRow('1 throughput', 'seq-check: schedules/s', med((r) => r.sched), stats(rounds.map((r) => r.sched)), `${SEQ_CHECK_ROUNDS} rounds of ${budget} schedules of ~${stepsPerSchedule} steps, each restoring the snapshot taken after setup, after as many to warm up (${n(med((r) => r.schedCpu))}/s by CPU time); goal ≥ 20,000`);
  addRow('1 throughput', 'seq-check: schedules/s, fresh build', per(fresh.r.schedules, fresh.ms), null, `${fresh.r.schedules} schedules, a new VM and setup each (${n(per(fresh.r.schedules, fresh.cpuMs))}/s by CPU time)`);
  const ratio = stats(rounds.map((r) => (100 * r.steps) / r.long));
  const ratioCpu = stats(rounds.map((r) => (100 * r.stepsCpu) / r.longCpu));
  addRow('1 throughput', 'seq-check: exploration steps/s | long run steps/s | ratio', `${n(med((r) => r.steps))} | ${n(med((r) => r.long))} | ${ratio.median.toFixed(0)}%`, null,
    `medians of ${SEQ_CHECK_ROUNDS} alternating rounds, ratio per round ${ratio.min.toFixed(0)}–${ratio.max.toFixed(0)}%; by CPU time ${n(med((r) => r.stepsCpu))} | ${n(med((r) => r.longCpu))} | ${ratioCpu.median.toFixed(0)}%; the long run: one run of ${n(rounds[0]!.longSteps)} steps (the scenario's ops ${times}× over), random scheduler, the same checks and recording; goal ≥ 50%`);
}

// 1. throughput: seq-check, then every scheduler on a clean target
seqCheckFigures();
if (process.argv.includes('--seq-check')) {
  console.log('');
  printTable();
  process.exit(0);
}
const target = resolveTarget('zap-without-flush');
const budget = quick ? THROUGHPUT_BUDGET_QUICK : THROUGHPUT_BUDGET_FULL;
// The baseline runs as many sequential schedules as each scheduler explores.
const rawRuns = budget;
{
  const cfg = scenarioToRunConfig(target.scenario, { scheduler: 'sequential', seed: 1, mutations: buildMutations(COMPILED, [], []), check: 'end' });
  runDeterministic(cfg);
  const t = performance.now();
  let steps = 0;
  for (let i = 0; i < rawRuns; i++) steps += runDeterministic(cfg).steps;
  const ms = performance.now() - t;
  addRow('1 throughput', 'engine, no exploration: steps/s', (steps * 1000) / ms, null, `${rawRuns} sequential runs of ${target.id}, check at the end only`);
  addRow('1 throughput', 'engine, no exploration: runs/s', (rawRuns * 1000) / ms);
  const rawRate = (steps * 1000) / ms;
  for (const [scheduler, sleepSets] of [['random', false], ['pct', false], ['dfs', true], ['dfs', false]] as [ExploreScheduler, boolean][]) {
    const r = explore(target, { scheduler, depth: scheduler === 'dfs' ? 1 : 2, budget, withoutEntryMutation: true, sleepSets });
    const rate = (r.steps * 1000) / r.ms;
    const name = scheduler === 'dfs' ? `dfs ${sleepSets ? 'with' : 'without'} sleep sets` : scheduler;
    addRow('1 throughput', `${name}: steps/s`, rate, null, `${r.schedules} schedules, ${r.found ? 'FOUND (unexpected)' : 'all clean'}; per-step checks and choice recording on${sleepSets ? ', footprints recorded' : ''}`);
    addRow('1 throughput', `${name}: schedules/s`, (r.schedules * 1000) / r.ms);
    addRow('1 throughput', `${name}: ratio to no exploration`, `${((100 * rate) / rawRate).toFixed(0)}%`);
  }
}

// 2. time to find each catalogue entry
const shards = FIND_SHARDS;
for (const e of CATALOGUE) {
  const t = resolveTarget(e.name);
  for (const scheduler of ['random', 'pct', 'dfs', 'portfolio'] as ExploreScheduler[]) {
    const schedules: number[] = [];
    const ms: number[] = [];
    let missed = 0;
    const n = scheduler === 'dfs' ? 1 : shards;
    for (let i = 0; i < n; i++) {
      const depth = scheduler === 'dfs' ? 2 : scheduler === e.scheduler ? e.depth ?? 2 : 2;
      const r = explore(t, { scheduler, depth, budget: quick ? e.budget : e.budget * FULL_BUDGET_FACTOR, shard: { i, n } });
      if (!r.found) { missed++; continue; }
      schedules.push(r.schedules);
      ms.push(r.ms);
    }
    const s = schedules.length > 0 ? stats(schedules) : null;
    const m = ms.length > 0 ? stats(ms) : null;
    addRow(`2 find ${e.ref}`, `${e.name} ${scheduler}${scheduler === 'pct' ? ` d=${scheduler === e.scheduler ? e.depth ?? 2 : 2}` : scheduler === 'dfs' ? ' ≤2 preemptions' : ''}`, m !== null ? `${m.median.toFixed(1)} ms` : 'not found',
      null, n === 1 ? (s !== null ? `schedules ${s.median} (one search)` : `not found within ${quick ? e.budget : e.budget * FULL_BUDGET_FACTOR} (one search)`)
        : s !== null ? `schedules median ${s.median}, max ${s.max}${missed > 0 ? `; ${missed}/${n} seed ranges missed within ${quick ? e.budget : e.budget * FULL_BUDGET_FACTOR}` : ''}` : `missed in all ${n} seed ranges`);
  }
}

// 3. partial-order reduction: the clean search within one preemption, with and without sleep sets
const cap = quick ? POR_CAP_QUICK : POR_CAP_FULL;
for (const e of CATALOGUE) {
  const t = resolveTarget(e.name);
  const cell = (sleepSets: boolean): { text: string; note: string } => {
    const r = explore(t, { scheduler: 'dfs', depth: 1, budget: cap, withoutEntryMutation: true, sleepSets });
    const end = r.found ? 'found a (documented) finding' : r.dfs!.exhausted ? 'search ended' : `cap ${cap} reached`;
    return { text: `${r.schedules}${r.dfs!.exhausted ? '' : '+'}`, note: `${end}, ${(r.ms / 1000).toFixed(1)} s${sleepSets ? `, ${r.dfs!.blocked} sleep-set blocked` : ''}` };
  };
  const a = cell(true);
  const b = cell(false);
  addRow(`3 POR ${e.ref}`, `${e.name}: schedules with / without sleep sets`, `${a.text} / ${b.text}`, null, `with: ${a.note}; without: ${b.note}`);
}

console.log('');
printTable();
console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);
