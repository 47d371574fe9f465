/* SPDX-License-Identifier: MIT */
/*
 * watch.h - what the bpf backend's kernel programs (watch.bpf.c) and user
 * space (tracer/bpf.c) share: map value layouts and constants. Included by
 * both, so only fixed-size types (the kernel side has no libc).
 *
 * The kernel side times every watched call of every watched thread group:
 * sys_enter writes the call into its thread's `inflight` entry (by tid),
 * sys_exit subtracts and marks the entry idle;
 * only a call that took at least its syscall's lowest threshold leaves
 * the kernel, as one struct watch_event through the `events` ring buffer.
 * User space finds calls still in flight past a threshold by sweeping
 * `inflight`.
 */
#ifndef SW_TRACER_BPF_WATCH_H
#define SW_TRACER_BPF_WATCH_H

/* the kernel side gets __u32 and friends from core.h (it has no <linux/types.h>) */
#ifndef __bpf__
#include <linux/types.h>
#endif

/* syscall numbers per ABI the maps cover (x86_64 has < 512; i386 < 512; x32 maps by name) */
#define WATCH_MAX_NR 512
#define WATCH_ABI_NATIVE 0
#define WATCH_ABI_X86 1
#define WATCH_ABI_MAX 2

/* thresholds[abi * WATCH_MAX_NR + nr]: the lowest threshold any rule gives the syscall, ns */
#define WATCH_UNWATCHED 0xffffffffffffffffULL

/* watched_tgids values */
#define WATCH_TGID_TARGET 1 /* named by the user (attach -p, the run command) */
#define WATCH_TGID_CHILD 2 /* joined at fork (run, attach -f) */
/*
 * run: stallwatch's forked child, between joining the set and exec'ing the
 * command. Its calls (the start pipe's read, closes, the -u uid change, the
 * execve itself) are stallwatch's, not the command's: not timed, as under
 * ptrace and notify. sched_process_exec makes it a TARGET; a failed exec
 * leaves it PENDING_EXEC until it exits.
 */
#define WATCH_TGID_PENDING_EXEC 3

/*
 * tgid_filter[tgid % WATCH_TGID_FILTER] (the programs' .bss, which user
 * space writes through the skeleton's mapping): nonzero when a watched
 * thread group may have a tgid of that remainder; set before the tgid
 * joins watched_tgids, never cleared (a stale slot costs a hash lookup,
 * nothing else). A power of two; pids above it share slots.
 */
#define WATCH_TGID_FILTER 65536

/* config (one-element array), set before attaching */
struct watch_config {
	__u32 follow_forks; /* children of watched processes join the set at fork */
	__u32 pad;
};

/*
 * A call in flight, by tid (and what a completed one reports). An inflight
 * entry with start_ns 0 holds no call: its thread is between two calls.
 */
struct watch_call {
	__u64 start_ns; /* bpf_ktime_get_ns() at the first entry (CLOCK_MONOTONIC); 0: idle */
	__u64 args[6];
	__u64 last_exit_ns; /* when it last exited with restart_code */
	__s64 restart_code; /* the -ERESTART* it last exited with, 0 while in flight;
			       in an event, nonzero: it ended interrupted (ret -EINTR) */
	__u32 nr; /* as entered (the first piece's) */
	__u32 abi; /* WATCH_ABI_* */
	__u32 pieces; /* 1 + restarts stitched in */
	__u32 tgid;
	__u32 partial; /* entered before the attach (user space put it here): start unknown */
	/*
	 * watch, host-wide: entered by a thread group that is not watched,
	 * timed only for the host-wide rules (the name prefilter applies)
	 */
	__u32 host_only;
	/*
	 * The user stack pointer at the last exit with restart_code: the kernel
	 * re-enters a restarted call at the same one, a signal handler's calls
	 * run below it (or on the sigaltstack), and rt_sigreturn restores it.
	 * 0 in entries user space seeds.
	 */
	__u64 user_sp;
	/* %wait (kernel decision) */
	/*
	 * WATCH_WAIT_*: decided at the first entry, except calls decided by
	 * their fds (read, write, ...) and seeded entries: UNDECIDED while in
	 * flight, decided at the end of a call that reached its syscall's
	 * lowest threshold (an event always carries a decision)
	 */
	__u32 wait;
	__u32 wait_pad;

