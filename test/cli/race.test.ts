// Goal: `faultline race` keeps its contract — list, explore, replay, shrink with exit 0 nothing found / 1 found / 2 bad input (one line), tokens round-tripping through the command line, JSON lines, a Perfetto file; method: spawn the built CLI.

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-race-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('race list: every entry with its fix and the mutation that puts the bug back; --json', async (t) => {
  const r = await cli(['race', 'list']);
  t.is(r.code, 0);
  t.regex(r.stdout, /^seq-check {2}\(classic\)$/m);
  t.regex(r.stdout, /fix {6}KVM: x86\/mmu: Return -EAGAIN if userspace deletes\/moves memslot during prefault — 3ccbf6f47098/);
  const j = JSON.parse((await cli(['race', 'list', '--json'])).stdout) as { name: string }[];
  t.true(j.length >= 10);
});

test('explore finds, prints a token that replay reproduces (exit 1) and shrink makes no bigger; a Perfetto file', async (t) => {
  const trace = join(dir, 'trace.json');
  const e = await cli(['race', 'explore', 'zap-without-flush', '--trace-out', trace]);
  t.is(e.code, 1, e.stderr);
  const token = /^token: (fl1\.[A-Za-z0-9_-]+)$/m.exec(e.stdout)![1]!;
  t.regex(e.stdout, /use-after-free/);
  // The causal past of this TLB use-after-free: vcpu0, the host that freed the page, and the VMM whose yielding zap owed the flush.
  t.regex(e.stdout, /^ +step {2}vcpu0 +host +vmm +seq\/in_progress {2}mmu_lock$/m);
  const perfetto = JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: { ph: string; tid?: number }[] };
  t.true(perfetto.traceEvents.some((x) => x.ph === 'X'));
  t.true(perfetto.traceEvents.some((x) => x.ph === 'M'));
  const r = await cli(['race', 'replay', token]);
  t.is(r.code, 1);
  t.regex(r.stdout, /reproduced: use-after-free/);
  const s = await cli(['race', 'shrink', token, '--json']);
  t.is(s.code, 1);
  const sj = JSON.parse(s.stdout) as { before: { segments: number }; after: { segments: number }; token: string };
  t.true(sj.after.segments <= sj.before.segments);
  t.is((await cli(['race', 'replay', sj.token])).code, 1);
});

test('explore --json: JSON lines, one per schedule, then a summary; --control of an entry finds nothing (exit 0)', async (t) => {
  const r = await cli(['race', 'explore', 'seq-check', '--control', '--budget', '30', '--json']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; found?: boolean });
  t.is(lines.filter((l) => l.type === 'schedule').length, 30);
  t.like(lines[lines.length - 1], { type: 'summary', found: false });
});

const bad: [string[], RegExp][] = [
  [['race'], /'race' needs a subcommand: list, explore, replay, shrink/],
  [['race', 'explore'], /'race explore' needs one TARGET/],
  [['race', 'explore', 'no-such-race'], /neither a catalogue entry .* nor a readable scenario file/],
  [['race', 'explore', 'seq-check', '--scheduler', 'bfs'], /--scheduler must be one of random, pct, dfs/],
  [['race', 'explore', 'seq-check', '--shard', '3/3'], /--shard must be i\/n with 0 ≤ i < n/],
  [['race', 'explore', 'seq-check', '--budget', '0'], /--budget must be an integer/],
  [['race', 'replay', 'hello'], /not a faultline race token/],
  [['race', 'replay', 'fl1.AAAA'], /the token is damaged/],
  [['race', 'shrink'], /'race shrink' needs one TOKEN/],
];
for (const [args, message] of bad) {
  test(`bad input ${args.join(' ')}: one line, exit 2`, async (t) => {
    const r = await cli(args);
    t.is(r.code, 2);
    t.regex(r.stderr, message);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
}

test('explore --coverage lists, per machine, the transitions fired (with counts) and those never fired', async (t) => {
  const r = await cli(['race', 'explore', 'seq-check', '--control', '--budget', '5', '--coverage']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^ {2}page-fault: \d+ of \d+ transitions fired$/m);
  t.regex(r.stdout, /^ +\d+ {2}checkStale → walk/m);
  t.regex(r.stdout, /^ +never {2}\S/m);
  const j = await cli(['race', 'explore', 'seq-check', '--control', '--budget', '5', '--json']);
  const summary = JSON.parse(j.stdout.trim().split('\n').pop()!) as { coverage: Record<string, { fired: number; total: number; transitions: Record<string, number>; never: string[] }> };
  const pf = summary.coverage['page-fault']!;
  t.is(Object.keys(pf.transitions).length, pf.fired);
  t.is(pf.fired + pf.never.length, pf.total);
});
