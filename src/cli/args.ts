/**
 * The values of faultline's options: integers, sizes (`1GiB`), durations (`10s`) and
 * comma lists, each checked with a one-line message naming the option. Every mistake is a
 * UsageError (the CLI prints it as `faultline: <message>` and exits 2). The parser of the
 * command line itself is commander (program.ts); these are what it hands its strings to.
 */

import { FieldError, parseUnsigned } from '../workload/numbers.js';

/** Bad command-line input. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An unsigned 32-bit integer option (decimal or 0x…), e.g. --seed. */
export function parseU32Option(name: string, raw: string): number {
  const s = raw.trim();
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(s)) throw new UsageError(`--${name} must be an integer in 0..4294967295, got '${raw}'`);
  const v = Number(s);
  if (!Number.isSafeInteger(v) || v > 0xffffffff) throw new UsageError(`--${name} must be an integer in 0..4294967295, got '${raw}'`);
  return v;
}

/** A decimal integer option in `min..max`, e.g. --vcpus, --budget. */
export function parseIntIn(name: string, raw: string, min: number, max: number): number {
  const v = Number(raw);
  if (!/^[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}, got '${raw}'`);
  return v;
}

/** A size in bytes (`1GiB`, `512MiB`, `0x200000`) in `min..max`, a multiple of 4KiB. */
export function parseSize(name: string, raw: string, min: number, max: number): number {
  let v: bigint;
  try {
    v = parseUnsigned(raw, `--${name}`);
  } catch (e) {
    throw new UsageError(e instanceof FieldError ? `--${name}: ${e.detail}` : (e as Error).message);
  }
  if (v < BigInt(min) || v > BigInt(max)) throw new UsageError(`--${name} must be between ${min} and ${max} bytes (${max / 2 ** 30} GiB), got '${raw}'`);
  if (v % 4096n !== 0n) throw new UsageError(`--${name} must be a multiple of 4KiB, got '${raw}'`);
  return Number(v);
}

/** `10s`, `500ms`, `2m`, or a bare number of seconds; returns milliseconds. */
export function parseDuration(name: string, raw: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`--${name} must be a duration like 10s, 500ms or 2m, got '${raw}'`);
  const v = Number(m[1]);
  return m[2] === 'ms' ? v : m[2] === 'm' ? v * 60_000 : v * 1000;
}

/** `a,b , c` → ['a', 'b', 'c'] (empty items dropped). */
export function splitList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** `--shard i/n`: shard i of n, 0 ≤ i < n (`race explore`, `race swarm`, `bench`). */
export function parseShard(raw: string): { i: number; n: number } {
  const m = /^([0-9]+)\/([1-9][0-9]*)$/.exec(raw.trim());
  if (!m || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard must be i/n with 0 ≤ i < n, got '${raw}'`);
  return { i: Number(m[1]), n: Number(m[2]) };
}
