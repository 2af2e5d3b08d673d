// Goal: a race test in a project's own suite is a few lines — `import { explore } from 'faultline'` as an ava macro (and a node:test helper) — and a failure prints the violation, the column trace and a token that replays; method: the package imported by its own name (its exports), a few catalogue entries tested through the macro, a failing spec judged, node:test run in a child process.

import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { explore, exploreRace, RaceTestError, type AssertionsLike } from 'faultline';
import { replay } from '../../src/race/race.js';
import { decodeToken } from '../../src/race/token.js';

// The project's own catalogue entries, tested the way a patch author would test a patch.
test(explore, { scenario: 'seq-check', budget: 300 });
test(explore, { scenario: 'seq-check', bug: true, expect: 'use-after-free' });
test('the classic race from its scenario file, the retry check forced off', explore, {
  scenario: new URL('../../../scenarios/races/seq-check.json', import.meta.url), mutate: ['page-fault.mmuInvalidateRetryGfn=false'], expect: 'violation',
});
test(explore, { scenario: 'zap-without-flush', bug: true, expect: 'use-after-free' });
test(explore, { scenario: 'prefault-keeps-obsolete-root', kernel: '6.14', expect: 'livelock' });
test(explore, { scenario: 'prefault-keeps-obsolete-root', kernel: '6.15', budget: 100 });
test('the README Finding with the candidate fix applied stays clean', explore, {
  scenario: new URL('../../../docs/findings/prefault-during-slot-delete.json', import.meta.url), patch: ['prefault-reload-obsolete-roots'], budget: 30,
});
test.failing('a failing race test fails (ava\'s side: the macro calls t.fail)', explore, { scenario: 'seq-check', bug: true });

test('the title without one given: scenario, release, mutations, expectation', (t) => {
  t.is(explore.title(undefined, { scenario: 'seq-check', kernel: '6.15', mutate: ['a.b=false'], expect: 'violation' }), 'seq-check on 6.15 with a.b=false: a violation');
  t.is(explore.title('mine', { scenario: 'seq-check' }), 'mine');
});

test('a surprise prints the violation, the column trace and the token, which replays to it', (t) => {
  const failed: string[] = [];
  const ctx: AssertionsLike = { pass: () => t.fail('passed'), fail: (m) => failed.push(m ?? ''), log: () => {} };
  explore.exec(ctx, { scenario: 'seq-check', bug: true, expect: 'clean' });
  t.is(failed.length, 1);
  const m = failed[0]!;
  t.regex(m, /^seq-check with the entry's bug: clean — \d+ portfolio schedule\(s\), \d+ steps, found by [a-z0-9 ()]+: use-after-free found \(expected none\)$/m);
  t.regex(m, /^ {2}use-after-free at step \d+, actors /m);
  t.regex(m, /^ +step {2}vcpu0 .* seq\/in_progress {2}mmu_lock$/m);
  t.regex(m, /◀ use-after-free: /);
  const token = /^replay: faultline race replay (fl1\.[A-Za-z0-9_-]+)$/m.exec(m)![1]!;
  t.true(replay(decodeToken(token)).reproduced);
  const quiet = exploreRace({ scenario: 'seq-check', budget: 20, expect: 'violation' });
  t.false(quiet.pass);
  t.regex(quiet.message, /no violation found \(expected one\)/);
});

test('node:test: exploreTest passes a clean spec and fails a surprise with the trace and token', async (t) => {
  const file = fileURLToPath(new URL('node-test-races.js', import.meta.url));
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    execFile(process.execPath, ['--test', '--test-reporter=tap', file], (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err.code as number), out: stdout + stderr }));
  });
  t.is(r.code, 1, r.out);
  t.regex(r.out, /^ok 1 - the classic race stays closed$/m);
  t.regex(r.out, /^not ok 2 - the classic race with its bug put back, expected clean$/m);
  t.regex(r.out, /RaceTestError/);
  t.regex(r.out, /replay: faultline race replay fl1\./);
  t.is(new RaceTestError(exploreRace({ scenario: 'seq-check', budget: 5 })).name, 'RaceTestError');
});
