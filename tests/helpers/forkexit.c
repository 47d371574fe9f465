/* SPDX-License-Identifier: MIT */
/*
 * forkexit - children that exit before their parent's fork event is seen,
 * thread bursts, and an orphan that outlives the program (doc/transparency.md, scenario 14).
 *
 *   forkexit LOOPS BURSTS [OUT]
 *
 * LOOPS times: fork a child that does _exit(!!fork()) and check that it
 * exited 1. BURSTS times: start 8 threads that return at once, join them.
 * Reports "loops N bad B", then forks an orphan and _exit(1)s: the orphan
 * reports "orphan PID", sleeps 300 ms and reports "orphan-done PID".
 */
#include "helper.h"

#include <pthread.h>
#include <sys/wait.h>

static void *nothing(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	long loops, bursts, i, bad = 0;
	pthread_t tids[8];
	int status, t;
	pid_t pid;

	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: forkexit LOOPS BURSTS [OUT]\n");
		return 2;
	}
	loops = h_atol(argv[1], "LOOPS");
	bursts = h_atol(argv[2], "BURSTS");
	h_out_open(argc > 3 ? argv[3] : NULL);
	for (i = 0; i < loops; i++) {
		pid = fork();
		if (pid < 0)
			h_die("fork");
		if (pid == 0)
			_exit(!!fork());
		if (waitpid(pid, &status, 0) < 0)
			h_die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
			bad++;
	}
	for (i = 0; i < bursts; i++) {
		for (t = 0; t < 8; t++)
			if ((errno = pthread_create(&tids[t], NULL, nothing, NULL)))
				h_die("pthread_create");
		for (t = 0; t < 8; t++)
			pthread_join(tids[t], NULL);
	}
	h_say("loops %ld bad %ld\n", loops, bad);
	pid = fork();
	if (pid < 0)
		h_die("fork");
	if (pid == 0) {
		h_say("orphan %d\n", getpid());
		h_nanosleep_ms(300);
		h_say("orphan-done %d\n", getpid());
		_exit(0);
	}
	_exit(1);
}
