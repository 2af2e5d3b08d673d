// Goal: KVM_SET_USER_MEMORY_REGION2 classifies and validates like kvm_set_memory_region(), a DELETE/MOVE leaves no SPTE behind, and zaps all or only the slot's leafs as the release, VM type and quirks say; method: engine runs of small scenarios.

import test from 'ava';
import type { KernelRelease } from '../../src/kvm/kernel-release.js';
import { G } from '../../src/kvm/layout.js';
import type { KvmQuirk } from '../../src/kvm/quirks.js';
import * as S from '../../src/kvm/shm.js';
import { isLast, isShadowPresent } from '../../src/kvm/spte.js';
import { newLeafRef, tdpFindLeaf } from '../../src/kvm/tdp-iter.js';
import { isObsoleteRoot, rootTable, rootsInUse } from '../../src/kvm/tdp-mmu.js';
import { KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY } from '../../src/kvm/memslots.js';
import type { Op, OpResult } from '../../src/kvm/ops.js';
import { MiB, access, run, slot } from '../helpers/run.js';

const VMM = 2;

function memslot(r: OpResult | null): { errno: string | null; change: string } {
  if (r?.op !== 'set_memslot') throw new Error(`not set_memslot: ${JSON.stringify(r)}`);
  return { errno: r.errno, change: r.change };
}

function one(op: Op, type: 'default' | 'sw_protected' = 'default', setup: Op[] = [slot(0, 0, 16 * MiB)]) {
  return memslot(run({ type, setup, ops: [{ actor: VMM, op }] }).results[0]!);
}

test('classification: create, flags-only, move, delete, no-op', (t) => {
  t.deepEqual(one(slot(1, 32 * MiB, 2 * MiB)), { errno: null, change: 'create' });
  t.deepEqual(one(slot(0, 0, 16 * MiB, KVM_MEM_LOG_DIRTY_PAGES)), { errno: null, change: 'flags_only' });
  t.deepEqual(one(slot(0, 64 * MiB, 16 * MiB)), { errno: null, change: 'move' });
  t.deepEqual(one(slot(0, 0, 0)), { errno: null, change: 'delete' });
  t.deepEqual(one(slot(0, 0, 16 * MiB)), { errno: null, change: 'noop' });
});

test('EINVAL: unaligned, unknown flags, delete of a missing slot, size or READONLY change, guest_memfd rules', (t) => {
  t.is(one(slot(1, 32 * MiB + 100, 2 * MiB)).errno, 'EINVAL');
  t.is(one(slot(1, 32 * MiB, 2 * MiB + 100)).errno, 'EINVAL');
  t.is(one(slot(1, 32 * MiB, 2 * MiB, 1 << 5)).errno, 'EINVAL');
  t.is(one(slot(5, 0, 0)).errno, 'EINVAL', 'delete of a slot that does not exist');
  t.is(one(slot(0, 0, 32 * MiB)).errno, 'EINVAL', 'an existing slot cannot change size');
  t.is(one(slot(0, 0, 16 * MiB, KVM_MEM_READONLY)).errno, 'EINVAL', 'nor its READONLY flag');
  t.is(one(slot(1, 32 * MiB, 2 * MiB, KVM_MEM_GUEST_MEMFD)).errno, 'EINVAL', 'guest_memfd needs a VM with private memory');
  t.is(one(slot(1, 32 * MiB, 2 * MiB, KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES), 'sw_protected').errno, 'EINVAL');
  t.is(one(slot(0, 64 * MiB, 16 * MiB), 'sw_protected', [slot(0, 0, 16 * MiB, KVM_MEM_GUEST_MEMFD)]).errno, 'EINVAL', 'a guest_memfd slot cannot move');
  t.is(one(slot(1, 32 * MiB, 2 * MiB, KVM_MEM_GUEST_MEMFD), 'sw_protected').errno, null);
});

test('EEXIST: a range overlapping another slot', (t) => {
  t.is(one(slot(1, 8 * MiB, 16 * MiB)).errno, 'EEXIST');
  t.is(one(slot(1, 16 * MiB, 16 * MiB)).errno, null, 'adjacent is fine');
});

