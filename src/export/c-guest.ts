/**
 * The reproducer's guest: one 4 KiB page of flat 32-bit protected-mode code, no paging
 * (so a guest address is a GPA and every access is below 4 GiB), in a memslot of its
 * own. It loops: `out` to DONE_PORT ("ready"), read a mailbox in its own page (access
 * kind, gpa), do that one-byte access, and back to the `out`. The vCPU thread writes the
 * mailbox and calls KVM_RUN once per scenario access: a KVM_EXIT_IO on DONE_PORT means
 * the access completed, a KVM_EXIT_MMIO before it that KVM emulated it (no memslot),
 * and KVM_RUN failing (EFAULT with KVM_EXIT_MEMORY_FAULT, …) that it did not.
 */

/** The I/O port the guest writes when it is ready for the next access. */
export const DONE_PORT = 0x10;
/** The mailbox's offset in the code page: u32 kind (1 write), u32 gpa. */
export const MAILBOX_OFFSET = 0x800;
/** Where the guest resumes after an access that failed: just after the `out`. */
export const RESUME_OFFSET = 2;

/** The guest's code, at `codeGpa`. */
export function guestCode(codeGpa: bigint): number[] {
  const box = Number(codeGpa) + MAILBOX_OFFSET;
  const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  return [
    0xe6, DONE_PORT, //           0x00 out DONE_PORT, al
    0x8b, 0x1d, ...le32(box), //  0x02 mov ebx, [mailbox]      (kind)
    0x8b, 0x35, ...le32(box + 4), // 0x08 mov esi, [mailbox + 4] (gpa)
    0x85, 0xdb, //                0x0e test ebx, ebx
    0x75, 0x04, //                0x10 jnz 0x16
    0x8a, 0x06, //                0x12 mov al, [esi]
    0xeb, 0xea, //                0x14 jmp 0x00
    0x88, 0x06, //                0x16 mov [esi], al
    0xeb, 0xe6, //                0x18 jmp 0x00
  ];
}

/** The code as a C array, with what each instruction is. */
export function cGuestCode(codeGpa: bigint): string {
  const bytes = guestCode(codeGpa).map((b) => `0x${b.toString(16).padStart(2, '0')}`);
  return `/*
 * The guest, flat 32-bit protected mode without paging, at CODE_GPA:
 *   0x00 out DONE_PORT, al      ready for the next access
 *   0x02 mov ebx, [MAILBOX]     kind (1: write)
 *   0x08 mov esi, [MAILBOX+4]   gpa
 *   0x0e test ebx, ebx; jnz 0x16
 *   0x12 mov al, [esi]; jmp 0x00
 *   0x16 mov [esi], al; jmp 0x00
 */
static const unsigned char guest_code[] = { ${bytes.join(', ')} };`;
}

/** vCPU creation and its 32-bit flat set-up (KVM_SET_SREGS, KVM_SET_REGS). */
export function cVcpuSetup(): string {
  return `static void flat_segment(struct kvm_segment *s, __u16 selector, __u8 type)
{
\tmemset(s, 0, sizeof(*s));
\ts->base = 0;
\ts->limit = 0xffffffff;
\ts->selector = selector;
\ts->type = type;
\ts->present = 1;
\ts->db = 1;
\ts->s = 1;
\ts->g = 1;
}

static void guest_set_rip(int fd, __u64 rip)
{
\tstruct kvm_regs regs;

\tif (ioctl(fd, KVM_GET_REGS, &regs))
\t\tdie("KVM_GET_REGS: %s", strerror(errno));
\tregs.rip = rip;
\tregs.rflags = 0x2;
\tif (ioctl(fd, KVM_SET_REGS, &regs))
\t\tdie("KVM_SET_REGS: %s", strerror(errno));
}

/* A vCPU in 32-bit protected mode, flat segments, paging off, at the guest's first instruction. */
static void vcpu_create(struct actor *a)
{
\tstruct kvm_sregs sregs;

\ta->fd = ioctl(vm_fd, KVM_CREATE_VCPU, a->vcpu);
\tif (a->fd < 0)
\t\tdie("setup: KVM_CREATE_VCPU %d: %s", a->vcpu, strerror(errno));
\ta->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
\tif (a->run == MAP_FAILED)
\t\tdie("setup: mmap of vCPU %d's kvm_run: %s", a->vcpu, strerror(errno));
\tif (ioctl(a->fd, KVM_GET_SREGS, &sregs))
\t\tdie("setup: KVM_GET_SREGS: %s", strerror(errno));
\tflat_segment(&sregs.cs, 0x08, 11);	/* execute/read, accessed */
\tflat_segment(&sregs.ds, 0x10, 3);	/* read/write, accessed */
\tsregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
\tsregs.cr0 = 0x31;			/* PE | ET | NE; PG off */
\tsregs.cr4 = 0;
\tsregs.efer = 0;
\tif (ioctl(a->fd, KVM_SET_SREGS, &sregs))
\t\tdie("setup: KVM_SET_SREGS: %s", strerror(errno));
\tguest_set_rip(a->fd, CODE_GPA);
\ta->started = 0;
}`;
}

