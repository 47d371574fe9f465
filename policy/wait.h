/* SPDX-License-Identifier: MIT */
/*
 * wait.h - `%wait`: is this call a wait (it blocks until an event by
 * design) or could it be a stall? doc/policy.md ("Waits are not stalls")
 * lists the calls and the reasons.
 *
 * A property of each call, not of a syscall number: a read() of a pipe
 * waits for its writer, a read() of memory.stat does not. Three questions,
 * in the order a backend asks them:
 *   - syscall_wait_kind(nr): never, always, or decided by the call's fd or
 *     operation argument (cheap, a table lookup);
 *   - fd_kind_classify(): what an fd is, from the text /proc/PID/fd/N links
 *     to and its st_mode (the backend reads those);
 *   - syscall_call_is_wait(): the decision for one call, asking the backend
 *     for fd kinds and caller memory only when the syscall needs them.
 * Nothing here reads /proc or prints: the backend brings the facts.
 */
#ifndef SW_POLICY_WAIT_H
#define SW_POLICY_WAIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "syscall_set.h"

enum wait_kind {
	WAIT_NEVER, /* connect, openat, fsync, stat, ...: a long one is a stall */
	WAIT_ALWAYS, /* epoll_wait, nanosleep, accept4, wait4, recvmsg, ... */
	WAIT_BY_FD, /* read, write, ...: a wait when the fd waits for a peer */
	WAIT_BY_OP, /* futex, fcntl, io_uring_enter, syslog, clone: by an argument */
};

enum fd_kind {
	FD_KIND_UNKNOWN, /* gone, or not readable: treated as not waiting */
	FD_KIND_OTHER, /* regular file, directory, block device, proc/sys/cgroup file, ... */
	FD_KIND_PEER, /* pipe, FIFO, socket, character device, eventfd, ... */
};

/* How calls of native syscall nr relate to %wait. */
enum wait_kind syscall_wait_kind(int nr);

/*
 * Which rule decides a call of native syscall nr, and from which arguments:
 * syscall_call_is_wait() in full, for a backend that decides elsewhere (bpf:
 * in the kernel, tracer/bpf/watch.bpf.c mirrors each rule).
 */
enum wait_how {
	WAIT_HOW_NEVER,
	WAIT_HOW_ALWAYS,
	WAIT_HOW_FD0, /* args[0] is an fd of kind FD_KIND_PEER */
	WAIT_HOW_FD01, /* sendfile: args[0] and args[1] both are */
	WAIT_HOW_FD02, /* splice: args[0] and args[2] both are */
	WAIT_HOW_FUTEX, /* the op in args[1]: FUTEX_WAIT, _BITSET, _REQUEUE_PI */
	WAIT_HOW_FCNTL, /* args[1]: F_SETLKW, F_SETLKW64, F_OFD_SETLKW */
	WAIT_HOW_IO_URING, /* IORING_ENTER_GETEVENTS in args[3], min_complete args[2] > 0 */
	WAIT_HOW_SYSLOG, /* args[0]: SYSLOG_ACTION_READ */
	WAIT_HOW_CLONE, /* CLONE_VFORK in args[0] */
	WAIT_HOW_CLONE3, /* CLONE_VFORK in the u64 at caller address args[0] */
};

enum wait_how syscall_wait_how(int nr);

/*
 * The native syscalls whose calls can be waits (kind != WAIT_NEVER) and
 * those whose every call is (WAIT_ALWAYS). Computed once; read-only after.
 */
const struct syscall_set *syscall_wait_capable(void);
const struct syscall_set *syscall_wait_always(void);

/*
 * What an fd is, from readlink(/proc/PID/fd/N) ("pipe:[42]",
 * "anon_inode:[eventfd]", "/dev/pts/3") and, for a path, stat()'s st_mode
 * (0 when unknown).
 */
enum fd_kind fd_kind_classify(const char *link, mode_t mode);

/* The facts a wait decision may need, from the backend. */
struct wait_lookup {
	/* kind of fd in the calling process */
	enum fd_kind (*fd_kind)(void *opaque, int fd);
	/* 8 bytes of the caller's memory at addr (clone3's flags); 0 or -errno */
	int (*read_u64)(void *opaque, uint64_t addr, uint64_t *ret);
	void *opaque;
};

/*
 * Is this call of native syscall nr with these arguments a wait? An fd or
 * memory the backend cannot read counts as "not a wait": a watchdog would
 * rather report one wait too many than hide a stall.
 */
bool syscall_call_is_wait(int nr, const uint64_t args[6], const struct wait_lookup *lookup);

#endif
