// Goal: the catalogue is exactly the race files under scenarios/races/, each entry built from its file's `race` field, and a file without one is refused in one line; method: load the shipped folder and a temporary one.

import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeToken, scenarioHash } from '../../src/race/token.js';
import { CATALOGUE, catalogueEntry, loadCatalogue } from '../../src/workload/catalogue.js';
import { SHIPPED_SCENARIO_DIR, shippedScenarioFiles } from '../../src/workload/scenario-files.js';
import { ScenarioError } from '../../src/workload/scenario.js';

const tokens = JSON.parse(readFileSync(new URL('../../../test/races/tokens.json', import.meta.url), 'utf8')) as Record<string, string>;
const dir = `${mkdtempSync(join(tmpdir(), 'faultline-catalogue-'))}/`;
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('one entry per file under scenarios/races/, named as its file, in reference order (R1 … R17, classic last)', (t) => {
  const files = shippedScenarioFiles().filter((f) => f.startsWith('races/'));
  t.deepEqual(CATALOGUE.map((e) => e.file).sort(), files);
  for (const e of CATALOGUE) t.is(e.file, `races/${e.name}.json`);
  const refs = CATALOGUE.map((e) => e.ref);
  t.is(refs[refs.length - 1], 'classic');
  const nums = refs.slice(0, -1).map((r) => Number(r.slice(1)));
  t.deepEqual(nums, [...nums].sort((a, b) => a - b));
  t.is(catalogueEntry('seq-check')?.ref, 'classic');
  t.is(catalogueEntry('no-such-race'), undefined);
});

test('an entry is its file: the scenario without $schema and race (what tokens hash), the metadata from race', (t) => {
  for (const e of CATALOGUE) {
    const doc = JSON.parse(readFileSync(`${SHIPPED_SCENARIO_DIR}${e.file}`, 'utf8')) as Record<string, unknown>;
    const race = doc.race as Record<string, unknown>;
    t.is(e.ref, race.ref as string);
    t.deepEqual(e.commit, race.commit);
    t.deepEqual(e.mutate, race.mutate ?? []);
    t.deepEqual(e.skip, race.skip ?? []);
    t.is(e.kernel as string | undefined, race.kernel as string | undefined);
    t.is(e.budget, race.budget as number);
    t.deepEqual(Object.keys(e.scenario).sort(), Object.keys(doc).filter((k) => k !== '$schema' && k !== 'race').sort());
    // The pinned tokens were made when the catalogue was TypeScript: the hash they carry must still be the entry's.
    t.is(decodeToken(tokens[e.name]!).hash, scenarioHash(e.scenario), e.name);
  }
});

test('a file under races/ without a race field, or with a bad one, is refused in one line naming the field', (t) => {
  mkdirSync(`${dir}races`, { recursive: true });
  const scenario = { name: 'x', vm: { vcpus: 1 }, memslots: [{ slot: 0, gpa: 0, size: '16MiB' }], ops: [] };
  writeFileSync(`${dir}races/x.json`, JSON.stringify(scenario));
  t.throws(() => loadCatalogue(dir), { instanceOf: ScenarioError, message: 'scenarios/races/x.json: race: missing (a catalogue entry says which race it reproduces)' });
  const race = { ref: 'R99', commit: { title: 'KVM: x', hash: 'abc' }, summary: 's', mutate: ['page-fault.isStale'], violation: 'livelock', scheduler: 'random', budget: 10 };
  writeFileSync(`${dir}races/x.json`, JSON.stringify({ ...scenario, race }));
  t.throws(() => loadCatalogue(dir), { instanceOf: ScenarioError, message: 'scenarios/races/x.json: race.mutate[0]: expected MACHINE.GUARD=true|false, got "page-fault.isStale"' });
  writeFileSync(`${dir}races/x.json`, JSON.stringify({ ...scenario, race: { ...race, mutate: ['page-fault.isStale=false'] } }));
  const [e] = loadCatalogue(dir);
  t.is(e?.ref, 'R99');
  t.deepEqual(e?.skip, []);
});

test('a race file\'s kernel must be a release without its fix, and the fix must be a row of the kernel table', (t) => {
  mkdirSync(`${dir}races`, { recursive: true });
  const scenario = { name: 'x', vm: { vcpus: 1 }, memslots: [{ slot: 0, gpa: 0, size: '16MiB' }], ops: [] };
  const race = { ref: 'R98', commit: { title: 'KVM: x86/mmu: Check and free obsolete roots in kvm_mmu_reload()', hash: '20a6cff3b283' }, summary: 's', violation: 'livelock', scheduler: 'random', budget: 10 };
  writeFileSync(`${dir}races/x.json`, JSON.stringify({ ...scenario, race: { ...race, kernel: '6.14' } }));
  t.is(loadCatalogue(dir)[0]?.kernel, '6.14');
  writeFileSync(`${dir}races/x.json`, JSON.stringify({ ...scenario, race: { ...race, kernel: '6.15' } }));
  t.throws(() => loadCatalogue(dir), { instanceOf: ScenarioError, message: 'scenarios/races/x.json: race.kernel: 6.15 has the fix (20a6cff3b283, from 6.15): the race runs on a release before it' });
  writeFileSync(`${dir}races/x.json`, JSON.stringify({ ...scenario, race: { ...race, commit: { title: 'KVM: x', hash: 'abc' }, kernel: '6.14' } }));
  t.throws(() => loadCatalogue(dir), { instanceOf: ScenarioError, message: /race\.kernel: the fix abc is not a row of the kernel table/ });
  writeFileSync(`${dir}races/x.json`, JSON.stringify({ ...scenario, race: { ...race, kernel: '5.10' } }));
  t.throws(() => loadCatalogue(dir), { instanceOf: ScenarioError, message: /race\.kernel: expected one of 6\.11/ });
});
