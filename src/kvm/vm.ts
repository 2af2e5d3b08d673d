/**
 * `struct kvm` of the model: one VM's shared memory and the configuration it was laid
 * out from. Every actor (thread) holds its own Vm built over the same SharedArrayBuffer.
 */

import {
  ATTR_CHUNKS_SLACK, ATTR_CHUNK_GFNS, DIRTY_WORDS_SLACK, GMEM_PAGES_SLACK, HOST_PAGES_SLACK, HVA_PAGES_SLACK, INTERNAL_LOCK_GIVE_UP_WAITS, INTERNAL_LOCK_SPINS, INTERNAL_LOCK_WAIT_MS,
  MMU_CACHE_TABLES, PAGE_SIZE, SPTES_PER_TABLE, TABLES_SLACK, TLB_ENTRIES, VCPUS_MAX,
} from './limits.js';
import { ACTOR, G, allocateSharedMem, computeLayout, viewsOf, actorWord, type Layout, type LayoutConfig, type SharedMem, type VmMemory } from './layout.js';
import { PHYS_BITS_DEFAULT, kvmMmuGetTdpLevel, kvmMmuMaxGfn } from './address-space.js';
import { VM_TYPES, checkVmTypeSupported, type VmType } from './vm-types.js';
import { pagesPerLevel } from './types.js';
import { KERNEL_DEFAULT, kernelProfile, type KernelProfile, type KernelRelease } from './kernel-release.js';
import type { LockProtocol } from './mmu-lock.js';
import type { KvmQuirk } from './quirks.js';
import * as S from './shm.js';

export interface VmConfig {
  readonly type: VmType;
  readonly vcpus: number;
  /** Guest memory the VM may map at once (sum of memslot sizes, plus headroom for moves). */
  readonly guestBytes: number;
  /** Extra page-table pages (MMIO SPTEs, obsolete roots in flight). */
  readonly tablesExtra?: number;
  /** Largest host backing any memslot will use (1 = 4K, 2 = 2M, 3 = 1G): huge blocks need aligned slack. */
  readonly maxBackingLevel?: number;
  /**
   * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled (without INITIALLY_SET): KVM_GET_DIRTY_LOG
   * only copies the bitmap; KVM_CLEAR_DIRTY_LOG clears and re-protects.
   */
  readonly manualDirtyLogProtect?: boolean;
  /** mmu_invalidate_seq at creation (unsigned 64-bit): a VM that has already seen that many invalidations. */
  readonly mmuInvalidateSeq?: bigint;
  /**
   * Page-table pages KVM may allocate: a host short of memory, where
   * mmu_topup_memory_caches() fails with -ENOMEM. Default: enough for the whole guest.
   */
  readonly pageTables?: number;
  /** The kernel release the VM runs (kernel-release.ts); default the newest modelled. */
  readonly kernel?: KernelRelease;
  /** Quirks userspace disabled with KVM_CAP_DISABLE_QUIRKS2 (quirks.ts); default none. */
  readonly disabledQuirks?: readonly KvmQuirk[];
  /** The guest physical address width, MAXPHYADDR, 36..52 (address-space.ts); default 48. */
  readonly physBits?: number;
}

/** Sizing of the shared memory from a VM configuration. */
export function layoutConfigFor(cfg: VmConfig): LayoutConfig {
  if (!Number.isInteger(cfg.vcpus) || cfg.vcpus < 1 || cfg.vcpus > VCPUS_MAX) throw new RangeError(`vcpus must be an integer in 1..${VCPUS_MAX}`);
  const guestPages = Math.ceil(cfg.guestBytes / PAGE_SIZE);
  // Leaf tables for every 2M of guest memory (twice: a deleted or moved slot's tables
  // wait for RCU), upper levels, per-vCPU caches and slack.
  const leafTables = Math.ceil(guestPages / SPTES_PER_TABLE);
  // Table 0 is never handed out, so an explicit pool of N pages has N + 1 entries.
  const tables = cfg.pageTables !== undefined ? cfg.pageTables + 1 : 2 * (leafTables + Math.ceil(leafTables / SPTES_PER_TABLE) + 2) + cfg.vcpus * (MMU_CACHE_TABLES + 2) + (cfg.tablesExtra ?? TABLES_SLACK);
  // Host pages: guest memory plus migration targets, and alignment slack for huge blocks.
  const block = pagesPerLevel(cfg.maxBackingLevel ?? 3);
  const hostPages = 2 * guestPages + 2 * block + HOST_PAGES_SLACK;
  return {
    vcpus: cfg.vcpus,
    tables,
    hostPages,
    hvaPages: 2 * guestPages + 4 * block + HVA_PAGES_SLACK,
    gmemPages: guestPages + GMEM_PAGES_SLACK,
    dirtyWords: Math.ceil(guestPages / 32) + DIRTY_WORDS_SLACK,
    attrChunks: Math.ceil(guestPages / ATTR_CHUNK_GFNS) + ATTR_CHUNKS_SLACK,
    physBits: cfg.physBits ?? PHYS_BITS_DEFAULT,
  };
}

