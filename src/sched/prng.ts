/**
 * The project's own PRNG (sfc32, seeded through splitmix32): every random choice of a run
 * — interleaving and workload — flows from one seed, so a seed (or a token) replays a run
 * exactly. No Math.random anywhere in the model, protocol or schedulers.
 */

/** The largest n below(n) draws for in int32 arithmetic (belowSmall). */
const SMALL = 1 << 15;

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n) (n ≤ 2^32), without modulo bias. */
  below(n: number): number {
    if (n <= 1) return 0;
    if (n <= SMALL && (n | 0) === n) {
      // A power of two divides 2^32: no draw is rejected, and x mod n is x's low bits (the
      // random scheduler's pick between two runnable actors, most steps of a schedule).
      if ((n & (n - 1)) === 0) return this.nextU32() & (n - 1);
      return this.belowSmall(n);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /**
   * below(n) for n ≤ 2^15 (a scheduler's pick among the runnable actors, at every step),
   * the same draws and result in int32 arithmetic: a remainder of a value past 2^31 is a
   * double's, a libm call. 2^32 mod n = (2^16 mod n)² mod n, and x mod n =
   * ((x >> 16) mod n · 2^16 + (x & 0xffff)) mod n, each below 2^31.
   */
  private belowSmall(n: number): number {
    const r16 = 0x10000 % n;
    const limit = 0x100000000 - ((r16 * r16) % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return ((((x >>> 16) % n) << 16) + (x & 0xffff)) % n;
    }
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 0x100000000;
  }
}

/** Parses a seed: a non-negative integer below 2^32. */
export function parseSeed(raw: string | number): number {
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`seed must be an integer in 0..4294967295, got '${raw}'`);
  return n;
}
