// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * watch.bpf.c - the bpf backend's kernel half: times every watched call of
 * every watched thread group at the raw syscall tracepoints and sends the
 * calls that took at least their threshold to user space (tracer/bpf.c)
 * through a ring buffer. Layouts and constants: watch.h.
 *
 * tp_btf programs (5.5+): fentry/fexit may be refused and kprobes absent,
 * while the BTF-typed raw tracepoints need only BTF in sysfs. Ring buffer
 * 5.8, bpf_get_current_task_btf() 5.11.
 *
 * sys_enter and sys_exit run for every syscall of every task on the host
 * while attached: both look the caller's tgid up first and return at once
 * when it is not watched.
 */
#include "core.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "watch.h"

/*
 * GPL-compatible: bpf_get_current_task_btf() is a GPL-only helper
 * (kernel/trace/bpf_trace.c, gpl_only = true), and the verifier refuses a
 * GPL-only helper to a program whose license is not GPL-compatible
 * (include/linux/license.h lists "Dual MIT/GPL"). MIT for the rest of
 * stallwatch, GPL for the kernel.
 */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tgid */
	__type(value, __u32); /* WATCH_TGID_* */
} watched_tgids SEC(".maps");

/*
 * The first filter of every program that runs for the whole host (watch.h):
 * a byte load from the programs' global data, where a watched_tgids lookup
 * (a helper call, jhash, the bucket walk) cost about 50 ns a run here even
 * when it found nothing (bench/progcost.sh): every syscall and context
 * switch of every process on the host pays it twice.
 */
__u8 tgid_filter[WATCH_TGID_FILTER];

static __always_inline bool maybe_watched(__u32 tgid)
{
	return tgid_filter[tgid & (WATCH_TGID_FILTER - 1)];
}

/*
 * watch --host-wide (tracer/watch.c): rules that name no targets apply to
 * every process on the host, so the calls of their syscalls are timed for
 * every thread group, watched or not. User space fills
 * host_wide_nr[abi * WATCH_MAX_NR + nr] from the rules without targets. A
 * thread group that is not watched (tgid_filter keeps its meaning: sys_enter
 * and sys_exit skip the watched_tgids lookup for it) passes sys_enter only
 * for those syscalls; the scheduler programs and sched_process_exit look
 * every thread's inflight entry up (may_have_call()). What user space makes
 * of a call is the policy's business (policy_match(): a rule with targets
 * takes only its targets' calls).
 */
const volatile __u32 host_wide = 0;
__u8 host_wide_nr[WATCH_ABI_MAX * WATCH_MAX_NR];

/* May tgid's threads have an inflight entry? (host-wide: any thread may) */
static __always_inline bool may_have_call(__u32 tgid)
{
	return host_wide || maybe_watched(tgid);
}

/* Could syscall id be timed host-wide under either ABI? (exact per ABI: host_wide_nr) */
static __always_inline bool host_wide_call(long id)
{
	if (!host_wide || id < 0 || id >= WATCH_MAX_NR)
		return false;
	return host_wide_nr[id] | host_wide_nr[WATCH_MAX_NR + id];
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, (WATCH_ABI_MAX * WATCH_MAX_NR));
	__type(key, __u32); /* abi * WATCH_MAX_NR + nr */
	__type(value, __u64); /* ns, or WATCH_UNWATCHED */
} thresholds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct watch_config);
} config SEC(".maps");

/*
 * Each watched thread's call, by tid. A thread's entry is made at its first
 * watched call and stays until the thread exits (sched_process_exit) or
 * forks into a reused tid: between calls it is idle (start_ns 0, watch.h).
 * A call is written into the entry in place and ended by a store: no
 * update (bucket lock, element allocation, a 176-byte copy) at every entry
 * and no delete at every exit, which cost about 100 ns a watched call here
 * (bench/progcost.sh).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct watch_call);
} inflight SEC(".maps");

/* what a thread's entry starts as (read-only: the insert copies it) */
const volatile struct watch_call idle_call = {};

/* tid's call, in flight or waiting for its restart; NULL when it has none */
static __always_inline struct watch_call *call_of(__u32 tid)
{
	struct watch_call *call = bpf_map_lookup_elem(&inflight, &tid);

	return call && call->start_ns ? call : NULL;
}

/*
 * Calls interrupted with -ERESTARTSYS or -ERESTARTNOINTR while a signal
 * handler runs (by tid). The handler's rt_sigreturn decides: the kernel
 * re-executes the call (SA_RESTART, or ERESTARTNOINTR) or the program sees
 * EINTR. Kernel-internal: user space never reads it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct watch_call);
} suspended SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* ~5,700 slow calls between two reads by user space (an event is 720 bytes, 8 more in the buffer) */
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WATCH_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		(*v)++;
}

/* the path argument of each syscall (user space fills it from its argument table) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, (WATCH_ABI_MAX * WATCH_MAX_NR));
	__type(key, __u32); /* abi * WATCH_MAX_NR + nr */
	__type(value, __u32); /* argument index, or WATCH_NO_PATH */
} path_args SEC(".maps");

/* ---- %wait (kernel decision) ------------------------------------------------- */

/*
 * How each syscall's calls relate to %wait and the thresholds of its waits
 * and of its other calls (user space fills it from policy/wait.c's table
 * and the rules). A wait no rule takes never leaves the kernel.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, (WATCH_ABI_MAX * WATCH_MAX_NR));
	__type(key, __u32); /* abi * WATCH_MAX_NR + nr */
	__type(value, struct watch_wait_conf);
} wait_conf SEC(".maps");

/* Does the name of an anon inode's dentry equal s (at most 15 bytes)? */
static __always_inline bool name_is(const char *name, const char *s, int len)
{
	for (int i = 0; i <= len && i < 16; i++)
		if (name[i] != s[i])
			return false;
	return true;
}

/* what an fd is, for %wait */
#define FD_OTHER 0 /* not a peer (a file, a directory, closed, ...) */
#define FD_PEER_PATH 1 /* a peer with a path: a FIFO, a character device, /proc/kmsg */
#define FD_PEER_PATHLESS 2 /* a pipe, a socket, an anon inode that waits */

/*
 * The file task's fd fd_arg refers to, or NULL (closed, out of range). Runs
 * under the RCU read lock the tracepoint holds (fdtable.h: the fd array is
 * RCU-freed). task is the BTF-typed current task: the table is read by
 * plain loads (the verifier makes them faulting loads), the fd array's
 * slot, a pointer to a pointer, by a helper.
 */
static __always_inline struct file *fd_file(struct task_struct *task, __u64 fd_arg)
{
	int fd = (int)fd_arg;
	struct files_struct *files;
	struct fdtable *fdt;
	struct file **fds, *file = 0;

	if (fd < 0)
		return 0;
	files = task->files;
	if (!files)
		return 0;
	fdt = files->fdt;
	if (!fdt || (unsigned int)fd >= fdt->max_fds)
		return 0;
	fds = fdt->fd;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return 0;
	return file;
}

