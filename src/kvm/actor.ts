/**
 * The kernel-side state of one thread of the model: a vCPU thread (struct kvm_vcpu and
 * its in-flight struct kvm_page_fault and ioctl), the host mm (the notifier range being
 * invalidated) or the VMM (the memslot / attribute / dirty-log ioctl in flight). The named
 * guards and actions of the machines operate on it; the engines own one per actor.
 */

import type { FindingSink, SpteRef, ViolationKind } from './findings.js';
import { HostPageCache, type GupResult, type HostChangeKind, type HostMemory } from './host.js';
import { SlotInfo } from './memslots.js';
import { MmuSeq } from './mmu-invalidate.js';
import type { AccessOp, Op, OpResult, VcpuOp } from './ops.js';
import type { FindingDetail, KvmThread } from './thread.js';
import { TdpIter, newLeafRef, type LeafRef } from './tdp-iter.js';
import type { Errno } from './types.js';
import type { Vm } from './vm.js';
import * as S from './shm.js';

/** RET_PF_* outcomes of a fault (mmu_internal.h), plus the errno path (r < 0). */
export type RetPf = 'continue' | 'retry' | 'emulate' | 'write_protected' | 'invalid' | 'fixed' | 'spurious';

export type RetryReason = 'invalidate-precheck' | 'invalidate-postcheck' | 'invalid-slot' | 'obsolete-root' | 'stale' | 'frozen' | 'cas-failed';
export const RETRY_REASONS: readonly RetryReason[] = ['invalidate-precheck', 'invalidate-postcheck', 'invalid-slot', 'obsolete-root', 'stale', 'frozen', 'cas-failed'];

/** struct kvm_page_fault */
export class KvmPageFault {
  gfn = 0;
  write = false;
  exec = false;
  /** The SPTE was present (permission fault): fast_page_fault may apply. */
  present = false;
  prefetch = false;
  isPrivate = false;
  readonly slot = new SlotInfo();
  /** The mmu_invalidate_seq snapshot (unsigned long). */
  /** fault->mmu_seq: the snapshot's halves. */
  readonly mmuSeq = new MmuSeq();
  pfn = 0;
  mapWritable = false;
  hostLevel = 1;
  goalLevel = 1;
  /** Table linked or split in by this fault (from the vCPU cache), 0 if none. */
  sp = 0;
  /** The installed SPTE replaced a present one (needs kvm_flush_remote_tlbs_gfn). */
  replacedPresent = false;
  /** This fault broke CoW of the zero page (its retry is progress, not a spin). */
  cowBroken = false;
  /** make_spte() result computed by the `target` step's comparison, reused by its install. */
  newLo = 0;
  newHi = 0;
  newValid = false;
  ret: RetPf = 'continue';
  retryReason: RetryReason | null = null;
  errno: Errno | null = null;

  reset(gfn: number, write: boolean, exec: boolean, present: boolean, prefetch: boolean, isPrivate: boolean): void {
    this.gfn = gfn; this.write = write; this.exec = exec; this.present = present; this.prefetch = prefetch; this.isPrivate = isPrivate;
    this.slot.clear();
    this.mmuSeq.lo = 0; this.mmuSeq.hi = 0; this.pfn = 0; this.mapWritable = false; this.hostLevel = 1; this.goalLevel = 1; this.sp = 0;
    this.replacedPresent = false; this.cowBroken = false; this.newValid = false; this.ret = 'continue'; this.retryReason = null; this.errno = null;
  }
}

/** The pre-fault ioctl in flight (either uAPI form), u64 fields as bigint. */
export class PreFaultIoctl {
  form: 'pre_fault' | 'map_memory' = 'pre_fault';
  /**
   * Merged form: the range as 4K pages in numbers — the chunk's first gfn and the whole
   * pages left (a u64 gpa's gfn and a u64 size's page count are below 2^52: exact in a
   * double) — so the per-chunk maths does no BigInt arithmetic. `gpa` and `size` are the
   * struct's u64 fields, rebuilt from them (with the sub-page bytes the call was given,
   * which validation rejects) when read.
   */
  gfn = 0;
  pages = 0;
  private gpaTail = 0n;
  private sizeTail = 0n;
  /** sizeTail is 0 (rangeDone asks once per chunk: no BigInt comparison there). */
  private sizeTailZero = true;
  flags = 0n;
  /** RFC form: the struct's own fields. */
  baseGfn = 0n;
  nrPages = 0n;
  source = 0n;
  /** Error code of the fault: write/exec/private (RFC flags; merged form: private from attributes). */
  write = false;
  exec = false;
  isPrivate = false;
  /** r of the loop: 0 or an errno. */
  r: Errno | null = null;
  processed = false;
  finished = false;
  /** The ioctl's return: 0 or the errno. */
  ret: Errno | null = null;
  calls = 0;

