/* SPDX-License-Identifier: MIT */
#include "unotify.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filter.h"
#include "procinfo.h"

int unotify_install(const struct sock_fprog *prog, bool no_new_privs)
{
	long fd;

	if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* glibc has no seccomp() wrapper */
	fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, UNOTIFY_FILTER_FLAGS, prog);
	return fd < 0 ? -errno : (int)fd;
}

int unotify_recv(int fd, struct seccomp_notif *req)
{
	memset(req, 0, sizeof(*req));
	return ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0 ? -errno : 0;
}

int unotify_continue(int fd, uint64_t id)
{
	/* CONTINUE wants error and val 0 (seccomp_notify_send(), 5.5) */
	struct seccomp_notif_resp resp = { .id = id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };

	return ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 ? -errno : 0;
}

int unotify_set_sync_wakeup(int fd, bool on)
{
	/* the flags go by value, not through a pointer (seccomp_notify_set_flags(), 6.6) */
	unsigned long flags = on ? SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP : 0;

	return ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags) < 0 ? -errno : 0;
}

/* Load an allow-all filter with a listener in a throwaway child: its errno. */
static int probe_in_child(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };
	bool nnp = !filter_have_cap_sys_admin();
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = unotify_install(&prog, nnp);

		_exit(fd < 0 ? -fd : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status))
		return -ECHILD;
	return -WEXITSTATUS(status);
}

int unotify_probe(void)
{
	struct procstatus self;

	/*
	 * The kernel checks the flags before it reads the program, so a NULL
	 * program says EFAULT when it knows them and EINVAL when it does not
	 * (seccomp_set_mode_filter(), kernel/seccomp.c), and nothing is loaded.
	 */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, UNOTIFY_FILTER_FLAGS, NULL) < 0 &&
	    errno != EFAULT)
		return -errno;
	/*
	 * EBUSY needs a filter in force with a listener, which nothing in
	 * /proc shows; without any filter (Seccomp: 0) it cannot happen. With
	 * one, only a real load can tell, and a load cannot be undone: a
	 * throwaway child tries.
	 */
	if (procinfo_status(getpid(), &self) == 0 && self.seccomp_mode == 0)
		return 0;
	return probe_in_child();
}
