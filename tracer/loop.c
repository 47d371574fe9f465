/* SPDX-License-Identifier: MIT */
/*
 * loop.c - the event loop of `stallwatch run` and `stallwatch attach`, for
 * every backend (loop.h).
 *
 * Shape (strace's, without its globals): while (dispatch(loop, next_event(loop)));
 * next_event() asks the backend to gather what is ready (sleeping in its
 * one blocking call when nothing is) and serves the batch in order. Signals
 * to stallwatch and the ONE deadline timer (a POSIX timer armed at the
 * earliest pending deadline) interrupt that sleep with EINTR; see struct
 * sigstate in loop.h. Where a call is timed: lifecycle.h.
 */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../cgroupscan/hostctx.h"
#include "../common/macro.h"
#include "../common/timeutil.h"
#include "spawn.h"
#include "tracer.h"
#include "watch.h"

enum { TIMER_TAG_DEADLINE = 1, TIMER_TAG_KICK = 2 };

static struct sigstate *sigstate;

static void kick_in(timer_t timer, long ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = 0, .tv_nsec = ns } };

	timer_settime(timer, 0, &its, NULL);
}

static void on_signal_handler(int sig, siginfo_t *si, void *ucontext)
{
	struct sigstate *st = sigstate;
	int saved_errno = errno;

	if (!st)
		return;
	if (si->si_code == SI_TIMER && si->si_value.sival_int == TIMER_TAG_DEADLINE)
		st->deadline_fired = 1;
	else if (sig == SIGCHLD)
		st->child_changed = 1;
	else if (st->io_signo && sig == st->io_signo)
		st->io_ready = 1; /* the proc connector (watch): drained by the loop */
	else if (st->drop_terminal_signals && si->si_code == SI_KERNEL && sig != SIGUSR1)
		; /* from the terminal: the command's process group got it too */
	else if (st->command_alive && sig != SIGUSR1 && sig != SIGHUP && sig != SIGUSR2 &&
		 (si->si_code == SI_USER || si->si_code == SI_QUEUE || si->si_code == SI_TKILL) &&
		 si->si_pid != st->self_pid)
		kill(st->command_pid, sig); /* forwarded once, see on_signal() */
	else if (si->si_code != SI_TIMER) {
		unsigned int tail = __atomic_load_n(&st->ring_tail, __ATOMIC_RELAXED);

		if (tail - __atomic_load_n(&st->ring_head, __ATOMIC_ACQUIRE) < SIGNAL_RING) {
			st->ring[tail % SIGNAL_RING] = (struct received_signal){
				.signo = sig, .code = si->si_code, .pid = si->si_pid
			};
			__atomic_store_n(&st->ring_tail, tail + 1, __ATOMIC_RELEASE);
		} else
			st->dropped++;
	}
	st->pending = 1;
	kick_in(st->kick_timer, 1000000);
	errno = saved_errno;
}

/* ---- the deadline timer ---------------------------------------------------- */

static void arm_timer(struct tracer_loop *loop, uint64_t deadline_ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(deadline_ns / NSEC_PER_SEC),
			      .tv_nsec = (long)(deadline_ns % NSEC_PER_SEC) },
	};

	if (deadline_ns == 0)
		deadline_ns = its.it_value.tv_nsec = 1; /* 0 would disarm */
	if (timer_settime(loop->signals.deadline_timer, TIMER_ABSTIME, &its, NULL) == 0)
		loop->timer_armed_ns = deadline_ns;
}

void loop_ensure_timer(struct tracer_loop *loop, uint64_t deadline_ns)
{
	if (loop->timer_armed_ns == 0 || deadline_ns < loop->timer_armed_ns)
		arm_timer(loop, deadline_ns);
}

static void ensure_timer_cb(void *opaque, uint64_t deadline_ns)
{
	loop_ensure_timer(opaque, deadline_ns);
}

/* ---- the command ------------------------------------------------------------ */

void loop_command_ended(struct tracer_loop *loop, int status)
{
	loop->signals.command_alive = 0;
	loop->command_exited = true;
	loop->command_status = status;
}

bool loop_reap_command(struct tracer_loop *loop, bool stops, int *ret_status)
{
	int status;

	if (loop->command_exited || waitpid(loop->command_pid, &status,
					    WNOHANG | (stops ? WUNTRACED : 0)) != loop->command_pid)
		return false;
	if (WIFSTOPPED(status)) {
		loop_command_stopped(loop, WSTOPSIG(status));
		return false;
	}
	loop_command_ended(loop, status);
	if (ret_status)
		*ret_status = status;
	return true;
}

