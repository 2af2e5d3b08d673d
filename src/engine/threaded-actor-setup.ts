/**
 * A threaded actor's set-up, in its worker thread: the VM attached over the run's
 * SharedArrayBuffer, the compiled machines bound to the model (with the run's mutations),
 * the op source built from the task's spec, and the pieces the step loop drives — the
 * runtime, its op queue, the event ring, the counters it batches and the frames it
 * publishes.
 */

import type { Violation } from '../kvm/findings.js';
import { ACTOR_VIOLATIONS_KEPT } from '../kvm/limits.js';
import type { Op, OpResult } from '../kvm/ops.js';
import { Vm } from '../kvm/vm.js';
import { CompiledLockProtocol } from '../protocol/lock-protocol.js';
import { COMPILED, compiled } from '../protocol/machines.js';
import { buildMutations, type Mutations } from '../protocol/mutations.js';
import { ActorRuntime } from './actor-runtime.js';
import { AST, CTL, Control, EV, RingWriter } from './control.js';
import type { OpSourceFactory, StageSignals } from './op-source.js';
import { CounterBatch, emitOp } from './threaded-emit.js';
import { FramePublisher } from './threaded-frames.js';
import { StreamQueue } from './threaded-queue.js';
import { coverageCounters, runnerFactory, stateLabels } from './machine-set.js';
import { checkGuestAccessErrno } from '../check/guest-access.js';
import { UserspaceContract } from '../check/userspace-contract.js';
import { vmIsDead } from '../kvm/vm-dead.js';
import type { ActorTask } from './threaded-task.js';

/** An actor's violations: the first ACTOR_VIOLATIONS_KEPT kept (and announced on the ring), the rest counted. */
export class ActorViolations {
  readonly list: Violation[] = [];
  dropped = 0;

  constructor(private readonly ctl: Control, private readonly ring: RingWriter) {}

  report(v: Violation): void {
    Atomics.add(this.ctl.i32, CTL.VIOLATIONS, 1);
    if (this.list.length >= ACTOR_VIOLATIONS_KEPT) { this.dropped++; return; }
    this.list.push(v);
    this.ring.emit(EV.VIOLATION, 0, this.list.length - 1);
  }
}

/** Everything one actor's loop works with. */
export interface ActorParts {
  readonly task: ActorTask;
  readonly ctl: Control;
  readonly vm: Vm;
  readonly lock: CompiledLockProtocol;
  readonly mutations: Mutations;
  readonly coverage: Map<string, Uint32Array>;
  readonly ring: RingWriter;
  readonly violations: ActorViolations;
  /** The run's clock (ms since the main thread's time origin). */
  readonly now: () => number;
  readonly queue: StreamQueue;
  readonly rt: ActorRuntime;
  readonly counters: CounterBatch;
  readonly frames: FramePublisher;
  /** The actor's status-line word for field `f` (AST). */
  readonly word: (f: number) => number;
}

/** The actor's machines, model, source and queue, over the task's shared memory. */
export function setUpActor(task: ActorTask, createSource: OpSourceFactory): ActorParts {
  const ctl = new Control(task.ctl.sab, task.ctl.layout);
  const mutations = buildMutations(COMPILED, task.mutate, task.skip);
  const lock = new CompiledLockProtocol(compiled('mmu-lock'), mutations);
  const vm = Vm.attach(task.vm.sab, task.vm.layout, task.vm.type, lock, task.vm.kernel, task.vm.disabledQuirks);
  const factory = runnerFactory('compiled', mutations);
  const coverage = coverageCounters();
  const { labels, labelBase } = stateLabels();
  const ring = new RingWriter(ctl, task.actor);
  const violations = new ActorViolations(ctl, ring);
  // The run's clock: performance.now() differs per thread; shift it to the main thread's.
  const clockShift = performance.timeOrigin - task.startEpochMs;
  const now = (): number => performance.now() + clockShift;
  const source = createSource(task.source.data, {
    actor: task.actor, vcpus: vm.vcpus, hostActor: vm.layout.hostActor, startMs: now(), signals: stageSignals(ctl, task.actor, ring),
    manualDirtyLogProtect: task.manualDirtyLogProtect, epochMs: () => performance.timeOrigin + performance.now(), actorData: task.source.actorData,
  });
  const word = (f: number): number => ctl.word(task.actor, f);
  const progressWord = word(AST.PROGRESS);
  let sentPrefaultPages = 0;
  // The vmm's ioctl results against what they promised (no guest writes reach it here: the
  // dirty-log contract needs the deterministic engine's order; a set's attributes must read
  // back when it returns — only the vmm thread stores them).
  const contract = task.actor === vm.layout.vmmActor ? new UserspaceContract(vm, { report: (v) => violations.report(v.actors.length > 0 ? v : { ...v, actors: [rt.a.name] }) }) : null;
  const onComplete = (op: Op, r: OpResult): void => {
    Atomics.add(ctl.i32, progressWord, 1);
    const pages = rt.a.stats.preFaultPages - sentPrefaultPages;
    sentPrefaultPages = rt.a.stats.preFaultPages;
    emitOp(ring, op, r, pages);
    if (op.op === 'access' && r.op === 'access' && r.errno !== null) {
      const v = checkGuestAccessErrno(rt.a.name, op.gpa, r.errno, vmIsDead(vm));
      if (v !== null) violations.report(v);
    }
    contract?.opCompleted(op, r);
  };
  const queue = new StreamQueue(source, ctl, now, onComplete);
  const rt = new ActorRuntime(vm, task.actor, queue, violations, factory, coverage, labelBase, labels);
  return {
    task, ctl, vm, lock, mutations, coverage, ring, violations, now, queue, rt,
    counters: new CounterBatch(ring, rt.a.stats), frames: new FramePublisher(ctl, task.actor, rt), word,
  };
}

/** A staged workload's rendezvous over the control words (op-source.ts StageSignals). */
function stageSignals(ctl: Control, actor: number, ring: RingWriter): StageSignals {
  const cI32 = ctl.i32;
  return {
    stage: () => Atomics.load(cI32, CTL.STAGE),
    finishStage: (stage, t) => {
      ring.emit(EV.STAGE, stage, t.ok, t.efault, t.otherErrors);
      Atomics.store(cI32, ctl.word(actor, AST.STAGE_DONE), stage + 1);
    },
    hostCommand: () => Atomics.load(cI32, CTL.HOST_CMD),
    ackHostCommand: (n) => { Atomics.store(cI32, CTL.HOST_ACK, n); },
  };
}
