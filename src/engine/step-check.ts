/**
 * The deterministic engine's safety checks around a step: the invariants of src/check
 * after the step (incrementally, over the SPTEs it wrote, or in full when the state epoch
 * moved under every SPTE), the full scan and the quiescence checks when a run completes,
 * the userspace-contract checks' end of run, and the stamping of each new finding with the step, actor and transition that revealed
 * it.
 */

import { G } from '../kvm/layout.js';
import type { Vm } from '../kvm/vm.js';
import { checkQuiesced, checkSptes, globalsClean, scanInvariants, type SpteProvenance, type SpteWrittenMap } from '../check/invariants.js';
import type { UserspaceContract } from '../check/userspace-contract.js';
import type { ActorRuntime } from './actor-runtime.js';
import type { Collector } from './run-build.js';
import type { SpteProvenanceTable } from './provenance.js';

export type CheckMode = 'step' | 'full' | 'end';

export class StepChecker {
  /** Check after every step (not only at the end). */
  readonly everyStep: boolean;
  /** The state epoch at the last check (-1: none yet; a run resumed from a snapshot sets it). */
  epochSeen = -1;

  constructor(
    private readonly vm: Vm,
    private readonly provenance: SpteProvenanceTable,
    private readonly prov: SpteProvenance,
    private readonly collector: Collector,
    private readonly mode: CheckMode,
    private readonly stopOnViolation: boolean,
    private readonly contract: UserspaceContract | null = null,
  ) {
    this.everyStep = mode !== 'end';
    // 'full' cross-checks: it walks every entry of every table, not only those ever written.
    this.written = mode === 'full' ? undefined : provenance;
  }

  private readonly written: SpteWrittenMap | undefined;

  /** After a step: a full scan when something moved under existing SPTEs (or in 'full' mode), else only the SPTEs it wrote. */
  afterStep(): void {
    // (A plain read, as the scan's: between steps one thread owns the memory.)
    const epoch = this.vm.i32[G.STATE_EPOCH]!;
    // Most steps write no SPTE and move nothing under one: checkSptes of no SPTE, which
    // finds nothing when the global checks are clean (and then there is nothing to reset).
    if (epoch === this.epochSeen && this.provenance.touched.length === 0 && this.mode !== 'full' && globalsClean(this.vm)) return;
    const found = epoch !== this.epochSeen || this.mode === 'full' ? scanInvariants(this.vm, this.prov, this.written) : checkSptes(this.vm, this.provenance.touched, this.prov);
    this.epochSeen = epoch;
    const touched = this.provenance.touched;
    // (Setting an array's length is a runtime call: a step writes an SPTE or two.)
    while (touched.length !== 0) touched.pop();
    for (let i = 0; i < found.length; i++) this.collector.report(found[i]!);
  }

  /** A completed run: the full scan, and what must hold once every actor is done. */
  atEnd(): void {
    for (const v of scanInvariants(this.vm, this.prov, this.written)) this.collector.report(v);
    for (const v of checkQuiesced(this.vm)) this.collector.report(v);
    this.contract?.atEnd();
  }

  /**
   * Stamps the findings reported since `from` with the step (`rt`'s record of step
   * `stepNo` when it took one), its actor and its transition. Returns true when the run
   * must stop (a finding exists and the run stops at the first).
   */
  stamp(from: number, rt: ActorRuntime, took: boolean, stepNo: number): boolean {
    const list = this.collector.violations;
    if (from !== list.length) {
      const rec = took ? rt.record(stepNo) : null;
      for (let i = from; i < list.length; i++) {
        const v = list[i]!;
        if (v.step < 0) v.step = rec?.step ?? stepNo;
        if (!v.actors.includes(rt.a.name)) v.actors = [...v.actors, rt.a.name];
        if (v.transition === undefined || v.transition === '') v.transition = rec?.label ?? '';
      }
    }
    return this.stopOnViolation && list.length > 0;
  }
}
