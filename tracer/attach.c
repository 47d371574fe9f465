/* SPDX-License-Identifier: MIT */
#include "attach.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/caps.h"
#include "../common/fileio.h"
#include "../common/macro.h"
#include "../common/timeutil.h"
#include "filter.h"
#include "procinfo.h"
#include "stop.h"

static void read_comm(pid_t pid, char *comm, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (sw_read_small_file(path, comm, size) < 0)
		comm[0] = 0;
	comm[strcspn(comm, "\n")] = 0;
}

static bool is_ancestor(pid_t pid)
{
	for (pid_t p = getppid(); p > 0;) {
		if (p == pid)
			return true;
		if (p == 1 || procinfo_ppid(p, &p) < 0)
			break;
	}
	return false;
}

int attach_check_target(pid_t pid, char *comm, size_t comm_size, struct sw_error *err)
{
	char path[64];
	struct stat st;

	comm[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (pid <= 0 || stat(path, &st) < 0)
		return sw_error_set(err, -ESRCH, "attach %d: no such process", pid);
	read_comm(pid, comm, comm_size);
	if (pid == getpid())
		return sw_error_set(err, -EPERM, "attach %d: refusing to trace stallwatch itself",
				    pid);
	/* an ancestor waits for us (its child) while we would hold it stopped */
	if (is_ancestor(pid))
		return sw_error_set(err, -EPERM,
				    "attach %d (%s): refusing to trace an ancestor of stallwatch",
				    pid, comm);
	/* PTRACE_SEIZE would say EPERM, and no explanation of EPERM fits */
	if (procinfo_is_kthread(pid) == 1)
		return sw_error_set(
			err, -EPERM,
			"attach %d (%s): a kernel thread; it makes no syscalls to watch", pid,
			comm);
	return 0;
}

/* Which syscall the thread sits in right now (-1: running or unknown). */
static int current_syscall(pid_t pid, pid_t tid)
{
	char path[96], buf[256];
	char *end;
	long nr;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	if (sw_read_small_file(path, buf, sizeof(buf)) < 0)
		return -1;
	nr = strtol(buf, &end, 10);
	return end == buf || nr < 0 ? -1 : (int)nr;
}

/* strace's diagnose_attach_eperm(), one line: the most likely cause first. */
static int diagnose(pid_t pid, const char *comm, int errno_code, struct sw_error *err)
{
	struct procstatus ps, self;
	char buf[64];

	if (procinfo_status(pid, &ps) < 0) {
		memset(&ps, 0, sizeof(ps));
		ps.uid = (uid_t)-1;
	}
	/* a zombie leader alone: its pid still exists, but nothing is left to trace */
	if (ps.state == 'Z' && ps.threads <= 1)
		return sw_error_set(err, -EPERM, "attach %d (%s): a zombie with no live thread",
				    pid, comm);
	if (errno_code == ESRCH)
		return sw_error_set(err, -ESRCH, "attach %d (%s): no such process (it exited)", pid,
				    comm);
	if (ps.tracer_pid > 0) {
		char tracer_comm[64];

		read_comm(ps.tracer_pid, tracer_comm, sizeof(tracer_comm));
		return sw_error_set(err, -EPERM, "attach %d (%s): already traced by pid %d (%s)",
				    pid, comm, ps.tracer_pid, tracer_comm);
	}
	if (ps.uid != (uid_t)-1 && ps.uid != geteuid() && !sw_have_cap(CAP_SYS_PTRACE))
		return sw_error_set(err, -EPERM,
				    "attach %d (%s): owned by another user (uid %u); attaching "
				    "needs root or CAP_SYS_PTRACE",
				    pid, comm, (unsigned int)ps.uid);
	if (sw_read_small_file("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof(buf)) > 0 &&
	    atoi(buf) > 0)
		return sw_error_set(err, -EPERM,
				    "attach %d (%s): permission denied; kernel.yama.ptrace_scope = "
				    "%d may be restricting it",
				    pid, comm, atoi(buf));
	if (procinfo_status(getpid(), &self) == 0 && self.nspid_levels > 1)
		return sw_error_set(err, -errno_code,
				    "attach %d (%s): permission denied inside a pid namespace "
				    "(a container?)",
				    pid, comm);
	return sw_error_set(err, -errno_code, "attach %d (%s)", pid, comm);
}

/* ---- seizing a whole process, or none of it ------------------------------------------- */

/* One thread we hold: seized here, or auto-attached (TRACECLONE) by one we seized. */
struct held {
	pid_t tid;
	int syscall_nr; /* what /proc/TID/syscall said just before the seize */
	bool seized; /* false: a new thread our tracees created, already ours */
};

struct held_list {
	struct held *v;
	size_t n, cap;
};

static void held_list_done(struct held_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static bool held_has(const struct held_list *l, pid_t tid)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].tid == tid)
			return true;
	return false;
}

