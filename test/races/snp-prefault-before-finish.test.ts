// Goal: R10 shows what the kernel showed — with pre-fault allowed before KVM_SEV_SNP_LAUNCH_FINISH, a pre-fault's sev_gmem_prepare() can assign a page's RMP entry between sev_gmem_post_populate()'s lookup and its copy_from_user(), an RMP #PF; the RMP states are those of sev.c (shared → private by prepare, shared → validated by populate); method: scripted and sequential runs of an SNP VM.

import test from 'ava';
import type { ScheduledOp } from '../../src/engine/deterministic.js';
import type { Op } from '../../src/kvm/ops.js';
import { SlotInfo, gfnToMemslot, memslotsActiveSet } from '../../src/kvm/memslots.js';
import { RMP_PRIVATE, RMP_SHARED, RMP_VALIDATED, rmpState } from '../../src/kvm/snp-rmp.js';
import type { Vm } from '../../src/kvm/vm.js';
import { MiB, preFault, preFaultResult, run, slot } from '../helpers/run.js';

const VMM = 2;
const GUEST_MEMFD = 4;
const setup = [slot(0, 0, 16 * MiB, GUEST_MEMFD)];
const privateRange: Op = { op: 'set_memory_attributes', gpa: 0n, size: 0x10000n, attributes: 8n, flags: 0n };
const populate: Op = { op: 'snp_launch_update', gpa: 0, size: 0x8000 };
/** The RMP entry of the page behind `gfn` (slot 0's guest_memfd). */
const rmpOf = (vm: Vm, gfn: number): number => {
  const s = new SlotInfo();
  gfnToMemslot(vm, memslotsActiveSet(vm), gfn, s);
  return rmpState(vm, s.gmemBase + gfn - s.baseGfn);
};

test('populate then finish then pre-fault: populated pages are validated, the pre-faulted one beyond them private, the rest shared; clean', (t) => {
  const ops: ScheduledOp[] = [
    { actor: VMM, op: privateRange }, { actor: VMM, op: populate }, { actor: VMM, op: { op: 'finalize' } },
    { actor: 0, op: preFault(0x8000, 0x1000), after: 2 },
  ];
  const r = run({ type: 'snp', setup, ops });
  t.deepEqual(r.violations, []);
  t.deepEqual(r.results[1], { op: 'snp_launch_update', ret: 0, errno: null, pages: 8 });
  t.is(preFaultResult(r.results[3]!).ret, 0);
  const states = Array.from({ length: 10 }, (_, gfn) => rmpOf(r.vm, gfn));
  t.deepEqual(states, [...Array(8).fill(RMP_VALIDATED), RMP_PRIVATE, RMP_SHARED]);
});

test('the fix: a pre-fault before launch finish is EOPNOTSUPP and assigns nothing', (t) => {
  const r = run({ type: 'snp', setup, ops: [{ actor: VMM, op: privateRange }, { actor: 0, op: preFault(0x8000, 0x1000), after: 0 }] });
  t.deepEqual(r.violations, []);
  t.is(preFaultResult(r.results[1]!).errno, 'EOPNOTSUPP');
  t.is(rmpOf(r.vm, 8), RMP_SHARED);
});

test('without the fix: a pre-fault that assigned a page before populate reaches it makes populate fail with EEXIST (no fault)', (t) => {
  const ops: ScheduledOp[] = [
    { actor: VMM, op: privateRange }, { actor: 0, op: preFault(0x2000, 0x1000), after: 0 }, { actor: VMM, op: populate, after: 1 },
  ];
  const r = run({ type: 'snp', setup, ops, mutate: ['pre-fault.preFaultNotAllowed=false'] });
  t.deepEqual(r.violations, []);
  t.deepEqual(r.results[2], { op: 'snp_launch_update', ret: -1, errno: 'EEXIST', pages: 2 });
});

test('not an SNP VM, or a range outside guest_memfd: KVM_SEV_SNP_LAUNCH_UPDATE is EINVAL', (t) => {
  t.deepEqual(run({ type: 'sw_protected', setup, ops: [{ actor: VMM, op: populate }] }).results[0], { op: 'snp_launch_update', ret: -1, errno: 'EINVAL', pages: 0 });
  t.deepEqual(run({ type: 'snp', setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: VMM, op: populate }] }).results[0], { op: 'snp_launch_update', ret: -1, errno: 'EINVAL', pages: 0 });
});
