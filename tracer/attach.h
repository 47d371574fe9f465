/* SPDX-License-Identifier: MIT */
/*
 * attach.h - finding and seizing running processes for `attach`.
 *
 * Everything here is decided from /proc: "process gone" from its task
 * directory (never from a Z state alone: a zombie leader may lead live
 * threads), refusals and EPERM explanations from status files.
 */
#ifndef SW_TRACER_ATTACH_H
#define SW_TRACER_ATTACH_H

#include <stddef.h>
#include <sys/types.h>

#include "../common/error.h"

/*
 * May pid be attached at all? -ESRCH "no such process"; -EPERM for
 * stallwatch itself or one of its ancestors (the ancestor would wait for us
 * while we trace it; strace refuses the same). Fills comm (may be "").
 */
int attach_check_target(pid_t pid, char *comm, size_t comm_size, struct sw_error *err);

/*
 * PTRACE_SEIZE (with options) + PTRACE_INTERRUPT every thread of pid,
 * rescanning /proc/PID/task until a pass finds no new tid (threads come and
 * go during the attach); a thread that left (ESRCH) is normal. add() is
 * called for each seized thread with the syscall number /proc/TID/syscall
 * showed just before the seize (-1: not in a syscall). Returns the number
 * of threads seized, or -errno with err explaining why none could be:
 * already traced by pid N, another user, Yama scope, zombie, pid namespace.
 */
int attach_process(pid_t pid, long options, int (*add)(void *opaque, pid_t tid, int syscall_nr),
		   void *opaque, struct sw_error *err);

struct attach_query {
	const char *name; /* comm, exact or fnmatch(3) glob */
	const char *exe; /* fnmatch(3) glob on /proc/PID/exe */
	const char *cgroup; /* prefix of a path in /proc/PID/cgroup */
};

/*
 * Every process matching q (all given criteria), except stallwatch, its
 * ancestors and kernel threads. *ret is malloc'd. Returns the count (0 if
 * none) or -errno.
 */
int attach_find_targets(const struct attach_query *q, pid_t **ret, struct sw_error *err);

#endif
