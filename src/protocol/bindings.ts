/**
 * Binds every machine's guard and action names to the model's functions (src/kvm). This
 * is the only place the names meet the code: the machines name, src/kvm does.
 */

import type { KvmActor } from '../kvm/actor.js';
import * as dl from '../kvm/get-dirty-log.js';
import * as inv from '../kvm/mmu-notifier.js';
import * as mmio from '../kvm/mmio.js';
import * as ms from '../kvm/set-memory-region.js';
import * as rh from '../kvm/recover-huge.js';
import type { OpResult } from '../kvm/ops.js';
import type { Errno } from '../kvm/types.js';
import { G } from '../kvm/layout.js';
import { VM_TYPES } from '../kvm/vm-types.js';
import * as pf from '../kvm/page-fault.js';
import * as pre from '../kvm/pre-fault.js';
import * as sp from '../kvm/snp-populate.js';
import { ioctlSrcuReadLock, ioctlSrcuReadUnlock } from '../kvm/pre-fault.js';
import * as vc from '../kvm/vcpu.js';
import * as vd from '../kvm/vm-dead.js';
import type { Impl } from './runner.js';
import * as S from '../kvm/shm.js';

type A = KvmActor;
const noop = (_a: A): void => {};

const pageFault: Impl<A> = {
  guards: {
    tryFastPageFault: pf.tryFastPageFault,
    fastPageFaultMarkPending: pf.fastPageFaultMarkPending,
    fastPageFaultResolved: pf.fastPageFaultResolved,
    tryTopupMemoryCaches: pf.tryTopupMemoryCaches,
    isPrefetch: pf.prefetchPuntsInvalidSlot,
    mmuInvalidateRetryGfnUnsafe: pf.faultRetryUnsafe,
    slotIsInvalid: pf.slotIsInvalid,
    noSlot: pf.noSlot,
    gfnAboveMaxGfn: pf.gfnAboveMaxGfn,
    isPrivateMismatch: pf.isPrivateMismatch,
    writeToReadonlySlot: pf.writeToReadonlySlot,
    isPrivate: (a) => a.fault.isPrivate,
    tryKvmGmemGetPfn: pf.tryKvmGmemGetPfn,
    tryHvaToPfn: pf.tryHvaToPfn,
    gupNeedsCowBreak: (a) => a.gup.cow,
    tryMmuReadLock: pf.tryReadLock,
    isObsoleteRoot: pf.faultIsObsoleteRoot,
    mmuSeqIsUnsignedLong: () => true,
    mmuInvalidateRetryGfn: pf.faultRetryLocked,
    mmuInvalidateRetryGfnIntSeq: pf.faultRetryLockedIntSeq,
    isFrozenSpte: pf.iterIsFrozen,
    atGoalLevel: pf.iterAtGoalLevel,
    isPresentNonLeaf: pf.iterIsPresentNonLeaf,
    isPresentLarge: pf.iterIsPresentLarge,
    tryTdpMmuLinkSp: pf.tryLinkSp,
    tryTdpMmuSplitHugePage: pf.trySplitHugePage,
    prefetchOverPresent: pf.prefetchOverPresent,
    isSpuriousAccess: pf.isSpuriousAccess,
    newSpteEqualsOld: pf.newSpteEqualsOld,
    tryTdpMmuSetSpteAtomic: pf.tryInstallSpte,
    replacedPresentSpte: (a) => a.fault.replacedPresent,
  },
  actions: {
    setRet: (a, p: { ret: Parameters<typeof pf.setRet>[1]; reason?: Parameters<typeof pf.setRet>[2] }) => pf.setRet(a, p.ret, p.reason),
    setErrno: (a, p: { errno: Errno }) => pf.setFaultErrno(a, p.errno),
    snapshotMmuSeq: pf.snapshotMmuSeq,
    computeGoalLevel: pf.computeGoalLevel,
    beginCowBreak: inv.beginCowBreak,
    waitMmuLock: pf.waitMmuLock,
    rcuReadLock: pf.faultRcuReadLock,
    tdpIterStart: pf.faultIterStart,
    tdpIterStepDown: pf.faultIterStepDown,
    tdpIterUseLinkedSp: pf.iterUseLinkedSp,
    freeUnusedSp: pf.freeUnusedSp,
    flushRemoteTlbsGfn: pf.flushRemoteTlbsGfn,
    rcuReadUnlock: pf.faultRcuReadUnlock,
    mmuReadUnlock: pf.faultReadUnlock,
    releasePfn: pf.releasePfn,
    vcpuCacheMmioInfo: mmio.faultCacheMmioInfo,
    fastPageFaultMarkDirty: pf.fastPageFaultMarkDirty,
  },
};

