/* SPDX-License-Identifier: MIT */
/*
 * The bpf backend's kernel programs (tracer/bpf/watch.bpf.c), loaded for real
 * through the generated skeleton: children of this test are watched, and
 * what the ring buffer, the counters and the maps show is checked. Needs
 * root (CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN) and kernel BTF; SKIP otherwise.
 * Every program and map is checked gone after each test.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "policy/wait.h"
#include "tracer/bpf/watch.h"
#include "tracer/procinfo.h"
#include "watch.skel.h"
#include "unit.h"

#define MS 1000000ULL
#define MAX_EVENTS 64
#define MAX_IDS 16

struct fixture {
	struct watch_bpf *skel;
	struct ring_buffer *rb;
	struct watch_event ev[MAX_EVENTS];
	int nev;
	/* when set: every COMPLETED event goes here, not to ev (tests that count hundreds) */
	struct watch_event *log;
	int nlog, log_cap;
	__u32 prog_ids[MAX_IDS], map_ids[MAX_IDS];
	int nprogs, nmaps;
	pid_t child;
};

/* libbpf's messages, shown only when loading fails for another reason than a refusal */
static char libbpf_log[8192];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t len = strlen(libbpf_log);

	if (level != LIBBPF_DEBUG && len < sizeof(libbpf_log) - 1)
		vsnprintf(libbpf_log + len, sizeof(libbpf_log) - len, fmt, ap);
	return 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct fixture *f = ctx;

	const struct watch_event *ev = data;

	if (size < sizeof(struct watch_event))
		return 0;
	if (f->log && ev->kind == WATCH_EVENT_COMPLETED) {
		if (f->nlog < f->log_cap)
			memcpy(&f->log[f->nlog++], data, sizeof(struct watch_event));
	} else if (f->nev < MAX_EVENTS)
		memcpy(&f->ev[f->nev++], data, sizeof(struct watch_event));
	return 0;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* %wait: how the kernel decides the calls of nr, and the thresholds of its waits and others */
static int set_wait_conf_abi(struct fixture *f, __u32 abi, int nr, __u32 how, __u64 wait_ns,
			     __u64 other_ns)
{
	__u32 key = abi * WATCH_MAX_NR + (__u32)nr;
	struct watch_wait_conf conf = { .how = how,
					.wait_threshold_ns = wait_ns,
					.pathless_threshold_ns = wait_ns,
					.other_threshold_ns = other_ns };
	__u64 ns = wait_ns < other_ns ? wait_ns : other_ns;

	if (bpf_map_update_elem(bpf_map__fd(f->skel->maps.wait_conf), &key, &conf, BPF_ANY))
		return -1;
	return bpf_map_update_elem(bpf_map__fd(f->skel->maps.thresholds), &key, &ns, BPF_ANY);
}

/* every call of nr held to ns, waits or not */
static int set_threshold_abi(struct fixture *f, __u32 abi, int nr, __u64 ns)
{
	return set_wait_conf_abi(f, abi, nr, WATCH_WAIT_HOW_NEVER, ns, ns);
}

static int set_threshold(struct fixture *f, int nr, __u64 ns)
{
	return set_threshold_abi(f, WATCH_ABI_NATIVE, nr, ns);
}

/* 0: loaded and attached; UNIT_SKIP with the reason; -1: failed */
static int fixture_load(struct fixture *f)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int err;

	memset(f, 0, sizeof(*f));
	f->child = -1;
	libbpf_log[0] = '\0';
	if (geteuid() != 0)
		SKIP("not root: bpf() needs CAP_BPF and CAP_PERFMON");
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		SKIP("no kernel BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)");
	libbpf_set_print(libbpf_print);
	f->skel = watch_bpf__open_and_load();
	if (!f->skel) {
		err = errno;
		if (err == EPERM || err == EACCES)
			SKIP("bpf() refused (EPERM): no CAP_BPF/CAP_PERFMON here");
		if (err == ENOSYS)
			SKIP("no bpf() syscall (CONFIG_BPF_SYSCALL)");
		fprintf(stderr, "  open/load: %s\n%s", strerror(err), libbpf_log);
		return -1;
	}
	bpf_object__for_each_program(prog, f->skel->obj)
	{
		if (f->nprogs < MAX_IDS)
			f->prog_ids[f->nprogs++] = prog_id(bpf_program__fd(prog));
	}
	bpf_object__for_each_map(map, f->skel->obj)
	{
		if (f->nmaps < MAX_IDS)
			f->map_ids[f->nmaps++] = map_id(bpf_map__fd(map));
	}
	for (__u32 i = 0; i < WATCH_ABI_MAX * WATCH_MAX_NR; i++)
		CHECK(set_threshold_abi(f, i / WATCH_MAX_NR, (int)(i % WATCH_MAX_NR),
					WATCH_UNWATCHED) == 0);
	if (watch_bpf__attach(f->skel)) {
		err = errno;
		if (err == EPERM || err == EACCES)
			SKIP("attaching tp_btf programs refused (EPERM)");
		fprintf(stderr, "  attach: %s\n%s", strerror(err), libbpf_log);
		return -1;
	}
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.events), on_event, f, NULL);
	CHECK(f->rb != NULL);
	return 0;
}

static int fixture_open(struct fixture *f)
{
	int r = fixture_load(f);

	if (r) {
		ring_buffer__free(f->rb);
		watch_bpf__destroy(f->skel);
	}
	return r;
}

/* Is the object with this id still in the kernel? Freeing is deferred (RCU, workqueue). */
static int wait_gone(__u32 id, int (*get_fd)(__u32))
{
	for (int i = 0; i < 300; i++) {
		int fd = get_fd(id);

		if (fd < 0 && errno == ENOENT)
			return 0;
		if (fd >= 0)
			close(fd);
		usleep(10000);
	}
	return -1;
}

/* Kills and reaps the child if still there, destroys everything, checks it is gone. */
static int fixture_close(struct fixture *f)
{
	if (f->child > 0) {
		kill(f->child, SIGKILL);
		waitpid(f->child, NULL, 0);
	}
	ring_buffer__free(f->rb);
	watch_bpf__destroy(f->skel);
	free(f->log);
	for (int i = 0; i < f->nprogs; i++)
		CHECK(f->prog_ids[i] != 0 && wait_gone(f->prog_ids[i], bpf_prog_get_fd_by_id) == 0);
	for (int i = 0; i < f->nmaps; i++)
		CHECK(f->map_ids[i] != 0 && wait_gone(f->map_ids[i], bpf_map_get_fd_by_id) == 0);
	CHECK(f->nprogs == 8 && f->nmaps >= 10);
	return 0;
}

/* bpf_ktime_get_ns()'s clock */
static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* Reads the ring buffer until an EXIT event for tgid arrives (or 10 s pass). */
static const struct watch_event *wait_exit(struct fixture *f, __u32 tgid)
{
	for (__u64 end = mono_ns() + 10000 * MS; mono_ns() < end;) {
		ring_buffer__poll(f->rb, 100);
		for (int k = 0; k < f->nev; k++)
			if (f->ev[k].kind == WATCH_EVENT_EXIT && f->ev[k].call.tgid == tgid)
				return &f->ev[k];
	}
	return NULL;
}

static int count_events(const struct fixture *f, __u32 kind, __u32 tgid)
{
	int n = 0;

	for (int k = 0; k < f->nev; k++)
		n += f->ev[k].kind == kind && f->ev[k].call.tgid == tgid;
	return n;
}

