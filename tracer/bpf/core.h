/* SPDX-License-Identifier: MIT */
/*
 * core.h - the few kernel types, fields and constants watch.bpf.c uses,
 * written by hand instead of a 130k-line `bpftool btf dump ... format c`
 * vmlinux.h. The structs carry preserve_access_index, so clang emits a
 * CO-RE relocation for every field access and libbpf fixes the offsets up
 * against the running kernel's BTF (/sys/kernel/btf/vmlinux) at load time
 * (https://docs.kernel.org/bpf/libbpf/libbpf_overview.html, "BPF CO-RE").
 * Only the named fields need to exist in the kernel, not the layout below.
 *
 * BPF objects only (clang -target bpf): user space includes watch.h alone.
 */
#ifndef SW_TRACER_BPF_CORE_H
#define SW_TRACER_BPF_CORE_H

/* what <linux/types.h> would give; libbpf's bpf_helper_defs.h needs them */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
#define true 1
#define false 0

/* UAPI values from include/uapi/linux/bpf.h (stable ABI) */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_STACK_TRACE = 7,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0, /* create or update */
	BPF_NOEXIST = 1, /* create only */
	BPF_EXIST = 2, /* update only */
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

/* arch/x86/include/asm/ptrace.h: the registers saved at syscall entry */
struct pt_regs {
	unsigned long bp;
	unsigned long bx;
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long cx;
	unsigned long dx;
	unsigned long si;
	unsigned long di;
	unsigned long orig_ax; /* the syscall number; -1 after (rt_)sigreturn */
	unsigned long sp;
};

/* arch/x86/include/asm/thread_info.h */
struct thread_info {
	__u32 status; /* TS_* */
};

typedef struct {
	int counter;
} atomic_t;

/* include/linux/sched/signal.h */
struct signal_struct {
	atomic_t live; /* threads not yet past the top of do_exit() */
};

/* include/linux/sched.h (CONFIG_THREAD_INFO_IN_TASK: thread_info is the first member) */
struct task_struct {
	struct thread_info thread_info;
	int exit_code;
	int pid;
	int tgid;
	struct signal_struct *signal;
	struct files_struct *files; /* %wait: the fd table */
};

/* ---- %wait: what an fd is (include/linux/fdtable.h, fs.h, dcache.h) ---- */

struct fdtable {
	unsigned int max_fds;
	struct file **fd; /* current fd array (RCU) */
};

struct files_struct {
	struct fdtable *fdt;
};

struct qstr {
	union {
		struct {
			__u32 hash;
			__u32 len;
		};
		__u64 hash_len;
	};
	const unsigned char *name;
};

struct dentry {
	struct qstr d_name;
};

struct vfsmount {
	struct dentry *mnt_root; /* the root of the mounted tree */
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct super_block {
	unsigned long s_magic;
};

struct inode {
	unsigned short i_mode; /* umode_t */
	struct super_block *i_sb;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
};

struct linux_binprm;

#pragma clang attribute pop

/*
 * arch/x86/include/asm/thread_info.h: set at the entry of an i386 call
 * (int $0x80, also from 64-bit code; sysenter; 32-bit syscall) and cleared
 * on the way back to user space, after the sys_exit tracepoint and signal
 * handling (arch_exit_to_user_mode_prepare() in asm/entry-common.h, 5.9+).
 */
#define TS_COMPAT 0x0002

/* arch/x86/include/uapi/asm/unistd.h: x32 calls carry this bit in their number */
#define __X32_SYSCALL_BIT 0x40000000

/* include/linux/errno.h: never seen by user space, only by tracers */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516
#define EINTR 4

/* %wait: include/uapi/linux/stat.h, magic.h, sched.h, futex.h */
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFCHR 0020000
#define S_IFIFO 0010000
#define ANON_INODE_FS_MAGIC 0x09041934
#define PROC_SUPER_MAGIC 0x9fa0
#define PIPEFS_MAGIC 0x50495045
#define CLONE_VFORK 0x00004000
#define FUTEX_WAIT 0
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

/* arch/x86/entry/syscalls/syscall_64.tbl and syscall_32.tbl */
#define NR_RESTART_SYSCALL_64 219
#define NR_RESTART_SYSCALL_32 0

#endif
