/* SPDX-License-Identifier: MIT */
/*
 * notify.c - the seccomp user-notification backend of `run`
 * (--backend=notify; seccomp_unotify(2)).
 *
 * The command runs under a filter whose watched calls wait for stallwatch's
 * answer on a listener fd (notify_spawn.h). stallwatch answers CONTINUE at
 * once - the command waits for us, so nothing is read, allocated or
 * formatted before the answer - and only then tells the lifecycle that the
 * call entered. Nothing ever stops at an exit, so a watched call costs one
 * wake-up instead of ptrace's two stops; the price is that an end is never
 * seen, only bracketed:
 *   - the thread's next notification proves its previous call over;
 *   - at a deadline, the lifecycle asks probe_ask() whether the call is
 *     still in flight: /proc/TID/syscall (pread of a kept fd) showing the
 *     same nr, args and pc is exact (the file prints them only for a thread
 *     that is not running: fs/proc/base.c, proc_pid_syscall()); "running"
 *     is decided with CPU time (user time grew: it returned; only system
 *     time grew: still in the kernel, approximately); without access to
 *     /proc/TID/syscall (Yama scope 3, a non-dumpable command), the thread's
 *     state and wchan stand in, approximately;
 *   - after a stuck record the lifecycle asks again every threshold/8.
 * No return value is ever known.
 *
 * The command and its descendants are watched as long as any of them runs:
 * the listener polls POLLHUP once no task uses the filter any more
 * (kernel/seccomp.c, seccomp_notify_poll()), which needs the command reaped:
 * its pidfd polls readable when it exits, SIGCHLD says when it stops.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/timeutil.h"
#include "loop.h"
#include "notify_spawn.h"
#include "procevidence.h"
#include "procinfo.h"
#include "unotify.h"

/* "running": how long to let CPU time tick before deciding (4 ms ticks at HZ=250) */
#define CPU_SAMPLE_MIN_NS (20 * NSEC_PER_MSEC)

struct notify_backend {
	struct backend base;
	struct tracer_loop *loop;
	struct lifecycle *lc;
	struct notify_child child;
	struct inflight_probe probe;
	bool reaped; /* the command's exit status is in the loop */
	bool hangup; /* no task uses the filter any more */
};

/* ---- still in flight? --------------------------------------------------- */

static bool same_call(const struct traced_call *call, const struct proc_syscall *ps)
{
	return ps->nr >= 0 && (uint64_t)ps->nr == call->nr &&
	       !memcmp(ps->args, call->args, sizeof(ps->args)) && (!call->pc || ps->pc == call->pc);
}

/*
 * "running" (user space or kernel alike): CPU time decides, against a
 * sample taken at least CPU_SAMPLE_MIN_NS earlier in this call.
 */
static enum inflight_answer by_cpu_time(struct tracee *t, uint64_t now_ns,
					enum call_evidence *ret_evidence,
					enum call_end_seen *ret_seen, uint64_t *ret_again_ns)
{
	uint64_t utime, stime;
	char state;
	int r;

	r = procinfo_thread_stat(t->tid, &state, &utime, &stime);
	if (r < 0) {
		*ret_seen = END_SEEN_THREAD_EXIT;
		return INFLIGHT_NO;
	}
	if (!t->probe.sample_ns) {
		t->probe.sample_ns = now_ns;
		t->probe.utime = utime;
		t->probe.stime = stime;
		if (*ret_again_ns < now_ns + CPU_SAMPLE_MIN_NS)
			*ret_again_ns = now_ns + CPU_SAMPLE_MIN_NS;
		return INFLIGHT_UNSURE;
	}
	if (utime > t->probe.utime) {
		*ret_seen = END_SEEN_CPU_TIME; /* back in user space: it returned */
		return INFLIGHT_NO;
	}
	if (stime > t->probe.stime) {
		t->probe.stime = stime;
		*ret_evidence = EVIDENCE_CPU_TIME;
		return INFLIGHT_LIKELY;
	}
	/* ran too briefly to tick: look again */
	if (*ret_again_ns < now_ns + CPU_SAMPLE_MIN_NS)
		*ret_again_ns = now_ns + CPU_SAMPLE_MIN_NS;
	return INFLIGHT_UNSURE;
}

