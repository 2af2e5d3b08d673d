/**
 * The deterministic engine's scheduling loop — its hot path. Each round scans the actors
 * still running (who can step: not waiting on an unchanged word, not held by an `after`
 * gate), ends the phase when all are done, deadlocked or out of steps, asks the scheduler
 * whose step runs, runs it (recording its footprint when asked), and then charges the
 * simulated clock, records the choice and trace, checks the invariants and stamps what
 * was found.
 *
 * The loop allocates nothing per step: one view, updated in place, and the runtimes'
 * fault-done hook and the cost callback are made once per run.
 */

import { G } from '../kvm/layout.js';
import { STEPS_MAX } from '../kvm/limits.js';
import { mmuInvalidateSeq } from '../kvm/mmu-invalidate.js';
import { Footprint, recordFootprint, withSingleThreadAccess } from '../kvm/shm.js';
import type { Scheduler, SchedulerView } from '../sched/scheduler.js';
import type { ActorRuntime } from './actor-runtime.js';
import { deadlock, endless, isHelper } from './liveness.js';
import type { RunState } from './run-state.js';

/** The recorder of a step's footprint, emptied before each recorded step (one loop runs at a time). */
const RECORDER = new Footprint();

/** Steps between two progress reports (RunConfig.onProgress; a power of two). */
const PROGRESS_EVERY = 1 << 18;

/** One phase of a run (setup or main): its actors, its scheduler, and the loop's reused state. */
export class PhaseLoop {
  /** Actors that can step this round, ascending (the scheduler's view). */
  private readonly runnable: number[] = [];
  /** Per actor, the scenario position of its head op (Infinity when none). */
  private readonly headOpIndex: number[];
  /** Per actor, the label of the step it would take (`vcpu1:page-fault.checkStale`), for a scheduler that wants them. */
  private readonly labels: string[];
  /** Label strings are wanted: for the scheduler's view (every runnable actor's; stepOnce records a chosen step's label by number). */
  private readonly wantLabels: boolean;
  private readonly schedLabels: boolean;
  /** Record each step's choice (main phase with recordChoices): its label's number (choice-labels.ts). */
  private readonly record: boolean;
  private readonly fp: Footprint | null;
  private readonly phaseStart: number;
  private readonly stepsMax: number;
  /** The actors not yet seen finished (a finished actor leaves the scan). */
  private readonly live: ActorRuntime[];
  // One view, updated in place each step.
  private readonly view: { -readonly [K in keyof SchedulerView]: SchedulerView[K] };
  /** Runnable actors in the last scan that could end another's retries (liveness). */
  private helpers = 0;
  /** The scheduler-free fast path is on (RunConfig.fastPath). */
  private readonly fastPath: boolean;
  /** Nothing watches single steps (no footprints, clock, labels, trace or check after each): the fast path may run steps to completion. */
  private readonly unwatched: boolean;
  /** The actor that took the previous step (-1 before the first). */
  private previous = -1;

  constructor(private readonly run: RunState, private readonly active: readonly ActorRuntime[], private readonly sched: Scheduler, private readonly main: boolean) {
    const cfg = run.cfg;
    const nActors = run.built.vm.layout.actors;
    this.record = main && cfg.recordChoices === true;
    this.fp = main && (cfg.footprints === true || sched.wantsFootprints === true) ? RECORDER : null;
    this.headOpIndex = new Array<number>(nActors).fill(Infinity);
    this.labels = new Array<string>(nActors).fill('');
    this.schedLabels = sched.wantsLabels === true;
    this.wantLabels = this.schedLabels;
    this.phaseStart = run.step;
    this.stepsMax = cfg.stepsMax ?? STEPS_MAX;
    this.fastPath = cfg.fastPath !== false;
    this.unwatched = this.fp === null && run.sim === null && !this.wantLabels && !this.record && cfg.trace !== true && !run.checker.everyStep;
    this.live = [...active];
    this.view = { runnable: this.runnable, headOpIndex: this.headOpIndex, previous: -1, step: 0 };
    if (this.schedLabels) this.view.labels = this.labels;
    if (run.sim !== null) this.view.clock = run.sim.clock;
  }

  /** Steps the phase's actors until all are finished or the run stops (one thread owns the VM: plain accesses). */
  loop(): void {
    withSingleThreadAccess(() => (this.fp === null ? this.loopOwned() : this.loopRecorded()));
  }

  /**
   * The loop with every access recorded into `fp`: switched on once for the phase rather
   * than around each step (stepRecorded empties the recorder before each step and freezes
   * it right after; what the engine reads between steps is dropped with it).
   */
  private loopRecorded(): void {
    recordFootprint(this.fp);
    try {
      this.loopOwned();
    } finally {
      recordFootprint(null);
    }
  }

