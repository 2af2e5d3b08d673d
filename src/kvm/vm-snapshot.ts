/**
 * A VM's state at one point (after a scenario's setup), put back in place before each
 * schedule of an exploration: a VM is laid out for the whole guest (a page-table pool,
 * host page and hva arrays, attribute chunks) but a schedule touches a few pages of it,
 * and zero-filling a fresh SharedArrayBuffer per schedule was most of an exploration's time.
 *
 * The regions past the fixed part (globals, roots, actors, memslots, TLBs) are handed out
 * from the bottom by bump allocators (page-table pages, host pfns, guest_memfd pages,
 * dirty-bitmap words, attribute chunks, hva pages): nothing writes an entry above its
 * region's bump, and the hva pages above a lowered bump were cleared by the munmap that
 * lowered it. The snapshot keeps each region's entries below its bump (and the fixed part
 * whole); a restore copies those back, zeroes the entries handed out since (up to the
 * current bump), and puts back the VMM's free hva ranges (host.ts keeps them in the Vm
 * object).
 */

import { ATTR_CHUNK_BYTES, ATTR_INDEX_WORDS, G, TABLE_META_WORDS } from './layout.js';
import { SPTES_PER_TABLE } from './limits.js';
import type { Vm } from './vm.js';

/** A byte range [start, start + unit × used) of the SAB: `used` units, from a bump word (null: the whole region). */
interface Region {
  readonly startByte: number;
  readonly unitBytes: number;
  readonly units: number;
  /** The bump word (global word index) counting the units handed out, and what it counts from (units = value − base). */
  readonly bump: number | null;
  readonly bumpBase: number;
}

function regionsOf(vm: Vm): Region[] {
  const l = vm.layout;
  const c = l.config;
  const words = (start: number, unitWords: number, units: number, bump: number | null, bumpBase = 0): Region => ({ startByte: start * 4, unitBytes: unitWords * 4, units, bump, bumpBase });
  return [
    // Globals, roots, actors, memslots, dirty-logging flags, TLBs: the fixed part, up to the table metadata.
    words(0, l.tableMetaBase, 1, null),
    words(l.tableMetaBase, TABLE_META_WORDS, c.tables, G.POOL_BUMP),
    words(l.poolFreeBase, 1, c.tables, G.POOL_BUMP),
    // The RCU pending ring wraps around: whole.
    words(l.rcuPendingBase, 2 * c.tables, 1, null),
    words(l.hvaToPfnBase, 1, c.hvaPages, G.HVA_BUMP),
    words(l.pfnOwnerBase, 1, c.hostPages, G.HOST_PFN_BUMP),
    words(l.pfnGenBase, 1, c.hostPages, G.HOST_PFN_BUMP),
    words(l.pfnFreeBase, 1, c.hostPages, G.HOST_PFN_BUMP),
    words(l.gmemToPfnBase, 1, c.gmemPages, G.GMEM_BUMP),
    words(l.gmemRmpBase, 1, c.gmemPages, G.GMEM_BUMP),
    words(l.dirtyBase, 1, c.dirtyWords, G.DIRTY_BUMP),
    words(l.attrIndexBase, l.attrIndexEntries * ATTR_INDEX_WORDS, 1, null),
    words(l.ptBase, 2 * SPTES_PER_TABLE, c.tables, G.POOL_BUMP),
    { startByte: l.hvaProtByte, unitBytes: 1, units: c.hvaPages, bump: G.HVA_BUMP, bumpBase: 0 },
    // ATTR_CHUNK_BUMP counts chunks from 0 (chunk n at n − 1).
    { startByte: l.attrChunksByte, unitBytes: ATTR_CHUNK_BYTES, units: c.attrChunks, bump: G.ATTR_CHUNK_BUMP, bumpBase: 0 },
  ];
}

export class VmSnapshot {
  private readonly regions: Region[];
  /** Per region, the units kept: those in use when the snapshot was taken (all of them when some unit past those was not zero). */
  private readonly kept: number[];
  /** Per region, a copy of its kept units (the rest of the buffer was zero). */
  private readonly bytes: Uint8Array[];
  private readonly hvaFree: { base: number; npages: number }[];

