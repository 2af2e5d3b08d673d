/**
 * An actor's event emission: the codes its ring records carry (fault outcomes, errnos,
 * retry reasons, memslot changes), the record(s) for a completed op, and the counters it
 * batches — faults by outcome, retries by reason, accesses, CAS failures, zaps, flushes —
 * sent as one record per kind every tick (a record per fault would make the main thread
 * the bottleneck).
 */

import { gfnHi, gfnLo } from '../kvm/address-space.js';
import type { ActorStats } from '../kvm/actor.js';
import { HOST_EVENT_KINDS } from '../kvm/host.js';
import { ACTOR_ACCESS_BATCH, PAGE_SIZE } from '../kvm/limits.js';
import type { Op, OpResult } from '../kvm/ops.js';
import type { Errno } from '../kvm/types.js';
import { EV, type RingWriter } from './control.js';

/** Outcome indices of EV.FAULT records. */
export const FAULT_OUTCOMES = ['fixed', 'spurious', 'retry', 'emulate', 'write_protected', 'invalid', 'continue'] as const;
export const ERRNOS: readonly Errno[] = ['EINVAL', 'ENOENT', 'EINTR', 'EAGAIN', 'EIO', 'EOPNOTSUPP', 'ENOMEM', 'EFAULT', 'EEXIST', 'EBUSY'];
export const RETRY_REASON_LIST = ['invalidate-precheck', 'invalidate-postcheck', 'invalid-slot', 'obsolete-root', 'stale', 'frozen', 'cas-failed'] as const;
export const MEMSLOT_CHANGES = ['create', 'delete', 'move', 'flags_only', 'noop', 'none'] as const;

export function faultOutcomeCode(ret: string, errno: Errno | null): number {
  if (errno !== null) return FAULT_OUTCOMES.length + ERRNOS.indexOf(errno);
  return FAULT_OUTCOMES.indexOf(ret as (typeof FAULT_OUTCOMES)[number]);
}

export function faultOutcomeName(code: number): string {
  return code < FAULT_OUTCOMES.length ? FAULT_OUTCOMES[code]! : `-${ERRNOS[code - FAULT_OUTCOMES.length] ?? '?'}`;
}

/** An errno as a record field: its index + 1, 0 for success. */
export const errnoCode = (e: Errno | null): number => (e === null ? 0 : ERRNOS.indexOf(e) + 1);

/** errnoCode() read back: null for success. */
export const errnoName = (code: number): string | null => (code === 0 ? null : ERRNOS[code - 1] ?? `errno#${code}`);

/** The ring record(s) for a completed op. */
export function emitOp(ring: RingWriter, op: Op, r: OpResult, preFaultPages: number): void {
  switch (r.op) {
    case 'access':
      if (!r.ok) {
        const gfn = op.op === 'access' ? Math.floor(op.gpa / PAGE_SIZE) : 0;
        ring.emit(EV.ACCESS_FAILED, Math.max(0, ERRNOS.indexOf(r.errno ?? 'EFAULT')), gfnLo(gfn), gfnHi(gfn));
      }
      return;
    case 'pre_fault':
    case 'map_memory':
      ring.emit(EV.PRE_FAULT, 0, errnoCode(r.errno), preFaultPages, r.calls);
      return;
    case 'invalidate':
      ring.emit(EV.INVALIDATION, op.op === 'invalidate' ? HOST_EVENT_KINDS.indexOf(op.kind) : 0, r.pagesFreed);
      return;
    case 'set_memslot':
      ring.emit(EV.MEMSLOT, Math.max(0, MEMSLOT_CHANGES.indexOf(r.change as (typeof MEMSLOT_CHANGES)[number])), errnoCode(r.errno));
      return;
    case 'set_memory_attributes':
      ring.emit(EV.ATTRIBUTES, 0, errnoCode(r.errno), op.op === 'set_memory_attributes' && op.attributes !== 0n ? 1 : 0);
      return;
    case 'get_dirty_log':
      ring.emit(EV.DIRTY_LOG, 0, errnoCode(r.errno), r.dirty.length);
      return;
    case 'clear_dirty_log':
      ring.emit(EV.DIRTY_LOG, 1, errnoCode(r.errno), r.cleared.length);
      return;
    case 'signal':
    case 'finalize':
    case 'snp_launch_update':
    case 'vm_dead':
    case 'mmu_reset':
      return;
  }
}

/** A counter of the actor's statistics sent as a delta record (EV type), and what was sent so far. */
type DeltaCounter = 'casFailures' | 'zaps' | 'flushes' | 'cowBreaks';
const DELTAS: readonly (readonly [DeltaCounter, number])[] = [['casFailures', EV.CAS_FAILED], ['zaps', EV.ZAPS], ['flushes', EV.FLUSHES], ['cowBreaks', EV.COW_BREAKS]];

/** One actor's batched counters: what it counted since the last flush, sent as one record per kind. */
export class CounterBatch {
  readonly faults = new Int32Array(FAULT_OUTCOMES.length + ERRNOS.length);
  readonly retries = new Int32Array(RETRY_REASON_LIST.length);
  private sentAccesses = 0;
  private sentHits = 0;
  private readonly sent: Record<DeltaCounter, number> = { casFailures: 0, zaps: 0, flushes: 0, cowBreaks: 0 };

  constructor(private readonly ring: RingWriter, private readonly stats: ActorStats) {}

  /** A fault ended: count it by outcome, and a retry by reason. */
  faultDone(ret: string, errno: Errno | null, retryReason: string | null): void {
    this.faults[faultOutcomeCode(ret, errno)]!++;
    if (retryReason !== null && errno === null && ret === 'retry') this.retries[RETRY_REASON_LIST.indexOf(retryReason as (typeof RETRY_REASON_LIST)[number])]!++;
  }

  /** Sends what was counted; accesses only in batches unless `force`. */
  flush(force: boolean): void {
    emitCounts(this.ring, EV.FAULT, this.faults);
    emitCounts(this.ring, EV.RETRY, this.retries);
    const s = this.stats;
    if (s.accesses - this.sentAccesses >= (force ? 1 : ACTOR_ACCESS_BATCH)) {
      this.ring.emit(EV.ACCESSES, 0, s.accesses - this.sentAccesses, s.tlbHits - this.sentHits);
      this.sentAccesses = s.accesses;
      this.sentHits = s.tlbHits;
    }
    for (const [k, type] of DELTAS) {
      if (s[k] !== this.sent[k]) { this.ring.emit(type, 0, s[k] - this.sent[k]); this.sent[k] = s[k]; }
    }
  }
}

/** One record per non-zero count (code = index), then the counts reset. */
function emitCounts(ring: RingWriter, type: number, counts: Int32Array): void {
  for (let i = 0; i < counts.length; i++) if (counts[i] !== 0) { ring.emit(type, i, counts[i]!); counts[i] = 0; }
}
