/**
 * The fixed part of the reproducer's C: its types, reporting (kselftest exit codes,
 * errno names, the model's allowed outcomes), host memory of each kind, and the calls
 * every actor makes through one wrapper that records which syscall or ioctl it is in —
 * what the watchdog names when a window hangs.
 */

/** The types shared by the generated tables and the runtime. */
export function cTypes(): string {
  return `#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4
#define PAGE_BYTES 4096ULL

enum op_kind { OP_ACCESS, OP_PRE_FAULT, OP_MMU_RESET, OP_SET_MEMSLOT, OP_SET_ATTRIBUTES, OP_GET_DIRTY_LOG, OP_CLEAR_DIRTY_LOG, OP_SIGNAL, OP_INVALIDATE, OP_LAUNCH };
enum host_event { EV_MIGRATE, EV_RECLAIM, EV_MPROTECT, EV_MUNMAP };
enum host_kind { MEM_ANONYMOUS, MEM_SHARED, MEM_HUGETLBFS };

/* One op of the scenario, run by one actor's thread. */
struct op {
\tint index;		/* the op's index in the scenario */
\tenum op_kind kind;
\tconst char *what;	/* the op as the scenario has it */
\tconst char *expect;	/* outcomes the model allows, '|'-separated */
\tint after;		/* an op (of another actor) that must complete first, or -1 */
\t__u64 gpa, size, flags, attributes;
\t__u32 slot;
\tint backing;		/* set_memslot, invalidate: index in backings[], or -1 */
\tint write;		/* access: 1 write, 0 read */
\tint until_done;		/* pre_fault: repeat while it progresses or fails with EINTR/EAGAIN */
\tenum host_event event;	/* invalidate */
\tint prot;		/* invalidate, mprotect: PROT_* */
\tint vcpu;		/* signal: the vCPU thread */
\t__u64 first_page, num_pages; /* clear_dirty_log */
};

/* Host memory of one memslot: allocated anew for every window. */
struct backing {
\tconst char *what;
\t__u64 gpa, size, page_size;
\tenum host_kind kind;
\tint populated, guest_memfd;
\tvoid *hva, *map;	/* hva: aligned start; map, map_len: what mmap() returned */
\tsize_t map_len;
\tint fd, gmem_fd;
};

/* A thread of the scenario: vcpu0, vcpu1 ..., host, vmm. */
struct actor {
\tconst char *name;
\tint vcpu;		/* the vCPU index, or -1 */
\tconst struct op *ops;
\tint nr_ops;
\tpthread_t thread;
\tint fd;			/* the vCPU fd */
\tstruct kvm_run *run;
\tconst char *in_call;	/* the syscall or ioctl in progress, or NULL */
\tlong calls;		/* ioctls made by the current op */
\tint cur_op, finished;
\tint started;		/* the guest has run to its first \`out\` */
};`;
}

/** Reporting: a skip or a failure in one line, with kselftest's exit status. */
export function cReport(): string {
  return `static __attribute__((format(printf, 1, 2), noreturn)) void skip(const char *fmt, ...)
{
\tva_list ap;

\tprintf("SKIP %s: ", SCENARIO_NAME);
\tva_start(ap, fmt);
\tvprintf(fmt, ap);
\tva_end(ap);
\tputchar('\\n');
\texit(KSFT_SKIP);
}

static __attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...)
{
\tva_list ap;

\tprintf("FAIL %s: ", SCENARIO_NAME);
\tva_start(ap, fmt);
\tvprintf(fmt, ap);
\tva_end(ap);
\tputchar('\\n');
\texit(KSFT_FAIL);
}`;
}

/** Names of errnos and exit reasons, and the check of an outcome against the model's. */
export function cNames(): string {
  return `static const char *errno_name(int e)
{
\tswitch (e) {
\tcase EINVAL: return "EINVAL";
\tcase ENOENT: return "ENOENT";
\tcase EINTR: return "EINTR";
\tcase EAGAIN: return "EAGAIN";
\tcase EIO: return "EIO";
\tcase EOPNOTSUPP: return "EOPNOTSUPP";
\tcase ENOMEM: return "ENOMEM";
\tcase EFAULT: return "EFAULT";
\tcase EEXIST: return "EEXIST";
\tcase EBUSY: return "EBUSY";
\tcase E2BIG: return "E2BIG";
\tcase EPERM: return "EPERM";
\tcase ENOTTY: return "ENOTTY";
\tcase ENOSPC: return "ENOSPC";
\tdefault: return "EOTHER";
\t}
}

static const char *exit_name(__u32 reason)
{
\tswitch (reason) {
\tcase KVM_EXIT_IO: return "exit:IO(unexpected port)";
\tcase KVM_EXIT_HLT: return "exit:HLT";
\tcase KVM_EXIT_SHUTDOWN: return "exit:SHUTDOWN";
\tcase KVM_EXIT_FAIL_ENTRY: return "exit:FAIL_ENTRY";
\tcase KVM_EXIT_INTERNAL_ERROR: return "exit:INTERNAL_ERROR";
\tcase KVM_EXIT_MEMORY_FAULT: return "exit:MEMORY_FAULT";
\tdefault: return "exit:OTHER";
\t}
}

/* got is one of the '|'-separated outcomes in expect */
static int allowed(const char *expect, const char *got)
{
\tsize_t n = strlen(got);
\tconst char *p = expect;

\twhile (*p) {
\t\tconst char *end = strchr(p, '|');
\t\tsize_t len = end ? (size_t)(end - p) : strlen(p);

\t\tif (len == n && !strncmp(p, got, n))
\t\t\treturn 1;
\t\tp += len + (end ? 1 : 0);
\t}
\treturn 0;
}`;
}

