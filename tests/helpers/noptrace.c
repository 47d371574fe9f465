/* SPDX-License-Identifier: MIT */
/*
 * noptrace - run a program where ptrace(2) and bpf(2) fail with EPERM, as
 * in a container whose seccomp profile forbids them.
 *
 *   noptrace [--bpf-only] PROG [ARG...]
 *
 * Sets no_new_privs, loads a seccomp filter that answers every ptrace and
 * bpf call (native and i386) with EPERM and allows the rest, then execs
 * PROG (searched in PATH). --bpf-only: bpf alone is refused, ptrace works
 * (a container's default profile without CAP_BPF, in effect). The filter
 * is inherited by PROG and everything it starts and cannot be removed.
 * Exits 125 if the filter cannot be loaded, 127/126 if PROG cannot be run.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	bool deny_ptrace = true;
	int r;

	if (argc > 1 && strcmp(argv[1], "--bpf-only") == 0) {
		deny_ptrace = false;
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: noptrace [--bpf-only] PROG [ARG...]\n");
		return 2;
	}
	/* a filter may be loaded without CAP_SYS_ADMIN once no_new_privs is set */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		perror("noptrace: PR_SET_NO_NEW_PRIVS");
		return 125;
	}
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fprintf(stderr, "noptrace: seccomp_init failed\n");
		return 125;
	}
	r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	if (r == -EEXIST)
		r = 0;
	if (r == 0 && deny_ptrace)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ptrace), 0);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(bpf), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		fprintf(stderr, "noptrace: loading the filter: %s\n", strerror(-r));
		return 125;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "noptrace: %s: %s\n", argv[1], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
