/**
 * `faultline kselftest [NAME…] [--kernel X.Y] [--json] [--list]`: runs the modelled
 * selftests (src/kselftest) on one kernel release and prints TAP 13, or one JSON object.
 * Exit 0 when no case failed (skips are not failures), 1 when one did; an unknown NAME is
 * bad input.
 */

import { KERNEL_DEFAULT, type KernelRelease } from '../kvm/kernel-release.js';
import type { Interleaving } from '../kselftest/interleaving.js';
import { SELFTESTS, runSuite, selectSelftests, type SuiteRun } from '../kselftest/runner.js';
import { tapDocument } from '../kselftest/tap.js';
import { COMPILED } from '../protocol/machines.js';
import { buildMutations } from '../protocol/mutations.js';
import { UsageError } from './args.js';
import type { Io } from './io.js';
import type { KselftestFlags } from './kselftest-cli.js';

function select(names: readonly string[]): ReturnType<typeof selectSelftests> {
  try {
    return selectSelftests(names);
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

/** The TAP document of a suite run: a header naming the model and each selftest's source. */
export function suiteTap(run: SuiteRun): string {
  const header = [`faultline kselftest: ${run.selftests.length} selftest(s) on the model of Linux ${run.kernel}${run.mutations.length > 0 ? `, mutations: ${run.mutations.join(' ')}` : ''}${run.interleaving !== 'invalid-slot' ? `, interleaving ${run.interleaving}` : ''}`];
  for (const t of run.selftests) header.push(`${t.name} (${t.source}): ${t.summary}`);
  const trailer = [`totals: pass ${run.passed}, fail ${run.failed}, skip ${run.skipped}`];
  return tapDocument(run.selftests.flatMap((t) => t.subtests), header, trailer);
}

function list(io: Io, json: boolean): number {
  const rows = SELFTESTS.map((t) => ({ name: t.name, source: t.source, summary: t.summary }));
  if (json) io.out(`${JSON.stringify({ selftests: rows })}\n`);
  else for (const r of rows) io.out(`${r.name}  (${r.source})\n  ${r.summary}\n`);
  return 0;
}

/** `kselftest`: exit 0 all passed or skipped, 1 a case failed. */
export function kselftestRun(names: readonly string[], flags: KselftestFlags, io: Io): number {
  if (flags.list === true) return list(io, flags.json === true);
  const selftests = select(names);
  const mutations = buildMutations(COMPILED, flags.mutate ?? [], flags.skip ?? []);
  const interleaving = (flags.interleaving ?? 'invalid-slot') as Interleaving;
  const run = runSuite(selftests, (flags.kernel ?? KERNEL_DEFAULT) as KernelRelease, { mutations, interleaving });
  if (flags.json === true) io.out(`${JSON.stringify(run)}\n`);
  else io.out(suiteTap(run));
  return run.failed === 0 ? 0 : 1;
}
