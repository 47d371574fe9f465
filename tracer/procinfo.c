/* SPDX-License-Identifier: MIT */
#include "procinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/macro.h"

/* Value of "Key:\t..." in a /proc status text; NULL if absent. */
static const char *status_field(const char *status, const char *key)
{
	size_t klen = strlen(key);

	for (const char *line = status; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			line += klen + 1;
			while (*line == '\t' || *line == ' ')
				line++;
			return line;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

static void copy_line(char *dst, size_t size, const char *src)
{
	size_t len = src ? strcspn(src, "\n") : 0;

	if (len >= size)
		len = size - 1;
	if (len)
		memcpy(dst, src, len);
	dst[len] = 0;
}

int procinfo_read(pid_t tid, struct procinfo *ret)
{
	char path[64], status[4096];
	const char *v;
	ssize_t n;

	memset(ret, 0, sizeof(*ret));
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	if (sw_read_small_file(path, status, sizeof(status)) < 0)
		return -ESRCH;
	v = status_field(status, "Tgid");
	ret->tgid = v ? (pid_t)strtol(v, NULL, 10) : tid;
	copy_line(ret->thread_comm, sizeof(ret->thread_comm), status_field(status, "Name"));

	/* the process-wide fields come from the leader */
	snprintf(path, sizeof(path), "/proc/%d/status", ret->tgid);
	if (sw_read_small_file(path, status, sizeof(status)) >= 0) {
		copy_line(ret->comm, sizeof(ret->comm), status_field(status, "Name"));
		v = status_field(status, "NSpid");
		if (v) {
			/* NSpid: host ... innermost; the last number is the pid its namespace sees */
			const char *end = v + strcspn(v, "\n"), *last = v;

			for (const char *p = v; p < end; p++)
				if ((*p == ' ' || *p == '\t') && p + 1 < end && p[1] != ' ' &&
				    p[1] != '\t')
					last = p + 1;
			ret->vpid = (pid_t)strtol(last, NULL, 10);
		}
	} else
		snprintf(ret->comm, sizeof(ret->comm), "%s", ret->thread_comm);

	snprintf(path, sizeof(path), "/proc/%d/exe", ret->tgid);
	n = readlink(path, ret->exe, sizeof(ret->exe) - 1);
	ret->exe[n > 0 ? n : 0] = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", ret->tgid);
	n = sw_read_small_file(path, ret->cmdline, sizeof(ret->cmdline));
	ret->cmdline_len = n > 0 ? (size_t)n : 0;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", ret->tgid);
	if (sw_read_small_file(path, ret->cgroup, sizeof(ret->cgroup)) < 0)
		ret->cgroup[0] = 0;
	return 0;
}

int procinfo_fd_path(pid_t tid, long fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	buf[0] = 0;
	if (fd < 0 || fd > INT32_MAX)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", tid, fd);
	n = readlink(path, buf, size - 1);
	if (n < 0) {
		buf[0] = 0;
		return -errno;
	}
	buf[n] = 0;
	return 0;
}

int procinfo_read_u64(pid_t tid, uint64_t addr, uint64_t *ret)
{
	struct iovec local = { .iov_base = ret, .iov_len = sizeof(*ret) };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = sizeof(*ret) };
	ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return n == sizeof(*ret) ? 0 : -EFAULT;
}

enum fd_kind procinfo_fd_kind(pid_t tid, long fd, const char *link)
{
	char buf[PROCINFO_PATH_MAX], path[64];
	struct stat st;
	mode_t mode = 0;

	if (!link) {
		if (procinfo_fd_path(tid, fd, buf, sizeof(buf)) < 0)
			return FD_KIND_UNKNOWN;
		link = buf;
	}
	/* pipes, sockets and anon inodes are told by their link text alone */
	if (link[0] == '/') {
		/* stat() follows the magic link to the open file itself (deleted or not) */
		snprintf(path, sizeof(path), "/proc/%d/fd/%ld", tid, fd);
		if (stat(path, &st) == 0)
			mode = st.st_mode;
	}
	return fd_kind_classify(link, mode);
}

int procinfo_read_string(pid_t tid, uint64_t addr, char *buf, size_t size)
{
	const uint64_t page = 4096;
	size_t off = 0;

	buf[0] = 0;
	if (!addr || size == 0)
		return -EFAULT;
	while (off + 1 < size) {
		uint64_t cur = addr + off;
		size_t chunk = (size_t)(page - (cur % page));
		struct iovec local, remote;
		ssize_t n;
		char *nul;

		if (chunk > size - 1 - off)
			chunk = size - 1 - off;
		local = (struct iovec){ .iov_base = buf + off, .iov_len = chunk };
		remote = (struct iovec){ .iov_base = (void *)(uintptr_t)cur, .iov_len = chunk };
		n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
		if (n <= 0) {
			buf[off] = 0;
			return off ? (int)off : -(n < 0 ? errno : EFAULT);
		}
		nul = memchr(buf + off, 0, (size_t)n);
		if (nul)
			return (int)(nul - buf);
		off += (size_t)n;
	}
	buf[off] = 0;
	return (int)off;
}

int procinfo_schedstat(pid_t tid, struct proc_schedstat *ret)
{
	char path[64], buf[128];
	unsigned long long on_cpu, run_delay, slices;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", tid);
	n = sw_read_small_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* "on-cpu-ns run-delay-ns timeslices" (Documentation/scheduler/sched-stats.rst) */
	if (sscanf(buf, "%llu %llu %llu", &on_cpu, &run_delay, &slices) != 3)
		return -EINVAL;
	ret->on_cpu_ns = on_cpu;
	ret->run_delay_ns = run_delay;
	ret->slices = slices;
	return 0;
}

int procinfo_run_delay_ns(pid_t tid, uint64_t *ret_ns)
{
	struct proc_schedstat ss;
	int r = procinfo_schedstat(tid, &ss);

	if (r < 0)
		return r;
	*ret_ns = ss.run_delay_ns;
	return 0;
}

int procinfo_tracer_pid(pid_t tid, pid_t *ret)
{
	char path[64], status[4096];
	const char *v;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	if (sw_read_small_file(path, status, sizeof(status)) < 0)
		return -ESRCH;
	v = status_field(status, "TracerPid");
	*ret = v ? (pid_t)strtol(v, NULL, 10) : 0;
	return 0;
}

int procinfo_status(pid_t pid, struct procstatus *ret)
{
	char path[64], status[4096];
	const char *v;

	memset(ret, 0, sizeof(*ret));
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (sw_read_small_file(path, status, sizeof(status)) < 0)
		return -ESRCH;
	copy_line(ret->comm, sizeof(ret->comm), status_field(status, "Name"));
	v = status_field(status, "State");
	ret->state = v && *v != '\n' ? *v : 0;
	v = status_field(status, "Tgid");
	ret->tgid = v ? (pid_t)strtol(v, NULL, 10) : 0;
	v = status_field(status, "PPid");
	ret->ppid = v ? (pid_t)strtol(v, NULL, 10) : 0;
	v = status_field(status, "TracerPid");
	ret->tracer_pid = v ? (pid_t)strtol(v, NULL, 10) : 0;
	v = status_field(status, "Uid");
	ret->uid = v ? (uid_t)strtoul(v, NULL, 10) : (uid_t)-1;
	v = status_field(status, "Threads");
	ret->threads = v ? (int)strtol(v, NULL, 10) : 0;
	v = status_field(status, "Seccomp");
	ret->seccomp_mode = v ? (int)strtol(v, NULL, 10) : -1;
	v = status_field(status, "VmRSS"); /* "VmRSS:\t  5320 kB" */
	ret->rss_bytes = v ? (uint64_t)strtoull(v, NULL, 10) * 1024 : 0;
	v = status_field(status, "NSpid");
	if (v) {
		/* "NSpid:\t123\t45": one number per pid namespace level */
		const char *end = v + strcspn(v, "\n");

		for (const char *p = v; p < end; p++)
			if (*p >= '0' && *p <= '9' && (p == v || p[-1] == ' ' || p[-1] == '\t'))
				ret->nspid_levels++;
	}
	return 0;
}

/*
 * Fields 3.. of /proc/PID/stat, after "pid (comm) ": comm may hold spaces and
 * ')'. thread: of the thread pid alone. /proc/TID/stat is the tgid entry's
 * file (proc_tgid_stat(), fs/proc/array.c) and sums utime and stime over the
 * whole thread group; /proc/TID/task/TID/stat (proc_tid_stat()) does not.
 */
static int read_stat_tail(pid_t pid, bool thread, char *buf, size_t size, const char **tail)
{
	char path[64];
	const char *paren;

	if (thread)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, pid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (sw_read_small_file(path, buf, size) < 0)
		return -ESRCH;
	paren = strrchr(buf, ')');
	if (!paren)
		return -EIO;
	*tail = paren + 1;
	return 0;
}

int procinfo_ppid(pid_t pid, pid_t *ret)
{
	char stat[1024];
	const char *tail;
	int ppid, r;

	r = read_stat_tail(pid, false, stat, sizeof(stat), &tail);
	if (r < 0)
		return r;
	/* "state ppid ..." */
	if (sscanf(tail, " %*c %d", &ppid) != 1)
		return -EIO;
	*ret = ppid;
	return 0;
}

int procinfo_is_kthread(pid_t pid)
{
	char stat[1024];
	const char *tail;
	unsigned int flags;
	int r;

	r = read_stat_tail(pid, false, stat, sizeof(stat), &tail);
	if (r < 0)
		return r;
	/* "state ppid pgrp session tty_nr tpgid flags ..." (proc(5)) */
	if (sscanf(tail, " %*c %*d %*d %*d %*d %*d %u", &flags) != 1)
		return -EIO;
	return flags & 0x00200000 ? 1 : 0; /* PF_KTHREAD */
}

int procinfo_dir_id(pid_t tid, long fd, uint64_t *ret_dev, uint64_t *ret_ino)
{
	char path[64];
	struct stat st;

	if (fd >= 0)
		snprintf(path, sizeof(path), "/proc/%d/fd/%ld", tid, fd);
	else
		snprintf(path, sizeof(path), "/proc/%d/cwd", tid);
	/* stat() follows the magic link to the directory itself (fs/proc/base.c) */
	if (stat(path, &st) < 0)
		return -errno;
	*ret_dev = st.st_dev;
	*ret_ino = st.st_ino;
	return 0;
}

int procinfo_cwd(pid_t tid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cwd", tid);
	n = readlink(path, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* " 0xHEX" n times, as proc_pid_syscall() prints them. */
static const char *parse_hex_fields(const char *p, uint64_t *v, int n)
{
	for (int i = 0; i < n; i++) {
		char *end;

		if (p[0] != ' ' || p[1] != '0' || p[2] != 'x')
			return NULL;
		p += 3;
		errno = 0;
		v[i] = strtoull(p, &end, 16);
		if (end == p || errno)
			return NULL;
		p = end;
	}
	return p;
}

int procinfo_parse_syscall(const char *text, struct proc_syscall *ret)
{
	uint64_t v[8];
	const char *p;
	char *end;
	long nr;

	memset(ret, 0, sizeof(*ret));
	ret->nr = -1;
	if (strcmp(text, "running\n") == 0) {
		ret->kind = PS_RUNNING;
		return 0;
	}
	if (!(text[0] == '-' || (text[0] >= '0' && text[0] <= '9')))
		return -EINVAL;
	errno = 0;
	nr = strtol(text, &end, 10);
	if (end == text || errno)
		return -EINVAL;
	/* "-1 sp pc" outside a syscall, "nr a1..a6 sp pc" inside one */
	p = parse_hex_fields(end, v, nr < 0 ? 2 : 8);
	if (!p || strcmp(p, "\n") != 0)
		return -EINVAL;
	if (nr < 0) {
		ret->kind = PS_NOT_IN_SYSCALL;
		ret->sp = v[0];
		ret->pc = v[1];
		return 0;
	}
	ret->kind = PS_IN_SYSCALL;
	ret->nr = nr;
	memcpy(ret->args, v, sizeof(ret->args));
	ret->sp = v[6];
	ret->pc = v[7];
	return 0;
}

int procinfo_read_syscall(int fd, struct proc_syscall *ret)
{
	/* the longest line: 8 fields of "0x" and 16 digits, a number, spaces */
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = 0;
	return procinfo_parse_syscall(buf, ret);
}

int procinfo_open_syscall(pid_t tid)
{
	_cleanup_close_ int fd = -1;
	struct proc_syscall probe;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/syscall", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* access is checked per read, not at the open: try one now */
	r = procinfo_read_syscall(fd, &probe);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}

int procinfo_thread_stat(pid_t tid, char *ret_state, uint64_t *ret_utime, uint64_t *ret_stime)
{
	char stat[1024];
	const char *tail;
	unsigned long long utime, stime;
	char state;
	int r;

	r = read_stat_tail(tid, true, stat, sizeof(stat), &tail);
	if (r < 0)
		return r;
	/* "state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime" */
	if (sscanf(tail, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &utime,
		   &stime) != 3)
		return -EIO;
	*ret_state = state;
	*ret_utime = utime;
	*ret_stime = stime;
	return 0;
}

int procinfo_wchan(pid_t tid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/wchan", tid);
	n = sw_read_small_file(path, buf, size);
	if (n < 0) {
		buf[0] = 0;
		return (int)n;
	}
	return 0;
}

int procinfo_kernel_stack(pid_t tid, char *frames, size_t frame_len, size_t max_frames)
{
	char path[64], text[4096];
	size_t n = 0;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/stack", tid);
	len = sw_read_small_file(path, text, sizeof(text));
	if (len < 0)
		return (int)len;
	/* "[<0>] anon_pipe_read+0x4fa/0x5d0\n": the address hidden, then symbol+off/size */
	for (char *line = text, *next; line && *line && n < max_frames; line = next) {
		char *sym = strstr(line, "] ");

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!sym)
			continue;
		sym += 2;
		sym[strcspn(sym, "/ ")] = 0;
		if (*sym)
			snprintf(frames + n++ * frame_len, frame_len, "%s", sym);
	}
	return (int)n;
}

int procinfo_policy_parent(void *opaque, pid_t pid, struct policy_ancestor *ret)
{
	_cleanup_free_ struct procinfo *info = NULL;
	pid_t ppid;
	int r;

	(void)opaque;
	r = procinfo_ppid(pid, &ppid);
	if (r < 0)
		return r;
	if (ppid <= 0)
		return -ESRCH;
	info = malloc(sizeof(*info));
	if (!info)
		return -ENOMEM;
	r = procinfo_read(ppid, info);
	if (r < 0)
		return r;
	snprintf(ret->comm, sizeof(ret->comm), "%s", info->comm);
	snprintf(ret->exe, sizeof(ret->exe), "%s", info->exe);
	snprintf(ret->cgroup, sizeof(ret->cgroup), "%s", info->cgroup);
	ret->proc = (struct policy_process){ .tgid = ppid,
					     .comm = ret->comm,
					     .exe = ret->exe[0] ? ret->exe : NULL,
					     .cgroup = ret->cgroup };
	return 0;
}