export class Vm {
  readonly mem: SharedMem;
  readonly layout: Layout;
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly u8: Uint8Array;
  readonly type: VmType;
  readonly vcpus: number;
  readonly hasPrivateMem: boolean;
  /** MAXPHYADDR of the VM (the layout's physBits). */
  readonly physBits: number;
  /** kvm_mmu_max_gfn(): the largest gfn KVM maps. */
  readonly maxGfn: number;
  /** kvm_mmu_get_tdp_level(): the level of every TDP root, 4 or 5. */
  readonly rootLevel: 4 | 5;
  /** The release the VM runs: the switches the model's guards and actions read (kernel-release.ts). */
  readonly kernel: KernelProfile;
  /** kvm->arch.disabled_quirks: the quirks userspace turned off (quirks.ts), fixed at creation. */
  readonly disabledQuirks: readonly KvmQuirk[];
  /** The compiled mmu-lock machine (see mmu-lock.ts). */
  readonly lockProtocol: LockProtocol;
  /** hva ranges the VMM unmapped after deleting their memslot, reusable by its next mmap (host.ts). */
  readonly hvaFree: { base: number; npages: number }[] = [];

  constructor(mem: SharedMem, type: VmType, lockProtocol: LockProtocol, kernel: KernelRelease = KERNEL_DEFAULT, disabledQuirks: readonly KvmQuirk[] = []) {
    this.lockProtocol = lockProtocol;
    this.kernel = kernelProfile(kernel);
    checkVmTypeSupported(type, kernel);
    this.disabledQuirks = [...disabledQuirks];
    this.mem = mem;
    this.layout = mem.layout;
    this.i32 = mem.i32;
    this.i64 = mem.i64;
    this.u8 = mem.u8;
    this.type = type;
    this.vcpus = mem.layout.config.vcpus;
    this.hasPrivateMem = VM_TYPES[type].hasPrivateMem;
    this.physBits = mem.layout.config.physBits;
    this.maxGfn = kvmMmuMaxGfn(this.physBits);
    this.rootLevel = kvmMmuGetTdpLevel(this.physBits);
  }

  /**
   * Creates and initializes a VM (kvm_create_vm + kvm_arch_init_vm); `memory`: 'private'
   * for a VM no other thread will attach to (the deterministic engine).
   */
  static create(cfg: VmConfig, lockProtocol: LockProtocol, memory: VmMemory = 'shared'): Vm {
    const layout = computeLayout(layoutConfigFor(cfg));
    const vm = new Vm(allocateSharedMem(layout, memory), cfg.type, lockProtocol, cfg.kernel ?? KERNEL_DEFAULT, cfg.disabledQuirks ?? []);
    vm.init();
    if (cfg.manualDirtyLogProtect === true) S.put(vm.i32, G.MANUAL_DIRTY_LOG_PROTECT, 1);
    if (cfg.mmuInvalidateSeq !== undefined) S.store64(vm.i64, G.INVALIDATE_SEQ >> 1, BigInt.asIntN(64, cfg.mmuInvalidateSeq));
    return vm;
  }

