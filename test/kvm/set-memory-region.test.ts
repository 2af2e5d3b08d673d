// Goal: KVM_SET_USER_MEMORY_REGION2 classifies and validates like kvm_set_memory_region() and a DELETE/MOVE leaves no SPTE behind; method: engine runs of small scenarios.

import test from 'ava';
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

test('MOVE: the old gpa becomes MMIO (emulated), the new one maps, no SPTE survives', (t) => {
  const r = run({
    setup: [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)],
    ops: [
      { actor: 0, op: access(32 * MiB + 0x1000, 'write') },
      { actor: VMM, op: slot(1, 64 * MiB, 2 * MiB) },
      { actor: 0, op: access(32 * MiB + 0x1000, 'read') },
      { actor: 0, op: access(64 * MiB + 0x1000, 'read') },
    ],
  });
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
