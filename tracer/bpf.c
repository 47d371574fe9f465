/* SPDX-License-Identifier: MIT */
/*
 * bpf.c - the bpf backend: syscalls timed in the kernel, nothing stopped
 * (--backend=bpf, run and attach).
 *
 * The kernel half (bpf/watch.bpf.c, bpf/watch.h) times every watched call
 * of every watched thread group from sys_enter to sys_exit, stitches
 * restarts, and sends only the calls that reached their syscall's lowest
 * threshold, whole, through a ring buffer: lifecycle_completed(). A call
 * still in flight is found by sweeping the kernel's in-flight map every
 * min(threshold/2, 100 ms) (never below 1 ms; 50 ms host-wide):
 * lifecycle_in_flight(), and
 * at its deadline the lifecycle asks probe_ask(), a lookup of the same map,
 * whether it is still there: an exact stuck record.
 *
 * run: the command is forked and waits on a pipe until its tgid is in the
 * watched set, as "pending exec": its calls until the exec (the pipe's
 * read, its closes, the uid change, the execve) are stallwatch's and not
 * timed, as under ptrace; the kernel makes it a target at the exec. Its
 * descendants join the set in the kernel at fork. The run
 * ends when the command is reaped and no watched thread group is left.
 * Nothing stops the command, and nothing is left loaded when stallwatch
 * exits, however it exits: the programs and maps are held by fds only, so
 * the kernel frees them with the process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <seccomp.h>

#include "../common/caps.h"
#include "../common/ksyms.h"
#include "../common/macro.h"
#include "../common/timeutil.h"
#include "../policy/wait.h"
#include "attach.h"
#include "bpf_enoent.h"
#include "bpf_names.h"
#include "loop.h"
#include "procinfo.h"
#include "spawn.h"
#include "watch.skel.h"

#define SWEEP_MAX_NS (100 * NSEC_PER_MSEC)
#define SWEEP_MIN_NS (1 * NSEC_PER_MSEC)
/*
 * watch --host-wide: `inflight` holds an entry per thread on the host that
 * made a host-wide call, many of them in long waits (a socket's read): a
 * sweep reads them all, so it runs at most 20 times a second
 * (doc/performance.md, "Host-wide mode")
 */
#define SWEEP_HOST_WIDE_MIN_NS (50 * NSEC_PER_MSEC)
/*
 * watch --host-wide: inflight entries (one per thread that made a
 * host-wide call, until it exits; about 200 bytes each, preallocated):
 * beyond it calls are not timed (WATCH_STAT_INFLIGHT_FULL)
 */
#define HOST_WIDE_INFLIGHT_MAX 65536
#define KERNEL_BTF_PATH "/sys/kernel/btf/vmlinux"

struct bpf_backend {
	struct backend base;
	struct tracer_loop *loop;
	struct lifecycle *lc;
	struct watch_bpf *skel;
	struct ring_buffer *rb;
	struct inflight_probe probe;
	int pidfd; /* run: the command, -1 once reaped */
	bool reaped;
	size_t live_tgids; /* watched thread groups alive */
	uint64_t sweep_ns; /* 0: no stuck detection (every threshold < 2 ms) */
	uint64_t next_sweep_ns;
	uint64_t next_count_ns; /* when the watched set is next counted */
	uint64_t
		next_enoent_ns; /* when the kernel's ENOENT counts are next copied (bpf_enoent.h) */
	uint64_t lost; /* events the kernel could not send, already reported */
	/* %wait (kernel decision): what wait_conf holds, for the sweep */
	struct watch_wait_conf wait_conf[WATCH_ABI_MAX * WATCH_MAX_NR];
	/* per-syscall counts (kernel): call_counts (and call_hist) are on */
	bool counts, hist;
	/* watch --host-wide: untargeted rules' syscalls timed for every process (watch.bpf.c) */
	bool host_wide;
	struct bpf_names names; /* ... and their name prefilter */
	/* the sweep's BPF_MAP_LOOKUP_BATCH buffers (SWEEP_BATCH entries); no_batch: refused */
	__u32 *batch_keys;
	struct watch_call *batch_calls;
	bool no_batch;

	/* evidence (sched_switch) */
	struct evidence_source evidence;
	bool sched_evidence; /* the scheduler programs loaded */
	struct bpf_link **sample_links; /* the cpu-clock sampler, one per CPU; NULL: none */
	int n_sample_links;
	const struct watch_event *completing; /* the event lifecycle_completed() is handling */
	struct ksyms *ksyms; /* loaded at the first record with a stack */
	int ksyms_error; /* why not (0: not tried yet or loaded) */
	uint64_t sched_text_start, sched_text_end; /* [start, end): the scheduler's own frames */
};

static uint32_t abi_arch(uint32_t abi)
{
	return abi == WATCH_ABI_X86 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64;
}

/*
 * An array map indexed by abi * WATCH_MAX_NR + nr, all of it from values:
 * one BPF_MAP_UPDATE_BATCH (5.6+) instead of 1,024 BPF_MAP_UPDATE_ELEM; a
 * key at a time where the kernel refuses the batch.
 */
