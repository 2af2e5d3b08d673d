// Goal: the kernel-version table is well formed, a release's profile is derived from it, and each row's switch changes what the model does — the same scenario run on both sides of the commit differs as the commit says; method: the table's functions, then the catalogue's scenario files on the deterministic engine on the release before and the release with each fix.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { runDeterministic, type RunResult } from '../../src/engine/deterministic.js';
import {
  KERNEL_CHANGES, KERNEL_DEFAULT, KERNEL_RELEASES, kernelChangeOfCommit, kernelProfile, parseKernelRelease, releaseBefore, type KernelRelease, type KernelSwitch,
} from '../../src/kvm/kernel-release.js';
import type { SchedulerName } from '../../src/sched/scheduler.js';
import { SHIPPED_SCENARIO_DIR } from '../../src/workload/scenario-files.js';
import { parseScenario, scenarioToRunConfig } from '../../src/workload/scenario.js';
import { preFaultResult } from '../helpers/run.js';

/** A shipped scenario file run on one release (its own `race` metadata aside: no mutation). */
function runFile(file: string, kernel: KernelRelease, scheduler: SchedulerName = 'sequential', seed = 1): RunResult {
  const scenario = parseScenario(readFileSync(`${SHIPPED_SCENARIO_DIR}${file}`, 'utf8'), file);
  return runDeterministic(scenarioToRunConfig(scenario, { scheduler, seed, kernel }));
}

const row = (s: KernelSwitch) => KERNEL_CHANGES.find((c) => c.switch === s)!;

test('the table: every row names a 12-digit commit with a KVM (or mm) title, a modelled first release and a before → after; rows in release order, one per switch', (t) => {
  t.is(new Set(KERNEL_CHANGES.map((c) => c.switch)).size, KERNEL_CHANGES.length);
  let last = 0;
  for (const c of KERNEL_CHANGES) {
    t.regex(c.commit.hash, /^[0-9a-f]{12}$/, c.switch);
    t.regex(c.commit.title, /^(KVM|mm): /, c.switch);
    const i = KERNEL_RELEASES.indexOf(c.since);
    t.true(i > 0, `${c.switch}: the release before ${c.since} must be modelled too`);
    t.true(i >= last, `${c.switch} out of release order`);
    last = i;
    t.true(c.before.length > 0 && c.after.length > 0 && c.before !== c.after);
    t.is(kernelChangeOfCommit(`${c.commit.hash}abcd`), c);
  }
  t.is(KERNEL_DEFAULT, KERNEL_RELEASES[KERNEL_RELEASES.length - 1]);
});

test('a profile: each switch is off before its first release and on from it; the default is the newest release', (t) => {
  for (const r of KERNEL_RELEASES) {
    const p = kernelProfile(r);
    t.is(p.release, r);
    for (const c of KERNEL_CHANGES) t.is(p.switches[c.switch], KERNEL_RELEASES.indexOf(r) >= KERNEL_RELEASES.indexOf(c.since), `${r} ${c.switch}`);
  }
  t.deepEqual(kernelProfile(), kernelProfile('6.19'));
  t.deepEqual(Object.values(kernelProfile('6.11').switches), KERNEL_CHANGES.map(() => false));
  t.is(releaseBefore(row('prefetchInvalidSlotEagain')), '6.17');
  t.is(parseKernelRelease('6.14'), '6.14');
  t.throws(() => parseKernelRelease('6.10'), { instanceOf: RangeError, message: "kernel '6.10' is not a modelled release; releases: 6.11, 6.12, 6.13, 6.14, 6.15, 6.16, 6.17, 6.18, 6.19" });
  t.throws(() => parseKernelRelease(6.14), { instanceOf: RangeError });
});

test('20a6cff3b283 (6.15): a pre-fault issued after a memslot delete, before the vCPU re-enters the guest, livelocks on the obsolete root on 6.14 and completes on 6.15', (t) => {
  const c = row('reloadFreesObsoleteRoots');
  t.is(c.since, '6.15');
  const before = runFile('races/prefault-keeps-obsolete-root.json', releaseBefore(c));
  t.is(before.violations[0]?.kind, 'livelock');
  t.true(before.violations[0]!.message.includes('last reason: obsolete-root'), before.violations[0]!.message);
  const after = runFile('races/prefault-keeps-obsolete-root.json', c.since);
  t.deepEqual(after.violations, []);
  t.is(preFaultResult(after.results[3]!).errno, null);
});

