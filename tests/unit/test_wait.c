/* SPDX-License-Identifier: MIT */
/*
 * %wait (policy/wait.h): the per-syscall table, fd classification (from
 * strings, and from real fds of this process through /proc), the per-call
 * decision, and the set algebra of `%wait` / `!%wait` (syscall_set.h).
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/wait.h"
#include "tracer/procinfo.h"
#include "unit.h"

static int nr(const char *name)
{
	return syscall_nr(name);
}

static int test_kinds(void)
{
	static const char *const always[] = { "epoll_wait",    "epoll_pwait",	  "poll",
					      "ppoll",	       "select",	  "pselect6",
					      "nanosleep",     "clock_nanosleep", "pause",
					      "rt_sigsuspend", "rt_sigtimedwait", "wait4",
					      "waitid",	       "accept",	  "accept4",
					      "flock",	       "msgrcv",	  "semtimedop",
					      "io_getevents",  "recvfrom",	  "recvmsg",
					      "sendmsg",       "futex_waitv",	  "restart_syscall",
					      "vfork" };
	static const char *const never[] = { "connect",	   "openat",
					     "fsync",	   "stat",
					     "newfstatat", "inotify_add_watch",
					     "getppid",	   "mmap",
					     "ioctl",	   "copy_file_range",
					     "close",	   "execve" };

	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++) {
		if (nr(always[i]) < 0)
			continue;
		if (syscall_wait_kind(nr(always[i])) != WAIT_ALWAYS) {
			fprintf(stderr, "  %s is not always a wait\n", always[i]);
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (syscall_wait_kind(nr(never[i])) != WAIT_NEVER) {
			fprintf(stderr, "  %s can be a wait\n", never[i]);
			return -1;
		}
	CHECK(syscall_wait_kind(nr("read")) == WAIT_BY_FD);
	CHECK(syscall_wait_kind(nr("write")) == WAIT_BY_FD);
	CHECK(syscall_wait_kind(nr("futex")) == WAIT_BY_OP);
	CHECK(syscall_wait_kind(nr("fcntl")) == WAIT_BY_OP);
	CHECK(syscall_wait_kind(-1) == WAIT_NEVER && syscall_wait_kind(SW_MAX_NR) == WAIT_NEVER);
	CHECK(syscall_set_has(syscall_wait_capable(), nr("read")));
	CHECK(!syscall_set_has(syscall_wait_always(), nr("read")));
	CHECK(syscall_set_has(syscall_wait_always(), nr("epoll_wait")));
	return 0;
}

static int test_classify_text(void)
{
	CHECK(fd_kind_classify("pipe:[42]", 0) == FD_KIND_PEER);
	CHECK(fd_kind_classify("socket:[42]", 0) == FD_KIND_PEER);
	CHECK(fd_kind_classify("anon_inode:[eventfd]", 0) == FD_KIND_PEER);
	CHECK(fd_kind_classify("anon_inode:[signalfd]", 0) == FD_KIND_PEER);
	CHECK(fd_kind_classify("anon_inode:[timerfd]", 0) == FD_KIND_PEER);
	CHECK(fd_kind_classify("anon_inode:inotify", 0) == FD_KIND_PEER);
	CHECK(fd_kind_classify("anon_inode:[fanotify]", 0) == FD_KIND_PEER);
	CHECK(fd_kind_classify("anon_inode:[userfaultfd]", 0) == FD_KIND_PEER);
	/* a read of a perf event or a bpf map fd does not wait */
	CHECK(fd_kind_classify("anon_inode:[perf_event]", 0) == FD_KIND_OTHER);
	CHECK(fd_kind_classify("anon_inode:bpf-map", 0) == FD_KIND_OTHER);
	CHECK(fd_kind_classify("/proc/kmsg", 0) == FD_KIND_PEER);
	CHECK(fd_kind_classify("/proc/kmsg", S_IFREG | 0400) == FD_KIND_PEER);
	CHECK(fd_kind_classify("/sys/fs/cgroup/memory/memory.stat", S_IFREG | 0444) ==
	      FD_KIND_OTHER);
	CHECK(fd_kind_classify("/proc/self/status", S_IFREG | 0444) == FD_KIND_OTHER);
	CHECK(fd_kind_classify("/var/log/app.log", S_IFREG | 0644) == FD_KIND_OTHER);
	CHECK(fd_kind_classify("/dev/sda", S_IFBLK | 0660) == FD_KIND_OTHER);
	CHECK(fd_kind_classify("/tmp", S_IFDIR | 0755) == FD_KIND_OTHER);
	CHECK(fd_kind_classify("/dev/pts/3", S_IFCHR | 0620) == FD_KIND_PEER);
	CHECK(fd_kind_classify("/run/fifo", S_IFIFO | 0600) == FD_KIND_PEER);
	CHECK(fd_kind_classify("/run/app.sock", S_IFSOCK | 0600) == FD_KIND_PEER);
	CHECK(fd_kind_classify("/var/log/app.log", 0) == FD_KIND_UNKNOWN);
	CHECK(fd_kind_classify("net:[4026531840]", 0) == FD_KIND_OTHER);
	CHECK(fd_kind_classify("", 0) == FD_KIND_UNKNOWN);
	CHECK(fd_kind_classify(NULL, 0) == FD_KIND_UNKNOWN);
	return 0;
}

