/* SPDX-License-Identifier: MIT */
/*
 * vforker - vfork cases (scenarios 13 and 19).
 *
 *   vforker exec MS [OUT]     the child chdir()s to a missing directory,
 *                             sleeps MS ms (the parent stays in vfork),
 *                             then execs "sleeper MS OUT"; after vfork
 *                             returns the parent chdir()s to another
 *                             missing directory and reaps the child.
 *   vforker sleep MS CODE [OUT]
 *                             the child sleeps MS ms and _exit(CODE)s; the
 *                             parent counts SIGTERMs, reaps the child and
 *                             exits with the child's code.
 *
 * Reports "child CPID" (from the child, before it sleeps), "vfork NS" (how
 * long the parent was in vfork), "reaped CPID exited N" or "... signaled N"
 * and "term N".
 */
#include "helper.h"

#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sys/wait.h>

static volatile sig_atomic_t terms;

/* Globals, not locals: the vfork child shares them and must not clobber them. */
static const char *out;
static int do_exec, code;
static long ms;

static void on_term(int sig)
{
	(void)sig;
	terms++;
}

int main(int argc, char **argv)
{
	char exe[PATH_MAX], sleeper[PATH_MAX + 16];
	struct sigaction sa = { .sa_handler = on_term };
	uint64_t t0, t1;
	ssize_t n;
	int status;
	pid_t pid;

	h_ptracer_any();
	if (argc < 3 || (strcmp(argv[1], "exec") && strcmp(argv[1], "sleep")) ||
	    (!strcmp(argv[1], "sleep") && argc < 4)) {
		fprintf(stderr, "usage: vforker exec MS [OUT] | vforker sleep MS CODE [OUT]\n");
		return 2;
	}
	do_exec = !strcmp(argv[1], "exec");
	ms = h_atol(argv[2], "MS");
	if (!do_exec)
		code = (int)h_atol(argv[3], "CODE");
	out = argc > 3 + !do_exec ? argv[3 + !do_exec] : "-";
	h_out_open(out);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		h_die("readlink");
	exe[n] = '\0';
	snprintf(sleeper, sizeof(sleeper), "%s/sleeper", dirname(exe));
	sigaction(SIGTERM, &sa, NULL);

	t0 = h_now_ns();
	pid = vfork();
	if (pid < 0)
		h_die("vfork");
	if (pid == 0) {
		/* Only async-signal-safe work here: we share the parent's memory. */
		h_say("child %d\n", getpid());
		if (do_exec) {
			if (chdir("/nonexistent-vforker-child") == 0)
				_exit(121);
			h_nanosleep_ms(ms);
			execl(sleeper, "sleeper", argv[2], out, (char *)NULL);
			_exit(127);
		}
		h_nanosleep_ms(ms);
		_exit(code);
	}
	t1 = h_now_ns();
	h_say("vfork %llu\n", (unsigned long long)(t1 - t0));
	if (do_exec && chdir("/nonexistent-vforker-parent") == 0)
		return 1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			h_die("waitpid");
	if (WIFEXITED(status))
		h_say("reaped %d exited %d\n", pid, WEXITSTATUS(status));
	else
		h_say("reaped %d signaled %d\n", pid, WTERMSIG(status));
	h_say("term %d\n", (int)terms);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
