/**
 * One actor of an engine run: its kernel-side context (KvmActor), its stack of running
 * machines, its op queue, and the step function shared by both engines.
 *
 * A step fires STEP on the innermost machine. Entering a state with `meta.call` starts
 * the called machine (the next step is its first); reaching a final state of a called
 * machine resumes the caller in the same step — its continuation transitions only read
 * the callee's result, so they add no shared access. Host and vmm actors start one machine
 * per op (set_memslot → memslot-update, …); a vCPU runs the vcpu machine for the whole run.
 */

import { KvmActor } from '../kvm/actor.js';
import type { FindingSink } from '../kvm/findings.js';
import { ACTOR, G, actorWord } from '../kvm/layout.js';
import { gfnToMemslot, memslotsActiveSet, SlotInfo } from '../kvm/memslots.js';
import type { Op, OpResult } from '../kvm/ops.js';
import { beginAttributeChange, beginHostInvalidation } from '../kvm/mmu-notifier.js';
import { beginSetMemslot } from '../kvm/set-memory-region.js';
import { beginGetDirtyLogOp } from '../kvm/get-dirty-log.js';
import { beginSnpLaunchUpdate } from '../kvm/snp-populate.js';
import { VM_TYPES } from '../kvm/vm-types.js';
import { kvmVmDead } from '../kvm/vm-dead.js';
import { enterGuestMode, exitGuestMode } from '../kvm/requests.js';
import type { Vm } from '../kvm/vm.js';
import type { CompiledMachine, CompiledTransition } from '../protocol/compile.js';
import type { Runner, RunnerFactory, StepHooks } from '../protocol/runner.js';
import * as S from '../kvm/shm.js';
import { choiceId, choiceLabel } from './choice-labels.js';
import type { RuntimeQueue } from './op-queue.js';

export { ActorQueue, type QueuedOp, type RuntimeQueue } from './op-queue.js';

/**
 * Counts a finished fault in the actor's statistics. Returns true when the vCPU is spinning
 * on it: RET_PF_RETRY, or a guest access that keeps exiting although its fault was fixed.
 * A fault that broke CoW changed the host's page tables: its retry, and the access's exit
 * after it, are progress.
 */
export function countFaultDone(a: KvmActor): boolean {
  const f = a.fault;
  const s = a.stats;
  s.faults++;
  s.countFaultRet(f.ret, f.errno);
  const retry = f.errno === null && f.ret === 'retry';
  if (retry) a.bump(s.retriesByReason, f.retryReason ?? 'unknown');
  if (f.cowBroken) return false;
  return retry || (!f.prefetch && f.errno === null && f.ret !== 'emulate' && a.accessExits - a.accessExitsAtCow > 1);
}

/** What one step did, for traces and coverage. */
export interface StepRecord {
  readonly step: number;
  readonly actor: string;
  readonly machine: string;
  readonly from: string;
  readonly to: string;
  readonly label: string;
  /** Transitions fired in this step (a callee's last and its caller's continuation). */
  readonly transitions: readonly { machine: string; id: number }[];
  /** The actor now waits on a shared word (lock, SRCU reader, …). */
  readonly waits: string | null;
  /** After the step (traces only): mmu_invalidate_seq, _in_progress, and the mmu_lock state. */
  readonly seq?: number;
  readonly inProgress?: number;
  readonly lock?: string;
}

export type StepKind = 'ran' | 'waiting' | 'done';

const STEP_EVENT = 0;

/**
 * The most steps one Runner.run is asked for: a small integer, so the budget reaches the
 * generated run function unboxed (an unbounded budget — Infinity, or a step limit above
 * 2^31 — is a heap number allocated per call). A longer run goes on in the next call.
 */
const RUN_BUDGET_MAX = 1 << 30;

/** The memslot a host invalidation's gpa falls in, looked up as its op starts (one scratch record: ops start one at a time). */
const opSlot = new SlotInfo();

