/* SPDX-License-Identifier: MIT */
/*
 * test_sdnotify.c - common/sdnotify.h: READY=1 reaches a datagram socket
 * bound where $NOTIFY_SOCKET says, a path or an abstract name ('@').
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../common/sdnotify.h"
#include "unit.h"

/* A bound SOCK_DGRAM socket at name (a path, or "@abstract"); -1 on failure. */
static int bind_dgram(const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	socklen_t alen;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || len >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, name, len);
	if (name[0] == '@') {
		a.sun_path[0] = 0;
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	if (bind(fd, (struct sockaddr *)&a, alen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Receive one datagram (without waiting) into buf as a string. */
static ssize_t recv_now(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);

	if (n >= 0)
		buf[n] = 0;
	return n;
}

static int test_path_socket(void)
{
	char dir[] = "/tmp/sw-sdnotify-XXXXXX", path[128], buf[64];
	struct sdnotify n;
	struct sw_error err = {};
	int fd;

	if (!mkdtemp(dir))
		SKIP("mkdtemp failed");
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = bind_dgram(path);
	if (fd < 0) {
		rmdir(dir);
		SKIP("cannot bind an AF_UNIX socket");
	}
	CHECK(sdnotify_open(&n, path, &err) == 0);
	CHECK(sdnotify_send(&n, "READY=1", &err) == 0);
	CHECK(recv_now(fd, buf, sizeof(buf)) == 7);
	CHECK_STR(buf, "READY=1");
	CHECK(sdnotify_send(&n, "STOPPING=1", NULL) == 0);
	CHECK(recv_now(fd, buf, sizeof(buf)) == 10);
	CHECK_STR(buf, "STOPPING=1");
	sdnotify_done(&n);
	close(fd);
	unlink(path);
	rmdir(dir);
	/* the listener gone: an error to report, never a crash */
	CHECK(sdnotify_open(&n, path, &err) == 0);
	CHECK(sdnotify_send(&n, "READY=1", &err) < 0);
	CHECK(strstr(err.msg, "NOTIFY_SOCKET"));
	sdnotify_done(&n);
	return 0;
}

static int test_abstract_socket(void)
{
	char name[64], buf[64];
	struct sdnotify n;
	struct sw_error err = {};
	int fd;

	snprintf(name, sizeof(name), "@sw-sdnotify-test-%d", (int)getpid());
	fd = bind_dgram(name);
	if (fd < 0)
		SKIP("cannot bind an abstract AF_UNIX socket");
	CHECK(sdnotify_open(&n, name, &err) == 0);
	CHECK(sdnotify_send(&n, "READY=1", &err) == 0);
	CHECK(recv_now(fd, buf, sizeof(buf)) == 7);
	CHECK_STR(buf, "READY=1");
	sdnotify_done(&n);
	close(fd);
	return 0;
}

static int test_off_and_bad(void)
{
	struct sdnotify n;
	struct sw_error err = {};

	/* unset or empty: off, and sending is a no-op */
	CHECK(sdnotify_open(&n, NULL, &err) == 0);
	CHECK(n.fd == -1);
	CHECK(sdnotify_send(&n, "READY=1", &err) == 0);
	sdnotify_done(&n);
	CHECK(sdnotify_open(&n, "", &err) == 0 && n.fd == -1);
	/* relative, or longer than sun_path: refused, and off */
	CHECK(sdnotify_open(&n, "run/notify", &err) == -EINVAL && n.fd == -1);
	CHECK(strstr(err.msg, "run/notify"));
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = 0;
		CHECK(sdnotify_open(&n, longp, &err) == -EINVAL && n.fd == -1);
	}
	return 0;
}

UNIT_MAIN(TEST(test_path_socket), TEST(test_abstract_socket), TEST(test_off_and_bad))
