/* SPDX-License-Identifier: MIT */
/*
 * ptrace.c - the ptrace backend: stops, for `run` and `attach`.
 *
 * run: the command runs under a seccomp prefilter (filter.h) whose watched
 * calls stop in PTRACE_EVENT_SECCOMP; only those are then resumed with
 * PTRACE_SYSCALL to see their exit. attach: every call of every seized
 * thread stops twice (no filter can be put into a running process).
 *
 * Hot path of a call below its threshold: seccomp stop -> clock read +
 * PTRACE_GET_SYSCALL_INFO + PTRACE_SYSCALL; exit stop -> clock read +
 * PTRACE_GET_SYSCALL_INFO + PTRACE_CONT; a wait4(WNOHANG) drain per wake-up
 * while it finds something. Before sleeping, spin_wait() may poll for up to
 * 20 us while a CPU is spare (spin.h). The clock is read when the stop is
 * collected (the event's ts_ns): that is where a call's time is taken.
 *
 * Why a blocking wait4() and not poll() on a signalfd + timerfd: measured
 * here (bench/floor.c -p), the poll/signalfd wake-up path costs ~4 us per
 * watched call on a ~16 us floor (+25%), on every stop. A blocking wait4()
 * costs what the floor does; our signals and timer interrupt it (loop.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../common/timeutil.h"
#include "attach.h"
#include "filter.h"
#include "loop.h"
#include "procevidence.h"
#include "procinfo.h"
#include "spawn.h"
#include "spin.h"
#include "stop.h"

/* signal stops peeked this often with no resume that took are reaped (wait_next) */
#define PEEK_REPEATS_MAX 64
/* after this many empty drains, drain only every DRAIN_PROBE_EVERY-th stop */
#define DRAIN_MISSES_MAX 4
#define DRAIN_PROBE_EVERY 16

struct ptrace_backend {
	struct backend base;
	struct tracer_loop *loop;
	struct lifecycle *lc;
	bool follow_forks; /* attach -f (run always follows) */
	/* attach: the thread groups we trace (targets, and children with -f) */
	pid_t *tgids;
	size_t n_tgids, cap_tgids;
	/* drains after a blocking wait4 that found nothing in a row, and a probe counter */
	unsigned int drain_misses, drain_probe;
	struct spin spin; /* poll before sleeping, while a CPU is spare (spin.h) */
	/* attach: signal stops wait_next() handed out unreaped since a resume took */
	unsigned int unresumed_peeks;
	long seize_options; /* attach: PTRACE_O_* for every seized thread */
	/* watch: thread groups being let go (a new thread of one is detached quietly) */
	pid_t *releasing;
	size_t n_releasing, cap_releasing;
	uint64_t add_started_ns; /* watch: when the add under way began */
};

/* attach and watch: processes that were running before us, and must outlive us as they were */
static bool attaching(const struct ptrace_backend *pb)
{
	return pb->loop->mode != MODE_RUN;
}

/* ---- target bookkeeping (attach) ---------------------------------------- */

static bool traced_tgid(const struct ptrace_backend *pb, pid_t tgid)
{
	for (size_t i = 0; i < pb->n_tgids; i++)
		if (pb->tgids[i] == tgid)
			return true;
	return false;
}