/*
 * policy/wait.c's fd_kind_classify() == FD_KIND_PEER, from the inode
 * instead of the /proc/PID/fd link: a FIFO (pipes too: pipefs inodes are
 * S_IFIFO), a socket, a character device; the anon inodes whose reads wait
 * for an event (their dentry is the name in "anon_inode:NAME",
 * fs/anon_inodes.c; the superblock tells an anon inode, its i_mode does not
 * since 6.15 gave them S_IFREG); /proc/kmsg. A closed fd or a failed read:
 * not a wait, as in user space. Pipes, sockets and anon inodes have links
 * that are not paths (d_dname: "pipe:[42]").
 */
static __always_inline int fd_kind(struct task_struct *task, __u64 fd_arg)
{
	struct file *file = fd_file(task, fd_arg);
	struct inode *inode;
	unsigned long magic;
	unsigned short type;
	char name[16];

	if (!file)
		return FD_OTHER;
	inode = BPF_CORE_READ(file, f_inode);
	if (!inode)
		return FD_OTHER;
	magic = BPF_CORE_READ(inode, i_sb, s_magic);
	type = BPF_CORE_READ(inode, i_mode) & S_IFMT;
	if (type == S_IFSOCK || (type == S_IFIFO && magic == PIPEFS_MAGIC))
		return FD_PEER_PATHLESS;
	if (type == S_IFIFO || type == S_IFCHR)
		return FD_PEER_PATH;
	if (magic != ANON_INODE_FS_MAGIC && magic != PROC_SUPER_MAGIC)
		return FD_OTHER;
	if (bpf_probe_read_kernel_str(name, sizeof(name),
				      BPF_CORE_READ(file, f_path.dentry, d_name.name)) <= 0)
		return FD_OTHER;
	if (magic == PROC_SUPER_MAGIC)
		/* only /proc/kmsg has that name in procfs */
		return name_is(name, "kmsg", 4) ? FD_PEER_PATH : FD_OTHER;
	return name_is(name, "[eventfd]", 9) || name_is(name, "[signalfd]", 10) ||
			       name_is(name, "[timerfd]", 9) || name_is(name, "inotify", 7) ||
			       name_is(name, "[fanotify]", 10) ||
			       name_is(name, "[userfaultfd]", 13) ?
		       FD_PEER_PATHLESS :
		       FD_OTHER;
}

/* A wait decided by fds a (and b): pathless when every one is. */
static __always_inline __u32 fd_wait(int a, int b)
{
	if (a == FD_OTHER || b == FD_OTHER)
		return WATCH_WAIT_NO;
	return a == FD_PEER_PATHLESS && b == FD_PEER_PATHLESS ? WATCH_WAIT_YES_PATHLESS :
								WATCH_WAIT_YES;
}

/*
 * policy/wait.c's syscall_call_is_wait() for one call. fds: look at the
 * fds too; without, a call decided by its fds stays UNDECIDED. The fd
 * walk (eight kernel reads, about 200 ns here) is left to the end of the
 * calls that reach their syscall's lowest threshold: a fast read pays
 * nothing for it. The fd is still the call's then (the call holds its
 * file); if another thread closed it meanwhile the call counts as not a
 * wait, as report.c's lookup from /proc would.
 */
static __always_inline __u32 decide_wait(struct task_struct *task, __u32 idx, const __u64 *args,
					 bool fds)
{
	struct watch_wait_conf *conf = bpf_map_lookup_elem(&wait_conf, &idx);
	__u64 flags = 0;
	bool wait;
	int cmd, fd0;

	if (!conf)
		return WATCH_WAIT_UNDECIDED;
	switch (conf->how) {
	case WATCH_WAIT_HOW_NEVER:
		wait = false;
		break;
	case WATCH_WAIT_HOW_ALWAYS:
		wait = true;
		break;
	case WATCH_WAIT_HOW_FD0:
		if (!fds)
			return WATCH_WAIT_UNDECIDED;
		fd0 = fd_kind(task, args[0]);
		return fd_wait(fd0, fd0);
	case WATCH_WAIT_HOW_FD01:
		if (!fds)
			return WATCH_WAIT_UNDECIDED;
		fd0 = fd_kind(task, args[0]);
		return fd0 == FD_OTHER ? WATCH_WAIT_NO : fd_wait(fd0, fd_kind(task, args[1]));
	case WATCH_WAIT_HOW_FD02:
		if (!fds)
			return WATCH_WAIT_UNDECIDED;
		fd0 = fd_kind(task, args[0]);
		return fd0 == FD_OTHER ? WATCH_WAIT_NO : fd_wait(fd0, fd_kind(task, args[2]));
	case WATCH_WAIT_HOW_FUTEX:
		cmd = (int)args[1] & FUTEX_CMD_MASK;
		wait = cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET ||
		       cmd == FUTEX_WAIT_REQUEUE_PI;
		break;
	case WATCH_WAIT_HOW_FCNTL:
		wait = args[1] == 7 || args[1] == 14 || args[1] == 38;
		break;
	case WATCH_WAIT_HOW_IO_URING:
		wait = (args[3] & 1) && (__u32)args[2] > 0;
		break;
	case WATCH_WAIT_HOW_SYSLOG:
		wait = (int)args[0] == 2;
		break;
	case WATCH_WAIT_HOW_CLONE:
		wait = args[0] & CLONE_VFORK;
		break;
	case WATCH_WAIT_HOW_CLONE3:
		/* struct clone_args starts with its u64 flags (just written by the caller) */
		wait = bpf_probe_read_user(&flags, sizeof(flags), (const void *)args[0]) == 0 &&
		       (flags & CLONE_VFORK);
		break;
	default:
		return WATCH_WAIT_UNDECIDED;
	}
	return wait ? WATCH_WAIT_YES : WATCH_WAIT_NO;
}

/* ---- host-wide name prefilter (kernel) ------------------------------------------- */

/* watch.h: which syscalls are filtered by name, and how (user space writes it) */
struct watch_name_filter name_filter[WATCH_ABI_MAX * WATCH_MAX_NR];
/*
 * bit n: a name of n bytes is in `names` (every one is shorter than
 * WATCH_NAME_LEN): most files are told apart by the length alone, without
 * reading the name and hashing a key
 */
__u64 name_lens;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WATCH_NAMES_MAX);
	__type(key, struct watch_name); /* NUL-padded */
	__type(value, __u8);
} names SEC(".maps");

/* The name filter of a completed host-wide call of a thread group not watched, or NULL. */
static __always_inline const struct watch_name_filter *name_filter_of(const struct watch_call *call)
{
	const struct watch_name_filter *f;

	if (!host_wide || !call->host_only || call->abi >= WATCH_ABI_MAX ||
	    call->nr >= WATCH_MAX_NR)
		return 0;
	f = &name_filter[call->abi * WATCH_MAX_NR + call->nr];
	return f->on ? f : 0;
}

/*
 * Is the name of the file of task's fd one of `names`? A closed fd has no
 * path for user space either: no. The root dentry of a mount (a file
 * bind-mounted onto another name) is named by its mount point in the
 * /proc/PID/fd link user space matches (d_path()), not by its own d_name:
 * yes, let user space see it. A name longer than a key is cut: at worst a
 * call user space then drops.
 */
