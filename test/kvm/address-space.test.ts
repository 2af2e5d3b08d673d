// Goal: vm.phys_bits sets kvm_mmu_max_gfn() and the TDP root level as the kernel does, and gfns above 2^32 work end to end (memslots, walk, attributes, TLB, invalidation, pre-fault); method: the pure helpers, then deterministic runs near the top of 48- and 52-bit spaces with the invariant check after every step.

import test from 'ava';
import {
  PHYS_BITS_DEFAULT, checkPhysBits, gfnHi, gfnJoin, gfnLo, kvmMmuGetTdpLevel, kvmMmuMaxGfn,
} from '../../src/kvm/address-space.js';
import { KVM_MEM_GUEST_MEMFD } from '../../src/kvm/memslots.js';
import type { Op, OpResult } from '../../src/kvm/ops.js';
import { isLast, isMmio, isShadowPresent, sptePfn } from '../../src/kvm/spte.js';
import { newLeafRef, spteIndex, tdpFindLeaf } from '../../src/kvm/tdp-iter.js';
import { rootTable, rootsInUse } from '../../src/kvm/tdp-mmu.js';
import { MiB, access, preFault, preFaultResult, run, slot } from '../helpers/run.js';
import { newVm } from './fixtures.js';

const VMM = 2; // vcpus = 1: 0 = vcpu0, 1 = host, 2 = vmm
const PAGE = 4096;
/** The pre-fault selftest's slot on a 48-bit host: align_down((max_gfn - 513) * 4K, 2M), 2M + 4K long. */
const SELFTEST_GPA_48 = 2 ** 48 - 4 * MiB;
const SELFTEST_SIZE = 2 * MiB + PAGE;

function accessResult(r: OpResult | null): { ok: boolean; emulated: boolean; errno: string | null } {
  if (r?.op !== 'access') throw new Error(`not an access: ${JSON.stringify(r)}`);
  return r;
}

function memslotErrno(r: OpResult | null): string | null {
  if (r?.op !== 'set_memslot') throw new Error(`not set_memslot: ${JSON.stringify(r)}`);
  return r.errno;
}

test('kvm_mmu_max_gfn() and kvm_mmu_get_tdp_level() from the width: 4 levels up to 48 bits, 5 above', (t) => {
  t.deepEqual([36, 44, 48, 49, 52].map(kvmMmuMaxGfn), [2 ** 24 - 1, 2 ** 32 - 1, 2 ** 36 - 1, 2 ** 37 - 1, 2 ** 40 - 1]);
  t.deepEqual([36, 46, 48, 49, 52].map(kvmMmuGetTdpLevel), [4, 4, 4, 5, 5]);
  t.is(PHYS_BITS_DEFAULT, 48);
  for (const bad of [35, 53, 40.5, NaN]) t.throws(() => checkPhysBits(bad), { instanceOf: RangeError, message: /36\.\.52/ });
  const vm = newVm();
  t.deepEqual([vm.physBits, vm.maxGfn, vm.rootLevel], [48, 2 ** 36 - 1, 4]);
  const vm52 = newVm({ physBits: 52 });
  t.deepEqual([vm52.physBits, vm52.maxGfn, vm52.rootLevel], [52, 2 ** 40 - 1, 5]);
});

test('a gfn is two 32-bit words, low and high, for every gfn of a 52-bit space', (t) => {
  for (const g of [0, 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 0xabcdef1234, 2 ** 40 - 1]) {
    t.is(gfnJoin(gfnLo(g), gfnHi(g)), g, `gfn 0x${g.toString(16)}`);
    t.true(Number.isInteger(gfnLo(g)) && gfnLo(g) >= -(2 ** 31) && gfnLo(g) < 2 ** 31);
  }
  t.deepEqual([gfnLo(2 ** 32 + 5), gfnHi(2 ** 32 + 5)], [5, 1]);
  t.deepEqual([gfnLo(2 ** 32 - 1), gfnHi(2 ** 32 - 1)], [-1, 0]);
});

