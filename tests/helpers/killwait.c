/* SPDX-License-Identifier: MIT */
/*
 * killwait - a parent SIGKILLs its busy child and times its reap
 * (doc/transparency.md, scenario 21).
 *
 *   killwait FLAGFILE TIMEOUT_MS [OUT]
 *
 * The child starts a thread that loops on 5 ms nanosleeps and itself
 * loops on getppid (it is always in or near a syscall). The parent reports
 * "child CPID", waits for FLAGFILE (5 ms nanosleeps), sends SIGKILL and
 * reports "reaped signaled N reap_ns NS" (NS: from kill() to waitpid()'s
 * return) or "reaped exited N reap_ns NS". Exits 0 if the child died of
 * SIGKILL, 3 if FLAGFILE did not appear within TIMEOUT_MS.
 */
#include "helper.h"

#include <pthread.h>
#include <sys/wait.h>

static void *sleeper_thread(void *arg)
{
	(void)arg;
	for (;;)
		h_nanosleep_ms(5);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t t0, t1;
	pthread_t t;
	int status, timed_out;
	pid_t pid;

	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: killwait FLAGFILE TIMEOUT_MS [OUT]\n");
		return 2;
	}
	h_out_open(argc > 3 ? argv[3] : NULL);
	pid = fork();
	if (pid < 0)
		h_die("fork");
	if (pid == 0) {
		if ((errno = pthread_create(&t, NULL, sleeper_thread, NULL)))
			h_die("pthread_create");
		for (;;)
			syscall(SYS_getppid);
	}
	h_say("child %d\n", pid);
	timed_out = h_wait_file(argv[1], h_atol(argv[2], "TIMEOUT_MS")) < 0;
	t0 = h_now_ns();
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			h_die("waitpid");
	t1 = h_now_ns();
	if (WIFSIGNALED(status))
		h_say("reaped signaled %d reap_ns %llu\n", WTERMSIG(status),
		      (unsigned long long)(t1 - t0));
	else
		h_say("reaped exited %d reap_ns %llu\n", WEXITSTATUS(status),
		      (unsigned long long)(t1 - t0));
	if (timed_out)
		return 3;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : 1;
}
