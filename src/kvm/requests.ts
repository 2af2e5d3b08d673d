/**
 * KVM requests (include/linux/kvm_host.h): bits in each vCPU's REQUESTS word, set by any
 * actor with kvm_make_request / kvm_make_all_cpus_request and consumed by the vCPU with
 * kvm_check_request at guest entry. A vCPU in the guest polls its word before every access
 * and exits when a bit is set — the model's kick. A request with KVM_REQUEST_WAIT also
 * waits for every vCPU in guest mode (vcpu->mode, ACTOR.MODE) to leave it.
 */

import { ACTOR, actorWord } from './layout.js';
import { MODE_SPINS } from './limits.js';
import type { Vm } from './vm.js';
import * as S from './shm.js';

export const KVM_REQ_TLB_FLUSH = 1 << 0;
export const KVM_REQ_MMU_FREE_OBSOLETE_ROOTS = 1 << 1;
export const KVM_REQ_VM_DEAD = 1 << 2;

export function kvmMakeRequest(vm: Vm, vcpu: number, req: number): void {
  S.or(vm.i32, actorWord(vm.layout, vcpu, ACTOR.REQUESTS), req);
}

/**
 * kvm_make_all_cpus_request(): the request on every vCPU; with `wait` (KVM_REQUEST_WAIT,
 * as KVM_REQ_TLB_FLUSH and KVM_REQ_MMU_FREE_OBSOLETE_ROOTS have) it returns only once
 * every vCPU that was in guest mode has left it, like the IPI it sends.
 */
export function kvmMakeAllCpusRequest(vm: Vm, req: number, wait: boolean): void {
  for (let v = 0; v < vm.vcpus; v++) kvmMakeRequest(vm, v, req);
  if (wait) for (let v = 0; v < vm.vcpus; v++) waitOutsideGuestMode(vm, v);
}

/** vcpu->mode as a counter (ACTOR.MODE): odd, this bit set, while IN_GUEST_MODE. */
const MODE_IN_GUEST = 1;

/**
 * Returns once vCPU `v` is outside guest mode or has left the guest access it was in.
 * The wait is one guest access long and, like csd_lock_wait(), spins first. In the
 * deterministic engine no other actor is ever inside a step, so it never waits.
 */
export function waitOutsideGuestMode(vm: Vm, v: number): void {
  const w = actorWord(vm.layout, v, ACTOR.MODE);
  const m = S.load(vm.i32, w);
  if ((m & MODE_IN_GUEST) === 0) return;
  for (let i = 0; i < MODE_SPINS; i++) if (S.load(vm.i32, w) !== m) return;
  while (S.load(vm.i32, w) === m) Atomics.wait(vm.i32, w, m, 1);
}

/** vcpu->mode = IN_GUEST_MODE, before the request check of a guest access. */
export function enterGuestMode(vm: Vm, v: number): void {
  S.add(vm.i32, actorWord(vm.layout, v, ACTOR.MODE), 1);
}

/** vcpu->mode = OUTSIDE_GUEST_MODE */
export function exitGuestMode(vm: Vm, v: number): void {
  S.add(vm.i32, actorWord(vm.layout, v, ACTOR.MODE), 1);
}

/** kvm_test_request() */
export function kvmTestRequest(vm: Vm, vcpu: number, req: number): boolean {
  return (S.load(vm.i32, actorWord(vm.layout, vcpu, ACTOR.REQUESTS)) & req) !== 0;
}

/** kvm_check_request(): test and clear. */
export function kvmCheckRequest(vm: Vm, vcpu: number, req: number): boolean {
  const w = actorWord(vm.layout, vcpu, ACTOR.REQUESTS);
  if ((S.load(vm.i32, w) & req) === 0) return false;
  S.and(vm.i32, w, ~req);
  return true;
}

export function kvmRequestPending(vm: Vm, vcpu: number): boolean {
  return S.load(vm.i32, actorWord(vm.layout, vcpu, ACTOR.REQUESTS)) !== 0;
}
