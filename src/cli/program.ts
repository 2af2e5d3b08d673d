/**
 * The `faultline` command line on commander: the commands, `--help` on every one of them
 * (and `faultline help [COMMAND…]`), `--version`, and every parse error routed through
 * errors.ts so it is one line. commander writes help and version to the command's stdout
 * and nothing else: its own error output is switched off.
 */

import { readFileSync } from 'node:fs';
import { Command, type CommanderError } from 'commander';
import { UsageError } from './args.js';
import { benchCli } from './bench-cli.js';
import { isCleanExit, translate } from './errors.js';
import type { Ctx } from './ctx.js';
import type { Io } from './io.js';
import { machinesCli } from './machines-cli.js';
import { kernelsCli } from './kernels-cli.js';
import { kselftestCli } from './kselftest-cli.js';
import { describeOption, withExamples } from './options.js';
import { raceCli } from './race-cli.js';
import { scenarioCli } from './scenario-cli.js';
import { stressCli } from './stress-cli.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

const EXIT_STATUS = '\nExit status: 0 clean, 1 violation found (or the run stopped with an error), 2 bad input, 3 internal error.';

/** The whole command tree, its actions writing to `ctx.io` and leaving their exit status in `ctx.status`. */
export function buildProgram(ctx: Ctx): Command {
  const program = new Command('faultline')
    .description('a concurrent model of the Linux KVM x86 TDP MMU: scenarios, stress runs, pre-fault benchmarks and race reproduction')
    .usage('<command> [options]')
    .version(`faultline ${version()}`, '-V, --version', 'print the version')
    .enablePositionalOptions()
    .addCommand(scenarioCli(ctx))
    .addCommand(stressCli(ctx))
    .addCommand(raceCli(ctx))
    .addCommand(benchCli(ctx))
    .addCommand(machinesCli(ctx))
    .addCommand(kernelsCli(ctx))
    .addCommand(kselftestCli(ctx))
    .addCommand(withExamples(new Command('version').description('print the version').action(() => ctx.io.out(`faultline ${version()}\n`)), ['faultline version']));
  withExamples(program, ['faultline scenario run classic-race', 'faultline race explore seq-check', 'faultline stress --vcpus 8 --duration 30s', 'faultline help race explore']);
  program.addHelpText('after', EXIT_STATUS);
  configureTree(program, ctx.io);
  return program;
}

/** Every command: help and version to `io.out`, no error output of commander's own, errors as one line. */
function configureTree(cmd: Command, io: Io): void {
  cmd.configureOutput({ writeOut: (s) => io.out(s), writeErr: () => {}, outputError: () => {} });
  cmd.configureHelp({ optionDescription: describeOption, sortSubcommands: false });
  cmd.exitOverride((e: CommanderError) => {
    throw translate(e, cmd);
  });
  cmd.showSuggestionAfterError(true);
  for (const sub of cmd.commands) configureTree(sub, io);
}

/** `faultline help A B` → the command `A B`, whose help is then shown; an unknown word is bad input. */
function helpTarget(program: Command, words: readonly string[]): Command {
  let cmd = program;
  for (const [i, w] of words.entries()) {
    const next = cmd.commands.find((c) => c.name() === w);
    if (next === undefined) {
      const known = cmd.commands.map((c) => c.name()).join(', ');
      const where = i === 0 ? `unknown command '${w}'; commands: ${known}` : known === '' ? `'${words.slice(0, i).join(' ')}' has no subcommands` : `unknown subcommand '${words.slice(0, i + 1).join(' ')}'; try: ${known}`;
      throw new UsageError(`no help for '${words.join(' ')}': ${where}`);
    }
    cmd = next;
  }
  return cmd;
}

/** Runs one command line; returns the exit status. Throws for bad input (UsageError and the commands' own) and internal errors. */
export async function runCli(argv: readonly string[], io: Io, isTty = process.stderr.isTTY === true): Promise<number> {
  const ctx: Ctx = { io, isTty, status: 0 };
  const program = buildProgram(ctx);
  if (argv[0] === 'help') {
    helpTarget(program, argv.slice(1)).outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (isCleanExit(e)) return 0;
    throw e;
  }
  return ctx.status;
}
