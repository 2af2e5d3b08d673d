/**
 * The catalogue of real KVM MMU races (reference §6) and the classic seq-check race: each
 * entry is a scenario, the mutation that puts the bug back, the kernel commit that fixed
 * it, the violation class it must produce, and the schedule budget within which
 * `faultline race explore` finds it (and far beyond which the unmutated scenario stays
 * clean — tests pin both).
 */

import type { ViolationKind } from '../kvm/findings.js';

export interface CatalogueEntry {
  readonly name: string;
  /** Reference §6 id (R1…R17), or `classic`. */
  readonly ref: string;
  /** The fixing commit's title and hash, as the kernel log has them. */
  readonly commit: { readonly title: string; readonly hash: string };
  /** What goes wrong, in kernel terms. */
  readonly summary: string;
  /** The scenario, in the scenario-file format. */
  readonly scenario: Record<string, unknown>;
  readonly mutate: readonly string[];
  readonly skip: readonly string[];
  /** The violation class the bug shows as. */
  readonly violation: ViolationKind;
  /** Explore with this scheduler (and PCT depth) … */
  readonly scheduler: 'random' | 'pct';
  readonly depth?: number;
  /** … and it is found within this many schedules. */
  readonly budget: number;
  /** The found violation's message must match this (tells the bug from a look-alike). */
  readonly signature?: string;
  /**
   * A finding the unmutated scenario can still show, and why — the control must then show
   * only that one (matched on its message), never the entry's own signature.
   */
  readonly controlMayShow?: { readonly message: string; readonly why: string };
}

