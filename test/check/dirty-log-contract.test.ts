// Goal: the dirty-log contract fires when a returned log misses a page written before the ioctl began, and stays silent for what the kernel allows — a write while the ioctl runs (due at the next log), a write while a fast_page_fault mark is in flight (due one log after the mark), a slot without logging, a memslot update, over-reporting; and on whole runs it catches a KVM_GET_DIRTY_LOG that copies no bitmap (manual protect) or takes no bit, while the correct model stays clean; method: the checker driven by hand on a real Vm, then scenarios on the deterministic engine with and without the skips.

import test from 'ava';
import { DirtyLogContract } from '../../src/check/dirty-log-contract.js';
import { beginDirtyMark, endDirtyMark } from '../../src/kvm/dirty-bitmap.js';
import { KVM_MEM_LOG_DIRTY_PAGES } from '../../src/kvm/memslots.js';
import type { Op } from '../../src/kvm/ops.js';
import { MiB, access, run, slot } from '../helpers/run.js';
import { vmWithSlot } from '../kvm/fixtures.js';

const GET = 'KVM_GET_DIRTY_LOG';

function contract(flags = KVM_MEM_LOG_DIRTY_PAGES) {
  const s = vmWithSlot({ flags, npages: 256 });
  return { vm: s.vm, c: new DirtyLogContract(s.vm) };
}

test('a GET that misses a page written before it began is a finding; one that names it settles it', (t) => {
  const { c } = contract();
  c.guestWrite('vcpu0', 5);
  c.guestWrite('vcpu1', 7);
  c.logBegin(0);
  const v = c.logEnd(GET, true, [7], null);
  t.is(v?.kind, 'dirty-log-conformance');
  t.is(v?.gfn, 5);
  t.deepEqual(v?.actors, ['vcpu0']);
  t.regex(v!.message, /KVM_GET_DIRTY_LOG on memslot 0 returned without gfn 0x5, which vcpu0 wrote before the ioctl began/);
  c.logBegin(0);
  t.is(c.logEnd(GET, true, [], null), null, 'reported once, and gfn 7 was settled by the first log');
});

test('a write while the GET runs is due at the next GET, not this one', (t) => {
  const { c } = contract();
  c.logBegin(0);
  c.guestWrite('vcpu0', 9);
  t.is(c.logEnd(GET, true, [], null), null);
  c.logBegin(0);
  t.is(c.logEnd(GET, true, [], null)?.gfn, 9);
});

test('a write while a dirty mark of its gfn is in flight may be one log late, not two', (t) => {
  const { vm, c } = contract();
  beginDirtyMark(vm, 1, 3);
  c.guestWrite('vcpu0', 3);
  c.logBegin(0);
  t.is(c.logEnd(GET, true, [], null), null, 'the mark is still in flight: the GET took the word first');
  endDirtyMark(vm, 1);
  c.logBegin(0);
  t.is(c.logEnd(GET, true, [], null), null, 'the mark ended during this GET: due at the next');
  c.logBegin(0);
  t.is(c.logEnd(GET, true, [], null)?.gfn, 3);
});

test('a later write with no mark in flight is due at once', (t) => {
  const { vm, c } = contract();
  beginDirtyMark(vm, 1, 3);
  c.guestWrite('vcpu0', 3);
  endDirtyMark(vm, 1);
  c.guestWrite('vcpu0', 3);
  c.logBegin(0);
  t.is(c.logEnd(GET, true, [], null)?.gfn, 3);
});

test('nothing is promised without logging, after a memslot update of the slot, or by a failed ioctl', (t) => {
  const off = contract(0);
  off.c.guestWrite('vcpu0', 5);
  off.c.logBegin(0);
  t.is(off.c.logEnd(GET, true, [], null), null);
  const { c } = contract();
  c.guestWrite('vcpu0', 5);
  c.memslotBegin(0);
  c.guestWrite('vcpu0', 6);
  c.memslotEnd();
  c.logBegin(0);
  t.is(c.logEnd(GET, true, [], null), null);
  c.guestWrite('vcpu0', 8);
  c.logBegin(0);
  t.is(c.logEnd(GET, false, [], null), null, 'an error returns no log');
  c.logBegin(0);
  t.is(c.logEnd(GET, true, [1, 2, 8], null), null, 'naming more than was written is allowed');
});

test('CLEAR answers for its range only', (t) => {
  const { c } = contract();
  c.guestWrite('vcpu0', 3);
  c.guestWrite('vcpu0', 70);
  c.logBegin(0);
  t.is(c.logEnd('KVM_CLEAR_DIRTY_LOG', true, [], [64, 64])?.gfn, 70);
  c.logBegin(0);
  t.is(c.logEnd('KVM_CLEAR_DIRTY_LOG', true, [], [0, 64])?.gfn, 3);
});

const VMM = 1;
const log: Op = { op: 'get_dirty_log', slot: 0 };
const writes = (gpas: number[]) => gpas.map((g) => ({ actor: 0, op: access(g, 'write') }));

test('runs: the correct model keeps the contract, in both modes and under random interleavings', (t) => {
  for (const manual of [false, true]) {
    for (let seed = 0; seed < 30; seed++) {
      const ops = [...writes([0x1000, 0x2000]), { actor: VMM, op: log }, ...writes([0x1000, 0x3000]), { actor: VMM, op: log },
        ...(manual ? [{ actor: VMM, op: { op: 'clear_dirty_log', slot: 0, firstPage: 0n, numPages: 512n } as Op }] : []), ...writes([0x2000]), { actor: VMM, op: log }];
      const r = run({ setup: [slot(0, 0, 2 * MiB, KVM_MEM_LOG_DIRTY_PAGES)], ops, scheduler: 'random', seed, vmOptions: { manualDirtyLogProtect: manual } });
      t.deepEqual(r.violations, [], `manual=${manual} seed ${seed}`);
    }
  }
});

test('runs: a manual-protect GET that copies no bitmap, or a GET that takes no bit, breaks the contract', (t) => {
  const ops = [...writes([0x1000, 0x2000]), { actor: VMM, op: log, after: 1 }];
  const manual = run({ setup: [slot(0, 0, 2 * MiB, KVM_MEM_LOG_DIRTY_PAGES)], ops, skip: ['dirty-log.copyDirtyBitmap'], vmOptions: { manualDirtyLogProtect: true } });
  t.is(manual.violations[0]?.kind, 'dirty-log-conformance', JSON.stringify(manual.violations[0]));
  const taken = run({ setup: [slot(0, 0, 2 * MiB, KVM_MEM_LOG_DIRTY_PAGES)], ops, skip: ['dirty-log.takeDirtyGfn'] });
  t.is(taken.violations[0]?.kind, 'dirty-log-conformance', JSON.stringify(taken.violations[0]));
});