void loop_command_stopped(struct tracer_loop *loop, int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN };

	if (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU)
		return;
	sigaction(sig, &dfl, NULL);
	raise(sig); /* returns once the shell continues our process group (fg/bg) */
	sigaction(sig, &ign, NULL);
	/* the shell's SIGCONT reached the command only if it shares our process group */
	if (!loop->command_exited && getpgid(loop->command_pid) != getpgrp())
		kill(loop->command_pid, SIGCONT);
}

/* ---- signals to stallwatch ---------------------------------------------- */

static void forward_signal(struct tracer_loop *loop, int sig)
{
	if (!loop->command_exited) {
		kill(loop->command_pid, sig);
		return;
	}
	/* The command is gone but descendants we must keep watching remain: tell them. */
	for (size_t i = 0; i < loop->lc.tracees.capacity; i++) {
		struct tracee *t = tracee_at(&loop->lc.tracees, i);
		struct procinfo info;

		if (t && procinfo_read(t->tid, &info) == 0 && info.tgid == t->tid)
			kill(t->tid, sig);
	}
}

/*
 * SIGHUP: a loader thread builds the policy anew (reload.h) while the loop
 * goes on; a SIGHUP during a load asks for one more after it.
 */
static void request_reload(struct tracer_loop *loop)
{
	int r;

	if (!loop->reloader.build)
		return;
	r = reloader_request(&loop->reloader);
	if (r < 0)
		lifecycle_warn(&loop->lc,
			       "SIGHUP: policy not reloaded, the current one stays: cannot start a "
			       "thread to load it: %s",
			       strerror(-r));
}

/* The loader's wake-up (on its thread): the kick timer interrupts the wait within 1 ns. */
static void reload_wake(void *opaque)
{
	struct tracer_loop *loop = opaque;

	kick_in(loop->signals.kick_timer, 1);
}

/*
 * The loader is done (EV_RELOADED, a safe point: between two events): swap
 * in its policy. Calls in flight keep the threshold they started with;
 * rules are looked up in the new policy when they cross. Rate-limit
 * buckets start over (rules are numbered anew).
 */
static void adopt_policy(struct tracer_loop *loop)
{
	struct syscall_set traced;
	struct policy *np;
	char names[256] = "";
	size_t n_missing = 0, len = 0;
	bool again;

	np = reloader_take(&loop->reloader, &again);
	if (again)
		request_reload(loop); /* a SIGHUP came during that load */
	if (!np)
		return;
	lifecycle_set_policy(&loop->lc, np);
	if (loop->reload_done)
		loop->reload_done(loop->reload_opaque, np, true);
	if (loop->backend->ops->policy_changed)
		loop->backend->ops->policy_changed(loop->backend, np);
	/* watch: new selectors pick up, dropped ones let go (tracer.h, tracer_watch) */
	if (loop->watcher)
		watcher_policy_adopted(loop->watcher);
	if (loop->backend->ops->policy_changed || loop->mode != MODE_RUN)
		return;
	/* the command's seccomp filter cannot be replaced: new syscalls stay unwatched */
	policy_traced_set(np, &traced);
	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		/* the filter sees syscalls by number, whatever their calls */
		if (!syscall_set_has(&traced, nr) || syscall_set_has(&loop->filter_set, nr))
			continue;
		if (n_missing++ < 8 && len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						n_missing > 1 ? ", " : "", syscall_name(nr) ?: "?");
	}
	if (n_missing && !loop->warned_filter) {
		loop->warned_filter = true;
		lifecycle_warn(
			&loop->lc,
			"reloaded policy watches %zu syscall(s) the seccomp filter installed "
			"at start does not trace (%s%s): they stay unwatched until `run` starts "
			"again",
			n_missing, names, n_missing > 8 ? ", ..." : "");
	}
}

/* SIGINT/SIGTERM in attach: leave every target, each at its next stop. */
static void start_detach(struct tracer_loop *loop)
{
	if (loop->detaching)
		return;
	loop->detaching = true;
	if (loop->watcher)
		watcher_stop(loop->watcher);
	/* a target that never stops (uninterruptible sleep) must not keep us */
	loop->detach_deadline_ns = sw_mono_ns() + NSEC_PER_SEC;
	arm_timer(loop, loop->detach_deadline_ns);
	if (loop->backend->ops->detach)
		loop->backend->ops->detach(loop->backend);
}