/** The call wrapper and the watchdog's shared state. */
export function cCalls(): string {
  return `static int kvm_fd = -1, vm_fd = -1, have_region2;
static size_t run_size;
static void *code_page;
static int op_done[NR_OPS > 0 ? NR_OPS : 1];
static int window_hung, window_failed, verbose;
static long jitter_us = JITTER_US_DEFAULT;
static long window_nr;
static pthread_barrier_t start_barrier;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void begin_call(struct actor *a, const char *name)
{
\tif (a) {
\t\t__atomic_store_n(&a->in_call, name, __ATOMIC_RELEASE);
\t\t__atomic_add_fetch(&a->calls, 1, __ATOMIC_RELAXED);
\t}
}

static void end_call(struct actor *a)
{
\tif (a)
\t\t__atomic_store_n(&a->in_call, NULL, __ATOMIC_RELEASE);
}

/* An ioctl made by actor a (NULL: set-up), its name recorded while it runs. */
static int xioctl(struct actor *a, const char *name, int fd, unsigned long req, void *arg)
{
\tint r, e;

\tbegin_call(a, name);
\tr = ioctl(fd, req, arg);
\te = errno;
\tend_call(a);
\terrno = e;
\treturn r;
}

static int hung(void)
{
\treturn __atomic_load_n(&window_hung, __ATOMIC_ACQUIRE);
}

static void on_signal(int sig)
{
\t(void)sig;	/* only to make a blocked ioctl return EINTR */
}`;
}

/** Host memory: anonymous (THP when 2 MiB), shared memfd, hugetlbfs memfd, and guest_memfd. */
export function cHostMemory(): string {
  return `static void backing_map(struct backing *b)
{
\tint shared = b->kind != MEM_ANONYMOUS;
\tchar *p;

\tb->fd = -1;
\tif (shared) {
\t\tunsigned int huge = b->kind == MEM_HUGETLBFS ? MFD_HUGETLB | ((b->page_size == (1ULL << 30) ? 30U : 21U) << MFD_HUGE_SHIFT) : 0;

\t\tb->fd = (int)syscall(SYS_memfd_create, b->what, huge);
\t\tif (b->fd < 0 || ftruncate(b->fd, (off_t)b->size))
\t\t\tskip("memfd_create/ftruncate for %s (%s): %s", b->what, b->kind == MEM_HUGETLBFS ? "hugetlbfs" : "shared memory", strerror(errno));
\t}
\tb->map_len = b->size + (shared ? 0 : b->page_size);
\tp = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, b->fd, 0);
\tif (p == MAP_FAILED)
\t\tskip("mmap of %llu bytes for %s: %s%s", (unsigned long long)b->size, b->what, strerror(errno),
\t\t     b->kind == MEM_HUGETLBFS ? " (reserve huge pages: /proc/sys/vm/nr_hugepages)" : "");
\tb->map = p;
\tb->hva = shared ? p : (void *)(((uintptr_t)p + b->page_size - 1) & ~(uintptr_t)(b->page_size - 1));
\tif (!shared && b->page_size > PAGE_BYTES)
\t\tmadvise(b->hva, b->size, MADV_HUGEPAGE);
\tif (b->populated)
\t\tmemset(b->hva, 0, b->size);
}

static void backing_alloc(struct backing *b)
{
\tbacking_map(b);
\tb->gmem_fd = -1;
\tif (b->guest_memfd) {
\t\tstruct kvm_create_guest_memfd g = { .size = b->size };

\t\tb->gmem_fd = ioctl(vm_fd, KVM_CREATE_GUEST_MEMFD, &g);
\t\tif (b->gmem_fd < 0)
\t\t\tdie("setup: KVM_CREATE_GUEST_MEMFD(%llu bytes) for %s: %s", (unsigned long long)b->size, b->what, strerror(errno));
\t}
}

static void backing_free(struct backing *b)
{
\tmunmap(b->map, b->map_len);	/* also where a munmap op already unmapped part of it */
\tif (b->fd >= 0)
\t\tclose(b->fd);
\tif (b->gmem_fd >= 0)
\t\tclose(b->gmem_fd);
}`;
}
