// Goal: KVM requests are independent bits per vCPU, set by anyone and consumed (test-and-clear) by the vCPU; method: direct calls on a real Vm.

import test from 'ava';
import { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, KVM_REQ_TLB_FLUSH, kvmCheckRequest, kvmMakeAllCpusRequest, kvmMakeRequest, kvmRequestPending, kvmTestRequest } from '../../src/kvm/requests.js';
import { newVm } from './fixtures.js';

test('request bits are distinct', (t) => {
  t.is(KVM_REQ_TLB_FLUSH & KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, 0);
});

test('make sets a bit for one vCPU; test does not clear; check clears only that bit', (t) => {
  const vm = newVm({ vcpus: 2 });
  t.false(kvmRequestPending(vm, 0));
  kvmMakeRequest(vm, 0, KVM_REQ_TLB_FLUSH);
  kvmMakeRequest(vm, 0, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS);
  t.true(kvmRequestPending(vm, 0));
  t.false(kvmRequestPending(vm, 1));
  t.true(kvmTestRequest(vm, 0, KVM_REQ_TLB_FLUSH));
  t.true(kvmTestRequest(vm, 0, KVM_REQ_TLB_FLUSH), 'test is not consuming');
  t.true(kvmCheckRequest(vm, 0, KVM_REQ_TLB_FLUSH));
  t.false(kvmCheckRequest(vm, 0, KVM_REQ_TLB_FLUSH), 'consumed');
  t.true(kvmTestRequest(vm, 0, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS), 'the other bit stays');
  t.true(kvmRequestPending(vm, 0));
  t.true(kvmCheckRequest(vm, 0, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS));
  t.false(kvmRequestPending(vm, 0));
});

test('making a request twice before it is served is one request', (t) => {
  const vm = newVm();
  kvmMakeRequest(vm, 0, KVM_REQ_TLB_FLUSH);
  kvmMakeRequest(vm, 0, KVM_REQ_TLB_FLUSH);
  t.true(kvmCheckRequest(vm, 0, KVM_REQ_TLB_FLUSH));
  t.false(kvmCheckRequest(vm, 0, KVM_REQ_TLB_FLUSH));
});

test('make-all reaches every vCPU and no other actor', (t) => {
  const vm = newVm({ vcpus: 4 });
  kvmMakeAllCpusRequest(vm, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, false);
  for (let v = 0; v < 4; v++) t.true(kvmTestRequest(vm, v, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS));
  t.false(kvmRequestPending(vm, vm.layout.hostActor));
  t.false(kvmRequestPending(vm, vm.layout.vmmActor));
});