/** The run's liveness accounting (Liveness): after each step, or a count of plain steps that did not end waiting. */
export interface StepLiveness {
  noteStep(rt: ActorRuntime): void;
  noteProgress(rt: ActorRuntime, steps: number): void;
}

/** What a frame of one machine needs (found once per call, not per step), and the machine's spare runners. */
interface MachineUse {
  readonly id: string;
  readonly base: number;
  readonly coverage: Uint32Array;
  readonly kinds: Uint8Array;
  readonly spare: Runner<KvmActor>[];
  /** Per state that calls a machine (KIND_CALL): the called machine's use, found at its first call (null until then). */
  readonly callees: (MachineUse | null)[];
  /** The page-fault machine: reaching its final state ends a fault (the liveness hook). */
  readonly endsFault: boolean;
}

/** What entering a state means for the runtime: nothing more, a call of another machine, or the machine's end. */
const KIND_PLAIN = 0;
const KIND_CALL = 1;
const KIND_FINAL = 2;
const KINDS = new WeakMap<CompiledMachine, Uint8Array>();

/** Per state of `m`: KIND_PLAIN, KIND_CALL or KIND_FINAL (computed once per machine). */
function stateKinds(m: CompiledMachine): Uint8Array {
  let k = KINDS.get(m);
  if (k === undefined) {
    k = Uint8Array.from(m.states, (s) => (s.call !== null ? KIND_CALL : s.final ? KIND_FINAL : KIND_PLAIN));
    KINDS.set(m, k);
  }
  return k;
}

const STEP_LABEL_IDS = new Map<string, Int32Array>();

/** The choice numbers (choice-labels.ts) of an actor's step labels by name (`vcpu1:page-fault.checkStale`), indexed by state label index over all `n` (-1 until used). */
function stepLabelIdCache(name: string, n: number): Int32Array {
  let c = STEP_LABEL_IDS.get(name);
  if (c === undefined || c.length < n) STEP_LABEL_IDS.set(name, (c = new Int32Array(n).fill(-1)));
  return c;
}

export class ActorRuntime implements StepHooks {
  readonly a: KvmActor;
  readonly queue: RuntimeQueue;
  private readonly frames: Runner<KvmActor>[] = [];
  /** Per frame (parallel to `frames`): its machine's first label index, coverage counters, state kinds and spares. */
  private readonly frameMachine: MachineUse[] = [];
  /** Per machine id: what a frame of it needs, and its spare runners. */
  private readonly machineUse = new Map<string, MachineUse>();
  done = false;
  /** Consecutive fault retries while no other actor could run (livelock detection). */
  retryStreak = 0;
  /** Other actors' progress steps when the current streak began. */
  streakBase = -1;
  /** Steps this actor took that did not end in a wait. */
  progressSteps = 0;
  /**
   * During the current fault, another actor that is not itself retrying could have run:
   * if this fault retries, a fair scheduler would have let that one make progress, so the
   * retry does not count towards a livelock (a strict-priority schedule starving it is not).
   */
  otherCouldProgress = false;
  /** A vCPU whose last fault spun (retried, or its access exited again): no helper to others' retries until a fault of its succeeds (liveness.ts). */
  spun = false;

  constructor(
    readonly vm: Vm,
    readonly id: number,
    queue: RuntimeQueue,
    sink: FindingSink,
    private readonly factory: RunnerFactory<KvmActor>,
    private readonly coverage: Map<string, Uint32Array>,
    /** First label index of each machine's states in `labels` (`machine: state`). */
    private readonly labelBase: ReadonlyMap<string, number>,
    labels: readonly string[],
  ) {
    this.queue = queue;
    this.a = new KvmActor(vm, id, queue, sink);
    this.labelIdCache = stepLabelIdCache(this.a.name, labels.length);
    this.a.stateLabels = labels;
    if (this.a.isVcpu) {
      const vcpu = this.pushFrame('vcpu');
      this.guestState = vcpu.machine.stateIndex.get('guest') ?? -1;
      this.outsideState = vcpu.machine.stateIndex.get('outside') ?? -1;
    }
  }

