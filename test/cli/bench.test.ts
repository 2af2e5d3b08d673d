// Goal: `faultline bench prefault-vs-lazy` keeps its contract — a table with each strategy's ratio to lazy, one JSON object a script can read, results written to --out, a recorded trace as the workload, and bad input (options, traces) as one line with exit 2; method: spawn the built CLI on small guests.

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-bench-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('the table: one block per guest, every strategy with its ratio to lazy, progress on stderr', async (t) => {
  const r = await cli(['bench', 'prefault-vs-lazy', '--memory', '16MiB', '--vcpus', '1,2', '--strategies', 'lazy,prefault,prefault-parallel', '--host-memory', 'shared']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^16MiB guest, 1 vCPU, 4K shared pages, boot, partitioned — simulated clock$/m);
  t.regex(r.stdout, /^16MiB guest, 2 vCPUs, 4K shared pages, boot, partitioned — simulated clock$/m);
  t.regex(r.stdout, /^lazy +[0-9.]+ +1\.00× /m);
  t.regex(r.stdout, /^prefault-parallel +[0-9.]+ +[0-9.]+× +0 /m, 'no EPT exits after a full pre-fault of shared memory');
  t.regex(r.stderr, /^\[6\/6\] 16MiB 2 vCPU 4K shared prefault-parallel: [0-9.]+ ms simulated/m);
});

test('--json: one object with every result; --out writes the same to results.json', async (t) => {
  const out = join(dir, 'out');
  const r = await cli(['bench', 'prefault-vs-lazy', '--memory', '8MiB,16MiB', '--vcpus', '2', '--workload', 'uniform', '--strategies', 'lazy,prefault', '--json', '--out', out, '--cost', 'vmExit=900']);
  t.is(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { clock: string; costModel: Record<string, number>; results: { strategy: string; memoryBytes: number; clock: string; totalNs: number; exits: number }[] };
  t.is(doc.clock, 'sim');
  t.is(doc.costModel.vmExit, 900);
  t.deepEqual(doc.results.map((x) => [x.strategy, x.memoryBytes]), [['lazy', 8 << 20], ['prefault', 8 << 20], ['lazy', 16 << 20], ['prefault', 16 << 20]]);
  t.true(doc.results.every((x) => x.clock === 'sim' && x.totalNs > 0));
  t.deepEqual(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), doc);
  for (const c of ['time-vs-memory', 'exits-vs-vcpus', 'prefault-scaling']) {
    t.regex(readFileSync(join(out, `${c}.svg`), 'utf8'), /^<svg [\s\S]*<\/svg>$/, c);
    t.truthy(JSON.parse(readFileSync(join(out, `${c}.vl.json`), 'utf8')).$schema);
  }
});

