/* SPDX-License-Identifier: MIT */
/*
 * procinfo.h - details about a tracee, read from /proc and its memory.
 * Slow path only: called for a call that crossed its threshold, never per
 * stop (except fd paths of close/dup2/dup3/close_range, which must be taken
 * before the fd is gone). Every function tolerates a tracee that vanished:
 * it returns -ENOENT/-ESRCH and leaves its output empty.
 */
#ifndef SW_TRACER_PROCINFO_H
#define SW_TRACER_PROCINFO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../policy/policy.h"
#include "../policy/wait.h"

#define PROCINFO_COMM_MAX 64
#define PROCINFO_PATH_MAX 4096
#define PROCINFO_CMDLINE_MAX 4096
#define PROCINFO_CGROUP_MAX 4096

/* Identity of a process, cached per thread group at its first record. */
struct procinfo {
	pid_t tgid;
	pid_t vpid;
	char comm[PROCINFO_COMM_MAX];
	char thread_comm[PROCINFO_COMM_MAX];
	char exe[PROCINFO_PATH_MAX];
	char cmdline[PROCINFO_CMDLINE_MAX];
	size_t cmdline_len;
	char cgroup[PROCINFO_CGROUP_MAX];
};

/* Fill *ret for thread tid (tgid, NSpid, comms, exe, cmdline, cgroup). */
int procinfo_read(pid_t tid, struct procinfo *ret);

/* readlink /proc/TID/fd/FD into buf ("pipe:[123]", "/etc/passwd"). */
int procinfo_fd_path(pid_t tid, long fd, char *buf, size_t size);
/*
 * What fd of tid is, for the %wait decision (policy/wait.h). link is its
 * readlink() text when the caller has it, else NULL.
 */
enum fd_kind procinfo_fd_kind(pid_t tid, long fd, const char *link);
/* 8 bytes of tid's memory at addr; 0 or -errno */
int procinfo_read_u64(pid_t tid, uint64_t addr, uint64_t *ret);

/*
 * Read a NUL-terminated string at addr in tid's memory, at most size-1
 * bytes (process_vm_readv, page by page so an unmapped tail page doesn't
 * lose the head). Returns the length read or -errno.
 */
int procinfo_read_string(pid_t tid, uint64_t addr, char *buf, size_t size);

/*
 * /proc/TID/schedstat (fs/proc/base.c, proc_pid_schedstat()): the thread's
 * se.sum_exec_runtime, sched_info.run_delay and sched_info.pcount since it
 * began. sum_exec_runtime of a thread running right now is brought up to
 * date at the scheduler tick or its next switch only (update_curr(),
 * kernel/sched/fair.c): it lags by up to a tick; run_delay grows when a wait
 * for a CPU ends (sched_info_arrive(), kernel/sched/stats.h), so a wait in
 * progress is not in it yet. Needs CONFIG_SCHED_INFO.
 */
struct proc_schedstat {
	uint64_t on_cpu_ns; /* on a CPU */
	uint64_t run_delay_ns; /* runnable, waiting for a CPU */
	uint64_t slices; /* times it was switched onto a CPU */
};

int procinfo_schedstat(pid_t tid, struct proc_schedstat *ret);

/* run_delay (ns spent runnable but waiting for a CPU) of a thread from schedstat. */
int procinfo_run_delay_ns(pid_t tid, uint64_t *ret_ns);

/* readlink /proc/TID/cwd into buf. */
int procinfo_cwd(pid_t tid, char *buf, size_t size);

/*
 * Device and inode of the directory a lookup of tid starts from: its dirfd
 * (fd >= 0) or its cwd (AT_FDCWD), by stat() of /proc/TID/fd/FD or
 * /proc/TID/cwd. 0 or -errno.
 */
int procinfo_dir_id(pid_t tid, long fd, uint64_t *ret_dev, uint64_t *ret_ino);

/* Parent process id of pid (/proc/PID/stat), 0 for pid 1 and kernel threads' parent. */
int procinfo_ppid(pid_t pid, pid_t *ret);

/* TracerPid: of a task, 0 if none, -errno if unreadable. */
int procinfo_tracer_pid(pid_t tid, pid_t *ret);

/*
 * What /proc/PID/status tells any user about a process (no ptrace access
 * needed, unlike /proc/PID/exe): enough to choose a target and to explain
 * why it cannot be attached.
 */
