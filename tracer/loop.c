/* SPDX-License-Identifier: MIT */
/*
 * loop.c - the event loop of `stallwatch run` and `stallwatch attach`.
 *
 * Shape (strace's, without its globals): while (dispatch(ctx, next_event(ctx)));
 * next_event() sleeps in a blocking wait4(-1, __WALL) (attach: a waitid
 * WNOWAIT peek, see wait_next()) and then gathers every other ready status
 * with WNOHANG before anything is acted on; a signal-delivery stop is served
 * the moment it is seen. Signals to
 * stallwatch and the ONE deadline timer (a POSIX timer armed at the earliest
 * pending deadline) interrupt that wait4() with EINTR; see sigstate below.
 *
 * Why not poll() on a signalfd + timerfd: measured here (bench/floor.c -p),
 * the poll/signalfd wake-up path costs ~4 us per watched call on a ~16 us
 * floor (+25%), on every stop. A blocking wait4() costs what the floor does.
 *
 * Hot path of a call below its threshold: seccomp stop -> clock read +
 * PTRACE_GET_SYSCALL_INFO + PTRACE_SYSCALL; exit stop -> clock read +
 * PTRACE_GET_SYSCALL_INFO + PTRACE_CONT; a wait4(WNOHANG) drain per wake-up
 * while it finds something. Before sleeping, spin_wait() may poll for up to
 * 20 us while a CPU is spare (spin.h).
 * No allocation, no /proc read, no formatting (close/dup2/dup3/close_range
 * read their fd path at entry; the spin gate preads /proc/loadavg at most
 * every 10 ms, not per call).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../common/timeutil.h"
#include "../policy/ratelimit.h"
#include "spin.h"
#include "summary.h"
#include "attach.h"
#include "filter.h"
#include "procinfo.h"
#include "reload.h"
#include "spawn.h"
#include "stop.h"
#include "syscall_args.h"
#include "tracee.h"
#include "tracer.h"

#define BATCH_MAX 64
/* signal stops peeked this often with no resume that took are reaped (wait_next) */
#define PEEK_REPEATS_MAX 64
#define SCHED_SAMPLES 16
#define X32_SYSCALL_BIT 0x40000000ULL

/* Kernel-internal restart codes (include/linux/errno.h), seen only by tracers. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

enum event_kind {
	EV_WAIT, /* a wait4() status */
	EV_TIMER, /* the deadline timer fired */
	EV_SIGNAL, /* a signal to stallwatch */
	EV_RELOADED, /* the loader thread of a SIGHUP has its policy ready */
	EV_DONE, /* wait4() said ECHILD: nothing left to trace */
	EV_ERROR, /* stallwatch itself failed (ctx->error says why) */
};

/* What the handler keeps of a signal sent to stallwatch. */
struct received_signal {
	int signo;
	int code; /* si_code: SI_USER, SI_QUEUE, SI_TKILL, SI_KERNEL, ... */
	pid_t pid;
};

struct event {
	enum event_kind kind;
	pid_t pid;
	int status;
	uint64_t ts_ns;
	struct received_signal si;
};

#define SIGNAL_RING 64 /* power of two */

/*
 * Shared with the signal handler, which cannot be given a context: the one
 * piece of state outside struct tracer_ctx (libbpf-tools' `exiting` flag,
 * grown a little). The handler only stores into it and calls timer_settime()
 * (async-signal-safe, POSIX.1-2008).
 *
 * The race every "flag + blocking call" loop has (a signal lands between
 * the check of `pending` and wait4() going to sleep) is closed by the kick
 * timer: the handler arms it for 1 ms, and its own expiry re-arms it, so a
 * blocked wait4() is interrupted within 1 ms until the loop has taken the
 * signal and disarmed it.
 */
struct sigstate {
	volatile sig_atomic_t pending; /* something below needs the loop */
	volatile sig_atomic_t deadline_fired; /* the deadline timer expired */
	struct received_signal ring[SIGNAL_RING];
	unsigned int ring_head; /* next to read (loop) */
	unsigned int ring_tail; /* next to write (handler) */
	unsigned int dropped; /* signals lost to a full ring */
	timer_t deadline_timer, kick_timer;
	bool timers_created;
	/*
	 * While the command lives, the handler forwards a signal aimed at
	 * stallwatch alone itself: kill(2) is async-signal-safe, and a burst
	 * of queued real-time signals then cannot overflow the ring.
	 */
	pid_t self_pid;
	pid_t command_pid;
	volatile sig_atomic_t command_alive;
	/* run: a terminal's signal reached the command's group too; attach: it is for us */
	bool drop_terminal_signals;
};

enum { TIMER_TAG_DEADLINE = 1, TIMER_TAG_KICK = 2 };

static struct sigstate *sigstate;

static void kick_in(timer_t timer, long ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = 0, .tv_nsec = ns } };

	timer_settime(timer, 0, &its, NULL);
}

static void on_signal_handler(int sig, siginfo_t *si, void *ucontext)
{
	struct sigstate *st = sigstate;
	int saved_errno = errno;

	if (!st)
		return;
	if (si->si_code == SI_TIMER && si->si_value.sival_int == TIMER_TAG_DEADLINE)
		st->deadline_fired = 1;
	else if (st->drop_terminal_signals && si->si_code == SI_KERNEL && sig != SIGUSR1)
		; /* from the terminal: the command's process group got it too */
	else if (st->command_alive && sig != SIGUSR1 && sig != SIGHUP && sig != SIGUSR2 &&
		 (si->si_code == SI_USER || si->si_code == SI_QUEUE || si->si_code == SI_TKILL) &&
		 si->si_pid != st->self_pid)
		kill(st->command_pid, sig); /* forwarded once, see on_signal() */
	else if (si->si_code != SI_TIMER) {
		unsigned int tail = __atomic_load_n(&st->ring_tail, __ATOMIC_RELAXED);

		if (tail - __atomic_load_n(&st->ring_head, __ATOMIC_ACQUIRE) < SIGNAL_RING) {
			st->ring[tail % SIGNAL_RING] = (struct received_signal){
				.signo = sig, .code = si->si_code, .pid = si->si_pid
			};
			__atomic_store_n(&st->ring_tail, tail + 1, __ATOMIC_RELEASE);
		} else
			st->dropped++;
	}
	st->pending = 1;
	kick_in(st->kick_timer, 1000000);
	errno = saved_errno;
}

struct sched_sample {
	uint64_t mono_ns;
	uint64_t run_delay_ns;
};

enum tracer_mode {
	MODE_RUN, /* our child under the seccomp filter: only watched calls stop */
	MODE_ATTACH, /* seized running processes: every syscall stops (PTRACE_SYSCALL) */
};

struct tracer_ctx {
	enum tracer_mode mode;
	const struct policy *policy;
	struct recorder *recorder;
	void (*warn)(void *opaque, const char *line);
	void *warn_opaque;
	/* SIGHUP: a loader thread builds the new policy (reload.h); the cli adopts it */
	struct reloader reloader;
	void (*reload_done)(void *opaque, struct policy *np, bool adopted);
	void *reload_opaque;
	/* run: what the seccomp filter installed at start traces (a reload cannot widen it) */
	struct syscall_set filter_set;
	bool warned_filter;
	struct ratelimit ratelimit;
	struct summary *summary; /* --summary, or NULL */
	bool durations; /* --metrics-file: completed calls go into its histogram */
	bool follow_forks; /* attach -f (run always follows) */
	/* attach: detach everything at the next stop of each tracee */
	bool detaching;
	uint64_t detach_deadline_ns;
	/* attach: the thread groups we trace (targets, and children with -f) */
	pid_t *tgids;
	size_t n_tgids, cap_tgids;
	struct tracee_table tracees;
	struct syscall_args argmap[SW_MAX_NR];
	int restart_nr[_POLICY_ABI_MAX]; /* restart_syscall per ABI */
	int ptrace_nr, clone_nr, clone3_nr, exit_nr, exit_group_nr, sigreturn_nr;

	struct sigstate signals;
	uint64_t timer_armed_ns; /* 0: disarmed */
	sigset_t handled; /* signals with our handler */

	pid_t self_pid, self_tid;
	pid_t command_pid;
	bool command_exited;
	bool command_execed;
	int command_status; /* raw wait status */
	int fail_fd;

	/* wait statuses first (at most BATCH_MAX), then the timer and the signals taken */
	/* ...and the loader's EV_RELOADED */
	struct event batch[BATCH_MAX + 1 + SIGNAL_RING + 1];
	struct event signal_events[SIGNAL_RING];
	size_t n_signal_events;
	size_t batch_len, batch_pos;
	bool need_drain;
	/* drains after a blocking wait4 that found nothing in a row, and a probe counter */
	unsigned int drain_misses, drain_probe;
	struct spin spin; /* poll before sleeping, while a CPU is spare (spin.h) */
	/* attach: signal stops wait_next() handed out unreaped since a resume took */
	unsigned int unresumed_peeks;
	bool no_children;

	struct sched_sample samples[SCHED_SAMPLES];
	unsigned int next_sample;

	struct tracer_stats stats;
	struct sw_error *error;
};

/* ---- helpers ---------------------------------------------------------- */

static void warn(struct tracer_ctx *ctx, const char *fmt, ...) _printf_(2, 3);
static void warn(struct tracer_ctx *ctx, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!ctx->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctx->warn(ctx->warn_opaque, line);
}

