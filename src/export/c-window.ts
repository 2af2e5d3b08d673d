/**
 * The racing window in C: every window builds a fresh VM (memslots, vCPUs, the guest at
 * its first instruction), releases all actor threads at once from a barrier, and waits
 * for them as a watchdog: past the deadline it names each call that never returned,
 * marks the window hung and signals the stuck threads (the handler is installed without
 * SA_RESTART, so the ioctl returns EINTR) until they give up. main() checks the host,
 * then runs the windows; the exit status is kselftest's.
 */

/** The clock, and each actor's start offset in a window. */
export function cClock(): string {
  return `static double now_ms(void)
{
\tstruct timespec t;

\tclock_gettime(CLOCK_MONOTONIC, &t);
\treturn t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A different start offset per window and actor, 0 to jitter_us: the windows try many alignments of the race. */
static void start_jitter(const struct actor *a)
{
\tunsigned long x = (unsigned long)window_nr * 2654435761UL + (unsigned long)(a - actors) * 40503UL;
\tdouble until;

\tif (jitter_us <= 0)
\t\treturn;
\tuntil = now_ms() + (double)(x % ((unsigned long)jitter_us + 1)) / 1e3;
\twhile (now_ms() < until)
\t\t;
}`;
}

/** Per op, the outcomes over the windows (printed with -v). */
export function cOutcomes(): string {
  return `/* Per op, how often each outcome came back (the first OUTCOMES_MAX distinct ones): printed with -v. */
#define OUTCOMES_MAX 4
static const char *seen[NR_OPS > 0 ? NR_OPS : 1][OUTCOMES_MAX];
static long seen_windows[NR_OPS > 0 ? NR_OPS : 1][OUTCOMES_MAX];

static void count(const struct op *o, const char *got)
{
\tint k;

\tfor (k = 0; k < OUTCOMES_MAX; k++) {
\t\tif (!seen[o->index][k])
\t\t\tseen[o->index][k] = got;
\t\tif (!strcmp(seen[o->index][k], got)) {
\t\t\tseen_windows[o->index][k]++;
\t\t\treturn;
\t\t}
\t}
}`;
}

/** The actor thread and the op dispatcher. */
export function cActors(): string {
  return `static const char *run_op(struct actor *a, const struct op *o)
{
\tswitch (o->kind) {
\tcase OP_ACCESS: return do_access(a, o);
\tcase OP_PRE_FAULT: return do_pre_fault(a, o);
\tcase OP_MMU_RESET: return do_mmu_reset(a, o);
\tcase OP_SET_MEMSLOT: return do_set_memslot(a, o);
\tcase OP_SET_ATTRIBUTES: return do_set_attributes(a, o);
\tcase OP_GET_DIRTY_LOG: return do_get_dirty_log(a, o);
\tcase OP_CLEAR_DIRTY_LOG: return do_clear_dirty_log(a, o);
\tcase OP_SIGNAL: return do_signal(a, o);
\tcase OP_INVALIDATE: return do_invalidate(a, o);
\tcase OP_LAUNCH: break;
\t}
\treturn "unsupported";
}

static void check(struct actor *a, const struct op *o, const char *got)
{
\tif (verbose)
\t\tprintf("window %ld: op #%d %s %s: %s\\n", window_nr, o->index, a->name, o->what, got);
\tcount(o, got);
\tif (hung() || allowed(o->expect, got))
\t\treturn;	/* after a hang the watchdog has reported the window */
\tpthread_mutex_lock(&report_lock);
\tprintf("FAIL %s: window %ld: op #%d %s %s: got %s; the model allows %s\\n",
\t       SCENARIO_NAME, window_nr, o->index, a->name, o->what, got, o->expect);
\t__atomic_store_n(&window_failed, 1, __ATOMIC_RELEASE);
\tpthread_mutex_unlock(&report_lock);
}

static void *actor_main(void *arg)
{
\tstruct actor *a = arg;
\tint i;

\tpthread_barrier_wait(&start_barrier);
\tstart_jitter(a);
\tfor (i = 0; i < a->nr_ops; i++) {
\t\tconst struct op *o = &a->ops[i];

\t\t__atomic_store_n(&a->cur_op, i, __ATOMIC_RELEASE);
\t\t__atomic_store_n(&a->calls, 0, __ATOMIC_RELAXED);
\t\twhile (o->after >= 0 && !__atomic_load_n(&op_done[o->after], __ATOMIC_ACQUIRE) && !hung())
\t\t\tsched_yield();
\t\tif (hung())
\t\t\tbreak;
\t\tcheck(a, o, run_op(a, o));
\t\t__atomic_store_n(&op_done[o->index], 1, __ATOMIC_RELEASE);
\t}
\t__atomic_store_n(&a->finished, 1, __ATOMIC_RELEASE);
\treturn NULL;
}`;
}

