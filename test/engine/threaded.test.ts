// Goal: the threaded engine runs the model on real worker threads — clean under all churn, CoW breaks of anonymous memory in the vCPUs' own context with nothing lost between the actors' rings and the totals, the stale-check mutation caught as a use-after-free, a guest fault returning EAGAIN caught, a forced deadlock and a crashing worker reported instead of hanging, a script run by the engine alone and a broken op-source module reported; method: short real runs with piscina workers.

import test from 'ava';
import { firstValueFrom, toArray } from 'rxjs';
import { startThreaded } from '../../src/engine/threaded.js';
import { startStress, type StressRun } from '../../src/workload/presets/index.js';
import { CHURN_DEFAULT_RATES, type StressConfig } from '../../src/workload/stress.js';

const MiB = 1024 * 1024;

function stress(over: Partial<StressConfig> = {}): StressConfig {
  return { vcpus: 2, memoryBytes: 16 * MiB, durationMs: 1500, accesses: null, workload: 'uniform', churn: {}, backingLevel: 1, vmType: 'sw_protected', seed: 1, writeRatio: 0.5, ...over };
}

async function run(cfg: StressRun) {
  const r = startStress(cfg);
  const events = firstValueFrom(r.events$.pipe(toArray()));
  return { result: await r.result, events: await events };
}

test.serial('all churn on, 3 vCPUs: clean, every actor ends, and the streams counted exactly what the actors did', async (t) => {
  const { result: r, events } = await run({ stress: stress({ vcpus: 3, durationMs: 2500, churn: { ...CHURN_DEFAULT_RATES } }), scanIntervalMs: 500 });
  t.deepEqual(r.violations, []);
  t.is(r.stopReason, 'duration');
  t.is(r.actors.length, 5);
  t.true(r.scans >= 2, `stop-the-world scans: ${r.scans}`);
  t.is(events.length, r.events);
  const sum = (f: (a: (typeof r.actors)[number]) => number): number => r.actors.reduce((n, a) => n + f(a), 0);
  t.is(r.stats.accesses, sum((a) => a.accesses));
  t.is(r.stats.tlbHits, sum((a) => a.tlbHits));
  t.is(r.stats.faults, sum((a) => a.faults));
  t.is(r.stats.casFailures, sum((a) => a.casFailures));
  t.is(r.stats.zaps, sum((a) => a.zaps));
  t.is(r.stats.preFaultPages, sum((a) => a.preFaultPages));
  for (const [ret, n] of Object.entries(r.stats.faultsByRet)) t.is(n, sum((a) => a.faultsByRet[ret] ?? 0), ret);
  // Thresholds are low on purpose: other test files load the machine's two cores too.
  t.true(r.stats.faults > 50, `faults: ${r.stats.faults}`);
  t.true(Object.values(r.stats.invalidations).reduce((a, b) => a + b, 0) > 0);
  t.true(Object.values(r.stats.memslotChanges).reduce((a, b) => a + b, 0) > 0);
  // The vmm draws memslot, attribute and dirty-log ops at random: on a loaded machine it may
  // get to only a few in 2.5 s, so one of the two vmm kinds is enough.
  t.true(r.stats.preFaultOps > 0 && r.stats.attributeChanges + r.stats.dirtyLogCalls > 0, JSON.stringify([r.stats.preFaultOps, r.stats.attributeChanges, r.stats.dirtyLogCalls, r.stats.faults]));
  t.true(r.coverage.filter((c) => c.count > 0).length > 60, 'many transitions fired');
});

test.serial('anonymous memory on real threads: vCPUs read the zero page and break CoW on write, clean, the streams count every CoW break; shared memory breaks none', async (t) => {
  const churn = { invalidate: 200 };
  const { result: r } = await run({ stress: stress({ durationMs: null, accesses: 4000, churn, vmType: 'default' }) });
  t.deepEqual(r.violations, []);
  const cows = r.actors.reduce((n, a) => n + a.cowBreaks, 0);
  t.true(cows > 0, `CoW breaks: ${cows}`);
  t.is(r.stats.cowBreaks, cows);
  const { result: s } = await run({ stress: stress({ durationMs: null, accesses: 4000, churn, vmType: 'default', hostMemory: 'shared' }) });
  t.deepEqual(s.violations, []);
  t.is(s.stats.cowBreaks, 0);
});