/** The result of an access completed by the MMU after `exits` exits. */
type AccessDone = Extract<OpResult, { op: 'access' }>;

/**
 * Results of accesses completed after 0-7 exits, shared: a result is never written after
 * it is stored, and a guest access stream completes one per access (no allocation each).
 */
const ACCESS_DONE: readonly AccessDone[] = Array.from({ length: 8 }, (_, exits) => Object.freeze({ op: 'access' as const, ok: true, errno: null, emulated: false, exits }));

function accessDone(exits: number): AccessDone {
  return exits < ACCESS_DONE.length ? ACCESS_DONE[exits]! : { op: 'access', ok: true, errno: null, emulated: false, exits };
}

/** The guest access in flight ends with `result`: the next one counts its exits from none. */
function endAccess(a: A, result: OpResult): void {
  a.queue.complete(result);
  a.accessExits = 0;
  a.accessExitsAtCow = 0;
}

/** The access ends emulated: as MMIO, or a write to a read-only memslot. */
function emulateAccess(a: A): void {
  endAccess(a, { op: 'access', ok: true, errno: null, emulated: true, exits: a.accessExits });
}

/** The vCPU's op bookkeeping: results of accesses and ioctls, and the selftest's loop invariant. */
function completeIoctl(a: A): void {
  const r = pre.completePreFaultIoctl(a);
  const failed = r.errno !== null;
  if (a.prefault.form === 'pre_fault' && r.progressed === failed) {
    a.report('pre-fault-conformance', `pre-fault call ${a.prefault.calls} returned ${failed ? `-${r.errno}` : '0'} ${r.progressed ? 'with' : 'without'} progress: after every call exactly one of "size decreased" or "return < 0" must hold`);
  }
  // KVM_MAP_MEMORY (RFC): progress ends in 0 (all done) or EAGAIN (some left); no progress is an error.
  if (a.prefault.form === 'map_memory' && (r.progressed ? !(r.errno === 'EAGAIN' || (r.errno === null && a.prefault.nrPages === 0n)) : !failed)) {
    a.report('pre-fault-conformance', `KVM_MAP_MEMORY call ${a.prefault.calls} returned ${failed ? `-${r.errno}` : '0'} ${r.progressed ? 'with' : 'without'} progress and ${a.prefault.nrPages} pages left`);
  }
  // No pre-fault on TDX before KVM_TDX_FINALIZE_VM, checked as a rule. On SNP the model shows
  // what breaks instead (R10): a pre-fault racing sev_gmem_post_populate() is an RMP #PF.
  if (r.progressed && a.prefault.form === 'pre_fault' && a.vm.type === 'tdx' && S.load(a.vm.i32, G.PRE_FAULT_ALLOWED) === 0) {
    a.report('pre-fault-conformance', `KVM_PRE_FAULT_MEMORY mapped memory of a ${a.vm.type} VM before ${VM_TYPES[a.vm.type].finalizeIoctl}: it must fail with EOPNOTSUPP`);
  }
  if (r.errno !== null && !pre.PRE_FAULT_ERRNOS.includes(r.errno)) {
    a.report('pre-fault-conformance', `pre-fault returned ${r.errno}, which KVM_PRE_FAULT_MEMORY never returns`);
  }
  const p = a.prefault;
  const op = a.currentVcpuOp()!;
  if (r.again) {
    // userspace calls again with the struct KVM copied back
    if (op.op === 'pre_fault') a.queue.replaceHead({ ...op, gpa: p.gpa, size: p.size });
    else if (op.op === 'map_memory') a.queue.replaceHead({ ...op, baseGfn: p.baseGfn, nrPages: p.nrPages, source: p.source });
    return;
  }
  const ret = r.errno === null ? 0 : -1;
  if (p.form === 'pre_fault') {
    a.queue.complete({ op: 'pre_fault', ret, errno: r.errno, gpa: '0x' + p.gpa.toString(16), size: '0x' + p.size.toString(16), calls: p.calls });
  } else {
    a.queue.complete({ op: 'map_memory', ret, errno: r.errno, baseGfn: '0x' + p.baseGfn.toString(16), nrPages: '0x' + p.nrPages.toString(16), source: '0x' + p.source.toString(16), calls: p.calls });
  }
  p.calls = 0;
}