/** Window set-up and tear-down: a fresh VM each time. */
export function cWindowSetup(): string {
  return `static void enable_cap(__u32 cap, __u64 arg)
{
\tstruct kvm_enable_cap c = { .cap = cap, .args = { arg } };

\tif (ioctl(vm_fd, KVM_ENABLE_CAP, &c))
\t\tdie("setup: KVM_ENABLE_CAP(%u, 0x%llx): %s", cap, (unsigned long long)arg, strerror(errno));
}

static void window_setup(void)
{
\tstatic struct backing code = { .what = "guest code", .gpa = CODE_GPA, .size = PAGE_BYTES, .page_size = PAGE_BYTES, .fd = -1, .gmem_fd = -1 };
\tint i;

\tdo
\t\tvm_fd = ioctl(kvm_fd, KVM_CREATE_VM, VM_TYPE);
\twhile (vm_fd < 0 && errno == EINTR);
\tif (vm_fd < 0)
\t\tdie("setup: KVM_CREATE_VM(%s): %s", VM_TYPE_NAME, strerror(errno));
\tif (DISABLED_QUIRKS)
\t\tenable_cap(KVM_CAP_DISABLE_QUIRKS2, DISABLED_QUIRKS);
\tif (MANUAL_DIRTY_LOG_PROTECT)
\t\tenable_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
\tfor (i = 0; i < NR_BACKINGS; i++)
\t\tbacking_alloc(&backings[i]);
\tfor (i = 0; i < NR_INITIAL_SLOTS; i++) {
\t\tconst struct op *s = &initial_slots[i];

\t\tif (set_region(NULL, s->slot, (__u32)s->flags, s->gpa, s->size, &backings[s->backing]))
\t\t\tdie("setup: memslot %u (%s): %s", s->slot, s->what, strerror(errno));
\t}
\tcode.hva = code_page;
\tif (set_region(NULL, CODE_SLOT, 0, CODE_GPA, PAGE_BYTES, &code))
\t\tdie("setup: the guest code's memslot %u at 0x%llx: %s", CODE_SLOT, CODE_GPA, strerror(errno));
\tfor (i = 0; i < NR_VCPUS; i++)
\t\tvcpu_create(&actors[i]);
\tmemset(op_done, 0, sizeof(op_done));
\twindow_hung = window_failed = 0;
}

static void window_teardown(void)
{
\tint i;

\tfor (i = 0; i < NR_VCPUS; i++) {
\t\tmunmap(actors[i].run, run_size);
\t\tclose(actors[i].fd);
\t}
\tclose(vm_fd);
\tfor (i = 0; i < NR_BACKINGS; i++)
\t\tbacking_free(&backings[i]);
}`;
}

