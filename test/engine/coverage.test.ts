// Goal: a run's coverage lists every transition of every machine once, with the counts the runtimes and the lock protocol kept, and the state labels index each machine's states; method: a small run's coverage against the compiled machines.

import test from 'ava';
import { coverageEntries, coverageRecord } from '../../src/engine/coverage.js';
import { coverageCounters, stateLabels } from '../../src/engine/machine-set.js';
import { COMPILED } from '../../src/protocol/machines.js';
import { MiB, access, run, slot } from '../helpers/run.js';

test('every transition once, in machine order; the fired ones counted', (t) => {
  const r = run({ setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: 0, op: access(0x1000, 'write') }] });
  t.is(r.coverage.length, COMPILED.reduce((n, m) => n + m.transitions.length, 0));
  t.deepEqual([...new Set(r.coverage.map((c) => c.machine))], COMPILED.map((m) => m.id));
  const fired = (machine: string): number => r.coverage.filter((c) => c.machine === machine).reduce((n, c) => n + c.count, 0);
  t.true(fired('page-fault') > 0 && fired('mmu-lock') > 0 && fired('memslot-update') > 0);
  t.is(fired('dirty-log'), 0);
});

test('entries and the per-machine record carry the same counts', (t) => {
  const counters = coverageCounters();
  const pf = COMPILED.find((m) => m.id === 'page-fault')!;
  counters.get('page-fault')![2] = 5;
  const lock = new Uint32Array(COMPILED.find((m) => m.id === 'mmu-lock')!.transitions.length).fill(1);
  const entries = coverageEntries(counters, lock);
  const record = coverageRecord(counters, lock);
  t.is(record['page-fault']![2], 5);
  t.true(record['mmu-lock']!.every((n) => n === 1));
  t.is(entries.filter((e) => e.machine === 'page-fault')[2]!.count, 5);
  t.is(entries.filter((e) => e.machine === 'page-fault').length, pf.transitions.length);
});

test('state labels: each machine\'s states from its base, as `machine: state`', (t) => {
  const { labels, labelBase } = stateLabels();
  for (const m of COMPILED) m.states.forEach((s, i) => t.is(labels[labelBase.get(m.id)! + i], `${m.id}: ${s.name}`));
  t.is(labels.length, COMPILED.reduce((n, m) => n + m.states.length, 0));
});