test('--clock both: the same strategies on the simulated and the wall clock, each result saying which; both sets of charts', async (t) => {
  const out = join(dir, 'both');
  const r = await cli(['bench', 'prefault-vs-lazy', '--memory', '8MiB', '--vcpus', '2', '--strategies', 'lazy,prefault', '--clock', 'both', '--host-memory', 'shared', '--json', '--out', out]);
  t.is(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { clock: string; results: { clock: string; strategy: string; exits: number }[] };
  t.is(doc.clock, 'both');
  t.deepEqual(doc.results.map((x) => `${x.clock}:${x.strategy}`), ['sim:lazy', 'sim:prefault', 'wall:lazy', 'wall:prefault']);
  t.is(doc.results[3]!.exits, 0);
  for (const c of ['time-vs-memory', 'time-vs-memory-wall']) t.regex(readFileSync(join(out, `${c}.svg`), 'utf8'), /^<svg /);
  const table = await cli(['bench', 'prefault-vs-lazy', '--memory', '8MiB', '--vcpus', '1', '--strategies', 'lazy', '--clock', 'wall']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /wall clock \(threaded engine, this machine\)/);
  t.regex(table.stdout, /not KVM's/);
});

test('--trace: a recorded kvm_page_fault trace is the workload, its vCPUs the guest\'s', async (t) => {
  const file = join(dir, 'trace.txt');
  writeFileSync(file, [
    'cpus=2',
    '       CPU 0/KVM-4242  [002]  5102.123457: kvm_page_fault:       vcpu 0 rip 0xffffffff81001234 address 0x0000000000200000 error_code 0x100000006',
    '       CPU 1/KVM-4243  [001]  5102.123460: kvm_page_fault:       vcpu 1 rip 0xffffffff81005678 address 0x0000000000300040 error_code 0x100000004',
    '       CPU 1/KVM-4243  [001]  5102.123470: kvm_entry:            vcpu 1, rip 0xffffffff81005678',
  ].join('\n'));
  const r = await cli(['bench', 'prefault-vs-lazy', '--trace', file, '--strategies', 'lazy,prefault', '--host-memory', 'shared', '--json']);
  t.is(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { results: { strategy: string; vcpus: number; exits: number; accesses: number }[] };
  t.is(doc.results[0]!.vcpus, 2);
  t.is(doc.results[0]!.accesses, 2);
  // One exit per page; both vCPUs link the same upper-level tables at once, so one may lose the CAS and fault again.
  t.true(doc.results[0]!.exits >= 2 && doc.results[0]!.exits <= 3, String(doc.results[0]!.exits));
  t.is(doc.results[1]!.exits, 0);
});

const bad: [string[], RegExp][] = [
  [['bench'], /needs a benchmark: prefault-vs-lazy/],
  [['bench', 'prefault-vs-lazy', '--strategies', 'lazy,eager'], /unknown strategy 'eager'/],
  [['bench', 'prefault-vs-lazy', '--memory', '3MiB', '--page-size', '2M'], /not a whole number of 2M pages/],
  [['bench', 'prefault-vs-lazy', '--vcpus', '0'], /--vcpus must be an integer/],
  [['bench', 'prefault-vs-lazy', '--cost', 'exit=3'], /unknown cost 'exit'/],
  [['bench', 'prefault-vs-lazy', '--workload', 'zipf', '--trace', 'x'], /--workload or --trace, not both/],
  [['bench', 'prefault-vs-lazy', '--trace', '/nonexistent/trace.txt'], /no such file/],
  [['bench', 'prefault-vs-lazy', '--clock', 'cpu'], /--clock/],
  [['bench', 'prefault-vs-lazy', '--repeat', '3'], /--repeat applies to the wall clock/],
  [['bench', 'prefault-vs-lazy', '--out', '/dev/null/x'], /--out \/dev\/null\/x: /],
  [['bench', 'prefault-vs-lazy', '--page-size', '4K,8K'], /--page-size: unknown page size '8K'; valid: 4K, 2M, 1G/],
  [['bench', 'prefault-vs-lazy', '--memory', '256MiB', '--page-size', '4K,1G'], /--memory 256MiB is not a whole number of 1G pages/],
  [['bench', 'prefault-vs-lazy', '--clock', 'wall', '--repeat', '0'], /--repeat must be an integer/],
  [['bench', 'prefault-vs-lazy', '--host-memory', 'file'], /--host-memory: unknown host memory 'file'; valid: anonymous, shared, hugetlbfs/],
  [['bench', 'prefault-vs-lazy', '--host-memory', 'hugetlbfs'], /--host-memory hugetlbfs with --page-size 4K: hugetlbfs pages are 2M or 1G/],
  [['bench', 'prefault-vs-lazy', '--memory', '1GiB', '--page-size', '1G'], /--host-memory anonymous with --page-size 1G: 1G pages are hugetlbfs only/],
];
for (const [args, msg] of bad) {
  test(`bad input ${args.slice(1).join(' ')}: one line, exit 2`, async (t) => {
    const r = await cli(args);
    t.is(r.code, 2);
    t.regex(r.stderr, msg);
    t.is(r.stderr.trim().split('\n').length, 1);
  });
}

test('--page-size 4K,2M: every point at each page size, side by side; the JSON names them; the charts get a row per size', async (t) => {
  const out = join(dir, 'pages');
  // Shared memory at 4K, hugetlbfs at 2M (each host memory runs at the page sizes it has).
  const r = await cli(['bench', 'prefault-vs-lazy', '--memory', '8MiB', '--vcpus', '1', '--strategies', 'lazy,prefault', '--page-size', '4K,2M', '--host-memory', 'shared,hugetlbfs', '--json', '--out', out]);
  t.is(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { pageSizes: string[]; results: { strategy: string; pageSize: string; exits: number }[] };
  t.deepEqual(doc.pageSizes, ['4K', '2M']);
  t.deepEqual(doc.results.map((x) => [x.pageSize, x.strategy]), [['4K', 'lazy'], ['4K', 'prefault'], ['2M', 'lazy'], ['2M', 'prefault']]);
  const lazy4k = doc.results[0]!.exits;
  const lazy2m = doc.results[2]!.exits;
  t.true(lazy2m * 64 <= lazy4k, `2M pages take far fewer exits: ${lazy2m} vs ${lazy4k}`);
  const spec = JSON.parse(readFileSync(join(out, 'time-vs-memory.vl.json'), 'utf8')) as { facet: { row?: { field: string } } };
  t.is(spec.facet.row?.field, 'pageSize');
});

test('a malformed trace line: one line naming it, exit 2', async (t) => {
  const file = join(dir, 'bad-trace.txt');
  writeFileSync(file, 'CPU 0/KVM-1 [000] 1.0: kvm_page_fault: vcpu 0 rip 0x0 address 0x1000 error_code 0x4\nCPU 0/KVM-1 [000] 1.1: kvm_page_fault: vcpu 0 rip oops\n');
  const r = await cli(['bench', 'prefault-vs-lazy', '--trace', file]);
  t.is(r.code, 2);
  t.regex(r.stderr, /trace line 2: /);
  t.is(r.stderr.trim().split('\n').length, 1);
});

test('a binary recording instead of its text: one line saying which command gives the text, exit 2', async (t) => {
  for (const [magic, tool] of [[Buffer.concat([Buffer.from([0x17, 0x08, 0x44]), Buffer.from('tracing6\0\0\0')]), 'trace-cmd report'], [Buffer.from('PERFILE2\0\0\0\0'), 'perf script']] as const) {
    const file = join(dir, `recording-${tool.split(' ')[0]}`);
    writeFileSync(file, magic);
    const r = await cli(['bench', 'prefault-vs-lazy', '--trace', file]);
    t.is(r.code, 2);
    t.regex(r.stderr, new RegExp(`a binary .* recording; give its text: ${tool} -i `));
    t.is(r.stderr.trim().split('\n').length, 1);
  }
});

test('a trace with more vCPUs than the model runs: one line, exit 2', async (t) => {
  const file = join(dir, 'wide-trace.txt');
  writeFileSync(file, Array.from({ length: 300 }, (_, v) => `CPU ${v}/KVM-1 [000] 1.0: kvm_page_fault: vcpu ${v} rip 0x0 address 0x1000 error_code 0x4`).join('\n'));
  const r = await cli(['bench', 'prefault-vs-lazy', '--trace', file]);
  t.is(r.code, 2);
  t.regex(r.stderr, /300 vCPUs; the model runs at most 255/);
  t.is(r.stderr.trim().split('\n').length, 1);
});

test('on a terminal the progress is a bar redrawn in place', async (t) => {
  const { runCli } = await import('../../src/cli/program.js');
  let err = '';
  let out = '';
  const code = await runCli(['bench', 'prefault-vs-lazy', '--memory', '4MiB', '--vcpus', '1', '--strategies', 'lazy,prefault'], { out: (s) => { out += s; }, err: (s) => { err += s; } }, true);
  t.is(code, 0);
  t.regex(err, /^\r\x1b\[K\[#{12}\.{12}\] 1\/2 4MiB 1 vCPU 4K anonymous lazy: /);
  t.regex(err, /\r\x1b\[K\[#{24}\] 2\/2 4MiB 1 vCPU 4K anonymous prefault: .*\n$/);
  t.regex(out, /^prefault +[0-9.]+/m);
});

test('on a terminal a long simulated run shows how far it has got and about how long is left', async (t) => {
  const { runCli } = await import('../../src/cli/program.js');
  let err = '';
  const code = await runCli(['bench', 'prefault-vs-lazy', '--memory', '64MiB', '--vcpus', '1', '--strategies', 'prefault', '--workload', 'sequential'], { out: () => {}, err: (s) => { err += s; } }, true);
  t.is(code, 0);
  t.regex(err, /\r\x1b\[K\[\.{24}\] 0\/1 64MiB 1 vCPU 4K anonymous prefault: [0-9]{1,2}%( ~[0-9m]+s left)?/);
});