  /** The SharedArrayBuffer other threads attach to (a VM created with private memory has none). */
  get sharedBuffer(): SharedArrayBuffer {
    const sab = this.mem.sab;
    if (!(sab instanceof SharedArrayBuffer)) throw new Error('this VM has private memory: no other thread can attach to it');
    return sab;
  }

  /** A Vm over an existing SharedArrayBuffer (another thread's view of the same VM). */
  static attach(sab: SharedArrayBuffer, layout: Layout, type: VmType, lockProtocol: LockProtocol, kernel: KernelRelease = KERNEL_DEFAULT, disabledQuirks: readonly KvmQuirk[] = []): Vm {
    return new Vm(viewsOf(sab, layout), type, lockProtocol, kernel, disabledQuirks);
  }

  private init(): void {
    const i32 = this.i32;
    S.put(i32, G.PRE_FAULT_ALLOWED, VM_TYPES[this.type].preFaultAllowedAtCreate ? 1 : 0);
    // Index 0 means "none" for tables, pfns, hva pages and gmem pages.
    S.put(i32, G.POOL_BUMP, 1);
    S.put(i32, G.HOST_PFN_BUMP, 1);
    S.put(i32, G.HVA_BUMP, 1);
    S.put(i32, G.GMEM_BUMP, 1);
    S.put(i32, G.DIRTY_BUMP, 1);
    for (let a = 0; a < this.layout.actors; a++) S.put(i32, actorWord(this.layout, a, ACTOR.ROOT_SLOT), -1);
  }

  /** Actor names: vcpu0…, host, vmm. */
  actorName(actor: number): string {
    if (actor < this.vcpus) return `vcpu${actor}`;
    return actor === this.layout.hostActor ? 'host' : 'vmm';
  }

  get tlbEntries(): number {
    return TLB_ENTRIES;
  }
}

/** Marks a change that can invalidate SPTEs without writing them (see G.STATE_EPOCH). */
export function bumpStateEpoch(vm: Vm): void {
  S.add(vm.i32, G.STATE_EPOCH, 1);
}

/** A run that cannot go on because a mutation broke the model's own bookkeeping (exit 1, not an internal error). */
export class ModelStuck extends Error {
  override readonly name = 'ModelStuck';
}

/**
 * A mutex for the model's own internal allocators (host pages, page-table pool, root
 * list), never held across a step: in the deterministic engine it is always free; in the
 * threaded engine it is held for a few stores. Drepper's futex mutex on one Int32
 * (0 free, 1 locked, 2 locked with waiters): no notify unless someone sleeps.
 */
export function internalLock(i32: Int32Array, word: number): void {
  let c = S.compareExchange(i32, word, 0, 1);
  if (c === 0) return;
  // One thread owns a private VM (the deterministic engine): nobody can release it.
  if (!(i32.buffer instanceof SharedArrayBuffer)) throw new ModelStuck(`the model's internal mutex at word ${word} is held between steps, which only a skipped unlock (--skip of an action that releases it) leaves: the run cannot go on`);
  // Held for a few stores: spin a little before sleeping (a futex round trip costs tens of µs).
  for (let i = 0; i < INTERNAL_LOCK_SPINS; i++) {
    if (S.load(i32, word) === 0) {
      c = S.compareExchange(i32, word, 0, 1);
      if (c === 0) return;
    }
  }
  for (let waits = 0; ; waits++) {
    if (c === 2 || S.compareExchange(i32, word, 1, 2) !== 0) Atomics.wait(i32, word, 2, INTERNAL_LOCK_WAIT_MS);
    c = S.compareExchange(i32, word, 0, 2);
    if (c === 0) return;
    if (waits >= INTERNAL_LOCK_GIVE_UP_WAITS) throw new ModelStuck(`the model's internal mutex at word ${word} stayed held through ${INTERNAL_LOCK_GIVE_UP_WAITS} waits of ${INTERNAL_LOCK_WAIT_MS} ms, which only a skipped unlock (--skip of an action that releases it) leaves: the run cannot go on`);
  }
}

export function internalUnlock(i32: Int32Array, word: number): void {
  if (S.sub(i32, word, 1) !== 1) {
    S.store(i32, word, 0);
    Atomics.notify(i32, word, 1);
  }
}
