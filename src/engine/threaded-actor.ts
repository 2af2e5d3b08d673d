/**
 * One actor of the threaded engine, as its worker thread runs it: the same ActorRuntime,
 * compiled machines and model code as the deterministic engine, stepped as fast as the
 * thread goes, over the VM's SharedArrayBuffer.
 *
 * Between steps the loop publishes its step count, progress and machine frames, writes
 * events to its ring, and looks at the run's control words (stop, park). A step that
 * cannot proceed names the VM word it waits on: the loop spins briefly on it, then
 * Atomics.wait()s with a short timeout (so a park or stop request is seen), never burning
 * a core another actor needs. Nothing here sends a message per fault.
 */

import type { Violation } from '../kvm/findings.js';
import type { Op, OpResult } from '../kvm/ops.js';
import { ACTOR, actorWord, type Layout } from '../kvm/layout.js';
import { HOST_EVENT_KINDS } from '../kvm/host.js';
import { Vm } from '../kvm/vm.js';
import type { VmType } from '../kvm/vm-types.js';
import type { Errno } from '../kvm/types.js';
import { ACTOR_IMPLS } from '../protocol/bindings.js';
import { CompiledLockProtocol } from '../protocol/lock-protocol.js';
import { COMPILED, compiled } from '../protocol/machines.js';
import { buildMutations, type Mutations } from '../protocol/mutations.js';
import { CompiledRunnerFactory } from '../protocol/runner.js';
import { HostSource, MmuStressHostSource, MmuStressVcpuSource, VcpuSource, VmmSource, type OpSource, type StageSignals, type StressConfig } from '../workload/stress.js';
import { countersOf, type ActorCounters } from './counters.js';
import { ScriptSource, scriptBuffer, type ScriptedOp } from '../workload/script-source.js';
import { runSetup } from './setup.js';
import { ActorRuntime, countFaultDone, type RuntimeQueue } from './actor-runtime.js';
import { ACTOR_STATUS, AST, CTL, Control, EV, FRAMES_MAX, RingWriter, type ControlLayout } from './control.js';

/** Everything a worker needs to run one actor (structured-cloneable). */
export interface ActorTask {
  readonly vmSab: SharedArrayBuffer;
  readonly vmLayout: Layout;
  readonly vmType: VmType;
  readonly ctlSab: SharedArrayBuffer;
  readonly ctlLayout: ControlLayout;
  readonly actor: number;
  readonly mutate: readonly string[];
  readonly skip: readonly string[];
  readonly stress: StressConfig;
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
  /** A scripted run (ThreadedConfig.script): this actor's ops, and the shared op-done buffer. */
  readonly script?: { readonly ops: readonly ScriptedOp[]; readonly sab: SharedArrayBuffer; readonly nOps: number };
  /** Before reporting ready, run this loop on a private VM for at least this long (ms; 0 = not): see warmUp(). */
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

/** Outcome indices of EV.FAULT records. */
export const FAULT_OUTCOMES = ['fixed', 'spurious', 'retry', 'emulate', 'write_protected', 'invalid', 'continue'] as const;
export const ERRNOS: readonly Errno[] = ['EINVAL', 'ENOENT', 'EINTR', 'EAGAIN', 'EIO', 'EOPNOTSUPP', 'ENOMEM', 'EFAULT', 'EEXIST', 'EBUSY'];
export const RETRY_REASON_LIST = ['invalidate-precheck', 'invalidate-postcheck', 'invalid-slot', 'obsolete-root', 'stale', 'frozen', 'cas-failed'] as const;
export const MEMSLOT_CHANGES = ['create', 'delete', 'move', 'flags_only', 'noop', 'none'] as const;

export function faultOutcomeCode(ret: string, errno: Errno | null): number {
  if (errno !== null) return FAULT_OUTCOMES.length + ERRNOS.indexOf(errno);
  return FAULT_OUTCOMES.indexOf(ret as (typeof FAULT_OUTCOMES)[number]);
}

export function faultOutcomeName(code: number): string {
  return code < FAULT_OUTCOMES.length ? FAULT_OUTCOMES[code]! : `-${ERRNOS[code - FAULT_OUTCOMES.length] ?? '?'}`;
}

const errnoCode = (e: Errno | null): number => (e === null ? 0 : ERRNOS.indexOf(e) + 1);

const SPINS = 64;
/** Violations an actor keeps (the rest are counted): a broken run can report thousands. */
const VIOLATIONS_KEPT = 20;
const WAIT_MS = 2;
const ACCESS_BATCH = 1024;
/** Steps between looks at the control words and publishing status (a power of two). */
const TICK = 64;

/** The op queue of a threaded actor: the head op, drawn from the workload source on demand. */
class StreamQueue implements RuntimeQueue {
  get hasHead(): boolean {
    return this.head !== null;
  }

