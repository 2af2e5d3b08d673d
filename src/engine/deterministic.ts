/**
 * The deterministic engine: every actor (vCPUs, host, vmm) in one thread, over the same
 * shared-memory layout and compiled machines as the threaded engine; a scheduler chooses
 * whose step runs next. After every step the invariants of src/check are evaluated; a
 * violation is stamped with the step, actor and transition that revealed it.
 *
 * Waiting is explicit: a step that cannot proceed names the shared word it waits on; the
 * actor is not scheduled again until some other step changes that word. All actors
 * waiting is a deadlock; a fault that keeps retrying while nothing else can run is a
 * livelock. The same configuration and seed always give the same run.
 */

import { KvmActor } from '../kvm/actor.js';
import type { Violation } from '../kvm/findings.js';
import { LIVELOCK_RETRIES, STEPS_MAX } from '../kvm/limits.js';
import type { Op, OpResult } from '../kvm/ops.js';
import { Vm, type VmConfig } from '../kvm/vm.js';
import { checkQuiesced, checkSptes, scanInvariants, type SpteWriter } from '../check/invariants.js';
import { G } from '../kvm/layout.js';
import { SpteProvenanceTable } from './provenance.js';
import { COMPILED, compiled } from '../protocol/machines.js';
import { ACTOR_IMPLS } from '../protocol/bindings.js';
import { CompiledLockProtocol } from '../protocol/lock-protocol.js';
import { NO_MUTATIONS, type Mutations } from '../protocol/mutations.js';
import { ReferenceRunnerFactory } from '../protocol/reference-runner.js';
import { CompiledRunnerFactory, type RunnerFactory, type RunnerKind } from '../protocol/runner.js';
import { Prng } from '../sched/prng.js';
import type { CompiledMachine } from '../protocol/compile.js';
import { SequentialScheduler, createScheduler, type Scheduler, type SchedulerName, type SchedulerView } from '../sched/scheduler.js';
import { ActorQueue, ActorRuntime, countFaultDone, type QueuedOp, type StepRecord } from './actor-runtime.js';
import { Footprint, recordFootprint, type StepFootprint } from '../kvm/shm.js';
import { transitionCostTable, type CostModel } from './cost-model.js';
import { countersOf, type ActorCounters } from './counters.js';

export interface ScheduledOp {
  /** Actor index: 0..vcpus-1, vcpus = host, vcpus + 1 = vmm. */
  readonly actor: number;
  readonly op: Op;
  /** The op (or ops, of other actors) that must have completed before this one starts. */
  readonly after?: number | readonly number[];
}

export interface RunConfig {
  readonly vm: VmConfig;
  /** Ops run by the vmm, in order, before any other actor starts (the scenario's memslots). */
  readonly setup: readonly Op[];
  readonly ops: readonly ScheduledOp[];
  readonly scheduler: SchedulerName | Scheduler;
  readonly seed: number;
  readonly mutations?: Mutations;
  readonly runner?: RunnerKind;
  /**
   * 'step' (default): after every step, the SPTEs it wrote — and every SPTE whenever the
   * state epoch moved (host mapping, attributes, memslots, dirty bits, invalidation end),
   * which makes it equivalent to a full scan per step; 'full': the full scan after every
   * step (slow, for cross-checking); 'end': only at the end.
   */
  readonly check?: 'step' | 'full' | 'end';
  /** Keep every step's record (for traces). */
  readonly trace?: boolean;
  /** Stop at the first violation (default true). */
  readonly stopOnViolation?: boolean;
  readonly stepsMax?: number;
  /** Record every choice as a labelled step (RunResult.choices), for tokens and replay. */
  readonly recordChoices?: boolean;
  /**
   * Record each main-phase step's footprint — the shared words it read and wrote
   * (RunResult.footprints) — for partial-order reduction and causal trace slices.
   * Implied by a scheduler that `wantsFootprints`.
   */
  readonly footprints?: boolean;
  /**
   * Run a simulated clock with this cost model (cost-model.ts): each actor's clock advances
   * by what its steps cost; waits resume at the releasing step's end (RunResult.sim).
   */
  readonly costModel?: CostModel;
  /** Called every PROGRESS_EVERY steps of the main phase with what the actors have done so far (long benchmark runs show it). */
  readonly onProgress?: (p: RunProgress) => void;
}

