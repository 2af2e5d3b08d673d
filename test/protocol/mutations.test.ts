// Goal: mutation specs are validated against the machines with errors that list the valid names, and round-trip through mutationSpecs; method: buildMutations/parse*/mutableNames on the compiled machines.

import test from 'ava';
import { COMPILED, compiled } from '../../src/protocol/machines.js';
import { MutationError, NO_MUTATIONS, buildMutations, mutableNames, mutationSpecs, parseMutateSpec, parseSkipSpec } from '../../src/protocol/mutations.js';

test('valid specs build the mutation set', (t) => {
  const m = buildMutations(COMPILED, ['page-fault.mmuInvalidateRetryGfn=false', 'mmu-lock.lastReader=true'], ['invalidation.kvmFlushRemoteTlbs', 'page-fault.releasePfn']);
  t.deepEqual([...m.forceGuards], [['page-fault.mmuInvalidateRetryGfn', false], ['mmu-lock.lastReader', true]]);
  t.deepEqual([...m.skipActions].sort(), ['invalidation.kvmFlushRemoteTlbs', 'page-fault.releasePfn']);
});

test('no specs → empty set, like NO_MUTATIONS', (t) => {
  const m = buildMutations(COMPILED, [], []);
  t.is(m.forceGuards.size, 0);
  t.is(m.skipActions.size, 0);
  t.deepEqual(mutationSpecs(m), mutationSpecs(NO_MUTATIONS));
  t.deepEqual(mutationSpecs(NO_MUTATIONS), { mutate: [], skip: [] });
});

test('whitespace around a spec is ignored; a later spec for the same guard wins', (t) => {
  const m = buildMutations(COMPILED, ['  vcpu.noOpsLeft=true ', 'vcpu.noOpsLeft=false'], [' vcpu.beginRun ']);
  t.deepEqual([...m.forceGuards], [['vcpu.noOpsLeft', false]]);
  t.deepEqual([...m.skipActions], ['vcpu.beginRun']);
});

test('every guard and action of every machine is accepted', (t) => {
  const { guards, actions } = mutableNames(COMPILED);
  const m = buildMutations(COMPILED, guards.map((g) => `${g}=true`), actions);
  t.is(m.forceGuards.size, guards.length);
  t.is(m.skipActions.size, actions.length);
  t.is(guards.length, COMPILED.reduce((n, c) => n + c.guardNames.length, 0));
  t.is(actions.length, COMPILED.reduce((n, c) => n + c.actionNames.length, 0));
  t.deepEqual(guards, [...guards].sort());
  t.true(guards.includes('page-fault.isObsoleteRoot'));
  t.true(actions.includes('memslot-update.kvmFlushRemoteTlbs'));
});

test('an unknown machine is an error listing the machines', (t) => {
  const all = COMPILED.map((m) => m.id).sort().join(', ');
  const e1 = t.throws(() => buildMutations(COMPILED, ['pagefault.isStale=false'], []), { instanceOf: MutationError });
  t.is(e1.message, `unknown machine 'pagefault' in 'pagefault.isStale'; machines: ${all}`);
  const e2 = t.throws(() => buildMutations(COMPILED, [], ['nope.flush']), { instanceOf: MutationError });
  t.regex(e2.message, /^unknown machine 'nope' in 'nope\.flush'; machines: dirty-log, invalidation, memslot-update, mmu-lock, page-fault, pre-fault, snp-launch-update, vcpu$/);
});

test('an unknown guard or action is an error listing that machine’s valid names', (t) => {
  const pf = compiled('page-fault');
  const e1 = t.throws(() => buildMutations(COMPILED, ['page-fault.isStale=false'], []), { instanceOf: MutationError });
  t.is(e1.message, `unknown guard 'isStale' of machine 'page-fault'; valid guards: ${pf.guardNames.join(', ')}`);
  const inv = compiled('invalidation');
  const e2 = t.throws(() => buildMutations(COMPILED, [], ['invalidation.flushRemoteTlbs']), { instanceOf: MutationError });
  t.is(e2.message, `unknown action 'flushRemoteTlbs' of machine 'invalidation'; valid actions: ${inv.actionNames.join(', ')}`);
  // A guard name is not an action name and vice versa.
  t.throws(() => buildMutations(COMPILED, ['page-fault.releasePfn=true'], []), { instanceOf: MutationError, message: /unknown guard 'releasePfn'/ });
  t.throws(() => buildMutations(COMPILED, [], ['page-fault.isPrefetch']), { instanceOf: MutationError, message: /unknown action 'isPrefetch'/ });
  // Names are checked against the machines given, not all machines.
  t.throws(() => buildMutations([compiled('vcpu')], ['page-fault.isPrefetch=true'], []), { instanceOf: MutationError, message: /machines: vcpu$/ });
});

test('malformed specs are errors that show the expected form', (t) => {
  for (const spec of ['page-fault.isStale', 'page-fault.isStale=maybe', 'page-fault.isStale=1', 'isStale=false', '.isStale=false', 'page-fault.=true', 'PageFault.isStale=true', 'page-fault.is-stale=true', '', 'a.b.c=true']) {
    const e = t.throws(() => buildMutations(COMPILED, [spec], []), { instanceOf: MutationError }, spec);
    t.is(e.message, `--mutate expects MACHINE.GUARD=true|false, got '${spec}'`);
  }
  for (const spec of ['page-fault', 'page-fault.releasePfn=true', 'page-fault.', 'page-fault.release pfn', '']) {
    const e = t.throws(() => buildMutations(COMPILED, [], [spec]), { instanceOf: MutationError }, spec);
    t.is(e.message, `--skip expects MACHINE.ACTION, got '${spec}'`);
  }
});

test('parseMutateSpec / parseSkipSpec', (t) => {
  t.deepEqual(parseMutateSpec('page-fault.isPrefetch=true'), ['page-fault.isPrefetch', true]);
  t.deepEqual(parseMutateSpec('mmu-lock.lastReader=false'), ['mmu-lock.lastReader', false]);
  t.is(parseSkipSpec('dirty-log.kvmFlushRemoteTlbs'), 'dirty-log.kvmFlushRemoteTlbs');
});

test('mutationSpecs round-trips through buildMutations (sorted, canonical)', (t) => {
  const mutate = ['vcpu.tryGuestAccess=false', 'page-fault.mmuInvalidateRetryGfn=false', 'mmu-lock.lastReader=true'];
  const skip = ['page-fault.releasePfn', 'invalidation.kvmFlushRemoteTlbs'];
  const m = buildMutations(COMPILED, mutate, skip);
  const specs = mutationSpecs(m);
  t.deepEqual(specs, { mutate: [...mutate].sort(), skip: [...skip].sort() });
  const again = buildMutations(COMPILED, specs.mutate, specs.skip);
  t.deepEqual([...again.forceGuards].sort(), [...m.forceGuards].sort());
  t.deepEqual([...again.skipActions].sort(), [...m.skipActions].sort());
  t.deepEqual(mutationSpecs(again), specs);
});
