/* SPDX-License-Identifier: MIT */
/*
 * thread_exec - a thread that is not the leader calls execve (doc/transparency.md, scenario 15).
 *
 *   thread_exec exit|sigsuspend|sleep OUT
 *
 * Reports "pid PID". A worker thread waits 200 ms, then execs
 * sh -c 'echo "exec $$" >>OUT; exit 42' while the leader has already left
 * with the exit syscall, is in rt_sigsuspend, or is in nanosleep(123 s).
 * The new image must run as PID, and the program's status must be 42.
 */
#include "helper.h"

#include <pthread.h>
#include <signal.h>

static const char *out_path;

static void *worker(void *arg)
{
	(void)arg;
	h_nanosleep_ms(200);
	execl("/bin/sh", "sh", "-c", "echo \"exec $$\" >>\"$0\"; exit 42", out_path, (char *)NULL);
	h_die("execl");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tid;
	sigset_t none;

	h_ptracer_any();
	if (argc < 3 || (strcmp(argv[1], "exit") && strcmp(argv[1], "sigsuspend") &&
			 strcmp(argv[1], "sleep"))) {
		fprintf(stderr, "usage: thread_exec exit|sigsuspend|sleep OUT\n");
		return 2;
	}
	out_path = argv[2];
	h_out_open(out_path);
	h_say("pid %d\n", getpid());
	if ((errno = pthread_create(&tid, NULL, worker, NULL)))
		h_die("pthread_create");
	if (!strcmp(argv[1], "exit")) {
		syscall(SYS_exit, 0);
	} else if (!strcmp(argv[1], "sigsuspend")) {
		sigemptyset(&none);
		sigsuspend(&none);
	} else {
		h_nanosleep_ms(123000);
	}
	h_say("leader returned\n");
	return 1;
}
