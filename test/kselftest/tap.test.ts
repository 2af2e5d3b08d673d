// Goal: the TAP writer prints TAP 13 as kselftest does — version, plan, ok / not ok with reason / ok # SKIP, one line each — and `faultline kselftest` prints it with exit 0 when all pass, 1 when a case fails, 2 for an unknown selftest; method: format fixed results, and spawn the built CLI.

import test from 'ava';
import { tapDocument, tapLine } from '../../src/kselftest/tap.js';
import { cli, oneErrorLine } from '../helpers/cli.js';

test('tap lines: ok, not ok with its reason, skip as ok # SKIP; newlines and # in names made safe', (t) => {
  t.is(tapLine(1, { name: 'a', status: 'ok' }), 'ok 1 a');
  t.is(tapLine(2, { name: 'b', status: 'not ok', reason: 'livelock:\n  spins' }), 'not ok 2 b # livelock: spins');
  t.is(tapLine(3, { name: 'c #1', status: 'skip', reason: 'vm_type tdx' }), 'ok 3 c -1 # SKIP vm_type tdx');
  t.is(tapDocument([{ name: 'a', status: 'ok' }], ['hello'], ['bye']), 'TAP version 13\n# hello\n1..1\nok 1 a\n# bye\n');
});

/** Every line of a TAP document is the version, the plan, a test line, or a diagnostic; the plan counts the test lines in order. */
function assertTap(t: import('ava').ExecutionContext, out: string): string[] {
  const lines = out.trimEnd().split('\n');
  t.is(lines[0], 'TAP version 13');
  const plan = lines.find((l) => /^1\.\.\d+$/.test(l));
  t.truthy(plan);
  const tests = lines.filter((l) => /^(not )?ok \d+ /.test(l));
  t.is(tests.length, Number(plan!.slice(3)));
  tests.forEach((l, i) => t.regex(l, new RegExp(`^(not )?ok ${i + 1} \\S`)));
  for (const l of lines) t.regex(l, /^(TAP version 13|1\.\.\d+|(not )?ok \d+ .+|# .*)$/);
  return tests;
}

test('cli: pre_fault_memory_test on the newest release is all ok, exit 0; on 6.17 not ok with the livelock, exit 1', async (t) => {
  const ok = await cli(['kselftest', 'pre_fault_memory_test']);
  t.is(ok.code, 0, ok.stderr);
  t.true(assertTap(t, ok.stdout).every((l) => l.startsWith('ok ')));
  const old = await cli(['kselftest', 'pre_fault_memory_test', '--kernel', '6.17']);
  t.is(old.code, 1, old.stderr);
  const lines = assertTap(t, old.stdout);
  t.regex(lines[0]!, /^not ok 1 pre_fault_memory_test: default: .* # livelock: .*invalid-slot/);
  const j = JSON.parse((await cli(['kselftest', 'pre_fault_memory_test', '--kernel', '6.17', '--json'])).stdout) as { kernel: string; failed: number; passed: number };
  t.is(j.kernel, '6.17');
  t.is(j.passed, 0);
});

test('cli: an unknown selftest, release, interleaving or mutation is one line, exit 2', async (t) => {
  oneErrorLine(t, await cli(['kselftest', 'no_such_test']), /^faultline: no modelled selftest 'no_such_test'; selftests: pre_fault_memory_test/);
  oneErrorLine(t, await cli(['kselftest', '--kernel', '5.15']), /--kernel must be one of 6\.11/);
  oneErrorLine(t, await cli(['kselftest', '--interleaving', 'x']), /--interleaving must be one of invalid-slot, obsolete-root/);
  oneErrorLine(t, await cli(['kselftest', '--skip', 'dirty-log.nope']), /unknown action 'nope' of machine 'dirty-log'/);
});

test('the package entry exports the suite: runSuite on 6.17 fails pre_fault_memory_test\'s twelve cases and tapDocument prints them', async (t) => {
  const { runSuite, selectSelftests, tapDocument } = await import('../../src/index.js');
  const run = runSuite(selectSelftests(['pre_fault_memory_test']), '6.17');
  t.is(run.failed, 12);
  t.is(run.interleaving, 'invalid-slot');
  t.regex(tapDocument(run.selftests.flatMap((s) => s.subtests)), /^TAP version 13\n1\.\.12\nnot ok 1 pre_fault_memory_test: default: /);
});