static int fill_syscall_array(struct bpf_map *map, const void *values, size_t value_size)
{
	static __u32 keys[WATCH_ABI_MAX * WATCH_MAX_NR];
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = WATCH_ABI_MAX * WATCH_MAX_NR;

	if (bpf_map__value_size(map) != value_size || bpf_map__max_entries(map) < count)
		return -EINVAL;
	for (__u32 key = 0; key < count; key++)
		keys[key] = key;
	if (bpf_map_update_batch(bpf_map__fd(map), keys, values, &count, &opts) == 0)
		return 0;
	for (__u32 key = 0; key < WATCH_ABI_MAX * WATCH_MAX_NR; key++) {
		int r = bpf_map__update_elem(map, &key, sizeof(key),
					     (const char *)values + key * value_size, value_size,
					     0);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Which argument of each syscall is a path, for the kernel to read at a slow call's end. */
static int fill_path_args(struct bpf_backend *bb)
{
	__u32 values[WATCH_ABI_MAX * WATCH_MAX_NR];

	for (__u32 key = 0; key < WATCH_ABI_MAX * WATCH_MAX_NR; key++) {
		__u32 nr = key % WATCH_MAX_NR;

		values[key] = WATCH_NO_PATH;
		/* native calls only: the argument table is the native one */
		if (key < WATCH_MAX_NR && nr < SW_MAX_NR && bb->lc->argmap[nr].path_arg != ARG_NONE)
			values[key] = (__u32)bb->lc->argmap[nr].path_arg;
	}
	return fill_syscall_array(bb->skel->maps.path_args, values, sizeof(values[0]));
}

static void entry_of(const struct watch_call *c, struct call_entry *e)
{
	*e = (struct call_entry){ .arch = abi_arch(c->abi),
				  .nr = c->nr,
				  .ts_ns = c->start_ns,
				  .pieces = c->pieces,
				  .partial = c->partial,
				  .wait = c->wait == WATCH_WAIT_NO	  ? CALL_WAIT_NO :
					  c->wait == WATCH_WAIT_UNDECIDED ? CALL_WAIT_UNKNOWN :
									    CALL_WAIT_YES };
	memcpy(e->args, c->args, sizeof(e->args));
}

/* ---- still in flight? --------------------------------------------------- */

/*
 * The kernel's in-flight map is the truth: the same start there is the
 * same call, still running. Gone: it completed (its event, over the
 * threshold it crossed, is in the ring buffer: look again soon), or the
 * thread died in it (sched_process_exit dropped it, and no event comes).
 */
static enum inflight_answer probe_ask(void *opaque, struct tracee *t, uint64_t now_ns,
				      enum call_evidence *ret_evidence,
				      enum call_end_seen *ret_seen, uint64_t *ret_again_ns)
{
	struct bpf_backend *bb = opaque;
	struct watch_call c;
	__u32 tid = (__u32)t->tid;

	(void)ret_evidence;
	if (bpf_map__lookup_elem(bb->skel->maps.inflight, &tid, sizeof(tid), &c, sizeof(c), 0) ==
		    0 &&
	    c.start_ns == t->call.start_ns)
		return INFLIGHT_YES;
	/* its completion may still be in the ring buffer: give it a moment */
	if (now_ns - t->call.proven_in_ns < 50 * NSEC_PER_MSEC) {
		*ret_again_ns = now_ns + 10 * NSEC_PER_MSEC;
		return INFLIGHT_UNSURE;
	}
	*ret_seen = END_SEEN_THREAD_EXIT;
	return INFLIGHT_DIED;
}

/* ---- evidence (sched_switch) ------------------------------------------------ */

/*
 * The letter /proc/TID/stat shows for a task state (fs/proc/array.c,
 * task_state_to_char() over include/linux/sched.h's TASK_* bits: the
 * highest reported bit of 0x7f, TASK_IDLE as I).
 */
static char state_letter(unsigned int state)
{
	static const char letters[] = "RSDTtXZP";

	if ((state & 0x402) == 0x402)
		return 'I'; /* TASK_IDLE: TASK_UNINTERRUPTIBLE | TASK_NOLOAD */
	if (state & 0x1000)
		return 'D'; /* TASK_RTLOCK_WAIT reads as D */
	state &= 0x7f;
	for (int bit = 6; bit >= 0; bit--)
		if (state & (1u << bit))
			return letters[bit + 1];
	return 'R';
}

/* kallsyms, once; the reason why not in e when it cannot be read. */
static bool have_ksyms(struct bpf_backend *bb, struct record_evidence *e)
{
	if (!bb->ksyms && !bb->ksyms_error) {
		bb->ksyms_error = ksyms_load(NULL, &bb->ksyms);
		if (bb->ksyms) {
			bb->sched_text_start = ksyms_address(bb->ksyms, "__sched_text_start");
			bb->sched_text_end = ksyms_address(bb->ksyms, "__sched_text_end");
		}
	}
	if (bb->ksyms)
		return true;
	e->known |= RECORD_EVIDENCE_STACK;
	e->stack_unavailable = bb->ksyms_error == -EPERM ?
				       "kernel addresses hidden (kptr_restrict)" :
				       "no kernel symbols (/proc/kallsyms)";
	return false;
}

/*
 * ips (n of them) into e's frames, innermost first, without the frames of
 * the BPF program and what ran it. wchan: the first frame outside the
 * scheduler (what /proc/TID/wchan shows, get_wchan(): the first return
 * address not in_sched_functions()).
 */
static void fill_frames(struct bpf_backend *bb, const __u64 *ips, size_t n, const char *from,
			bool want_wchan, struct record_evidence *e)
{
	if (!have_ksyms(bb, e))
		return;
	e->known |= RECORD_EVIDENCE_STACK;
	e->stack_from = from;
	for (size_t i = 0; i < n && ips[i] && e->n_frames < RECORD_EVIDENCE_FRAMES; i++) {
		uint64_t off = 0;
		const char *name = ksyms_find(bb->ksyms, ips[i], &off);

		if (name && ksyms_is_tracing_frame(name))
			continue;
		ksyms_format(bb->ksyms, ips[i], e->frames[e->n_frames++],
			     RECORD_EVIDENCE_FRAME_LEN);
		if (want_wchan && name && !e->wchan[0] &&
		    !(ips[i] >= bb->sched_text_start && ips[i] < bb->sched_text_end)) {
			snprintf(e->wchan, sizeof(e->wchan), "%s", name);
			e->known |= RECORD_EVIDENCE_WCHAN;
		}
	}
}

/* A struct watch_stack (block_stacks) into e. */
static void fill_block_stack(struct bpf_backend *bb, const struct watch_stack *st, bool want_wchan,
			     struct record_evidence *e)
{
	size_t n = st->len / sizeof(st->ips[0]);

	if (n)
		fill_frames(bb, st->ips, n < WATCH_STACK_DEPTH ? n : WATCH_STACK_DEPTH,
			    RECORD_STACK_BLOCK, want_wchan, e);
}

/* The cpu-clock sampler's stack (stacks id + 1) into e. */
static void fill_sample_stack(struct bpf_backend *bb, __u32 stack, struct record_evidence *e)
{
	__u64 ips[WATCH_STACK_DEPTH] = { 0 };
	__u32 id = stack - 1;

	if (stack &&
	    bpf_map__lookup_elem(bb->skel->maps.stacks, &id, sizeof(id), ips, sizeof(ips), 0) == 0)
		fill_frames(bb, ips, WATCH_STACK_DEPTH, RECORD_STACK_CPU_SAMPLE, false, e);
}

/*
 * The kernel's figures of call c (for a call in flight, plus the interval
 * still open at now_ns). The stack: for a call that spent more time on a
 * CPU than asleep, where the cpu-clock sampler found it; else where it last
 * blocked long (block: the event's copy, NULL for a call in flight).
 */
static void fill_from_call(struct bpf_backend *bb, const struct watch_call *c,
			   const struct watch_stack *block, bool in_flight, uint64_t now_ns,
			   struct record_evidence *e)
{
	uint64_t on_cpu = c->on_cpu_ns, runq = c->runq_ns, blocked = c->blocked_ns;
	uint64_t open_ns =
		in_flight && c->ev_mark_ns && now_ns > c->ev_mark_ns ? now_ns - c->ev_mark_ns : 0;

	if (c->ev_run == WATCH_RUN_BLOCKED)
		blocked += open_ns;
	else if (c->ev_run == WATCH_RUN_RUNQ)
		runq += open_ns;
	else
		on_cpu += open_ns;
	e->known |= RECORD_EVIDENCE_TIMES;
	e->on_cpu_ns = on_cpu;
	e->runq_ns = runq;
	e->blocked_ns = blocked;
	e->blocks = c->blocks;
	if (c->unsplit_ns) {
		e->known |= RECORD_EVIDENCE_WINDOW;
		e->window_ns = on_cpu + runq + blocked;
	}
	if (bb->n_sample_links) {
		e->known |= RECORD_EVIDENCE_SAMPLES;
		e->cpu_samples = c->cpu_samples;
	}
	if (in_flight)
		return;
	if (c->blocks) {
		e->known |= RECORD_EVIDENCE_STATE;
		e->state = state_letter(c->block_state);
	}
	if (c->cpu_stack && (on_cpu > blocked || !block || !c->block_stack))
		fill_sample_stack(bb, c->cpu_stack, e);
	else if (block && c->block_stack)
		fill_block_stack(bb, block, true, e);
}

/*
 * lc->evidence: a completed call's figures come with its event; a stuck
 * one's from the in-flight map now (the same call: the same start), with
 * its state and wchan from /proc at this moment.
 */
static bool evidence_fill(void *opaque, const struct tracee *t, bool in_flight, uint64_t now_ns,
			  struct record_evidence *e)
{
	struct bpf_backend *bb = opaque;
	struct watch_call c;
	__u32 tid = (__u32)t->tid;
	uint64_t utime, stime;

	if (!in_flight) {
		if (!bb->completing || bb->completing->tid != tid)
			return false;
		fill_from_call(bb, &bb->completing->call, &bb->completing->block_stack, false,
			       now_ns, e);
		return true;
	}
	if (bpf_map__lookup_elem(bb->skel->maps.inflight, &tid, sizeof(tid), &c, sizeof(c), 0) <
		    0 ||
	    c.start_ns != t->call.start_ns)
		return false;
	fill_from_call(bb, &c, NULL, true, now_ns, e);
	if (procinfo_thread_stat(t->tid, &e->state, &utime, &stime) == 0 && e->state)
		e->known |= RECORD_EVIDENCE_STATE;
	if (procinfo_wchan(t->tid, e->wchan, sizeof(e->wchan)) == 0 && e->wchan[0] &&
	    strcmp(e->wchan, "0") != 0)
		e->known |= RECORD_EVIDENCE_WCHAN;
	else
		e->wchan[0] = 0;
	/*
	 * The stack at this moment: asleep, where it sleeps (/proc/TID/stack);
	 * running, where the sampler found it.
	 */
	if (e->state != 'R') {
		int n = procinfo_kernel_stack(t->tid, &e->frames[0][0], RECORD_EVIDENCE_FRAME_LEN,
					      RECORD_EVIDENCE_FRAMES);

		if (n > 0) {
			e->n_frames = (size_t)n;
			e->known |= RECORD_EVIDENCE_STACK;
			e->stack_from = RECORD_STACK_PROC;
		}
	}
	if (!e->n_frames)
		fill_sample_stack(bb, c.cpu_stack, e);
	return true;
}

/*
 * The cpu-clock sampler: one software perf event per CPU
 * (PERF_COUNT_SW_CPU_CLOCK, an hrtimer, at WATCH_SAMPLE_HZ) running
 * sw_cpu_sample. Where perf_event_open(2) is refused (perf_event_paranoid,
 * a container without CAP_PERFMON) there is no sampler and records carry
 * no cpu_samples; nothing else changes.
 */
static void open_sampler(struct bpf_backend *bb)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.freq = 1,
		.sample_freq = WATCH_SAMPLE_HZ,
	};
	int ncpu = libbpf_num_possible_cpus();

	if (!bb->sched_evidence || ncpu <= 0)
		return;
	bb->sample_links = calloc((size_t)ncpu, sizeof(*bb->sample_links));
	if (!bb->sample_links)
		return;
	for (int cpu = 0; cpu < ncpu; cpu++) {
		int fd =
			(int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		struct bpf_link *link;

		if (fd < 0)
			continue; /* offline (ENODEV) or refused */
		link = bpf_program__attach_perf_event(bb->skel->progs.sw_cpu_sample, fd);
		if (!link) {
			close(fd);
			continue;
		}
		bb->sample_links[bb->n_sample_links++] = link;
	}
}

static void close_sampler(struct bpf_backend *bb)
{
	/* destroying a perf event link closes its perf event fd too */
	for (int i = 0; i < bb->n_sample_links; i++)
		bpf_link__destroy(bb->sample_links[i]);
	free(bb->sample_links);
	bb->sample_links = NULL;
	bb->n_sample_links = 0;
}

/* ---- events ----------------------------------------------------------------- */

static int on_ring(void *ctx, void *data, size_t size)
{
	struct bpf_backend *bb = ctx;
	struct event ev = { .kind = EV_BACKEND, .ts_ns = sw_mono_ns() };

	if (size < sizeof(struct watch_event))
		return 0;
	memcpy(&ev.bpf, data, sizeof(ev.bpf));
	loop_push(bb->loop, &ev);
	/*
	 * The batch is full: stop. libbpf stops on a negative return only, with
	 * the consumer past this sample, which is why it is pushed first.
	 */
	return loop_batch_full(bb->loop) ? -EAGAIN : 0;
}

static void reap_command(struct bpf_backend *bb, bool stops)
{
	if (bb->reaped || !loop_reap_command(bb->loop, stops, NULL))
		return;
	bb->reaped = true;
	close(bb->pidfd);
	bb->pidfd = -1;
}

/* SIGCHLD: the command stopped (Ctrl-Z) or exited. */
static void bb_child_changed(struct backend *b)
{
	reap_command((struct bpf_backend *)b, true);
}

/*
 * The watched thread groups still alive, from the kernel's set: the EXIT
 * events say when one ends, but a full ring buffer may lose one, so the
 * set itself is the truth (a group gone from /proc leaves it here).
 */
static size_t count_live(struct bpf_backend *bb)
{
	struct bpf_map *map = bb->skel->maps.watched_tgids;
	_cleanup_free_ __u32 *keys = NULL;
	size_t n_keys = 0, cap = bpf_map__max_entries(map), n = 0;
	__u32 key, next;

	keys = calloc(cap, sizeof(*keys));
	if (!keys)
		return bb->live_tgids;
	/* keys first: a hash map's iteration starts over after a deleted key */
	while (n_keys < cap &&
	       bpf_map__get_next_key(map, n_keys ? &key : NULL, &next, sizeof(next)) == 0) {
		key = next;
		keys[n_keys++] = key;
	}
	for (size_t i = 0; i < n_keys; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/proc/%u", keys[i]);
		if (access(path, F_OK) == 0)
			n++;
		else
			bpf_map__delete_elem(map, &keys[i], sizeof(keys[i]), 0);
	}
	return n;
}

static bool finished(struct bpf_backend *bb)
{
	/* a daemon waits for its next target (tracer.h, tracer_watch) */
	if (bb->loop->mode == MODE_WATCH)
		return false;
	if (bb->loop->mode == MODE_RUN && !bb->reaped)
		return false;
	if (bb->live_tgids)
		return false;
	/* the events say none is left: make sure (and catch lost ones) */
	bb->live_tgids = count_live(bb);
	return bb->live_tgids == 0;
}

static int bb_gather(struct backend *b, bool block)
{
	struct bpf_backend *bb = (struct bpf_backend *)b;
	struct tracer_loop *loop = bb->loop;
	struct pollfd pfd[2] = {
		{ .fd = ring_buffer__epoll_fd(bb->rb), .events = POLLIN },
		{ .fd = bb->pidfd, .events = POLLIN },
	};
	int r;

	r = ring_buffer__consume(bb->rb);
	if (r < 0 && r != -EINTR && r != -EAGAIN)
		return sw_error_set(loop->error, r, "reading the bpf ring buffer");
	loop->need_drain = loop_batch_full(loop);
	if (loop->batch_len || !block)
		return 0;
	if (finished(bb)) {
		loop->done = true;
		return 0;
	}
	/* the one place the bpf backend sleeps; signals and the timer interrupt it */
	r = poll(pfd, bb->pidfd >= 0 ? 2 : 1, -1);
	if (r < 0)
		return errno == EINTR ? 0 : sw_error_set(loop->error, -errno, "poll");
	if (pfd[1].revents)
		reap_command(bb, false);
	if (finished(bb))
		loop->done = true;
	return 0;
}

static void bb_handle(struct backend *b, const struct event *ev)
{
	struct bpf_backend *bb = (struct bpf_backend *)b;
	const struct watch_event *we = &ev->bpf;
	struct call_entry e;
	struct tracee *t;

	switch (we->kind) {
	case WATCH_EVENT_COMPLETED:
		t = lifecycle_thread(bb->lc, (pid_t)we->tid);
		if (!t)
			return;
		t->tgid = (pid_t)we->call.tgid;
		entry_of(&we->call, &e);
		if (we->path_len > 0 && we->path_len <= WATCH_PATH_MAX &&
		    we->path[we->path_len - 1] == 0)
			e.path = we->path;
		bb->completing = we;
		lifecycle_completed(bb->lc, t, &e, we->end_ns,
				    we->call.restart_code ? -EINTR : we->ret);
		bb->completing = NULL;
		/* nothing to keep: the next slow call of the thread comes whole too */
		if (!t->stuck_reported || t->call_state == CALL_NONE)
			lifecycle_forget(bb->lc, t);
		break;
	case WATCH_EVENT_FORK:
		bb->live_tgids++;
		break;
	case WATCH_EVENT_EXIT:
		if (bb->live_tgids)
			bb->live_tgids--;
		if (finished(bb))
			bb->loop->done = true;
		break;
	default:
		break;
	}
}

/*
 * Calls in flight longer than the smallest threshold become the
 * lifecycle's; at their deadlines probe_ask() confirms them still there.
 */
/* One of the kernel's counters (WATCH_STAT_*), summed over the CPUs; 0 if unreadable. */
static uint64_t stat_total(struct bpf_backend *bb, __u32 key)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t total = 0;

	if (!bb->skel || ncpu <= 0 || ncpu > 4096)
		return 0;
	__u64 values[ncpu];

	if (bpf_map__lookup_elem(bb->skel->maps.stats, &key, sizeof(key), values, sizeof(values),
				 0) < 0)
		return 0;
	for (int i = 0; i < ncpu; i++)
		total += values[i];
	return total;
}

