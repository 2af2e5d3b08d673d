// Goal: each vCPU's TLB caches translations per gfn (direct-mapped), and its paging-structure cache one last-level table per 2 MiB region, keeps them until flushed, and kvm_flush_remote_tlbs requests a flush on every vCPU; method: direct calls on a real Vm.

import test from 'ava';
import { TLB_ENTRIES } from '../../src/kvm/limits.js';
import { KVM_REQ_TLB_FLUSH, kvmTestRequest } from '../../src/kvm/requests.js';
import { TLB_FLAG_W, TLB_FLAG_X, kvmFlushRemoteTlbs, pscDrop, pscFill, pscLookup, pscParentWord, tlbEntry, tlbFill, tlbFlushAll, tlbLookup } from '../../src/kvm/tlb.js';
import { newVm } from './fixtures.js';

test('an empty TLB misses; a filled entry hits with its pfn, flags and page generation', (t) => {
  const vm = newVm();
  t.is(tlbLookup(vm, 0, 0), -1, 'gfn 0 is not cached by an all-zero entry');
  t.is(tlbLookup(vm, 0, 5), -1);
  tlbFill(vm, 0, 5, 0x1234, TLB_FLAG_W | TLB_FLAG_X, 7);
  const e = tlbLookup(vm, 0, 5);
  t.is(e, 5 % TLB_ENTRIES);
  t.deepEqual(tlbEntry(vm, 0, e), { pfn: 0x1234, flags: TLB_FLAG_W | TLB_FLAG_X, pfnGen: 7 });
  tlbFill(vm, 0, 0, 9, 0, 0);
  t.is(tlbLookup(vm, 0, 0), 0);
});

test('direct-mapped: a gfn that maps to the same entry evicts the previous one', (t) => {
  const vm = newVm();
  tlbFill(vm, 0, 3, 100, 0, 0);
  tlbFill(vm, 0, 3 + TLB_ENTRIES, 200, 0, 0);
  t.is(tlbLookup(vm, 0, 3), -1);
  t.is(tlbEntry(vm, 0, tlbLookup(vm, 0, 3 + TLB_ENTRIES)).pfn, 200);
});

test('TLBs are per vCPU; a flush drops every entry of that vCPU only', (t) => {
  const vm = newVm({ vcpus: 2 });
  tlbFill(vm, 0, 1, 10, 0, 0);
  tlbFill(vm, 0, 2, 20, 0, 0);
  tlbFill(vm, 1, 1, 30, 0, 0);
  t.is(tlbEntry(vm, 1, tlbLookup(vm, 1, 1)).pfn, 30);
  tlbFlushAll(vm, 0);
  t.is(tlbLookup(vm, 0, 1), -1);
  t.is(tlbLookup(vm, 0, 2), -1);
  t.not(tlbLookup(vm, 1, 1), -1);
});

test('kvm_flush_remote_tlbs requests KVM_REQ_TLB_FLUSH on every vCPU and changes no TLB by itself', (t) => {
  const vm = newVm({ vcpus: 3 });
  tlbFill(vm, 2, 9, 90, 0, 0);
  kvmFlushRemoteTlbs(vm);
  for (let v = 0; v < 3; v++) t.true(kvmTestRequest(vm, v, KVM_REQ_TLB_FLUSH));
  t.false(kvmTestRequest(vm, vm.layout.hostActor, KVM_REQ_TLB_FLUSH), 'the host is not a vCPU');
  t.false(kvmTestRequest(vm, vm.layout.vmmActor, KVM_REQ_TLB_FLUSH));
  t.not(tlbLookup(vm, 2, 9), -1, 'the vCPU flushes when it serves the request');
});

test('gfns at and above 2^31 are cached like any other', (t) => {
  const vm = newVm();
  for (const gfn of [0x7ffffffe, 0x7fffffff, 0xc0000005, 0xffffffff]) {
    tlbFill(vm, 0, gfn, 77, 0, 0);
    t.not(tlbLookup(vm, 0, gfn), -1, `gfn 0x${gfn.toString(16)}`);
  }
});