/* Native number of a call, or -1 (compat calls are mapped by name: slow path). */
static int native_nr_of(const struct traced_call *call)
{
	enum policy_abi abi;
	int index;
	char *name;
	int nr;

	if (!policy_abi_of(call->arch, call->nr, &abi, &index))
		return -1;
	if (abi == POLICY_ABI_NATIVE)
		return index;
	name = seccomp_syscall_resolve_num_arch(
		abi == POLICY_ABI_X86 ? SCMP_ARCH_X86 : SCMP_ARCH_X32, (int)call->nr);
	if (!name)
		return -1;
	nr = syscall_nr(name);
	free(name);
	return nr;
}

static bool is_native(const struct traced_call *call, int native_nr)
{
	return call->arch == AUDIT_ARCH_X86_64 && call->nr == (uint64_t)native_nr;
}

static void arm_timer(struct tracer_ctx *ctx, uint64_t deadline_ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(deadline_ns / NSEC_PER_SEC),
			      .tv_nsec = (long)(deadline_ns % NSEC_PER_SEC) },
	};

	if (deadline_ns == 0)
		deadline_ns = its.it_value.tv_nsec = 1; /* 0 would disarm */
	if (timer_settime(ctx->signals.deadline_timer, TIMER_ABSTIME, &its, NULL) == 0)
		ctx->timer_armed_ns = deadline_ns;
}

/* Make sure the timer fires no later than deadline_ns. */
static void ensure_timer(struct tracer_ctx *ctx, uint64_t deadline_ns)
{
	if (ctx->timer_armed_ns == 0 || deadline_ns < ctx->timer_armed_ns)
		arm_timer(ctx, deadline_ns);
}

static void sample_sched(struct tracer_ctx *ctx, uint64_t now_ns)
{
	uint64_t run_delay;

	if (procinfo_run_delay_ns(ctx->self_tid, &run_delay) < 0)
		return;
	ctx->samples[ctx->next_sample % SCHED_SAMPLES] =
		(struct sched_sample){ .mono_ns = now_ns, .run_delay_ns = run_delay };
	ctx->next_sample++;
}

/*
 * How long stallwatch itself sat on a run queue since (about) start_ns: an
 * upper bound of how much of a measured duration is our own scheduling delay
 * rather than the call's (doc/performance.md, "A bare tracer": a 1 us call
 * reads 15-20 us, and with both CPUs busy some read > 1 ms). Uses the newest schedstat sample
 * taken before start_ns; samples are taken at every timer expiry and every
 * crossing, never on the fast path.
 */
static uint64_t tracer_delay_since(struct tracer_ctx *ctx, uint64_t start_ns, uint64_t window_ns,
				   uint64_t now_ns)
{
	const struct sched_sample *base = NULL;
	uint64_t run_delay;

	for (unsigned int i = 0; i < SCHED_SAMPLES && i < ctx->next_sample; i++) {
		const struct sched_sample *s = &ctx->samples[i];

		if (s->mono_ns <= start_ns && (!base || s->mono_ns > base->mono_ns))
			base = s;
	}
	if (procinfo_run_delay_ns(ctx->self_tid, &run_delay) < 0)
		return 0;
	if (ctx->next_sample == 0 ||
	    now_ns - ctx->samples[(ctx->next_sample - 1) % SCHED_SAMPLES].mono_ns > NSEC_PER_MSEC)
		ctx->samples[ctx->next_sample++ % SCHED_SAMPLES] =
			(struct sched_sample){ .mono_ns = now_ns, .run_delay_ns = run_delay };
	/*
	 * A sample much older than the call would charge it with delay from
	 * before it started and could hide a real stall: then correct nothing.
	 */
	if (!base || run_delay < base->run_delay_ns || start_ns - base->mono_ns > window_ns)
		return 0;
	return run_delay - base->run_delay_ns;
}

/* ---- records ---------------------------------------------------------- */

/* posix_spawn(3) uses clone3(CLONE_VFORK): flags are the first u64 of struct clone_args. */
static bool clone3_is_vfork(pid_t tid, uint64_t args_addr)
{
	uint64_t flags = 0;

	/* struct clone_args starts with its u64 flags */
	return procinfo_read_u64(tid, args_addr, &flags) == 0 && (flags & CLONE_VFORK);
}

static const char *call_name(const struct traced_call *call, char **owned)
{
	enum policy_abi abi;
	int index;

	*owned = NULL;
	if (!policy_abi_of(call->arch, call->nr, &abi, &index))
		return "unknown";
	if (abi == POLICY_ABI_NATIVE)
		return syscall_name(index) ?: "unknown";
	*owned = seccomp_syscall_resolve_num_arch(
		abi == POLICY_ABI_X86 ? SCMP_ARCH_X86 : SCMP_ARCH_X32, (int)call->nr);
	return *owned ?: "unknown";
}

/* What a crossing call's rules and record need, read once (slow path). */
struct call_facts {
	int native; /* native number, -1 if unknown */
	const char *fd_path, *path;
	const char *abs_path; /* a relative path resolved against its dirfd or the cwd */
	const char *note;
	bool wait; /* %wait: blocks until an event by design */
	char fd_path_buf[PROCINFO_PATH_MAX];
	char path_buf[PROCINFO_PATH_MAX];
	char abs_path_buf[PROCINFO_PATH_MAX];
};

/* Process identity, cached per tracee and refreshed when older than this. */
#define INFO_MAX_AGE_NS NSEC_PER_SEC

static void refresh_info(struct tracee *t, uint64_t now_ns)
{
	if (t->info && now_ns - t->info_ns < INFO_MAX_AGE_NS)
		return;
	if (!t->info)
		t->info = malloc(sizeof(*t->info));
	if (!t->info)
		return;
	if (procinfo_read(t->tid, t->info) < 0) {
		free(t->info);
		t->info = NULL;
		return;
	}
	t->info_ns = now_ns;
}

static void gather_facts(struct tracer_ctx *ctx, struct tracee *t, struct call_facts *f,
			 const char *note, uint64_t now_ns)
{
	const struct traced_call *call = &t->call;

	f->native = call->name_nr >= 0 ? call->name_nr : native_nr_of(call);
	f->fd_path = f->path = f->abs_path = NULL;
	f->note = note;
	refresh_info(t, now_ns);
	if (f->native < 0 || native_nr_of(call) < 0)
		return;
	const struct syscall_args *a = &ctx->argmap[native_nr_of(call)];

	if (a->fd_arg != ARG_NONE) {
		long fd = (long)(int)call->args[(int)a->fd_arg];

		if (t->entry_fd_valid)
			f->fd_path = t->entry_fd_path;
		else if (!((a->flags & SYSCALL_DIRFD) && fd == AT_FDCWD) &&
			 procinfo_fd_path(t->tid, fd, f->fd_path_buf, sizeof(f->fd_path_buf)) == 0)
			f->fd_path = f->fd_path_buf;
	}
	if (a->path_arg != ARG_NONE &&
	    procinfo_read_string(t->tid, call->args[(int)a->path_arg], f->path_buf,
				 sizeof(f->path_buf)) >= 0) {
		f->path = f->path_buf;
		/* policy globs also see a relative path made absolute (dirfd or cwd) */
		if (f->path_buf[0] != '/') {
			char base[PROCINFO_PATH_MAX] = "";

			if (f->fd_path && (a->flags & SYSCALL_DIRFD))
				snprintf(base, sizeof(base), "%s", f->fd_path);
			else
				procinfo_cwd(t->tid, base, sizeof(base));
			if (base[0] == '/' && snprintf(f->abs_path_buf, sizeof(f->abs_path_buf),
						       "%s/%s", strcmp(base, "/") == 0 ? "" : base,
						       f->path_buf) < (int)sizeof(f->abs_path_buf))
				f->abs_path = f->abs_path_buf;
		}
	}
	if (!note && ((a->flags & SYSCALL_VFORK) ||
		      (f->native == ctx->clone_nr && (call->args[0] & CLONE_VFORK)) ||
		      (f->native == ctx->clone3_nr && clone3_is_vfork(t->tid, call->args[0]))))
		f->note = "waiting for vfork child";
}

/* policy/wait.h's lookups for one traced thread, through /proc and its memory */
struct wait_probe {
	pid_t tid;
};

static enum fd_kind probe_fd_kind(void *opaque, int fd)
{
	const struct wait_probe *p = opaque;

	return procinfo_fd_kind(p->tid, fd, NULL);
}

static int probe_read_u64(void *opaque, uint64_t addr, uint64_t *ret)
{
	const struct wait_probe *p = opaque;

	return procinfo_read_u64(p->tid, addr, ret);
}

/*
 * Is the call a wait (policy/wait.h)? Decided once per call, on the slow
 * path only: at most a readlink and a stat of its fd.
 */
static bool decide_wait(struct tracer_ctx *ctx, struct tracee *t)
{
	struct traced_call *call = &t->call;
	int actual = native_nr_of(call);
	int native = call->name_nr >= 0 ? call->name_nr : actual;

	if (call->wait >= 0)
		return call->wait;
	/*
	 * A call resumed as restart_syscall (named by what it resumes) has
	 * no arguments of its own; only sleeps, polls and futex waits resume
	 * that way (kernel/time/hrtimer.c, kernel/futex/waitwake.c).
	 */
	if (actual >= 0 && syscall_wait_kind(actual) == WAIT_ALWAYS)
		call->wait = 1;
	else if (native < 0)
		call->wait = 0;
	else {
		struct wait_probe probe = { .tid = t->tid };
		struct wait_lookup lookup = { .fd_kind = probe_fd_kind,
					      .read_u64 = probe_read_u64,
					      .opaque = &probe };

		call->wait = syscall_call_is_wait(native, call->args, &lookup);
	}
	return call->wait;
}