/* Calls the kernel could not send (its ring buffer was full): records-dropped. */
static void count_lost(struct bpf_backend *bb)
{
	uint64_t total = stat_total(bb, WATCH_STAT_RINGBUF_FULL);

	if (total > bb->lost) {
		recorder_dropped(bb->lc->recorder, RECORD_DROP_KERNEL_BUFFER, "", "slow-syscall",
				 total - bb->lost);
		bb->lost = total;
	}
}

/* The threshold of the rules that take c, of the kind (a wait or not) the kernel decided. */
static uint64_t decided_threshold_ns(const struct bpf_backend *bb, const struct watch_call *c)
{
	const struct watch_wait_conf *conf;

	if (c->wait == WATCH_WAIT_UNDECIDED || c->abi >= WATCH_ABI_MAX || c->nr >= WATCH_MAX_NR)
		return 0; /* user space decides: every rule of the syscall may */
	conf = &bb->wait_conf[c->abi * WATCH_MAX_NR + c->nr];
	return c->wait == WATCH_WAIT_YES	  ? conf->wait_threshold_ns :
	       c->wait == WATCH_WAIT_YES_PATHLESS ? conf->pathless_threshold_ns :
						    conf->other_threshold_ns;
}

/* ---- per-syscall counts (kernel) ----------------------------------------------- */

