/* SPDX-License-Identifier: MIT */
#include "syscall_args.h"

#include <stddef.h>
#include <string.h>

#include "../common/macro.h"

struct syscall_args_entry {
	const char *name;
	struct syscall_args args;
};

#define FD(i)                                                                                      \
	{                                                                                          \
		.fd_arg = (i), .path_arg = ARG_NONE                                                \
	}
#define PATH(i)                                                                                    \
	{                                                                                          \
		.fd_arg = ARG_NONE, .path_arg = (i)                                                \
	}
#define AT(fd, path)                                                                               \
	{                                                                                          \
		.fd_arg = (fd), .path_arg = (path), .flags = SYSCALL_DIRFD                         \
	}
#define FD_ENTRY(i)                                                                                \
	{                                                                                          \
		.fd_arg = (i), .path_arg = ARG_NONE, .flags = SYSCALL_FD_AT_ENTRY                  \
	}

/* Written from the syscalls' man pages (x86_64 argument order). */
static const struct syscall_args_entry syscall_args_table[] = {
	/* calls on an fd */
	{ "read", FD(0) },
	{ "write", FD(0) },
	{ "pread64", FD(0) },
	{ "pwrite64", FD(0) },
	{ "readv", FD(0) },
	{ "writev", FD(0) },
	{ "preadv", FD(0) },
	{ "pwritev", FD(0) },
	{ "preadv2", FD(0) },
	{ "pwritev2", FD(0) },
	{ "fsync", FD(0) },
	{ "fdatasync", FD(0) },
	{ "sync_file_range", FD(0) },
	{ "syncfs", FD(0) },
	{ "fstat", FD(0) },
	{ "fstatfs", FD(0) },
	{ "ftruncate", FD(0) },
	{ "fallocate", FD(0) },
	{ "fadvise64", FD(0) },
	{ "readahead", FD(0) },
	{ "lseek", FD(0) },
	{ "ioctl", FD(0) },
	{ "fcntl", FD(0) },
	{ "flock", FD(0) },
	{ "getdents", FD(0) },
	{ "getdents64", FD(0) },
	{ "fchmod", FD(0) },
	{ "fchown", FD(0) },
	{ "fchdir", FD(0) },
	{ "fgetxattr", FD(0) },
	{ "fsetxattr", FD(0) },
	{ "flistxattr", FD(0) },
	{ "fremovexattr", FD(0) },
	{ "sendfile", FD(1) },
	{ "splice", FD(0) },
	{ "tee", FD(0) },
	{ "vmsplice", FD(0) },
	{ "copy_file_range", FD(0) },
	{ "mmap", FD(4) },
	{ "dup", FD(0) },
	{ "epoll_wait", FD(0) },
	{ "epoll_pwait", FD(0) },
	{ "epoll_pwait2", FD(0) },
	{ "epoll_ctl", FD(0) },
	{ "recvfrom", FD(0) },
	{ "sendto", FD(0) },
	{ "recvmsg", FD(0) },
	{ "sendmsg", FD(0) },
	{ "recvmmsg", FD(0) },
	{ "sendmmsg", FD(0) },
	{ "accept", FD(0) },
	{ "accept4", FD(0) },
	{ "connect", FD(0) },
	{ "bind", FD(0) },
	{ "listen", FD(0) },
	{ "shutdown", FD(0) },
	{ "getsockopt", FD(0) },
	{ "setsockopt", FD(0) },
	{ "getsockname", FD(0) },
	{ "getpeername", FD(0) },
	{ "io_uring_enter", FD(0) },
	{ "inotify_rm_watch", FD(0) },
	{ "timerfd_settime", FD(0) },
	{ "timerfd_gettime", FD(0) },
	{ "futimesat", AT(0, 1) },
	/* the fd is closed or replaced by the call itself */
	{ "close", FD_ENTRY(0) },
	{ "dup2", FD_ENTRY(1) },
	{ "dup3", FD_ENTRY(1) },
	{ "close_range", FD_ENTRY(0) },
	/* fd + path */
	{ "inotify_add_watch", { .fd_arg = 0, .path_arg = 1 } },
	{ "fanotify_mark", { .fd_arg = 0, .path_arg = 4 } },
	/* dirfd + path */
	{ "openat", AT(0, 1) },
	{ "openat2", AT(0, 1) },
	{ "newfstatat", AT(0, 1) },
	{ "statx", AT(0, 1) },
	{ "faccessat", AT(0, 1) },
	{ "faccessat2", AT(0, 1) },
	{ "mkdirat", AT(0, 1) },
	{ "mknodat", AT(0, 1) },
	{ "unlinkat", AT(0, 1) },
	{ "renameat", AT(0, 1) },
	{ "renameat2", AT(0, 1) },
	{ "linkat", AT(0, 1) },
	{ "symlinkat", AT(1, 0) },
	{ "readlinkat", AT(0, 1) },
	{ "fchmodat", AT(0, 1) },
	{ "fchmodat2", AT(0, 1) },
	{ "fchownat", AT(0, 1) },
	{ "utimensat", AT(0, 1) },
	{ "name_to_handle_at", AT(0, 1) },
	{ "execveat", AT(0, 1) },
	{ "open_tree", AT(0, 1) },
	{ "mount_setattr", AT(0, 1) },
	{ "fspick", AT(0, 1) },
	/* path only */
	{ "open", PATH(0) },
	{ "creat", PATH(0) },
	{ "stat", PATH(0) },
	{ "lstat", PATH(0) },
	{ "access", PATH(0) },
	{ "chdir", PATH(0) },
	{ "chroot", PATH(0) },
	{ "execve", PATH(0) },
	{ "mkdir", PATH(0) },
	{ "rmdir", PATH(0) },
	{ "unlink", PATH(0) },
	{ "rename", PATH(0) },
	{ "link", PATH(0) },
	{ "symlink", PATH(1) },
	{ "readlink", PATH(0) },
	{ "chmod", PATH(0) },
	{ "chown", PATH(0) },
	{ "lchown", PATH(0) },
	{ "truncate", PATH(0) },
	{ "utime", PATH(0) },
	{ "utimes", PATH(0) },
	{ "mknod", PATH(0) },
	{ "statfs", PATH(0) },
	{ "getxattr", PATH(0) },
	{ "lgetxattr", PATH(0) },
	{ "setxattr", PATH(0) },
	{ "lsetxattr", PATH(0) },
	{ "listxattr", PATH(0) },
	{ "llistxattr", PATH(0) },
	{ "removexattr", PATH(0) },
	{ "lremovexattr", PATH(0) },
	{ "mount", PATH(1) },
	{ "umount2", PATH(0) },
	{ "swapon", PATH(0) },
	{ "swapoff", PATH(0) },
	{ "pivot_root", PATH(0) },
	{ "acct", PATH(0) },
	{ "uselib", PATH(0) },
	/* vfork-like */
	{ "vfork", { .fd_arg = ARG_NONE, .path_arg = ARG_NONE, .flags = SYSCALL_VFORK } },
};

void syscall_args_build(struct syscall_args map[SW_MAX_NR])
{
	for (int nr = 0; nr < SW_MAX_NR; nr++)
		map[nr] = (struct syscall_args){ .fd_arg = ARG_NONE, .path_arg = ARG_NONE };
	for (size_t i = 0; i < ARRAY_SIZE(syscall_args_table); i++) {
		int nr = syscall_nr(syscall_args_table[i].name);

		if (nr >= 0 && nr < SW_MAX_NR)
			map[nr] = syscall_args_table[i].args;
	}
}
