/**
 * tools/testing/selftests/kvm/dirty_log_test.c in its basic mode ("dirty-log": only
 * KVM_GET_DIRTY_LOG), scaled down: slot 1 with KVM_MEM_LOG_DIRTY_PAGES at the top of the
 * guest physical space, the guest writing random pages of it with the iteration number;
 * per iteration the main thread collects the bitmap once while the guest runs (at a
 * random point) and once after stopping it, then vm_dirty_log_verify(): a page set in
 * either bitmap must hold this iteration's value ("Dirty page … value != iteration"), a
 * page in neither must not ("Clear page … value >= iteration") — in the model, the pages
 * the guest wrote this iteration are exactly those the two bitmaps hold.
 *
 * Scaled: 131 pages (the selftest: 1GiB + 3 pages), 4 iterations of 48 writes (32 of at
 * least 0x100). The clear-log and dirty-ring modes are not modelled (the model has
 * KVM_CLEAR_DIRTY_LOG but the suite runs the basic mode, as asked; it has no dirty ring).
 */

import type { RunResult } from '../engine/deterministic.js';
import type { KernelRelease } from '../kvm/kernel-release.js';
import { Prng } from '../sched/prng.js';
import { accessesOk } from './checks.js';
import { OpList, PAGE, hx } from './doc.js';
import { judgeCases, resultOf, runScenario, scenarioOf, type Case, type Check, type Selftest , type SelftestOptions } from './harness.js';

const TEST_MEM_SLOT_INDEX = 1;
const GUEST_NUM_PAGES = 128 + 3;
const ITERATIONS = 4;
const WRITES = 48;
const SEED = 1;
const PHYS_BITS = 48;

/** guest_test_phys_mem = align_down((max_gfn - guest_num_pages) * 4K, 4K). */
function testGpa(): bigint {
  const maxGfn = (1n << BigInt(PHYS_BITS - 12)) - 1n;
  return (maxGfn - BigInt(GUEST_NUM_PAGES)) * BigInt(PAGE);
}

/** vm_dirty_log_verify() for one iteration: the two bitmaps hold exactly the pages written in it. */
function verify(iteration: number, written: ReadonlySet<string>, bitmaps: readonly number[]): Check {
  return (r: RunResult) => {
    const dirty = new Set(bitmaps.flatMap((i) => resultOf(r, i, 'get_dirty_log').dirty));
    for (const g of dirty) if (!written.has(g)) return `Dirty page ${g} value != iteration (${iteration}): not written in this iteration`;
    for (const g of written) if (!dirty.has(g)) return `Clear page ${g} value (${iteration}) >= iteration (${iteration}): a write of this iteration is in neither bitmap`;
    for (const i of bitmaps) if (resultOf(r, i, 'get_dirty_log').ret !== 0) return 'KVM_GET_DIRTY_LOG failed';
    return null;
  };
}

function layout(): { doc: object; cases: Case[] } {
  const gpa = testGpa();
  const prng = new Prng(SEED);
  const l = new OpList();
  const cases: Case[] = [];
  let previous = -1;
  for (let it = 1; it <= ITERATIONS; it++) {
    const reap = prng.below(WRITES);
    const writes: number[] = [];
    const written = new Set<string>();
    let bmap0 = -1;
    for (let w = 0; w < WRITES; w++) {
      const page = gpa + BigInt(prng.below(GUEST_NUM_PAGES) * PAGE);
      written.add(hx(page));
      writes.push(l.add('vcpu0', 'access', { gpa: hx(page), access: 'write' }, w === 0 ? previous : undefined));
      if (w === reap) bmap0 = l.add('vmm', 'get_dirty_log', { slot: TEST_MEM_SLOT_INDEX }, writes[w]);
    }
    const bmap1 = l.add('vmm', 'get_dirty_log', { slot: TEST_MEM_SLOT_INDEX }, writes[WRITES - 1]);
    previous = bmap1;
    cases.push({ name: `iteration ${it}: the bitmaps (one reaped while the guest writes) hold exactly its ${written.size} written pages`, ops: [...writes, bmap0, bmap1], checks: [accessesOk(writes, 'guest write'), verify(it, written, [bmap0, bmap1])] });
  }
  const memslots = [{ slot: TEST_MEM_SLOT_INDEX, gpa: hx(gpa), size: hx(GUEST_NUM_PAGES * PAGE), flags: ['log_dirty_pages'] }];
  return { doc: { name: 'dirty_log_test', vm: { type: 'default', vcpus: 1 }, memslots, ops: l.ops }, cases };
}

export const dirtyLogTest: Selftest = {
  name: 'dirty_log_test',
  source: 'tools/testing/selftests/kvm/dirty_log_test.c',
  summary: `basic mode (KVM_GET_DIRTY_LOG): random guest writes, the bitmap reaped mid-iteration and after stopping the vCPU, verified per iteration; ${GUEST_NUM_PAGES} pages, ${ITERATIONS} iterations of ${WRITES} writes, seeded random interleaving`,
  run: (kernel: KernelRelease, { mutations }: SelftestOptions = {}) => {
    const { doc, cases } = layout();
    return judgeCases('log mode dirty-log: ', cases, runScenario(scenarioOf(doc), kernel, { scheduler: 'random', seed: SEED, ...(mutations !== undefined ? { mutations } : {}) }));
  },
};
