/**
 * tools/testing/selftests/kvm/set_memory_region_test.c, its x86 cases about a memslot
 * changing under a running vCPU:
 *
 * - test_zero_memory_regions(): a VM with no memslot at all; KVM_RUN must exit with
 *   KVM_EXIT_INTERNAL_ERROR — in the model, the vCPU's first instruction fetch finds no
 *   memslot and exits to emulation, which for a fetch is the internal error.
 * - test_delete_memory_region(): slot 10, 2MiB of THP at 0xc0000000, zeroed; the guest
 *   spins reading it. Deleting the slot makes the read an MMIO exit (the guest sees
 *   MMIO_VAL), recreating it makes it read memory (0), deleting it again MMIO again; then
 *   deleting slot 0 — the guest's code and page tables — makes the next fetch fail
 *   (KVM_EXIT_SHUTDOWN or KVM_EXIT_INTERNAL_ERROR). The reads race each delete (they run
 *   while it does, on a seeded random interleaving) and one read after each change is
 *   checked. Run with KVM_X86_QUIRK_SLOT_ZAP_ALL on, and again disabled where
 *   KVM_CAP_DISABLE_QUIRKS2 has it (aa8d1f48d353, 6.12); before that the disabled pass
 *   is skipped, as main() does not run it.
 *
 * Not modelled: test_move_memory_region() (a guest value the model has no data for),
 * test_mmio_during_vectoring(), the invalid-flags, max-slots and guest_memfd binding cases.
 */

import { kernelProfile, type KernelRelease } from '../kvm/kernel-release.js';
import type { Mutations } from '../protocol/mutations.js';
import { accessesEmulated, accessesOk, memslotOpsOk, noViolation } from './checks.js';
import { OpList, hx } from './doc.js';
import { judgeCases, runScenario, scenarioOf, skipCases, type Case, type Selftest, type Subtest } from './harness.js';

const MEM_REGION_GPA = 0xc0000000;
const MEM_REGION_SIZE = 0x200000;
const MEM_REGION_SLOT = 10;
/** Slot 0: the selftest's code, stack and page tables (vm_create_with_one_vcpu). */
const CODE_GPA = 0x100000;
const SPINS = 3;
const SEED = 1;

function zeroMemslots(kernel: KernelRelease, mutations?: Mutations): Subtest[] {
  const l = new OpList();
  const fetch = l.add('vcpu0', 'access', { gpa: hx(0xfff000), access: 'exec' });
  const doc = { name: 'set_memory_region_test-zero', vm: { type: 'default', vcpus: 1 }, ops: l.ops };
  const cases = [{ name: 'zero memslots: KVM_RUN exits with KVM_EXIT_INTERNAL_ERROR', ops: [fetch], checks: [accessesEmulated([fetch], 'KVM_RUN with no memslot')] }];
  return judgeCases('', cases, runScenario(scenarioOf(doc), kernel, mutations !== undefined ? { mutations } : {}));
}

/** The guest's reads while the VMM changes slot 10 (racing), then one read after the change: returns [racing…, checked]. */
function spinAcross(l: OpList, change: number): number[] {
  const racing = Array.from({ length: SPINS }, () => l.add('vcpu0', 'access', { gpa: hx(MEM_REGION_GPA), access: 'read' }));
  return [...racing, l.add('vcpu0', 'access', { gpa: hx(MEM_REGION_GPA), access: 'read' }, change)];
}

function deleteLayout(quirkOff: boolean): { doc: object; cases: Case[] } {
  const l = new OpList();
  const slot = { slot: MEM_REGION_SLOT, gpa: hx(MEM_REGION_GPA), size: hx(MEM_REGION_SIZE), backing: '2M', populated: true };
  const sync = l.add('vcpu0', 'access', { gpa: hx(MEM_REGION_GPA), access: 'read' });
  const del1 = l.add('vmm', 'set_memslot', { slot: MEM_REGION_SLOT, gpa: hx(MEM_REGION_GPA), size: 0 }, sync);
  const r1 = spinAcross(l, del1);
  const add = l.add('vmm', 'set_memslot', { ...slot }, r1[r1.length - 1]);
  const r2 = spinAcross(l, add);
  const del2 = l.add('vmm', 'set_memslot', { slot: MEM_REGION_SLOT, gpa: hx(MEM_REGION_GPA), size: 0 }, r2[r2.length - 1]);
  const r3 = spinAcross(l, del2);
  const del0 = l.add('vmm', 'set_memslot', { slot: 0, gpa: 0, size: 0 }, r3[r3.length - 1]);
  const fetch = l.add('vcpu0', 'access', { gpa: hx(CODE_GPA), access: 'exec' }, del0);
  const last = (r: number[]): number[] => [r[r.length - 1]!];
  const cases: Case[] = [
    { name: 'delete slot 10 under the spinning guest: it sees MMIO', ops: [sync, del1, ...r1], checks: [memslotOpsOk([del1]), accessesOk([sync], 'GUEST_SYNC(0)'), accessesEmulated(last(r1), 'after the delete')] },
    { name: 'recreate slot 10: the guest reads memory again', ops: [add, ...r2], checks: [memslotOpsOk([add]), accessesOk(last(r2), 'after the recreate')] },
    { name: 'delete slot 10 again: MMIO again', ops: [del2, ...r3], checks: [memslotOpsOk([del2]), accessesEmulated(last(r3), 'after the second delete')] },
    { name: 'delete slot 0 (code, page tables): the next fetch fails (KVM_EXIT_SHUTDOWN or INTERNAL_ERROR), nothing stays mapped', ops: [del0, fetch], checks: [memslotOpsOk([del0]), accessesEmulated([fetch], 'the fetch after slot 0 is gone'), noViolation] },
  ];
  const memslots = [{ slot: 0, gpa: 0, size: '2MiB', populated: true }, slot];
  const vm = { type: 'default', vcpus: 1, ...(quirkOff ? { disabled_quirks: ['slot_zap_all'] } : {}) };
  return { doc: { name: `set_memory_region_test-delete${quirkOff ? '-nozap' : ''}`, vm, memslots, ops: l.ops }, cases };
}

function deleteRegion(kernel: KernelRelease, quirkOff: boolean, mutations?: Mutations): Subtest[] {
  const { doc, cases } = deleteLayout(quirkOff);
  const prefix = `delete in-use region, slot zap quirk ${quirkOff ? 'disabled' : 'enabled'}: `;
  if (quirkOff && !kernelProfile(kernel).switches.slotZapOnlyWithQuirk) return skipCases(prefix, cases, `KVM_X86_QUIRK_SLOT_ZAP_ALL is not in KVM_CAP_DISABLE_QUIRKS2 before 6.12 (aa8d1f48d353)`);
  return judgeCases(prefix, cases, runScenario(scenarioOf(doc), kernel, { scheduler: 'random', seed: SEED, ...(mutations !== undefined ? { mutations } : {}) }));
}

export const setMemoryRegionTest: Selftest = {
  name: 'set_memory_region_test',
  source: 'tools/testing/selftests/kvm/set_memory_region_test.c',
  summary: 'KVM_RUN with zero memslots; delete, recreate and delete again a memslot under a spinning guest, then the code memslot — with the slot zap quirk on and off',
  run: (kernel, { mutations } = {}) => [...zeroMemslots(kernel, mutations), ...deleteRegion(kernel, false, mutations), ...deleteRegion(kernel, true, mutations)],
};
