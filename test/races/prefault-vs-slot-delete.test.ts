// Goal: pin the model's finding that a pre-fault which starts after a memslot delete's first synchronize_srcu, on an unrelated slot, retries on the obsolete root inside kvm_tdp_map_page while the deleter waits for its SRCU read lock, and that it needs the zap-all of the delete; method: a scripted interleaving, and random exploration of the finding's scenario with and without zap-all.

import { readFileSync } from 'node:fs';
import test from 'ava';
import { KERNEL_RELEASES } from '../../src/kvm/kernel-release.js';
import { explore } from '../../src/race/race.js';
import { parseScenario } from '../../src/workload/scenario.js';
import { MiB, preFault, preFaultResult, run, scripted, slot } from '../helpers/run.js';

/** docs/findings/prefault-during-slot-delete.json with `vm` fields overridden, as a race target. */
function finding(vm: Record<string, unknown> = {}) {
  const doc = JSON.parse(readFileSync(new URL('../../../docs/findings/prefault-during-slot-delete.json', import.meta.url), 'utf8')) as { vm: Record<string, unknown> };
  const text = JSON.stringify({ ...doc, vm: { ...doc.vm, ...vm } });
  return { id: 'file:prefault-during-slot-delete.json', scenario: parseScenario(text, 'prefault-during-slot-delete.json'), hash: '', entry: null };
}

const VCPU = 0;
const VMM = 2;

test('pre-fault on slot 0 while slot 1 is deleted: RET_PF_RETRY on the obsolete root until a signal', (t) => {
  const setup = [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)];
  const ops = [{ actor: VMM, op: slot(1, 32 * MiB, 0) }, { actor: VCPU, op: preFault(0, 2 * MiB) }];
  // vmm: lock, validate, classify, swap in the INVALID slot, synchronize_srcu (no reader
  // yet), take the write lock for kvm_mmu_zap_all_fast — then vcpu0 starts its pre-fault
  // (loading a root) and blocks on mmu_lock; the vmm invalidates every root, zaps, and
  // reaches its second synchronize_srcu, which waits for vcpu0's SRCU read lock, while
  // every fault of vcpu0 is stale (obsolete root) and kvm_tdp_map_page retries forever.
  const script = [...Array(9).fill(VMM), ...Array(30).fill(VCPU), ...Array(40).fill(VMM)];
  const r = run({ setup, ops, scheduler: scripted(script) });
  const v = r.violations[0];
  t.is(v?.kind, 'livelock', JSON.stringify(r.violations));
  t.regex(v!.message, /obsolete-root/);
  t.regex(v!.message, /vmm waits on synchronize_srcu/);
});

test('a signal ends it: the pre-fault returns EINTR and the delete completes', (t) => {
  const setup = [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)];
  // The signal comes from another thread (here the host actor), as a real one would.
  const ops = [{ actor: VMM, op: slot(1, 32 * MiB, 0) }, { actor: VCPU, op: preFault(0, 2 * MiB) }, { actor: 1, op: { op: 'signal' as const, vcpu: 0 } }];
  const script = [...Array(9).fill(VMM), ...Array(30).fill(VCPU), ...Array(40).fill(VMM), ...Array(30).fill(VCPU), 1];
  const r = run({ setup, ops, scheduler: scripted(script) });
  t.deepEqual(r.violations, []);
  t.deepEqual([preFaultResult(r.results[1]!).errno, preFaultResult(r.results[1]!).size], ['EINTR', '0x200000']);
  t.deepEqual(r.results[0], { op: 'set_memslot', ret: 0, errno: null, change: 'delete' });
});

test('two vCPUs pre-faulting during the delete of another slot: both retry, and the livelock is still reported', (t) => {
  const setup = [slot(0, 0, 16 * MiB), slot(1, 32 * MiB, 2 * MiB)];
  // vcpus = 2: 0, 1 = vCPUs, 2 = host, 3 = vmm
  const ops = [{ actor: 3, op: slot(1, 32 * MiB, 0) }, { actor: 0, op: preFault(0, 2 * MiB) }, { actor: 1, op: preFault(4 * MiB, 2 * MiB) }];
  let both = 0;
  for (let seed = 0; seed < 200 && both === 0; seed++) {
    const r = run({ vcpus: 2, setup, ops, scheduler: 'random', seed });
    t.is(r.error, null, `seed ${seed}: the run must end with a finding, not at the step limit`);
    const v = r.violations[0];
    if (v?.kind === 'livelock' && /vcpu1 in vcpu\.ioctl|vcpu0 in vcpu\.ioctl/.test(v.message)) both++;
  }
  t.true(both > 0, 'some interleaving makes both vCPUs retry on the obsolete root');
});

test('the finding\'s scenario (a DEFAULT VM, KVM_X86_QUIRK_SLOT_ZAP_ALL on): random exploration finds the livelock on the obsolete root', (t) => {
  const r = explore(finding(), { scheduler: 'random', budget: 1000 });
  t.true(r.found);
  t.is(r.run?.violations[0]?.kind, 'livelock');
  t.regex(r.run!.violations[0]!.message, /obsolete-root/);
});

test('on a DEFAULT VM with the quirk on, the finding reproduces on every modelled release, 6.11 to 6.19: none reloads the root inside the retry loop', (t) => {
  for (const kernel of KERNEL_RELEASES) {
    const r = explore(finding(), { scheduler: 'random', budget: 1000, kernel });
    t.true(r.found, kernel);
    t.regex(r.run!.violations[0]!.message, /obsolete-root/, kernel);
  }
});

test('without zap-all (the quirk disabled, or a sw_protected VM, from 6.12) the delete invalidates no root: 300 schedules stay clean; on 6.11 both livelock again', (t) => {
  for (const vm of [{ disabled_quirks: ['slot_zap_all'] }, { type: 'sw_protected' }]) {
    const clean = explore(finding(vm), { scheduler: 'random', budget: 300 });
    t.false(clean.found, `${JSON.stringify(vm)}: ${clean.run?.violations[0]?.message ?? ''}`);
    t.is(clean.schedules, 300);
    const old = explore(finding(vm), { scheduler: 'random', budget: 1000, kernel: '6.11' });
    t.true(old.found, `${JSON.stringify(vm)} on 6.11`);
    t.regex(old.run!.violations[0]!.message, /obsolete-root/);
  }
});

