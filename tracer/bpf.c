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
 * min(threshold/2, 100 ms) (never below 1 ms): lifecycle_in_flight(), and
 * at its deadline the lifecycle asks probe_ask(), a lookup of the same map,
 * whether it is still there: an exact stuck record.
 *
 * run: the command is forked and waits on a pipe until its tgid is in the
 * watched set; its descendants join the set in the kernel at fork. The run
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

#include "../common/ksyms.h"
#include "../common/macro.h"
#include "../common/timeutil.h"
#include "attach.h"
#include "loop.h"
#include "procinfo.h"
#include "spawn.h"
#include "watch.skel.h"

#define SWEEP_MAX_NS (100 * NSEC_PER_MSEC)
#define SWEEP_MIN_NS (1 * NSEC_PER_MSEC)

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
	uint64_t lost; /* events the kernel could not send, already reported */

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

/* Which argument of each syscall is a path, for the kernel to read at a slow call's end. */
static int fill_path_args(struct bpf_backend *bb)
{
	struct bpf_map *map = bb->skel->maps.path_args;

	for (__u32 key = 0; key < WATCH_ABI_MAX * WATCH_MAX_NR; key++) {
		__u32 nr = key % WATCH_MAX_NR, value = WATCH_NO_PATH;
		int r;

		/* native calls only: the argument table is the native one */
		if (key < WATCH_MAX_NR && nr < SW_MAX_NR && bb->lc->argmap[nr].path_arg != ARG_NONE)
			value = (__u32)bb->lc->argmap[nr].path_arg;
		r = bpf_map__update_elem(map, &key, sizeof(key), &value, sizeof(value), 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static void entry_of(const struct watch_call *c, struct call_entry *e)
{
	*e = (struct call_entry){ .arch = abi_arch(c->abi),
				  .nr = c->nr,
				  .ts_ns = c->start_ns,
				  .pieces = c->pieces,
				  .partial = c->partial };
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
/* Calls the kernel could not send (its ring buffer was full): records-dropped. */
static void count_lost(struct bpf_backend *bb)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 key = WATCH_STAT_RINGBUF_FULL;
	uint64_t total = 0;

	if (!bb->skel || ncpu <= 0 || ncpu > 4096)
		return;
	__u64 values[ncpu];

	if (bpf_map__lookup_elem(bb->skel->maps.stats, &key, sizeof(key), values, sizeof(values),
				 0) < 0)
		return;
	for (int i = 0; i < ncpu; i++)
		total += values[i];
	if (total > bb->lost) {
		recorder_dropped(bb->lc->recorder, RECORD_DROP_KERNEL_BUFFER, "", "slow-syscall",
				 total - bb->lost);
		bb->lost = total;
	}
}

static uint64_t bb_tick(struct backend *b, uint64_t now_ns)
{
	struct bpf_backend *bb = (struct bpf_backend *)b;
	struct bpf_map *map = bb->skel->maps.inflight;
	__u32 key, next;
	bool first = true;

	/* a lost EXIT event must not keep us: look at the set once a second */
	if (now_ns >= bb->next_count_ns) {
		count_lost(bb);
		bb->live_tgids = count_live(bb);
		bb->next_count_ns = now_ns + NSEC_PER_SEC;
		if (finished(bb))
			bb->loop->done = true;
	}
	if (!bb->sweep_ns)
		return bb->next_count_ns;
	if (now_ns < bb->next_sweep_ns)
		return bb->next_sweep_ns < bb->next_count_ns ? bb->next_sweep_ns :
							       bb->next_count_ns;
	while (bpf_map__get_next_key(map, first ? NULL : &key, &next, sizeof(next)) == 0) {
		struct watch_call c;
		struct call_entry e;
		struct tracee *t;

		first = false;
		key = next;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &c, sizeof(c), 0) < 0)
			continue;
		if (now_ns - c.start_ns < bb->sweep_ns * 2 || c.restart_code)
			continue;
		t = lifecycle_thread(bb->lc, (pid_t)key);
		if (!t)
			continue;
		entry_of(&c, &e);
		lifecycle_in_flight(bb->lc, t, &e);
	}
	bb->next_sweep_ns = now_ns + bb->sweep_ns;
	return bb->next_sweep_ns < bb->next_count_ns ? bb->next_sweep_ns : bb->next_count_ns;
}

static void bb_destroy(struct backend *b)
{
	struct bpf_backend *bb = (struct bpf_backend *)b;

	count_lost(bb);
	close_sampler(bb);
	ksyms_free(bb->ksyms);
	/* closing the fds unloads everything (the kernel holds no other reference) */
	ring_buffer__free(bb->rb);
	watch_bpf__destroy(bb->skel);
	if (!bb->reaped && bb->pidfd >= 0)
		close(bb->pidfd);
	free(bb);
}

/* SIGINT/SIGTERM in attach: nothing to undo in the targets; unloading is leaving */
static void bb_detach(struct backend *b)
{
	((struct bpf_backend *)b)->loop->done = true;
}

static const struct backend_ops bpf_ops = {
	.name = RECORD_BACKEND_BPF,
	.gather = bb_gather,
	.handle = bb_handle,
	.detach = bb_detach,
	.child_changed = bb_child_changed,
	.tick = bb_tick,
	.destroy = bb_destroy,
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

/* The smallest threshold per syscall and ABI, as the policy gives it. */
static int fill_thresholds(struct bpf_backend *bb, const struct policy *policy,
			   uint64_t *ret_min_ns)
{
	static const uint32_t arch[WATCH_ABI_MAX] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386 };
	struct bpf_map *map = bb->skel->maps.thresholds;
	uint64_t min_ns = UINT64_MAX;

	for (__u32 abi = 0; abi < WATCH_ABI_MAX; abi++)
		for (__u32 nr = 0; nr < WATCH_MAX_NR; nr++) {
			uint64_t ns = policy_threshold_ns(policy, arch[abi], nr);
			__u32 key = abi * WATCH_MAX_NR + nr;
			__u64 value = ns == POLICY_UNWATCHED ? WATCH_UNWATCHED : ns;
			int r;

			r = bpf_map__update_elem(map, &key, sizeof(key), &value, sizeof(value), 0);
			if (r < 0)
				return r;
			if (ns != POLICY_UNWATCHED && ns < min_ns)
				min_ns = ns;
		}
	*ret_min_ns = min_ns;
	return 0;
}

static int watch_tgid(struct bpf_backend *bb, pid_t tgid, __u32 how)
{
	__u32 key = (__u32)tgid;

	return bpf_map__update_elem(bb->skel->maps.watched_tgids, &key, sizeof(key), &how,
				    sizeof(how), BPF_ANY);
}

/*
 * Open and load the programs. A kernel that refuses the scheduler
 * programs or the sampler (evidence) still gets the timing: loaded again
 * without them.
 */
static int open_and_load(struct bpf_backend *bb)
{
	int r;

	bb->skel = watch_bpf__open();
	if (!bb->skel)
		return -errno;
	r = watch_bpf__load(bb->skel);
	if (r == 0) {
		bb->sched_evidence = true;
		return 0;
	}
	watch_bpf__destroy(bb->skel);
	bb->skel = watch_bpf__open();
	if (!bb->skel)
		return -errno;
	bpf_program__set_autoload(bb->skel->progs.sw_sched_switch, false);
	bpf_program__set_autoload(bb->skel->progs.sw_sched_wakeup, false);
	bpf_program__set_autoload(bb->skel->progs.sw_cpu_sample, false);
	return watch_bpf__load(bb->skel);
}

static int backend_new(struct tracer_loop *loop, const struct policy *policy, bool follow_forks,
		       struct bpf_backend **ret, struct sw_error *err)
{
	struct bpf_backend *bb = calloc(1, sizeof(*bb));
	struct watch_config config = { .follow_forks = follow_forks };
	__u32 zero = 0;
	uint64_t min_ns;
	int r;

	if (!bb)
		return sw_error_set(err, -ENOMEM, "out of memory");
	bb->base.ops = &bpf_ops;
	bb->base.loop = loop;
	bb->loop = loop;
	bb->lc = &loop->lc;
	bb->pidfd = -1;
	bb->probe = (struct inflight_probe){ .ask = probe_ask, .opaque = bb };
	*ret = bb; /* the caller's destroy frees what follows */
	libbpf_set_print(quiet);
	r = open_and_load(bb);
	if (r < 0)
		return sw_error_set(err, r, "--backend=bpf: cannot load the BPF programs");
	r = bpf_map__update_elem(bb->skel->maps.config, &zero, sizeof(zero), &config,
				 sizeof(config), 0);
	if (r < 0)
		return sw_error_set(err, r, "--backend=bpf: cannot configure the BPF programs");
	r = fill_thresholds(bb, policy, &min_ns);
	if (r == 0)
		r = fill_path_args(bb);
	if (r < 0)
		return sw_error_set(err, r, "--backend=bpf: cannot set the thresholds");
	/* stuck detection for thresholds of 2 ms and more: a sweep every threshold/2 */
	if (min_ns != UINT64_MAX && min_ns >= 2 * SWEEP_MIN_NS)
		bb->sweep_ns = min_ns / 2 < SWEEP_MAX_NS ? min_ns / 2 : SWEEP_MAX_NS;
	bb->rb = ring_buffer__new(bpf_map__fd(bb->skel->maps.events), on_ring, bb, NULL);
	if (!bb->rb)
		return sw_error_set(err, -errno, "--backend=bpf: cannot read the ring buffer");
	loop->lc.probe = &bb->probe;
	loop->lc.backend_name = bpf_ops.name;
	loop->lc.timed_in_kernel = true;
	if (bb->sched_evidence) {
		bb->evidence = (struct evidence_source){ .fill = evidence_fill, .opaque = bb };
		loop->lc.evidence = &bb->evidence;
	}
	/* run: SIGCHLD says the command stopped for the terminal (Ctrl-Z) */
	loop->signals.catch_sigchld = loop->mode == MODE_RUN;
	return 0;
}

static int attach_programs(struct bpf_backend *bb, struct sw_error *err)
{
	int r = watch_bpf__attach(bb->skel);

	if (r < 0)
		return sw_error_set(err, r, "--backend=bpf: cannot attach the BPF programs");
	open_sampler(bb);
	return 0;
}

int bpf_backend_run(struct tracer_loop *loop, const struct tracer_run_options *opts,
		    struct backend **ret, struct sw_error *err)
{
	struct bpf_backend *bb = NULL;
	int go[2] = { -1, -1 }, fail[2] = { -1, -1 }, r;
	char byte = 0;
	pid_t pid;

	r = backend_new(loop, opts->policy, true, &bb, err);
	*ret = bb ? &bb->base : NULL;
	if (r < 0)
		return r;
	r = attach_programs(bb, err);
	if (r < 0)
		return r;
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
	r = watch_tgid(bb, pid, WATCH_TGID_TARGET);
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
 */
static void seed_in_flight(struct bpf_backend *bb, pid_t tgid, pid_t tid)
{
	_cleanup_close_ int fd = procinfo_open_syscall(tid);
	struct proc_syscall ps;
	struct watch_call c = { .abi = WATCH_ABI_NATIVE, .pieces = 1, .partial = 1 };
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
	bpf_map__update_elem(bb->skel->maps.inflight, &key, sizeof(key), &c, sizeof(c),
			     BPF_NOEXIST);
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

	r = procinfo_status(pid, &st);
	if (r < 0)
		return sw_error_set(err, -ESRCH, "%d: no such process", pid);
	snprintf(comm, comm_size, "%s", st.comm);
	if (procinfo_is_kthread(pid) == 1)
		return sw_error_set(err, -EPERM,
				    "%d (%s): a kernel thread has no syscalls to watch", pid,
				    st.comm);
	r = watch_tgid(bb, pid, WATCH_TGID_TARGET);
	if (r < 0)
		return sw_error_set(err, r, "%d (%s): cannot add it to the watched set", pid,
				    st.comm);
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

	r = backend_new(loop, opts->policy, opts->follow_forks, &bb, err);
	*ret = bb ? &bb->base : NULL;
	if (r < 0)
		return r;
	r = attach_programs(bb, err);
	if (r < 0)
		return r;
	r = loop_attach_each(opts, watch_process, bb, err);
	if (r < 0)
		return r;
	bb->live_tgids = (size_t)r;
	return 0;
}
