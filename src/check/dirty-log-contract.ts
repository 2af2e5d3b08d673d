/**
 * What KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG promise userspace, checked against what
 * they returned: a page the guest wrote, its write completed before the ioctl began, is in
 * the log that ioctl returns or in one returned since the write (virt/kvm/kvm_main.c,
 * kvm_get_dirty_log_protect(): "writes done after exiting to userspace will be logged
 * for the next call"). Live migration copies a page again only when a log names it: a
 * write no log names is guest memory the destination never gets.
 *
 * The checker watches userspace, not the bitmap: the guest writes that completed (a
 * successful, not emulated, guest write access to a gfn of a memslot with
 * KVM_MEM_LOG_DIRTY_PAGES), each ioctl's beginning, and the gfns each returned — the
 * bitmap copied to userspace by GET, and the bits CLEAR found set and cleared (the model's
 * CLEAR passes every bit of its range, so the bits it clears are the pages userspace hands
 * back to tracking). Per memslot it keeps the gfns written since a log last named them,
 * each with when it was written; when a GET returns, every such gfn written before the GET
 * began must be in it (a CLEAR: every such gfn of its range). A write while the ioctl
 * runs may land in this log or the next (the xchg of its word may come before or after
 * it), so it is carried to the next. A gfn in the log is settled, writes during the ioctl
 * included: the log was taken after the bit was set, and userspace copies the page after
 * the ioctl returns, flush included (the GET's own comment: "the page is reported dirty
 * using the snapshot taken before").
 *
 * The allowance: fast_page_fault() (arch/x86/kvm/mmu/mmu.c, fast_pf_fix_direct_spte())
 * marks the gfn dirty after its cmpxchg made the SPTE writable, out of mmu_lock. Another
 * vCPU can write through that SPTE in between, and a GET can take the word before the mark:
 * that write is in the next log, not this one. So a write that completed while some
 * actor's mark of its gfn was in flight (dirty-bitmap.ts, dirtyMarkInFlight: the SPTE made
 * writable, mark_page_dirty_in_slot() not yet run) is due one log later — at the first log
 * that returns after the mark is done. The model's fault install marks after its CAS too
 * (the kernel's make_spte() marks first, docs/model.md); under mmu_lock for read, only a
 * manual-protect GET, which takes no mmu_lock and clears nothing, can fall in between, and
 * the same allowance covers it. (The deterministic engine runs a CAS and its mark in one
 * step: no schedule of it opens the window; the allowance keeps the check right if they
 * ever become two.)
 *
 * Nothing is promised without logging on the slot, and a memslot update of the slot
 * (delete, move, logging turned on or off: a new or no bitmap) ends what was owed on it:
 * writes while one runs are not tracked. KVM_DIRTY_LOG_INITIALLY_SET and a manual-protect
 * GET that leaves the bits set only make logs name more pages, which the contract allows.
 * The deterministic engine feeds the checker (one thread: a total order of events); the
 * threaded engine does not.
 */

import type { Violation } from '../kvm/findings.js';
import { dirtyMarkInFlight, kvmSlotDirtyTrackEnabled } from '../kvm/dirty-bitmap.js';
import { SlotInfo, activeSlots, gfnToMemslot, idToMemslot, memslotsActiveSet } from '../kvm/memslots.js';
import type { Vm } from '../kvm/vm.js';

/** A returned log that misses a page the guest wrote before the ioctl began. */
export interface DirtyLogViolation extends Violation {
  readonly kind: 'dirty-log-conformance';
  readonly gfn: number;
}

/** A write no log has named yet. */
interface Owed {
  /** When (the checker's event count) the earliest such write completed; after a late miss, when the log that missed it returned. */
  time: number;
  /** It completed while a mark of the gfn was in flight (see above). */
  late: boolean;
  /** Who wrote it first. */
  writer: string;
}

/** The ioctl in progress: KVM_GET_DIRTY_LOG or KVM_CLEAR_DIRTY_LOG on `slot`, begun at `begin`. */
interface LogCall {
  slot: number;
  begin: number;
}

export class DirtyLogContract {
  /** Events seen (writes, ioctl beginnings and returns): the order the checker reasons in. */
  private now = 0;
  /** Per memslot id, per gfn, the write no log has named yet. */
  private readonly owed = new Map<number, Map<number, Owed>>();
  /** The memslot id a KVM_SET_USER_MEMORY_REGION in progress changes, or -1. */
  private changing = -1;
  private readonly call: LogCall = { slot: -1, begin: 0 };
  private readonly slot = new SlotInfo();
  /** Whether any memslot logs dirty pages (null: to be read again, after a memslot update). */
  private logging: boolean | null = null;

