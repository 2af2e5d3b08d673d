/**
 * The zod building blocks of the scenario schema: number forms, bounded integers, flag
 * sets, actor names and strict objects. Each builder gives zod the accepted forms (so the
 * JSON Schema says them too) and explains a refusal in one line through numbers.ts, the
 * single place that knows why a value is not a number.
 */

import { z } from 'zod';
import { FieldError, parseIntegerField, parseU64, parseUnsigned, showValue } from './numbers.js';

/** Every string spelling parseUnsigned() accepts: "0x…" hex, decimal, or a binary size ("2MiB", "4K", "512 B"). */
export const NUMBER_PATTERN = /^\s*(0[xX][0-9a-fA-F]+|[0-9]+(\s?([bBkKmMgGtT]|[kKmMgGtT][iI][bB]))?)\s*$/;

type Issue = { readonly input?: unknown };
type Explain = (iss: Issue) => string | undefined;

/** An error function that asks `parse` why the input is refused (undefined when it is not). */
export function explainBy(parse: (v: unknown, path: string) => unknown): Explain {
  return (iss) => {
    try {
      parse(iss.input, '');
    } catch (e) {
      if (e instanceof FieldError) return e.detail;
      throw e;
    }
    return undefined;
  };
}

/** A transform through a numbers.ts parser: its FieldError becomes an issue on the field. */
export function parsedBy<T>(parse: (v: unknown, path: string) => T) {
  return (v: unknown, ctx: z.RefinementCtx): T => {
    try {
      return parse(v, '');
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      ctx.issues.push({ code: 'custom', message: e.detail, input: v });
      return z.NEVER;
    }
  };
}

/** A JSON integer ≥ 0 or a numeric string, every refusal explained by `error`. */
export function numberForm(error: Explain) {
  return z.union([z.int({ error }).min(0, { error }), z.string({ error }).regex(NUMBER_PATTERN, { error })], { error });
}

const NUMBER_FORMS = 'an integer, a "0x…" hex string or a size with a binary unit ("4KiB", "2MiB", "1GiB")';

/** A `__u64` field (a bigint in the model, so the kernel's own checks see every value). */
export function u64Field(description: string) {
  return numberForm(explainBy(parseU64)).transform(parsedBy(parseU64)).meta({ description: `${description}: ${NUMBER_FORMS}` });
}

/** A number form the model keeps as a JS number, at most `max` (`what` says the bound). */
export function boundedField(description: string, max: number, what: string) {
  const parse = (v: unknown, path: string): number => {
    const b = parseUnsigned(v, path);
    if (b > BigInt(max)) throw new FieldError(path, `${showValue(v)} is out of range (must be ${what})`);
    return Number(b);
  };
  return numberForm(explainBy(parse)).transform(parsedBy(parse)).meta({ description: `${description}: ${NUMBER_FORMS}, ${what}` });
}

/**
 * A plain JSON integer in min..max. `limit` is a bound that depends on the environment
 * (FAULTLINE_…): checked, but kept out of the published JSON Schema.
 */
export function intField(description: string, min: number, max: number, limit?: number) {
  const hi = limit ?? max;
  const error = explainBy((v, p) => parseIntegerField(v, p, min, hi));
  const base = limit === undefined ? z.int({ error }).min(min, { error }).max(max, { error }) : z.int({ error }).min(min, { error });
  return base.transform(parsedBy((v, p) => parseIntegerField(v, p, min, hi))).meta({ description });
}

/** An enum whose refusal lists the choices. */
export function enumField<const T extends readonly [string, ...string[]]>(values: T, description: string) {
  return z.enum(values, { error: (iss) => `expected one of ${values.join(', ')}, got ${showValue(iss.input)}` }).meta({ description });
}

/** Boolean with the model's wording. */
export function boolField(description: string) {
  return z.boolean({ error: (iss) => `expected true or false, got ${showValue(iss.input)}` }).meta({ description });
}

export function textField(description: string) {
  return z.string({ error: (iss) => `expected a string, got ${showValue(iss.input)}` }).meta({ description });
}

/**
 * A flag-like field: a list of names, one name, or the kernel's integer (unknown bits pass
 * through for the kernel to judge). `what` names a flag in messages (`memslot flag`).
 */
export function flagsField<T extends number | bigint>(names: Readonly<Record<string, T>>, what: string, description: string, fromInt: (v: unknown, path: string) => T, noun = 'flags') {
  const keys = Object.keys(names) as [string, ...string[]];
  const list = keys.join(', ');
  const unknownName = (v: unknown): string => `unknown ${what} ${showValue(v)}; ${noun}: ${list} or an integer`;
  const explain: Explain = (iss) => {
    const v = iss.input;
    if (typeof v === 'string' && !NUMBER_PATTERN.test(v)) return unknownName(v);
    if (typeof v === 'number' || typeof v === 'string') return explainBy(fromInt)(iss);
    return `expected a list of ${what} names (${list}), one name or an integer, got ${showValue(v)}`;
  };
  const name = z.enum(keys, { error: (iss) => unknownName(iss.input) });
  const zero = (typeof Object.values(names)[0] === 'bigint' ? 0n : 0) as T;
  const toBits = (v: string | readonly string[] | number | string): T => {
    if (typeof v === 'number' || (typeof v === 'string' && !Object.prototype.hasOwnProperty.call(names, v))) return fromInt(v, '');
    let acc = 0n;
    for (const n of typeof v === 'string' ? [v] : v) acc |= BigInt(names[n]!);
    return (typeof zero === 'bigint' ? acc : Number(acc)) as T;
  };
  return z.union([z.array(name, { error: explain }), name, numberForm(explain)], { error: explain })
    .transform((v, ctx) => parsedBy(() => toBits(v))(v, ctx))
    .meta({ description: `${description}: a list of names (${list}), one name, or the integer value` });
}

/** Actor names: `vcpuN`, `host`, `vmm`. Which N exist is checked against vm.vcpus later. */
export const VCPU_PATTERN = /^vcpu(0|[1-9][0-9]*)$/;
export const ACTOR_LIST = 'vcpu0, vcpu1, …, host, vmm';

/**
 * A strict object (unknown fields are errors) with a title for messages and editors.
 * `noun` describes it when something else stands where it should be.
 */
export function strictObject<S extends z.ZodRawShape>(title: string, noun: string, shape: S) {
  const fields = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return `unknown field of ${title}; fields: ${fields}`;
      if (iss.code === 'invalid_type') return `expected ${noun}, got ${showValue(iss.input)}`;
      return undefined;
    },
  }).meta({ title });
}
