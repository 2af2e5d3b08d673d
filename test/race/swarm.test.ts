// Goal: `race swarm` generates valid scenario files (a random subset of features each, VM types the release has), explores them with the portfolio, reports the documented finding by name without failing, and on any other violation shrinks the scenario and writes a file that `race explore` reproduces and a token that replays; method: swarm runs in-process on the correct model and with a protocol check forced off, and the CLI.

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explore, replay, resolveTarget } from '../../src/race/race.js';
import { knownFinding } from '../../src/race/known-findings.js';
import { SWARM_DEEPEN, swarm, writeFailure } from '../../src/race/swarm.js';
import { SWARM_FEATURES, generateScenario } from '../../src/race/swarm-gen.js';
import { dropOps, parseCandidate, shrinkCandidates, type ScenarioDoc } from '../../src/race/swarm-shrink.js';
import { decodeToken } from '../../src/race/token.js';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-swarm-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('generated scenarios are valid scenario files, the same for the same seed and index, each with a subset of the features', (t) => {
  const seen = new Map<string, number>();
  const types = new Set<string>();
  for (let i = 0; i < 400; i++) {
    const g = generateScenario(3, i);
    const doc = g.doc as unknown as ScenarioDoc;
    t.not(parseCandidate(doc), null, `scenario ${i}`);
    t.true(g.features.length >= 1 && g.features.length <= SWARM_FEATURES.length);
    for (const f of g.features) seen.set(f, (seen.get(f) ?? 0) + 1);
    types.add(String(doc.vm.type));
  }
  for (const f of SWARM_FEATURES) t.true((seen.get(f) ?? 0) > 100 && seen.get(f)! < 300, `${f} in ${seen.get(f)} of 400: about half`);
  t.deepEqual([...types].sort(), ['default', 'snp', 'sw_protected', 'tdx']);
  t.deepEqual(generateScenario(3, 17).doc, generateScenario(3, 17).doc);
  t.notDeepEqual(generateScenario(3, 17).doc, generateScenario(4, 17).doc);
  // TDX VMs exist from 6.16: never drawn before.
  for (let i = 0; i < 200; i++) t.not((generateScenario(3, i, { kernel: '6.15' }).doc as unknown as ScenarioDoc).vm.type, 'tdx');
  t.is((generateScenario(3, 5, { vmType: 'snp' }).doc as unknown as ScenarioDoc).vm.type, 'snp');
});

test('shrink candidates: dropping an op renumbers the after edges; every candidate of a generated scenario is smaller or simpler', (t) => {
  const doc = { name: 'x', vm: { vcpus: 1 }, memslots: [], ops: [{ actor: 'vcpu0', op: 'mmu_reset' }, { actor: 'vmm', op: 'finalize' }, { actor: 'vcpu0', op: 'mmu_reset', after: 1 }, { actor: 'vmm', op: 'vm_dead', after: 0 }] } as ScenarioDoc;
  t.deepEqual(dropOps(doc, new Set([0])).ops, [{ actor: 'vmm', op: 'finalize' }, { actor: 'vcpu0', op: 'mmu_reset', after: 0 }, { actor: 'vmm', op: 'vm_dead' }]);
  const g = generateScenario(1, 27).doc as unknown as ScenarioDoc;
  let n = 0;
  for (const c of shrinkCandidates(g)) {
    n++;
    t.true(c.ops.length <= g.ops.length && c.memslots.length <= g.memslots.length && Number(c.vm.vcpus) <= Number(g.vm.vcpus));
    t.notDeepEqual(c, g);
  }
  t.true(n > g.ops.length);
});

test('with a protocol check forced off: found, shrunk, and the written file reproduces it with race explore; its token replays', (t) => {
  // A default VM: without private memory the missing retry shows as a use-after-free (on
  // VMs with it, first as often as a private-shared mismatch: attribute changes use the same
  // invalidation sequence).
  const o = { seed: 1, scenarios: 80, vmType: 'default' as const, mutate: ['page-fault.mmuInvalidateRetryGfn=false'] };
  const r = swarm(o);
  const f = r.failure;
  if (f === null) { t.fail('nothing found in 80 scenarios'); return; }
  t.is(f.violation.kind, 'use-after-free');
  t.true(f.after.ops < f.before.ops && f.after.ops <= 3, `shrunk to ${f.after.ops} ops`);
  t.is(r.scenarios, f.index + 1, 'the run stops at the failing scenario');
  const w = writeFailure(f, dir, o);
  t.true(w.reproduced);
  const again = explore(resolveTarget(w.file), { budget: 9, mutate: o.mutate });
  t.is(again.run?.violations[0]?.kind, 'use-after-free');
  t.is(readFileSync(w.tokenFile, 'utf8').trim(), w.token);
  t.true(replay(decodeToken(w.token)).reproduced);
});

/** Ops i < j < k: an access by X to page P, another actor's op on P after it, X's access to P after that. */
function sandwiches(doc: ScenarioDoc): number {
  const ops = doc.ops as { actor: string; op: string; gpa?: string; after?: number }[];
  let n = 0;
  ops.forEach((c, k) => {
    const m = c.after !== undefined ? ops[c.after] : undefined;
    const a = m?.after !== undefined ? ops[m.after] : undefined;
    if (c.op === 'access' && a?.op === 'access' && a.actor === c.actor && a.gpa === c.gpa && m!.actor !== c.actor && (m!.gpa === undefined || m!.gpa === c.gpa) && k > c.after!) n++;
  });
  return n;
}

