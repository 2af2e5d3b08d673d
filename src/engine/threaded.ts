/**
 * The threaded engine: every actor — each vCPU, the host, the vmm — is a long-running task
 * in a piscina pool, stepping the compiled machines over one SharedArrayBuffer at full
 * speed, so SPTE CASes, mmu_lock and the notifier counters race for real.
 *
 * The main thread never steps the model. It drains the actors' event rings into an rxjs
 * Subject (statistics, progress, online checks observe it), and it watches:
 * - quiescent points: every `scanIntervalMs` it parks all actors at step boundaries
 *   through a shared word, runs the full invariant scan over every SPTE, memslot,
 *   attribute and TLB, and lets them go;
 * - the watchdog: an unfinished actor that takes no step for `watchdogMs` is a deadlock,
 *   one that steps without progress (no completed op, every fault retried) a livelock —
 *   reported with every actor's machine state and the mmu_lock and SRCU holders, and the
 *   run is torn down, never hung;
 * - a worker that throws ends the run with the actor, its machine state and the error.
 */

import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { Subject, type Observable } from 'rxjs';
import type { Violation } from '../kvm/findings.js';
import { ACTOR, G, actorWord } from '../kvm/layout.js';
import { LOCK_HELD_READ, LOCK_HELD_WRITE } from '../kvm/mmu-lock.js';
import { Vm, type VmConfig } from '../kvm/vm.js';
import { poolTablesInUse } from '../kvm/page-pool.js';
import type { Op, OpResult } from '../kvm/ops.js';
import { checkQuiesced, scanInvariants } from '../check/invariants.js';
import { CompiledLockProtocol } from '../protocol/lock-protocol.js';
import { COMPILED, compiled } from '../protocol/machines.js';
import { buildMutations } from '../protocol/mutations.js';
import { MMU_STRESS_STAGES, stressGuestBytes, stressSetup, type StressConfig } from '../workload/stress.js';
import { scriptBuffer, scriptViews, type ScriptedOp } from '../workload/script-source.js';
import { ACTOR_STATUS, ACTOR_STATUS_NAMES, AST, CTL, Control, EV, drainRing, type ActorEvent } from './control.js';
import type { CoverageEntry } from './deterministic.js';
import { runSetup } from './setup.js';
import { addEvent, emptyStats, mmuStressChecks, onlineChecks, type StressStats } from './streams.js';
import type { ActorOutcome, ActorTask } from './threaded-actor.js';

export interface ThreadedConfig {
  readonly stress: StressConfig;
  readonly mutate?: readonly string[];
  readonly skip?: readonly string[];
  /** An actor with no step (or no progress) for this long is a deadlock (livelock). Default 5000. */
  readonly watchdogMs?: number;
  /** Stop-the-world invariant scan interval; 0 = only at the end. Default 2000. */
  readonly scanIntervalMs?: number;
  /** End the run at the first violation (default true). */
  readonly stopOnViolation?: boolean;
  readonly manualDirtyLogProtect?: boolean;
  /** Records per actor ring (power of two). Default 65536. */
  readonly ringRecords?: number;
  /**
   * The vmm signals a vCPU whose SRCU read lock has held up a memslot update this long
   * (ms; 0 = never, and the watchdog reports the hang). Default 100.
   */
  readonly kickMs?: number;
  /** Test hook: make one actor's worker throw after some steps. */
  readonly crash?: { readonly actor: number; readonly afterSteps: number };
  /**
   * Run these ops instead of the stress workload (the VM and its setup from here; the
   * stress config then only names the run): each actor its ops in order, `after` edges
   * across threads, until every actor is done. ThreadedResult.script has when each op ended.
   */
  readonly script?: ThreadedScript;
  /**
   * Before the start barrier, each vCPU's worker runs its actor loop on a private VM this
   * long (ms), so a timed run measures optimized code (threaded-actor.ts, warmUp). Default 0.
   */
  readonly warmupMs?: number;
}

export interface ThreadedScript {
  readonly vm: VmConfig;
  readonly setup: readonly Op[];
  readonly ops: readonly { readonly actor: number; readonly op: Op; readonly after?: number | readonly number[] }[];
}