/* /proc/TID/syscall unreadable: asleep in the kernel counts as still in the call. */
static enum inflight_answer by_state(struct tracee *t, uint64_t now_ns,
				     enum call_evidence *ret_evidence, enum call_end_seen *ret_seen,
				     uint64_t *ret_again_ns)
{
	uint64_t utime, stime;
	char state;

	if (procinfo_thread_stat(t->tid, &state, &utime, &stime) < 0) {
		*ret_seen = END_SEEN_THREAD_EXIT;
		return INFLIGHT_NO;
	}
	if (state == 'S' || state == 'D') {
		*ret_evidence = EVIDENCE_STATE;
		return INFLIGHT_LIKELY;
	}
	if (state == 'Z' || state == 'X') {
		*ret_seen = END_SEEN_THREAD_EXIT;
		return INFLIGHT_NO;
	}
	return by_cpu_time(t, now_ns, ret_evidence, ret_seen, ret_again_ns);
}

static enum inflight_answer look(struct tracee *t, uint64_t now_ns,
				 enum call_evidence *ret_evidence, enum call_end_seen *ret_seen,
				 uint64_t *ret_again_ns)
{
	struct proc_syscall ps;
	int r;

	if (t->probe.syscall_fd < 0 && !t->probe.syscall_refused) {
		r = procinfo_open_syscall(t->tid);
		if (r == -ESRCH || r == -ENOENT) {
			*ret_seen = END_SEEN_THREAD_EXIT;
			return INFLIGHT_NO;
		}
		if (r < 0)
			t->probe.syscall_refused = true;
		else
			t->probe.syscall_fd = r;
	}
	if (t->probe.syscall_refused)
		return by_state(t, now_ns, ret_evidence, ret_seen, ret_again_ns);
	r = procinfo_read_syscall(t->probe.syscall_fd, &ps);
	if (r < 0) {
		*ret_seen = END_SEEN_THREAD_EXIT;
		return INFLIGHT_NO;
	}
	switch (ps.kind) {
	case PS_IN_SYSCALL:
		if (same_call(&t->call, &ps)) {
			*ret_evidence = EVIDENCE_PROC_SYSCALL;
			return INFLIGHT_YES;
		}
		*ret_seen = END_SEEN_PROC_SAMPLE;
		return INFLIGHT_NO;
	case PS_RUNNING:
		return by_cpu_time(t, now_ns, ret_evidence, ret_seen, ret_again_ns);
	case PS_NOT_IN_SYSCALL:
	default:
		*ret_seen = END_SEEN_PROC_SAMPLE;
		return INFLIGHT_NO;
	}
}

static enum inflight_answer probe_ask(void *opaque, struct tracee *t, uint64_t now_ns,
				      enum call_evidence *ret_evidence,
				      enum call_end_seen *ret_seen, uint64_t *ret_again_ns)
{
	struct notify_backend *nb = opaque;
	enum inflight_answer answer = look(t, now_ns, ret_evidence, ret_seen, ret_again_ns);
	uint64_t utime, stime;
	char state;

	/*
	 * The command's main thread gone, its process not yet reaped: its
	 * exit status will say whether the call died in flight (reap_command).
	 */
	if (answer == INFLIGHT_NO && t->tid == nb->child.pid && !nb->reaped &&
	    (procinfo_thread_stat(t->tid, &state, &utime, &stime) < 0 || state == 'Z' ||
	     state == 'X'))
		return INFLIGHT_UNSURE;
	return answer;
}

static bool probe_alive(void *opaque, const struct tracee *t)
{
	char path[32];

	(void)opaque;
	/* /proc/TID exists for every thread, listed or not */
	snprintf(path, sizeof(path), "/proc/%d", t->tid);
	return access(path, F_OK) == 0;
}

/* ---- notifications ---------------------------------------------------------- */