static int add_tgid(struct ptrace_backend *pb, pid_t tgid)
{
	if (traced_tgid(pb, tgid))
		return 0;
	if (pb->n_tgids == pb->cap_tgids) {
		size_t cap = pb->cap_tgids ? pb->cap_tgids * 2 : 16;
		pid_t *n = realloc(pb->tgids, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		pb->tgids = n;
		pb->cap_tgids = cap;
	}
	pb->tgids[pb->n_tgids++] = tgid;
	return 0;
}

static void drop_tgid(struct ptrace_backend *pb, pid_t tgid)
{
	for (size_t i = 0; i < pb->n_tgids; i++)
		if (pb->tgids[i] == tgid) {
			pb->tgids[i] = pb->tgids[--pb->n_tgids];
			return;
		}
}

/*
 * attach: a stop from a pid we did not seize. A new thread of a traced
 * process (its own stop can beat its creator's clone event) or, with -f, a
 * child of one is ours; anything else is an unexpected tracee (a
 * CLONE_PTRACE or PTRACE_TRACEME child) and gets detached, as strace does.
 */
static bool in_list(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

static bool adopt_unknown(struct ptrace_backend *pb, pid_t pid, bool *ret_releasing)
{
	char path[64], status[4096];
	const char *tgid_s, *ppid_s;
	pid_t tgid, ppid;
	ssize_t n;
	int fd;

	if (!attaching(pb))
		return true; /* run follows everything: the filter demands it */
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, status, sizeof(status) - 1);
	close(fd);
	if (n <= 0)
		return false;
	status[n] = 0;
	tgid_s = strstr(status, "\nTgid:");
	ppid_s = strstr(status, "\nPPid:");
	if (!tgid_s || !ppid_s)
		return false;
	tgid = (pid_t)strtol(tgid_s + 6, NULL, 10);
	ppid = (pid_t)strtol(ppid_s + 6, NULL, 10);
	/* watch: a thread its process created while we let it go */
	*ret_releasing = in_list(pb->releasing, pb->n_releasing, tgid);
	if (*ret_releasing)
		return false;
	if (traced_tgid(pb, tgid))
		return true;
	if (pb->follow_forks && traced_tgid(pb, ppid))
		return add_tgid(pb, tgid) == 0;
	return false;
}

/* ---- stops ------------------------------------------------------------------ */

/* watch: t was held stopped by an add or a release since held_since_ns; now it is not */
static void held_until(struct ptrace_backend *pb, struct tracee *t, uint64_t now_ns)
{
	struct tracer_watch_stats *stats = pb->loop->watch_stats;

	if (!t->held_since_ns)
		return;
	if (stats && now_ns > t->held_since_ns && now_ns - t->held_since_ns > stats->stop_ns_max)
		stats->stop_ns_max = now_ns - t->held_since_ns;
	t->held_since_ns = 0;
}

static void resume(struct ptrace_backend *pb, struct tracee *t, int sig)
{
	/* Filtered mode: run freely (CONT) unless we wait for this call's exit stop. */
	int request =
		attaching(pb) || t->call_state == CALL_IN_FLIGHT ? PTRACE_SYSCALL : PTRACE_CONT;

	/* ESRCH: the tracee died meanwhile (SIGKILL); wait4() will tell. Normal. */
	if (ptrace(request, t->tid, 0, (void *)(long)sig) == 0)
		pb->unresumed_peeks = 0;
}

static void warn_at_entry(struct ptrace_backend *pb, struct tracee *t)
{
	const struct traced_call *call = &t->call;

	if (!attaching(pb) && call_is(call, pb->lc->clone_nr) && (call->args[0] & CLONE_UNTRACED))
		lifecycle_warn(
			pb->lc,
			"pid %d calls clone(CLONE_UNTRACED): the child escapes tracing and "
			"its watched syscalls fail with ENOSYS under the seccomp filter "
			"(known limitation of the ptrace backend; --backend=notify follows it)",
			t->tid);
}

static void warn_at_exit(struct ptrace_backend *pb, struct tracee *t, int64_t rval)
{
	const struct traced_call *call = &t->call;

	if (call_is(call, pb->lc->ptrace_nr) && rval == -EPERM && !t->warned_ptrace &&
	    (call->args[0] == PTRACE_TRACEME || call->args[0] == PTRACE_ATTACH ||
	     call->args[0] == PTRACE_SEIZE)) {
		t->warned_ptrace = true;
		lifecycle_warn(
			pb->lc,
			"pid %d: its own ptrace() failed with EPERM because stallwatch traces "
			"it (a task has one tracer): run debuggers and tracers under "
			"--backend=notify",
			t->tid);
	}
}

static void on_syscall_stop(struct ptrace_backend *pb, struct tracee *t, uint64_t now_ns)
{
	struct __ptrace_syscall_info info;
	struct call_entry e = { .ts_ns = now_ns };

	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof(info), &info) <= 0)
		return; /* ESRCH: died */
	e.arch = info.arch;
	switch (info.op) {
	case PTRACE_SYSCALL_INFO_SECCOMP:
		e.nr = info.seccomp.nr;
		memcpy(e.args, info.seccomp.args, sizeof(e.args));
		lifecycle_entered(pb->lc, t, &e);
		warn_at_entry(pb, t);
		break;
	case PTRACE_SYSCALL_INFO_ENTRY:
		/* attach mode stops at every call; all are paired, only watched ones timed */
		e.nr = info.entry.nr;
		memcpy(e.args, info.entry.args, sizeof(e.args));
		if (attaching(pb) ||
		    policy_threshold_ns(pb->lc->policy, info.arch, e.nr) != POLICY_UNWATCHED) {
			lifecycle_entered(pb->lc, t, &e);
			warn_at_entry(pb, t);
		}
		break;
	case PTRACE_SYSCALL_INFO_EXIT:
		if (t->call_state == CALL_IN_FLIGHT)
			warn_at_exit(pb, t, info.exit.rval);
		lifecycle_exited(pb->lc, t, now_ns, info.exit.rval);
		break;
	default:
		break;
	}
}

