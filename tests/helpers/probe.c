/* SPDX-License-Identifier: MIT */
/*
 * probe - one blocking call of a known length, to see whether attach and
 * detach disturb it (scenarios 5 and 7).
 *
 *   probe KIND MS [OUT]
 *
 * KIND is one of
 *   nanosleep     nanosleep(MS)                         result 0
 *   poll          poll() of an idle pipe, timeout MS    result 0
 *   read          read() of a pipe that a child process writes one byte
 *                 to after MS                           result 1
 *   futex         FUTEX_WAIT, relative timeout MS       result -1 ETIMEDOUT
 *   epoll         epoll_wait() of an idle pipe, MS      result 0
 *   sigtimedwait  rt_sigtimedwait(SIGUSR2 blocked), MS  result -1 EAGAIN
 * Reports "pid PID" just before the call. The restartable kinds (the first
 * four) make one call: an EINTR ends the probe. epoll and sigtimedwait are
 * called again with the time left after each EINTR (the kernel cannot
 * restart them transparently). At the end: "done KIND ret R errno NAME
 * elapsed NS eintr N" (NAME is "0" without an error). Exits 0 if the final
 * result is the kind's normal result and no EINTR was seen.
 */
#include "helper.h"

#include <linux/futex.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/wait.h>

static struct timespec ts_of_ns(int64_t ns)
{
	struct timespec ts;

	if (ns < 0)
		ns = 0;
	ts.tv_sec = ns / 1000000000LL;
	ts.tv_nsec = ns % 1000000000LL;
	return ts;
}

int main(int argc, char **argv)
{
	const char *kind;
	uint64_t t0, t1;
	int p[2], eintr = 0, err = 0, ok, status, efd = -1;
	long ms, r = 0;
	pid_t writer = -1;
	static int futex_word;
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t set;
	char c;

	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: probe KIND MS [OUT]\n");
		return 2;
	}
	kind = argv[1];
	ms = h_atol(argv[2], "MS");
	h_out_open(argc > 3 ? argv[3] : NULL);
	if (pipe(p) < 0)
		h_die("pipe");
	if (!strcmp(kind, "read")) {
		writer = fork();
		if (writer < 0)
			h_die("fork");
		if (writer == 0) {
			close(p[0]);
			h_nanosleep_ms(ms);
			_exit(write(p[1], "x", 1) == 1 ? 0 : 1);
		}
		close(p[1]);
	} else if (!strcmp(kind, "epoll")) {
		efd = epoll_create1(EPOLL_CLOEXEC);
		if (efd < 0 || epoll_ctl(efd, EPOLL_CTL_ADD, p[0], &ev) < 0)
			h_die("epoll");
	} else if (!strcmp(kind, "sigtimedwait")) {
		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		sigprocmask(SIG_BLOCK, &set, NULL);
	} else if (strcmp(kind, "nanosleep") && strcmp(kind, "poll") && strcmp(kind, "futex")) {
		fprintf(stderr, "unknown KIND %s\n", kind);
		return 2;
	}
	h_say("pid %d\n", getpid());
	t0 = h_now_ns();
	if (!strcmp(kind, "nanosleep")) {
		r = h_nanosleep_ms(ms);
	} else if (!strcmp(kind, "poll")) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };

		r = poll(&pfd, 1, (int)ms);
	} else if (!strcmp(kind, "read")) {
		r = read(p[0], &c, 1);
	} else if (!strcmp(kind, "futex")) {
		struct timespec ts = ts_of_ns(ms * 1000000LL);

		r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	} else {
		for (;;) {
			int64_t left = (int64_t)ms * 1000000LL - (int64_t)(h_now_ns() - t0);

			if (!strcmp(kind, "epoll")) {
				r = epoll_wait(efd, &ev, 1,
					       left > 0 ? (int)((left + 999999) / 1000000) : 0);
			} else {
				struct timespec ts = ts_of_ns(left);

				r = syscall(SYS_rt_sigtimedwait, &set, NULL, &ts, _NSIG / 8);
			}
			if (r < 0 && errno == EINTR) {
				eintr++;
				continue;
			}
			break;
		}
	}
	if (r < 0)
		err = errno;
	t1 = h_now_ns();
	if (r < 0 && err == EINTR)
		eintr++;
	h_say("done %s ret %ld errno %s elapsed %llu eintr %d\n", kind, r,
	      err ? strerrorname_np(err) : "0", (unsigned long long)(t1 - t0), eintr);
	if (!strcmp(kind, "futex"))
		ok = r == -1 && err == ETIMEDOUT;
	else if (!strcmp(kind, "sigtimedwait"))
		ok = r == -1 && err == EAGAIN;
	else if (!strcmp(kind, "read"))
		ok = r == 1;
	else
		ok = r == 0;
	if (writer > 0 &&
	    (waitpid(writer, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
		ok = 0;
	return ok && !eintr ? 0 : 1;
}