test.serial('--accesses bounds each vCPU: the run ends when they are done, with exactly that many accesses', async (t) => {
  // 5,000 accesses a vCPU: many of the actor loop's 64-step status batches, under invalidation churn.
  const { result: r } = await run({ stress: stress({ durationMs: null, accesses: 5000, churn: { invalidate: 200 } }) });
  t.deepEqual(r.violations, []);
  t.is(r.stopReason, 'accesses');
  for (const a of r.actors.filter((x) => x.name.startsWith('vcpu'))) t.is(a.opsDone, 5000, a.name);
});

test.serial('the stale check mutated away: a use-after-free on most seeds', async (t) => {
  let caught = 0;
  const seeds = [1, 2, 3, 4];
  for (const seed of seeds) {
    const { result: r } = await run({ stress: stress({ memoryBytes: 4 * MiB, durationMs: 2000, churn: { invalidate: 2000 }, seed }), mutate: ['page-fault.mmuInvalidateRetryGfn=false'] });
    if (r.violations.some((v) => v.kind === 'use-after-free')) caught++;
    t.not(r.stopReason, 'watchdog');
  }
  t.log(`caught on ${caught}/${seeds.length}`);
  t.true(caught > seeds.length / 2);
});

test.serial('a guest fault that returns an ioctl errno (isPrefetch forced: EAGAIN on an INVALID memslot) is an access-conformance finding on threads too', async (t) => {
  let found = false;
  for (const seed of [1, 2, 3]) {
    const { result: r } = await run({ stress: stress({ durationMs: 2000, churn: { memslots: 200 }, seed }), mutate: ['page-fault.isPrefetch=true'] });
    found = r.violations.some((v) => v.kind === 'access-conformance' && /-EAGAIN/.test(v.message));
    if (found) break;
  }
  t.true(found);
});

test.serial('a forced deadlock (the invalidation never drops mmu_lock) is a watchdog finding, not a hang', async (t) => {
  const { result: r } = await run({ stress: stress({ durationMs: 60_000, churn: { invalidate: 100 } }), skip: ['invalidation.mmuWriteUnlock'], watchdogMs: 500 });
  t.is(r.stopReason, 'watchdog');
  const v = r.violations.find((x) => x.kind === 'deadlock');
  t.truthy(v, JSON.stringify(r.violations));
  t.regex(v!.message, /mmu_lock \(writeHeld\)/);
  t.regex(v!.message, /held by host \(write\)/);
  t.true(r.elapsedMs < 30_000);
});

test.serial('a worker that throws ends the run with the actor, its machine state and the error', async (t) => {
  const { result: r } = await run({ stress: stress({ durationMs: 60_000 }), crash: { actor: 1, afterSteps: 5000 } });
  t.is(r.stopReason, 'actor-error');
  const v = r.violations.find((x) => x.kind === 'actor-error');
  t.truthy(v);
  t.deepEqual(v!.actors, ['vcpu1']);
  t.regex(v!.message, /vcpu1 in vcpu\.[a-z]+.*injected crash after 5000 steps/);
});

test.serial('without the kick, a pre-fault stuck on an obsolete root holds up a memslot delete until the watchdog reports it', async (t) => {
  // The model's finding (README, Findings): memslot churn and pre-fault churn, no signal from the VMM.
  // A DEFAULT VM: from 6.12 only it zaps all (obsolete roots) on a delete; sw_protected zaps the slot's leafs.
  let found = false;
  for (let seed = 1; seed <= 3 && !found; seed++) {
    const { result: r } = await run({ stress: stress({ vcpus: 2, memoryBytes: 8 * MiB, durationMs: 6000, vmType: 'default', churn: { memslots: 400, prefault: 2000 }, seed }), kickMs: 0, watchdogMs: 1000 });
    found = r.violations.some((v) => (v.kind === 'livelock' || v.kind === 'deadlock') && /synchronize_srcu/.test(v.message));
  }
  t.true(found);
});

