/* SPDX-License-Identifier: MIT */
/*
 * The notify backend's mechanics on real processes: notify_spawn() starts
 * build/helpers/notifycalls (built without sanitizers) under a listener, the
 * test serves its notifications with the tracer/unotify.h primitives and
 * checks what it saw against what the helper did and how it exited; then
 * the refusals (nested listener, exec failure), the parent-death signal, and
 * killable waits. Run from the top of the tree (tests/run.sh does).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/macro.h"
#include "tracer/filter.h"
#include "tracer/notify_spawn.h"
#include "tracer/procinfo.h"
#include "tracer/unotify.h"
#include "unit.h"

#define HELPER "build/helpers/notifycalls"
#define SLEEPER "build/helpers/sleeper"

/* What serve() saw. */
struct served {
	int calls[SW_MAX_NR]; /* notifications per syscall number, from the helper's image */
	int foreign_pid; /* notifications from another pid than the command's */
	int foreign_arch;
	int interrupted; /* CONTINUE said ENOENT */
	uint64_t sendmsg_fd; /* arg0 of the last sendmsg */
	long helper_sendmsg_fd; /* the fd of the helper's sendmsg, by its own report */
	int status; /* wait status */
};

static int setup(const char *expr, char *const *argv, struct tracer_run_options *opts,
		 struct syscall_set *set)
{
	if (access(argv[0], X_OK) < 0) {
		fprintf(stderr, "  %s: missing (make helpers)\n", argv[0]);
		return -1;
	}
	*opts = (struct tracer_run_options){ .argv = argv, .exec_path = argv[0] };
	return syscall_set_parse(expr, set, NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Is the waiting thread tid the helper already (its exec done)? */
static bool from_helper(pid_t tid)
{
	struct procstatus ps;

	return procinfo_status(tid, &ps) == 0 && strcmp(ps.comm, "notifycalls") == 0;
}

/* Continue every notification until the command exits; -1 after 20 s (and kill it). */
static int serve(struct notify_child *c, struct served *s)
{
	uint64_t deadline = now_ms() + 20000;

	memset(s, 0, sizeof(*s));
	for (;;) {
		struct pollfd pfd[2] = { { .fd = c->listener_fd, .events = POLLIN },
					 { .fd = c->pidfd, .events = POLLIN } };
		struct seccomp_notif req;
		int r;

		if (now_ms() >= deadline) {
			fprintf(stderr, "  timeout: the command hangs\n");
			kill(c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0);
			return -1;
		}
		if (poll(pfd, 2, 1000) < 0 && errno != EINTR)
			return -1;
		if (pfd[0].revents & POLLIN) {
			r = unotify_recv(c->listener_fd, &req);
			if (r == -ENOENT || r == -EINTR)
				continue;
			if (r < 0)
				return -1;
			if (from_helper(req.pid) && req.data.nr >= 0 && req.data.nr < SW_MAX_NR)
				s->calls[req.data.nr]++;
			s->foreign_pid += (pid_t)req.pid != c->pid;
			s->foreign_arch += req.data.arch != AUDIT_ARCH_X86_64;
			if (req.data.nr == SYS_sendmsg)
				s->sendmsg_fd = req.data.args[0];
			r = unotify_continue(c->listener_fd, req.id);
			if (r == -ENOENT)
				s->interrupted++;
			else if (r < 0)
				return -1;
			continue;
		}
		if (pfd[1].revents & POLLIN)
			return waitpid(c->pid, &s->status, 0) == c->pid ? 0 : -1;
	}
}

/* The helper's report line starting with key, parsed as one number after it. */
static long reported(const char *path, const char *key)
{
	char text[1024];
	const char *p;

	if (sw_read_small_file(path, text, sizeof(text)) < 0 || !(p = strstr(text, key)))
		return -1;
	return strtol(p + strlen(key), NULL, 10);
}

static int test_probe_supported(void)
{
	/* Linux 6.18 here: WAIT_KILLABLE_RECV is known, and no listener above us */
	CHECK(unotify_probe() == 0);
	return 0;
}

/*
 * Run `notifycalls 200 7` under a filter for expr and serve it to its end;
 * s->helper_sendmsg_fd is the fd its report names.
 */
static int spawn_and_serve(const char *expr, bool sync_wakeup, struct served *s)
{
	char out[] = "/tmp/sw-notify-XXXXXX";
	char *argv[] = { (char *)HELPER, (char *)"200", (char *)"7", out, NULL };
	struct tracer_run_options opts;
	struct syscall_set set;
	struct notify_child c;
	struct sw_error err = {};
	struct spawn_failure f;
	int r, fd = mkstemp(out);

	if (fd < 0)
		return -1;
	close(fd);
	if (setup(expr, argv, &opts, &set) < 0 || notify_spawn(&opts, &set, &c, &err) < 0) {
		fprintf(stderr, "  notify_spawn: %s\n", err.msg);
		unlink(out);
		return -1;
	}
	r = fcntl(c.listener_fd, F_GETFD) == FD_CLOEXEC && fcntl(c.pidfd, F_GETFD) == FD_CLOEXEC ?
		    0 :
		    -1;
	if (r == 0)
		r = unotify_set_sync_wakeup(c.listener_fd, sync_wakeup);
	if (r == 0)
		r = serve(&c, s);
	/* the exec succeeded: the CLOEXEC failure pipe closed empty */
	if (r == 0 && read(c.fail_fd, &f, sizeof(f)) != 0)
		r = -1;
	if (r < 0 && c.pid > 0) {
		kill(c.pid, SIGKILL);
		waitpid(c.pid, NULL, 0);
	}
	notify_child_close(&c);
	s->helper_sendmsg_fd = reported(out, "sendmsg fd ");
	unlink(out);
	return r;
}

static int test_spawn_serve_continue(void)
{
	struct served s;

	CHECK(spawn_and_serve("getppid,nanosleep,clock_nanosleep", false, &s) == 0);
	CHECK(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 7);
	CHECK(s.calls[SYS_getppid] == 200);
	CHECK(s.calls[SYS_nanosleep] == 1);
	CHECK(s.foreign_pid == 0 && s.foreign_arch == 0);
	CHECK(s.interrupted == 0);
	return 0;
}

static int test_sync_wakeup(void)
{
	struct served s;

	/* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP exists since 6.6; this is 6.18 */
	CHECK(spawn_and_serve("getppid", true, &s) == 0);
	CHECK(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 7);
	CHECK(s.calls[SYS_getppid] == 200);
	return 0;
}

/* A watched sendmsg: the hand-off must not wait for itself; the helper's is seen. */
static int test_sendmsg_watched_handoff(void)
{
	static const char *const exprs[] = { "sendmsg,getppid", "all" };

	for (size_t i = 0; i < ARRAY_SIZE(exprs); i++) {
		struct served s;

		CHECK(spawn_and_serve(exprs[i], false, &s) == 0);
		CHECK(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 7);
		CHECK(s.calls[SYS_sendmsg] == 1);
		CHECK(s.helper_sendmsg_fd >= 0 && s.sendmsg_fd == (uint64_t)s.helper_sendmsg_fd);
	}
	return 0;
}

static int test_exec_failure_reported(void)
{
	char *argv[] = { (char *)HELPER, NULL };
	struct tracer_run_options opts;
	struct syscall_set set;
	struct notify_child c;
	struct spawn_failure f = {};
	struct served s;
	int r;

	CHECK(setup("getppid", argv, &opts, &set) == 0);
	opts.exec_path = "/nonexistent/stallwatch-test";
	CHECK(notify_spawn(&opts, &set, &c, NULL) == 0);
	r = serve(&c, &s);
	if (r == 0 && read(c.fail_fd, &f, sizeof(f)) != sizeof(f))
		r = -1;
	notify_child_close(&c);
	CHECK(r == 0);
	CHECK(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 127);
	CHECK(f.stage == SPAWN_STAGE_EXEC && f.err == ENOENT);
	return 0;
}

/*
 * Under a filter that has a listener, both the probe and the spawn say
 * EBUSY, and nothing runs. The nesting happens in a child of the test.
 */
static int test_nested_listener_ebusy(void)
{
	char *argv[] = { (char *)HELPER, (char *)"1", (char *)"0", (char *)"/dev/null", NULL };
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		struct sock_fprog prog = { .len = 1, .filter = &allow };
		struct tracer_run_options opts;
		struct syscall_set set;
		struct notify_child c;
		struct sw_error err = {};
		int outer, r;

		if (setup("getppid", argv, &opts, &set) < 0)
			_exit(10);
		outer = unotify_install(&prog, !filter_have_cap_sys_admin());
		if (outer < 0)
			_exit(11);
		if (unotify_probe() != -EBUSY)
			_exit(12);
		r = notify_spawn(&opts, &set, &c, &err);
		if (r != -EBUSY || c.failure.stage != SPAWN_STAGE_SECCOMP ||
		    c.failure.err != EBUSY || !strstr(err.msg, "listener"))
			_exit(13);
		/* the command's child was reaped: we have no child left */
		_exit(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD ? 0 : 14);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "  nested child: status %#x\n", status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return 0;
}

/* The next notification of c within 10 s: 0, or -ETIMEDOUT or another -errno. */
static int recv_within(struct notify_child *c, struct seccomp_notif *req)
{
	struct pollfd pfd = { .fd = c->listener_fd, .events = POLLIN };
	int r = poll(&pfd, 1, 10000);

	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : unotify_recv(c->listener_fd, req);
}

/* Continue c's notifications up to and including the first of syscall nr. */
static int continue_until(struct notify_child *c, int nr)
{
	struct seccomp_notif req;

	do {
		if (recv_within(c, &req) < 0 || unotify_continue(c->listener_fd, req.id) < 0)
			return -1;
	} while (req.data.nr != nr);
	return 0;
}

/*
 * stallwatch killed while the command sleeps: PR_SET_PDEATHSIG, set after the
 * -u uid change (which clears it), kills the command. The test is the
 * command's subreaper, so it reaps the orphan and sees the signal.
 */
static int test_parent_death_kills_command(void)
{
	char *argv[] = { (char *)SLEEPER, (char *)"20000", (char *)"/dev/null", NULL };
	struct procstatus ps = { .uid = (uid_t)-1 };
	int p[2], status = 0;
	pid_t mid, command = 0;

	CHECK(access(SLEEPER, X_OK) == 0);
	CHECK(pipe(p) == 0);
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0);
	mid = fork();
	if (mid == 0) {
		struct tracer_run_options opts;
		struct syscall_set set;
		struct notify_child c;

		if (setup("nanosleep", argv, &opts, &set) < 0)
			_exit(10);
		if (geteuid() == 0) {
			opts.as_user = true;
			opts.uid = opts.gid = 65534;
		}
		if (notify_spawn(&opts, &set, &c, NULL) < 0 ||
		    continue_until(&c, SYS_nanosleep) < 0)
			_exit(11);
		if (write(p[1], &c.pid, sizeof(c.pid)) != sizeof(c.pid))
			_exit(12);
		pause();
		_exit(13);
	}
	close(p[1]);
	if (mid > 0 && read(p[0], &command, sizeof(command)) == sizeof(command)) {
		procinfo_status(command, &ps);
		kill(mid, SIGKILL);
		waitpid(mid, NULL, 0);
		for (int i = 0; i < 500; i++) {
			if (waitpid(command, &status, WNOHANG) == command)
				break;
			status = -1;
			usleep(10000);
		}
	}
	if (status == -1) {
		kill(command, SIGKILL);
		waitpid(command, NULL, 0);
	}
	close(p[0]);
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	if (mid > 0 && command <= 0) {
		kill(mid, SIGKILL);
		waitpid(mid, NULL, 0);
	}
	CHECK(command > 0);
	/* -u went through the shared tail */
	CHECK(geteuid() != 0 || ps.uid == 65534);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	return 0;
}

/*
 * WAIT_KILLABLE_RECV: once received, a watched call waits through a handled
 * signal (the helper's SIGUSR2 handler has no SA_RESTART; CONTINUE then
 * works) but not through SIGKILL (CONTINUE then says ENOENT).
 */
static int test_killable_wait(void)
{
	char *argv[] = { (char *)HELPER, (char *)"2", (char *)"0", (char *)"/dev/null", NULL };
	struct tracer_run_options opts;
	struct syscall_set set;
	struct proc_syscall ps = { .nr = -1 };
	struct notify_child c;
	struct seccomp_notif req;
	char wchan[128] = "";
	int r, fd, status = 0, helper_calls = 0, r_continue = -1, r_killed = 0;

	CHECK(setup("getppid", argv, &opts, &set) == 0);
	CHECK(notify_spawn(&opts, &set, &c, NULL) == 0);
	while ((r = recv_within(&c, &req)) == 0) {
		if (!from_helper(req.pid)) {
			r = unotify_continue(c.listener_fd, req.id);
			if (r < 0)
				break;
			continue;
		}
		if (++helper_calls == 2) {
			kill(c.pid, SIGKILL);
			waitpid(c.pid, &status, 0);
			r_killed = unotify_continue(c.listener_fd, req.id);
			break;
		}
		kill(c.pid, SIGUSR2);
		usleep(50000);
		/* still waiting for us, in getppid */
		fd = procinfo_open_syscall(c.pid);
		if (fd >= 0) {
			procinfo_read_syscall(fd, &ps);
			close(fd);
		}
		procinfo_wchan(c.pid, wchan, sizeof(wchan));
		r_continue = unotify_continue(c.listener_fd, req.id);
	}
	if (helper_calls < 2) {
		kill(c.pid, SIGKILL);
		waitpid(c.pid, &status, 0);
	}
	notify_child_close(&c);
	CHECK(r == 0 && helper_calls == 2);
	CHECK(ps.kind == PS_IN_SYSCALL && ps.nr == SYS_getppid);
	if (!strstr(wchan, "seccomp"))
		fprintf(stderr, "  wchan `%s`\n", wchan);
	CHECK(strstr(wchan, "seccomp_do_user_notification"));
	CHECK(r_continue == 0);
	CHECK(r_killed == -ENOENT);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	return 0;
}

UNIT_MAIN(TEST(test_probe_supported), TEST(test_spawn_serve_continue), TEST(test_sync_wakeup),
	  TEST(test_sendmsg_watched_handoff), TEST(test_exec_failure_reported),
	  TEST(test_nested_listener_ebusy), TEST(test_parent_death_kills_command),
	  TEST(test_killable_wait))