/** How far a run has got: steps taken, guest accesses done and pages pre-faulted, over all actors. */
export interface RunProgress {
  readonly steps: number;
  readonly accesses: number;
  readonly preFaultPages: number;
}

const PROGRESS_EVERY = 1 << 18;

/** The simulated clock's outcome: per actor, its clock, time spent waiting, and waiting for mmu_lock (ns). */
export interface SimClockResult {
  readonly clocks: number[];
  readonly waitNs: number[];
  readonly lockWaitNs: number[];
  /** The latest clock: when the run ended in simulated time. */
  readonly timeNs: number;
  /** Per op (scenario order): the simulated time its last step ended (NaN if it never completed). */
  readonly opEndNs: number[];
}

export interface CoverageEntry {
  readonly machine: string;
  readonly transition: string;
  readonly count: number;
}

/** An actor at the end of a deterministic run: where its machine stood, its steps, and its counters. */
export interface ActorSummary extends ActorCounters {
  readonly actor: string;
  readonly state: string;
  readonly steps: number;
}

export interface RunResult {
  readonly setupResults: (OpResult | null)[];
  readonly results: (OpResult | null)[];
  readonly violations: Violation[];
  readonly steps: number;
  /** Every actor finished (no violation stopped the run early). */
  readonly completed: boolean;
  readonly coverage: CoverageEntry[];
  readonly actors: ActorSummary[];
  readonly trace: StepRecord[];
  readonly vm: Vm;
  /** Set when the run stopped for a reason other than a violation (step limit). */
  readonly error: string | null;
  /** With `recordChoices`: the label of every step of the main phase, in order. */
  readonly choices: string[];
  /** Steps the setup phase (the scenario's memslots) took before the main phase. */
  readonly setupSteps: number;
  /** With `footprints`: each main-phase step's footprint, in step order. */
  readonly footprints: StepFootprint[];
  /** The scheduler abandoned the run (a sleep-set-blocked DFS branch: it would only repeat explored interleavings). */
  readonly abandoned: boolean;
  /** With a cost model: the simulated clock. */
  readonly sim: SimClockResult | null;
}

class Collector {
  readonly violations: Violation[] = [];
  report(v: Violation): void {
    this.violations.push(v);
  }
}

function makeFactory(kind: RunnerKind, mutations: Mutations): RunnerFactory<KvmActor> {
  const machines = COMPILED.filter((m) => m.id !== 'mmu-lock');
  return kind === 'reference' ? new ReferenceRunnerFactory(machines, ACTOR_IMPLS, mutations) : new CompiledRunnerFactory(machines, ACTOR_IMPLS, mutations);
}

function summarize(rt: ActorRuntime): ActorSummary {
  return { actor: rt.a.name, state: rt.describeState(), steps: rt.progressSteps, ...countersOf(rt.a.stats) };
}

/** The largest host backing any memslot of the run asks for (sizes the host page pool's slack). */
function maxBackingLevel(cfg: RunConfig): number {
  let level = 1;
  for (const op of [...cfg.setup, ...cfg.ops.map((o) => o.op)]) if (op.op === 'set_memslot') level = Math.max(level, op.backingLevel);
  return level;
}