/* One syscall's counts from call_counts (and call_hist), summed over the CPUs. */
static int read_counts(struct bpf_backend *bb, __u32 key, int ncpu, struct summary_entry *ret,
		       uint64_t le[WATCH_LE_BUCKETS])
{
	_cleanup_free_ struct watch_count *c = calloc((size_t)ncpu, sizeof(*c));
	_cleanup_free_ struct watch_hist *h = NULL;
	int r;

	if (!c)
		return -ENOMEM;
	r = bpf_map__lookup_elem(bb->skel->maps.call_counts, &key, sizeof(key), c,
				 (size_t)ncpu * sizeof(*c), 0);
	if (r < 0)
		return r;
	*ret = (struct summary_entry){ .min_ns = UINT64_MAX };
	memset(le, 0, WATCH_LE_BUCKETS * sizeof(*le));
	for (int i = 0; i < ncpu; i++) {
		if (!c[i].calls)
			continue;
		ret->calls += c[i].calls;
		ret->errors += c[i].errors;
		ret->total_ns += c[i].total_ns;
		if (c[i].min_ns < ret->min_ns)
			ret->min_ns = c[i].min_ns;
		if (c[i].max_ns > ret->max_ns)
			ret->max_ns = c[i].max_ns;
		for (int k = 0; k < WATCH_LE_BUCKETS; k++)
			le[k] += c[i].le[k];
	}
	if (!ret->calls || !bb->hist)
		return 0;
	h = calloc((size_t)ncpu, sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = bpf_map__lookup_elem(bb->skel->maps.call_hist, &key, sizeof(key), h,
				 (size_t)ncpu * sizeof(*h), 0);
	if (r < 0)
		return r;
	for (int i = 0; i < ncpu; i++)
		for (int k = 0; k < WATCH_HIST_BUCKETS && k < SUMMARY_BUCKETS; k++)
			ret->hist[k] += h[i].bucket[k];
	return 0;
}

/*
 * The kernel counts every completed call of a watched syscall (the same
 * calls the lifecycle counts under ptrace): --summary's rows and the
 * metrics file's histogram are set from its sums, whole, on the tracing
 * thread (once a second with --metrics-file, on SIGUSR2, at the end).
 */
static void sync_counts(struct bpf_backend *bb)
{
	int ncpu = libbpf_num_possible_cpus();
	struct summary_entry *e;
	uint64_t le[WATCH_LE_BUCKETS];

	recorder_set_kernel_filtered(bb->lc->recorder,
				     stat_total(bb, WATCH_STAT_WAITS_FILTERED) +
					     stat_total(bb, WATCH_STAT_NAMES_FILTERED));
	if (!bb->counts || ncpu <= 0 || ncpu > 4096 || !(e = malloc(sizeof(*e))))
		return;
	for (__u32 key = 0; key < WATCH_ABI_MAX * WATCH_MAX_NR; key++) {
		const struct watch_wait_conf *conf = &bb->wait_conf[key];
		__u32 abi = key / WATCH_MAX_NR, nr = key % WATCH_MAX_NR;

		if (conf->wait_threshold_ns == WATCH_UNWATCHED &&
		    conf->other_threshold_ns == WATCH_UNWATCHED)
			continue;
		if (read_counts(bb, key, ncpu, e, le) < 0 || !e->calls)
			continue;
		if (bb->lc->summary)
			summary_set(bb->lc->summary,
				    abi == WATCH_ABI_X86 ? POLICY_ABI_X86 : POLICY_ABI_NATIVE,
				    (int)nr, e);
		/* the histogram is native calls only, as the lifecycle's (lifecycle.c) */
		if (bb->lc->durations && abi == WATCH_ABI_NATIVE && syscall_name((int)nr))
			recorder_set_histogram(bb->lc->recorder, nr, syscall_name((int)nr), le,
					       e->total_ns);
	}
	free(e);
}

static void bb_counts(struct backend *b)
{
	sync_counts((struct bpf_backend *)b);
}

/* The earliest of the periodic jobs of bb_tick() */
static uint64_t next_of(const struct bpf_backend *bb)
{
	uint64_t next =
		bb->next_sweep_ns < bb->next_count_ns ? bb->next_sweep_ns : bb->next_count_ns;

	return next < bb->next_enoent_ns ? next : bb->next_enoent_ns;
}

/*
 * watch: is c still someone's call? A released process (bb_watch_release)
 * may have been inside sys_enter when it left the set, or in a call that
 * now ends where sys_exit no longer looks: such an entry would read as
 * stuck for ever. Its tgid no longer watched (and not host-wide for its
 * syscall): not ours.
 */
static bool still_watched(struct bpf_backend *bb, const struct watch_call *c)
{
	__u32 tgid = c->tgid, how;
	bool host_wide_call = bb->host_wide && c->abi < WATCH_ABI_MAX && c->nr < WATCH_MAX_NR &&
			      bb->skel->bss->host_wide_nr[c->abi * WATCH_MAX_NR + c->nr];

	/* the programs' first filter (watch.h) spares most host-wide entries a lookup */
	if (!bb->skel->bss->tgid_filter[tgid & (WATCH_TGID_FILTER - 1)])
		return host_wide_call;
	if (bpf_map__lookup_elem(bb->skel->maps.watched_tgids, &tgid, sizeof(tgid), &how,
				 sizeof(how), 0) == 0)
		return how != WATCH_TGID_PENDING_EXEC;
	return host_wide_call;
}

#define STALE_PER_SWEEP 64
#define SWEEP_BATCH 256

struct sweep {
	uint64_t now_ns;
	__u32 stale[STALE_PER_SWEEP];
	size_t n_stale;
};

/* One entry of `inflight`: a call in flight past two sweep periods is the lifecycle's. */
static void sweep_entry(struct bpf_backend *bb, struct sweep *sw, __u32 key,
			const struct watch_call *c)
{
	struct call_entry e;
	struct tracee *t;

	/* start_ns 0: the thread's entry between two calls (watch.bpf.c, inflight) */
	if (!c->start_ns || sw->now_ns - c->start_ns < bb->sweep_ns * 2 || c->restart_code)
		return;
	/* %wait decided in the kernel: a kind of call no rule takes is no one's */
	if (decided_threshold_ns(bb, c) == WATCH_UNWATCHED)
		return;
	if (bb->loop->mode == MODE_WATCH && !still_watched(bb, c)) {
		/* deleted after the walk: a deleted key restarts the iteration */
		if (sw->n_stale < STALE_PER_SWEEP)
			sw->stale[sw->n_stale++] = key;
		return;
	}
	/* host-wide: a call whose file has none of the rules' names (the kernel's test) */
	if (bb->host_wide && !bpf_names_sweep_takes(&bb->names, key, c))
		return;
	t = lifecycle_thread(bb->lc, (pid_t)key);
	if (!t)
		return;
	t->tgid = (pid_t)c->tgid;
	entry_of(c, &e);
	lifecycle_in_flight(bb->lc, t, &e);
}

/*
 * The whole map, SWEEP_BATCH entries a bpf() call (BPF_MAP_LOOKUP_BATCH,
 * 5.6+): host-wide, `inflight` holds an entry per thread on the host, and
 * two calls an entry (the next key, its value) cost most of a sweep.
 * -errno when the kernel refuses it before the first entry (the caller
 * walks key by key then); a batch refused later ends this sweep early.
 */
static int sweep_batched(struct bpf_backend *bb, struct sweep *sw)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = bpf_map__fd(bb->skel->maps.inflight);
	__u32 in_batch = 0, out_batch = 0;
	bool first = true;

	if (!bb->batch_keys)
		bb->batch_keys = calloc(SWEEP_BATCH, sizeof(*bb->batch_keys));
	if (!bb->batch_calls)
		bb->batch_calls = calloc(SWEEP_BATCH, sizeof(*bb->batch_calls));
	if (!bb->batch_keys || !bb->batch_calls)
		return -ENOMEM;
	for (;;) {
		__u32 count = SWEEP_BATCH;
		int r = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch,
					     bb->batch_keys, bb->batch_calls, &count, &opts);
		int err = r < 0 ? errno : 0;

		if (r < 0 && err != ENOENT && first)
			return -err;
		for (__u32 i = 0; (r == 0 || err == ENOENT) && i < count && i < SWEEP_BATCH; i++)
			sweep_entry(bb, sw, bb->batch_keys[i], &bb->batch_calls[i]);
		if (r < 0)
			return 0; /* ENOENT: the end */
		in_batch = out_batch;
		first = false;
	}
}