static __always_inline bool fd_name_listed(struct task_struct *task, __u64 fd_arg)
{
	struct file *file = fd_file(task, fd_arg);
	struct watch_name key = {};
	struct dentry *dentry;
	__u32 len;

	if (!file)
		return false;
	dentry = BPF_CORE_READ(file, f_path.dentry);
	if (!dentry)
		return true;
	len = BPF_CORE_READ(dentry, d_name.len);
	if (len < WATCH_NAME_LEN && ((name_lens >> len) & 1)) {
		if (bpf_probe_read_kernel_str(key.name, sizeof(key.name),
					      BPF_CORE_READ(dentry, d_name.name)) <= 0 ||
		    bpf_map_lookup_elem(&names, &key))
			return true;
	}
	return dentry == BPF_CORE_READ(file, f_path.mnt, mnt_root);
}

/* the last '/' of a path read into an event (bpf_loop: a plain loop is too many states) */
struct last_slash {
	const char *path;
	__u32 len; /* bytes read, the NUL included */
	__u32 at; /* index after the last '/', 0 if none */
};

static long find_slash(__u64 i, struct last_slash *x)
{
	if (i >= WATCH_PATH_MAX || i >= x->len)
		return 1;
	if (x->path[i] == '/')
		x->at = (__u32)i + 1;
	return 0;
}

/*
 * Is the last component of path (read in full: len bytes, the NUL
 * included) one of `names`? "dir/" has none: no glob ending in a name
 * matches it (the fd of the call, if any, was looked at already).
 */
static __always_inline bool path_name_listed(const char *path, __u32 len)
{
	struct last_slash x = { .path = path, .len = len };
	struct watch_name key = {};

	bpf_loop(WATCH_PATH_MAX, find_slash, &x, 0);
	/* len - 1 - at: the bytes after the last '/', the NUL left out */
	if (x.at >= WATCH_PATH_MAX || x.at >= len || len - 1 - x.at >= WATCH_NAME_LEN ||
	    !((name_lens >> (len - 1 - x.at)) & 1))
		return false;
	if (bpf_probe_read_kernel_str(key.name, sizeof(key.name), path + x.at) <= 1)
		return false;
	return bpf_map_lookup_elem(&names, &key) != 0;
}

/* ---- per-syscall counts (kernel) ------------------------------------------------- */

/* set before loading (read-only to the programs: the verifier drops what is off) */
const volatile __u32 count_calls = 0; /* --summary or --metrics-file: call_counts */
const volatile __u32 count_hist = 0; /* --summary: call_hist too */

/* user space shrinks these to one entry when they are off (bpf.c) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, (WATCH_ABI_MAX * WATCH_MAX_NR));
	__type(key, __u32); /* abi * WATCH_MAX_NR + nr */
	__type(value, struct watch_count);
} call_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, (WATCH_ABI_MAX * WATCH_MAX_NR));
	__type(key, __u32);
	__type(value, struct watch_hist);
} call_hist SEC(".maps");

/* tracer/summary.c's bucket_of(), without clz (BPF has none) */
static __always_inline __u32 hist_bucket(__u64 v)
{
	__u32 b = 0;
	__u64 x = v;

	if (v < 8)
		return (__u32)v;
	if (x >> 32) {
		x >>= 32;
		b += 32;
	}
	if (x >> 16) {
		x >>= 16;
		b += 16;
	}
	if (x >> 8) {
		x >>= 8;
		b += 8;
	}
	if (x >> 4) {
		x >>= 4;
		b += 4;
	}
	if (x >> 2) {
		x >>= 2;
		b += 2;
	}
	if (x >> 1)
		b += 1;
	/* 2^b <= v < 2^(b+1), b >= 3 */
	b = 8 * (b - 2) + (__u32)((v >> (b - 3)) & 7);
	return b < WATCH_HIST_BUCKETS ? b : WATCH_HIST_BUCKETS - 1;
}

/* One completed call of a watched syscall, at its end: a few adds on this CPU. */
static __always_inline void count_call(const struct watch_call *call, __u64 dur, __s64 ret)
{
	static const __u64 le_ns[WATCH_LE_BUCKETS - 1] = WATCH_LE_NS;
	struct watch_count *c;
	struct watch_hist *h;
	__u32 idx, i;

	if (!count_calls || call->abi >= WATCH_ABI_MAX || call->nr >= WATCH_MAX_NR)
		return;
	idx = call->abi * WATCH_MAX_NR + call->nr;
	c = bpf_map_lookup_elem(&call_counts, &idx);
	if (!c)
		return;
	if (!c->calls || dur < c->min_ns)
		c->min_ns = dur;
	if (dur > c->max_ns)
		c->max_ns = dur;
	c->calls++;
	/* the kernel's error range (include/linux/err.h) */
	if (ret < 0 && ret >= -4095)
		c->errors++;
	c->total_ns += dur;
	for (i = 0; i < WATCH_LE_BUCKETS - 1; i++)
		if (dur <= le_ns[i])
			break;
	if (i < WATCH_LE_BUCKETS)
		c->le[i]++;
	if (!count_hist)
		return;
	h = bpf_map_lookup_elem(&call_hist, &idx);
	if (h) {
		i = hist_bucket(dur);
		if (i < WATCH_HIST_BUCKETS)
			h->bucket[i]++;
	}
}

/* ---- evidence (sched_switch): shared with the programs at the end ---------- */

/*
 * Kernel stacks of the last block and of the cpu-clock samples, by id. A
 * stack trace map keeps each distinct stack once, however many calls block
 * on it (thousands of threads in the same futex wait: one entry), and an id
 * once given never changes: without BPF_F_REUSE_STACKID a different stack
 * whose hash lands in a taken bucket gets -EEXIST (kernel/bpf/stackmap.c,
 * __bpf_get_stackid()), so a record shows no stack rather than another's.
 */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, WATCH_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/*
 * Where each thread's call last blocked long (watch.h, WATCH_LONG_BLOCK_DIV),
 * by tid, valid while the call's block_stack is set: written at the wakeup
 * that ends such a block, sent with the call's event, deleted when the call
 * ends or its thread exits (drop_block_stack()).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tid */
	__type(value, struct watch_stack);
} block_stacks SEC(".maps");

/* bpf_get_task_stack() needs a buffer: one per CPU (a program does not migrate) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct watch_stack);
} stack_scratch SEC(".maps");

static __always_inline void drop_block_stack(struct watch_call *call, __u32 tid)
{
	if (!call->block_stack)
		return;
	call->block_stack = 0;
	bpf_map_delete_elem(&block_stacks, &tid);
}

/* The time since ev_mark_ns was ev_run's: add it, and start a new interval at now. */
static __always_inline void ev_account(struct watch_call *call, __u64 now)
{
	__u64 d = now > call->ev_mark_ns ? now - call->ev_mark_ns : 0;

	if (!call->ev_mark_ns)
		d = 0; /* user space seeded it and said nothing of its state */
	if (call->ev_run == WATCH_RUN_BLOCKED)
		call->blocked_ns += d;
	else if (call->ev_run == WATCH_RUN_RUNQ)
		call->runq_ns += d;
	else
		call->on_cpu_ns += d;
	call->ev_mark_ns = now;
}