  /**
   * Back to the state construction left it in, its machines' runners kept as spares (a run
   * restored from a snapshot; its KvmActor and op queue are reset by their owner).
   */
  reset(): void {
    while (this.frames.length > 0) this.popFrame();
    this.done = false;
    this.retryStreak = 0;
    this.streakBase = -1;
    this.progressSteps = 0;
    this.otherCouldProgress = false;
    this.spun = false;
    this.firedCount = 0;
    this.lastOuter = null;
    this.lastFrom = 0;
    this.lastTo = 0;
    this.lastDirect = null;
    this.runLastId = -1;
    if (this.a.isVcpu) this.pushFrame('vcpu');
  }

  /** Starts machine `id` on top of the stack: a spare runner of it rewound, or a new one. */
  private pushFrame(id: string): Runner<KvmActor> {
    return this.pushUse(this.useOf(id));
  }

  /** What a frame of machine `id` needs (made at its first use, with a first runner as its spare). */
  private useOf(id: string): MachineUse {
    let use = this.machineUse.get(id);
    if (use === undefined) {
      const r = this.factory.create(id);
      const kinds = stateKinds(r.machine);
      use = {
        id, base: this.labelBase.get(id)!, coverage: this.coverage.get(id)!, kinds, spare: r.reset !== undefined ? [r] : [],
        callees: Array.from(kinds, () => null), endsFault: id === 'page-fault',
      };
      this.machineUse.set(id, use);
    }
    return use;
  }

  /** Starts the machine of `use` on top of the stack. */
  private pushUse(use: MachineUse): Runner<KvmActor> {
    const r = use.spare.pop() ?? this.factory.create(use.id);
    r.reset?.();
    this.frameMachine[this.frames.length] = use;
    this.frames.push(r);
    return r;
  }

  /** The machine that state `state` of `use`'s machine calls (its meta.call), looked up once per calling state. */
  private calleeOf(use: MachineUse, frame: Runner<KvmActor>): MachineUse {
    const state = frame.state;
    let c = use.callees[state]!;
    if (c === null) use.callees[state] = c = this.useOf(frame.machine.states[state]!.call!);
    return c;
  }

  /** The innermost machine finished: its runner becomes a spare (when it can be rewound). */
  private popFrame(): void {
    const r = this.frames.pop()!;
    if (r.reset !== undefined) this.frameMachine[this.frames.length]!.spare.push(r);
  }

  /** The vcpu machine's `guest` state (-1 for host and vmm). */
  private readonly guestState: number = -1;
  /** The vcpu machine's `outside` state (userspace, between ioctls). */
  private readonly outsideState: number = -1;

  /** Machine and state of every running frame, outermost first: `vcpu.exit > page-fault.walk`. */
  describeState(): string {
    if (this.frames.length === 0) return this.done ? 'finished' : 'idle';
    return this.frames.map((f) => `${f.machine.id}.${f.machine.states[f.state]!.name}`).join(' > ');
  }

  /** No machine running: a host or vmm between ops (or a finished actor). */
  get idle(): boolean {
    return this.frames.length === 0;
  }

  /**
   * What this actor's next step is, as a label for schedules and tokens:
   * `vcpu1:page-fault.checkStale` (innermost machine and the state the step starts in), or
   * `vmm:set_memslot` (a host or vmm about to start its next op).
   */
  label(): string {
    const f = this.frames[this.frames.length - 1];
    if (f === undefined) {
      const op = this.queue.peek();
      return `${this.a.name}:${op === null ? 'end' : op.op}`;
    }
    return choiceLabel(this.labelId());
  }