/* Receive one notification, answer it at once, queue what it said. */
static int take_notification(struct notify_backend *nb)
{
	struct seccomp_notif req;
	struct event ev = { .kind = EV_BACKEND };
	int r;

	r = unotify_recv(nb->child.listener_fd, &req);
	if (r == -EINTR || r == -ENOENT)
		return 0; /* a signal to us; or the caller went away before we took it */
	if (r < 0)
		return sw_error_set(nb->loop->error, r, "receiving a seccomp notification");
	ev.ts_ns = sw_mono_ns();
	/* the command waits for this answer: nothing before it */
	r = unotify_continue(nb->child.listener_fd, req.id);
	ev.notif.tid = (pid_t)req.pid;
	ev.notif.arch = req.data.arch;
	ev.notif.nr = (uint64_t)(uint32_t)req.data.nr;
	memcpy(ev.notif.args, req.data.args, sizeof(ev.notif.args));
	ev.notif.pc = req.data.instruction_pointer;
	/* ENOENT: a signal interrupted the caller before our answer (counted, not an error) */
	ev.notif.interrupted = r == -ENOENT;
	loop_push(nb->loop, &ev);
	return 0;
}

static void reap_command(struct notify_backend *nb, bool stops)
{
	struct call_end end;
	struct tracee *t;
	int status;

	if (nb->reaped || !loop_reap_command(nb->loop, stops, &status))
		return;
	nb->reaped = true;
	/*
	 * The command's main thread: a death by signal says its call did not
	 * return (ptrace would report it stuck only); a normal exit says it
	 * ended by now (returned, or with its thread group).
	 */
	t = tracee_find(&nb->lc->tracees, nb->child.pid);
	if (!t || t->call_state == CALL_NONE)
		return;
	if (WIFSIGNALED(status)) {
		lifecycle_died(nb->lc, t);
		return;
	}
	end = (struct call_end){ .lo_ns = t->call.proven_in_ns,
				 .hi_ns = sw_mono_ns(),
				 .seen = END_SEEN_THREAD_EXIT,
				 .approximate = true };
	lifecycle_ended(nb->lc, t, &end);
}

/* Nothing uses the filter and the command is reaped: the run is over. */
static int nt_done(struct notify_backend *nb)
{
	lifecycle_all_ended(nb->lc, sw_mono_ns());
	nb->loop->done = true;
	return 0;
}

static int nt_gather(struct backend *b, bool block)
{
	struct notify_backend *nb = (struct notify_backend *)b;
	struct tracer_loop *loop = nb->loop;
	struct pollfd pfd[2] = {
		{ .fd = nb->child.listener_fd, .events = POLLIN },
		{ .fd = nb->reaped ? -1 : nb->child.pidfd, .events = POLLIN },
	};
	int timeout = block ? -1 : 0;

	for (;;) {
		int r;

		/*
		 * First: the listener may hang up before the command is reaped
		 * (then SIGCHLD reaps it, outside this loop), and with both
		 * fds done poll() would sleep for ever.
		 */
		if (nb->hangup && nb->reaped)
			return nt_done(nb);
		if (loop_batch_full(loop)) {
			loop->need_drain = true;
			return 0;
		}
		/* after POLLHUP the listener has nothing more to say: wait for the command's exit */
		pfd[0].fd = nb->hangup ? -1 : nb->child.listener_fd;
		pfd[1].fd = nb->reaped ? -1 : nb->child.pidfd;
		r = poll(pfd, 2, timeout);
		if (r < 0)
			return errno == EINTR ? 0 : sw_error_set(loop->error, -errno, "poll");
		loop->need_drain = false;
		if (r == 0)
			return nb->hangup && nb->reaped ? nt_done(nb) : 0;
		if (pfd[1].revents)
			reap_command(nb, false);
		if (pfd[0].revents & POLLIN) {
			r = take_notification(nb);
			if (r < 0)
				return r;
		} else if (pfd[0].revents & (POLLHUP | POLLERR)) {
			/* no task uses the filter any more: the command and its descendants are gone */
			nb->hangup = true;
		}
		/* one notification per sleep; what else is ready is taken without sleeping */
		if (block)
			return nb->hangup && nb->reaped ? nt_done(nb) : 0;
		timeout = 0;
	}
}

