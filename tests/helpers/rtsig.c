/* SPDX-License-Identifier: MIT */
/*
 * rtsig - signals are delivered exactly once, with their siginfo intact
 * (doc/transparency.md, scenario 27). Queues N sigqueue(SIGRTMIN, value i) while SIGRTMIN is
 * blocked, then unblocks it: the handler must run N times, in order, with
 * si_code SI_QUEUE, our pid and uid, and si_value i.
 *
 *   rtsig N [OUT]
 *
 * Reports "handled H bad B" and exits 0 only if H == N and B == 0.
 */
#include "helper.h"

#include <signal.h>

static volatile sig_atomic_t handled, bad;
static pid_t self_pid;
static uid_t self_uid;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code != SI_QUEUE || si->si_pid != self_pid || si->si_uid != self_uid ||
	    si->si_value.sival_int != handled)
		bad++;
	handled++;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_rt, .sa_flags = SA_SIGINFO };
	sigset_t set;
	long n, i;

	h_ptracer_any();
	if (argc < 2) {
		fprintf(stderr, "usage: rtsig N [OUT]\n");
		return 2;
	}
	n = h_atol(argv[1], "N");
	h_out_open(argc > 2 ? argv[2] : NULL);
	self_pid = getpid();
	self_uid = getuid();
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGRTMIN, &sa, NULL);
	for (i = 0; i < n; i++) {
		union sigval v = { .sival_int = (int)i };

		if (sigqueue(self_pid, SIGRTMIN, v) < 0)
			h_die("sigqueue");
	}
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	h_say("handled %d bad %d\n", (int)handled, (int)bad);
	return handled == n && !bad ? 0 : 1;
}