  private head: Op | null = null;
  private ended = false;
  sleepUntil = 0;
  opsDone = 0;

  constructor(private readonly source: OpSource, private readonly ctl: Control, private readonly now: () => number, private readonly onComplete: (op: Op, r: OpResult) => void) {}

  /** Draws the next op if none is pending: 'ready', 'sleep' (sleepUntil set) or 'end'. */
  prepare(now: number): 'ready' | 'sleep' | 'end' {
    if (this.head !== null) return 'ready';
    if (this.ended || this.ctl.stopped) { this.ended = true; return 'end'; }
    const n = this.source.next(now);
    if (n === null) { this.ended = true; return 'end'; }
    if ('sleepUntil' in n) { this.sleepUntil = n.sleepUntil; return 'sleep'; }
    this.head = n.op;
    return 'ready';
  }

  peek(): Op | null {
    if (this.head === null && this.prepare(this.now()) !== 'ready') return null;
    return this.head;
  }

  complete(result: OpResult): void {
    const op = this.head;
    if (op === null) throw new Error('op completed with an empty queue');
    this.head = null;
    this.opsDone++;
    this.source.completed?.(op, result);
    this.onComplete(op, result);
  }

  replaceHead(op: Op): void {
    if (this.head === null) throw new Error('replaceHead with an empty queue');
    this.head = op;
  }

  headIndex(): number {
    return this.opsDone;
  }

