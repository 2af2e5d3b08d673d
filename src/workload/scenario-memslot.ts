/**
 * A memslot of a scenario file — struct kvm_userspace_memory_region2 plus the host
 * backing of its memory — shared by the initial `memslots` and the `set_memslot` op.
 */

import { HOST_MEMORIES, hostMemoryPageSizeError, type HostMemory } from '../kvm/host.js';
import { MEMSLOT_FLAG_NAMES } from '../kvm/memslots.js';
import type { SetMemslotOp } from '../kvm/ops.js';
import { parseBoundedNumber } from './numbers.js';
import { boolField, boundedField, enumField, flagsField, strictObject, u64Field } from './scenario-fields.js';

/** Host backing of a memslot's memory → backingLevel (4K pages, 2M: THP or hugetlbfs, 1G: hugetlbfs). */
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
    backing: enumField(['4K', '2M', '1G'], 'host page size of the memory: 4K; 2M (THP for anonymous memory, or hugetlbfs); 1G (hugetlbfs only)').prefault('4K'),
    host_memory: enumField(HOST_MEMORIES as [HostMemory, ...HostMemory[]], 'what backs the memory in the host: anonymous (MAP_PRIVATE|MAP_ANONYMOUS, QEMU\'s default: read faults map the zero page, the first write breaks CoW), shared (memfd/shmem, MAP_SHARED) or hugetlbfs (MAP_SHARED, 2M or 1G pages)').prefault('anonymous'),
    populated: boolField('the memory is written before the guest runs (MAP_POPULATE, QEMU\'s -mem-prealloc): every page its own, writable').prefault(false),
  };
}

type MemslotFields = { slot: number; gpa: bigint; size: bigint; flags: number; backing: string; host_memory: HostMemory; populated: boolean };

export function toSetMemslot(o: MemslotFields): SetMemslotOp {
  return { op: 'set_memslot', slot: o.slot, gpa: o.gpa, size: o.size, flags: o.flags, backingLevel: BACKINGS[o.backing]!, hostMemory: o.host_memory, populated: o.populated };
}

/** The page sizes each host memory has (hostMemoryPageSizeError), as an issue on `backing`. */
export function memslotCheck(o: MemslotFields): { path: string; message: string } | null {
  const bad = hostMemoryPageSizeError(o.host_memory, BACKINGS[o.backing]!);
  return bad === null ? null : { path: 'backing', message: `${o.backing} ${o.host_memory}: ${bad}` };
}

/** An entry of the file's `memslots`: a slot present before any op runs. */
export const memslotSchema = strictObject('a memslot', 'a memslot object { slot, gpa, size, flags, backing, host_memory, populated }', memslotShape())
  .superRefine((o, ctx) => {
    const bad = memslotCheck(o);
    if (bad !== null) ctx.addIssue({ code: 'custom', path: [bad.path], message: bad.message });
  })
  .transform(toSetMemslot);
