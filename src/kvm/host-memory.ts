/**
 * The kinds of host memory a memslot can sit on, as a leaf module (no VM code): the
 * command-line definitions list them without loading the model.
 */

/**
 * What backs a memslot's memory in the VMM: private anonymous (MAP_PRIVATE|MAP_ANONYMOUS,
 * QEMU's default; THP with 2M backing), shared (memfd / shmem, MAP_SHARED) or hugetlbfs
 * (MAP_SHARED on a hugetlbfs file, 2M or 1G pages).
 */
export type HostMemory = 'anonymous' | 'shared' | 'hugetlbfs';
export const HOST_MEMORIES: readonly HostMemory[] = ['anonymous', 'shared', 'hugetlbfs'];
