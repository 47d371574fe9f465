/* SPDX-License-Identifier: MIT */
/*
 * watch.c - `stallwatch watch`'s target table (watch.h).
 *
 * Who is watched is decided here, on the tracing thread, between two events
 * of the loop: at start (every process in /proc), at every exec the proc
 * connector reports (procconn.h), at every recheck (cgroup moves, which no
 * event reports), after a policy reload and after the connector overran
 * (then /proc is read again once). The caller's select() decides; the
 * backend takes (watch_add) and lets go (watch_release).
 *
 * A target's children are followed by the backend (bpf: in the kernel at
 * fork; ptrace: PTRACE_O_TRACEFORK): they are not in this table, and one
 * that execs is offered to select() like any process (taken: it becomes a
 * target of its own; refused: it stays watched as the child it is).
 */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/macro.h"
#include "../common/timeutil.h"
#include "procconn.h"
#include "procinfo.h"

#define TARGET_BUCKETS 1024 /* a power of two */
#define ANCESTORS_MAX 64
/* connector events per EV_WATCH: the loop serves its other events in between */
#define DRAIN_MAX 256

struct target {
	struct target *next;
	pid_t pid;
	uint64_t added_ns;
	char comm[PROCINFO_COMM_MAX];
};

struct watcher {
	struct tracer_loop *loop;
	const struct tracer_watch_options *opts;
	struct tracer_watch_stats *stats;
	struct procconn pc;
	struct target *buckets[TARGET_BUCKETS];
	size_t n_targets;
	pid_t self_pid;
	pid_t ancestors[ANCESTORS_MAX];
	size_t n_ancestors;
	uint64_t next_tick_ns, next_recheck_ns;
	bool stopping, warned_max;
	/* one process's /proc files, read for select() */
	char comm[PROCINFO_COMM_MAX];
	char exe[PROCINFO_PATH_MAX];
	char cgroup[8192];
};

static struct target **find(struct watcher *w, pid_t pid)
{
	struct target **slot = &w->buckets[(unsigned int)pid & (TARGET_BUCKETS - 1)];

	while (*slot && (*slot)->pid != pid)
		slot = &(*slot)->next;
	return slot;
}

static void unlink_target(struct watcher *w, struct target **slot)
{
	struct target *t = *slot;

	*slot = t->next;
	free(t);
	w->n_targets--;
	w->stats->watched_now = w->n_targets;
}

/* stallwatch itself, its ancestors (they may wait for us) and kernel threads are never offered */
static bool never_offered(const struct watcher *w, pid_t pid)
{
	if (pid == w->self_pid)
		return true;
	for (size_t i = 0; i < w->n_ancestors; i++)
		if (w->ancestors[i] == pid)
			return true;
	return procinfo_is_kthread(pid) != 0; /* 1: a kernel thread, < 0: gone */
}