  private loopOwned(): void {
    const run = this.run;
    const byId = run.built.runtimes;
    while (!run.stopped) {
      if (this.scan() === 0 || this.ends()) return;
      if (this.fastPath && this.live.length === 1 && this.runnable.length === 1) {
        this.solo(this.live[0]!);
        continue;
      }
      if (this.schedLabels) for (const a of this.runnable) this.labels[a] = byId[a]!.label();
      const id = this.choose();
      if (id < 0) return;
      const rt = this.active.length === 1 ? this.active[0]! : byId[id]!;
      this.stepOnce(rt, id);
    }
  }

  /** Asks the scheduler whose step runs; -1 abandons the run. */
  private choose(): number {
    const run = this.run;
    this.view.previous = this.previous;
    this.view.step = run.step - this.phaseStart;
    const id = this.sched.next(this.view);
    if (id < 0) {
      run.abandoned = true;
      run.stopped = true;
    }
    return id;
  }

  /** Runs `rt`'s step (recording its footprint when asked), then its cost, choice, trace, checks and findings. */
  private stepOnce(rt: ActorRuntime, id: number): void {
    const run = this.run;
    run.liveness.noteHelpers(rt, this.helpers);
    const before = run.built.collector.violations.length;
    if (run.sim !== null) run.sim.beforeStep(rt, this.main);
    const stepNo = run.step;
    // The step's label names the state it starts in: taken before it.
    const choice = this.record ? rt.labelId() : -1;
    const took = this.fp !== null ? this.stepRecorded(rt, id) : rt.step(stepNo, run.liveness.onFaultDone);
    if (took) this.afterTaken(rt, choice, stepNo);
    if (run.checker.everyStep) run.checker.afterStep();
    if (run.checker.stamp(before, rt, took, stepNo)) run.stopped = true;
    this.previous = id;
    if (took) run.step++;
  }

  /**
   * The scheduler-free fast path: `rt` is the only unfinished actor and the scan found it
   * runnable. Until it waits, reaches an op boundary where an `after` gate holds it back,
   * finishes, or the run stops or reaches its step limit, no other actor can become
   * runnable and `rt` stays runnable, so each step skips the scan — and, when the
   * scheduler's choice is forced (`forcedWhenAlone`), the scheduler call. Everything else
   * a step does is `stepOnce`, as in the loop: the same choices, checks, findings, costs
   * and trace, so a run (and its token) is the same with or without this path.
   */
  private solo(rt: ActorRuntime): void {
    const run = this.run;
    const id = rt.id;
    const forced = this.sched.forcedWhenAlone === true;
    const sim = run.sim;
    for (;;) {
      if (forced && this.unwatched && this.runSteps(rt, id)) {
        // Taken in one run (runSteps); what follows is as after stepOnce.
      } else {
        if (this.wantLabels) this.labels[id] = rt.label();
        if (!forced && this.choose() < 0) return;
        this.stepOnce(rt, id);
      }
      if (run.stopped || rt.finished || rt.waiting || run.step >= this.stepsMax) return;
      // At an op boundary the scan would hold `rt` back while its head op's `after` gate is
      // shut (only another actor's op can open it: `rt` is alone); else find it runnable.
      if (rt.atOpBoundary) {
        if (rt.headGateShut(run.built.results)) return;
        this.headOpIndex[id] = rt.queue.headIndex();
      }
      // What the scan would find: `rt` alone runnable, its head op as above.
      this.helpers = isHelper(rt) ? 1 : 0;
      if (sim !== null) {
        sim.noteWait(rt);
        sim.noteRunnable(id, true);
      }
    }
  }

  /**
   * Steps of `rt` in one run (ActorRuntime.runSteps), with what stepOnce does after each
   * done for the run: the step count, the progress report when a step's number is a
   * multiple of PROGRESS_EVERY (the run ends at it), and the stamping of a finding (the run
   * ends at the step that reported it). Returns false when it took no step.
   */
  private runSteps(rt: ActorRuntime, id: number): boolean {
    const run = this.run;
    const stepNo = run.step;
    const progress = this.main && run.cfg.onProgress !== undefined;
    // With progress reports, the run ends at the next step whose number is a multiple of PROGRESS_EVERY.
    const mask = PROGRESS_EVERY - 1;
    const budget = Math.min(this.stepsMax - stepNo, progress ? ((PROGRESS_EVERY - (stepNo & mask)) & mask) + 1 : Infinity);
    const violations = run.built.collector.violations;
    const before = violations.length;
    const n = rt.runSteps(stepNo, budget, violations, run.liveness.onFaultDone, run.liveness, run.built.results);
    if (n === 0) return false;
    const last = stepNo + n - 1;
    run.step = last;
    if (progress && (last & mask) === 0) this.progress();
    if (run.checker.stamp(before, rt, true, last)) run.stopped = true;
    this.previous = id;
    run.step = last + 1;
    return true;
  }