static const struct watch_event *find_event(const struct fixture *f, __u32 kind, __u32 tgid)
{
	for (int k = 0; k < f->nev; k++)
		if (f->ev[k].kind == kind && f->ev[k].call.tgid == tgid)
			return &f->ev[k];
	return NULL;
}

static __u64 stat_sum(struct fixture *f, __u32 idx)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v, sum = 0;

	if (ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return 0;
	if (bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.stats), &idx, v) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

/* Does any inflight entry belong to tgid (by tid or by its tgid field)? */
static int inflight_has(struct fixture *f, __u32 tgid)
{
	int fd = bpf_map__fd(f->skel->maps.inflight);
	__u32 key, next, *prev = NULL;
	struct watch_call call;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (next == tgid ||
		    (bpf_map_lookup_elem(fd, &next, &call) == 0 && call.tgid == tgid))
			return 1;
		key = next;
		prev = &key;
	}
	return 0;
}

static int watch_tgid(struct fixture *f, pid_t pid)
{
	__u32 tgid = (__u32)pid, val = WATCH_TGID_TARGET;

	/* the programs' first filter, as tracer/bpf.c's watch_tgid() sets it */
	f->skel->bss->tgid_filter[tgid & (WATCH_TGID_FILTER - 1)] = 1;
	return bpf_map_update_elem(bpf_map__fd(f->skel->maps.watched_tgids), &tgid, &val,
				   BPF_NOEXIST);
}

static int tgid_watched(struct fixture *f, pid_t pid, __u32 *val)
{
	__u32 tgid = (__u32)pid;

	return bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.watched_tgids), &tgid, val) == 0;
}

static void nsleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

	/* the raw syscall: glibc's nanosleep() is clock_nanosleep */
	syscall(SYS_nanosleep, &ts, NULL);
}

/* fork a child that waits for a byte on *go, then runs fn and exits with its result */
static pid_t spawn(int *go, int (*fn)(void *), void *arg)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(99);
		close(p[0]);
		_exit(fn(arg));
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

static int start(struct fixture *f, int go)
{
	char c = 'g';
	int ok = watch_tgid(f, f->child) == 0 && write(go, &c, 1) == 1;

	close(go);
	return ok ? 0 : -1;
}

static int reap(struct fixture *f, int *status)
{
	pid_t pid = waitpid(f->child, status, 0);

	f->child = -1;
	return pid > 0 ? 0 : -1;
}

/* ---- a slow call, fast calls, the exit ---------------------------------------------- */

static int child_calls(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++)
		syscall(SYS_getppid);
	nsleep_ms(100);
	return 3;
}

