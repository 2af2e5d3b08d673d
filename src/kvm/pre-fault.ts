/**
 * KVM_PRE_FAULT_MEMORY and KVM_MAP_MEMORY: the data plane of machines/pre-fault.machine.ts.
 *
 * Merged form (6.11+, reference §1.3-1.5): flags must be 0; gpa and size page aligned and
 * gpa + size must not wrap (size 0 included) — else EINVAL before anything else; per chunk
 * a read fault with prefetch = true and PFERR_PRIVATE_ACCESS iff the chunk's first gfn is
 * private; the chunk ends at the mapped level's boundary, clipped to size. Returns 0 when
 * any byte was processed in this call, else the error; gpa/size are always copied back.
 *
 * RFC form (KVM_MAP_MEMORY v1, 2024-03): flags WRITE|EXEC|USER|PRIVATE (bits 0-3; PRIVATE
 * needs a VM with private memory), source page aligned, nr_pages > 0 and base_gfn +
 * nr_pages not wrapping; each call maps from base_gfn and advances base_gfn/nr_pages/source
 * by the mapped huge page; a signal is -ERESTARTSYS (EINTR to userspace); partial progress
 * ends in EAGAIN.
 */

import type { KvmActor } from './actor.js';
import { G, ACTOR, actorWord } from './layout.js';
import { PAGE_SIZE_BIG, U64_MAX } from './limits.js';
import { kvmMemIsPrivate } from './mem-attrs.js';
import type { MapMemoryOp, PreFaultOp } from './ops.js';
import { kvmMmuDoPageFaultInit } from './page-fault.js';
import { actorSrcuReadUnlock, srcuReadLock } from './srcu.js';
import { pagesPerLevel, type Errno } from './types.js';
import { isGfnAlias } from './vm-types.js';
import * as S from './shm.js';

const PAGE = PAGE_SIZE_BIG;

export const KVM_MEMORY_MAPPING_FLAG_WRITE = 1n << 0n;
export const KVM_MEMORY_MAPPING_FLAG_EXEC = 1n << 1n;
export const KVM_MEMORY_MAPPING_FLAG_USER = 1n << 2n;
export const KVM_MEMORY_MAPPING_FLAG_PRIVATE = 1n << 3n;
const RFC_FLAGS = KVM_MEMORY_MAPPING_FLAG_WRITE | KVM_MEMORY_MAPPING_FLAG_EXEC | KVM_MEMORY_MAPPING_FLAG_USER | KVM_MEMORY_MAPPING_FLAG_PRIVATE;

/** The errno a pre-fault call may return, per form (reference §1.5; RFC: EAGAIN for partial progress). */
export const PRE_FAULT_ERRNOS: readonly Errno[] = ['EINVAL', 'ENOENT', 'EINTR', 'EAGAIN', 'EFAULT', 'EOPNOTSUPP', 'EIO', 'ENOMEM'];

/** copy_from_user() of the ioctl struct into the actor's in-flight ioctl. */
export function beginPreFaultIoctl(a: KvmActor, op: PreFaultOp | MapMemoryOp): void {
  const p = a.prefault;
  p.r = null; p.processed = false; p.finished = false; p.ret = null;
  p.write = false; p.exec = false; p.isPrivate = false;
  if (op.op === 'pre_fault') {
    p.form = 'pre_fault'; p.setRange(op.gpa, op.size); p.flags = op.flags;
  } else {
    p.form = 'map_memory'; p.baseGfn = op.baseGfn; p.nrPages = op.nrPages; p.flags = op.flags; p.source = op.source;
  }
  p.calls++;
  a.stats.preFaultCalls++;
}

export function invalidFlags(a: KvmActor): boolean {
  const p = a.prefault;
  if (p.form === 'pre_fault') return p.flags !== 0n;
  if ((p.flags & ~RFC_FLAGS) !== 0n) return true;
  return (p.flags & KVM_MEMORY_MAPPING_FLAG_PRIVATE) !== 0n && !a.vm.hasPrivateMem;
}

