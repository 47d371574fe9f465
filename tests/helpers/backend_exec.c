/* SPDX-License-Identifier: MIT */
/*
 * backend_exec - stallwatch with a --backend of the test run's choosing:
 * what tests/e2e/lib.sh puts in place of $STALLWATCH when SW_BACKEND is set.
 *
 *   SW_BACKEND=NAME SW_BACKEND_EXEC=PATH [SW_BACKEND_ATTACH=1] backend_exec ARG...
 *
 * Execs PATH (the stallwatch binary) with ARG..., and --backend=NAME right
 * after a first ARG `run` (or `attach` too, with SW_BACKEND_ATTACH=1: a
 * test pinned to a backend, lib.sh's t_run_ptrace). Nothing else: same pid, no fd opened, no signal
 * disposition, mask or pending signal touched (a /bin/sh wrapper reset an
 * ignored SIGCHLD to SIG_DFL). Exits 125 if it cannot exec.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *path = getenv("SW_BACKEND_EXEC"), *backend = getenv("SW_BACKEND");
	const char *attach = getenv("SW_BACKEND_ATTACH");
	char **args = calloc((size_t)argc + 2, sizeof(*args));
	char opt[256];
	int n = 0, i = 1;

	if (!path || !*path || !backend || !*backend || !args) {
		fprintf(stderr, "backend_exec: SW_BACKEND_EXEC and SW_BACKEND must be set\n");
		return 125;
	}
	args[n++] = argv[0];
	if (argc > 1 && (strcmp(argv[1], "run") == 0 ||
			 (attach && strcmp(attach, "1") == 0 && strcmp(argv[1], "attach") == 0))) {
		snprintf(opt, sizeof(opt), "--backend=%s", backend);
		args[n++] = argv[i++];
		args[n++] = opt;
	}
	while (i < argc)
		args[n++] = argv[i++];
	execv(path, args);
	perror(path);
	return 125;
}