/** Runs a configuration to completion (or to the first violation) and returns what happened. */
export function runDeterministic(cfg: RunConfig): RunResult {
  const mutations = cfg.mutations ?? NO_MUTATIONS;
  const lock = new CompiledLockProtocol(compiled('mmu-lock'), mutations);
  const vm = Vm.create({ ...cfg.vm, maxBackingLevel: cfg.vm.maxBackingLevel ?? maxBackingLevel(cfg) }, lock);
  const factory = makeFactory(cfg.runner ?? 'compiled', mutations);
  const coverage = new Map(COMPILED.map((m) => [m.id, new Uint32Array(m.transitions.length)]));
  const collector = new Collector();
  const prng = new Prng(cfg.seed);
  const scheduler = typeof cfg.scheduler === 'string' ? createScheduler(cfg.scheduler, prng) : cfg.scheduler;
  const stepsMax = cfg.stepsMax ?? STEPS_MAX;
  const trace: StepRecord[] = [];
  const nActors = vm.layout.actors;

  const setupResults: (OpResult | null)[] = cfg.setup.map(() => null);
  const results: (OpResult | null)[] = cfg.ops.map(() => null);
  const perActor: QueuedOp[][] = Array.from({ length: nActors }, () => []);
  cfg.ops.forEach((o, index) => {
    if (o.actor < 0 || o.actor >= nActors) throw new RangeError(`op ${index}: actor ${o.actor} does not exist`);
    for (const g of o.after === undefined ? [] : typeof o.after === 'number' ? [o.after] : o.after) {
      if (!Number.isInteger(g) || g < 0 || g >= index) throw new RangeError(`op ${index}: 'after' must name earlier ops, got ${g}`);
    }
    perActor[o.actor]!.push({ index, op: o.op, ...(o.after !== undefined ? { after: o.after } : {}) });
  });
  // `machine: state` labels, indexed per machine from labelBase (findings name where a step started).
  const labels: string[] = [];
  const labelBase = new Map<string, number>();
  for (const m of COMPILED) {
    labelBase.set(m.id, labels.length);
    for (const s of m.states) labels.push(`${m.id}: ${s.name}`);
  }
  const runtimes = perActor.map((items, id) => new ActorRuntime(vm, id, new ActorQueue(items, results), collector, factory, coverage, labelBase, labels));
  const byId = runtimes;
  const provenance = new SpteProvenanceTable(vm, labels);
  const hook = (sptep: number, a: KvmActor): void => provenance.note(sptep, a);
  for (const rt of runtimes) rt.a.spteWriteHook = hook;
  const prov = (sptep: number): SpteWriter | undefined => provenance.get(sptep);
  const checkMode = cfg.check ?? 'step';
  const checkEvery = checkMode !== 'end';
  let epochSeen = -1;
  /** After a step: a full scan when something moved under existing SPTEs, else only the SPTEs it wrote. */
  const checkStep = (): void => {
    const epoch = Atomics.load(vm.i32, G.STATE_EPOCH);
    const found = epoch !== epochSeen || checkMode === 'full' ? scanInvariants(vm, prov) : checkSptes(vm, provenance.touched, prov);
    epochSeen = epoch;
    provenance.touched.length = 0;
    for (const v of found) collector.report(v);
  };

  let step = 0;
  const state: { stopped: boolean; error: string | null } = { stopped: false, error: null };
  const stopOnViolation = cfg.stopOnViolation ?? true;

  const stamp = (from: number, recOf: () => StepRecord | null, rt: ActorRuntime): void => {
    if (from === collector.violations.length) {
      if (stopOnViolation && from > 0) state.stopped = true;
      return;
    }
    const rec = recOf();
    for (let i = from; i < collector.violations.length; i++) {
      const v = collector.violations[i]!;
      if (v.step < 0) v.step = rec?.step ?? step;
      if (!v.actors.includes(rt.a.name)) v.actors = [...v.actors, rt.a.name];
      if (v.transition === undefined || v.transition === '') v.transition = rec?.label ?? '';
    }
    if (stopOnViolation && collector.violations.length > 0) state.stopped = true;
  };

  /**
   * Productive steps: steps that did not end waiting, taken by an actor that is not itself
   * caught in a retry streak. Two vCPUs retrying against each other make none.
   */
  let productive = 0;
  const others = (rt: ActorRuntime): string => runtimes.filter((o) => o !== rt).map((o) => `${o.a.name} ${o.finished ? 'finished' : o.waiting ? `waits on ${o.a.blockReason} in ${o.describeState()}` : `in ${o.describeState()}`}`).join('; ');

  /**
   * Livelock: an actor's fault keeps coming back (RET_PF_RETRY, or a guest access that
   * keeps exiting) more than LIVELOCK_RETRIES times while no productive step was taken —
   * nothing that could end it happened.
   */
  const onFaultDone = (rt: ActorRuntime): void => {
    const f = rt.a.fault;
    const spinning = countFaultDone(rt.a);
    const retry = f.errno === null && f.ret === 'retry';
    if (!spinning) {
      rt.retryStreak = 0;
      return;
    }
    if (rt.otherCouldProgress) {
      rt.otherCouldProgress = false;
      rt.retryStreak = 0;
      rt.streakBase = productive;
      return;
    }
    if (productive !== rt.streakBase) {
      rt.streakBase = productive;
      rt.retryStreak = 0;
    }
    rt.retryStreak++;
    if (rt.retryStreak <= LIVELOCK_RETRIES) return;
    const what = retry ? `fault on gfn 0x${f.gfn.toString(16)} retried ${rt.retryStreak} times (last reason: ${f.retryReason}): RET_PF_RETRY that nothing will end` : `guest access to gfn 0x${f.gfn.toString(16)} exited ${rt.retryStreak} times in a row (last fault: ${f.ret}): the guest spins on an EPT violation that nothing resolves`;
    collector.report({ kind: 'livelock', actors: [rt.a.name], step, gfn: f.gfn, message: `${rt.a.name}'s ${what}, while no productive step was taken. Others: ${others(rt)}` });
    rt.retryStreak = 0;
  };

  const choices: string[] = [];
  const footprints: StepFootprint[] = [];
  let abandoned = false;
  // Op completions and `after` gates are engine state, not shared memory: each op gets a
  // virtual word past the end of the buffer, written by the step that completes the op and
  // read by the step that starts an op waiting for it.
  const opWord = (index: number): number => vm.i32.length + index;
  // The simulated clock (with a cost model).
  const model = cfg.costModel ?? null;
  const costs = model !== null ? transitionCostTable(COMPILED, model) : null;
  const clock = new Float64Array(nActors);
  const waitNs = new Float64Array(nActors);
  const lockWaitNs = new Float64Array(nActors);
  const blocked = new Uint8Array(nActors);
  const blockReason: string[] = new Array(nActors).fill('');
  let lastEnd = 0;
  let stepCost = 0;
  // Cost tables by machine identity (a short scan beats a Map lookup by id on the hot path).
  const costMachines: CompiledMachine[] = [];
  const costTables: Float64Array[] = [];
  const addCost = (m: CompiledMachine, t: { id: number }): void => {
    let i = 0;
    while (i < costMachines.length && costMachines[i] !== m) i++;
    if (i === costMachines.length) { costMachines.push(m); costTables.push(costs!.get(m.id)!); }
    stepCost += costTables[i]![t.id]!;
  };
  const opEndNs: number[] = new Array(cfg.ops.length).fill(NaN);
  const runPhase = (active: ActorRuntime[], sched: Scheduler, main: boolean): void => {
    const record = main && cfg.recordChoices === true;
    // Simulated time starts when the guest does: the scenario's memslot setup is before it.
    if (main && costs !== null) { clock.fill(0); lastEnd = 0; }
    const fp = main && (cfg.footprints === true || sched.wantsFootprints === true) ? new Footprint() : null;
    const runnable: number[] = [];
    const headOpIndex: number[] = new Array(nActors).fill(Infinity);
    const labels: string[] = new Array(nActors).fill('');
    const wantLabels = record || sched.wantsLabels === true;
    const phaseStart = step;
    let previous = -1;
    // One view, updated in place each step (the hot loop allocates nothing per step).
    const view: { -readonly [K in keyof SchedulerView]: SchedulerView[K] } = { runnable, headOpIndex, previous, step: 0 };
    if (wantLabels) view.labels = labels;
    if (costs !== null) view.clock = clock;
    const live = [...active];
    while (!state.stopped) {
      let nRunnable = 0;
      let unfinished = 0;
      let helpers = 0;
      for (let k = 0; k < live.length; k++) {
        const rt = live[k]!;
        // A finished actor stays finished (its ops are all done): it leaves the scan.
        if (rt.finished) { live.splice(k--, 1); continue; }
        unfinished++;
        // An op that must wait for another actor's op: the actor does not start it yet.
        const gate = rt.queue.headGate();
        const gated = gate >= 0 && results[gate] === null && rt.atOpBoundary;
        if (costs !== null && rt.waiting) blockReason[rt.id] = rt.a.blockReason;
        const can = !gated && rt.wakeIfChanged();
        if (can) {
          runnable[nRunnable++] = rt.id;
          if (!rt.a.isVcpu && rt.retryStreak === 0) helpers++;
        }
        if (costs !== null) {
          // Resuming after a wait (or a gate): not before the step that released it ended.
          if (can && blocked[rt.id] === 1 && lastEnd > clock[rt.id]!) {
            const waited = lastEnd - clock[rt.id]!;
            waitNs[rt.id] += waited;
            if (blockReason[rt.id] === 'mmu_lock') lockWaitNs[rt.id] += waited;
            clock[rt.id] = lastEnd;
          }
          blocked[rt.id] = can ? 0 : 1;
          if (can) blockReason[rt.id] = '';
        }
        headOpIndex[rt.id] = rt.queue.headIndex();
      }
      if (runnable.length !== nRunnable) runnable.length = nRunnable;
      if (unfinished === 0) return;
      if (runnable.length === 0) {
        collector.report({
          kind: 'deadlock', step, actors: active.filter((r) => !r.finished).map((r) => r.a.name),
          message: `every unfinished actor waits: ${active.filter((r) => !r.finished).map((r) => `${r.a.name} in ${r.describeState()} waits on ${r.a.blockReason}`).join('; ')}`,
        });
        state.stopped = true;
        return;
      }
      if (step >= stepsMax) {
        state.error = `run exceeded ${stepsMax} steps (FAULTLINE_STEPS_MAX): the scenario is longer than the deterministic engine allows, or an actor loops without retrying a fault`;
        state.stopped = true;
        return;
      }
      if (wantLabels) for (const a of runnable) labels[a] = byId[a]!.label();
      view.previous = previous;
      view.step = step - phaseStart;
      const id = sched.next(view);
      if (id < 0) {
        abandoned = true;
        state.stopped = true;
        return;
      }
      const rt = active.length === 1 ? active[0]! : byId[id]!;
      // Another runnable actor, not a vCPU and not itself retrying, could end this one's retries.
      if (!rt.otherCouldProgress && helpers - (!rt.a.isVcpu && rt.retryStreak === 0 ? 1 : 0) > 0) rt.otherCouldProgress = true;
      const before = collector.violations.length;
      // (One thread: a plain read of the counter the host code keeps atomically.)
      const hostPages = costs !== null ? vm.i32[G.HOST_PAGES_IN_USE]! : 0;
      const headBefore = costs !== null && main ? rt.queue.headIndex() : -1;
      const accesses = rt.a.stats.accesses;
      const tlbHits = rt.a.stats.tlbHits;
      let took: boolean;
      if (fp !== null) {
        fp.reset();
        const gate = rt.queue.headGate();
        if (gate >= 0 && rt.atOpBoundary) fp.read(opWord(gate), opWord(gate) + 1);
        const head = rt.queue.headIndex();
        recordFootprint(fp);
        try {
          took = rt.step(step, onFaultDone);
        } finally {
          recordFootprint(null);
        }
        if (rt.queue.headIndex() !== head) fp.write(opWord(head), opWord(head) + 1);
        if (took) {
          const f = fp.freeze();
          footprints.push(f);
          sched.afterStep?.(id, f);
        }
      } else {
        took = rt.step(step, onFaultDone);
      }
      if (record && took) choices.push(labels[id]!);
      if (costs !== null && took) {
        stepCost = model!.step;
        rt.forEachFired(addCost);
        // A guest access that missed the TLB walked the tables in hardware first.
        stepCost += (rt.a.stats.accesses - accesses - (rt.a.stats.tlbHits - tlbHits)) * 4 * model!.hwWalkLevel;
        // A host page allocated on first touch: the fault, and zeroing it (a THP is 512 pages).
        const allocated = vm.i32[G.HOST_PAGES_IN_USE]! - hostPages;
        if (allocated > 0) stepCost += model!.hostAlloc + allocated * model!.hostZero4k;
        clock[id] += stepCost;
        lastEnd = clock[id]!;
        if (main && rt.queue.headIndex() !== headBefore && headBefore !== Infinity) opEndNs[headBefore] = lastEnd;
      }
      if (took && !rt.waiting && rt.retryStreak === 0) productive++;
      if (main && cfg.onProgress !== undefined && (step & (PROGRESS_EVERY - 1)) === 0 && took) {
        let accesses = 0;
        let preFaultPages = 0;
        for (const r of runtimes) { accesses += r.a.stats.accesses; preFaultPages += r.a.stats.preFaultPages; }
        cfg.onProgress({ steps: step - phaseStart, accesses, preFaultPages });
      }
      const stepNo = step;
      if (took && cfg.trace) {
        trace.push({
          ...rt.record(stepNo), seq: Atomics.load(vm.i32, G.INVALIDATE_SEQ) >>> 0, inProgress: Atomics.load(vm.i32, G.INVALIDATE_IN_PROGRESS),
          lock: lock.describe(Atomics.load(vm.i32, G.MMU_LOCK)),
        });
      }
      if (checkEvery) checkStep();
      stamp(before, () => (took ? rt.record(stepNo) : null), rt);
      previous = id;
      if (took) step++;
    }
  };

  if (cfg.setup.length > 0) {
    const setupRt = new ActorRuntime(vm, vm.layout.vmmActor, new ActorQueue(cfg.setup.map((op, index) => ({ index, op })), setupResults), collector, factory, coverage, labelBase, labels);
    setupRt.a.spteWriteHook = hook;
    runPhase([setupRt], new SequentialScheduler(), false);
  }
  const setupSteps = step;
  runPhase(runtimes, scheduler, true);
  const completed = !state.stopped && runtimes.every((r) => r.finished);
  if (completed) {
    for (const v of scanInvariants(vm, prov)) collector.report(v);
    for (const v of checkQuiesced(vm)) collector.report(v);
    stamp(0, () => null, runtimes[runtimes.length - 1]!);
  }
  const cov: CoverageEntry[] = [];
  for (const m of COMPILED) {
    const counts = m.id === 'mmu-lock' ? lock.fired : coverage.get(m.id)!;
    m.transitions.forEach((t, i) => cov.push({ machine: m.id, transition: t.label + (m.events.length > 1 ? ` on ${t.event}` : ''), count: counts[i]! }));
  }
  return { setupResults, results, violations: collector.violations, steps: step, completed, coverage: cov, actors: runtimes.map(summarize), trace, vm, error: state.error, choices, setupSteps, footprints, abandoned,
    sim: costs === null ? null : { clocks: [...clock], waitNs: [...waitNs], lockWaitNs: [...lockWaitNs], timeNs: Math.max(...clock), opEndNs } };
}
