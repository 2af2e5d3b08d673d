/**
 * How faultline declares its options on commander: a value option with its default shown in
 * `--help`, a closed set checked with the same one-line message as every other value
 * (`--NAME must be one of a, b, got 'c'`), repeatable options collected in order, the
 * `--mutate`/`--skip` pair every engine command takes, and the examples of a command's help.
 */

import { Option, type Command } from 'commander';
import { KERNEL_DEFAULT, KERNEL_RELEASES } from '../kvm/kernel-release.js';
import { PATCHES } from '../protocol/patches.js';
import { UsageError } from './args.js';

export interface OptionSettings {
  /** The value when the option is not given, shown as `default: …` in the help. */
  readonly default?: string;
  /** A default that depends on other options: only shown in the help (the command applies it). */
  readonly defaultNote?: string;
  /** The closed set of values. */
  readonly choices?: readonly string[];
  /** Collected into an array, in command-line order. */
  readonly repeatable?: boolean;
}

const DEFAULT_NOTES = new WeakMap<Option, string>();

/** An option: `--name` (a flag) or `--name <VALUE>`, with its settings. */
export function option(flags: string, description: string, s: OptionSettings = {}): Option {
  const o = new Option(flags, description);
  if (s.choices !== undefined) {
    const choices = s.choices;
    o.choices(choices).argParser((raw: string) => {
      if (!choices.includes(raw)) throw new UsageError(`--${o.name()} must be one of ${choices.join(', ')}, got '${raw}'`);
      return raw;
    });
  }
  if (s.repeatable === true) {
    // A repeatable option with choices checks each value (commander keeps one parser).
    const choices = s.choices;
    o.argParser((raw: string, previous: string[] | undefined) => {
      if (choices !== undefined && !choices.includes(raw)) throw new UsageError(`--${o.name()} must be one of ${choices.join(', ')}, got '${raw}'`);
      return [...(previous ?? []), raw];
    });
  }
  if (s.default !== undefined) o.default(s.default, s.default);
  if (s.defaultNote !== undefined) DEFAULT_NOTES.set(o, s.defaultNote);
  return o;
}

/** `--mutate` and `--skip`: the mutations of the protocol (validated by the command against the machines). */
export function mutationOptions(what = ''): Option[] {
  return [
    option('--mutate <GUARD=BOOL>', `force a guard${what}: MACHINE.GUARD=true|false, e.g. page-fault.mmuInvalidateRetryGfn=false (repeatable)`, { repeatable: true }),
    option('--skip <ACTION>', `skip an action${what}: MACHINE.ACTION, e.g. invalidation.kvmFlushRemoteTlbs (repeatable)`, { repeatable: true }),
  ];
}

/** `--patch NAME`: a candidate kernel fix tried in the model (src/protocol/patches.ts), repeatable. */
export function patchOption(what = ''): Option {
  return option('--patch <NAME>', `apply a candidate fix${what} (repeatable): ${PATCHES.map((p) => `${p.name} — ${p.summary}`).join('; ')}`, { choices: PATCHES.map((p) => p.name), repeatable: true });
}

/** `--kernel X.Y`: the kernel release the VM runs ('faultline kernels' lists what differs); it overrides the scenario's. */
export function kernelOption(defaultNote = `the scenario's, else ${KERNEL_DEFAULT}`): Option {
  return option('--kernel <X.Y>', "the kernel release the VM runs ('faultline kernels' lists what differs between them)", { choices: KERNEL_RELEASES, defaultNote });
}

/** The help's description of one option: its text, then its choices and default. */
export function describeOption(o: Option): string {
  const extra: string[] = [];
  if (o.argChoices !== undefined) extra.push(`one of ${o.argChoices.join(', ')}`);
  const note = DEFAULT_NOTES.get(o) ?? (o.defaultValue !== undefined && !o.isBoolean() ? String(o.defaultValueDescription ?? o.defaultValue) : undefined);
  if (note !== undefined) extra.push(`default: ${note}`);
  return extra.length === 0 ? o.description : `${o.description} (${extra.join('; ')})`;
}

/** Adds the examples to the end of a command's help; each line a whole command line. */
export function withExamples(cmd: Command, lines: readonly string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`);
}
