// Goal: guest accesses behave like the CPU's: TLB hits only for the same kind of access (private/shared, write, exec), a mismatched private/shared access exits to the VMM with EFAULT instead of spinning; method: engine runs on SNP and SW_PROTECTED VMs.

import test from 'ava';
import { KVM_MEM_GUEST_MEMFD } from '../../src/kvm/memslots.js';
import type { Op, OpResult } from '../../src/kvm/ops.js';
import { MiB, preFault, run, slot } from '../helpers/run.js';

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
