/**
 * Findings the model reports about itself: the kernel's BUG/WARN/lockdep assertions
 * (handle_changed_spte's forbidden transitions, lockdep_assert_held*, an unbalanced
 * mmu_invalidate_in_progress) and what the checkers in src/check add on top. A finding
 * is typed and names the actors, the step, the gfn and the SPTE values involved.
 */

export type ViolationKind =
  | 'use-after-free'
  | 'stale-spte'
  | 'forbidden-spte-transition'
  | 'spte-invariant'
  | 'lost-dirty-page'
  | 'mixed-attribute-hugepage'
  | 'private-shared-mismatch'
  | 'zero-page'
  | 'table-reuse'
  | 'stale-mmio'
  | 'invalid-root'
  | 'lock-discipline'
  | 'unbalanced-in-progress'
  | 'pre-fault-conformance'
  | 'rmp-fault'
  | 'livelock'
  | 'deadlock'
  | 'access-conformance'
  | 'dirty-log-conformance'
  | 'memory-attributes-conformance'
  | 'actor-error';

export const VIOLATION_KINDS: readonly ViolationKind[] = [
  'use-after-free', 'stale-spte', 'forbidden-spte-transition', 'spte-invariant', 'lost-dirty-page',
  'mixed-attribute-hugepage', 'private-shared-mismatch', 'zero-page', 'table-reuse', 'stale-mmio', 'invalid-root', 'lock-discipline',
  'unbalanced-in-progress', 'pre-fault-conformance', 'rmp-fault', 'livelock', 'deadlock', 'access-conformance',
  'dirty-log-conformance', 'memory-attributes-conformance', 'actor-error',
];

export interface SpteRef {
  /** Where: `root#0 L1 table#5[17]` or `tlb vcpu1`. */
  readonly where: string;
  /** 64-bit value in hex. */
  readonly value: string;
  /** Decoded: `leaf pfn=0x12 RW- A- hm L1`. */
  readonly decoded: string;
  /** Who wrote it last, when the engine keeps provenance: `vcpu0 at step 61 (page-fault: target → installed)`. */
  readonly writtenBy?: string;
}

export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
  /** Actors involved (the one whose step revealed it first). */
  actors: readonly string[];
  /** Engine step number at which it was detected (-1 when not known). */
  step: number;
  /** The transition (`machine: source → target`) during which it was detected, if any. */
  transition?: string;
  readonly gfn?: number;
  readonly pfn?: number;
  readonly sptes?: readonly SpteRef[];
}

/** Where findings go: the engine's collector (a run stops at the first by default). */
export interface FindingSink {
  report(v: Violation): void;
}

/** Thrown by the model when an assertion means the run cannot continue meaningfully. */
export class ModelAssertion extends Error {
  constructor(readonly violation: Violation) {
    super(violation.message);
  }
}