static __always_inline __u64 threshold_of(__u32 abi, __u64 nr)
{
	__u32 idx;
	__u64 *t;

	if (nr >= WATCH_MAX_NR || abi >= WATCH_ABI_MAX)
		return WATCH_UNWATCHED;
	idx = abi * WATCH_MAX_NR + (__u32)nr;
	t = bpf_map_lookup_elem(&thresholds, &idx);
	return t ? *t : WATCH_UNWATCHED;
}

/*
 * Are tgid's calls timed? Not while it is the run command before its exec
 * (WATCH_TGID_PENDING_EXEC): those calls are stallwatch's own.
 */
static __always_inline bool timed(__u32 tgid)
{
	__u32 *how;

	if (!maybe_watched(tgid))
		return false;
	how = bpf_map_lookup_elem(&watched_tgids, &tgid);
	return how && *how != WATCH_TGID_PENDING_EXEC;
}

/*
 * The threshold a completed or swept call is held to: that of the rules
 * that take its kind of call (a wait or not, as decided at its entry).
 * Counts the calls this keeps back that the syscall's lowest threshold
 * alone would have sent.
 */
static __always_inline __u64 threshold_after(const struct watch_call *call, __u32 wait, __u64 dur)
{
	__u32 idx = call->abi * WATCH_MAX_NR + call->nr;
	struct watch_wait_conf *conf;
	__u64 ns;

	if (wait == WATCH_WAIT_UNDECIDED || call->abi >= WATCH_ABI_MAX ||
	    call->nr >= WATCH_MAX_NR || !(conf = bpf_map_lookup_elem(&wait_conf, &idx)))
		return threshold_of(call->abi, call->nr);
	ns = wait == WATCH_WAIT_YES	     ? conf->wait_threshold_ns :
	     wait == WATCH_WAIT_YES_PATHLESS ? conf->pathless_threshold_ns :
					       conf->other_threshold_ns;
	if (dur < ns)
		stat_inc(WATCH_STAT_WAITS_FILTERED);
	return ns;
}

static __always_inline void emit(__u32 kind, __u32 tgid, __u32 tid, __s64 ret)
{
	struct watch_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		stat_inc(WATCH_STAT_RINGBUF_FULL);
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->call.tgid = tgid;
	ev->tid = tid;
	ev->ret = ret;
	ev->end_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(ev, 0);
}

/*
 * A call is over: count it, and send it up if it took at least its
 * threshold. A global function (5.6+): the verifier checks it once, on its
 * own, instead of once per call site and path of its callers. Inlined at
 * its four call sites (two of them in sys_enter, behind interrupted()) it
 * made sys_enter 4,100 instructions whose verification was most of a
 * start (90 ms here; 180 ms with the --summary histogram). Its one
 * pointer is a read-only copy of the call (PTR_TO_MEM of the struct's size).
 */
__noinline int finish(const struct watch_call *call, __u32 tid, __u64 end_ns, __s64 ret)
{
	const struct watch_name_filter *filter;
	struct watch_event *ev;
	__u64 dur;
	__u32 wait;

	/* the verifier takes a global function's pointer argument as maybe NULL */
	if (!call)
		return 0;
	/* a seeded entry's start (the attach) may be a little after an early exit */
	dur = end_ns > call->start_ns ? end_ns - call->start_ns : 0;
	wait = call->wait;
	stat_inc(WATCH_STAT_CALLS);
	count_call(call, dur, ret);
	/* read now, not at entry: a policy reload applies to the calls in flight */
	if (dur < threshold_of(call->abi, call->nr))
		return 0;
	/*
	 * host-wide: the name prefilter, past the threshold only (a fast call
	 * never pays it), and before the %wait fd walk, which a call it keeps
	 * is spared
	 */
	filter = name_filter_of(call);
	/* a target since its entry (picked up meanwhile): every rule of its targets may take it */
	if (filter && timed(call->tgid))
		filter = 0;
	if (filter && filter->fd_arg < 6 &&
	    fd_name_listed(bpf_get_current_task_btf(), call->args[filter->fd_arg & 7]))
		filter = 0;
	if (filter && filter->path_arg >= 6) {
		stat_inc(WATCH_STAT_NAMES_FILTERED);
		return 0;
	}
	/* %wait: the calls the entry could not decide (by their fds; seeded ones) */
	if (wait == WATCH_WAIT_UNDECIDED && call->abi < WATCH_ABI_MAX && call->nr < WATCH_MAX_NR)
		wait = decide_wait(bpf_get_current_task_btf(), call->abi * WATCH_MAX_NR + call->nr,
				   call->args, true);
	if (dur < threshold_after(call, wait, dur))
		return 0;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		stat_inc(WATCH_STAT_RINGBUF_FULL);
		return 0;
	}
	ev->call = *call;
	ev->call.wait = wait;
	ev->end_ns = end_ns;
	ev->ret = ret;
	ev->tid = tid;
	ev->kind = WATCH_EVENT_COMPLETED;
	ev->path_len = 0;
	ev->block_stack.len = 0;
	if (call->block_stack) {
		struct watch_stack *st = bpf_map_lookup_elem(&block_stacks, &tid);

		if (st)
			ev->block_stack = *st;
	}
	/* only for calls that leave the kernel: a string read costs */
	if (call->abi < WATCH_ABI_MAX && call->nr < WATCH_MAX_NR) {
		__u32 idx = call->abi * WATCH_MAX_NR + call->nr;
		__u32 *arg = bpf_map_lookup_elem(&path_args, &idx);

		if (arg && *arg < 6)
			ev->path_len = bpf_probe_read_user_str(ev->path, sizeof(ev->path),
							       (const void *)call->args[*arg]);
	}
	/* the path's name; one not read, or cut (user space reads it again): sent */
	if (filter && ev->path_len > 0 && ev->path_len < WATCH_PATH_MAX &&
	    !path_name_listed(ev->path, (__u32)ev->path_len)) {
		bpf_ringbuf_discard(ev, 0);
		stat_inc(WATCH_STAT_NAMES_FILTERED);
		return 0;
	}
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

static __always_inline bool is_restart_code(long ret)
{
	return ret == -ERESTARTSYS || ret == -ERESTARTNOINTR || ret == -ERESTARTNOHAND ||
	       ret == -ERESTART_RESTARTBLOCK;
}

/*
 * Is this entry the kernel re-executing the call that exited with a restart
 * code? Without a handler to run (arch/x86/kernel/signal.c,
 * arch_do_signal_or_restart) it rewinds the ip to the syscall instruction:
 * the same number, or restart_syscall after ERESTART_RESTARTBLOCK, at the
 * same user sp. A handler's calls have another sp.
 */
