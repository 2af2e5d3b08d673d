/**
 * A dead VM (virt/kvm/kvm_main.c, include/linux/kvm_host.h): kvm_vm_dead() — reached from
 * KVM_BUG_ON() and from fatal errors such as a failed TDX SEAMCALL — sets kvm->vm_dead and
 * makes KVM_REQ_VM_DEAD on every vCPU. From then on kvm_vcpu_ioctl() returns -EIO before
 * looking at the ioctl, and vcpu_enter_guest() ends KVM_RUN with -EIO when it finds the
 * request. A pre-fault already inside kvm_tdp_map_page()'s retry loop checks the request
 * there only from 6.16 (958810a09412, kernel row prefaultBailsOutOnVmDead); before, it
 * keeps retrying until its fault stops returning RET_PF_RETRY or a signal arrives.
 */

import type { KvmActor } from './actor.js';
import { G } from './layout.js';
import { KVM_REQ_VM_DEAD, kvmCheckRequest, kvmMakeAllCpusRequest, kvmTestRequest } from './requests.js';
import type { Vm } from './vm.js';
import * as S from './shm.js';

/** kvm_vm_dead(): vm_dead = true; kvm_make_all_cpus_request(kvm, KVM_REQ_VM_DEAD). */
export function kvmVmDead(vm: Vm): void {
  S.store(vm.i32, G.VM_DEAD, 1);
  kvmMakeAllCpusRequest(vm, KVM_REQ_VM_DEAD, true);
}

/** kvm->vm_dead, as kvm_vcpu_ioctl() reads it on entry. */
export function vmIsDead(vm: Vm): boolean {
  return S.load(vm.i32, G.VM_DEAD) !== 0;
}

/** KVM_REQ_VM_DEAD pending on this vCPU (vcpu_enter_guest() checks it on every entry). */
export function hasRequestVmDead(a: KvmActor): boolean {
  return kvmTestRequest(a.vm, a.actor, KVM_REQ_VM_DEAD);
}

/** kvm_check_request(KVM_REQ_VM_DEAD): the request is consumed. */
export function consumeRequestVmDead(a: KvmActor): void {
  kvmCheckRequest(a.vm, a.actor, KVM_REQ_VM_DEAD);
}

/** The pre-fault retry loop looks at the request (6.16+) and finds it. */
export function prefaultSeesVmDead(a: KvmActor): boolean {
  return a.vm.kernel.switches.prefaultBailsOutOnVmDead && hasRequestVmDead(a);
}

/**
 * kvm_vcpu_ioctl() on a dead VM: -EIO before the ioctl is looked at. The vCPU's next op
 * (KVM_RUN for an access, the pre-fault ioctls, KVM_SET_SREGS) completes with it.
 */
export function failVcpuIoctlVmDead(a: KvmActor): void {
  const op = a.currentVcpuOp();
  if (op === null) return;
  switch (op.op) {
    case 'access':
      a.queue.complete({ op: 'access', ok: false, errno: 'EIO', emulated: false, exits: a.accessExits });
      a.accessExits = 0;
      return;
    case 'pre_fault':
      a.queue.complete({ op: 'pre_fault', ret: -1, errno: 'EIO', gpa: '0x' + op.gpa.toString(16), size: '0x' + op.size.toString(16), calls: 1 });
      return;
    case 'map_memory':
      a.queue.complete({ op: 'map_memory', ret: -1, errno: 'EIO', baseGfn: '0x' + op.baseGfn.toString(16), nrPages: '0x' + op.nrPages.toString(16), source: '0x' + op.source.toString(16), calls: 1 });
      return;
    case 'mmu_reset':
      a.queue.complete({ op: 'mmu_reset', ret: -1, errno: 'EIO', rootDropped: false });
  }
}

/** vcpu_enter_guest() found KVM_REQ_VM_DEAD: the request is consumed and KVM_RUN returns -EIO. */
export function failRunVmDead(a: KvmActor): void {
  consumeRequestVmDead(a);
  failVcpuIoctlVmDead(a);
}
