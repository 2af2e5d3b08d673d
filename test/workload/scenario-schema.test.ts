// Goal: the published JSON Schema is the one the zod definition generates, every shipped scenario names it and passes both it and the parser, and editors get a description for every field; method: regenerate and compare, walk scenarios/, and check files against the JSON Schema with a small validator for the keywords it uses.

import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { SHIPPED_SCENARIO_DIR, shippedScenarioFiles } from '../../src/workload/scenario-files.js';
import { scenarioJsonSchemaText } from '../../src/workload/scenario-schema-write.js';
import { ScenarioError, SCENARIO_SCHEMA_FILE, parseScenario } from '../../src/workload/scenario.js';

type Schema = Record<string, unknown>;
const published = JSON.parse(readFileSync(`${SHIPPED_SCENARIO_DIR}${SCENARIO_SCHEMA_FILE}`, 'utf8')) as Schema;

/** Errors of `v` against `s`, for the keywords the generated schema uses (no $ref: it has none). */
function check(s: Schema, v: unknown, path: string): string[] {
  const errs: string[] = [];
  const kind = Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v;
  if (s.type !== undefined && s.type !== kind && !(s.type === 'number' && kind === 'integer')) return [`${path}: type ${kind}, want ${String(s.type)}`];
  if (s.const !== undefined && v !== s.const) errs.push(`${path}: not ${String(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.includes(v)) errs.push(`${path}: not in enum`);
  if (typeof s.pattern === 'string' && typeof v === 'string' && !new RegExp(s.pattern).test(v)) errs.push(`${path}: pattern`);
  if (typeof s.minimum === 'number' && typeof v === 'number' && v < s.minimum) errs.push(`${path}: below minimum`);
  if (typeof s.maximum === 'number' && typeof v === 'number' && v > s.maximum) errs.push(`${path}: above maximum`);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const alts = s[key] as Schema[] | undefined;
    if (alts === undefined) continue;
    const ok = alts.filter((a) => check(a, v, path).length === 0).length;
    if (key === 'anyOf' ? ok === 0 : ok !== 1) errs.push(`${path}: ${ok} of ${key} match`);
  }
  if (kind === 'array' && s.items !== undefined) (v as unknown[]).forEach((x, i) => errs.push(...check(s.items as Schema, x, `${path}[${i}]`)));
  if (kind === 'object') {
    const o = v as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[]) if (o[r] === undefined) errs.push(`${path}.${r}: required`);
    for (const [k, x] of Object.entries(o)) {
      if (props[k] !== undefined) errs.push(...check(props[k]!, x, `${path}.${k}`));
      else if (s.additionalProperties === false) errs.push(`${path}.${k}: not allowed`);
    }
  }
  return errs;
}

test('the published scenarios/scenario.schema.json is the generated one (npm run schema)', (t) => {
  t.is(readFileSync(`${SHIPPED_SCENARIO_DIR}${SCENARIO_SCHEMA_FILE}`, 'utf8'), scenarioJsonSchemaText());
});

test('every shipped scenario names the schema by relative path, matches it, and parses', (t) => {
  const files = shippedScenarioFiles();
  t.true(files.length >= 6 + 13, files.join(' '));
  for (const f of files) {
    const text = readFileSync(`${SHIPPED_SCENARIO_DIR}${f}`, 'utf8');
    const doc = JSON.parse(text) as Record<string, unknown>;
    t.is(doc.$schema, `${'../'.repeat(f.split('/').length - 1)}${SCENARIO_SCHEMA_FILE}`, f);
    t.deepEqual(check(published, doc, f), [], f);
    t.notThrows(() => parseScenario(text, f), f);
  }
});

test('scenario files the docs ship beside their pages (docs/findings/) name the schema, match it and parse', (t) => {
  const dir = new URL('../../../docs/findings/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  t.true(files.length >= 1);
  for (const f of files) {
    const text = readFileSync(new URL(f, dir), 'utf8');
    const doc = JSON.parse(text) as Record<string, unknown>;
    t.is(doc.$schema, `../../scenarios/${SCENARIO_SCHEMA_FILE}`, f);
    t.deepEqual(check(published, doc, f), [], f);
    t.notThrows(() => parseScenario(text, f), f);
  }
});

test('the JSON Schema refuses what the parser refuses: unknown fields, flag names, actors of the wrong kind', (t) => {
  const base = { memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }], ops: [{ actor: 'vcpu0', op: 'access', gpa: '0x1000', access: 'write' }] };
  t.deepEqual(check(published, base, 's'), []);
  const bad: unknown[] = [
    { ...base, nmae: 'x' },
    { ...base, memslots: [{ slot: 0, gpa: 0, size: '16MiB', flags: ['log_dirty_pages', 'dirty'] }] },
    { ...base, ops: [{ actor: 'host', op: 'pre_fault', gpa: 0, size: '4KiB' }] },
    { ...base, ops: [{ actor: 'vcpu0', op: 'pre_fault', gpa: 0, size: '2 megs' }] },
    { ...base, ops: [{ actor: 'vcpu0', op: 'pre_fault', gpa: 0, size: 4096, flags: ['write'] }] },
  ];
  for (const doc of bad) {
    t.true(check(published, doc, 's').length > 0, JSON.stringify(doc));
    t.throws(() => parseScenario(JSON.stringify(doc), 's.json'), { instanceOf: ScenarioError });
  }
});

test('every field an editor completes has a description', (t) => {
  const missing: string[] = [];
  const walk = (s: Schema, path: string): void => {
    for (const [k, p] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
      if (typeof p.description !== 'string' && k !== 'op') missing.push(`${path}.${k}`);
      walk(p, `${path}.${k}`);
    }
    for (const key of ['anyOf', 'oneOf'] as const) ((s[key] ?? []) as Schema[]).forEach((a, i) => walk(a, `${path}.${key}[${i}]`));
    if (s.items !== undefined) walk(s.items as Schema, `${path}[]`);
  };
  walk(published, '');
  t.deepEqual(missing, []);
});

test('refusals are one line naming the field: an unknown field, a bad flag name', (t) => {
  const msg = (doc: unknown): string => t.throws(() => parseScenario(JSON.stringify(doc), 'scenario.json'), { instanceOf: ScenarioError })?.message ?? '';
  const ops = [{ actor: 'vcpu0', op: 'pre_fault', gpa: '0x0', size: '2MiB', untl_done: true }];
  t.is(msg({ ops }), 'scenario.json: ops[0].untl_done: unknown field of a pre_fault op; fields: actor, op, after, gpa, size, flags, until_done');
  t.is(msg({ memslots: [{ slot: 0, gpa: 0, size: '16MiB', flags: 'dirty_log' }] }), 'scenario.json: memslots[0].flags: unknown memslot flag "dirty_log"; flags: log_dirty_pages, readonly, guest_memfd or an integer');
  t.is(msg({ ops: [{ actor: 'vcpu0', op: 'pre_fault', gpa: '0x1000', size: 'two' }] }), 'scenario.json: ops[0].size: expected an integer, "0x…" or a size like "2MiB", got "two" (size units are binary: B, KiB, MiB, GiB, TiB or K, M, G, T)');
  t.is(msg({ ops: [{ actor: 'vmm', op: 'set_memory_attributes', gpa: 0, size: 4096 }] }), 'scenario.json: ops[0].attributes: missing (a set_memory_attributes op needs gpa, size and attributes)');
});

test('flag-like fields: a list of names, one name, or the integer; pre_fault flags stay a number for the kernel to refuse', (t) => {
  const slot = (flags: unknown): number => parseScenario(JSON.stringify({ memslots: [{ slot: 0, gpa: 0, size: '2MiB', flags }] }), 's.json').memslots[0]!.flags;
  t.is(slot(['log_dirty_pages', 'readonly']), 3);
  t.is(slot('readonly'), 2);
  t.is(slot(4), 4);
  t.is(slot('0x4'), 4);
  const attrs = (attributes: unknown): unknown => {
    const s = parseScenario(JSON.stringify({ vm: { type: 'sw_protected' }, ops: [{ actor: 'vmm', op: 'set_memory_attributes', gpa: 0, size: 4096, attributes }] }), 's.json');
    const op = s.ops[0]!.op;
    return op.op === 'set_memory_attributes' ? op.attributes : null;
  };
  t.deepEqual([attrs(['private']), attrs('private'), attrs('shared'), attrs([]), attrs(8)], [8n, 8n, 0n, 0n, 8n]);
  t.throws(() => parseScenario(JSON.stringify({ ops: [{ actor: 'vcpu0', op: 'pre_fault', gpa: 0, size: 4096, flags: ['write'] }] }), 's.json'), { message: /ops\[0\]\.flags: expected an integer/ });
});

test('every JSON example in docs/scenarios.md and docs/races.md is a scenario that matches the schema; a shipped one is its file verbatim', (t) => {
  const shipped = new Map(shippedScenarioFiles().map((f) => [JSON.parse(readFileSync(`${SHIPPED_SCENARIO_DIR}${f}`, 'utf8')).name as string, f]));
  let n = 0;
  for (const page of ['scenarios.md', 'races.md']) {
    const text = readFileSync(new URL(`../../../docs/${page}`, import.meta.url), 'utf8');
    for (const m of text.matchAll(/^```json\n([\s\S]*?)^```$/gm)) {
      const doc = JSON.parse(m[1]!) as Record<string, unknown>;
      t.regex(String(doc.$schema), /(^|\/)scenario\.schema\.json$/, `${page}: ${String(doc.name)}`);
      t.deepEqual(check(published, doc, String(doc.name)), [], page);
      t.notThrows(() => parseScenario(m[1]!, `${page}`), `${page}: ${String(doc.name)}`);
      const file = shipped.get(String(doc.name));
      if (file !== undefined) t.is(m[1], readFileSync(`${SHIPPED_SCENARIO_DIR}${file}`, 'utf8'), `${page} shows ${file}`);
      n++;
    }
  }
  t.true(n >= 4);
});