  /** copy_from_user() of the merged form's range. */
  setRange(gpa: bigint, size: bigint): void {
    this.gfn = Number(gpa / PAGE_BIG);
    this.pages = Number(size / PAGE_BIG);
    this.gpaTail = gpa % PAGE_BIG;
    this.sizeTail = size % PAGE_BIG;
    this.sizeTailZero = this.sizeTail === 0n;
  }

  /** range->gpa */
  get gpa(): bigint {
    return BigInt(this.gfn) * PAGE_BIG + this.gpaTail;
  }

  /** range->size */
  get size(): bigint {
    return BigInt(this.pages) * PAGE_BIG + this.sizeTail;
  }

  /** range->size is 0. */
  get sizeZero(): boolean {
    return this.pages === 0 && this.sizeTailZero;
  }
}

const PAGE_BIG = 4096n;

/** A host event (notifier) or an attribute change in flight. */
export class InvalidationOp {
  isAttr = false;
  kind: HostChangeKind = 'migrate';
  /**
   * A CoW break run by a vCPU inside its page fault: the fault already holds kvm->srcu, and
   * the notifier's srcu_read_lock() nests inside that older section (the model's one
   * epoch word per actor keeps the outer one).
   */
  inFault = false;
  /** Host pages the mm changes. */
  hvaStart = 0;
  hvaEnd = 0;
  /**
   * The notifier's range: the changed pages widened to whole huge backing blocks, because
   * the mm splits a THP/hugetlb mapping first and that split invalidates the whole block
   * (__split_huge_pmd → mmu_notifier_invalidate_range_start over HPAGE_PMD_SIZE).
   */
  mnHvaStart = 0;
  mnHvaEnd = 0;
  prot = 0;
  /** Gfn ranges [start, end) of the memslots hit, flattened pairs. */
  ranges: number[] = [];
  /** Attribute change: [start, end) gfns, the value, validation inputs. */
  attrStart = 0;
  attrEnd = 0;
  attrs = 0;
  attrGpa = 0n;
  attrSize = 0n;
  attrFlags = 0n;
  attrValue = 0n;
  /** The head/tail hugepage widening of 9129633d568e (added to the range when not skipped). */
  extraRanges: number[] = [];
  oldPfns: number[] = [];
  flush = false;
  errno: Errno | null = null;
}

/** A range walk over roots (zap of leafs, write-protect, zap of invalidated roots). */
export class RangeCursor {
  roots: number[] = [];
  rootIdx = 0;
  ranges: number[] = [];
  rangeIdx = 0;
  gfn = 0;
  /** The leaf (or top-level SPTE) found for the next step, valid when `pending`. */
  pending = false;
  readonly leaf: LeafRef = newLeafRef();
  /** Top-level index for invalidated-root zaps. */
  topIdx = 0;
  /** The pending SPTE is frozen by this actor (a zap between its freeze and its clear). */
  frozen = false;
  /** Leafs handled since the walk started or last yielded (tdp_mmu_iter_cond_resched). */
  sinceYield = 0;
}

export type MemslotChange = 'create' | 'delete' | 'move' | 'flags_only' | 'noop';

export class MemslotUpdateOp {
  id = 0;
  flags = 0;
  gpa = 0n;
  size = 0n;
  backingLevel = 1;
  hostMemory: HostMemory = 'anonymous';
  populated = false;
  change: MemslotChange = 'noop';
  readonly old = new SlotInfo();
  readonly next = new SlotInfo();
  phase: 'invalidate' | 'final' = 'final';
  srcuTarget = 0;
  /** mn_invalidate_lock taken by the idle check, released by the swap of the same step. */
  mnLockHeld = false;
  errno: Errno | null = null;
}

