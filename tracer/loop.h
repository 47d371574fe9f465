/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the event loop every backend runs in, and the backends' table.
 *
 * The loop (loop.c) is strace's shape without its globals:
 *   while (dispatch(loop, next_event(loop)))
 * It owns what is the same for every backend: signals to stallwatch (one
 * handler, a ring, a kick timer), the ONE deadline timer of the lifecycle,
 * SIGHUP reloads, and the command's fate in `run`. A backend (ptrace.c,
 * notify.c) sits behind struct backend_ops: it gathers what its kernel
 * interface has ready into the loop's batch (sleeping in its one blocking
 * call when told to: wait4, poll; our signals interrupt it), handles each
 * event by telling the lifecycle (lifecycle.h) what it saw, and tears
 * itself down. It knows nothing of records or policy.
 */
#ifndef SW_TRACER_LOOP_H
#define SW_TRACER_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <linux/types.h>

#include "bpf/watch.h"
#include "lifecycle.h"
#include "reload.h"

#define LOOP_BATCH_MAX 64
#define SIGNAL_RING 64 /* power of two */

enum event_kind {
	EV_BACKEND, /* something the backend gathered */
	EV_TIMER, /* the deadline timer fired */
	EV_SIGNAL, /* a signal to stallwatch */
	EV_RELOADED, /* the loader thread of a SIGHUP has its policy ready */
	EV_WATCH, /* watch: the proc connector has events, or wake_tick() was called */
	EV_DONE, /* nothing left to watch */
	EV_ERROR, /* stallwatch itself failed (loop->error says why) */
};

/* What the handler keeps of a signal sent to stallwatch. */
struct received_signal {
	int signo;
	int code; /* si_code: SI_USER, SI_QUEUE, SI_TKILL, SI_KERNEL, ... */
	pid_t pid;
};

struct event {
	enum event_kind kind;
	uint64_t ts_ns;
	union {
		struct received_signal si;
		struct {
			pid_t pid;
			int status;
		} wait; /* ptrace: a wait status */
		struct {
			pid_t tid;
			uint32_t arch;
			uint64_t nr;
			uint64_t args[6];
			uint64_t pc;
			bool interrupted; /* our answer came too late (ENOENT) */
		} notif; /* notify: a notification, already answered */
		struct watch_event bpf; /* bpf: a record of the kernel programs */
		struct {
			bool connector; /* the proc connector's signal came */
			bool tick; /* wake_tick() was called */
		} watch;
	};
};

/*
 * Shared with the signal handler, which cannot be given a context: the one
 * piece of state outside struct tracer_loop (libbpf-tools' `exiting` flag,
 * grown a little). The handler only stores into it and calls kill() and
 * timer_settime() (async-signal-safe, POSIX.1-2008).
 *
 * The race every "flag + blocking call" loop has (a signal lands between
 * the check of `pending` and the blocking call going to sleep) is closed by
 * the kick timer: the handler arms it for 1 ms, and its own expiry re-arms
 * it, so a blocked wait is interrupted within 1 ms until the loop has taken
 * the signal and disarmed it.
 */
struct sigstate {
	volatile sig_atomic_t pending; /* something below needs the loop */
	volatile sig_atomic_t deadline_fired; /* the deadline timer expired */
	volatile sig_atomic_t child_changed; /* SIGCHLD (notify: the command stopped or exited) */
	/*
	 * watch: the proc connector's socket raises io_signo (F_SETSIG) when
	 * it has events or overran (procconn.h); the handler sets io_ready
	 * and the loop drains the socket. 0: none.
	 */
	volatile sig_atomic_t io_ready;
	int io_signo;
	struct received_signal ring[SIGNAL_RING];
	unsigned int ring_head; /* next to read (loop) */
	unsigned int ring_tail; /* next to write (handler) */
	unsigned int dropped; /* signals lost to a full ring */
	timer_t deadline_timer, kick_timer;
	bool timers_created;
	/*
	 * While the command lives, the handler forwards a signal aimed at
	 * stallwatch alone itself: kill(2) is async-signal-safe, and a burst
	 * of queued real-time signals then cannot overflow the ring.
	 */
	pid_t self_pid;
	pid_t command_pid;
	volatile sig_atomic_t command_alive;
	/* run: a terminal's signal reached the command's group too; attach: it is for us */
	bool drop_terminal_signals;
	/* notify: SIGCHLD is ours to catch (ptrace learns of the command from wait4) */
	bool catch_sigchld;
};

