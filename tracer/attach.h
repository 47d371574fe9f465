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

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../common/error.h"

/*
 * May pid be attached at all? -ESRCH "no such process"; -EPERM for
 * stallwatch itself or one of its ancestors (the ancestor would wait for us
 * while we trace it; strace refuses the same) and for a kernel thread (it
 * makes no syscalls). Fills comm (may be "").
 */
int attach_check_target(pid_t pid, char *comm, size_t comm_size, struct sw_error *err);

/*
 * Every thread of pid or none: PTRACE_SEIZE (with options) +
 * PTRACE_INTERRUPT each, in /proc/PID/task order, rescanning it until a
 * pass finds no new tid (threads come and go during the attach); a thread
 * that left (ESRCH) is normal, and so is a zombie leader. A thread that
 * cannot be seized (another tracer has it) refuses the whole process: the
 * threads seized so far are given back as they were (each detached at its
 * next stop, a signal caught meanwhile handed back, a stopped thread left
 * stopped), and nothing is added. When another stallwatch attaches at the
 * same moment, exactly one of the two gets the process (see RACE_NS).
 * Once all are seized, add() is called for each with the syscall number
 * /proc/TID/syscall showed just before the seize (-1: not in a syscall);
 * if it fails, the threads are given back too. Returns the number of
 * threads held (new ones their clones created count too), or -errno with
 * err explaining why the process is refused: "thread T is already traced
 * by pid N (COMM); not attached", already traced by pid N, another user,
 * Yama scope, zombie, pid namespace.
 */
int attach_process(pid_t pid, long options, int (*add)(void *opaque, pid_t tid, int syscall_nr),
		   void *opaque, struct sw_error *err);

struct attach_query {
	const char *name; /* comm, exact or fnmatch(3) glob */
	const char *exe; /* fnmatch(3) glob on /proc/PID/exe */
	const char *cgroup; /* prefix of a path in /proc/PID/cgroup */
};

/* Why a process that matched a query is, or is not, chosen. */
enum attach_verdict {
	ATTACH_SELECTED = 0,
	ATTACH_LEFT_STALLWATCH, /* stallwatch itself, or another stallwatch */
	ATTACH_LEFT_ANCESTOR, /* an ancestor of stallwatch: it may wait for us */
	ATTACH_LEFT_KTHREAD, /* a kernel thread: no syscalls to watch */
	ATTACH_LEFT_TRACER, /* a known tracer: strace, ltrace, gdb, bpftrace, perf */
	ATTACH_LEFT_TRACED, /* already ptraced (TracerPid:) */
	ATTACH_LEFT_HIDDEN, /* matched, but /proc/PID/exe is unreadable: not ours to trace */
	ATTACH_UNCHECKED, /* --exe could not be checked: /proc/PID/exe is unreadable */
	ATTACH_VERDICT_MAX,
};

/* One process as a selector or a dry run sees it. */
struct attach_candidate {
	pid_t pid;
	enum attach_verdict verdict;
	char comm[64]; /* /proc/PID/comm */
	char *exe; /* /proc/PID/exe (malloc'd), "" when unreadable */
	int exe_errno; /* 0, or why exe is unreadable (EACCES: another user's, not dumpable) */
	bool kthread;
	int threads;
	uid_t uid;
	pid_t tracer_pid;
	bool by_name, by_exe, by_cgroup; /* which criteria it matched */
	char *cgroup; /* the /proc/PID/cgroup entry --cgroup matched, "CONTROLLERS:PATH" (malloc'd) */
};

/*
 * Fill *ret for pid from /proc (comm, exe or exe_errno, threads, uid,
 * TracerPid, kernel thread); verdict ATTACH_SELECTED, no by_* set. Returns
 * 0 or -ESRCH. Free with attach_candidate_done().
 */
int attach_inspect(pid_t pid, struct attach_candidate *ret);
void attach_candidate_done(struct attach_candidate *c);

/* Every process that matched a query, chosen or left out. */
struct attach_selection {
	struct attach_candidate *v;
	size_t n;
};

/*
 * Walk /proc for the processes matching q (all given criteria; comm and
 * cgroup are readable for any user's process, exe is not). Each gets a
 * verdict: ATTACH_SELECTED, or why it is left out (stallwatch, an ancestor,
 * a kernel thread, a known tracer, already traced, unreadable), or
 * ATTACH_UNCHECKED when --exe cannot be checked. A pid given with -p never
 * comes here: it is always attempted. Returns the number selected (0 if
 * none) or -errno: -EINVAL for a criterion that is empty or only
 * whitespace. Free with attach_selection_done().
 */
int attach_select(const struct attach_query *q, struct attach_selection *ret, struct sw_error *err);
void attach_selection_done(struct attach_selection *s);

/*
 * Is a thread of pid traced by another tracer (-EPERM, err: the line
 * attach_process() refuses pid with), or none (0)? From /proc alone.
 */
int attach_check_threads(pid_t pid, struct sw_error *err);

/*
 * The line attach_process() would fail with for pid, from /proc alone
 * (already traced by pid N, another user, Yama, ...): for a dry run.
 * Returns the negative code with err filled.
 */
int attach_explain(pid_t pid, struct sw_error *err);

#endif