/** Slot 1 at 32 MiB, written by vcpu0, moved to 64 MiB; then the old and the new gpa read. */
function moveSlotOne(type: 'default' | 'sw_protected' = 'default', kernel?: KernelRelease) {
  return run({
    type,
    ...(kernel !== undefined ? { vmOptions: { kernel } } : {}),
    setup: [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)],
    ops: [
      { actor: 0, op: access(32 * MiB + 0x1000, 'write') },
      { actor: VMM, op: slot(1, 64 * MiB, 2 * MiB) },
      { actor: 0, op: access(32 * MiB + 0x1000, 'read') },
      { actor: 0, op: access(64 * MiB + 0x1000, 'read') },
    ],
  });
}

test('MOVE: the old gpa becomes MMIO (emulated), the new one maps, no SPTE survives', (t) => {
  const r = moveSlotOne();
  t.deepEqual(r.violations, []);
  const old = r.results[2]!;
  const moved = r.results[3]!;
  t.true(old.op === 'access' && old.ok && old.emulated, 'no memslot there any more: RET_PF_EMULATE');
  t.true(moved.op === 'access' && moved.ok && !moved.emulated);
});

test('a write to a READONLY slot is emulated (KVM_PFN_ERR_RO_FAULT); a read maps it read-only', (t) => {
  const r = run({ setup: [slot(0, 0, 16 * MiB, KVM_MEM_READONLY)], ops: [{ actor: 0, op: access(0x1000, 'read') }, { actor: 0, op: access(0x1000, 'write') }] });
  t.deepEqual(r.violations, []);
  const read = r.results[0]!;
  const write = r.results[1]!;
  t.true(read.op === 'access' && read.ok && !read.emulated);
  t.true(write.op === 'access' && write.ok && write.emulated);
});

/**
 * A DELETE of slot 1 after vcpu0 mapped a page of slot 0 and a page of
 * slot 1, then a read of that slot-0 page after it: how kvm_arch_flush_shadow_memslot() zapped, read
 * from the VM and vcpu0's exits.
 */
function deleteAfterMapping(type: 'default' | 'sw_protected', kernel: KernelRelease, disabledQuirks: KvmQuirk[] = []) {
  const r = run({
    type,
    vmOptions: { kernel, disabledQuirks },
    setup: [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)],
    ops: [
      { actor: 0, op: access(0x1000, 'write') },
      { actor: 0, op: access(32 * MiB + 0x1000, 'write') },
      { actor: VMM, op: slot(1, 32 * MiB, 0) },
      { actor: 0, op: access(0x1000, 'read'), after: 2 },
    ],
  });
  const again = r.results[3]!;
  const roots = rootsInUse(r.vm);
  const valid = roots.filter((s) => !isObsoleteRoot(r.vm, s));
  const leaf = (gfn: number) => (valid.length === 0 ? null : tdpFindLeaf(r.vm, rootTable(r.vm, valid[0]!), gfn, newLeafRef()));
  const slot0 = leaf(1);
  const slot1 = leaf((32 * MiB) / 4096 + 1);
  const fired = (from: string) => r.coverage.filter((c) => c.machine === 'memslot-update' && c.transition.startsWith(`${from} →`)).reduce((n, c) => n + c.count, 0);
  return {
    violations: r.violations,
    deleted: memslot(r.results[2]!),
    mmuValidGen: S.load(r.vm.i32, G.MMU_VALID_GEN),
    obsoleteRoots: roots.length - valid.length,
    /** EPT-violation exits of a read of slot 0 after the delete: 1 when vcpu0 had to load a new root (its old one obsolete). */
    slot0ExitsAfter: again.op === 'access' && again.ok ? again.exits : -1,
    zapAll: fired('zapAllFast') > 0,
    leafZaps: fired('zapSlot') - (fired('zapSlot') > 0 ? 1 : 0),
    slot0Mapped: slot0 !== null && isShadowPresent(slot0.lo) && isLast(slot0.lo, slot0.level),
    /** The level the walk for a gfn of the deleted slot stops at: 1 when its page tables survived. */
    slot1WalkLevel: slot1 === null ? null : slot1.level,
    slot1Present: slot1 !== null && isShadowPresent(slot1.lo),
  };
}