static int held_add(struct held_list *l, pid_t tid, int syscall_nr, bool seized)
{
	if (held_has(l, tid))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct held *n = realloc(l->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->v = n;
		l->cap = cap;
	}
	l->v[l->n++] = (struct held){ .tid = tid, .syscall_nr = syscall_nr, .seized = seized };
	return 0;
}

/*
 * A refused process goes back exactly as it was: each thread we hold is
 * detached at the stop our PTRACE_INTERRUPT asked for (or one before it),
 * a signal caught in its delivery stop is handed back in PTRACE_DETACH, a
 * group-stopped thread stays stopped, and a thread one of them created
 * meanwhile (auto-attached by PTRACE_O_TRACECLONE) is detached the same
 * way. Bounded by RELEASE_NS: a thread that cannot stop that soon
 * (uninterruptible sleep) stays ours until the event loop detaches it at
 * its first stop (a tracee of no target), or the kernel does when
 * stallwatch exits; it keeps running meanwhile, as the pending interrupt
 * is all it has.
 */
#define RELEASE_NS (2 * NSEC_PER_SEC)

static void release(struct held_list *l)
{
	uint64_t deadline = sw_mono_ns() + RELEASE_NS;
	size_t left = l->n;
	bool *done = calloc(l->n ? l->n : 1, sizeof(*done));

	if (!done)
		return; /* left to the event loop and the kernel, as above */
	while (left && sw_mono_ns() < deadline) {
		bool progress = false;

		for (size_t i = 0; i < l->n; i++) {
			int status, sig, event, pass = 0;
			enum stop_kind kind;
			unsigned long msg;
			pid_t r;

			if (done[i])
				continue;
			r = waitpid(l->v[i].tid, &status, __WALL | WNOHANG);
			if (r == 0 || (r < 0 && errno == EINTR))
				continue;
			progress = true;
			kind = r < 0 ? STOP_EXITED : stop_classify(status, &sig, &event);
			if (kind == STOP_NEW_TASK &&
			    ptrace(PTRACE_GETEVENTMSG, l->v[i].tid, 0, &msg) == 0 &&
			    !held_has(l, (pid_t)msg)) {
				bool *n = realloc(done, (l->n + 1) * sizeof(*n));

				/* out of memory: the event loop or the kernel detaches it */
				if (n) {
					done = n;
					if (held_add(l, (pid_t)msg, -1, false) == 0) {
						done[l->n - 1] = false;
						left++;
					}
				}
			}
			if (kind == STOP_SIGNAL)
				pass = sig;
			/* ESRCH: killed meanwhile; its exit is reaped on a later pass */
			if (kind != STOP_EXITED && kind != STOP_KILLED &&
			    ptrace(PTRACE_DETACH, l->v[i].tid, 0, (void *)(long)pass) < 0 &&
			    errno == ESRCH)
				continue;
			done[i] = true;
			left--;
		}
		if (!progress)
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	free(done);
}

/* Last component of an exe path, without the " (deleted)" of a replaced binary. */
static void exe_basename(const char *exe, char *buf, size_t size)
{
	const char *slash = strrchr(exe, '/');
	size_t len;

	snprintf(buf, size, "%s", slash ? slash + 1 : exe);
	len = strlen(buf);
	if (len > 10 && strcmp(buf + len - 10, " (deleted)") == 0)
		buf[len - 10] = 0;
}

/* Is pid another stallwatch (by comm or by its executable's name)? */
static bool is_stallwatch(pid_t pid)
{
	char comm[64], path[64], exe[PROCINFO_PATH_MAX], base[256];
	ssize_t len;

	read_comm(pid, comm, sizeof(comm));
	if (strcmp(comm, "stallwatch") == 0)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	if (len <= 0)
		return false;
	exe[len] = 0;
	exe_basename(exe, base, sizeof(base));
	return strcmp(base, "stallwatch") == 0;
}

/* The line of a process refused because thread tid is (or cannot be) traced. */
static int refuse(pid_t pid, const char *comm, pid_t tid, pid_t tracer, int errno_code,
		  struct sw_error *err)
{
	char tracer_comm[64];

	if (tracer <= 0) {
		if (tid == pid)
			return diagnose(pid, comm, errno_code, err);
		return sw_error_set(err, -errno_code,
				    "attach %d (%s): thread %d cannot be seized: %s; not attached",
				    pid, comm, tid, strerror(errno_code));
	}
	read_comm(tracer, tracer_comm, sizeof(tracer_comm));
	if (tid == pid)
		return sw_error_set(err, -EPERM, "attach %d (%s): already traced by pid %d (%s)",
				    pid, comm, tracer, tracer_comm);
	return sw_error_set(
		err, -EPERM,
		"attach %d (%s): thread %d is already traced by pid %d (%s); not attached", pid,
		comm, tid, tracer, tracer_comm);
}

/*
 * Two stallwatches attaching to one process at the same moment: both seize
 * in the order of /proc/PID/task, so the one that got the first thread
 * normally finds every other thread free, and the other fails on that
 * first thread before it holds anything. Should both hold threads (the
 * listing changed between their reads), the one with the lower pid keeps
 * trying for RACE_NS while the other gives its threads back.
 */
#define RACE_NS (3 * NSEC_PER_SEC)

enum seize_result {
	SEIZED,
	GONE, /* left or leaving; a zombie leader too: its live threads still count */
	OURS, /* already ours: created by a thread we seized */
	REFUSED, /* *tracer holds it (0: EPERM for another reason, in *errno_code) */
};

static enum seize_result seize_thread(pid_t pid, pid_t tid, long options, bool holding,
				      pid_t *tracer, int *errno_code)
{
	uint64_t deadline = 0;

	for (;;) {
		struct procstatus ps;
		int e;

		if (ptrace(PTRACE_SEIZE, tid, 0, (void *)options) == 0) {
			/* stop it once so its state is ours; a stopped one stays stopped */
			ptrace(PTRACE_INTERRUPT, tid, 0, 0);
			return SEIZED;
		}
		e = errno;
		if (e == ESRCH || procinfo_status(tid, &ps) < 0)
			return GONE;
		/* EPERM for a thread that is exiting (exit_state set), or a zombie leader */
		if (ps.state == 'Z' || ps.state == 'X')
			return GONE;
		if (ps.tracer_pid == getpid())
			return OURS;
		*tracer = ps.tracer_pid;
		*errno_code = e;
		if (!holding)
			return REFUSED; /* nothing to give back: the other one has it all */
		/* a thread the other stallwatch is giving back right now shows no tracer */
		if (ps.tracer_pid > 0 &&
		    (ps.tracer_pid < getpid() || !is_stallwatch(ps.tracer_pid)))
			return REFUSED;
		if (!deadline)
			deadline = sw_mono_ns() + RACE_NS;
		else if (sw_mono_ns() >= deadline)
			return REFUSED;
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
	}
}

/* A thread already ptraced by someone else, found before seizing anything (0: none). */
static pid_t traced_thread(pid_t pid, pid_t *ret_tracer)
{
	char path[64];
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
		struct procstatus ps;

		if (tid > 0 && procinfo_status(tid, &ps) == 0 && ps.tracer_pid > 0 &&
		    ps.tracer_pid != getpid()) {
			*ret_tracer = ps.tracer_pid;
			return tid;
		}
	}
	return 0;
}