struct tracer_loop;
struct backend;

struct backend_ops {
	const char *name; /* stallwatch.backend: "ptrace", "seccomp-notify" */
	/*
	 * Put what is ready into the batch (loop_push). block: sleep until
	 * something is ready; a signal to stallwatch interrupts the sleep
	 * (return 0). Set loop->done when nothing is left to watch and
	 * loop->need_drain when the batch filled up. Returns 0 or -errno
	 * (stallwatch itself failed; loop->error says why).
	 */
	int (*gather)(struct backend *b, bool block);
	/* One event the backend gathered. */
	void (*handle)(struct backend *b, const struct event *ev);
	/* SIGINT/SIGTERM in attach: start leaving every target (NULL: end now). */
	void (*detach)(struct backend *b);
	/* SIGCHLD (only when sigstate.catch_sigchld): look at the command. */
	void (*child_changed)(struct backend *b);
	/*
	 * Periodic work of the backend's own (bpf: sweeping the kernel's
	 * calls in flight), at timer expiries: returns when it wants the
	 * next one (UINT64_MAX: never). NULL: none.
	 */
	uint64_t (*tick)(struct backend *b, uint64_t now_ns);
	/*
	 * Bring --summary and the metrics histogram up to date with the counts
	 * the backend keeps itself (bpf: in the kernel, lc.bulk_counts), before
	 * the summary is written. NULL: the lifecycle counts.
	 */
	void (*counts)(struct backend *b);
	/*
	 * SIGHUP: the loop adopted np. A backend that chooses calls in the
	 * kernel (bpf: its thresholds and %wait maps) applies it there; NULL: run's
	 * seccomp filter stays as installed (the loop warns of what it misses).
	 */
	void (*policy_changed)(struct backend *b, const struct policy *np);
	/* The loop ended: let go of every target and free b. */
	void (*destroy)(struct backend *b);
	/*
	 * watch (tracer/watch.c): take pid (every thread; its children
	 * followed), returning its thread count or -errno with err filled
	 * (comm filled as far as known); let go of pid, every thread of it
	 * and nothing else, as it was. NULL: the backend cannot watch.
	 */
	int (*watch_add)(struct backend *b, pid_t pid, char *comm, size_t comm_size,
			 struct sw_error *err);
	void (*watch_release)(struct backend *b, pid_t pid);
};

struct backend {
	const struct backend_ops *ops;
	struct tracer_loop *loop;
};

enum tracer_mode {
	MODE_RUN, /* our command and its descendants */
	MODE_ATTACH, /* running processes */
	MODE_WATCH, /* a daemon's changing set of processes (tracer/watch.h) */
};

struct watcher; /* tracer/watch.h */
struct tracer_watch_options; /* tracer.h */

struct tracer_loop {
	enum tracer_mode mode;
	struct lifecycle lc;
	struct backend *backend;
	struct sw_error *error;

	/* SIGHUP: a loader thread builds the new policy (reload.h); the cli adopts it */
	struct reloader reloader;
	void (*reload_done)(void *opaque, struct policy *np, bool adopted);
	void *reload_opaque;
	/* run: the syscalls the filter installed at start sees (a reload cannot widen it) */
	struct syscall_set filter_set;
	bool warned_filter;

	struct sigstate signals;
	uint64_t timer_armed_ns; /* 0: disarmed */
	sigset_t handled; /* signals with our handler */
	pid_t self_pid;

	/* run: the command */
	pid_t command_pid;
	bool command_exited;
	bool command_execed;
	int command_status; /* raw wait status */
	int fail_fd;

