/**
 * The C prologue: the includes (libc, pthreads, <linux/kvm.h>) and the KVM uAPI newer
 * than the installed headers may be, each under its own #ifndef with the values of
 * include/uapi/linux/kvm.h and arch/x86/include/uapi/asm/kvm.h (6.11 and later): a host
 * with 6.1 headers builds the file, and one with new headers uses its own definitions.
 */

/** Includes, and the feature macro glibc wants for memfd_create() and MADV_*. */
export function cIncludes(): string {
  return `#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/kvm.h>`;
}

/** Capabilities and ioctls of 6.8 … 6.11 (KVM_CAP_* values: include/uapi/linux/kvm.h). */
function cCapabilities(): string {
  return `#ifndef KVM_CAP_DISABLE_QUIRKS2
#define KVM_CAP_DISABLE_QUIRKS2 213
#endif
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif
#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236
#endif
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
#endif
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD (1UL << 2)
#endif
#ifndef KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE
#define KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE (1 << 0)
#endif`;
}

/** Structs and ioctl numbers (KVM_SET_USER_MEMORY_REGION2 0x49, 0xd2, 0xd4, 0xd5). */
function cIoctls(): string {
  return `#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
\t__u32 slot;
\t__u32 flags;
\t__u64 guest_phys_addr;
\t__u64 memory_size;
\t__u64 userspace_addr;
\t__u64 guest_memfd_offset;
\t__u32 guest_memfd;
\t__u32 pad1;
\t__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif
#ifndef KVM_SET_MEMORY_ATTRIBUTES
struct kvm_memory_attributes {
\t__u64 address;
\t__u64 size;
\t__u64 attributes;
\t__u64 flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#endif
#ifndef KVM_MEMORY_ATTRIBUTE_PRIVATE
#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)
#endif
#ifndef KVM_CREATE_GUEST_MEMFD
struct kvm_create_guest_memfd {
\t__u64 size;
\t__u64 flags;
\t__u64 reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#endif
#ifndef KVM_PRE_FAULT_MEMORY
struct kvm_pre_fault_memory {
\t__u64 gpa;
\t__u64 size;
\t__u64 flags;
\t__u64 padding[5];
};
#define KVM_PRE_FAULT_MEMORY _IOWR(KVMIO, 0xd5, struct kvm_pre_fault_memory)
#endif`;
}

/** VM types, the quirk, and the libc constants an old libc may lack. */
function cConstants(): string {
  return `#ifndef KVM_X86_DEFAULT_VM
#define KVM_X86_DEFAULT_VM 0
#endif
#ifndef KVM_X86_SW_PROTECTED_VM
#define KVM_X86_SW_PROTECTED_VM 1
#endif
#ifndef KVM_X86_SNP_VM
#define KVM_X86_SNP_VM 4
#endif
#ifndef KVM_X86_TDX_VM
#define KVM_X86_TDX_VM 5
#endif
#ifndef KVM_X86_QUIRK_SLOT_ZAP_ALL
#define KVM_X86_QUIRK_SLOT_ZAP_ALL (1 << 7)
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif`;
}

/** Everything before the reproducer's own code. */
export function cPrologue(): string {
  return [cIncludes(), '', '/* uAPI the installed headers may predate (values of include/uapi/linux/kvm.h and arch/x86/include/uapi/asm/kvm.h, 6.11+) */', cCapabilities(), cIoctls(), cConstants()].join('\n');
}
