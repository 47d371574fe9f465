/* SPDX-License-Identifier: MIT */
/*
 * `stallwatch watch`'s core (tracer/watch.c, tracer/procconn.c) driven
 * directly through tracer_watch(): the proc connector's exec events, a
 * select() that takes programs of a name unique to this run, records
 * through a real recorder, SIGTERM from a scenario thread. Needs root
 * (CAP_NET_ADMIN for the connector, bpf() for the backend); SKIP otherwise.
 *
 * The programs are copies of build/helpers/{sleeper,execafter} under names
 * made of this test's pid, so processes of other tests running at the same
 * time are never selected.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/timeutil.h"
#include "policy/load.h"
#include "record/recorder.h"
#include "tracer/procconn.h"
#include "tracer/procinfo.h"
#include "tracer/tracer.h"
#include "unit.h"

#define SLEEPER "build/helpers/sleeper"
#define EXECAFTER "build/helpers/execafter"
#define MAX_PIDS 16

extern char **environ;

/* ---- the proc connector ------------------------------------------------------ */

struct seen {
	pid_t child;
	bool exec, exit;
	uint64_t exec_ts_ns;
};

static void on_conn_event(void *opaque, const struct procconn_event *ev)
{
	struct seen *s = opaque;

	if (ev->tgid != s->child)
		return;
	if (ev->kind == PROCCONN_EXEC) {
		s->exec = true;
		s->exec_ts_ns = ev->ts_ns;
	}
	if (ev->kind == PROCCONN_EXIT && ev->pid == s->child)
		s->exit = true;
}