/** A guest access: KVM_RUN until the guest is ready again. */
export function cGuestRun(): string {
  return `/*
 * KVM_RUN until the guest is ready again (its \`out\` to DONE_PORT): "ok", "mmio" if KVM
 * emulated an access on the way, or what stopped it. After a failure the guest resumes
 * at the mailbox.
 */
static const char *run_until_ready(struct actor *a)
{
\tint mmio = 0, n;

\tfor (n = 0; n < RUN_EXITS_MAX; n++) {
\t\tif (xioctl(a, "KVM_RUN", a->fd, KVM_RUN, NULL) < 0) {
\t\t\tint e = errno;

\t\t\tif (e == EINTR && !hung())
\t\t\t\tcontinue;
\t\t\tguest_set_rip(a->fd, CODE_GPA + RESUME_OFFSET);
\t\t\treturn e == EINTR ? "hang" : errno_name(e);
\t\t}
\t\tif (a->run->exit_reason == KVM_EXIT_MMIO) {
\t\t\tmmio = 1;
\t\t\tcontinue;
\t\t}
\t\tif (a->run->exit_reason == KVM_EXIT_IO && a->run->io.port == DONE_PORT)
\t\t\treturn mmio ? "mmio" : "ok";
\t\tguest_set_rip(a->fd, CODE_GPA + RESUME_OFFSET);
\t\treturn exit_name(a->run->exit_reason);
\t}
\treturn "exit:LOOP";
}

/*
 * One guest access: the mailbox, then KVM_RUN until the guest is ready again. The vCPU's
 * first KVM_RUN happens here, at its first access: until then it has no root loaded, as
 * in the model.
 */
static const char *do_access(struct actor *a, const struct op *o)
{
\tvolatile __u32 *mailbox = (volatile __u32 *)((char *)code_page + MAILBOX_OFFSET);

\tif (!a->started) {
\t\tconst char *got = run_until_ready(a);

\t\tif (strcmp(got, "ok")) {
\t\t\tguest_set_rip(a->fd, CODE_GPA);	/* not started: from the top next time */
\t\t\treturn got;
\t\t}
\t\ta->started = 1;
\t}
\tmailbox[0] = (__u32)o->write;
\tmailbox[1] = (__u32)o->gpa;
\treturn run_until_ready(a);
}`;
}

/** The vCPU's ioctls besides KVM_RUN: KVM_PRE_FAULT_MEMORY, a CR0.WP change. */
export function cVcpuOps(): string {
  return `/* KVM_PRE_FAULT_MEMORY; until_done loops as pre_fault_memory_test.c does (and on EAGAIN). */
static const char *do_pre_fault(struct actor *a, const struct op *o)
{
\tstruct kvm_pre_fault_memory range = { .gpa = o->gpa, .size = o->size, .flags = o->flags };

\tfor (;;) {
\t\tint r = xioctl(a, "KVM_PRE_FAULT_MEMORY", a->fd, KVM_PRE_FAULT_MEMORY, &range);
\t\tint e = errno;

\t\tif (r == 0 && (range.size == 0 || !o->until_done))
\t\t\treturn "ok";
\t\tif (r == 0)
\t\t\tcontinue;
\t\tif (e == EINTR && hung())
\t\t\treturn "hang";
\t\tif ((e == EINTR || e == EAGAIN) && o->until_done)
\t\t\tcontinue;
\t\treturn errno_name(e);
\t}
}

/* KVM_SET_SREGS toggling CR0.WP: kvm_mmu_reset_context() drops the vCPU's root. */
static const char *do_mmu_reset(struct actor *a, const struct op *o)
{
\tstruct kvm_sregs sregs;

\t(void)o;
\tif (xioctl(a, "KVM_GET_SREGS", a->fd, KVM_GET_SREGS, &sregs))
\t\treturn errno_name(errno);
\tsregs.cr0 ^= 1ULL << 16;
\treturn xioctl(a, "KVM_SET_SREGS", a->fd, KVM_SET_SREGS, &sregs) ? errno_name(errno) : "ok";
}`;
}
