/* SPDX-License-Identifier: MIT */
/*
 * bounded.h - run a computation whose memory and CPU time depend on its input
 * in a way nobody can bound beforehand (glibc's regcomp() of a pattern from
 * the command line or a policy file: nested intervals multiply, nested
 * stars can take exponential time) in a forked child under RLIMIT_AS and
 * RLIMIT_CPU. The child hands its fixed-size result back through a pipe and
 * exits; the caller's process never runs the computation itself.
 *
 * The child is reaped with waitpid(pid); if a wait4(-1) elsewhere reaped it
 * first, the pipe alone still tells whether it finished.
 */
#ifndef SW_COMMON_BOUNDED_H
#define SW_COMMON_BOUNDED_H

#include <stddef.h>

struct sw_bounds {
	size_t memory_bytes; /* address space the child may add to what it inherits */
	unsigned int cpu_seconds; /* CPU time: SIGKILL when it is used up */
};

/*
 * Call fn(arg, out, size) in a child within bounds; what it wrote to out
 * (size bytes, at most 4000 so one pipe write is atomic) is copied back.
 * Returns fn's own return value (0 or -errno), -E2BIG when the child was
 * killed or died before answering (out of its bounds), or the -errno of
 * pipe/fork.
 */
int sw_run_bounded(int (*fn)(void *arg, void *out, size_t size), void *arg, void *out, size_t size,
		   const struct sw_bounds *bounds);

#endif
