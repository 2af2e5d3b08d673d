/**
 * The VMM's and the host's ops in C: memslots (KVM_SET_USER_MEMORY_REGION2, or the old
 * ioctl on a host without it and a slot without guest_memfd), memory attributes, dirty
 * logs and signals from the VMM's thread; mm events on a memslot's backing —
 * madvise(MADV_DONTNEED) for a migration, madvise(MADV_PAGEOUT) for reclaim, mprotect,
 * munmap — from the host's.
 */

/** The memslot ioctl, shared by set-up and the set_memslot op. */
export function cSetRegion(): string {
  return `static int set_region(struct actor *a, __u32 slot, __u32 flags, __u64 gpa, __u64 size, const struct backing *b)
{
\t__u64 hva = b ? (__u64)(uintptr_t)b->hva : 0;

\tif (have_region2) {
\t\tstruct kvm_userspace_memory_region2 r = {
\t\t\t.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = hva,
\t\t\t.guest_memfd = b && b->gmem_fd >= 0 ? (__u32)b->gmem_fd : 0,
\t\t};

\t\treturn xioctl(a, "KVM_SET_USER_MEMORY_REGION2", vm_fd, KVM_SET_USER_MEMORY_REGION2, &r);
\t} else {
\t\tstruct kvm_userspace_memory_region r = {
\t\t\t.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = hva,
\t\t};

\t\treturn xioctl(a, "KVM_SET_USER_MEMORY_REGION", vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
\t}
}`;
}

/** set_memslot, set_memory_attributes, get/clear_dirty_log, signal. */
export function cVmmOps(): string {
  return `static const char *do_set_memslot(struct actor *a, const struct op *o)
{
\tconst struct backing *b = o->backing >= 0 ? &backings[o->backing] : NULL;

\treturn set_region(a, o->slot, (__u32)o->flags, o->gpa, o->size, b) ? errno_name(errno) : "ok";
}

static const char *do_set_attributes(struct actor *a, const struct op *o)
{
\tstruct kvm_memory_attributes attr = { .address = o->gpa, .size = o->size, .attributes = o->attributes, .flags = o->flags };

\treturn xioctl(a, "KVM_SET_MEMORY_ATTRIBUTES", vm_fd, KVM_SET_MEMORY_ATTRIBUTES, &attr) ? errno_name(errno) : "ok";
}

/* KVM_GET_DIRTY_LOG into a bitmap of the slot's size (o->size: the slot's bytes then). */
static const char *do_get_dirty_log(struct actor *a, const struct op *o)
{
\tsize_t bytes = (size_t)((o->size / PAGE_BYTES + 63) / 64 * 8 + 8);
\tstruct kvm_dirty_log log = { .slot = o->slot };
\tconst char *got;

\tlog.dirty_bitmap = calloc(1, bytes);
\tgot = xioctl(a, "KVM_GET_DIRTY_LOG", vm_fd, KVM_GET_DIRTY_LOG, &log) ? errno_name(errno) : "ok";
\tfree(log.dirty_bitmap);
\treturn got;
}

static const char *do_clear_dirty_log(struct actor *a, const struct op *o)
{
\tsize_t bytes = (size_t)((o->num_pages + 63) / 64 * 8 + 8);
\tstruct kvm_clear_dirty_log clear = { .slot = o->slot, .num_pages = (__u32)o->num_pages, .first_page = o->first_page };
\tconst char *got;

\tclear.dirty_bitmap = malloc(bytes);
\tmemset(clear.dirty_bitmap, 0xff, bytes);
\tgot = xioctl(a, "KVM_CLEAR_DIRTY_LOG", vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) ? errno_name(errno) : "ok";
\tfree(clear.dirty_bitmap);
\treturn got;
}

/* A signal to a vCPU thread: its ioctl in progress returns EINTR (and is retried). */
static const char *do_signal(struct actor *a, const struct op *o)
{
\t(void)a;
\tpthread_kill(actors[o->vcpu].thread, SIGUSR1);
\treturn "ok";
}`;
}

/** invalidate: the mm event on the backing's pages covering [gpa, gpa + size). */
export function cHostOps(): string {
  return `static const char *do_invalidate(struct actor *a, const struct op *o)
{
\tconst struct backing *b;
\t__u64 align, start, end;
\tchar *p;
\tint r = 0;

\tif (o->backing < 0)
\t\treturn "ok";	/* no memslot maps it: nothing of the guest's to change */
\tb = &backings[o->backing];
\talign = b->page_size;
\tstart = (o->gpa - b->gpa) & ~(align - 1);
\tend = (o->gpa + o->size - b->gpa + align - 1) & ~(align - 1);
\tif (end > b->size)
\t\tend = b->size;
\tp = (char *)b->hva + start;
\tswitch (o->event) {
\tcase EV_MIGRATE:
\t\tbegin_call(a, "madvise(MADV_DONTNEED)");
\t\tr = madvise(p, end - start, MADV_DONTNEED);
\t\tbreak;
\tcase EV_RECLAIM:
\t\tbegin_call(a, "madvise(MADV_PAGEOUT)");
\t\tr = madvise(p, end - start, MADV_PAGEOUT);
\t\tbreak;
\tcase EV_MPROTECT:
\t\tbegin_call(a, "mprotect");
\t\tr = mprotect(p, end - start, o->prot);
\t\tbreak;
\tcase EV_MUNMAP:
\t\tbegin_call(a, "munmap");
\t\tr = munmap(p, end - start);
\t\tbreak;
\t}
\tend_call(a);
\treturn r ? errno_name(errno) : "ok";
}`;
}
