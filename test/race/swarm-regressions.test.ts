// Goal: what a correct-model swarm met and the model fixed stays fixed; method: the shrunk scenario, explored with the default portfolio until its 2-preemption DFS is complete.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explore, resolveTarget } from '../../src/race/race.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-swarm-regressions-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a scenario file into the test's directory; returns its path. */
function scenarioFile(name: string, doc: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

// Slot 0 (2 MiB + 4 KiB, THP) and slot 1 (4K) are mmap'd back to back: slot 1 starts inside
// the 2 MiB block of slot 0's tail. The model used to map that block as one THP across both
// mappings, so slot 1's CoW break replaced slot 0's tail page without zapping it (a
// use-after-free). A huge page lies wholly inside its mapping: the tail is a 4K page.
test('a THP mapping\'s tail and the next mapping share no huge block: the swarm\'s use-after-free is gone', (t) => {
  const file = scenarioFile('thp-tail-next-mapping.json', {
    vm: { type: 'default', vcpus: 2 },
    memslots: [
      { slot: 0, gpa: '0x0', size: '2052KiB', backing: '2M', host_memory: 'anonymous' },
      { slot: 1, gpa: '0x2000000', size: '1MiB', backing: '4K', host_memory: 'anonymous' },
    ],
    ops: [
      { actor: 'vcpu1', op: 'access', gpa: '0x20b1000', access: 'write' },
      { actor: 'vcpu0', op: 'map_memory', base_gfn: '0x171', nr_pages: 256 },
    ],
  });
  const r = explore(resolveTarget(file), { budget: 2000 });
  t.false(r.found, r.run?.violations[0]?.message);
  t.true(r.dfs?.exhausted, 'the 2-preemption search ran to its end');
});

// vcpu1's write to gpa 0x10001000 finds no memslot; the VMM creates slot 1 there while
// vcpu0 pre-faults it (read-only: the zero page). vcpu1's no-slot fault, holding its stale
// lookup, turns vcpu0's leaf into an MMIO SPTE: the kernel does the same (no seq check for
// a no-slot fault, a create zaps nothing, the MMIO SPTE's generation is the old one). The
// model took it for R1's delete race (the portfolio met it in scenarios/default.json; here
// it did within ~200 schedules); R1 is now only a leaf of a slot being deleted.
test('a no-slot fault racing a memslot create may turn a leaf of the new slot into MMIO, as the kernel may: not R1', (t) => {
  const file = scenarioFile('noslot-fault-vs-create.json', {
    vm: { type: 'default', vcpus: 2 },
    memslots: [{ slot: 0, gpa: '0x0', size: '2MiB' }],
    ops: [
      { actor: 'vcpu1', op: 'access', gpa: '0x10001000', access: 'write' },
      { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '256MiB', size: '2MiB' },
      { actor: 'vcpu0', op: 'pre_fault', gpa: '256MiB', size: '64KiB' },
    ],
  });
  const r = explore(resolveTarget(file), { budget: 600 });
  t.false(r.found, r.run?.violations[0]?.message);
});

// A swarm shrink reached a two-step scenario (no memslot, one host invalidation): PCT
// depth 3 wanted two distinct change points in [1, 2) and drew forever, so the default
// portfolio never returned.
test('the portfolio ends on a run shorter than PCT\'s depth (PCT used to hang choosing its change points)', (t) => {
  const file = scenarioFile('two-steps.json', {
    vm: { type: 'default', vcpus: 1 },
    memslots: [],
    ops: [{ actor: 'host', op: 'invalidate', gpa: '0x5c6000', size: '4KiB', kind: 'migrate' }],
  });
  const r = explore(resolveTarget(file), { budget: 9 });
  t.is(r.schedules, 9);
  t.false(r.found);
});

// With --skip vcpu.kvmVcpuFlushTlb the vCPU re-enters on a KVM_REQ_TLB_FLUSH nothing clears,
// for ever: the exploration recorded footprints until the heap ran out (the swarm died) and
// a run stopped by the step limit was counted clean. A schedule has a step limit; reaching
// it is a livelock finding that names where each unfinished actor is.
test('a schedule that never ends is a livelock finding at the exploration\'s step limit, not a crash or a clean run', (t) => {
  const file = scenarioFile('endless-entry.json', {
    vm: { type: 'default', vcpus: 1 },
    memslots: [{ slot: 0, gpa: '0x0', size: '1MiB' }],
    ops: [
      { actor: 'vcpu0', op: 'access', gpa: '0x5000', access: 'write' },
      { actor: 'host', op: 'invalidate', gpa: '0x5000', size: '4KiB', kind: 'migrate', after: 0 },
      { actor: 'vcpu0', op: 'access', gpa: '0x6000', access: 'read', after: 1 },
    ],
  });
  const r = explore(resolveTarget(file), { budget: 3, scheduler: 'random', skip: ['vcpu.kvmVcpuFlushTlb'] });
  t.true(r.found);
  const v = r.run!.violations[0]!;
  t.is(v.kind, 'livelock');
  t.regex(v.message, /did not end within [\d,]+ steps \(FAULTLINE_EXPLORE_STEPS_MAX\): vcpu0 runs in vcpu\.entry/);
  t.false(explore(resolveTarget(file), { budget: 3, scheduler: 'random' }).found, 'the unmutated model ends');
});

// A MOVE of slot 1 that turns KVM_MEM_LOG_DIRTY_PAGES on kept the old slot's "no bitmap"
// (DIRTY_BASE 0): a fault in the moved slot marked its page dirty at bit 0 of the pool,
// and the bitmap the next create allocated there zeroed it (lost-dirty-page, scenario
// 5817 of seed 20261210). kvm_prepare_memory_region() allocates a new bitmap then.
test('a memslot move that turns dirty logging on gets a bitmap of its own: the swarm\'s lost dirty page is gone', (t) => {
  const file = scenarioFile('move-enables-logging.json', {
    vm: { type: 'default', vcpus: 1 },
    memslots: [{ slot: 1, gpa: '0x2000000', size: '2MiB', backing: '4K', host_memory: 'anonymous', populated: true }],
    ops: [
      { actor: 'vcpu0', op: 'access', gpa: '0x1e0000', access: 'write' },
      { actor: 'vcpu0', op: 'access', gpa: '0x701d000', access: 'write' },
      { actor: 'host', op: 'invalidate', gpa: '0x215a000', size: '4KiB', kind: 'reclaim' },
      { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '0x1a000000', size: '2MiB' },
      { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '0x2000000', size: '2MiB', flags: ['log_dirty_pages'] },
      { actor: 'vcpu0', op: 'access', gpa: '0x21dc000', access: 'exec', repeat: 2 },
      { actor: 'vmm', op: 'set_memslot', slot: 0, gpa: '0x0', size: '2MiB', flags: ['log_dirty_pages'] },
    ],
  });
  const r = explore(resolveTarget(file), { budget: 300 });
  t.false(r.found, r.run?.violations[0]?.message);
});

// Slot 0 is moved away, gfn 0x1e0 is made private while no slot covers it, and the slot is
// moved back: the model kept the mixed flags per gfn and recomputed them only for ranges
// under a slot when attributes were set, so vcpu0's fault mapped 2M over the private page
// (mixed-attribute-hugepage, scenario 218 of seed 2, on the first DFS schedule). The kernel
// computes a created or moved slot's flags from the attributes
// (kvm_mmu_init_memslot_memory_attributes()); so does the model now.
test('a slot moved onto attributes set while no slot covered them gets their mixed flags: the swarm\'s 2M mapping over a private page is gone', (t) => {
  const file = scenarioFile('move-onto-attributes.json', {
    vm: { type: 'snp', vcpus: 1 },
    memslots: [{ slot: 0, gpa: '0x0', size: '2052KiB', backing: '2M', host_memory: 'anonymous' }],
    ops: [
      { actor: 'vmm', op: 'set_memslot', slot: 0, gpa: '0x16000000', size: '2052KiB' },
      { actor: 'vcpu0', op: 'access', gpa: '0x42000', access: 'exec' },
      { actor: 'vmm', op: 'set_memory_attributes', gpa: '0x1e0000', size: '4KiB', attributes: ['private'] },
      { actor: 'vmm', op: 'set_memslot', slot: 0, gpa: '0x0', size: '2052KiB' },
    ],
  });
  const r = explore(resolveTarget(file), { budget: 300 });
  t.false(r.found, r.run?.violations[0]?.message);
});