static int completed_and_exit(struct fixture *f)
{
	const struct watch_event *ev, *ex;
	__u64 calls0, dur;
	int go, status;
	__u32 val;

	CHECK(set_threshold(f, SYS_nanosleep, 50 * MS) == 0);
	CHECK(set_threshold(f, SYS_getppid, 3600000 * MS) == 0);
	calls0 = stat_sum(f, WATCH_STAT_CALLS);
	f->child = spawn(&go, child_calls, NULL);
	CHECK(f->child > 0);
	CHECK(start(f, go) == 0);
	ex = wait_exit(f, (__u32)f->child);
	CHECK(ex != NULL);
	CHECK(ex->ret == 3 << 8); /* the wait status: exit code 3 */
	CHECK(ex->tid == (__u32)f->child);

	CHECK(count_events(f, WATCH_EVENT_COMPLETED, (__u32)f->child) == 1);
	ev = find_event(f, WATCH_EVENT_COMPLETED, (__u32)f->child);
	dur = ev->end_ns - ev->call.start_ns;
	CHECK(ev->call.nr == SYS_nanosleep && ev->call.abi == WATCH_ABI_NATIVE);
	CHECK(dur >= 100 * MS && dur <= 400 * MS);
	CHECK(ev->ret == 0 && ev->tid == (__u32)f->child);
	CHECK(ev->call.pieces == 1 && ev->call.partial == 0 && ev->call.restart_code == 0);
	CHECK(ev->call.args[0] != 0 && ev->call.args[1] == 0);
	/* 10 getppid + the nanosleep, at least (exit_group never returns) */
	CHECK(stat_sum(f, WATCH_STAT_CALLS) - calls0 >= 11);
	CHECK(stat_sum(f, WATCH_STAT_RINGBUF_FULL) == 0);

	CHECK(reap(f, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK(!tgid_watched(f, ex->call.tgid, &val));
	CHECK(!inflight_has(f, ex->call.tgid));
	return 0;
}

static int test_completed_and_exit(void)
{
	struct fixture f;
	int r = fixture_open(&f), r2;

	if (r)
		return r;
	r = completed_and_exit(&f);
	r2 = fixture_close(&f);
	return r ? r : r2;
}

/* ---- a sleep stopped and continued: restart_syscall stitched in --------------------- */

static int child_long_sleep(void *arg)
{
	(void)arg;
	nsleep_ms(300);
	return 0;
}

static int restart(struct fixture *f)
{
	const struct watch_event *ev;
	struct watch_stack st;
	__u64 dur, sum;
	__u32 tid;
	int go, status;

	CHECK(set_threshold(f, SYS_nanosleep, 50 * MS) == 0);
	f->child = spawn(&go, child_long_sleep, NULL);
	CHECK(f->child > 0);
	CHECK(start(f, go) == 0);
	usleep(100000);
	/* the stop ends the sleep with ERESTART_RESTARTBLOCK; SIGCONT resumes it as restart_syscall */
	CHECK(kill(f->child, SIGSTOP) == 0);
	CHECK(waitpid(f->child, &status, WUNTRACED) == f->child && WIFSTOPPED(status));
	CHECK(kill(f->child, SIGCONT) == 0);
	CHECK(wait_exit(f, (__u32)f->child) != NULL);

	CHECK(count_events(f, WATCH_EVENT_COMPLETED, (__u32)f->child) == 1);
	ev = find_event(f, WATCH_EVENT_COMPLETED, (__u32)f->child);
	dur = ev->end_ns - ev->call.start_ns;
	CHECK(ev->call.nr == SYS_nanosleep); /* named by its first piece, not restart_syscall */
	CHECK(ev->call.pieces >= 2);
	CHECK(dur >= 290 * MS && dur <= 600 * MS);
	CHECK(ev->ret == 0 && ev->call.restart_code == 0);
	/*
	 * evidence: asleep, stopped (a block too), asleep again; the stop
	 * between the pieces counts as what it was; the times add up to the
	 * call, and the long block's stack came with the event
	 */
	sum = ev->call.on_cpu_ns + ev->call.runq_ns + ev->call.blocked_ns;
	CHECK(ev->call.blocks >= 2);
	CHECK(sum * 100 >= dur * 95 && sum * 100 <= dur * 105);
	CHECK(ev->call.blocked_ns * 10 >= dur * 8);
	CHECK(ev->call.block_stack && ev->block_stack.len >= sizeof(__u64));
	CHECK(reap(f, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(!inflight_has(f, ev->call.tgid));
	/* nothing left by tid */
	tid = ev->tid;
	CHECK(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.block_stacks), &tid, &st) != 0);
	return 0;
}

static int test_restart(void)
{
	struct fixture f;
	int r = fixture_open(&f), r2;

	if (r)
		return r;
	r = restart(&f);
	r2 = fixture_close(&f);
	return r ? r : r2;
}

/* ---- a read interrupted by a handler: restarted (SA_RESTART) or EINTR --------------- */

struct reader {
	int fd;
	int sa_flags;
};

static void on_usr1(int sig)
{
	(void)sig;
	syscall(SYS_getppid); /* a watched call inside the handler */
}

static int child_read(void *arg)
{
	const struct reader *r = arg;
	struct sigaction sa;
	char c;
	ssize_t n;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = r->sa_flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		return 98;
	n = read(r->fd, &c, 1);
	return n == 1 ? 0 : n < 0 && errno == EINTR ? 4 : 97;
}

/* The child blocks in read(); SIGUSR1 at 100 ms, a byte at 200 ms. */
static int interrupted_read(struct fixture *f, int sa_flags, __u64 *dur, __s64 *ret, __u32 *pieces,
			    __s64 *restart_code, int *code)
{
	const struct watch_event *ev;
	struct reader r = { .sa_flags = sa_flags };
	int p[2], go, status;
	char c = 'x';
	ssize_t n;
	__u32 child;

	CHECK(pipe(p) == 0);
	r.fd = p[0];
	f->nev = 0;
	f->child = spawn(&go, child_read, &r);
	CHECK(f->child > 0);
	child = (__u32)f->child;
	CHECK(start(f, go) == 0);
	usleep(100000);
	CHECK(kill(f->child, SIGUSR1) == 0);
	usleep(100000);
	/* our read end stays open: no SIGPIPE if the child is gone (no SA_RESTART) */
	n = write(p[1], &c, 1);
	close(p[1]);
	close(p[0]);
	CHECK(n == 1);
	CHECK(wait_exit(f, child) != NULL);
	CHECK(reap(f, &status) == 0 && WIFEXITED(status));
	*code = WEXITSTATUS(status);
	CHECK(count_events(f, WATCH_EVENT_COMPLETED, child) == 1);
	ev = find_event(f, WATCH_EVENT_COMPLETED, child);
	CHECK(ev->call.nr == SYS_read);
	*dur = ev->end_ns - ev->call.start_ns;
	*ret = ev->ret;
	*pieces = ev->call.pieces;
	*restart_code = ev->call.restart_code;
	return 0;
}

static int handlers(struct fixture *f)
{
	__u64 dur;
	__s64 ret, rc;
	__u32 pieces;
	int code;

	CHECK(set_threshold(f, SYS_read, 50 * MS) == 0);
	CHECK(set_threshold(f, SYS_getppid, 3600000 * MS) == 0);

	/* SA_RESTART: the handler's getppid and rt_sigreturn between two pieces of one read */
	CHECK(interrupted_read(f, SA_RESTART, &dur, &ret, &pieces, &rc, &code) == 0);
	CHECK(code == 0 && ret == 1 && pieces == 2 && rc == 0);
	CHECK(dur >= 190 * MS && dur <= 500 * MS);

	/* no SA_RESTART: the program saw EINTR when the signal came */
	CHECK(interrupted_read(f, 0, &dur, &ret, &pieces, &rc, &code) == 0);
	CHECK(code == 4 && ret == -EINTR && pieces == 1 && rc == -512 /* ERESTARTSYS */);
	CHECK(dur >= 90 * MS && dur <= 190 * MS);
	return 0;
}

static int test_signal_handler(void)
{
	struct fixture f;
	int r = fixture_open(&f), r2;

	if (r)
		return r;
	r = handlers(&f);
	r2 = fixture_close(&f);
	return r ? r : r2;
}

/* ---- follow_forks: a grandchild joins the set at fork --------------------------------- */

struct forker {
	int report[2]; /* the grandchild's pid goes here */
	int release[2]; /* the grandchild waits for a byte (or EOF) here */
};

static int child_fork(void *arg)
{
	const struct forker *fk = arg;
	pid_t gc;
	char c;

	close(fk->report[0]);
	close(fk->release[1]);
	gc = fork();
	if (gc < 0)
		return 96;
	if (gc == 0) {
		if (read(fk->release[0], &c, 1) < 0)
			_exit(95);
		nsleep_ms(60);
		_exit(0);
	}
	if (write(fk->report[1], &gc, sizeof(gc)) != sizeof(gc))
		return 94;
	waitpid(gc, NULL, 0);
	return 0;
}

static int follow(struct fixture *f)
{
	struct forker fk;
	const struct watch_event *ev;
	struct watch_config cfg = { .follow_forks = 1 };
	__u32 zero = 0, val = 0;
	int go, status;
	pid_t gc = 0, child;
	char c = 'r';
	ssize_t n;

	CHECK(bpf_map_update_elem(bpf_map__fd(f->skel->maps.config), &zero, &cfg, BPF_ANY) == 0);
	CHECK(set_threshold(f, SYS_nanosleep, 50 * MS) == 0);
	CHECK(pipe(fk.report) == 0);
	CHECK(pipe(fk.release) == 0);
	f->child = child = spawn(&go, child_fork, &fk);
	close(fk.report[1]);
	close(fk.release[0]);
	CHECK(f->child > 0);
	CHECK(start(f, go) == 0);
	n = read(fk.report[0], &gc, sizeof(gc));
	close(fk.report[0]);
	/* in the set while it lives, as a child; EOF on release lets it go on a failure */
	val = 0;
	if (n == sizeof(gc) && gc > 0)
		tgid_watched(f, gc, &val);
	n = n == sizeof(gc) ? write(fk.release[1], &c, 1) : 0;
	close(fk.release[1]);
	CHECK(gc > 0 && val == WATCH_TGID_CHILD && n == 1);
	CHECK(wait_exit(f, (__u32)child) != NULL);
	CHECK(reap(f, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);

	ev = find_event(f, WATCH_EVENT_FORK, (__u32)gc);
	CHECK(ev != NULL && ev->ret == child && ev->tid == (__u32)gc);
	CHECK(count_events(f, WATCH_EVENT_FORK, (__u32)gc) == 1);
	CHECK(find_event(f, WATCH_EVENT_EXIT, (__u32)gc) != NULL);
	/* the grandchild's sleep was timed */
	ev = find_event(f, WATCH_EVENT_COMPLETED, (__u32)gc);
	CHECK(ev != NULL && ev->call.nr == SYS_nanosleep &&
	      ev->end_ns - ev->call.start_ns >= 60 * MS);
	CHECK(!tgid_watched(f, gc, &val));
	return 0;
}

static int test_follow_forks(void)
{
	struct fixture f;
	int r = fixture_open(&f), r2;

	if (r)
		return r;
	r = follow(&f);
	r2 = fixture_close(&f);
	return r ? r : r2;
}

/* ---- exec by a thread other than the leader: the execve ends under the leader's pid ---- */

static void *exec_thread(void *arg)
{
	const int *report = arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	char *const argv[] = { "true", NULL };

	if (write(*report, &tid, sizeof(tid)) == sizeof(tid))
		execv("/bin/true", argv);
	_exit(93);
}

static int child_thread_exec(void *arg)
{
	pthread_t th;

	if (pthread_create(&th, NULL, exec_thread, arg))
		return 92;
	for (;;)
		pause(); /* de_thread() kills this thread at the exec */
}

static int thread_exec(struct fixture *f)
{
	const struct watch_event *ev;
	int report[2], go, status;
	pid_t tid = 0, child;
	__u32 key;
	ssize_t n;

	if (access("/bin/true", X_OK) != 0)
		SKIP("no /bin/true");
	CHECK(set_threshold(f, SYS_execve, 0) == 0); /* every execve */
	CHECK(pipe(report) == 0);
	f->child = child = spawn(&go, child_thread_exec, &report[1]);
	close(report[1]);
	CHECK(child > 0);
	CHECK(start(f, go) == 0);
	n = read(report[0], &tid, sizeof(tid));
	close(report[0]);
	CHECK(n == sizeof(tid) && tid > 0 && tid != child);
	CHECK(wait_exit(f, (__u32)child) != NULL);
	CHECK(reap(f, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* begun by tid, ended by the leader's pid that it took over */
	CHECK(count_events(f, WATCH_EVENT_COMPLETED, (__u32)child) == 1);
	ev = find_event(f, WATCH_EVENT_COMPLETED, (__u32)child);
	CHECK(ev->call.nr == SYS_execve && ev->ret == 0 && ev->tid == (__u32)child);
	key = (__u32)tid;
	CHECK(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.inflight), &key,
				  &(struct watch_call){ 0 }) != 0);
	CHECK(!inflight_has(f, (__u32)child));
	return 0;
}

static int test_exec_by_thread(void)
{
	struct fixture f;
	int r = fixture_open(&f), r2;

	if (r)
		return r;
	r = thread_exec(&f);
	r2 = fixture_close(&f);
	return r ? r : r2;
}

/* ---- stale state: what is left in the maps after threads and processes come and go ---- */

static int map_count(int fd)
{
	__u32 key, next, *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0 && n < 100000) {
		n++;
		key = next;
		prev = &key;
	}
	return n;
}

static int n_inflight(struct fixture *f)
{
	return map_count(bpf_map__fd(f->skel->maps.inflight));
}

static int n_suspended(struct fixture *f)
{
	return map_count(bpf_map__fd(f->skel->maps.suspended));
}

static int n_watched(struct fixture *f)
{
	return map_count(bpf_map__fd(f->skel->maps.watched_tgids));
}

/* Polls (reading the ring buffer) until inflight and suspended hold these many (2 s at most). */
static int settle(struct fixture *f, int inflight, int suspended)
{
	for (int i = 0; i < 200; i++) {
		if (n_inflight(f) == inflight && n_suspended(f) == suspended)
			return 0;
		ring_buffer__poll(f->rb, 10);
	}
	fprintf(stderr, "  inflight %d (want %d), suspended %d (want %d)\n", n_inflight(f),
		inflight, n_suspended(f), suspended);
	return -1;
}

/* In the child: waits until thread tid is blocked in syscall nr (/proc/self/task/TID/syscall). */
static int wait_in_call(pid_t tid, long nr)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	for (int i = 0; i < 2000; i++) {
		FILE *fp = fopen(path, "r");
		long got = -2;

		if (fp) {
			if (fgets(buf, sizeof(buf), fp) && buf[0] != 'r')
				got = strtol(buf, NULL, 10);
			fclose(fp);
		}
		if (got == nr)
			return 0;
		usleep(1000);
	}
	return -1;
}

/* tid of a thread that has started (its own gettid), 0 after 2 s */
static pid_t wait_tid(const pid_t *tid)
{
	for (int i = 0; i < 2000; i++) {
		pid_t t = __atomic_load_n(tid, __ATOMIC_ACQUIRE);

		if (t)
			return t;
		usleep(1000);
	}
	return 0;
}

enum churn_kind {
	CHURN_SLEEP, /* nanosleep(1 ms), returns: a completed call */
	CHURN_LONGJMP, /* read blocks; SIGUSR1's handler longjmps out of it */
	CHURN_EXIT_IN_HANDLER, /* read blocks; SIGUSR2's handler ends the thread (mid-call) */
	CHURN_BLOCK, /* read blocks until the exit_group */
	CHURN_LONG_SLEEP, /* nanosleep(10 s) until the exit_group */
	CHURN_PAUSE_IN_HANDLER, /* read blocks; SIGWINCH's handler blocks in pause */
};

struct churn_thread {
	pthread_t th;
	enum churn_kind kind;
	int fd; /* never written: a read blocks */
	pid_t tid;
};

static __thread sigjmp_buf churn_jmp;

static void churn_longjmp(int sig)
{
	(void)sig;
	siglongjmp(churn_jmp, 1);
}

/* the thread ends from the handler (unwinding through the signal frame), its read pending */
static void churn_exit(int sig)
{
	(void)sig;
	pthread_exit(NULL);
}

static void churn_pause(int sig)
{
	(void)sig;
	pause();
}

static void *churn_thread(void *arg)
{
	struct churn_thread *ct = arg;
	char c;

	if (ct->kind == CHURN_LONGJMP && sigsetjmp(churn_jmp, 1))
		return NULL; /* the read, interrupted, abandoned */
	__atomic_store_n(&ct->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	if (ct->kind == CHURN_SLEEP)
		nsleep_ms(1);
	else if (ct->kind == CHURN_LONG_SLEEP)
		nsleep_ms(10000);
	else if (read(ct->fd, &c, 1) < 0)
		return NULL;
	return NULL;
}

/* Starts n threads of these kinds; 0 once every blocking one is in its call. */
static int churn_start(struct churn_thread *ct, int n, int fd, pthread_attr_t *attr)
{
	static const int signal_of[] = { [CHURN_LONGJMP] = SIGUSR1,
					 [CHURN_EXIT_IN_HANDLER] = SIGUSR2,
					 [CHURN_PAUSE_IN_HANDLER] = SIGWINCH };

	for (int i = 0; i < n; i++) {
		ct[i].fd = fd;
		ct[i].tid = 0;
		if (pthread_create(&ct[i].th, attr, churn_thread, &ct[i]))
			return -1;
	}
	for (int i = 0; i < n; i++) {
		pid_t tid = wait_tid(&ct[i].tid);

		if (!tid)
			return -1;
		if (ct[i].kind == CHURN_SLEEP)
			continue;
		if (wait_in_call(tid, ct[i].kind == CHURN_LONG_SLEEP ? SYS_nanosleep : SYS_read))
			return -1;
		if (ct[i].kind == CHURN_LONGJMP || ct[i].kind == CHURN_EXIT_IN_HANDLER ||
		    ct[i].kind == CHURN_PAUSE_IN_HANDLER) {
			if (pthread_kill(ct[i].th, signal_of[ct[i].kind]))
				return -1;
		}
		if (ct[i].kind == CHURN_PAUSE_IN_HANDLER && wait_in_call(tid, SYS_pause))
			return -1;
	}
	return 0;
}

/* struct clone_args of <linux/sched.h> up to set_tid_size (5.5+), without its CLONE_ clash */
struct clone_args_v1 {
	__u64 flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
		set_tid_size;
};

#define CHURN_WAVES 20
#define CHURN_WAVE 50
#define CHURN_REUSE 8 /* tids offered for reuse */
#define CHURN_LAST_BLOCKED 30 /* read or nanosleep at the exit_group, 10 of them in pause */

struct churn_pipes {
	int report; /* child -> test */
	int go; /* test -> child */
	int block; /* never written: a read blocks */
};

/*
 * The watched child: 20 waves of 50 threads, each joined before the next
 * (1 ms sleeps; reads abandoned by a longjmp; reads cut by pthread_exit()
 * in a handler); then one of the gone tids taken again by a forked child
 * (clone3 set_tid); then a last wave blocked in read, nanosleep and a
 * handler's pause, all in flight at the exit_group.
 */
static int child_churn(void *arg)
{
	const struct churn_pipes *p = arg;
	struct churn_thread ct[CHURN_WAVE];
	pid_t offered[CHURN_REUSE] = { 0 }, reused = 0, tid;
	struct sigaction sa;
	pthread_attr_t attr;
	int n_offered = 0;
	char c;

	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = churn_longjmp;
	if (sigaction(SIGUSR1, &sa, NULL))
		return 90;
	sa.sa_handler = churn_exit;
	if (sigaction(SIGUSR2, &sa, NULL))
		return 90;
	sa.sa_handler = churn_pause;
	if (sigaction(SIGWINCH, &sa, NULL) || pthread_attr_init(&attr) ||
	    pthread_attr_setstacksize(&attr, 64 * 1024))
		return 90;
	for (int w = 0; w < CHURN_WAVES; w++) {
		for (int i = 0; i < CHURN_WAVE; i++)
			ct[i].kind = (enum churn_kind)((w * CHURN_WAVE + i) % 3);
		if (churn_start(ct, CHURN_WAVE, p->block, &attr))
			return 89;
		for (int i = 0; i < CHURN_WAVE; i++) {
			pthread_join(ct[i].th, NULL);
			if (ct[i].kind == CHURN_EXIT_IN_HANDLER && n_offered < CHURN_REUSE &&
			    w >= CHURN_WAVES - 2)
				offered[n_offered++] = ct[i].tid;
		}
	}
	/* the test plants an entry under each offered tid, then says go */
	if (write(p->report, offered, sizeof(offered)) != sizeof(offered) ||
	    read(p->go, &c, 1) != 1)
		return 88;
	for (int i = 0; i < n_offered && !reused; i++) {
		struct clone_args_v1 ca = { .exit_signal = SIGCHLD,
					    .set_tid = (__u64)(unsigned long)&offered[i],
					    .set_tid_size = 1 };

		tid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (tid == 0) {
			nsleep_ms(1);
			_exit(0);
		}
		if (tid > 0) {
			reused = tid;
			waitpid(tid, NULL, 0);
		}
	}
	if (write(p->report, &reused, sizeof(reused)) != sizeof(reused))
		return 87;
	for (int i = 0; i < CHURN_LAST_BLOCKED; i++)
		ct[i].kind = i % 3 == 0 ? CHURN_PAUSE_IN_HANDLER :
			     i % 3 == 1 ? CHURN_BLOCK :
					  CHURN_LONG_SLEEP;
	if (churn_start(ct, CHURN_LAST_BLOCKED, p->block, &attr))
		return 86;
	if (write(p->report, &c, 1) != 1 || read(p->go, &c, 1) != 1)
		return 85;
	return 5; /* exit_group, every thread of the last wave in flight */
}

/* Every completed call is one of the child's own, with a sane start and length. */
static int check_log(struct fixture *f, __u64 t0, __u64 max_ns)
{
	for (int i = 0; i < f->nlog; i++) {
		const struct watch_event *ev = &f->log[i];

		if (ev->call.start_ns < t0 || ev->end_ns < ev->call.start_ns ||
		    ev->end_ns - ev->call.start_ns > max_ns) {
			fprintf(stderr, "  event %d: tid %u nr %u start %llu (t0 %llu) end %llu\n",
				i, ev->tid, ev->call.nr, (unsigned long long)ev->call.start_ns,
				(unsigned long long)t0, (unsigned long long)ev->end_ns);
			return -1;
		}
	}
	return 0;
}

/* completed calls nr on fd (-1: any args), that returned ret (LLONG_MIN: any) */
static int count_log(const struct fixture *f, __u32 nr, long fd, __s64 ret)
{
	int n = 0;

	for (int i = 0; i < f->nlog; i++)
		n += f->log[i].call.nr == nr && (fd < 0 || f->log[i].call.args[0] == (__u64)fd) &&
		     (ret == LLONG_MIN || f->log[i].ret == ret);
	return n;
}

static int thread_churn(struct fixture *f)
{
	struct watch_config cfg = { .follow_forks = 1 };
	struct churn_pipes p;
	int report[2], go[2], block[2], start_go, status, n_offered = 0;
	pid_t offered[CHURN_REUSE], reused = 0;
	__u32 zero = 0, val;
	__u64 t0;
	char c = 'g';

	CHECK(bpf_map_update_elem(bpf_map__fd(f->skel->maps.config), &zero, &cfg, BPF_ANY) == 0);
	CHECK(set_threshold(f, SYS_read, 0) == 0);
	CHECK(set_threshold(f, SYS_nanosleep, 0) == 0);
	CHECK(set_threshold(f, SYS_pause, 0) == 0);
	f->log_cap = 4096;
	f->log = calloc((size_t)f->log_cap, sizeof(*f->log));
	CHECK(f->log != NULL);
	CHECK(pipe(report) == 0 && pipe(go) == 0 && pipe(block) == 0);
	p.report = report[1];
	p.go = go[0];
	p.block = block[0];
	t0 = mono_ns();
	f->child = spawn(&start_go, child_churn, &p);
	close(report[1]);
	CHECK(f->child > 0);
	CHECK(start(f, start_go) == 0);

	/* 1000 threads came and went: the child's read of `go` is the one entry left */
	CHECK(read(report[0], offered, sizeof(offered)) == sizeof(offered));
	CHECK(settle(f, 1, 0) == 0);
	CHECK(n_watched(f) == 1 && tgid_watched(f, f->child, &val));
	fprintf(stderr, "  after 1000 threads: inflight %d, suspended %d, watched %d\n",
		n_inflight(f), n_suspended(f), n_watched(f));
	/*
	 * An old call left under each gone tid, as a seed from user space that
	 * lost the race with the thread's exit would be (start 1 ns: any event
	 * of it fails check_log).
	 */
	for (int i = 0; i < CHURN_REUSE && offered[i] > 0; i++) {
		struct watch_call old = {
			.start_ns = 1, .nr = SYS_read, .pieces = 1, .partial = 1
		};
		__u32 key = (__u32)offered[i];

		old.tgid = (__u32)f->child;
		CHECK(bpf_map_update_elem(bpf_map__fd(f->skel->maps.inflight), &key, &old,
					  BPF_NOEXIST) == 0);
		n_offered++;
	}
	CHECK(n_offered > 0);
	CHECK(write(go[1], &c, 1) == 1);
	CHECK(read(report[0], &reused, sizeof(reused)) == sizeof(reused));
	if (reused <= 0)
		fprintf(stderr, "  clone3 set_tid reused none of %d gone tids\n", n_offered);
	CHECK(reused > 0);
	/* the reused tid's old entry went at the fork; the others stay for us to remove */
	for (int i = 0; i < n_offered; i++) {
		__u32 key = (__u32)offered[i];
		int there = bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.inflight), &key,
						&(struct watch_call){ 0 }) == 0;

		CHECK(there == (offered[i] != reused));
		if (there)
			CHECK(bpf_map_delete_elem(bpf_map__fd(f->skel->maps.inflight), &key) == 0);
	}

	/* the last wave in flight: 30 calls + 10 reads waiting under a handler's pause + our read */
	CHECK(read(report[0], &c, 1) == 1);
	CHECK(settle(f, CHURN_LAST_BLOCKED + 1, CHURN_LAST_BLOCKED / 3) == 0);
	fprintf(stderr, "  before the exit_group: inflight %d, suspended %d, watched %d\n",
		n_inflight(f), n_suspended(f), n_watched(f));
	CHECK(write(go[1], &c, 1) == 1);
	close(go[1]);
	CHECK(wait_exit(f, (__u32)f->child) != NULL);
	close(report[0]);
	close(go[0]);
	close(block[0]);
	close(block[1]);
	CHECK(reap(f, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 5);
	ring_buffer__poll(f->rb, 10);
	fprintf(stderr,
		"  after the exit: inflight %d, suspended %d, watched %d; %d calls completed\n",
		n_inflight(f), n_suspended(f), n_watched(f), f->nlog);
	CHECK(n_inflight(f) == 0 && n_suspended(f) == 0 && n_watched(f) == 0);

	CHECK(check_log(f, t0, 5000 * MS) == 0);
	/* 334 sleeps of the waves, one of the fork reusing a tid */
	CHECK(count_log(f, SYS_nanosleep, -1, 0) == (CHURN_WAVES * CHURN_WAVE + 2) / 3 + 1);
	CHECK(count_log(f, SYS_nanosleep, -1, LLONG_MIN) == count_log(f, SYS_nanosleep, -1, 0));
	/* the two reads of `go` completed; no read of `block` ever did (interrupted, killed) */
	CHECK(count_log(f, SYS_read, go[0], LLONG_MIN) == 2 &&
	      count_log(f, SYS_read, go[0], 1) == 2);
	CHECK(count_log(f, SYS_read, block[0], LLONG_MIN) == 0);
	CHECK(count_log(f, SYS_pause, -1, LLONG_MIN) == 0);
	for (int i = 0; i < f->nlog; i++)
		if (f->log[i].tid == (__u32)reused)
			CHECK(f->log[i].call.nr == SYS_nanosleep);
	CHECK(stat_sum(f, WATCH_STAT_RINGBUF_FULL) == 0 &&
	      stat_sum(f, WATCH_STAT_INFLIGHT_FULL) == 0);
	return 0;
}

static int test_thread_churn(void)
{
	struct fixture f;
	int r = fixture_open(&f), r2;

	if (r)
		return r;
	r = thread_churn(&f);
	r2 = fixture_close(&f);
	return r ? r : r2;
}

/* ---- an exec storm: a thread's exec with calls in flight, then 200 execs in a row ---- */

#define EXEC_CHAIN 200
#define STORM_BLOCKED 9 /* 3 reads, 3 nanosleeps, 3 reads waiting under a handler's pause */

struct storm {
	struct churn_pipes p;
	pid_t leader;
};

static void *storm_exec(void *arg)
{
	const struct storm *st = arg;
	/* /bin/sh re-execs itself EXEC_CHAIN times, then exits 7 */
	static const char chain[] =
		"[ \"$0\" -gt 0 ] && exec /bin/sh -c \"$S\" $(($0 - 1)); exit 7";
	char env_s[sizeof(chain) + 2], n[16], c = 'r';
	char *const argv[] = { "sh", "-c", (char *)chain, n, NULL };
	char *const envp[] = { env_s, NULL };

	snprintf(env_s, sizeof(env_s), "S=%s", chain);
	snprintf(n, sizeof(n), "%d", EXEC_CHAIN);
	if (wait_in_call(st->leader, SYS_read) || write(st->p.report, &c, 1) != 1 ||
	    read(st->p.go, &c, 1) != 1)
		_exit(84);
	execve("/bin/sh", argv, envp);
	_exit(83);
}

/*
 * The watched child: threads blocked in read, nanosleep and a handler's
 * pause (the read under it waits in `suspended`), the leader in read; a
 * thread execs: de_thread() kills them all with their calls in flight.
 */
static int child_exec_storm(void *arg)
{
	struct storm *st = arg;
	struct churn_thread ct[STORM_BLOCKED];
	struct sigaction sa;
	pthread_attr_t attr;
	pthread_t th;
	char c;

	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = churn_pause;
	if (sigaction(SIGWINCH, &sa, NULL) || pthread_attr_init(&attr) ||
	    pthread_attr_setstacksize(&attr, 64 * 1024))
		return 90;
	for (int i = 0; i < STORM_BLOCKED; i++)
		ct[i].kind = i % 3 == 0 ? CHURN_PAUSE_IN_HANDLER :
			     i % 3 == 1 ? CHURN_BLOCK :
					  CHURN_LONG_SLEEP;
	if (churn_start(ct, STORM_BLOCKED, st->p.block, &attr))
		return 89;
	st->leader = getpid();
	if (pthread_create(&th, &attr, storm_exec, st))
		return 88;
	if (read(st->p.block, &c, 1) < 0)
		return 87;
	return 86;
}

static int exec_storm(struct fixture *f)
{
	struct storm st;
	int report[2], go[2], block[2], start_go, status;
	pid_t child;
	__u64 t0;
	char c = 'g';

	if (access("/bin/sh", X_OK) != 0)
		SKIP("no /bin/sh");
	CHECK(set_threshold(f, SYS_read, 0) == 0);
	CHECK(set_threshold(f, SYS_nanosleep, 0) == 0);
	CHECK(set_threshold(f, SYS_pause, 0) == 0);
	CHECK(set_threshold(f, SYS_execve, 0) == 0);
	f->log_cap = 4096;
	f->log = calloc((size_t)f->log_cap, sizeof(*f->log));
	CHECK(f->log != NULL);
	CHECK(pipe(report) == 0 && pipe(go) == 0 && pipe(block) == 0);
	st.p = (struct churn_pipes){ .report = report[1], .go = go[0], .block = block[0] };
	t0 = mono_ns();
	f->child = child = spawn(&start_go, child_exec_storm, &st);
	close(report[1]);
	CHECK(f->child > 0);
	CHECK(start(f, start_go) == 0);

	/* the 9 threads' calls, the leader's read, the exec'ing thread's read of `go` */
	CHECK(read(report[0], &c, 1) == 1);
	CHECK(settle(f, STORM_BLOCKED + 2, STORM_BLOCKED / 3) == 0);
	fprintf(stderr, "  before the exec: inflight %d, suspended %d, watched %d\n", n_inflight(f),
		n_suspended(f), n_watched(f));
	CHECK(write(go[1], &c, 1) == 1);
	CHECK(wait_exit(f, (__u32)f->child) != NULL);
	close(report[0]);
	close(go[0]);
	close(go[1]);
	close(block[0]);
	close(block[1]);
	CHECK(reap(f, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 7);
	ring_buffer__poll(f->rb, 10);
	fprintf(stderr,
		"  after %d execs: inflight %d, suspended %d, watched %d; %d calls completed\n",
		EXEC_CHAIN + 1, n_inflight(f), n_suspended(f), n_watched(f), f->nlog);
	CHECK(n_inflight(f) == 0 && n_suspended(f) == 0 && n_watched(f) == 0);

	CHECK(check_log(f, t0, 5000 * MS) == 0);
	/* every exec ended under the leader's pid (the thread's took it over) */
	CHECK(count_log(f, SYS_execve, -1, 0) == EXEC_CHAIN + 1);
	for (int i = 0; i < f->nlog; i++)
		if (f->log[i].call.nr == SYS_execve && f->log[i].ret == 0)
			CHECK(f->log[i].tid == (__u32)child);
	/* the read of `go` completed; the calls de_thread() killed did not */
	CHECK(count_log(f, SYS_read, go[0], 1) == 1);
	CHECK(count_log(f, SYS_read, block[0], LLONG_MIN) == 0);
	CHECK(count_log(f, SYS_nanosleep, -1, LLONG_MIN) == 0);
	CHECK(count_log(f, SYS_pause, -1, LLONG_MIN) == 0);
	CHECK(stat_sum(f, WATCH_STAT_RINGBUF_FULL) == 0 &&
	      stat_sum(f, WATCH_STAT_INFLIGHT_FULL) == 0);
	return 0;
}

static int test_exec_storm(void)
{
	struct fixture f;
	int r = fixture_open(&f), r2;

	if (r)
		return r;
	r = exec_storm(&f);
	r2 = fixture_close(&f);
	return r ? r : r2;
}

/* ---- an i386 call (int $0x80 from this 64-bit program): thresholds[WATCH_ABI_X86] ---- */

#define NR32_GETPID 20 /* arch/x86/entry/syscalls/syscall_32.tbl */
#define NR32_NANOSLEEP 162

static long int80(long nr, long a, long b)
{
	long ret;

	/* 64-bit code may use the i386 entry: TS_COMPAT is set, r8-r11 come back zeroed */
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b)
			 : "r8", "r9", "r10", "r11", "memory");
	return ret;
}

