/**
 * `--preset memslot-churn`, after the kernel's memslot_modification_stress_test: the
 * default stress run's actors (churn.ts), but the VMM adds and deletes one one-page dummy
 * memslot (DUMMY_MEMSLOT_INDEX, one host page) right next to guest memory, back to back,
 * while the vCPUs fault in their partitions.
 */

import type { Op } from '../../kvm/ops.js';
import { DUMMY_SLOT, PAGE, type StressConfig } from '../stress.js';

/** The preset's dummy slot: one page. */
export const MEMSLOT_CHURN_DUMMY_PAGES = 1;

export function isMemslotChurn(cfg: StressConfig): boolean {
  return cfg.preset === 'memslot-churn';
}

/** The next change of the dummy slot at `gpa`: add its page (`add`), or delete it. */
export function memslotChurnOp(add: boolean, gpa: bigint): Op {
  return { op: 'set_memslot', slot: DUMMY_SLOT, gpa, size: add ? BigInt(PAGE) : 0n, flags: 0, backingLevel: 1 };
}