  /** This actor's step labels' choice numbers by state label index (shared by every runtime of an actor of that name). */
  private readonly labelIdCache: Int32Array;
  /** The choice numbers of this actor's op-start labels (`host:invalidate`) by op name ('' for `end`). */
  private readonly opLabelIds = new Map<string, number>();

  /** label()'s choice number (choice-labels.ts): what a run records per step, with no string made once the state's label is known. */
  labelId(): number {
    const depth = this.frames.length - 1;
    // Between ops (a host or vmm about to start one): its label names the op.
    if (depth < 0) {
      const op = this.queue.peek()?.op ?? '';
      let id = this.opLabelIds.get(op);
      if (id === undefined) this.opLabelIds.set(op, (id = choiceId(this.label())));
      return id;
    }
    const f = this.frames[depth]!;
    const i = this.frameMachine[depth]!.base + f.state;
    const id = this.labelIdCache[i]!;
    return id >= 0 ? id : (this.labelIdCache[i] = choiceId(`${this.a.name}:${f.machine.id}.${f.machine.states[f.state]!.name}`));
  }

  /** Where an op may be held back before it starts: between ops, or a vCPU in the guest between accesses. */
  get atOpBoundary(): boolean {
    if (this.betweenOps) return true;
    return this.a.isVcpu && this.frames.length === 1 && this.frames[0]!.state === this.guestState;
  }

  /** Between ops: a host or vmm with no machine running, or a vCPU in userspace (vcpu.outside). */
  get betweenOps(): boolean {
    if (!this.a.isVcpu) return this.frames.length === 0;
    return this.frames.length === 1 && this.frames[0]!.state === this.outsideState;
  }

  /** The running machines, outermost first, as (machine id, state index). */
  frameStates(out: { machine: string; state: number }[]): number {
    for (let i = 0; i < this.frames.length; i++) {
      const f = this.frames[i]!;
      const slot = out[i];
      if (slot === undefined) out.push({ machine: f.machine.id, state: f.state });
      else { slot.machine = f.machine.id; slot.state = f.state; }
    }
    return this.frames.length;
  }

  get waiting(): boolean {
    return this.a.blockWord >= 0;
  }

  /** True when the word it waits on changed: the actor may try again. */
  wakeIfChanged(): boolean {
    if (this.a.blockWord < 0) return true;
    if (S.load(this.vm.i32, this.a.blockWord) !== this.a.blockValue) {
      this.a.clearWait();
      return true;
    }
    return false;
  }

  /**
   * The transitions the last step fired (a callee's last and its callers' continuations),
   * each as its machine and transition id: the id is a number, so noting one stores no
   * pointer (no write barrier on the step loop while the garbage collector marks).
   */
  private readonly fired: { machine: CompiledMachine; id: number }[] = [];
  private firedCount = 0;
  private lastOuter: CompiledMachine | null = null;
  private lastFrom = 0;
  private lastTo = 0;
  private lastDirect: StepRecord | null = null;

  /**
   * Takes one step. Returns false when the actor had nothing to do and is now done. The
   * step's record is built only on request (`record`), so a run without a trace allocates
   * nothing per step.
   */
  step(stepNo: number, onFaultDone: (rt: ActorRuntime) => void): boolean {
    // A guest access runs in guest mode (vcpu->mode), which a remote TLB flush waits out.
    if (this.frames.length !== 1 || this.frames[0]!.state !== this.guestState) return this.stepInner(stepNo, onFaultDone);
    // (No try/finally: a step that throws ends the run; vcpu->mode stays odd, which only
    // the torn-down run's flushers could see.)
    enterGuestMode(this.vm, this.id);
    const took = this.stepInner(stepNo, onFaultDone);
    exitGuestMode(this.vm, this.id);
    return took;
  }

  private stepInner(stepNo: number, onFaultDone: (rt: ActorRuntime) => void): boolean {
    this.beginStep(stepNo);
    if (this.frames.length === 0) {
      const started = this.startNextOp(stepNo);
      if (started === null) return false;
      if (started !== undefined) { this.lastDirect = started; return true; }
    }
    const depth = this.frames.length - 1;
    const frame = this.frames[depth]!;
    this.fireFirst(frame, depth);
    this.finishStep(depth, frame, onFaultDone);
    return true;
  }