int attach_check_threads(pid_t pid, struct sw_error *err)
{
	pid_t tracer = 0, tid = traced_thread(pid, &tracer);
	char comm[64];

	if (!tid)
		return 0;
	read_comm(pid, comm, sizeof(comm));
	return refuse(pid, comm, tid, tracer, EPERM, err);
}

int attach_explain(pid_t pid, struct sw_error *err)
{
	pid_t tracer = 0, tid = traced_thread(pid, &tracer);
	char comm[64];

	read_comm(pid, comm, sizeof(comm));
	if (tid)
		return refuse(pid, comm, tid, tracer, EPERM, err);
	return diagnose(pid, comm, EPERM, err);
}

int attach_process(pid_t pid, long options, int (*add)(void *opaque, pid_t tid, int syscall_nr),
		   void *opaque, struct sw_error *err)
{
	_cleanup_(held_list_done) struct held_list held = {};
	pid_t refused_tid = 0, tracer = 0;
	int refused_errno = ESRCH;
	char comm[64], path[64];

	read_comm(pid, comm, sizeof(comm));
	/* the usual case of a thread held by strace or gdb: refused before touching anything */
	refused_tid = traced_thread(pid, &tracer);
	if (refused_tid)
		return refuse(pid, comm, refused_tid, tracer, EPERM, err);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	/* bounded: a process spawning threads forever must not keep us here */
	for (int pass = 0; pass < 1000 && !refused_tid; pass++) {
		_cleanup_closedir_ DIR *dir = opendir(path);
		struct dirent *de;
		size_t found = 0;

		if (!dir)
			break; /* the whole process left */
		while (!refused_tid && (de = readdir(dir))) {
			pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
			enum seize_result sr;
			int nr;

			if (tid <= 0 || held_has(&held, tid))
				continue;
			nr = current_syscall(pid, tid);
			sr = seize_thread(pid, tid, options, held.n > 0, &tracer, &refused_errno);
			if (sr == REFUSED)
				refused_tid = tid;
			if (sr != SEIZED && sr != OURS)
				continue;
			if (held_add(&held, tid, nr, sr == SEIZED) < 0) {
				release(&held);
				return sw_error_set(err, -ENOMEM, "out of memory");
			}
			found++;
		}
		if (!found)
			break;
	}
	if (refused_tid) {
		release(&held);
		return refuse(pid, comm, refused_tid, tracer, refused_errno, err);
	}
	if (held.n == 0)
		return diagnose(pid, comm, refused_errno, err);
	for (size_t i = 0; i < held.n; i++) {
		/* a thread created by one we seized is taken in at its first stop */
		if (held.v[i].seized && add(opaque, held.v[i].tid, held.v[i].syscall_nr) < 0) {
			release(&held);
			return sw_error_set(err, -ENOMEM, "out of memory");
		}
	}
	return (int)held.n;
}

