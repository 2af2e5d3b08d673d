/**
 * The stress workload's configuration: what `faultline stress` runs. A configuration
 * (vCPUs, guest memory, access pattern, churn rates, VM type, preset) becomes the VM's
 * setup ops here and, per actor, a source of ops drawn from the actor's own seeded PRNG in
 * the presets (presets/churn.ts for a plain run, presets/memslot-churn.ts,
 * presets/mmu-stress.ts); presets/index.ts turns it into a threaded run.
 */

import type { HostMemory } from '../kvm/host.js';
import type { KernelRelease } from '../kvm/kernel-release.js';
import { KVM_MEM_GUEST_MEMFD } from '../kvm/memslots.js';
import type { Op } from '../kvm/ops.js';
import { VM_TYPES, type VmType } from '../kvm/vm-types.js';

export const STRESS_WORKLOADS = ['uniform', 'sequential', 'partitioned', 'shared-hot'] as const;
export type StressWorkload = (typeof STRESS_WORKLOADS)[number];

export const CHURN_KINDS = ['invalidate', 'memslots', 'attributes', 'prefault', 'dirty-log'] as const;
export type ChurnKind = (typeof CHURN_KINDS)[number];

/** Default churn rates (ops per second). */
export const CHURN_DEFAULT_RATES: Readonly<Record<ChurnKind, number>> = {
  invalidate: 400,
  memslots: 40,
  attributes: 40,
  prefault: 40,
  'dirty-log': 20,
};

export const STRESS_PRESETS = ['mmu-stress', 'memslot-churn'] as const;
export type StressPreset = (typeof STRESS_PRESETS)[number];

export interface StressConfig {
  readonly vcpus: number;
  readonly memoryBytes: number;
  /** Stop after this long (ms); null when bounded by `accesses`. */
  readonly durationMs: number | null;
  /** Stop each vCPU after this many guest accesses; null when bounded by time. */
  readonly accesses: number | null;
  readonly workload: StressWorkload;
  /** Churn kinds switched on, with their rates (ops per second). */
  readonly churn: Readonly<Partial<Record<ChurnKind, number>>>;
  /** Host page size of guest memory: 1 = 4K, 2 = 2M (THP or hugetlbfs), 3 = 1G (hugetlbfs). */
  readonly backingLevel: number;
  /** What backs guest memory in the host; absent: anonymous (QEMU's default). */
  readonly hostMemory?: HostMemory;
  /** Guest memory written before the guest runs (MAP_POPULATE, -mem-prealloc); absent: false. */
  readonly populated?: boolean;
  readonly vmType: VmType;
  readonly seed: number;
  /** Fraction of guest accesses that write (the rest read; 1 in 64 fetches). */
  readonly writeRatio: number;
  /** A preset's own actor behaviour (see STRESS_PRESETS); absent for a plain stress run. */
  readonly preset?: StressPreset;
  /** The kernel release the VM runs (`--kernel`); absent: the newest modelled. */
  readonly kernel?: KernelRelease;
}

export const PAGE = 4096;
export const MIB2 = 2 * 1024 * 1024;
/** Memslot ids: guest memory, and the dummy slot the memslot churn creates and deletes. */
export const MAIN_SLOT = 0;
export const DUMMY_SLOT = 7;

/** Where the dummy slot lives: 2 MiB above guest memory, and the place it is moved to. */
export function dummySlotGpa(cfg: StressConfig): number {
  // memslot_modification_stress_test puts its one-page dummy slot right next to the test
  // memslot; the mixed churn leaves a 2 MiB gap and also moves it.
  if (cfg.preset === 'memslot-churn') return cfg.memoryBytes;
  return Math.ceil(cfg.memoryBytes / MIB2) * MIB2 + MIB2;
}

/** Guest bytes the VM must be laid out for: memory, the dummy slot (at two places), slack. */
export function stressGuestBytes(cfg: StressConfig): number {
  return cfg.memoryBytes + 4 * MIB2;
}

/** A memslot of the stress VM's guest memory. */
export interface StressSlot {
  readonly id: number;
  readonly gpa: number;
  readonly size: number;
  readonly flags: number;
}

/**
 * Guest memory as memslots. A VM with private memory gets two: slot 0 (the lower half,
 * 2 MiB aligned) with guest_memfd, which attribute churn converts, and slot 1 without,
 * which dirty-log churn logs — KVM refuses KVM_MEM_LOG_DIRTY_PAGES on a guest_memfd slot.
 * Other VMs get one slot over all of it.
 */
export function stressSlots(cfg: StressConfig): StressSlot[] {
  if (!VM_TYPES[cfg.vmType].hasPrivateMem) return [{ id: MAIN_SLOT, gpa: 0, size: cfg.memoryBytes, flags: 0 }];
  const half = Math.floor(cfg.memoryBytes / 2 / MIB2) * MIB2;
  if (half === 0) return [{ id: MAIN_SLOT, gpa: 0, size: cfg.memoryBytes, flags: KVM_MEM_GUEST_MEMFD }];
  return [
    { id: MAIN_SLOT, gpa: 0, size: half, flags: KVM_MEM_GUEST_MEMFD },
    { id: MAIN_SLOT + 1, gpa: half, size: cfg.memoryBytes - half, flags: 0 },
  ];
}

/** The slot dirty-log churn logs (null when every slot has guest_memfd). */
export function dirtyLogSlot(cfg: StressConfig): StressSlot | null {
  return stressSlots(cfg).find((sl) => (sl.flags & KVM_MEM_GUEST_MEMFD) === 0) ?? null;
}

/** The VM's setup, run by the vmm before any actor starts: the memslots, and launch finish for SNP/TDX. */
export function stressSetup(cfg: StressConfig): Op[] {
  const ops: Op[] = stressSlots(cfg).map((sl) => ({ op: 'set_memslot', slot: sl.id, gpa: BigInt(sl.gpa), size: BigInt(sl.size), flags: sl.flags, backingLevel: cfg.backingLevel, hostMemory: cfg.hostMemory ?? 'anonymous', populated: cfg.populated ?? false }));
  if (VM_TYPES[cfg.vmType].finalizeIoctl !== null) ops.push({ op: 'finalize' });
  return ops;
}

/** The seed of one actor's PRNG: the run seed mixed with the actor index. */
export function actorSeed(seed: number, actor: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(actor + 1, 0x85ebca6b)) >>> 0;
}

