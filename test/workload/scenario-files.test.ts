// Goal: the shipped scenarios are every .json under scenarios/ but the JSON Schema, races included, and a bare name finds one file or none; method: the shipped folder and a temporary one with a clash.

import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findShippedScenario, shippedScenarioFiles } from '../../src/workload/scenario-files.js';

const dir = `${mkdtempSync(join(tmpdir(), 'faultline-files-'))}/`;
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('the shipped list: top-level scenarios and races, sorted, without scenario.schema.json', (t) => {
  const files = shippedScenarioFiles();
  t.true(files.includes('default.json'));
  t.true(files.includes('races/seq-check.json'));
  t.false(files.some((f) => f.endsWith('.schema.json')));
  t.deepEqual(files, [...files].sort());
});

test('a name finds the one file it stands for: with or without .json, a race by its own name; a top-level file wins, the same file in two subfolders clashes', (t) => {
  t.is(findShippedScenario('default'), 'default.json');
  t.is(findShippedScenario('default.json'), 'default.json');
  t.is(findShippedScenario('seq-check'), 'races/seq-check.json');
  t.is(findShippedScenario('no-such-scenario'), null);
  mkdirSync(`${dir}races`);
  mkdirSync(`${dir}more`);
  for (const f of ['a.json', 'races/a.json', 'races/b.json', 'more/b.json', 'races/c.json', 'x.schema.json', 'notes.txt']) writeFileSync(`${dir}${f}`, '{}');
  t.deepEqual(shippedScenarioFiles(dir), ['a.json', 'more/b.json', 'races/a.json', 'races/b.json', 'races/c.json']);
  t.is(findShippedScenario('a', dir), 'a.json');
  t.is(findShippedScenario('c', dir), 'races/c.json');
  t.is(findShippedScenario('b', dir), null);
});
