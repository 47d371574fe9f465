/* SPDX-License-Identifier: MIT */
/*
 * restart - one user-visible call that signals break into restarted pieces
 * (doc/transparency.md, scenario 26). A 100 ms interval timer runs during the call.
 *
 *   restart alarm [OUT]       SIGALRM is SIG_IGN; one nanosleep(1 s): traced,
 *                             every tick is a signal-delivery-stop and the
 *                             kernel continues the call in restart_syscall.
 *   restart sarestart [OUT]   SIGALRM has an SA_RESTART handler; one read()
 *                             on a pipe a child writes to after 1 s: every
 *                             tick ends in -ERESTARTSYS and a re-entry.
 *
 * Reports "nanosleep NS ret R" or "read NS ret R handled N".
 */
#include "helper.h"

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

static volatile sig_atomic_t handled;

static void on_alarm(int sig)
{
	(void)sig;
	handled++;
}

static void set_timer(long ms)
{
	struct itimerval it = {
		.it_interval = { .tv_sec = 0, .tv_usec = ms * 1000 },
		.it_value = { .tv_sec = 0, .tv_usec = ms * 1000 },
	};

	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		h_die("setitimer");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	uint64_t t0, t1;
	int p[2], status;
	ssize_t r;
	pid_t pid;
	char c;

	h_ptracer_any();
	if (argc < 2 || (strcmp(argv[1], "alarm") && strcmp(argv[1], "sarestart"))) {
		fprintf(stderr, "usage: restart alarm|sarestart [OUT]\n");
		return 2;
	}
	h_out_open(argc > 2 ? argv[2] : NULL);
	h_say("pid %d\n", getpid());
	if (!strcmp(argv[1], "alarm")) {
		sigaction(SIGALRM, &sa, NULL);
		set_timer(100);
		t0 = h_now_ns();
		r = h_nanosleep_ms(1000);
		t1 = h_now_ns();
		set_timer(0);
		h_say("nanosleep %llu ret %zd\n", (unsigned long long)(t1 - t0), r);
		return r ? 1 : 0;
	}

	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	if (pipe(p) < 0)
		h_die("pipe");
	pid = fork();
	if (pid < 0)
		h_die("fork");
	if (pid == 0) {
		/* Interval timers are not inherited: the child sleeps in peace. */
		close(p[0]);
		h_nanosleep_ms(1000);
		_exit(write(p[1], "x", 1) == 1 ? 0 : 1);
	}
	close(p[1]);
	set_timer(100);
	t0 = h_now_ns();
	r = read(p[0], &c, 1);
	t1 = h_now_ns();
	set_timer(0);
	h_say("read %llu ret %zd handled %d\n", (unsigned long long)(t1 - t0), r, (int)handled);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			h_die("waitpid");
	return r == 1 ? 0 : 1;
}