const vcpu: Impl<A> = {
  guards: {
    noOpsLeft: (a) => a.currentVcpuOp() === null,
    nextOpIsMmuReset: (a) => a.currentVcpuOp()?.op === 'mmu_reset',
    nextOpIsIoctl: (a) => { const op = a.currentVcpuOp(); return op !== null && op.op !== 'access' && op.op !== 'mmu_reset'; },
    hasRequestTlbFlush: vc.hasRequestTlbFlush,
    hasRequestFreeObsoleteRoots: vc.hasRequestFreeObsoleteRoots,
    needsRootLoad: vc.needsRootLoad,
    hasPendingRequests: vc.hasPendingRequests,
    noGuestAccess: (a) => a.currentAccess() === null,
    tryGuestAccess: vc.tryGuestAccess,
    faultFailed: (a) => a.fault.errno !== null,
    mmuLoadFailed: vc.mmuLoadFailed,
    faultEmulate: (a) => a.fault.errno === null && a.fault.ret === 'emulate',
    vmDead: (a) => vd.vmIsDead(a.vm),
    hasRequestVmDead: vd.hasRequestVmDead,
    walkHitMmioSpte: (a) => a.lastWalkMmio,
    mmioInfoInCache: mmio.mmioInfoInCache,
    isMmioSpte: mmio.isMmioSpte,
    checkMmioSpte: mmio.checkMmioSpte,
  },
  actions: {
    beginIoctl: (a) => { const op = a.currentVcpuOp(); if (op && (op.op === 'pre_fault' || op.op === 'map_memory')) pre.beginPreFaultIoctl(a, op); },
    kvmMmuResetContext: (a) => { a.queue.complete({ op: 'mmu_reset', ret: 0, rootDropped: vc.kvmMmuResetContext(a) }); },
    beginRun: noop,
    srcuReadLock: ioctlSrcuReadLock,
    srcuReadUnlock: ioctlSrcuReadUnlock,
    kvmVcpuFlushTlb: vc.kvmVcpuFlushTlb,
    kvmMmuFreeObsoleteRoots: vc.kvmMmuFreeObsoleteRoots,
    kvmMmuLoad: vc.kvmMmuLoad,
    completeAccess: (a) => endAccess(a, accessDone(a.accessExits)),
    eptViolation: vc.eptViolation,
    failRunMmuLoad: vc.failRunMmuLoad,
    failAccess: (a) => endAccess(a, { op: 'access', ok: false, errno: a.fault.errno, emulated: false, exits: a.accessExits }),
    emulateAccess,
    completeIoctl,
    exitToUserspace: noop,
    failIoctlVmDead: vd.failVcpuIoctlVmDead,
    failRunVmDead: vd.failRunVmDead,
    eptMisconfig: vc.countAccessExit,
    getMmioSpte: mmio.getMmioSpte,
    vcpuCacheMmioInfo: mmio.cacheMmioInfoOfAccess,
    emulateMmioAccess: (a, p: { via: string }) => { mmio.checkMmioNotStale(a, p.via); emulateAccess(a); },
    mmioPageFault: mmio.mmioPageFault,
  },
};

const preFault: Impl<A> = {
  guards: {
    invalidFlags: pre.invalidFlags,
    invalidRange: pre.invalidRange,
    rangeDone: pre.rangeDone,
    signalPending: pre.signalPending,
    preFaultNotAllowed: pre.preFaultNotAllowed,
    hasRequestFreeObsoleteRoots: vc.reloadHasRequestFreeObsoleteRoots,
    needsRootLoad: vc.needsRootLoad,
    faultRetry: pre.faultRetry,
    faultMapped: pre.faultMapped,
    faultEmulate: pre.faultEmulate,
    faultErrno: pre.faultErrno,
    mmuLoadFailed: vc.mmuLoadFailed,
    prefaultSeesVmDead: vd.prefaultSeesVmDead,
    gfnIsAlias: pre.gfnIsAlias,
    // Candidate fixes: no kernel has them; `--patch` forces one on (src/protocol/patches.ts).
    patchReloadInRetryLoop: () => false,
    patchEagainOnObsoleteRoot: () => false,
    patchSrcuCycleOnRetry: () => false,
    rootIsObsolete: vc.rootIsObsolete,
    requestFreeObsoleteRootsPending: vc.hasRequestFreeObsoleteRoots,
  },
  actions: {
    setResult: (a, p: { errno: Errno }) => pre.setPreFaultResult(a, p.errno),
    vcpuLoad: noop,
    vcpuPut: noop,
    srcuReadLock: ioctlSrcuReadLock,
    srcuReadUnlock: ioctlSrcuReadUnlock,
    kvmMmuFreeObsoleteRoots: vc.kvmMmuFreeObsoleteRoots,
    kvmMmuLoad: vc.kvmMmuLoad,
    setErrorCode: pre.setErrorCode,
    beginPrefetchFault: pre.beginPrefetchFault,
    advanceRange: pre.advanceRange,
    propagateFaultErrno: pre.propagateFaultErrno,
    propagateMmuLoadErrno: pre.propagateMmuLoadErrno,
    finishIoctl: pre.finishIoctl,
    consumeRequestVmDead: vd.consumeRequestVmDead,
  },
};