  headGate(): number {
    return -1;
  }
}

/** Runs one actor until the run stops (or its workload ends). */
export function runActor(task: ActorTask): ActorOutcome {
  const t0 = performance.now();
  const ctl = new Control(task.ctlSab, task.ctlLayout);
  const cI32 = ctl.i32;
  const mutations = buildMutations(COMPILED, task.mutate, task.skip);
  const lock = new CompiledLockProtocol(compiled('mmu-lock'), mutations);
  const vm = Vm.attach(task.vmSab, task.vmLayout, task.vmType, lock);
  const factory = new CompiledRunnerFactory(COMPILED.filter((m) => m.id !== 'mmu-lock'), ACTOR_IMPLS, mutations);
  const coverage = new Map(COMPILED.map((m) => [m.id, new Uint32Array(m.transitions.length)]));
  const machineIndex = new Map(COMPILED.map((m, i) => [m.id, i]));
  const labels: string[] = [];
  const labelBase = new Map<string, number>();
  for (const m of COMPILED) {
    labelBase.set(m.id, labels.length);
    for (const s of m.states) labels.push(`${m.id}: ${s.name}`);
  }
  const ring = new RingWriter(ctl, task.actor);
  const violations: Violation[] = [];
  let violationsDropped = 0;
  const sink = {
    report(v: Violation): void {
      Atomics.add(cI32, CTL.VIOLATIONS, 1);
      if (violations.length >= VIOLATIONS_KEPT) { violationsDropped++; return; }
      violations.push(v);
      ring.emit(EV.VIOLATION, 0, violations.length - 1);
    },
  };
  // The run's clock: performance.now() differs per thread; shift it to the main thread's.
  const clockShift = performance.timeOrigin - task.startEpochMs;
  const now = (): number => performance.now() + clockShift;
  const start = now();
  const signals: StageSignals = {
    stage: () => Atomics.load(cI32, CTL.STAGE),
    finishStage: (stage, t) => {
      ring.emit(EV.STAGE, stage, t.ok, t.efault, t.otherErrors);
      Atomics.store(cI32, ctl.word(task.actor, AST.STAGE_DONE), stage + 1);
    },
    hostCommand: () => Atomics.load(cI32, CTL.HOST_CMD),
    ackHostCommand: (n) => { Atomics.store(cI32, CTL.HOST_ACK, n); },
  };
  const source = makeSource(task, vm.vcpus, vm.layout.hostActor, start, signals);

  const w = (f: number): number => ctl.word(task.actor, f);
  const progressWord = w(AST.PROGRESS);
  let sentPrefaultPages = 0;
  const onComplete = (op: Op, r: OpResult): void => {
    Atomics.add(cI32, progressWord, 1);
    const pages = rt.a.stats.preFaultPages - sentPrefaultPages;
    sentPrefaultPages = rt.a.stats.preFaultPages;
    emitOp(ring, op, r, pages);
  };
  const queue = new StreamQueue(source, ctl, now, onComplete);
  const rt = new ActorRuntime(vm, task.actor, queue, sink, factory, coverage, labelBase, labels);

  // Faults by outcome and retries by reason, counted here and sent as one record per kind
  // every TICK steps (a record per fault would make the main thread the bottleneck).
  const faultCounts = new Int32Array(FAULT_OUTCOMES.length + ERRNOS.length);
  const retryCounts = new Int32Array(RETRY_REASON_LIST.length);
  const onFaultDone = (r: ActorRuntime): void => {
    const spinning = countFaultDone(r.a);
    const f = r.a.fault;
    if (!spinning) Atomics.add(cI32, progressWord, 1);
    faultCounts[faultOutcomeCode(f.ret, f.errno)]!++;
    if (f.retryReason !== null && f.errno === null && f.ret === 'retry') retryCounts[RETRY_REASON_LIST.indexOf(f.retryReason)]!++;
  };

  const frames: { machine: string; state: number }[] = [];
  const publishFrames = (): void => {
    const n = Math.min(rt.frameStates(frames), FRAMES_MAX);
    for (let i = 0; i < n; i++) cI32[w(AST.FRAMES) + i] = (machineIndex.get(frames[i]!.machine)! << 16) | frames[i]!.state;
    Atomics.store(cI32, w(AST.FRAME_COUNT), n);
  };

  const s = rt.a.stats;
  let sentAccesses = 0;
  let sentHits = 0;
  let sentCas = 0;
  let sentZaps = 0;
  let sentFlushes = 0;
  const flushCounters = (force: boolean): void => {
    for (let i = 0; i < faultCounts.length; i++) if (faultCounts[i] !== 0) { ring.emit(EV.FAULT, i, faultCounts[i]!); faultCounts[i] = 0; }
    for (let i = 0; i < retryCounts.length; i++) if (retryCounts[i] !== 0) { ring.emit(EV.RETRY, i, retryCounts[i]!); retryCounts[i] = 0; }
    if (s.accesses - sentAccesses >= (force ? 1 : ACCESS_BATCH)) {
      ring.emit(EV.ACCESSES, 0, s.accesses - sentAccesses, s.tlbHits - sentHits);
      sentAccesses = s.accesses;
      sentHits = s.tlbHits;
    }
    if (s.casFailures !== sentCas) { ring.emit(EV.CAS_FAILED, 0, s.casFailures - sentCas); sentCas = s.casFailures; }
    if (s.zaps !== sentZaps) { ring.emit(EV.ZAPS, 0, s.zaps - sentZaps); sentZaps = s.zaps; }
    if (s.flushes !== sentFlushes) { ring.emit(EV.FLUSHES, 0, s.flushes - sentFlushes); sentFlushes = s.flushes; }
  };

  const setStatus = (st: number): void => { Atomics.store(cI32, w(AST.STATUS), st); };
  /** Parks until the park generation changes (a stop-the-world scan runs meanwhile). */
  const parkIfAsked = (): void => {
    const gen = Atomics.load(cI32, CTL.PARK);
    if ((gen & 1) === 0) return;
    flushCounters(true);
    publishFrames();
    const before = Atomics.load(cI32, w(AST.STATUS));
    Atomics.store(cI32, w(AST.PARKED), gen);
    setStatus(ACTOR_STATUS.PARKED);
    while (Atomics.load(cI32, CTL.PARK) === gen && !ctl.aborted) Atomics.wait(cI32, CTL.PARK, gen, 50);
    setStatus(before);
  };

  if ((task.warmupMs ?? 0) > 0 && task.actor < vm.vcpus) warmUp(task, mutations);
  // Everyone starts stepping together (worker start-up differs by tens of ms).
  Atomics.add(cI32, CTL.READY, 1);
  while (Atomics.load(cI32, CTL.GO) === 0 && !ctl.aborted) Atomics.wait(cI32, CTL.GO, 0, 50);
  const loopStart = performance.now();
  const loopStartAt = now();
  let steps = 0;
  let activeSteps = 0;
  let waitRounds = 0;
  /** When to kick the SRCU reader this actor waits for (-1: not waiting on one). */
  let kickAt = -1;
  const srcuReaderOf = (word: number): number => {
    for (let v = 0; v < vm.vcpus; v++) if (word === actorWord(vm.layout, v, ACTOR.SRCU_READ)) return v;
    return -1;
  };
  const kickSrcuReader = (word: number): void => {
    const v = srcuReaderOf(word);
    if (v >= 0) {
      Atomics.store(vm.i32, actorWord(vm.layout, v, ACTOR.SIGNAL), 1);
      ring.emit(EV.KICK, 0, v, Math.round(task.kickMs));
    }
    kickAt = now() + task.kickMs;
  };
  setStatus(ACTOR_STATUS.RUNNING);
  publishFrames();
  /** What the watchdog and a report read: steps, machine frames, counters — every TICK steps and at every wait. */
  const publish = (): void => {
    Atomics.store(cI32, w(AST.STEPS), activeSteps);
    publishFrames();
    flushCounters(false);
  };
  let status: number = ACTOR_STATUS.RUNNING;
  const setStatusOnce = (st: number): void => {
    if (st !== status) { status = st; setStatus(st); }
  };
  try {
    for (let iter = 0; ; iter++) {
      if ((iter & (TICK - 1)) === 0 || status !== ACTOR_STATUS.RUNNING) {
        if (ctl.aborted) break;
        parkIfAsked();
        publish();
      }
      // (Not rt.finished: for host and vmm it peeks, and a source that sleeps has no op yet.)
      if (rt.done) break;
      if (rt.waiting) {
        if (!rt.wakeIfChanged()) {
          if (kickAt >= 0 && now() >= kickAt) kickSrcuReader(rt.a.blockWord);
          if (waitRounds === 0) {
            const word = rt.a.blockWord;
            const value = rt.a.blockValue;
            Atomics.store(cI32, w(AST.WAIT_WORD), word);
            setStatusOnce(ACTOR_STATUS.WAITING);
            publish();
            if (kickAt < 0 && srcuReaderOf(word) >= 0 && task.kickMs > 0) kickAt = now() + task.kickMs;
            waitRounds++;
            let woke = false;
            for (let i = 0; i < SPINS && !woke; i++) woke = Atomics.load(vm.i32, word) !== value;
            if (!woke) Atomics.wait(vm.i32, word, value, WAIT_MS);
            continue;
          }
          // Unlike the deterministic engine, a step here is not atomic: the word may have
          // changed between the failed try and the wait's load of it (a lost wake-up), so
          // after one timed wait the step is simply tried again.
          rt.a.clearWait();
        }
        waitRounds = 0;
      }
      if (status === ACTOR_STATUS.WAITING && !rt.waiting) {
        Atomics.store(cI32, w(AST.WAIT_WORD), -1);
        setStatusOnce(ACTOR_STATUS.RUNNING);
      }
      if (rt.betweenOps && !queue.hasHead) {
        const p = queue.prepare(now());
        if (p === 'end' && !rt.a.isVcpu) break; // (a vCPU steps on: its machine stops)
        if (p === 'sleep') {
          setStatusOnce(ACTOR_STATUS.SLEEPING);
          flushCounters(true);
          const ms = Math.max(0, Math.min(queue.sleepUntil - now(), 20));
          if (ms > 0) Atomics.wait(cI32, CTL.STOP, 0, ms);
          continue;
        }
        setStatusOnce(ACTOR_STATUS.RUNNING);
      }
      rt.step(steps, onFaultDone);
      steps++;
      if (task.crashAfterSteps !== undefined && steps >= task.crashAfterSteps) throw new Error(`injected crash after ${steps} steps`);
      // The watchdog counts steps that did not end waiting: retries of a wait are not steps.
      if (!rt.waiting) {
        activeSteps++;
        kickAt = -1;
      }
    }
    publish();
    flushCounters(true);
  } catch (e) {
    publishFrames();
    setStatus(ACTOR_STATUS.CRASHED);
    const err = e instanceof Error ? e : new Error(String(e));
    throw Object.assign(new Error(`${rt.a.name} in ${rt.describeState()}: ${err.message}`), { actor: task.actor, state: rt.describeState(), cause: err.message });
  }
  publishFrames();
  setStatus(ACTOR_STATUS.DONE);
  const cov: Record<string, number[]> = {};
  for (const m of COMPILED) cov[m.id] = Array.from(m.id === 'mmu-lock' ? lock.fired : coverage.get(m.id)!);
  return {
    actor: task.actor, name: rt.a.name, steps, ...countersOf(s),
    opsDone: queue.opsDone, violations, violationsDropped, coverage: cov, state: rt.describeState(), elapsedMs: performance.now() - t0, loopMs: performance.now() - loopStart,
    loopStartMs: loopStartAt, loopEndMs: now(),
  };
}

const WARM_PAGES = 4096;

/**
 * A timed run's warm-up. A new worker runs the model in V8's baseline tier until the
 * optimizing compiler, on a background thread, has compiled the hot paths — and with every
 * CPU busy with vCPU threads that compiler gets little time: a profile of a short timed
 * run shows the vCPU threads in baseline code and inline-cache stubs for most of it. So
 * before it reports ready, a vCPU's worker runs this same loop as vcpu0 of a private VM
 * (its own SharedArrayBuffers, nothing shared with the run): faults over 16 MiB, then a
 * pre-fault of 16 MiB, again until the time given has passed. Its task is structured-cloned
 * as the real one is: objects the deserializer builds have other hidden classes than
 * literals, and code optimized for the literals' would be thrown away ("wrong map") the
 * moment the real run starts.
 */
function warmUp(task: ActorTask, mutations: Mutations): void {
  const gfns = Uint32Array.from({ length: WARM_PAGES }, (_, i) => i);
  const kinds = Uint8Array.from({ length: WARM_PAGES }, (_, i) => i & 1);
  const ops: ScriptedOp[] = [
    { index: 0, op: { op: 'access_stream', gfns, kinds } },
    { index: 1, op: { op: 'pre_fault', gpa: BigInt(WARM_PAGES * 4096), size: BigInt(WARM_PAGES * 4096), flags: 0n, untilDone: true } },
  ];
  const t0 = performance.now();
  do {
    const vm = Vm.create({ type: 'default', vcpus: 1, guestBytes: 64 << 20 }, new CompiledLockProtocol(compiled('mmu-lock'), mutations));
    runSetup(vm, [{ op: 'set_memslot', slot: 0, gpa: 0n, size: BigInt(2 * WARM_PAGES * 4096), flags: 0, backingLevel: 1 }], mutations, []);
    const ctl = Control.create(vm.layout.actors, 1 << 16);
    Atomics.store(ctl.i32, CTL.GO, 1);
    const { crashAfterSteps: _crash, ...rest } = task;
    const out = runActor(structuredClone({ ...rest, vmSab: vm.mem.sab, vmLayout: vm.layout, vmType: 'default', ctlSab: ctl.sab, ctlLayout: ctl.layout, actor: 0, script: { ops, sab: scriptBuffer(2), nOps: 2 }, warmupMs: 0, kickMs: 0, startEpochMs: performance.timeOrigin + performance.now() }));
    if (out.violations.length > 0) throw new Error(`warm-up run failed: ${out.violations[0]!.message}`);
  } while (performance.now() - t0 < task.warmupMs!);
}

function makeSource(task: ActorTask, vcpus: number, hostActor: number, start: number, signals: StageSignals): OpSource {
  if (task.script !== undefined) return new ScriptSource(task.script.ops, task.script.sab, task.script.nOps, () => performance.timeOrigin + performance.now());
  const s = task.stress;
  if (s.preset === 'mmu-stress') {
    if (task.actor < vcpus) return new MmuStressVcpuSource(s, task.actor, signals);
    if (task.actor === hostActor) return new MmuStressHostSource(s, signals);
  }
  if (task.actor < vcpus) return new VcpuSource(s, task.actor, start);
  if (task.actor === hostActor) return new HostSource(s, task.actor, start);
  return new VmmSource(s, task.actor, start, task.manualDirtyLogProtect);
}

/** The ring record(s) for a completed op. */
function emitOp(ring: RingWriter, op: Op, r: OpResult, preFaultPages: number): void {
  switch (r.op) {
    case 'access':
      if (!r.ok) ring.emit(EV.ACCESS_FAILED, Math.max(0, ERRNOS.indexOf(r.errno ?? 'EFAULT')), op.op === 'access' ? Math.floor(op.gpa / 4096) : 0);
      return;
    case 'pre_fault':
    case 'map_memory':
      ring.emit(EV.PRE_FAULT, 0, errnoCode(r.errno), preFaultPages, r.calls);
      return;
    case 'invalidate':
      ring.emit(EV.INVALIDATION, op.op === 'invalidate' ? HOST_EVENT_KINDS.indexOf(op.kind) : 0, r.pagesFreed);
      return;
    case 'set_memslot':
      ring.emit(EV.MEMSLOT, Math.max(0, MEMSLOT_CHANGES.indexOf(r.change as (typeof MEMSLOT_CHANGES)[number])), errnoCode(r.errno));
      return;
    case 'set_memory_attributes':
      ring.emit(EV.ATTRIBUTES, 0, errnoCode(r.errno), op.op === 'set_memory_attributes' && op.attributes !== 0n ? 1 : 0);
      return;
    case 'get_dirty_log':
      ring.emit(EV.DIRTY_LOG, 0, errnoCode(r.errno), r.dirty.length);
      return;
    case 'clear_dirty_log':
      ring.emit(EV.DIRTY_LOG, 1, errnoCode(r.errno), r.cleared.length);
      return;
    case 'signal':
    case 'finalize':
    case 'mmu_reset':
      return;
  }
}