test('spteIndex above 2^32: levels 4 and 5 take gfn bits 27-35 and 36-44', (t) => {
  const g = 2 ** 40 - 1;
  t.deepEqual([5, 4, 3, 2, 1].map((l) => spteIndex(g, l)), [15, 511, 511, 511, 511]);
  const h = 3 * 2 ** 36 + 7 * 2 ** 27 + 9 * 2 ** 18 + 11 * 512 + 13;
  t.deepEqual([5, 4, 3, 2, 1].map((l) => spteIndex(h, l)), [3, 7, 9, 11, 13]);
});

test('KVM_SET_USER_MEMORY_REGION: a slot ending at the top of the width is created; one byte of it beyond is EINVAL, on create and on move', (t) => {
  const ops = (physBits: number, gpa: number, size: number) => run({ vmOptions: { physBits }, setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: VMM, op: slot(1, gpa, size) }] });
  t.is(memslotErrno(ops(48, SELFTEST_GPA_48, SELFTEST_SIZE).results[0]!), null, 'the selftest slot, top of 48 bits');
  t.is(memslotErrno(ops(48, 2 ** 48 - 2 * MiB, 2 * MiB).results[0]!), null, 'ends exactly at 2^48');
  t.is(memslotErrno(ops(48, 2 ** 48 - 2 * MiB, 2 * MiB + PAGE).results[0]!), 'EINVAL', 'one page beyond');
  t.is(memslotErrno(ops(44, SELFTEST_GPA_48, SELFTEST_SIZE).results[0]!), 'EINVAL', 'the same slot on a 44-bit VM');
  t.is(memslotErrno(ops(36, 64 * 1024 * MiB, 2 * MiB).results[0]!), 'EINVAL', '64 GiB is beyond 36 bits');
  t.is(memslotErrno(ops(52, 2 ** 52 - 2 * MiB, 2 * MiB).results[0]!), null, 'the top of 52 bits');
  const move = run({ vmOptions: { physBits: 48 }, setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: VMM, op: slot(0, 2 ** 48, 16 * MiB) }] });
  t.is(memslotErrno(move.results[0]!), 'EINVAL', 'a move beyond the width');
});

/** Runs `ops` by vcpu0 on a VM of `physBits` with one slot at `gpa`; the invariant check after every step. */
function topRun(physBits: number, gpa: number, size: number, ops: Op[], type: 'default' | 'sw_protected' = 'default', flags = 0) {
  const r = run({ type, vmOptions: { physBits }, setup: [slot(0, gpa, size, flags)], ops: ops.map((op) => ({ actor: 0, op })), check: 'step' });
  t0(r.violations.map((v) => v.message));
  return r;
}
const t0 = (v: string[]): void => { if (v.length > 0) throw new Error(`violations: ${v.join('; ')}`); };

test('the pre-fault selftest at the top of a 48-bit space: 2M mapped, the page after the slot ENOENT (4-level root)', (t) => {
  const g = SELFTEST_GPA_48;
  const r = topRun(48, g, SELFTEST_SIZE, [
    preFault(g, 2 * MiB), preFault(g + 2 * MiB, 2 * PAGE, { untilDone: true }), preFault(g + SELFTEST_SIZE, PAGE, { untilDone: true }),
    access(g + 5 * PAGE, 'write'), access(g + 2 * MiB, 'read'),
  ]);
  const [a, b, c] = [0, 1, 2].map((i) => preFaultResult(r.results[i]!));
  t.deepEqual([a!.ret, a!.errno, a!.size], [0, null, '0x0']);
  t.deepEqual([b!.ret, b!.errno, b!.size], [-1, 'ENOENT', '0x1000'], 'the slot\'s last page done, the next one ENOENT');
  t.deepEqual([c!.ret, c!.errno, c!.size], [-1, 'ENOENT', '0x1000']);
  t.true(accessResult(r.results[3]!).ok);
  t.true(accessResult(r.results[4]!).ok);
  const root = rootTable(r.vm, rootsInUse(r.vm)[0]!);
  const leaf = tdpFindLeaf(r.vm, root, g / PAGE + 5, newLeafRef());
  t.true(isShadowPresent(leaf.lo) && isLast(leaf.lo, leaf.level));
  t.is(leaf.baseGfn, g / PAGE + 5 - ((g / PAGE + 5) % 512) + (leaf.level === 1 ? (g / PAGE + 5) % 512 : 0));
  t.is(r.vm.rootLevel, 4);
});

