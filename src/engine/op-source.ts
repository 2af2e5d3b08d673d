/**
 * What the threaded engine asks of a workload: per actor, a source of ops (the vCPU
 * thread's guest accesses and ioctls, the host's notifier events, the VMM's ioctls), and
 * optionally online checks over the event stream and a plan of stages the vCPUs meet
 * between. The engine defines these interfaces; workloads (src/workload) implement them
 * and the engine never names one.
 *
 * Sources are built inside each worker thread, so a run names its source by module: the
 * task carries `OpSourceSpec` (the module's URL and plain, structured-cloneable data) and
 * the worker imports the module and calls its `createOpSource(data, ctx)`.
 */

import type { Observable } from 'rxjs';
import type { Violation } from '../kvm/findings.js';
import type { Op, OpResult } from '../kvm/ops.js';
import type { ActorEvent } from './control.js';

/** What a source answers: an op, "nothing before time t" (ms, the run's clock), or the end. */
export type Next = { readonly op: Op } | { readonly sleepUntil: number } | null;

export interface OpSource {
  next(now: number): Next;
  /** The result of the op this source handed out last (a source may keep score). */
  completed?(op: Op, result: OpResult): void;
}

/**
 * How a workload's actors meet between stages (a selftest's rendezvous): the engine
 * advances the stage once every vCPU has finished the previous one, and gives the host a
 * command to carry out between two stages.
 */
export interface StageSignals {
  /** The stage the vCPUs may run now. */
  stage(): number;
  /** This vCPU completed every op of stage `s`; with the results it saw there. */
  finishStage(s: number, tally: StageTally): void;
  /** The host's current command (0: none yet). */
  hostCommand(): number;
  /** The host carried out command `n`. */
  ackHostCommand(n: number): void;
}

export interface StageTally {
  ok: number;
  efault: number;
  otherErrors: number;
}

/** The stages a run's vCPUs go through together, and the host's commands between them. */
export interface StagePlan {
  readonly names: readonly string[];
  /** Host command (1, 2, …) to carry out before stage s opens, by s. */
  readonly hostCommandBefore: Readonly<Record<number, number>>;
}

/** What a worker knows when it builds its actor's source. */
export interface OpSourceContext {
  readonly actor: number;
  readonly vcpus: number;
  readonly hostActor: number;
  /** The run's clock when the actor started (ms). */
  readonly startMs: number;
  readonly signals: StageSignals;
  readonly manualDirtyLogProtect: boolean;
  /** Wall-clock time, epoch ms (shared across threads). */
  readonly epochMs: () => number;
  /** This actor's own part of the spec (OpSourceSpec.actorData[actor]), if the spec has one. */
  readonly actorData: unknown;
}

/** A source module's export `createOpSource`: builds one actor's source from the spec's data. */
export type OpSourceFactory = (data: unknown, ctx: OpSourceContext) => OpSource;

/** A run's op source, as a task carries it to a worker: a module URL and its data. */
export interface OpSourceSpec {
  /** URL (href) of an ES module exporting `createOpSource: OpSourceFactory`. */
  readonly module: string;
  /** Plain data for the factory (structured-cloned into every worker). */
  readonly data: unknown;
  /** Per actor, data only that actor's worker gets (a script's ops): not cloned into every worker. */
  readonly actorData?: readonly unknown[];
}

/** An online check: turns the run's events into the violations it finds (the engine collects them). */
export type EventCheck = (events$: Observable<ActorEvent>, actorName: (actor: number) => string) => Observable<Violation>;
