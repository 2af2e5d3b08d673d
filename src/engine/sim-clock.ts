/**
 * The deterministic engine's simulated clock (with a cost model, cost-model.ts): each
 * actor's clock advances by what its steps cost; an actor that waited (for mmu_lock, an
 * SRCU reader, another actor's op) resumes no earlier than the step that released it
 * ended. Simulated time starts when the guest does: the scenario's memslot setup is
 * before it.
 *
 * Everything here runs on the step loop's hot path: typed arrays per actor, the step's
 * baseline kept in fields, and one cost callback for the run — no allocation per step.
 */

import { G } from '../kvm/layout.js';
import type { Vm } from '../kvm/vm.js';
import type { CompiledMachine, CompiledTransition } from '../protocol/compile.js';
import { COMPILED } from '../protocol/machines.js';
import type { ActorRuntime } from './actor-runtime.js';
import { transitionCostTable, type CostModel } from './cost-model.js';
import type { SimClockResult } from './run-types.js';

/** Levels of the hardware page walk a guest access that missed the TLB pays for. */
const HW_WALK_LEVELS = 4;

export class SimClock {
  /** Per actor: its clock, time spent waiting, and waiting for mmu_lock (ns). */
  readonly clock: Float64Array;
  private readonly waitNs: Float64Array;
  private readonly lockWaitNs: Float64Array;
  /** Per actor: 1 while it cannot run (waiting or gated), and what it waits on. */
  private readonly blocked: Uint8Array;
  private readonly blockReason: string[];
  /** When the last step taken ended. */
  private lastEnd = 0;
  private stepCost = 0;
  private readonly costs: Map<string, Float64Array>;
  // Cost tables by machine identity (a short scan beats a Map lookup by id on the hot path).
  private readonly costMachines: CompiledMachine[] = [];
  private readonly costTables: Float64Array[] = [];
  /** Per op (scenario order): the simulated time its last step ended. */
  private readonly opEndNs: number[];
  // The step's baseline, taken before it runs.
  private hostPages = 0;
  private headBefore = -1;
  private accesses = 0;
  private tlbHits = 0;

  constructor(private readonly model: CostModel, private readonly vm: Vm, nActors: number, nOps: number) {
    this.costs = transitionCostTable(COMPILED, model);
    this.clock = new Float64Array(nActors);
    this.waitNs = new Float64Array(nActors);
    this.lockWaitNs = new Float64Array(nActors);
    this.blocked = new Uint8Array(nActors);
    this.blockReason = new Array<string>(nActors).fill('');
    this.opEndNs = new Array<number>(nOps).fill(NaN);
  }

  /** The main phase begins: every clock back to zero. */
  start(): void {
    this.clock.fill(0);
    this.lastEnd = 0;
  }

  /** In the scan, before `rt` may wake: what it waits on, if it waits. */
  noteWait(rt: ActorRuntime): void {
    if (rt.waiting) this.blockReason[rt.id] = rt.a.blockReason;
  }

  /** In the scan: actor `id` can run (`can`) or not; resuming after a wait (or a gate), not before the step that released it ended. */
  noteRunnable(id: number, can: boolean): void {
    const clock = this.clock;
    if (can && this.blocked[id] === 1 && this.lastEnd > clock[id]!) {
      const waited = this.lastEnd - clock[id]!;
      this.waitNs[id] += waited;
      if (this.blockReason[id] === 'mmu_lock') this.lockWaitNs[id] += waited;
      clock[id] = this.lastEnd;
    }
    this.blocked[id] = can ? 0 : 1;
    if (can) this.blockReason[id] = '';
  }

  /** Before `rt` steps: what its cost depends on (host pages in use, its head op, its accesses and TLB hits). */
  beforeStep(rt: ActorRuntime, main: boolean): void {
    // (One thread: a plain read of the counter the host code keeps atomically.)
    this.hostPages = this.vm.i32[G.HOST_PAGES_IN_USE]!;
    this.headBefore = main ? rt.queue.headIndex() : -1;
    this.accesses = rt.a.stats.accesses;
    this.tlbHits = rt.a.stats.tlbHits;
  }

  /** After `rt` took a step: charges it to its clock, and ends its op's time when the op completed (main phase). */
  charge(rt: ActorRuntime, main: boolean): void {
    const model = this.model;
    this.stepCost = model.step;
    rt.forEachFired(this.addCost);
    // A guest access that missed the TLB walked the tables in hardware first.
    this.stepCost += (rt.a.stats.accesses - this.accesses - (rt.a.stats.tlbHits - this.tlbHits)) * HW_WALK_LEVELS * model.hwWalkLevel;
    // A host page allocated on first touch: the fault, and zeroing it (a THP is 512 pages).
    const allocated = this.vm.i32[G.HOST_PAGES_IN_USE]! - this.hostPages;
    if (allocated > 0) this.stepCost += model.hostAlloc + allocated * model.hostZero4k;
    this.clock[rt.id] += this.stepCost;
    this.lastEnd = this.clock[rt.id]!;
    const head = this.headBefore;
    if (main && rt.queue.headIndex() !== head && head !== Infinity) this.opEndNs[head] = this.lastEnd;
  }

  private readonly addCost = (m: CompiledMachine, t: CompiledTransition): void => {
    const machines = this.costMachines;
    let i = 0;
    while (i < machines.length && machines[i] !== m) i++;
    if (i === machines.length) { machines.push(m); this.costTables.push(this.costs.get(m.id)!); }
    this.stepCost += this.costTables[i]![t.id]!;
  };

  result(): SimClockResult {
    const clocks = [...this.clock];
    return { clocks, waitNs: [...this.waitNs], lockWaitNs: [...this.lockWaitNs], timeNs: Math.max(...clocks), opEndNs: this.opEndNs };
  }
}
