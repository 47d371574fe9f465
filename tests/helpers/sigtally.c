/* SPDX-License-Identifier: MIT */
/*
 * sigtally - count deliveries of any signals (forwarding by stallwatch).
 *
 *   sigtally FLAGFILE TIMEOUT_MS OUT SIG...
 *
 * SIG is a number or a name without "SIG" (PROF, WINCH, RTMIN+3). A
 * counting handler is installed for each SIG; the signal mask is left as
 * inherited (a blocked SIG stays blocked: it can only become pending).
 * Reports "ready PID", then loops on 5 ms nanosleeps (below the default
 * threshold) until FLAGFILE exists or TIMEOUT_MS passed, reporting
 * "got SIG N" whenever a count changes (so a test can wait for a delivery).
 * At the end: "count SIG N" for every SIG, the SigPnd, ShdPnd and SigBlk
 * lines of /proc/self/status as they are then, and "timeout 0|1".
 * Exits 0, or 3 on timeout.
 */
#include "helper.h"

#include <signal.h>

static volatile sig_atomic_t counts[NSIG];

static void on_sig(int sig)
{
	counts[sig]++;
}

/* Copy the lines of /proc/self/status that start with one of the keys. */
static void say_status(void)
{
	static const char *const keys[] = { "SigPnd:", "ShdPnd:", "SigBlk:" };
	char buf[8192], *line, *save = NULL;
	ssize_t n;
	int fd;

	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		h_die("/proc/self/status");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		h_die("read /proc/self/status");
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strncmp(line, keys[i], strlen(keys[i])))
				h_say("%s\n", line);
}

int main(int argc, char **argv)
{
	/*
	 * SA_RESTART: what this counts is deliveries. Under --backend=notify a
	 * signal that lands before stallwatch receives a watched call's
	 * notification fails that call with EINTR without SA_RESTART (a burst
	 * of forwarded signals keeps stallwatch busy in that window);
	 * tests/e2e/notify_signals.sh measures that on its own.
	 */
	struct sigaction sa = { .sa_handler = on_sig, .sa_flags = SA_RESTART };
	int sigs[NSIG], seen[NSIG] = { 0 }, nsigs = 0, timed_out;
	char **names = argv + 4;
	uint64_t deadline;

	h_ptracer_any();
	if (argc < 5) {
		fprintf(stderr, "usage: sigtally FLAGFILE TIMEOUT_MS OUT SIG...\n");
		return 2;
	}
	deadline = h_now_ns() + (uint64_t)h_atol(argv[2], "TIMEOUT_MS") * 1000000ULL;
	h_out_open(argv[3]);
	for (int i = 4; i < argc && nsigs < NSIG; i++) {
		sigs[nsigs] = h_parse_sig(argv[i]);
		if (sigaction(sigs[nsigs], &sa, NULL) < 0)
			h_die(argv[i]);
		nsigs++;
	}
	h_say("ready %d\n", getpid());
	for (;;) {
		int done = access(argv[1], F_OK) == 0;

		for (int i = 0; i < nsigs; i++) {
			int c = counts[sigs[i]];

			if (c != seen[sigs[i]]) {
				seen[sigs[i]] = c;
				h_say("got %s %d\n", names[i], c);
			}
		}
		if (done || h_now_ns() >= deadline)
			break;
		h_nanosleep_ms(5);
	}
	timed_out = access(argv[1], F_OK) < 0;
	for (int i = 0; i < nsigs; i++)
		h_say("count %s %d\n", names[i], (int)counts[sigs[i]]);
	say_status();
	h_say("timeout %d\n", timed_out);
	return timed_out ? 3 : 0;
}