/** The watchdog: names every call that did not return, then signals until the threads are back. */
export function cWatchdog(): string {
  return `static int all_finished(void)
{
\tint i;

\tfor (i = 0; i < NR_ACTORS; i++)
\t\tif (!__atomic_load_n(&actors[i].finished, __ATOMIC_ACQUIRE))
\t\t\treturn 0;
\treturn 1;
}

static void report_hang(double waited_ms)
{
\tint i;

\tpthread_mutex_lock(&report_lock);
\tfor (i = 0; i < NR_ACTORS; i++) {
\t\tstruct actor *a = &actors[i];
\t\tconst char *call = __atomic_load_n(&a->in_call, __ATOMIC_ACQUIRE);
\t\tint k = __atomic_load_n(&a->cur_op, __ATOMIC_ACQUIRE);

\t\tif (__atomic_load_n(&a->finished, __ATOMIC_ACQUIRE) || k < 0)
\t\t\tcontinue;
\t\tif (call)
\t\t\tprintf("FAIL %s: window %ld: %s never returned (%s, op #%d %s; %.3g s, %ld calls)\\n", SCENARIO_NAME, window_nr,
\t\t\t       call, a->name, a->ops[k].index, a->ops[k].what, waited_ms / 1e3, __atomic_load_n(&a->calls, __ATOMIC_RELAXED));
\t\telse if (a->ops[k].after >= 0 && !__atomic_load_n(&op_done[a->ops[k].after], __ATOMIC_ACQUIRE))
\t\t\tprintf("FAIL %s: window %ld: %s's op #%d %s still waits for op #%d\\n", SCENARIO_NAME, window_nr, a->name,
\t\t\t       a->ops[k].index, a->ops[k].what, a->ops[k].after);
\t\telse
\t\t\tprintf("FAIL %s: window %ld: %s did not finish op #%d %s (%.3g s, %ld calls, none in progress)\\n", SCENARIO_NAME,
\t\t\t       window_nr, a->name, a->ops[k].index, a->ops[k].what, waited_ms / 1e3, __atomic_load_n(&a->calls, __ATOMIC_RELAXED));
\t}
\tpthread_mutex_unlock(&report_lock);
}`;
}

/** The watchdog loop and one window's threads. */
export function cRunWindow(): string {
  return `static void watchdog(double timeout_ms)
{
\tdouble start = now_ms(), kicked = 0, grace_ms = timeout_ms > GRACE_MS ? timeout_ms : GRACE_MS;
\tstruct timespec tick = { 0, 1000000 };
\tint i;

\twhile (!all_finished()) {
\t\tdouble t = now_ms();

\t\tif (!hung() && t - start >= timeout_ms) {
\t\t\treport_hang(t - start);
\t\t\t__atomic_store_n(&window_hung, 1, __ATOMIC_RELEASE);
\t\t\t__atomic_store_n(&window_failed, 1, __ATOMIC_RELEASE);
\t\t\tstart = t;
\t\t}
\t\tif (hung() && t - kicked >= 10) {
\t\t\tfor (i = 0; i < NR_ACTORS; i++)
\t\t\t\tif (!__atomic_load_n(&actors[i].finished, __ATOMIC_ACQUIRE))
\t\t\t\t\tpthread_kill(actors[i].thread, SIGUSR1);
\t\t\tkicked = t;
\t\t}
\t\tif (hung() && t - start >= grace_ms)
\t\t\tdie("window %ld: the stuck threads did not return within %.1f s of being signalled", window_nr, grace_ms / 1e3);
\t\tnanosleep(&tick, NULL);
\t}
}

static void run_window(double timeout_ms)
{
\tint i;

\tpthread_barrier_init(&start_barrier, NULL, NR_ACTORS + 1);
\tfor (i = 0; i < NR_ACTORS; i++) {
\t\tactors[i].finished = 0;
\t\tactors[i].cur_op = -1;
\t\tactors[i].in_call = NULL;
\t\tif (pthread_create(&actors[i].thread, NULL, actor_main, &actors[i]))
\t\t\tdie("pthread_create: %s", strerror(errno));
\t}
\tpthread_barrier_wait(&start_barrier);
\twatchdog(timeout_ms);
\tfor (i = 0; i < NR_ACTORS; i++)
\t\tpthread_join(actors[i].thread, NULL);
\tpthread_barrier_destroy(&start_barrier);
}`;
}

