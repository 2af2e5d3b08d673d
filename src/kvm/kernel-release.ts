/**
 * Kernel releases: the model is one release at a time, not a blend. KERNEL_CHANGES lists
 * every modelled behaviour that differs between the releases faultline models (6.11 …
 * 6.19) — per row the switch it sets, the commit that changed it, the first release that
 * has it, and what it changed. A KernelProfile (the switches' values for one release) is
 * derived from the table; the VM carries its profile (Vm.kernel) and the model's guards and
 * actions read switches from it. No code compares release numbers.
 *
 * Each row was checked against the patch as posted and as applied (the maintainer's
 * "applied" reply with the commit hash), against the kvm pull request that took it into
 * the release named, and in the source on both sides where a tree could be dated: a
 * kvm-x86 snapshot of the 6.11 cycle (before), a 6.17-rc tree and a linux-next snapshot
 * of the 6.18 era (after) — docs/model.md "Kernel versions" says which row in which. No
 * tagged release tree was read, so the trees are dated by their content.
 */

/** The releases modelled, oldest first. */
export const KERNEL_RELEASES = ['6.11', '6.12', '6.13', '6.14', '6.15', '6.16', '6.17', '6.18', '6.19'] as const;
export type KernelRelease = (typeof KERNEL_RELEASES)[number];

/** The release a VM runs unless told otherwise: the newest modelled. */
export const KERNEL_DEFAULT: KernelRelease = '6.19';

/** The switches, one per row of KERNEL_CHANGES. */
export type KernelSwitch = 'slotZapOnlyWithQuirk' | 'recoverHugePagesInPlace' | 'thpOnHugeZeroWpFault' | 'spuriousWhenAccessAllowed' | 'reloadFreesObsoleteRoots' | 'attrInvalidateHugepageHeadTail' | 'prefetchSpuriousOnlyOverLeaf' | 'tdxVmType' | 'prefaultBailsOutOnVmDead' | 'prefetchInvalidSlotEagain';

export interface KernelChange {
  readonly switch: KernelSwitch;
  /** The commit that changed the behaviour: 12-digit hash and title, as the kernel log has them. */
  readonly commit: { readonly hash: string; readonly title: string };
  /** The first release that has it (the switch is on from this release). */
  readonly since: KernelRelease;
  readonly before: string;
  readonly after: string;
  /** The race catalogue entry the old behaviour reproduces, if any. */
  readonly race?: string;
}

