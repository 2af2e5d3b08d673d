/**
 * The guest physical address space of one VM: its width (`vm.phys_bits`, MAXPHYADDR),
 * the largest gfn KVM maps (kvm_mmu_max_gfn(), arch/x86/kvm/mmu.h) and the TDP root level
 * (kvm_mmu_get_tdp_level(), arch/x86/kvm/mmu/mmu.c), plus the two 32-bit words a gfn is
 * stored in wherever it lives in shared memory.
 *
 * A gfn is a JS number everywhere: a 52-bit gpa is a 40-bit gfn, well inside 2^53, so the
 * walk stays integer arithmetic without BigInt. In the SharedArrayBuffer a gfn takes two
 * Int32 words, low (`gfnLo`) and high (`gfnHi`); `gfnJoin` puts them back together.
 */

/** MAXPHYADDR bounds of the model: 36 bits (the smallest x86-64 width) to 52 (the architectural limit). */
export const PHYS_BITS_MIN = 36;
export const PHYS_BITS_MAX = 52;
/** The default width: a 48-bit host, the common server MAXPHYADDR, with a 4-level TDP root. */
export const PHYS_BITS_DEFAULT = 48;

/** PT64_ROOT_4LEVEL / PT64_ROOT_5LEVEL (arch/x86/kvm/mmu.h). */
export const PT64_ROOT_4LEVEL = 4;
export const PT64_ROOT_5LEVEL = 5;

const PAGE_SHIFT = 12;
const WORD = 4294967296;

/**
 * kvm_mmu_max_gfn(): (1 << (phys_bits - PAGE_SHIFT)) - 1. The kernel takes the host's
 * MAXPHYADDR (shadow_phys_bits) under TDP; the model has one width per VM for both the
 * host and the guest's CPUID (docs/model.md, "Modelling choices").
 */
export function kvmMmuMaxGfn(physBits: number): number {
  return 2 ** (physBits - PAGE_SHIFT) - 1;
}

/**
 * kvm_mmu_get_tdp_level() on a host whose max_tdp_level is 5 (5-level EPT/NPT) and with no
 * forced root level: a 4-level root when MAXPHYADDR is at most 48 bits ("Use 5-level TDP
 * if and only if it's useful/necessary"), else a 5-level one.
 */
export function kvmMmuGetTdpLevel(physBits: number): 4 | 5 {
  return physBits <= 48 ? PT64_ROOT_4LEVEL : PT64_ROOT_5LEVEL;
}

/** Throws a RangeError unless `physBits` is an integer in PHYS_BITS_MIN..PHYS_BITS_MAX. */
export function checkPhysBits(physBits: number): void {
  if (!Number.isInteger(physBits) || physBits < PHYS_BITS_MIN || physBits > PHYS_BITS_MAX) {
    throw new RangeError(`phys_bits must be an integer in ${PHYS_BITS_MIN}..${PHYS_BITS_MAX}, got ${physBits}`);
  }
}

/** The low 32 bits of a gfn (< 2^53), as the Int32 word stored. */
export function gfnLo(gfn: number): number {
  return gfn | 0;
}

/** The bits of a gfn above 32, as the Int32 word stored (< 2^21). */
export function gfnHi(gfn: number): number {
  return (gfn / WORD) | 0;
}

/** The gfn stored as `lo`, `hi` words. */
export function gfnJoin(lo: number, hi: number): number {
  return (lo >>> 0) + hi * WORD;
}