/** The host's checks before any window, each a one-line skip. */
export function cCheckHost(): string {
  return `static void check_host(void)
{
\tint types;

\tkvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
\tif (kvm_fd < 0)
\t\tskip("/dev/kvm: %s", strerror(errno));
\tif (ioctl(kvm_fd, KVM_GET_API_VERSION, NULL) != KVM_API_VERSION)
\t\tskip("KVM_GET_API_VERSION is not %d", KVM_API_VERSION);
\ttypes = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);
\tif (VM_TYPE != KVM_X86_DEFAULT_VM && (types <= 0 || !(types & (1 << VM_TYPE))))
\t\tskip("VM type %s is not supported (KVM_CAP_VM_TYPES 0x%x)", VM_TYPE_NAME, types > 0 ? types : 0);
\tif (CANNOT_LAUNCH)
\t\tskip("%s", CANNOT_LAUNCH);
\tif (NEEDS_PRE_FAULT && ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PRE_FAULT_MEMORY) <= 0)
\t\tskip("KVM_CAP_PRE_FAULT_MEMORY is not reported (KVM_PRE_FAULT_MEMORY is from 6.11 and needs TDP: EPT or NPT)");
\tif (NEEDS_ATTRIBUTES && !(ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES) & KVM_MEMORY_ATTRIBUTE_PRIVATE))
\t\tskip("KVM_CAP_MEMORY_ATTRIBUTES has no KVM_MEMORY_ATTRIBUTE_PRIVATE");
\tif (NEEDS_GUEST_MEMFD && ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD) <= 0)
\t\tskip("KVM_CAP_GUEST_MEMFD is not supported");
\tif (DISABLED_QUIRKS && (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DISABLE_QUIRKS2) & DISABLED_QUIRKS) != DISABLED_QUIRKS)
\t\tskip("KVM_CAP_DISABLE_QUIRKS2 cannot disable quirks 0x%x", DISABLED_QUIRKS);
\tif (MANUAL_DIRTY_LOG_PROTECT && ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) <= 0)
\t\tskip("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is not supported");
\thave_region2 = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY2) > 0;
\tif (!have_region2 && NEEDS_GUEST_MEMFD)
\t\tskip("KVM_CAP_USER_MEMORY2 is not supported");
\trun_size = (size_t)ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
}`;
}

/** main(): options, the host's checks, the windows, the verdict. */
export function cMain(): string {
  return `static void print_outcomes(void)
{
\tint i, j, k;

\tfor (i = 0; i < NR_ACTORS; i++)
\t\tfor (j = 0; j < actors[i].nr_ops; j++) {
\t\t\tconst struct op *o = &actors[i].ops[j];

\t\t\tprintf("# op #%d %s %s:", o->index, actors[i].name, o->what);
\t\t\tfor (k = 0; k < OUTCOMES_MAX && seen[o->index][k]; k++)
\t\t\t\tprintf(" %s %ld", seen[o->index][k], seen_windows[o->index][k]);
\t\t\tprintf(" (allowed: %s)\\n", o->expect);
\t\t}
}

static void usage(const char *argv0)
{
\tfprintf(stderr, "usage: %s [-n WINDOWS] [-w WATCHDOG_SECONDS] [-j JITTER_US] [-v]\\n", argv0);
\texit(2);
}

int main(int argc, char **argv)
{
\tlong windows = WINDOWS_DEFAULT;
\tdouble timeout_s = WATCHDOG_SECONDS_DEFAULT;
\tstruct sigaction sa;
\tint c;

\twhile ((c = getopt(argc, argv, "n:w:j:v")) != -1) {
\t\tif (c == 'j')
\t\t\tjitter_us = strtol(optarg, NULL, 0);
\t\telse if (c == 'n')
\t\t\twindows = strtol(optarg, NULL, 0);
\t\telse if (c == 'w')
\t\t\ttimeout_s = strtod(optarg, NULL);
\t\telse if (c == 'v')
\t\t\tverbose = 1;
\t\telse
\t\t\tusage(argv[0]);
\t}
\tif (windows < 1 || timeout_s <= 0)
\t\tusage(argv[0]);
\tsetvbuf(stdout, NULL, _IOLBF, 0);
\tmemset(&sa, 0, sizeof(sa));
\tsa.sa_handler = on_signal;	/* no SA_RESTART: a signalled ioctl returns EINTR */
\tsigaction(SIGUSR1, &sa, NULL);
\tcheck_host();
\tcode_page = mmap(NULL, PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
\tif (code_page == MAP_FAILED)
\t\tdie("mmap of the guest code page: %s", strerror(errno));
\tmemcpy(code_page, guest_code, sizeof(guest_code));
\tfor (window_nr = 0; window_nr < windows; window_nr++) {
\t\twindow_setup();
\t\trun_window(timeout_s * 1e3);
\t\twindow_teardown();
\t\tif (window_failed)
\t\t\treturn KSFT_FAIL;
\t}
\tprintf("PASS %s: %ld windows, every result one the model allows\\n", SCENARIO_NAME, windows);
\tif (verbose)
\t\tprint_outcomes();
\treturn KSFT_PASS;
}`;
}