struct procstatus {
	char comm[PROCINFO_COMM_MAX]; /* Name: */
	char state; /* State: letter, 0 if absent */
	pid_t tgid; /* Tgid: */
	pid_t ppid;
	pid_t tracer_pid; /* 0: not ptraced */
	uid_t uid; /* real uid (first of Uid:) */
	int threads;
	int nspid_levels; /* numbers on NSpid: (1: not in a child pid namespace; 0: no NSpid) */
	int seccomp_mode; /* Seccomp: 0 none, 1 strict, 2 filter (-1: no such line) */
	uint64_t rss_bytes; /* VmRSS: (0 for a kernel thread or a zombie) */
};

/* Fill *ret from /proc/PID/status. Returns 0 or -ESRCH (gone or unreadable). */
int procinfo_status(pid_t pid, struct procstatus *ret);

/*
 * Is pid a kernel thread (PF_KTHREAD, 0x00200000, in the flags, field 9 of
 * /proc/PID/stat; include/linux/sched.h)? Readable by any user. Returns 1,
 * 0, or -ESRCH/-EIO.
 */
int procinfo_is_kthread(pid_t pid);

/*
 * What /proc/TID/syscall says a thread does right now (fs/proc/base.c,
 * proc_pid_syscall()):
 *   "NR 0xA1 0xA2 0xA3 0xA4 0xA5 0xA6 0xSP 0xPC"  blocked in syscall NR
 *   "-1 0xSP 0xPC"                                 stopped or asleep outside one
 *   "running"                                      TASK_RUNNING, in user space or
 *                                                  in the kernel alike
 * Fields a kind does not have are 0 (nr -1 unless PS_IN_SYSCALL).
 */
struct proc_syscall {
	enum proc_syscall_kind { PS_IN_SYSCALL, PS_RUNNING, PS_NOT_IN_SYSCALL } kind;
	long nr;
	uint64_t args[6];
	uint64_t sp, pc;
};

/* Parse the text of /proc/TID/syscall. 0 or -EINVAL (anything else). */
int procinfo_parse_syscall(const char *text, struct proc_syscall *ret);

/*
 * Open /proc/TID/syscall to be read again and again with
 * procinfo_read_syscall(): a pread() of a kept fd took 1.7-2.3 us here,
 * open+read+close 6-7 us. Reading needs PTRACE_MODE_ATTACH access to the
 * thread, checked at each read (lock_trace(), fs/proc/base.c), not at the
 * open; one read here makes a refusal an error of the open: -EACCES (the
 * file is mode 0400 and not ours; a non-dumpable process's files belong to
 * root) or -EPERM (the ptrace check refused, e.g. Yama ptrace_scope 3).
 * -ESRCH or -ENOENT: the thread is gone. Returns an O_CLOEXEC fd or -errno.
 */
int procinfo_open_syscall(pid_t tid);

/* Read and parse it again from offset 0. 0 or -errno (-ESRCH: the thread exited). */
int procinfo_read_syscall(int fd, struct proc_syscall *ret);

/*
 * A thread's scheduler view from /proc/TID/stat, readable by any user who
 * may see the process: its state letter (R, S, D, T, t, Z, X, I) and the
 * CPU time it spent in user and kernel mode, in clock ticks
 * (sysconf(_SC_CLK_TCK)). The times are sampled at the scheduler tick, so
 * they say "it ran" only statistically.
 */
int procinfo_thread_stat(pid_t tid, char *ret_state, uint64_t *ret_utime, uint64_t *ret_stime);

/*
 * /proc/TID/wchan: the kernel function a sleeping thread waits in
 * ("anon_pipe_read", "do_nanosleep"), "0" when it runs, or when the reader
 * lacks PTRACE_MODE_READ access. Returns 0 or -errno.
 */
int procinfo_wchan(pid_t tid, char *buf, size_t size);

/*
 * /proc/TID/stack: the kernel stack of a thread that is not running, as
 * "function+0xoff" strings (the kernel writes "[<0>] function+0xoff/0xsize"),
 * innermost first, into max_frames slots of frame_len bytes at frames.
 * Root only (CAP_SYS_ADMIN, fs/proc/base.c proc_pid_stack()). Returns the
 * number of frames (0: it runs, or the stack is empty) or -errno.
 */
int procinfo_kernel_stack(pid_t tid, char *frames, size_t frame_len, size_t max_frames);

/*
 * policy_call.parent_of (policy/policy.h) from /proc: the parent of pid with
 * its comm, exe and cgroup, for targets with "children" (opaque unused).
 * 0, or -errno when it is gone or pid is 1.
 */
int procinfo_policy_parent(void *opaque, pid_t pid, struct policy_ancestor *ret);

#endif
