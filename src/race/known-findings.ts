/**
 * Documented findings: violations the correct model shows that are the kernel's, not the
 * model's (README, Findings; docs/findings/). `race swarm` reports a violation that
 * matches one by name and carries on; anything else fails the run.
 *
 * A finding is recognized by its violation's kind and the words of its message that tell
 * it from look-alikes: the pre-fault that spins on an obsolete root is a livelock whose
 * last retry reason is `obsolete-root` while the VMM waits in `synchronize_srcu()` — R12
 * (the pre-fault that keeps an obsolete root on 6.14) retries on an obsolete root with no
 * memslot update waiting, and R13 retries on an INVALID slot.
 */

import type { Violation } from '../kvm/findings.js';

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

/** The documented finding a violation is, if any. */
export function knownFinding(v: Violation): KnownFinding | null {
  return KNOWN_FINDINGS.find((f) => f.matches(v)) ?? null;
}
