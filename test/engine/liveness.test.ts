// Goal: liveness names the right actors — a deadlock only the unfinished ones, with each one's wait; a retry counts towards a livelock only when no other helper (host or vmm, not itself retrying) could have run; method: the runtimes of a built run, driven by hand, and the pinned R13 livelock end to end.

import test from 'ava';
import { Liveness, deadlock, isHelper } from '../../src/engine/liveness.js';
import { buildRun } from '../../src/engine/run-build.js';
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

test('helpers: a host or vmm not retrying; another runnable helper marks a vCPU\'s fault as one others could have ended', (t) => {
  const b = built();
  const [vcpu0, , host, vmm] = b.runtimes;
  t.false(isHelper(vcpu0!));
  t.true(isHelper(host!) && isHelper(vmm!));
  const live = new Liveness(b.runtimes, b.collector);
  live.noteHelpers(vmm!, 1);
  t.false(vmm!.otherCouldProgress, 'the only helper is itself');
  live.noteHelpers(vcpu0!, 1);
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
