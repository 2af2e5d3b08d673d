/**
 * `faultline kernels [--json]`: the kernel-version table (src/kvm/kernel-release.ts) — per
 * row the switch, the commit, the first release that has it, before → after, and the
 * catalogue entry that runs the release before it.
 */

import { KERNEL_CHANGES, KERNEL_DEFAULT, KERNEL_RELEASES, kernelProfile, releaseBefore } from '../kvm/kernel-release.js';
import { CATALOGUE } from '../workload/catalogue.js';
import type { Io } from './io.js';

/** The catalogue entry whose race a row's commit fixed, if any. */
function entryOf(hash: string): string | null {
  return CATALOGUE.find((e) => e.kernel !== undefined && e.commit.hash === hash)?.name ?? null;
}

/** `kernels [--json]`: exit 0. */
export function kernelsList(flags: { readonly json?: boolean }, io: Io): number {
  if (flags.json === true) {
    const changes = KERNEL_CHANGES.map((c) => ({ ...c, race: c.race ?? null, catalogue: entryOf(c.commit.hash) }));
    const profiles = Object.fromEntries(KERNEL_RELEASES.map((r) => [r, kernelProfile(r).switches]));
    io.out(`${JSON.stringify({ releases: KERNEL_RELEASES, default: KERNEL_DEFAULT, changes, profiles })}\n`);
    return 0;
  }
  io.out(`kernel releases modelled: ${KERNEL_RELEASES.join(', ')} (default ${KERNEL_DEFAULT}); pick one with --kernel X.Y or vm.kernel\n`);
  io.out(`${KERNEL_CHANGES.length} behaviours differ between them:\n\n`);
  for (const c of KERNEL_CHANGES) {
    io.out(`${c.since}  ${c.switch}\n`);
    io.out(`  commit  ${c.commit.hash} ${c.commit.title}\n`);
    io.out(`  before  ${c.before}\n`);
    io.out(`  after   ${c.after}\n`);
    const entry = entryOf(c.commit.hash);
    if (entry !== null) io.out(`  race    ${c.race ?? ''} ${entry}: runs on ${releaseBefore(c)}, its control on ${c.since}\n`);
    io.out('\n');
  }
  return 0;
}
