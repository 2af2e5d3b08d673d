// Goal: tokens replay bit for bit (on the kernel release they record), say clearly when they no longer apply, and survive being shrunk; PCT and replay schedule as specified; method: explore small targets, tamper with tokens, shrink.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explore, kernelOf, replay, resolveTarget, shrink } from '../../src/race/race.js';
import { decodeToken, encodeToken, kernelField, segmentSteps, toSegments, tokenKernel, TokenError, TOKEN_KERNEL_UNRECORDED } from '../../src/race/token.js';
import { PctScheduler } from '../../src/sched/pct.js';
import { Prng } from '../../src/sched/prng.js';
import { ReplayMismatch, ReplayScheduler } from '../../src/sched/replay.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-race-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('explore → token → replay gives the identical run, step for step', (t) => {
  const target = resolveTarget('seq-check');
  const found = explore(target, { scheduler: 'random', budget: 200 });
  t.true(found.found);
  const tok = decodeToken(found.token!);
  const again = replay(tok, { trace: false });
  t.true(again.reproduced);
  t.deepEqual(again.run.choices, found.run!.choices, 'the same labelled steps');
  t.is(again.run.steps, found.run!.steps);
  t.deepEqual(again.run.violations, found.run!.violations);
  t.is(segmentSteps(tok.segments), found.run!.choices.length);
});

