// Goal: each protocol step the model relies on is load-bearing — removing it (a --skip or --mutate) produces the violation class a kernel developer would expect, and the unmutated run is clean; method: small scenarios, sequential or over random seeds.

import test from 'ava';
import type { ScheduledOp } from '../../src/engine/deterministic.js';
import type { ViolationKind } from '../../src/kvm/findings.js';
import type { Op } from '../../src/kvm/ops.js';
import { MiB, access, run, slot, type TestRun } from '../helpers/run.js';

const migrate = (gpa: number): Op => ({ op: 'invalidate', gpa, size: 4096, kind: 'migrate', prot: 'r' });
const HOST = 1;
const VMM = 2;

interface Case {
  readonly title: string;
  readonly base: TestRun;
  readonly mutate?: string[];
  readonly skip?: string[];
  /** The violation classes this bug may show as (the first one found must be one of them). */
  readonly expect: ViolationKind | ViolationKind[];
  /** Random seeds to try (sequential when absent). */
  readonly seeds?: number;
}

const touchMigrateTouch: ScheduledOp[] = [{ actor: 0, op: access(0x5000, 'write') }, { actor: HOST, op: migrate(0x5000) }, { actor: 0, op: access(0x5000, 'read') }];

const cases: Case[] = [
  { title: 'no zap in invalidate_range_start → the SPTE outlives the page', base: { setup: [slot(0, 0, 16 * MiB)], ops: touchMigrateTouch }, skip: ['invalidation.tdpMmuZapLeaf'], expect: 'use-after-free' },
  { title: 'no TLB flush after the zap → the guest reaches the freed page through its TLB', base: { setup: [slot(0, 0, 16 * MiB)], ops: touchMigrateTouch }, skip: ['invalidation.kvmFlushRemoteTlbs'], expect: 'use-after-free' },
  { title: 'invalidate_end without begin → in_progress goes negative', base: { setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: HOST, op: migrate(0x5000) }] }, skip: ['invalidation.kvmMmuInvalidateBegin'], expect: 'unbalanced-in-progress' },
  {
    title: 'memslot delete without kvm_mmu_zap_all_fast → an SPTE survives its memslot',
    base: { setup: [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)], ops: [{ actor: 0, op: access(32 * MiB, 'write') }, { actor: VMM, op: slot(1, 32 * MiB, 0) }] },
    skip: ['memslot-update.kvmMmuZapAllFast'], expect: 'stale-spte',
  },
  {
    title: 'no flush when enabling dirty logging → a write through a stale writable TLB entry is lost',
    base: { setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: 0, op: access(0x5000, 'write') }, { actor: VMM, op: slot(0, 0, 16 * MiB, 1) }, { actor: 0, op: access(0x5000, 'write') }] },
    skip: ['memslot-update.kvmFlushRemoteTlbs'], expect: 'lost-dirty-page',
  },
  {
    title: 'R14: attribute change without the hugepage head/tail range → a 2M mapping over mixed attributes',
    base: {
      type: 'sw_protected',
      setup: [slot(0, 0, 16 * MiB, 4, 2)],
      ops: [{ actor: 0, op: access(0x3000) }, { actor: VMM, op: { op: 'set_memory_attributes', gpa: 0x1000n, size: 0x1000n, attributes: 8n, flags: 0n } }, { actor: 0, op: access(0x5000) }, { actor: 0, op: access(0x9000) }],
    },
    skip: ['invalidation.addHugepageHeadTail'], expect: 'mixed-attribute-hugepage', seeds: 200,
  },
  {
    title: 'R4: a memslot swap that does not wait for active invalidations → in_progress never drops',
    base: { setup: [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)], ops: [{ actor: 0, op: access(32 * MiB, 'write') }, { actor: HOST, op: migrate(32 * MiB) }, { actor: VMM, op: slot(1, 32 * MiB, 0) }] },
    mutate: ['memslot-update.mnActiveInvalidateIdle=true'], expect: ['unbalanced-in-progress', 'livelock'], seeds: 300,
  },
  {
    title: 'a guest fault taken for a prefetch on the INVALID slot of a memslot delete → the guest access ends with EAGAIN',
    base: { setup: [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)], ops: [{ actor: 0, op: access(32 * MiB, 'write') }, { actor: VMM, op: slot(1, 32 * MiB, 0) }, { actor: 0, op: access(32 * MiB + 4096, 'read') }] },
    mutate: ['page-fault.isPrefetch=true'], expect: 'access-conformance', seeds: 40,
  },
];

for (const c of cases) {
  test(c.title, (t) => {
    const seeds = c.seeds ?? 1;
    let caught = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const scheduler = c.seeds ? 'random' : 'sequential';
      const clean = run({ ...c.base, scheduler, seed });
      t.deepEqual(clean.violations, [], `unmutated, seed ${seed}`);
      const bad = run({ ...c.base, scheduler, seed, mutate: c.mutate ?? [], skip: c.skip ?? [] });
      const v = bad.violations[0];
      if (v === undefined) continue;
      t.true((Array.isArray(c.expect) ? c.expect : [c.expect]).includes(v.kind), `${v.kind}: ${v.message}`);
      caught++;
    }
    t.true(caught > 0, `never caught over ${seeds} seed(s)`);
    t.log(`caught on ${caught}/${seeds}`);
  });
}

test('the incremental check finds what a full scan after every step finds, at the same step', (t) => {
  const mutated = cases.filter((c) => c.seeds !== undefined);
  let compared = 0;
  for (const c of mutated) {
    for (let seed = 0; seed < 40; seed++) {
      const opts = { ...c.base, scheduler: 'random' as const, seed, mutate: c.mutate ?? [], skip: c.skip ?? [] };
      const inc = run({ ...opts, check: 'step' });
      const full = run({ ...opts, check: 'full' });
      t.deepEqual(inc.violations.map((v) => [v.kind, v.step, v.gfn]), full.violations.map((v) => [v.kind, v.step, v.gfn]), `${c.title}, seed ${seed}`);
      compared++;
    }
  }
  t.true(compared > 0);
});