const page = (gpa: string, access: string, repeat = 1): Record<string, unknown> => ({ actor: 'vcpu0', op: 'access', gpa, access, ...(repeat > 1 ? { repeat } : {}) });

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    name: 'invalid-slot-as-mmio',
    ref: 'R1',
    commit: { title: 'KVM: x86/mmu: Retry page faults that hit an invalid memslot', hash: 'e0c378684b65' },
    summary: 'a fault during a memslot delete treats the INVALID slot as no slot and installs an MMIO SPTE over a present one — the transition __handle_changed_spte() BUG()s on',
    scenario: {
      name: 'invalid-slot-as-mmio', description: 'vcpu0 reads a page the host made read-only, then writes it (a permission fault on a present SPTE) while the VMM deletes its slot',
      vm: { type: 'default', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }, { slot: 1, gpa: '32MiB', size: '2MiB' }],
      ops: [
        { actor: 'host', op: 'invalidate', gpa: '32MiB', size: '4KiB', kind: 'mprotect', prot: 'r' },
        { actor: 'vcpu0', op: 'access', gpa: '32MiB', access: 'read', after: 0 },
        { actor: 'vcpu0', op: 'access', gpa: '32MiB', access: 'write', repeat: 20 },
        { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '32MiB', size: 0, after: 1 },
      ],
    },
    mutate: ['page-fault.slotIsInvalid=false'], skip: [], violation: 'forbidden-spte-transition', scheduler: 'random', budget: 300,
  },
  {
    name: 'fault-into-obsolete-root',
    ref: 'R2',
    commit: { title: 'KVM: x86/mmu: Retry page fault if root is invalidated by memslot update', hash: 'a955cad84cda' },
    summary: 'a fault that resolved its pfn before a memslot update fast-zapped every root installs its SPTE into the now obsolete root',
    scenario: {
      name: 'fault-into-obsolete-root', description: 'vcpu0 writes fresh pages while the VMM deletes another slot (kvm_mmu_zap_all_fast)',
      vm: { type: 'default', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }, { slot: 1, gpa: '32MiB', size: '2MiB' }],
      ops: [...Array.from({ length: 8 }, (_, i) => page(`0x${(0x10000 + i * 0x1000).toString(16)}`, 'write')), { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '32MiB', size: 0 }],
    },
    mutate: ['page-fault.isObsoleteRoot=false'], skip: [], violation: 'stale-spte', scheduler: 'random', budget: 300,
  },
  {
    name: 'snp-prefault-before-finish',
    ref: 'R10',
    commit: { title: 'KVM: x86: disallow pre-fault for SNP VMs before initialization', hash: 'hash unconfirmed; 6.11-rc, 2024-07-26' },
    summary: 'KVM_PRE_FAULT_MEMORY on an SNP VM before KVM_SEV_SNP_LAUNCH_FINISH raced sev_gmem_post_populate() into an RMP #PF; since the fix it fails with EOPNOTSUPP until launch finish',
    scenario: {
      name: 'snp-prefault-before-finish', description: 'vcpu0 pre-faults private memory of an SNP VM while the VMM finishes the launch',
      vm: { type: 'snp', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB', flags: ['guest_memfd'] }],
      ops: [{ actor: 'vcpu0', op: 'pre_fault', gpa: '0x0', size: '64KiB' }, { actor: 'vmm', op: 'finalize' }],
    },
    mutate: ['pre-fault.preFaultNotAllowed=false'], skip: [], violation: 'pre-fault-conformance', scheduler: 'pct', depth: 1, budget: 50,
  },
  {
    name: 'seq-check',
    ref: 'classic',
    commit: { title: 'KVM: Synchronize guest physical memory map to host virtual memory map', hash: 'e930bffe95e1' },
    summary: 'a fault resolves its pfn, an invalidation starts, zaps, ends and the host frees the page; without mmu_invalidate_retry_gfn() under mmu_lock the fault then installs the freed pfn',
    scenario: {
      name: 'seq-check', description: 'vcpu0 writes one page while the host migrates it',
      vm: { type: 'default', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }],
      ops: [page('0x5000', 'write', 12), ...Array.from({ length: 3 }, () => ({ actor: 'host', op: 'invalidate', gpa: '0x5000', size: '4KiB', kind: 'migrate' }))],
    },
    mutate: ['page-fault.mmuInvalidateRetryGfn=false'], skip: [], violation: 'use-after-free', scheduler: 'random', budget: 200,
  },
  {
    name: 'seq-sign-extension',
    ref: 'R3',
    commit: { title: 'KVM: x86/mmu: Fix an sign-extension bug with mmu_seq that hangs vCPUs', hash: '82d811ff5665 (6.1.y)' },
    summary: 'is_page_fault_stale() took the mmu_invalidate_seq snapshot as int; once the counter passes 2^31 (a long-lived VM) the sign-extended snapshot never equals it, every fault is stale and the vCPU retries forever. The scenario starts past 2^31; the mutation is the failing compare',
    scenario: {
      name: 'seq-sign-extension', description: 'a VM whose mmu_invalidate_seq is past 2^31 (and about to wrap): vcpu0 writes a page while the host migrates it twice',
      vm: { type: 'default', vcpus: 1, mmu_invalidate_seq: '0xfffffffe' }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }],
      ops: [page('0x5000', 'write', 4), { actor: 'host', op: 'invalidate', gpa: '0x5000', size: '4KiB', kind: 'migrate' }, { actor: 'host', op: 'invalidate', gpa: '0x5000', size: '4KiB', kind: 'migrate' }, page('0x6000', 'write')],
    },
    mutate: ['page-fault.mmuInvalidateRetryGfn=true'], skip: [], violation: 'livelock', scheduler: 'random', budget: 20,
    signature: 'last reason: stale',
  },
  {
    name: 'memslot-swap-during-invalidation',
    ref: 'R4',
    commit: { title: 'KVM: Block memslot updates across range_start() and range_end()', hash: '52ac8b358b0c' },
    summary: 'a memslot is deleted between invalidate_range_start() and _end(): start raised mmu_invalidate_in_progress for the slot, end no longer finds it, in_progress never drops and faults retry forever',
    scenario: {
      name: 'memslot-swap-during-invalidation', description: 'the host invalidates a page of slot 1 while the VMM deletes slot 1',
      vm: { type: 'default', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }, { slot: 1, gpa: '32MiB', size: '2MiB' }],
      ops: [page('0x5000', 'write'), { actor: 'host', op: 'invalidate', gpa: '32MiB', size: '4KiB', kind: 'migrate' }, { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '32MiB', size: 0 }],
    },
    mutate: ['memslot-update.mnActiveInvalidateIdle=true'], skip: [], violation: 'unbalanced-in-progress', scheduler: 'random', budget: 1500,
  },
  {
    name: 'zap-without-flush',
    ref: 'R5',
    commit: { title: 'KVM: x86/mmu: Ensure TLBs are flushed when yielding during GFN range zap', hash: 'a835429cda91' },
    summary: 'SPTEs are zapped but the remote TLB flush is not done before the mm frees the pages: a vCPU keeps reaching a freed page through its TLB',
    scenario: {
      name: 'zap-without-flush', description: 'vcpu0 writes and re-reads a page the host migrates',
      vm: { type: 'default', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }],
      ops: [page('0x5000', 'write'), { actor: 'host', op: 'invalidate', gpa: '0x5000', size: '4KiB', kind: 'migrate' }, page('0x5000', 'read', 30)],
    },
    mutate: [], skip: ['invalidation.kvmFlushRemoteTlbs'], violation: 'use-after-free', scheduler: 'random', budget: 50,
  },
  {
    name: 'dirty-log-enable-no-flush',
    ref: 'R7',
    commit: { title: 'kvm: x86: mmu: Always flush TLBs when enabling dirty logging', hash: 'hash unconfirmed; 6.0, Jul 2022' },
    summary: 'enabling dirty logging write-protects SPTEs but skips the TLB flush: a write through a cached writable translation is never logged',
    scenario: {
      name: 'dirty-log-enable-no-flush', description: 'vcpu0 writes a page, the VMM enables dirty logging, vcpu0 writes it again',
      vm: { type: 'default', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }],
      ops: [page('0x5000', 'write'), { actor: 'vmm', op: 'set_memslot', slot: 0, gpa: '0x0', size: '16MiB', flags: ['log_dirty_pages'] }, page('0x5000', 'write', 3)],
    },
    mutate: [], skip: ['memslot-update.kvmFlushRemoteTlbs'], violation: 'lost-dirty-page', scheduler: 'random', budget: 50,
  },
  {
    name: 'prefault-keeps-obsolete-root',
    ref: 'R12',
    commit: { title: 'KVM: x86/mmu: Check and free obsolete roots in kvm_mmu_reload()', hash: '20a6cff3b283' },
    summary: 'a memslot delete invalidates every root; a pre-fault issued before the vCPU re-enters the guest keeps the obsolete root, every fault is stale and kvm_tdp_map_page() retries forever',
    scenario: {
      name: 'prefault-keeps-obsolete-root',
      description: 'vcpu0 runs and returns to userspace (a first pre-fault), the VMM deletes another slot, and only then does vcpu0 pre-fault again, without re-entering the guest (\'after\' the delete: a pre-fault overlapping the delete hangs for another reason, README Findings)',
      vm: { type: 'default', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }, { slot: 1, gpa: '32MiB', size: '2MiB' }],
      ops: [page('0x5000', 'write'), { actor: 'vcpu0', op: 'pre_fault', gpa: '0x0', size: '4KiB' }, { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '32MiB', size: 0, after: 1 }, { actor: 'vcpu0', op: 'pre_fault', gpa: '0x10000', size: '16KiB', after: 2 }],
    },
    mutate: ['pre-fault.hasRequestFreeObsoleteRoots=false'], skip: [], violation: 'livelock', scheduler: 'random', budget: 50,
    signature: 'last reason: obsolete-root',
  },
  {
    name: 'prefault-invalid-slot-retry',
    ref: 'R13',
    commit: { title: 'KVM: x86/mmu: Return -EAGAIN if userspace deletes/moves memslot during prefault', hash: '3ccbf6f47098' },
    summary: 'the pre-fault holds kvm->srcu and retries on the INVALID slot of a delete in progress, while the delete waits in synchronize_srcu() for that read lock',
    scenario: {
      name: 'prefault-invalid-slot-retry', description: 'vcpu0 pre-faults 2MiB until done while the VMM deletes the slot',
      vm: { type: 'default', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }],
      ops: [{ actor: 'vcpu0', op: 'pre_fault', gpa: '0x0', size: '2MiB', until_done: true }, { actor: 'vmm', op: 'set_memslot', slot: 0, gpa: '0x0', size: 0 }],
    },
    mutate: ['page-fault.isPrefetch=false'], skip: [], violation: 'livelock', scheduler: 'random', budget: 300,
    signature: 'last reason: invalid-slot',
    controlMayShow: {
      message: 'last reason: obsolete-root',
      why: 'README Findings: a pre-fault call that starts after the first synchronize_srcu() and loads its root before kvm_mmu_zap_all_fast() retries on the obsolete root once the slot is gone (no slot, so no EAGAIN) while the second synchronize_srcu() waits for it',
    },
  },
  {
    name: 'attr-hugepage-head-tail',
    ref: 'R14',
    commit: { title: 'KVM: x86/mmu: Prevent installing hugepages when mem attributes are changing', hash: '9129633d568e' },
    summary: 'only the converted gfns are in the invalidation range; a fault on an unchanged gfn of the same 2 MiB region passes mmu_invalidate_retry_gfn() and installs a 2M mapping over mixed attributes',
    scenario: {
      name: 'attr-hugepage-head-tail', description: 'vcpu0 touches a 2M-backed region while the VMM converts one page of it to private',
      vm: { type: 'sw_protected', vcpus: 1 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB', flags: ['guest_memfd'], backing: '2M' }],
      ops: [page('0x3000', 'read'), { actor: 'vmm', op: 'set_memory_attributes', gpa: '0x1000', size: '4KiB', attributes: 'private' }, page('0x5000', 'read'), page('0x9000', 'read')],
    },
    mutate: [], skip: ['invalidation.addHugepageHeadTail'], violation: 'mixed-attribute-hugepage', scheduler: 'random', budget: 100,
  },
  {
    name: 'prefault-ignores-reload-error',
    ref: 'R11',
    commit: { title: 'KVM: x86/mmu: Check that root is valid/loaded when pre-faulting SPTEs', hash: '28cec7f08b8b' },
    summary: 'kvm_arch_vcpu_pre_fault_memory() ignored kvm_mmu_reload()\'s error: when the page-table top-up fails with -ENOMEM and memory comes back before the fault\'s own top-up, the fault runs with root.hpa == INVALID_PAGE and root_to_sp() dereferences garbage',
    scenario: {
      name: 'prefault-ignores-reload-error',
      description: 'a host short of page-table memory (vm.page_tables): vcpu1 uses it up, vcpu0 drops its root (KVM_SET_SREGS) and pre-faults, and the VMM deletes vcpu1\'s slot, which gives the tables back after an RCU grace period',
      vm: { type: 'default', vcpus: 2, page_tables: 10 }, memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }, { slot: 1, gpa: '32MiB', size: '8MiB' }],
      ops: [
        ...Array.from({ length: 4 }, (_, i) => ({ actor: 'vcpu1', op: 'access', gpa: `0x${(0x2000000 + i * 0x200000).toString(16)}`, access: 'write' })),
        { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '32MiB', size: 0, after: 3 },
        page('0x0', 'write'), { actor: 'vcpu0', op: 'mmu_reset' }, { actor: 'vcpu0', op: 'pre_fault', gpa: '0x100000', size: '4KiB' },
      ],
    },
    mutate: ['pre-fault.mmuLoadFailed=false'], skip: [], violation: 'invalid-root', scheduler: 'random', budget: 300,
  },
  {
    name: 'walk-without-rcu',
    ref: 'R17',
    commit: { title: 'KVM: x86/mmu: Fix RCU usage when atomically zapping SPTEs', hash: '14f6fec2e8e0 (with 70fb3e41a97a)' },
    summary: 'page tables removed under the read lock are freed by call_rcu(); a walker that does not hold rcu_read_lock() can step into a table another vCPU unlinked (a 2M mapping replacing it once dirty logging is off) after it was freed and handed out again — the use-after-free those RCU fixes guard against',
    scenario: {
      name: 'walk-without-rcu',
      description: 'vcpu0 writes 4K pages of a 2M region under dirty logging while the VMM turns dirty logging off; vcpu1 then maps the region with a 2M page (replacing vcpu0\'s table under the read lock) and faults elsewhere, topping up its cache from the freed tables',
      vm: { type: 'default', vcpus: 2 },
      memslots: [{ slot: 0, gpa: '0x0', size: '16MiB', flags: ['log_dirty_pages'], backing: '2M' }, { slot: 1, gpa: '1GiB', size: '16MiB' }],
      ops: [
        page('0x200000', 'write'),
        ...Array.from({ length: 12 }, (_, i) => page(`0x${(0x210000 + i * 0x1000).toString(16)}`, 'write')),
        { actor: 'vmm', op: 'set_memslot', slot: 0, gpa: '0x0', size: '16MiB', backing: '2M', after: 0 },
        ...Array.from({ length: 8 }, (_, i) => ({ actor: 'vcpu1', op: 'access', gpa: `0x${(0x204000 + i * 0x1000).toString(16)}`, access: 'write' })),
        ...Array.from({ length: 6 }, (_, i) => ({ actor: 'vcpu1', op: 'access', gpa: `0x${(0x40000000 + i * 0x200000).toString(16)}`, access: 'write' })),
      ],
    },
    mutate: [], skip: ['page-fault.rcuReadLock'], violation: 'table-reuse', scheduler: 'pct', depth: 2, budget: 1000,
  },
];