test('gfns 2^32 apart share an entry and its low word, not a hit', (t) => {
  const vm = newVm({ physBits: 52 });
  const g = 2 ** 36 + 5;
  tlbFill(vm, 0, g, 0x77, 0, 1);
  t.is(tlbLookup(vm, 0, g), 5 % TLB_ENTRIES);
  t.is(tlbLookup(vm, 0, 5), -1, 'gfn 5: the same entry and low word');
  t.is(tlbLookup(vm, 0, 2 ** 32 + 5), -1);
  tlbFill(vm, 0, 5, 0x78, 0, 1);
  t.is(tlbLookup(vm, 0, g), -1, 'replaced');
});

test('the paging-structure cache holds one last-level table per 2 MiB region, with the SPTE word it hung under; a flush drops it with the TLB', (t) => {
  const vm = newVm({ vcpus: 2 });
  t.is(pscLookup(vm, 0, 0x1234), 0, 'empty');
  pscFill(vm, 0, 0x1234, 7, 4242);
  t.is(pscLookup(vm, 0, 0x1200), 7, 'any gfn of the region hits');
  t.is(pscLookup(vm, 0, 0x13ff), 7);
  t.is(pscParentWord(vm, 0, 0x1300), 4242);
  t.is(pscLookup(vm, 0, 0x1400), 0, 'the next region misses');
  t.is(pscLookup(vm, 1, 0x1234), 0, 'per vCPU');
  pscFill(vm, 0, 0x1234 + 512 * TLB_ENTRIES, 9, 1);
  t.is(pscLookup(vm, 0, 0x1234), 0, 'direct-mapped like the TLB: a region that maps to the same entry evicts it');
  pscFill(vm, 0, 0x1234, 7, 4242);
  tlbFill(vm, 0, 0x1234, 5, 0, 0);
  tlbFlushAll(vm, 0);
  t.is(pscLookup(vm, 0, 0x1234), 0);
  t.is(tlbLookup(vm, 0, 0x1234), -1);
});

test('an EPT violation drops the paging-structure cache entry of its gfn\'s region only', (t) => {
  const vm = newVm({ physBits: 52 });
  const high = 2 ** 38 + 0x200;
  pscFill(vm, 0, 0x200, 3, 10);
  pscFill(vm, 0, high + 0x400, 4, 11);
  t.is(pscLookup(vm, 0, high + 0x400), 4, 'gfns above 2^32 have regions like any other');
  t.is(pscLookup(vm, 0, high + 0x400 - 512 * TLB_ENTRIES), 0, 'a region that maps to the same entry misses');
  pscDrop(vm, 0, 0x3ff);
  t.is(pscLookup(vm, 0, 0x200), 0);
  t.is(pscLookup(vm, 0, high + 0x400), 4);
  pscDrop(vm, 0, 0x600);
  t.is(pscLookup(vm, 0, high + 0x400), 4, 'a drop for a region it does not hold leaves the entry alone');
});

test('tlbEntry reads into the record it is given, and returns it', (t) => {
  const vm = newVm();
  tlbFill(vm, 0, 9, 0x77, TLB_FLAG_W, 3);
  const out = { pfn: -1, flags: -1, pfnGen: -1 };
  t.is(tlbEntry(vm, 0, tlbLookup(vm, 0, 9), out), out);
  t.deepEqual(out, { pfn: 0x77, flags: TLB_FLAG_W, pfnGen: 3 });
  tlbFill(vm, 0, 10, 0x78, TLB_FLAG_X, 4);
  tlbEntry(vm, 0, tlbLookup(vm, 0, 10), out);
  t.deepEqual(out, { pfn: 0x78, flags: TLB_FLAG_X, pfnGen: 4 }, 'the same record, refilled');
});