static void emit(struct tracer_ctx *ctx, struct tracee *t, const struct policy_rule *rule,
		 const struct call_facts *f, const char *action, uint64_t event_ns,
		 uint64_t duration_ns, bool has_ret, int64_t ret, uint64_t sched_delay_ns)
{
	const struct traced_call *call = &t->call;
	_cleanup_free_ char *owned_name = NULL;
	struct record_syscall ev = {
		.action = action,
		.rule_name = rule->name,
		.level = rule->level,
		.tags = (const char *const *)rule->tags,
		.n_tags = rule->n_tags,
		.nr = (long)call->nr,
		.has_ret = has_ret,
		.ret = ret,
		.start_mono_ns = call->start_ns,
		.event_mono_ns = event_ns,
		.duration_ns = duration_ns,
		.threshold_ns = rule->min_duration_ns,
		.sched_delay_ns = sched_delay_ns,
		.partial = call->partial,
		.wait = f->wait,
		.note = f->note,
		.fd_path = f->fd_path,
		.path = f->path,
	};

	if (call->name_nr >= 0)
		ev.nr = call->name_nr;
	ev.name = call->name_nr >= 0 && syscall_name(call->name_nr) ? syscall_name(call->name_nr) :
								      call_name(call, &owned_name);
	memcpy(ev.args, call->args, sizeof(ev.args));

	ev.proc.tid = t->tid;
	ev.proc.pid = t->tid;
	if (t->info) {
		ev.proc.pid = t->info->tgid;
		ev.proc.vpid = t->info->vpid;
		ev.proc.name = t->info->comm;
		ev.proc.thread_name = t->info->thread_comm;
		ev.proc.executable = t->info->exe[0] ? t->info->exe : NULL;
		ev.proc.command_line = t->info->cmdline_len ? t->info->cmdline : NULL;
		ev.proc.command_line_len = t->info->cmdline_len;
		ev.proc.cgroup = t->info->cgroup[0] ? t->info->cgroup : NULL;
	}

	if (recorder_syscall(ctx->recorder, &ev) < 0)
		ctx->stats.records_dropped++;
	else
		ctx->stats.records++;
}

/* policy_call.parent_of: the parent of pid, for targets with "children". */
static int parent_of(void *opaque, pid_t pid, struct policy_ancestor *ret)
{
	struct procinfo *info;
	pid_t ppid;
	int r;

	r = procinfo_ppid(pid, &ppid);
	if (r < 0)
		return r;
	if (ppid <= 0)
		return -ESRCH;
	info = malloc(sizeof(*info));
	if (!info)
		return -ENOMEM;
	r = procinfo_read(ppid, info);
	if (r == 0) {
		snprintf(ret->comm, sizeof(ret->comm), "%s", info->comm);
		snprintf(ret->exe, sizeof(ret->exe), "%s", info->exe);
		snprintf(ret->cgroup, sizeof(ret->cgroup), "%s", info->cgroup);
		ret->proc = (struct policy_process){ .tgid = ppid,
						     .comm = ret->comm,
						     .exe = ret->exe[0] ? ret->exe : NULL,
						     .cgroup = ret->cgroup };
	}
	free(info);
	return r;
}

/*
 * A call crossed the policy's smallest threshold for its syscall: find the
 * rule it fires (policy_match), apply that rule's rate limit and write the
 * record. eff_duration_ns is the duration rules compare (minus our own
 * run-queue delay). For stuck calls (!has_ret) *ret_next_ns gets the next
 * threshold at which a rule could still fire. Returns true if a rule fired.
 */
static bool report(struct tracer_ctx *ctx, struct tracee *t, const char *action, uint64_t event_ns,
		   uint64_t duration_ns, uint64_t eff_duration_ns, bool has_ret, int64_t ret,
		   uint64_t sched_delay_ns, const char *note, uint64_t *ret_next_ns)
{
	_cleanup_free_ struct call_facts *f = NULL;
	struct policy_process proc = {};
	struct policy_call pc;
	const struct policy_rule *rule;
	bool stuck = strcmp(action, "stuck-syscall") == 0;
	bool wait = decide_wait(ctx, t);

	if (ret_next_ns)
		*ret_next_ns = POLICY_UNWATCHED;
	/*
	 * A wait no rule takes (the pure default's idle futexes and reads of
	 * sockets) ends here, before the /proc reads of its facts.
	 */
	if (wait && t->call.name_nr < 0 && native_nr_of(&t->call) >= 0 &&
	    !syscall_set_has_call(&ctx->policy->watched, native_nr_of(&t->call), true))
		return false;
	f = malloc(sizeof(*f));
	if (!f)
		return false;
	f->wait = wait;
	gather_facts(ctx, t, f, note, sw_mono_ns());
	proc.tgid = t->info ? t->info->tgid : t->tid;
	if (t->info) {
		proc.comm = t->info->comm;
		proc.exe = t->info->exe[0] ? t->info->exe : NULL;
		proc.cgroup = t->info->cgroup;
	}
	pc = (struct policy_call){
		.nr = f->native,
		.path = f->path,
		.abs_path = f->abs_path,
		.fd_path = f->fd_path,
		.wait = f->wait,
		.duration_ns = eff_duration_ns,
		.has_result = has_ret,
		/* the kernel's error range: -4095..-1 (include/linux/err.h) */
		.failed = has_ret && ret < 0 && ret >= -4095,
		.error = has_ret && ret < 0 && ret >= -4095 ? (int)-ret : 0,
		.proc = &proc,
		.parent_of = parent_of,
		.opaque = ctx,
	};
	rule = policy_match(ctx->policy, &pc, ret_next_ns);
	if (!rule)
		return false;

	/* a stuck+slow pair is one incident: its slow record follows its stuck record's fate */
	if (!stuck && t->stuck_reported) {
		/* counted once, with the stuck record: records-dropped counts calls */
		if (t->stuck_cut)
			return true;
	} else if (!ratelimit_take(&ctx->ratelimit, proc.tgid,
				   (uint32_t)policy_rule_index(ctx->policy, rule),
				   rule->rate_limit_per_min, sw_mono_ns())) {
		ctx->stats.rate_limited++;
		recorder_dropped(ctx->recorder, RECORD_DROP_RATE_LIMIT, rule->name, action, 1);
		if (stuck)
			t->stuck_cut = true;
		return true;
	}
	if (stuck)
		event_ns = t->call.start_ns + rule->min_duration_ns;
	emit(ctx, t, rule, f, action, event_ns, duration_ns, has_ret, ret, sched_delay_ns);
	return true;
}

/* --metrics-file: stallwatch_traced_threads (a plain store: the writer thread reads it) */
static inline void note_tracees(struct tracer_ctx *ctx)
{
	if (ctx->durations)
		recorder_set_traced_threads(ctx->recorder, ctx->tracees.count);
}

/* ---- calls ------------------------------------------------------------ */

/* --summary: every completed watched call, under the name the program used. */
static void count_call(struct tracer_ctx *ctx, const struct traced_call *call, uint64_t duration_ns,
		       bool failed)
{
	enum policy_abi abi;
	int index;

	if (call->name_nr >= 0)
		summary_add(ctx->summary, POLICY_ABI_NATIVE, call->name_nr, duration_ns, failed);
	else if (policy_abi_of(call->arch, call->nr, &abi, &index))
		summary_add(ctx->summary, abi, index, duration_ns, failed);
}

/*
 * --metrics-file: every completed watched call in the duration histogram,
 * native ABI only (its names are static; compat calls still get records).
 */
static void observe_call(struct tracer_ctx *ctx, const struct traced_call *call,
			 uint64_t duration_ns)
{
	enum policy_abi abi;
	int index = call->name_nr;

	if (index < 0 &&
	    (!policy_abi_of(call->arch, call->nr, &abi, &index) || abi != POLICY_ABI_NATIVE))
		return;
	if (syscall_name(index))
		recorder_observe(ctx->recorder, (size_t)index, syscall_name(index), duration_ns);
}

/* The call is over (returned, or ended by a signal handler's EINTR). */
static void finish_call(struct tracer_ctx *ctx, struct tracee *t, uint64_t end_ns, bool has_ret,
			int64_t ret)
{
	uint64_t duration_ns = end_ns - t->call.start_ns, delay_ns;

	t->call_state = CALL_NONE;
	t->entry_fd_valid = false;
	ctx->stats.calls++;
	if (ctx->summary && t->reportable)
		count_call(ctx, &t->call, duration_ns, has_ret && ret < 0 && ret >= -4095);
	if (ctx->durations && t->reportable)
		observe_call(ctx, &t->call, duration_ns);
	if (!t->reportable || duration_ns < t->call.threshold_ns)
		return;
	delay_ns = tracer_delay_since(ctx, t->call.start_ns, t->call.threshold_ns, end_ns);
	if (delay_ns > duration_ns)
		delay_ns = duration_ns;
	/*
	 * Only our own scheduling delay could have pushed it over: not a
	 * stall of the program's. A call already reported stuck was really
	 * in flight that long, so its completion is always reported.
	 */
	if (!t->stuck_reported && duration_ns - delay_ns < t->call.threshold_ns) {
		ctx->stats.suppressed++;
		recorder_set_suppressed(ctx->recorder, ctx->stats.suppressed);
		return;
	}
	report(ctx, t, "slow-syscall", end_ns, duration_ns,
	       t->stuck_reported ? duration_ns : duration_ns - delay_ns, has_ret, ret, delay_ns,
	       NULL, NULL);
}

static bool is_restart_code(int64_t rval)
{
	return rval == -ERESTARTSYS || rval == -ERESTARTNOINTR || rval == -ERESTARTNOHAND ||
	       rval == -ERESTART_RESTARTBLOCK;
}

