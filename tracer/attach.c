/* SPDX-License-Identifier: MIT */
#include "attach.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/macro.h"
#include "filter.h"

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

/* Integer after "Key:" in /proc/PID/status; -1 if absent. */
static long status_long(pid_t pid, const char *key)
{
	char path[64], status[4096], pattern[32];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, status, sizeof(status)) < 0)
		return -1;
	snprintf(pattern, sizeof(pattern), "\n%s:", key);
	p = strstr(status, pattern);
	return p ? strtol(p + strlen(pattern), NULL, 10) : -1;
}

static char status_state(pid_t pid)
{
	char path[64], status[4096];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, status, sizeof(status)) < 0)
		return 0;
	p = strstr(status, "\nState:");
	if (!p)
		return 0;
	p += 7;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p;
}

static void read_comm(pid_t pid, char *comm, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_file(path, comm, size) < 0)
		comm[0] = 0;
	comm[strcspn(comm, "\n")] = 0;
}

int attach_check_target(pid_t pid, char *comm, size_t comm_size, struct sw_error *err)
{
	char path[64];
	struct stat st;

	comm[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (pid <= 0 || stat(path, &st) < 0)
		return sw_error_set(err, -ESRCH, "attach %d: no such process", pid);
	read_comm(pid, comm, comm_size);
	if (pid == getpid())
		return sw_error_set(err, -EPERM, "attach %d: refusing to trace stallwatch itself",
				    pid);
	/* an ancestor waits for us (its child) while we would hold it stopped */
	for (pid_t p = getppid(); p > 0;) {
		if (p == pid)
			return sw_error_set(err, -EPERM,
					    "attach %d (%s): refusing to trace an ancestor of "
					    "stallwatch",
					    pid, comm);
		if (p == 1)
			break;
		p = (pid_t)status_long(p, "PPid");
	}
	return 0;
}

/* Which syscall the thread sits in right now (-1: running or unknown). */
static int current_syscall(pid_t pid, pid_t tid)
{
	char path[96], buf[256];
	char *end;
	long nr;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	nr = strtol(buf, &end, 10);
	return end == buf || nr < 0 ? -1 : (int)nr;
}

static bool have_cap_sys_ptrace(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_TO_INDEX(CAP_SYS_PTRACE)].effective & CAP_TO_MASK(CAP_SYS_PTRACE);
}

/* strace's diagnose_attach_eperm(), one line: the most likely cause first. */
static int diagnose(pid_t pid, const char *comm, int errno_code, struct sw_error *err)
{
	char buf[64], path[64];
	long tracer = status_long(pid, "TracerPid"), threads = status_long(pid, "Threads");
	long uid = status_long(pid, "Uid");

	/* a zombie leader alone: its pid still exists, but nothing is left to trace */
	if (status_state(pid) == 'Z' && threads <= 1)
		return sw_error_set(err, -EPERM, "attach %d (%s): a zombie with no live thread",
				    pid, comm);
	if (errno_code == ESRCH)
		return sw_error_set(err, -ESRCH, "attach %d (%s): no such process (it exited)", pid,
				    comm);
	if (tracer > 0) {
		char tracer_comm[64];

		read_comm((pid_t)tracer, tracer_comm, sizeof(tracer_comm));
		return sw_error_set(err, -EPERM, "attach %d (%s): already traced by pid %ld (%s)",
				    pid, comm, tracer, tracer_comm);
	}
	if (uid >= 0 && (uid_t)uid != geteuid() && !have_cap_sys_ptrace())
		return sw_error_set(err, -EPERM,
				    "attach %d (%s): owned by another user (uid %ld); attaching "
				    "needs root or CAP_SYS_PTRACE",
				    pid, comm, uid);
	snprintf(path, sizeof(path), "/proc/sys/kernel/yama/ptrace_scope");
	if (read_file(path, buf, sizeof(buf)) > 0 && atoi(buf) > 0)
		return sw_error_set(err, -EPERM,
				    "attach %d (%s): permission denied; kernel.yama.ptrace_scope = "
				    "%d may be restricting it",
				    pid, comm, atoi(buf));
	if (status_long(getpid(), "NSpid") != getpid())
		return sw_error_set(err, -errno_code,
				    "attach %d (%s): permission denied inside a pid namespace "
				    "(a container?)",
				    pid, comm);
	return sw_error_set(err, -errno_code, "attach %d (%s)", pid, comm);
}