export type StopReason = 'duration' | 'accesses' | 'stages' | 'violation' | 'watchdog' | 'actor-error';

/** A preset stage as it ran: its name, how long it took, and what the vCPUs' accesses returned. */
export interface StageResult {
  readonly stage: number;
  readonly name: string;
  readonly ms: number;
  readonly ok: number;
  readonly efault: number;
  readonly otherErrors: number;
}

export interface ThreadedResult {
  readonly stress: StressConfig;
  readonly elapsedMs: number;
  readonly stopReason: StopReason;
  /** Totals as the event streams counted them. */
  readonly stats: StressStats;
  readonly actors: ActorOutcome[];
  readonly coverage: CoverageEntry[];
  readonly violations: Violation[];
  /** Stop-the-world scans run (including the final one). */
  readonly scans: number;
  readonly scanMs: number;
  readonly setupResults: (OpResult | null)[];
  readonly events: number;
  /** `--preset mmu-stress`: each stage (empty otherwise). */
  readonly stages: StageResult[];
  /** A scripted run: per op, when it ended (ms after the start barrier; NaN if it did not). */
  readonly script: { readonly opEndMs: number[] } | null;
  /** Page-table pages in use at the end (linked, cached or waiting for a grace period). */
  readonly pageTablesInUse: number;
}

export interface ThreadedRun {
  /** Every actor event, in drain order (per actor in order). Completes when the run ends. */
  readonly events$: Observable<ActorEvent>;
  readonly result: Promise<ThreadedResult>;
}

const WORKER_FILE = new URL('../../workers/actor.js', import.meta.url);
const TICK_MS = 10;
/** Worker start-up (module load, machine binding) must finish within this. */
const STARTUP_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the stress configuration on real threads. Subscribe to `events$` before awaiting `result`. */
export function startThreaded(cfg: ThreadedConfig): ThreadedRun {
  const events$ = new Subject<ActorEvent>();
  const result = (async () => {
    await Promise.resolve(); // let the caller subscribe first
    try {
      return await run(cfg, events$);
    } finally {
      events$.complete();
    }
  })();
  return { events$, result };
}