static __always_inline bool resumes(const struct watch_call *call, __u32 abi, long id,
				    unsigned long sp)
{
	if (call->abi != abi || call->user_sp != sp)
		return false;
	if (call->restart_code == -ERESTART_RESTARTBLOCK)
		return id == (abi == WATCH_ABI_X86 ? NR_RESTART_SYSCALL_32 : NR_RESTART_SYSCALL_64);
	return id == call->nr;
}

/*
 * The thread entered another call while `call` (still at inflight[tid])
 * waited for its restart: a signal handler runs. After ERESTARTNOHAND and
 * ERESTART_RESTARTBLOCK the program sees EINTR (handle_signal()); after
 * ERESTARTSYS and ERESTARTNOINTR the handler's rt_sigreturn tells, so the
 * call waits in `suspended` (one per thread: an older one is settled as
 * EINTR, be it a nested interruption or left behind by a longjmp out of a
 * handler).
 */
static __always_inline void interrupted(const struct watch_call *call, __u32 tid)
{
	struct watch_call *old;

	if (call->restart_code == -ERESTARTSYS || call->restart_code == -ERESTARTNOINTR) {
		old = bpf_map_lookup_elem(&suspended, &tid);
		if (old)
			finish(old, tid, old->last_exit_ns, -EINTR);
		if (!bpf_map_update_elem(&suspended, &tid, call, BPF_ANY)) {
			/* block_stacks[tid] is dropped now: the handler's calls use it */
			old = bpf_map_lookup_elem(&suspended, &tid);
			if (old)
				old->block_stack = 0;
			return;
		}
		stat_inc(WATCH_STAT_INFLIGHT_FULL);
	}
	finish(call, tid, call->last_exit_ns, -EINTR);
}

/*
 * (rt_)sigreturn returned `ret`, the restored rax: the call's number when
 * the kernel re-executes it next (handle_signal() set rax = orig_ax), else
 * -EINTR. Only the return to the interrupted frame (same sp) decides; a
 * nested handler's return does not.
 */
static __always_inline void sigreturned(__u32 tid, unsigned long sp, long ret)
{
	struct watch_call *call = bpf_map_lookup_elem(&suspended, &tid);

	if (!call || call->user_sp != sp)
		return;
	if (ret == call->nr) {
		/* the handler's own call had the thread meanwhile: that time is not split */
		__u64 now = bpf_ktime_get_ns();

		call->unsplit_ns += now > call->ev_mark_ns ? now - call->ev_mark_ns : 0;
		call->ev_mark_ns = now;
		call->ev_run = WATCH_RUN_ON_CPU;
		call->block_stack = 0; /* block_stacks[tid] went with the handler's call */
		if (bpf_map_update_elem(&inflight, &tid, call, BPF_ANY))
			stat_inc(WATCH_STAT_INFLIGHT_FULL);
	} else
		finish(call, tid, call->last_exit_ns, -EINTR);
	bpf_map_delete_elem(&suspended, &tid);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sw_sys_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct watch_call *cur, *call;
	struct task_struct *task;
	unsigned long sp;
	__u64 start_ns;
	__u32 abi;
	bool target = timed(tgid);

	if (!target && !host_wide_call(id))
		return 0;
	task = bpf_get_current_task_btf();
	abi = task->thread_info.status & TS_COMPAT ? WATCH_ABI_X86 : WATCH_ABI_NATIVE;
	/* x32 calls are not watched: their numbers map to x86_64 ones only by name */
	if (abi == WATCH_ABI_NATIVE && id >= 0 && (id & __X32_SYSCALL_BIT))
		return 0;
	/* host-wide, not a target: host_wide_call() let both ABIs' numbers by */
	if (!target &&
	    !host_wide_nr[(abi * WATCH_MAX_NR + (__u32)id) % (WATCH_ABI_MAX * WATCH_MAX_NR)])
		return 0;
	sp = regs->sp;
	call = bpf_map_lookup_elem(&inflight, &tid);
	cur = call && call->start_ns ? call : NULL;
	if (cur) {
		if (cur->restart_code) {
			if (resumes(cur, abi, id, sp)) {
				cur->restart_code = 0;
				cur->pieces++;
				return 0;
			}
			ev_account(cur, bpf_ktime_get_ns());
			interrupted(cur, tid);
		}
		/* else its exit was never seen (a seeded entry racing the exit): dropped */
		/* its stack went with its event, or is the handler's now (interrupted()) */
		drop_block_stack(cur, tid);
	}
	if (threshold_of(abi, id) == WATCH_UNWATCHED) {
		if (cur)
			cur->start_ns = 0;
		return 0;
	}
	if (!call) {
		/* the thread's first watched call: its entry, kept until it exits */
		bpf_map_update_elem(&inflight, &tid, (const void *)&idle_call, BPF_NOEXIST);
		call = bpf_map_lookup_elem(&inflight, &tid);
		if (!call) {
			stat_inc(WATCH_STAT_INFLIGHT_FULL);
			return 0;
		}
	}

	/*
	 * Written in place, start_ns last: until then the entry reads as idle
	 * to the scheduler programs and the sampler (which may interrupt this
	 * one), and to user space's sweep. The barriers keep the compiler from
	 * moving the stores across.
	 */
	start_ns = bpf_ktime_get_ns();
	call->start_ns = 0;
	barrier();
	if (abi == WATCH_ABI_X86) {
		/* i386: ebx, ecx, edx, esi, edi, ebp (arch/x86/entry/syscall_32.c) */
		call->args[0] = (__u32)regs->bx;
		call->args[1] = (__u32)regs->cx;
		call->args[2] = (__u32)regs->dx;
		call->args[3] = (__u32)regs->si;
		call->args[4] = (__u32)regs->di;
		call->args[5] = (__u32)regs->bp;
	} else {
		call->args[0] = regs->di;
		call->args[1] = regs->si;
		call->args[2] = regs->dx;
		call->args[3] = regs->r10;
		call->args[4] = regs->r8;
		call->args[5] = regs->r9;
	}
	call->last_exit_ns = 0;
	call->restart_code = 0;
	call->nr = (__u32)id;
	call->abi = abi;
	call->pieces = 1;
	call->tgid = tgid;
	call->partial = 0;
	call->host_only = !target;
	call->user_sp = 0;
	call->ev_mark_ns = start_ns; /* on a CPU: it is making the call */
	call->on_cpu_ns = 0;
	call->runq_ns = 0;
	call->blocked_ns = 0;
	call->unsplit_ns = 0;
	call->ev_run = WATCH_RUN_ON_CPU;
	call->blocks = 0;
	call->block_state = 0;
	call->block_stack = 0; /* block_stacks[tid] went with the last call (drop_block_stack()) */
	call->cpu_samples = 0;
	call->cpu_stack = 0;
	call->wait = decide_wait(task, abi * WATCH_MAX_NR + (__u32)id, call->args, false);
	barrier();
	call->start_ns = start_ns;
	return 0;
}

/* ENOENT storms: one failed lookup counted (its section is at the end of this file) */
static __always_inline void enoent_exit(struct pt_regs *regs, long ret, __u32 tgid);

