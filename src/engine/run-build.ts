/**
 * What a deterministic run is made of, built once before its first step: the VM (its
 * host page pool sized for the largest backing any memslot asks for) with the mmu-lock
 * protocol, one actor runtime per actor with its op queue, the coverage counters and state
 * labels, and the SPTE provenance table every runtime reports its writes to.
 */

import { KvmActor } from '../kvm/actor.js';
import type { FindingSink, Violation } from '../kvm/findings.js';
import type { Op, OpResult } from '../kvm/ops.js';
import { Vm } from '../kvm/vm.js';
import { vmIsDead } from '../kvm/vm-dead.js';
import type { SpteProvenance } from '../check/invariants.js';
import { UserspaceContract } from '../check/userspace-contract.js';
import type { CompiledLockProtocol } from '../protocol/lock-protocol.js';
import { NO_MUTATIONS } from '../protocol/mutations.js';
import type { RunnerFactory } from '../protocol/runner.js';
import { ActorQueue, ActorRuntime, type QueuedOp } from './actor-runtime.js';
import { coverageCounters, stateLabels, type CoverageCounters } from './machine-set.js';
import { cachedLockProtocol, cachedRunnerFactory } from './protocol-cache.js';
import { SpteProvenanceTable } from './provenance.js';
import { compileReset } from './reset-in-place.js';
import type { RunConfig, ScheduledOp } from './run-types.js';

/** Where a run's findings go: kept in report order (the engine stamps each with its step). */
export class Collector implements FindingSink {
  readonly violations: Violation[] = [];
  report(v: Violation): void {
    this.violations.push(v);
  }
}

/** A run's parts (RunParts) and what each run of it has of its own. */
export interface BuiltRun extends RunParts {
  readonly collector: Collector;
  /** Per scenario op, its result once completed (null until then). */
  readonly results: (OpResult | null)[];
  readonly setupResults: (OpResult | null)[];
  /** One runtime per actor, indexed by actor id. */
  readonly runtimes: ActorRuntime[];
  /** The provenance lookup the invariant checks name an SPTE's last writer with. */
  readonly prov: SpteProvenance;
  /** The SPTE write hook every runtime of the run reports to the provenance table. */
  readonly hook: (sptep: number, a: KvmActor) => void;
  /** The userspace-contract checks (dirty log, memory attributes) the op queues feed. */
  readonly contract: UserspaceContract;
}

/** The largest host backing any memslot of the run asks for (sizes the host page pool's slack). */
function maxBackingLevel(cfg: RunConfig): number {
  let level = 1;
  for (const op of cfg.setup) if (op.op === 'set_memslot') level = Math.max(level, op.backingLevel);
  for (const { op } of cfg.ops) if (op.op === 'set_memslot') level = Math.max(level, op.backingLevel);
  return level;
}

/** The scenario's ops split per actor, in order; an actor that does not exist or an `after` naming a later op is a RangeError. */
function queuedOps(ops: readonly ScheduledOp[], nActors: number): QueuedOp[][] {
  const perActor: QueuedOp[][] = Array.from({ length: nActors }, () => []);
  ops.forEach((o, index) => {
    if (o.actor < 0 || o.actor >= nActors) throw new RangeError(`op ${index}: actor ${o.actor} does not exist`);
    for (const g of o.after === undefined ? [] : typeof o.after === 'number' ? [o.after] : o.after) {
      if (!Number.isInteger(g) || g < 0 || g >= index) throw new RangeError(`op ${index}: 'after' must name earlier ops, got ${g}`);
    }
    perActor[o.actor]!.push(o.after !== undefined ? { index, op: o.op, after: o.after } : { index, op: o.op });
  });
  return perActor;
}

/**
 * What a run keeps when it is run again from a snapshot of its VM (run-snapshot.ts): the
 * VM, the compiled protocol, the coverage counters, the state labels and the provenance.
 */
export interface RunParts {
  readonly vm: Vm;
  readonly lock: CompiledLockProtocol;
  readonly factory: RunnerFactory<KvmActor>;
  readonly coverage: CoverageCounters;
  readonly labels: readonly string[];
  readonly labelBase: ReadonlyMap<string, number>;
  readonly provenance: SpteProvenanceTable;
}

/** Builds the VM, the runtimes and the bookkeeping of a run from its configuration. */
export function buildRun(cfg: RunConfig): BuiltRun {
  const mutations = cfg.mutations ?? NO_MUTATIONS;
  const lock = cachedLockProtocol(mutations);
  // One thread owns a deterministic run's VM: private memory (a snapshot copies it back faster than a SharedArrayBuffer).
  const vm = Vm.create({ ...cfg.vm, maxBackingLevel: cfg.vm.maxBackingLevel ?? maxBackingLevel(cfg) }, lock, 'private');
  const { labels, labelBase } = stateLabels();
  // With check=end nothing empties the list of SPTEs written since the last check: do not keep one.
  const provenance = new SpteProvenanceTable(vm, labels, (cfg.check ?? 'step') !== 'end');
  const parts = { vm, lock, factory: cachedRunnerFactory(cfg.runner ?? 'compiled', mutations), coverage: coverageCounters(), labels, labelBase, provenance };
  return assembleRun(cfg, parts, cfg.setup.map(() => null));
}

