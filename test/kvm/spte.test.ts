// Goal: the SPTE encoding is the kernel's EPT layout (arch/x86/kvm/mmu/spte.h, vmx.h) and its constructors and predicates round-trip; method: bit positions checked against the kernel's constants as BigInts, round-trips over boundary values and a seeded property run.

import test from 'ava';
import fc from 'fast-check';
import {
  FROZEN_HI, FROZEN_LO, MMIO_SPTE_GEN_MASK, NONLEAF_HI, NONPRESENT_HI, NONPRESENT_LO, SPTE_A, SPTE_D, SPTE_HI_HOST_WRITABLE,
  SPTE_HI_MMU_WRITABLE, SPTE_HI_NONPRESENT, SPTE_MEMTYPE_WB, SPTE_MMU_PRESENT, SPTE_PS, SPTE_R, SPTE_W, SPTE_X,
  isExecutable, isFrozen, isHostWritable, isLarge, isLast, isMmio, isMmuWritable, isShadowPresent, isWritable,
  makeMmioHi, makeMmioLo, makeNonleafLo, makeSpteHi, makeSpteLo, mmioGeneration, mmioGfn, pfnHi, pfnLo, spteChildTable,
  spteDescribe, spteHex, sptePfn, spteToBigInt, spteWritableInvariant, type MakeSpteArgs,
} from '../../src/kvm/spte.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const big = (lo: number, hi: number): bigint => BigInt.asUintN(64, spteToBigInt(lo, hi));
/** The 64-bit value with only the low word's mask set. */
const loBits = (mask: number): bigint => BigInt(mask >>> 0);
const hiBits = (mask: number): bigint => BigInt(mask >>> 0) << 32n;

test('low-word bits are the kernel EPT bits', (t) => {
  t.is(loBits(SPTE_R), bit(0)); // VMX_EPT_READABLE_MASK
  t.is(loBits(SPTE_W), bit(1)); // VMX_EPT_WRITABLE_MASK
  t.is(loBits(SPTE_X), bit(2)); // VMX_EPT_EXECUTABLE_MASK
  t.is(loBits(SPTE_MEMTYPE_WB), 6n << 3n); // MTRR_TYPE_WRBACK << VMX_EPT_MT_EPTE_SHIFT
  t.is(loBits(SPTE_PS), bit(7)); // PT_PAGE_SIZE_MASK
  t.is(loBits(SPTE_A), bit(8)); // VMX_EPT_ACCESS_BIT
  t.is(loBits(SPTE_D), bit(9)); // VMX_EPT_DIRTY_BIT
  t.is(loBits(SPTE_MMU_PRESENT), bit(11)); // SPTE_MMU_PRESENT_MASK
});

test('high-word bits are the kernel EPT software bits', (t) => {
  t.is(hiBits(SPTE_HI_HOST_WRITABLE), bit(57)); // EPT_SPTE_HOST_WRITABLE
  t.is(hiBits(SPTE_HI_MMU_WRITABLE), bit(58)); // EPT_SPTE_MMU_WRITABLE
  t.is(hiBits(SPTE_HI_NONPRESENT), bit(63)); // SHADOW_NONPRESENT_VALUE (VMX_EPT_SUPPRESS_VE_BIT)
  t.is(big(NONPRESENT_LO, NONPRESENT_HI), bit(63));
});

test('FROZEN_SPTE = SHADOW_NONPRESENT_VALUE | 0x5a0, not MMU-present, not MMIO, not a nonpresent SPTE', (t) => {
  t.is(big(FROZEN_LO, FROZEN_HI), bit(63) | 0x5a0n);
  t.false(isShadowPresent(FROZEN_LO));
  t.false(isMmio(FROZEN_LO, FROZEN_HI));
  t.true(isFrozen(FROZEN_LO, FROZEN_HI));
  t.false(isFrozen(NONPRESENT_LO, NONPRESENT_HI));
  t.false(isFrozen(FROZEN_LO, 0), 'bit 63 is part of the value');
  t.is(spteDescribe(FROZEN_LO, FROZEN_HI, 1), 'frozen');
  t.is(spteDescribe(NONPRESENT_LO, NONPRESENT_HI, 1), 'nonpresent');
});

