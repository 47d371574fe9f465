/* SPDX-License-Identifier: MIT */
/*
 * tracer.h - the tracer's public API: run a command, or attach to running
 * processes, and report the watched calls that cross their thresholds.
 *
 * tracer_run() starts the command under a backend (--backend): ptrace
 * (tracer/ptrace.c: a seccomp prefilter stops each watched call at entry
 * and exit) or seccomp user notification (tracer/notify.c: entries only),
 * and follows every thread and child until the last one is gone.
 * tracer_attach() seizes running processes with ptrace. Every backend
 * feeds one call lifecycle (tracer/lifecycle.h): a stuck-syscall record the
 * moment a threshold passes while the call is still in flight, a
 * slow-syscall record when it is over.
 *
 * Where a call is timed: tracer/lifecycle.h (the backends' timestamps,
 * subtracted in finish_call()).
 */
#ifndef SW_TRACER_TRACER_H
#define SW_TRACER_TRACER_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"
#include "../policy/policy.h"
#include "../record/recorder.h"
#include "summary.h"

/*
 * How calls are seen (--backend). bpf: timed in the kernel from sys_enter
 * to sys_exit, nothing stopped (run and attach). ptrace: run's seccomp
 * prefilter stops each watched call at its entry and its exit (exact
 * duration, return value); attach stops every call. notify: seccomp user
 * notification, no ptrace, run only; entries only, so a call's end is
 * bracketed and its return value unknown. auto: bpf where the kernel
 * allows it (BTF, bpf() permitted, the programs load and attach), else
 * ptrace, else (run, when PTRACE_SEIZE is refused with EPERM: a seccomp
 * filter, a container, Yama) notify; every fallback happens before the
 * command runs or a target is touched.
 */
enum tracer_backend {
	TRACER_BACKEND_AUTO,
	TRACER_BACKEND_PTRACE,
	TRACER_BACKEND_NOTIFY,
	TRACER_BACKEND_BPF,
};

struct tracer_result;

struct tracer_run_options {
	char *const *argv; /* the command, argv[0] as given */
	const char *exec_path; /* resolved executable (cli/ searched PATH) */
	const struct policy *policy;
	struct recorder *recorder;
	/* -u USER: drop to these ids after the filter is loaded, before execve */
	bool as_user;
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int n_groups;
	/* Warnings for the user (library code never prints): one line each. */
	void (*warn)(void *opaque, const char *line);
	void *warn_opaque;
	/*
	 * SIGHUP reloads the policy without holding any traced thread
	 * (tracer/reload.h). reload_build runs on a loader thread while the
	 * tracer keeps serving stops: it builds the policy anew and returns
	 * it, or NULL to keep the current one; it must not touch the current
	 * one. reload_done runs on the tracing thread with what it returned:
	 * adopted true once the tracer switched to np (it keeps no pointer
	 * into the old policy from then on: free it), false when the tracer
	 * ended before it could switch (free np). NULL reload_build: SIGHUP is
	 * ignored.
	 */
	struct policy *(*reload_build)(void *opaque);
	void (*reload_done)(void *opaque, struct policy *np, bool adopted);
	void *reload_opaque;
	/* --summary: counts of every completed watched call (SIGUSR2 writes them), or NULL */
	struct summary *summary;
	/* --backend: the one to use; TRACER_BACKEND_AUTO (0) chooses (see enum tracer_backend) */
	enum tracer_backend backend;
	/*
	 * Called once, if not NULL, as soon as the backend is chosen and
	 * before the command runs, with ret's backend_used and
	 * fallback_reason filled (the rest of ret is not yet): cli/ says
	 * there, not after the command ended, that auto fell back.
	 */
	void (*backend_chosen)(void *opaque, const struct tracer_result *ret);
	void *backend_chosen_opaque;
};

enum tracer_outcome {
	TRACER_EXITED, /* the command exited: code = status */
	TRACER_SIGNALED, /* the command died by signal: code = signal */
	TRACER_EXEC_FAILED, /* it never ran: code = errno of execve */
};

struct tracer_stats {
	uint64_t stops; /* ptrace stops handled */
	uint64_t calls; /* watched calls timed to completion */
	uint64_t records; /* records written */
	uint64_t records_dropped; /* records the sink refused */
	uint64_t suppressed; /* crossings explained by the tracer's own run-queue delay */
	uint64_t rate_limited; /* records cut by their rule's rate_limit */
	uint64_t notify_interrupted; /* notify: callers a signal interrupted before our answer */
};

