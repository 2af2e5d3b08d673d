/**
 * Who wrote each SPTE last, and at which step: typed arrays indexed by SPTE (sized by the
 * page-table pool), so a finding can name the actor and step that installed the offending
 * SPTE without a per-write allocation. Also collects the SPTEs written since the last
 * check, for the incremental invariant check.
 */

import type { KvmActor } from '../kvm/actor.js';
import { SPTES_PER_TABLE } from '../kvm/limits.js';
import type { Vm } from '../kvm/vm.js';
import type { SpteWriter } from '../check/invariants.js';

export class SpteProvenanceTable {
  /** (state label index << 9) | (actor + 1); 0 = never written. */
  private readonly who: Int32Array;
  private readonly when: Int32Array;
  private readonly names: string[];
  /** Low-word indices of SPTEs written since the last check (collected only when a check after each step empties it). */
  readonly touched: number[] = [];

  constructor(private readonly vm: Vm, private readonly labels: readonly string[], private readonly collectTouched = true) {
    const sptes = vm.layout.config.tables * SPTES_PER_TABLE;
    this.who = new Int32Array(sptes);
    this.when = new Int32Array(sptes);
    this.names = Array.from({ length: vm.layout.actors }, (_, i) => vm.actorName(i));
  }

  private index(sptep: number): number {
    return (sptep - this.vm.layout.ptBase) >>> 1;
  }

  note(sptep: number, a: KvmActor): void {
    const i = this.index(sptep);
    this.who[i] = (Math.max(a.stepLabel, 0) << 9) | (a.actor + 1);
    this.when[i] = a.step;
    if (this.collectTouched) this.touched.push(sptep);
  }

  get(sptep: number): SpteWriter | undefined {
    const i = this.index(sptep);
    const w = this.who[i]!;
    if (w === 0) return undefined;
    return { actor: this.names[(w & 511) - 1]!, step: this.when[i]!, label: this.labels[w >>> 9] ?? '' };
  }
}
