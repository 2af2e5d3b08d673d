/**
 * SPTE encoding: the 64-bit EPT entry of arch/x86/kvm/mmu/spte.h, handled as its two
 * 32-bit halves so the walk never allocates a BigInt.
 *
 * Low word (bits 0-31):  R=0 W=1 X=2, memtype 3-5 (WB=6), IPAT 6, PS 7 (large page),
 *                        A 8, D 9 (EPT A/D), SPTE_MMU_PRESENT 11, pfn bits 0-19 at 12-31.
 * High word (bits 32-63): pfn bits 20-39 at 32-51, host-writable 57, MMU-writable 58,
 *                        SHADOW_NONPRESENT_VALUE 63 (EPT suppress-#VE, set in every
 *                        non-present SPTE since 6.10).
 * A non-leaf SPTE carries the index of its child page-table page in the pfn field.
 *
 * MMIO SPTEs (`make_mmio_spte`): EPT misconfig pattern W|X with R clear, bit 11 clear
 * (not MMU-present), the gfn in the pfn field and the 19-bit memslot generation split
 * as in the kernel: generation bits 0-7 at SPTE bits 3-10, bits 8-18 at SPTE bits 52-62.
 * The model omits the L1TF high-bit shuffle of the gfn (it changes no protocol).
 */

/** VMX_EPT_READABLE_MASK (PT_PRESENT_MASK of an EPT entry). */
export const SPTE_R = 1 << 0;
/** VMX_EPT_WRITABLE_MASK (PT_WRITABLE_MASK). */
export const SPTE_W = 1 << 1;
/** VMX_EPT_EXECUTABLE_MASK */
export const SPTE_X = 1 << 2;
/** VMX_EPT_RWX_MASK */
export const SPTE_RWX = SPTE_R | SPTE_W | SPTE_X;
/** MTRR_TYPE_WRBACK << VMX_EPT_MT_EPTE_SHIFT */
export const SPTE_MEMTYPE_WB = 6 << 3;
/** PT_PAGE_SIZE_MASK: a leaf above 4K. */
export const SPTE_PS = 1 << 7;
/** shadow_accessed_mask (VMX_EPT_ACCESS_BIT) */
export const SPTE_A = 1 << 8;
/** shadow_dirty_mask (VMX_EPT_DIRTY_BIT) */
export const SPTE_D = 1 << 9;
/** SPTE_MMU_PRESENT_MASK: the software present bit. */
export const SPTE_MMU_PRESENT = 1 << 11;
/** SPTE bit where the pfn starts (PAGE_SHIFT: SPTE_BASE_ADDR_MASK starts at bit 12). */
export const SPTE_PFN_SHIFT = 12;
/** Low-word bits below the pfn (~PAGE_MASK): permissions, memtype, PS, A/D, MMU-present. */
export const SPTE_LO_FLAGS_MASK = (1 << SPTE_PFN_SHIFT) - 1;
/** Low-word mask of the pfn bits 0-19 (SPTE bits 12-31). */
export const SPTE_PFN_LO_MASK = 0xfffff000 | 0;
/** Pfn bits held in each word (20): pfn bits 0-19 in the low word, 20-39 in the high one. */
export const SPTE_PFN_BITS_PER_WORD = 20;
/** 2^20: the pfn stride of one high-word pfn unit. */
export const SPTE_PFN_LO_SPAN = 2 ** SPTE_PFN_BITS_PER_WORD;
/** High-word bits (SPTE bit - 32). */
export const SPTE_HI_PFN_MASK = SPTE_PFN_LO_SPAN - 1;
/** High-word bits above the pfn: host-writable, MMU-writable, SHADOW_NONPRESENT_VALUE, MMIO generation. */
export const SPTE_HI_FLAGS_MASK = ~SPTE_HI_PFN_MASK;
/** shadow_host_writable_mask (EPT_SPTE_HOST_WRITABLE, bit 57) */
export const SPTE_HI_HOST_WRITABLE = 1 << 25;
/** shadow_mmu_writable_mask (EPT_SPTE_MMU_WRITABLE, bit 58) */
export const SPTE_HI_MMU_WRITABLE = 1 << 26;
/** SHADOW_NONPRESENT_VALUE (bit 63) */
export const SPTE_HI_NONPRESENT = 1 << 31;

