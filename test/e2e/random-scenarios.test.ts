// Goal: the unmutated model never reports a violation, error or hang on random scenarios mixing every op kind, placed at gpa 0 or at the top of a 48- or 52-bit space; method: seeded random scenarios under the random scheduler with the full invariant scan after every step.

import test from 'ava';
import { runDeterministic } from '../../src/engine/deterministic.js';
import { randomScenario } from '../helpers/random-scenario.js';

const SEEDS = 150;

test(`${SEEDS} random scenarios run clean to completion`, (t) => {
  for (let seed = 0; seed < SEEDS; seed++) {
    const r = runDeterministic(randomScenario(seed));
    if (r.violations.length > 0 || r.error !== null || !r.completed) {
      t.fail(`seed ${seed}: ${r.error ?? ''} ${JSON.stringify(r.violations[0])}`);
      return;
    }
    t.true(r.results.every((x) => x !== null), `seed ${seed}: every op has a result`);
  }
});