SEC("tp_btf/sys_exit")
int BPF_PROG(sw_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct watch_call *cur;
	bool sigreturn;
	__u64 now;

	if (timed(tgid))
		enoent_exit(regs, ret, tgid); /* ENOENT storms: targets only */
	else if (!host_wide || ((long)regs->orig_ax != -1 && !host_wide_call(regs->orig_ax)))
		return 0; /* host-wide: its calls, and sigreturns (which may settle one) */
	/* restore_sigcontext() sets orig_ax = -1 ("disable syscall checks") */
	sigreturn = (long)regs->orig_ax == -1;
	cur = call_of(tid);
	if (cur) {
		now = bpf_ktime_get_ns();
		if (!sigreturn && is_restart_code(ret)) {
			/* interrupted: restarted (same call) or EINTR, the next entry says */
			cur->restart_code = ret;
			cur->last_exit_ns = now;
			cur->user_sp = regs->sp;
			return 0;
		}
		ev_account(cur, now);
		finish(cur, tid, now, ret);
		drop_block_stack(cur, tid);
		cur->start_ns = 0; /* idle: the entry stays for the thread's next call */
	}
	if (sigreturn)
		sigreturned(tid, regs->sp, ret);
	return 0;
}

/*
 * Children join the set here, before they first run: no call of theirs is
 * missed. A new task of a watched group, thread or child, starts with no
 * call: nothing may wait under its tid. User space can leave an entry
 * behind when it seeds a call in flight at the attach (bpf.c,
 * seed_in_flight) for a thread that exits at that moment, after its
 * sched_process_exit ran; once the tid is reused, the new task's first
 * return to user space (ret_from_fork() reaches sys_exit with 0) would
 * otherwise end that old call, a record with the old start.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sw_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 zero = 0, ptgid = parent->tgid, ctid = child->pid, ctgid = child->tgid;
	__u32 val = WATCH_TGID_CHILD;
	struct watch_config *cfg;

	/* a fork before the run command's exec is stallwatch's, not the command's */
	if (!timed(ptgid))
		return 0;
	bpf_map_delete_elem(&inflight, &ctid);
	bpf_map_delete_elem(&suspended, &ctid);
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !cfg->follow_forks)
		return 0;
	if (ctid != ctgid)
		return 0; /* a thread: its calls are filtered by tgid already */
	tgid_filter[ctgid & (WATCH_TGID_FILTER - 1)] = 1;
	if (bpf_map_update_elem(&watched_tgids, &ctgid, &val, BPF_ANY)) {
		stat_inc(WATCH_STAT_TGIDS_FULL);
		return 0;
	}
	emit(WATCH_EVENT_FORK, ctgid, ctgid, ptgid);
	return 0;
}

/*
 * A thread exits: exit_group() and a fatal signal never reach sys_exit,
 * and the tid may be reused, so its entries go now. do_exit()
 * (kernel/exit.c) decrements signal->live (atomic_dec_and_test, group_dead)
 * before it calls trace_sched_process_exit() in every 6.x kernel (6.16 moved
 * the tracepoint before exit_mm() and passes group_dead; reading live keeps
 * 5.x working): live is 0 here for the group's last thread. Two threads
 * exiting at once can both see 0; the delete lets one report it.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sw_exit, struct task_struct *task)
{
	__u32 tid = task->pid, tgid = task->tgid;

	if (!may_have_call(tgid))
		return 0;
	bpf_map_delete_elem(&inflight, &tid);
	bpf_map_delete_elem(&suspended, &tid);
	bpf_map_delete_elem(&block_stacks, &tid);
	if (task->signal->live.counter != 0)
		return 0;
	if (bpf_map_delete_elem(&watched_tgids, &tgid))
		return 0;
	emit(WATCH_EVENT_EXIT, tgid, tid, task->exit_code);
	return 0;
}

/*
 * The run command exec'd: from here on its calls are the command's. Its
 * execve, entered while PENDING_EXEC, was not timed, and its sys_exit
 * finds no entry: not reported, as under ptrace and notify.
 *
 * exec by a thread other than the leader: de_thread() kills the other
 * threads (the old leader's exit removed its entry) and gives this thread
 * the leader's pid, so its execve, begun under old_pid, ends under the new
 * one. The entry moves with it. Any call left suspended under old_pid is
 * stale (exec resets the handlers).
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sw_exec, struct task_struct *p, int old_pid, struct linux_binprm *bprm)
{
	__u32 tid = p->pid, old = old_pid, tgid = p->tgid;
	__u32 *how = bpf_map_lookup_elem(&watched_tgids, &tgid);
	struct watch_call *call;

	if (how && *how == WATCH_TGID_PENDING_EXEC)
		*how = WATCH_TGID_TARGET;
	bpf_map_delete_elem(&suspended, &old);
	if (tid == old)
		return 0;
	call = bpf_map_lookup_elem(&inflight, &old);
	if (!call)
		return 0;
	call->block_stack = 0; /* keyed by the old tid: dropped below */
	if (bpf_map_update_elem(&inflight, &tid, call, BPF_ANY))
		stat_inc(WATCH_STAT_INFLIGHT_FULL);
	bpf_map_delete_elem(&inflight, &old);
	bpf_map_delete_elem(&block_stacks, &old);
	return 0;
}

/* ---- evidence (sched_switch) ------------------------------------------------
 *
 * Where a watched call's time goes: on a CPU, on a run queue, asleep, and
 * the kernel stack where it last went to sleep. These run for every context
 * switch and wakeup on the host (and every cpu-clock sample): each looks the
 * thread up in `inflight` first and returns at once when it has no call
 * there. Whatever they write lives in the call's own `inflight` entry, so it
 * goes with the call (sys_exit, sched_process_exit) and nothing is left by
 * tid. The stack ids point into `stacks`, which is keyed by the stack.
 */

/*
 * A block of p's call ends at now. A long one (watch.h, WATCH_LONG_BLOCK_DIV)
 * has its stack taken now, while p still sleeps where it blocked:
 * bpf_get_task_stack() (5.9+) walks a task that is not running
 * (stack_trace_save_tsk(), which leaves out the scheduler's own frames, as
 * /proc/TID/stack does). Taking it at every switch-out instead, with
 * bpf_get_stackid(), cost ~1.7 us per block of every watched call.
 */
static __always_inline void block_ended(struct watch_call *call, struct task_struct *p, __u32 tid,
					__u64 now)
{
	__u64 blocked = now > call->ev_mark_ns ? now - call->ev_mark_ns : 0;
	struct watch_stack *st;
	__u32 zero = 0;
	long len;

	if (blocked * WATCH_LONG_BLOCK_DIV < threshold_of(call->abi, call->nr))
		return;
	st = bpf_map_lookup_elem(&stack_scratch, &zero);
	if (!st)
		return;
	len = bpf_get_task_stack(p, st->ips, sizeof(st->ips), 0);
	if (len <= 0)
		return;
	st->len = (__u32)len;
	if (bpf_map_update_elem(&block_stacks, &tid, st, BPF_ANY) == 0)
		call->block_stack = 1;
}

