// Goal: a dead VM answers every vCPU ioctl with EIO on every release, and a pre-fault already retrying inside kvm_tdp_map_page() bails out with EIO only from 6.16 (958810a09412) — before, it retries on and may succeed; method: scripted schedules of one scenario on both sides of the commit.

import test from 'ava';
import type { KernelRelease } from '../../src/kvm/kernel-release.js';
import type { Op } from '../../src/kvm/ops.js';
import { MiB, access, preFault, preFaultResult, run, scripted, slot } from '../helpers/run.js';

const HOST = 1;
const VMM = 2;
const migrate: Op = { op: 'invalidate', gpa: 0, size: 4096, kind: 'migrate', prot: 'r' };

/**
 * The host migrates gpa 0 and stops inside the invalidation (in_progress held, mmu_lock
 * free); vcpu0's pre-fault of that page retries; the VM dies; then everyone runs on.
 */
function deadWhileRetrying(kernel: KernelRelease, hostSteps: number) {
  return run({
    vmOptions: { kernel },
    setup: [slot(0, 0, 16 * MiB)],
    ops: [
      { actor: HOST, op: migrate },
      { actor: 0, op: preFault(0, 4096) },
      { actor: VMM, op: { op: 'vm_dead' } },
      { actor: 0, op: access(0x2000, 'read') },
    ],
    scheduler: scripted([...Array<number>(hostSteps).fill(HOST), ...Array<number>(40).fill(0), VMM, ...Array<number>(10).fill(0), ...Array<number>(60).fill(HOST)]),
    trace: true,
  });
}

const HOST_STEPS = 6; // the host is past its write-locked zap, in_progress still held

test('958810a09412 (6.16): a pre-fault retrying inside kvm_tdp_map_page() when the VM dies returns EIO', (t) => {
  const r = deadWhileRetrying('6.16', HOST_STEPS);
  t.deepEqual(r.violations, [], 'EIO is what KVM_RUN on a dead VM returns: no finding');
  t.true(r.actors[0]!.faults > 1, 'the pre-fault was retrying when the VM died');
  t.like(preFaultResult(r.results[1]!), { ret: -1, errno: 'EIO', size: '0x1000' });
  t.like(r.results[3], { op: 'access', ok: false, errno: 'EIO' }, 'and the next KVM_RUN is refused');
});

test('6.15: the same pre-fault keeps retrying after the VM died and maps the page once the invalidation ends', (t) => {
  const r = deadWhileRetrying('6.15', HOST_STEPS);
  t.deepEqual(r.violations, []);
  t.like(preFaultResult(r.results[1]!), { ret: 0, errno: null, size: '0x0' }, 'the loop has no VM_DEAD check');
  t.like(r.results[3], { op: 'access', ok: false, errno: 'EIO' }, 'KVM_RUN still ends with EIO (vcpu_enter_guest() checks the request on every release)');
});

test('on every release, a vCPU ioctl issued after the VM died is EIO before anything else (kvm_vcpu_ioctl())', (t) => {
  for (const kernel of ['6.11', '6.19'] as const) {
    const r = run({
      vmOptions: { kernel },
      setup: [slot(0, 0, 16 * MiB)],
      ops: [{ actor: VMM, op: { op: 'vm_dead' } }, { actor: 0, op: preFault(0, 4096), after: 0 }, { actor: 0, op: { op: 'mmu_reset' } }],
    });
    t.deepEqual(r.violations, [], kernel);
    t.like(preFaultResult(r.results[1]!), { ret: -1, errno: 'EIO', size: '0x1000' }, kernel);
    t.like(r.results[2], { op: 'mmu_reset', ret: -1, errno: 'EIO' }, kernel);
    t.is(r.actors[0]!.faults, 0, `${kernel}: nothing was faulted`);
  }
});

test('an EIO from KVM_RUN is a finding while the VM is alive', (t) => {
  const r = run({ setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: 0, op: access(0x1000, 'read') }], mutate: ['vcpu.vmDead=true'] });
  t.like(r.violations[0], { kind: 'access-conformance', errno: 'EIO' }, JSON.stringify(r.violations));
});