/**
 * Every modelled behaviour that differs between releases, in release order.
 *
 * - slotZapOnlyWithQuirk: aa8d1f48d353 changes kvm_arch_flush_shadow_memslot()
 *   (arch/x86/kvm/mmu/mmu.c) from an unconditional `kvm_mmu_zap_all_fast(kvm)` to `if
 *   (kvm_memslot_flush_zap_all(kvm)) kvm_mmu_zap_all_fast(kvm); else
 *   kvm_mmu_zap_memslot_leafs(kvm, slot);`, where zap-all needs a KVM_X86_DEFAULT_VM with
 *   KVM_X86_QUIRK_SLOT_ZAP_ALL (on unless disabled with KVM_CAP_DISABLE_QUIRKS2, quirks.ts).
 *   In the x86 MMU pull for 6.12; read in a 6.11-cycle tree (before) and a 6.18-era tree
 *   (after, where the function is kvm_mmu_zap_memslot). The title is the series' patch 1
 *   as posted; the applied commit's title was not found and is unconfirmed.
 * - recoverHugePagesInPlace: 13e2e4f62a4b renames kvm_mmu_zap_collapsible_sptes() to
 *   kvm_mmu_recover_huge_pages() (called by kvm_mmu_slot_apply_flags() in
 *   arch/x86/kvm/x86.c when dirty logging is turned off) and makes
 *   recover_huge_pages_range() (arch/x86/kvm/mmu/tdp_mmu.c) install
 *   `make_huge_spte(kvm, iter.old_spte, parent->level)` of the first present leaf under the
 *   non-leaf SPTE with tdp_mmu_set_spte_atomic() instead of zapping it; 35ef80eb29ab, in the
 *   same series, batches the flush to one kvm_flush_remote_tlbs_memslot() at the end where
 *   each tdp_mmu_zap_spte_atomic() had flushed. Read in the series' v2 diffs (before: the
 *   zap in zap_collapsible_spte_range(); after: recover_huge_pages_range()), in the
 *   maintainer's "applied" list with the hash, in "[GIT PULL] KVM: x86: MMU changes for
 *   6.13" (tags/kvm-x86-mmu-6.13, which names both), and in the 6.18-era tree, where
 *   recover_huge_pages_range() calls kvm_mmu_max_mapping_level() with the extra fault
 *   argument and otherwise reads the same.
 * - thpOnHugeZeroWpFault (mm, not KVM): 1ced09e0331f makes a write fault on a PMD that
 *   maps the huge zero page allocate a THP for the whole PMD (do_huge_zero_wp_pmd() in
 *   mm/huge_memory.c); before, do_huge_pmd_wp_page() split the PMD and the write broke
 *   CoW on one 4K page. Posted as [PATCH v5 2/2] "mm: Allocate THP on hugezeropage
 *   wp-fault" (September 2024), in akpm's mm tree in October 2024, and in a mirror of
 *   mainline pushed on 2024-11-26 during the 6.13 merge window under this hash (6.13-rc1
 *   was tagged on 2024-12-01); later fixes name it by this hash. KVM sees it through gup
 *   with FOLL_WRITE: the retried fault maps 2M writable instead of 4K.
 * - spuriousWhenAccessAllowed: 386d69f9f29b adds to tdp_mmu_map_handle_target_level()
 *   `if (is_shadow_present_pte(iter->old_spte) && is_access_allowed(fault,
 *   iter->old_spte) && is_last_spte(iter->old_spte, iter->level)) return RET_PF_SPURIOUS;`
 *   ahead of make_spte(); before it only `new_spte == old_spte` was spurious. Absent in the
 *   6.11-cycle tree, present (folded with the prefetch check) in the 6.17-rc tree; the tip of
 *   the kvm-x86 fixes pull for 6.13-rc (December 2024), so 6.12 lacks it.
 * - reloadFreesObsoleteRoots: 20a6cff3b283 adds to kvm_mmu_reload() (arch/x86/kvm/mmu.h)
 *   `if (kvm_check_request(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, vcpu))
 *   kvm_mmu_free_obsolete_roots(vcpu);` before the root check. Posted as [PATCH v2 5/5]
 *   (March 2025), taken in the kvm fixes pull for 6.15-rc (May 2025), so 6.14 lacks it.
 * - attrInvalidateHugepageHeadTail: 9129633d568e makes kvm_arch_pre_set_memory_attributes()'s
 *   range include the head and tail hugepages not already mixed; the same 6.15-rc fixes
 *   pull.
 * - prefetchSpuriousOnlyOverLeaf: ea9fcdf76d3d changes tdp_mmu_map_handle_target_level()
 *   (arch/x86/kvm/mmu/tdp_mmu.c) from `if (fault->prefetch &&
 *   is_shadow_present_pte(iter->old_spte)) return RET_PF_SPURIOUS;` to the same with
 *   `&& is_last_spte(iter->old_spte, iter->level)`; applied to kvm-x86 mmu with
 *   20a6cff3b283's series (May 2025), in the x86 MMU pull for 6.16. The model's rule
 *   before it is the 6.13–6.15 one for every older release too: how 6.11 and 6.12 treated a
 *   pre-fault over a present SPTE is not modelled separately.
 * - tdxVmType: 161d34609f9b adds KVM_X86_TDX_VM to kvm_caps.supported_vm_types when the
 *   TDX module is enabled; before it, kvm_arch_init_vm() refuses the type (-EINVAL, "type
 *   not supported"). The last patch of the TDX series, merged for 6.16 with it (the same
 *   push log as 958810a09412 gives the hash). Read in the series as posted and applied
 *   (KVM_CAP_VM_TYPES and kvm_arch_init_vm() checking the supported types), not in a
 *   tree with TDX. faultline refuses a `tdx` VM on an older
 *   release as bad input, as KVM_CREATE_VM would.
 * - prefaultBailsOutOnVmDead: 958810a09412 adds to kvm_tdp_map_page()'s retry loop
 *   (arch/x86/kvm/mmu/mmu.c), after the signal check, `if (kvm_check_request(KVM_REQ_VM_DEAD,
 *   vcpu)) return -EIO;`. Posted by Yan Zhao (February 2025) for TDX, whose SEAMCALL errors
 *   make a fault return RET_PF_RETRY forever on a dead VM; applied by Paolo Bonzini as
 *   [PATCH 20/29] of the TDX MMU part and merged with TDX for 6.16 (the hash as the kvm
 *   tree's push log lists it in the TDX MMU branch's last rebuild, March 2025). Read in the
 *   diff (before: the loop checks only signal_pending()) and in the 6.18-era tree (after).
 * - prefetchInvalidSlotEagain: 3ccbf6f47098 changes kvm_mmu_faultin_pfn()
 *   (arch/x86/kvm/mmu/mmu.c): `if (slot->flags & KVM_MEMSLOT_INVALID) { if
 *   (fault->prefetch) return -EAGAIN; return RET_PF_RETRY; }` where 6.17 returned
 *   RET_PF_RETRY alone. Applied to kvm-x86 mmu (August 2025), in the x86 MMU pull for
 *   6.18; the 6.18-rc pull adding its selftest names it as the fix.
 */
