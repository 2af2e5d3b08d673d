// Goal: every catalogue entry and the Finding export to C that builds with `cc -Wall -Werror -pthread` against the installed headers and runs as a kselftest — one line, exit 4 without /dev/kvm (0 or 4 with it); method: export in-process, compile, run two windows.

import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportC } from '../../src/export/export.js';
import { explore, kernelOf, resolveTarget } from '../../src/race/race.js';
import { decodeToken } from '../../src/race/token.js';
import { CATALOGUE } from '../../src/workload/catalogue.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-export-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const kvm = ((): boolean => {
  try { accessSync('/dev/kvm', constants.R_OK | constants.W_OK); return true; } catch { return false; }
})();

/** Writes, compiles and runs (two windows, 5 s watchdog) one reproducer; returns its exit status and output. */
function buildAndRun(name: string, c: string): { code: number; out: string } {
  const src = join(dir, `${name}.c`);
  writeFileSync(src, c);
  execFileSync('cc', ['-Wall', '-Werror', '-pthread', '-o', join(dir, name), src], { stdio: 'pipe' });
  const r = spawnSync(join(dir, name), ['-n', '2', '-w', '5'], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout };
}

for (const entry of CATALOGUE) {
  test(`catalogue ${entry.name}: exports, compiles cleanly, runs as a kselftest`, (t) => {
    const target = resolveTarget(entry.name);
    const entryFacts = { ref: entry.ref, fix: entry.commit, summary: entry.summary, ...(entry.kernel !== undefined ? { kernel: entry.kernel } : {}) };
    const { c } = exportC({ scenario: target.scenario, target: target.id, kernel: kernelOf(target, {}), token: null, entry: entryFacts, runs: 2 });
    t.regex(c, /^\/\*\n \* faultline reproducer: /);
    t.false(/[^\x00-\x7f]/.test(c), 'the file is ASCII');
    const header = c.slice(0, c.indexOf(' */')).replace(/\n \* ?/g, ' ');
    t.true(header.includes(`Catalogue entry ${entry.ref}: `), header);
    t.true(header.includes(`(${entry.commit.hash})`), header);
    const r = buildAndRun(entry.name, c);
    const lines = r.out.split('\n').filter((l) => l !== '');
    if (!kvm) {
      t.is(r.code, 4, r.out);
      t.deepEqual(lines, [`SKIP ${target.scenario.name}: /dev/kvm: No such file or directory`]);
    } else {
      t.true(r.code === 0 || r.code === 4, r.out);
      t.is(lines.length, 1, r.out);
      t.regex(lines[0]!, /^(PASS|SKIP) /);
    }
  });
}

test('the Finding: its token exports with the livelock it predicts, compiles, runs', (t) => {
  const target = resolveTarget('docs/findings/prefault-during-slot-delete.json');
  const found = explore(target, { scheduler: 'random', budget: 1000 });
  t.true(found.found);
  const tok = decodeToken(found.token!);
  t.is(tok.violation, 'livelock');
  const { c } = exportC({ scenario: target.scenario, target: target.id, kernel: '6.19', token: { text: found.token!, violation: tok.violation, mutate: tok.mutate, skip: tok.skip, stuck: ['op #1 vcpu0 KVM_PRE_FAULT_MEMORY [0x0, +0x200000) until done'] }, runs: 2 });
  t.regex(c, /The model predicts a livelock on 6\.19 without any mutation/);
  t.regex(c, /never returned/);
  t.regex(c, /\.kind = OP_PRE_FAULT, .*\.until_done = 1, \.after = -1/);
  const r = buildAndRun('finding', c);
  if (!kvm) t.is(r.code, 4, r.out);
  else t.true(r.code === 0 || r.code === 4 || (r.code === 1 && /never returned/.test(r.out)), r.out);
  t.regex(r.out, /^(PASS|SKIP|FAIL) prefault-during-other-slot-delete: /);
});

test('an entry fixed within the modelled releases: exported on the release before the fix, whose unmutated model livelocks', (t) => {
  const target = resolveTarget('prefault-invalid-slot-retry');
  t.is(kernelOf(target, {}), '6.17');
  const { c, expectations } = exportC({ scenario: target.scenario, target: target.id, kernel: '6.17', token: null, runs: 4 });
  t.true((expectations.violations.livelock ?? 0) > 0);
  t.regex(c.replace(/\n \* ?/g, ' '), /The unmutated 6\.17 model itself shows livelock in \d+ of its \d+ runs/);
});
