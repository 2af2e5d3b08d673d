// Goal: `faultline race export` keeps its contract — a token or --scenario in, one C file out (or stdout), exit 0; bad input (both or neither, no --c, a damaged token, a scenario no real host can run) one line and exit 2; method: spawn the built CLI.

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, oneErrorLine } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-export-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('race export --scenario NAME --c FILE: writes the C file and says how to build it', async (t) => {
  const file = join(dir, 'seq-check.c');
  const r = await cli(['race', 'export', '--scenario', 'seq-check', '--c', file, '--runs', '2']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^wrote .*seq-check\.c: C reproducer of catalogue:seq-check from its scenario, model kernel 6\.19; 15 ops, allowed outcomes from \d+ clean of \d+ model runs$/m);
  t.regex(r.stdout, /^build: cc -Wall -Werror -pthread -o repro /m);
  t.regex(readFileSync(file, 'utf8'), /static const struct op ops_host\[3\] = \{/);
});

test('race export TOKEN --c -: the token\'s scenario on stdout, with its token and mutation in the header', async (t) => {
  const explored = await cli(['race', 'explore', 'seq-check']);
  const token = /^token: (\S+)$/m.exec(explored.stdout)?.[1];
  t.truthy(token);
  const r = await cli(['race', 'export', token!, '--c', '-', '--runs', '1']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^\/\*\n \* faultline reproducer: seq-check\n/);
  const header = r.stdout.slice(0, r.stdout.indexOf(' */')).replace(/\n \* ?/g, ' ');
  t.regex(header, /needs the model mutated \(--mutate page-fault\.mmuInvalidateRetryGfn=false\)/);
  t.regex(header, /Expect exit 0 on any kernel/);
});

test('race export: bad input is one line and exit 2', async (t) => {
  oneErrorLine(t, await cli(['race', 'export', '--c', join(dir, 'x.c')]), /a TOKEN or --scenario TARGET/);
  oneErrorLine(t, await cli(['race', 'export', 'fl1.abc', '--scenario', 'seq-check', '--c', join(dir, 'x.c')]), /not both/);
  oneErrorLine(t, await cli(['race', 'export', '--scenario', 'seq-check']), /needs --c FILE/);
  oneErrorLine(t, await cli(['race', 'export', 'fl1.abc', '--c', join(dir, 'x.c')]), /damaged/);
  const exec = join(dir, 'exec.json');
  writeFileSync(exec, JSON.stringify({ name: 'exec', description: 'd', vm: { type: 'default', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }], ops: [{ actor: 'vcpu0', op: 'access', gpa: '0x1000', access: 'exec' }] }));
  oneErrorLine(t, await cli(['race', 'export', '--scenario', exec, '--c', join(dir, 'x.c')]), /exec accesses are not reproduced/);
  oneErrorLine(t, await cli(['race', 'export', '--scenario', 'scenarios/prefault-selftest-default.json', '--c', join(dir, 'x.c')]), /above 4 GiB; the reproducer's guest is flat 32-bit/);
});