test('3ccbf6f47098 (6.18): a pre-fault racing a slot delete retries on the INVALID slot and livelocks on 6.17; on 6.18 it gets EAGAIN and never livelocks on the slot', (t) => {
  const c = row('prefetchInvalidSlotEagain');
  t.is(c.since, '6.18');
  // The op calls again until done: an EAGAIN shows as a second call.
  const calls = (r: RunResult): number => (r.results[0] === null ? 0 : preFaultResult(r.results[0]!).calls);
  let livelocks = 0;
  let eagain = 0;
  for (let seed = 0; seed < 60; seed++) {
    const before = runFile('races/prefault-invalid-slot-retry.json', releaseBefore(c), 'random', seed);
    if (before.violations.some((v) => v.kind === 'livelock' && v.message.includes('last reason: invalid-slot'))) livelocks++;
    t.true(calls(before) <= 1, `seed ${seed}: a second call on 6.17`);
    const after = runFile('races/prefault-invalid-slot-retry.json', c.since, 'random', seed);
    t.false(after.violations.some((v) => v.message.includes('last reason: invalid-slot')), `seed ${seed}`);
    if (calls(after) > 1) eagain++;
  }
  t.true(livelocks > 0, 'some interleaving of 6.17 livelocks on the INVALID slot');
  t.true(eagain > 0, 'some interleaving of 6.18 returns EAGAIN');
});

test('9129633d568e (6.15): converting one page to private while a fault maps the rest of its 2M region installs a mixed-attribute hugepage on 6.14, never on 6.15', (t) => {
  const c = row('attrInvalidateHugepageHeadTail');
  t.is(c.since, '6.15');
  let mixed = 0;
  for (let seed = 0; seed < 100; seed++) {
    const before = runFile('races/attr-hugepage-head-tail.json', releaseBefore(c), 'random', seed);
    if (before.violations.some((v) => v.kind === 'mixed-attribute-hugepage')) mixed++;
    const after = runFile('races/attr-hugepage-head-tail.json', c.since, 'random', seed);
    t.deepEqual(after.violations, [], `seed ${seed}`);
  }
  t.true(mixed > 0, 'some interleaving of 6.14 maps a hugepage over mixed attributes');
});

test('ea9fcdf76d3d (6.16): a pre-fault meeting a page table at its 2M goal level is spurious on 6.15 (the next access still exits) and maps the 2M page on 6.16', (t) => {
  const c = row('prefetchSpuriousOnlyOverLeaf');
  t.is(c.since, '6.16');
  // A 4K mapping while one page of the 2M region is private leaves a page table at the 2M
  // level; once the page is shared again the region may be mapped huge.
  const doc = {
    name: 'prefault-over-table',
    vm: { type: 'sw_protected', vcpus: 1 },
    memslots: [{ slot: 0, gpa: '0x0', size: '16MiB', flags: ['guest_memfd'], backing: '2M' }],
    ops: [
      { actor: 'vmm', op: 'set_memory_attributes', gpa: '0x1000', size: '4KiB', attributes: 'private' },
      { actor: 'vcpu0', op: 'access', gpa: '0x3000', access: 'read', after: 0 },
      { actor: 'vmm', op: 'set_memory_attributes', gpa: '0x1000', size: '4KiB', attributes: 'shared', after: 1 },
      { actor: 'vcpu0', op: 'pre_fault', gpa: '0x0', size: '2MiB', after: 2 },
      { actor: 'vcpu0', op: 'access', gpa: '0x5000', access: 'read' },
    ],
  };
  const scenario = parseScenario(JSON.stringify(doc), 'prefault-over-table.json');
  const exits = (k: KernelRelease): number => {
    const r = runDeterministic(scenarioToRunConfig(scenario, { kernel: k }));
    t.deepEqual(r.violations, [], k);
    t.is(preFaultResult(r.results[3]!).errno, null, k);
    const last = r.results[4]!;
    if (last.op !== 'access') throw new Error('not an access');
    return last.exits;
  };
  t.is(exits(releaseBefore(c)), 1, 'on 6.15 the pre-fault left the table: the access faults');
  t.is(exits(c.since), 0, 'on 6.16 the pre-fault mapped the 2M page');
});

test('a scenario without vm.kernel runs the newest release; vm.kernel picks another; the run option overrides the file', (t) => {
  const doc = JSON.parse(readFileSync(`${SHIPPED_SCENARIO_DIR}races/prefault-keeps-obsolete-root.json`, 'utf8')) as Record<string, unknown>;
  const { race: _race, $schema: _schema, ...scenario } = doc;
  const plain = parseScenario(JSON.stringify(scenario), 'plain.json');
  t.is(plain.vm.kernel, KERNEL_DEFAULT);
  t.is(scenarioToRunConfig(plain).vm.kernel, KERNEL_DEFAULT);
  const old = parseScenario(JSON.stringify({ ...scenario, vm: { ...(scenario.vm as object), kernel: '6.14' } }), 'old.json');
  t.is(old.vm.kernel, '6.14');
  t.is(runDeterministic(scenarioToRunConfig(old)).violations[0]?.kind, 'livelock');
  t.deepEqual(runDeterministic(scenarioToRunConfig(old, { kernel: '6.15' })).violations, []);
  t.throws(() => parseScenario(JSON.stringify({ ...scenario, vm: { kernel: '6.1' } }), 'bad.json'), { message: /vm\.kernel: expected one of 6\.11, .*6\.19, got "6\.1"/ });
});
