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
 * lowered it. A restore copies back each region's entries below the higher of the
 * snapshot's bump and the current one, the fixed part whole, and the VMM's free hva ranges
 * (host.ts keeps them in the Vm object).
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
  private readonly bytes: Uint8Array;
  private readonly regions: Region[];
  /** Per region, the units in use when the snapshot was taken. */
  private readonly used: number[];
  private readonly hvaFree: { base: number; npages: number }[];

  /** Copies `vm`'s shared memory (once: the whole buffer) and its free hva ranges. */
  constructor(private readonly vm: Vm) {
    this.bytes = new Uint8Array(vm.u8);
    this.regions = regionsOf(vm);
    this.used = this.regions.map((r) => this.inUse(r));
    this.hvaFree = vm.hvaFree.map((r) => ({ ...r }));
  }

  private inUse(r: Region): number {
    if (r.bump === null) return r.units;
    return Math.min(r.units, Math.max(0, this.vm.i32[r.bump]! - r.bumpBase));
  }

  /** Puts the VM back as it was at the snapshot. */
  restore(): void {
    const u8 = this.vm.u8;
    // The bump words are in the fixed part, restored last: read the current ones first.
    for (let k = this.regions.length - 1; k >= 0; k--) {
      const r = this.regions[k]!;
      const units = Math.max(this.used[k]!, this.inUse(r));
      const end = r.startByte + units * r.unitBytes;
      u8.set(this.bytes.subarray(r.startByte, end), r.startByte);
    }
    const free = this.vm.hvaFree;
    free.length = 0;
    for (const r of this.hvaFree) free.push({ ...r });
  }

  /** The first byte offset where the VM differs from the snapshot, or -1 (tests: a restore leaves nothing behind). */
  firstDifference(): number {
    const u8 = this.vm.u8;
    for (let i = 0; i < u8.length; i++) if (u8[i] !== this.bytes[i]) return i;
    return -1;
  }
}
