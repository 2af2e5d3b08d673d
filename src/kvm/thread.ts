/**
 * What the model needs to know about the thread running it: which VM and actor (for
 * lockdep, RCU and SRCU words, the vCPU page cache), and where its findings go. The
 * engines' actor contexts implement it.
 */

import type { SpteRef, ViolationKind } from './findings.js';
import type { Vm } from './vm.js';

export interface FindingDetail {
  gfn?: number;
  pfn?: number;
  sptes?: SpteRef[];
}

export interface KvmThread {
  readonly vm: Vm;
  readonly actor: number;
  /** Reports a finding (a BUG/WARN/lockdep assertion of the kernel, or a checker result). */
  report(kind: ViolationKind, message: string, detail?: FindingDetail): void;
  /** Called after this thread changed the SPTE at word `sptep` (provenance for reports; optional). */
  noteSpteWrite?(sptep: number): void;
}
