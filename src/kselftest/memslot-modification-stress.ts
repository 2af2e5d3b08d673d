/**
 * tools/testing/selftests/kvm/memslot_modification_stress_test.c, scaled down: vCPUs
 * write their own partitions of the test memory (perf_test_util's memslot at the top of
 * the guest physical space) while the main thread adds and deletes a one-page dummy
 * memslot (DUMMY_MEMSLOT_INDEX 7) right below it, nr_iterations times; every KVM_RUN must
 * return 0 with a UCALL_SYNC — in the model, every guest write succeeds — and every memslot
 * ioctl succeeds. `--preset memslot-churn` runs the same on threads; here it runs on the
 * deterministic engine with a seeded random interleaving.
 *
 * Scaled: 2 vCPUs with 64 pages each, written twice (the selftest: 1GiB per vCPU until
 * the memslot loop ends), 10 add/delete iterations (the selftest's default).
 */

import type { KernelRelease } from '../kvm/kernel-release.js';
import { DUMMY_SLOT } from '../workload/stress.js';
import { accessesOk, memslotOpsOk, noViolation } from './checks.js';
import { OpList, PAGE, hx } from './doc.js';
import { judgeCases, runScenario, scenarioOf, type Selftest , type SelftestOptions } from './harness.js';

const VCPUS = 2;
const PAGES_PER_VCPU = 64;
const PASSES = 2;
const ITERATIONS = 10;
const TEST_SLOT = 1;
const SEED = 1;
const PHYS_BITS = 48;

function layout(): { doc: object; accesses: number[]; memslotOps: number[] } {
  const pages = VCPUS * PAGES_PER_VCPU;
  const maxGfn = (1n << BigInt(PHYS_BITS - 12)) - 1n;
  const gpa = (maxGfn - BigInt(pages)) * BigInt(PAGE);
  const l = new OpList();
  const accesses: number[] = [];
  for (let pass = 0; pass < PASSES; pass++) {
    for (let v = 0; v < VCPUS; v++) accesses.push(...l.touch(`vcpu${v}`, gpa + BigInt(v * PAGES_PER_VCPU * PAGE), PAGES_PER_VCPU, 'write'));
  }
  const memslotOps: number[] = [];
  const dummy = gpa - BigInt(PAGE);
  for (let i = 0; i < ITERATIONS; i++) {
    memslotOps.push(l.add('vmm', 'set_memslot', { slot: DUMMY_SLOT, gpa: hx(dummy), size: hx(PAGE) }));
    memslotOps.push(l.add('vmm', 'set_memslot', { slot: DUMMY_SLOT, gpa: hx(dummy), size: 0 }));
  }
  const doc = { name: 'memslot_modification_stress_test', vm: { type: 'default', vcpus: VCPUS }, memslots: [{ slot: TEST_SLOT, gpa: hx(gpa), size: hx(pages * PAGE) }], ops: l.ops };
  return { doc, accesses, memslotOps };
}

export const memslotModificationStressTest: Selftest = {
  name: 'memslot_modification_stress_test',
  source: 'tools/testing/selftests/kvm/memslot_modification_stress_test.c',
  summary: `vCPUs write their partitions while a one-page dummy memslot next to them is added and deleted ${ITERATIONS} times; ${VCPUS} vCPUs × ${PAGES_PER_VCPU} pages × ${PASSES} passes, seeded random interleaving`,
  run: (kernel: KernelRelease, { mutations }: SelftestOptions = {}) => {
    const { doc, accesses, memslotOps } = layout();
    const r = runScenario(scenarioOf(doc), kernel, { scheduler: 'random', seed: SEED, ...(mutations !== undefined ? { mutations } : {}) });
    const cases = [
      { name: 'every vcpu_run returns 0 (each guest write succeeds) while the dummy memslot comes and goes', ops: accesses, checks: [accessesOk(accesses, 'vcpu_run')] },
      { name: `${ITERATIONS} adds and deletes of memslot ${DUMMY_SLOT} succeed, no stale mapping left`, ops: memslotOps, checks: [memslotOpsOk(memslotOps), noViolation] },
    ];
    return judgeCases('', cases, r);
  },
};
