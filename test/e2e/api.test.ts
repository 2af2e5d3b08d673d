// Goal: the library API does what the CLI does — parse a scenario, run it with mutations, read results and findings — from the package entry point; method: import the entry module and run the classic race.

import test from 'ava';
import { COMPILED, buildMutations, machinesToMermaid, parseScenario, runDeterministic, scenarioToRunConfig } from '../../src/index.js';

const text = JSON.stringify({
  name: 'api', vm: { type: 'default', vcpus: 1 }, memslots: [{ slot: 0, gpa: 0, size: '16MiB' }],
  ops: [
    ...Array.from({ length: 20 }, (_, i) => ({ actor: 'vcpu0', op: 'access', gpa: '0x5000', access: i % 2 ? 'write' : 'read' })),
    ...Array.from({ length: 6 }, () => ({ actor: 'host', op: 'invalidate', gpa: '0x5000', size: '4KiB', kind: 'migrate' })),
  ],
});

test('parse, run clean, then run with a mutation and get the use-after-free', (t) => {
  const s = parseScenario(text, 'api.json');
  const clean = runDeterministic(scenarioToRunConfig(s, { scheduler: 'random', seed: 3 }));
  t.deepEqual(clean.violations, []);
  t.true(clean.completed);
  const mutations = buildMutations(COMPILED, ['page-fault.mmuInvalidateRetryGfn=false'], []);
  let found = 0;
  for (let seed = 0; seed < 20; seed++) {
    const r = runDeterministic(scenarioToRunConfig(s, { scheduler: 'random', seed, mutations }));
    if (r.violations[0]?.kind === 'use-after-free') found++;
  }
  t.true(found > 0);
  t.regex(machinesToMermaid(COMPILED), /stateDiagram-v2/);
});

test('the threaded engine from the package entry: a short clean stress run, its events and its report', async (t) => {
  const { startStress, statsOf, buildStressReport, formatStressReport } = await import('../../src/index.js');
  const run = startStress({ stress: { vcpus: 2, memoryBytes: 8 << 20, durationMs: null, accesses: 3000, workload: 'uniform', churn: { invalidate: 100 }, backingLevel: 1, vmType: 'default', seed: 2, writeRatio: 0.5 } });
  let last = 0;
  statsOf(run.events$, 4).subscribe((s) => { last = s.accesses; });
  const result = await run.result;
  t.deepEqual(result.violations, []);
  t.is(last, result.stats.accesses);
  t.regex(formatStressReport(buildStressReport(result, null)), /violations: none/);
});

test('a patch from the package entry: the candidate fixes, applied on top of the mutations', async (t) => {
  const { PATCHES, withPatches, NO_MUTATIONS } = await import('../../src/index.js');
  t.true(PATCHES.some((p) => p.name === 'prefault-reload-obsolete-roots'));
  t.deepEqual([...withPatches(NO_MUTATIONS, ['prefault-eagain-obsolete-root']).forceGuards], [['pre-fault.patchEagainOnObsoleteRoot', true]]);
});