  /** A step's start: the wait cleared, its number set, no transition fired yet. */
  private beginStep(stepNo: number): void {
    this.a.clearWait();
    this.a.step = stepNo;
    this.firedCount = 0;
    this.lastDirect = null;
  }

  /** A step's first transition, on the innermost `frame` (at `depth`): its provenance label, then the fire. */
  private fireFirst(frame: Runner<KvmActor>, depth: number): void {
    this.lastOuter = frame.machine;
    this.lastFrom = frame.state;
    this.a.stepLabel = this.frameMachine[depth]!.base + frame.state;
    this.lastTo = this.fire(frame, depth).target;
  }

  /**
   * The rest of a step after its first transition on `frame` (at `depth`): entering a
   * `meta.call` state starts the called machine; reaching a final state ends the machine
   * and resumes its caller in the same step (or finishes the op).
   */
  private finishStep(depth: number, frame: Runner<KvmActor>, onFaultDone: (rt: ActorRuntime) => void): void {
    for (;;) {
      const use = this.frameMachine[depth]!;
      const kind = use.kinds[frame.state]!;
      if (kind === KIND_CALL) {
        this.pushUse(this.calleeOf(use, frame));
        break;
      }
      if (kind !== KIND_FINAL) break;
      this.popFrame();
      if (use.endsFault) onFaultDone(this);
      if (depth === 0) {
        this.finishOp(frame.machine.id);
        break;
      }
      frame = this.frames[--depth]!;
      this.lastTo = this.fire(frame, depth).target;
    }
    if (this.a.blockWord < 0) this.progressSteps++;
  }

  /**
   * Run to completion, for the deterministic engine's fast path when nothing watches single
   * steps (no trace, no recorded choices or footprints, no simulated clock, no check after
   * each step): takes up to `budget` steps, numbered from `stepNo`, exactly as `step` takes
   * them one at a time — the same transitions, coverage, provenance labels and liveness
   * accounting (`noteStep` after each) — plain steps of one machine in one Runner.run
   * (runFrame), a guest access in guest mode, a call or a machine's end as `finishStep`.
   * It stops after a step that ends waiting, reported a finding (`findings` grew), finished
   * the actor or reached an op boundary where the head op's `after` gate is shut (an op of
   * `results` not done yet: only another actor can open it), and before a step `step`
   * would take another way (no machine running). Returns the steps taken (each one was
   * taken).
   */
  runSteps(stepNo: number, budget: number, findings: { readonly length: number }, onFaultDone: (rt: ActorRuntime) => void, liveness: StepLiveness, results: readonly unknown[]): number {
    const frames = this.frames;
    const found = findings.length;
    // What afterStep compares against: a finding reported by a step stops the run after it.
    if (this.runFindings !== findings) this.runFindings = findings;
    this.runFound = found;
    let n = 0;
    while (n < budget) {
      const depth = frames.length - 1;
      if (depth < 0) return n;
      const frame = frames[depth]!;
      // A guest access is one step in guest mode (as `step` takes it).
      const guest = depth === 0 && frame.state === this.guestState;
      if (guest) enterGuestMode(this.vm, this.id);
      n += frame.run !== undefined ? this.runFrame(frame, depth, stepNo + n, guest ? 1 : Math.min(budget - n, RUN_BUDGET_MAX), findings, liveness) : this.oneStep(frame, depth, stepNo + n, liveness);
      if (this.frameMachine[depth]!.kinds[frame.state] !== KIND_PLAIN) {
        this.finishStep(depth, frame, onFaultDone);
        liveness.noteStep(this);
      }
      if (guest) exitGuestMode(this.vm, this.id);
      if (this.a.blockWord >= 0 || findings.length !== found) return n;
      // Finished or at an op boundary only with at most the outermost machine running.
      if (frames.length <= 1 && (this.finished || (this.atOpBoundary && this.headGateShut(results)))) return n;
    }
    return n;
  }

