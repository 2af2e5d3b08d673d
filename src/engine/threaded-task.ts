/**
 * What crosses between the threaded engine's main thread and a worker: the task that
 * starts one actor (structured-cloned into the worker) and the outcome it returns.
 */

import type { Violation } from '../kvm/findings.js';
import type { Layout } from '../kvm/layout.js';
import type { KernelRelease } from '../kvm/kernel-release.js';
import type { KvmQuirk } from '../kvm/quirks.js';
import type { VmType } from '../kvm/vm-types.js';
import type { ControlLayout } from './control.js';
import type { ActorCounters } from './counters.js';

/** The task's op source: the source module and its data, with this actor's own part. */
export interface TaskSource {
  /** URL (href) of an ES module exporting `createOpSource` (op-source.ts OpSourceFactory). */
  readonly module: string;
  readonly data: unknown;
  readonly actorData?: unknown;
}

/** The VM's shared memory as a worker attaches to it (Vm.attach). */
export interface VmShare {
  readonly sab: SharedArrayBuffer;
  readonly layout: Layout;
  readonly type: VmType;
  /** The kernel release the VM runs. */
  readonly kernel: KernelRelease;
  /** The quirks userspace disabled (kvm->arch.disabled_quirks). */
  readonly disabledQuirks: readonly KvmQuirk[];
}

/** The run's control memory as a worker attaches to it (new Control). */
export interface ControlShare {
  readonly sab: SharedArrayBuffer;
  readonly layout: ControlLayout;
}

/** Everything a worker needs to run one actor (structured-cloneable). */
export interface ActorTask {
  readonly vm: VmShare;
  readonly ctl: ControlShare;
  readonly actor: number;
  readonly mutate: readonly string[];
  readonly skip: readonly string[];
  readonly source: TaskSource;
  /** performance.timeOrigin + now() of the run's start, so every actor shares one clock. */
  readonly startEpochMs: number;
  readonly manualDirtyLogProtect: boolean;
  /**
   * vmm only: signal a vCPU whose SRCU read lock has held up this actor's
   * synchronize_srcu() for this long (0 = never), as a VMM kicks a vCPU thread out of an
   * ioctl. Without it, a pre-fault stuck on an obsolete root (README, Findings) hangs the
   * memslot update until the watchdog reports it.
   */
  readonly kickMs: number;
  /** Test hook: throw from this actor after this many steps (a worker crash). */
  readonly crashAfterSteps?: number;
  /** Before reporting ready, run this loop on a private VM for at least this long (ms; 0 = not): see threaded-warmup.ts. */
  readonly warmupMs?: number;
}

/** What a worker returns when its actor's loop ends: its counters, coverage, violations and timing. */
export interface ActorOutcome extends ActorCounters {
  readonly actor: number;
  readonly name: string;
  readonly steps: number;
  readonly opsDone: number;
  readonly violations: Violation[];
  readonly violationsDropped: number;
  /** Transition counts per machine (same order as COMPILED), mmu-lock included. */
  readonly coverage: Record<string, number[]>;
  readonly state: string;
  readonly elapsedMs: number;
  /** Time in the step loop (setup excluded): from the first step to the end. */
  readonly loopMs: number;
  /** When the loop started and ended, on the run's clock (ms since the run started). */
  readonly loopStartMs: number;
  readonly loopEndMs: number;
}
