/* SPDX-License-Identifier: MIT */
/*
 * rtcount - is every queued signal delivered while tracers come and go?
 *
 *   rtcount recv FLAGFILE OUT    count SIGRTMIN deliveries; "ready PID" at
 *                                start; at FLAGFILE: "count N", exit 0
 *   rtcount send PID N OUT [PER_MS]
 *                                sigqueue(SIGRTMIN) N times to PID, retrying
 *                                on EAGAIN (the queue is full), PER_MS a
 *                                millisecond at most (default: no pause);
 *                                "sent N"
 *
 * The receiver sleeps in 2 ms nanosleeps, so signals arrive both inside a
 * syscall and between them. A queued real-time signal is never merged: every
 * one sent is one delivery, so sent - count is exactly the number lost.
 */
#include "helper.h"

#include <signal.h>
#include <sys/stat.h>

static volatile sig_atomic_t count;

static void on_rt(int sig)
{
	(void)sig;
	count++;
}

static int recv_main(const char *flag)
{
	struct sigaction sa = { .sa_handler = on_rt, .sa_flags = SA_RESTART };
	struct stat st;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL) < 0)
		h_die("sigaction");
	h_ptracer_any();
	h_say("ready %d\n", (int)getpid());
	while (stat(flag, &st) < 0)
		h_nanosleep_ms(2);
	h_say("count %d\n", (int)count);
	return 0;
}

static int send_main(pid_t pid, long n, long per_ms)
{
	union sigval value = { .sival_int = 0 };
	long sent = 0;

	while (sent < n) {
		if (sigqueue(pid, SIGRTMIN, value) == 0) {
			sent++;
			if (per_ms > 0 && sent % per_ms == 0)
				h_nanosleep_ms(1);
			continue;
		}
		if (errno != EAGAIN)
			h_die("sigqueue");
		h_nanosleep_ms(1);
	}
	h_say("sent %ld\n", sent);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "recv") == 0) {
		h_out_open(argv[3]);
		return recv_main(argv[2]);
	}
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "send") == 0) {
		h_out_open(argv[4]);
		return send_main((pid_t)atoi(argv[2]), atol(argv[3]),
				 argc == 6 ? atol(argv[5]) : 0);
	}
	fprintf(stderr, "usage: rtcount recv FLAGFILE OUT | rtcount send PID N OUT [PER_MS]\n");
	return 2;
}