/** SHADOW_NONPRESENT_VALUE: the "zero" SPTE since 6.10 (bit 63 only). */
export const NONPRESENT_LO = 0;
export const NONPRESENT_HI = SPTE_HI_NONPRESENT;
/** FROZEN_SPTE = SHADOW_NONPRESENT_VALUE | 0x5a0: non-present, no pfn, never MMU-present. */
export const FROZEN_LO = 0x5a0;
export const FROZEN_HI = SPTE_HI_NONPRESENT;
/** EPT MMIO value (misconfig W|X) and its mask (RWX | bit 63). */
export const MMIO_VALUE_LO = SPTE_W | SPTE_X;

/** 19 bits of memslot generation fit in an MMIO SPTE (MMIO_SPTE_GEN_MASK). */
export const MMIO_SPTE_GEN_MASK = (1 << 19) - 1;
/** MMIO_SPTE_GEN_LOW_START / _BITS: generation bits 0-7 at SPTE bits 3-10. */
export const MMIO_SPTE_GEN_LOW_START = 3;
export const MMIO_SPTE_GEN_LOW_BITS = 8;
const MMIO_SPTE_GEN_LOW_MASK = (1 << MMIO_SPTE_GEN_LOW_BITS) - 1;
/** MMIO_SPTE_GEN_HIGH_START - 32 / _BITS: generation bits 8-18 at SPTE bits 52-62. */
export const MMIO_SPTE_GEN_HIGH_START_HI = 20;
export const MMIO_SPTE_GEN_HIGH_BITS = 11;
const MMIO_SPTE_GEN_HIGH_MASK = (1 << MMIO_SPTE_GEN_HIGH_BITS) - 1;

/** is_shadow_present_pte(): tests only the software MMU-present bit. */
export function isShadowPresent(lo: number): boolean {
  return (lo & SPTE_MMU_PRESENT) !== 0;
}

/** is_frozen_spte() */
export function isFrozen(lo: number, hi: number): boolean {
  return lo === FROZEN_LO && hi === FROZEN_HI;
}

/** is_mmio_spte(): R/W/X pattern == W|X and bit 63 clear. */
export function isMmio(lo: number, hi: number): boolean {
  return (lo & SPTE_RWX) === MMIO_VALUE_LO && (hi & SPTE_HI_NONPRESENT) === 0 && (lo & SPTE_MMU_PRESENT) === 0;
}

/** is_large_pte() */
export function isLarge(lo: number): boolean {
  return (lo & SPTE_PS) !== 0;
}

/** is_last_spte(): a 4K entry, or a PS entry above it. */
export function isLast(lo: number, level: number): boolean {
  return level === 1 || (lo & SPTE_PS) !== 0;
}

export function isWritable(lo: number): boolean {
  return (lo & SPTE_W) !== 0;
}

export function isExecutable(lo: number): boolean {
  return (lo & SPTE_X) !== 0;
}

export function isHostWritable(hi: number): boolean {
  return (hi & SPTE_HI_HOST_WRITABLE) !== 0;
}

export function isMmuWritable(hi: number): boolean {
  return (hi & SPTE_HI_MMU_WRITABLE) !== 0;
}

/** spte_to_pfn(): 40-bit pfn from both words (never more than 2^40 pages). */
export function sptePfn(lo: number, hi: number): number {
  return (lo >>> SPTE_PFN_SHIFT) + (hi & SPTE_HI_PFN_MASK) * SPTE_PFN_LO_SPAN;
}

/** Child page-table index of a non-leaf SPTE (tables never exceed 2^20, so the low word suffices). */
export function spteChildTable(lo: number): number {
  return lo >>> SPTE_PFN_SHIFT;
}

export function pfnLo(pfn: number): number {
  return ((pfn & SPTE_HI_PFN_MASK) << SPTE_PFN_SHIFT) | 0;
}

export function pfnHi(pfn: number): number {
  // pfn < 2^40, so pfn / 2^20 < 2^20 and `| 0` truncates exactly.
  return (pfn / SPTE_PFN_LO_SPAN) & SPTE_HI_PFN_MASK;
}

/** Non-leaf SPTE linking a child table (`make_nonleaf_spte`): present, RWX, A. */
export function makeNonleafLo(tableIndex: number): number {
  return (SPTE_MMU_PRESENT | SPTE_RWX | SPTE_A | ((tableIndex << SPTE_PFN_SHIFT) | 0)) | 0;
}
export const NONLEAF_HI = 0;

