// Goal: the faultline command keeps its contract — documented --json shape, exit statuses 0/1/2, one-line errors, the kernel selftest's pre-fault results, Mermaid export; method: spawn `node build/src/cli/main.js` on built-in and temporary scenarios.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPILED } from '../../src/protocol/machines.js';
import { cli, oneErrorLine } from '../helpers/cli.js';

const SCENARIOS = fileURLToPath(new URL('../../../scenarios/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'faultline-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function scenarioFile(content: unknown): string {
  const path = join(dir, `s${fileNo++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const small = {
  name: 'small',
  description: 'two vCPUs, one slot',
  vm: { type: 'default', vcpus: 2 },
  memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }],
  ops: [
    { actor: 'vcpu0', op: 'access', gpa: '0x1000', access: 'write', repeat: 2 },
    { actor: 'vcpu1', op: 'access', gpa: '0x1000', access: 'read' },
    { actor: 'host', op: 'invalidate', gpa: '0x1000', size: '4KiB', kind: 'migrate' },
    { actor: 'vcpu1', op: 'pre_fault', gpa: '0x10000', size: '16KiB', until_done: true },
    { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '32MiB', size: '2MiB' },
  ],
};


test('--json prints exactly one JSON object with the documented shape; exit 0 when clean', async (t) => {
  const r = await cli(['scenario', 'run', scenarioFile(small), '--json']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  t.is(r.stdout.trim().split('\n').length, 1, 'one line of JSON');
  const j = JSON.parse(r.stdout);
  t.deepEqual(Object.keys(j).sort(), ['actors', 'completed', 'coverage', 'error', 'mutations', 'results', 'runner', 'scenario', 'scheduler', 'seed', 'setup', 'steps', 'violations', 'vm'].sort());
  t.is(j.scenario.name, 'small');
  t.deepEqual([j.vm.type, j.vm.vcpus], ['default', 2]);
  t.deepEqual([j.scheduler, j.seed, j.runner], ['sequential', 1, 'compiled']);
  t.deepEqual(j.mutations, { mutate: [], skip: [] });
  t.true(j.completed);
  t.is(j.error, null);
  t.deepEqual(j.violations, []);
  t.is(j.setup.length, 1);
  t.like(j.setup[0], { index: 0, op: 'set_memslot', ret: 0, errno: null, change: 'create' });
  t.deepEqual(j.results.map((x: { index: number; actor: string; op: string }) => [x.index, x.actor, x.op]), [
    [0, 'vcpu0', 'access'], [1, 'vcpu0', 'access'], [2, 'vcpu1', 'access'], [3, 'host', 'invalidate'], [4, 'vcpu1', 'pre_fault'], [5, 'vmm', 'set_memslot'],
  ]);
  t.like(j.results[0], { scenarioIndex: 0, repeat: 1, repeats: 2, ok: true, errno: null });
  t.like(j.results[1], { scenarioIndex: 0, repeat: 2, repeats: 2 });
  t.like(j.results[3], { scenarioIndex: 2, pagesFreed: 1 });
  t.like(j.results[4], { scenarioIndex: 3, ret: 0, errno: null, gpa: '0x14000', size: '0x0' });
  t.like(j.results[5], { ret: 0, change: 'create' });
  t.is(j.actors.length, 4);
  t.deepEqual(j.actors.map((a: { actor: string }) => a.actor), ['vcpu0', 'vcpu1', 'host', 'vmm']);
  t.deepEqual(Object.keys(j.coverage).sort(), COMPILED.map((m) => m.id).sort());
  for (const m of COMPILED) {
    const c = j.coverage[m.id];
    t.is(c.total, m.transitions.length);
    t.is(c.fired, c.transitions.filter((x: { count: number }) => x.count > 0).length);
  }
  t.true(j.coverage['page-fault'].fired > 0);
});

test('the human report: one line per op, violations, a coverage line per machine', async (t) => {
  const r = await cli(['scenario', 'run', scenarioFile(small)]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^ {2}#0 +vcpu0 +access write 0x1000 +ok, 1 exit \(op 0, 1\/2\)$/m);
  t.regex(r.stdout, /^ {2}#4 +vcpu1 +pre_fault \[0x10000, \+16KiB\) until done +ret 0, gpa 0x14000, size 0x0 left, 1 call \(op 3\)$/m);
  t.regex(r.stdout, /^violations: none$/m);
  for (const m of COMPILED) t.regex(r.stdout, new RegExp(`^ {2}${m.id}: \\d+/${m.transitions.length} transitions fired$`, 'm'));
  t.notRegex(r.stdout, /^trace$/m);
});

test('--trace adds the step trace (text and JSON)', async (t) => {
  const file = scenarioFile(small);
  const text = await cli(['scenario', 'run', file, '--trace']);
  t.is(text.code, 0);
  t.regex(text.stdout, /^trace$/m);
  t.regex(text.stdout, /^ {2}\d+ +vcpu0 +vcpu: outside → entry/m);
  const json = JSON.parse((await cli(['scenario', 'run', file, '--trace', '--json'])).stdout);
  t.true(json.trace.length === json.steps, 'one trace entry per step');
  t.deepEqual(Object.keys(json.trace[0]).sort(), ['actor', 'label', 'step', 'waits']);
});

test('a violation exits 1 and is reported with kind, actors and SPTE', async (t) => {
  const args = ['scenario', 'run', join(SCENARIOS, 'classic-race.json'), '--scheduler', 'random', '--seed', '1', '--mutate', 'page-fault.mmuInvalidateRetryGfn=false'];
  const j = await cli([...args, '--json']);
  t.is(j.code, 1, j.stderr);
  const out = JSON.parse(j.stdout);
  t.false(out.completed);
  t.deepEqual(out.mutations, { mutate: ['page-fault.mmuInvalidateRetryGfn=false'], skip: [] });
  t.is(out.violations[0].kind, 'use-after-free');
  t.true(out.violations[0].actors.includes('vcpu0'));
  t.true(out.results.some((x: { ran: boolean }) => !x.ran), 'ops after the violation did not run');
  const h = await cli(args);
  t.is(h.code, 1);
  t.regex(h.stdout, /^violations \(1\)$/m);
  t.regex(h.stdout, /^ {2}use-after-free at step \d+, actors .*vcpu0/m);
  t.regex(h.stdout, /^ {4}spte .* = 0x[0-9a-f]{16} \(.*\), written by vcpu0 at step \d+/m);
});

test('classic-race is clean under the real protocol, also with random schedules', async (t) => {
  for (const extra of [[], ['--scheduler', 'random', '--seed', '2'], ['--scheduler', 'random', '--seed', '3']]) {
    const r = await cli(['scenario', 'run', join(SCENARIOS, 'classic-race.json'), '--json', ...extra]);
    t.is(r.code, 0, `${extra.join(' ')}: ${r.stdout.slice(0, 400)}`);
    t.is(JSON.parse(r.stdout).results.length, 46);
  }
});

test('a malformed scenario gives exactly one stderr line and exit 2', async (t) => {
  oneErrorLine(t, await cli(['scenario', 'run', scenarioFile('{"ops": [,]}')]), /invalid JSON.*line 1, column \d+/);
  oneErrorLine(t, await cli(['scenario', 'run', scenarioFile({ ops: [{ actor: 'vcpu0', op: 'access', gpa: 0, access: 'rw' }] })]), /ops\[0\]\.access: expected one of read, write, exec/);
  oneErrorLine(t, await cli(['scenario', 'run', scenarioFile({ vm: { vcpus: 300 } }), '--json']), /vm\.vcpus: 300 is out of range 1\.\.256/);
  oneErrorLine(t, await cli(['scenario', 'run', join(dir, 'missing.json')]), /cannot read scenario .*missing\.json.*no such file/);
});

test('an unknown mutation name lists the valid names', async (t) => {
  const r = await cli(['scenario', 'run', scenarioFile(small), '--mutate', 'page-fault.isStaleX=false']);
  oneErrorLine(t, r, /unknown guard 'isStaleX' of machine 'page-fault'; valid guards: .*mmuInvalidateRetryGfn/);
  oneErrorLine(t, await cli(['scenario', 'run', scenarioFile(small), '--skip', 'nomachine.flush']), /unknown machine 'nomachine'.*machines: .*page-fault/);
  oneErrorLine(t, await cli(['scenario', 'run', scenarioFile(small), '--mutate', 'page-fault.noSlot']), /MACHINE\.GUARD=true\|false/);
});

test('bad options, commands and seeds are one-line errors with exit 2', async (t) => {
  const file = scenarioFile(small);
  oneErrorLine(t, await cli(['scenario', 'run', file, '--seed', 'x']), /--seed must be an integer/);
  oneErrorLine(t, await cli(['scenario', 'run', file, '--seed', '-3']), /--seed/);
  oneErrorLine(t, await cli(['scenario', 'run', file, '--scheduler', 'pct']), /--scheduler must be one of sequential, random/);
  oneErrorLine(t, await cli(['scenario', 'run', file, '--frobnicate']), /unknown option '--frobnicate'/);
  oneErrorLine(t, await cli(['scenario', 'run']), /needs a scenario FILE/);
  oneErrorLine(t, await cli(['scenario', 'walk']), /unknown subcommand 'scenario walk'/);
  oneErrorLine(t, await cli(['frobnicate']), /unknown command 'frobnicate'/);
  oneErrorLine(t, await cli([]), /missing command/);
  oneErrorLine(t, await cli(['machines', 'export', '--format', 'svg']), /--format must be one of mermaid, json/);
});

test('more ops than SCENARIO_OPS_MAX is bad input naming the limit', async (t) => {
  const file = scenarioFile({ ops: [{ actor: 'vcpu0', op: 'access', gpa: 0, access: 'read', repeat: 3 }, { actor: 'vcpu0', op: 'access', gpa: 0, access: 'read' }] });
  oneErrorLine(t, await cli(['scenario', 'run', file], { FAULTLINE_SCENARIO_OPS_MAX: '3' }), /ops: .*SCENARIO_OPS_MAX = 3/);
  oneErrorLine(t, await cli(['scenario', 'run', file], { FAULTLINE_SCENARIO_OPS_MAX: 'lots' }), /FAULTLINE_SCENARIO_OPS_MAX must be a positive integer/);
});

/** The selftest's expectations (pre_fault_memory_test.c): [ret, errno, size left] per pre-fault. */
const SELFTEST_EXPECTED = [[0, null, '0x0'], [-1, 'ENOENT', '0x1000'], [-1, 'ENOENT', '0x1000']];

for (const variant of ['default', 'sw-protected-shared', 'sw-protected-private']) {
  test(`prefault-selftest-${variant} gives the kernel selftest's results exactly`, async (t) => {
    const r = await cli(['scenario', 'run', join(SCENARIOS, `prefault-selftest-${variant}.json`), '--json']);
    t.is(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    t.deepEqual(j.violations, []);
    t.true(j.completed);
    t.like(j.setup[0], { ret: 0, errno: null, change: 'create', input: { slot: 10, gpa: '0xffffffc00000', size: '0x201000' } });
    t.like(j.vm, { physBits: 48, tdpLevel: 4 }, 'the top of a 48-bit space, as on a 48-bit host');
    type Res = { op: string; ret: number; errno: string | null; size: string; ok: boolean };
    const pre = j.results.filter((x: Res) => x.op === 'pre_fault');
    t.deepEqual(pre.map((x: Res) => [x.ret, x.errno, x.size]), SELFTEST_EXPECTED);
    const attrs = j.results.filter((x: Res) => x.op === 'set_memory_attributes');
    t.deepEqual(attrs.map((x: Res) => x.ret), variant === 'sw-protected-private' ? [0] : []);
    // The guest then reads the range: every access succeeds without an exit (all pre-faulted).
    const reads = j.results.filter((x: Res) => x.op === 'access');
    t.true(reads.length > 0);
    t.true(reads.every((x: Res & { exits: number }) => x.ok && x.exits === 0));
  });
}

test('prefault-selftest-52-bit: the selftest at the top of a 52-bit space, through a 5-level root; beyond the width a pre-fault is ENOENT', async (t) => {
  const r = await cli(['scenario', 'run', 'prefault-selftest-52-bit', '--json']);
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.deepEqual(j.violations, []);
  t.like(j.vm, { physBits: 52, tdpLevel: 5 });
  t.like(j.setup[0], { ret: 0, errno: null, change: 'create', input: { slot: 10, gpa: '0xfffffffc00000', size: '0x201000' } });
  type Res = { op: string; ret: number; errno: string | null; size: string; ok: boolean; exits: number };
  const pre = j.results.filter((x: Res) => x.op === 'pre_fault');
  t.deepEqual(pre.map((x: Res) => [x.ret, x.errno, x.size]), [...SELFTEST_EXPECTED, [-1, 'ENOENT', '0x1000']]);
  const accesses = j.results.filter((x: Res) => x.op === 'access');
  // Anonymous memory (the default): the pre-fault mapped the zero page read-only, so the first
  // write exits, breaks CoW in gup (an invalidation of its own gfn after the fault's seq
  // snapshot: RET_PF_RETRY) and maps writable at the second EPT violation; after the
  // migration the write faults once.
  t.deepEqual(accesses.map((x: Res) => [x.ok, x.exits]), [[true, 0], [true, 2], [true, 0], [true, 1]]);
});

test('the default scenario runs clean and exercises every machine', async (t) => {
  const r = await cli(['scenario', 'run', join(SCENARIOS, 'default.json'), '--json']);
  t.is(r.code, 0, r.stdout.slice(0, 500));
  const j = JSON.parse(r.stdout);
  t.true(j.completed);
  t.true(j.vm.vcpus >= 2 && j.vm.vcpus <= 4);
  // KVM_SEV_SNP_LAUNCH_UPDATE only runs on an SNP VM (test/races/snp-prefault-before-finish.test.ts).
  for (const m of COMPILED.filter((x) => x.id !== 'snp-launch-update')) t.true(j.coverage[m.id].fired > 0, `${m.id} fired`);
  t.true(j.results.every((x: { ran: boolean }) => x.ran));
});

test('scenario run accepts a built-in name; scenario list shows every built-in', async (t) => {
  const byName = await cli(['scenario', 'run', 'memslot-delete-during-prefault', '--json']);
  t.is(byName.code, 0, byName.stderr);
  t.is(JSON.parse(byName.stdout).scenario.name, 'memslot-delete-during-prefault');
  const list = await cli(['scenario', 'list']);
  t.is(list.code, 0);
  for (const name of ['default', 'classic-race', 'memslot-delete-during-prefault', 'prefault-selftest-default', 'prefault-selftest-sw-protected-shared', 'prefault-selftest-sw-protected-private', 'prefault-selftest-52-bit']) {
    t.regex(list.stdout, new RegExp(`^ {2}${name} +\\S`, 'm'));
  }
  const json = JSON.parse((await cli(['scenario', 'list', '--json'])).stdout);
  t.true(json.scenarios.every((s: { error?: string; description: string }) => s.error === undefined && s.description !== ''));
});

test('machines export --format mermaid prints a stateDiagram per machine; --format json the tables', async (t) => {
  const r = await cli(['machines', 'export', '--format', 'mermaid']);
  t.is(r.code, 0, r.stderr);
  for (const m of COMPILED) t.regex(r.stdout, new RegExp(`^%% ${m.id}\\nstateDiagram-v2\\n( {2}state "[^"]+" as \\w+\\n)* {2}\\[\\*\\] --> `, 'm'));
  t.is(r.stdout.match(/^stateDiagram-v2$/gm)?.length, COMPILED.length);
  const one = await cli(['machines', 'export', '--machine', 'pre-fault']);
  t.is(one.stdout.match(/^stateDiagram-v2$/gm)?.length, 1);
  oneErrorLine(t, await cli(['machines', 'export', '--machine', 'nope']), /unknown machine 'nope'; machines: mmu-lock/);
  const j = await cli(['machines', 'export', '--format', 'json']);
  t.is(j.code, 0);
  const tables = JSON.parse(j.stdout);
  t.deepEqual(tables.machines.map((m: { id: string }) => m.id), COMPILED.map((m) => m.id));
});

test('help and version', async (t) => {
  for (const args of [['--help'], ['help']]) {
    const r = await cli(args);
    t.is(r.code, 0);
    for (const cmd of ['scenario', 'stress', 'race', 'bench', 'machines']) t.regex(r.stdout, new RegExp(`^ {2}${cmd} `, 'm'));
  }
  const v = await cli(['--version']);
  t.is(v.code, 0);
  t.regex(v.stdout, /^faultline \d+\.\d+\.\d+\n$/);
});

test('--runner reference gives the same results as the compiled runner', async (t) => {
  const file = scenarioFile(small);
  const a = JSON.parse((await cli(['scenario', 'run', file, '--json', '--scheduler', 'random', '--seed', '5'])).stdout);
  const b = JSON.parse((await cli(['scenario', 'run', file, '--json', '--scheduler', 'random', '--seed', '5', '--runner', 'reference'])).stdout);
  t.is(b.runner, 'reference');
  t.deepEqual(b.results, a.results);
  t.is(b.steps, a.steps);
});

test('a mutation that leaves mn_invalidate_lock held (the memslot swap that releases it skipped) is a lock-discipline finding at the step that leaked it; on threads the run stops with exit 1 and one line, not a hang', async (t) => {
  const r = await cli(['race', 'swarm', '--scenarios', '3', '--seed', '99', '--skip', 'memslot-update.swapActiveMemslots', '--out', join(dir, 'stuck')]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stdout, /lock-discipline at step \d+, actors vmm, during memslot-update: swapWait → syncStart/);
  t.regex(r.stdout, /mn_invalidate_lock \(a spinlock\) is still held after the step that took it/);
  const s = await cli(['stress', '--duration', '1s', '--vcpus', '1', '--memory', '64MiB', '--skip', 'memslot-update.swapActiveMemslots']);
  t.is(s.code, 1, s.stderr);
  const lines = s.stderr.split('\n').filter((l) => l.startsWith('faultline:'));
  t.is(lines.length, 1, s.stderr);
  t.regex(lines[0]!, /^faultline: the run stopped: the model's internal mutex at word \d+ stayed held through \d+ waits/);
});
