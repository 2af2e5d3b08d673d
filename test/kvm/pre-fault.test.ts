// Goal: KVM_PRE_FAULT_MEMORY and KVM_MAP_MEMORY return exactly the kernel's errno and progress (reference §1.3–1.6, selftest §2.1); method: runs of the deterministic engine.

import test from 'ava';
import { access, GiB, KiB, MiB, preFault, preFaultResult, run, scripted, slot } from '../helpers/run.js';
import { KVM_MEM_GUEST_MEMFD } from '../../src/kvm/memslots.js';
import type { Op } from '../../src/kvm/ops.js';
import { SPTE_A, isShadowPresent } from '../../src/kvm/spte.js';
import { tdpFindLeaf } from '../../src/kvm/tdp-iter.js';
import { rootTable, vcpuRootSlot } from '../../src/kvm/tdp-mmu.js';

const VMM = 2; // vcpus = 1: 0 = vcpu0, 1 = host, 2 = vmm

function one(op: Op, setup: Op[] = [slot(0, 0, 16 * MiB)], type: 'default' | 'sw_protected' | 'snp' | 'tdx' = 'default') {
  const r = run({ type, setup, ops: [{ actor: 0, op }] });
  return { r, res: preFaultResult(r.results[0]!) };
}

test('flags != 0 → EINVAL, range untouched', (t) => {
  const { res } = one(preFault(0, 4096, { flags: 1n }));
  t.deepEqual([res.ret, res.errno, res.gpa, res.size], [-1, 'EINVAL', '0x0', '0x1000']);
});

test('unaligned gpa or size, size 0, and wraparound → EINVAL', (t) => {
  for (const [gpa, size] of [[0x800n, 4096n], [0n, 100n], [0n, 0n], [0xfffffffffffff000n, 0x2000n]] as const) {
    const { res } = one(preFault(gpa, size));
    t.is(res.errno, 'EINVAL', `gpa ${gpa} size ${size}`);
    t.is(res.size, '0x' + size.toString(16));
  }
});

test('a range fully inside a memslot is mapped in one call: ret 0, size 0', (t) => {
  const { r, res } = one(preFault(0, 2 * MiB));
  t.deepEqual([res.ret, res.errno, res.gpa, res.size], [0, null, '0x200000', '0x0']);
  t.deepEqual(r.violations, []);
  t.is(r.actors[0]!.preFaultPages, 512);
});

test('a gpa outside every memslot → ENOENT with no progress', (t) => {
  const { res } = one(preFault(64 * MiB, 4096));
  t.deepEqual([res.ret, res.errno, res.size], [-1, 'ENOENT', '0x1000']);
});

test('partial coverage: the first call returns 0 with the slot part done, the next ENOENT', (t) => {
  const setup = [slot(0, 0, 16 * MiB)];
  const r = run({ setup, ops: [{ actor: 0, op: preFault(16 * MiB - 4096, 8192) }, { actor: 0, op: preFault(16 * MiB, 4096) }] });
  const a = preFaultResult(r.results[0]!);
  const b = preFaultResult(r.results[1]!);
  t.deepEqual([a.ret, a.errno, a.gpa, a.size], [0, null, '0x1000000', '0x1000']);
  t.deepEqual([b.ret, b.errno, b.size], [-1, 'ENOENT', '0x1000']);
});

test('until_done loops like the selftest and ends in the last call’s result', (t) => {
  const { res } = one(preFault(16 * MiB - 4096, 8192, { untilDone: true }));
  t.deepEqual([res.ret, res.errno, res.size, res.calls], [-1, 'ENOENT', '0x1000', 2]);
});

test('a pending signal before any page → EINTR; until_done retries after delivery', (t) => {
  const setup = [slot(0, 0, 16 * MiB)];
  const r1 = run({ setup, ops: [{ actor: VMM, op: { op: 'signal', vcpu: 0 } }, { actor: 0, op: preFault(0, 8192) }] });
  t.deepEqual([preFaultResult(r1.results[1]!).errno, preFaultResult(r1.results[1]!).size], ['EINTR', '0x2000']);
  const r2 = run({ setup, ops: [{ actor: VMM, op: { op: 'signal', vcpu: 0 } }, { actor: 0, op: preFault(0, 8192, { untilDone: true }) }] });
  const res = preFaultResult(r2.results[1]!);
  t.deepEqual([res.ret, res.errno, res.size, res.calls], [0, null, '0x0', 2]);
});