  /**
   * Who can step: fills `runnable` (ascending ids) and `headOpIndex`, counts the helpers,
   * and tells the simulated clock who resumes. Returns how many actors are unfinished.
   */
  private scan(): number {
    const run = this.run;
    const results = run.built.results;
    const sim = run.sim;
    const live = this.live;
    const runnable = this.runnable;
    let nRunnable = 0;
    let unfinished = 0;
    let helpers = 0;
    for (let k = 0; k < live.length; k++) {
      const rt = live[k]!;
      // A finished actor stays finished (its ops are all done): it leaves the scan.
      if (rt.finished) { live.splice(k--, 1); continue; }
      unfinished++;
      // An op that must wait for another actor's op: the actor does not start it yet.
      const gated = rt.headGateShut(results) && rt.atOpBoundary;
      if (sim !== null) sim.noteWait(rt);
      const can = !gated && rt.wakeIfChanged();
      if (can) {
        runnable[nRunnable++] = rt.id;
        if (isHelper(rt)) helpers++;
      }
      if (sim !== null) sim.noteRunnable(rt.id, can);
      this.headOpIndex[rt.id] = rt.queue.headIndex();
    }
    // (Setting an array's length is a runtime call; the runnable set shrinks by an actor or two.)
    while (runnable.length > nRunnable) runnable.pop();
    this.helpers = helpers;
    return unfinished;
  }

  /** With unfinished actors: the phase ends (and the run stops) when none can step, or the step limit is reached. */
  private ends(): boolean {
    const run = this.run;
    if (this.runnable.length === 0) {
      run.built.collector.report(deadlock(this.active, run.step));
      run.stopped = true;
      return true;
    }
    if (run.step >= this.stepsMax) {
      run.stopped = true;
      if (run.cfg.stepsMaxIsLivelock === true) {
        run.built.collector.report(endless(this.active, run.step, this.stepsMax - this.phaseStart));
        return true;
      }
      run.error = `run exceeded ${this.stepsMax} steps (FAULTLINE_STEPS_MAX): the scenario is longer than the deterministic engine allows, or an actor loops without retrying a fault`;
      return true;
    }
    return false;
  }

  /**
   * Runs `rt`'s step recording its footprint: the shared words it read and wrote, plus a
   * virtual word per op past the end of the buffer — written by the step that completes
   * the op, read by the step that starts an op gated on it (op completions and `after`
   * gates are engine state, not shared memory).
   */
  private stepRecorded(rt: ActorRuntime, id: number): boolean {
    const fp = this.fp!;
    const opWordBase = this.run.built.vm.i32.length;
    fp.reset();
    const gate = rt.queue.headGate();
    if (gate >= 0 && rt.atOpBoundary) fp.read(opWordBase + gate, opWordBase + gate + 1);
    const head = rt.queue.headIndex();
    // (The recorder is on for the whole loop: loopRecorded.)
    const took = rt.step(this.run.step, this.run.liveness.onFaultDone);
    if (rt.queue.headIndex() !== head) fp.write(opWordBase + head, opWordBase + head + 1);
    if (took) {
      const f = fp.freeze();
      this.run.footprints.push(f);
      this.sched.afterStep?.(id, f);
    }
    return took;
  }

  /** After `rt` took step `stepNo`: its choice (`choice`, a label's number), its cost, liveness, progress and trace. */
  private afterTaken(rt: ActorRuntime, choice: number, stepNo: number): void {
    const run = this.run;
    if (this.record) run.choices.push(choice);
    if (run.sim !== null) run.sim.charge(rt, this.main);
    run.liveness.noteStep(rt);
    if (this.main && run.cfg.onProgress !== undefined && (stepNo & (PROGRESS_EVERY - 1)) === 0) this.progress();
    if (run.cfg.trace === true) {
      const vm = run.built.vm;
      run.trace.push({
        ...rt.record(stepNo), seq: Number(mmuInvalidateSeq(vm)), inProgress: Atomics.load(vm.i32, G.INVALIDATE_IN_PROGRESS),
        lock: run.built.lock.describe(Atomics.load(vm.i32, G.MMU_LOCK)),
      });
    }
  }

  /** Reports what the actors have done so far (long benchmark runs show it). */
  private progress(): void {
    let accesses = 0;
    let preFaultPages = 0;
    for (const r of this.run.built.runtimes) { accesses += r.a.stats.accesses; preFaultPages += r.a.stats.preFaultPages; }
    this.run.cfg.onProgress!({ steps: this.run.step - this.phaseStart, accesses, preFaultPages });
  }
}
