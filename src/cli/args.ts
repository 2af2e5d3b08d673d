/**
 * Command-line parsing for faultline: `--name value`, `--name=value`, boolean flags,
 * repeatable options, positionals, and `--` to end options. Every mistake is a UsageError
 * with a one-line message (the CLI prints it as `faultline: <message>` and exits 2).
 */

/** Bad command-line input. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Without the leading dashes. */
  readonly name: string;
  /** flag: no value; value: one value (the last wins); multi: repeatable. */
  readonly kind: 'flag' | 'value' | 'multi';
  /** Allowed values, when the set is closed. */
  readonly choices?: readonly string[];
}

export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: Set<string>;
  readonly values: Map<string, string>;
  readonly multi: Map<string, string[]>;
}

/** parseArgs(): `argv` (after the command words) against `specs`; `command` names the command in messages. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: ParsedArgs = { positionals: [], flags: new Set(), values: new Map(), multi: new Map() };
  const known = (): string => (specs.length === 0 ? 'it takes no options' : `options: ${specs.map((s) => `--${s.name}`).join(', ')}`);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.positionals.push(arg);
      continue;
    }
    const body = arg.startsWith('--') ? arg.slice(2) : '';
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown option '${eq < 0 ? arg : `--${name}`}' for '${command}'; ${known()}`);
    if (spec.kind === 'flag') {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      out.flags.add(name);
      continue;
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`option --${name} needs a value`);
      value = next;
      i++;
    }
    if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}, got '${value}'`);
    if (spec.kind === 'value') out.values.set(name, value);
    else out.multi.set(name, [...(out.multi.get(name) ?? []), value]);
  }
  return out;
}

/** An unsigned 32-bit integer option (decimal or 0x…), e.g. --seed. */
export function parseU32Option(name: string, raw: string): number {
  const s = raw.trim();
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(s)) throw new UsageError(`--${name} must be an integer in 0..4294967295, got '${raw}'`);
  const v = Number(s);
  if (!Number.isSafeInteger(v) || v > 0xffffffff) throw new UsageError(`--${name} must be an integer in 0..4294967295, got '${raw}'`);
  return v;
}
