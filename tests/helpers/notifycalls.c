/* SPDX-License-Identifier: MIT */
/*
 * notifycalls - known calls for the notify backend's unit tests.
 *
 *   notifycalls N STATUS [OUT]
 *
 * N getppid syscalls, one 1 ms nanosleep syscall, one sendmsg on a socketpair
 * of its own; reports "pid PID", "getppid N bad B", "nanosleep ret R",
 * "sendmsg fd FD ret R", "usr2 N" (SIGUSR2 handled, no SA_RESTART) and exits
 * with STATUS when every call succeeded (1 otherwise).
 */
#include <sys/socket.h>

#include "helper.h"

static volatile sig_atomic_t usr2;

static void on_usr2(int sig)
{
	usr2 += sig == SIGUSR2;
}

int main(int argc, char **argv)
{
	struct iovec iov = { .iov_base = (char[]){ 'x' }, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	long n, status, bad = 0, slept, sent;
	int sv[2];

	if (argc < 3) {
		fprintf(stderr, "usage: notifycalls N STATUS [OUT]\n");
		return 2;
	}
	n = h_atol(argv[1], "N");
	status = h_atol(argv[2], "STATUS");
	h_out_open(argc > 3 ? argv[3] : NULL);
	sigaction(SIGUSR2, &(struct sigaction){ .sa_handler = on_usr2 }, NULL);
	h_say("pid %d\n", getpid());
	for (long i = 0; i < n; i++)
		if (syscall(SYS_getppid) < 0)
			bad++;
	h_say("getppid %ld bad %ld\n", n, bad);
	slept = h_nanosleep_ms(1);
	h_say("nanosleep ret %ld\n", slept);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		h_die("socketpair");
	sent = sendmsg(sv[0], &msg, 0);
	h_say("sendmsg fd %d ret %ld\n", sv[0], sent);
	h_say("usr2 %d\n", (int)usr2);
	return bad || slept || sent != 1 ? 1 : (int)status;
}