/* Is this entry the kernel resuming the call that exited with a restart code? */
static bool is_restart_of(struct tracer_ctx *ctx, const struct tracee *t, uint32_t arch,
			  uint64_t nr)
{
	enum policy_abi abi;
	int index;

	if (arch != t->call.arch)
		return false;
	if (t->call.restart_code == -ERESTART_RESTARTBLOCK) {
		if (!policy_abi_of(arch, nr, &abi, &index))
			return false;
		return index == ctx->restart_nr[abi];
	}
	return nr == t->call.nr;
}

/* A watched call entered (seccomp stop): this is where timing starts. */
static void on_call_entry(struct tracer_ctx *ctx, struct tracee *t,
			  const struct __ptrace_syscall_info *info, uint64_t now_ns)
{
	uint32_t arch = info->arch;
	uint64_t nr = info->seccomp.nr;
	struct traced_call *call = &t->call;
	int native;

	if (t->call_state == CALL_RESTART_PENDING) {
		if (is_restart_of(ctx, t, arch, nr)) {
			t->call_state = CALL_IN_FLIGHT;
			call->pieces++;
			return;
		}
		if (!t->has_suspended) {
			/* a signal handler runs first; rt_sigreturn decides the call's fate */
			t->suspended = *call;
			t->suspended_reportable = t->reportable;
			t->suspended_stuck_reported = t->stuck_reported;
			t->suspended_stuck_cut = t->stuck_cut;
			t->has_suspended = true;
		} else
			/* nested interruptions: settle for "the program saw EINTR" */
			finish_call(ctx, t, call->last_exit_ns, true, -EINTR);
	}

	call->arch = arch;
	call->nr = nr;
	memcpy(call->args, info->seccomp.args, sizeof(call->args));
	call->start_ns = now_ns;
	call->threshold_ns = policy_threshold_ns(ctx->policy, arch, nr);
	call->deadline_ns =
		call->threshold_ns == POLICY_UNWATCHED ? UINT64_MAX : now_ns + call->threshold_ns;
	call->pieces = 1;
	call->partial = false;
	call->name_nr = -1;
	call->wait = -1;
	if (t->first_after_attach) {
		enum policy_abi abi;
		int index;

		/* a sleep resumes as restart_syscall; a blocked read is simply re-entered */
		t->first_after_attach = false;
		call->partial = policy_abi_of(arch, nr, &abi, &index) &&
				(index == ctx->restart_nr[abi] ||
				 (abi == POLICY_ABI_NATIVE && index == t->attach_syscall_nr));
		/*
		 * A sleep resumes as restart_syscall; /proc/TID/syscall named
		 * the original call just before the seize: use that name.
		 */
		if (call->partial && abi == POLICY_ABI_NATIVE && index == ctx->restart_nr[abi] &&
		    t->attach_syscall_nr >= 0)
			call->name_nr = t->attach_syscall_nr;
		/* and its rule: -e clock_nanosleep must catch the resumed sleep */
		if (call->name_nr >= 0) {
			call->threshold_ns =
				policy_threshold_ns(ctx->policy, AUDIT_ARCH_X86_64, call->name_nr);
			call->deadline_ns = call->threshold_ns == POLICY_UNWATCHED ?
						    UINT64_MAX :
						    now_ns + call->threshold_ns;
		}
	}
	t->call_state = CALL_IN_FLIGHT;
	t->stuck_reported = false;
	t->stuck_cut = false;
	t->entry_fd_valid = false;
	t->reportable = !t->pre_exec && call->threshold_ns != POLICY_UNWATCHED;

	/* -m 0 reports every call when it returns; "stuck at once" would only double it */
	if (t->reportable && call->threshold_ns > 0)
		ensure_timer(ctx, call->deadline_ns);

	if (arch != AUDIT_ARCH_X86_64 || (nr & X32_SYSCALL_BIT) || nr >= SW_MAX_NR)
		return;
	native = (int)nr;
	if (t->reportable && (ctx->argmap[native].flags & SYSCALL_FD_AT_ENTRY)) {
		if (!t->entry_fd_path)
			t->entry_fd_path = malloc(PROCINFO_PATH_MAX);
		if (t->entry_fd_path)
			t->entry_fd_valid =
				procinfo_fd_path(
					t->tid,
					(long)(int)call->args[(int)ctx->argmap[native].fd_arg],
					t->entry_fd_path, PROCINFO_PATH_MAX) == 0;
	}
	if (native == ctx->clone_nr && (call->args[0] & CLONE_UNTRACED))
		warn(ctx,
		     "pid %d calls clone(CLONE_UNTRACED): the child escapes tracing and its "
		     "watched syscalls fail with ENOSYS under the seccomp filter (known limitation "
		     "of run mode)",
		     t->tid);
}

/*
 * The handler that interrupted a call returned. rt_sigreturn "returns" the
 * restored rax: -EINTR if the program sees the call fail, anything else if
 * the kernel re-executes it (SA_RESTART, arch/x86/kernel/signal.c).
 */
static void resume_suspended(struct tracer_ctx *ctx, struct tracee *t, int64_t sigreturn_rval)
{
	t->call = t->suspended;
	t->reportable = t->suspended_reportable;
	t->stuck_reported = t->suspended_stuck_reported;
	t->stuck_cut = t->suspended_stuck_cut;
	t->has_suspended = false;
	t->call_state = CALL_RESTART_PENDING;
	if (sigreturn_rval == -EINTR)
		finish_call(ctx, t, t->call.last_exit_ns, true, -EINTR);
	else if (t->reportable && !t->stuck_reported && t->call.threshold_ns > 0 &&
		 t->call.deadline_ns != UINT64_MAX)
		ensure_timer(ctx, t->call.deadline_ns);
}

/* Syscall-exit stop of a watched call: timing ends here. */
static void on_call_exit(struct tracer_ctx *ctx, struct tracee *t,
			 const struct __ptrace_syscall_info *info, uint64_t now_ns)
{
	int64_t rval = info->exit.rval;

	if (t->call_state != CALL_IN_FLIGHT)
		return;
	if (info->exit.is_error && is_restart_code(rval)) {
		/* interrupted; the kernel restarts it or the program sees EINTR */
		t->call_state = CALL_RESTART_PENDING;
		t->call.last_exit_ns = now_ns;
		t->call.restart_code = rval;
		return;
	}
	if (is_native(&t->call, ctx->ptrace_nr) && rval == -EPERM && !t->warned_ptrace &&
	    (t->call.args[0] == PTRACE_TRACEME || t->call.args[0] == PTRACE_ATTACH ||
	     t->call.args[0] == PTRACE_SEIZE)) {
		t->warned_ptrace = true;
		warn(ctx,
		     "pid %d: its own ptrace() failed with EPERM because stallwatch traces it "
		     "(a task has one tracer): debuggers and tracers cannot work inside `run`",
		     t->tid);
	}
	finish_call(ctx, t, now_ns, true, rval);
	if (t->has_suspended && is_native(&t->call, ctx->sigreturn_nr))
		resume_suspended(ctx, t, rval);
}

/* The thread is gone with a call in flight: never lose a call that crossed. */
static void on_death_in_call(struct tracer_ctx *ctx, struct tracee *t, uint64_t now_ns)
{
	uint64_t duration_ns = now_ns - t->call.start_ns;
	bool exiting = is_native(&t->call, ctx->exit_nr) || is_native(&t->call, ctx->exit_group_nr);

	if (t->call_state == CALL_NONE || !t->reportable || duration_ns < t->call.threshold_ns)
		return;
	if (exiting)
		/* exit/exit_group end with the thread: its whole teardown is the call */
		report(ctx, t, "slow-syscall", now_ns, duration_ns, duration_ns, false, 0, 0,
		       "the thread exited", NULL);
	else if (!t->stuck_reported)
		report(ctx, t, "stuck-syscall", now_ns, duration_ns, duration_ns, false, 0, 0,
		       "the thread died before the call returned", NULL);
	t->call_state = CALL_NONE;
}

/* Timer expiry: report calls in flight past their deadline; re-arm for the next one. */
static void on_timer(struct tracer_ctx *ctx, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;

	ctx->timer_armed_ns = 0;
	sample_sched(ctx, now_ns);
	for (size_t i = 0; i < ctx->tracees.capacity; i++) {
		struct tracee *t = tracee_at(&ctx->tracees, i);

		if (!t || t->call_state == CALL_NONE || !t->reportable || t->stuck_reported)
			continue;
		if (t->call.threshold_ns == 0 || t->call.deadline_ns == UINT64_MAX)
			continue;
		if (t->call.deadline_ns <= now_ns) {
			/* the threshold this deadline stands for (a rule's, not always the smallest) */
			uint64_t due = t->call.deadline_ns - t->call.start_ns, rule_next;
			uint64_t elapsed = now_ns - t->call.start_ns;
			uint64_t delay = tracer_delay_since(ctx, t->call.start_ns, due, now_ns);

			if (delay > elapsed)
				delay = elapsed;
			if (elapsed - delay < due) {
				/* our own run-queue wait made it look late: look again later */
				uint64_t again = now_ns + due - (elapsed - delay);

				if (again < next)
					next = again;
				continue;
			}
			if (report(ctx, t, "stuck-syscall", t->call.deadline_ns, elapsed,
				   elapsed - delay, false, 0, delay, NULL, &rule_next)) {
				t->stuck_reported = true;
				continue;
			}
			/* no rule fires yet (a path, target or higher threshold): look again then */
			t->call.deadline_ns = rule_next == POLICY_UNWATCHED ?
						      UINT64_MAX :
						      t->call.start_ns + rule_next;
			if (t->call.deadline_ns < next)
				next = t->call.deadline_ns;
		} else if (t->call.deadline_ns < next)
			next = t->call.deadline_ns;
	}
	if (next != UINT64_MAX)
		arm_timer(ctx, next);
}