static void on_signal(struct tracer_loop *loop, const struct received_signal *si)
{
	int sig = si->signo;

	switch (sig) {
	case SIGUSR1:
		recorder_reopen(loop->lc.recorder);
		return;
	case SIGINT:
	case SIGTERM:
		if (loop->mode != MODE_RUN) {
			start_detach(loop);
			return;
		}
		break;
	case SIGHUP:
		request_reload(loop);
		return;
	case SIGUSR2:
		/* the summary so far; without --summary nothing (never fatal) */
		if (loop->lc.summary && loop->backend && loop->backend->ops->counts)
			loop->backend->ops->counts(loop->backend);
		if (loop->lc.summary)
			summary_emit(loop->lc.summary, loop->lc.recorder);
		return;
	default:
		break;
	}
	/*
	 * A terminal's Ctrl-C/Ctrl-\ (SI_KERNEL) went to the whole foreground
	 * process group, the command included: forwarding would deliver it
	 * twice. A kill(2)/sigqueue(3) aimed at stallwatch alone is passed on
	 * once.
	 */
	if (loop->mode == MODE_RUN &&
	    (si->code == SI_USER || si->code == SI_QUEUE || si->code == SI_TKILL) &&
	    si->pid != loop->self_pid)
		forward_signal(loop, sig);
}

/* ---- the loop ----------------------------------------------------------- */

static const struct event done_event = { .kind = EV_DONE };
static const struct event error_event = { .kind = EV_ERROR };

void loop_push(struct tracer_loop *loop, const struct event *ev)
{
	if (loop->batch_len < ARRAY_SIZE(loop->batch))
		loop->batch[loop->batch_len++] = *ev;
}

/* Take what the handler left: signals as events, the deadline and SIGCHLD as flags. */
static bool take_signals(struct tracer_loop *loop, bool *ret_deadline, bool *ret_child,
			 bool *ret_io)
{
	struct sigstate *st = &loop->signals;
	unsigned int head, tail;

	if (!st->pending)
		return false;
	/* clear first: a signal landing from here on sets it again */
	st->pending = 0;
	kick_in(st->kick_timer, 0);
	*ret_deadline = st->deadline_fired;
	st->deadline_fired = 0;
	*ret_child = st->child_changed;
	st->child_changed = 0;
	*ret_io = st->io_ready;
	st->io_ready = 0;
	head = __atomic_load_n(&st->ring_head, __ATOMIC_RELAXED);
	tail = __atomic_load_n(&st->ring_tail, __ATOMIC_ACQUIRE);
	for (; head != tail; head++) {
		struct event ev = { .kind = EV_SIGNAL, .si = st->ring[head % SIGNAL_RING] };

		loop->signal_events[loop->n_signal_events++] = ev;
		if (loop->n_signal_events == SIGNAL_RING)
			break;
	}
	__atomic_store_n(&st->ring_head, head, __ATOMIC_RELEASE);
	return true;
}

static const struct event *next_event(struct tracer_loop *loop)
{
	const struct backend_ops *ops = loop->backend->ops;

	for (;;) {
		bool deadline = false, child = false, io = false, tick;
		int r;

		if (loop->batch_pos < loop->batch_len)
			return &loop->batch[loop->batch_pos++];
		loop->batch_pos = loop->batch_len = 0;

		if (take_signals(loop, &deadline, &child, &io) || loop->need_drain) {
			if (child && ops->child_changed)
				ops->child_changed(loop->backend);
			/* what is ready first, so a call that ended is not reported stuck */
			r = ops->gather(loop->backend, false);
			if (r < 0)
				return &error_event;
			if (deadline)
				loop_push(loop, &(struct event){ .kind = EV_TIMER,
								 .ts_ns = sw_mono_ns() });
			for (size_t i = 0; i < loop->n_signal_events; i++)
				loop_push(loop, &loop->signal_events[i]);
			loop->n_signal_events = 0;
			/*
			 * after take_signals(): a loader that finished later
			 * kicks again (reload_wake), so it is never missed
			 */
			if (reloader_ready(&loop->reloader))
				loop_push(loop, &(struct event){ .kind = EV_RELOADED });
			/* after take_signals() too: a later wake_tick() kicks again */
			tick = __atomic_exchange_n(&loop->tick_woken, 0, __ATOMIC_ACQ_REL);
			if (loop->watcher && (io || tick))
				loop_push(loop, &(struct event){ .kind = EV_WATCH,
								 .watch = { .connector = io,
									    .tick = tick } });
			continue;
		}
		if (loop->done)
			return &done_event;
		/* the one place stallwatch sleeps; signals and the timer interrupt it */
		r = ops->gather(loop->backend, true);
		if (r < 0)
			return &error_event;
	}
}