test('sandwiches: a vCPU accesses a page, another actor\'s op on it follows, the vCPU accesses it again; a flush the notifier skips shows within a few scenarios', (t) => {
  let withOne = 0;
  for (let i = 0; i < 400; i++) if (sandwiches(generateScenario(3, i).doc as unknown as ScenarioDoc) > 0) withOne++;
  t.true(withOne >= 40 && withOne <= 200, `${withOne} of 400 scenarios have a sandwich`);
  // Without sandwiches the generator first met this at scenario 236 of seed 3 (2,455 of seed 2).
  const r = swarm({ seed: 3, scenarios: 12, skip: ['invalidation.kvmFlushRemoteTlbs'], shrinkAttempts: 0 });
  t.is(r.failure?.violation.kind, 'use-after-free', JSON.stringify(r.findings));
});

test('a scenario that reaches a transition few earlier scenarios did is explored with SWARM_DEEPEN turns of the portfolio; the others with one', (t) => {
  const seen: { deepened: boolean; schedules: number }[] = [];
  swarm({ seed: 11, scenarios: 8, onScenario: (s) => seen.push({ deepened: s.deepened, schedules: s.schedules }) });
  t.deepEqual(seen[0], { deepened: true, schedules: SWARM_DEEPEN * 9 }, 'the first scenario\'s transitions are all new');
  t.true(seen.some((s) => !s.deepened && s.schedules === 9), JSON.stringify(seen));
});

test('on a release before a catalogue fix, that race is reported by name and does not fail the run', (t) => {
  // 6.14 lacks 3ccbf6f47098 (6.18): a pre-fault retrying on an INVALID slot is R13.
  const r = swarm({ seed: 5, scenarios: 40, kernel: '6.14' });
  t.is(r.failure, null, JSON.stringify(r.failure?.violation));
  t.true((r.findings['prefault-invalid-slot-retry']?.count ?? 0) >= 1, JSON.stringify(r.findings));
});

test('the correct model: generated scenarios show nothing but the documented finding; shards split the scenario indices', (t) => {
  const indices: number[][] = [[], []];
  for (const i of [0, 1]) {
    const r = swarm({ seed: 11, scenarios: 16, shard: { i, n: 2 }, onScenario: (s) => indices[i]!.push(s.index) });
    t.is(r.failure, null, JSON.stringify(r.failure?.violation));
    t.is(r.scenarios, 8);
  }
  t.deepEqual(indices[0], [0, 2, 4, 6, 8, 10, 12, 14]);
  t.deepEqual(indices[1], [1, 3, 5, 7, 9, 11, 13, 15]);
});

test('the README finding is recognized by name; the catalogue races that look like it are not, except on a release before their fix, where they are recognized as themselves', (t) => {
  const finding = explore(resolveTarget('docs/findings/prefault-during-slot-delete.json'), { scheduler: 'random', budget: 1000 });
  t.is(knownFinding(finding.run!.violations[0]!, '6.19')?.name, 'prefault-during-slot-delete');
  for (const name of ['prefault-keeps-obsolete-root', 'prefault-invalid-slot-retry']) {
    const r = explore(resolveTarget(name), { budget: 300 });
    const v = r.run!.violations[0]!;
    t.is(v.kind, 'livelock');
    // On the release before its fix it is that catalogue race, by name; on a release with the fix it is nothing documented.
    t.is(knownFinding(v, name === 'prefault-keeps-obsolete-root' ? '6.14' : '6.17')?.name, name);
    t.is(knownFinding(v, '6.19'), null, name);
  }
});

test('the CLI: --json lines end in a summary shaped like explore\'s; a failure exits 1 and writes the file; bad input exits 2', async (t) => {
  const clean = await cli(['race', 'swarm', '--scenarios', '3', '--json']);
  t.is(clean.code, 0, clean.stderr);
  const lines = clean.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.deepEqual(lines.slice(0, 3).map((l) => [l.type, l.index]), [['scenario', 0], ['scenario', 1], ['scenario', 2]]);
  const s = lines[3]!;
  for (const k of ['found', 'schedules', 'steps', 'ms', 'token', 'violation', 'coverage', 'scenarios']) t.true(k in s, k);
  t.is(s.type, 'summary');
  t.is(s.scenarios, 3);
  const out = join(dir, 'cli');
  const bad = await cli(['race', 'swarm', '--scenarios', '80', '--vm-type', 'default', '--mutate', 'page-fault.mmuInvalidateRetryGfn=false', '--out', out]);
  t.is(bad.code, 1);
  t.regex(bad.stdout, /^scenario \d+: use-after-free, found by /m);
  t.regex(bad.stdout, /^shrunk: ops \d+ → \d+/m);
  const file = /^wrote (\S+\.json) and/m.exec(bad.stdout)![1]!;
  const ex = await cli(['race', 'explore', file, '--mutate', 'page-fault.mmuInvalidateRetryGfn=false', '--budget', '9']);
  t.is(ex.code, 1);
  for (const [args, msg] of [
    [['--time', '5s', '--scenarios', '3'], /--time or --scenarios, not both/],
    [['--kernel', '6.15', '--vm-type', 'tdx'], /TDX VMs exist from 6.16/],
    [['--shard', '2/2'], /--shard must be i\/n/],
    [['--mutate', 'page-fault.noSuchGuard=true'], /noSuchGuard/],
  ] as const) {
    const r = await cli(['race', 'swarm', ...args]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, msg);
  }
});