  /** The head op waits for an op of `results` that is not done: at an op boundary, the actor is held back there (the scheduling loop and runSteps ask). */
  headGateShut(results: readonly unknown[]): boolean {
    const gate = this.queue.headGate();
    return gate >= 0 && results[gate] === null;
  }

  // What the run hooks (beforeStep, afterStep) read: set by runFrame for one Runner.run.
  private runStepNo = 0;
  private runBase = 0;
  /** The running frame's machine record (coverage counters, state kinds). */
  private runUse: MachineUse | null = null;
  /** The state after which the run stops although it is plain (the vCPU's guest state at depth 0), or -1. */
  private runStop = -1;
  private runFindings: { readonly length: number } = [];
  private runFound = 0;
  /** The id of the transition the run's last step fired (a number: no pointer store per step). */
  private runLastId = -1;

  /**
   * Plain steps of `frame` (at `depth`) in one Runner.run, numbered from `stepNo`: each
   * one's bookkeeping is what runSteps did per step (beforeStep, afterStep). The last
   * step's transition is noted as the step's (record, forEachFired). Returns the steps taken.
   *
   * The wait is cleared once, before the first step: a run goes on only after a step that
   * did not end waiting, so every later step starts with no wait to clear (blockWord -1,
   * blockReason ''). Every step but the last ended in a plain state, not waiting (else the
   * run would have stopped there), and so did the last unless its target is a call or final
   * state or it waits: the steps that count as progress are known from the last alone, and
   * the state each step started in is its transition's source.
   */
  private runFrame(frame: Runner<KvmActor>, depth: number, stepNo: number, budget: number, findings: { readonly length: number }, liveness: StepLiveness): number {
    const use = this.frameMachine[depth]!;
    this.runStepNo = stepNo;
    this.runBase = use.base;
    if (this.runUse !== use) this.runUse = use;
    this.runStop = depth === 0 ? this.guestState : -1;
    const a = this.a;
    a.clearWait();
    const n = frame.run!(a, STEP_EVENT, budget, this);
    if (n < 0) this.noTransition(frame);
    const t = frame.machine.transitions[this.runLastId]!;
    // The plain steps' progress and liveness accounting, summed: a retry streak only
    // changes when a fault ends (finishStep), never inside a run.
    const progress = use.kinds[t.target] === KIND_PLAIN && a.blockWord < 0 ? n : n - 1;
    this.progressSteps += progress;
    liveness.noteProgress(this, progress);
    this.firedCount = 0;
    // (Stores only when the value changes: a pointer store costs a write barrier while the GC marks.)
    if (this.lastDirect !== null) this.lastDirect = null;
    const m = frame.machine;
    if (this.lastOuter !== m) this.lastOuter = m;
    this.lastFrom = t.source;
    this.noteFired(frame.machine, t);
    this.lastTo = t.target;
    return n;
  }

  /** A run's hook before each step from `state` (as stepInner: the step's number and label; the wait is clear, see runFrame). */
  beforeStep(state: number): void {
    const a = this.a;
    a.step = this.runStepNo++;
    a.stepLabel = this.runBase + state;
  }

  /**
   * A run's hook after each step that fired `t`: its coverage. Another step follows unless
   * the target is a call or final state (runSteps finishes that step), the actor waits, a
   * finding was reported, or the target is where the run stops (the vCPU in the guest).
   */
  afterStep(t: CompiledTransition): boolean {
    const use = this.runUse!;
    use.coverage[t.id]!++;
    this.runLastId = t.id;
    return use.kinds[t.target] === KIND_PLAIN && this.a.blockWord < 0 && this.runFindings.length === this.runFound && t.target !== this.runStop;
  }