	/* evidence (sched_switch) */
	/*
	 * Where the call's time goes, accounted at every context switch,
	 * wakeup and cpu-clock sample of the thread while the call is in
	 * `inflight` (watch.bpf.c, "evidence"): the time since ev_mark_ns is
	 * ev_run's and is added at the next change (and by whoever reads it:
	 * sys_exit, or user space for a call still in flight).
	 */
	__u64 ev_mark_ns; /* since when the thread is ev_run; 0: not known yet */
	__u64 on_cpu_ns; /* running on a CPU */
	__u64 runq_ns; /* runnable, waiting for a CPU (preempted, or woken) */
	__u64 blocked_ns; /* asleep */
	__u64 unsplit_ns; /* set aside while a signal handler's own watched call ran */
	__u32 ev_run; /* WATCH_RUN_* */
	__u32 blocks; /* times it went to sleep */
	__u32 block_state; /* prev_state (TASK_* bits) at the last block */
	__u32 block_stack; /* nonzero: block_stacks[tid] holds where it last blocked long */
	__u32 cpu_samples; /* cpu-clock samples that hit it in the kernel */
	__u32 cpu_stack; /* stacks id + 1 of one of them, drawn evenly; 0: none */
};

/* ---- %wait (kernel decision) ---------------------------------------------------- */

/* watch_call.wait */
#define WATCH_WAIT_UNDECIDED 0 /* user space decides (from /proc), as other backends do */
#define WATCH_WAIT_NO 1
#define WATCH_WAIT_YES 2
/*
 * a wait on an fd whose /proc/PID/fd link is not a path (pipe:[...],
 * socket:[...], anon_inode:...): rules whose path globs all need a '/'
 * cannot take it (policy.h, policy_wait_thresholds)
 */
#define WATCH_WAIT_YES_PATHLESS 3

/*
 * wait_conf.how: the rule of policy/wait.c (syscall_call_is_wait) that
 * decides a call of the syscall, the arguments it looks at: the values of
 * policy/wait.h's enum wait_how (bpf.c asserts it).
 */
#define WATCH_WAIT_HOW_NEVER 0
#define WATCH_WAIT_HOW_ALWAYS 1
#define WATCH_WAIT_HOW_FD0 2 /* args[0] is an fd that waits for a peer */
#define WATCH_WAIT_HOW_FD01 3 /* sendfile: args[0] and args[1] */
#define WATCH_WAIT_HOW_FD02 4 /* splice: args[0] and args[2] */
#define WATCH_WAIT_HOW_FUTEX 5 /* FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI */
#define WATCH_WAIT_HOW_FCNTL 6 /* F_SETLKW, F_SETLKW64, F_OFD_SETLKW */
#define WATCH_WAIT_HOW_IO_URING 7 /* IORING_ENTER_GETEVENTS with min_complete > 0 */
#define WATCH_WAIT_HOW_SYSLOG 8 /* SYSLOG_ACTION_READ */
#define WATCH_WAIT_HOW_CLONE 9 /* CLONE_VFORK in args[0] */
#define WATCH_WAIT_HOW_CLONE3 10 /* CLONE_VFORK in the struct clone_args at args[0] */

/* wait_conf[abi * WATCH_MAX_NR + nr] */
struct watch_wait_conf {
	__u64 wait_threshold_ns; /* the lowest threshold of the rules that take its waits */
	__u64 pathless_threshold_ns; /* ... its WATCH_WAIT_YES_PATHLESS waits */
	__u64 other_threshold_ns; /* ... that take its other calls (WATCH_UNWATCHED: none) */
	__u32 how; /* WATCH_WAIT_HOW_* */
	__u32 pad;
};

/* watch_call.ev_run: what the thread has been doing since ev_mark_ns */
#define WATCH_RUN_ON_CPU 0
#define WATCH_RUN_RUNQ 1
#define WATCH_RUN_BLOCKED 2

/* frames kept per stack (the `stacks` and `block_stacks` maps' values) */
#define WATCH_STACK_DEPTH 32

/* block_stacks values: a sleeping thread's kernel stack (bpf_get_task_stack()) */
struct watch_stack {
	__u32 len; /* bytes of ips filled */
	__u32 pad;
	__u64 ips[WATCH_STACK_DEPTH];
};

/*
 * A block's stack is taken when it ends (the wakeup), and only for a block
 * at least 1/WATCH_LONG_BLOCK_DIV of the call's threshold long: the walk
 * costs a few microseconds, and a short block does not make a slow call.
 */
#define WATCH_LONG_BLOCK_DIV 8
/* cpu-clock sampler frequency, per CPU (prime: never in step with a 100/250/1000 Hz tick) */
#define WATCH_SAMPLE_HZ 199

/* path_args[abi * WATCH_MAX_NR + nr]: which argument is a path (WATCH_NO_PATH: none) */
#define WATCH_NO_PATH 255
#define WATCH_PATH_MAX 256

