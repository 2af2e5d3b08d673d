// Goal: what a correct-model swarm met and the model fixed stays fixed; method: the shrunk scenario, explored with the default portfolio until its 2-preemption DFS is complete.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explore, resolveTarget } from '../../src/race/race.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-swarm-regressions-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

// Slot 0 (2 MiB + 4 KiB, THP) and slot 1 (4K) are mmap'd back to back: slot 1 starts inside
// the 2 MiB block of slot 0's tail. The model used to map that block as one THP across both
// mappings, so slot 1's CoW break replaced slot 0's tail page without zapping it (a
// use-after-free). A huge page lies wholly inside its mapping: the tail is a 4K page.
test('a THP mapping\'s tail and the next mapping share no huge block: the swarm\'s use-after-free is gone', (t) => {
  const file = join(dir, 'thp-tail-next-mapping.json');
  writeFileSync(file, JSON.stringify({
    vm: { type: 'default', vcpus: 2 },
    memslots: [
      { slot: 0, gpa: '0x0', size: '2052KiB', backing: '2M', host_memory: 'anonymous' },
      { slot: 1, gpa: '0x2000000', size: '1MiB', backing: '4K', host_memory: 'anonymous' },
    ],
    ops: [
      { actor: 'vcpu1', op: 'access', gpa: '0x20b1000', access: 'write' },
      { actor: 'vcpu0', op: 'map_memory', base_gfn: '0x171', nr_pages: 256 },
    ],
  }));
  const r = explore(resolveTarget(file), { budget: 2000 });
  t.false(r.found, r.run?.violations[0]?.message);
  t.true(r.dfs?.exhausted, 'the 2-preemption search ran to its end');
});
