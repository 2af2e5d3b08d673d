/**
 * tools/testing/selftests/kvm/x86/private_mem_conversions_test.c, its explicit-conversion
 * part (guest_test_explicit_conversion()) on one vCPU: a SW_PROTECTED VM (skipped where
 * KVM_CAP_VM_TYPES lacks it), slot 10 at 4GiB backed by guest_memfd, PER_CPU_DATA_SIZE =
 * 2MiB + 4KiB of data. The guest fills the data while it is shared; then per test range —
 * [0, 4KiB), [0, 2MiB), [4KiB, +4KiB), [4KiB, +2MiB), [2MiB, +4KiB) — it writes the range
 * shared, converts it private (KVM_HC_MAP_GPA_RANGE → KVM_SET_MEMORY_ATTRIBUTES), writes it
 * private (only the first page of a range larger than a page), converts it back shared and
 * writes it again, then the whole data range is made shared. Every guest access must
 * succeed without an exit (the selftest's KVM_EXIT_HYPERCALL/IO only), every conversion
 * return 0, and the model's invariants (a private gfn maps only guest_memfd memory, a
 * shared one only the hva's; no hugepage over mixed attributes) hold throughout.
 *
 * Not modelled: the data patterns (the model has no page contents; the host's memcmp_h()
 * and the guest's memcmp_g() become "the access went to the right memory", which the
 * invariants check), the do_fallocate pass (no guest_memfd fallocate in the model), and
 * guest_test_punch_hole(). A memset of a range touches every 32nd page and the last.
 */

import type { KernelRelease } from '../kvm/kernel-release.js';
import { accessesOk, attributeOpsOk, noViolation } from './checks.js';
import { OpList, PAGE, hx } from './doc.js';
import { judgeCases, runScenario, scenarioOf, type Case, type Selftest , type SelftestOptions } from './harness.js';
import { vmTypeSkip } from './vm-type-skip.js';

const BASE_DATA_SLOT = 10;
const BASE_DATA_GPA = 1n << 32n;
const SZ_2M = 0x200000;
const PER_CPU_DATA_SIZE = SZ_2M + PAGE;
/** align_up(PER_CPU_DATA_SIZE, 2M): the slot and guest_memfd size for one vCPU. */
const PER_CPU_SIZE = 2 * SZ_2M;
const STRIDE_PAGES = 32;

const TEST_RANGES: readonly { readonly offset: number; readonly size: number; readonly what: string }[] = [
  { offset: 0, size: PAGE, what: '[0, 4KiB)' },
  { offset: 0, size: SZ_2M, what: '[0, 2MiB)' },
  { offset: PAGE, size: PAGE, what: '[4KiB, +4KiB)' },
  { offset: PAGE, size: SZ_2M, what: '[4KiB, +2MiB)' },
  { offset: SZ_2M, size: PAGE, what: '[2MiB, +4KiB)' },
];

/** The guest's memset() of [gpa, +size): a write to every STRIDE_PAGES-th page and to the last. */
function memset(l: OpList, gpa: bigint, size: number, after?: number): number[] {
  const pages = size / PAGE;
  const picks = [...new Set([...Array.from({ length: Math.ceil(pages / STRIDE_PAGES) }, (_, i) => i * STRIDE_PAGES), pages - 1])];
  return picks.map((p, i) => l.add('vcpu0', 'access', { gpa: hx(gpa + BigInt(p * PAGE)), access: 'write' }, i === 0 ? after : undefined));
}

const convert = (l: OpList, gpa: bigint, size: number, to: 'private' | 'shared', after?: number): number =>
  l.add('vmm', 'set_memory_attributes', { gpa: hx(gpa), size: hx(size), attributes: to }, after);

function rangeCase(l: OpList, r: (typeof TEST_RANGES)[number], after: number): { c: Case; last: number } {
  const gpa = BASE_DATA_GPA + BigInt(r.offset);
  const p1 = memset(l, gpa, r.size, after);
  const toPrivate = convert(l, gpa, r.size, 'private', p1[p1.length - 1]);
  const p2 = memset(l, gpa, Math.min(r.size, PAGE), toPrivate);
  const toShared = convert(l, gpa, r.size, 'shared', p2[p2.length - 1]);
  const p3 = memset(l, gpa, r.size, toShared);
  const reset = memset(l, gpa, r.size);
  const whole = convert(l, BASE_DATA_GPA, PER_CPU_DATA_SIZE, 'shared', reset[reset.length - 1]);
  const accesses = [...p1, ...p2, ...p3, ...reset];
  const attrs = [toPrivate, toShared, whole];
  const c: Case = { name: `range ${r.what}: write shared, convert private, write private, convert shared, write shared`, ops: [...accesses, ...attrs], checks: [accessesOk(accesses, `range ${r.what}`), attributeOpsOk(attrs), noViolation] };
  return { c, last: whole };
}

function layout(): { doc: object; cases: Case[] } {
  const l = new OpList();
  const init = memset(l, BASE_DATA_GPA, PER_CPU_DATA_SIZE);
  const cases: Case[] = [{ name: 'the data range is shared by default: the guest fills it', ops: init, checks: [accessesOk(init, 'initial memset')] }];
  let last = init[init.length - 1]!;
  for (const r of TEST_RANGES) {
    const { c, last: end } = rangeCase(l, r, last);
    cases.push(c);
    last = end;
  }
  const memslots = [{ slot: BASE_DATA_SLOT, gpa: hx(BASE_DATA_GPA), size: hx(PER_CPU_SIZE), flags: ['guest_memfd'] }];
  return { doc: { name: 'private_mem_conversions_test', vm: { type: 'sw_protected', vcpus: 1 }, memslots, ops: l.ops }, cases };
}

export const privateMemConversionsTest: Selftest = {
  name: 'private_mem_conversions_test',
  source: 'tools/testing/selftests/kvm/x86/private_mem_conversions_test.c',
  summary: 'explicit shared ⇄ private conversions of five ranges of a guest_memfd slot on a SW_PROTECTED VM, the guest writing each side; no punch-hole or fallocate pass',
  run: (kernel: KernelRelease, { mutations }: SelftestOptions = {}) => {
    const { doc, cases } = layout();
    return vmTypeSkip('sw_protected', kernel, '', cases) ?? judgeCases('', cases, runScenario(scenarioOf(doc), kernel, mutations !== undefined ? { mutations } : {}));
  },
};
