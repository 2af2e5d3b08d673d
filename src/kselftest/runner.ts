/**
 * `faultline kselftest`: the modelled selftests by name, run on one kernel release, their
 * cases as TAP tests in selftest order. A name that is not a modelled selftest is bad
 * input (a RangeError naming the ones there are).
 */

import { KERNEL_DEFAULT, type KernelRelease } from '../kvm/kernel-release.js';
import { mutationSpecs, type Mutations } from '../protocol/mutations.js';
import type { Selftest, SelftestOptions, Subtest } from './harness.js';
import type { Interleaving } from './interleaving.js';
import { dirtyLogTest } from './dirty-log.js';
import { memslotModificationStressTest } from './memslot-modification-stress.js';
import { mmuStressTest } from './mmu-stress.js';
import { preFaultMemoryTest } from './pre-fault-memory.js';
import { privateMemConversionsTest } from './private-mem-conversions.js';
import { setMemoryRegionTest } from './set-memory-region.js';

/** Every modelled selftest, in the order the suite runs them. */
export const SELFTESTS: readonly Selftest[] = [preFaultMemoryTest, mmuStressTest, memslotModificationStressTest, setMemoryRegionTest, dirtyLogTest, privateMemConversionsTest];

/** One selftest's cases on a release. */
export interface SelftestRun {
  readonly name: string;
  readonly source: string;
  readonly summary: string;
  readonly subtests: readonly Subtest[];
  readonly ms: number;
}

export interface SuiteRun {
  readonly kernel: KernelRelease;
  /** The mutations the run put back, as command-line flags (none: the real protocol). */
  readonly mutations: readonly string[];
  /** pre_fault_memory_test's interleaving of the racing slot delete. */
  readonly interleaving: Interleaving;
  readonly selftests: readonly SelftestRun[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

/** Mutations as the flags that make them: `--mutate M.G=false`, `--skip M.A`. */
function flagsOf(m: Mutations): string[] {
  const { mutate, skip } = mutationSpecs(m);
  return [...mutate.map((x) => `--mutate ${x}`), ...skip.map((x) => `--skip ${x}`)];
}

/** The selftests named (all when none), in suite order; an unknown name is a RangeError. */
export function selectSelftests(names: readonly string[]): Selftest[] {
  for (const n of names) {
    if (!SELFTESTS.some((t) => t.name === n)) throw new RangeError(`no modelled selftest '${n}'; selftests: ${SELFTESTS.map((t) => t.name).join(', ')}`);
  }
  return names.length === 0 ? [...SELFTESTS] : SELFTESTS.filter((t) => names.includes(t.name));
}

/** Runs the selftests on `kernel` (with mutations, a bug put back; an interleaving for pre_fault_memory_test); each selftest's cases prefixed by its name. */
export function runSuite(selftests: readonly Selftest[], kernel: KernelRelease = KERNEL_DEFAULT, options: SelftestOptions = {}): SuiteRun {
  const { mutations } = options;
  const runs = selftests.map((t): SelftestRun => {
    const t0 = performance.now();
    const subtests = t.run(kernel, options).map((s) => ({ ...s, name: `${t.name}: ${s.name}` }));
    return { name: t.name, source: t.source, summary: t.summary, subtests, ms: Math.round(performance.now() - t0) };
  });
  const all = runs.flatMap((r) => r.subtests);
  const count = (s: Subtest['status']): number => all.filter((t) => t.status === s).length;
  return { kernel, interleaving: options.interleaving ?? 'invalid-slot', mutations: mutations === undefined ? [] : flagsOf(mutations), selftests: runs, passed: count('ok'), failed: count('not ok'), skipped: count('skip') };
}