	/* attach: SIGINT/SIGTERM asked us to leave; the timer ends the wait at the deadline */
	bool detaching;
	uint64_t detach_deadline_ns;

	/* the backend's events first (at most LOOP_BATCH_MAX), then the timer and the signals taken */
	struct event batch[LOOP_BATCH_MAX + 1 + SIGNAL_RING + 1];
	struct event signal_events[SIGNAL_RING];
	size_t n_signal_events;
	size_t batch_len, batch_pos;
	bool need_drain; /* gather again before sleeping */
	bool done; /* nothing left to watch */

	/* watch: the target table and the proc connector (watch.h) */
	struct watcher *watcher;
	int tick_woken; /* wake_tick() was called (any thread; __atomic) */
	struct tracer_watch_stats *watch_stats; /* the backend's figures (ptrace: stop_ns_max) */
};

/* Add an event to the batch (backends, from gather()). */
void loop_push(struct tracer_loop *loop, const struct event *ev);
/* Is the batch full (LOOP_BATCH_MAX backend events)? */
static inline bool loop_batch_full(const struct tracer_loop *loop)
{
	return loop->batch_len >= LOOP_BATCH_MAX;
}
/* A signal to stallwatch waits to be taken: stop spinning. */
static inline bool loop_signal_pending(const struct tracer_loop *loop)
{
	return __atomic_load_n(&loop->signals.pending, __ATOMIC_RELAXED);
}
/* Make sure the timer fires no later than deadline_ns. */
void loop_ensure_timer(struct tracer_loop *loop, uint64_t deadline_ns);
/* The command died or exited (status as wait4 gives it). */
void loop_command_ended(struct tracer_loop *loop, int status);
/*
 * Backends whose command is a plain child (notify, bpf): reap it if it
 * ended (true, *ret_status set, loop_command_ended() done); with stops, a
 * stop for the terminal is passed on (loop_command_stopped()).
 */
bool loop_reap_command(struct tracer_loop *loop, bool stops, int *ret_status);
/* Ctrl-Z: the command stopped for the terminal; stop ourselves so the shell sees the job stop. */
void loop_command_stopped(struct tracer_loop *loop, int sig);

/*
 * attach: one(backend, pid, ...) for each target, which returns its thread
 * count or -errno with err filled; the cli hears of each (attached/failed).
 * Returns how many were attached, or -errno when none was.
 */
int loop_attach_each(const struct tracer_attach_options *opts,
		     int (*one)(void *backend, pid_t pid, char *comm, size_t comm_size,
				struct sw_error *err),
		     void *backend, struct sw_error *err);

/* The backends (ptrace.c, notify.c, bpf.c). */
int ptrace_backend_run(struct tracer_loop *loop, const struct tracer_run_options *opts,
		       struct backend **ret, struct sw_error *err);
int notify_backend_run(struct tracer_loop *loop, const struct tracer_run_options *opts,
		       struct backend **ret, struct sw_error *err);
int ptrace_backend_attach(struct tracer_loop *loop, const struct tracer_attach_options *opts,
			  struct backend **ret, struct sw_error *err);
/*
 * bpf: when the kernel refuses the programs (no BTF, bpf() denied, a load
 * or attach failure), they fail with *ret NULL, nothing loaded, nothing
 * forked or watched, and err's message without a "--backend=bpf" prefix:
 * auto tries the next backend then. A failure after that leaves *ret set.
 */
int bpf_backend_run(struct tracer_loop *loop, const struct tracer_run_options *opts,
		    struct backend **ret, struct sw_error *err);
int bpf_backend_attach(struct tracer_loop *loop, const struct tracer_attach_options *opts,
		       struct backend **ret, struct sw_error *err);
/* watch: the backend with nothing watched yet; targets come through ops->watch_add */
int bpf_backend_watch(struct tracer_loop *loop, const struct tracer_watch_options *opts,
		      struct backend **ret, struct sw_error *err);
int ptrace_backend_watch(struct tracer_loop *loop, const struct tracer_watch_options *opts,
			 struct backend **ret, struct sw_error *err);

#endif