  /** One step of `frame` with no Runner.run (the reference runner): as runFrame, one `send`. */
  private oneStep(frame: Runner<KvmActor>, depth: number, stepNo: number, liveness: StepLiveness): number {
    this.beginStep(stepNo);
    this.fireFirst(frame, depth);
    if (this.frameMachine[depth]!.kinds[frame.state] === KIND_PLAIN) {
      if (this.a.blockWord < 0) this.progressSteps++;
      liveness.noteStep(this);
    }
    return 1;
  }

  /** Calls `fn` for each transition the last step fired (no allocation: the simulated clock's hot path). */
  forEachFired(fn: (machine: CompiledMachine, t: CompiledTransition) => void): void {
    if (this.lastDirect !== null) return;
    for (let i = 0; i < this.firedCount; i++) { const f = this.fired[i]!; fn(f.machine, f.machine.transitions[f.id]!); }
  }

  /** The record of the last step (for traces and findings). */
  record(stepNo: number): StepRecord {
    if (this.lastDirect !== null) return this.lastDirect;
    const outer = this.lastOuter!;
    let label = '';
    const transitions: { machine: string; id: number }[] = [];
    for (let i = 0; i < this.firedCount; i++) {
      const f = this.fired[i]!;
      label += `${i > 0 ? ' ⇒ ' : ''}${f.machine.id}: ${f.machine.transitions[f.id]!.label}`;
      transitions.push({ machine: f.machine.id, id: f.id });
    }
    const last = this.fired[this.firedCount - 1]!;
    return {
      step: stepNo, actor: this.a.name, machine: outer.id, from: outer.states[this.lastFrom]!.name,
      to: last.machine.states[this.lastTo]!.name, label, transitions, waits: this.a.blockWord >= 0 ? this.a.blockReason : null,
    };
  }

  /** Fires STEP on `frame` (at `depth` in the stack), counts its coverage and notes it among the step's transitions. */
  private fire(frame: Runner<KvmActor>, depth: number): CompiledTransition {
    const t = frame.send(this.a, STEP_EVENT);
    if (t === null) this.noTransition(frame);
    this.frameMachine[depth]!.coverage[t.id]!++;
    this.noteFired(frame.machine, t);
    return t;
  }

  private noTransition(frame: Runner<KvmActor>): never {
    throw new Error(`${this.a.name}: no enabled transition in ${frame.machine.id}.${frame.machine.states[frame.state]!.name} (a machine must always have a fallback)`);
  }

  /** Notes `t` of `machine` among the step's transitions. */
  private noteFired(machine: CompiledMachine, t: CompiledTransition): void {
    const slot = this.fired[this.firedCount];
    if (slot === undefined) this.fired.push({ machine, id: t.id });
    else {
      if (slot.machine !== machine) slot.machine = machine;
      slot.id = t.id;
    }
    this.firedCount++;
  }