async function run(cfg: ThreadedConfig, events$: Subject<ActorEvent>): Promise<ThreadedResult> {
  const s = cfg.stress;
  const mutate = cfg.mutate ?? [];
  const skip = cfg.skip ?? [];
  const mutations = buildMutations(COMPILED, mutate, skip);
  const watchdogMs = cfg.watchdogMs ?? 5000;
  const scanIntervalMs = cfg.scanIntervalMs ?? 2000;
  const stopOnViolation = cfg.stopOnViolation ?? true;
  const lock = new CompiledLockProtocol(compiled('mmu-lock'), mutations);
  const script = cfg.script ?? null;
  const vm = Vm.create(script !== null ? script.vm : { type: s.vmType, vcpus: s.vcpus, guestBytes: stressGuestBytes(s), maxBackingLevel: s.backingLevel, manualDirtyLogProtect: cfg.manualDirtyLogProtect ?? false }, lock);
  const nActors = vm.layout.actors;
  const violations: Violation[] = [];

  // The VM's setup (slot 0, launch finish) runs here, before any worker starts.
  const setup = script !== null ? [...script.setup] : stressSetup(s);
  const setupResults = runSetup(vm, setup, mutations, violations);
  const nOps = script?.ops.length ?? 0;
  const scriptSab = script !== null ? scriptBuffer(nOps) : null;
  const scriptOps: ScriptedOp[][] = Array.from({ length: nActors }, () => []);
  script?.ops.forEach((o, index) => {
    if (o.actor < 0 || o.actor >= nActors) throw new RangeError(`script op ${index}: actor ${o.actor} does not exist`);
    scriptOps[o.actor]!.push({ index, op: o.op, ...(o.after !== undefined ? { after: o.after } : {}) });
  });

  const ctl = Control.create(nActors, cfg.ringRecords ?? 65536);
  const cI32 = ctl.i32;
  const stats = emptyStats(nActors);
  let eventCount = 0;
  const attributesChurn = (s.churn.attributes ?? 0) > 0 && vm.hasPrivateMem;
  // The stress workload's own conformance (its memslots are never deleted); a script's ops
  // decide for themselves what a pre-fault may return (a deleted slot is ENOENT).
  const checks = cfg.script === undefined ? onlineChecks(events$, (a) => vm.actorName(a), new Set(attributesChurn ? ['EFAULT'] : [])).subscribe((v) => violations.push(v)) : null;
  const stageCheck = s.preset === 'mmu-stress' ? mmuStressChecks(events$, (a) => vm.actorName(a)).subscribe((v) => violations.push(v)) : null;
  const onEvent = (e: ActorEvent): void => {
    eventCount++;
    addEvent(stats, e);
    events$.next(e);
  };
  const stages: StageResult[] = [];
  const stageTally = (st: number): StageResult => {
    let r = stages[st];
    if (r === undefined) { r = { stage: st, name: MMU_STRESS_STAGES[st] ?? `stage ${st}`, ms: 0, ok: 0, efault: 0, otherErrors: 0 }; stages[st] = r; }
    return r;
  };
  const stageEvents = events$.subscribe((e) => {
    if (e.type !== EV.STAGE) return;
    const r = stageTally(e.code) as { ok: number; efault: number; otherErrors: number };
    r.ok += e.a; r.efault += e.b; r.otherErrors += e.c;
  });
  const drainAll = (): void => {
    for (let a = 0; a < nActors; a++) drainRing(ctl, a, onEvent);
  };

  const pool = new Piscina({ filename: WORKER_FILE.href, minThreads: nActors, maxThreads: nActors, idleTimeout: Infinity, concurrentTasksPerWorker: 1, maxQueue: 0 });
  const poolErrors: Error[] = [];
  pool.on('error', (e: Error) => poolErrors.push(e));

  const startEpochMs = performance.timeOrigin + performance.now();
  let t0 = performance.now();
  const outcomes: (ActorOutcome | null)[] = new Array(nActors).fill(null);
  const settled: boolean[] = new Array(nActors).fill(false);
  let stopReason: StopReason | null = null;
  const stop = (why: StopReason, abort = false): void => {
    if (stopReason === null) stopReason = why;
    Atomics.store(cI32, CTL.STOP, 1);
    Atomics.notify(cI32, CTL.STOP);
    if (abort) {
      Atomics.store(cI32, CTL.ABORT, 1);
      Atomics.notify(cI32, CTL.PARK);
    }
  };

  const tasks = Array.from({ length: nActors }, (_, actor) => {
    const task: ActorTask = {
      vmSab: vm.mem.sab, vmLayout: vm.layout, vmType: vm.type, ctlSab: ctl.sab, ctlLayout: ctl.layout, actor, mutate, skip, stress: s,
      startEpochMs, manualDirtyLogProtect: cfg.manualDirtyLogProtect ?? false, kickMs: cfg.kickMs ?? 100, warmupMs: cfg.warmupMs ?? 0,
      ...(cfg.crash !== undefined && cfg.crash.actor === actor ? { crashAfterSteps: cfg.crash.afterSteps } : {}),
      ...(scriptSab !== null ? { script: { ops: scriptOps[actor]!, sab: scriptSab, nOps } } : {}),
    };
    return (pool.run(task) as Promise<ActorOutcome>).then(
      (o) => { outcomes[actor] = o; settled[actor] = true; },
      (e: unknown) => {
        settled[actor] = true;
        const err = e as Error & { state?: string };
        violations.push({ kind: 'actor-error', actors: [vm.actorName(actor)], step: Atomics.load(cI32, ctl.word(actor, AST.STEPS)), message: `${vm.actorName(actor)}'s worker threw: ${err.message ?? String(e)}${err.state === undefined ? ` (machine state: ${describeFrames(ctl, actor)})` : ''}` });
        stop('actor-error', true);
      },
    );
  });

  // --- watching ---
  const lastSteps = new Array<number>(nActors).fill(-1);
  const lastStepAt = new Array<number>(nActors).fill(performance.now());
  const lastProgress = new Array<number>(nActors).fill(-1);
  const lastProgressAt = new Array<number>(nActors).fill(performance.now());
  const stepsAtProgress = new Array<number>(nActors).fill(0);
  const resetWatch = (): void => {
    const now = performance.now();
    lastStepAt.fill(now);
    lastProgressAt.fill(now);
  };
  const describeWord = (word: number): string => {
    if (word < 0) return 'nothing';
    if (word === G.MMU_LOCK) return `mmu_lock (${lock.describe(Atomics.load(vm.i32, word))})`;
    if (word === G.MN_ACTIVE_INVALIDATE_COUNT) return `mn_active_invalidate_count (${Atomics.load(vm.i32, word)})`;
    for (let a = 0; a < nActors; a++) {
      if (word === actorWord(vm.layout, a, ACTOR.SRCU_READ)) return `synchronize_srcu: ${vm.actorName(a)}'s SRCU read lock`;
      if (word === actorWord(vm.layout, a, ACTOR.MODE)) return `${vm.actorName(a)} to leave guest mode`;
    }
    return `shared word ${word} (= ${Atomics.load(vm.i32, word)})`;
  };
  const everyone = (): string => {
    const parts: string[] = [];
    for (let a = 0; a < nActors; a++) {
      const st = ACTOR_STATUS_NAMES[Atomics.load(cI32, ctl.word(a, AST.STATUS))] ?? '?';
      const wait = Atomics.load(cI32, ctl.word(a, AST.WAIT_WORD));
      parts.push(`${vm.actorName(a)} ${st} in ${describeFrames(ctl, a)}${st === 'waiting' ? ` on ${describeWord(wait)}` : ''}`);
    }
    const holders: string[] = [];
    const readers: string[] = [];
    for (let a = 0; a < nActors; a++) {
      const held = Atomics.load(vm.i32, actorWord(vm.layout, a, ACTOR.LOCK_HELD));
      if (held === LOCK_HELD_WRITE) holders.push(`${vm.actorName(a)} (write)`);
      if (held === LOCK_HELD_READ) holders.push(`${vm.actorName(a)} (read)`);
      if (Atomics.load(vm.i32, actorWord(vm.layout, a, ACTOR.SRCU_READ)) !== 0) readers.push(vm.actorName(a));
    }
    return `${parts.join('; ')}. mmu_lock ${lock.describe(Atomics.load(vm.i32, G.MMU_LOCK))}, held by ${holders.join(', ') || 'nobody'}; kvm->srcu readers: ${readers.join(', ') || 'none'}`;
  };
  const watchdog = (): void => {
    const now = performance.now();
    const watched: number[] = [];
    for (let a = 0; a < nActors; a++) {
      const status = Atomics.load(cI32, ctl.word(a, AST.STATUS));
      const steps = Atomics.load(cI32, ctl.word(a, AST.STEPS));
      const progress = Atomics.load(cI32, ctl.word(a, AST.PROGRESS));
      if (steps !== lastSteps[a]) { lastSteps[a] = steps; lastStepAt[a] = now; }
      if (progress !== lastProgress[a]) { lastProgress[a] = progress; lastProgressAt[a] = now; stepsAtProgress[a] = steps; }
      if (settled[a] || status === ACTOR_STATUS.DONE || status === ACTOR_STATUS.SLEEPING || status === ACTOR_STATUS.STARTING) {
        lastStepAt[a] = now;
        lastProgressAt[a] = now;
        stepsAtProgress[a] = steps;
        continue;
      }
      watched.push(a);
    }
    // A blocked actor first: it names the word (and so the holder) everyone else spins on.
    for (const a of watched) {
      const status = Atomics.load(cI32, ctl.word(a, AST.STATUS));
      const stalled = now - Math.max(lastStepAt[a]!, status === ACTOR_STATUS.WAITING ? 0 : now);
      if (status !== ACTOR_STATUS.WAITING || now - lastProgressAt[a]! < watchdogMs || stalled < watchdogMs / 2) continue;
      const name = vm.actorName(a);
      const wait = Atomics.load(cI32, ctl.word(a, AST.WAIT_WORD));
      violations.push({ kind: 'deadlock', actors: [name], step: lastSteps[a]!, message: `watchdog: ${name} has waited on ${describeWord(wait)} for ${Math.round(stalled)} ms without progress. Every actor: ${everyone()}` });
      stop('watchdog', true);
      return;
    }
    for (const a of watched) {
      const name = vm.actorName(a);
      if (now - lastStepAt[a]! >= watchdogMs) {
        violations.push({ kind: 'deadlock', actors: [name], step: lastSteps[a]!, message: `watchdog: ${name} took no step for ${Math.round(now - lastStepAt[a]!)} ms. Every actor: ${everyone()}` });
        stop('watchdog', true);
        return;
      }
      if (now - lastProgressAt[a]! >= watchdogMs) {
        violations.push({ kind: 'livelock', actors: [name], step: lastSteps[a]!, message: `watchdog: ${name} took ${(lastSteps[a]! - stepsAtProgress[a]!) >>> 0} steps but made no progress (no op completed, every fault retried) for ${Math.round(now - lastProgressAt[a]!)} ms. Every actor: ${everyone()}` });
        stop('watchdog', true);
        return;
      }
    }
  };

  let scans = 0;
  let scanMs = 0;
  const scanAll = (): void => {
    const t = performance.now();
    for (const v of scanInvariants(vm)) violations.push({ ...v, message: `stop-the-world scan: ${v.message}` });
    scans++;
    scanMs += performance.now() - t;
  };
  /** Parks every running actor at a step boundary, scans, releases. */
  const quiescentScan = async (): Promise<boolean> => {
    const gen = Atomics.add(cI32, CTL.PARK, 1) + 1; // odd: park
    const deadline = performance.now() + watchdogMs;
    for (;;) {
      drainAll();
      let all = true;
      for (let a = 0; a < nActors && all; a++) {
        if (settled[a]) continue;
        const st = Atomics.load(cI32, ctl.word(a, AST.STATUS));
        if (st === ACTOR_STATUS.DONE || st === ACTOR_STATUS.CRASHED) continue;
        if (Atomics.load(cI32, ctl.word(a, AST.PARKED)) !== gen) all = false;
      }
      if (all) break;
      if (performance.now() > deadline || stopReason !== null) {
        Atomics.add(cI32, CTL.PARK, 1);
        Atomics.notify(cI32, CTL.PARK);
        if (stopReason === null) {
          violations.push({ kind: 'deadlock', actors: [], step: -1, message: `watchdog: not every actor reached a step boundary within ${watchdogMs} ms of a park request. Every actor: ${everyone()}` });
          stop('watchdog', true);
        }
        return false;
      }
      await sleep(0.2);
    }
    scanAll();
    Atomics.add(cI32, CTL.PARK, 1); // even: run
    Atomics.notify(cI32, CTL.PARK);
    resetWatch();
    return true;
  };

  /**
   * `--preset mmu-stress`: when every vCPU finished the current stage, give the host its
   * command (mprotect before stages 3 and 4) and, once carried out, open the next stage.
   */
  let stageStart = performance.now();
  const advanceStages = (): void => {
    const st = Atomics.load(cI32, CTL.STAGE);
    for (let v = 0; v < vm.vcpus; v++) if (Atomics.load(cI32, ctl.word(v, AST.STAGE_DONE)) < st + 1) return;
    const next = st + 1;
    const cmd = next === 3 ? 1 : next === 4 ? 2 : 0;
    if (cmd > 0 && Atomics.load(cI32, CTL.HOST_ACK) < cmd) {
      if (Atomics.load(cI32, CTL.HOST_CMD) < cmd) Atomics.store(cI32, CTL.HOST_CMD, cmd);
      return;
    }
    const now = performance.now();
    (stageTally(st) as { ms: number }).ms = Math.round(now - stageStart);
    stageStart = now;
    if (next >= MMU_STRESS_STAGES.length) {
      Atomics.store(cI32, CTL.HOST_CMD, 3); // the host has nothing more to do
      if (stopReason === null) stopReason = 'stages';
    }
    Atomics.store(cI32, CTL.STAGE, next);
  };

  let lastScan = performance.now();
  const allSettled = Promise.all(tasks);
  let done = false;
  void allSettled.then(() => { done = true; });
  // The start barrier: every actor has built its machines; let them go together.
  let started = false;
  const startIfReady = (): void => {
    if (started || Atomics.load(cI32, CTL.READY) < nActors) return;
    started = true;
    t0 = performance.now();
    resetWatch();
    lastScan = t0;
    Atomics.store(cI32, CTL.GO, 1);
    Atomics.notify(cI32, CTL.GO);
  };
  while (!done) {
    startIfReady();
    await sleep(started ? TICK_MS : 1);
    drainAll();
    const now = performance.now();
    if (!started) {
      if (now - t0 > STARTUP_MS && stopReason === null) {
        violations.push({ kind: 'actor-error', actors: [], step: -1, message: `only ${Atomics.load(cI32, CTL.READY)} of ${nActors} actors started within ${STARTUP_MS / 1000} s` });
        stop('actor-error', true);
      }
      continue;
    }
    if (s.preset === 'mmu-stress' && stopReason === null) advanceStages();
    if (stopReason === null) {
      if ((violations.length > 0 || Atomics.load(cI32, CTL.VIOLATIONS) > 0) && stopOnViolation) stop('violation');
      else if (s.durationMs !== null && now - t0 >= s.durationMs) stop('duration');
      else if (s.accesses !== null && vcpusDone(ctl, vm.vcpus, settled)) stop('accesses');
    }
    watchdog();
    if (stopReason === null && scanIntervalMs > 0 && now - lastScan >= scanIntervalMs) {
      await quiescentScan();
      lastScan = performance.now();
    }
  }
  drainAll();
  checks?.unsubscribe();
  stageEvents.unsubscribe();
  stageCheck?.unsubscribe();
  await pool.destroy();
  for (const e of poolErrors) violations.push({ kind: 'actor-error', actors: [], step: -1, message: `worker pool error: ${e.message}` });

  const clean = outcomes.every((o) => o !== null) && !Atomics.load(cI32, CTL.ABORT);
  if (clean) {
    scanAll();
    for (const v of checkQuiesced(vm)) violations.push(v);
  }
  for (const o of outcomes) {
    if (o === null) continue;
    violations.push(...o.violations);
    if (o.violationsDropped > 0) violations.push({ kind: o.violations[0]!.kind, actors: [o.name], step: -1, message: `${o.name} reported ${o.violationsDropped} more violations after its first ${o.violations.length} (not kept)` });
  }

  const coverage: CoverageEntry[] = [];
  for (const m of COMPILED) {
    m.transitions.forEach((t, i) => {
      let count = 0;
      for (const o of outcomes) count += o?.coverage[m.id]?.[i] ?? 0;
      coverage.push({ machine: m.id, transition: t.label + (m.events.length > 1 ? ` on ${t.event}` : ''), count });
    });
  }
  // Keep each violation once (an actor's own report also reached the stream as an event).
  return {
    stress: s, elapsedMs: performance.now() - t0, stopReason: stopReason ?? 'duration', stats,
    actors: outcomes.filter((o): o is ActorOutcome => o !== null), coverage, violations, scans, scanMs, setupResults, events: eventCount,
    stages: stages.filter((x) => x !== undefined),
    pageTablesInUse: poolTablesInUse(vm),
    script: scriptSab === null ? null : { opEndMs: [...scriptViews(scriptSab, nOps).endMs].map((e, i) => (scriptViews(scriptSab, nOps).done[i] === 1 ? e - (performance.timeOrigin + t0) : NaN)) },
  };
}

function vcpusDone(ctl: Control, vcpus: number, settled: readonly boolean[]): boolean {
  for (let v = 0; v < vcpus; v++) {
    if (!settled[v] && Atomics.load(ctl.i32, ctl.word(v, AST.STATUS)) !== ACTOR_STATUS.DONE) return false;
  }
  return true;
}

/** `vcpu.exit > page-fault.walk`, from an actor's published frames. */
export function describeFrames(ctl: Control, actor: number): string {
  const n = Atomics.load(ctl.i32, ctl.word(actor, AST.FRAME_COUNT));
  if (n === 0) return 'no machine (between ops)';
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = Atomics.load(ctl.i32, ctl.word(actor, AST.FRAMES) + i);
    const m = COMPILED[f >>> 16];
    parts.push(m ? `${m.id}.${m.states[f & 0xffff]?.name ?? '?'}` : '?');
  }
  return parts.join(' > ');
}

/** Threads the machine has for actors (informational: the engine runs any number). */
export const CPU_COUNT = availableParallelism();
