/* SPDX-License-Identifier: MIT */
/*
 * The in-flight probe of tracer/procinfo.h: /proc/TID/syscall parsed from
 * text, then read from real children (blocked in a pipe read, spinning,
 * stopped, reaped), with their state letter, wchan and CPU times.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "tracer/procinfo.h"
#include "unit.h"

static int test_parse_in_syscall(void)
{
	struct proc_syscall ps;

	CHECK(procinfo_parse_syscall("0 0x3 0x7ffd1000 0x1 0x0 0x0 0xffffffffffffffff 0x7ffd0ff8 "
				     "0x7f0000001234\n",
				     &ps) == 0);
	CHECK(ps.kind == PS_IN_SYSCALL);
	CHECK(ps.nr == 0);
	CHECK(ps.args[0] == 3 && ps.args[1] == 0x7ffd1000 && ps.args[2] == 1);
	CHECK(ps.args[5] == UINT64_MAX);
	CHECK(ps.sp == 0x7ffd0ff8 && ps.pc == 0x7f0000001234);
	return 0;
}

static int test_parse_other_kinds(void)
{
	struct proc_syscall ps;

	CHECK(procinfo_parse_syscall("running\n", &ps) == 0);
	CHECK(ps.kind == PS_RUNNING && ps.nr == -1 && ps.sp == 0);
	CHECK(procinfo_parse_syscall("-1 0x7ffd0ff8 0x401000\n", &ps) == 0);
	CHECK(ps.kind == PS_NOT_IN_SYSCALL && ps.nr == -1);
	CHECK(ps.sp == 0x7ffd0ff8 && ps.pc == 0x401000 && ps.args[0] == 0);
	return 0;
}

static int test_parse_rejects(void)
{
	static const char *const bad[] = {
		"",
		"running",
		"runnin\n",
		"x 0x1 0x2\n",
		"-1 0x1\n",
		"-1 0x1 0x2 0x3\n",
		"0 0x1 0x2 0x3 0x4 0x5 0x6 0x7\n",
		"0 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
		"0 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8 junk\n",
		"0 1 2 3 4 5 6 7 8\n",
		"0 0x 0x2 0x3 0x4 0x5 0x6 0x7 0x8\n",
	};
	struct proc_syscall ps;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (procinfo_parse_syscall(bad[i], &ps) != -EINVAL) {
			fprintf(stderr, "  accepted `%s`\n", bad[i]);
			return -1;
		}
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait up to 2 s for pid's state letter to become want. */
static int wait_state(pid_t pid, char want)
{
	uint64_t ut, st;
	char state = 0;

	for (int i = 0; i < 400; i++) {
		if (procinfo_thread_stat(pid, &state, &ut, &st) == 0 && state == want)
			return 0;
		sleep_ms(5);
	}
	fprintf(stderr, "  pid %d: state %c, waited for %c\n", pid, state ? state : '?', want);
	return -1;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A child blocked in read(fd, buf, 7) on an empty pipe. */
static pid_t blocked_reader(int *ret_fd, int *ret_wr)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char buf[7];

		close(p[1]);
		_exit(syscall(SYS_read, p[0], buf, sizeof(buf)) < 0 ? 1 : 0);
	}
	close(p[0]);
	*ret_fd = p[0];
	*ret_wr = p[1];
	return pid;
}

static int test_blocked_in_pipe_read(void)
{
	struct proc_syscall ps;
	char wchan[128], state;
	uint64_t ut, st;
	int rfd, wfd, fd, r;
	pid_t pid = blocked_reader(&rfd, &wfd);

	CHECK(pid > 0);
	r = wait_state(pid, 'S');
	fd = procinfo_open_syscall(pid);
	if (r == 0 && fd >= 0)
		r = procinfo_read_syscall(fd, &ps);
	if (r == 0)
		r = procinfo_wchan(pid, wchan, sizeof(wchan));
	if (r == 0)
		r = procinfo_thread_stat(pid, &state, &ut, &st);
	close(wfd);
	waitpid(pid, NULL, 0);
	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	CHECK(r == 0);
	CHECK(ps.kind == PS_IN_SYSCALL);
	CHECK(ps.nr == SYS_read);
	CHECK(ps.args[0] == (uint64_t)rfd && ps.args[2] == 7);
	CHECK(ps.sp != 0 && ps.pc != 0);
	/* pipe_read before 6.10, anon_pipe_read since */
	if (!strstr(wchan, "pipe_read"))
		fprintf(stderr, "  wchan `%s`\n", wchan);
	CHECK(strstr(wchan, "pipe_read"));
	CHECK(state == 'S');
	/* the child is gone: the kept fd says so */
	CHECK(procinfo_read_syscall(fd, &ps) == -ESRCH);
	close(fd);
	return 0;
}

