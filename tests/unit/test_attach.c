/* SPDX-License-Identifier: MIT */
/* Target checks and selection for `attach`, against the real /proc. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tracer/attach.h"
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

static int test_find_by_name_excludes_self(void)
{
	struct attach_query q = { .name = "sw-unit-target" };
	pid_t *found = NULL, child;
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
		free(found);
		found = NULL;
		n = attach_find_targets(&q, &found, NULL);
		ok = n == 1 && found[0] == child;
		if (!ok)
			usleep(10000);
	}
	free(found);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CHECK(ok);
	/* our own comm never matches ourselves */
	q.name = "test_attach";
	n = attach_find_targets(&q, &found, NULL);
	for (int i = 0; i < n; i++)
		CHECK(found[i] != getpid());
	free(found);
	return 0;
}

UNIT_MAIN(TEST(test_refuses_self_and_ancestors), TEST(test_no_such_process),
	  TEST(test_find_by_name_excludes_self))
