// Goal: `faultline kernels` prints the kernel-version table (text and JSON), and `--kernel X.Y` picks the release on every engine command — it overrides the scenario's, a token records it, a bad release is one line with exit 2; method: spawn the built CLI.

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KERNEL_CHANGES, KERNEL_RELEASES } from '../../src/kvm/kernel-release.js';
import { decodeToken } from '../../src/race/token.js';
import { cli, oneErrorLine } from '../helpers/cli.js';

const SCENARIOS = fileURLToPath(new URL('../../../scenarios/', import.meta.url));
const R12 = join(SCENARIOS, 'races/prefault-keeps-obsolete-root.json');
const dir = mkdtempSync(join(tmpdir(), 'faultline-kernels-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('kernels: every release and every row, with its commit, first release, before → after and race; --json the same and each release\'s switches', async (t) => {
  const r = await cli(['kernels']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^kernel releases modelled: 6\.11, .*6\.19 \(default 6\.19\)/);
  for (const c of KERNEL_CHANGES) {
    t.regex(r.stdout, new RegExp(`^${c.since.replace('.', '\\.')}  ${c.switch}$`, 'm'));
    t.true(r.stdout.includes(`commit  ${c.commit.hash} ${c.commit.title}`), c.switch);
  }
  t.regex(r.stdout, /race {4}R12 prefault-keeps-obsolete-root: runs on 6\.14, its control on 6\.15/);
  const j = JSON.parse((await cli(['kernels', '--json'])).stdout) as { releases: string[]; default: string; changes: { switch: string; since: string; catalogue: string | null }[]; profiles: Record<string, Record<string, boolean>> };
  t.deepEqual(j.releases, [...KERNEL_RELEASES]);
  t.is(j.default, '6.19');
  t.is(j.changes.length, KERNEL_CHANGES.length);
  t.is(j.changes.find((c) => c.switch === 'prefetchInvalidSlotEagain')?.catalogue, 'prefault-invalid-slot-retry');
  t.false(j.profiles['6.17']!.prefetchInvalidSlotEagain);
  t.true(j.profiles['6.18']!.prefetchInvalidSlotEagain);
});

test('scenario run --kernel: the same file livelocks on 6.14 and runs clean on 6.15; the flag overrides vm.kernel; the report names a release other than the default', async (t) => {
  const old = await cli(['scenario', 'run', R12, '--kernel', '6.14']);
  t.is(old.code, 1);
  t.regex(old.stdout, /laid out for [^;]+, kernel 6\.14;/);
  t.regex(old.stdout, /livelock/);
  const fixed = await cli(['scenario', 'run', R12, '--kernel', '6.15', '--json']);
  t.is(fixed.code, 0, fixed.stdout);
  t.is((JSON.parse(fixed.stdout) as { vm: { kernel: string } }).vm.kernel, '6.15');
  const doc = JSON.parse(readFileSync(R12, 'utf8')) as Record<string, unknown>;
  const file = join(dir, 'on-6.14.json');
  writeFileSync(file, JSON.stringify({ ...doc, $schema: undefined, race: undefined, vm: { ...(doc.vm as object), kernel: '6.14' } }));
  t.is((await cli(['scenario', 'run', file])).code, 1);
  t.is((await cli(['scenario', 'run', file, '--kernel', '6.19'])).code, 0);
});

test('race explore runs an entry on the release before its fix and --control on the release with it; the token records the release; replay and shrink take --kernel', async (t) => {
  const e = await cli(['race', 'explore', 'prefault-keeps-obsolete-root']);
  t.is(e.code, 1, e.stderr);
  t.regex(e.stdout, /^exploring catalogue:prefault-keeps-obsolete-root on 6\.14 — portfolio/m);
  const token = /^token: (fl1\.[A-Za-z0-9_-]+)$/m.exec(e.stdout)![1]!;
  const tok = decodeToken(token);
  t.is(tok.kernel, '6.14');
  t.deepEqual([tok.mutate, tok.skip], [[], []]);
  const c = await cli(['race', 'explore', 'prefault-keeps-obsolete-root', '--control']);
  t.is(c.code, 0, c.stdout);
  t.regex(c.stdout, /on 6\.15, the release with the fix/);
  t.is((await cli(['race', 'explore', 'prefault-keeps-obsolete-root', '--kernel', '6.15', '--budget', '20'])).code, 0);
  const r = await cli(['race', 'replay', token]);
  t.is(r.code, 1);
  t.regex(r.stdout, /^replaying catalogue:prefault-keeps-obsolete-root on 6\.14/);
  const r15 = await cli(['race', 'replay', token, '--kernel', '6.15']);
  t.is(r15.code, 0);
  t.regex(r15.stdout, /not reproduced: expected livelock, got no violation/);
  const s = await cli(['race', 'shrink', token, '--json']);
  t.is(s.code, 1);
  t.is(decodeToken((JSON.parse(s.stdout) as { token: string }).token).kernel, '6.14');
  t.is((await cli(['race', 'shrink', token, '--kernel', '6.15'])).code, 2);
});

test('a bad --kernel is one line and exit 2 on every command that takes it', async (t) => {
  const commands = [
    ['scenario', 'run', R12], ['race', 'explore', 'seq-check'], ['race', 'replay', 'fl1.x'], ['race', 'shrink', 'fl1.x'],
    ['stress', '--accesses', '10'], ['bench', 'prefault-vs-lazy', '--memory', '8MiB'],
  ];
  for (const cmd of commands) {
    const r = await cli([...cmd, '--kernel', '5.15']);
    t.is(r.code, 2, cmd.join(' '));
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.regex(r.stderr, /--kernel must be one of 6\.11, 6\.12, .*6\.19, got '5\.15'/);
  }
});

test('bench prefault-vs-lazy --kernel: the JSON says the release', async (t) => {
  const r = await cli(['bench', 'prefault-vs-lazy', '--memory', '8MiB', '--vcpus', '1', '--strategies', 'lazy,prefault', '--kernel', '6.14', '--json']);
  t.is(r.code, 0, r.stderr);
  t.is((JSON.parse(r.stdout) as { kernel: string }).kernel, '6.14');
});

test('161d34609f9b (6.16): a tdx VM before 6.16 is KVM_CREATE_VM\'s EINVAL — one line, exit 2, before any run; from 6.16 it runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-tdx-'));
  try {
    const file = join(dir, 'tdx.json');
    writeFileSync(file, JSON.stringify({ vm: { type: 'tdx', kernel: '6.15' }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB', flags: ['guest_memfd'] }], ops: [{ actor: 'vmm', op: 'finalize' }] }));
    for (const cmd of [['scenario', 'run', file], ['stress', '--vm-type', 'tdx', '--kernel', '6.15', '--accesses', '10']]) {
      const r = await cli(cmd);
      oneErrorLine(t, r, /KVM_CREATE_VM\(KVM_X86_TDX_VM\) is EINVAL on 6\.15: TDX VMs exist from 6\.16/);
    }
    t.is((await cli(['scenario', 'run', file, '--kernel', '6.16'])).code, 0, 'the flag overrides the file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