static bool dispatch(struct tracer_loop *loop, const struct event *ev)
{
	switch (ev->kind) {
	case EV_BACKEND:
		loop->backend->ops->handle(loop->backend, ev);
		return true;
	case EV_TIMER:
		if (loop->detaching && ev->ts_ns >= loop->detach_deadline_ns)
			return false; /* the kernel detaches what is left when we exit */
		loop->timer_armed_ns = 0;
		if (loop->backend->ops->tick) {
			uint64_t next = loop->backend->ops->tick(loop->backend, ev->ts_ns);

			if (next != UINT64_MAX)
				loop_ensure_timer(loop, next);
		}
		lifecycle_on_timer(&loop->lc, ev->ts_ns);
		if (loop->watcher) {
			uint64_t next = watcher_on_timer(loop->watcher, ev->ts_ns);

			if (next != UINT64_MAX)
				loop_ensure_timer(loop, next);
		}
		if (loop->detaching)
			loop_ensure_timer(loop, loop->detach_deadline_ns);
		return true;
	case EV_SIGNAL:
		on_signal(loop, &ev->si);
		return true;
	case EV_RELOADED:
		adopt_policy(loop);
		return true;
	case EV_WATCH:
		if (loop->watcher)
			watcher_on_event(loop->watcher, ev->watch.connector, ev->watch.tick);
		return true;
	case EV_DONE:
	case EV_ERROR:
	default:
		return false;
	}
}

/* ---- setup -------------------------------------------------------------- */

/*
 * Signals stallwatch catches instead of dying of (handler: on_signal_handler):
 * SIGUSR1/SIGHUP/SIGUSR2 (reopen, reload, summary: ours everywhere), and
 * every other catchable signal, which `run` forwards to the command when it
 * was sent to stallwatch alone. A signal the caller had blocked stays
 * blocked and unread (strace's interactive_block case: the caller meant to
 * hold it).
 */
static int setup_signals(struct tracer_loop *ctx, const sigset_t *caller_mask)
{
	/*
	 * Synchronous faults stay fatal; stop signals are job control (below);
	 * SIGCONT is never forwarded: the shell's `fg` sends it to the whole
	 * process group, the command included.
	 */
	static const int not_handled[] = { SIGKILL, SIGSTOP, SIGSEGV, SIGBUS,  SIGILL, SIGFPE,
					   SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE, SIGCONT };
	static const int ignored[] = { SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE };
	struct sigaction ign = { .sa_handler = SIG_IGN }, act = {};
	struct sigevent sev = {};
	sigset_t unblock;

	sigemptyset(&ctx->handled);
	for (int sig = 1; sig < NSIG; sig++) {
		bool skip = false;

		for (size_t i = 0; i < ARRAY_SIZE(not_handled); i++)
			skip |= sig == not_handled[i];
		/* watch: the proc connector's SIGIO is ours, whatever the caller blocked */
		if (sig == SIGIO && ctx->mode == MODE_WATCH) {
			sigaddset(&ctx->handled, sig);
			continue;
		}
		/* glibc reserves 32 and 33 for its threads; sigaddset refuses them */
		if (skip || (sig == SIGCHLD && !ctx->signals.catch_sigchld) ||
		    sigismember(caller_mask, sig))
			continue;
		sigaddset(&ctx->handled, sig);
	}
	/*
	 * Job control: the terminal's SIGTSTP must not stop us before the
	 * command (we would leave it half-stopped); we stop after it instead.
	 * SIGPIPE: a closed log pipe is a sink error, not our death.
	 */
	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
		sigaction(ignored[i], &ign, NULL);

	/* no SA_RESTART: the signal must end the blocking wait4() with EINTR */
	act.sa_sigaction = on_signal_handler;
	act.sa_flags = SA_SIGINFO;
	act.sa_mask = ctx->handled; /* handlers never nest */
	sigaddset(&act.sa_mask, SIGRTMIN);

	ctx->signals.self_pid = ctx->self_pid;
	ctx->signals.command_pid = ctx->command_pid;
	ctx->signals.command_alive = ctx->mode == MODE_RUN && !ctx->command_exited;
	ctx->signals.drop_terminal_signals = ctx->mode == MODE_RUN;
	sigstate = &ctx->signals;
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN;
	sev.sigev_value.sival_int = TIMER_TAG_DEADLINE;
	if (timer_create(CLOCK_MONOTONIC, &sev, &ctx->signals.deadline_timer) < 0)
		return -errno;
	sev.sigev_value.sival_int = TIMER_TAG_KICK;
	if (timer_create(CLOCK_MONOTONIC, &sev, &ctx->signals.kick_timer) < 0) {
		int r = -errno;

		timer_delete(ctx->signals.deadline_timer);
		return r;
	}
	ctx->signals.timers_created = true;

	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&ctx->handled, sig) == 1)
			sigaction(sig, &act, NULL);
	/* our timers' signal, even if the caller blocked SIGRTMIN */
	sigaction(SIGRTMIN, &act, NULL);
	/* what the caller left unblocked, and cli/ may have held back meanwhile */
	unblock = ctx->handled;
	sigaddset(&unblock, SIGRTMIN);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
	return 0;
}