/* ---- stops ------------------------------------------------------------ */

static void resume(struct tracer_ctx *ctx, struct tracee *t, int sig)
{
	/* Filtered mode: run freely (CONT) unless we wait for this call's exit stop. */
	int request = ctx->mode == MODE_ATTACH || t->call_state == CALL_IN_FLIGHT ? PTRACE_SYSCALL :
										    PTRACE_CONT;

	/* ESRCH: the tracee died meanwhile (SIGKILL); wait4() will tell. Normal. */
	if (ptrace(request, t->tid, 0, (void *)(long)sig) == 0)
		ctx->unresumed_peeks = 0;
}

static void on_syscall_stop(struct tracer_ctx *ctx, struct tracee *t, uint64_t now)
{
	struct __ptrace_syscall_info info;

	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof(info), &info) <= 0)
		return; /* ESRCH: died */
	switch (info.op) {
	case PTRACE_SYSCALL_INFO_SECCOMP:
		on_call_entry(ctx, t, &info, now);
		break;
	case PTRACE_SYSCALL_INFO_ENTRY:
		/* Not expected in filtered mode; time it like a seccomp entry if watched. */
		info.seccomp.nr = info.entry.nr;
		memmove(info.seccomp.args, info.entry.args, sizeof(info.seccomp.args));
		/* attach mode stops at every call; all are paired, only watched ones timed */
		if (ctx->mode == MODE_ATTACH ||
		    policy_threshold_ns(ctx->policy, info.arch, info.seccomp.nr) !=
			    POLICY_UNWATCHED)
			on_call_entry(ctx, t, &info, now);
		break;
	case PTRACE_SYSCALL_INFO_EXIT:
		on_call_exit(ctx, t, &info, now);
		break;
	default:
		break;
	}
}

static void on_exec(struct tracer_ctx *ctx, struct tracee *t, uint64_t now_ns)
{
	unsigned long former = 0;
	struct tracee *old;

	if (ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &former) == 0 && (pid_t)former != t->tid) {
		/*
		 * A non-leader thread exec'd: it now has the leader's pid and
		 * the old tid vanishes without an exit report (ptrace(2),
		 * "execve(2) under ptrace"). The leader's own call never returns.
		 */
		if (t->call_state != CALL_NONE && t->reportable && !t->stuck_reported &&
		    now_ns - t->call.start_ns >= t->call.threshold_ns)
			report(ctx, t, "stuck-syscall", now_ns, now_ns - t->call.start_ns,
			       now_ns - t->call.start_ns, false, 0, 0,
			       "superseded by execve in another thread", NULL);
		old = tracee_find(&ctx->tracees, (pid_t)former);
		if (old) {
			t->call_state = old->call_state;
			t->call = old->call;
			t->reportable = old->reportable;
			t->stuck_reported = old->stuck_reported;
			t->stuck_cut = old->stuck_cut;
			t->pre_exec = old->pre_exec;
			t->entry_fd_valid = false;
			tracee_remove(&ctx->tracees, old);
		} else
			t->call_state = CALL_NONE;
	}
	if (t->tid == ctx->command_pid) {
		t->pre_exec = false;
		ctx->command_execed = true;
	}
	/* a new image: comm, exe and cmdline changed */
	free(t->info);
	t->info = NULL;
}

/* Ctrl-Z: the command stopped for the terminal; stop ourselves so the shell sees the job stop. */
static void stop_with_command(struct tracer_ctx *ctx, int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN };

	sigaction(sig, &dfl, NULL);
	raise(sig); /* returns once the shell continues our process group (fg/bg) */
	sigaction(sig, &ign, NULL);
	/* the shell's SIGCONT reached the command only if it shares our process group */
	if (!ctx->command_exited && getpgid(ctx->command_pid) != getpgrp())
		kill(ctx->command_pid, SIGCONT);
}

static bool traced_tgid(const struct tracer_ctx *ctx, pid_t tgid)
{
	for (size_t i = 0; i < ctx->n_tgids; i++)
		if (ctx->tgids[i] == tgid)
			return true;
	return false;
}

static int add_tgid(struct tracer_ctx *ctx, pid_t tgid)
{
	if (traced_tgid(ctx, tgid))
		return 0;
	if (ctx->n_tgids == ctx->cap_tgids) {
		size_t cap = ctx->cap_tgids ? ctx->cap_tgids * 2 : 16;
		pid_t *n = realloc(ctx->tgids, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		ctx->tgids = n;
		ctx->cap_tgids = cap;
	}
	ctx->tgids[ctx->n_tgids++] = tgid;
	return 0;
}

static void drop_tgid(struct tracer_ctx *ctx, pid_t tgid)
{
	for (size_t i = 0; i < ctx->n_tgids; i++)
		if (ctx->tgids[i] == tgid) {
			ctx->tgids[i] = ctx->tgids[--ctx->n_tgids];
			return;
		}
}

/*
 * attach: a stop from a pid we did not seize. A new thread of a traced
 * process (its own stop can beat its creator's clone event) or, with -f, a
 * child of one is ours; anything else is an unexpected tracee (a
 * CLONE_PTRACE or PTRACE_TRACEME child) and gets detached, as strace does.
 */
static bool adopt_unknown(struct tracer_ctx *ctx, pid_t pid)
{
	char path[64], status[4096];
	const char *tgid_s, *ppid_s;
	pid_t tgid, ppid;
	ssize_t n;
	int fd;

	if (ctx->mode == MODE_RUN)
		return true; /* run follows everything: the filter demands it */
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, status, sizeof(status) - 1);
	close(fd);
	if (n <= 0)
		return false;
	status[n] = 0;
	tgid_s = strstr(status, "\nTgid:");
	ppid_s = strstr(status, "\nPPid:");
	if (!tgid_s || !ppid_s)
		return false;
	tgid = (pid_t)strtol(tgid_s + 6, NULL, 10);
	ppid = (pid_t)strtol(ppid_s + 6, NULL, 10);
	if (traced_tgid(ctx, tgid))
		return true;
	if (ctx->follow_forks && traced_tgid(ctx, ppid))
		return add_tgid(ctx, tgid) == 0;
	return false;
}

/* SIGINT/SIGTERM in attach: interrupt everyone, then detach each at its next stop. */
static void start_detach(struct tracer_ctx *ctx)
{
	if (ctx->detaching)
		return;
	ctx->detaching = true;
	/* a tracee that never stops (uninterruptible sleep) must not keep us */
	ctx->detach_deadline_ns = sw_mono_ns() + NSEC_PER_SEC;
	arm_timer(ctx, ctx->detach_deadline_ns);
	for (size_t i = 0; i < ctx->tracees.capacity; i++) {
		struct tracee *t = tracee_at(&ctx->tracees, i);

		if (t)
			ptrace(PTRACE_INTERRUPT, t->tid, 0, 0); /* ESRCH: gone, fine */
	}
}

/*
 * Detach at whatever stop the tracee reports (strace NEWS 6.7: never a
 * blocking wait on one tracee at a time): a call that completed is still
 * reported; one cut by our interrupt (-ERESTART*) is not a completed call
 * and the kernel restarts it after the detach; a signal being delivered is
 * handed back in PTRACE_DETACH; a group-stopped tracee stays stopped (T).
 */
static void detach_at_stop(struct tracer_ctx *ctx, struct tracee *t, enum stop_kind kind, int sig,
			   uint64_t now_ns)
{
	struct __ptrace_syscall_info info;
	int pass = 0;

	if (kind == STOP_SYSCALL &&
	    ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof(info), &info) > 0 &&
	    info.op == PTRACE_SYSCALL_INFO_EXIT && t->call_state == CALL_IN_FLIGHT &&
	    !(info.exit.is_error && is_restart_code(info.exit.rval)))
		finish_call(ctx, t, now_ns, true, info.exit.rval);
	if (kind == STOP_SIGNAL)
		pass = sig;
	if (ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)pass) == 0)
		ctx->unresumed_peeks = 0;
	tracee_remove(&ctx->tracees, t);
}

