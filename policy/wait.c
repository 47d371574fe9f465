/* SPDX-License-Identifier: MIT */
/*
 * wait.c - the %wait decision (wait.h). The list and its judgment calls are
 * documented in doc/policy.md ("Waits are not stalls") and the man page;
 * keep the three in step.
 *
 * Like syscall_classes.c, the table is a cross-arch list of names (32-bit
 * and *_time64 names included); names this arch lacks are skipped.
 */
#include "wait.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/macro.h"

struct wait_entry {
	const char *name;
	enum wait_kind kind;
};

static const struct wait_entry wait_table[] = {
	/* the poll/select/epoll family: waiting for an fd to become ready */
	{ "_newselect", WAIT_ALWAYS },
	{ "epoll_pwait", WAIT_ALWAYS },
	{ "epoll_pwait2", WAIT_ALWAYS },
	{ "epoll_wait", WAIT_ALWAYS },
	{ "epoll_wait_old", WAIT_ALWAYS },
	{ "poll", WAIT_ALWAYS },
	{ "ppoll", WAIT_ALWAYS },
	{ "ppoll_time64", WAIT_ALWAYS },
	{ "pselect6", WAIT_ALWAYS },
	{ "pselect6_time64", WAIT_ALWAYS },
	{ "select", WAIT_ALWAYS },
	/* futexes: the classic futex by operation, futex2 waits always */
	{ "futex", WAIT_BY_OP },
	{ "futex_time64", WAIT_BY_OP },
	{ "futex_wait", WAIT_ALWAYS },
	{ "futex_waitv", WAIT_ALWAYS },
	/* sleeps, signal waits; restart_syscall resumes a sleep, poll or futex wait */
	{ "clock_nanosleep", WAIT_ALWAYS },
	{ "clock_nanosleep_time64", WAIT_ALWAYS },
	{ "nanosleep", WAIT_ALWAYS },
	{ "pause", WAIT_ALWAYS },
	{ "restart_syscall", WAIT_ALWAYS },
	{ "rt_sigsuspend", WAIT_ALWAYS },
	{ "rt_sigtimedwait", WAIT_ALWAYS },
	{ "rt_sigtimedwait_time64", WAIT_ALWAYS },
	{ "sigsuspend", WAIT_ALWAYS },
	/* children */
	{ "vfork", WAIT_ALWAYS },
	{ "clone", WAIT_BY_OP },
	{ "clone3", WAIT_BY_OP },
	{ "wait4", WAIT_ALWAYS },
	{ "waitid", WAIT_ALWAYS },
	{ "waitpid", WAIT_ALWAYS },
	/* connections and locks held by someone else */
	{ "accept", WAIT_ALWAYS },
	{ "accept4", WAIT_ALWAYS },
	{ "fcntl", WAIT_BY_OP },
	{ "fcntl64", WAIT_BY_OP },
	{ "flock", WAIT_ALWAYS },
	/* System V and POSIX messages and semaphores */
	{ "mq_timedreceive", WAIT_ALWAYS },
	{ "mq_timedreceive_time64", WAIT_ALWAYS },
	{ "mq_timedsend", WAIT_ALWAYS },
	{ "mq_timedsend_time64", WAIT_ALWAYS },
	{ "msgrcv", WAIT_ALWAYS },
	{ "msgsnd", WAIT_ALWAYS },
	{ "semop", WAIT_ALWAYS },
	{ "semtimedop", WAIT_ALWAYS },
	{ "semtimedop_time64", WAIT_ALWAYS },
	/* AIO and io_uring completions */
	{ "io_getevents", WAIT_ALWAYS },
	{ "io_pgetevents", WAIT_ALWAYS },
	{ "io_pgetevents_time64", WAIT_ALWAYS },
	{ "io_uring_enter", WAIT_BY_OP },
	/* sends and receives: sockets only, so always a peer */
	{ "recv", WAIT_ALWAYS },
	{ "recvfrom", WAIT_ALWAYS },
	{ "recvmmsg", WAIT_ALWAYS },
	{ "recvmmsg_time64", WAIT_ALWAYS },
	{ "recvmsg", WAIT_ALWAYS },
	{ "send", WAIT_ALWAYS },
	{ "sendmmsg", WAIT_ALWAYS },
	{ "sendmsg", WAIT_ALWAYS },
	{ "sendto", WAIT_ALWAYS },
	/* pipes only */
	{ "tee", WAIT_ALWAYS },
	{ "vmsplice", WAIT_ALWAYS },
	/* reads and writes: by what the fd is */
	{ "pread64", WAIT_BY_FD },
	{ "preadv", WAIT_BY_FD },
	{ "preadv2", WAIT_BY_FD },
	{ "pwrite64", WAIT_BY_FD },
	{ "pwritev", WAIT_BY_FD },
	{ "pwritev2", WAIT_BY_FD },
	{ "read", WAIT_BY_FD },
	{ "readv", WAIT_BY_FD },
	{ "sendfile", WAIT_BY_FD },
	{ "sendfile64", WAIT_BY_FD },
	{ "splice", WAIT_BY_FD },
	{ "write", WAIT_BY_FD },
	{ "writev", WAIT_BY_FD },
	/* syslog(SYSLOG_ACTION_READ) waits for kernel messages, like /proc/kmsg */
	{ "syslog", WAIT_BY_OP },
};

