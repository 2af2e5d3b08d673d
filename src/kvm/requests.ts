/**
 * KVM requests (include/linux/kvm_host.h): bits in each vCPU's REQUESTS word, set by any
 * actor with kvm_make_request / kvm_make_all_cpus_request and consumed by the vCPU with
 * kvm_check_request at guest entry. A vCPU in the guest polls its word before every access
 * and exits when a bit is set — the model's kick, and the reason a remote flush is
 * complete once the bits are set (KVM_REQUEST_WAIT: the requester waits for the vCPUs to
 * leave guest mode; here they cannot make another access before serving it).
 */

import { ACTOR, actorWord } from './layout.js';
import type { Vm } from './vm.js';

export const KVM_REQ_TLB_FLUSH = 1 << 0;
export const KVM_REQ_MMU_FREE_OBSOLETE_ROOTS = 1 << 1;

export function kvmMakeRequest(vm: Vm, vcpu: number, req: number): void {
  Atomics.or(vm.i32, actorWord(vm.layout, vcpu, ACTOR.REQUESTS), req);
}

export function kvmMakeAllCpusRequest(vm: Vm, req: number): void {
  for (let v = 0; v < vm.vcpus; v++) kvmMakeRequest(vm, v, req);
}

/** kvm_test_request() */
export function kvmTestRequest(vm: Vm, vcpu: number, req: number): boolean {
  return (Atomics.load(vm.i32, actorWord(vm.layout, vcpu, ACTOR.REQUESTS)) & req) !== 0;
}

/** kvm_check_request(): test and clear. */
export function kvmCheckRequest(vm: Vm, vcpu: number, req: number): boolean {
  const w = actorWord(vm.layout, vcpu, ACTOR.REQUESTS);
  if ((Atomics.load(vm.i32, w) & req) === 0) return false;
  Atomics.and(vm.i32, w, ~req);
  return true;
}

export function kvmRequestPending(vm: Vm, vcpu: number): boolean {
  return Atomics.load(vm.i32, actorWord(vm.layout, vcpu, ACTOR.REQUESTS)) !== 0;
}