static void teardown_signals(struct tracer_loop *ctx)
{
	if (!ctx->signals.timers_created)
		return;
	/* deleting a timer also drops its queued signal (kernel/signal.c sigqueue_free) */
	timer_delete(ctx->signals.kick_timer);
	timer_delete(ctx->signals.deadline_timer);
	ctx->signals.timers_created = false;
}

/* The command owns our stdin/stdout: don't hold its pipes (strace's startup_child). */
static void release_stdio(void)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (devnull < 0)
		return;
	dup3(devnull, STDIN_FILENO, O_CLOEXEC);
	dup3(devnull, STDOUT_FILENO, O_CLOEXEC);
	if (devnull > STDERR_FILENO)
		close(devnull);
}

static struct tracer_loop *loop_new(enum tracer_mode mode, const struct policy *policy,
				    struct recorder *recorder, struct summary *summary,
				    void (*warn_fn)(void *opaque, const char *line),
				    void *warn_opaque, struct sw_error *err)
{
	struct tracer_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->mode = mode;
	loop->error = err;
	loop->fail_fd = -1;
	loop->self_pid = getpid();
	loop->lc.warn = warn_fn;
	loop->lc.warn_opaque = warn_opaque;
	loop->lc.ensure_timer = ensure_timer_cb;
	loop->lc.timer_opaque = loop;
	loop->lc.summary = summary;
	loop->lc.durations = recorder_wants_durations(recorder);
	if (lifecycle_init(&loop->lc, policy, recorder, NULL) < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

static void reload_init(struct tracer_loop *loop, struct policy *(*build)(void *opaque),
			void (*done)(void *opaque, struct policy *np, bool adopted), void *opaque)
{
	loop->reloader = (struct reloader){
		.build = build, .opaque = opaque, .wake = reload_wake, .wake_opaque = loop
	};
	loop->reload_done = done;
	loop->reload_opaque = opaque;
}

/* The loop ended: a load still running is waited for and its policy dropped. */
static void loop_free(struct tracer_loop *loop)
{
	struct policy *np = reloader_finish(&loop->reloader);

	if (np && loop->reload_done)
		loop->reload_done(loop->reload_opaque, np, false);
	/* before teardown_signals(): the loader kicks the timer */
	if (loop->backend)
		loop->backend->ops->destroy(loop->backend);
	watcher_free(loop->watcher);
	hostctx_free(loop->lc.hostctx);
	lifecycle_done(&loop->lc);
	if (loop->fail_fd >= 0)
		close(loop->fail_fd);
	teardown_signals(loop);
	sigstate = NULL;
	free(loop);
}

static void loop_freep(struct tracer_loop **loop)
{
	if (*loop)
		loop_free(*loop);
}

static void result_from_status(struct tracer_loop *loop, struct tracer_result *ret)
{
	struct spawn_failure failure = {};

	ret->stats = loop->lc.stats;
	if (!loop->command_execed &&
	    read(loop->fail_fd, &failure, sizeof(failure)) == (ssize_t)sizeof(failure)) {
		ret->outcome = TRACER_EXEC_FAILED;
		ret->code = failure.err;
		ret->failed_stage = failure.stage;
		return;
	}
	if (WIFSIGNALED(loop->command_status)) {
		ret->outcome = TRACER_SIGNALED;
		ret->code = WTERMSIG(loop->command_status);
	} else {
		ret->outcome = TRACER_EXITED;
		ret->code = WEXITSTATUS(loop->command_status);
	}
}

int loop_attach_each(const struct tracer_attach_options *opts,
		     int (*one)(void *backend, pid_t pid, char *comm, size_t comm_size,
				struct sw_error *err),
		     void *backend, struct sw_error *err)
{
	size_t attached = 0;

	for (size_t i = 0; i < opts->n_pids; i++) {
		struct sw_error perr = {};
		char comm[PROCINFO_COMM_MAX] = "";
		int n = one(backend, opts->pids[i], comm, sizeof(comm), &perr);

		if (n < 0) {
			if (opts->failed)
				opts->failed(opts->opaque, &perr);
			sw_error_set(err, n, "%s", perr.msg);
			continue;
		}
		attached++;
		if (opts->attached)
			opts->attached(opts->opaque, opts->pids[i], comm, n);
	}
	if (!attached)
		return err->code ? err->code : -ESRCH;
	sw_error_clear(err);
	return (int)attached;
}

static void run_loop(struct tracer_loop *loop)
{
	int r;

	/*
	 * Host context of records (stallwatch.host): its worker thread starts
	 * here, after the command was forked; without it records just lack it.
	 */
	r = hostctx_new(&loop->lc.policy->scan, &loop->lc.hostctx);
	if (r < 0)
		lifecycle_warn(&loop->lc, "no host context in records: %s", strerror(-r));
	lifecycle_sample_sched(&loop->lc, sw_mono_ns());
	/* a backend with periodic work gets its first tick at once */
	if (loop->backend->ops->tick)
		loop_ensure_timer(loop, sw_mono_ns());
	while (dispatch(loop, next_event(loop)))
		;
}

/*
 * auto could not use a backend: "WHAT: WHY: STRERROR" appended to the
 * reason cli/ prints, "; " between two.
 */
static void add_fallback_reason(struct tracer_result *ret, const char *what,
				const struct sw_error *err)
{
	size_t len = strlen(ret->fallback_reason);

	snprintf(ret->fallback_reason + len, sizeof(ret->fallback_reason) - len, "%s%s: %s: %s",
		 len ? "; " : "", what, err->msg, strerror(-err->code));
}

/*
 * bpf first (auto and bpf). Returns 1 when auto should try the next
 * backend: the kernel refused the programs before anything was forked,
 * attached or watched, and nothing stays loaded (loop.h).
 */
static int try_bpf(struct tracer_loop *loop, enum tracer_backend asked, int r,
		   struct tracer_result *ret, struct sw_error *err)
{
	if (r == 0) {
		ret->backend_used = TRACER_BACKEND_BPF;
		return 0;
	}
	if (loop->backend)
		return r; /* the programs were in: a failure of its own, not the kernel's refusal */
	if (asked == TRACER_BACKEND_BPF)
		return sw_error_prefix(err, "--backend=bpf");
	add_fallback_reason(ret, "bpf unavailable", err);
	sw_error_clear(err);
	return 1;
}

/*
 * run's backend: the one asked for, or (auto) bpf where the kernel allows
 * it, else ptrace, else notify when ptrace is refused before anything ran
 * (EPERM from PTRACE_SEIZE: a seccomp profile or LSM that denies ptrace,
 * Yama scope 3). Every fallback happens before the command runs.
 */
static int start_backend(struct tracer_loop *loop, const struct tracer_run_options *opts,
			 struct tracer_result *ret, struct sw_error *err)
{
	int r;

	ret->fallback_reason[0] = 0;
	if (opts->backend == TRACER_BACKEND_BPF || opts->backend == TRACER_BACKEND_AUTO) {
		r = try_bpf(loop, opts->backend, bpf_backend_run(loop, opts, &loop->backend, err),
			    ret, err);
		if (r <= 0)
			return r;
	}
	if (opts->backend != TRACER_BACKEND_NOTIFY) {
		r = ptrace_backend_run(loop, opts, &loop->backend, err);
		if (r == 0) {
			ret->backend_used = TRACER_BACKEND_PTRACE;
			return 0;
		}
		if (opts->backend == TRACER_BACKEND_PTRACE || r != -EPERM)
			return r;
		add_fallback_reason(
			ret, "ptrace refused",
			&(struct sw_error){ .code = -EPERM, .msg = "EPERM from PTRACE_SEIZE" });
		sw_error_clear(err);
	}
	r = notify_backend_run(loop, opts, &loop->backend, err);
	if (r == 0)
		ret->backend_used = TRACER_BACKEND_NOTIFY;
	return r;
}

int tracer_run(const struct tracer_run_options *opts, struct tracer_result *ret,
	       struct sw_error *err)
{
	_cleanup_(loop_freep) struct tracer_loop *loop =
		loop_new(MODE_RUN, opts->policy, opts->recorder, opts->summary, opts->warn,
			 opts->warn_opaque, err);
	sigset_t caller_mask;
	int r;

	if (!loop)
		return sw_error_set(err, -ENOMEM, "out of memory");
	reload_init(loop, opts->reload_build, opts->reload_done, opts->reload_opaque);
	policy_traced_set(opts->policy, &loop->filter_set);

	/* The fork happens before any signal setup of ours: the command inherits the caller's. */
	sigprocmask(SIG_SETMASK, NULL, &caller_mask);
	r = start_backend(loop, opts, ret, err);
	if (r < 0)
		return r;
	if (opts->backend_chosen)
		opts->backend_chosen(opts->backend_chosen_opaque, ret);
	r = setup_signals(loop, &caller_mask);
	if (r < 0)
		return sw_error_set(err, r, "signal setup");
	release_stdio();
	/*
	 * No writer thread yet: the first record starts it (after the fork, so
	 * the command was forked single-threaded), and it ends when idle
	 * (record/output.h).
	 */
	run_loop(loop);
	if (!loop->done) {
		/* stallwatch failed; the backend takes the command down with us */
		r = err->code ? err->code : -EIO;
		for (size_t i = 0; i < loop->lc.tracees.capacity; i++) {
			struct tracee *t = tracee_at(&loop->lc.tracees, i);

			if (t)
				lifecycle_gone(&loop->lc, t, sw_mono_ns());
		}
		return r;
	}
	result_from_status(loop, ret);
	return 0;
}

int tracer_attach(const struct tracer_attach_options *opts, struct tracer_result *ret,
		  struct sw_error *err)
{
	_cleanup_(loop_freep) struct tracer_loop *loop =
		loop_new(MODE_ATTACH, opts->policy, opts->recorder, opts->summary, opts->warn,
			 opts->opaque, err);
	sigset_t caller_mask;
	int r;

	if (!loop)
		return sw_error_set(err, -ENOMEM, "out of memory");
	reload_init(loop, opts->reload_build, opts->reload_done, opts->reload_opaque);

	/* before seizing anything, so a Ctrl-C during a long attach detaches cleanly */
	if (opts->caller_mask)
		caller_mask = *opts->caller_mask;
	else
		sigprocmask(SIG_SETMASK, NULL, &caller_mask);
	r = setup_signals(loop, &caller_mask);
	if (r < 0)
		return sw_error_set(err, r, "signal setup");
	/* auto: bpf where the kernel allows it, else ptrace, chosen before any target is touched */
	ret->fallback_reason[0] = 0;
	if (opts->backend == TRACER_BACKEND_BPF || opts->backend == TRACER_BACKEND_AUTO) {
		r = try_bpf(loop, opts->backend,
			    bpf_backend_attach(loop, opts, &loop->backend, err), ret, err);
		if (r < 0)
			return r;
	}
	if (!loop->backend) {
		ret->backend_used = TRACER_BACKEND_PTRACE;
		if (opts->backend_chosen)
			opts->backend_chosen(opts->opaque, ret);
		r = ptrace_backend_attach(loop, opts, &loop->backend, err);
		if (r < 0)
			return r;
	}
	run_loop(loop);
	if (!loop->done && !loop->detaching)
		return err->code ? err->code : -EIO;
	ret->outcome = TRACER_EXITED;
	ret->code = 0;
	ret->stats = loop->lc.stats;
	return 0;
}

/*
 * wake_tick() for tracer_watch_options.tick_waker, from any thread: a flag
 * and the kick timer (timer_settime(2) is async-signal-safe and
 * thread-safe); the timer's signal interrupts the backend's sleep like any
 * of ours, and next_event() turns the flag into EV_WATCH. Must not be
 * called once tracer_watch() returned.
 */
static void loop_wake_tick(void *opaque)
{
	struct tracer_loop *loop = opaque;

	__atomic_store_n(&loop->tick_woken, 1, __ATOMIC_RELEASE);
	kick_in(loop->signals.kick_timer, 1);
}

/* watch's backend: bpf (auto, bpf), else ptrace (auto fell back, or ptrace asked for). */
static int start_watch_backend(struct tracer_loop *loop, const struct tracer_watch_options *opts,
			       struct tracer_result *ret, struct sw_error *err)
{
	int r;

	ret->fallback_reason[0] = 0;
	if (opts->backend == TRACER_BACKEND_BPF || opts->backend == TRACER_BACKEND_AUTO) {
		r = try_bpf(loop, opts->backend, bpf_backend_watch(loop, opts, &loop->backend, err),
			    ret, err);
		if (r <= 0)
			return r;
	}
	if (opts->host_wide)
		return sw_error_set(err, -EINVAL,
				    "watch: rules without targets (host-wide) need --backend=bpf; "
				    "%s",
				    ret->fallback_reason[0] ? ret->fallback_reason :
							      "ptrace cannot watch every process");
	ret->backend_used = TRACER_BACKEND_PTRACE;
	if (opts->backend_chosen)
		opts->backend_chosen(opts->opaque, ret);
	return ptrace_backend_watch(loop, opts, &loop->backend, err);
}

int tracer_watch(const struct tracer_watch_options *opts, struct tracer_result *ret,
		 struct tracer_watch_stats *stats, struct sw_error *err)
{
	_cleanup_(loop_freep) struct tracer_loop *loop = NULL;
	sigset_t caller_mask;
	int r;

	memset(stats, 0, sizeof(*stats));
	if (!opts->select)
		return sw_error_set(err, -EINVAL, "watch: no select()");
	if (opts->host_wide && opts->backend != TRACER_BACKEND_BPF &&
	    opts->backend != TRACER_BACKEND_AUTO)
		return sw_error_set(err, -EINVAL,
				    "watch: rules without targets (host-wide) need --backend=bpf; "
				    "ptrace cannot watch every process");
	loop = loop_new(MODE_WATCH, opts->policy, opts->recorder, NULL, opts->warn, opts->opaque,
			err);
	if (!loop)
		return sw_error_set(err, -ENOMEM, "out of memory");
	reload_init(loop, opts->reload_build, opts->reload_done, opts->reload_opaque);
	if (opts->caller_mask)
		caller_mask = *opts->caller_mask;
	else
		sigprocmask(SIG_SETMASK, NULL, &caller_mask);
	r = setup_signals(loop, &caller_mask);
	if (r < 0)
		return sw_error_set(err, r, "signal setup");
	/* the connector first: no programs loaded, no target touched when it is refused */
	loop->watch_stats = stats;
	r = watcher_new(loop, opts, stats, &loop->watcher, err);
	if (r < 0)
		return r;
	r = start_watch_backend(loop, opts, ret, err);
	if (r < 0)
		return r;
	if (!loop->backend->ops->watch_add || !loop->backend->ops->watch_release)
		return sw_error_set(err, -EINVAL, "watch: the %s backend cannot watch",
				    loop->backend->ops->name);
	r = watcher_arm(loop->watcher, err);
	if (r < 0)
		return r;
	if (opts->tick_waker)
		opts->tick_waker(opts->opaque, loop_wake_tick, loop);
	watcher_start(loop->watcher, ret);
	/* whatever the connector queued during the first pass */
	loop->signals.io_ready = 1;
	loop->signals.pending = 1;
	run_loop(loop);
	if (!loop->done && !loop->detaching)
		return err->code ? err->code : -EIO;
	ret->outcome = TRACER_EXITED;
	ret->code = 0;
	ret->stats = loop->lc.stats;
	return 0;
}