export function invalidRange(a: KvmActor): boolean {
  const p = a.prefault;
  if (p.form === 'pre_fault') {
    const gpa = p.gpa;
    const size = p.size;
    if (gpa % PAGE !== 0n || size % PAGE !== 0n) return true;
    const end = (gpa + size) & U64_MAX;
    return end <= gpa;
  }
  if (p.source % PAGE !== 0n || p.nrPages === 0n) return true;
  return ((p.baseGfn + p.nrPages) & U64_MAX) <= p.baseGfn;
}

export function rangeDone(a: KvmActor): boolean {
  const p = a.prefault;
  return p.form === 'pre_fault' ? p.sizeZero : p.nrPages === 0n;
}

export function signalPending(a: KvmActor): boolean {
  return S.load(a.vm.i32, actorWord(a.vm.layout, a.actor, ACTOR.SIGNAL)) !== 0;
}

export function preFaultNotAllowed(a: KvmActor): boolean {
  return a.prefault.form === 'pre_fault' && S.load(a.vm.i32, G.PRE_FAULT_ALLOWED) === 0;
}

export function ioctlSrcuReadLock(a: KvmActor): void {
  srcuReadLock(a.vm, a.actor);
}

export function ioctlSrcuReadUnlock(a: KvmActor): void {
  actorSrcuReadUnlock(a);
}

/**
 * The chunk's gfn as a number: a u64 gpa's gfn is below 2^52, exact in a double. Above
 * kvm_mmu_max_gfn() the fault emulates (kvm_handle_noslot_fault) and the call is ENOENT.
 */
function chunkGfn(a: KvmActor): number {
  const p = a.prefault;
  return p.form === 'pre_fault' ? p.gfn : Number(p.baseGfn);
}

/**
 * kvm_arch_vcpu_pre_fault_memory(): `if (kvm_is_gfn_alias(kvm, gpa_to_gfn(range->gpa)))
 * return -EINVAL;` after the pre_fault_allowed check (8046d29dde17, 6.16 — the release TDX
 * arrived in, so every TDX VM has it): userspace may only pass the addresses its memslots
 * use. Per chunk, so a range that runs into the alias half stops there.
 */
export function gfnIsAlias(a: KvmActor): boolean {
  return a.prefault.form === 'pre_fault' && isGfnAlias(a.vm.type, a.vm.rootLevel, chunkGfn(a));
}

/** The fault's error code: merged form — a read, private iff the chunk's first gfn is; RFC — from flags. */
export function setErrorCode(a: KvmActor): void {
  const p = a.prefault;
  a.mmuLoadErrno = null;
  if (p.form === 'pre_fault') {
    p.isPrivate = a.vm.hasPrivateMem && kvmMemIsPrivate(a.vm, chunkGfn(a));
    p.write = false;
    p.exec = false;
    return;
  }
  p.write = (p.flags & KVM_MEMORY_MAPPING_FLAG_WRITE) !== 0n;
  p.exec = (p.flags & KVM_MEMORY_MAPPING_FLAG_EXEC) !== 0n;
  p.isPrivate = (p.flags & KVM_MEMORY_MAPPING_FLAG_PRIVATE) !== 0n;
}

/** kvm_tdp_map_page() → kvm_mmu_do_page_fault(vcpu, gpa, error_code, prefetch = true). */
export function beginPrefetchFault(a: KvmActor): void {
  const p = a.prefault;
  kvmMmuDoPageFaultInit(a, chunkGfn(a), p.write, p.exec, false, true, p.isPrivate);
}

export function faultRetry(a: KvmActor): boolean {
  return a.fault.errno === null && a.fault.ret === 'retry';
}

export function faultMapped(a: KvmActor): boolean {
  return a.fault.errno === null && (a.fault.ret === 'fixed' || a.fault.ret === 'spurious');
}

