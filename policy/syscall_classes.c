/* SPDX-License-Identifier: MIT */
/*
 * syscall_classes.c - the %CLASS tables of syscall_set_parse().
 *
 * Written for stallwatch from the syscalls' man pages (section 2) and their
 * argument lists; not derived from strace's tables. Each table is a
 * cross-arch list: it also names syscalls that only exist on 32-bit or other
 * ABIs (stat64, socketcall, *_time64, ...) and syscalls newer than the
 * libseccomp we build against (mseal, setxattrat, file_getattr, ...), so the
 * classes stay right when the native name table is regenerated. The parser
 * skips names this arch does not have. Keep every table sorted in C locale
 * order (LC_ALL=C sort); tests/unit/test_syscall_set.c checks it.
 */
#include "syscall_set.h"

#include <string.h>

/*
 * Syscalls that take a file name (path) argument. getcwd is out: it returns
 * a path but takes none. fsconfig is in because FSCONFIG_SET_PATH passes a
 * path; quotactl because its `special` argument is a block device path.
 */
static const char *const file_syscalls[] = {
	"access",
	"acct",
	"chdir",
	"chmod",
	"chown",
	"chown32",
	"chroot",
	"creat",
	"execve",
	"execveat",
	"faccessat",
	"faccessat2",
	"fanotify_mark",
	"fchmodat",
	"fchmodat2",
	"fchownat",
	"file_getattr",
	"file_setattr",
	"fsconfig",
	"fspick",
	"fstatat64",
	"futimesat",
	"getxattr",
	"getxattrat",
	"inotify_add_watch",
	"lchown",
	"lchown32",
	"lgetxattr",
	"link",
	"linkat",
	"listxattr",
	"listxattrat",
	"llistxattr",
	"lremovexattr",
	"lsetxattr",
	"lstat",
	"lstat64",
	"mkdir",
	"mkdirat",
	"mknod",
	"mknodat",
	"mount",
	"mount_setattr",
	"move_mount",
	"name_to_handle_at",
	"newfstatat",
	"oldlstat",
	"oldstat",
	"open",
	"open_tree",
	"open_tree_attr",
	"openat",
	"openat2",
	"pivot_root",
	"quotactl",
	"readlink",
	"readlinkat",
	"removexattr",
	"removexattrat",
	"rename",
	"renameat",
	"renameat2",
	"rmdir",
	"setxattr",
	"setxattrat",
	"stat",
	"stat64",
	"statfs",
	"statfs64",
	"statx",
	"swapoff",
	"swapon",
	"symlink",
	"symlinkat",
	"truncate",
	"truncate64",
	"umount",
	"umount2",
	"unlink",
	"unlinkat",
	"uselib",
	"utime",
	"utimensat",
	"utimensat_time64",
	"utimes",
	NULL,
};

/*
 * Syscalls with a file descriptor argument or whose usual result is a file
 * descriptor, read literally: sockets, dirfd-relative *at calls, pidfds,
 * mmap's fd and POSIX message queues (an mqd_t is an fd on Linux) all count,
 * so this class overlaps %net, %file, %process and %memory. Calls that meet
 * an fd only through a flag or a struct (seccomp's listener, kcmp's
 * KCMP_FILE, waitid's P_PIDFD, clone's CLONE_PIDFD, io_submit's iocbs) are
 * left out; bpf is in because most of its commands take or return fds.
 */