/*
 * Does a line of /proc/PID/cgroup ("ID:CONTROLLERS:PATH") lie in prefix or
 * below it? A prefix ends at a '/': /a/b does not match /a/bc. The entry
 * that matched goes to entry as "CONTROLLERS:PATH" (v1) or "PATH" (v2).
 */
static bool cgroup_matches(pid_t pid, const char *prefix, char *entry, size_t size)
{
	char path[64], buf[4096], *save = NULL;
	size_t len = strlen(prefix);

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (len == 0 || sw_read_small_file(path, buf, sizeof(buf)) < 0)
		return false;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctl = strchr(line, ':'), *p;

		p = ctl ? strchr(ctl + 1, ':') : NULL;
		if (p && strncmp(p + 1, prefix, len) == 0 &&
		    (p[1 + len] == 0 || p[1 + len] == '/' || prefix[len - 1] == '/')) {
			snprintf(entry, size, "%s", p == ctl + 1 ? p + 1 : ctl + 1);
			return true;
		}
	}
	return false;
}

void attach_candidate_done(struct attach_candidate *c)
{
	free(c->exe);
	free(c->cgroup);
	c->exe = c->cgroup = NULL;
}

int attach_inspect(pid_t pid, struct attach_candidate *ret)
{
	struct procstatus ps;
	char path[64], exe[PROCINFO_PATH_MAX];
	ssize_t len = -1;
	int kt;

	memset(ret, 0, sizeof(*ret));
	ret->pid = pid;
	kt = procinfo_is_kthread(pid);
	if (kt < 0 || procinfo_status(pid, &ps) < 0)
		return -ESRCH;
	/* a zombie with no live thread: nothing left to trace (diagnose() says so for -p) */
	if (ps.state == 'Z' && ps.threads <= 1)
		return -ESRCH;
	read_comm(pid, ret->comm, sizeof(ret->comm));
	ret->kthread = kt;
	ret->threads = ps.threads;
	ret->uid = ps.uid;
	ret->tracer_pid = ps.tracer_pid;
	if (!kt) {
		/* needs ptrace read access: EACCES for another user's or a non-dumpable process */
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		len = readlink(path, exe, sizeof(exe) - 1);
		if (len < 0)
			ret->exe_errno = errno;
	} else
		ret->exe_errno = ENOENT; /* a kernel thread has no executable */
	exe[len > 0 ? len : 0] = 0;
	ret->exe = strdup(exe);
	return ret->exe ? 0 : -ENOMEM;
}

/*
 * Programs that trace others: attaching to one would stall what it traces
 * (gdb, strace, ltrace stop their tracees; bpftrace and perf do not, but
 * watching a tracer is never what a selector meant). Debian names perf
 * perf_VERSION.
 */
static const char *const known_tracers[] = {
	"strace", "ltrace", "gdb", "gdbserver", "bpftrace", "perf", "perf_[0-9]*",
};

static bool name_in(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(list[i], name, 0) == 0)
			return true;
	return false;
}

