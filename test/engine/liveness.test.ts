// Goal: liveness names the right actors — a deadlock only the unfinished ones, with each one's wait; a retry counts towards a livelock only when no other helper (the host, the VMM or a vCPU whose last fault did not spin) could have run; method: the runtimes of a built run, driven by hand, the pinned R13 livelock end to end, and a strict-priority schedule that starves a vCPU holding kvm->srcu.

import test from 'ava';
import { Liveness, deadlock, isHelper } from '../../src/engine/liveness.js';
import { buildRun } from '../../src/engine/run-build.js';
import type { Scheduler } from '../../src/sched/scheduler.js';
import { MiB, access, preFault, run, scripted, slot } from '../helpers/run.js';

const built = () =>
  buildRun({ vm: { type: 'default', vcpus: 2, guestBytes: 64 * MiB }, setup: [], ops: [{ actor: 0, op: access(0x1000) }, { actor: 3, op: slot(0, 0, 2 * MiB) }], scheduler: 'sequential', seed: 1 });

test('a deadlock names the unfinished actors only, each with its state and wait', (t) => {
  const b = built();
  const v = deadlock(b.runtimes, 7);
  // The host has no op: finished (a vCPU is, only once its machine has stopped).
  t.deepEqual(v.actors, ['vcpu0', 'vcpu1', 'vmm']);
  t.is(v.step, 7);
  t.regex(v.message, /vcpu0 in vcpu\.outside waits on .*; vmm in idle waits on/);
});

test('helpers: a host, vmm or vCPU not retrying, but no vCPU whose last fault spun; another runnable helper marks a vCPU\'s fault as one others could have ended', (t) => {
  const b = built();
  const [vcpu0, vcpu1, host, vmm] = b.runtimes;
  t.true(isHelper(vcpu0!) && isHelper(host!) && isHelper(vmm!));
  const spin = new Liveness(b.runtimes, b.collector);
  Object.assign(vcpu1!.a.fault, { errno: null, ret: 'retry', retryReason: 'invalid-slot', cowBroken: false });
  spin.onFaultDone(vcpu1!);
  t.false(isHelper(vcpu1!), 'its last fault retried');
  Object.assign(vcpu1!.a.fault, { ret: 'fixed', prefetch: true });
  spin.onFaultDone(vcpu1!);
  t.true(isHelper(vcpu1!), 'a fault of its own succeeded');
  Object.assign(vcpu1!.a.fault, { ret: 'retry', prefetch: false });
  spin.onFaultDone(vcpu1!);
  t.false(isHelper(vcpu1!), 'it spun again');
  vcpu1!.a.fault.cowBroken = true;
  t.true(isHelper(vcpu1!), 'breaking CoW in its next fault: the invalidation others retry on is its own, and it will end it');
  vcpu1!.a.fault.cowBroken = false;
  const live = new Liveness(b.runtimes, b.collector);
  live.noteHelpers(vmm!, 1);
  t.false(vmm!.otherCouldProgress, 'the only helper is itself');
  live.noteHelpers(vcpu0!, 1);
  t.false(vcpu0!.otherCouldProgress, 'the only helper is itself, a vCPU not retrying');
  live.noteHelpers(vcpu0!, 2);
  t.true(vcpu0!.otherCouldProgress);
});

test('R13 end to end: a pre-fault retrying on an obsolete root while the deleter waits for its SRCU read lock is a livelock naming both', (t) => {
  const r = run({
    setup: [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)], ops: [{ actor: 2, op: slot(1, 32 * MiB, 0) }, { actor: 0, op: preFault(0, 2 * MiB) }],
    scheduler: scripted([...Array<number>(9).fill(2), ...Array<number>(30).fill(0), ...Array<number>(40).fill(2)]),
  });
  const v = r.violations[0];
  t.like(v, { kind: 'livelock', actors: ['vcpu0'] }, JSON.stringify(r.violations));
  t.regex(v!.message, /retried \d+ times \(last reason: obsolete-root\).*Others: .*vmm waits on synchronize_srcu/);
});

/**
 * vcpu0 first, until its pre-fault ioctl holds kvm->srcu; then the VMM, which moves slot 0
 * (the INVALID copy, then synchronize_srcu(), waiting for vcpu0); then vcpu1 whenever it
 * can run — its access to slot 0 retries on the INVALID slot — for 3000 steps, then
 * round-robin (PCT turns fair the same way).
 */
function starveTheReader(): Scheduler {
  let phase = 0;
  return {
    name: 'starve', wantsLabels: true,
    next(view) {
      const labels = view.labels!;
      if (phase === 0 && !labels[0]?.includes('pre-fault.mapPage')) return view.runnable.includes(0) ? 0 : view.runnable[0]!;
      if (phase === 0) phase = 1;
      if (phase === 1 && view.runnable.includes(3)) return 3;
      phase = 2;
      if (view.step < 3000 && view.runnable.includes(1)) return 1;
      return view.runnable.find((a) => a > view.previous) ?? view.runnable[0]!;
    },
  };
}

test('a vCPU retrying on an INVALID slot while a strict-priority schedule starves the vCPU whose ioctl the memslot update waits for is not a livelock', (t) => {
  const r = run({
    vcpus: 2, setup: [slot(0, 0, 4 * MiB), slot(1, 32 * MiB, 4 * MiB)],
    ops: [{ actor: 0, op: preFault(32 * MiB, 64 * 1024) }, { actor: 3, op: slot(0, 384 * MiB, 4 * MiB) }, { actor: 1, op: access(0x1000, 'write') }],
    scheduler: starveTheReader(),
  });
  t.deepEqual(r.violations, [], 'vcpu0 would finish its pre-fault and release kvm->srcu under any fair schedule');
  t.true(r.completed);
  const vcpu1 = r.actors.find((a) => a.actor === 'vcpu1')!;
  t.true(JSON.stringify(vcpu1).includes('invalid-slot'), `vcpu1 retried on the INVALID slot: ${JSON.stringify(vcpu1)}`);
});
