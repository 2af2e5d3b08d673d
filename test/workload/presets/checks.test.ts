// Goal: the presets' online checks flag what the selftests assert — a pre-fault loop over the stress memslots ending other than with 0 (or an allowed errno), an mmu-stress stage whose accesses did not all succeed, or a write that succeeded while the host had memory read-only; method: feed hand-made events.

import test from 'ava';
import { firstValueFrom, of, toArray } from 'rxjs';
import { EV } from '../../../src/engine/control.js';
import { errnoCode } from '../../../src/engine/threaded-emit.js';
import { mmuStressChecks, preFaultChecks } from '../../../src/workload/presets/checks.js';

test('the pre-fault check: a pre-fault loop over the stress memslots may only end with 0, or with an allowed errno', async (t) => {
  const ev = (errno: 'EFAULT' | 'ENOENT' | null) => ({ actor: 1, type: EV.PRE_FAULT, code: 0, a: errnoCode(errno), b: 0, c: 1 });
  const events = [ev(null), ev('EFAULT'), ev('ENOENT')];
  const strict = await firstValueFrom(preFaultChecks()(of(...events), () => 'vcpu1').pipe(toArray()));
  t.deepEqual(strict.map((v) => /ended with (\w+)/.exec(v.message)![1]), ['EFAULT', 'ENOENT']);
  const lenient = await firstValueFrom(preFaultChecks(new Set(['EFAULT']))(of(...events), () => 'vcpu1').pipe(toArray()));
  t.deepEqual(lenient.map((v) => v.kind), ['pre-fault-conformance']);
});

test('the mmu-stress check: a write that succeeded while read-only, an access that failed in another stage', async (t) => {
  const ev = (code: number, a: number, b: number, c: number) => ({ actor: 0, type: EV.STAGE, code, a, b, c });
  const found = await firstValueFrom(mmuStressChecks(of(ev(3, 0, 256, 0), ev(3, 1, 255, 0), ev(4, 256, 0, 0), ev(4, 255, 1, 0)), () => 'vcpu0').pipe(toArray()));
  t.deepEqual(found.map((v) => (v.message.includes('succeeded') ? 'ro-write' : 'failed')), ['ro-write', 'failed']);
  t.true(found.every((v) => v.kind === 'access-conformance'));
});