test('a 52-bit VM has a 5-level root: a slot at the top of the space is faulted, written, pre-faulted and zapped like any other', (t) => {
  const g = 2 ** 52 - 16 * MiB;
  const gfn = g / PAGE;
  const r = run({
    vmOptions: { physBits: 52 }, setup: [slot(0, 0, 16 * MiB), slot(1, g, 16 * MiB)], check: 'step',
    ops: [
      { actor: 0, op: access(g + 3 * PAGE, 'write') }, { actor: 0, op: access(7 * PAGE, 'write') }, { actor: 0, op: preFault(g + 2 * MiB, 2 * MiB) },
      { actor: 0, op: access(2 ** 52 - PAGE, 'read') }, { actor: VMM, op: slot(1, g, 0), after: 3 }, { actor: 0, op: access(g + 3 * PAGE, 'read'), after: 4 },
    ],
  });
  t.deepEqual(r.violations.map((v) => v.message), []);
  t.is(r.vm.rootLevel, 5);
  t.true(accessResult(r.results[0]!).ok);
  t.true(accessResult(r.results[1]!).ok);
  t.is(preFaultResult(r.results[2]!).errno, null);
  t.true(accessResult(r.results[3]!).ok, 'the last page of the 52-bit space');
  t.is(memslotErrno(r.results[4]!), null);
  const after = accessResult(r.results[5]!);
  t.true(after.emulated, 'the deleted slot\'s gfn is MMIO now');
  const root = rootTable(r.vm, rootsInUse(r.vm).at(-1)!);
  const mmio = tdpFindLeaf(r.vm, root, gfn + 3, newLeafRef());
  t.true(isMmio(mmio.lo, mmio.hi));
  t.is(sptePfn(mmio.lo, mmio.hi), gfn + 3, 'the MMIO SPTE keeps the 40-bit gfn');
});

test('above kvm_mmu_max_gfn(): a guest access emulates, a pre-fault is ENOENT, with no SPTE and no slot', (t) => {
  const r = topRun(40, 0, 16 * MiB, [access(2 ** 40, 'read'), preFault(2 ** 40, PAGE), access(2 ** 40 - PAGE, 'read')]);
  t.true(accessResult(r.results[0]!).emulated);
  t.deepEqual([preFaultResult(r.results[1]!).errno, preFaultResult(r.results[1]!).size], ['ENOENT', '0x1000']);
  t.true(accessResult(r.results[2]!).emulated, 'below the max gfn, no slot: MMIO');
  const root = rootTable(r.vm, rootsInUse(r.vm)[0]!);
  t.true(isMmio(tdpFindLeaf(r.vm, root, 2 ** 28 - 1, newLeafRef()).lo, tdpFindLeaf(r.vm, root, 2 ** 28 - 1, newLeafRef()).hi));
});

/** Private and shared accesses to a guest_memfd slot at `g` on a SW_PROTECTED VM of `physBits`, its first 2M made private. */
function privateRun(physBits: number, g: number) {
  return run({
    type: 'sw_protected', vmOptions: { physBits }, setup: [slot(0, g, 4 * MiB, KVM_MEM_GUEST_MEMFD)], check: 'step',
    ops: [
      { actor: VMM, op: { op: 'set_memory_attributes', gpa: BigInt(g), size: BigInt(2 * MiB), attributes: 8n, flags: 0n } },
      { actor: 0, op: access(g + PAGE, 'write'), after: 0 },
      { actor: 0, op: access(g + 2 * MiB + PAGE, 'write') },
      { actor: VMM, op: { op: 'set_memory_attributes', gpa: BigInt(g), size: BigInt(PAGE * 2), attributes: 0n, flags: 0n }, after: 2 },
      { actor: 0, op: access(g + PAGE, 'read'), after: 3 },
    ],
  });
}

test('private memory above 2^32 gfns: attributes, guest_memfd, conversion and the faults at the top of a 52-bit space behave as at gpa 0', (t) => {
  const top = privateRun(52, 2 ** 52 - 4 * MiB);
  const low = privateRun(52, 0);
  t.deepEqual(top.violations.map((v) => v.message), []);
  t.deepEqual(top.results, low.results);
  t.true(accessResult(top.results[1]!).ok, 'private: mapped from guest_memfd');
});