test('a signal after some progress → 0 with the progress, not EINTR', (t) => {
  const setup = [slot(0, 0, 16 * MiB)];
  // vcpu0 runs until its first page is mapped (~25 steps), then the vmm signals.
  const r = run({ setup, ops: [{ actor: 0, op: preFault(0, 64 * KiB) }, { actor: VMM, op: { op: 'signal', vcpu: 0 } }], scheduler: scripted([...Array(30).fill(0), VMM]) });
  const res = preFaultResult(r.results[0]!);
  t.is(res.ret, 0);
  t.is(res.errno, null);
  t.true(BigInt(res.size) > 0n && BigInt(res.size) < 64n * 1024n);
  t.deepEqual(r.violations, []);
});

test('SNP and TDX: EOPNOTSUPP before finalize, allowed after', (t) => {
  for (const type of ['snp', 'tdx'] as const) {
    const before = run({ type, setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: 0, op: preFault(0, 4096) }] });
    t.is(preFaultResult(before.results[0]!).errno, 'EOPNOTSUPP', type);
    const after = run({ type, setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: VMM, op: { op: 'finalize' } }, { actor: 0, op: preFault(0, 4096) }] });
    t.is(preFaultResult(after.results[1]!).errno, null, type);
  }
});

test('2M host backing: one chunk covers the whole huge page; the ioctl still clips to size', (t) => {
  const setup = [slot(0, 0, 16 * MiB, 0, 2)];
  const r = run({ setup, ops: [{ actor: 0, op: preFault(0, 4 * MiB) }, { actor: 0, op: preFault(6 * MiB, 4096) }] });
  t.is(r.actors[0]!.faults, 3, 'two 2M faults for 4 MiB and one for the 4 KiB call');
  t.deepEqual([preFaultResult(r.results[1]!).ret, preFaultResult(r.results[1]!).size], [0, '0x0']);
  t.deepEqual(r.violations, []);
});

test('pre-faulting the whole guest first leaves zero EPT violations for a read-only workload', (t) => {
  const ops = [{ actor: 0, op: preFault(0, 1 * MiB) }];
  for (let g = 0; g < 256; g += 7) ops.push({ actor: 0, op: access(g * 4096, 'read') });
  const r = run({ setup: [slot(0, 0, 16 * MiB)], ops });
  t.is(r.actors[0]!.exits, 0);
  t.deepEqual(r.violations, []);
});

test('a pre-fault never overwrites a present SPTE (spurious) and creates SPTEs without the Accessed bit', (t) => {
  const r = run({ setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: 0, op: access(0, 'write') }, { actor: 0, op: preFault(0, 8192) }] });
  t.is(r.actors[0]!.faultsByRet.spurious, 1);
  t.is(r.actors[0]!.faultsByRet.fixed, 2);
  t.deepEqual(r.violations, []);
  const leaf = (gfn: number) => tdpFindLeaf(r.vm, rootTable(r.vm, vcpuRootSlot(r.vm, 0)), gfn, { sptep: 0, level: 1, table: 0, lo: 0, hi: 0, baseGfn: 0 });
  t.not(leaf(0).lo & SPTE_A, 0, 'the guest access left the Accessed bit (hardware A/D)');
  t.is(leaf(1).lo & SPTE_A, 0, 'the pre-faulted SPTE has no Accessed bit');
  t.true(isShadowPresent(leaf(1).lo));
});

test('SW_PROTECTED private range maps guest_memfd pages; a private attribute on a slot without guest_memfd → EFAULT', (t) => {
  const attrs = (gpa: number, size: number): Op => ({ op: 'set_memory_attributes', gpa: BigInt(gpa), size: BigInt(size), attributes: 8n, flags: 0n });
  const ok = run({ type: 'sw_protected', setup: [slot(0, 0, 16 * MiB, KVM_MEM_GUEST_MEMFD)], ops: [{ actor: VMM, op: attrs(0, 2 * MiB) }, { actor: 0, op: preFault(0, 2 * MiB) }] });
  t.is(preFaultResult(ok.results[1]!).size, '0x0');
  t.deepEqual(ok.violations, []);
  const bad = run({ type: 'sw_protected', setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: VMM, op: attrs(0, 4096) }, { actor: 0, op: preFault(0, 4096) }] });
  t.is(preFaultResult(bad.results[1]!).errno, 'EFAULT');
});