int attach_process(pid_t pid, long options, int (*add)(void *opaque, pid_t tid, int syscall_nr),
		   void *opaque, struct sw_error *err)
{
	_cleanup_free_ pid_t *seized = NULL;
	size_t n_seized = 0, cap = 0;
	int last_errno = ESRCH;
	char comm[64], path[64];

	read_comm(pid, comm, sizeof(comm));
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	/* bounded: a process spawning threads forever must not keep us here */
	for (int pass = 0; pass < 1000; pass++) {
		_cleanup_closedir_ DIR *dir = opendir(path);
		struct dirent *de;
		size_t found = 0;

		if (!dir)
			break; /* the whole process left */
		while ((de = readdir(dir))) {
			pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
			bool known = false;
			int nr;

			if (tid <= 0)
				continue;
			for (size_t i = 0; i < n_seized && !known; i++)
				known = seized[i] == tid;
			if (known)
				continue;
			nr = current_syscall(pid, tid);
			if (ptrace(PTRACE_SEIZE, tid, 0, (void *)options) < 0) {
				/*
				 * ESRCH: the thread left. EPERM on the leader
				 * alone may be a zombie leader (main called
				 * pthread_exit): its live threads still count.
				 */
				if (errno != ESRCH && !(tid == pid && status_state(tid) == 'Z'))
					last_errno = errno;
				continue;
			}
			/* stop it once so its state is ours from here on; a stopped one stays stopped */
			ptrace(PTRACE_INTERRUPT, tid, 0, 0);
			if (n_seized == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				pid_t *n = realloc(seized, ncap * sizeof(*n));

				if (!n)
					return sw_error_set(err, -ENOMEM, "out of memory");
				seized = n;
				cap = ncap;
			}
			seized[n_seized++] = tid;
			found++;
			if (add(opaque, tid, nr) < 0)
				return sw_error_set(err, -ENOMEM, "out of memory");
		}
		if (!found)
			break;
	}
	if (n_seized == 0)
		return diagnose(pid, comm, last_errno, err);
	return (int)n_seized;
}

static bool cgroup_matches(pid_t pid, const char *prefix)
{
	char path[64], buf[4096];
	size_t len = strlen(prefix);

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return false;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		/* "ID:CONTROLLERS:PATH": compare PATH; a prefix ends at a '/' */
		char *p = strchr(line, ':');

		p = p ? strchr(p + 1, ':') : NULL;
		if (p && strncmp(p + 1, prefix, len) == 0 &&
		    (p[1 + len] == 0 || p[1 + len] == '/' || prefix[len - 1] == '/'))
			return true;
	}
	return false;
}

static bool is_self_or_ancestor(pid_t pid)
{
	if (pid == getpid())
		return true;
	for (pid_t p = getppid(); p > 0;) {
		if (p == pid)
			return true;
		if (p == 1)
			break;
		p = (pid_t)status_long(p, "PPid");
	}
	return false;
}

int attach_find_targets(const struct attach_query *q, pid_t **ret, struct sw_error *err)
{
	_cleanup_closedir_ DIR *dir = opendir("/proc");
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (!dir)
		return sw_error_set(err, -errno, "cannot read /proc");
	while ((de = readdir(dir))) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		char comm[64], path[64], exe[4096];
		ssize_t len;

		if (pid <= 0 || is_self_or_ancestor(pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		len = readlink(path, exe, sizeof(exe) - 1);
		if (len <= 0)
			continue; /* kernel thread, or gone */
		exe[len] = 0;
		if (q->name) {
			read_comm(pid, comm, sizeof(comm));
			if (strcmp(comm, q->name) != 0 && fnmatch(q->name, comm, 0) != 0)
				continue;
		}
		if (q->exe && fnmatch(q->exe, exe, 0) != 0)
			continue;
		if (q->cgroup && !cgroup_matches(pid, q->cgroup))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			pid_t *np = realloc(pids, ncap * sizeof(*np));

			if (!np)
				return sw_error_set(err, -ENOMEM, "out of memory");
			pids = np;
			cap = ncap;
		}
		pids[n++] = pid;
	}
	*ret = TAKE_PTR(pids);
	return (int)n;
}
