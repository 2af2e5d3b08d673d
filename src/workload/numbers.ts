/**
 * Numeric fields of scenario files: JSON integers, `"0x…"` hex strings, decimal strings
 * and sizes such as `"4KiB"`, `"2MiB"`, `"1GiB"`, `"1TiB"`, `"512B"`.
 *
 * Units are binary: KiB/MiB/GiB/TiB and the one-letter forms K/M/G/T (as in QEMU's
 * `-m 4G`) all mean powers of 1024. `KB`/`MB`/`GB`/`TB` are refused as ambiguous (SI or
 * binary?) rather than guessed. u64 fields (the uAPI structs' `__u64`) parse to `bigint`
 * over the full range 0..2^64-1, so a value the kernel itself rejects — unaligned, or
 * wrapping like `"0xfffffffffffff000"` — reaches the model intact and gets the kernel's
 * errno. Negative numbers, fractions, values above 2^64-1 and anything unparseable are
 * bad input: a FieldError whose one-line message names the field path.
 */

/** Bad input in one field: `path` is the field (`ops[3].size`), `detail` what is wrong with it. */
export class FieldError extends Error {
  constructor(readonly path: string, readonly detail: string) {
    super(`${path}: ${detail}`);
    this.name = 'FieldError';
  }
}

export const U64_MAX = (1n << 64n) - 1n;

const UNIT_SHIFT: Readonly<Record<string, bigint>> = {
  b: 0n, k: 10n, kib: 10n, m: 20n, mib: 20n, g: 30n, gib: 30n, t: 40n, tib: 40n,
};

const EXPECTED = 'expected an integer, "0x…" or a size like "2MiB"';

/** Renders a JSON value for an error message (strings quoted, long values cut). */
export function showValue(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v);
  else if (typeof v === 'bigint') s = `0x${v.toString(16)}`;
  else if (v === undefined) s = 'nothing';
  else s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/**
 * parseUnsigned(): any accepted spelling of a non-negative integer, as a bigint with no
 * upper bound yet (the caller applies its range). Throws FieldError naming `path`.
 */
export function parseUnsigned(value: unknown, path: string): bigint {
  if (typeof value === 'number') return fromJsonNumber(value, path);
  if (typeof value !== 'string') throw new FieldError(path, `${EXPECTED}, got ${showValue(value)}`);
  const s = value.trim();
  if (/^0x[0-9a-f]+$/i.test(s)) return BigInt(s);
  if (/^[0-9]+$/.test(s)) return BigInt(s);
  const m = /^([0-9]+)\s?([a-z]+)$/i.exec(s);
  if (m) {
    const unit = m[2]!.toLowerCase();
    const shift = UNIT_SHIFT[unit];
    if (shift !== undefined) return BigInt(m[1]!) << shift;
    if (/^[kmgt]b$/.test(unit)) {
      throw new FieldError(path, `${showValue(value)} is ambiguous: sizes use binary units (B, KiB, MiB, GiB, TiB, or K, M, G, T, all powers of 1024); write "${m[1]}${unit[0]!.toUpperCase()}iB"`);
    }
  }
  if (/^-\s*[0-9]/.test(s)) throw new FieldError(path, `must not be negative, got ${showValue(value)}`);
  if (/^[0-9]*\.[0-9]/.test(s)) throw new FieldError(path, `must be a whole number, got ${showValue(value)}`);
  throw new FieldError(path, `${EXPECTED}, got ${showValue(value)} (size units are binary: B, KiB, MiB, GiB, TiB or K, M, G, T)`);
}

function fromJsonNumber(n: number, path: string): bigint {
  if (!Number.isFinite(n)) throw new FieldError(path, `${EXPECTED}, got ${showValue(n)}`);
  if (n < 0) throw new FieldError(path, `must not be negative, got ${showValue(n)}`);
  if (!Number.isInteger(n)) throw new FieldError(path, `must be a whole number, got ${showValue(n)}`);
  if (!Number.isSafeInteger(n)) {
    throw new FieldError(path, `${showValue(n)} is above 2^53 and lost precision as a JSON number; write it as a string ("0x…" or decimal)`);
  }
  return BigInt(n);
}

/** A `__u64` field: 0..2^64-1 as a bigint. */
export function parseU64(value: unknown, path: string): bigint {
  const v = parseUnsigned(value, path);
  if (v > U64_MAX) throw new FieldError(path, `${showValue(value)} does not fit in 64 bits (max 0xffffffffffffffff)`);
  return v;
}

/**
 * A field the model keeps as a JS number: 0..max (inclusive), e.g. a guest access's gpa
 * (below 2^52) or a vCPU count. `what` describes the bound in the message.
 */
export function parseBoundedNumber(value: unknown, path: string, max: number, what = `at most ${max}`): number {
  const v = parseUnsigned(value, path);
  if (v > BigInt(max)) throw new FieldError(path, `${showValue(value)} is out of range (must be ${what})`);
  return Number(v);
}

/** A field that must be a plain JSON integer in [min, max] (counts, slot ids, repeat). */
export function parseIntegerField(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new FieldError(path, `expected an integer in ${min}..${max}, got ${showValue(value)}`);
  if (value < min || value > max) throw new FieldError(path, `${value} is out of range ${min}..${max}`);
  return value;
}

/** Formats a byte count with the largest binary unit that divides it exactly (`2MiB`, `0x1800`). */
export function formatSize(bytes: bigint | number): string {
  const b = BigInt(bytes);
  if (b === 0n) return '0';
  for (const [unit, shift] of [['TiB', 40n], ['GiB', 30n], ['MiB', 20n], ['KiB', 10n]] as const) {
    if (b % (1n << shift) === 0n) return `${b >> shift}${unit}`;
  }
  return `0x${b.toString(16)}`;
}

/** `0x…` of a number or bigint. */
export function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}