  /** Host/vmm: begin the op at the head of the queue. Returns a record for ops done in one step, null when none is left. */
  private startNextOp(stepNo: number): StepRecord | null | undefined {
    const op = this.queue.peek();
    if (op === null) {
      this.done = true;
      return null;
    }
    this.queue.started?.(op);
    const a = this.a;
    switch (op.op) {
      case 'set_memslot':
        beginSetMemslot(a, op);
        this.pushFrame('memslot-update');
        return undefined;
      case 'set_memory_attributes':
        beginAttributeChange(a, op);
        this.pushFrame('invalidation');
        return undefined;
      case 'get_dirty_log':
      case 'clear_dirty_log':
        beginGetDirtyLogOp(a, op);
        this.pushFrame('dirty-log');
        return undefined;
      case 'invalidate': {
        const s = opSlot;
        const gfn = Math.floor(op.gpa / 4096);
        if (!gfnToMemslot(this.vm, memslotsActiveSet(this.vm), gfn, s)) return this.direct(stepNo, op, `invalidate ${op.kind} (no memslot maps gpa 0x${op.gpa.toString(16)})`, { op: 'invalidate', ret: 0, pagesFreed: 0 });
        const start = s.hvaBase + (gfn - s.baseGfn);
        const end = Math.min(s.hvaBase + s.npages, start + Math.ceil(op.size / 4096));
        beginHostInvalidation(a, op, start, end);
        this.pushFrame('invalidation');
        return undefined;
      }
      case 'signal':
        S.store(this.vm.i32, actorWord(this.vm.layout, op.vcpu, ACTOR.SIGNAL), 1);
        return this.direct(stepNo, op, `signal vcpu${op.vcpu}`, { op: 'signal', ret: 0 });
      case 'vm_dead':
        kvmVmDead(this.vm);
        return this.direct(stepNo, op, 'kvm_vm_dead()', { op: 'vm_dead', ret: 0 });
      case 'snp_launch_update':
        beginSnpLaunchUpdate(a, op);
        this.pushFrame('snp-launch-update');
        return undefined;
      case 'finalize': {
        const info = VM_TYPES[this.vm.type];
        if (info.finalizeIoctl === null) return this.direct(stepNo, op, 'finalize (not a confidential VM: EINVAL)', { op: 'finalize', ret: -1, errno: 'EINVAL' });
        S.store(this.vm.i32, G.PRE_FAULT_ALLOWED, 1);
        return this.direct(stepNo, op, info.finalizeIoctl, { op: 'finalize', ret: 0, errno: null });
      }
      case 'access':
      case 'access_stream':
      case 'pre_fault':
      case 'map_memory':
      case 'mmu_reset':
        throw new Error(`${a.name} cannot run '${op.op}' (a vCPU op)`);
    }
  }

  /** An op done in the step that starts it (no machine runs it): its result, and the step's record. */
  private direct(stepNo: number, op: Op, label: string, result: OpResult): StepRecord {
    this.queue.complete(result);
    this.progressSteps++;
    return { step: stepNo, actor: this.a.name, machine: 'userspace', from: op.op, to: 'done', label: `userspace: ${label}`, transitions: [], waits: null };
  }

  private finishOp(machineId: string): void {
    const a = this.a;
    const op = this.queue.peek();
    if (op === null) return;
    switch (machineId) {
      case 'memslot-update':
        this.queue.complete({ op: 'set_memslot', ret: a.memslot.errno ? -1 : 0, errno: a.memslot.errno, change: a.memslot.errno ? 'none' : a.memslot.change });
        return;
      case 'invalidation':
        if (a.inval.isAttr) this.queue.complete({ op: 'set_memory_attributes', ret: a.inval.errno ? -1 : 0, errno: a.inval.errno });
        else this.queue.complete({ op: 'invalidate', ret: 0, pagesFreed: a.inval.oldPfns.length });
        return;
      case 'snp-launch-update': {
        const p = a.populate;
        this.queue.complete({ op: 'snp_launch_update', ret: p.errno ? -1 : 0, errno: p.errno, pages: p.pages });
        return;
      }
      case 'dirty-log': {
        const gpas = a.dirty.dirty.map((g) => '0x' + (g * 4096).toString(16));
        if (a.dirty.clear) this.queue.complete({ op: 'clear_dirty_log', ret: a.dirty.errno ? -1 : 0, errno: a.dirty.errno, cleared: gpas });
        else this.queue.complete({ op: 'get_dirty_log', ret: a.dirty.errno ? -1 : 0, errno: a.dirty.errno, dirty: gpas });
        return;
      }
        return;
      case 'vcpu':
        this.done = true;
        return;
    }
  }

  /** True when the vCPU machine reached `stopped` or a host/vmm queue is empty (no step is left to take). */
  get finished(): boolean {
    if (this.done) return true;
    if (this.frames.length === 0 && this.queue.peek() === null) return true;
    return false;
  }
}
