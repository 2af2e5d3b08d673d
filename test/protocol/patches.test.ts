// Goal: the candidate fixes (`--patch`) are named sets of guard changes that exist in the machines, off by default, recorded in tokens, and rejected by name when unknown; method: the patch table against the compiled machines, the race token round trip, and the CLI.

import test from 'ava';
import { COMPILED } from '../../src/protocol/machines.js';
import { NO_MUTATIONS, buildMutations, mutableNames } from '../../src/protocol/mutations.js';
import { PATCHES, PatchError, checkPatches, foldPatches, patchByName, patchNames, patchSpecs, withPatches } from '../../src/protocol/patches.js';
import { decodeToken, encodeToken, type RaceToken } from '../../src/race/token.js';
import { cli } from '../helpers/cli.js';

test('every patch names guards and actions the machines have, and a patch guard is a patch* guard of the pre-fault machine', (t) => {
  t.notThrows(() => checkPatches(COMPILED));
  const { guards } = mutableNames(COMPILED);
  for (const p of PATCHES) {
    t.true(Object.keys(p.guards).length > 0, p.name);
    for (const g of Object.keys(p.guards)) {
      t.true(guards.includes(g), g);
      t.regex(g, /^pre-fault\.patch[A-Z]/);
    }
  }
  t.deepEqual(PATCHES.map((p) => p.name), ['prefault-reload-obsolete-roots', 'prefault-eagain-obsolete-root', 'prefault-srcu-cycle-on-retry']);
});

test('patches add their forced guards to the mutations; none leaves them as they were', (t) => {
  t.is(withPatches(NO_MUTATIONS, []), NO_MUTATIONS);
  const m = withPatches(buildMutations(COMPILED, ['page-fault.mmuInvalidateRetryGfn=false'], []), ['prefault-reload-obsolete-roots']);
  t.deepEqual([...m.forceGuards].sort(), [['page-fault.mmuInvalidateRetryGfn', false], ['pre-fault.patchReloadInRetryLoop', true]]);
  t.deepEqual(patchSpecs(['prefault-eagain-obsolete-root', 'prefault-reload-obsolete-roots', 'prefault-eagain-obsolete-root']), {
    mutate: ['pre-fault.patchEagainOnObsoleteRoot=true', 'pre-fault.patchReloadInRetryLoop=true'], skip: [],
  });
  t.deepEqual(patchNames(['prefault-eagain-obsolete-root', ' prefault-eagain-obsolete-root']), ['prefault-eagain-obsolete-root']);
});

test('an unknown patch is an error listing the patches', (t) => {
  const e = t.throws(() => patchByName('reload'), { instanceOf: PatchError });
  t.is(e.message, "unknown patch 'reload'; patches: prefault-reload-obsolete-roots, prefault-eagain-obsolete-root, prefault-srcu-cycle-on-retry");
});

const TOKEN: RaceToken = {
  v: 1, target: 'file:docs/findings/prefault-during-slot-delete.json', hash: '0123456789abcdef', mutate: [], skip: [], dropOps: [], scheduler: 'random', seed: 3,
  violation: 'livelock', segments: [['vcpu0:vcpu.idle', 2]],
};

test('a token carries its patches; one without patches has no field; an unknown patch in a token is damage', (t) => {
  t.deepEqual(decodeToken(encodeToken({ ...TOKEN, patch: ['prefault-eagain-obsolete-root'] })).patch, ['prefault-eagain-obsolete-root']);
  t.false('patch' in decodeToken(encodeToken(TOKEN)));
  t.throws(() => decodeToken(encodeToken({ ...TOKEN, patch: ['no-such-fix'] })), { message: "the token is damaged: patch 'no-such-fix' is not one this faultline has" });
});

test('the CLI takes --patch on race explore and scenario run, lists the patches in --help, and rejects an unknown one in one line (exit 2)', async (t) => {
  const bad = await cli(['race', 'explore', 'seq-check', '--patch', 'nope']);
  t.is(bad.code, 2);
  t.is(bad.stderr.trim().split('\n').length, 1);
  t.regex(bad.stderr, /--patch must be one of prefault-reload-obsolete-roots, prefault-eagain-obsolete-root, prefault-srcu-cycle-on-retry, got 'nope'/);
  const help = await cli(['race', 'explore', '--help']);
  for (const p of PATCHES) t.true(help.stdout.includes(p.name), p.name);
  const run = await cli(['scenario', 'run', 'docs/findings/prefault-during-slot-delete.json', '--patch', 'prefault-reload-obsolete-roots']);
  t.is(run.code, 0, run.stdout + run.stderr);
});

test('a report folds a patch\'s guard forces back into --patch NAME, and leaves other mutations as they are', (t) => {
  t.deepEqual(foldPatches(['page-fault.isObsoleteRoot=false', 'pre-fault.patchReloadInRetryLoop=true'], ['invalidation.kvmFlushRemoteTlbs']), [
    '--mutate page-fault.isObsoleteRoot=false', '--skip invalidation.kvmFlushRemoteTlbs', '--patch prefault-reload-obsolete-roots',
  ]);
  t.deepEqual(foldPatches([], []), []);
  t.deepEqual(foldPatches(['pre-fault.patchEagainOnObsoleteRoot=false'], []), ['--mutate pre-fault.patchEagainOnObsoleteRoot=false']);
});