struct tracer_result {
	enum tracer_outcome outcome;
	int code;
	/* TRACER_EXEC_FAILED: 1 seccomp load, 2 uid change, 3 execve, 4 listener hand-off (notify) */
	int failed_stage;
	struct tracer_stats stats;
	/*
	 * The backend that traced the command (run) or the targets (attach);
	 * TRACER_BACKEND_AUTO (0) only when the tracer failed before it chose.
	 */
	enum tracer_backend backend_used;
	/*
	 * TRACER_BACKEND_AUTO that could not use its first choice: why, one
	 * "WHAT: WHY: STRERROR" per backend left out, "; " between them, e.g.
	 * "bpf unavailable: cannot load the BPF programs (needs root, or
	 * CAP_BPF and CAP_PERFMON): Operation not permitted; ptrace refused:
	 * EPERM from PTRACE_SEIZE: Operation not permitted". cli/ prints one
	 * line with it ("stallwatch: REASON; using --backend=NAME"). Empty
	 * ("") when there was no fallback: an explicit --backend never falls
	 * back, its failure is the tracer's error.
	 */
	char fallback_reason[2 * SW_ERROR_MSG_MAX];
};

struct tracer_attach_options {
	const pid_t *pids; /* target processes (thread-group ids) */
	size_t n_pids;
	bool follow_forks; /* -f: also children created after the attach */
	/* --backend: AUTO (bpf, else ptrace), ptrace or bpf */
	enum tracer_backend backend;
	/*
	 * Called (with opaque), if not NULL, when auto fell back to ptrace,
	 * before any target is touched, with ret's backend_used and
	 * fallback_reason filled: cli/ says so before the attach lines.
	 */
	void (*backend_chosen)(void *opaque, const struct tracer_result *ret);
	const struct policy *policy;
	struct recorder *recorder;
	void (*warn)(void *opaque, const char *line);
	/* once per process, when every one of its threads is seized */
	void (*attached)(void *opaque, pid_t pid, const char *comm, int threads);
	/* once per process that could not be attached (err says why) */
	void (*failed)(void *opaque, const struct sw_error *err);
	void *opaque;
	/*
	 * The signal mask stallwatch was started with (NULL: the current one).
	 * cli/ blocks SIGINT/SIGTERM from its first instruction so an early
	 * Ctrl-C cannot kill us half-attached; it is delivered once we can act.
	 */
	const sigset_t *caller_mask;
	/* SIGHUP, as in tracer_run_options */
	struct policy *(*reload_build)(void *opaque);
	void (*reload_done)(void *opaque, struct policy *np, bool adopted);
	void *reload_opaque;
	/* --summary: counts of every completed watched call (SIGUSR2 writes them), or NULL */
	struct summary *summary;
};

/*
 * Attach to running processes, every thread: bpf (the targets' tgids in
 * the kernel's watched set) or ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT, no
 * seccomp filter, no EXITKILL), and trace until every target exited or
 * SIGINT/SIGTERM asked us to detach. Returns 0 (ret->outcome
 * TRACER_EXITED, code 0) or -errno: -ESRCH/-EPERM when nothing could be
 * attached, others when stallwatch itself failed.
 */
int tracer_attach(const struct tracer_attach_options *opts, struct tracer_result *ret,
		  struct sw_error *err);

/*
 * Run the command to completion (the last traced descendant included).
 * Returns 0 with *ret filled, or -errno when stallwatch itself failed (err
 * says why; the command, if it started, was killed by PTRACE_O_EXITKILL
 * under ptrace, by its parent-death signal under notify; under bpf it
 * runs on, unwatched).
 */
int tracer_run(const struct tracer_run_options *opts, struct tracer_result *ret,
	       struct sw_error *err);

/*
 * `stallwatch watch`: a daemon's dynamic target set (tracer/watch.c).
 *
 * The processes to watch are chosen by the caller (cli/watch.c, from the
 * policy's targets) through select(): called on the tracing thread for
 * every live process at start, for every process that execs (the proc
 * connector, tracer/procconn.h: never a /proc polling loop), and for every
 * watched process at each recheck (cgroup moves, which the proc connector
 * does not report: every recheck_ns). A process select() takes is added to
 * the backend's watched set (bpf: its tgid in the kernel's set; ptrace:
 * PTRACE_SEIZE of every thread) and its children after it (fork follows);
 * one that execs into a program select() refuses, or that moved out of a
 * selected cgroup, is released cleanly (bpf: out of the set; ptrace:
 * detached, every thread resumed as it was). A target that exits is
 * simply gone.
 *
 * host_wide (bpf only): the policy has rules that name no targets, which
 * apply to every process on the host. The kernel then times the calls of
 * host_wide_set for every process, not only targets (tracer/bpf/watch.bpf.c);
 * the caller refuses host_wide under ptrace before calling.
 */