static void on_wait(struct tracer_ctx *ctx, const struct event *ev)
{
	int sig, event, inject = 0;
	enum stop_kind kind = stop_classify(ev->status, &sig, &event);
	struct tracee *t = tracee_find(&ctx->tracees, ev->pid);
	unsigned long msg;

	ctx->stats.stops++;
	if (kind == STOP_EXITED || kind == STOP_KILLED) {
		if (t) {
			on_death_in_call(ctx, t, ev->ts_ns);
			tracee_remove(&ctx->tracees, t);
		}
		if (ev->pid == ctx->command_pid) {
			ctx->signals.command_alive = 0;
			ctx->command_exited = true;
			ctx->command_status = ev->status;
		}
		return;
	}
	if (kind == STOP_UNKNOWN)
		return;
	if (!t && !adopt_unknown(ctx, ev->pid)) {
		ptrace(PTRACE_DETACH, ev->pid, 0, (void *)(long)(kind == STOP_SIGNAL ? sig : 0));
		warn(ctx,
		     "detached pid %d: it became our tracee (CLONE_PTRACE) but is not a target",
		     ev->pid);
		return;
	}
	if (!t) {
		/* A new child can report before its parent's clone event (strace's _exit(!!fork()) case). */
		t = tracee_add(&ctx->tracees, ev->pid);
		if (!t) {
			/* out of memory: let it run rather than leave it stopped */
			ptrace(PTRACE_CONT, ev->pid, 0, 0);
			return;
		}
	}

	if (ctx->detaching) {
		detach_at_stop(ctx, t, kind, sig, ev->ts_ns);
		return;
	}

	switch (kind) {
	case STOP_SECCOMP:
	case STOP_SYSCALL:
		on_syscall_stop(ctx, t, ev->ts_ns);
		break;
	case STOP_NEW_TASK:
		if (ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &msg) == 0) {
			if (!tracee_find(&ctx->tracees, (pid_t)msg))
				tracee_add(&ctx->tracees, (pid_t)msg);
			if (ctx->mode == MODE_ATTACH && event != PTRACE_EVENT_CLONE)
				add_tgid(ctx, (pid_t)msg);
		}
		break;
	case STOP_EXEC:
		on_exec(ctx, t, ev->ts_ns);
		break;
	case STOP_GROUP:
		/*
		 * Group-stop: LISTEN keeps it stopped (state t while traced)
		 * until SIGCONT, and the real parent sees STOPPED/CONTINUED as
		 * without us. CONT or SYSCALL here would resume it.
		 */
		ptrace(PTRACE_LISTEN, t->tid, 0, 0);
		if (t->tid == ctx->command_pid && !t->pre_exec &&
		    (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU))
			stop_with_command(ctx, sig);
		return;
	case STOP_SIGNAL:
		inject = sig;
		/* our own SIGCONT that released the child from its self-stop */
		if (t->pre_exec && sig == SIGCONT)
			inject = 0;
		break;
	case STOP_TRAP:
	case STOP_EVENT_OTHER:
	default:
		break;
	}
	resume(ctx, t, inject);
}

/* ---- signals to stallwatch ---------------------------------------------- */

static void forward_signal(struct tracer_ctx *ctx, int sig)
{
	if (!ctx->command_exited) {
		kill(ctx->command_pid, sig);
		return;
	}
	/* The command is gone but descendants we must keep tracing remain: tell them. */
	for (size_t i = 0; i < ctx->tracees.capacity; i++) {
		struct tracee *t = tracee_at(&ctx->tracees, i);
		struct procinfo info;

		if (t && procinfo_read(t->tid, &info) == 0 && info.tgid == t->tid)
			kill(t->tid, sig);
	}
}

/*
 * SIGHUP: a loader thread builds the policy anew (reload.h) while the loop
 * goes on; a SIGHUP during a load asks for one more after it.
 */
static void request_reload(struct tracer_ctx *ctx)
{
	int r;

	if (!ctx->reloader.build)
		return;
	r = reloader_request(&ctx->reloader);
	if (r < 0)
		warn(ctx,
		     "SIGHUP: policy not reloaded, the current one stays: cannot start a thread "
		     "to load it: %s",
		     strerror(-r));
}

/* The loader's wake-up (on its thread): the kick timer interrupts wait4 within 1 ns. */
static void reload_wake(void *opaque)
{
	struct tracer_ctx *ctx = opaque;

	kick_in(ctx->signals.kick_timer, 1);
}

/*
 * The loader is done (EV_RELOADED, a safe point: between two events): swap
 * in its policy. Calls in flight keep the threshold they started with;
 * rules are looked up in the new policy when they cross. Rate-limit
 * buckets start over (rules are numbered anew).
 */
static void adopt_policy(struct tracer_ctx *ctx)
{
	struct policy *np;
	char names[256] = "";
	size_t n_missing = 0, len = 0;
	bool again;

	np = reloader_take(&ctx->reloader, &again);
	if (again)
		request_reload(ctx); /* a SIGHUP came during that load */
	if (!np)
		return;
	ctx->policy = np;
	if (ctx->reload_done)
		ctx->reload_done(ctx->reload_opaque, np, true);
	ratelimit_reset(&ctx->ratelimit);
	if (ctx->mode != MODE_RUN)
		return;
	/* the tracee's seccomp filter cannot be replaced: new syscalls stay unwatched */
	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		/* the filter traces syscalls by number, whatever their calls */
		if (!syscall_set_has(&np->watched, nr) || syscall_set_has(&ctx->filter_set, nr))
			continue;
		if (n_missing++ < 8 && len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						n_missing > 1 ? ", " : "", syscall_name(nr) ?: "?");
	}
	if (n_missing && !ctx->warned_filter) {
		ctx->warned_filter = true;
		warn(ctx,
		     "reloaded policy watches %zu syscall(s) the seccomp filter installed at start "
		     "does not trace (%s%s): they stay unwatched until `run` starts again",
		     n_missing, names, n_missing > 8 ? ", ..." : "");
	}
}

static void on_signal(struct tracer_ctx *ctx, const struct received_signal *si)
{
	int sig = si->signo;

	switch (sig) {
	case SIGUSR1:
		recorder_reopen(ctx->recorder);
		return;
	case SIGINT:
	case SIGTERM:
		if (ctx->mode == MODE_ATTACH) {
			start_detach(ctx);
			return;
		}
		break;
	case SIGHUP:
		request_reload(ctx);
		return;
	case SIGUSR2:
		/* the summary so far; without --summary nothing (never fatal) */
		if (ctx->summary)
			summary_emit(ctx->summary, ctx->recorder);
		return;
	default:
		break;
	}
	/*
	 * A terminal's Ctrl-C/Ctrl-\ (SI_KERNEL) went to the whole foreground
	 * process group, the command included: forwarding would deliver it
	 * twice. A kill(2)/sigqueue(3) aimed at stallwatch alone is passed on
	 * once.
	 */
	if (ctx->mode == MODE_RUN &&
	    (si->code == SI_USER || si->code == SI_QUEUE || si->code == SI_TKILL) &&
	    si->pid != ctx->self_pid)
		forward_signal(ctx, sig);
}

/* ---- the loop ----------------------------------------------------------- */

static const struct event done_event = { .kind = EV_DONE };
static const struct event error_event = { .kind = EV_ERROR };

static void push(struct tracer_ctx *ctx, const struct event *ev)
{
	if (ctx->batch_len < ARRAY_SIZE(ctx->batch))
		ctx->batch[ctx->batch_len++] = *ev;
}

/*
 * The next status of any tracee: > 0 its pid (*status set), 0 none (WNOHANG
 * in flags), -1 with errno.
 *
 * Reaping a signal-delivery stop zeroes the tracee's exit_code
 * (kernel/exit.c, wait_task_stopped): until PTRACE_CONT hands the signal
 * back, it exists only in our memory, and a SIGKILL of stallwatch in between
 * loses it. The kernel itself opens that window: a SIGKILL that wakes us
 * from a blocking wait reaps a ready stop first and kills us on the way
 * out. So attach, which must leave its targets as they were when killed,
 * only peeks (waitid WNOWAIT): a signal-delivery stop is served without ever
 * being reaped (the resume ends it, with exit_code intact until then); any
 * other stop is reaped by pid. run does not need it (SIGKILL of stallwatch
 * kills the command, PTRACE_O_EXITKILL) and saves the second syscall.
 */
static pid_t wait_next(struct tracer_ctx *ctx, int flags, int *status)
{
	for (;;) {
		siginfo_t si = {};
		int sig, event;
		pid_t pid;

		if (ctx->mode != MODE_ATTACH)
			return wait4(-1, status, __WALL | flags, NULL);
		if (waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WNOWAIT | __WALL | flags) < 0)
			return -1;
		if (si.si_pid == 0)
			return 0; /* WNOHANG: nothing ready */
		if (si.si_code == CLD_TRAPPED || si.si_code == CLD_STOPPED) {
			/* a ptrace stop's status as wait4 gives it: (exit_code << 8) | 0x7f */
			*status = (si.si_status << 8) | 0x7f;
			/*
			 * Served unreaped, unless signal stops keep coming with
			 * no resume that took in between (a bug would loop here).
			 */
			if (stop_classify(*status, &sig, &event) == STOP_SIGNAL &&
			    ctx->unresumed_peeks++ < PEEK_REPEATS_MAX)
				return si.si_pid;
		}
		ctx->unresumed_peeks = 0;
		pid = wait4(si.si_pid, status, __WALL | WNOHANG, NULL);
		if (pid != 0)
			return pid;
		/* gone between the peek and the reap (reaped elsewhere): look again */
	}
}

/*
 * A status of wait_next(). A signal-delivery stop is served at once, ahead
 * of the batch, to keep the time the signal is out of the kernel short;
 * every other stop joins the batch.
 */
static void collect(struct tracer_ctx *ctx, pid_t pid, int status)
{
	struct event ev = { .kind = EV_WAIT, .pid = pid, .status = status, .ts_ns = sw_mono_ns() };
	int sig, event;

	if (stop_classify(status, &sig, &event) == STOP_SIGNAL)
		on_wait(ctx, &ev);
	else
		push(ctx, &ev);
}

/* Gather every ready wait4() status (strace NEWS 5.0: fairness across tracees). */
static void drain_wait(struct tracer_ctx *ctx)
{
	while (ctx->batch_len < BATCH_MAX) {
		int status;
		pid_t pid = wait_next(ctx, WNOHANG, &status);

		if (pid > 0) {
			collect(ctx, pid, status);
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0 && errno == ECHILD)
			ctx->no_children = true;
		ctx->need_drain = false;
		return;
	}
	ctx->need_drain = true; /* batch full: come back before sleeping */
}