/* What select() sees of pid: comm, exe, cgroup (NULL when unreadable). -ESRCH: gone. */
static int read_process(struct watcher *w, pid_t pid, struct policy_process *ret)
{
	char path[64];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	len = sw_read_small_file(path, w->comm, sizeof(w->comm));
	if (len < 0)
		return -ESRCH;
	if (len > 0 && w->comm[len - 1] == '\n')
		w->comm[len - 1] = 0;
	*ret = (struct policy_process){ .tgid = pid, .comm = w->comm };
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	len = readlink(path, w->exe, sizeof(w->exe) - 1);
	if (len > 0) {
		w->exe[len] = 0;
		ret->exe = w->exe;
	} else if (errno == ENOENT) {
		struct procstatus st;

		/* no exe: a zombie (exit_mm() dropped it) with no live thread is gone for us */
		if (procinfo_status(pid, &st) < 0 || (st.state == 'Z' && st.threads <= 1))
			return -ESRCH;
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (sw_read_small_file(path, w->cgroup, sizeof(w->cgroup)) > 0)
		ret->cgroup = w->cgroup;
	return 0;
}

static void add(struct watcher *w, pid_t pid, const struct tracer_watch_choice *choice,
		uint64_t exec_ts_ns)
{
	const struct tracer_watch_options *o = w->opts;
	struct backend *b = w->loop->backend;
	struct sw_error perr = {};
	char comm[PROCINFO_COMM_MAX];
	struct target *t;
	uint64_t now_ns;
	int threads;

	if (o->max_targets && w->n_targets >= o->max_targets) {
		w->stats->missed_max_targets++;
		if (!w->warned_max) {
			w->warned_max = true;
			lifecycle_warn(&w->loop->lc,
				       "--max-targets=%zu reached: pid %d (%s) and further matches "
				       "are not watched (counted as missed)",
				       o->max_targets, pid, w->comm);
		}
		return;
	}
	snprintf(comm, sizeof(comm), "%s", w->comm);
	threads = b->ops->watch_add(b, pid, comm, sizeof(comm), &perr);
	if (threads < 0) {
		w->stats->missed_failed++;
		if (o->failed)
			o->failed(o->opaque, &perr);
		return;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		b->ops->watch_release(b, pid);
		w->stats->missed_failed++;
		if (o->failed)
			o->failed(o->opaque,
				  &(struct sw_error){ .code = -ENOMEM, .msg = "out of memory" });
		return;
	}
	now_ns = sw_mono_ns();
	t->pid = pid;
	t->added_ns = now_ns;
	snprintf(t->comm, sizeof(t->comm), "%s", comm[0] ? comm : w->comm);
	t->next = w->buckets[(unsigned int)pid & (TARGET_BUCKETS - 1)];
	w->buckets[(unsigned int)pid & (TARGET_BUCKETS - 1)] = t;
	w->n_targets++;
	w->stats->watched_now = w->n_targets;
	w->stats->added_total++;
	if (exec_ts_ns) {
		/* the connector's stamp is ktime_get_ns(): CLOCK_MONOTONIC, as ours */
		uint64_t pickup_ns = now_ns > exec_ts_ns ? now_ns - exec_ts_ns : 0;

		if (pickup_ns > w->stats->pickup_ns_max)
			w->stats->pickup_ns_max = pickup_ns;
		w->stats->pickup_ns_sum += pickup_ns;
		w->stats->pickups++;
	}
	if (o->attached)
		o->attached(o->opaque, pid, t->comm, threads, choice->reason);
}

static void release(struct watcher *w, struct target **slot, const char *why)
{
	const struct tracer_watch_options *o = w->opts;
	struct backend *b = w->loop->backend;
	struct target *t = *slot;

	b->ops->watch_release(b, t->pid);
	w->stats->released_total++;
	if (o->released)
		o->released(o->opaque, t->pid, t->comm, why);
	unlink_target(w, slot);
}

/* Offer pid to select(): take it, keep it, or let it go. exec_ts_ns: the exec's stamp, or 0. */
static void consider(struct watcher *w, pid_t pid, enum tracer_watch_why why, uint64_t exec_ts_ns)
{
	struct tracer_watch_choice choice = {};
	struct policy_process proc;
	struct target **slot;

	if (w->stopping || never_offered(w, pid))
		return;
	slot = find(w, pid);
	if (read_process(w, pid, &proc) < 0) {
		if (*slot) {
			w->stats->exited_total++;
			unlink_target(w, slot);
		}
		return;
	}
	w->opts->select(w->opts->opaque, &proc, why, &choice);
	if (*slot) {
		if (choice.watch) {
			snprintf((*slot)->comm, sizeof((*slot)->comm), "%s", w->comm);
			return;
		}
		release(w, slot, choice.reason[0] ? choice.reason : "no longer selected");
		return;
	}
	if (choice.watch)
		add(w, pid, &choice, exec_ts_ns);
}

static bool alive(pid_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return access(path, F_OK) == 0;
}

static void scan_proc(struct watcher *w, enum tracer_watch_why why);

/*
 * Every watched process again (RECHECK); the gone ones leave the table.
 * With recheck_all, every other live process too (moved into a cgroup).
 */
static void recheck(struct watcher *w)
{
	size_t n = 0, cap = w->n_targets;
	_cleanup_free_ pid_t *pids = calloc(cap ? cap : 1, sizeof(*pids));

	if (!pids)
		return;
	/* pids first: consider() changes the table */
	for (size_t i = 0; i < TARGET_BUCKETS; i++)
		for (struct target *t = w->buckets[i]; t && n < cap; t = t->next)
			pids[n++] = t->pid;
	for (size_t i = 0; i < n; i++) {
		struct target **slot = find(w, pids[i]);

		if (!*slot)
			continue;
		if (!alive(pids[i])) {
			w->stats->exited_total++;
			unlink_target(w, slot);
			continue;
		}
		consider(w, pids[i], TRACER_WATCH_RECHECK, 0);
	}
	if (w->opts->recheck_all)
		scan_proc(w, TRACER_WATCH_RECHECK);
}

/* Every live process not watched yet, offered with why. */
static void scan_proc(struct watcher *w, enum tracer_watch_why why)
{
	_cleanup_closedir_ DIR *dir = opendir("/proc");
	struct dirent *de;

	while (dir && (de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (pid <= 0 || *end || *find(w, (pid_t)pid))
			continue;
		consider(w, (pid_t)pid, why, 0);
	}
}

static void on_connector(void *opaque, const struct procconn_event *ev)
{
	struct watcher *w = opaque;
	struct target **slot;

	switch (ev->kind) {
	case PROCCONN_EXEC:
		w->stats->exec_events++;
		/* a non-leader's exec made it the leader (de_thread): the tgid is the process */
		consider(w, ev->tgid, TRACER_WATCH_EXEC, ev->ts_ns);
		break;
	case PROCCONN_EXIT:
		/*
		 * The leader's exit. A leader that left by pthread_exit() while
		 * other threads live stays a zombie leader: the backend watches
		 * those threads on (bpf: until the last one exits), the table
		 * forgets it.
		 */
		if (ev->pid != ev->tgid)
			break;
		slot = find(w, ev->tgid);
		if (*slot) {
			w->stats->exited_total++;
			unlink_target(w, slot);
		}
		break;
	case PROCCONN_LOST:
		/* execs and exits went missing: /proc is the truth, read once after the drain */
		w->stats->connector_lost++;
		break;
	case PROCCONN_FORK:
	default:
		break;
	}
}

int watcher_new(struct tracer_loop *loop, const struct tracer_watch_options *opts,
		struct tracer_watch_stats *stats, struct watcher **ret, struct sw_error *err)
{
	_cleanup_free_ struct watcher *w = calloc(1, sizeof(*w));
	pid_t pid;
	int r;

	if (!w)
		return sw_error_set(err, -ENOMEM, "out of memory");
	w->loop = loop;
	w->opts = opts;
	w->stats = stats;
	w->self_pid = getpid();
	w->next_tick_ns = UINT64_MAX;
	w->next_recheck_ns = UINT64_MAX;
	for (pid = w->self_pid;
	     w->n_ancestors < ANCESTORS_MAX && procinfo_ppid(pid, &pid) == 0 && pid > 0;)
		w->ancestors[w->n_ancestors++] = pid;
	r = procconn_open(&w->pc, err);
	if (r < 0)
		return sw_error_prefix(err, "watch");
	*ret = w;
	w = NULL;
	return 0;
}

int watcher_arm(struct watcher *w, struct sw_error *err)
{
	int r;

	/*
	 * The socket raises SIGIO at this (the tracing) thread: the loop's
	 * handler notes it and interrupts whatever the backend sleeps in
	 * (wait4, poll), as it does for every signal (loop.h, struct sigstate).
	 */
	w->loop->signals.io_signo = SIGIO;
	r = procconn_set_signal(&w->pc, gettid(), SIGIO);
	if (r < 0)
		return sw_error_set(err, r, "watch: cannot have the proc connector signal us");
	return 0;
}

void watcher_free(struct watcher *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < TARGET_BUCKETS; i++)
		while (w->buckets[i])
			unlink_target(w, &w->buckets[i]);
	procconn_close(&w->pc);
	free(w);
}

static void run_tick(struct watcher *w, uint64_t now_ns)
{
	w->next_tick_ns =
		w->opts->tick ? w->opts->tick(w->opts->opaque, now_ns, w->stats) : UINT64_MAX;
}

void watcher_start(struct watcher *w, struct tracer_result *res)
{
	uint64_t now_ns;

	scan_proc(w, TRACER_WATCH_START);
	if (w->opts->ready)
		w->opts->ready(w->opts->opaque, res);
	now_ns = sw_mono_ns();
	if (w->opts->recheck_ns)
		w->next_recheck_ns = now_ns + w->opts->recheck_ns;
	run_tick(w, now_ns);
	loop_ensure_timer(w->loop, w->next_tick_ns < w->next_recheck_ns ? w->next_tick_ns :
									  w->next_recheck_ns);
}

void watcher_on_event(struct watcher *w, bool connector, bool tick)
{
	if (connector) {
		uint64_t lost = w->stats->connector_lost;
		int n = procconn_drain(&w->pc, DRAIN_MAX, on_connector, w);

		if (n < 0)
			lifecycle_warn(&w->loop->lc, "reading the proc connector: %s",
				       strerror(-n));
		if (w->stats->connector_lost != lost && !w->stopping) {
			recheck(w);
			scan_proc(w, TRACER_WATCH_START);
		}
		if (n == DRAIN_MAX) {
			/* more to read: after the events gathered meanwhile */
			w->loop->signals.io_ready = 1;
			w->loop->signals.pending = 1;
		}
	}
	if (tick && !w->stopping) {
		run_tick(w, sw_mono_ns());
		if (w->next_tick_ns != UINT64_MAX)
			loop_ensure_timer(w->loop, w->next_tick_ns);
	}
}

uint64_t watcher_on_timer(struct watcher *w, uint64_t now_ns)
{
	if (w->stopping)
		return UINT64_MAX;
	if (now_ns >= w->next_recheck_ns) {
		recheck(w);
		w->next_recheck_ns = now_ns + w->opts->recheck_ns;
	}
	if (now_ns >= w->next_tick_ns)
		run_tick(w, now_ns);
	return w->next_tick_ns < w->next_recheck_ns ? w->next_tick_ns : w->next_recheck_ns;
}

void watcher_policy_adopted(struct watcher *w)
{
	if (w->stopping)
		return;
	/* watched ones as a recheck; the others as at start */
	recheck(w);
	scan_proc(w, TRACER_WATCH_START);
}

void watcher_stop(struct watcher *w)
{
	w->stopping = true;
}