static void sweep_by_key(struct bpf_backend *bb, struct sweep *sw)
{
	struct bpf_map *map = bb->skel->maps.inflight;
	__u32 key, next;
	bool first = true;

	while (bpf_map__get_next_key(map, first ? NULL : &key, &next, sizeof(next)) == 0) {
		struct watch_call c;

		first = false;
		key = next;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &c, sizeof(c), 0) == 0)
			sweep_entry(bb, sw, key, &c);
	}
}

static uint64_t bb_tick(struct backend *b, uint64_t now_ns)
{
	struct bpf_backend *bb = (struct bpf_backend *)b;
	struct sweep sw = { .now_ns = now_ns };

	if (now_ns >= bb->next_enoent_ns)
		bb->next_enoent_ns = bpf_enoent_sync(bb->skel, bb->lc, now_ns);
	/* a lost EXIT event must not keep us: look at the set once a second */
	if (now_ns >= bb->next_count_ns) {
		count_lost(bb);
		if (bb->lc->durations)
			sync_counts(bb);
		bb->live_tgids = count_live(bb);
		bb->next_count_ns = now_ns + NSEC_PER_SEC;
		if (finished(bb))
			bb->loop->done = true;
	}
	if (!bb->sweep_ns)
		return bb->next_count_ns < bb->next_enoent_ns ? bb->next_count_ns :
								bb->next_enoent_ns;
	if (now_ns < bb->next_sweep_ns)
		return next_of(bb);
	if (bb->no_batch || sweep_batched(bb, &sw) < 0) {
		bb->no_batch = true;
		sweep_by_key(bb, &sw);
	}
	for (size_t i = 0; i < sw.n_stale; i++)
		bpf_map__delete_elem(bb->skel->maps.inflight, &sw.stale[i], sizeof(sw.stale[i]), 0);
	bpf_names_sweep_done(&bb->names);
	bb->next_sweep_ns = now_ns + bb->sweep_ns;
	return next_of(bb);
}

/* closing the fds unloads everything (the kernel holds no other reference) */
static void free_backend(struct bpf_backend *bb)
{
	close_sampler(bb);
	ksyms_free(bb->ksyms);
	bpf_names_free(&bb->names);
	free(bb->batch_keys);
	free(bb->batch_calls);
	ring_buffer__free(bb->rb);
	watch_bpf__destroy(bb->skel);
	if (!bb->reaped && bb->pidfd >= 0)
		close(bb->pidfd);
	free(bb);
}

static void bb_destroy(struct backend *b)
{
	struct bpf_backend *bb = (struct bpf_backend *)b;

	count_lost(bb);
	/* the last counts, before the caller writes the summary and the metrics file */
	if (bb->skel)
		sync_counts(bb);
	/* ... and the last failed lookups, before the detector reports its open storms */
	if (bb->skel)
		bpf_enoent_sync(bb->skel, bb->lc, sw_mono_ns());
	free_backend(bb);
}

/* SIGINT/SIGTERM in attach: nothing to undo in the targets; unloading is leaving */
static void bb_detach(struct backend *b)
{
	((struct bpf_backend *)b)->loop->done = true;
}

static int fill_thresholds(struct bpf_backend *bb, const struct policy *policy,
			   uint64_t *ret_min_ns);
static uint64_t sweep_period_ns(const struct bpf_backend *bb, uint64_t min_threshold_ns);
static int fill_wait_conf(struct bpf_backend *bb, const struct policy *policy);
static void fill_host_wide(struct bpf_backend *bb, const struct policy *policy);
static int bb_watch_add(struct backend *b, pid_t pid, char *comm, size_t comm_size,
			struct sw_error *err);
static void bb_watch_release(struct backend *b, pid_t pid);

/*
 * SIGHUP: the kernel's thresholds follow the new policy at once (no
 * filter to keep: a syscall the old one left out is watched from now on);
 * the sweep follows its smallest threshold.
 */
static void bb_policy_changed(struct backend *b, const struct policy *np)
{
	struct bpf_backend *bb = (struct bpf_backend *)b;
	uint64_t min_ns;
	int r = fill_thresholds(bb, np, &min_ns);

	if (r == 0)
		r = fill_wait_conf(bb, np);
	if (r == 0 && bb->host_wide) {
		fill_host_wide(bb, np);
		r = bpf_names_fill(&bb->names, bb->skel, bb->lc->argmap, np);
	}
	if (r < 0) {
		lifecycle_warn(bb->lc,
			       "SIGHUP: the kernel's thresholds were only partly updated: %s",
			       strerror(-r));
		return;
	}
	bb->sweep_ns = sweep_period_ns(bb, min_ns);
	bb->next_sweep_ns = 0;
	loop_ensure_timer(bb->loop, sw_mono_ns());
}

static const struct backend_ops bpf_ops = {
	.name = RECORD_BACKEND_BPF,
	.gather = bb_gather,
	.handle = bb_handle,
	.detach = bb_detach,
	.child_changed = bb_child_changed,
	.tick = bb_tick,
	.counts = bb_counts,
	.policy_changed = bb_policy_changed,
	.destroy = bb_destroy,
	.watch_add = bb_watch_add,
	.watch_release = bb_watch_release,
};

/* ---- setup ------------------------------------------------------------------- */

