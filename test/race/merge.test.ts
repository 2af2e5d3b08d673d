// Goal: sharded runs merge into what one run says — totals, the first violation by global schedule index with its token, the coverage union — and for DFS the shards together are exactly the unsharded search; shards of different runs are refused; method: explore in-process, shard, merge the summaries.

import test from 'ava';
import { explore, resolveTarget, type ExploreOptions, type ExploreResult } from '../../src/race/race.js';
import { decodeToken } from '../../src/race/token.js';
import { MergeError, mergeCoverage, mergeRace, summariesOf, type ShardSummary } from '../../src/race/merge.js';

/** A shard's result as `race explore --json` writes its summary (coverage per machine). */
function summaryLine(r: ExploreResult, shard: { i: number; n: number }, run: Record<string, unknown>): string {
  const coverage: Record<string, { fired: number; total: number; transitions: Record<string, number>; never: string[] }> = {};
  for (const key of r.transitions) {
    const [m, tr] = key.split(': ') as [string, string];
    const c = (coverage[m] ??= { fired: 0, total: 0, transitions: {}, never: [] });
    c.total++;
    const n = r.coverage.get(key);
    if (n === undefined) c.never.push(tr);
    else { c.transitions[tr] = n; c.fired++; }
  }
  return JSON.stringify({ type: 'summary', ...run, shard, found: r.found, schedules: r.schedules, steps: r.steps, ms: Math.round(r.ms), dfs: r.dfs, token: r.token, violation: r.run?.violations[0] ?? null, coverage });
}

function shards(target: string, o: ExploreOptions, n: number): { whole: ExploreResult; parts: ShardSummary[] } {
  const t = resolveTarget(target);
  const run = { target: t.id, scheduler: o.scheduler, depth: o.depth ?? null, budget: o.budget };
  const whole = explore(t, o);
  const parts: ShardSummary[] = [];
  for (let i = 0; i < n; i++) parts.push(...summariesOf(summaryLine(explore(t, { ...o, shard: { i, n } }), { i, n }, run), `shard-${i}.jsonl`));
  return { whole, parts };
}

test('DFS: the union of 3 shards is the unsharded search — the same schedules, steps and transition counts, and the search complete', (t) => {
  const { whole, parts } = shards('seq-check', { scheduler: 'dfs', depth: 1, budget: 100_000, withoutEntryMutation: true }, 3);
  t.true(whole.dfs!.exhausted);
  const m = mergeRace(parts);
  t.false(m.found);
  t.is(m.schedules, whole.schedules);
  t.is(m.steps, whole.steps, 'every schedule ran once, the same run as in the whole search');
  t.true(m.dfs!.exhausted);
  t.deepEqual([m.dfs!.runs, m.dfs!.blocked], [whole.dfs!.runs, whole.dfs!.blocked]);
  // Each shard searched only its own subtrees (plus one partial run into each other one).
  for (const p of parts) t.true(Number(p.doc['schedules']) < whole.schedules, `shard ${p.shard.i}: ${String(p.doc['schedules'])} of ${whole.schedules}`);
  const flat = new Map<string, number>();
  for (const [machine, c] of Object.entries(m.coverage)) for (const [tr, k] of Object.entries(c.transitions)) flat.set(`${machine}: ${tr}`, k);
  t.deepEqual([...flat].sort(), [...whole.coverage].sort());
});

test('DFS with the bug: the merged first violation is the unsharded search\'s, token for token', (t) => {
  const { whole, parts } = shards('seq-check', { scheduler: 'dfs', depth: 1, budget: 2000 }, 4);
  t.true(whole.found);
  const m = mergeRace(parts);
  t.true(m.found);
  // Shards search disjoint subtrees: the first violation is the lowest (subtree, run in it).
  t.deepEqual(m.first!.dfs, whole.dfs!.at!);
  // The same schedule (its choices, violation, target); a DFS token's seed is only the shard's schedule count.
  const { seed: _a, ...merged } = decodeToken(m.token!);
  const { seed: _b, ...single } = decodeToken(whole.token!);
  t.deepEqual(merged, single);
  t.true(m.dfs!.learned > 0, 'the shards learned paths into each other\'s subtrees');
});