struct wait_tables {
	unsigned char kind[SW_MAX_NR]; /* enum wait_kind, WAIT_NEVER = 0 */
	struct syscall_set capable, always;
	int futex_nr, fcntl_nr, io_uring_enter_nr, syslog_nr, clone_nr, clone3_nr, sendfile_nr,
		splice_nr;
};

/*
 * Filled once and read-only after (pthread_once: a policy may be compiled
 * off the tracing thread). The names resolve through libseccomp, too slow to
 * repeat for every `%wait` of a large policy.
 */
static struct wait_tables tables;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_fill(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(wait_table); i++) {
		int nr = syscall_nr(wait_table[i].name);

		if (nr < 0)
			continue;
		tables.kind[nr] = (unsigned char)wait_table[i].kind;
		syscall_set_add(&tables.capable, nr);
		if (wait_table[i].kind == WAIT_ALWAYS)
			syscall_set_add(&tables.always, nr);
	}
	tables.futex_nr = syscall_nr("futex");
	tables.fcntl_nr = syscall_nr("fcntl");
	tables.io_uring_enter_nr = syscall_nr("io_uring_enter");
	tables.syslog_nr = syscall_nr("syslog");
	tables.clone_nr = syscall_nr("clone");
	tables.clone3_nr = syscall_nr("clone3");
	tables.sendfile_nr = syscall_nr("sendfile");
	tables.splice_nr = syscall_nr("splice");
}

static const struct wait_tables *get_tables(void)
{
	pthread_once(&tables_once, tables_fill);
	return &tables;
}

enum wait_kind syscall_wait_kind(int nr)
{
	if (nr < 0 || nr >= SW_MAX_NR)
		return WAIT_NEVER;
	return (enum wait_kind)get_tables()->kind[nr];
}

const struct syscall_set *syscall_wait_capable(void)
{
	return &get_tables()->capable;
}

