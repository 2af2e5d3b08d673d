// Goal: host mm events reach the guest the way mmu_stress_test expects (mprotect read-only → writes fail with EFAULT until mprotect read-write; munmap → EFAULT; migrate/reclaim → a new page after a refault) and attribute conversions zap and remap; method: engine runs.

import test from 'ava';
import type { Op, OpResult } from '../../src/kvm/ops.js';
import { KVM_MEM_GUEST_MEMFD } from '../../src/kvm/memslots.js';
import { MiB, access, run, slot } from '../helpers/run.js';

const HOST = 1;
const VMM = 2;
const hostEvent = (kind: 'migrate' | 'reclaim' | 'mprotect' | 'munmap', prot: 'r' | 'rw' | 'none' = 'r'): Op => ({ op: 'invalidate', gpa: 0x1000, size: 4096, kind, prot });
const acc = (r: OpResult | null) => {
  if (r?.op !== 'access') throw new Error(`not an access: ${JSON.stringify(r)}`);
  return r;
};

test('mprotect(PROT_READ): reads still work, writes fail with EFAULT; mprotect(PROT_READ|PROT_WRITE) restores them', (t) => {
  const r = run({
    setup: [slot(0, 0, 16 * MiB)],
    ops: [
      { actor: 0, op: access(0x1000, 'write') },
      { actor: HOST, op: hostEvent('mprotect', 'r') },
      { actor: 0, op: access(0x1000, 'read') },
      { actor: 0, op: access(0x1000, 'write') },
      { actor: 0, op: access(0x1000, 'write') },
      { actor: HOST, op: hostEvent('mprotect', 'rw') },
      { actor: 0, op: access(0x1000, 'write') },
    ],
  });
  t.deepEqual(r.violations, []);
  t.true(acc(r.results[2]!).ok);
  t.deepEqual([acc(r.results[3]!).ok, acc(r.results[3]!).errno], [false, 'EFAULT']);
  t.deepEqual([acc(r.results[4]!).ok, acc(r.results[4]!).errno], [false, 'EFAULT']);
  t.true(acc(r.results[6]!).ok);
});

test('munmap: the next access fails with EFAULT; migrate and reclaim refault a new page', (t) => {
  const munmap = run({ setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: 0, op: access(0x1000, 'write') }, { actor: HOST, op: hostEvent('munmap') }, { actor: 0, op: access(0x1000, 'read') }] });
  t.deepEqual(munmap.violations, []);
  t.is(acc(munmap.results[2]!).errno, 'EFAULT');
  for (const kind of ['migrate', 'reclaim'] as const) {
    const r = run({ setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: 0, op: access(0x1000, 'write') }, { actor: HOST, op: hostEvent(kind) }, { actor: 0, op: access(0x1000, 'read') }] });
    t.deepEqual(r.violations, [], kind);
    const again = acc(r.results[2]!);
    t.true(again.ok && again.exits === 1, `${kind}: the zapped SPTE makes the next access fault once`);
    const ev = r.results[1]!;
    t.true(ev.op === 'invalidate' && ev.pagesFreed === 1, `${kind}: the old page is freed after invalidate_range_end`);
  }
});

test('attribute conversion: shared → private zaps the shared mapping and maps guest_memfd; private → shared back', (t) => {
  const attrs = (v: bigint): Op => ({ op: 'set_memory_attributes', gpa: 0n, size: 2n * BigInt(MiB), attributes: v, flags: 0n });
  const r = run({
    type: 'sw_protected',
    setup: [slot(0, 0, 16 * MiB, KVM_MEM_GUEST_MEMFD)],
    ops: [
      { actor: 0, op: access(0x1000, 'write') },
      { actor: VMM, op: attrs(8n) },
      { actor: 0, op: access(0x1000, 'write') },
      { actor: VMM, op: attrs(0n) },
      { actor: 0, op: access(0x1000, 'read') },
      { actor: VMM, op: { op: 'set_memory_attributes', gpa: 0n, size: 4096n, attributes: 1n, flags: 0n } },
    ],
  });
  t.deepEqual(r.violations, []);
  t.is(acc(r.results[2]!).exits, 1, 'the conversion zapped the shared SPTE');
  t.is(acc(r.results[4]!).exits, 1, 'and back');
  const bad = r.results[5]!;
  t.true(bad.op === 'set_memory_attributes' && bad.errno === 'EINVAL', 'unknown attribute bits → EINVAL');
});

test('an invalidation that adds no range between begin and end is the kernel\'s WARN at kvm_mmu_invalidate_end() (the fault side: test/kvm/page-fault.test.ts)', (t) => {
  const clean = run({ setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: 0, op: access(0x1000, 'write') }, { actor: HOST, op: hostEvent('migrate'), after: 0 }], scheduler: 'sequential', seed: 1 });
  t.deepEqual(clean.violations, []);
  const r = run({ setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: 0, op: access(0x1000, 'write') }, { actor: HOST, op: hostEvent('migrate'), after: 0 }], scheduler: 'sequential', seed: 1, skip: ['invalidation.kvmMmuInvalidateRangeAdd'] });
  t.is(r.violations[0]?.kind, 'unbalanced-in-progress');
  t.regex(r.violations[0]!.message, /kvm_mmu_invalidate_end\(\) found no range added/);
});