export const KERNEL_CHANGES: readonly KernelChange[] = [
  {
    switch: 'slotZapOnlyWithQuirk',
    commit: { hash: 'aa8d1f48d353', title: 'KVM: x86/mmu: Introduce a quirk to control memslot zap behavior' },
    since: '6.12',
    before: 'deleting or moving a memslot zaps all (kvm_mmu_zap_all_fast) on every VM type: every root obsolete, vCPUs reload',
    after: 'only a DEFAULT VM with KVM_X86_QUIRK_SLOT_ZAP_ALL on zaps all; others zap the slot\'s leaf SPTEs under the write lock, roots stay valid',
  },
  {
    switch: 'recoverHugePagesInPlace',
    commit: { hash: '13e2e4f62a4b', title: 'KVM: x86/mmu: Recover TDP MMU huge page mappings in-place instead of zapping' },
    since: '6.13',
    before: 'turning dirty logging off zaps each non-leaf SPTE of the slot that could map huge (tdp_mmu_zap_spte_atomic, a flush each): the range exits again and the next fault maps it huge',
    after: 'turning dirty logging off replaces each such non-leaf SPTE by a huge SPTE made from its first present leaf (make_huge_spte), one flush for the slot: no exit, huge at once',
  },
  {
    switch: 'thpOnHugeZeroWpFault',
    commit: { hash: '1ced09e0331f', title: 'mm: allocate THP on hugezeropage wp-fault' },
    since: '6.13',
    before: 'a guest write to THP memory that maps the huge zero page splits the PMD and breaks CoW on one 4K page: KVM maps it 4K, and every other page of the 2M takes its own CoW break',
    after: 'the write allocates a whole THP: KVM maps the 2M writable at once',
  },
  {
    switch: 'spuriousWhenAccessAllowed',
    commit: { hash: '386d69f9f29b', title: 'KVM: x86/mmu: Treat TDP MMU faults as spurious if access is already allowed' },
    since: '6.13',
    before: 'a fault that finds a present leaf already allowing its access makes a new SPTE and installs it unless it equals the old one (A/D bits differ: the SPTE is rewritten)',
    after: 'a present leaf that already allows the access is RET_PF_SPURIOUS: nothing is rewritten',
  },
  {
    switch: 'reloadFreesObsoleteRoots',
    commit: { hash: '20a6cff3b283', title: 'KVM: x86/mmu: Check and free obsolete roots in kvm_mmu_reload()' },
    since: '6.15',
    before: 'a pre-fault before the next guest entry keeps an obsolete root: every fault is stale and kvm_tdp_map_page() retries forever',
    after: 'kvm_mmu_reload() frees obsolete roots first: the pre-fault loads a fresh root',
    race: 'R12',
  },
  {
    switch: 'attrInvalidateHugepageHeadTail',
    commit: { hash: '9129633d568e', title: 'KVM: x86/mmu: Prevent installing hugepages when mem attributes are changing' },
    since: '6.15',
    before: 'only the converted gfns are invalidated: a fault elsewhere in the hugepage can map it huge over mixed attributes',
    after: 'the head and tail hugepages join the invalidation range: such a fault retries',
    race: 'R14',
  },
  {
    switch: 'prefetchSpuriousOnlyOverLeaf',
    commit: { hash: 'ea9fcdf76d3d', title: 'KVM: x86/mmu: Further check old SPTE is leaf for spurious prefetch fault' },
    since: '6.16',
    before: 'a pre-fault meeting a page table at its goal level is spurious: the range counts as mapped, the table keeps whatever leaves it has',
    after: 'only a present leaf is spurious: the pre-fault replaces the table by the huge mapping, as a guest fault does',
  },
  {
    switch: 'tdxVmType',
    commit: { hash: '161d34609f9b', title: 'KVM: TDX: Make TDX VM type supported' },
    since: '6.16',
    before: 'KVM_CREATE_VM with KVM_X86_TDX_VM is -EINVAL: there are no TDX VMs (faultline refuses vm type tdx)',
    after: 'TDX VMs can be created (pre-fault only after KVM_TDX_FINALIZE_VM)',
  },
  {
    switch: 'prefaultBailsOutOnVmDead',
    commit: { hash: '958810a09412', title: 'KVM: x86/mmu: Bail out kvm_tdp_map_page() when VM dead' },
    since: '6.16',
    before: 'a pre-fault retrying inside kvm_tdp_map_page() when the VM dies keeps retrying until its fault stops returning RET_PF_RETRY (or a signal): it may even map the page and succeed',
    after: 'the retry loop checks KVM_REQ_VM_DEAD and returns -EIO',
  },
  {
    switch: 'prefetchInvalidSlotEagain',
    commit: { hash: '3ccbf6f47098', title: 'KVM: x86/mmu: Return -EAGAIN if userspace deletes/moves memslot during prefault' },
    since: '6.18',
    before: 'a pre-fault on an INVALID memslot retries in the kernel, holding SRCU while the delete waits for it',
    after: 'a pre-fault on an INVALID memslot returns -EAGAIN to userspace',
    race: 'R13',
  },
];

