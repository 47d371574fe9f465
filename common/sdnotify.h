/* SPDX-License-Identifier: MIT */
/*
 * sdnotify.h - systemd's readiness protocol without libsystemd: a
 * Type=notify service tells the manager "READY=1" (and "STOPPING=1") by a
 * datagram to the AF_UNIX socket named in $NOTIFY_SOCKET, a path or, with
 * a leading '@', a name in the abstract namespace (sd_notify(3), "Notes").
 *
 *   sdnotify_open   the socket of path (the caller passes $NOTIFY_SOCKET); NULL or "": off
 *   sdnotify_send   one state string; a no-op (0) when off
 *   sdnotify_done   close it
 */
#ifndef SW_COMMON_SDNOTIFY_H
#define SW_COMMON_SDNOTIFY_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "error.h"

struct sdnotify {
	int fd; /* -1: off */
	struct sockaddr_un addr;
	socklen_t addr_len;
};

/*
 * path: "/run/systemd/notify" or "@name"; NULL or "": off (0). A relative
 * path or one too long for sun_path is -EINVAL (err), and so off.
 */
int sdnotify_open(struct sdnotify *n, const char *path, struct sw_error *err);
/* Send state ("READY=1"): 0 (also when off) or -errno (err may be NULL). */
int sdnotify_send(struct sdnotify *n, const char *state, struct sw_error *err);
void sdnotify_done(struct sdnotify *n);

#endif