  /**
   * Copies the parts of `vm`'s memory in use (each region below its bump) and its free hva
   * ranges. Everything else is zero in a VM that has not run past its bumps (nothing writes
   * above a region's bump; the hva pages above a lowered bump were cleared by the munmap
   * that lowered it) — checked here: a region with a non-zero unit past its bump is kept
   * whole, and a non-zero byte between regions is an Error.
   */
  constructor(private readonly vm: Vm) {
    const u8 = vm.u8;
    this.regions = regionsOf(vm);
    this.kept = this.regions.map((r) => {
      const used = this.inUse(r);
      return isZero(u8, r.startByte + used * r.unitBytes, r.startByte + r.units * r.unitBytes) ? used : r.units;
    });
    this.bytes = this.regions.map((r, k) => u8.slice(r.startByte, r.startByte + this.kept[k]! * r.unitBytes));
    const gap = this.firstGapByte((start, end) => (isZero(u8, start, end) ? -1 : start));
    if (gap >= 0) throw new Error(`vm snapshot: byte ${gap} lies in no region of the layout and is not zero`);
    this.hvaFree = vm.hvaFree.map((r) => ({ ...r }));
  }

  private inUse(r: Region): number {
    if (r.bump === null) return r.units;
    return Math.min(r.units, Math.max(0, this.vm.i32[r.bump]! - r.bumpBase));
  }

  /**
   * Puts the VM back as it was at the snapshot: each region's kept units copied back, and
   * the units handed out since (up to the region's current bump) zeroed.
   */
  restore(): void {
    const u8 = this.vm.u8;
    // The bump words are in the fixed part, restored last: read the current ones first.
    for (let k = this.regions.length - 1; k >= 0; k--) {
      const r = this.regions[k]!;
      const kept = this.kept[k]!;
      const units = this.inUse(r);
      u8.set(this.bytes[k]!, r.startByte);
      if (units > kept) u8.fill(0, r.startByte + kept * r.unitBytes, r.startByte + units * r.unitBytes);
    }
    const free = this.vm.hvaFree;
    if (free.length !== 0) free.length = 0;
    for (const r of this.hvaFree) free.push({ ...r });
  }

  /** The first byte offset where the VM differs from the snapshot, or -1 (tests: a restore leaves nothing behind). */
  firstDifference(): number {
    const u8 = this.vm.u8;
    let first = -1;
    this.regions.forEach((r, k) => {
      const kept = this.bytes[k]!;
      for (let i = 0; i < kept.length && first < 0; i++) if (u8[r.startByte + i] !== kept[i]) first = r.startByte + i;
      const end = r.startByte + r.units * r.unitBytes;
      for (let b = r.startByte + kept.length; b < end && first < 0; b++) if (u8[b] !== 0) first = b;
    });
    const gap = this.firstGapByte((start, end) => { for (let b = start; b < end; b++) if (u8[b] !== 0) return b; return -1; });
    return first < 0 ? gap : gap < 0 ? first : Math.min(first, gap);
  }

  /** `f` over each run of bytes between (or after) the regions, in order: the first non-negative answer, or -1. */
  private firstGapByte(f: (start: number, end: number) => number): number {
    const sorted = [...this.regions].sort((a, b) => a.startByte - b.startByte);
    let at = 0;
    for (const r of [...sorted, { startByte: this.vm.u8.length, unitBytes: 0, units: 0 }]) {
      if (r.startByte > at) {
        const b = f(at, r.startByte);
        if (b >= 0) return b;
      }
      at = Math.max(at, r.startByte + r.units * r.unitBytes);
    }
    return -1;
  }
}

/** Whether bytes [start, end) of `u8` are all zero (32 bits at a time where aligned). */
function isZero(u8: Uint8Array, start: number, end: number): boolean {
  let b = start;
  for (; b < end && (b & 3) !== 0; b++) if (u8[b] !== 0) return false;
  const words = new Int32Array(u8.buffer, u8.byteOffset + b, (end - b) >> 2);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  for (b += words.length << 2; b < end; b++) if (u8[b] !== 0) return false;
  return true;
}