  constructor(private readonly vm: Vm) {}

  /** Back to a VM with no write owed (a run starting over from its snapshot). */
  reset(): void {
    this.now = 0;
    this.owed.clear();
    this.changing = -1;
    this.call.slot = -1;
    this.logging = null;
  }

  /** The guest write of `actor` to `gfn` completed. */
  guestWrite(actor: string, gfn: number): void {
    // Most runs log nothing: no memslot lookup per write then.
    if (this.logging === null) this.logging = activeSlots(this.vm).some(kvmSlotDirtyTrackEnabled);
    if (!this.logging) return;
    const s = this.slot;
    if (!gfnToMemslot(this.vm, memslotsActiveSet(this.vm), gfn, s) || s.invalid || s.id === this.changing || !kvmSlotDirtyTrackEnabled(s)) return;
    const time = ++this.now;
    const late = dirtyMarkInFlight(this.vm, gfn);
    let perSlot = this.owed.get(s.id);
    if (perSlot === undefined) this.owed.set(s.id, (perSlot = new Map()));
    const o = perSlot.get(gfn);
    if (o === undefined) perSlot.set(gfn, { time, late, writer: actor });
    else if (o.late && !late) {
      // This write is due at once: the earlier one's allowance no longer matters.
      o.time = time;
      o.late = false;
      o.writer = actor;
    }
  }

  /** KVM_SET_USER_MEMORY_REGION of slot `id` begins: what was owed on it ends. */
  memslotBegin(id: number): void {
    this.changing = id;
    this.owed.delete(id);
    this.logging = null;
  }

  memslotEnd(): void {
    this.changing = -1;
    this.logging = null;
  }

  /** KVM_GET_DIRTY_LOG or KVM_CLEAR_DIRTY_LOG of slot `id` begins. */
  logBegin(id: number): void {
    this.call.slot = id;
    this.call.begin = ++this.now;
  }

  /**
   * The ioctl begun by logBegin returned `gfns` (0 and the log; an error returns nothing,
   * and settles nothing). `range`: CLEAR's [first_page, first_page + num_pages), in pages
   * of the slot; null for GET (the whole slot). Returns the violation, or null.
   */
  logEnd(what: 'KVM_GET_DIRTY_LOG' | 'KVM_CLEAR_DIRTY_LOG', ok: boolean, gfns: readonly number[], range: readonly [number, number] | null): DirtyLogViolation | null {
    const id = this.call.slot;
    const begin = this.call.begin;
    this.call.slot = -1;
    const now = ++this.now;
    const perSlot = this.owed.get(id);
    if (!ok || id < 0 || perSlot === undefined || perSlot.size === 0) return null;
    let lo = -Infinity;
    let hi = Infinity;
    if (range !== null && idToMemslot(this.vm, memslotsActiveSet(this.vm), id, this.slot)) {
      lo = this.slot.baseGfn + range[0];
      hi = lo + range[1];
    }
    const named = new Set(gfns);
    let first: [number, Owed] | null = null;
    let missed = 0;
    for (const [gfn, o] of perSlot) {
      if (gfn < lo || gfn >= hi) continue;
      if (named.has(gfn)) { perSlot.delete(gfn); continue; }
      if (o.time > begin) continue;
      if (o.late) {
        // Due at the first log after the mark: not yet while it is still in flight.
        if (!dirtyMarkInFlight(this.vm, gfn)) { o.late = false; o.time = now; }
        continue;
      }
      if (first === null) first = [gfn, o];
      missed++;
      perSlot.delete(gfn);
    }
    return first === null ? null : this.violation(what, id, first[0], first[1].writer, missed);
  }

  private violation(what: string, id: number, gfn: number, writer: string, missed: number): DirtyLogViolation {
    const others = missed > 1 ? ` (and ${missed - 1} other page${missed > 2 ? 's' : ''} of the slot)` : '';
    return {
      kind: 'dirty-log-conformance', actors: [writer], step: -1, gfn,
      message: `${what} on memslot ${id} returned without gfn 0x${gfn.toString(16)}${others}, which ${writer} wrote before the ioctl began and no log since has named: userspace never copies the page again (a live migration loses the write)`,
    };
  }
}
