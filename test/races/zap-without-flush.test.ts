// Goal: zaps that may block yield mmu_lock every ZAP_YIELD_SPTES leafs, flushing what they owe first (tdp_mmu_iter_cond_resched() as fixed by a835429cda91); with that flush skipped the catalogue's R5 interleaving frees a page a vCPU still reaches through its TLB, and with it kept no schedule does; method: coverage of the invalidation machine, and the R5 scenario's ops on random seeds.

import test from 'ava';
import type { ScheduledOp } from '../../src/engine/deterministic.js';
import { ZAP_YIELD_SPTES } from '../../src/kvm/limits.js';
import { catalogueEntry } from '../../src/workload/catalogue.js';
import { explore, resolveTarget } from '../../src/race/race.js';
import { MiB, access, run, slot } from '../helpers/run.js';

const fired = (r: ReturnType<typeof run>, transition: string): number =>
  r.coverage.find((c) => c.machine === 'invalidation' && c.transition === transition)?.count ?? 0;

test(`a host invalidation of 20 mapped pages yields twice (every ${ZAP_YIELD_SPTES} leafs), flushes before each yield, and ends clean`, (t) => {
  t.is(ZAP_YIELD_SPTES, 8);
  const ops: ScheduledOp[] = [];
  for (let i = 0; i < 20; i++) ops.push({ actor: 0, op: access(i * 0x1000, 'write') });
  ops.push({ actor: 1, op: { op: 'invalidate', gpa: 0, size: 20 * 4096, kind: 'munmap', prot: 'r' }, after: 19 });
  const r = run({ setup: [slot(0, 0, 16 * MiB)], ops, scheduler: 'sequential', seed: 1 });
  t.deepEqual(r.violations, []);
  t.is(fired(r, 'zap → zap'), 20);
  t.is(fired(r, 'zap → zapYield [tdpMmuIterNeedResched]'), 2);
  t.is(fired(r, 'zapRelock → zap [tryMmuWriteLock]'), 2);
  const host = r.actors.find((a) => a.actor === 'host')!;
  t.true(host.flushes >= 3, `flushes ${host.flushes}: one before each yield and the final one`);
});

test('R5: the entry skips only the flush owed before the yield; other schedules of its ops find the same use-after-free, and the VMM\'s zap yields in them', (t) => {
  const e = catalogueEntry('zap-without-flush')!;
  t.deepEqual(e.skip, ['invalidation.flushBeforeYield']);
  t.deepEqual(e.mutate, []);
  const found = explore(resolveTarget('zap-without-flush'), { scheduler: 'random', budget: e.budget, shard: { i: 1, n: 4 } });
  t.true(found.found);
  t.is(found.run!.violations[0]!.kind, 'use-after-free');
  t.regex(found.run!.violations[0]!.message, /stale TLB entry/);
  t.true((found.run!.coverage.find((c) => c.machine === 'invalidation' && c.transition === 'attrZapYield → attrZapRelock')?.count ?? 0) > 0);
});