/** Inputs of `make_spte()` that decide the new leaf. */
export interface MakeSpteArgs {
  pfn: number;
  level: number;
  /** Writable in the host mapping (gup gave a writable page): host-writable bit. */
  hostWritable: boolean;
  /** The SPTE may be made writable (memslot not read-only, host writable). */
  writable: boolean;
  exec: boolean;
  /** Pre-fault / prefetch: no Accessed bit ("KVM does not mark new stage-2 PTEs Accessed"). */
  prefetch: boolean;
}

/** make_spte() low word. Writable leaves get D as well (`spte_shadow_dirty_mask`). */
export function makeSpteLo(a: MakeSpteArgs): number {
  let lo = SPTE_MMU_PRESENT | SPTE_R | SPTE_MEMTYPE_WB | pfnLo(a.pfn);
  if (a.exec) lo |= SPTE_X;
  if (a.level > 1) lo |= SPTE_PS;
  if (!a.prefetch) lo |= SPTE_A;
  if (a.writable) lo |= SPTE_W | SPTE_D;
  return lo | 0;
}

/** make_spte() high word: pfn high bits, host-writable, MMU-writable. */
export function makeSpteHi(a: MakeSpteArgs): number {
  let hi = pfnHi(a.pfn);
  if (a.hostWritable) hi |= SPTE_HI_HOST_WRITABLE;
  if (a.writable) hi |= SPTE_HI_MMU_WRITABLE;
  return hi | 0;
}

/** make_mmio_spte(): gfn in the pfn field, generation split across both words. */
export function makeMmioLo(gfn: number, generation: number): number {
  return (MMIO_VALUE_LO | ((generation & MMIO_SPTE_GEN_LOW_MASK) << MMIO_SPTE_GEN_LOW_START) | pfnLo(gfn)) | 0;
}
export function makeMmioHi(gfn: number, generation: number): number {
  return (pfnHi(gfn) | (((generation >>> MMIO_SPTE_GEN_LOW_BITS) & MMIO_SPTE_GEN_HIGH_MASK) << MMIO_SPTE_GEN_HIGH_START_HI)) | 0;
}

/** get_mmio_spte_generation() */
export function mmioGeneration(lo: number, hi: number): number {
  return ((lo >>> MMIO_SPTE_GEN_LOW_START) & MMIO_SPTE_GEN_LOW_MASK) | (((hi >>> MMIO_SPTE_GEN_HIGH_START_HI) & MMIO_SPTE_GEN_HIGH_MASK) << MMIO_SPTE_GEN_LOW_BITS);
}

/** Gfn stored in an MMIO SPTE. */
export function mmioGfn(lo: number, hi: number): number {
  return sptePfn(lo, hi);
}

/**
 * check_spte_writable_invariants(): W implies MMU-writable implies host-writable.
 * Returns a description of the broken rule, or null.
 */
export function spteWritableInvariant(lo: number, hi: number): string | null {
  if (!isShadowPresent(lo)) return null;
  if (isWritable(lo) && !isMmuWritable(hi)) return 'writable SPTE without MMU-writable';
  if (isMmuWritable(hi) && !isHostWritable(hi)) return 'MMU-writable SPTE without host-writable';
  return null;
}

/** A readable hex rendering of an SPTE, `0x8000000000000000`, for traces and violations. */
export function spteHex(lo: number, hi: number): string {
  return '0x' + (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

/** A short decoded form: `leaf pfn=0x1234 RWX AD L1`, `table #12`, `frozen`, `mmio gfn=… gen=…`. */
export function spteDescribe(lo: number, hi: number, level: number): string {
  if (isFrozen(lo, hi)) return 'frozen';
  if (isMmio(lo, hi)) return `mmio gfn=0x${mmioGfn(lo, hi).toString(16)} gen=${mmioGeneration(lo, hi)}`;
  if (!isShadowPresent(lo)) return 'nonpresent';
  if (!isLast(lo, level)) return `table #${spteChildTable(lo)}`;
  const perms = (lo & SPTE_R ? 'R' : '-') + (lo & SPTE_W ? 'W' : '-') + (lo & SPTE_X ? 'X' : '-');
  const ad = (lo & SPTE_A ? 'A' : '-') + (lo & SPTE_D ? 'D' : '-');
  const hw = (isHostWritable(hi) ? 'h' : '-') + (isMmuWritable(hi) ? 'm' : '-');
  return `leaf pfn=0x${sptePfn(lo, hi).toString(16)} ${perms} ${ad} ${hw} L${level}`;
}

/** The 64-bit value as a BigInt (for the 64-bit CAS and for tests). */
export function spteToBigInt(lo: number, hi: number): bigint {
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}