static const char *const desc_syscalls[] = {
	"_llseek",
	"_newselect",
	"accept",
	"accept4",
	"bind",
	"bpf",
	"cachestat",
	"close",
	"close_range",
	"connect",
	"copy_file_range",
	"creat",
	"dup",
	"dup2",
	"dup3",
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_ctl_old",
	"epoll_pwait",
	"epoll_pwait2",
	"epoll_wait",
	"epoll_wait_old",
	"eventfd",
	"eventfd2",
	"execveat",
	"faccessat",
	"faccessat2",
	"fadvise64",
	"fadvise64_64",
	"fallocate",
	"fanotify_init",
	"fanotify_mark",
	"fchdir",
	"fchmod",
	"fchmodat",
	"fchmodat2",
	"fchown",
	"fchown32",
	"fchownat",
	"fcntl",
	"fcntl64",
	"fdatasync",
	"fgetxattr",
	"file_getattr",
	"file_setattr",
	"finit_module",
	"flistxattr",
	"flock",
	"fremovexattr",
	"fsconfig",
	"fsetxattr",
	"fsmount",
	"fsopen",
	"fspick",
	"fstat",
	"fstat64",
	"fstatat64",
	"fstatfs",
	"fstatfs64",
	"fsync",
	"ftruncate",
	"ftruncate64",
	"futimesat",
	"getdents",
	"getdents64",
	"getpeername",
	"getsockname",
	"getsockopt",
	"getxattrat",
	"inotify_add_watch",
	"inotify_init",
	"inotify_init1",
	"inotify_rm_watch",
	"io_uring_enter",
	"io_uring_register",
	"io_uring_setup",
	"ioctl",
	"kexec_file_load",
	"landlock_add_rule",
	"landlock_create_ruleset",
	"landlock_restrict_self",
	"linkat",
	"listen",
	"listxattrat",
	"lseek",
	"memfd_create",
	"memfd_secret",
	"mkdirat",
	"mknodat",
	"mmap",
	"mmap2",
	"mount_setattr",
	"move_mount",
	"mq_getsetattr",
	"mq_notify",
	"mq_open",
	"mq_timedreceive",
	"mq_timedreceive_time64",
	"mq_timedsend",
	"mq_timedsend_time64",
	"name_to_handle_at",
	"newfstatat",
	"oldfstat",
	"open",
	"open_by_handle_at",
	"open_tree",
	"open_tree_attr",
	"openat",
	"openat2",
	"perf_event_open",
	"pidfd_getfd",
	"pidfd_open",
	"pidfd_send_signal",
	"pipe",
	"pipe2",
	"poll",
	"ppoll",
	"ppoll_time64",
	"pread64",
	"preadv",
	"preadv2",
	"process_madvise",
	"process_mrelease",
	"pselect6",
	"pselect6_time64",
	"pwrite64",
	"pwritev",
	"pwritev2",
	"quotactl_fd",
	"read",
	"readahead",
	"readdir",
	"readlinkat",
	"readv",
	"recv",
	"recvfrom",
	"recvmmsg",
	"recvmmsg_time64",
	"recvmsg",
	"removexattrat",
	"renameat",
	"renameat2",
	"select",
	"send",
	"sendfile",
	"sendfile64",
	"sendmmsg",
	"sendmsg",
	"sendto",
	"setns",
	"setsockopt",
	"setxattrat",
	"shutdown",
	"signalfd",
	"signalfd4",
	"socket",
	"socketcall",
	"socketpair",
	"splice",
	"statx",
	"symlinkat",
	"sync_file_range",
	"sync_file_range2",
	"syncfs",
	"tee",
	"timerfd_create",
	"timerfd_gettime",
	"timerfd_gettime64",
	"timerfd_settime",
	"timerfd_settime64",
	"unlinkat",
	"userfaultfd",
	"utimensat",
	"utimensat_time64",
	"vmsplice",
	"write",
	"writev",
	NULL,
};

/* The socket API, including the i386 socketcall multiplexer. */
static const char *const net_syscalls[] = {
	"accept",     "accept4", "bind",       "connect",    "getpeername", "getsockname",
	"getsockopt", "listen",	 "recv",       "recvfrom",   "recvmmsg",    "recvmmsg_time64",
	"recvmsg",    "send",	 "sendmmsg",   "sendmsg",    "sendto",	    "setsockopt",
	"shutdown",   "socket",	 "socketcall", "socketpair", NULL,
};

/*
 * Process lifecycle: create, replace (exec), end, wait for, and send a
 * signal to a process (a signal is how one process ends another). unshare,
 * setns, ptrace and prctl change or inspect a live process without starting
 * or ending one, so they are out.
 */
static const char *const process_syscalls[] = {
	"clone",
	"clone3",
	"execve",
	"execveat",
	"exit",
	"exit_group",
	"fork",
	"kill",
	"pidfd_open",
	"pidfd_send_signal",
	"rt_sigqueueinfo",
	"rt_tgsigqueueinfo",
	"tgkill",
	"tkill",
	"vfork",
	"wait4",
	"waitid",
	"waitpid",
	NULL,
};

/*
 * Address-space management: mappings, protections, locking, NUMA policy
 * and page placement. process_vm_readv/writev copy data between address
 * spaces (I/O, not management) and membarrier orders memory accesses
 * without changing any mapping, so both are out.
 */
