/**
 * commander's parse errors as faultline's: one line, naming the command and what to do
 * (`unknown option '--x' for 'stress'; see 'faultline stress --help'`), thrown as a
 * UsageError so the CLI prints `faultline: <message>` and exits 2. Help and version are
 * not errors: their CommanderError (exit code 0) is passed through for the caller to end
 * cleanly. A command may give its own words for a missing argument or subcommand.
 */

import { CommanderError, type Command } from 'commander';
import { UsageError } from './args.js';

export interface CommandWords {
  /** When a required argument is missing, e.g. "'race shrink' needs one TOKEN". */
  readonly missing?: string;
  /** When a command of subcommands is given none, e.g. "'bench' needs a benchmark: prefault-vs-lazy". */
  readonly needs?: string;
}

const WORDS = new WeakMap<Command, CommandWords>();

/** Gives `cmd` its own words for its errors. */
export function withWords<C extends Command>(cmd: C, words: CommandWords): C {
  WORDS.set(cmd, words);
  return cmd;
}

/** `scenario run` for the `run` command under `scenario`; '' for the program itself. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

const helpHint = (path: string): string => `see 'faultline ${path === '' ? '' : `${path} `}--help'`;

/** commander's "(Did you mean --json?)" as `; did you mean --json?`, or ''. */
function suggestion(message: string): string {
  const m = /\(Did you mean ([^?]+)\?\)/.exec(message);
  return m ? ` (did you mean ${m[1]}?)` : '';
}

function subcommandNames(cmd: Command): string {
  return cmd.commands.map((c) => c.name()).join(', ');
}

function unknownOption(e: CommanderError, cmd: Command, path: string): UsageError {
  const flag = /unknown option '([^']*)'/.exec(e.message)?.[1] ?? '?';
  const eq = flag.indexOf('=');
  const named = eq > 0 ? cmd.options.find((o) => o.long === flag.slice(0, eq)) : undefined;
  if (named !== undefined && named.isBoolean()) return new UsageError(`option ${named.long} takes no value`);
  return new UsageError(`unknown option '${flag}'${path === '' ? '' : ` for '${path}'`}${suggestion(e.message)}; ${helpHint(path)}`);
}

function unknownCommand(e: CommanderError, cmd: Command, path: string): UsageError {
  const word = cmd.args[0] ?? '';
  if (path === '') return new UsageError(`unknown command '${word}'${suggestion(e.message)}; commands: ${subcommandNames(cmd)} (${helpHint('')})`);
  return new UsageError(`unknown subcommand '${path} ${word}'${suggestion(e.message)}; try: ${subcommandNames(cmd)}`);
}

function excessArguments(cmd: Command, path: string): UsageError {
  const n = cmd.registeredArguments.length;
  if (n === 0) return new UsageError(`'${path}' takes no positional arguments, got: ${cmd.args.join(' ')}`);
  const takes = `${n} argument${n === 1 ? '' : 's'} (${cmd.registeredArguments.map((a) => a.name()).join(' ')})`;
  return new UsageError(`'${path}' takes ${takes}, got ${cmd.args.length}: ${cmd.args.join(' ')}`);
}

/** The error `cmd`'s parse ends with: a CommanderError with exit code 0 for help and version, else a UsageError. */
export function translate(e: CommanderError, cmd: Command): Error {
  if (e.exitCode === 0) return e;
  const path = commandPath(cmd);
  const words = WORDS.get(cmd) ?? {};
  switch (e.code) {
    case 'commander.help': // a command of subcommands given none
      if (path === '') return new UsageError(`missing command; try 'faultline --help'`);
      // (`faultline scenario help frob` ends here too.)
      if (cmd.args[0] === 'help' && cmd.args[1] !== undefined) return new UsageError(`no help for '${path} ${cmd.args[1]}': unknown subcommand; try: ${subcommandNames(cmd)}`);
      return new UsageError(words.needs ?? `'${path}' needs a subcommand: ${subcommandNames(cmd)}`);
    case 'commander.unknownOption':
      return unknownOption(e, cmd, path);
    case 'commander.unknownCommand':
      return unknownCommand(e, cmd, path);
    case 'commander.missingArgument':
      return new UsageError(words.missing ?? `'${path}' needs ${/argument '([^']*)'/.exec(e.message)?.[1] ?? 'an argument'}; ${helpHint(path)}`);
    case 'commander.excessArguments':
      return excessArguments(cmd, path);
    case 'commander.optionMissingArgument':
      return new UsageError(`option ${/option '(?:-\w, )?(--[\w-]+)/.exec(e.message)?.[1] ?? '?'} needs a value`);
    default:
      return new UsageError(e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, '; '));
  }
}

/** Is `e` the end of a help or version output (exit 0)? */
export function isCleanExit(e: unknown): boolean {
  return e instanceof CommanderError && e.exitCode === 0;
}
