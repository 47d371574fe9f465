/* SPDX-License-Identifier: MIT */
/*
 * sigcount - count signal deliveries (forwarding, Ctrl-C, group-stop).
 *
 *   sigcount FLAGFILE TIMEOUT_MS [OUT]
 *
 * Handlers count SIGINT, SIGTERM, SIGHUP, SIGCONT and SIGTSTP; the SIGTSTP
 * handler then stops the process the classic way (SIG_DFL, unblock, raise)
 * and re-arms itself after SIGCONT, like an editor does on ^Z. Reports
 * "ready PID", loops on 5 ms nanosleeps (below the default threshold) until
 * FLAGFILE exists or TIMEOUT_MS passed, and reports
 * "INT n TERM n HUP n CONT n TSTP n timeout 0|1". Exits 0, or 3 on timeout.
 */
#include "helper.h"

#include <signal.h>

static volatile sig_atomic_t counts[NSIG];

static void on_sig(int sig)
{
	counts[sig]++;
}

static void on_tstp(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, me = { .sa_handler = on_tstp };
	sigset_t set;

	counts[sig]++;
	sigaction(SIGTSTP, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTSTP);
	/* continued */
	sigaction(SIGTSTP, &me, NULL);
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGCONT };
	struct sigaction sa = { .sa_handler = on_sig }, tstp = { .sa_handler = on_tstp };
	uint64_t deadline;
	int timed_out;

	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: sigcount FLAGFILE TIMEOUT_MS [OUT]\n");
		return 2;
	}
	deadline = h_now_ns() + (uint64_t)h_atol(argv[2], "TIMEOUT_MS") * 1000000ULL;
	h_out_open(argc > 3 ? argv[3] : NULL);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sigaction(SIGTSTP, &tstp, NULL);
	h_say("ready %d\n", getpid());
	while (access(argv[1], F_OK) < 0 && h_now_ns() < deadline)
		h_nanosleep_ms(5);
	timed_out = access(argv[1], F_OK) < 0;
	h_say("INT %d TERM %d HUP %d CONT %d TSTP %d timeout %d\n", (int)counts[SIGINT],
	      (int)counts[SIGTERM], (int)counts[SIGHUP], (int)counts[SIGCONT], (int)counts[SIGTSTP],
	      timed_out);
	return timed_out ? 3 : 0;
}
