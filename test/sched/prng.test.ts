// Goal: the PRNG's bounded draw is the same in int32 arithmetic as by the definition
// (2^32 − 2^32 mod n as the rejection limit, then x mod n), for every small n and at the
// bound — so seeds give the schedules they always gave. Method: a reference below() in
// doubles beside the Prng's, on the same stream.

import test from 'ava';
import { Prng } from '../../src/sched/prng.js';

function referenceBelow(p: Prng, n: number): number {
  if (n <= 1) return 0;
  const limit = 0x100000000 - (0x100000000 % n);
  for (;;) {
    const x = p.nextU32();
    if (x < limit) return x % n;
  }
}

test('below(n) draws what the definition draws, for small n and around the int32 bound', (t) => {
  const ns = [1, 2, 3, 4, 5, 7, 8, 10, 64, 100, 1024, 641, 6700, 32767, 32768, 32769, 65537, 0x7fffffff, 0x80000001, 0xffffffff, 0x100000000];
  for (const n of ns) {
    for (const seed of [0, 1, 99]) {
      const a = new Prng(seed);
      const b = new Prng(seed);
      for (let i = 0; i < 500; i++) {
        const x = a.below(n);
        if (x !== referenceBelow(b, n)) return t.fail(`n ${n} seed ${seed} draw ${i}`);
        if (!(x >= 0 && x < Math.max(n, 1))) return t.fail(`n ${n}: ${x} out of range`);
      }
    }
  }
  t.pass();
});

test('a near-2^32 stream of draws rejects exactly where the definition does', (t) => {
  // n = 3·2^k + 1 leaves the largest remainders: rejections happen within a few thousand draws.
  for (const n of [24577, 12289, 3]) {
    const a = new Prng(7);
    const b = new Prng(7);
    const xs = Array.from({ length: 5000 }, () => a.below(n));
    const ys = Array.from({ length: 5000 }, () => referenceBelow(b, n));
    t.deepEqual(xs, ys, `n ${n}`);
  }
});