/* Take what the handler left: signals as events, the deadline as a flag. */
static bool take_signals(struct tracer_ctx *ctx, bool *ret_deadline)
{
	struct sigstate *st = &ctx->signals;
	unsigned int head, tail;

	if (!st->pending)
		return false;
	/* clear first: a signal landing from here on sets it again */
	st->pending = 0;
	kick_in(st->kick_timer, 0);
	*ret_deadline = st->deadline_fired;
	st->deadline_fired = 0;
	head = __atomic_load_n(&st->ring_head, __ATOMIC_RELAXED);
	tail = __atomic_load_n(&st->ring_tail, __ATOMIC_ACQUIRE);
	for (; head != tail; head++) {
		struct event ev = { .kind = EV_SIGNAL, .si = st->ring[head % SIGNAL_RING] };

		ctx->signal_events[ctx->n_signal_events++] = ev;
		if (ctx->n_signal_events == SIGNAL_RING)
			break;
	}
	__atomic_store_n(&st->ring_head, head, __ATOMIC_RELEASE);
	return true;
}

/* after this many empty drains, drain only every DRAIN_PROBE_EVERY-th stop */
#define DRAIN_MISSES_MAX 4
#define DRAIN_PROBE_EVERY 16

/*
 * Poll for a stop for up to SPIN_NS before sleeping, when spin.h allows it:
 * a tracee in a syscall-dense stretch stops again within a few us of its
 * resume, and a tracer that is still running takes that stop without an
 * idle CPU's wake-up. sched_yield() lets a tracee that shares our CPU run.
 * Returns a stop's pid, 0 (nothing: sleep now) or -1 (a signal is pending).
 */
static pid_t spin_wait(struct tracer_ctx *ctx, int *status)
{
	uint64_t now_ns = sw_mono_ns(), until_ns;
	pid_t pid;

	if (!spin_should(&ctx->spin, now_ns))
		return 0;
	until_ns = now_ns + SPIN_NS;
	do {
		pid = wait_next(ctx, WNOHANG, status);
		if (pid != 0)
			break;
		if (__atomic_load_n(&ctx->signals.pending, __ATOMIC_RELAXED))
			return -1; /* take it now, not after the kick timer */
		sched_yield();
	} while (sw_mono_ns() < until_ns);
	spin_result(&ctx->spin, pid > 0);
	/* ECHILD, EINTR: the blocking wait4() says it again */
	return pid < 0 ? 0 : pid;
}

static const struct event *next_event(struct tracer_ctx *ctx)
{
	for (;;) {
		bool deadline = false;
		struct event ev = { .kind = EV_WAIT };
		pid_t pid;

		if (ctx->batch_pos < ctx->batch_len)
			return &ctx->batch[ctx->batch_pos++];
		ctx->batch_pos = ctx->batch_len = 0;

		if (take_signals(ctx, &deadline) || ctx->need_drain) {
			/* exit stops first, so a call that returned is not reported stuck */
			drain_wait(ctx);
			if (deadline)
				push(ctx,
				     &(struct event){ .kind = EV_TIMER, .ts_ns = sw_mono_ns() });
			for (size_t i = 0; i < ctx->n_signal_events; i++)
				push(ctx, &ctx->signal_events[i]);
			ctx->n_signal_events = 0;
			/*
			 * after take_signals(): a loader that finished later
			 * kicks again (reload_wake), so it is never missed
			 */
			if (reloader_ready(&ctx->reloader))
				push(ctx, &(struct event){ .kind = EV_RELOADED });
			continue;
		}
		if (ctx->no_children)
			return &done_event;

		pid = spin_wait(ctx, &ev.status);
		if (pid < 0)
			continue; /* a signal: take_signals() */
		/* the one place stallwatch sleeps; signals and the timer interrupt it */
		if (pid == 0)
			pid = wait_next(ctx, 0, &ev.status);
		if (pid > 0) {
			size_t queued = ctx->batch_len;

			collect(ctx, pid, ev.status);
			if (ctx->batch_len == queued)
				continue; /* a signal stop, already served */
			/*
			 * Gather what else is ready before acting (threads that
			 * stopped together are served in one pass, as strace
			 * does). When draining keeps finding nothing - one busy
			 * thread - the WNOHANG wait4 is a wasted syscall per stop:
			 * then probe only every DRAIN_PROBE_EVERY stops.
			 */
			if (ctx->drain_misses < DRAIN_MISSES_MAX ||
			    ++ctx->drain_probe % DRAIN_PROBE_EVERY == 0) {
				size_t before = ctx->batch_len;

				drain_wait(ctx);
				ctx->drain_misses =
					ctx->batch_len > before ? 0 : ctx->drain_misses + 1;
			}
		} else if (errno == ECHILD)
			ctx->no_children = true;
		else if (errno != EINTR) {
			sw_error_set(ctx->error, -errno, "wait4");
			return &error_event;
		}
	}
}

static bool dispatch(struct tracer_ctx *ctx, const struct event *ev)
{
	switch (ev->kind) {
	case EV_WAIT:
		on_wait(ctx, ev);
		return true;
	case EV_TIMER:
		if (ctx->detaching && ev->ts_ns >= ctx->detach_deadline_ns)
			return false; /* the kernel detaches what is left when we exit */
		on_timer(ctx, ev->ts_ns);
		if (ctx->detaching)
			ensure_timer(ctx, ctx->detach_deadline_ns);
		return true;
	case EV_SIGNAL:
		on_signal(ctx, &ev->si);
		return true;
	case EV_RELOADED:
		adopt_policy(ctx);
		return true;
	case EV_DONE:
	case EV_ERROR:
	default:
		return false;
	}
}

/* ---- setup -------------------------------------------------------------- */

/*
 * Signals stallwatch catches instead of dying of (handler: on_signal_handler):
 * SIGUSR1/SIGHUP/SIGUSR2 (reopen, reload, summary: ours everywhere), and
 * every other catchable signal, which `run` forwards to the command when it
 * was sent to stallwatch alone. A signal the caller had blocked stays
 * blocked and unread (strace's interactive_block case: the caller meant to
 * hold it).
 */
static int setup_signals(struct tracer_ctx *ctx, const sigset_t *caller_mask)
{
	/*
	 * Synchronous faults stay fatal; stop signals are job control (below);
	 * SIGCONT is never forwarded: the shell's `fg` sends it to the whole
	 * process group, the command included.
	 */
	static const int not_handled[] = { SIGKILL, SIGSTOP, SIGSEGV, SIGBUS,  SIGILL, SIGFPE,
					   SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE, SIGCONT };
	static const int ignored[] = { SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE };
	struct sigaction ign = { .sa_handler = SIG_IGN }, act = {};
	struct sigevent sev = {};
	sigset_t unblock;

	sigemptyset(&ctx->handled);
	for (int sig = 1; sig < NSIG; sig++) {
		bool skip = false;

		for (size_t i = 0; i < ARRAY_SIZE(not_handled); i++)
			skip |= sig == not_handled[i];
		/* glibc reserves 32 and 33 for its threads; sigaddset refuses them */
		if (skip || sig == SIGCHLD || sigismember(caller_mask, sig))
			continue;
		sigaddset(&ctx->handled, sig);
	}
	/*
	 * Job control: the terminal's SIGTSTP must not stop us before the
	 * command (we would leave it half-stopped); we stop after it instead.
	 * SIGPIPE: a closed log pipe is a sink error, not our death.
	 */
	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
		sigaction(ignored[i], &ign, NULL);

	/* no SA_RESTART: the signal must end the blocking wait4() with EINTR */
	act.sa_sigaction = on_signal_handler;
	act.sa_flags = SA_SIGINFO;
	act.sa_mask = ctx->handled; /* handlers never nest */
	sigaddset(&act.sa_mask, SIGRTMIN);

	ctx->signals.self_pid = ctx->self_pid;
	ctx->signals.command_pid = ctx->command_pid;
	ctx->signals.command_alive = ctx->mode == MODE_RUN && !ctx->command_exited;
	ctx->signals.drop_terminal_signals = ctx->mode == MODE_RUN;
	sigstate = &ctx->signals;
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN;
	sev.sigev_value.sival_int = TIMER_TAG_DEADLINE;
	if (timer_create(CLOCK_MONOTONIC, &sev, &ctx->signals.deadline_timer) < 0)
		return -errno;
	sev.sigev_value.sival_int = TIMER_TAG_KICK;
	if (timer_create(CLOCK_MONOTONIC, &sev, &ctx->signals.kick_timer) < 0) {
		int r = -errno;

		timer_delete(ctx->signals.deadline_timer);
		return r;
	}
	ctx->signals.timers_created = true;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGCHLD && sigismember(&ctx->handled, sig) == 1)
			sigaction(sig, &act, NULL);
	/* our timers' signal, even if the caller blocked SIGRTMIN */
	sigaction(SIGRTMIN, &act, NULL);
	/* what the caller left unblocked, and cli/ may have held back meanwhile */
	unblock = ctx->handled;
	sigaddset(&unblock, SIGRTMIN);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
	return 0;
}

static void teardown_signals(struct tracer_ctx *ctx)
{
	if (!ctx->signals.timers_created)
		return;
	/* deleting a timer also drops its queued signal (kernel/signal.c sigqueue_free) */
	timer_delete(ctx->signals.kick_timer);
	timer_delete(ctx->signals.deadline_timer);
	ctx->signals.timers_created = false;
}

/* The command owns our stdin/stdout: don't hold its pipes (strace's startup_child). */
static void release_stdio(void)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (devnull < 0)
		return;
	dup3(devnull, STDIN_FILENO, O_CLOEXEC);
	dup3(devnull, STDOUT_FILENO, O_CLOEXEC);
	if (devnull > STDERR_FILENO)
		close(devnull);
}