static void on_exec(struct ptrace_backend *pb, struct tracee *t, uint64_t now_ns)
{
	struct tracer_loop *loop = pb->loop;
	unsigned long former = 0;

	/*
	 * A non-leader thread exec'd: it now has the leader's pid and the old
	 * tid vanishes without an exit report (ptrace(2), "execve(2) under
	 * ptrace").
	 */
	if (ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &former) == 0 && (pid_t)former != t->tid)
		lifecycle_exec_took_over(pb->lc, t, tracee_find(&pb->lc->tracees, (pid_t)former),
					 now_ns);
	if (t->tid == loop->command_pid) {
		t->pre_exec = false;
		loop->command_execed = true;
	}
	/* a new image: comm, exe and cmdline changed */
	free(t->info);
	t->info = NULL;
}

/*
 * Detach at whatever stop the tracee reports (strace NEWS 6.7: never a
 * blocking wait on one tracee at a time): a call that completed is still
 * reported; one cut by our interrupt (-ERESTART*) is not a completed call
 * and the kernel restarts it after the detach; a signal being delivered is
 * handed back in PTRACE_DETACH; a group-stopped tracee stays stopped (T).
 */
static void detach_at_stop(struct ptrace_backend *pb, struct tracee *t, enum stop_kind kind,
			   int sig, uint64_t now_ns)
{
	struct __ptrace_syscall_info info;
	int pass = 0;

	if (kind == STOP_SYSCALL &&
	    ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof(info), &info) > 0 &&
	    info.op == PTRACE_SYSCALL_INFO_EXIT)
		lifecycle_exited(pb->lc, t, now_ns, info.exit.rval);
	if (kind == STOP_SIGNAL)
		pass = sig;
	if (ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)pass) == 0)
		pb->unresumed_peeks = 0;
	held_until(pb, t, sw_mono_ns());
	lifecycle_forget(pb->lc, t);
}

static void on_wait(struct ptrace_backend *pb, pid_t pid, int status, uint64_t ts_ns)
{
	struct tracer_loop *loop = pb->loop;
	int sig, event, inject = 0;
	enum stop_kind kind = stop_classify(status, &sig, &event);
	struct tracee *t = tracee_find(&pb->lc->tracees, pid);
	bool releasing = false;
	unsigned long msg;

	pb->lc->stats.stops++;
	if (kind == STOP_EXITED || kind == STOP_KILLED) {
		if (t) {
			lifecycle_gone(pb->lc, t, ts_ns);
			lifecycle_forget(pb->lc, t);
		}
		if (pid == loop->command_pid)
			loop_command_ended(loop, status);
		return;
	}
	if (kind == STOP_UNKNOWN)
		return;
	if (!t && !adopt_unknown(pb, pid, &releasing)) {
		ptrace(PTRACE_DETACH, pid, 0, (void *)(long)(kind == STOP_SIGNAL ? sig : 0));
		if (!releasing)
			lifecycle_warn(
				pb->lc,
				"detached pid %d: it became our tracee (CLONE_PTRACE) but is not a "
				"target",
				pid);
		return;
	}
	if (!t) {
		/* A new child can report before its parent's clone event (strace's _exit(!!fork()) case). */
		t = lifecycle_thread(pb->lc, pid);
		if (!t) {
			/* out of memory: let it run rather than leave it stopped */
			ptrace(PTRACE_CONT, pid, 0, 0);
			return;
		}
	}

	if (loop->detaching || t->releasing) {
		detach_at_stop(pb, t, kind, sig, ts_ns);
		return;
	}

	switch (kind) {
	case STOP_SECCOMP:
	case STOP_SYSCALL:
		on_syscall_stop(pb, t, ts_ns);
		break;
	case STOP_NEW_TASK:
		if (ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &msg) == 0) {
			lifecycle_thread(pb->lc, (pid_t)msg);
			if (attaching(pb) && event != PTRACE_EVENT_CLONE)
				add_tgid(pb, (pid_t)msg);
		}
		break;
	case STOP_EXEC:
		on_exec(pb, t, ts_ns);
		break;
	case STOP_GROUP:
		/*
		 * Group-stop: LISTEN keeps it stopped (state t while traced)
		 * until SIGCONT, and the real parent sees STOPPED/CONTINUED as
		 * without us. CONT or SYSCALL here would resume it.
		 */
		ptrace(PTRACE_LISTEN, t->tid, 0, 0);
		held_until(pb, t, sw_mono_ns());
		if (t->tid == loop->command_pid && !t->pre_exec)
			loop_command_stopped(loop, sig);
		return;
	case STOP_SIGNAL:
		inject = sig;
		/* our own SIGCONT that released the child from its self-stop */
		if (t->pre_exec && sig == SIGCONT)
			inject = 0;
		break;
	case STOP_TRAP:
	case STOP_EVENT_OTHER:
	default:
		break;
	}
	resume(pb, t, inject);
	held_until(pb, t, sw_mono_ns());
}

