// Goal: the swarm generator draws memslots the kernel accepts where the checks need them — a dirty-logged slot is never guest_memfd (check_memory_region_flags() refuses the pair), so a generated write to a logged slot reaches a dirty log; method: the first 300 scenarios of one seed.

import test from 'ava';
import { generateScenario } from '../../src/race/swarm-gen.js';

test('swarm scenarios log dirty pages only on slots the kernel lets log (never guest_memfd), so their writes reach a log', (t) => {
  let logged = 0;
  for (let i = 0; i < 300; i++) {
    const doc = generateScenario(99, i).doc as unknown as { memslots: { flags?: string[] }[] };
    for (const m of doc.memslots) {
      const flags = m.flags ?? [];
      if (!flags.includes('log_dirty_pages')) continue;
      logged++;
      t.false(flags.includes('guest_memfd'), `scenario ${i}: ${JSON.stringify(m)}`);
    }
  }
  t.true(logged > 50, `${logged} logged slots`);
});
