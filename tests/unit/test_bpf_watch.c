/* SPDX-License-Identifier: MIT */
/*
 * The bpf backend's kernel programs (tracer/bpf/watch.bpf.c), loaded for real
 * through the generated skeleton: children of this test are watched, and
 * what the ring buffer, the counters and the maps show is checked. Needs
 * root (CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN) and kernel BTF; SKIP otherwise.
 * Every program and map is checked gone after each test.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tracer/bpf/watch.h"
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

	if (size >= sizeof(struct watch_event) && f->nev < MAX_EVENTS)
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

static int set_threshold_abi(struct fixture *f, __u32 abi, int nr, __u64 ns)
{
	__u32 key = abi * WATCH_MAX_NR + (__u32)nr;

	return bpf_map_update_elem(bpf_map__fd(f->skel->maps.thresholds), &key, &ns, BPF_ANY);
}

static int set_threshold(struct fixture *f, int nr, __u64 ns)
{
	__u32 key = WATCH_ABI_NATIVE * WATCH_MAX_NR + (__u32)nr;

	return bpf_map_update_elem(bpf_map__fd(f->skel->maps.thresholds), &key, &ns, BPF_ANY);
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
	for (__u32 i = 0; i < WATCH_ABI_MAX * WATCH_MAX_NR; i++) {
		__u64 v = WATCH_UNWATCHED;

		CHECK(bpf_map_update_elem(bpf_map__fd(f->skel->maps.thresholds), &i, &v, BPF_ANY) ==
		      0);
	}
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
	for (int i = 0; i < f->nprogs; i++)
		CHECK(f->prog_ids[i] != 0 && wait_gone(f->prog_ids[i], bpf_prog_get_fd_by_id) == 0);
	for (int i = 0; i < f->nmaps; i++)
		CHECK(f->map_ids[i] != 0 && wait_gone(f->map_ids[i], bpf_map_get_fd_by_id) == 0);
	CHECK(f->nprogs == 8 && f->nmaps >= 10);
	return 0;
}

/* Reads the ring buffer until an EXIT event for tgid arrives (or 5 s pass). */
static const struct watch_event *wait_exit(struct fixture *f, __u32 tgid)
{
	for (int i = 0; i < 50; i++) {
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

UNIT_MAIN(TEST(test_completed_and_exit), TEST(test_restart), TEST(test_signal_handler),
	  TEST(test_follow_forks), TEST(test_exec_by_thread), TEST(test_i386_abi))
