/**
 * What KVM_SET_MEMORY_ATTRIBUTES promises userspace: once it returns 0 for [start, end),
 * every gfn of the range has the attributes userspace passed until userspace sets others
 * (virt/kvm/kvm_main.c, kvm_vm_set_mem_attributes(): xa_reserve() of every gfn first, so
 * the xa_store() loop cannot fail — KVM_BUG_ON if it does — and an error return stores
 * nothing). The kernel has no GET ioctl; what reads the attributes is the fault path,
 * kvm_mem_is_private() (kvm_get_memory_attributes(), an xa_load() of kvm->mem_attr_array),
 * which decides whether a gfn faults in from guest_memfd or from the host mapping.
 *
 * The checker keeps userspace's view — the attributes of the last successful set of each
 * gfn, as disjoint ranges — and compares the model's xarray with it: over the range just
 * set when the ioctl returns 0, at the gfn of every completed guest access (what the
 * fault read for it), and over every range at the end of a run. A gfn of a set still in
 * progress is skipped (its store may have run); a failed set makes its range unknown.
 * Attributes set by a scenario's setup ops are not in the view (the checker starts with
 * the main phase): only what the run itself sets is checked.
 */

import type { Violation } from '../kvm/findings.js';
import { kvmGetMemoryAttributes, kvmRangeHasMemoryAttributes } from '../kvm/mem-attrs.js';
import type { Vm } from '../kvm/vm.js';

/** The attributes the model holds disagree with what userspace set last. */
export interface AttributesViolation extends Violation {
  readonly kind: 'memory-attributes-conformance';
  readonly gfn: number;
}

/** One range of userspace's view: [start, end) set to `attrs`. */
interface ViewRange {
  readonly start: number;
  readonly end: number;
  readonly attrs: number;
}

export class AttributesContract {
  /** Userspace's view, disjoint ranges sorted by start. */
  private view: ViewRange[] = [];
  /** The range of the KVM_SET_MEMORY_ATTRIBUTES in progress, or null. */
  private inFlight: [number, number] | null = null;

  constructor(private readonly vm: Vm) {}

  /** Back to an empty view (a run starting over from its snapshot). */
  reset(): void {
    this.view = [];
    this.inFlight = null;
  }

  /** Whether userspace has set anything the checker follows (a cheap test for the per-access check). */
  get watching(): boolean {
    return this.view.length !== 0;
  }

  setBegin(start: number, end: number): void {
    this.inFlight = [start, end];
  }

  /** The set begun by setBegin returned (ok: 0). Returns a violation when the range does not read back as set. */
  setEnd(ok: boolean, start: number, end: number, attrs: number): AttributesViolation | null {
    this.inFlight = null;
    if (end <= start) return null;
    this.paint(start, end, ok ? attrs : null);
    if (!ok || kvmRangeHasMemoryAttributes(this.vm, start, end, attrs)) return null;
    return this.violation(this.firstDiffering(start, end, attrs), attrs, 'when KVM_SET_MEMORY_ATTRIBUTES returned 0 for it');
  }

  /** A guest access to `gfn` completed: the attributes its fault read (kvm_mem_is_private()) must be userspace's. */
  checkGfn(gfn: number): AttributesViolation | null {
    const r = this.rangeOf(gfn);
    if (r === null || this.inFlightCovers(gfn)) return null;
    if (kvmGetMemoryAttributes(this.vm, gfn) === r.attrs) return null;
    return this.violation(gfn, r.attrs, 'when a guest access to it completed (the fault path reads it through kvm_mem_is_private())');
  }

  /** End of a run: every range reads back as userspace set it. */
  atEnd(): AttributesViolation | null {
    for (const r of this.view) {
      if (kvmRangeHasMemoryAttributes(this.vm, r.start, r.end, r.attrs)) continue;
      return this.violation(this.firstDiffering(r.start, r.end, r.attrs), r.attrs, 'at the end of the run');
    }
    return null;
  }

  private inFlightCovers(gfn: number): boolean {
    return this.inFlight !== null && gfn >= this.inFlight[0] && gfn < this.inFlight[1];
  }

  /** The range of the view holding `gfn` (binary search), or null. */
  private rangeOf(gfn: number): ViewRange | null {
    const v = this.view;
    let lo = 0;
    let hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v[mid]!.end <= gfn) lo = mid + 1;
      else hi = mid;
    }
    const r = v[lo];
    return r !== undefined && r.start <= gfn ? r : null;
  }

  /** [start, end) now holds `attrs` in the view (null: unknown, dropped from it). */
  private paint(start: number, end: number, attrs: number | null): void {
    const out: ViewRange[] = [];
    for (const r of this.view) {
      if (r.end <= start || r.start >= end) { out.push(r); continue; }
      if (r.start < start) out.push({ start: r.start, end: start, attrs: r.attrs });
      if (r.end > end) out.push({ start: end, end: r.end, attrs: r.attrs });
    }
    if (attrs !== null) out.push({ start, end, attrs });
    out.sort((a, b) => a.start - b.start);
    this.view = out;
  }

  private firstDiffering(start: number, end: number, attrs: number): number {
    for (let g = start; g < end; g++) if (kvmGetMemoryAttributes(this.vm, g) !== attrs) return g;
    return start;
  }

  private violation(gfn: number, attrs: number, when: string): AttributesViolation {
    const held = kvmGetMemoryAttributes(this.vm, gfn);
    return {
      kind: 'memory-attributes-conformance', actors: [], step: -1, gfn,
      message: `gfn 0x${gfn.toString(16)} has memory attributes 0x${held.toString(16)} in kvm->mem_attr_array ${when}, but userspace last set 0x${attrs.toString(16)} with a KVM_SET_MEMORY_ATTRIBUTES that returned 0: the guest's ${attrs !== 0 ? 'private' : 'shared'} page faults in from the wrong backing`,
    };
  }
}
