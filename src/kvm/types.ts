/**
 * Branded address types and errno names. A gfn is never a pfn: the brands make the
 * compiler reject the mix-up, at no run-time cost.
 */

export type Gfn = number & { readonly __brand: 'Gfn' };
export type Gpa = number & { readonly __brand: 'Gpa' };
export type Pfn = number & { readonly __brand: 'Pfn' };
/** Host virtual page number (hva >> 12). */
export type HvaPage = number & { readonly __brand: 'HvaPage' };
/** Page-table level: 1 = 4K leaf, 2 = 2M, 3 = 1G, 4 = 512G (the root of a 4-level table), 5 = 256T (the root of a 5-level table). */
export type Level = 1 | 2 | 3 | 4 | 5;

export const asGfn = (n: number): Gfn => n as Gfn;
export const asPfn = (n: number): Pfn => n as Pfn;
export const asGpa = (n: number): Gpa => n as Gpa;
export const asHvaPage = (n: number): HvaPage => n as HvaPage;

/** The errno values KVM returns to userspace from the paths modelled here. */
export type Errno = 'EINVAL' | 'ENOENT' | 'EINTR' | 'EAGAIN' | 'EIO' | 'EOPNOTSUPP' | 'ENOMEM' | 'EFAULT' | 'EEXIST' | 'EBUSY';

export const ERRNO_VALUES: Record<Errno, number> = {
  EINVAL: 22, ENOENT: 2, EINTR: 4, EAGAIN: 11, EIO: 5, EOPNOTSUPP: 95, ENOMEM: 12, EFAULT: 14, EEXIST: 17, EBUSY: 16,
};

/** Pages per SPTE at a level: 1, 512, 2^18, 2^27, 2^36. */
export function pagesPerLevel(level: number): number {
  return level === 1 ? 1 : level === 2 ? 512 : level === 3 ? 262144 : level === 4 ? 134217728 : 68719476736;
}

/** Exhaustiveness helper for closed unions. */
export function assertNever(x: never): never {
  throw new Error(`unreachable: ${String(x)}`);
}