const struct syscall_set *syscall_wait_always(void)
{
	return &get_tables()->always;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum fd_kind fd_kind_classify(const char *link, mode_t mode)
{
	/* anon inodes whose reads wait for an event (fs/eventfd.c, fs/signalfd.c, ...) */
	static const char *const waiting_anon[] = {
		"anon_inode:[eventfd]", "anon_inode:[signalfd]", "anon_inode:[timerfd]",
		"anon_inode:inotify",	"anon_inode:[fanotify]", "anon_inode:[userfaultfd]",
	};

	if (!link || !*link)
		return FD_KIND_UNKNOWN;
	if (starts_with(link, "pipe:[") || starts_with(link, "socket:["))
		return FD_KIND_PEER;
	if (starts_with(link, "anon_inode:")) {
		for (size_t i = 0; i < ARRAY_SIZE(waiting_anon); i++)
			if (strcmp(link, waiting_anon[i]) == 0)
				return FD_KIND_PEER;
		return FD_KIND_OTHER;
	}
	if (link[0] != '/')
		return FD_KIND_OTHER; /* net:[...], mnt:[...] and other namespace files */
	/* the one file in /proc whose read waits: kernel messages (fs/proc/kmsg.c) */
	if (strcmp(link, "/proc/kmsg") == 0)
		return FD_KIND_PEER;
	if (!mode)
		return FD_KIND_UNKNOWN;
	/* a FIFO, a socket bound to a path, a tty or any other character device */
	if (S_ISFIFO(mode) || S_ISSOCK(mode) || S_ISCHR(mode))
		return FD_KIND_PEER;
	return FD_KIND_OTHER;
}

static bool fd_is_peer(const struct wait_lookup *lookup, uint64_t fd_arg)
{
	int fd = (int)fd_arg; /* the kernel reads fds as int */

	return fd >= 0 && lookup && lookup->fd_kind &&
	       lookup->fd_kind(lookup->opaque, fd) == FD_KIND_PEER;
}

static bool futex_op_is_wait(uint64_t op_arg)
{
	int cmd = (int)op_arg & FUTEX_CMD_MASK;

	/*
	 * The PI operations (FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_TRYLOCK_PI)
	 * block on a lock another thread holds: contention, a stall worth
	 * seeing. FUTEX_WAIT_REQUEUE_PI is a condition-variable wait.
	 */
	return cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAIT_REQUEUE_PI;
}

enum wait_how syscall_wait_how(int nr)
{
	const struct wait_tables *w = get_tables();

	switch (syscall_wait_kind(nr)) {
	case WAIT_ALWAYS:
		return WAIT_HOW_ALWAYS;
	case WAIT_BY_FD:
		/*
		 * sendfile(out, in) and splice(in, _, out, _) move data between
		 * two fds: a wait only when both ends wait for a peer (socket to
		 * pipe). With a file at one end the call may be stalled on
		 * storage, which is what stallwatch is for.
		 */
		return nr == w->sendfile_nr ? WAIT_HOW_FD01 :
		       nr == w->splice_nr   ? WAIT_HOW_FD02 :
					      WAIT_HOW_FD0;
	case WAIT_BY_OP:
		return nr == w->futex_nr	  ? WAIT_HOW_FUTEX :
		       nr == w->fcntl_nr	  ? WAIT_HOW_FCNTL :
		       nr == w->io_uring_enter_nr ? WAIT_HOW_IO_URING :
		       nr == w->syslog_nr	  ? WAIT_HOW_SYSLOG :
		       nr == w->clone_nr	  ? WAIT_HOW_CLONE :
		       nr == w->clone3_nr	  ? WAIT_HOW_CLONE3 :
						    WAIT_HOW_NEVER;
	case WAIT_NEVER:
	default:
		return WAIT_HOW_NEVER;
	}
}

bool syscall_call_is_wait(int nr, const uint64_t args[6], const struct wait_lookup *lookup)
{
	uint64_t flags = 0;

	switch (syscall_wait_how(nr)) {
	case WAIT_HOW_ALWAYS:
		return true;
	case WAIT_HOW_FD0:
		return fd_is_peer(lookup, args[0]);
	case WAIT_HOW_FD01:
		return fd_is_peer(lookup, args[0]) && fd_is_peer(lookup, args[1]);
	case WAIT_HOW_FD02:
		return fd_is_peer(lookup, args[0]) && fd_is_peer(lookup, args[2]);
	case WAIT_HOW_FUTEX:
		return futex_op_is_wait(args[1]);
	case WAIT_HOW_FCNTL:
		/* F_SETLKW (7), F_SETLKW64 (14, 32-bit ABIs), F_OFD_SETLKW (38) */
		return args[1] == 7 || args[1] == 14 || args[1] == 38;
	case WAIT_HOW_IO_URING:
		/* IORING_ENTER_GETEVENTS (1) with min_complete > 0 waits for completions */
		return (args[3] & 1) && (uint32_t)args[2] > 0;
	case WAIT_HOW_SYSLOG:
		return (int)args[0] == 2; /* SYSLOG_ACTION_READ */
	case WAIT_HOW_CLONE:
		return args[0] & CLONE_VFORK;
	case WAIT_HOW_CLONE3:
		/* struct clone_args starts with its u64 flags */
		return lookup && lookup->read_u64 &&
		       lookup->read_u64(lookup->opaque, args[0], &flags) == 0 &&
		       (flags & CLONE_VFORK);
	case WAIT_HOW_NEVER:
	default:
		return false;
	}
}
