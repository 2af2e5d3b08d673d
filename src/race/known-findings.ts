/**
 * Documented findings: violations the correct model shows that are the kernel's, not the
 * model's (README, Findings; docs/findings/), and, on a release before its fix, a race of
 * the catalogue fixed within the modelled releases (R12, R13, R14: the release has the
 * bug). `race swarm` reports a violation that matches one by name and carries on;
 * anything else fails the run.
 *
 * A finding is recognized by its violation's kind and the words of its message that tell
 * it from look-alikes: the pre-fault that spins on an obsolete root is a livelock whose
 * last retry reason is `obsolete-root` while the VMM waits in `synchronize_srcu()` — R12
 * (the pre-fault that keeps an obsolete root on 6.14) retries on an obsolete root with no
 * memslot update waiting, and R13 retries on an INVALID slot.
 */

import type { Violation } from '../kvm/findings.js';
import { kernelChangeOfCommit, kernelProfile, type KernelRelease } from '../kvm/kernel-release.js';
import { CATALOGUE, type CatalogueEntry } from '../workload/catalogue.js';

export interface KnownFinding {
  /** Its name, as docs/findings/NAME.md has it. */
  readonly name: string;
  /** What happens, in a line. */
  readonly title: string;
  /** Where it is written up. */
  readonly doc: string;
  readonly matches: (v: Violation) => boolean;
}

export const KNOWN_FINDINGS: readonly KnownFinding[] = [
  {
    name: 'prefault-during-slot-delete',
    title: 'a pre-fault during a memslot delete spins on an obsolete root while the delete waits in synchronize_srcu()',
    doc: 'docs/findings/prefault-during-slot-delete.md',
    matches: (v) => v.kind === 'livelock' && v.message.includes('(last reason: obsolete-root)') && v.message.includes('waits on synchronize_srcu(kvm->srcu)'),
  },
];

/** A catalogue race the release still has: fixed within the modelled releases, not yet in this one. */
function raceOfRelease(v: Violation, release: KernelRelease): CatalogueEntry | null {
  for (const e of CATALOGUE) {
    const fix = e.kernel !== undefined ? kernelChangeOfCommit(e.commit.hash) : undefined;
    if (fix === undefined || kernelProfile(release).switches[fix.switch]) continue;
    if (v.kind === e.violation && (e.signature === undefined || v.message.includes(e.signature))) return e;
  }
  return null;
}

/** The documented finding a violation on `release` is, if any: the README's first, then a catalogue race the release has. */
export function knownFinding(v: Violation, release: KernelRelease): KnownFinding | null {
  const f = KNOWN_FINDINGS.find((k) => k.matches(v));
  if (f !== undefined) return f;
  const e = raceOfRelease(v, release);
  if (e === null) return null;
  const since = kernelChangeOfCommit(e.commit.hash)!.since;
  return { name: e.name, title: `${e.ref}, fixed in ${since} by ${e.commit.hash} "${e.commit.title}": ${release} has it`, doc: `docs/races.md (${e.ref})`, matches: () => true };
}
