/**
 * One refusal out of zod's issues: the one a reader should fix first, as a FieldError with
 * the field's path (`ops[3].gpa`) and a one-line detail. Unknown fields win over what they
 * hide (a misspelt `sizee` is the news, not the missing `size`); a union's refusal is
 * reported from inside the one alternative that matched the value's shape; an absent
 * required field says what its object needs.
 */

import type { z } from 'zod';
import { FieldError, showValue } from './numbers.js';

type Key = PropertyKey;
type Issue = z.core.$ZodIssue;

/** `ops[3].gpa` from ['ops', 3, 'gpa']. */
export function formatPath(path: readonly Key[]): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  return out;
}

const isPrefix = (p: readonly Key[], of: readonly Key[]): boolean => p.length <= of.length && p.every((k, i) => k === of[i]);

function pick(issues: readonly Issue[]): Issue {
  const first = issues[0]!;
  let best: Issue | null = null;
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys' && isPrefix(iss.path, first.path) && (best === null || iss.path.length < best.path.length)) best = iss;
  }
  return best ?? first;
}

/** Into the single alternative of a union that failed below its top (a list with a bad element). */
function descend(iss: Issue): Issue {
  let cur = iss;
  while (cur.code === 'invalid_union') {
    const deeper = cur.errors.filter((b) => b.length > 0 && b[0]!.path.length > 0);
    if (deeper.length !== 1) break;
    const inner = deeper[0]![0]!;
    cur = { ...inner, path: [...cur.path, ...inner.path] } as Issue;
  }
  return cur;
}

function valueAt(doc: unknown, path: readonly Key[]): { parent: unknown; value: unknown } {
  let parent: unknown = undefined;
  let value: unknown = doc;
  for (const k of path) {
    parent = value;
    value = parent !== null && typeof parent === 'object' ? (parent as Record<Key, unknown>)[k] : undefined;
  }
  return { parent, value };
}

type AnySchema = z.core.$ZodType;
const defOf = (s: AnySchema): Record<string, unknown> & { type: string } => s._zod.def as unknown as Record<string, unknown> & { type: string };

/** Through optional/default/pipe wrappers, and into the option of a discriminated union that `v` selects. */
function unwrap(s: AnySchema | undefined, v: unknown): AnySchema | null {
  let cur = s;
  while (cur !== undefined) {
    const def = defOf(cur);
    if (['optional', 'default', 'prefault', 'nullable', 'readonly'].includes(def.type)) cur = def.innerType as AnySchema;
    else if (def.type === 'pipe') cur = def.in as AnySchema;
    else if (def.type === 'union' && typeof def.discriminator === 'string') {
      const want = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[def.discriminator] : undefined;
      cur = (def.options as AnySchema[]).find((o) => {
        const shape = defOf(unwrap(o, undefined)!).shape as Record<string, AnySchema> | undefined;
        const lit = shape?.[def.discriminator as string];
        return lit !== undefined && (defOf(lit).values as unknown[] | undefined)?.includes(want);
      });
    } else return cur;
  }
  return null;
}

/** The object schema that holds the field at `path` (null when the path leaves the schema). */
function parentObject(root: AnySchema, doc: unknown, path: readonly Key[]): AnySchema | null {
  let s: AnySchema | null = root;
  let v: unknown = doc;
  for (const k of path.slice(0, -1)) {
    s = unwrap(s ?? undefined, v);
    if (s === null) return null;
    const def = defOf(s);
    if (def.type === 'object') s = (def.shape as Record<Key, AnySchema>)[k] ?? null;
    else if (def.type === 'array') s = def.element as AnySchema;
    else return null;
    v = v !== null && typeof v === 'object' ? (v as Record<Key, unknown>)[k] : undefined;
  }
  const obj = unwrap(s ?? undefined, v);
  return obj !== null && defOf(obj).type === 'object' ? obj : null;
}

const andList = (xs: readonly string[]): string => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

/** `missing (a pre_fault op needs gpa and size)` */
function missing(obj: AnySchema, key: Key): string {
  const shape = defOf(obj).shape as Record<string, AnySchema>;
  const title = (obj as { meta?: () => { title?: string } | undefined }).meta?.()?.title ?? 'this object';
  const required = Object.keys(shape).filter((k) => k !== 'actor' && k !== 'op' && !(shape[k] as { isOptional?: () => boolean }).isOptional?.());
  if (!required.includes(String(key))) return `missing (every op names its ${String(key)})`;
  return `missing (${title} needs ${andList(required)})`;
}

/** The FieldError to report for a failed parse of `doc` against `root`. */
export function firstFieldError(error: z.ZodError, doc: unknown, root: AnySchema): FieldError {
  const iss = descend(pick(error.issues));
  if (iss.code === 'unrecognized_keys') return new FieldError(formatPath([...iss.path, iss.keys[0]!]), iss.message);
  const path = formatPath(iss.path);
  const { parent, value } = valueAt(doc, iss.path);
  if (iss.code !== 'custom' && value === undefined && iss.path.length > 0 && parent !== null && typeof parent === 'object' && !Array.isArray(parent)) {
    const obj = parentObject(root, doc, iss.path);
    if (obj !== null) return new FieldError(path, missing(obj, iss.path[iss.path.length - 1]!));
  }
  return new FieldError(path, iss.message.includes('\n') ? `${iss.message.split('\n')[0]} (got ${showValue(value)})` : iss.message);
}

const WORDS: Readonly<Record<string, string>> = { string: 'a string', number: 'a number', boolean: 'true or false', object: 'an object', array: 'an array', int: 'an integer' };

/** Messages for what no field's own error function words (given to every parse). */
export function genericMessage(iss: z.core.$ZodRawIssue): string | undefined {
  if (iss.code === 'invalid_type') return `expected ${WORDS[iss.expected] ?? iss.expected}, got ${showValue(iss.input)}`;
  if (iss.code === 'invalid_value') return `expected one of ${iss.values.map(String).join(', ')}, got ${showValue(iss.input)}`;
  return undefined;
}