/* libbpf prints to stderr by default: library code never prints */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/*
 * Stuck detection for thresholds of 2 ms and more: a sweep every
 * threshold/2 (host-wide: at least SWEEP_HOST_WIDE_MIN_NS), at most
 * SWEEP_MAX_NS; 0: none.
 */
static uint64_t sweep_period_ns(const struct bpf_backend *bb, uint64_t min_threshold_ns)
{
	uint64_t ns;

	if (min_threshold_ns == UINT64_MAX || min_threshold_ns < 2 * SWEEP_MIN_NS)
		return 0;
	ns = min_threshold_ns / 2 < SWEEP_MAX_NS ? min_threshold_ns / 2 : SWEEP_MAX_NS;
	return bb->host_wide && ns < SWEEP_HOST_WIDE_MIN_NS ? SWEEP_HOST_WIDE_MIN_NS : ns;
}

/* The smallest threshold per syscall and ABI, as the policy gives it. */
static int fill_thresholds(struct bpf_backend *bb, const struct policy *policy,
			   uint64_t *ret_min_ns)
{
	static const uint32_t arch[WATCH_ABI_MAX] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386 };
	__u64 values[WATCH_ABI_MAX * WATCH_MAX_NR];
	uint64_t min_ns = UINT64_MAX;

	for (__u32 abi = 0; abi < WATCH_ABI_MAX; abi++)
		for (__u32 nr = 0; nr < WATCH_MAX_NR; nr++) {
			uint64_t ns = policy_threshold_ns(policy, arch[abi], nr);

			values[abi * WATCH_MAX_NR + nr] =
				ns == POLICY_UNWATCHED ? WATCH_UNWATCHED : ns;
			if (ns != POLICY_UNWATCHED && ns < min_ns)
				min_ns = ns;
		}
	*ret_min_ns = min_ns;
	return fill_syscall_array(bb->skel->maps.thresholds, values, sizeof(values[0]));
}

/* ---- %wait (kernel decision) ---------------------------------------------------- */

/* watch.h's WATCH_WAIT_HOW_* are policy/wait.h's enum wait_how, value for value */
_Static_assert(WATCH_WAIT_HOW_NEVER == WAIT_HOW_NEVER && WATCH_WAIT_HOW_ALWAYS == WAIT_HOW_ALWAYS &&
		       WATCH_WAIT_HOW_FD0 == WAIT_HOW_FD0 && WATCH_WAIT_HOW_FD01 == WAIT_HOW_FD01 &&
		       WATCH_WAIT_HOW_FD02 == WAIT_HOW_FD02 &&
		       WATCH_WAIT_HOW_FUTEX == WAIT_HOW_FUTEX &&
		       WATCH_WAIT_HOW_FCNTL == WAIT_HOW_FCNTL &&
		       WATCH_WAIT_HOW_IO_URING == WAIT_HOW_IO_URING &&
		       WATCH_WAIT_HOW_SYSLOG == WAIT_HOW_SYSLOG &&
		       WATCH_WAIT_HOW_CLONE == WAIT_HOW_CLONE &&
		       WATCH_WAIT_HOW_CLONE3 == WAIT_HOW_CLONE3,
	       "watch.h's WATCH_WAIT_HOW_* differ from enum wait_how");

static void lower_ns(__u64 *slot, uint64_t ns)
{
	__u64 v = ns == POLICY_UNWATCHED ? WATCH_UNWATCHED : ns;

	if (v < *slot)
		*slot = v;
}

/*
 * How the kernel decides %wait for each syscall and the thresholds of its
 * waits and of its other calls. An i386 call is decided like the native
 * syscall of the same name, as report.c does (lifecycle.c maps compat
 * calls by name); one without a native namesake (socketcall, fcntl64,
 * waitpid, ...) is never a wait there, and here.
 */
static int fill_wait_conf(struct bpf_backend *bb, const struct policy *policy)
{
	_cleanup_free_ uint64_t *wait_ns = calloc(SW_MAX_NR, sizeof(*wait_ns));
	_cleanup_free_ uint64_t *pathless_ns = calloc(SW_MAX_NR, sizeof(*pathless_ns));
	_cleanup_free_ uint64_t *other_ns = calloc(SW_MAX_NR, sizeof(*other_ns));
	if (!wait_ns || !pathless_ns || !other_ns)
		return -ENOMEM;
	policy_wait_thresholds(policy, wait_ns, pathless_ns, other_ns);
	for (__u32 key = 0; key < WATCH_ABI_MAX * WATCH_MAX_NR; key++)
		bb->wait_conf[key] =
			(struct watch_wait_conf){ .how = WATCH_WAIT_HOW_NEVER,
						  .wait_threshold_ns = WATCH_UNWATCHED,
						  .pathless_threshold_ns = WATCH_UNWATCHED,
						  .other_threshold_ns = WATCH_UNWATCHED };
	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		const char *name = syscall_name(nr);
		int nr32 = -1;

		if (name)
			nr32 = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, name);
		for (__u32 abi = 0; abi < WATCH_ABI_MAX; abi++) {
			int at = abi == WATCH_ABI_NATIVE ? nr : nr32;
			struct watch_wait_conf *conf;

			if (at < 0 || at >= WATCH_MAX_NR)
				continue;
			conf = &bb->wait_conf[abi * WATCH_MAX_NR + (__u32)at];
			conf->how = (__u32)syscall_wait_how(nr);
			lower_ns(&conf->wait_threshold_ns, wait_ns[nr]);
			lower_ns(&conf->pathless_threshold_ns, pathless_ns[nr]);
			lower_ns(&conf->other_threshold_ns, other_ns[nr]);
		}
	}
	return fill_syscall_array(bb->skel->maps.wait_conf, bb->wait_conf,
				  sizeof(bb->wait_conf[0]));
}

static int watch_tgid(struct bpf_backend *bb, pid_t tgid, __u32 how)
{
	__u32 key = (__u32)tgid;

	/* the programs' first filter (watch.h), before the set: the bpf() call orders the two */
	bb->skel->bss->tgid_filter[key & (WATCH_TGID_FILTER - 1)] = 1;
	return bpf_map__update_elem(bb->skel->maps.watched_tgids, &key, sizeof(key), &how,
				    sizeof(how), BPF_ANY);
}

/*
 * Set before loading: per-syscall counts in the kernel only when something
 * reads them (the verifier drops the code when off, and the maps shrink to
 * one entry), and the ENOENT counting as the policy says.
 */
static void configure_before_load(struct bpf_backend *bb, const struct policy *policy)
{
	bb->skel->rodata->count_calls = bb->counts;
	bb->skel->rodata->count_hist = bb->hist;
	if (!bb->counts)
		bpf_map__set_max_entries(bb->skel->maps.call_counts, 1);
	if (!bb->hist)
		bpf_map__set_max_entries(bb->skel->maps.call_hist, 1);
	bpf_enoent_configure(bb->skel, policy);
	if (bb->host_wide) {
		/* every thread on the host that made a host-wide call keeps an entry until it exits */
		bb->skel->rodata->host_wide = 1;
		bpf_map__set_max_entries(bb->skel->maps.inflight, HOST_WIDE_INFLIGHT_MAX);
	}
}

/*
 * Open and load the programs. A kernel that refuses the scheduler
 * programs or the sampler (evidence) still gets the timing: loaded again
 * without them. A refusal of bpf() itself is not retried.
 */
static int open_and_load(struct bpf_backend *bb, const struct policy *policy)
{
	int r;

	bb->skel = watch_bpf__open();
	if (!bb->skel)
		return -errno;
	configure_before_load(bb, policy);
	r = watch_bpf__load(bb->skel);
	if (r == 0) {
		bb->sched_evidence = true;
		return 0;
	}
	if (r == -EPERM || r == -EACCES)
		return r;
	watch_bpf__destroy(bb->skel);
	bb->skel = watch_bpf__open();
	if (!bb->skel)
		return -errno;
	configure_before_load(bb, policy);
	bpf_program__set_autoload(bb->skel->progs.sw_sched_switch, false);
	bpf_program__set_autoload(bb->skel->progs.sw_sched_wakeup, false);
	bpf_program__set_autoload(bb->skel->progs.sw_cpu_sample, false);
	return watch_bpf__load(bb->skel);
}