static int test_procconn_exec_exit(void)
{
	struct procconn pc;
	struct sw_error err = {};
	struct seen s = {};
	uint64_t before = sw_mono_ns(), deadline;
	int r = procconn_open(&pc, &err);

	if (r == -EPERM)
		SKIP("proc connector refused (needs CAP_NET_ADMIN)");
	if (r == -EPROTONOSUPPORT || r == -ENOENT)
		SKIP("no proc connector in this kernel");
	CHECK(r == 0);
	s.child = fork();
	if (s.child == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	CHECK(s.child > 0);
	deadline = sw_mono_ns() + 3 * NSEC_PER_SEC;
	while ((!s.exec || !s.exit) && sw_mono_ns() < deadline) {
		struct pollfd pfd = { .fd = pc.fd, .events = POLLIN };

		if (poll(&pfd, 1, 100) > 0)
			CHECK(procconn_drain(&pc, 1000, on_conn_event, &s) >= 0);
	}
	waitpid(s.child, NULL, 0);
	procconn_close(&pc);
	CHECK(s.exec);
	CHECK(s.exit);
	/* the kernel's stamp is CLOCK_MONOTONIC */
	CHECK(s.exec_ts_ns >= before && s.exec_ts_ns <= sw_mono_ns());
	return 0;
}

/* ---- tracer_watch() ---------------------------------------------------------------- */

struct scenario {
	char dir[64];
	char match_name[16], other_name[16]; /* comm of the programs select() takes / refuses */
	char match_path[128], other_path[128], target_path[128];
	char out_path[128];
	bool host_wide;
	enum tracer_backend backend;
	atomic_bool ready;
	/* p_match's TracerPid once it was let go (ptrace: 0 again) */
	int released_tracer_pid;
	/* what the callbacks saw */
	pid_t attached[MAX_PIDS], released[MAX_PIDS];
	atomic_int n_attached, n_released;
	int n_ticks;
	void (*wake_tick)(void *loop);
	void *wake_loop;
	/* what the scenario thread started */
	pid_t p_other, p_match, p_long, p_other_fast, p_target;
	int thread_error;
};

static void w_select(void *opaque, const struct policy_process *proc, enum tracer_watch_why why,
		     struct tracer_watch_choice *ret)
{
	struct scenario *s = opaque;

	(void)why;
	ret->watch = proc->comm && strcmp(proc->comm, s->match_name) == 0;
	snprintf(ret->reason, sizeof(ret->reason), "%s", ret->watch ? "test match" : "no match");
}

static void w_attached(void *opaque, pid_t pid, const char *comm, int threads, const char *reason)
{
	struct scenario *s = opaque;
	int i = atomic_fetch_add(&s->n_attached, 1);

	(void)comm;
	(void)threads;
	(void)reason;
	if (i < MAX_PIDS)
		s->attached[i] = pid;
}

static void w_released(void *opaque, pid_t pid, const char *comm, const char *why)
{
	struct scenario *s = opaque;
	int i = atomic_fetch_add(&s->n_released, 1);

	(void)comm;
	(void)why;
	if (i < MAX_PIDS)
		s->released[i] = pid;
}

static void w_failed(void *opaque, const struct sw_error *err)
{
	(void)opaque;
	fprintf(stderr, "  failed: %s\n", err->msg);
}

static uint64_t w_tick(void *opaque, uint64_t now_ns, const struct tracer_watch_stats *stats)
{
	struct scenario *s = opaque;

	(void)stats;
	s->n_ticks++;
	return now_ns + NSEC_PER_SEC / 2;
}

static void w_tick_waker(void *opaque, void (*wake_tick)(void *loop), void *loop)
{
	struct scenario *s = opaque;

	s->wake_tick = wake_tick;
	s->wake_loop = loop;
}

static void w_ready(void *opaque, const struct tracer_result *res)
{
	struct scenario *s = opaque;

	(void)res;
	atomic_store(&s->ready, true);
}

static void w_warn(void *opaque, const char *line)
{
	(void)opaque;
	fprintf(stderr, "  warn: %s\n", line);
}

/*
 * argv started as a grandchild (its parent exits at once): not our child,
 * so the ptrace backend's wait for any tracee never reaps it, as a
 * daemon's targets are never its children. Its pid, or -1.
 */
static pid_t spawn(char *const argv[])
{
	int fds[2];
	pid_t mid, pid = -1;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	mid = fork();
	if (mid == 0) {
		pid_t grandchild = -1;

		if (posix_spawn(&grandchild, argv[0], NULL, NULL, argv, environ) != 0)
			grandchild = -1;
		if (write(fds[1], &grandchild, sizeof(grandchild)) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (mid < 0 || read(fds[0], &pid, sizeof(pid)) != (ssize_t)sizeof(pid))
		pid = -1;
	close(fds[0]);
	if (mid > 0)
		waitpid(mid, NULL, 0);
	return pid;
}

/*
 * Until pid is gone, at most timeout_ms. The test is a child subreaper
 * (run_watch): an orphaned grandchild is ours to reap, here or by the
 * ptrace backend's wait (init here reaps orphans only every ~2 s).
 */
static void wait_gone(pid_t pid, long timeout_ms)
{
	for (long i = 0; pid > 0 && i < timeout_ms / 10; i++) {
		struct timespec ts = { .tv_nsec = 10000000L };

		if (waitpid(pid, NULL, WNOHANG) == pid || kill(pid, 0) < 0)
			return;
		nanosleep(&ts, NULL);
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool has(const pid_t *v, int n, pid_t pid);

/* The scenario, on its own thread (every signal blocked): the loop runs on the main thread. */
static void *scenario_thread(void *opaque)
{
	struct scenario *s = opaque;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	for (int i = 0; i < 500 && !atomic_load(&s->ready); i++)
		sleep_ms(10);
	if (!atomic_load(&s->ready)) {
		s->thread_error = 1;
		goto out;
	}
	if (!s->host_wide) {
		/* refused by select(): never watched, its slow call never recorded */
		s->p_other = spawn((char *[]){ s->other_path, "400", "/dev/null", NULL });
		/* taken at its exec; its 300 ms call recorded; then execs into a refused program */
		s->p_match = spawn((char *[]){ s->match_path, "300", s->other_path, "700",
					       "/dev/null", NULL });
		/* taken, and still running when we stop: left running, untraced */
		s->p_long = spawn((char *[]){ s->match_path, "20000", "/bin/true", NULL });
		if (s->wake_tick)
			s->wake_tick(s->wake_loop);
		/* once let go (after its exec, 300 ms in), no tracer holds it */
		for (int i = 0; i < 200 && !has(s->released, s->n_released, s->p_match); i++)
			sleep_ms(10);
		sleep_ms(50);
		s->released_tracer_pid = -1;
		if (has(s->released, s->n_released, s->p_match))
			procinfo_tracer_pid(s->p_match, &s->released_tracer_pid);
		wait_gone(s->p_other, 3000);
		wait_gone(s->p_match, 3000);
	} else {
		/* not targets: a 320 ms sleep (the untargeted rule) and a 180 ms one (targeted only) */
		s->p_other = spawn((char *[]){ s->other_path, "320", "/dev/null", NULL });
		s->p_other_fast = spawn((char *[]){ s->other_path, "180", "/dev/null", NULL });
		/* a target: its 180 ms sleep is the targeted rule's */
		s->p_target = spawn((char *[]){ s->target_path, "180", "/dev/null", NULL });
		wait_gone(s->p_other, 3000);
		wait_gone(s->p_other_fast, 3000);
		wait_gone(s->p_target, 3000);
	}
	/* the records of the last calls are made on the loop's thread: give it a moment */
	sleep_ms(300);
out:
	kill(getpid(), SIGTERM);
	return NULL;
}

static int copy_file(const char *from, const char *to)
{
	char *text = NULL;
	size_t len = 0;
	int fd, r = sw_read_file(from, 64 << 20, &text, &len);

	if (r < 0)
		return r;
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		free(text);
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	free(text);
	return close(fd);
}

static struct policy *load_policy(const char *json)
{
	struct policy_source src = { .name = "test", .text = json, .len = strlen(json) };
	struct policy_load_options o = { .sources = &src, .n_sources = 1 };
	struct policy_diags diags = {};
	struct policy *p = NULL;

	if (policy_load(&o, &p, &diags) < 0 || diags.n_errors) {
		for (size_t i = 0; i < diags.n; i++) {
			char line[512];

			policy_diag_format(&diags.v[i], line, sizeof(line));
			fprintf(stderr, "  %s\n", line);
		}
		policy_free(p);
		p = NULL;
	}
	policy_diags_free(&diags);
	return p;
}

static bool has(const pid_t *v, int n, pid_t pid)
{
	for (int i = 0; i < n && i < MAX_PIDS; i++)
		if (v[i] == pid)
			return true;
	return false;
}

/* Records of pid (slow-syscall), and the longest duration among them; rule: one must name it. */
static int records_of(const char *text, pid_t pid, const char *rule, uint64_t *ret_max_ns)
{
	char key[48];
	int n = 0;

	*ret_max_ns = 0;
	snprintf(key, sizeof(key), "\"process\":{\"pid\":%d,", pid);
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *one = strndup(line, len);
		const char *d =
			one ? strstr(one, "\"action\":\"slow-syscall\",\"duration\":") : NULL;

		if (one && d && strstr(one, key)) {
			char rule_key[96];
			uint64_t ns = strtoull(
				d + strlen("\"action\":\"slow-syscall\",\"duration\":"), NULL, 10);

			snprintf(rule_key, sizeof(rule_key), "\"rule\":{\"name\":\"%s\"",
				 rule ? rule : "");
			if (!rule || strstr(one, rule_key)) {
				n++;
				if (ns > *ret_max_ns)
					*ret_max_ns = ns;
			}
		}
		free(one);
		line = end ? end + 1 : NULL;
	}
	return n;
}

static bool traced_or_stopped(pid_t pid)
{
	struct procstatus st;

	return procinfo_status(pid, &st) < 0 || st.tracer_pid != 0 || st.state == 'T' ||
	       st.state == 't';
}

/* Run tracer_watch() over a scenario; 0 with the records in *ret_text, UNIT_SKIP, or -1. */
static int run_watch(struct scenario *s, const char *policy_json, struct tracer_watch_stats *stats,
		     char **ret_text)
{
	struct recorder rec = {};
	struct sw_error err = {};
	struct tracer_result res = {};
	struct policy *policy;
	pthread_t thread;
	size_t len;
	int r;

	if (geteuid() != 0)
		SKIP("not root: the proc connector needs CAP_NET_ADMIN, bpf() CAP_BPF");
	if (access(SLEEPER, X_OK) < 0 || access(EXECAFTER, X_OK) < 0)
		SKIP("no build/helpers (make helpers)");
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	snprintf(s->dir, sizeof(s->dir), "/tmp/sw-watch-XXXXXX");
	CHECK(mkdtemp(s->dir));
	snprintf(s->match_name, sizeof(s->match_name), "sww%d", getpid() % 1000000);
	snprintf(s->other_name, sizeof(s->other_name), "swn%d", getpid() % 1000000);
	snprintf(s->match_path, sizeof(s->match_path), "%s/%s", s->dir, s->match_name);
	snprintf(s->other_path, sizeof(s->other_path), "%s/%s", s->dir, s->other_name);
	snprintf(s->out_path, sizeof(s->out_path), "%s/records.json", s->dir);
	CHECK(copy_file(s->host_wide ? SLEEPER : EXECAFTER, s->match_path) == 0);
	CHECK(copy_file(SLEEPER, s->other_path) == 0);
	snprintf(s->target_path, sizeof(s->target_path), "%s", s->match_path);
	policy = load_policy(policy_json);
	CHECK(policy);
	r = recorder_init(&rec,
			  &(struct recorder_options){ .output_path = s->out_path,
						      .format = RECORD_FORMAT_JSON,
						      .mode = "watch" },
			  &err);
	CHECK(r == 0);
	CHECK(pthread_create(&thread, NULL, scenario_thread, s) == 0);
	r = tracer_watch(
		&(struct tracer_watch_options){
			.policy = policy,
			.recorder = &rec,
			.backend = s->backend,
			.host_wide = s->host_wide,
			.recheck_ns = NSEC_PER_SEC / 4,
			.select = w_select,
			.attached = w_attached,
			.released = w_released,
			.failed = w_failed,
			.tick = w_tick,
			.tick_waker = w_tick_waker,
			.ready = w_ready,
			.warn = w_warn,
			.opaque = s,
		},
		&res, stats, &err);
	if (r < 0)
		fprintf(stderr, "  tracer_watch: %s (%d)\n", err.msg, r);
	pthread_join(thread, NULL);
	recorder_done(&rec, NULL);
	policy_free(policy);
	if (r == -EPERM || r == -EACCES)
		SKIP("bpf() or the proc connector refused");
	CHECK(r == 0);
	CHECK(s->thread_error == 0);
	CHECK(res.backend_used == s->backend);
	CHECK(sw_read_file(s->out_path, 16 << 20, ret_text, &len) == 0);
	return 0;
}

static void cleanup(struct scenario *s, char *text)
{
	char path[160];

	free(text);
	if (s->p_long > 0) {
		kill(s->p_long, SIGKILL);
		wait_gone(s->p_long, 3000);
	}
	snprintf(path, sizeof(path), "%s", s->out_path);
	unlink(path);
	unlink(s->match_path);
	unlink(s->other_path);
	rmdir(s->dir);
}

static int select_release(enum tracer_backend backend)
{
	static struct scenario s;
	struct tracer_watch_stats stats;
	char *text = NULL;
	uint64_t max_ns;
	int r;

	memset(&s, 0, sizeof(s));
	s.backend = backend;
	r = run_watch(&s,
		      "{\"version\":1,\"rules\":[{\"name\":\"sleeps\",\"syscalls\":[\"nanosleep\"],"
		      "\"min_duration\":\"200ms\"}]}",
		      &stats, &text);
	if (r) {
		cleanup(&s, text);
		return r;
	}
	fprintf(stderr,
		"  added %llu released %llu exited %llu exec_events %llu pickup max %.3f ms mean "
		"%.3f ms (%llu) ticks %d stop max %.3f ms\n",
		(unsigned long long)stats.added_total, (unsigned long long)stats.released_total,
		(unsigned long long)stats.exited_total, (unsigned long long)stats.exec_events,
		stats.pickup_ns_max / 1e6,
		stats.pickups ? stats.pickup_ns_sum / 1e6 / (double)stats.pickups : 0.0,
		(unsigned long long)stats.pickups, s.n_ticks, stats.stop_ns_max / 1e6);
	/* the matching ones were taken at their exec, the other never */
	CHECK(has(s.attached, s.n_attached, s.p_match));
	CHECK(has(s.attached, s.n_attached, s.p_long));
	CHECK(!has(s.attached, s.n_attached, s.p_other));
	/* p_match exec'd into the refused program: let go */
	CHECK(has(s.released, s.n_released, s.p_match));
	CHECK(stats.released_total >= 1);
	CHECK(s.released_tracer_pid == 0);
	CHECK(stats.pickups >= 2);
	/* loose: a busy host; the target is < 100 ms (see the report) */
	CHECK(stats.pickup_ns_max < NSEC_PER_SEC);
	/* its 300 ms sleep is recorded; the 700 ms one after the exec is not */
	CHECK(records_of(text, s.p_match, "sleeps", &max_ns) >= 1);
	CHECK(max_ns >= 250 * NSEC_PER_MSEC && max_ns < 600 * NSEC_PER_MSEC);
	CHECK(records_of(text, s.p_other, NULL, &max_ns) == 0);
	/* the first tick at start, the woken one, then every 500 ms */
	CHECK(s.n_ticks >= 2);
	/* SIGTERM let go of p_long: running, not traced, not stopped */
	CHECK(kill(s.p_long, 0) == 0);
	CHECK(!traced_or_stopped(s.p_long));
	if (backend == TRACER_BACKEND_PTRACE)
		CHECK(stats.stop_ns_max > 0 && stats.stop_ns_max < NSEC_PER_SEC);
	cleanup(&s, text);
	return 0;
}

static int test_watch_bpf_select_release(void)
{
	return select_release(TRACER_BACKEND_BPF);
}

static int test_watch_ptrace_select_release(void)
{
	return select_release(TRACER_BACKEND_PTRACE);
}

static int test_watch_bpf_host_wide(void)
{
	static struct scenario s;
	struct tracer_watch_stats stats;
	char *text = NULL, policy[1024];
	uint64_t max_ns;
	int r;

	memset(&s, 0, sizeof(s));
	s.backend = TRACER_BACKEND_BPF;
	s.host_wide = true;
	snprintf(policy, sizeof(policy),
		 "{\"version\":1,\"targets\":{\"t\":{\"comm\":\"sww%d\"}},\"rules\":["
		 "{\"name\":\"hw\",\"syscalls\":[\"nanosleep\"],\"min_duration\":\"250ms\"},"
		 "{\"name\":\"tg\",\"targets\":[\"t\"],\"syscalls\":[\"nanosleep\"],"
		 "\"min_duration\":\"100ms\"}]}",
		 getpid() % 1000000);
	r = run_watch(&s, policy, &stats, &text);
	if (r) {
		cleanup(&s, text);
		return r;
	}
	/* not a target: its 320 ms sleep by the untargeted rule, host-wide */
	CHECK(!has(s.attached, s.n_attached, s.p_other));
	CHECK(records_of(text, s.p_other, "hw", &max_ns) >= 1);
	CHECK(records_of(text, s.p_other, "tg", &max_ns) == 0);
	/* not a target, 180 ms: only the targeted rule would take it */
	CHECK(records_of(text, s.p_other_fast, NULL, &max_ns) == 0);
	/* the target's 180 ms sleep: the targeted rule's */
	CHECK(has(s.attached, s.n_attached, s.p_target));
	CHECK(records_of(text, s.p_target, "tg", &max_ns) >= 1);
	cleanup(&s, text);
	return 0;
}

UNIT_MAIN(TEST(test_procconn_exec_exit), TEST(test_watch_bpf_select_release),
	  TEST(test_watch_ptrace_select_release), TEST(test_watch_bpf_host_wide))