/* events ring buffer: a call over its threshold, completed */
struct watch_event {
	struct watch_call call;
	__u64 end_ns;
	__s64 ret;
	__u32 tid;
	__u32 kind; /* WATCH_EVENT_* */
	/*
	 * COMPLETED: the path argument, read when the call ended (the thread
	 * may be gone by the time user space makes the record); path_len > 0
	 * when read (the NUL included, as bpf_probe_read_user_str() counts).
	 */
	__s32 path_len;
	__u32 pad2;
	char path[WATCH_PATH_MAX];

	/* evidence (sched_switch): COMPLETED, call.block_stack set: where it last blocked long */
	struct watch_stack block_stack;
};

#define WATCH_EVENT_COMPLETED 1 /* call, end_ns, ret */
/* call.tgid joined the set (a child of a watched process); ret = the parent's tgid */
#define WATCH_EVENT_FORK 2
/* call.tgid's last thread (tid) exited; ret = its exit_code */
#define WATCH_EVENT_EXIT 3

/* counters (per-CPU array), indexes */
#define WATCH_STAT_RINGBUF_FULL 0 /* events lost (calls, forks, exits): ring buffer full */
#define WATCH_STAT_CALLS 1 /* watched calls completed */
#define WATCH_STAT_INFLIGHT_FULL 2 /* calls not timed: the inflight (or suspended) map was full */
#define WATCH_STAT_TGIDS_FULL 3 /* children not followed: watched_tgids was full at the fork */
/*
 * %wait: calls past their syscall's lowest threshold kept in the kernel,
 * below the threshold of the rules that take such a call (a wait, or not)
 */
#define WATCH_STAT_WAITS_FILTERED 4
/* host-wide calls past their threshold kept in the kernel by the name prefilter (below) */
#define WATCH_STAT_NAMES_FILTERED 5
#define WATCH_STAT_MAX 6

/* ---- host-wide name prefilter (kernel) ------------------------------------------- */

/*
 * watch, host-wide: a call of a thread group that is not watched can make
 * a record only through the host-wide rules. Where every such rule of a
 * syscall has path globs that all end in a literal name (memory.stat: no
 * glob character after the last '/'), the kernel sends a call that took its
 * threshold only when the name of the file it acted on is one of those
 * names (policy.h, policy_host_wide_basenames()): the fd's dentry name, or
 * the last component of the path argument. User space still matches the
 * whole glob; this only keeps the calls that cannot match in the kernel.
 *
 * name_filter[abi * WATCH_MAX_NR + nr] (the programs' .bss): on, and which
 * arguments name the file (WATCH_NO_ARG: none); `names` holds the names.
 */
#define WATCH_NAME_LEN 64 /* a names key: the name, NUL-padded */
#define WATCH_NAMES_MAX 64
#define WATCH_NO_ARG 255

struct watch_name {
	char name[WATCH_NAME_LEN];
};

struct watch_name_filter {
	__u8 on;
	__u8 fd_arg; /* an fd whose dentry name is the file's, or WATCH_NO_ARG */
	__u8 path_arg; /* a path whose last component is, or WATCH_NO_ARG */
	__u8 pad;
};

/* ---- per-syscall counts (kernel): --summary, the metrics duration histogram ---- */

/*
 * call_counts[abi * WATCH_MAX_NR + nr], per CPU: every completed call of a
 * watched syscall, whatever its duration. le[i]: calls of at most
 * WATCH_LE_NS[i] (not cumulative; the last, +Inf, has no bound): the bounds
 * of record/metrics.c's histogram.
 */
#define WATCH_LE_BUCKETS 8
#define WATCH_LE_NS                                                                                \
	{                                                                                          \
		10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,         \
			10000000000ULL                                                             \
	}

struct watch_count {
	__u64 calls;
	__u64 errors; /* returned -4095..-1 (EINTR after a restart code included) */
	__u64 total_ns;
	__u64 min_ns; /* valid when calls > 0 */
	__u64 max_ns;
	__u64 le[WATCH_LE_BUCKETS];
};

/*
 * call_hist[...], per CPU, with --summary only: tracer/summary.c's
 * log-linear buckets (values below 8 one each, then 8 per power of two),
 * the first WATCH_HIST_BUCKETS of them: up to 2^37 ns (137 s); longer
 * calls fall in the last one (a quantile there is capped at the max).
 */
#define WATCH_HIST_BUCKETS 280

struct watch_hist {
	__u32 bucket[WATCH_HIST_BUCKETS];
};

#endif