/*
 * Why bpf() refused the programs: EPERM without the privilege bpf(2) needs
 * for tracing programs (bpf_capable() and perfmon_capable(): CAP_BPF and
 * CAP_PERFMON, or CAP_SYS_ADMIN, since Linux 5.8), or with it, when
 * something else stands in the way (a seccomp filter, an LSM).
 */
static int load_error(struct sw_error *err, int code)
{
	bool privileged = (sw_have_cap(CAP_BPF) || sw_have_cap(CAP_SYS_ADMIN)) &&
			  (sw_have_cap(CAP_PERFMON) || sw_have_cap(CAP_SYS_ADMIN));

	if ((code == -EPERM || code == -EACCES) && !privileged)
		return sw_error_set(err, code,
				    "cannot load the BPF programs (needs root, or CAP_BPF and "
				    "CAP_PERFMON)");
	if (code == -EPERM || code == -EACCES)
		return sw_error_set(err, code,
				    "cannot load the BPF programs (stallwatch has CAP_BPF and "
				    "CAP_PERFMON, so a seccomp filter or an LSM refuses bpf())");
	return sw_error_set(err, code, "cannot load the BPF programs");
}

/*
 * Load and attach the programs, and fill their maps. Nothing of the loop
 * is touched: on failure nothing stays loaded and the caller may choose
 * another backend (loop.h).
 */
static int open_backend(struct tracer_loop *loop, const struct policy *policy, bool follow_forks,
			bool host_wide, struct bpf_backend **ret, struct sw_error *err)
{
	struct bpf_backend *bb;
	struct watch_config config = { .follow_forks = follow_forks };
	__u32 zero = 0;
	uint64_t min_ns;
	int r;

	/* the programs are CO-RE (tracer/bpf/core.h): without the kernel's BTF they cannot load */
	if (access(KERNEL_BTF_PATH, R_OK) < 0)
		return sw_error_set(err, -errno,
				    "no kernel BTF at " KERNEL_BTF_PATH
				    " (the kernel needs CONFIG_DEBUG_INFO_BTF)");
	bb = calloc(1, sizeof(*bb));
	if (!bb)
		return sw_error_set(err, -ENOMEM, "out of memory");
	bb->base.ops = &bpf_ops;
	bb->base.loop = loop;
	bb->loop = loop;
	bb->lc = &loop->lc;
	bb->pidfd = -1;
	bb->probe = (struct inflight_probe){ .ask = probe_ask, .opaque = bb };
	libbpf_set_print(quiet);
	bb->counts = loop->lc.summary || loop->lc.durations;
	bb->host_wide = host_wide;
	bb->hist = loop->lc.summary != NULL;
	r = open_and_load(bb, policy);
	if (r < 0) {
		r = load_error(err, r);
		goto fail;
	}
	r = bpf_map__update_elem(bb->skel->maps.config, &zero, sizeof(zero), &config,
				 sizeof(config), 0);
	if (r < 0) {
		sw_error_set(err, r, "cannot configure the BPF programs");
		goto fail;
	}
	r = fill_thresholds(bb, policy, &min_ns);
	if (r == 0)
		r = fill_path_args(bb);
	if (r == 0)
		r = fill_wait_conf(bb, policy);
	if (r == 0)
		r = bpf_enoent_start(bb->skel, bb->lc);
	if (r < 0) {
		sw_error_set(err, r, "cannot set the thresholds");
		goto fail;
	}
	bb->sweep_ns = sweep_period_ns(bb, min_ns);
	bb->rb = ring_buffer__new(bpf_map__fd(bb->skel->maps.events), on_ring, bb, NULL);
	if (!bb->rb) {
		r = sw_error_set(err, -errno, "cannot read the ring buffer");
		goto fail;
	}
	r = watch_bpf__attach(bb->skel);
	if (r < 0) {
		sw_error_set(err, r, "cannot attach the BPF programs");
		goto fail;
	}
	open_sampler(bb);
	*ret = bb;
	return 0;
fail:
	free_backend(bb);
	return r;
}

/* The programs are in: the loop's from here (its destroy frees the backend). */
static void adopt_backend(struct tracer_loop *loop, struct bpf_backend *bb, struct backend **ret)
{
	loop->lc.probe = &bb->probe;
	loop->lc.backend_name = bpf_ops.name;
	/* --summary and the metrics histogram come from the kernel's counts */
	loop->lc.bulk_counts = bb->counts;
	/* failed lookups are counted in the kernel (---- ENOENT storms ----), never from exits */
	loop->lc.enoent_in_kernel = true;
	/* durations are the kernel's: no tracer delay to correct */
	loop->lc.timed_in_kernel = true;
	if (bb->sched_evidence) {
		bb->evidence = (struct evidence_source){ .fill = evidence_fill, .opaque = bb };
		loop->lc.evidence = &bb->evidence;
	}
	/* run: SIGCHLD says the command stopped for the terminal (Ctrl-Z) */
	loop->signals.catch_sigchld = loop->mode == MODE_RUN;
	*ret = &bb->base;
}

int bpf_backend_run(struct tracer_loop *loop, const struct tracer_run_options *opts,
		    struct backend **ret, struct sw_error *err)
{
	struct bpf_backend *bb = NULL;
	int go[2] = { -1, -1 }, fail[2] = { -1, -1 }, r;
	char byte = 0;
	pid_t pid;

	*ret = NULL;
	r = open_backend(loop, opts->policy, true, false, &bb, err);
	if (r < 0)
		return r;
	adopt_backend(loop, bb, ret);
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(fail, O_CLOEXEC) < 0) {
		r = sw_error_set(err, -errno, "pipe");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = sw_error_set(err, -errno, "fork");
		goto out;
	}
	if (pid == 0) {
		/* wait until our tgid is watched: then not one call escapes */
		close(go[1]);
		close(fail[0]);
		if (read(go[0], &byte, 1) != 1)
			_exit(125);
		close(go[0]);
		spawn_child_exec(opts, fail[1], 0);
	}
	spawn_parent_reset_sigchld();
	loop->command_pid = pid;
	bb->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* its own calls until the exec are not the command's (watch.h) */
	r = watch_tgid(bb, pid, WATCH_TGID_PENDING_EXEC);
	if (r < 0 || bb->pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		r = sw_error_set(err, r < 0 ? r : -errno,
				 "--backend=bpf: cannot watch the command");
		goto out;
	}
	bb->live_tgids = 1;
	if (write(go[1], &byte, 1) != 1) {
		r = sw_error_set(err, -errno, "starting the command");
		goto out;
	}
	loop->fail_fd = fail[0];
	fail[0] = -1;
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (fail[i] >= 0)
			close(fail[i]);
	}
	return r;
}

/*
 * A call the thread was already in at the attach: the kernel never saw its
 * entry, so user space puts it in the in-flight map, its start the attach
 * (a lower bound: partial), from /proc/TID/syscall. A thread that entered a
 * new call meanwhile has its own entry already (BPF_NOEXIST keeps it).
 *
 * The call may end, or the thread exit, between the read and the insert:
 * then nothing in the kernel would ever remove the entry (sys_exit and
 * sched_process_exit came first), and the sweep would report a dead call
 * stuck. So the file is read again after the insert (the same fd: a thread
 * gone since reads -ESRCH, or "-1", no call, as a zombie; collect_syscall()
 * in lib/syscall.c, 6.18), and an entry for a call no longer there is
 * taken back if it is still ours.
 */