static int child_int80_probe(void *arg)
{
	(void)arg;
	return int80(NR32_GETPID, 0, 0) == getpid() ? 0 : 1;
}

/* the i386 struct timespec (two 32-bit longs), below 4 GiB */
static int child_int80_sleep(void *arg)
{
	__s32 *ts = arg;

	return int80(NR32_NANOSLEEP, (long)(unsigned long)ts, 0) == 0 ? 0 : 1;
}

static int i386_abi(struct fixture *f)
{
	const struct watch_event *ev;
	__s32 *ts;
	int go, status;
	__u32 child;
	__u64 dur;

	/* is there an i386 entry (CONFIG_IA32_EMULATION, not ia32_emulation=0)? */
	f->child = spawn(&go, child_int80_probe, NULL);
	CHECK(f->child > 0);
	CHECK(write(go, "g", 1) == 1); /* not watched: no start() */
	close(go);
	CHECK(reap(f, &status) == 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		SKIP("no i386 syscall entry (CONFIG_IA32_EMULATION off or ia32_emulation=0)");

	ts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1,
		  0);
	CHECK(ts != MAP_FAILED);
	ts[0] = 0;
	ts[1] = 100000000; /* 100 ms */
	CHECK(set_threshold_abi(f, WATCH_ABI_X86, NR32_NANOSLEEP, 50 * MS) == 0);
	f->child = spawn(&go, child_int80_sleep, ts);
	munmap(ts, 4096);
	CHECK(f->child > 0);
	child = (__u32)f->child;
	CHECK(start(f, go) == 0);
	CHECK(wait_exit(f, child) != NULL);
	CHECK(reap(f, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(count_events(f, WATCH_EVENT_COMPLETED, child) == 1);
	ev = find_event(f, WATCH_EVENT_COMPLETED, child);
	dur = ev->end_ns - ev->call.start_ns;
	CHECK(ev->call.abi == WATCH_ABI_X86 && ev->call.nr == NR32_NANOSLEEP);
	CHECK(ev->call.args[0] == (__u32)(unsigned long)ts && ev->call.args[1] == 0);
	CHECK(dur >= 100 * MS && dur <= 400 * MS && ev->ret == 0);
	return 0;
}

static int test_i386_abi(void)
{
	struct fixture f;
	int r = fixture_open(&f), r2;

	if (r)
		return r;
	r = i386_abi(&f);
	r2 = fixture_close(&f);
	return r ? r : r2;
}

/* ---- %wait decided in the kernel, as policy/wait.c decides it --------------------- */

enum {
	FD_PIPE,
	FD_SOCKET,
	FD_EVENTFD,
	FD_TIMERFD,
	FD_INOTIFY,
	FD_EPOLL,
	FD_FILE,
	FD_DEVNULL,
	FD_DIR,
	FD_MEMFD,
	FD_CLOSED,
	N_FDS
};

static const char *const fd_names[N_FDS] = { "pipe",	"socket", "eventfd", "timerfd",
					     "inotify", "epoll",  "file",    "/dev/null",
					     "dir",	"memfd",  "closed" };
/* what doc/policy.md says of a read of each (2: a wait, and the fd's link is not a path) */
static const int fd_wait[N_FDS] = { 2, 2, 2, 2, 2, 0, 0, 1, 0, 0, 0 };

static int wait_fds[N_FDS];

/* futex ops the child tries: each returns at once (value mismatch, nothing to wake) */
static const int futex_ops[] = { FUTEX_WAIT,
				 FUTEX_WAIT | FUTEX_PRIVATE_FLAG,
				 FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME,
				 FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE_FLAG,
				 FUTEX_WAKE,
				 FUTEX_LOCK_PI,
				 FUTEX_TRYLOCK_PI,
				 FUTEX_CMP_REQUEUE };

static int child_waits(void *arg)
{
	struct flock lk = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	char buf[64];
	__u32 word = 1, word2 = 0;
	extern char **environ;
	char *argv[] = { "true", NULL };
	pid_t pid;

	(void)arg;
	/* non-blocking, or with data ready: every call returns at once */
	for (int i = 0; i < N_FDS; i++)
		if (read(wait_fds[i], buf, sizeof(buf)) < -1)
			return 1;
	for (size_t i = 0; i < sizeof(futex_ops) / sizeof(futex_ops[0]); i++) {
		word = (futex_ops[i] & FUTEX_CMD_MASK) == FUTEX_LOCK_PI ||
				       (futex_ops[i] & FUTEX_CMD_MASK) == FUTEX_TRYLOCK_PI ?
			       (__u32)getpid() : /* ours already: EDEADLK, no wait */
			       1;
		syscall(SYS_futex, &word, futex_ops[i], 0, NULL, &word2, 0xffffffff);
	}
	fcntl(wait_fds[FD_FILE], F_SETLKW, &lk);
	fcntl(wait_fds[FD_FILE], F_GETFL);
	/* glibc's posix_spawn: clone3(CLONE_VFORK) (clone on older ones) */
	if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0)
		waitpid(pid, NULL, 0);
	return 0;
}

/* policy/wait.h's lookup, over this process's fds (the child's are the same: inherited) */
static enum fd_kind own_fd_kind(void *opaque, int fd)
{
	(void)opaque;
	return procinfo_fd_kind(getpid(), fd, NULL);
}

static int open_wait_fds(void)
{
	int p[2], sv[2];
	char tmpl[] = "/tmp/sw-test-wait-XXXXXX";
	struct itimerspec its = {};

	CHECK(pipe2(p, O_NONBLOCK) == 0 && write(p[1], "x", 1) == 1);
	wait_fds[FD_PIPE] = p[0];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	wait_fds[FD_SOCKET] = sv[0];
	wait_fds[FD_EVENTFD] = eventfd(1, EFD_NONBLOCK);
	wait_fds[FD_TIMERFD] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	CHECK(timerfd_settime(wait_fds[FD_TIMERFD], 0, &its, NULL) == 0);
	wait_fds[FD_INOTIFY] = inotify_init1(IN_NONBLOCK);
	wait_fds[FD_EPOLL] = epoll_create1(0);
	wait_fds[FD_FILE] = mkstemp(tmpl);
	CHECK(wait_fds[FD_FILE] >= 0 && unlink(tmpl) == 0 && write(wait_fds[FD_FILE], "x", 1) == 1);
	wait_fds[FD_DEVNULL] = open("/dev/null", O_RDONLY);
	wait_fds[FD_DIR] = open("/", O_RDONLY | O_DIRECTORY);
	wait_fds[FD_MEMFD] = memfd_create("sw-test-wait", 0);
	/* high: not the next fd the test opens (spawn()'s pipe) */
	wait_fds[FD_CLOSED] = 999;
	CHECK(fcntl(wait_fds[FD_CLOSED], F_GETFD) < 0 && errno == EBADF);
	for (int i = 0; i < N_FDS; i++)
		CHECK(wait_fds[i] >= 0);
	return 0;
}

static void close_wait_fds(void)
{
	for (int i = 0; i < N_FDS; i++)
		if (i != FD_CLOSED && wait_fds[i] >= 0)
			close(wait_fds[i]);
}

static bool is_wait_fd(__u64 fd)
{
	for (int i = 0; i < N_FDS; i++)
		if (fd == (__u64)wait_fds[i])
			return true;
	return false;
}

/* want: 0 not a wait, 1 a wait, 2 a wait on an fd whose link is not a path, -1 a wait of either */
static int expect_decision(const struct watch_event *ev, int want, const char *what)
{
	__u32 got = ev->call.wait;
	bool ok = want == 0 ? got == WATCH_WAIT_NO :
		  want == 1 ? got == WATCH_WAIT_YES :
		  want == 2 ? got == WATCH_WAIT_YES_PATHLESS :
			      got == WATCH_WAIT_YES || got == WATCH_WAIT_YES_PATHLESS;

	if (!ok) {
		fprintf(stderr, "  %s: the kernel decided %u, want %d\n", what, got, want);
		return -1;
	}
	return 0;
}

static int kernel_decisions(struct fixture *f)
{
	static const int nrs[] = { SYS_read, SYS_futex, SYS_fcntl, SYS_clone, SYS_clone3 };
	struct wait_lookup lookup = { .fd_kind = own_fd_kind };
	int go, status, reads = 0, futexes = 0, fcntls = 0, vforks = 0;
	char what[64];

	CHECK(open_wait_fds() == 0);
	/* threshold 0: every call of these leaves the kernel, with its decision */
	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		CHECK(set_wait_conf_abi(f, WATCH_ABI_NATIVE, nrs[i],
					(__u32)syscall_wait_how(nrs[i]), 0, 0) == 0);
	f->child = spawn(&go, child_waits, NULL);
	CHECK(f->child > 0);
	CHECK(start(f, go) == 0);
	CHECK(wait_exit(f, (__u32)f->child) != NULL);
	CHECK(reap(f, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int k = 0; k < f->nev; k++) {
		const struct watch_event *ev = &f->ev[k];
		int nr = (int)ev->call.nr;
		bool want;

		if (ev->kind != WATCH_EVENT_COMPLETED)
			continue;
		/* the child's read of the go pipe (spawn()) may be watched: its fd is not ours */
		if (nr == SYS_read && !is_wait_fd(ev->call.args[0]))
			continue;
		/*
		 * clone3's flags were in the child's memory, gone now: the one
		 * clone3 is posix_spawn's, with CLONE_VFORK (glibc 2.34+)
		 */
		want = nr == SYS_clone3 ?
			       true :
			       syscall_call_is_wait(nr, (const uint64_t *)ev->call.args, &lookup);
		snprintf(what, sizeof(what), "%s(%lld, %lld)", syscall_name(nr),
			 (long long)ev->call.args[0], (long long)ev->call.args[1]);
		CHECK(expect_decision(ev, want ? -1 : 0, what) == 0);
		if (nr == SYS_read) {
			for (int i = 0; i < N_FDS; i++)
				if (ev->call.args[0] == (__u64)wait_fds[i]) {
					/* and what doc/policy.md says, so both cannot be wrong alike */
					snprintf(what, sizeof(what), "read of %s", fd_names[i]);
					CHECK(expect_decision(ev, fd_wait[i], what) == 0);
					reads++;
				}
		} else if (nr == SYS_futex)
			futexes += want;
		else if (nr == SYS_fcntl)
			fcntls += want;
		else
			vforks += want;
	}
	close_wait_fds();
	CHECK(reads == N_FDS);
	CHECK(futexes == 4); /* WAIT, WAIT private, WAIT_BITSET, WAIT_REQUEUE_PI */
	CHECK(fcntls == 1); /* F_SETLKW */
	CHECK(vforks == 1); /* posix_spawn */
	return 0;
}

static int test_kernel_wait_decisions(void)
{
	struct fixture f;
	int r = fixture_open(&f), r2;

	if (r)
		return r;
	r = kernel_decisions(&f);
	r2 = fixture_close(&f);
	return r ? r : r2;
}

/* ---- a wait no rule takes stays in the kernel ---------------------------------------- */

static int idle_pipe[2];

static int child_idle_reads(void *arg)
{
	char c;

	(void)arg;
	close(idle_pipe[1]);
	return read(idle_pipe[0], &c, 1) == 1 && read(idle_pipe[0], &c, 1) == 1 ? 0 : 1;
}

static int waits_filtered(struct fixture *f)
{
	const struct watch_event *ev;
	__u64 filtered0;
	int go, status;
	__u32 child;

	/* read: its waits unwatched, its other calls from 10 ms */
	CHECK(set_wait_conf_abi(f, WATCH_ABI_NATIVE, SYS_read, WATCH_WAIT_HOW_FD0, WATCH_UNWATCHED,
				10 * MS) == 0);
	CHECK(pipe(idle_pipe) == 0);
	filtered0 = stat_sum(f, WATCH_STAT_WAITS_FILTERED);
	f->child = spawn(&go, child_idle_reads, NULL);
	CHECK(f->child > 0);
	child = (__u32)f->child;
	CHECK(start(f, go) == 0);
	close(idle_pipe[0]);
	nsleep_ms(100);
	CHECK(write(idle_pipe[1], "a", 1) == 1); /* the first read: a 100 ms wait */
	for (int i = 0; i < 100 && stat_sum(f, WATCH_STAT_WAITS_FILTERED) == filtered0; i++)
		nsleep_ms(10);
	CHECK(stat_sum(f, WATCH_STAT_WAITS_FILTERED) - filtered0 >= 1);
	CHECK(count_events(f, WATCH_EVENT_COMPLETED, child) == 0 &&
	      ring_buffer__poll(f->rb, 0) == 0);
	/* now a rule takes the waits of read (at the end: the second read is in flight) */
	CHECK(set_wait_conf_abi(f, WATCH_ABI_NATIVE, SYS_read, WATCH_WAIT_HOW_FD0, 10 * MS,
				10 * MS) == 0);
	nsleep_ms(80);
	CHECK(write(idle_pipe[1], "b", 1) == 1);
	close(idle_pipe[1]);
	CHECK(wait_exit(f, child) != NULL);
	CHECK(reap(f, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(count_events(f, WATCH_EVENT_COMPLETED, child) == 1);
	ev = find_event(f, WATCH_EVENT_COMPLETED, child);
	CHECK(ev->call.nr == SYS_read && ev->call.wait == WATCH_WAIT_YES_PATHLESS && ev->ret == 1);
	CHECK(ev->end_ns - ev->call.start_ns >= 80 * MS);
	return 0;
}

static int test_waits_filtered(void)
{
	struct fixture f;
	int r = fixture_open(&f), r2;

	if (r)
		return r;
	r = waits_filtered(&f);
	r2 = fixture_close(&f);
	return r ? r : r2;
}

UNIT_MAIN(TEST(test_completed_and_exit), TEST(test_restart), TEST(test_signal_handler),
	  TEST(test_follow_forks), TEST(test_exec_by_thread), TEST(test_i386_abi),
	  TEST(test_thread_churn), TEST(test_exec_storm), TEST(test_kernel_wait_decisions),
	  TEST(test_waits_filtered))