test('spteToBigInt is the signed 64-bit value, the same as the BigInt64Array element', (t) => {
  const i32 = new Int32Array(2);
  const i64 = new BigInt64Array(i32.buffer);
  for (const [lo, hi] of [[FROZEN_LO, FROZEN_HI], [0, 0], [-1, -1], [0x12345678, 0x7fffffff], [0x800 | 0x7, 0], [0, 1 << 31]] as const) {
    i32[0] = lo; i32[1] = hi;
    t.is(spteToBigInt(lo, hi), i64[0]!);
  }
  t.is(spteToBigInt(FROZEN_LO, FROZEN_HI), BigInt.asIntN(64, bit(63) | 0x5a0n));
  t.is(spteHex(FROZEN_LO, FROZEN_HI), '0x80000000000005a0');
});

test('pfn round-trips across the 20-bit boundary of the two words, up to 2^40 - 1', (t) => {
  for (const pfn of [0, 1, 0xfffff, 0x100000, 0x100001, 0x1fffff, 0x12345678, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 0xabcdef1234, 2 ** 40 - 1]) {
    const lo = pfnLo(pfn);
    const hi = pfnHi(pfn);
    t.is(sptePfn(lo, hi), pfn, `pfn 0x${pfn.toString(16)}`);
    t.is(big(lo, hi), BigInt(pfn) << 12n, 'pfn sits at bits 12-51');
    t.is(lo & 0xfff, 0);
    t.is(hi & ~0xfffff, 0);
  }
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 - 1 }), (pfn) => sptePfn(pfnLo(pfn), pfnHi(pfn)) === pfn), { seed: 7 });
});

const leafArgs = (o: Partial<MakeSpteArgs> = {}): MakeSpteArgs => ({ pfn: 0x123456, level: 1, hostWritable: true, writable: false, exec: false, prefetch: false, ...o });

test('makeSpte: present leaf with R, WB memtype and the pfn', (t) => {
  const a = leafArgs();
  const lo = makeSpteLo(a);
  const hi = makeSpteHi(a);
  t.true(isShadowPresent(lo));
  t.true(isLast(lo, 1));
  t.is(sptePfn(lo, hi), 0x123456);
  t.is(lo & 0x3f, SPTE_R | SPTE_MEMTYPE_WB);
  t.false(isWritable(lo));
  t.false(isExecutable(lo));
  t.false(isLarge(lo));
  t.is(hi & SPTE_HI_NONPRESENT, 0);
  t.true(isHostWritable(hi));
  t.false(isMmuWritable(hi));
  t.false(isMmio(lo, hi));
  t.is(spteWritableInvariant(lo, hi), null);
});

test('makeSpte: prefetch → no Accessed bit; a demand fault sets it', (t) => {
  t.is(makeSpteLo(leafArgs({ prefetch: true })) & SPTE_A, 0);
  t.is(makeSpteLo(leafArgs({ prefetch: false })) & SPTE_A, SPTE_A);
  t.is(makeSpteLo(leafArgs({ prefetch: true, writable: true })) & SPTE_A, 0);
});

test('makeSpte: writable → W and D, and MMU-writable; not writable → neither', (t) => {
  const a = leafArgs({ writable: true });
  const lo = makeSpteLo(a);
  const hi = makeSpteHi(a);
  t.is(lo & (SPTE_W | SPTE_D), SPTE_W | SPTE_D);
  t.true(isMmuWritable(hi));
  t.true(isHostWritable(hi));
  t.is(spteWritableInvariant(lo, hi), null);
  const ro = leafArgs({ writable: false, hostWritable: false });
  t.is(makeSpteLo(ro) & (SPTE_W | SPTE_D), 0);
  t.is(makeSpteHi(ro) & (SPTE_HI_MMU_WRITABLE | SPTE_HI_HOST_WRITABLE), 0);
});

test('makeSpte: exec → X; level > 1 → PS (huge leaf); is_last_spte', (t) => {
  t.true(isExecutable(makeSpteLo(leafArgs({ exec: true }))));
  for (const level of [2, 3]) {
    const lo = makeSpteLo(leafArgs({ level, pfn: 512 * 7 }));
    t.true(isLarge(lo));
    t.true(isLast(lo, level));
  }
  const small = makeSpteLo(leafArgs({ level: 1 }));
  t.false(isLarge(small));
  t.true(isLast(small, 1));
  t.true(isLast(0, 1), 'anything at level 1 is last');
  t.false(isLast(makeNonleafLo(5), 2));
});

