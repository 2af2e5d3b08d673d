/** A seeded generator of random scenarios over every op kind, for "no false positive" runs. */

import type { RunConfig, ScheduledOp } from '../../src/engine/deterministic.js';
import type { Op } from '../../src/kvm/ops.js';
import { Prng } from '../../src/sched/prng.js';
import { MiB, slot } from './run.js';

export interface RandomScenarioOptions {
  /** Allow memslot deletes and moves next to pre-fault ioctls (they can hang the pre-fault: see README, findings). */
  readonly prefaultWithSlotDeletes?: boolean;
}

export function randomScenario(seed: number, opts: RandomScenarioOptions = {}): RunConfig {
  const p = new Prng(seed * 7919 + 1);
  // Where the guest sits, from its own stream so the ops are the same wherever it sits: at
  // gpa 0 of a 48-bit VM, at the top of a 48-bit one (4-level root), or at the top of a
  // 52-bit one (5-level root, gfns above 2^32).
  const place = [[48, 0], [48, 2 ** 48 - 64 * MiB], [52, 2 ** 52 - 64 * MiB]][new Prng(seed * 104729 + 3).below(3)]!;
  const [physBits, base] = place as [number, number];
  const type = p.below(2) === 0 ? 'default' : 'sw_protected';
  const vcpus = 1 + p.below(3);
  const host = vcpus;
  const vmm = vcpus + 1;
  const gmem = type === 'sw_protected' && p.below(2) === 0;
  const setup: Op[] = [slot(0, base, 8 * MiB, gmem ? 4 : 0, 1 + p.below(2)), slot(1, base + 16 * MiB, 4 * MiB)];
  const withPrefault = p.below(2) === 0;
  const deletes = !withPrefault || (opts.prefaultWithSlotDeletes ?? false);
  const gpa = (): number => base + (p.below(2) ? 0 : 16 * MiB) + p.below(64) * 4096 * (1 + p.below(4));
  const ops: ScheduledOp[] = [];
  const n = 10 + p.below(30);
  for (let i = 0; i < n; i++) {
    const k = p.below(12);
    if (k < 5) {
      ops.push({ actor: p.below(vcpus), op: { op: 'access', gpa: gpa(), access: (['read', 'write', 'exec'] as const)[p.below(3)]! } });
    } else if (k < 6 && withPrefault) {
      ops.push({ actor: p.below(vcpus), op: { op: 'pre_fault', gpa: BigInt(gpa()), size: BigInt(4096 * (1 + p.below(8))), flags: 0n, untilDone: p.below(2) === 0 } });
    } else if (k < 8) {
      const kind = (['migrate', 'reclaim', 'mprotect', 'munmap'] as const)[p.below(4)]!;
      ops.push({ actor: host, op: { op: 'invalidate', gpa: gpa(), size: 4096 * (1 + p.below(4)), kind, prot: p.below(2) ? 'r' : 'rw' } });
    } else if (k < 9 && deletes) {
      ops.push({ actor: vmm, op: slot(2 + p.below(2), base + 32 * MiB + p.below(2) * 2 * MiB, p.below(2) * 2 * MiB, p.below(2)) });
    } else if (k < 10) {
      ops.push({ actor: vmm, op: slot(1, base + 16 * MiB, 4 * MiB, p.below(2)) });
    } else if (k < 11 && type === 'sw_protected') {
      ops.push({ actor: vmm, op: { op: 'set_memory_attributes', gpa: BigInt(base + p.below(32) * 4096), size: BigInt(4096 * (1 + p.below(600))), attributes: p.below(2) ? 8n : 0n, flags: 0n } });
    } else {
      ops.push({ actor: vmm, op: { op: 'get_dirty_log', slot: p.below(2) } });
    }
  }
  return { vm: { type, vcpus, guestBytes: 64 * MiB, physBits }, setup, ops, scheduler: 'random', seed, check: 'step' };
}
