/**
 * Who wrote each SPTE last, and at which step: per page-table page, typed arrays indexed by
 * SPTE, allocated when the table is first written (a run writes a few tables of a pool
 * sized for the whole guest), so a finding can name the actor and step that installed the
 * offending SPTE without a per-write allocation. Also collects the SPTEs written since the
 * last check, for the incremental invariant check, and per table a bitmap of the entries
 * ever written: an SPTE becomes present only through a noted write (a fresh table is all
 * non-present), so the full scan visits only those entries.
 *
 * A snapshot (after a scenario's setup) keeps a copy of every table's arrays; restoring it
 * puts back only the tables written since.
 */

import type { KvmActor } from '../kvm/actor.js';
import { SPTES_PER_TABLE } from '../kvm/limits.js';
import type { Vm } from '../kvm/vm.js';
import type { SpteWriter, SpteWrittenMap } from '../check/invariants.js';

/** 32-bit words of a table's written-entries bitmap. */
const BITMAP_WORDS = SPTES_PER_TABLE / 32;

/** One table's provenance: `who` at [0, 512), `when` at [512, 1024). */
const WHO = 0;
const WHEN = SPTES_PER_TABLE;

interface ProvenanceSnapshot {
  readonly tables: Map<number, { readonly rec: Int32Array; readonly bits: Int32Array }>;
}

export class SpteProvenanceTable implements SpteWrittenMap {
  /** Per table: (state label index << 9) | (actor + 1) by SPTE (0 = never written), then the step. */
  private readonly recs: (Int32Array | undefined)[] = [];
  /** Per table: bit i set once SPTE i was written. */
  private readonly bits: (Int32Array | undefined)[] = [];
  private readonly names: string[];
  /** Low-word indices of SPTEs written since the last check (collected only when a check after each step empties it). */
  readonly touched: number[] = [];
  private snap: ProvenanceSnapshot | null = null;
  /** With a snapshot: the tables written since it was taken or restored (each once). */
  private readonly dirty: number[] = [];
  private readonly isDirty: Uint8Array;

  constructor(private readonly vm: Vm, private readonly labels: readonly string[], private readonly collectTouched = true) {
    this.names = Array.from({ length: vm.layout.actors }, (_, i) => vm.actorName(i));
    this.isDirty = new Uint8Array(vm.layout.config.tables);
  }

  note(sptep: number, a: KvmActor): void {
    const rel = (sptep - this.vm.layout.ptBase) >>> 1;
    const table = rel >>> 9;
    const i = rel & (SPTES_PER_TABLE - 1);
    let rec = this.recs[table];
    if (rec === undefined) rec = this.allocate(table);
    if (this.snap !== null && this.isDirty[table] === 0) {
      this.isDirty[table] = 1;
      this.dirty.push(table);
    }
    rec[WHO + i] = (Math.max(a.stepLabel, 0) << 9) | (a.actor + 1);
    rec[WHEN + i] = a.step;
    this.bits[table]![i >>> 5]! |= 1 << (i & 31);
    if (this.collectTouched) this.touched.push(sptep);
  }

  private allocate(table: number): Int32Array {
    const rec = new Int32Array(2 * SPTES_PER_TABLE);
    this.recs[table] = rec;
    this.bits[table] = new Int32Array(BITMAP_WORDS);
    return rec;
  }

  get(sptep: number): SpteWriter | undefined {
    const rel = (sptep - this.vm.layout.ptBase) >>> 1;
    const rec = this.recs[rel >>> 9];
    if (rec === undefined) return undefined;
    const i = rel & (SPTES_PER_TABLE - 1);
    const w = rec[WHO + i]!;
    if (w === 0) return undefined;
    return { actor: this.names[(w & 511) - 1]!, step: rec[WHEN + i]!, label: this.labels[w >>> 9] ?? '' };
  }

  writtenBits(table: number): Int32Array | undefined {
    return this.bits[table];
  }

  /** Keeps a copy of every table's provenance; from now on the tables written are tracked for restore(). */
  snapshot(): void {
    const tables = new Map<number, { rec: Int32Array; bits: Int32Array }>();
    this.recs.forEach((rec, t) => { if (rec !== undefined) tables.set(t, { rec: rec.slice(), bits: this.bits[t]!.slice() }); });
    this.snap = { tables };
    this.dirty.length = 0;
    this.isDirty.fill(0);
    this.touched.length = 0;
  }

  /** Back to the snapshot: the tables written since get their snapshot arrays back (or none). */
  restore(): void {
    const snap = this.snap;
    if (snap === null) throw new Error('provenance: restore() without a snapshot');
    for (const t of this.dirty) {
      this.isDirty[t] = 0;
      const s = snap.tables.get(t);
      if (s === undefined) {
        this.recs[t]!.fill(0);
        this.bits[t]!.fill(0);
      } else {
        this.recs[t]!.set(s.rec);
        this.bits[t]!.set(s.bits);
      }
    }
    this.dirty.length = 0;
    this.touched.length = 0;
  }
}