/* A sleeping thread is runnable again (ttwu_do_wakeup(), kernel/sched/core.c). */
static __always_inline void woken(struct task_struct *p)
{
	__u32 tid = p->pid;
	struct watch_call *call = may_have_call(p->tgid) ? call_of(tid) : NULL;
	__u64 now;

	/* a wakeup before it got off the CPU (ttwu_runnable()) changes nothing */
	if (!call || call->ev_run != WATCH_RUN_BLOCKED)
		return;
	now = bpf_ktime_get_ns();
	block_ended(call, p, tid, now);
	ev_account(call, now);
	call->ev_run = WATCH_RUN_RUNQ;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sw_sched_wakeup, struct task_struct *p)
{
	woken(p);
	return 0;
}

/*
 * prev leaves the CPU, next gets it. kernel/sched/core.c (__schedule(),
 * 6.x): prev_state is the state prev is switched out in; a preempted task
 * stays on the run queue whatever its state says (the tracepoint prints it
 * as "R+", __trace_sched_switch_state()), so it went to sleep only when
 * !preempt and prev_state != TASK_RUNNING (0). prev_state is an argument
 * since 5.18; the stack is prev's, as prev is current here.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(sw_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 prev_tid = prev->pid, next_tid = next->pid;
	struct watch_call *call = may_have_call(prev->tgid) ? call_of(prev_tid) : NULL;
	__u64 now = 0;

	if (call) {
		now = bpf_ktime_get_ns();
		ev_account(call, now);
		if (!preempt && prev_state) {
			call->ev_run = WATCH_RUN_BLOCKED;
			call->blocks++;
			call->block_state = prev_state;
		} else
			call->ev_run = WATCH_RUN_RUNQ;
	}
	call = may_have_call(next->tgid) ? call_of(next_tid) : NULL;
	if (call) {
		if (!now)
			now = bpf_ktime_get_ns();
		/* its wakeup was not seen (another BPF program ran on that CPU then) */
		if (call->ev_run == WATCH_RUN_BLOCKED)
			block_ended(call, next, next_tid, now);
		ev_account(call, now);
		call->ev_run = WATCH_RUN_ON_CPU;
	}
	return 0;
}

/*
 * A cpu-clock sample (one perf event per CPU, user space opens them): the
 * thread on the CPU is in a watched call. One stack per call is kept, drawn
 * evenly from all its samples (reservoir sampling: the n-th replaces the
 * kept one with probability 1/n), so the kept stack is where the call most
 * likely spent its CPU time, and a call sampled n times walks its stack
 * about ln(n) times, not n. A sample taken while a signal handler runs
 * between two pieces of the call (restart_code set) is in user space.
 */
SEC("perf_event")
int sw_cpu_sample(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct watch_call *call = may_have_call(pid_tgid >> 32) ? call_of(tid) : NULL;
	long id;

	if (!call || call->restart_code)
		return 0;
	call->cpu_samples++;
	if (bpf_get_prandom_u32() % call->cpu_samples)
		return 0;
	id = bpf_get_stackid(ctx, &stacks, 0);
	if (id >= 0)
		call->cpu_stack = (__u32)id + 1;
	return 0;
}

/* ---- ENOENT storms (kernel) -------------------------------------------------- */

/*
 * The failed path lookups of watched processes counted per (process,
 * directory) where they happen: a key (tgid, the start directory's device
 * and inode, a hash of the dirname) and struct enoent_counts (sketches of
 * the names per window slice, enoent_counts.h), the layout user space's
 * detector reads (tracer/storm.h, storm_kernel_counts()). Only the counts
 * leave the kernel, at user space's ticks: no event per failed call.
 * A tracepoint program may be preempted: two updates of one pair can
 * interleave; a lost register raise costs the estimate little, counts are
 * added atomically.
 */
#include "enoent_counts.h"

#define ENOENT_ERRNO 2
#define ENOENT_AT_FDCWD -100
#define ENOENT_PATH_MAX 256 /* longer paths are cut: their name is hashed as cut */
/* include/uapi/linux/bpf.h, enum bpf_map_type (core.h lists the others) */
#define ENOENT_MAP_TYPE_LRU_HASH 9

/* set by user space: counting on, and the window slice (a reload may change it) */
volatile __u32 enoent_on = 0;
volatile __u64 enoent_slice_ns = 1000000000;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WATCH_MAX_NR);
	__type(key, __u32);
	__type(value, struct enoent_call); /* which native syscalls count (user space fills it) */
} enoent_calls SEC(".maps");

/* the least recently updated pair makes room (max_entries: the policy's max_directories) */
struct {
	__uint(type, ENOENT_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct enoent_key);
	__type(value, struct enoent_counts);
} enoent_dirs SEC(".maps");

struct enoent_scratch {
	char path[ENOENT_PATH_MAX];
	struct enoent_counts fresh; /* zero but for dirname, while a new pair is added */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct enoent_scratch);
} enoent_scratch SEC(".maps");

/* CO-RE flavours of what this section reads (include/linux/fs_struct.h, dcache.h, fs.h) */
struct super_block___enoent {
	__u32 s_dev; /* dev_t: MAJOR << 20 | MINOR (include/linux/kdev_t.h) */
} __attribute__((preserve_access_index));

struct inode___enoent {
	unsigned long i_ino;
	struct super_block___enoent *i_sb;
} __attribute__((preserve_access_index));

struct dentry___enoent {
	struct inode___enoent *d_inode;
} __attribute__((preserve_access_index));

struct path___enoent {
	struct dentry___enoent *dentry;
} __attribute__((preserve_access_index));

struct fs_struct___enoent {
	struct path___enoent pwd;
} __attribute__((preserve_access_index));

struct file___enoent {
	struct inode___enoent *f_inode;
} __attribute__((preserve_access_index));

struct task_struct___enoent {
	struct fs_struct___enoent *fs;
	struct files_struct *files;
} __attribute__((preserve_access_index));

static __always_inline __u32 enoent_clz64(__u64 x)
{
	__u32 n = 0;

	if (!(x >> 32)) {
		n += 32;
		x <<= 32;
	}
	if (!(x >> 48)) {
		n += 16;
		x <<= 16;
	}
	if (!(x >> 56)) {
		n += 8;
		x <<= 8;
	}
	if (!(x >> 60)) {
		n += 4;
		x <<= 4;
	}
	if (!(x >> 62)) {
		n += 2;
		x <<= 2;
	}
	if (!(x >> 63))
		n += 1;
	return n;
}

/* The start directory of a relative lookup: the dirfd's inode, or the cwd's. */
static __always_inline bool enoent_start_dir(long dirfd, struct enoent_key *key)
{
	struct task_struct___enoent *task = (void *)bpf_get_current_task_btf();
	struct inode___enoent *inode = 0;

	if (dirfd == ENOENT_AT_FDCWD) {
		inode = BPF_CORE_READ(task, fs, pwd.dentry, d_inode);
	} else {
		struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
		struct file___enoent *file = 0;
		struct file **fds;

		if (dirfd < 0 || !fdt || (unsigned long)dirfd >= BPF_CORE_READ(fdt, max_fds))
			return false;
		fds = BPF_CORE_READ(fdt, fd);
		if (bpf_probe_read_kernel(&file, sizeof(file), &fds[dirfd]) || !file)
			return false;
		inode = BPF_CORE_READ(file, f_inode);
	}
	if (!inode)
		return false;
	key->ino = BPF_CORE_READ(inode, i_ino);
	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	return true;
}

