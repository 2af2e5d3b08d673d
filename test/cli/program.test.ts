// Goal: every command and subcommand answers --help, -h and `faultline help …` with its options and an example (exit 0), an unknown option on any of them is one line with exit 2, and --vcpus is capped at VCPUS_MAX wherever it is taken; method: spawn the built CLI for each command of the program's own tree.

import test from 'ava';
import type { Command } from 'commander';
import { VCPUS_MAX } from '../../src/kvm/limits.js';
import { buildProgram } from '../../src/cli/program.js';
import { cli, oneErrorLine } from '../helpers/cli.js';

const program = buildProgram({ io: { out: () => {}, err: () => {} }, isTty: false, status: 0 });

/** Every command under the program, as its words: ['scenario'], ['scenario', 'run'], … */
function commandsOf(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return cmd.commands.flatMap((c) => [{ path: [...path, c.name()], cmd: c }, ...commandsOf(c, [...path, c.name()])]);
}
const COMMANDS = commandsOf(program);


const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('the program has the commands the documentation names', (t) => {
  t.deepEqual(COMMANDS.map((c) => c.path.join(' ')), [
    'scenario', 'scenario run', 'scenario list', 'stress', 'race', 'race list', 'race explore', 'race replay', 'race shrink', 'race merge', 'race swarm', 'race export',
    'bench', 'bench prefault-vs-lazy', 'machines', 'machines export', 'kernels', 'kselftest', 'version',
  ]);
});

test('faultline --help lists every command and the exit statuses; -h and help say the same', async (t) => {
  const r = await cli(['--help']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  t.regex(r.stdout, /^Usage: faultline <command> \[options\]$/m);
  for (const c of program.commands) t.regex(r.stdout, new RegExp(`^ {2}${c.name()}\\b.* {2}\\S`, 'm'), c.name());
  t.regex(r.stdout, /^Examples:$/m);
  t.regex(r.stdout, /^Exit status: 0 clean, 1 violation found .*, 2 bad input, 3 internal error\.$/m);
  t.is((await cli(['-h'])).stdout, r.stdout);
  t.is((await cli(['help'])).stdout, r.stdout);
});

for (const { path, cmd } of COMMANDS) {
  const name = path.join(' ');
  test(`${name} --help: usage, every option with its default, an example; -h and 'faultline help ${name}' the same`, async (t) => {
    const r = await cli([...path, '--help']);
    t.is(r.code, 0, r.stderr);
    t.is(r.stderr, '');
    t.regex(r.stdout, new RegExp(`^Usage: faultline ${esc(name)}\\b`, 'm'));
    t.regex(r.stdout, /^Options:$/m);
    t.regex(r.stdout, /^ {2}-h, --help +display help for command$/m);
    for (const o of cmd.options) {
      t.regex(r.stdout, new RegExp(`^ {2}${esc(o.flags)}( |$)`, 'm'), o.flags);
      if (o.defaultValue !== undefined && !o.isBoolean()) t.true(r.stdout.replace(/\s+/g, ' ').includes(`default: ${String(o.defaultValue)}`), `${o.flags} shows its default`);
    }
    for (const sub of cmd.commands) t.regex(r.stdout, new RegExp(`^ {2}${esc(sub.name())}\\b`, 'm'), sub.name());
    t.regex(r.stdout, /^Examples:$/m);
    t.regex(r.stdout, new RegExp(`^ {2}\\$ faultline ${esc(name)}\\b`, 'm'));
    // -h is commander's alias of --help (checked on the top level above and on one
    // subcommand here); 'faultline help …' is the program's own lookup: every command.
    if (name === 'race explore') t.is((await cli([...path, '-h'])).stdout, r.stdout);
    t.is((await cli(['help', ...path])).stdout, r.stdout);
  });

  test(`${name} --no-such-option: one line naming the command, exit 2`, async (t) => {
    oneErrorLine(t, await cli([...path, '--no-such-option']), new RegExp(`unknown option '--no-such-option' for '${esc(name)}'; see 'faultline ${esc(name)} --help'$`));
  });
}

test('a parse error never prints commander\'s usage: a missing value, an extra argument, a value given to a flag, a misspelt option', async (t) => {
  oneErrorLine(t, await cli(['stress', '--vcpus']), /^faultline: option --vcpus needs a value$/);
  oneErrorLine(t, await cli(['race', 'replay', 'fl1.x', 'fl1.y']), /'race replay' takes 1 argument \(TOKEN\), got 2: fl1\.x fl1\.y/);
  oneErrorLine(t, await cli(['race', 'list', '--json=yes']), /option --json takes no value/);
  oneErrorLine(t, await cli(['scenario', 'list', '--jsn']), /unknown option '--jsn' for 'scenario list' \(did you mean --json\?\)/);
  oneErrorLine(t, await cli(['help', 'race', 'run']), /no help for 'race run': unknown subcommand 'race run'; try: list, explore, replay, shrink/);
  oneErrorLine(t, await cli(['scenario', 'help', 'walk']), /no help for 'scenario walk': unknown subcommand; try: run, list$/);
  oneErrorLine(t, await cli(['--frobnicate']), /unknown option '--frobnicate'; see 'faultline --help'/);
});

const VCPU_COMMANDS = COMMANDS.filter((c) => c.cmd.options.some((o) => o.long === '--vcpus'));

test('--vcpus is taken by stress and bench prefault-vs-lazy, and its help names the cap VCPUS_MAX', async (t) => {
  t.deepEqual(VCPU_COMMANDS.map((c) => c.path.join(' ')), ['stress', 'bench prefault-vs-lazy']);
  for (const { path } of VCPU_COMMANDS) t.regex((await cli([...path, '--help'])).stdout, new RegExp(`--vcpus <N.*1\\.\\.${VCPUS_MAX}\\b`));
});

for (const { path } of VCPU_COMMANDS) {
  test(`${path.join(' ')} --vcpus ${VCPUS_MAX + 1}: one line naming the cap, exit 2`, async (t) => {
    oneErrorLine(t, await cli([...path, '--vcpus', String(VCPUS_MAX + 1)]), new RegExp(`--vcpus must be an integer in 1\\.\\.${VCPUS_MAX}, got '${VCPUS_MAX + 1}'`));
  });
}

test('bench --vcpus VCPUS_MAX with prefault-concurrent (one more vCPU) is bad input naming the cap; without it, the cap is accepted', async (t) => {
  oneErrorLine(t, await cli(['bench', 'prefault-vs-lazy', '--vcpus', String(VCPUS_MAX)]), new RegExp(`prefault-concurrent pre-faults from one more vCPU and the model runs at most ${VCPUS_MAX} \\(VCPUS_MAX\\); give at most ${VCPUS_MAX - 1}`));
  // The cap itself parses: the same command with a bad --seed fails on the seed, not on --vcpus.
  oneErrorLine(t, await cli(['bench', 'prefault-vs-lazy', '--vcpus', String(VCPUS_MAX), '--strategies', 'lazy', '--seed', 'x']), /--seed must be an integer/);
  oneErrorLine(t, await cli(['stress', '--vcpus', String(VCPUS_MAX), '--seed', 'x']), /--seed must be an integer/);
});