static int test_spinning_stopped(void)
{
	struct proc_syscall ps;
	uint64_t ut0, st0, ut1 = 0, st1;
	int running = 0, fd;
	char state;
	pid_t pid = fork();

	if (pid == 0)
		for (volatile unsigned long i = 0;; i++)
			;
	CHECK(pid > 0);
	fd = procinfo_open_syscall(pid);
	if (fd < 0 || procinfo_thread_stat(pid, &state, &ut0, &st0) < 0) {
		reap(pid);
		CHECK(!"open or stat failed");
	}
	/* TASK_RUNNING, on a CPU or preempted, reads "running" every time */
	for (int i = 0; i < 20; i++) {
		if (procinfo_read_syscall(fd, &ps) == 0 && ps.kind == PS_RUNNING)
			running++;
		sleep_ms(1);
	}
	/* utime ticks at USER_HZ: give it up to 2 s of CPU to show */
	for (int i = 0; i < 200 && ut1 <= ut0; i++) {
		sleep_ms(10);
		procinfo_thread_stat(pid, &state, &ut1, &st1);
	}
	kill(pid, SIGSTOP);
	if (wait_state(pid, 'T') < 0 || procinfo_read_syscall(fd, &ps) < 0)
		ps.kind = PS_RUNNING;
	reap(pid);
	close(fd);
	CHECK(running == 20);
	CHECK(ut1 > ut0);
	/* stopped on its way back to user space, outside any syscall */
	CHECK(ps.kind == PS_NOT_IN_SYSCALL);
	CHECK(ps.nr == -1 && ps.sp != 0 && ps.pc != 0);
	return 0;
}

/* A user without ptrace access to the thread: the open says so. */
static int test_refused_access(void)
{
	int rfd, wfd, status;
	pid_t pid, probe;

	if (geteuid() != 0)
		SKIP("needs root to switch to an unprivileged user");
	pid = blocked_reader(&rfd, &wfd);
	CHECK(pid > 0);
	probe = fork();
	if (probe == 0) {
		int fd;

		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		fd = procinfo_open_syscall(pid);
		_exit(fd == -EACCES || fd == -EPERM ? 0 : 1);
	}
	waitpid(probe, &status, 0);
	close(wfd);
	waitpid(pid, NULL, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return 0;
}

/*
 * schedstat of our own thread: on-CPU time grows with work done (ours is
 * brought up to date when we read it: we are current), a gone thread is
 * an error, and the run delay agrees with procinfo_run_delay_ns().
 */
static int test_schedstat(void)
{
	struct proc_schedstat a, b;
	uint64_t run_delay;
	volatile uint64_t spin = 0;

	CHECK(procinfo_schedstat(gettid(), &a) == 0);
	for (uint64_t i = 0; i < 20000000; i++)
		spin += i;
	CHECK(procinfo_schedstat(gettid(), &b) == 0);
	CHECK(b.on_cpu_ns > a.on_cpu_ns);
	CHECK(b.run_delay_ns >= a.run_delay_ns && b.slices >= a.slices && b.slices > 0);
	CHECK(procinfo_run_delay_ns(gettid(), &run_delay) == 0 && run_delay >= b.run_delay_ns);
	CHECK(procinfo_schedstat(-1, &a) < 0);
	return 0;
}

/* /proc/PID/status: our own numbers against what we know of ourselves */
static int test_status_self(void)
{
	struct procstatus st;
	static char touched[8 << 20];
	uint64_t before;

	CHECK(procinfo_status(getpid(), &st) == 0);
	CHECK(st.tgid == getpid() && st.ppid == getppid() && st.threads >= 1);
	CHECK(st.state == 'R' && st.tracer_pid == 0);
	before = st.rss_bytes;
	CHECK(before > 0);
	/* 8 MiB more touched: VmRSS grows by about that (other pages may come and go) */
	memset(touched, 1, sizeof(touched));
	CHECK(procinfo_status(getpid(), &st) == 0);
	CHECK(st.rss_bytes >= before + (6 << 20));
	return 0;
}

UNIT_MAIN(TEST(test_status_self), TEST(test_parse_in_syscall), TEST(test_parse_other_kinds),
	  TEST(test_parse_rejects), TEST(test_blocked_in_pipe_read), TEST(test_spinning_stopped),
	  TEST(test_refused_access), TEST(test_schedstat))