static void nt_handle(struct backend *b, const struct event *ev)
{
	struct notify_backend *nb = (struct notify_backend *)b;
	struct tracer_loop *loop = nb->loop;
	struct tracee *t = lifecycle_thread(nb->lc, ev->notif.tid);
	struct call_entry e = {
		.arch = ev->notif.arch, .nr = ev->notif.nr, .pc = ev->notif.pc, .ts_ns = ev->ts_ns
	};
	bool exec;

	(void)loop;
	if (!t)
		return;
	nb->lc->stats.stops++;
	memcpy(e.args, ev->notif.args, sizeof(e.args));
	lifecycle_entered(nb->lc, t, &e);
	if (ev->notif.interrupted) {
		nb->lc->stats.notify_interrupted++;
		lifecycle_interrupted(nb->lc, t, ev->ts_ns);
	}
	exec = call_is(&t->call, nb->lc->execve_nr) || call_is(&t->call, nb->lc->execveat_nr);
	if (!exec)
		return;
	/* what follows runs the new image: comm, exe and cmdline change */
	free(t->info);
	t->info = NULL;
	/*
	 * Our own steps before it (close, uid change) are not the command's.
	 * command_execed stays false: if this execve fails, the failure pipe
	 * says why (an exec closes it: result_from_status() then reads EOF).
	 */
	if (t->tid == loop->command_pid)
		t->pre_exec = false;
}

/* SIGCHLD: the command stopped (Ctrl-Z) or exited. */
static void nt_child_changed(struct backend *b)
{
	reap_command((struct notify_backend *)b, true);
}

static void nt_destroy(struct backend *b)
{
	struct notify_backend *nb = (struct notify_backend *)b;

	/*
	 * Ending with the command still running means stallwatch failed: the
	 * listener closes with us and its watched calls would fail with ENOSYS,
	 * so it is killed, as the ptrace backend's EXITKILL would.
	 */
	if (!nb->reaped && nb->child.pid > 0) {
		int status;

		kill(nb->child.pid, SIGKILL);
		waitpid(nb->child.pid, &status, 0);
	}
	notify_child_close(&nb->child);
	free(nb);
}

static const struct backend_ops notify_ops = {
	.name = RECORD_BACKEND_NOTIFY,
	.gather = nt_gather,
	.handle = nt_handle,
	.child_changed = nt_child_changed,
	.destroy = nt_destroy,
};

int notify_backend_run(struct tracer_loop *loop, const struct tracer_run_options *opts,
		       struct backend **ret, struct sw_error *err)
{
	struct notify_backend *nb = calloc(1, sizeof(*nb));
	struct tracee *command;
	int r;

	if (!nb)
		return sw_error_set(err, -ENOMEM, "out of memory");
	nb->base.ops = &notify_ops;
	nb->base.loop = loop;
	nb->loop = loop;
	nb->lc = &loop->lc;
	nb->probe = (struct inflight_probe){ .ask = probe_ask, .alive = probe_alive, .opaque = nb };
	loop->lc.probe = &nb->probe;
	loop->lc.backend_name = notify_ops.name;
	loop->lc.evidence = &procevidence_source;
	loop->signals.catch_sigchld = true;
	/*
	 * A notification is the call's entry: its result never comes
	 * (doc/policy.md). Said when a policy file asked for the detector; the
	 * built-in default enables it only where a backend can count.
	 */
	if (opts->policy->enoent.enabled && !opts->policy->enoent.by_default)
		lifecycle_warn(&loop->lc,
			       "enoent_storms: not detected under --backend=notify, which sees "
			       "calls enter but never their results (use --backend=ptrace or bpf)");
	r = notify_spawn(opts, &opts->policy->watched, &nb->child, err);
	if (r < 0) {
		free(nb);
		return r;
	}
	/*
	 * Measured here (per watched getppid, poll + receive + CONTINUE):
	 * 36-45 us when the command and stallwatch wake each other across
	 * CPUs, 5.2-5.9 us on one CPU or with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
	 * (6.6+), which wakes the command on the answering CPU. The price: a
	 * thread that makes a watched call moves to our CPU (the load balancer
	 * moves it back). STALLWATCH_NO_SYNC_WAKEUP=1 turns it off (bench/run.sh
	 * shows both). Before 6.6 the flag is refused: nothing else changes.
	 */
	if (!getenv("STALLWATCH_NO_SYNC_WAKEUP"))
		unotify_set_sync_wakeup(nb->child.listener_fd, true);
	loop->command_pid = nb->child.pid;
	loop->fail_fd = nb->child.fail_fd;
	nb->child.fail_fd = -1; /* the loop reads and closes it */
	command = lifecycle_thread(&loop->lc, loop->command_pid);
	if (!command) {
		*ret = &nb->base; /* destroy kills the command */
		return sw_error_set(err, -ENOMEM, "out of memory");
	}
	command->pre_exec = true;
	*ret = &nb->base;
	return 0;
}
