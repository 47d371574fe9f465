/* SPDX-License-Identifier: MIT */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

int sdnotify_open(struct sdnotify *n, const char *path, struct sw_error *err)
{
	size_t len;

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	if (!path || !*path)
		return 0;
	len = strlen(path);
	/* sd_notify(3) takes an absolute path or an abstract name ('@' for the leading NUL) */
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(n->addr.sun_path) || len < 2)
		return sw_error_set(err, -EINVAL,
				    "NOTIFY_SOCKET `%.200s`: not an absolute path or @name", path);
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@') {
		n->addr.sun_path[0] = 0;
		/* an abstract name is exactly its bytes: no trailing NUL counted */
		n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else
		n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return sw_error_set(err, -errno, "NOTIFY_SOCKET: socket");
	return 0;
}

int sdnotify_send(struct sdnotify *n, const char *state, struct sw_error *err)
{
	ssize_t r;

	if (n->fd < 0)
		return 0;
	do
		r = sendto(n->fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&n->addr,
			   n->addr_len);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		int e = errno;

		if (err)
			sw_error_set(err, -e, "NOTIFY_SOCKET: sending %s", state);
		return -e;
	}
	return 0;
}

void sdnotify_done(struct sdnotify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
