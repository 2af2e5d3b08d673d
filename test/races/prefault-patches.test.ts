// Goal: the two candidate fixes of the finding (a pre-fault spinning on a root made obsolete by a memslot delete) end the spin in the model — reload inside kvm_tdp_map_page()'s retry loop on every release, -EAGAIN on an obsolete root only where kvm_mmu_reload() frees obsolete roots (6.15+); method: the finding's scripted interleaving and random exploration of its scenario, with and without each patch.

import { readFileSync } from 'node:fs';
import test from 'ava';
import { patchSpecs } from '../../src/protocol/patches.js';
import { explore } from '../../src/race/race.js';
import { parseScenario } from '../../src/workload/scenario.js';
import { MiB, preFault, preFaultResult, run, scripted, slot } from '../helpers/run.js';

const FINDING = (() => {
  const text = readFileSync(new URL('../../../docs/findings/prefault-during-slot-delete.json', import.meta.url), 'utf8');
  return { id: 'file:prefault-during-slot-delete.json', scenario: parseScenario(text, 'prefault-during-slot-delete.json'), hash: '', entry: null };
})();

const VCPU = 0;
const VMM = 2;
const SETUP = [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)];
const OPS = [{ actor: VMM, op: slot(1, 32 * MiB, 0) }, { actor: VCPU, op: preFault(0, 2 * MiB, { untilDone: true }) }];
// The finding's interleaving (test/races/prefault-vs-slot-delete.test.ts): vcpu0 loads its
// root after the delete's first synchronize_srcu() began, the VMM fast-zaps every root and
// waits in the second synchronize_srcu() for vcpu0's SRCU read lock.
const SCRIPT = [...Array(9).fill(VMM), ...Array(30).fill(VCPU), ...Array(40).fill(VMM)];

test('unpatched, the interleaving livelocks on the obsolete root (the control of the tests below)', (t) => {
  const r = run({ setup: SETUP, ops: OPS, scheduler: scripted(SCRIPT) });
  t.is(r.violations[0]?.kind, 'livelock');
  t.regex(r.violations[0]!.message, /obsolete-root/);
});

test('prefault-reload-obsolete-roots: the retry frees the obsolete root and loads a new one; the pre-fault maps the range in its one call and the delete completes', (t) => {
  for (const kernel of ['6.11', '6.14', '6.15', '6.19'] as const) {
    const r = run({ setup: SETUP, ops: OPS, scheduler: scripted(SCRIPT), mutate: patchSpecs(['prefault-reload-obsolete-roots']).mutate, vmOptions: { kernel } });
    t.deepEqual(r.violations, [], kernel);
    const p = preFaultResult(r.results[1]!);
    t.deepEqual([p.errno, p.size, p.calls], [null, '0x0', 1], kernel);
    t.deepEqual(r.results[0], { op: 'set_memslot', ret: 0, errno: null, change: 'delete' }, kernel);
  }
});

test('prefault-eagain-obsolete-root: the call returns -EAGAIN and drops SRCU, the delete completes, and the next call (kvm_mmu_reload() frees the obsolete root, 6.15+) maps the range', (t) => {
  const r = run({ setup: SETUP, ops: OPS, scheduler: scripted(SCRIPT), mutate: patchSpecs(['prefault-eagain-obsolete-root']).mutate, vmOptions: { kernel: '6.15' } });
  t.deepEqual(r.violations, []);
  const p = preFaultResult(r.results[1]!);
  t.deepEqual([p.errno, p.size], [null, '0x0']);
  t.true(p.calls >= 2, `calls: ${p.calls}`);
  t.deepEqual(r.results[0], { op: 'set_memslot', ret: 0, errno: null, change: 'delete' });
});

test('prefault-eagain-obsolete-root before 6.15: kvm_mmu_reload() keeps the obsolete root, so every call returns -EAGAIN — the delete completes but the pre-fault never progresses', (t) => {
  const r = explore(FINDING, { scheduler: 'random', budget: 200, kernel: '6.14', patch: ['prefault-eagain-obsolete-root'] });
  t.true(r.found);
  t.is(r.run!.violations[0]!.kind, 'livelock');
  t.regex(r.run!.violations[0]!.message, /obsolete-root.*vmm finished/);
});

test('random exploration of the finding\'s scenario: found unpatched within 200 schedules, clean over the same 200 with either patch on 6.19', (t) => {
  t.true(explore(FINDING, { scheduler: 'random', budget: 200 }).found);
  for (const patch of ['prefault-reload-obsolete-roots', 'prefault-eagain-obsolete-root']) {
    const r = explore(FINDING, { scheduler: 'random', budget: 200, patch: [patch] });
    t.false(r.found, `${patch}: ${r.run?.violations[0]?.message ?? ''}`);
    t.is(r.schedules, 200);
  }
});

test('prefault-srcu-cycle-on-retry (dropping SRCU on RET_PF_RETRY, as sketched for the INVALID-slot case) is not a fix: the delete completes, the pre-fault spins on the obsolete root', (t) => {
  // vcpu0 retries once more (and so retakes SRCU), then the VMM runs on: its grace period ends.
  const script = [...SCRIPT, ...Array(30).fill(VCPU), ...Array(80).fill(VMM)];
  const r = run({ setup: SETUP, ops: OPS, scheduler: scripted(script), mutate: patchSpecs(['prefault-srcu-cycle-on-retry']).mutate });
  t.is(r.violations[0]?.kind, 'livelock');
  t.regex(r.violations[0]!.message, /obsolete-root.*vmm finished/);
  t.deepEqual(r.results[0], { op: 'set_memslot', ret: 0, errno: null, change: 'delete' });
});

test('the slot being deleted, on 6.19 (after 3ccbf6f47098): the pre-fault whose fault comes after the second swap finds no slot and spins on the obsolete root; both fixes end it', (t) => {
  const text = readFileSync(new URL('../../../scenarios/memslot-delete-during-prefault.json', import.meta.url), 'utf8');
  const target = { id: 'file:memslot-delete-during-prefault.json', scenario: parseScenario(text, 'memslot-delete-during-prefault.json'), hash: '', entry: null };
  const found = explore(target, { budget: 9 });
  t.true(found.found);
  t.regex(found.run!.violations[0]!.message, /last reason: obsolete-root.*vmm waits on synchronize_srcu/);
  for (const patch of ['prefault-reload-obsolete-roots', 'prefault-eagain-obsolete-root']) {
    const r = explore(target, { budget: 100, patch: [patch] });
    t.false(r.found, `${patch}: ${r.run?.violations[0]?.message ?? ''}`);
  }
});
