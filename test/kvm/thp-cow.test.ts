// Goal: a guest write to THP memory that maps the huge zero page breaks CoW as the host kernel of each release does — one 4K page after a PMD split until 6.12, a whole new THP from 6.13 (1ced09e0331f) — and KVM maps what gup then finds; method: the same scenario on both sides of the commit.

import test from 'ava';
import type { KernelRelease } from '../../src/kvm/kernel-release.js';
import { hvaBackingLevel, isZeroPfn, hvaPfn } from '../../src/kvm/host.js';
import { activeSlots } from '../../src/kvm/memslots.js';
import { isLast, isShadowPresent, isWritable } from '../../src/kvm/spte.js';
import { newLeafRef, tdpFindLeaf } from '../../src/kvm/tdp-iter.js';
import { rootTable, rootsInUse } from '../../src/kvm/tdp-mmu.js';
import { MiB, access, run, slot } from '../helpers/run.js';

/** Anonymous THP memory: a read maps the huge zero page, a write breaks CoW, a write to another page of the same 2M follows. */
function readThenWrite(kernel: KernelRelease) {
  const r = run({
    vmOptions: { kernel },
    setup: [slot(0, 0, 4 * MiB, 0, 2, 'anonymous')],
    ops: [{ actor: 0, op: access(0x1000, 'read') }, { actor: 0, op: access(0x1000, 'write') }, { actor: 0, op: access(0x3000, 'write') }],
  });
  const leaf = tdpFindLeaf(r.vm, rootTable(r.vm, rootsInUse(r.vm)[0]!), 1, newLeafRef());
  const h = activeSlots(r.vm)[0]!.hvaBase;
  const exits = r.results.map((x) => (x?.op === 'access' ? x.exits : -1));
  return { r, exits, level: leaf.level, writable: isShadowPresent(leaf.lo) && isLast(leaf.lo, leaf.level) && isWritable(leaf.lo), hostLevel: hvaBackingLevel(r.vm, h), otherPageZero: isZeroPfn(r.vm, hvaPfn(r.vm, h + 5)) };
}

test('6.12: the write splits the huge zero PMD and copies one 4K page — KVM maps 4K, and the next page of the 2M breaks CoW again', (t) => {
  const d = readThenWrite('6.12');
  t.deepEqual(d.r.violations, []);
  t.is(d.hostLevel, 1, 'the host PMD was split');
  t.true(d.otherPageZero, 'the rest of the 2M still maps the zero page');
  t.is(d.level, 1);
  t.true(d.writable);
  t.deepEqual(d.exits, [1, 2, 2], 'each written page exits, breaks CoW and retries');
});

test('1ced09e0331f (6.13): the write allocates a whole THP — KVM maps the 2M writable, the next write to it does not exit', (t) => {
  const d = readThenWrite('6.13');
  t.deepEqual(d.r.violations, []);
  t.is(d.hostLevel, 2, 'the host keeps a PMD');
  t.false(d.otherPageZero, 'every page of the 2M is the new THP');
  t.is(d.level, 2);
  t.true(d.writable);
  t.deepEqual(d.exits, [1, 2, 0]);
});