static void ctx_init_numbers(struct tracer_ctx *ctx)
{
	static const uint32_t scmp_arch[_POLICY_ABI_MAX] = {
		[POLICY_ABI_NATIVE] = SCMP_ARCH_X86_64,
		[POLICY_ABI_X86] = SCMP_ARCH_X86,
		[POLICY_ABI_X32] = SCMP_ARCH_X32,
	};

	for (int abi = 0; abi < _POLICY_ABI_MAX; abi++) {
		int nr = seccomp_syscall_resolve_name_arch(scmp_arch[abi], "restart_syscall");

		ctx->restart_nr[abi] = nr < 0 ? -1 : (int)(nr & ~(int)X32_SYSCALL_BIT);
	}
	ctx->ptrace_nr = syscall_nr("ptrace");
	ctx->clone_nr = syscall_nr("clone");
	ctx->clone3_nr = syscall_nr("clone3");
	ctx->exit_nr = syscall_nr("exit");
	ctx->exit_group_nr = syscall_nr("exit_group");
	ctx->sigreturn_nr = syscall_nr("rt_sigreturn");
	syscall_args_build(ctx->argmap);
}

static struct tracer_ctx *ctx_new(enum tracer_mode mode, const struct policy *policy,
				  struct recorder *recorder,
				  void (*warn_fn)(void *opaque, const char *line),
				  void *warn_opaque, struct sw_error *err)
{
	struct tracer_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->mode = mode;
	ctx->policy = policy;
	ctx->recorder = recorder;
	ctx->warn = warn_fn;
	ctx->warn_opaque = warn_opaque;
	ctx->error = err;
	ctx->fail_fd = -1;
	ctx->spin.loadavg_fd = -1; /* spin_init() runs once tracing starts */
	ctx->self_pid = getpid();
	ctx->self_tid = gettid();
	ctx_init_numbers(ctx);
	return ctx;
}

static void reload_init(struct tracer_ctx *ctx, struct policy *(*build)(void *opaque),
			void (*done)(void *opaque, struct policy *np, bool adopted), void *opaque)
{
	ctx->reloader = (struct reloader){
		.build = build, .opaque = opaque, .wake = reload_wake, .wake_opaque = ctx
	};
	ctx->reload_done = done;
	ctx->reload_opaque = opaque;
}

/* The loop ended: a load still running is waited for and its policy dropped. */
static void reload_done(struct tracer_ctx *ctx)
{
	struct policy *np = reloader_finish(&ctx->reloader);

	if (np && ctx->reload_done)
		ctx->reload_done(ctx->reload_opaque, np, false);
}

static void result_from_status(struct tracer_ctx *ctx, struct tracer_result *ret)
{
	struct spawn_failure failure = {};

	ret->stats = ctx->stats;
	if (!ctx->command_execed &&
	    read(ctx->fail_fd, &failure, sizeof(failure)) == (ssize_t)sizeof(failure)) {
		ret->outcome = TRACER_EXEC_FAILED;
		ret->code = failure.err;
		ret->failed_stage = failure.stage;
		return;
	}
	if (WIFSIGNALED(ctx->command_status)) {
		ret->outcome = TRACER_SIGNALED;
		ret->code = WTERMSIG(ctx->command_status);
	} else {
		ret->outcome = TRACER_EXITED;
		ret->code = WEXITSTATUS(ctx->command_status);
	}
}

int tracer_run(const struct tracer_run_options *opts, struct tracer_result *ret,
	       struct sw_error *err)
{
	_cleanup_seccomp_ scmp_filter_ctx filter = NULL;
	_cleanup_free_ struct tracer_ctx *ctx =
		ctx_new(MODE_RUN, opts->policy, opts->recorder, opts->warn, opts->warn_opaque, err);
	struct tracee *command;
	sigset_t caller_mask;
	int r;

	if (!ctx)
		return sw_error_set(err, -ENOMEM, "out of memory");
	ctx->follow_forks = true;

	reload_init(ctx, opts->reload_build, opts->reload_done, opts->reload_opaque);
	ctx->summary = opts->summary;
	ctx->durations = recorder_wants_durations(opts->recorder);
	ctx->filter_set = opts->policy->watched;
	r = filter_build(&opts->policy->watched, !filter_have_cap_sys_admin(), &filter, err);
	if (r < 0)
		return r;
	r = tracee_table_init(&ctx->tracees);
	if (r < 0)
		return sw_error_set(err, r, "out of memory");

	/* The fork happens before any signal setup of ours: the command inherits the caller's. */
	sigprocmask(SIG_SETMASK, NULL, &caller_mask);
	r = spawn_traced(opts, filter, &ctx->command_pid, &ctx->fail_fd, err);
	if (r < 0)
		goto out;
	command = tracee_add(&ctx->tracees, ctx->command_pid);
	if (!command) {
		r = sw_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	command->pre_exec = true;
	ctx->need_drain = true;

	r = setup_signals(ctx, &caller_mask);
	if (r < 0) {
		sw_error_set(err, r, "signal setup");
		goto out;
	}
	release_stdio();
	sample_sched(ctx, sw_mono_ns());
	/*
	 * No writer thread yet: the first record starts it (after the fork, so
	 * the command was forked single-threaded), and it ends when idle
	 * (record/output.h).
	 */
	spin_init(&ctx->spin);

	while (dispatch(ctx, next_event(ctx)))
		note_tracees(ctx);
	if (!ctx->no_children) {
		/* stallwatch failed; EXITKILL takes the command down with us */
		r = err->code ? err->code : -EIO;
		for (size_t i = 0; i < ctx->tracees.capacity; i++) {
			struct tracee *t = tracee_at(&ctx->tracees, i);

			if (t)
				on_death_in_call(ctx, t, sw_mono_ns());
		}
		goto out;
	}
	result_from_status(ctx, ret);
	r = 0;
out:
	reload_done(ctx); /* before teardown_signals(): it kicks the timer */
	spin_done(&ctx->spin);
	tracee_table_done(&ctx->tracees);
	ratelimit_free(&ctx->ratelimit);
	if (ctx->fail_fd >= 0)
		close(ctx->fail_fd);
	teardown_signals(ctx);
	sigstate = NULL;
	return r;
}

/* attach_process() hands us each thread it seized. */
static int add_seized(void *opaque, pid_t tid, int syscall_nr)
{
	struct tracer_ctx *ctx = opaque;
	struct tracee *t = tracee_find(&ctx->tracees, tid);

	if (!t)
		t = tracee_add(&ctx->tracees, tid);
	if (!t)
		return -ENOMEM;
	t->first_after_attach = true;
	t->attach_syscall_nr = syscall_nr;
	return 0;
}

int tracer_attach(const struct tracer_attach_options *opts, struct tracer_result *ret,
		  struct sw_error *err)
{
	_cleanup_free_ struct tracer_ctx *ctx =
		ctx_new(MODE_ATTACH, opts->policy, opts->recorder, opts->warn, opts->opaque, err);
	/* no EXITKILL: if we die, the kernel detaches and the targets live on */
	long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;
	size_t attached = 0;
	sigset_t caller_mask;
	int r;

	if (!ctx)
		return sw_error_set(err, -ENOMEM, "out of memory");
	ctx->follow_forks = opts->follow_forks;
	reload_init(ctx, opts->reload_build, opts->reload_done, opts->reload_opaque);
	ctx->summary = opts->summary;
	ctx->durations = recorder_wants_durations(opts->recorder);
	if (opts->follow_forks)
		options |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	r = tracee_table_init(&ctx->tracees);
	if (r < 0)
		return sw_error_set(err, r, "out of memory");

	/* before seizing anything, so a Ctrl-C during a long attach detaches cleanly */
	if (opts->caller_mask)
		caller_mask = *opts->caller_mask;
	else
		sigprocmask(SIG_SETMASK, NULL, &caller_mask);
	r = setup_signals(ctx, &caller_mask);
	if (r < 0) {
		sw_error_set(err, r, "signal setup");
		goto out;
	}

	for (size_t i = 0; i < opts->n_pids; i++) {
		struct sw_error perr = {};
		char comm[PROCINFO_COMM_MAX];
		int n = 0;

		r = attach_check_target(opts->pids[i], comm, sizeof(comm), &perr);
		if (r == 0) {
			bool known = traced_tgid(ctx, opts->pids[i]);

			r = add_tgid(ctx, opts->pids[i]);
			if (r == 0)
				r = n = attach_process(opts->pids[i], options, add_seized, ctx,
						       &perr);
			/*
			 * Refused: not a target, so a thread attach_process() could not
			 * give back in time is detached at its first stop (adopt_unknown)
			 */
			if (r < 0 && !known)
				drop_tgid(ctx, opts->pids[i]);
		}
		if (r < 0) {
			if (opts->failed)
				opts->failed(opts->opaque, &perr);
			sw_error_set(err, r, "%s", perr.msg);
			continue;
		}
		attached++;
		if (opts->attached)
			opts->attached(opts->opaque, opts->pids[i], comm, n);
	}
	if (!attached) {
		r = err->code ? err->code : -ESRCH;
		goto out;
	}
	sw_error_clear(err);
	ctx->need_drain = true;
	sample_sched(ctx, sw_mono_ns());

	spin_init(&ctx->spin);
	while (dispatch(ctx, next_event(ctx)))
		note_tracees(ctx);
	if (!ctx->no_children && !ctx->detaching) {
		r = err->code ? err->code : -EIO;
		goto out;
	}
	ret->outcome = TRACER_EXITED;
	ret->code = 0;
	ret->stats = ctx->stats;
	r = 0;
out:
	reload_done(ctx); /* before teardown_signals(): it kicks the timer */
	spin_done(&ctx->spin);
	tracee_table_done(&ctx->tracees);
	ratelimit_free(&ctx->ratelimit);
	free(ctx->tgids);
	teardown_signals(ctx);
	sigstate = NULL;
	return r;
}