/* ---- gathering stops ----------------------------------------------------- */

/*
 * The next status of any tracee: > 0 its pid (*status set), 0 none (WNOHANG
 * in flags), -1 with errno.
 *
 * Reaping a signal-delivery stop zeroes the tracee's exit_code
 * (kernel/exit.c, wait_task_stopped): until PTRACE_CONT hands the signal
 * back, it exists only in our memory, and a SIGKILL of stallwatch in between
 * loses it. The kernel itself opens that window: a SIGKILL that wakes us
 * from a blocking wait reaps a ready stop first and kills us on the way
 * out. So attach, which must leave its targets as they were when killed,
 * only peeks (waitid WNOWAIT): a signal-delivery stop is served without ever
 * being reaped (the resume ends it, with exit_code intact until then); any
 * other stop is reaped by pid. run does not need it (SIGKILL of stallwatch
 * kills the command, PTRACE_O_EXITKILL) and saves the second syscall.
 */
static pid_t wait_next(struct ptrace_backend *pb, int flags, int *status)
{
	for (;;) {
		siginfo_t si = {};
		int sig, event;
		pid_t pid;

		if (!attaching(pb))
			return wait4(-1, status, __WALL | flags, NULL);
		if (waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WNOWAIT | __WALL | flags) < 0)
			return -1;
		if (si.si_pid == 0)
			return 0; /* WNOHANG: nothing ready */
		if (si.si_code == CLD_TRAPPED || si.si_code == CLD_STOPPED) {
			/* a ptrace stop's status as wait4 gives it: (exit_code << 8) | 0x7f */
			*status = (si.si_status << 8) | 0x7f;
			/*
			 * Served unreaped, unless signal stops keep coming with
			 * no resume that took in between (a bug would loop here).
			 */
			if (stop_classify(*status, &sig, &event) == STOP_SIGNAL &&
			    pb->unresumed_peeks++ < PEEK_REPEATS_MAX)
				return si.si_pid;
		}
		pb->unresumed_peeks = 0;
		pid = wait4(si.si_pid, status, __WALL | WNOHANG, NULL);
		if (pid != 0)
			return pid;
		/* gone between the peek and the reap (reaped elsewhere): look again */
	}
}

/*
 * A status of wait_next(). A signal-delivery stop is served at once, ahead
 * of the batch, to keep the time the signal is out of the kernel short;
 * every other stop joins the batch.
 */
static void collect(struct ptrace_backend *pb, pid_t pid, int status)
{
	struct event ev = { .kind = EV_BACKEND, .ts_ns = sw_mono_ns() };
	int sig, event;

	ev.wait.pid = pid;
	ev.wait.status = status;
	if (stop_classify(status, &sig, &event) == STOP_SIGNAL)
		on_wait(pb, pid, status, ev.ts_ns);
	else
		loop_push(pb->loop, &ev);
}

