/* SPDX-License-Identifier: MIT */
/* Target checks and selection for `attach`, against the real /proc. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/comm.h"
#include "tracer/attach.h"
#include "tracer/procinfo.h"
#include "unit.h"

static int test_refuses_self_and_ancestors(void)
{
	struct sw_error err = {};
	char comm[64];

	CHECK(attach_check_target(getpid(), comm, sizeof(comm), &err) == -EPERM);
	CHECK(strstr(err.msg, "itself"));
	CHECK(attach_check_target(getppid(), comm, sizeof(comm), &err) == -EPERM);
	CHECK(strstr(err.msg, "ancestor"));
	CHECK(attach_check_target(1, comm, sizeof(comm), &err) == -EPERM);
	return 0;
}

static int test_no_such_process(void)
{
	struct sw_error err = {};
	char comm[64];
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	CHECK(waitpid(pid, NULL, 0) == pid);
	/* reaped: its pid is free (reuse within this test is practically impossible) */
	CHECK(attach_check_target(pid, comm, sizeof(comm), &err) == -ESRCH);
	CHECK(strstr(err.msg, "no such process"));
	CHECK(attach_check_target(-5, comm, sizeof(comm), &err) == -ESRCH);
	return 0;
}

/* the selected pids of a selection, or -1 if more than one */
static pid_t only_selected(const struct attach_selection *s)
{
	pid_t pid = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].verdict == ATTACH_SELECTED)
			pid = pid ? -1 : s->v[i].pid;
	return pid;
}

static int test_find_by_name_excludes_self(void)
{
	struct attach_query q = { .name = "sw-unit-target" };
	struct attach_selection sel = {};
	pid_t child;
	int n, ok = 0;

	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		prctl(PR_SET_NAME, "sw-unit-target");
		pause();
		_exit(0);
	}
	/* let the child rename itself */
	for (int i = 0; i < 100 && !ok; i++) {
		attach_selection_done(&sel);
		n = attach_select(&q, &sel, NULL);
		ok = n == 1 && only_selected(&sel) == child && sel.v[0].by_name &&
		     sel.v[0].threads == 1 && sel.v[0].exe[0] == '/';
		if (!ok)
			usleep(10000);
	}
	attach_selection_done(&sel);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CHECK(ok);
	/* our own comm never selects ourselves: it is counted as stallwatch */
	q.name = "test_attach";
	n = attach_select(&q, &sel, NULL);
	CHECK(n >= 0);
	for (size_t i = 0; i < sel.n; i++)
		if (sel.v[i].pid == getpid())
			CHECK(sel.v[i].verdict == ATTACH_LEFT_STALLWATCH);
	attach_selection_done(&sel);
	return 0;
}

/* kthreadd (pid 2) is a kernel thread: refused with -p, never selected, counted */
static int test_kernel_thread(void)
{
	struct attach_query q = { .name = "kthreadd" };
	struct attach_selection sel = {};
	struct sw_error err = {};
	char comm[64];
	int n;

	if (procinfo_is_kthread(2) != 1)
		SKIP("pid 2 is not a kernel thread here (a pid namespace?)");
	CHECK(procinfo_is_kthread(getpid()) == 0);
	CHECK(attach_check_target(2, comm, sizeof(comm), &err) == -EPERM);
	CHECK(strstr(err.msg, "a kernel thread; it makes no syscalls to watch"));
	n = attach_select(&q, &sel, NULL);
	CHECK(n == 0);
	CHECK(sel.n == 1 && sel.v[0].pid == 2 && sel.v[0].verdict == ATTACH_LEFT_KTHREAD);
	attach_selection_done(&sel);
	return 0;
}

/*
 * An empty or blank criterion is refused, never a match-all: `--cgroup ''`
 * chose every process on the host (an empty prefix starts every path).
 */
static int test_blank_selector(void)
{
	static const char *const blanks[] = { "", " ", "\t", " \n " };
	struct attach_selection sel = {};
	struct sw_error err = {};

	for (size_t i = 0; i < ARRAY_SIZE(blanks); i++) {
		struct attach_query qs[] = {
			{ .cgroup = blanks[i] },
			{ .exe = blanks[i] },
			{ .name = blanks[i] },
			{ .name = "sh", .cgroup = blanks[i] },
		};

		for (size_t k = 0; k < ARRAY_SIZE(qs); k++) {
			CHECK(attach_select(&qs[k], &sel, &err) == -EINVAL);
			CHECK(sel.n == 0);
			CHECK(strstr(err.msg, "empty or blank selector"));
		}
	}
	return 0;
}

/* ---- a refused attach gives every thread back as it was ---------------------------------- */

#define SEIZE_OPTIONS (PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC)

static void *pause_forever(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static int usr1_fd = -1; /* the target child's: its SIGUSR1 handler writes one byte */

static void on_usr1(int sig)
{
	(void)!write(usr1_fd, "U", 1);
}

/* A child with n more threads, all in pause(); SIGUSR1 writes "U" to *ret_fd. */
static pid_t spawn_threads(int n, int *ret_fd)
{
	struct procstatus ps;
	int fds[2];
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		pthread_t t;

		close(fds[0]);
		usr1_fd = fds[1];
		signal(SIGUSR1, on_usr1);
		for (int i = 0; i < n; i++)
			pthread_create(&t, NULL, pause_forever, NULL);
		pause_forever(NULL);
	}
	close(fds[1]);
	*ret_fd = fds[0];
	for (int i = 0; i < 500; i++) {
		if (procinfo_status(pid, &ps) == 0 && ps.threads == n + 1)
			return pid;
		usleep(10000);
	}
	return pid;
}