export function faultEmulate(a: KvmActor): boolean {
  return a.fault.errno === null && a.fault.ret === 'emulate';
}

export function faultErrno(a: KvmActor): boolean {
  return a.fault.errno !== null;
}

/**
 * The chunk one call covers: merged form — up to the end of the mapped level's page,
 * clipped to size (`min(range->size, end - range->gpa)`); RFC — the mapped huge page.
 */
export function advanceRange(a: KvmActor): void {
  const p = a.prefault;
  if (p.form === 'pre_fault') {
    // In pages (validation made gpa and size page multiples): exact in doubles.
    const hpages = pagesPerLevel(a.fault.goalLevel);
    const end = Math.floor(p.gfn / hpages) * hpages + hpages;
    const r = end - p.gfn < p.pages ? end - p.gfn : p.pages;
    p.pages -= r;
    p.gfn += r;
    a.stats.preFaultPages += r;
  } else {
    const pages = BigInt(pagesPerLevel(a.fault.goalLevel));
    let mapped = pages - (p.baseGfn % pages);
    if (mapped > p.nrPages) mapped = p.nrPages;
    p.baseGfn += mapped;
    p.nrPages -= mapped;
    p.source += mapped * PAGE;
    a.stats.preFaultPages += Number(mapped);
  }
  p.processed = true;
}

export function setPreFaultResult(a: KvmActor, errno: Errno): void {
  a.prefault.r = errno;
}

export function propagateFaultErrno(a: KvmActor): void {
  a.prefault.r = a.fault.errno;
}

/** kvm_arch_vcpu_pre_fault_memory() returns kvm_mmu_reload()'s error. */
export function propagateMmuLoadErrno(a: KvmActor): void {
  a.prefault.r = a.mmuLoadErrno;
  a.mmuLoadErrno = null;
}

/** `return full_size == range->size ? r : 0;` (merged) / `added && nr_pages ? -EAGAIN : r` (RFC). */
export function finishIoctl(a: KvmActor): void {
  const p = a.prefault;
  p.finished = true;
  if (p.form === 'pre_fault') {
    p.ret = p.processed ? null : p.r;
  } else {
    p.ret = p.processed && p.nrPages > 0n ? 'EAGAIN' : p.processed ? null : p.r;
  }
}

/** The ioctl's result: errno or null (0). Validation failures never reach finishIoctl. */
export function preFaultIoctlResult(a: KvmActor): Errno | null {
  const p = a.prefault;
  return p.finished ? p.ret : p.r;
}

/**
 * Back in userspace after one call: record the result, or — for `until_done` — loop as
 * the selftest does: again while the call returned 0 with size left, or failed with EINTR
 * (the signal has been delivered, so it is no longer pending) or EAGAIN (6.18).
 * Returns the per-call record for the conformance check: size before/after and the errno.
 */
export function completePreFaultIoctl(a: KvmActor): { errno: Errno | null; progressed: boolean; again: boolean } {
  const p = a.prefault;
  const errno = preFaultIoctlResult(a);
  const op = a.currentVcpuOp();
  if (op === null || (op.op !== 'pre_fault' && op.op !== 'map_memory')) throw new Error(`${a.name}: ioctl completed without an ioctl op`);
  const left = p.form === 'pre_fault' ? p.size : p.nrPages;
  const before = op.op === 'pre_fault' ? op.size : op.nrPages;
  const progressed = left < before;
  if (errno === 'EINTR') S.store(a.vm.i32, actorWord(a.vm.layout, a.actor, ACTOR.SIGNAL), 0);
  if (errno !== null) a.stats.preFaultErrnos.set(errno, (a.stats.preFaultErrnos.get(errno) ?? 0) + 1);
  const again = op.untilDone && ((errno === null && left > 0n) || errno === 'EINTR' || errno === 'EAGAIN');
  return { errno, progressed, again };
}
