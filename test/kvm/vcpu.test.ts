// Goal: guest accesses behave like the CPU's: TLB hits only for the same kind of access (private/shared, write, exec), a mismatched private/shared access exits to the VMM with EFAULT instead of spinning, a walk may start from a table the paging-structure cache kept, so a table unlinked without a flush is reached after it was freed; method: engine runs on SNP and SW_PROTECTED VMs, and explorations of a huge-page-over-table scenario with and without the flushes.

import test from 'ava';
import { KVM_MEM_GUEST_MEMFD } from '../../src/kvm/memslots.js';
import type { Op, OpResult } from '../../src/kvm/ops.js';
import { MiB, preFault, run, slot } from '../helpers/run.js';
import { explore, type RaceTarget } from '../../src/race/race.js';
import { scenarioHash } from '../../src/race/token.js';
import { parseScenario } from '../../src/workload/scenario.js';

const VMM = 3; // vcpus = 2
const priv: Op = { op: 'set_memory_attributes', gpa: 0n, size: 2n * BigInt(MiB), attributes: 8n, flags: 0n };
const access = (gpa: number, kind: 'read' | 'write', isPrivate?: boolean): Op => ({ op: 'access', gpa, access: kind, ...(isPrivate === undefined ? {} : { private: isPrivate }) });
const acc = (r: OpResult | null) => {
  if (r?.op !== 'access') throw new Error(`not an access: ${JSON.stringify(r)}`);
  return r;
};

test('SNP: a shared access to a private page misses the TLB and exits with EFAULT (KVM_EXIT_MEMORY_FAULT), it does not spin', (t) => {
  const r = run({
    type: 'snp', vcpus: 2,
    setup: [slot(0, 0, 32 * MiB, KVM_MEM_GUEST_MEMFD)],
    ops: [
      { actor: VMM, op: priv }, { actor: VMM, op: { op: 'finalize' } },
      { actor: 0, op: preFault(0, MiB) },
      { actor: 1, op: access(0x1000, 'write', true) },
      { actor: 1, op: access(0x1000, 'write', false) },
      { actor: 1, op: access(0x300000, 'read', false) },
    ],
  });
  t.deepEqual(r.violations, []);
  t.true(r.completed);
  t.deepEqual([acc(r.results[3]!).ok, acc(r.results[3]!).exits], [true, 0], 'the private page was pre-faulted');
  t.deepEqual([acc(r.results[4]!).ok, acc(r.results[4]!).errno], [false, 'EFAULT']);
  t.true(acc(r.results[5]!).ok);
});

test('SW_PROTECTED: the access kind follows the attributes, so both kinds work after a conversion', (t) => {
  const r = run({
    type: 'sw_protected', vcpus: 2,
    setup: [slot(0, 0, 32 * MiB, KVM_MEM_GUEST_MEMFD)],
    ops: [
      { actor: 0, op: access(0x1000, 'write') },
      { actor: VMM, op: priv },
      { actor: 1, op: access(0x1000, 'write') },
      { actor: 0, op: access(0x1000, 'read') },
    ],
  });
  t.deepEqual(r.violations, []);
  t.true(r.results.every((x) => x !== null && x.op === 'access' ? x.ok : true));
});

/**
 * vcpu0 writes two pages of a 2M-backed slot while dirty logging forces 4K mappings (its
 * walks cache their last-level table); the VMM turns dirty logging off; vcpu1 reads a third
 * page of that 2 MiB — a fault that can map 2M over the 4K table — while vcpu0 reads two more.
 */
const hugeOverTable = {
  name: 'huge-over-table',
  vm: { type: 'default', vcpus: 2 },
  memslots: [{ slot: 0, gpa: '0x0', size: '4MiB', flags: ['log_dirty_pages'], backing: '2M', host_memory: 'hugetlbfs' }],
  ops: [
    { actor: 'vcpu0', op: 'access', gpa: '0x1000', access: 'write' },
    { actor: 'vcpu0', op: 'access', gpa: '0x3000', access: 'write' },
    { actor: 'vmm', op: 'set_memslot', slot: 0, gpa: '0x0', size: '4MiB', backing: '2M', host_memory: 'hugetlbfs', after: 1 },
    { actor: 'vcpu1', op: 'access', gpa: '0x5000', access: 'read', after: 1 },
    { actor: 'vcpu0', op: 'access', gpa: '0x7000', access: 'read' },
    { actor: 'vcpu0', op: 'access', gpa: '0x9000', access: 'read' },
  ],
};
const hugeOverTableTarget: RaceTarget = {
  id: 'test:huge-over-table', scenario: parseScenario(JSON.stringify(hugeOverTable), 'huge-over-table'), hash: scenarioHash(hugeOverTable), entry: null,
};

test('a table replaced by a huge SPTE is flushed from every paging-structure cache before it is freed: no schedule of the portfolio finds a walk into it, on 6.12 or 6.13', (t) => {
  for (const kernel of ['6.12', '6.13'] as const) {
    const r = explore(hugeOverTableTarget, { kernel, budget: 400 });
    t.false(r.found, `${kernel}: ${r.run?.violations[0]?.message ?? ''}`);
  }
});

test('without the fault\'s kvm_flush_remote_tlbs_gfn() after mapping huge over a table, vcpu0 walks from its cached table after the table was freed (table-reuse)', (t) => {
  for (const kernel of ['6.12', '6.13'] as const) {
    const r = explore(hugeOverTableTarget, { kernel, budget: 400, skip: ['page-fault.flushRemoteTlbsGfn'] });
    t.true(r.found, kernel);
    t.is(r.run!.violations[0]!.kind, 'table-reuse');
    t.regex(r.run!.violations[0]!.message, /paging-structure cache/);
  }
});

test('6.13: without recover-huge\'s flush, or with it but outside the RCU read section (kvm_flush_remote_tlbs_memslot() before rcu_read_unlock()), the table it replaced in place is reached the same way', (t) => {
  for (const skip of [['memslot-update.kvmFlushRemoteTlbs'], ['memslot-update.rcuReadLock', 'memslot-update.rcuReadUnlock']]) {
    const r = explore(hugeOverTableTarget, { kernel: '6.13', budget: 400, skip });
    t.true(r.found, skip.join(' '));
    t.is(r.run!.violations[0]!.kind, 'table-reuse', skip.join(' '));
  }
});

test('rcu_read_unlock() or srcu_read_unlock() without the matching lock is lockdep\'s bad unlock balance (lock-discipline)', (t) => {
  for (const skip of ['memslot-update.rcuReadLock', 'page-fault.rcuReadLock', 'vcpu.srcuReadLock']) {
    const r = explore(hugeOverTableTarget, { kernel: '6.13', budget: 50, skip: [skip] });
    t.true(r.found, skip);
    t.is(r.run!.violations[0]!.kind, 'lock-discipline', skip);
    t.regex(r.run!.violations[0]!.message, /read_unlock\(.*\) without a matching .*read_lock\(\) \(lockdep: bad unlock balance\)/, skip);
  }
});