test.serial('--preset mmu-stress: five stages in order; with the host read-only every write fails with EFAULT, then all succeed again', async (t) => {
  const { result: r } = await run({ stress: stress({ vcpus: 3, memoryBytes: 24 * MiB, durationMs: null, vmType: 'default', workload: 'partitioned', preset: 'mmu-stress' }) });
  t.deepEqual(r.violations, []);
  t.is(r.stopReason, 'stages');
  const pages = (24 * MiB) / 4096;
  t.deepEqual(r.stages.map((s) => [s.stage, s.ok, s.efault, s.otherErrors]), [[0, pages, 0, 0], [1, pages, 0, 0], [2, pages, 0, 0], [3, 0, pages, 0], [4, pages, 0, 0]]);
  t.is(r.stats.invalidations.mprotect, 2);
  t.is(r.stats.faultsByRet['-EFAULT'], pages, 'every stage-3 write exits to userspace with EFAULT');
});

test.serial('--preset mmu-stress with the notifier zap skipped: writes succeed through stale writable SPTEs and the stage check says so', async (t) => {
  const { result: r } = await run({ stress: stress({ vcpus: 2, memoryBytes: 8 * MiB, durationMs: null, vmType: 'default', workload: 'partitioned', preset: 'mmu-stress' }), skip: ['invalidation.tdpMmuZapLeaf'], stopOnViolation: false });
  t.true(r.violations.some((v) => v.kind === 'access-conformance' && /write\(s\) succeeded/.test(v.message)), JSON.stringify(r.violations.map((v) => v.kind)));
});

test.serial('--preset memslot-churn: a one-page slot added and deleted back to back next to guest memory, clean', async (t) => {
  const { result: r } = await run({ stress: stress({ vcpus: 2, memoryBytes: 16 * MiB, durationMs: 1500, vmType: 'default', workload: 'partitioned', churn: { memslots: 1_000_000 }, preset: 'memslot-churn' }) });
  t.deepEqual(r.violations, []);
  const c = r.stats.memslotChanges;
  t.true((c.create ?? 0) > 0, JSON.stringify(c));
  t.true(Math.abs((c.create ?? 0) - (c.delete ?? 0)) <= 1);
  t.false('move' in c, 'no moves: only add and delete');
});

test.serial('a scripted run with a warm-up: each vCPU worker first runs its loop on a private VM; the run itself sees only its own ops', async (t) => {
  const gfns = Uint32Array.from({ length: 512 }, (_, i) => i);
  const kinds = new Uint8Array(512);
  const script = {
    vm: { type: 'default' as const, vcpus: 1, guestBytes: 64 * MiB },
    setup: [{ op: 'set_memslot' as const, slot: 0, gpa: 0n, size: 2n * BigInt(MiB), flags: 0, backingLevel: 1 }],
    ops: [{ actor: 0, op: { op: 'access_stream' as const, gfns, kinds } }],
  };
  const cfg = { stress: stress({ vcpus: 1, durationMs: null, vmType: 'default' }), script, scanIntervalMs: 0 };
  const t0 = performance.now();
  const { result: warm } = await run({ ...cfg, warmupMs: 400 });
  const warmMs = performance.now() - t0;
  const { result: cold } = await run(cfg);
  const vcpu0 = (r: typeof warm) => r.actors.find((a) => a.name === 'vcpu0')!;
  for (const r of [warm, cold]) {
    t.deepEqual(r.violations, []);
    // Each page: the access exits, the fault fixes it, the access runs again.
    t.is(vcpu0(r).accesses, 1024, 'the warm-up\'s accesses are not the run\'s');
    t.is(vcpu0(r).exits, 512);
    t.is(r.pageTablesInUse, cold.pageTablesInUse, 'nor its page tables');
    t.false(Number.isNaN(r.script!.opEndMs[0]!));
  }
  t.true(warmMs >= 400, `the warm-up ran before the start: ${warmMs.toFixed(0)} ms`);
});

test.serial('the engine alone, on a script: `after` edges across threads hold, and each op\'s end time is reported', async (t) => {
  const gfns = Uint32Array.from({ length: 256 }, (_, i) => i);
  const r = startThreaded({
    vm: { type: 'default', vcpus: 2, guestBytes: 8 * MiB },
    setup: [{ op: 'set_memslot', slot: 0, gpa: 0n, size: 4n * BigInt(MiB), flags: 0, backingLevel: 1 }],
    script: [
      { actor: 0, op: { op: 'access_stream', gfns, kinds: new Uint8Array(256).fill(1) } },
      { actor: 1, op: { op: 'access_stream', gfns, kinds: new Uint8Array(256) }, after: 0 },
      { actor: 2, op: { op: 'invalidate', gpa: 0, size: 256 * 4096, kind: 'reclaim', prot: 'rw' }, after: [0, 1] },
    ],
    scanIntervalMs: 0,
  });
  const res = await r.result;
  t.deepEqual(res.violations, []);
  const [a, b, c] = res.script!.opEndMs;
  t.true(a! <= b! && b! <= c!, `ends ${a} ${b} ${c}`);
  t.is(res.actors.find((x) => x.name === 'vcpu1')!.exits, 0, 'vcpu1 ran after vcpu0 mapped every page: no exits');
  t.is(res.stats.invalidations.reclaim, 1);
});