export class DirtyLogOp {
  /** KVM_CLEAR_DIRTY_LOG (else KVM_GET_DIRTY_LOG). */
  clear = false;
  firstPage = 0n;
  numPages = 0n;
  /** Gfn range the collect loop covers: [start, end). */
  start = 0;
  end = 0;
  slot = 0;
  readonly info = new SlotInfo();
  /** The dirty gfn the next collect step handles, -1 when none is left. */
  current = -1;
  dirty: number[] = [];
  flush = false;
  errno: Errno | null = null;
}

/** KVM_SEV_SNP_LAUNCH_UPDATE in flight: the gfns left and the page in hand. */
export class SnpPopulateOp {
  /** Next gfn, end gfn (exclusive), and the guest_memfd index of `gfn`. */
  gfn = 0;
  end = 0;
  index = 0;
  pfn = 0;
  pages = 0;
  errno: Errno | null = null;
}

/** The RET_PF outcomes, by the index ActorStats counts them under. */
const RET_PFS: readonly RetPf[] = ['continue', 'retry', 'emulate', 'write_protected', 'invalid', 'fixed', 'spurious'];

/** Index of `ret` in RET_PFS: compares interned strings, no hashed lookup. */
function retPfIndex(ret: RetPf): number {
  switch (ret) {
    case 'continue': return 0;
    case 'retry': return 1;
    case 'emulate': return 2;
    case 'write_protected': return 3;
    case 'invalid': return 4;
    case 'fixed': return 5;
    case 'spurious': return 6;
  }
}

/** Counters per actor (no shared counter sits on the fault path). */
export class ActorStats {
  accesses = 0;
  tlbHits = 0;
  exits = 0;
  faults = 0;
  /** Faults by outcome, keys in the order first seen; RET_PF counts since the last read are in `retCounts`. */
  private readonly byRet = new Map<string, number>();
  /** RET_PF outcomes counted by index (a fault ends every ~16 steps: no string-keyed update per fault). */
  private readonly retCounts = new Float64Array(RET_PFS.length);
  readonly retriesByReason = new Map<string, number>();
  casFailures = 0;
  zaps = 0;
  flushes = 0;
  /** CoW breaks of the zero page by this vCPU's write faults (gup with FOLL_WRITE). */
  cowBreaks = 0;
  preFaultCalls = 0;
  preFaultPages = 0;
  /** Pre-fault / map-memory calls that returned an error, by errno (EAGAIN, ENOENT, EINTR, …). */
  readonly preFaultErrnos = new Map<string, number>();
  lockWaits = 0;

  /** Faults by RET_PF outcome, or `-errno` for a fault that failed, in the order first seen. */
  get faultsByRet(): Map<string, number> {
    const counts = this.retCounts;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] === 0) continue;
      const k = RET_PFS[i]!;
      this.byRet.set(k, this.byRet.get(k)! + counts[i]!);
      counts[i] = 0;
    }
    return this.byRet;
  }

  /** Counts a finished fault under its outcome: `-errno` when it failed, else its RET_PF. */
  countFaultRet(ret: RetPf, errno: Errno | null): void {
    if (errno !== null) {
      const k = `-${errno}`;
      this.byRet.set(k, (this.byRet.get(k) ?? 0) + 1);
      return;
    }
    const i = retPfIndex(ret);
    // The key goes in at its first sighting, so the map keeps first-seen order.
    if (this.retCounts[i] === 0 && !this.byRet.has(ret)) this.byRet.set(ret, 0);
    this.retCounts[i]++;
  }
}

/** Where the actor's ops come from and where results go (the engine implements it). */
export interface OpQueue {
  peek(): Op | null;
  /** Records the result of the op at the head and removes it. */
  complete(result: OpResult): void;
  /** Replaces the op at the head (userspace re-issuing an ioctl with the struct KVM copied back). */
  replaceHead(op: Op): void;
}

