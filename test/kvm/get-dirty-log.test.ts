// Goal: KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG (with and without manual protect) report every page written and re-protect what they clear, so no later write is lost; method: engine runs of small scenarios.

import test from 'ava';
import type { OpResult } from '../../src/kvm/ops.js';
import { KVM_MEM_LOG_DIRTY_PAGES } from '../../src/kvm/memslots.js';
import { MiB, access, run, slot } from '../helpers/run.js';

const VMM = 2;
const getLog = { op: 'get_dirty_log' as const, slot: 0 };
const clearLog = (firstPage: bigint, numPages: bigint) => ({ op: 'clear_dirty_log' as const, slot: 0, firstPage, numPages });
const logged = [slot(0, 0, 16 * MiB, KVM_MEM_LOG_DIRTY_PAGES)];

function pages(r: OpResult | null): string[] {
  if (r?.op === 'get_dirty_log') return r.dirty;
  if (r?.op === 'clear_dirty_log') return r.cleared;
  throw new Error(`not a dirty-log result: ${JSON.stringify(r)}`);
}

test('GET_DIRTY_LOG returns the pages mapped writable, clears them, and the next write is logged again', (t) => {
  const r = run({
    setup: logged,
    ops: [
      { actor: 0, op: access(0x1000, 'write') }, { actor: 0, op: access(0x3000, 'write') }, { actor: 0, op: access(0x5000, 'read') },
      { actor: VMM, op: getLog }, { actor: VMM, op: getLog },
      { actor: 0, op: access(0x3000, 'write') }, { actor: VMM, op: getLog },
    ],
  });
  t.deepEqual(r.violations, []);
  // On anonymous memory the read fault maps 0x5000 to the zero page, read-only: not dirty.
  t.deepEqual(pages(r.results[3]!), ['0x1000', '0x3000']);
  t.deepEqual(pages(r.results[4]!), [], 'the first get cleared the bits');
  t.deepEqual(pages(r.results[6]!), ['0x3000'], 'the write after the get faulted again and was logged');
  const w = r.results[5]!;
  t.true(w.op === 'access' && w.exits === 1, 'the re-protected page faulted (fast page fault)');
});

test('manual protect: GET copies without clearing; CLEAR clears and re-protects its range only', (t) => {
  const r = run({
    setup: logged,
    vmOptions: { manualDirtyLogProtect: true },
    ops: [
      { actor: 0, op: access(0x1000, 'write') }, { actor: 0, op: access(0x41000, 'write') },
      { actor: VMM, op: getLog }, { actor: VMM, op: getLog },
      { actor: VMM, op: clearLog(0n, 64n) }, { actor: VMM, op: getLog },
      { actor: 0, op: access(0x1000, 'write') }, { actor: 0, op: access(0x41000, 'write') },
    ],
  });
  t.deepEqual(r.violations, []);
  t.deepEqual(pages(r.results[2]!), ['0x1000', '0x41000']);
  t.deepEqual(pages(r.results[3]!), ['0x1000', '0x41000'], 'a manual-protect get clears nothing');
  t.deepEqual(pages(r.results[4]!), ['0x1000'], 'pages 0-63 only');
  t.deepEqual(pages(r.results[5]!), ['0x41000']);
  const again = r.results[6]!;
  const untouched = r.results[7]!;
  t.true(again.op === 'access' && again.exits === 1, 'the cleared page was write-protected again');
  t.true(untouched.op === 'access' && untouched.exits === 0, 'the page outside the cleared range stayed writable');
});

test('CLEAR_DIRTY_LOG range checks: first_page 64-aligned, inside the slot, num_pages a multiple of 64 unless it reaches the end → EINVAL', (t) => {
  const errno = (first: bigint, num: bigint) => {
    const r = run({ setup: logged, vmOptions: { manualDirtyLogProtect: true }, ops: [{ actor: VMM, op: clearLog(first, num) }] });
    const x = r.results[0]!;
    return x.op === 'clear_dirty_log' ? x.errno : 'not run';
  };
  t.is(errno(1n, 64n), 'EINVAL');
  t.is(errno(0n, 63n), 'EINVAL');
  t.is(errno(4096n, 1n), 'EINVAL');
  t.is(errno(0n, 64n), null);
  t.is(errno(4032n, 64n), null);
  t.is(errno(4032n, 63n + 1n), null);
});

test('a slot without dirty logging → ENOENT', (t) => {
  const r = run({ setup: [slot(0, 0, 16 * MiB)], ops: [{ actor: VMM, op: getLog }] });
  const x = r.results[0]!;
  t.true(x.op === 'get_dirty_log' && x.errno === 'ENOENT');
});

test('CLEAR without write-protecting the cleared page loses the next write (checker finds it)', (t) => {
  const ops = [{ actor: 0, op: access(0x1000, 'write') }, { actor: VMM, op: clearLog(0n, 64n) }, { actor: 0, op: access(0x1000, 'write') }];
  const clean = run({ setup: logged, vmOptions: { manualDirtyLogProtect: true }, ops });
  t.deepEqual(clean.violations, []);
  const bad = run({ setup: logged, vmOptions: { manualDirtyLogProtect: true }, ops, skip: ['dirty-log.wrprotDirtyGfn'] });
  t.is(bad.violations[0]?.kind, 'lost-dirty-page');
});