/* Gather every ready wait4() status (strace NEWS 5.0: fairness across tracees). */
static void drain_wait(struct ptrace_backend *pb)
{
	struct tracer_loop *loop = pb->loop;

	while (!loop_batch_full(loop)) {
		int status;
		pid_t pid = wait_next(pb, WNOHANG, &status);

		if (pid > 0) {
			collect(pb, pid, status);
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		/* watch: no tracee now is no reason to end (tracer.h, tracer_watch) */
		if (pid < 0 && errno == ECHILD && (loop->mode != MODE_WATCH || loop->detaching))
			loop->done = true;
		loop->need_drain = false;
		return;
	}
	loop->need_drain = true; /* batch full: come back before sleeping */
}

/*
 * Poll for a stop for up to SPIN_NS before sleeping, when spin.h allows it:
 * a tracee in a syscall-dense stretch stops again within a few us of its
 * resume, and a tracer that is still running takes that stop without an
 * idle CPU's wake-up. sched_yield() lets a tracee that shares our CPU run.
 * Returns a stop's pid, 0 (nothing: sleep now) or -1 (a signal is pending).
 */
static pid_t spin_wait(struct ptrace_backend *pb, int *status)
{
	uint64_t now_ns = sw_mono_ns(), until_ns;
	pid_t pid;

	if (!spin_should(&pb->spin, now_ns))
		return 0;
	until_ns = now_ns + SPIN_NS;
	do {
		pid = wait_next(pb, WNOHANG, status);
		if (pid != 0)
			break;
		if (loop_signal_pending(pb->loop))
			return -1; /* take it now, not after the kick timer */
		sched_yield();
	} while (sw_mono_ns() < until_ns);
	spin_result(&pb->spin, pid > 0);
	/* ECHILD, EINTR: the blocking wait4() says it again */
	return pid < 0 ? 0 : pid;
}

static int pt_gather(struct backend *b, bool block)
{
	struct ptrace_backend *pb = (struct ptrace_backend *)b;
	struct tracer_loop *loop = pb->loop;
	size_t queued;
	int status = 0;
	pid_t pid;

	/* watch: SIGTERM let go of every tracee (untraced children of ours may remain) */
	if (loop->mode == MODE_WATCH && loop->detaching && !pb->lc->tracees.count) {
		loop->done = true;
		return 0;
	}
	if (!block) {
		/* exit stops first, so a call that returned is not reported stuck */
		drain_wait(pb);
		return 0;
	}
	pid = spin_wait(pb, &status);
	if (pid < 0)
		return 0; /* a signal: the loop takes it */
	/* the one place stallwatch sleeps; signals and the timer interrupt it */
	if (pid == 0)
		pid = wait_next(pb, 0, &status);
	if (pid < 0) {
		if (errno == ECHILD && loop->mode == MODE_WATCH && !loop->detaching)
			/*
			 * no tracee and no child: sleep until a signal (the
			 * connector's, the timer's); one that landed before the
			 * pause() is repeated by the kick timer every 1 ms (loop.h)
			 */
			pause();
		else if (errno == ECHILD)
			loop->done = true;
		else if (errno != EINTR)
			return sw_error_set(loop->error, -errno, "wait4");
		return 0;
	}
	queued = loop->batch_len;
	collect(pb, pid, status);
	if (loop->batch_len == queued)
		return 0; /* a signal stop, already served */
	/*
	 * Gather what else is ready before acting (threads that stopped
	 * together are served in one pass, as strace does). When draining
	 * keeps finding nothing - one busy thread - the WNOHANG wait4 is a
	 * wasted syscall per stop: then probe only every DRAIN_PROBE_EVERY
	 * stops.
	 */
	if (pb->drain_misses < DRAIN_MISSES_MAX || ++pb->drain_probe % DRAIN_PROBE_EVERY == 0) {
		size_t before = loop->batch_len;

		drain_wait(pb);
		pb->drain_misses = loop->batch_len > before ? 0 : pb->drain_misses + 1;
	}
	return 0;
}

static void pt_handle(struct backend *b, const struct event *ev)
{
	struct ptrace_backend *pb = (struct ptrace_backend *)b;

	on_wait(pb, ev->wait.pid, ev->wait.status, ev->ts_ns);
}

/* SIGINT/SIGTERM in attach: interrupt everyone, then detach each at its next stop. */
static void pt_detach(struct backend *b)
{
	struct ptrace_backend *pb = (struct ptrace_backend *)b;

	for (size_t i = 0; i < pb->lc->tracees.capacity; i++) {
		struct tracee *t = tracee_at(&pb->lc->tracees, i);

		if (t)
			ptrace(PTRACE_INTERRUPT, t->tid, 0, 0); /* ESRCH: gone, fine */
	}
}

static void pt_destroy(struct backend *b)
{
	struct ptrace_backend *pb = (struct ptrace_backend *)b;

	/* the kernel detaches what is left when we exit; run's EXITKILL ends the command */
	spin_done(&pb->spin);
	free(pb->tgids);
	free(pb->releasing);
	free(pb);
}

static int pt_watch_add(struct backend *b, pid_t pid, char *comm, size_t comm_size,
			struct sw_error *err);
static void pt_watch_release(struct backend *b, pid_t pid);

static const struct backend_ops ptrace_ops = {
	.name = RECORD_BACKEND_PTRACE,
	.gather = pt_gather,
	.handle = pt_handle,
	.detach = pt_detach,
	.destroy = pt_destroy,
	.watch_add = pt_watch_add,
	.watch_release = pt_watch_release,
};

static struct ptrace_backend *backend_new(struct tracer_loop *loop)
{
	struct ptrace_backend *pb = calloc(1, sizeof(*pb));

	if (!pb)
		return NULL;
	pb->base.ops = &ptrace_ops;
	pb->base.loop = loop;
	pb->loop = loop;
	pb->lc = &loop->lc;
	pb->spin.loadavg_fd = -1; /* spin_init() once tracing starts */
	loop->lc.stopped_at_entry = true;
	loop->lc.backend_name = ptrace_ops.name;
	loop->lc.evidence = &procevidence_source;
	return pb;
}

/* ---- run ------------------------------------------------------------------ */

int ptrace_backend_run(struct tracer_loop *loop, const struct tracer_run_options *opts,
		       struct backend **ret, struct sw_error *err)
{
	_cleanup_seccomp_ scmp_filter_ctx filter = NULL;
	struct ptrace_backend *pb;
	struct syscall_set traced;
	struct tracee *command;
	int r;

	/*
	 * The watched calls stop, and with ENOENT storms enabled the path
	 * lookups too (policy_traced_set): their exits feed the detector
	 * whatever -e reports; no rule of theirs, no record.
	 */
	policy_traced_set(opts->policy, &traced);
	r = filter_build(&traced, !filter_have_cap_sys_admin(), &filter, err);
	if (r < 0)
		return r;
	pb = backend_new(loop);
	if (!pb)
		return sw_error_set(err, -ENOMEM, "out of memory");
	pb->follow_forks = true;
	r = spawn_traced(opts, filter, &loop->command_pid, &loop->fail_fd, err);
	if (r < 0) {
		free(pb);
		return r;
	}
	command = lifecycle_thread(&loop->lc, loop->command_pid);
	if (!command) {
		free(pb);
		return sw_error_set(err, -ENOMEM, "out of memory");
	}
	command->pre_exec = true;
	loop->need_drain = true;
	spin_init(&pb->spin);
	*ret = &pb->base;
	return 0;
}

/* ---- attach ----------------------------------------------------------------- */

/* attach_process() hands us each thread it seized. */
static int add_seized(void *opaque, pid_t tid, int syscall_nr)
{
	struct ptrace_backend *pb = opaque;
	struct tracee *t = lifecycle_thread(pb->lc, tid);

	if (!t)
		return -ENOMEM;
	/* watch: held stopped from the add's start until its first resume */
	if (pb->loop->mode == MODE_WATCH)
		t->held_since_ns = pb->add_started_ns;
	t->first_after_attach = true;
	t->attach_syscall_nr = syscall_nr;
	return 0;
}

/* One target: checked, then every thread seized (attach.h); its thread count or -errno. */
static int attach_one(void *backend, pid_t pid, char *comm, size_t comm_size, struct sw_error *err)
{
	struct ptrace_backend *pb = backend;
	bool known;
	int r;

	r = attach_check_target(pid, comm, comm_size, err);
	if (r < 0)
		return r;
	known = traced_tgid(pb, pid);
	r = add_tgid(pb, pid);
	if (r == 0)
		r = attach_process(pid, pb->seize_options, add_seized, pb, err);
	/*
	 * Refused: not a target, so a thread attach_process() could not give
	 * back in time is detached at its first stop (adopt_unknown)
	 */
	if (r < 0 && !known)
		drop_tgid(pb, pid);
	return r;
}

int ptrace_backend_attach(struct tracer_loop *loop, const struct tracer_attach_options *opts,
			  struct backend **ret, struct sw_error *err)
{
	/* no EXITKILL: if we die, the kernel detaches and the targets live on */
	long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;
	struct ptrace_backend *pb = backend_new(loop);
	int r;

	if (!pb)
		return sw_error_set(err, -ENOMEM, "out of memory");
	pb->follow_forks = opts->follow_forks;
	if (opts->follow_forks)
		options |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	/* the backend is live from here: a Ctrl-C during a long attach detaches cleanly */
	*ret = &pb->base;
	pb->seize_options = options;
	r = loop_attach_each(opts, attach_one, pb, err);
	if (r < 0)
		return r;
	loop->need_drain = true;
	spin_init(&pb->spin);
	return 0;
}

/* ---- watch (tracer/watch.c) -------------------------------------------------------- */

/*
 * Take pid: every thread seized as attach -f does (attach_process()). A
 * child we follow already (it forked from a target) just becomes a target.
 */
static int pt_watch_add(struct backend *b, pid_t pid, char *comm, size_t comm_size,
			struct sw_error *err)
{
	struct ptrace_backend *pb = (struct ptrace_backend *)b;
	struct procstatus st;
	int r;

	for (size_t i = 0; i < pb->n_releasing; i++)
		if (pb->releasing[i] == pid)
			pb->releasing[i] = pb->releasing[--pb->n_releasing];
	if (traced_tgid(pb, pid)) {
		r = attach_check_target(pid, comm, comm_size, err);
		if (r < 0)
			return r;
		return procinfo_status(pid, &st) == 0 && st.threads > 0 ? st.threads : 1;
	}
	pb->add_started_ns = sw_mono_ns();
	r = attach_one(pb, pid, comm, comm_size, err);
	pb->add_started_ns = 0;
	return r;
}

/*
 * Let go of pid, every thread of it and nothing else: each is interrupted
 * and detached at its next stop (detach_at_stop(): a completed call is
 * still reported, a signal being delivered is handed back, a stopped
 * thread stays stopped), as SIGTERM does for all. Its children we follow
 * stay traced (their own thread groups).
 */
static void pt_watch_release(struct backend *b, pid_t pid)
{
	struct ptrace_backend *pb = (struct ptrace_backend *)b;
	_cleanup_closedir_ DIR *dir = NULL;
	uint64_t now_ns = sw_mono_ns();
	struct dirent *de;
	char path[64];

	drop_tgid(pb, pid);
	if (!in_list(pb->releasing, pb->n_releasing, pid)) {
		if (pb->n_releasing == pb->cap_releasing) {
			size_t cap = pb->cap_releasing ? pb->cap_releasing * 2 : 16;
			pid_t *n = realloc(pb->releasing, cap * sizeof(*n));

			if (n) {
				pb->releasing = n;
				pb->cap_releasing = cap;
			}
		}
		if (pb->n_releasing < pb->cap_releasing)
			pb->releasing[pb->n_releasing++] = pid;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
		struct tracee *t = tid > 0 ? tracee_find(&pb->lc->tracees, tid) : NULL;

		if (!t || t->releasing)
			continue;
		t->releasing = true;
		t->held_since_ns = now_ns;
		ptrace(PTRACE_INTERRUPT, tid, 0, 0); /* ESRCH: gone, wait4 says so */
	}
}

int ptrace_backend_watch(struct tracer_loop *loop, const struct tracer_watch_options *opts,
			 struct backend **ret, struct sw_error *err)
{
	/* as attach -f; no EXITKILL: if we die, the kernel detaches and the targets live on */
	long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
		       PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	struct ptrace_backend *pb;

	(void)opts;
	pb = backend_new(loop);
	if (!pb)
		return sw_error_set(err, -ENOMEM, "out of memory");
	pb->follow_forks = true;
	pb->seize_options = options;
	spin_init(&pb->spin);
	*ret = &pb->base;
	return 0;
}
