// Goal: every catalogue entry reproduces its historical race — its pinned token replays to the documented violation, exploration with the defaults finds it within the documented budget, and the scenario without the mutation (or on the release with the fix) stays clean over a much larger budget; method: the race layer on the deterministic engine.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { explore, replay, resolveTarget } from '../../src/race/race.js';
import { decodeToken } from '../../src/race/token.js';
import { CATALOGUE } from '../../src/workload/catalogue.js';

const tokens = JSON.parse(readFileSync(new URL('../../../test/races/tokens.json', import.meta.url), 'utf8')) as Record<string, string>;

test('the catalogue: at least 11 races of reference §6 (R7 dropped) and the classic one, each with a fixing commit, a mutation or the release before the fix, and a violation class', (t) => {
  t.true(CATALOGUE.filter((e) => /^R\d+$/.test(e.ref)).length >= 11);
  t.false(CATALOGUE.some((e) => e.ref === 'R7'), 'R7 is dropped: the model has no access-tracked SPTEs');
  t.true(CATALOGUE.some((e) => e.ref === 'classic'));
  t.is(new Set(CATALOGUE.map((e) => e.name)).size, CATALOGUE.length);
  for (const e of CATALOGUE) {
    // The bug is put back by a mutation, or (fixed within the modelled releases) by the release before the fix.
    t.true(e.mutate.length + e.skip.length > 0 || e.kernel !== undefined, e.name);
    t.regex(e.commit.title, /^(KVM|kvm): /, e.name);
    t.truthy(tokens[e.name], `pinned token for ${e.name}`);
  }
});

for (const e of CATALOGUE) {
  test(`${e.name} (${e.ref}): the pinned token replays to ${e.violation}`, (t) => {
    const r = replay(decodeToken(tokens[e.name]!));
    t.true(r.reproduced, JSON.stringify(r.run.violations[0] ?? null));
    t.is(r.run.violations[0]!.kind, e.violation);
  });

  test(`${e.name} (${e.ref}): explore with its defaults (the portfolio) finds it within ${e.budget} schedules; without the mutation ${Math.max(300, 2 * e.budget)} stay clean`, (t) => {
    const target = resolveTarget(e.name);
    const found = explore(target, { budget: e.budget });
    t.true(found.found, `not found within ${e.budget}`);
    t.is(found.run!.violations[0]!.kind, e.violation);
    if (e.signature !== undefined) t.true(found.run!.violations[0]!.message.includes(e.signature), found.run!.violations[0]!.message);
    // The control: every schedule clean — or, where the entry documents one, only that other finding.
    let others = 0;
    explore(target, {
      scheduler: 'random', budget: Math.max(300, 2 * e.budget), withoutEntryMutation: true,
      onSchedule: (s) => { if (s.violation !== null) others++; },
    });
    if (e.controlMayShow === undefined) t.is(others, 0, 'the unmutated scenario found something');
    else {
      // explore stops at the first violation: check it is the documented one, then keep going past it.
      let n = 0;
      for (let shard = 0; shard < 6; shard++) {
        const c = explore(target, { scheduler: 'random', budget: Math.max(100, e.budget), shard: { i: shard, n: 6 }, withoutEntryMutation: true });
        if (!c.found) continue;
        n++;
        const msg = c.run!.violations[0]!.message;
        t.true(msg.includes(e.controlMayShow.message), msg);
        if (e.signature !== undefined) t.false(msg.includes(e.signature), msg);
      }
      t.log(`${n} of 6 control shards met the documented finding`);
    }
  });
}