const invalidation: Impl<A> = {
  guards: {
    isAttributeChange: inv.isAttributeChange,
    noSlotIntersects: inv.noSlotIntersects,
    tryMmuWriteLock: inv.tryMmuWriteLock,
    zapDone: inv.cursorDone,
    tdpMmuIterNeedResched: inv.zapNeedResched,
    flushPending: inv.invalFlushPending,
    attrInvalid: inv.attrInvalid,
    trySlotsLock: inv.trySlotsLock,
    attrsAlreadySet: inv.attrsAlreadySet,
  },
  actions: {
    mnActiveInvalidateCountInc: inv.mnStart,
    mnActiveInvalidateCountDec: inv.mnEnd,
    srcuReadLock: inv.invalSrcuReadLock,
    srcuReadUnlock: inv.invalSrcuReadUnlock,
    computeGfnRanges: inv.computeGfnRanges,
    waitMmuLock: pf.waitMmuLock,
    kvmMmuInvalidateBegin: inv.invalidateBegin,
    kvmMmuInvalidateRangeAdd: inv.invalidateRangeAdd,
    addHugepageHeadTail: inv.addHugepageHeadTail,
    zapStart: inv.zapStart,
    tdpMmuZapLeaf: inv.tdpMmuZapLeaf,
    zapAdvance: inv.zapAdvance,
    flushBeforeYield: inv.flushBeforeYield,
    tdpIterRestart: inv.zapRestart,
    kvmFlushRemoteTlbs: inv.invalFlushRemoteTlbs,
    mmuWriteUnlock: inv.writeUnlock,
    hostApplyChange: inv.hostChange,
    kvmMmuInvalidateEnd: inv.invalidateEnd,
    hostFreeOldPages: inv.hostFreeOldPages,
    setErrno: (a, p: { errno: Errno }) => { a.inval.errno = p.errno; },
    waitSlotsLock: inv.waitSlotsLock,
    slotsUnlock: inv.slotsUnlock,
    storeAttributes: inv.storeAttributes,
    postSetMemoryAttributes: inv.postSetMemoryAttributes,
  },
};

