// Goal: turning dirty logging off recovers the slot's huge mappings as each release does — zapped for the next fault to map huge until 6.12, replaced in place by a huge SPTE from 6.13 (13e2e4f62a4b) — with nothing else touched; method: engine runs of one scenario on both sides of the commit, and the walk's candidate rules on hand-built tables.

import test from 'ava';
import type { KernelRelease } from '../../src/kvm/kernel-release.js';
import { KVM_MEM_LOG_DIRTY_PAGES, activeSlots } from '../../src/kvm/memslots.js';
import { isLast, isShadowPresent, sptePfn } from '../../src/kvm/spte.js';
import { newLeafRef, tdpFindLeaf } from '../../src/kvm/tdp-iter.js';
import { rootTable, rootsInUse } from '../../src/kvm/tdp-mmu.js';
import { hvaPfn } from '../../src/kvm/host.js';
import { MiB, access, run, slot } from '../helpers/run.js';

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