/** A run's runtimes, op queues, results and collector over `parts` (a VM built for it). */
export function assembleRun(cfg: RunConfig, parts: RunParts, setupResults: (OpResult | null)[]): BuiltRun {
  const collector = new Collector();
  const results: (OpResult | null)[] = cfg.ops.map(() => null);
  const { runtimes, hook, prov, contract } = runtimesOf(cfg, parts, results, collector);
  return { ...parts, collector, results, setupResults, runtimes, prov, hook, contract };
}

/** One runtime per actor with its op queue, reporting to `sink`, and the provenance hooks they write through. */
function runtimesOf(cfg: RunConfig, parts: RunParts, results: (OpResult | null)[], sink: FindingSink) {
  const { vm, factory, coverage, labels, labelBase, provenance } = parts;
  const perActor = queuedOps(cfg.ops, vm.layout.actors);
  const contract = new UserspaceContract(vm, sink);
  const queues = perActor.map((items, id) => new ActorQueue(items, results, { sink, actor: vm.actorName(id), vmDead: () => vmIsDead(vm), contract }));
  const runtimes = queues.map((q, id) => new ActorRuntime(vm, id, q, sink, factory, coverage, labelBase, labels));
  const hook = (sptep: number, a: KvmActor): void => provenance.note(sptep, a);
  for (const rt of runtimes) rt.a.spteWriteHook = hook;
  const prov = (sptep: number) => provenance.get(sptep);
  return { queues, runtimes, hook, prov, contract };
}

/** Findings go to the collector of the run in progress (runtimes reused from run to run report through it). */
class CurrentCollector implements FindingSink {
  target = new Collector();
  report(v: Violation): void {
    this.target.report(v);
  }
}

/**
 * A run's runtimes built once and reset in place for each run from a snapshot
 * (run-snapshot.ts): each actor's kernel-side state back to a pristine twin's, its runtime
 * and op queue to their start, the results cleared, and a new collector. What a run built
 * by assembleRun starts with, without building it.
 */
export class ReusedRuns {
  private readonly sink = new CurrentCollector();
  private readonly results: (OpResult | null)[];
  private readonly queues: ActorQueue[];
  private readonly runtimes: ActorRuntime[];
  /** Per actor, its KvmActor's reset to a twin as built, never run. */
  private readonly resets: ((a: KvmActor) => void)[];
  private readonly hook: (sptep: number, a: KvmActor) => void;
  private readonly prov: SpteProvenance;
  private readonly contract: UserspaceContract;

  constructor(cfg: RunConfig, private readonly parts: RunParts) {
    this.results = cfg.ops.map(() => null);
    const r = runtimesOf(cfg, parts, this.results, this.sink);
    this.queues = r.queues;
    this.runtimes = r.runtimes;
    this.hook = r.hook;
    this.prov = r.prov;
    this.contract = r.contract;
    this.resets = r.runtimes.map((rt) => {
      const twin = new KvmActor(rt.a.vm, rt.a.actor, rt.a.queue, rt.a.sink);
      twin.stateLabels = rt.a.stateLabels;
      twin.spteWriteHook = rt.a.spteWriteHook;
      return compileReset(rt.a, twin);
    });
  }

  /** The runtimes back at their start, for a run with `setupResults` (the first run gets them as built). */
  next(setupResults: (OpResult | null)[]): BuiltRun {
    const collector = new Collector();
    this.sink.target = collector;
    this.results.fill(null);
    this.contract.reset();
    for (let i = 0; i < this.runtimes.length; i++) {
      const a = this.runtimes[i]!.a;
      // Only an actor's own steps change its kernel-side state (each sets its step number,
      // which the reset puts back to -1): one that took none is as built (the vmm of a
      // scenario whose ops are all setup, say).
      if (a.step !== -1) this.resets[i]!(a);
      this.queues[i]!.reset();
      this.runtimes[i]!.reset();
    }
    const { runtimes, results, hook, prov, contract } = this;
    return { ...this.parts, collector, results, setupResults, runtimes, prov, hook, contract };
  }
}

/** The vmm's runtime for the setup phase: the scenario's setup ops, in order, before any other actor starts. */
export function setupRuntime(b: BuiltRun, setup: readonly Op[]): ActorRuntime {
  const rt = new ActorRuntime(b.vm, b.vm.layout.vmmActor, new ActorQueue(setup.map((op, index) => ({ index, op })), b.setupResults), b.collector, b.factory, b.coverage, b.labelBase, b.labels);
  rt.a.spteWriteHook = b.hook;
  return rt;
}