test('random: shard i/n runs seeds i, i+n, …; the first violation is the lowest seed over all shards', (t) => {
  const { whole, parts } = shards('zap-without-flush', { scheduler: 'random', budget: 100 }, 4);
  t.true(whole.found);
  const m = mergeRace(parts);
  t.is(m.first!.index, whole.schedules - 1);
  t.is(m.token, whole.token);
  t.is(m.shards.merged, 4);
});

const doc = (o: Record<string, unknown>): string => JSON.stringify({ type: 'summary', target: 'catalogue:seq-check', kernel: '6.19', scheduler: 'random', found: false, schedules: 10, steps: 100, ms: 5, token: null, violation: null, coverage: {}, ...o });

test('refused: shards of different runs, a shard twice, shards missing (unless partial), a mix of explore and swarm, lines that are not JSON', (t) => {
  const s = (i: number, n: number, o: Record<string, unknown> = {}): ShardSummary[] => summariesOf(doc({ shard: { i, n }, ...o }), `s${i}`);
  t.throws(() => mergeRace([...s(0, 2), ...s(1, 2, { target: 'catalogue:zap-without-flush' })]), { instanceOf: MergeError, message: /different runs: target/ });
  t.throws(() => mergeRace([...s(0, 2), ...s(1, 2, { kernel: '6.14' })]), { message: /different runs: kernel/ });
  t.throws(() => mergeRace([...s(0, 2), ...s(1, 2, { mutate: ['x.y=false'] })]), { message: /different runs: mutate/ });
  t.throws(() => mergeRace([...s(0, 2), ...s(1, 3)]), { message: /share n/ });
  t.throws(() => mergeRace([...s(0, 2), ...s(0, 2)]), { message: /both shard 0\/2/ });
  t.throws(() => mergeRace(s(0, 2)), { message: /shard\(s\) 1\/2 missing/ });
  t.deepEqual(mergeRace(s(0, 2), true).shards.missing, [1]);
  t.throws(() => mergeRace([...s(0, 2), ...s(1, 2, { scenarios: 3 })]), { message: /is output of race swarm, s0:1 of race explore/ });
  t.throws(() => summariesOf('{"type":"summary"\n', 'f'), { instanceOf: MergeError, message: /^f:1: not a JSON line/ });
  t.throws(() => summariesOf('{"type":"hello"}', 'f'), { message: /neither a summary/ });
  t.throws(() => summariesOf(doc({ shard: { i: 2, n: 2 } }), 'f'), { message: /'shard' must be/ });
  t.throws(() => mergeRace([]), { message: /no summary line/ });
});

test('swarm shards: the first violation is the lowest global scenario index; totals add up', (t) => {
  const sw = (i: number, o: Record<string, unknown>): ShardSummary[] => summariesOf(doc({ shard: { i, n: 3 }, target: undefined, seed: 7, scenarios: 5, ...o }), `w${i}`);
  const m = mergeRace([...sw(0, {}), ...sw(1, { found: true, scenarios: 3, token: 'fl1.b' }), ...sw(2, { found: true, scenarios: 2, token: 'fl1.a' })]);
  t.is(m.kind, 'swarm');
  // shard 2 found its at scenario 2 + 3·1 = 5, shard 1 at 1 + 3·2 = 7.
  t.deepEqual([m.first!.index, m.first!.shard, m.token], [5, 2, 'fl1.a']);
  t.is(m.scenarios, 10);
  t.is(m.schedules, 30);
  // race swarm names the failing scenario (shrunk.index) and counts documented findings, which merge adds up.
  const named = mergeRace([...sw(0, { found: true, scenarios: 4, token: 'fl1.c', shrunk: { index: 9 }, file: 'out/s9.json', findings: { f: { count: 2, first: 3 } } }), ...sw(1, { findings: { f: { count: 1, first: 1 } } }), ...sw(2, {})]);
  t.deepEqual(named.first, { index: 9, shard: 0, token: 'fl1.c', violation: null, file: 'out/s9.json' });
  t.deepEqual(named.findings, { f: { count: 3, first: 1 } });
});

test('the coverage union: counts add up, a transition is never-fired only if no shard fired it', (t) => {
  const u = mergeCoverage([
    { vcpu: { fired: 1, total: 3, transitions: { a: 2 }, never: ['b', 'c'] } },
    { vcpu: { fired: 2, total: 3, transitions: { a: 1, b: 5 }, never: ['c'] } },
  ]);
  t.deepEqual(u, { vcpu: { fired: 2, total: 3, transitions: { a: 3, b: 5 }, never: ['c'] } });
});
