/* SPDX-License-Identifier: MIT */
/*
 * launcher - set up signal state, then exec a command (scenarios 24, 25).
 *
 *   launcher [OPTION SIG]... [-- CMD [ARG...]]
 *     -b SIG   block SIG              -u SIG   unblock SIG
 *     -i SIG   set SIG to SIG_IGN     -d SIG   set SIG to SIG_DFL
 *     -p SIG   block SIG and raise it (leave it pending)
 *     -r SIG   unblock SIG, set SIG_DFL and raise it (die by it)
 *
 * Options apply in order. SIG is a number or a name without "SIG" (TERM,
 * RTMIN). Without CMD, launcher exits 0 (or 99 if a -r signal failed to
 * kill it).
 */
#include "helper.h"

#include <signal.h>

static void set_mask(int how, int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	if (sigprocmask(how, &set, NULL) < 0)
		h_die("sigprocmask");
}

static void set_disp(int sig, void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };

	if (sigaction(sig, &sa, NULL) < 0)
		h_die("sigaction");
}

int main(int argc, char **argv)
{
	int opt, sig;

	h_ptracer_any();
	while ((opt = getopt(argc, argv, "+b:u:i:d:p:r:")) != -1) {
		if (opt == '?')
			return 2;
		sig = h_parse_sig(optarg);
		switch (opt) {
		case 'b':
			set_mask(SIG_BLOCK, sig);
			break;
		case 'u':
			set_mask(SIG_UNBLOCK, sig);
			break;
		case 'i':
			set_disp(sig, SIG_IGN);
			break;
		case 'd':
			set_disp(sig, SIG_DFL);
			break;
		case 'p':
			set_mask(SIG_BLOCK, sig);
			raise(sig);
			break;
		case 'r':
			/* SIGKILL and SIGSTOP cannot be caught: nothing to reset. */
			if (sig != SIGKILL && sig != SIGSTOP)
				set_disp(sig, SIG_DFL);
			set_mask(SIG_UNBLOCK, sig);
			raise(sig);
			return 99;
		}
	}
	if (optind >= argc)
		return 0;
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "launcher: %s: %s\n", argv[optind], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