test('6.11, sw_protected: deleting a slot zaps all (kvm_mmu_zap_all_fast) — every root obsolete, slot 0 has to be faulted in again', (t) => {
  const d = deleteAfterMapping('sw_protected', '6.11');
  t.deepEqual(d.violations, [], 'no SPTE survives its slot');
  t.deepEqual(d.deleted, { errno: null, change: 'delete' });
  t.true(d.zapAll);
  t.is(d.mmuValidGen, 1);
  t.false(d.slot1Present);
  t.is(d.slot0ExitsAfter, 1, 'every root obsolete: vcpu0 loads a new, empty one and faults slot 0 in again');
  t.is(d.leafZaps, 0);
});

test('6.12, sw_protected: deleting a slot zaps only its leaf SPTEs — roots stay valid, slot 0 stays mapped, the slot\'s page tables stay', (t) => {
  const d = deleteAfterMapping('sw_protected', '6.12');
  t.deepEqual(d.violations, [], 'no SPTE survives its slot');
  t.deepEqual(d.deleted, { errno: null, change: 'delete' });
  t.false(d.zapAll);
  t.is(d.mmuValidGen, 0);
  t.is(d.obsoleteRoots, 0);
  t.is(d.slot0ExitsAfter, 0, 'the root stays valid: slot 0 is still mapped');
  t.is(d.leafZaps, 1, 'one leaf SPTE mapped in slot 1, one zap step');
  t.true(d.slot0Mapped);
  t.is(d.slot1WalkLevel, 1, 'the walk reaches the 4K table: non-leaf SPTEs survive');
  t.false(d.slot1Present);
});

test('6.12, DEFAULT VM: KVM_X86_QUIRK_SLOT_ZAP_ALL (on by default) zaps all; disabled, only the slot\'s leafs; before 6.12 the quirk does not exist', (t) => {
  const quirk = deleteAfterMapping('default', '6.12');
  t.deepEqual(quirk.violations, []);
  t.true(quirk.zapAll);
  t.is(quirk.mmuValidGen, 1);
  t.is(quirk.slot0ExitsAfter, 1);
  const noQuirk = deleteAfterMapping('default', '6.12', ['slot_zap_all']);
  t.deepEqual(noQuirk.violations, []);
  t.false(noQuirk.zapAll);
  t.is(noQuirk.obsoleteRoots, 0);
  t.is(noQuirk.mmuValidGen, 0);
  t.is(noQuirk.slot0ExitsAfter, 0);
  t.is(noQuirk.leafZaps, 1);
  t.true(noQuirk.slot0Mapped);
  t.false(noQuirk.slot1Present);
  const old = deleteAfterMapping('default', '6.11', ['slot_zap_all']);
  t.true(old.zapAll, '6.11 zaps all whatever the quirks');
  t.deepEqual(old.violations, []);
});

test('6.12, sw_protected: a MOVE zaps the old range\'s leafs; the old gpa is MMIO, the new one maps, no SPTE survives', (t) => {
  const r = moveSlotOne('sw_protected', '6.12');
  t.deepEqual(r.violations, []);
  t.is(rootsInUse(r.vm).filter((s) => isObsoleteRoot(r.vm, s)).length, 0);
  const old = r.results[2]!;
  const moved = r.results[3]!;
  t.true(old.op === 'access' && old.ok && old.emulated);
  t.true(moved.op === 'access' && moved.ok && !moved.emulated);
});

test('6.12, sw_protected: with the leaf zap skipped, the SPTE that outlives its slot is a stale-spte finding', (t) => {
  const r = run({
    type: 'sw_protected',
    vmOptions: { kernel: '6.12' },
    skip: ['memslot-update.tdpMmuZapLeaf'],
    setup: [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)],
    ops: [{ actor: 0, op: access(32 * MiB + 0x1000, 'write') }, { actor: VMM, op: slot(1, 32 * MiB, 0) }],
  });
  t.is(r.violations[0]?.kind, 'stale-spte');
  t.regex(r.violations[0]!.message, /survives outside any memslot/);
});
