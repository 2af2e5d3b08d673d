/**
 * The operations actors perform, in uAPI terms: what a guest access, an ioctl or a host
 * mm event asks of KVM, and what comes back. Scenarios and workload generators produce
 * them; the engines hand them to actors in order.
 */

import type { Errno } from './types.js';
import type { HostEventKind, HostMemory } from './host.js';

export type AccessKind = 'read' | 'write' | 'exec';

/** A guest memory access by a vCPU (hardware does it; a miss is an EPT violation). */
export interface AccessOp {
  readonly op: 'access';
  readonly gpa: number;
  readonly access: AccessKind;
  /** SNP/TDX: the guest's C-bit / shared bit; default from the memory attributes. */
  readonly private?: boolean;
}

/** KVM_PRE_FAULT_MEMORY (struct kvm_pre_fault_memory); u64 fields as bigint. */
export interface PreFaultOp {
  readonly op: 'pre_fault';
  readonly gpa: bigint;
  readonly size: bigint;
  readonly flags: bigint;
  /** Repeat while it returns 0 with size left, or fails with EINTR/EAGAIN (the selftest loop). */
  readonly untilDone: boolean;
}

/** KVM_MAP_MEMORY (RFC v1, struct kvm_memory_mapping). */
export interface MapMemoryOp {
  readonly op: 'map_memory';
  readonly baseGfn: bigint;
  readonly nrPages: bigint;
  readonly flags: bigint;
  readonly source: bigint;
  readonly untilDone: boolean;
}

/** KVM_SET_USER_MEMORY_REGION2 (size 0 deletes). */
export interface SetMemslotOp {
  readonly op: 'set_memslot';
  readonly slot: number;
  readonly gpa: bigint;
  readonly size: bigint;
  readonly flags: number;
  /** Host backing of new memory: 1 = 4K, 2 = 2M (THP or hugetlbfs), 3 = 1G (hugetlbfs). */
  readonly backingLevel: number;
  /** What backs new memory in the host (default 'anonymous': MAP_PRIVATE|MAP_ANONYMOUS, QEMU's default). */
  readonly hostMemory?: HostMemory;
  /** New memory is written before the guest runs (MAP_POPULATE, -mem-prealloc); default false. */
  readonly populated?: boolean;
}

/** KVM_SET_MEMORY_ATTRIBUTES */
export interface SetMemoryAttributesOp {
  readonly op: 'set_memory_attributes';
  readonly gpa: bigint;
  readonly size: bigint;
  readonly attributes: bigint;
  readonly flags: bigint;
}

/** A host mm event over the guest memory at [gpa, gpa + size) of the slot mapping it. */
export interface InvalidateOp {
  readonly op: 'invalidate';
  readonly gpa: number;
  readonly size: number;
  readonly kind: HostEventKind;
  /** mprotect only: the new protection ('r', 'rw' or 'none'). */
  readonly prot: 'r' | 'rw' | 'none';
}

/** KVM_GET_DIRTY_LOG for one slot. */
export interface GetDirtyLogOp {
  readonly op: 'get_dirty_log';
  readonly slot: number;
}

/** KVM_CLEAR_DIRTY_LOG: clear (and write-protect) the dirty pages of [first_page, first_page + num_pages) of a slot. */
export interface ClearDirtyLogOp {
  readonly op: 'clear_dirty_log';
  readonly slot: number;
  readonly firstPage: bigint;
  readonly numPages: bigint;
}

/** A signal to a vCPU thread (signal_pending for its next pre-fault check). */
export interface SignalOp {
  readonly op: 'signal';
  readonly vcpu: number;
}

/**
 * KVM_SEV_SNP_LAUNCH_UPDATE: kvm_gmem_populate() over [gpa, gpa + size), one page at a time
 * through sev_gmem_post_populate() (snp-populate.ts).
 */
export interface SnpLaunchUpdateOp {
  readonly op: 'snp_launch_update';
  readonly gpa: number;
  readonly size: number;
}

/** KVM_SEV_SNP_LAUNCH_FINISH / KVM_TDX_FINALIZE_VM: pre-fault becomes legal. */
export interface FinalizeOp {
  readonly op: 'finalize';
}

/**
 * kvm_vm_dead(): not an ioctl — what KVM_BUG_ON() or a fatal error (a failed TDX
 * SEAMCALL) does to the VM: vm_dead set, KVM_REQ_VM_DEAD on every vCPU (vm-dead.ts).
 */
export interface VmDeadOp {
  readonly op: 'vm_dead';
}

/**
 * KVM_SET_SREGS on the vCPU thread changing CR0.WP (as mmu_stress_test's host does):
 * kvm_mmu_reset_context() → kvm_mmu_unload(); the next KVM_RUN loads a root again.
 */
export interface MmuResetOp {
  readonly op: 'mmu_reset';
}

/**
 * A vCPU's guest accesses as compact arrays (a benchmark workload of millions of pages):
 * the engine's op queue hands them to the vCPU one AccessOp at a time and records one
 * aggregate result when the last is done. The model never sees this op itself.
 */
export interface AccessStreamOp {
  readonly op: 'access_stream';
  /** Guest frame numbers, in order. */
  readonly gfns: Uint32Array;
  /** 0 read, 1 write, 2 exec, per access. */
  readonly kinds: Uint8Array;
}

export type VcpuOp = AccessOp | PreFaultOp | MapMemoryOp | MmuResetOp;
export type VmmOp = SetMemslotOp | SetMemoryAttributesOp | GetDirtyLogOp | ClearDirtyLogOp | SignalOp | FinalizeOp | VmDeadOp | SnpLaunchUpdateOp;
export type HostOp = InvalidateOp;
export type Op = VcpuOp | VmmOp | HostOp | AccessStreamOp;

/** What an op returned. */
export type OpResult =
  | { readonly op: 'access'; readonly ok: boolean; readonly errno: Errno | null; readonly emulated: boolean; readonly exits: number }
  | { readonly op: 'access_stream'; readonly accesses: number; readonly failed: number; readonly emulated: number; readonly exits: number; readonly errno: Errno | null }
  | { readonly op: 'pre_fault'; readonly ret: number; readonly errno: Errno | null; readonly gpa: string; readonly size: string; readonly calls: number }
  | { readonly op: 'map_memory'; readonly ret: number; readonly errno: Errno | null; readonly baseGfn: string; readonly nrPages: string; readonly source: string; readonly calls: number }
  | { readonly op: 'set_memslot'; readonly ret: number; readonly errno: Errno | null; readonly change: string }
  | { readonly op: 'set_memory_attributes'; readonly ret: number; readonly errno: Errno | null }
  | { readonly op: 'invalidate'; readonly ret: 0; readonly pagesFreed: number }
  | { readonly op: 'get_dirty_log'; readonly ret: number; readonly errno: Errno | null; readonly dirty: string[] }
  | { readonly op: 'clear_dirty_log'; readonly ret: number; readonly errno: Errno | null; readonly cleared: string[] }
  | { readonly op: 'signal'; readonly ret: 0 }
  | { readonly op: 'mmu_reset'; readonly ret: number; readonly errno?: Errno; readonly rootDropped: boolean }
  | { readonly op: 'vm_dead'; readonly ret: 0 }
  | { readonly op: 'finalize'; readonly ret: number; readonly errno: Errno | null }
  | { readonly op: 'snp_launch_update'; readonly ret: number; readonly errno: Errno | null; readonly pages: number };
