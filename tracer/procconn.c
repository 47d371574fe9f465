/* SPDX-License-Identifier: MIT */
/*
 * procconn.c - the proc connector (procconn.h).
 *
 * Wire format (include/uapi/linux/connector.h, cn_proc.h): each netlink
 * message carries one struct cn_msg whose data is one struct proc_event.
 */
#include "procconn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* the subscription request: a netlink header, a cn_msg, one enum proc_cn_mcast_op */
struct listen_msg {
	struct nlmsghdr nl;
	struct cn_msg cn;
	enum proc_cn_mcast_op op;
} __attribute__((packed));

int procconn_open(struct procconn *pc, struct sw_error *err)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	struct listen_msg msg = {};
	int fd, rcvbuf = 4 << 20;

	pc->fd = -1;
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	if (fd < 0)
		return sw_error_set(
			err, -errno,
			"cannot open the proc connector (netlink NETLINK_CONNECTOR; the "
			"kernel needs CONFIG_CONNECTOR and CONFIG_PROC_EVENTS)");
	addr.nl_pid = 0; /* the kernel picks a port id */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int r = -errno;

		close(fd);
		return sw_error_set(err, r,
				    r == -EPERM ? "cannot join the proc connector's group "
						  "(needs CAP_NET_ADMIN)" :
						  "cannot join the proc connector's group");
	}
	/*
	 * A burst of execs (a build, a container start) must not overrun us
	 * while the loop is busy: 4 MiB holds tens of thousands of events.
	 * SO_RCVBUFFORCE (CAP_NET_ADMIN, which we hold) passes rmem_max.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	msg.nl.nlmsg_len = sizeof(msg);
	msg.nl.nlmsg_type = NLMSG_DONE;
	msg.nl.nlmsg_pid = (__u32)getpid();
	msg.cn.id.idx = CN_IDX_PROC;
	msg.cn.id.val = CN_VAL_PROC;
	msg.cn.len = sizeof(msg.op);
	msg.op = PROC_CN_MCAST_LISTEN;
	if (send(fd, &msg, sizeof(msg), 0) != (ssize_t)sizeof(msg)) {
		int r = -errno;

		close(fd);
		return sw_error_set(err, r,
				    r == -EPERM ? "cannot subscribe to the proc connector (needs "
						  "CAP_NET_ADMIN in the initial user namespace)" :
						  "cannot subscribe to the proc connector");
	}
	pc->fd = fd;
	return 0;
}

int procconn_set_signal(struct procconn *pc, pid_t tid, int signo)
{
	struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = tid };
	int flags = fcntl(pc->fd, F_GETFL);

	if (flags < 0 || fcntl(pc->fd, F_SETOWN_EX, &owner) < 0 ||
	    fcntl(pc->fd, F_SETSIG, signo) < 0 || fcntl(pc->fd, F_SETFL, flags | O_ASYNC) < 0)
		return -errno;
	return 0;
}

static void one_event(const void *data,
		      void (*on_event)(void *opaque, const struct procconn_event *ev), void *opaque,
		      int *handed)
{
	struct proc_event event, *pe = &event;
	struct procconn_event ev;

	/* cn_msg's data sits 4 bytes off the 8-byte alignment struct proc_event asks for */
	memcpy(&event, data, sizeof(event));
	ev = (struct procconn_event){ .ts_ns = pe->timestamp_ns };

	switch (pe->what) {
	case PROC_EVENT_FORK:
		ev.kind = PROCCONN_FORK;
		ev.pid = pe->event_data.fork.child_pid;
		ev.tgid = pe->event_data.fork.child_tgid;
		ev.parent_tgid = pe->event_data.fork.parent_tgid;
		break;
	case PROC_EVENT_EXEC:
		ev.kind = PROCCONN_EXEC;
		ev.pid = pe->event_data.exec.process_pid;
		ev.tgid = pe->event_data.exec.process_tgid;
		break;
	case PROC_EVENT_EXIT:
		ev.kind = PROCCONN_EXIT;
		ev.pid = pe->event_data.exit.process_pid;
		ev.tgid = pe->event_data.exit.process_tgid;
		break;
	default:
		return;
	}
	on_event(opaque, &ev);
	(*handed)++;
}

int procconn_drain(struct procconn *pc, size_t max,
		   void (*on_event)(void *opaque, const struct procconn_event *ev), void *opaque)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	int handed = 0;

	while ((size_t)handed < max) {
		ssize_t len = recv(pc->fd, buf, sizeof(buf), 0);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == ENOBUFS) {
				/* netlink_overrun(): messages were dropped; the socket reads on */
				on_event(opaque, &(struct procconn_event){ .kind = PROCCONN_LOST });
				handed++;
				continue;
			}
			return -errno;
		}
		int left = (int)len;

		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left);
		     nh = NLMSG_NEXT(nh, left)) {
			const struct cn_msg *cn = NLMSG_DATA(nh);

			if (nh->nlmsg_type == NLMSG_NOOP || nh->nlmsg_type == NLMSG_ERROR)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*cn) + sizeof(struct proc_event)) ||
			    cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC)
				continue;
			one_event(cn->data, on_event, opaque, &handed);
		}
	}
	return handed;
}

void procconn_close(struct procconn *pc)
{
	if (pc->fd >= 0)
		close(pc->fd);
	pc->fd = -1;
}
