// Goal: turning dirty logging off recovers the slot's huge mappings as each release does — zapped for the next fault to map huge until 6.12, replaced in place by a huge SPTE from 6.13 (13e2e4f62a4b) — with nothing else touched; method: engine runs of one scenario on both sides of the commit, and the walk's candidate rules on hand-built tables.

import test from 'ava';
import type { KernelRelease } from '../../src/kvm/kernel-release.js';
import { KVM_MEM_LOG_DIRTY_PAGES, activeSlots } from '../../src/kvm/memslots.js';
import { isLast, isShadowPresent, sptePfn } from '../../src/kvm/spte.js';
import { newLeafRef, tdpFindLeaf } from '../../src/kvm/tdp-iter.js';
import { rootTable, rootsInUse } from '../../src/kvm/tdp-mmu.js';
import { hvaPfn } from '../../src/kvm/host.js';
import { MiB, access, run, scripted, slot } from '../helpers/run.js';

const VMM = 2;
const GFN = (x: number) => x / 4096;

/** A 2M-backed slot with dirty logging on, two 4K writes in its first 2 MiB, dirty logging off, then a read elsewhere in that 2 MiB. */
function disableAfterWrites(kernel: KernelRelease, backingLevel = 2) {
  const r = run({
    vmOptions: { kernel },
    setup: [slot(0, 0, 4 * MiB, KVM_MEM_LOG_DIRTY_PAGES, backingLevel)],
    ops: [
      { actor: 0, op: access(0x1000, 'write') },
      { actor: 0, op: access(0x3000, 'write') },
      { actor: VMM, op: slot(0, 0, 4 * MiB, 0, backingLevel), after: 1 },
      { actor: 0, op: access(0x5000, 'read'), after: 2 },
    ],
  });
  const root = rootTable(r.vm, rootsInUse(r.vm)[0]!);
  const leaf = tdpFindLeaf(r.vm, root, GFN(0x1000), newLeafRef());
  const read = r.results[3]!;
  const recovered = r.coverage.filter((c) => c.machine === 'memslot-update' && c.transition.startsWith('recover →')).reduce((n, c) => n + c.count, 0);
  return {
    r,
    level: leaf.level,
    present: isShadowPresent(leaf.lo),
    huge: isShadowPresent(leaf.lo) && isLast(leaf.lo, leaf.level) && leaf.level === 2,
    pfn: sptePfn(leaf.lo, leaf.hi),
    readExits: read.op === 'access' && read.ok ? read.exits : -1,
    recoverSteps: recovered,
  };
}

test('6.12: dirty logging off zaps the 2M region\'s table (kvm_mmu_zap_collapsible_sptes); the next read exits and maps it huge', (t) => {
  const d = disableAfterWrites('6.12');
  t.deepEqual(d.r.violations, []);
  t.true(d.recoverSteps > 0);
  t.is(d.readExits, 1, 'the zapped range faults again');
  t.true(d.huge, 'the fault after the zap mapped 2M');
});

test('6.13: dirty logging off replaces the table by a huge SPTE in place (13e2e4f62a4b); the read does not exit', (t) => {
  const d = disableAfterWrites('6.13');
  t.deepEqual(d.r.violations, []);
  t.true(d.huge, 'a 2M leaf at once');
  t.is(d.pfn, hvaPfn(d.r.vm, activeSlots(d.r.vm)[0]!.hvaBase), 'its pfn is the huge page\'s first, moved back from the first 4K leaf (gfn 1)');
  t.is(d.readExits, 0, 'no exit: the range is already mapped');
});

test('4K host backing: nothing can be mapped huge, so neither release touches the 4K leaves', (t) => {
  for (const kernel of ['6.12', '6.13'] as const) {
    const d = disableAfterWrites(kernel, 1);
    t.deepEqual(d.r.violations, [], kernel);
    t.is(d.level, 1, `${kernel}: the 4K leaf stays`);
    t.true(d.present, kernel);
    t.is(d.readExits, 1, `${kernel}: the read of an unmapped 4K page exits`);
  }
});

/**
 * 6.12, two vCPUs, hugetlbfs 2M: vcpu0 writes two 4K pages with dirty logging on; the VMM
 * turns it off and runs `vmmSteps`; then vcpu1 reads a third page of the same 2M region;
 * then all run on.
 */
function raceTheZap(vmmSteps: number, kernel: KernelRelease = '6.12') {
  const vmm = 3;
  return run({
    vcpus: 2,
    vmOptions: { kernel },
    setup: [slot(0, 0, 4 * MiB, KVM_MEM_LOG_DIRTY_PAGES, 2, 'hugetlbfs')],
    ops: [
      { actor: 0, op: access(0x1000, 'write') },
      { actor: 0, op: access(0x3000, 'write') },
      { actor: vmm, op: slot(0, 0, 4 * MiB, 0, 2, 'hugetlbfs'), after: 1 },
      { actor: 1, op: access(0x5000, 'read') },
    ],
    scheduler: scripted([...Array<number>(60).fill(0), ...Array<number>(vmmSteps).fill(vmm), ...Array<number>(20).fill(1), ...Array<number>(40).fill(vmm)]),
  });
}

test('6.12: the zap is freeze → flush → clear in separate steps — a vCPU faulting in between meets FROZEN_SPTE, retries, then maps huge; nothing is violated', (t) => {
  const r = raceTheZap(11); // the VMM stops right after its freeze
  t.deepEqual(r.violations, []);
  t.is(r.actors[1]!.retriesByReason['frozen'], 1, 'the fault met the frozen SPTE and retried');
  t.like(r.results[3], { op: 'access', ok: true, exits: 2 });
  const fired = (tr: string) => r.coverage.filter((c) => c.machine === 'memslot-update' && c.transition.startsWith(tr)).reduce((n, c) => n + c.count, 0);
  t.true(fired('recover → recoverFrozen') >= 1 && fired('recoverFrozen → recover') >= 1);
});

test('6.13: the same schedule recovers in place — no freeze, the read finds the huge SPTE or faults once', (t) => {
  const r = raceTheZap(11, '6.13');
  t.deepEqual(r.violations, []);
  t.is(r.actors[1]!.retriesByReason['frozen'] ?? 0, 0);
  t.is(r.coverage.filter((c) => c.machine === 'memslot-update' && c.transition.startsWith('recover → recoverFrozen')).reduce((n, c) => n + c.count, 0), 0);
});
