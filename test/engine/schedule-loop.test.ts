// Goal: the scheduling loop ends a phase for the right reason — every actor done, the step limit (an error, not a violation), the scheduler abandoning — records one choice and one footprint per step taken, and its scheduler-free fast path changes no run; method: small runs with a step limit, an abandoning scheduler, and recording on; every catalogue entry run with the fast path on and off, compared byte for byte.

import test from 'ava';
import { runDeterministic, type RunConfig, type RunResult } from '../../src/engine/deterministic.js';
import { COMPILED } from '../../src/protocol/machines.js';
import { buildMutations } from '../../src/protocol/mutations.js';
import { toSegments } from '../../src/race/token.js';
import { PctScheduler } from '../../src/sched/pct.js';
import { Prng } from '../../src/sched/prng.js';
import { ReplayScheduler } from '../../src/sched/replay.js';
import { CATALOGUE, type CatalogueEntry } from '../../src/workload/catalogue.js';
import { parseScenario, scenarioToRunConfig } from '../../src/workload/scenario.js';
import type { Scheduler } from '../../src/sched/scheduler.js';
import { MiB, access, slot } from '../helpers/run.js';

const base: RunConfig = {
  vm: { type: 'default', vcpus: 2, guestBytes: 64 * MiB }, setup: [slot(0, 0, 16 * MiB)],
  ops: [{ actor: 0, op: access(0x1000, 'write') }, { actor: 1, op: access(0x2000, 'write') }, { actor: 2, op: { op: 'invalidate', gpa: 0x1000, size: 4096, kind: 'migrate', prot: 'rw' } }],
  scheduler: 'random', seed: 9,
};

test('a run that completes records one choice and one footprint per main-phase step', (t) => {
  const r = runDeterministic({ ...base, recordChoices: true, footprints: true });
  t.true(r.completed);
  t.is(r.choices.length, r.steps - r.setupSteps);
  t.is(r.footprints.length, r.steps - r.setupSteps);
  t.true(r.choices.every((c) => /^(vcpu[01]|host|vmm):/.test(c)), r.choices.join(' '));
});

test('the step limit stops the run with an error, not a violation', (t) => {
  const full = runDeterministic(base);
  const r = runDeterministic({ ...base, stepsMax: full.setupSteps + 5 });
  t.false(r.completed);
  t.deepEqual(r.violations, []);
  t.regex(r.error ?? '', /exceeded \d+ steps/);
  t.is(r.steps, full.setupSteps + 5);
});

test('a scheduler that returns -1 abandons the run where it stands', (t) => {
  let n = 0;
  const quitter: Scheduler = { name: 'quitter', next: (view) => (n++ < 7 ? view.runnable[0]! : -1) };
  const r = runDeterministic({ ...base, scheduler: quitter });
  t.true(r.abandoned);
  t.false(r.completed);
  t.is(r.steps - r.setupSteps, 7);
  t.is(r.error, null);
});

// ---- the scheduler-free fast path changes nothing ---------------------------------------

/** A run as bytes: everything it returns but the VM itself (bigints as strings). */
const bytesOf = (r: RunResult): string => JSON.stringify({ ...r, vm: undefined }, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

function entryConfig(e: CatalogueEntry, scheduler: RunConfig['scheduler'], seed: number): RunConfig {
  const scenario = parseScenario(JSON.stringify(e.scenario), e.name);
  return scenarioToRunConfig(scenario, { scheduler, seed, mutations: buildMutations(COMPILED, e.mutate, e.skip), trace: false, kernel: e.kernel ?? scenario.vm.kernel });
}

test('every catalogue entry: runs are byte-identical with and without the fast path — choices and traces recorded, check after each step, and check at the end (steps run to completion)', (t) => {
  for (const e of CATALOGUE) {
    for (const seed of [1, 2, 3]) {
      const variants: [string, (fastPath: boolean) => RunConfig][] = [
        ['random, recorded', (fastPath) => ({ ...entryConfig(e, 'random', seed), recordChoices: true, trace: true, fastPath })],
        ['pct, recorded', (fastPath) => ({ ...entryConfig(e, new PctScheduler(new Prng(seed), entryConfig(e, 'random', seed).vm.vcpus + 2, 2, 400), seed), recordChoices: true, fastPath })],
        ['sequential, check at the end', (fastPath) => ({ ...entryConfig(e, 'sequential', seed), check: 'end', stepsMax: 100_000, fastPath })],
        ['random, check at the end', (fastPath) => ({ ...entryConfig(e, 'random', seed), check: 'end', fastPath })],
      ];
      for (const [name, cfg] of variants) t.is(bytesOf(runDeterministic(cfg(true))), bytesOf(runDeterministic(cfg(false))), `${e.name}, seed ${seed}: ${name}`);
    }
  }
});

test('a token recorded with the fast path replays identically without it, and one recorded without it replays identically with it', (t) => {
  for (const e of CATALOGUE) {
    for (const recordedWith of [true, false]) {
      const recorded = runDeterministic({ ...entryConfig(e, 'random', 7), recordChoices: true, fastPath: recordedWith });
      const segments = toSegments(recorded.choices);
      const replayed = runDeterministic({ ...entryConfig(e, new ReplayScheduler(segments, true), 7), recordChoices: true, fastPath: !recordedWith });
      t.deepEqual(replayed.choices, recorded.choices, e.name);
      t.is(bytesOf(replayed), bytesOf(recorded), e.name);
    }
  }
});

test('one vCPU pre-faulting alone takes the fast path to the same result, coverage and step count, with progress reported at the same steps', (t) => {
  const progress: [boolean, number[]][] = [];
  const results = [true, false].map((fastPath) => {
    const seen: number[] = [];
    progress.push([fastPath, seen]);
    return runDeterministic({
      vm: { type: 'default', vcpus: 1, guestBytes: 128 * MiB }, setup: [slot(0, 0, 128 * MiB)],
      ops: [{ actor: 0, op: { op: 'pre_fault', gpa: 0n, size: BigInt(128 * MiB), flags: 0n, untilDone: true } }, { actor: 0, op: access(0x3000, 'write') }],
      scheduler: 'sequential', seed: 1, check: 'end', fastPath, onProgress: (p) => seen.push(p.steps),
    });
  });
  t.true(results[0]!.completed);
  t.true(results[0]!.steps > 1 << 18, 'long enough for a progress report');
  t.is(bytesOf(results[0]!), bytesOf(results[1]!));
  t.deepEqual(progress[0]![1], progress[1]![1]);
  t.true(progress[0]![1].length > 0);
});

test('one vCPU alone runs its ops back to back on the fast path, `after` gates on its own earlier ops included: the same run, coverage and choices as without it', (t) => {
  const cfg = (fastPath: boolean): RunConfig => ({
    vm: { type: 'default', vcpus: 1, guestBytes: 16 * MiB }, setup: [slot(0, 0, 8 * MiB)],
    ops: [
      { actor: 0, op: access(0x1000, 'write') }, { actor: 0, op: access(0x1000, 'read') },
      { actor: 0, op: access(0x200000, 'write'), after: 0 }, { actor: 0, op: access(0x900000, 'read') },
      { actor: 0, op: { op: 'pre_fault', gpa: 0x400000n, size: 0x10000n, flags: 0n, untilDone: true }, after: [1, 2] },
      { actor: 0, op: access(0x401000, 'write') },
    ],
    scheduler: 'sequential', seed: 1, check: 'end', fastPath,
  });
  const fast = runDeterministic(cfg(true));
  t.true(fast.completed);
  t.is(bytesOf(fast), bytesOf(runDeterministic(cfg(false))));
});
