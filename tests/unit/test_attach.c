/* SPDX-License-Identifier: MIT */
/* Target checks and selection for `attach`, against the real /proc. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
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
	  TEST(test_blank_selector), TEST(test_comm_never_matches))