#define ENOENT_FNV_BASIS 0xcbf29ce484222325ULL
#define ENOENT_FNV_PRIME 0x100000001b3ULL

/* A path scanned one character a call (bpf_loop, 5.17: a plain loop is too many states) */
struct enoent_scan {
	struct enoent_scratch *sc;
	__u64 h, dir_h, name_h; /* FNV-1a of the whole, of all before the last '/', of after it */
	__u32 last_slash, len; /* len: of the name */
	bool slash;
};

static long enoent_scan_char(__u64 i, struct enoent_scan *x)
{
	char ch;

	if (i >= ENOENT_PATH_MAX)
		return 1;
	ch = x->sc->path[i];
	if (!ch)
		return 1;
	if (ch == '/') {
		x->dir_h = x->h;
		x->last_slash = (__u32)i;
		x->slash = true;
		x->name_h = ENOENT_FNV_BASIS;
		x->len = 0;
	} else {
		x->name_h = (x->name_h ^ (__u8)ch) * ENOENT_FNV_PRIME;
		x->len++;
	}
	x->h = (x->h ^ (__u8)ch) * ENOENT_FNV_PRIME;
	return 0;
}

static __always_inline void enoent_exit(struct pt_regs *regs, long ret, __u32 tgid)
{
	struct task_struct *task;
	struct enoent_scratch *sc;
	struct enoent_counts *c;
	struct enoent_call *how;
	struct enoent_key key = { .tgid = tgid };
	struct enoent_scan scan = { .h = ENOENT_FNV_BASIS, .name_h = ENOENT_FNV_BASIS };
	__u64 args[6], dir_h, name_h;
	__u64 now, epoch, rest;
	__u32 zero = 0, nr, s, idx, last_slash = 0, len = 0, k;
	bool slash = false;
	__u8 rank;

	if (!enoent_on || ret != -ENOENT_ERRNO)
		return;
	task = bpf_get_current_task_btf();
	/* native calls only: an i386 call's number means another syscall */
	if (task->thread_info.status & TS_COMPAT)
		return;
	nr = (__u32)regs->orig_ax;
	if (nr >= WATCH_MAX_NR)
		return;
	how = bpf_map_lookup_elem(&enoent_calls, &nr);
	if (!how || !how->counted || how->path_arg > 5)
		return;
	sc = bpf_map_lookup_elem(&enoent_scratch, &zero);
	if (!sc)
		return;
	/* the argument registers are the caller's still at the exit (arch/x86/entry) */
	args[0] = regs->di;
	args[1] = regs->si;
	args[2] = regs->dx;
	args[3] = regs->r10;
	args[4] = regs->r8;
	args[5] = regs->r9;
	if (bpf_probe_read_user_str(sc->path, sizeof(sc->path), (void *)args[how->path_arg & 7]) <=
	    1)
		return;
	/* one pass: the dirname's hash at the last '/', the name's after it */
	scan.sc = sc;
	bpf_loop(ENOENT_PATH_MAX, enoent_scan_char, &scan, 0);
	dir_h = scan.dir_h;
	name_h = scan.name_h;
	last_slash = scan.last_slash;
	len = scan.len;
	slash = scan.slash;
	/* "dir/": no name (user space's enoent_split() drops trailing slashes; rare) */
	if (!len)
		return;
	if (sc->path[0] != '/') {
		long dirfd = ENOENT_AT_FDCWD;

		if (how->fd_arg <= 5)
			dirfd = (int)args[how->fd_arg & 7];
		if (!enoent_start_dir(dirfd, &key))
			return;
	}
	key.dirname_hash = slash && last_slash > 0 ? enoent_fmix64(dir_h) : 0;
	c = bpf_map_lookup_elem(&enoent_dirs, &key);
	if (!c) {
		__u32 n = last_slash < ENOENT_DIRNAME_LEN ? last_slash : ENOENT_DIRNAME_LEN - 1;

		if (n)
			bpf_probe_read_kernel(sc->fresh.dirname, n & (ENOENT_DIRNAME_LEN - 1),
					      sc->path);
		/* its name, for a record made after it is gone */
		bpf_get_current_comm(sc->fresh.comm, sizeof(sc->fresh.comm));
		bpf_map_update_elem(&enoent_dirs, &key, &sc->fresh, BPF_NOEXIST);
		__builtin_memset(sc->fresh.dirname, 0, sizeof(sc->fresh.dirname));
		__builtin_memset(sc->fresh.comm, 0, sizeof(sc->fresh.comm));
		c = bpf_map_lookup_elem(&enoent_dirs, &key);
		if (!c)
			return;
	}
	now = bpf_ktime_get_ns();
	epoch = now / (enoent_slice_ns ?: 1);
	s = (__u32)(epoch % ENOENT_SLOTS);
	/* the verifier cannot bound a modulo: say it again after the compiler forgot it */
	asm volatile("" : "+r"(s));
	if (s >= ENOENT_SLOTS)
		return;
	if (c->epoch[s] != epoch) {
		/* a slot of a slice that left the window: reused for this one */
		__u64 *regs64 = (__u64 *)c->slot[s];

		for (int i = 0; i < ENOENT_REGISTERS / 8; i++)
			regs64[i] = 0;
		c->slot_count[s] = 0;
		c->epoch[s] = epoch;
	}
	if (!c->first_ns)
		c->first_ns = now;
	c->last_ns = now;
	k = (__u32)__sync_fetch_and_add(&c->count, 1) + 1;
	__sync_fetch_and_add(&c->slot_count[s], 1);
	name_h = enoent_fmix64(name_h);
	idx = (__u32)(name_h >> (64 - ENOENT_REGISTER_BITS)) & (ENOENT_REGISTERS - 1);
	rest = (name_h << ENOENT_REGISTER_BITS) | (1ULL << (ENOENT_REGISTER_BITS - 1));
	rank = (__u8)(enoent_clz64(rest) + 1);
	if (rank > c->total[idx])
		c->total[idx] = rank;
	if (rank > c->slot[s][idx])
		c->slot[s][idx] = rank;
	/* a few names: the first ones, then one in 256 (as tracer/enoent.c) */
	if (k <= ENOENT_SAMPLES || (k & 255) == 0) {
		__u32 at = (last_slash + (slash ? 1 : 0)) & (ENOENT_PATH_MAX - 1);
		__u32 ring = c->next_sample++ % ENOENT_SAMPLES;

		bpf_probe_read_kernel_str(c->sample[ring & (ENOENT_SAMPLES - 1)], ENOENT_SAMPLE_LEN,
					  &sc->path[at]);
	}
}