/* Real fds of this process, through /proc as the tracer reads a tracee's. */
static int test_classify_real_fds(void)
{
	int p[2], sv[2], efd, reg, null_fd, status;
	pid_t self = getpid();
	char path[] = "/tmp/sw-test-wait.XXXXXX";
	int rc = 0;

	CHECK(pipe(p) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	efd = eventfd(0, 0);
	reg = mkstemp(path);
	null_fd = open("/dev/null", O_RDONLY);
	status = open("/proc/self/status", O_RDONLY);
	CHECK(efd >= 0 && reg >= 0 && null_fd >= 0 && status >= 0);
	unlink(path); /* a deleted file is still a file */
	if (procinfo_fd_kind(self, p[0], NULL) != FD_KIND_PEER ||
	    procinfo_fd_kind(self, sv[0], NULL) != FD_KIND_PEER ||
	    procinfo_fd_kind(self, efd, NULL) != FD_KIND_PEER ||
	    procinfo_fd_kind(self, null_fd, NULL) != FD_KIND_PEER ||
	    procinfo_fd_kind(self, reg, NULL) != FD_KIND_OTHER ||
	    procinfo_fd_kind(self, status, NULL) != FD_KIND_OTHER ||
	    procinfo_fd_kind(self, 9999, NULL) != FD_KIND_UNKNOWN)
		rc = -1;
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	close(efd);
	close(reg);
	close(null_fd);
	close(status);
	CHECK(rc == 0);
	return 0;
}

/* Fake lookups: fd 3 a pipe, 4 a socket, 5 a regular file; clone3 args at 0x1000. */
static enum fd_kind fake_fd_kind(void *opaque, int fd)
{
	(void)opaque;
	return fd == 3 || fd == 4 ? FD_KIND_PEER : fd == 5 ? FD_KIND_OTHER : FD_KIND_UNKNOWN;
}

static int fake_read_u64(void *opaque, uint64_t addr, uint64_t *ret)
{
	*ret = *(uint64_t *)opaque;
	return addr == 0x1000 ? 0 : -EFAULT;
}

static bool is_wait(const char *name, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		    uint64_t clone3_flags)
{
	const uint64_t args[6] = { a0, a1, a2, a3, 0, 0 };
	const struct wait_lookup lookup = { .fd_kind = fake_fd_kind,
					    .read_u64 = fake_read_u64,
					    .opaque = &clone3_flags };

	return syscall_call_is_wait(nr(name), args, &lookup);
}

static int test_per_call(void)
{
	CHECK(is_wait("read", 3, 0, 1, 0, 0));
	CHECK(is_wait("read", 4, 0, 1, 0, 0));
	CHECK(!is_wait("read", 5, 0, 1, 0, 0));
	CHECK(!is_wait("read", 77, 0, 1, 0, 0)); /* unknown fd: reported, not hidden */
	CHECK(!is_wait("read", (uint64_t)-1, 0, 1, 0, 0));
	CHECK(is_wait("write", 4, 0, 1, 0, 0) && !is_wait("pwrite64", 5, 0, 1, 0, 0));
	CHECK(is_wait("sendfile", 4, 3, 0, 1, 0)); /* pipe to socket */
	CHECK(!is_wait("sendfile", 4, 5, 0, 1, 0)); /* file to socket: storage */
	CHECK(is_wait("splice", 3, 0, 4, 0, 0) && !is_wait("splice", 5, 0, 3, 0, 0));
	CHECK(is_wait("futex", 0, FUTEX_WAIT_PRIVATE, 0, 0, 0));
	CHECK(is_wait("futex", 0, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 0, 0, 0));
	CHECK(is_wait("futex", 0, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, 0, 0));
	CHECK(!is_wait("futex", 0, FUTEX_LOCK_PI_PRIVATE, 0, 0, 0)); /* contention */
	CHECK(!is_wait("futex", 0, FUTEX_LOCK_PI2, 0, 0, 0));
	CHECK(!is_wait("futex", 0, FUTEX_WAKE_PRIVATE, 0, 0, 0));
	CHECK(is_wait("fcntl", 5, 7 /* F_SETLKW */, 0, 0, 0));
	CHECK(is_wait("fcntl", 5, 38 /* F_OFD_SETLKW */, 0, 0, 0));
	CHECK(!is_wait("fcntl", 5, 6 /* F_SETLK */, 0, 0, 0));
	CHECK(is_wait("io_uring_enter", 3, 0, 1, 1 /* GETEVENTS */, 0));
	CHECK(!is_wait("io_uring_enter", 3, 4, 0, 1, 0)); /* min_complete 0 */
	CHECK(!is_wait("io_uring_enter", 3, 4, 1, 0, 0)); /* submit only */
	CHECK(is_wait("syslog", 2, 0, 0, 0, 0) && !is_wait("syslog", 3, 0, 0, 0, 0));
	CHECK(is_wait("clone", CLONE_VFORK | CLONE_VM | SIGCHLD, 0, 0, 0, 0));
	CHECK(!is_wait("clone", CLONE_VM | CLONE_THREAD, 0, 0, 0, 0));
	CHECK(is_wait("clone3", 0x1000, 88, 0, 0, CLONE_VFORK | CLONE_VM));
	CHECK(!is_wait("clone3", 0x1000, 88, 0, 0, CLONE_VM));
	CHECK(!is_wait("clone3", 0x2000, 88, 0, 0, CLONE_VFORK)); /* unreadable */
	CHECK(is_wait("epoll_wait", 3, 0, 1, 0, 0) && is_wait("recvfrom", 5, 0, 0, 0, 0));
	CHECK(!is_wait("connect", 4, 0, 0, 0, 0) && !is_wait("openat", 0, 0, 0, 0, 0));
	/* no lookup at all: only what the syscall and its operation say */
	CHECK(!syscall_call_is_wait(nr("read"), (uint64_t[6]){ 3 }, NULL));
	CHECK(syscall_call_is_wait(nr("nanosleep"), (uint64_t[6]){ 0 }, NULL));
	return 0;
}

static int parse(const char *expr, struct syscall_set *set)
{
	struct sw_error err = {};
	int r = syscall_set_parse(expr, set, &err);

	if (r < 0)
		fprintf(stderr, "  %s: %s\n", expr, err.msg);
	return r;
}

static int test_set_algebra(void)
{
	struct syscall_set waits, stalls, both, all, set, reads;

	CHECK(parse("%wait", &waits) == 0);
	CHECK(syscall_set_has_call(&waits, nr("epoll_wait"), true));
	CHECK(syscall_set_has_call(&waits, nr("read"), true));
	CHECK(!syscall_set_has_call(&waits, nr("read"), false));
	CHECK(!syscall_set_has(&waits, nr("openat")) && !syscall_set_has(&waits, nr("connect")));
	CHECK(syscall_set_has_wait_split(&waits));

	CHECK(parse("!%wait", &stalls) == 0);
	CHECK(!syscall_set_has(&stalls, nr("epoll_wait")) &&
	      !syscall_set_has(&stalls, nr("nanosleep")));
	CHECK(syscall_set_has_call(&stalls, nr("read"), false));
	CHECK(!syscall_set_has_call(&stalls, nr("read"), true));
	CHECK(syscall_set_has_call(&stalls, nr("openat"), false));
	CHECK(syscall_set_has_call(&stalls, nr("connect"), false));
	CHECK(syscall_set_has_call(&stalls, nr("futex"), false)); /* a PI lock */
	CHECK(!syscall_set_has_call(&stalls, nr("futex"), true));

	/* %wait and !%wait are complements: together every call, apart nothing */
	both = waits;
	syscall_set_union(&both, &stalls);
	syscall_set_fill_all(&all);
	CHECK(syscall_set_equal(&both, &all) && !syscall_set_has_wait_split(&both));
	both = waits;
	syscall_set_intersect(&both, &stalls);
	CHECK(syscall_set_count(&both) == 0);
	set = waits;
	syscall_set_invert(&set);
	CHECK(syscall_set_equal(&set, &stalls));
	syscall_set_invert(&set);
	CHECK(syscall_set_equal(&set, &waits));

	/* a name beside %wait: every call of it */
	CHECK(parse("read,%wait", &set) == 0);
	CHECK(syscall_set_has_call(&set, nr("read"), false) &&
	      syscall_set_has_call(&set, nr("read"), true));
	CHECK(parse("%wait,openat", &set) == 0);
	CHECK(syscall_set_has_call(&set, nr("openat"), false));
	/* -e '!%wait' restricting a rule on read and epoll_wait */
	CHECK(parse("read,epoll_wait", &reads) == 0);
	syscall_set_intersect(&reads, &stalls);
	CHECK(!syscall_set_has(&reads, nr("epoll_wait")));
	CHECK(syscall_set_has_call(&reads, nr("read"), false) &&
	      !syscall_set_has_call(&reads, nr("read"), true));
	/* a plain set has no split, and add() makes a syscall whole again */
	CHECK(parse("read,write", &set) == 0 && !syscall_set_has_wait_split(&set));
	syscall_set_add(&stalls, nr("read"));
	CHECK(syscall_set_has_call(&stalls, nr("read"), true));
	/* strace-style negation of a list with %wait in it */
	CHECK(parse("!%wait,openat", &set) == 0);
	CHECK(!syscall_set_has(&set, nr("openat")));
	CHECK(syscall_set_has_call(&set, nr("read"), false));
	return 0;
}

UNIT_MAIN(TEST(test_kinds), TEST(test_classify_text), TEST(test_classify_real_fds),
	  TEST(test_per_call), TEST(test_set_algebra))