/* Another stallwatch is known by its comm or its executable's name. */
static enum attach_verdict classify(const struct attach_candidate *c, const pid_t *ancestors,
				    size_t n_ancestors)
{
	char base[256];

	if (c->pid == getpid())
		return ATTACH_LEFT_STALLWATCH;
	for (size_t i = 0; i < n_ancestors; i++)
		if (ancestors[i] == c->pid)
			return ATTACH_LEFT_ANCESTOR;
	if (c->kthread)
		return ATTACH_LEFT_KTHREAD;
	exe_basename(c->exe, base, sizeof(base));
	if (strcmp(c->comm, "stallwatch") == 0 || strcmp(base, "stallwatch") == 0)
		return ATTACH_LEFT_STALLWATCH;
	if (name_in(c->comm, known_tracers, ARRAY_SIZE(known_tracers)) ||
	    (base[0] && name_in(base, known_tracers, ARRAY_SIZE(known_tracers))))
		return ATTACH_LEFT_TRACER;
	if (c->tracer_pid)
		return ATTACH_LEFT_TRACED;
	if (c->exe_errno == EACCES || c->exe_errno == EPERM)
		return ATTACH_LEFT_HIDDEN;
	return ATTACH_SELECTED;
}

void attach_selection_done(struct attach_selection *s)
{
	for (size_t i = 0; i < s->n; i++)
		attach_candidate_done(&s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static bool comm_matches(const char *pattern, const char *comm)
{
	return strcmp(comm, pattern) == 0 || fnmatch(pattern, comm, 0) == 0;
}

/* A selector given but empty or all whitespace (not one given: NULL). */
static bool blank(const char *s)
{
	return s && !s[strspn(s, " \t\n\v\f\r")];
}

int attach_select(const struct attach_query *q, struct attach_selection *ret, struct sw_error *err)
{
	_cleanup_closedir_ DIR *dir = opendir("/proc");
	_cleanup_(attach_selection_done) struct attach_selection sel = {};
	pid_t ancestors[256];
	size_t cap = 0, n_ancestors = 0;
	int selected = 0;
	struct dirent *de;

	memset(ret, 0, sizeof(*ret));
	/* an empty cgroup prefix is a prefix of every path: it chose every process */
	if (blank(q->name) || blank(q->exe) || blank(q->cgroup))
		return sw_error_set(err, -EINVAL, "attach: an empty or blank selector");
	if (!dir)
		return sw_error_set(err, -errno, "cannot read /proc");
	for (pid_t p = getppid(); p > 0 && n_ancestors < ARRAY_SIZE(ancestors);) {
		ancestors[n_ancestors++] = p;
		if (p == 1 || procinfo_ppid(p, &p) < 0)
			break;
	}
	while ((de = readdir(dir))) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		struct attach_candidate c;
		char comm[64], cgroup[512];
		int r;

		if (pid <= 0)
			continue;
		/* what any user may read first: comm, cgroup; exe only then */
		if (q->name) {
			read_comm(pid, comm, sizeof(comm));
			if (!comm[0] || !comm_matches(q->name, comm))
				continue;
		}
		if (q->cgroup && !cgroup_matches(pid, q->cgroup, cgroup, sizeof(cgroup)))
			continue;
		r = attach_inspect(pid, &c);
		if (r == -ENOMEM)
			return sw_error_set(err, r, "out of memory");
		if (r < 0)
			continue; /* gone */
		c.by_name = q->name != NULL;
		c.by_cgroup = q->cgroup != NULL;
		if (q->exe) {
			if (c.kthread ||
			    (c.exe_errno && c.exe_errno != EACCES && c.exe_errno != EPERM) ||
			    (!c.exe_errno && fnmatch(q->exe, c.exe, 0) != 0)) {
				attach_candidate_done(&c);
				continue;
			}
			c.by_exe = !c.exe_errno;
		}
		if (q->cgroup && !(c.cgroup = strdup(cgroup))) {
			attach_candidate_done(&c);
			return sw_error_set(err, -ENOMEM, "out of memory");
		}
		if (q->exe && c.exe_errno)
			c.verdict = ATTACH_UNCHECKED;
		else
			c.verdict = classify(&c, ancestors, n_ancestors);
		/* a thread other than the leader may be traced: attaching would refuse it */
		if (c.verdict == ATTACH_SELECTED) {
			pid_t tracer = 0;

			if (traced_thread(pid, &tracer)) {
				c.verdict = ATTACH_LEFT_TRACED;
				c.tracer_pid = tracer;
			}
		}
		if (sel.n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct attach_candidate *nv = realloc(sel.v, ncap * sizeof(*nv));

			if (!nv) {
				attach_candidate_done(&c);
				return sw_error_set(err, -ENOMEM, "out of memory");
			}
			sel.v = nv;
			cap = ncap;
		}
		sel.v[sel.n++] = c;
		if (c.verdict == ATTACH_SELECTED)
			selected++;
	}
	*ret = sel;
	sel = (struct attach_selection){};
	return selected;
}