test('a private gpa outside every memslot → EFAULT (kvm_handle_noslot_fault), a shared one → ENOENT (MMIO, emulated)', (t) => {
  const attrs: Op = { op: 'set_memory_attributes', gpa: BigInt(64 * MiB), size: 4096n, attributes: 8n, flags: 0n };
  const priv = run({ type: 'sw_protected', setup: [slot(0, 0, 16 * MiB, KVM_MEM_GUEST_MEMFD)], ops: [{ actor: VMM, op: attrs }, { actor: 0, op: preFault(64 * MiB, 4096) }] });
  t.deepEqual([preFaultResult(priv.results[1]!).errno, preFaultResult(priv.results[1]!).size], ['EFAULT', '0x1000']);
  t.deepEqual(priv.violations, []);
  const shared = run({ type: 'sw_protected', setup: [slot(0, 0, 16 * MiB, KVM_MEM_GUEST_MEMFD)], ops: [{ actor: 0, op: preFault(64 * MiB, 4096) }] });
  t.is(preFaultResult(shared.results[0]!).errno, 'ENOENT');
});

test('memslot deleted under a pre-fault: EAGAIN (6.18), never a hang', (t) => {
  // vcpu0 starts pre-faulting, the vmm marks the slot INVALID and waits for SRCU readers.
  const ops = [{ actor: 0, op: preFault(0, 2 * MiB) }, { actor: VMM, op: slot(0, 0, 0) }];
  let eagain = 0;
  for (let seed = 0; seed < 60; seed++) {
    const r = run({ setup: [slot(0, 0, 16 * MiB)], ops, scheduler: 'random', seed });
    t.deepEqual(r.violations, [], `seed ${seed}`);
    const res = preFaultResult(r.results[0]!);
    t.true(res.errno === null || res.errno === 'EAGAIN' || res.errno === 'ENOENT', `seed ${seed}: ${res.errno}`);
    if (res.errno === 'EAGAIN') eagain++;
  }
  t.true(eagain > 0, 'some interleaving hits the INVALID slot');
});

test('R13: without the EAGAIN fix (retry on an INVALID slot under SRCU), the delete and the pre-fault livelock', (t) => {
  const ops = [{ actor: 0, op: preFault(0, 2 * MiB) }, { actor: VMM, op: slot(0, 0, 0) }];
  let livelocks = 0;
  for (let seed = 0; seed < 60; seed++) {
    const r = run({ setup: [slot(0, 0, 16 * MiB)], ops, scheduler: 'random', seed, mutate: ['page-fault.isPrefetch=false'] });
    if (r.violations.some((v) => v.kind === 'livelock')) livelocks++;
  }
  t.true(livelocks > 0);
});

test('R12: a pre-fault after a memslot delete loops on the obsolete root unless kvm_mmu_reload frees it', (t) => {
  const ops = [{ actor: 0, op: preFault(0, 4096) }, { actor: VMM, op: slot(1, 32 * MiB, 0) }, { actor: 0, op: preFault(4096, 4096) }];
  const setup = [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 1 * MiB)];
  const fixed = run({ setup, ops });
  t.deepEqual(fixed.violations, []);
  t.is(preFaultResult(fixed.results[2]!).errno, null);
  const buggy = run({ setup, ops, mutate: ['pre-fault.hasRequestFreeObsoleteRoots=false'] });
  t.is(buggy.violations[0]?.kind, 'livelock');
});

test('KVM_MAP_MEMORY (RFC): flag checks, nr_pages 0, progress and EAGAIN on partial progress', (t) => {
  const mm = (baseGfn: bigint, nrPages: bigint, flags = 0n): Op => ({ op: 'map_memory', baseGfn, nrPages, flags, source: 0n, untilDone: false });
  const res = (o: Op, type: 'default' | 'sw_protected' = 'default') => {
    const r = run({ type, setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: 0, op: o }] });
    const x = r.results[0]!;
    if (x.op !== 'map_memory') throw new Error('not map_memory');
    return x;
  };
  t.is(res(mm(0n, 1n, 1n << 4n)).errno, 'EINVAL');
  t.is(res(mm(0n, 1n, 8n)).errno, 'EINVAL', 'PRIVATE on a VM without private memory');
  t.is(res(mm(0n, 0n)).errno, 'EINVAL');
  const done = res(mm(0n, 16n, 1n));
  t.deepEqual([done.ret, done.errno, done.baseGfn, done.nrPages, done.source], [0, null, '0x10', '0x0', '0x10000']);
  const partial = res(mm(4095n, 2n));
  t.deepEqual([partial.errno, partial.nrPages], ['EAGAIN', '0x1']);
  t.is(res(mm(8192n, 1n)).errno, 'ENOENT');
});