const memslotUpdate: Impl<A> = {
  guards: {
    trySlotsLock: inv.trySlotsLock,
    invalidArgs: ms.invalidArgs,
    overlapsOtherSlot: ms.overlapsOtherSlot,
    isNoop: ms.isNoop,
    isCreate: ms.isCreate,
    isFlagsOnly: ms.isFlagsOnly,
    mnActiveInvalidateIdle: ms.mnActiveInvalidateIdle,
    srcuGracePeriodDone: ms.srcuGracePeriodDone,
    phaseIs: (a, p: { phase: string }) => ms.phaseIs(a, p.phase),
    tryMmuWriteLock: inv.tryMmuWriteLock,
    tryMmuReadLock: ms.tryReadLockVmm,
    zapDone: inv.cursorDone,
    enablesDirtyLogging: ms.enablesDirtyLogging,
    memslotFlushZapAll: ms.memslotFlushZapAll,
    flushPending: inv.invalFlushPending,
    disablesDirtyLogging: rh.disablesDirtyLogging,
    recoverZaps: rh.recoverZaps,
  },
  actions: {
    waitSlotsLock: inv.waitSlotsLock,
    setErrno: (a, p: { errno: Errno }) => { a.memslot.errno = p.errno; },
    classifyChange: ms.classifyChange,
    installInvalidSlot: ms.installInvalidSlot,
    installNewSlot: ms.installNewSlot,
    replaceInvalidSlot: ms.replaceInvalidSlot,
    memslotsGenBeginUpdate: ms.genBeginUpdate,
    waitMnActiveInvalidate: ms.waitMnActiveInvalidate,
    swapActiveMemslots: ms.swapActiveMemslots,
    synchronizeSrcuStart: ms.syncSrcuStart,
    waitSrcuReader: ms.waitSrcuReader,
    memslotsGenEndUpdate: ms.genEndUpdate,
    waitMmuLock: pf.waitMmuLock,
    kvmMmuZapAllFast: ms.kvmMmuZapAllFast,
    mmuWriteUnlock: inv.writeUnlock,
    mmuReadUnlock: ms.readUnlockVmm,
    zapInvalidatedRootsStart: ms.zapInvalidatedRootsStart,
    tdpMmuZapRootSpte: ms.tdpMmuZapRootSpte,
    zapRootsAdvance: ms.zapRootsAdvance,
    wrprotStart: ms.wrprotStart,
    wrprotLeaf: ms.wrprotLeaf,
    wrprotAdvance: ms.wrprotAdvance,
    kvmFlushRemoteTlbs: ms.memslotFlushRemoteTlbs,
    commitMemoryRegion: ms.commitMemoryRegion,
    slotsUnlock: (a) => { ms.memslotIoctlDone(a); inv.slotsUnlock(a); },
    setPhase: (a, p: { phase: 'invalidate' | 'final' }) => ms.setPhase(a, p.phase),
    zapSlotLeafsStart: ms.zapSlotLeafsStart,
    tdpMmuZapLeaf: inv.tdpMmuZapLeaf,
    zapAdvance: inv.zapAdvance,
    rcuReadLock: pf.faultRcuReadLock,
    rcuReadUnlock: pf.faultRcuReadUnlock,
    recoverStart: rh.recoverStart,
    recoverHugeSpte: rh.recoverHugeSpte,
    recoverAdvance: rh.recoverAdvance,
    recoverFreeze: rh.recoverFreeze,
    recoverFlushFrozen: rh.recoverFlushFrozen,
  },
};

const dirtyLog: Impl<A> = {
  guards: {
    trySlotsLock: inv.trySlotsLock,
    slotNotLogging: dl.slotNotLogging,
    invalidClearRange: dl.invalidClearRange,
    isManualGet: dl.isManualGet,
    tryMmuWriteLock: inv.tryMmuWriteLock,
    bitmapDone: dl.bitmapDone,
    flushPending: dl.dirtyFlushPending,
  },
  actions: {
    waitSlotsLock: inv.waitSlotsLock,
    setErrno: (a, p: { errno: Errno }) => { a.dirty.errno = p.errno; },
    copyDirtyBitmap: dl.copyDirtyBitmap,
    beginGetDirtyLog: dl.beginGetDirtyLog,
    waitMmuLock: pf.waitMmuLock,
    takeDirtyGfn: dl.takeDirtyGfn,
    wrprotDirtyGfn: dl.wrprotDirtyGfn,
    dirtyAdvance: dl.dirtyAdvance,
    kvmFlushRemoteTlbs: dl.dirtyFlushRemoteTlbs,
    mmuWriteUnlock: inv.writeUnlock,
    endGetDirtyLog: dl.endGetDirtyLog,
    slotsUnlock: inv.slotsUnlock,
  },
};

const snpLaunchUpdate: Impl<A> = {
  guards: {
    populateFailed: sp.populateFailed,
    populateDone: sp.populateDone,
    rmpEntryAssigned: sp.rmpEntryAssigned,
  },
  actions: {
    setErrno: (a, p: { errno: Errno }) => { a.populate.errno = p.errno; },
    kvmGmemGetPfn: sp.populateGetPfn,
    copyFromUser: sp.populateCopy,
    snpLaunchUpdate: sp.populateUpdate,
  },
};

/** Implementations of every actor-level machine, by machine id (mmu-lock is bound in lock-protocol.ts). */
export const ACTOR_IMPLS: Readonly<Record<string, Impl<A>>> = {
  'page-fault': pageFault,
  vcpu,
  'pre-fault': preFault,
  invalidation,
  'memslot-update': memslotUpdate,
  'dirty-log': dirtyLog,
  'snp-launch-update': snpLaunchUpdate,
};