/** The switches' values for one release. */
export interface KernelProfile {
  readonly release: KernelRelease;
  readonly switches: Readonly<Record<KernelSwitch, boolean>>;
}

const releaseIndex = (r: KernelRelease): number => KERNEL_RELEASES.indexOf(r);

/** The profile of a release: each switch is on from its row's first release. */
export function kernelProfile(release: KernelRelease = KERNEL_DEFAULT): KernelProfile {
  const switches = {} as Record<KernelSwitch, boolean>;
  for (const c of KERNEL_CHANGES) switches[c.switch] = releaseIndex(release) >= releaseIndex(c.since);
  return { release, switches };
}

export function isKernelRelease(v: unknown): v is KernelRelease {
  return typeof v === 'string' && (KERNEL_RELEASES as readonly string[]).includes(v);
}

/** A release from user input; anything else is a RangeError listing the modelled ones. */
export function parseKernelRelease(v: unknown): KernelRelease {
  if (isKernelRelease(v)) return v;
  throw new RangeError(`kernel ${typeof v === 'string' ? `'${v}'` : String(v)} is not a modelled release; releases: ${KERNEL_RELEASES.join(', ')}`);
}

/** The row of a commit (its hash abbreviated to 12 digits or longer), if any. */
export function kernelChangeOfCommit(hash: string): KernelChange | undefined {
  return KERNEL_CHANGES.find((c) => hash.slice(0, 12) === c.commit.hash);
}

/** The last release before a change: the newest one without it. */
export function releaseBefore(c: KernelChange): KernelRelease {
  return KERNEL_RELEASES[releaseIndex(c.since) - 1]!;
}
