/**
 * tools/testing/selftests/kvm/pre_fault_memory_test.c: one vCPU, slot 10 of TEST_SIZE =
 * 2MiB + 4KiB at align_down((max_gfn - TEST_NPAGES) * 4K, 2M) — the top of the guest
 * physical space — and three calls of pre_fault_memory(): [0, 2MiB) (0 left), [2MiB, +8KiB)
 * across the slot's end (ENOENT, 4KiB left) and [2MiB+4KiB, +4KiB) past it (ENOENT, 4KiB
 * left); then the guest reads every page. Run on a DEFAULT VM, and on a SW_PROTECTED VM
 * with the slot shared and with it private (guest_memfd, vm_mem_set_private()); a VM type
 * KVM_CAP_VM_TYPES lacks is skipped.
 *
 * Each call races a worker thread that deletes the slot and recreates it (3ccbf6f47098's
 * selftest change): the worker deletes once the pre-fault is about to start; the first
 * KVM_PRE_FAULT_MEMORY must make progress xor fail; then the slot is recreated and the
 * call repeated until nothing is left or it fails, and the result must be the expected
 * bytes left with success or ENOENT. Modelled interleaving: the ioctl enters (takes
 * kvm->srcu), the delete installs the INVALID slot and waits for SRCU readers, then the
 * pre-fault faults on the INVALID slot — from 6.18 that is -EAGAIN; before, the fault
 * retries in the kernel while the delete waits for it: the selftest hangs.
 */

import type { RunResult } from '../engine/deterministic.js';
import type { KernelRelease } from '../kvm/kernel-release.js';
import type { VmType } from '../kvm/vm-types.js';
import { GateScheduler, type GateWindow } from './gate.js';
import { hex, judgeCases, resultOf, runScenario, scenarioOf, type Case, type Check, type Selftest, type SelftestOptions, type Subtest } from './harness.js';
import type { Interleaving } from './interleaving.js';
import { vmTypeSkip } from './vm-type-skip.js';

const PAGE = 0x1000n;
const SZ_2M = 0x200000n;
const TEST_SIZE = SZ_2M + PAGE;
const TEST_NPAGES = TEST_SIZE / PAGE;
const TEST_SLOT = 10;
/** The selftest's host: MAXPHYADDR 48 (vm->max_gfn = 2^36 - 1). */
const PHYS_BITS = 48;

/** gpa = align_down((vm->max_gfn - TEST_NPAGES) * guest_page_size, SZ_2M). */
export function preFaultTestGpa(physBits = PHYS_BITS): bigint {
  const maxGfn = (1n << BigInt(physBits - 12)) - 1n;
  const gpa = (maxGfn - TEST_NPAGES) * PAGE;
  return gpa - (gpa % SZ_2M);
}

/** The three pre_fault_memory() calls: offset, size, expected_left. */
const CALLS = [
  { offset: 0n, size: SZ_2M, left: 0n, what: 'pre-fault [0, 2MiB) of the slot' },
  { offset: SZ_2M, size: 2n * PAGE, left: PAGE, what: 'pre-fault [2MiB, +8KiB) across the slot\'s end' },
  { offset: TEST_SIZE, size: PAGE, left: PAGE, what: 'pre-fault [2MiB+4KiB, +4KiB) past the slot' },
] as const;

const hx = (v: bigint): string => `0x${v.toString(16)}`;

/** The variants main() runs: vm_type 0, then (x86) SW_PROTECTED shared and private. */
const VARIANTS: readonly { readonly type: VmType; readonly private: boolean; readonly label: string }[] = [
  { type: 'default', private: false, label: 'default' },
  { type: 'sw_protected', private: false, label: 'sw_protected shared' },
  { type: 'sw_protected', private: true, label: 'sw_protected private' },
];

interface Layout {
  readonly doc: object;
  readonly cases: Case[];
  readonly windows: GateWindow[];
}

const VCPU = 0;
const VMM = 2;

/**
 * Where the worker's delete meets the call, as gates (gate.ts):
 * - `invalid-slot` (the suite's): the call enters the ioctl and takes kvm->srcu; the delete
 *   installs the INVALID slot and waits in synchronize_srcu() for it; the call faults on the
 *   INVALID slot — the window 3ccbf6f47098's test targets (before 6.18 a livelock);
 * - `obsolete-root`: the delete installs the INVALID slot and starts its first
 *   synchronize_srcu(); the call enters (a reader that does not hold up that grace period)
 *   and loads its root; the delete zap-alls, publishes the set without the slot and waits
 *   in its second synchronize_srcu(); the call faults — no slot, an obsolete root: the
 *   README Finding, a livelock on a DEFAULT VM with KVM_X86_QUIRK_SLOT_ZAP_ALL on every
 *   modelled release.
 */
const GATES: Readonly<Record<Interleaving, GateWindow['gates']>> = {
  'invalid-slot': [{ actor: VCPU, until: 'vcpu0:pre-fault.loop' }, { actor: VMM }, { actor: VCPU }],
  'obsolete-root': [{ actor: VMM, until: 'vmm:memslot-update.syncWait' }, { actor: VCPU, until: 'vcpu0:pre-fault.mapPage' }, { actor: VMM }, { actor: VCPU }],
};

