// Goal: `race explore` with no scheduler runs the portfolio (DFS, random, PCT 1–3 in rotation), finds what one strategy alone would miss, says which strategy found it, and its tokens replay whichever strategy made them; method: a scenario random scheduling cannot find, explored with the defaults.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explore, replay, resolveTarget } from '../../src/race/race.js';
import { decodeToken } from '../../src/race/token.js';
import { ROTATION, strategyLabel } from '../../src/race/portfolio.js';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-portfolio-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

// A TDX VM: vcpu1 touches a page; vcpu0 pre-faults once vcpu1's access is done, while the
// VMM finalizes the VM. With the pre_fault_allowed check gone the pre-fault must map its
// page before KVM_TDX_FINALIZE_VM — about 250 steps of vcpu0 while the VMM, runnable all
// along, takes none: random scheduling gives that ~2^-250; the DFS's non-preemptive
// continuation does it as soon as it hands the CPU to vcpu0 first.
const file = join(dir, 'tdx-prefault-before-finalize.json');
writeFileSync(file, JSON.stringify({
  vm: { type: 'tdx', vcpus: 2 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB', flags: ['guest_memfd'] }],
  ops: [
    { actor: 'vcpu1', op: 'access', gpa: '0x200000', access: 'write' },
    { actor: 'vmm', op: 'finalize' },
    { actor: 'vcpu0', op: 'pre_fault', gpa: '0x0', size: '4KiB', after: 0 },
  ],
}));
const mutate = ['pre-fault.preFaultNotAllowed=false'];

test('random scheduling is hopeless on it; the default portfolio finds it within a few schedules, by DFS, and the token replays', (t) => {
  const target = resolveTarget(file);
  t.false(explore(target, { scheduler: 'random', budget: 300, mutate }).found, 'random: the VMM would have to sit out ~250 steps');
  const r = explore(target, { budget: 20, mutate });
  t.true(r.found);
  t.true(r.schedules <= 9, `found after ${r.schedules} schedules`);
  t.is(r.foundBy?.name, 'dfs');
  t.is(r.run!.violations[0]!.kind, 'pre-fault-conformance');
  const tok = decodeToken(r.token!);
  t.is(tok.scheduler, 'dfs');
  t.true(replay(tok).reproduced);
});

test('the rotation: every strategy takes its turn, DFS keeps one search across its turns, random and PCT draw each schedule\'s seed', (t) => {
  t.deepEqual([...new Set(ROTATION.map(strategyLabel))].sort(), ['dfs (2 preemptions)', 'pct depth 1', 'pct depth 2', 'pct depth 3', 'random']);
  const seen: { strategy: string; seed: number }[] = [];
  const r = explore(resolveTarget('seq-check'), { budget: 18, withoutEntryMutation: true, onSchedule: (s) => seen.push({ strategy: s.strategy, seed: s.seed }) });
  t.false(r.found);
  t.deepEqual(seen.map((s) => s.strategy), [...ROTATION, ...ROTATION].map(strategyLabel));
  t.deepEqual(seen.map((s) => s.seed), [...Array(18).keys()]);
  t.is(r.dfs!.runs, 6, 'one DFS search, six of its schedules');
  t.is(r.byStrategy.random, 6);
});

test('tokens of every strategy replay: a find by random and by PCT, with the portfolio', (t) => {
  // seq-check is found by the portfolio's first random slot; walk-without-rcu by PCT.
  for (const [name, budget] of [['seq-check', 20], ['walk-without-rcu', 1000]] as const) {
    const r = explore(resolveTarget(name), { budget });
    t.true(r.found, name);
    const tok = decodeToken(r.token!);
    t.is(tok.scheduler, r.foundBy!.name);
    if (tok.scheduler === 'pct') t.is(tok.depth, r.foundBy!.depth);
    t.true(replay(tok).reproduced, `${name}: found by ${r.foundBy!.label}`);
  }
});

test('the CLI: explore with defaults says which strategy found it, in text and in --json; --depth wants a scheduler', async (t) => {
  const text = await cli(['race', 'explore', file, '--mutate', mutate[0]!, '--budget', '20']);
  t.is(text.code, 1);
  t.regex(text.stdout, /— portfolio \(dfs within 2 preemptions with sleep sets, random, pct depths 1-3, in rotation\), budget 20/);
  t.regex(text.stdout, /^schedules by strategy: .*; found by dfs \(2 preemptions\)$/m);
  const json = await cli(['race', 'explore', file, '--mutate', mutate[0]!, '--budget', '20', '--json']);
  const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines[lines.length - 1]!;
  t.is(summary.type, 'summary');
  t.is(summary.scheduler, 'portfolio');
  t.is(summary.foundBy, 'dfs (2 preemptions)');
  t.is((lines[0]!).strategy, 'dfs (2 preemptions)');
  const bad = await cli(['race', 'explore', 'seq-check', '--depth', '2']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--depth is for --scheduler pct or dfs/);
});