static const char *const memory_syscalls[] = {
	"brk",
	"get_mempolicy",
	"madvise",
	"map_shadow_stack",
	"mbind",
	"memfd_secret",
	"migrate_pages",
	"mincore",
	"mlock",
	"mlock2",
	"mlockall",
	"mmap",
	"mmap2",
	"move_pages",
	"mprotect",
	"mremap",
	"mseal",
	"msync",
	"munlock",
	"munlockall",
	"munmap",
	"pkey_alloc",
	"pkey_free",
	"pkey_mprotect",
	"process_madvise",
	"process_mrelease",
	"remap_file_pages",
	"set_mempolicy",
	"set_mempolicy_home_node",
	NULL,
};

/*
 * Sending, handling, masking and waiting for signals. alarm and the timer
 * calls deliver signals only as a side effect of a timer, and
 * restart_syscall is the kernel's restart plumbing, so they are out.
 */
static const char *const signal_syscalls[] = {
	"kill",
	"pause",
	"pidfd_send_signal",
	"rt_sigaction",
	"rt_sigpending",
	"rt_sigprocmask",
	"rt_sigqueueinfo",
	"rt_sigreturn",
	"rt_sigsuspend",
	"rt_sigtimedwait",
	"rt_sigtimedwait_time64",
	"rt_tgsigqueueinfo",
	"sgetmask",
	"sigaction",
	"sigaltstack",
	"signal",
	"signalfd",
	"signalfd4",
	"sigpending",
	"sigprocmask",
	"sigreturn",
	"sigsuspend",
	"ssetmask",
	"tgkill",
	"tkill",
	NULL,
};

/*
 * System V IPC (and the i386 ipc multiplexer) and POSIX message queues.
 * Pipes, sockets and futexes are IPC in the wide sense too, but keeping them
 * out lets %ipc pick the named IPC objects alone; pipes and sockets are in
 * %desc and %net.
 */
static const char *const ipc_syscalls[] = {
	"ipc",
	"mq_getsetattr",
	"mq_notify",
	"mq_open",
	"mq_timedreceive",
	"mq_timedreceive_time64",
	"mq_timedsend",
	"mq_timedsend_time64",
	"mq_unlink",
	"msgctl",
	"msgget",
	"msgrcv",
	"msgsnd",
	"semctl",
	"semget",
	"semop",
	"semtimedop",
	"semtimedop_time64",
	"shmat",
	"shmctl",
	"shmdt",
	"shmget",
	NULL,
};

/*
 * Reading and changing user/group IDs, supplementary groups and
 * capabilities. prctl is out: only a few of its options touch credentials.
 */
static const char *const creds_syscalls[] = {
	"capget",    "capset",	    "getegid",	 "getegid32",	"geteuid",   "geteuid32",
	"getgid",    "getgid32",    "getgroups", "getgroups32", "getresgid", "getresgid32",
	"getresuid", "getresuid32", "getuid",	 "getuid32",	"setfsgid",  "setfsgid32",
	"setfsuid",  "setfsuid32",  "setgid",	 "setgid32",	"setgroups", "setgroups32",
	"setregid",  "setregid32",  "setresgid", "setresgid32", "setresuid", "setresuid32",
	"setreuid",  "setreuid32",  "setuid",	 "setuid32",	NULL,
};

/*
 * Reading, setting and tuning clocks. Sleeps (nanosleep, clock_nanosleep)
 * and timers (alarm, setitimer, timer_*, timerfd_*) wait on a clock without
 * touching it, and a stall watchdog wants to drop sleeps without dropping
 * clock reads, so they are out.
 */
static const char *const clock_syscalls[] = {
	"adjtimex",
	"clock_adjtime",
	"clock_adjtime64",
	"clock_getres",
	"clock_getres_time64",
	"clock_gettime",
	"clock_gettime64",
	"clock_settime",
	"clock_settime64",
	"gettimeofday",
	"settimeofday",
	"stime",
	"time",
	NULL,
};

static const struct syscall_class {
	const char *name;
	const char *const *syscalls;
} syscall_classes[] = {
	{ "clock", clock_syscalls },   { "creds", creds_syscalls }, { "desc", desc_syscalls },
	{ "file", file_syscalls },     { "ipc", ipc_syscalls },	    { "memory", memory_syscalls },
	{ "net", net_syscalls },       { "network", net_syscalls }, { "process", process_syscalls },
	{ "signal", signal_syscalls },
};

const char *const *syscall_class_names(const char *class_name)
{
	for (size_t i = 0; i < ARRAY_SIZE(syscall_classes); i++) {
		if (strcmp(syscall_classes[i].name, class_name) == 0)
			return syscall_classes[i].syscalls;
	}
	return NULL;
}