static void seed_in_flight(struct bpf_backend *bb, pid_t tgid, pid_t tid)
{
	_cleanup_close_ int fd = procinfo_open_syscall(tid);
	struct bpf_map *map = bb->skel->maps.inflight;
	struct proc_syscall ps, again;
	struct watch_call c = { .abi = WATCH_ABI_NATIVE, .pieces = 1, .partial = 1 }, now;
	__u32 key = (__u32)tid;

	if (fd < 0 || procinfo_read_syscall(fd, &ps) < 0 || ps.kind != PS_IN_SYSCALL || ps.nr < 0 ||
	    ps.nr >= WATCH_MAX_NR)
		return;
	c.start_ns = sw_mono_ns();
	/* /proc/TID/syscall names the call only while the thread is off the CPU: asleep in it */
	c.ev_mark_ns = c.start_ns;
	c.ev_run = WATCH_RUN_BLOCKED;
	c.nr = (__u32)ps.nr;
	c.tgid = (__u32)tgid;
	memcpy(c.args, ps.args, sizeof(c.args));
	if (bpf_map__update_elem(map, &key, sizeof(key), &c, sizeof(c), BPF_NOEXIST) < 0)
		return;
	/* "running" says nothing (it may be woken in the call); the next entry replaces it */
	if (procinfo_read_syscall(fd, &again) == 0 &&
	    (again.kind == PS_RUNNING || (again.kind == PS_IN_SYSCALL && again.nr == ps.nr &&
					  !memcmp(again.args, ps.args, sizeof(ps.args)))))
		return;
	if (bpf_map__lookup_elem(map, &key, sizeof(key), &now, sizeof(now), 0) == 0 &&
	    now.start_ns == c.start_ns && now.partial)
		bpf_map__delete_elem(map, &key, sizeof(key), 0);
}

/* Watch pid's thread group; returns its thread count or -errno. */
static int watch_process(void *backend, pid_t pid, char *comm, size_t comm_size,
			 struct sw_error *err)
{
	struct bpf_backend *bb = backend;
	struct procstatus st;
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;
	char path[64];
	int r, threads = 0;

	/* what ptrace refuses for its own sake: stallwatch, its ancestors, kernel threads */
	r = attach_check_target(pid, comm, comm_size, err);
	if (r < 0)
		return r;
	r = procinfo_status(pid, &st);
	if (r < 0)
		return sw_error_set(err, -ESRCH, "attach %d (%s): no such process (it exited)", pid,
				    comm);
	/* a zombie leader alone never exits while we watch: nothing to wait for */
	if (st.state == 'Z' && st.threads <= 1)
		return sw_error_set(err, -EPERM, "attach %d (%s): a zombie with no live thread",
				    pid, comm);
	r = watch_tgid(bb, pid, WATCH_TGID_TARGET);
	if (r < 0)
		return sw_error_set(err, r, "attach %d (%s): cannot add it to the watched set", pid,
				    comm);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);

		if (tid <= 0)
			continue;
		seed_in_flight(bb, pid, tid);
		threads++;
	}
	return threads ? threads : st.threads;
}

int bpf_backend_attach(struct tracer_loop *loop, const struct tracer_attach_options *opts,
		       struct backend **ret, struct sw_error *err)
{
	struct bpf_backend *bb = NULL;
	int r;

	*ret = NULL;
	r = open_backend(loop, opts->policy, opts->follow_forks, false, &bb, err);
	if (r < 0)
		return r;
	adopt_backend(loop, bb, ret);
	r = loop_attach_each(opts, watch_process, bb, err);
	if (r < 0)
		return r;
	bb->live_tgids = (size_t)r;
	return 0;
}

/* ---- watch (tracer/watch.c) ---------------------------------------------------- */

static int bb_watch_add(struct backend *b, pid_t pid, char *comm, size_t comm_size,
			struct sw_error *err)
{
	return watch_process(b, pid, comm, comm_size, err);
}

/*
 * Out of the set. Its threads' calls in flight are dropped (not timed,
 * never reported) and the lifecycle forgets them; an entry a thread writes
 * while this runs (it was inside sys_enter) is taken back by the sweep
 * (still_watched()). Its children joined at fork stay watched until they
 * exit: the kernel does not know whose they are once the parent left.
 */
static void bb_watch_release(struct backend *b, pid_t pid)
{
	struct bpf_backend *bb = (struct bpf_backend *)b;
	__u32 key = (__u32)pid;
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;
	char path[64];

	bpf_map__delete_elem(bb->skel->maps.watched_tgids, &key, sizeof(key), 0);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		__u32 tid = (__u32)strtoul(de->d_name, NULL, 10);
		struct tracee *t;

		if (!tid)
			continue;
		/* host-wide: its calls of host-wide syscalls are everyone's: timed on */
		if (!bb->host_wide)
			bpf_map__delete_elem(bb->skel->maps.inflight, &tid, sizeof(tid), 0);
		t = tracee_find(&bb->lc->tracees, (pid_t)tid);
		if (t)
			lifecycle_forget(bb->lc, t);
	}
}

/*
 * host_wide_nr from the rules without targets: their syscalls under both
 * ABIs (i386 by name, as fill_wait_conf()), and the calls that settle an
 * interrupted call (restart_syscall, the sigreturns), which sys_enter must
 * see for a thread that is not watched.
 */
static void fill_host_wide(struct bpf_backend *bb, const struct policy *policy)
{
	static const char *const settle[] = { "restart_syscall", "rt_sigreturn", "sigreturn" };
	__u8 *nr_on = bb->skel->bss->host_wide_nr;
	struct syscall_set set;
	bool any = false;

	syscall_set_clear(&set);
	for (size_t i = 0; i < policy->n_rules; i++) {
		const struct policy_rule *rule = &policy->rules[i];

		if (!rule->enabled || rule->n_targets)
			continue;
		if (rule->all_syscalls)
			syscall_set_fill_all(&set);
		else
			syscall_set_union(&set, &rule->syscalls);
	}
	memset(nr_on, 0, WATCH_ABI_MAX * WATCH_MAX_NR);
	for (int nr = 0; nr < SW_MAX_NR && nr < WATCH_MAX_NR; nr++) {
		const char *name = syscall_name(nr);
		int nr32 = name ? seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, name) : -1;

		if (!syscall_set_has(&set, nr))
			continue;
		any = true;
		nr_on[nr] = 1;
		if (nr32 >= 0 && nr32 < WATCH_MAX_NR)
			nr_on[WATCH_MAX_NR + nr32] = 1;
	}
	for (size_t i = 0; any && i < ARRAY_SIZE(settle); i++) {
		int nr = seccomp_syscall_resolve_name(settle[i]);
		int nr32 = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, settle[i]);

		if (nr >= 0 && nr < WATCH_MAX_NR)
			nr_on[nr] = 1;
		if (nr32 >= 0 && nr32 < WATCH_MAX_NR)
			nr_on[WATCH_MAX_NR + nr32] = 1;
	}
}

int bpf_backend_watch(struct tracer_loop *loop, const struct tracer_watch_options *opts,
		      struct backend **ret, struct sw_error *err)
{
	struct bpf_backend *bb = NULL;
	int r;

	*ret = NULL;
	/* children are followed: a daemon's target forks its workers */
	r = open_backend(loop, opts->policy, true, opts->host_wide, &bb, err);
	if (r < 0)
		return r;
	adopt_backend(loop, bb, ret);
	if (bb->host_wide) {
		fill_host_wide(bb, opts->policy);
		/* without the prefilter every call user space sees is still right: only slower */
		r = bpf_names_fill(&bb->names, bb->skel, bb->lc->argmap, opts->policy);
		if (r < 0)
			lifecycle_warn(bb->lc,
				       "host-wide rules: no name prefilter in the kernel: %s",
				       strerror(-r));
	}
	return 0;
}