test('non-leaf SPTE: present, RWX, A, child table index in the pfn field, high word 0', (t) => {
  const lo = makeNonleafLo(0xabcde);
  t.true(isShadowPresent(lo));
  t.is(lo & 0xfff, SPTE_MMU_PRESENT | SPTE_R | SPTE_W | SPTE_X | SPTE_A);
  t.is(spteChildTable(lo), 0xabcde);
  t.is(NONLEAF_HI, 0);
  t.false(isMmio(lo, NONLEAF_HI));
  t.is(spteDescribe(lo, NONLEAF_HI, 2), 'table #703710');
});

test('MMIO SPTE: W|X without R, not MMU-present, generation split across bits 3-10 and 52-62, gfn kept', (t) => {
  const gens = [0, 1, 0xff, 0x100, 0x1ff, 0x7ff00, MMIO_SPTE_GEN_MASK, 0x5a5a5 & MMIO_SPTE_GEN_MASK];
  for (const gen of gens) {
    for (const gfn of [0, 1, 0xfffff, 0x100000, 0xfffffff]) {
      const lo = makeMmioLo(gfn, gen);
      const hi = makeMmioHi(gfn, gen);
      t.true(isMmio(lo, hi));
      t.false(isShadowPresent(lo));
      t.false(isFrozen(lo, hi));
      t.is(mmioGeneration(lo, hi), gen);
      t.is(mmioGfn(lo, hi), gfn);
      const v = big(lo, hi);
      t.is((v >> 3n) & 0xffn, BigInt(gen & 0xff), 'gen bits 0-7 at 3-10');
      t.is((v >> 52n) & 0x7ffn, BigInt(gen >>> 8), 'gen bits 8-18 at 52-62');
      t.is(v & 7n, 6n, 'EPT misconfig: W|X, R clear');
      t.is(v & bit(63), 0n);
      t.is(v & bit(11), 0n);
    }
  }
  t.is(MMIO_SPTE_GEN_MASK, (1 << 19) - 1);
  t.is(mmioGeneration(makeMmioLo(5, 2 ** 19 + 3), makeMmioHi(5, 2 ** 19 + 3)), 3, 'generation truncated to 19 bits');
  t.regex(spteDescribe(makeMmioLo(0x42, 9), makeMmioHi(0x42, 9), 1), /^mmio gfn=0x42 gen=9$/);
});

test('neither nonpresent nor FROZEN nor a present SPTE is MMIO', (t) => {
  t.false(isMmio(NONPRESENT_LO, NONPRESENT_HI));
  t.false(isMmio(makeSpteLo(leafArgs({ writable: true, exec: true })), makeSpteHi(leafArgs({ writable: true, exec: true }))));
  t.false(isMmio(SPTE_W | SPTE_X, SPTE_HI_NONPRESENT), 'bit 63 set is not MMIO');
});

test('spteWritableInvariant names the broken rule', (t) => {
  const lo = makeSpteLo(leafArgs({ writable: true }));
  t.is(spteWritableInvariant(lo, 0), 'writable SPTE without MMU-writable');
  t.is(spteWritableInvariant(lo & ~SPTE_W, SPTE_HI_MMU_WRITABLE), 'MMU-writable SPTE without host-writable');
  t.is(spteWritableInvariant(0, SPTE_HI_MMU_WRITABLE), null, 'non-present SPTEs are not checked');
});

test('spteDescribe of a leaf', (t) => {
  const a = leafArgs({ writable: true, pfn: 0x1234, level: 2 });
  t.is(spteDescribe(makeSpteLo(a), makeSpteHi(a), 2), 'leaf pfn=0x1234 RW- AD hm L2');
});

test('constructors give int32 words (usable with Int32Array and Atomics)', (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 - 1 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.boolean(), fc.boolean(), (pfn, level, writable, exec, prefetch) => {
    const a: MakeSpteArgs = { pfn, level, hostWritable: writable, writable, exec, prefetch };
    const lo = makeSpteLo(a);
    const hi = makeSpteHi(a);
    return (lo | 0) === lo && (hi | 0) === hi && sptePfn(lo, hi) === pfn && isShadowPresent(lo) && spteWritableInvariant(lo, hi) === null;
  }), { seed: 11 });
  t.pass();
});
