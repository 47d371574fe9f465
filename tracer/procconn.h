/* SPDX-License-Identifier: MIT */
/*
 * procconn.h - the kernel's proc connector (drivers/connector/cn_proc.c):
 * a netlink socket (NETLINK_CONNECTOR, group CN_IDX_PROC) on which the
 * kernel multicasts fork, exec and exit events of every task on the host,
 * once PROC_CN_MCAST_LISTEN was sent. `stallwatch watch` learns of new
 * programs from it instead of polling /proc.
 *
 * The socket is non-blocking. With a signal owner (procconn_set_signal),
 * the kernel raises that signal at the owning thread whenever data or an
 * error (an overrun) is queued (O_ASYNC, F_SETOWN_EX, F_SETSIG;
 * net/core/sock.c sk_wake_async), so a loop that sleeps in another call
 * (wait4, poll on a ring buffer) is woken by it like by any of its signals.
 *
 * Needs CAP_NET_ADMIN in the initial user namespace (cn_proc.c,
 * cn_proc_mcast_ctl) and CONFIG_PROC_EVENTS.
 */
#ifndef SW_TRACER_PROCCONN_H
#define SW_TRACER_PROCCONN_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"

enum procconn_kind {
	PROCCONN_FORK,
	PROCCONN_EXEC,
	PROCCONN_EXIT,
	/* the kernel dropped events (ENOBUFS): whatever happened meanwhile is unknown */
	PROCCONN_LOST,
};

struct procconn_event {
	enum procconn_kind kind;
	uint64_t ts_ns; /* the kernel's CLOCK_MONOTONIC stamp (ktime_get_ns) */
	pid_t pid; /* the thread (exec, exit), the child thread (fork) */
	pid_t tgid; /* its thread group */
	pid_t parent_tgid; /* fork: the parent's thread group */
};

struct procconn {
	int fd;
};

/*
 * Open, bind and subscribe. -EPERM without CAP_NET_ADMIN, -EPROTONOSUPPORT
 * or -ENOENT without the connector; err says which.
 */
int procconn_open(struct procconn *pc, struct sw_error *err);
/* Raise signo at thread tid whenever something is queued (0 or -errno). */
int procconn_set_signal(struct procconn *pc, pid_t tid, int signo);
/*
 * Read what is queued, one callback per event (fork, exec, exit, lost),
 * until the socket is empty or max events were handed out. Returns the
 * number handed out, or -errno (a read error other than EAGAIN/ENOBUFS).
 */
int procconn_drain(struct procconn *pc, size_t max,
		   void (*on_event)(void *opaque, const struct procconn_event *ev), void *opaque);
void procconn_close(struct procconn *pc);

#endif
