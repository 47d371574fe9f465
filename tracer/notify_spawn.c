/* SPDX-License-Identifier: MIT */
#include "notify_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/macro.h"
#include "filter.h"
#include "unotify.h"

/*
 * The filter exempts sendmsg() on the hand-off socket's fd number for the
 * command's whole life, so that number should be one programs rarely reach:
 * the highest below min(RLIMIT_NOFILE, 1024). Not higher: the fd table grows
 * to the highest fd, in the parent and in the command (8 bytes a slot).
 * Falls back to the socket's own number.
 */
static int move_high(int fd)
{
	struct rlimit rl;
	rlim_t top = 1024;
	int high;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < top)
		top = rl.rlim_cur;
	if (top < 2)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, (int)(top - 1));
	if (high < 0)
		return fd;
	close(fd);
	return high;
}

/* Child: the listener to the parent, in the one sendmsg() the filter exempts. */
static int send_listener(int sock, int listener)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control = {};
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &listener, sizeof(int));
	/* MSG_NOSIGNAL: a parent that died makes this EPIPE, not our SIGPIPE */
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Parent: the listener, or 0 when the child closed the socket without one. */
static int recv_listener(int sock, int *ret_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control = {};
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg;
	ssize_t n;

	*ret_fd = -1;
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			return -errno;
	if (n == 0)
		return 0;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	memcpy(ret_fd, CMSG_DATA(cmsg), sizeof(int));
	return 1;
}

/* Runs in the forked child: syscalls only. */
static _Noreturn void child_main(const struct tracer_run_options *opts,
				 const struct sock_fprog *prog, bool no_new_privs, int sock,
				 int fail_fd, pid_t parent)
{
	int listener, r;

	/* before the uid change: without no_new_privs the load needs CAP_SYS_ADMIN */
	listener = unotify_install(prog, no_new_privs);
	if (listener < 0)
		spawn_child_fail(fail_fd, SPAWN_STAGE_SECCOMP, -listener);
	r = send_listener(sock, listener);
	if (r < 0)
		spawn_child_fail(fail_fd, SPAWN_STAGE_LISTENER, -r);
	/* the parent answers our watched calls from here on, these closes included */
	close(listener);
	close(sock);
	spawn_child_exec(opts, fail_fd, parent);
}

/* The child failed or died before the hand-off: reap it and say why. */
static int child_gone(pid_t pid, int fail_fd, struct notify_child *ret, struct sw_error *err)
{
	struct spawn_failure f = {};
	int status;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (read(fail_fd, &f, sizeof(f)) != (ssize_t)sizeof(f) || f.err <= 0)
		return sw_error_set(err, -ECHILD,
				    "the command died before it handed over its seccomp listener");
	ret->failure = f;
	if (f.stage == SPAWN_STAGE_SECCOMP && f.err == EBUSY)
		return sw_error_set(err, -EBUSY,
				    "--backend=notify: stallwatch itself runs under a seccomp "
				    "filter with a listener (a nested --backend=notify?), and the "
				    "kernel allows one listener per filter chain");
	if (f.stage == SPAWN_STAGE_SECCOMP && f.err == EINVAL)
		return sw_error_set(err, -EINVAL,
				    "--backend=notify needs Linux 5.19 "
				    "(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)");
	if (f.stage == SPAWN_STAGE_SECCOMP)
		return sw_error_set(err, -f.err, "cannot install the seccomp filter");
	return sw_error_set(err, -f.err, "cannot hand over the seccomp listener");
}

int notify_spawn(const struct tracer_run_options *opts, const struct syscall_set *watch,
		 struct notify_child *ret, struct sw_error *err)
{
	_cleanup_seccomp_ scmp_filter_ctx filter = NULL;
	_cleanup_free_ struct sock_filter *insns = NULL;
	_cleanup_close_ int sock = -1, child_sock = -1, fail_rd = -1, fail_wr = -1;
	_cleanup_close_ int pidfd = -1, listener = -1;
	bool nnp = !filter_have_cap_sys_admin();
	struct sock_fprog prog;
	pid_t parent = getpid(), pid;
	int sv[2], pipefd[2], r;

	*ret = (struct notify_child){ .pid = -1, .listener_fd = -1, .fail_fd = -1, .pidfd = -1 };
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return sw_error_set(err, -errno, "socketpair");
	sock = sv[0];
	child_sock = move_high(sv[1]);

	r = filter_build_notify(watch, nnp, child_sock, &filter, err);
	if (r < 0)
		return r;
	r = filter_export_bpf(filter, &prog, err);
	if (r < 0)
		return r;
	insns = prog.filter;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return sw_error_set(err, -errno, "pipe");
	fail_rd = pipefd[0];
	fail_wr = pipefd[1];

	pid = fork();
	if (pid < 0)
		return sw_error_set(err, -errno, "fork");
	if (pid == 0) {
		close(sock);
		close(fail_rd);
		child_main(opts, &prog, nnp, child_sock, fail_wr, parent);
	}
	/* the child's ends: their last copies must be the child's, for EOF */
	close(TAKE_FD(child_sock));
	close(TAKE_FD(fail_wr));
	spawn_parent_reset_sigchld();

	/* our unreaped child: its pid cannot be reused before this */
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		r = -errno;
		goto kill;
	}
	r = recv_listener(sock, &listener);
	if (r == 0)
		return child_gone(pid, fail_rd, ret, err);
	if (r < 0)
		goto kill;

	ret->pid = pid;
	ret->listener_fd = TAKE_FD(listener);
	ret->fail_fd = TAKE_FD(fail_rd);
	ret->pidfd = TAKE_FD(pidfd);
	return 0;
kill:
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return sw_error_set(err, r, "starting the command (pid %d) under --backend=notify", pid);
}

void notify_child_close(struct notify_child *c)
{
	closep(&c->listener_fd);
	closep(&c->fail_fd);
	closep(&c->pidfd);
	c->listener_fd = c->fail_fd = c->pidfd = -1;
}