test.serial('the VM\'s disabled quirks reach the workers: a DEFAULT VM deleting a slot zaps all with KVM_X86_QUIRK_SLOT_ZAP_ALL, only the slot\'s leafs without', async (t) => {
  const gfns = Uint32Array.from({ length: 16 }, (_, i) => 2048 + i);
  const vmmZaps = async (disabledQuirks: 'slot_zap_all'[]) => {
    const r = startThreaded({
      vm: { type: 'default', vcpus: 1, guestBytes: 16 * MiB, disabledQuirks },
      setup: [{ op: 'set_memslot', slot: 0, gpa: 0n, size: 4n * BigInt(MiB), flags: 0, backingLevel: 1 }, { op: 'set_memslot', slot: 1, gpa: 8n * BigInt(MiB), size: 2n * BigInt(MiB), flags: 0, backingLevel: 1 }],
      script: [
        { actor: 0, op: { op: 'access_stream', gfns, kinds: new Uint8Array(16).fill(1) } },
        { actor: 2, op: { op: 'set_memslot', slot: 1, gpa: 8n * BigInt(MiB), size: 0n, flags: 0, backingLevel: 1 }, after: 0 },
      ],
      scanIntervalMs: 0,
    });
    const res = await r.result;
    t.deepEqual(res.violations, []);
    return res.actors.find((x) => x.name === 'vmm')!.zaps;
  };
  t.is(await vmmZaps([]), 1, 'zap-all: the one top-level SPTE of the invalidated root');
  t.is(await vmmZaps(['slot_zap_all']), 16, 'the slot\'s 16 leaf SPTEs, one by one');
});

test.serial('the VM\'s width reaches the workers: two vCPUs on a 52-bit VM fault, write and lose pages at the top of the space through the 5-level root', async (t) => {
  const top = 2 ** 52 - 4 * MiB;
  const write = (i: number) => ({ op: 'access' as const, gpa: top + i * 4096, access: 'write' as const });
  const r = startThreaded({
    vm: { type: 'default', vcpus: 2, guestBytes: 16 * MiB, physBits: 52 },
    setup: [{ op: 'set_memslot', slot: 0, gpa: BigInt(top), size: 4n * BigInt(MiB), flags: 0, backingLevel: 1 }],
    script: [
      ...Array.from({ length: 8 }, (_, i) => ({ actor: i % 2, op: write(i) })),
      { actor: 2, op: { op: 'invalidate', gpa: top, size: 32768, kind: 'migrate', prot: 'r' }, after: 7 },
      ...Array.from({ length: 8 }, (_, i) => ({ actor: i % 2, op: write(i), after: 8 })),
    ],
    scanIntervalMs: 0,
  });
  const res = await r.result;
  t.deepEqual(res.violations, []);
  t.true(res.stats.accesses >= 16, `${res.stats.accesses} accesses (each fault's retry counts)`);
  t.deepEqual(res.stats.accessFailures, {});
  t.is(res.stats.invalidations.migrate, 1);
});

test.serial('an op-source module without createOpSource: the run ends with an actor error, not a hang', async (t) => {
  const r = startThreaded({
    vm: { type: 'default', vcpus: 1, guestBytes: 8 * MiB }, setup: [],
    source: { module: 'data:text/javascript,export const nothing = 1;', data: null }, durationMs: 5000,
  });
  const res = await r.result;
  t.is(res.stopReason, 'actor-error');
  t.regex(res.violations[0]!.message, /exports no createOpSource/);
});

test('a run takes an op source or a script, exactly one', (t) => {
  t.throws(() => startThreaded({ vm: { type: 'default', vcpus: 1, guestBytes: 8 * MiB }, setup: [] }), { message: /exactly one/ });
});
