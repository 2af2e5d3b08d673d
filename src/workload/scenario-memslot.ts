/**
 * A memslot of a scenario file — struct kvm_userspace_memory_region2 plus the host
 * backing of its memory — shared by the initial `memslots` and the `set_memslot` op.
 */

import { MEMSLOT_FLAG_NAMES } from '../kvm/memslots.js';
import type { SetMemslotOp } from '../kvm/ops.js';
import { parseBoundedNumber } from './numbers.js';
import { boundedField, enumField, flagsField, strictObject, u64Field } from './scenario-fields.js';

/** Host backing of a memslot's memory → backingLevel (anonymous 4K, THP 2M, hugetlb 1G). */
export const BACKINGS: Readonly<Record<string, number>> = { '4K': 1, '2M': 2, '1G': 3 };

const U32_MAX = 0xffffffff;
const u32 = (v: unknown, path: string): number => parseBoundedNumber(v, path, U32_MAX, 'a 32-bit value');

/** The fields of a memslot (KVM_SET_USER_MEMORY_REGION2), in file order. */
export function memslotShape() {
  return {
    slot: boundedField('memslot id (address space in the high 16 bits)', U32_MAX, 'a 32-bit value'),
    gpa: u64Field('guest_phys_addr'),
    size: u64Field('memory_size (0 deletes the slot)'),
    flags: flagsField(MEMSLOT_FLAG_NAMES, 'memslot flag', 'KVM_MEM_* flags', u32).prefault(0),
    backing: enumField(['4K', '2M', '1G'], 'host backing of the memory: anonymous 4K pages, THP (2M) or hugetlbfs (1G)').prefault('4K'),
  };
}

type MemslotFields = { slot: number; gpa: bigint; size: bigint; flags: number; backing: string };

export function toSetMemslot(o: MemslotFields): SetMemslotOp {
  return { op: 'set_memslot', slot: o.slot, gpa: o.gpa, size: o.size, flags: o.flags, backingLevel: BACKINGS[o.backing]! };
}

/** An entry of the file's `memslots`: a slot present before any op runs. */
export const memslotSchema = strictObject('a memslot', 'a memslot object { slot, gpa, size, flags, backing }', memslotShape()).transform(toSetMemslot);