static void kill_child(pid_t pid, int fd)
{
	kill(pid, SIGKILL);
	/* threads we still trace are reaped first, or the leader is never reported */
	while (waitpid(-1, NULL, __WALL) > 0)
		;
	close(fd);
}

/* Every thread of pid: untraced and in state want (S or T), within 2 s; 0 or -1. */
static int threads_are(pid_t pid, char want, int n)
{
	char path[64];

	for (int tries = 0; tries < 200; tries++) {
		_cleanup_closedir_ DIR *dir = NULL;
		struct dirent *de;
		int good = 0, seen = 0;

		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		dir = opendir(path);
		while (dir && (de = readdir(dir))) {
			pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
			struct procstatus ps;

			if (tid <= 0 || procinfo_status(tid, &ps) < 0)
				continue;
			seen++;
			good += ps.tracer_pid == 0 && ps.state == want;
		}
		if (seen == n && good == n)
			return 0;
		usleep(10000);
	}
	return -1;
}

static int fail_add(void *opaque, pid_t tid, int syscall_nr)
{
	return -ENOMEM;
}

/* a signal sent while the threads are held: delivered once, after the release */
static int fail_add_signal(void *opaque, pid_t tid, int syscall_nr)
{
	kill(*(pid_t *)opaque, SIGUSR1);
	return -ENOMEM;
}

static int count_add(void *opaque, pid_t tid, int syscall_nr)
{
	++*(int *)opaque;
	return 0;
}

/* bytes the target wrote within ms */
static int usr1_count(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[16];
	int n = 0;

	while (poll(&p, 1, ms) == 1) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r <= 0)
			break;
		n += (int)r;
		ms = 200; /* and nothing more soon after */
	}
	return n;
}

/*
 * attach_process() that cannot finish (here: add() fails, as for an attach
 * refused half-way) leaves no thread traced or stopped, keeps a stopped
 * target stopped, and loses no signal that arrived while it held them.
 * Before, the threads seized so far stayed traced (t) until stallwatch
 * exited.
 */
static int test_refused_attach_releases(void)
{
	struct sw_error err = {};
	int fd, n = 0;
	pid_t pid = spawn_threads(4, &fd);

	CHECK(pid > 0);
	CHECK(attach_process(pid, SEIZE_OPTIONS, fail_add, NULL, &err) == -ENOMEM);
	if (threads_are(pid, 'S', 5) < 0) {
		kill_child(pid, fd);
		CHECK(!"threads untraced and sleeping (S) after a refused attach");
	}
	/* the signal that arrived while held is delivered once */
	CHECK(attach_process(pid, SEIZE_OPTIONS, fail_add_signal, &pid, &err) == -ENOMEM);
	n = usr1_count(fd, 5000);
	if (n != 1 || threads_are(pid, 'S', 5) < 0) {
		kill_child(pid, fd);
		fprintf(stderr, "  SIGUSR1 handled %d times\n", n);
		CHECK(!"one SIGUSR1, threads untraced and sleeping");
	}
	/* a stopped target stays stopped, and SIGCONT resumes it */
	kill(pid, SIGSTOP);
	CHECK(threads_are(pid, 'T', 5) == 0);
	CHECK(attach_process(pid, SEIZE_OPTIONS, fail_add, NULL, &err) == -ENOMEM);
	if (threads_are(pid, 'T', 5) < 0) {
		kill_child(pid, fd);
		CHECK(!"threads untraced and stopped (T) after a refused attach");
	}
	kill(pid, SIGCONT);
	CHECK(threads_are(pid, 'S', 5) == 0);
	/* and the attach itself still takes every thread */
	n = 0;
	CHECK(attach_process(pid, SEIZE_OPTIONS, count_add, &n, &err) == 5);
	CHECK(n == 5);
	kill_child(pid, fd);
	return 0;
}

/* the policy loader and attach --name share one wording */
static int test_comm_never_matches(void)
{
	char hint[256];

	CHECK(!sw_comm_never_matches("prometheus-node", hint, sizeof(hint)));
	CHECK(!sw_comm_never_matches("prometheus-node-*", hint, sizeof(hint)));
	CHECK(sw_comm_never_matches("prometheus-node-exporter", hint, sizeof(hint)));
	CHECK_STR(hint,
		  "`prometheus-node-exporter` can never match: the kernel keeps 15 characters "
		  "(TASK_COMM_LEN); use `prometheus-node` or a glob");
	return 0;
}

UNIT_MAIN(TEST(test_refuses_self_and_ancestors), TEST(test_no_such_process),
	  TEST(test_find_by_name_excludes_self), TEST(test_kernel_thread),
	  TEST(test_blank_selector), TEST(test_refused_attach_releases),
	  TEST(test_comm_never_matches))