/** The scenario of one variant: ops per call (first ioctl, delete, recreate, the retry loop), then the guest's reads. */
function layout(v: (typeof VARIANTS)[number], interleaving: Interleaving): Layout {
  const gpa = preFaultTestGpa();
  const slot = { slot: TEST_SLOT, gpa: hx(gpa), size: hx(TEST_SIZE), ...(v.private ? { flags: ['guest_memfd'] } : {}) };
  const ops: object[] = [];
  const cases: Case[] = [];
  const windows: GateWindow[] = [];
  if (v.private) ops.push({ actor: 'vmm', op: 'set_memory_attributes', gpa: hx(gpa), size: hx(TEST_SIZE), attributes: 'private' });
  for (const c of CALLS) {
    const first = ops.length;
    // The worker thread of this call starts once the previous call returned; the ioctl once the attributes are set.
    const afterVmm = first > 0 && cases.length === 0 ? { after: first - 1 } : {};
    const afterVcpu = cases.length > 0 ? { after: first - 1 } : {};
    const range = { gpa: hx(gpa + c.offset), size: hx(c.size) };
    ops.push({ actor: 'vcpu0', op: 'pre_fault', ...range, ...afterVmm });
    ops.push({ actor: 'vmm', op: 'set_memslot', slot: TEST_SLOT, gpa: hx(gpa), size: 0, ...afterVcpu });
    ops.push({ ...slot, actor: 'vmm', op: 'set_memslot', after: first });
    ops.push({ actor: 'vcpu0', op: 'pre_fault', ...range, until_done: true, after: first + 2 });
    windows.push({ actor: VCPU, startOp: first, gates: GATES[interleaving] });
    const left = c.left === 0n ? '0 left' : `ENOENT, ${hx(c.left)} left`;
    cases.push({ name: `${c.what} while slot ${TEST_SLOT} is deleted and recreated: ${left}`, ops: [first, first + 1, first + 2, first + 3], checks: [firstCallCheck(first, c.size), finalCheck(first + 3, c.left)] });
  }
  const reads = ops.length;
  for (let i = 0n; i < TEST_NPAGES; i++) ops.push({ actor: 'vcpu0', op: 'access', gpa: hx(gpa + i * PAGE), access: 'read' });
  cases.push({ name: `guest reads all ${TEST_NPAGES} pages`, ops: Array.from({ length: Number(TEST_NPAGES) }, (_, i) => reads + i), checks: [readsCheck(reads, Number(TEST_NPAGES))] });
  const doc = { name: `pre_fault_memory_test-${v.label.replace(' ', '-')}`, vm: { type: v.type, vcpus: 1, phys_bits: PHYS_BITS }, memslots: [slot], ops };
  return { doc, cases, windows };
}

/** TEST_ASSERT((range.size < prev) ^ (ret < 0)), and the continuation the model runs repeats the whole range only if nothing was done. */
function firstCallCheck(op: number, size: bigint): Check {
  return (r: RunResult) => {
    const x = resultOf(r, op, 'pre_fault');
    const progressed = hex(x.size) < size;
    if (progressed === (x.ret < 0)) return `${x.ret < 0 ? 'not ' : ''}expecting range.size to change on ${x.ret < 0 ? 'failure' : 'success'} (ret ${x.ret}, ${x.errno ?? 'no errno'}, size ${x.size})`;
    if (progressed) return `model: the first KVM_PRE_FAULT_MEMORY made progress (${x.size} left), the modelled interleaving has none`;
    return null;
  };
}

/** TEST_ASSERT(range.size == expected_left); then !ret, or ret && errno == ENOENT. */
function finalCheck(op: number, left: bigint): Check {
  return (r: RunResult) => {
    const x = resultOf(r, op, 'pre_fault');
    if (hex(x.size) !== left) return `Completed with ${hex(x.size)} bytes left, expected ${left} (${x.errno ?? 'ret 0'})`;
    if (left === 0n && x.ret !== 0) return `KVM_PRE_FAULT_MEMORY failed, rc: ${x.ret} errno: ${x.errno}`;
    if (left !== 0n && (x.ret === 0 || x.errno !== 'ENOENT')) return `KVM_PRE_FAULT_MEMORY expected ENOENT, rc: ${x.ret} errno: ${x.errno ?? 'none'}`;
    return null;
  };
}

/** The guest reads every page and reaches GUEST_DONE(). */
function readsCheck(first: number, n: number): Check {
  return (r: RunResult) => {
    for (let i = first; i < first + n; i++) {
      const x = resultOf(r, i, 'access');
      if (!x.ok) return `guest read of page ${i - first} failed: ${x.errno ?? 'emulated'}`;
    }
    return null;
  };
}

function runVariant(v: (typeof VARIANTS)[number], kernel: KernelRelease, { mutations, interleaving = 'invalid-slot' }: SelftestOptions): Subtest[] {
  const { doc, cases, windows } = layout(v, interleaving);
  const prefix = `${v.label}: `;
  const skip = vmTypeSkip(v.type, kernel, prefix, cases);
  if (skip !== null) return skip;
  return judgeCases(prefix, cases, runScenario(scenarioOf(doc), kernel, { scheduler: new GateScheduler(windows), ...(mutations !== undefined ? { mutations } : {}) }));
}

export const preFaultMemoryTest: Selftest = {
  name: 'pre_fault_memory_test',
  source: 'tools/testing/selftests/kvm/pre_fault_memory_test.c',
  summary: 'KVM_PRE_FAULT_MEMORY at the top of the guest physical space, each call racing a delete and recreate of its slot; DEFAULT, SW_PROTECTED shared and private',
  run: (kernel, options = {}) => VARIANTS.flatMap((v) => runVariant(v, kernel, options)),
};