enum tracer_watch_why {
	TRACER_WATCH_START, /* found in /proc at start */
	TRACER_WATCH_EXEC, /* it just exec'd */
	TRACER_WATCH_RECHECK, /* periodic recheck of a watched process (cgroup moves) */
};

/* What the caller decided of one process; cli/ fills reason for --dry-run and the lines. */
struct tracer_watch_choice {
	bool watch; /* watch it (or keep watching it) */
	char reason[160]; /* "target kubelet (comm)"; or why not */
};

/* Counts for the daemon's self record and the metrics file. */
struct tracer_watch_stats {
	uint64_t watched_now; /* processes in the watched set now (targets, not their children) */
	uint64_t added_total; /* taken since start */
	uint64_t released_total; /* let go because they stopped matching */
	uint64_t exited_total; /* gone on their own */
	uint64_t missed_max_targets; /* matched, but --max-targets was reached */
	uint64_t missed_failed; /* matched, but could not be attached (EPERM, gone, traced) */
	uint64_t exec_events; /* proc connector exec events seen */
	uint64_t connector_lost; /* proc connector overruns (ENOBUFS): a rescan of /proc followed */
	uint64_t pickup_ns_max; /* worst exec-to-watched delay seen (ns) */
	uint64_t pickup_ns_sum, pickups; /* for the mean */
	uint64_t stop_ns_max; /* ptrace: longest a target was held stopped by an add or release */
};

struct tracer_watch_options {
	const struct policy *policy;
	struct recorder *recorder;
	enum tracer_backend backend; /* AUTO (bpf, else ptrace), BPF or PTRACE */
	bool host_wide; /* rules without targets: bpf times their calls for every process */
	size_t max_targets; /* 0: no limit; beyond it a match counts as missed_max_targets */
	uint64_t recheck_ns; /* period of the cgroup-move recheck of watched processes */
	/*
	 * Selectors that a move can satisfy without an exec (cgroup targets):
	 * each recheck offers every live process not watched too (a /proc
	 * walk, about 20 us a process), so one moved in is taken. Read at
	 * each recheck: reload_done may change it.
	 */
	bool recheck_all;
	/*
	 * Should pid be watched? proc: its comm, exe, cgroup (any may be NULL
	 * when unreadable). Called on the tracing thread; must not block long.
	 */
	void (*select)(void *opaque, const struct policy_process *proc, enum tracer_watch_why why,
		       struct tracer_watch_choice *ret);
	/* one line for each process taken / let go / missed (cli/ prints them) */
	void (*attached)(void *opaque, pid_t pid, const char *comm, int threads,
			 const char *reason);
	void (*released)(void *opaque, pid_t pid, const char *comm, const char *why);
	void (*failed)(void *opaque, const struct sw_error *err);
	/*
	 * The daemon's own periodic work (scheduled scans, the self record),
	 * called on the tracing thread at its first pass and then whenever
	 * the time it returned has come, or when wake_tick() was called
	 * (from any thread): returns the next CLOCK_MONOTONIC ns it wants to
	 * run at (UINT64_MAX: only when woken). It may write records.
	 */
	uint64_t (*tick)(void *opaque, uint64_t now_ns, const struct tracer_watch_stats *stats);
	/* called once with a function another thread may call to run tick soon */
	void (*tick_waker)(void *opaque, void (*wake_tick)(void *loop), void *loop);
	/* every process the first pass chose is watched: readiness (sd_notify READY=1) */
	void (*ready)(void *opaque, const struct tracer_result *res);
	/* SIGUSR1 reopens -o in the loop; SIGHUP as in tracer_run_options */
	struct policy *(*reload_build)(void *opaque);
	void (*reload_done)(void *opaque, struct policy *np, bool adopted);
	void *reload_opaque;
	void (*backend_chosen)(void *opaque, const struct tracer_result *ret);
	void (*warn)(void *opaque, const char *line);
	void *opaque;
	const sigset_t *caller_mask;
};

/*
 * Run the daemon's loop until SIGINT/SIGTERM (release every target, return
 * 0) or stallwatch fails (-errno, err). Never ends because no target is
 * left: a daemon waits for the next one. After a SIGHUP's policy is
 * adopted, every watched process and every live process is checked with
 * select() again (new selectors pick up, dropped ones let go).
 */
int tracer_watch(const struct tracer_watch_options *opts, struct tracer_result *ret,
		 struct tracer_watch_stats *stats, struct sw_error *err);

#endif
