// Goal: a guest access may end only with the errnos a guest page fault returns (EFAULT, ENOMEM), and the deterministic engine checks every completed access — single and streamed — so forcing a guest fault to take the prefetch path on an INVALID memslot (EAGAIN) is caught; method: the check on each errno, then runs racing a memslot delete or move with and without the mutation.

import test from 'ava';
import { GUEST_ACCESS_ERRNOS, checkGuestAccessErrno } from '../../src/check/guest-access.js';
import type { ScheduledOp } from '../../src/engine/deterministic.js';
import type { Op } from '../../src/kvm/ops.js';
import { ERRNO_VALUES, type Errno } from '../../src/kvm/types.js';
import { MiB, access, run, scripted, slot } from '../helpers/run.js';

const VMM = 2;
const SLOT1 = 32 * MiB;
const setup = [slot(0, 0, 16 * MiB), slot(1, SLOT1, 2 * MiB)];

test('EFAULT and ENOMEM pass; every other errno is a violation naming the actor, gpa and errno', (t) => {
  t.is(checkGuestAccessErrno('vcpu0', 0x1000, null), null);
  for (const errno of Object.keys(ERRNO_VALUES) as Errno[]) {
    const v = checkGuestAccessErrno('vcpu1', 0x2001000, errno);
    if (GUEST_ACCESS_ERRNOS.includes(errno)) {
      t.is(v, null, errno);
      continue;
    }
    t.like(v, { kind: 'access-conformance', actors: ['vcpu1'], gpa: 0x2001000, gfn: 0x2001, errno, step: -1 }, errno);
    t.regex(v!.message, new RegExp(`0x2001000.*-${errno}`));
  }
  t.deepEqual([...GUEST_ACCESS_ERRNOS].sort(), ['EFAULT', 'ENOMEM']);
});

test('a write to memory the host made read-only ends with EFAULT and is no finding', (t) => {
  const r = run({ setup, ops: [{ actor: 1, op: { op: 'invalidate', gpa: 0x5000, size: 4096, kind: 'mprotect', prot: 'r' } }, { actor: 0, op: access(0x5000, 'write') }] });
  t.deepEqual(r.violations, []);
  t.like(r.results[1], { op: 'access', ok: false, errno: 'EFAULT' });
});

// vmm: the delete (or move) swaps in the INVALID copy of slot 1 within its first steps;
// then vcpu0's access faults on it; then the vmm finishes the change (a scheduler that
// kept picking the retrying vCPU would never let it, and the run would end at the step
// limit instead of finishing).
const racing = (change: Op, first: Op): ScheduledOp[] => [{ actor: VMM, op: change }, { actor: 0, op: first }];
const script = [...Array<number>(6).fill(VMM), ...Array<number>(40).fill(0), ...Array<number>(1000).fill(VMM)];

for (const [name, change] of [['delete', slot(1, SLOT1, 0)], ['move', slot(1, 48 * MiB, 2 * MiB)]] as const) {
  test(`a guest fault on the INVALID slot of a memslot ${name} retries; forced down the prefetch path it ends with EAGAIN, a finding`, (t) => {
    const ops = racing(change, access(SLOT1 + 0x1000, 'write'));
    const clean = run({ setup, ops, scheduler: scripted(script) });
    t.is(clean.error, null);
    t.deepEqual(clean.violations, []);
    t.true(clean.results.every((r) => r !== null), 'both ops finish');
    t.true((clean.actors[0]!.retriesByReason['invalid-slot'] ?? 0) > 0, 'the fault met the INVALID slot');
    const bad = run({ setup, ops, scheduler: scripted(script), mutate: ['page-fault.isPrefetch=true'] });
    const v = bad.violations[0];
    t.like(v, { kind: 'access-conformance', actors: ['vcpu0'], gpa: SLOT1 + 0x1000, errno: 'EAGAIN' }, JSON.stringify(bad.violations));
    t.regex(v!.transition ?? '', /slotIsInvalid && isPrefetch/);
  });
}

test('an access of an access_stream is checked too, at its own gpa', (t) => {
  const stream: Op = { op: 'access_stream', gfns: Uint32Array.of(0x10, SLOT1 / 4096 + 3), kinds: Uint8Array.of(1, 0) };
  const bad = run({ setup, ops: racing(slot(1, SLOT1, 0), stream), scheduler: scripted(script), mutate: ['page-fault.isPrefetch=true'] });
  t.like(bad.violations[0], { kind: 'access-conformance', gpa: SLOT1 + 3 * 4096, errno: 'EAGAIN' }, JSON.stringify(bad.violations));
});