test('PCT finds an ordering bug random scheduling needs luck for, and reports its bound', (t) => {
  // A TDX VM pre-faults 64KiB while the VMM finalizes it, with the pre_fault_allowed check gone:
  // the pre-fault must map a page before KVM_TDX_FINALIZE_VM, long before the VMM's one step.
  const dir = mkdtempSync(join(tmpdir(), 'faultline-pct-'));
  const file = join(dir, 'tdx-prefault-before-finalize.json');
  writeFileSync(file, JSON.stringify({
    vm: { type: 'tdx', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB', flags: ['guest_memfd'] }],
    ops: [{ actor: 'vcpu0', op: 'pre_fault', gpa: '0x0', size: '64KiB' }, { actor: 'vmm', op: 'finalize' }],
  }));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const target = resolveTarget(file);
  const o = { mutate: ['pre-fault.preFaultNotAllowed=false'] };
  const pct = explore(target, { ...o, scheduler: 'pct', depth: 1, budget: 20 });
  t.true(pct.found);
  t.is(pct.run!.violations[0]!.kind, 'pre-fault-conformance');
  const random = explore(target, { ...o, scheduler: 'random', budget: 20 });
  t.false(random.found, 'random would need the vCPU to take ~250 steps before the VMM takes one');
  t.true(pct.pctBound! > 0 && pct.pctBound! <= 1);
  t.is(PctScheduler.bound(3, 100, 2), 1 / 300);
});

test('the PCT scheduler: the highest-priority runnable actor runs; at a change point the running one drops below all others', (t) => {
  const s = new PctScheduler(new Prng(5), 3, 2, 10);
  const view = (step: number, previous: number, runnable = [0, 1, 2]) => ({ runnable, headOpIndex: [0, 0, 0], previous, step });
  const first = s.next(view(0, -1));
  for (let step = 1; step < 10; step++) {
    const a = s.next(view(step, first));
    if (a !== first) { t.pass(`priority change at step ${step}`); return; }
  }
  t.fail('the change point never lowered the running actor');
});

test('tokens: a damaged, truncated or foreign string is a clear error, never a wrong replay', (t) => {
  const target = resolveTarget('seq-check');
  const tokText = explore(target, { scheduler: 'random', budget: 200 }).token!;
  t.throws(() => decodeToken('hello'), { instanceOf: TokenError, message: /not a faultline race token/ });
  t.throws(() => decodeToken('fl9.abc'), { instanceOf: TokenError, message: /version 'fl9.' is not supported/ });
  t.throws(() => decodeToken(tokText.slice(0, tokText.length - 20)), { instanceOf: TokenError, message: /damaged/ });
  t.throws(() => decodeToken(`${tokText.slice(0, 30)}!${tokText.slice(31)}`), { instanceOf: TokenError, message: /damaged/ });
  const tok = decodeToken(tokText);
  t.throws(() => decodeToken(encodeToken({ ...tok, hash: 'zz' })), { instanceOf: TokenError, message: /hash is malformed/ });
  t.throws(() => replay({ ...tok, hash: '0123456789abcdef' }), { instanceOf: TokenError, message: /has changed since this token was made/ });
  const bent = { ...tok, segments: [['vcpu0:page-fault.nonsense', 1] as const, ...tok.segments.slice(1)] };
  t.throws(() => replay(bent), { instanceOf: ReplayMismatch, message: /no longer applies at step 0: it chose 'vcpu0:page-fault.nonsense'/ });
});

test('a scenario file as the target: its hash pins its content', (t) => {
  const path = join(dir, 'race.json');
  const doc = {
    name: 'file-race', vm: { type: 'default', vcpus: 1 }, memslots: [{ slot: 0, gpa: 0, size: '16MiB' }],
    ops: [{ actor: 'vcpu0', op: 'access', gpa: '0x5000', access: 'write', repeat: 10 }, { actor: 'host', op: 'invalidate', gpa: '0x5000', size: '4KiB', kind: 'migrate' }],
  };
  writeFileSync(path, JSON.stringify(doc));
  const found = explore(resolveTarget(path), { scheduler: 'random', budget: 300, mutate: ['page-fault.mmuInvalidateRetryGfn=false'] });
  t.true(found.found);
  const tok = decodeToken(found.token!);
  t.deepEqual(tok.mutate, ['page-fault.mmuInvalidateRetryGfn=false']);
  t.true(replay(tok).reproduced);
  writeFileSync(path, JSON.stringify(doc, null, 2)); // whitespace only: still the same scenario
  t.true(replay(tok).reproduced);
  writeFileSync(path, JSON.stringify({ ...doc, name: 'edited' }));
  t.throws(() => replay(tok), { instanceOf: TokenError, message: /has changed since this token was made/ });
});

test('a race above 2^48 on a 52-bit VM (5-level root): found, tokenized and replayed with the same violation at the same 40-bit gfn', (t) => {
  const path = join(dir, 'race-52-bit.json');
  const top = 2 ** 52 - 16 * 2 ** 20;
  const page = '0x' + (top + 0x5000).toString(16);
  const doc = {
    name: 'file-race-52-bit', vm: { type: 'default', vcpus: 1, phys_bits: 52 }, memslots: [{ slot: 0, gpa: '0x' + top.toString(16), size: '16MiB' }],
    ops: [{ actor: 'vcpu0', op: 'access', gpa: page, access: 'write', repeat: 10 }, { actor: 'host', op: 'invalidate', gpa: page, size: '4KiB', kind: 'migrate' }],
  };
  writeFileSync(path, JSON.stringify(doc));
  const found = explore(resolveTarget(path), { scheduler: 'random', budget: 300, mutate: ['page-fault.mmuInvalidateRetryGfn=false'] });
  t.true(found.found);
  const v = found.run!.violations[0]!;
  t.is(v.gfn, (top + 0x5000) / 4096, 'the gfn above 2^36 survives the finding');
  t.true(v.gfn! > 2 ** 36);
  const again = replay(decodeToken(found.token!), { trace: false });
  t.true(again.reproduced);
  t.deepEqual(again.run.choices, found.run!.choices);
  t.deepEqual(again.run.violations, found.run!.violations);
  t.is(again.run.vm.rootLevel, 5);
  writeFileSync(path, JSON.stringify({ ...doc, vm: { ...doc.vm, phys_bits: 48 } }));
  t.throws(() => replay(decodeToken(found.token!)), { instanceOf: TokenError, message: /has changed since this token was made/ }, 'the width is part of the scenario the token pins');
});

test('the shrinker never grows a token and keeps the violation class', (t) => {
  // prefault-ignores-reload-error has `after` edges: dropping the op one points at must drop the edge.
  for (const name of ['seq-check', 'zap-without-flush', 'fault-into-obsolete-root', 'prefault-ignores-reload-error']) {
    const found = explore(resolveTarget(name), { scheduler: 'random', budget: 300 });
    t.true(found.found, name);
    const tok = decodeToken(found.token!);
    const s = shrink(tok, { maxAttempts: 300 });
    const small = decodeToken(s.token);
    t.true(small.segments.length <= tok.segments.length, `${name}: segments ${tok.segments.length} → ${small.segments.length}`);
    t.true(small.dropOps.length >= tok.dropOps.length);
    t.true(s.after.segments <= s.before.segments && s.after.ops <= s.before.ops);
    const r = replay(small);
    t.true(r.reproduced, `${name}: the shrunk token still gives ${tok.violation}`);
    t.is(small.violation, tok.violation);
  }
});

test('segments: consecutive steps of one actor fold into one [label, n]', (t) => {
  t.deepEqual(toSegments(['vcpu0:a.x', 'vcpu0:a.y', 'host:b.z', 'vcpu0:a.y']), [['vcpu0:a.x', 2], ['host:b.z', 1], ['vcpu0:a.y', 1]]);
  const r = new ReplayScheduler([['vcpu0:a.x', 2], ['host:b.z', 1]], true);
  t.is(r.steps, 3);
});

test('bounded-preemption DFS: finds every catalogue race with one preemption, and runs every schedule within the bound on a clean target', (t) => {
  for (const name of ['seq-check', 'seq-sign-extension', 'memslot-swap-during-invalidation', 'prefault-invalid-slot-retry']) {
    const r = explore(resolveTarget(name), { scheduler: 'dfs', depth: 1, budget: 2000 });
    t.true(r.found, name);
    t.true(replay(decodeToken(r.token!)).reproduced, `${name}: its token replays`);
  }
  const clean = resolveTarget('seq-check');
  const none = explore(clean, { scheduler: 'dfs', depth: 0, budget: 100, withoutEntryMutation: true });
  t.false(none.found);
  t.true(none.schedules < 100, 'with no preemption allowed the search is a handful of schedules and ends');
  const one = explore(clean, { scheduler: 'dfs', depth: 1, budget: 100_000, withoutEntryMutation: true });
  t.false(one.found);
  t.true(one.schedules > none.schedules && one.schedules < 100_000, `every 1-preemption schedule (${one.schedules}) run, and the search ended`);
});

test('DFS shards split the search order: together they run what one search runs', (t) => {
  const target = resolveTarget('seq-check');
  const whole = explore(target, { scheduler: 'dfs', depth: 1, budget: 100_000, withoutEntryMutation: true });
  let parts = 0;
  for (let i = 0; i < 3; i++) parts += explore(target, { scheduler: 'dfs', depth: 1, budget: 100_000, shard: { i, n: 3 }, withoutEntryMutation: true }).schedules;
  t.is(parts, whole.schedules);
});

test('the release of a run: an entry fixed within the modelled releases runs the release before its fix, its control the release with it, --kernel either; a token records any release but 6.19 and replays on it', (t) => {
  const r12 = resolveTarget('prefault-keeps-obsolete-root');
  t.is(kernelOf(r12, {}), '6.14');
  t.is(kernelOf(r12, { withoutEntryMutation: true }), '6.15');
  t.is(kernelOf(r12, { kernel: '6.19' }), '6.19');
  t.is(kernelOf(resolveTarget('seq-check'), {}), '6.19');
  const found = explore(r12, { scheduler: 'random', budget: 50 });
  t.true(found.found);
  const tok = decodeToken(found.token!);
  t.is(tok.kernel, '6.14');
  t.deepEqual([tok.mutate, tok.skip], [[], []]);
  t.true(replay(tok).reproduced);
  // The same schedule asked of the fixed release: no livelock.
  const { kernel: _k, ...on619 } = tok;
  t.is(tokenKernel(on619), TOKEN_KERNEL_UNRECORDED);
  t.false(replay({ ...on619, ...kernelField('6.15') }).reproduced);
  t.deepEqual(kernelField('6.19'), {});
  const bad = encodeToken({ ...tok, kernel: '5.4' as never });
  t.throws(() => decodeToken(bad), { instanceOf: TokenError, message: 'the token is damaged: kernel "5.4" is not a release this faultline models' });
});

test('a dropped catalogue entry (R7) is refused by name with its reason, as are the tokens that name it', (t) => {
  const e = t.throws(() => resolveTarget('dirty-log-enable-no-flush'));
  t.regex(e!.message, /^catalogue:dirty-log-enable-no-flush: R7 was dropped from the catalogue: .*b64d740ea7dd.*access-tracked/);
  t.throws(() => resolveTarget('catalogue:dirty-log-enable-no-flush'), { message: /R7 was dropped/ });
});