test('a 1 GiB hugetlb-backed slot is pre-faulted with a single 1G mapping', (t) => {
  const r = run({ guestBytes: 2 * GiB, setup: [slot(0, 0, 1 * GiB, 0, 3, 'hugetlbfs')], ops: [{ actor: 0, op: preFault(0, 1 * GiB) }] });
  t.is(r.actors[0]!.faults, 1);
  t.is(preFaultResult(r.results[0]!).size, '0x0');
  t.deepEqual(r.violations, []);
});

// A host short of page-table memory: vm.page_tables = 6 covers vcpu0's root and caches only.
function starvedRun(mutate: string[] = []) {
  return run({
    vcpus: 2, setup: [slot(0, 0, 16 * MiB)], vmOptions: { pageTables: 6 }, mutate,
    ops: [
      { actor: 0, op: access(0, 'write') },
      { actor: 1, op: access(4 * MiB, 'write') },
      { actor: 0, op: { op: 'mmu_reset' } },
      { actor: 0, op: preFault(MiB, 4 * KiB) },
    ],
  });
}

test('kvm_mmu_reload() failing with -ENOMEM: the pre-fault returns ENOMEM with no progress (28cec7f08b8b)', (t) => {
  const r = starvedRun();
  t.deepEqual(r.violations, []);
  t.is((r.results[1] as { errno: string | null }).errno, 'ENOMEM', 'vcpu1 cannot even load a root');
  const res = preFaultResult(r.results[3]!);
  t.deepEqual([res.ret, res.errno, res.gpa, res.size], [-1, 'ENOMEM', '0x100000', '0x1000']);
});

test('R11 mutation with no memory coming back: the fault\'s own top-up fails before it uses the root', (t) => {
  // Nothing frees memory here, so the fault's own top-up fails too and it returns -ENOMEM
  // before touching the root: the mutation alone is not enough, the catalogue entry needs
  // tables to come back in between.
  const r = starvedRun(['pre-fault.mmuLoadFailed=false']);
  t.deepEqual(r.violations, []);
  t.is(preFaultResult(r.results[3]!).errno, 'ENOMEM');
});

test('KVM_RUN whose kvm_mmu_reload() fails returns ENOMEM for the pending access; the next KVM_RUN retries', (t) => {
  const r = run({
    vcpus: 2, setup: [slot(0, 0, 16 * MiB)], vmOptions: { pageTables: 6 },
    ops: [{ actor: 0, op: access(0, 'write') }, { actor: 1, op: access(4 * MiB, 'read') }, { actor: 1, op: access(4 * MiB, 'read') }],
  });
  t.deepEqual(r.violations, []);
  for (const i of [1, 2]) t.like(r.results[i], { op: 'access', ok: false, errno: 'ENOMEM' });
});

test('8046d29dde17: on a TDX VM a pre-fault of the shared alias (GPA bit 47 under a 4-level EPT) is EINVAL, and a memslot reaching it is too; other VMs have no alias', (t) => {
  const alias = 1n << 47n;
  const tdx = run({
    type: 'tdx', setup: [slot(0, 0, 16 * MiB)],
    ops: [{ actor: VMM, op: { op: 'finalize' } }, { actor: 0, op: preFault(alias, 4096) }, { actor: 0, op: preFault(0, 4096) }, { actor: VMM, op: slot(1, 2 ** 47 - 2 * MiB, 4 * MiB) }, { actor: VMM, op: slot(2, 2 ** 47 - 2 * MiB, 2 * MiB) }],
  });
  t.deepEqual(tdx.violations, []);
  t.like(preFaultResult(tdx.results[1]!), { ret: -1, errno: 'EINVAL', size: '0x1000' }, 'kvm_is_gfn_alias(): not an address userspace registered');
  t.like(preFaultResult(tdx.results[2]!), { ret: 0, errno: null }, 'the private half pre-faults');
  t.like(tdx.results[3], { op: 'set_memslot', errno: 'EINVAL' }, 'a slot whose last gfn has the alias bit');
  t.like(tdx.results[4], { op: 'set_memslot', errno: null }, 'a slot just below it');
  const sw = run({ type: 'sw_protected', setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: 0, op: preFault(alias, 4096) }] });
  t.like(preFaultResult(sw.results[0]!), { errno: 'ENOENT' }, 'no alias bit: no memslot there, the fault emulates');
});