export class KvmActor implements KvmThread {
  readonly name: string;
  readonly isVcpu: boolean;
  /** The word this actor waits on after a wait action (-1 = not waiting), with the value it saw. */
  blockWord = -1;
  blockValue = 0;
  blockReason = '';
  readonly fault = new KvmPageFault();
  readonly iter = new TdpIter();
  readonly leaf: LeafRef = newLeafRef();
  readonly gup: GupResult = { pfn: 0, writable: false, level: 1, cow: false };
  /** This thread's stock of free host pages (per-CPU page lists). */
  readonly hostPages = new HostPageCache();
  readonly prefault = new PreFaultIoctl();
  readonly inval = new InvalidationOp();
  readonly memslot = new MemslotUpdateOp();
  readonly dirty = new DirtyLogOp();
  readonly populate = new SnpPopulateOp();
  readonly cursor = new RangeCursor();
  readonly stats = new ActorStats();
  /**
   * vcpu->last_used_slot: the memslot of the previous lookup, valid for the memslot set it
   * came from (active index and generation: every swap changes one of them).
   */
  readonly lastSlot = new SlotInfo();
  lastSlotSet = -1;
  lastSlotGen = -1;
  /** The error of the last kvm_mmu_load() (-ENOMEM when the page-table caches could not be topped up), until consumed. */
  mmuLoadErrno: Errno | null = null;
  /** The access being retried by hardware, and its exits so far. */
  accessExits = 0;
  /**
   * accessExits when a fault of this access last broke CoW: the exit after it is the
   * retry the CoW's invalidation asked for, not a spin (see countFaultDone).
   */
  accessExitsAtCow = 0;
  /** The previous hardware walk found a present SPTE (so the EPT violation is a permission fault). */
  lastWalkPresent = false;
  /** The previous hardware walk ended at an MMIO SPTE on a shared access: an EPT misconfig, not a violation. */
  lastWalkMmio = false;
  /**
   * The vCPU's MMIO info (vcpu->arch.mmio_gfn, mmio_gen): a gfn last emulated as MMIO and
   * the memslot generation it was cached at; mmio_gfn 0 is "none".
   */
  mmioGfn = 0;
  mmioGen = -1;
  /** What get_mmio_spte() read for the MMIO exit in flight (low and high words). */
  mmioLo = 0;
  mmioHi = 0;
  /** The state the current step started in, as an index into `stateLabels` (for findings). */
  stepLabel = -1;
  /** `machine: state` names by label index, set by the engine. */
  stateLabels: readonly string[] = [];
  step = -1;
  /** Set by an engine that keeps SPTE provenance (who wrote each SPTE last, at which step). */
  spteWriteHook: ((sptep: number, a: KvmActor) => void) | null = null;

  /** `machine: state` the current step started in. */
  get transition(): string {
    return this.stateLabels[this.stepLabel] ?? '';
  }

  constructor(readonly vm: Vm, readonly actor: number, readonly queue: OpQueue, readonly sink: FindingSink) {
    this.name = vm.actorName(actor);
    this.isVcpu = actor < vm.vcpus;
  }

  report(kind: ViolationKind, message: string, detail: FindingDetail = {}): void {
    const v = {
      kind, message, actors: [this.name], step: this.step, transition: this.transition,
      ...(detail.gfn !== undefined ? { gfn: detail.gfn } : {}),
      ...(detail.pfn !== undefined ? { pfn: detail.pfn } : {}),
      ...(detail.sptes !== undefined ? { sptes: detail.sptes as SpteRef[] } : {}),
    };
    this.sink.report(v);
  }

  noteSpteWrite(sptep: number): void {
    if (this.spteWriteHook !== null) this.spteWriteHook(sptep, this);
  }

  /** Records that the step could not proceed until `word` changes from `value`. */
  waitOn(word: number, reason: string): void {
    this.blockWord = word;
    this.blockValue = S.load(this.vm.i32, word);
    this.blockReason = reason;
  }

  clearWait(): void {
    this.blockWord = -1;
    this.blockReason = '';
  }

  /** The vCPU's current access op, if the head of its queue is one. */
  currentAccess(): AccessOp | null {
    const op = this.queue.peek();
    return op !== null && op.op === 'access' ? op : null;
  }

  currentVcpuOp(): VcpuOp | null {
    const op = this.queue.peek();
    return op !== null && (op.op === 'access' || op.op === 'pre_fault' || op.op === 'map_memory' || op.op === 'mmu_reset') ? op : null;
  }

  bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}
