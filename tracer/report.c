/* SPDX-License-Identifier: MIT */
/*
 * report.c - a call that crossed its threshold becomes a record (report.h).
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cgroupscan/hostctx.h"
#include "../common/macro.h"
#include "../common/timeutil.h"
#include "../policy/wait.h"
#include "procinfo.h"
#include "storm.h"

/* Process identity, cached per tracee and refreshed when older than this. */
#define INFO_MAX_AGE_NS NSEC_PER_SEC

/* What a crossing call's rules and record need, read once. */
struct call_facts {
	int native; /* the number it is reported under (a resumed sleep's), -1 if unknown */
	const char *fd_path, *path;
	const char *abs_path; /* a relative path resolved against its dirfd or the cwd */
	const char *note;
	bool wait; /* %wait: blocks until an event by design */
	char fd_path_buf[PROCINFO_PATH_MAX];
	char path_buf[PROCINFO_PATH_MAX];
	char abs_path_buf[PROCINFO_PATH_MAX];
};

static void refresh_info(struct tracee *t, uint64_t now_ns)
{
	_cleanup_free_ struct procinfo *fresh = NULL;

	if (t->info && now_ns - t->info_ns < INFO_MAX_AGE_NS)
		return;
	fresh = malloc(sizeof(*fresh));
	if (!fresh)
		return;
	/*
	 * bpf reports a call after its end: the thread may be gone while its
	 * process lives on (the process-wide identity is still there, the
	 * thread's name is not), or gone with it: then what was read last (at
	 * its stuck record) stays.
	 */
	if (procinfo_read(t->tid, fresh) < 0) {
		if (t->tgid <= 0 || t->tgid == t->tid || procinfo_read(t->tgid, fresh) < 0)
			return;
		fresh->thread_comm[0] = 0;
	}
	free(t->info);
	t->info = fresh;
	fresh = NULL;
	t->info_ns = now_ns;
}

/* posix_spawn(3) uses clone3(CLONE_VFORK): flags are the first u64 of struct clone_args. */
static bool clone3_is_vfork(pid_t tid, uint64_t args_addr)
{
	uint64_t flags = 0;

	return procinfo_read_u64(tid, args_addr, &flags) == 0 && (flags & CLONE_VFORK);
}

/*
 * keep_fd_path: the call is still in flight (stuck): keep its fd path for
 * its slow record, by when the fd may be closed (notify learns of the end
 * from the next call, often that close).
 */
static void gather_facts(struct lifecycle *lc, struct tracee *t, struct call_facts *f,
			 const char *note, bool keep_fd_path)
{
	const struct traced_call *call = &t->call;
	const struct syscall_args *a;

	f->native = call->name_nr >= 0 ? call->name_nr : call->native;
	f->fd_path = f->path = f->abs_path = NULL;
	f->note = note;
	refresh_info(t, sw_mono_ns());
	if (f->native < 0 || call->native < 0)
		return;
	a = &lc->argmap[call->native];
	if (a->fd_arg != ARG_NONE) {
		long fd = (long)(int)call->args[(int)a->fd_arg];

		if (t->entry_fd_valid)
			f->fd_path = t->entry_fd_path;
		else if (!((a->flags & SYSCALL_DIRFD) && fd == AT_FDCWD) &&
			 procinfo_fd_path(t->tid, fd, f->fd_path_buf, sizeof(f->fd_path_buf)) ==
				 0) {
			f->fd_path = f->fd_path_buf;
			if (keep_fd_path && !t->entry_fd_path)
				t->entry_fd_path = malloc(PROCINFO_PATH_MAX);
			if (keep_fd_path && t->entry_fd_path) {
				memcpy(t->entry_fd_path, f->fd_path_buf, PROCINFO_PATH_MAX);
				t->entry_fd_valid = true;
			}
		}
	}
	if (a->path_arg != ARG_NONE && call->given_path)
		snprintf(f->path_buf, sizeof(f->path_buf), "%s", call->given_path);
	if (a->path_arg != ARG_NONE &&
	    (call->given_path || procinfo_read_string(t->tid, call->args[(int)a->path_arg],
						      f->path_buf, sizeof(f->path_buf)) >= 0)) {
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
		      (call->native == lc->clone_nr && (call->args[0] & CLONE_VFORK)) ||
		      (call->native == lc->clone3_nr && clone3_is_vfork(t->tid, call->args[0]))))
		f->note = "waiting for vfork child";
}

/* policy/wait.h's lookups for one traced thread, through /proc and its memory */
static enum fd_kind probe_fd_kind(void *opaque, int fd)
{
	const struct tracee *t = opaque;

	return procinfo_fd_kind(t->tid, fd, NULL);
}

static int probe_read_u64(void *opaque, uint64_t addr, uint64_t *ret)
{
	const struct tracee *t = opaque;

	return procinfo_read_u64(t->tid, addr, ret);
}

/*
 * Is the call a wait (policy/wait.h)? Decided once per call, on the slow
 * path only: at most a readlink and a stat of its fd.
 */
static bool decide_wait(struct tracee *t)
{
	struct traced_call *call = &t->call;
	int native = call->name_nr >= 0 ? call->name_nr : call->native;

	if (call->wait >= 0)
		return call->wait;
	/*
	 * A call resumed as restart_syscall (named by what it resumes) has
	 * no arguments of its own; only sleeps, polls and futex waits resume
	 * that way (kernel/time/hrtimer.c, kernel/futex/waitwake.c).
	 */
	if (call->native >= 0 && syscall_wait_kind(call->native) == WAIT_ALWAYS)
		call->wait = 1;
	else if (native < 0)
		call->wait = 0;
	else {
		struct wait_lookup lookup = { .fd_kind = probe_fd_kind,
					      .read_u64 = probe_read_u64,
					      .opaque = t };

		call->wait = syscall_call_is_wait(native, call->args, &lookup);
	}
	return call->wait;
}

static const char *call_name(const struct traced_call *call, int native, char **owned)
{
	*owned = NULL;
	if (native >= 0 && syscall_name(native))
		return syscall_name(native);
	if (!call->abi_ok)
		return "unknown";
	if (call->abi == POLICY_ABI_NATIVE)
		return syscall_name(call->index) ?: "unknown";
	*owned = seccomp_syscall_resolve_num_arch(
		call->abi == POLICY_ABI_X86 ? SCMP_ARCH_X86 : SCMP_ARCH_X32, (int)call->nr);
	return *owned ?: "unknown";
}

static const char *end_seen_name(enum call_end_seen seen)
{
	switch (seen) {
	case END_SEEN_NEXT_CALL:
		return RECORD_END_NEXT_CALL;
	case END_SEEN_PROC_SAMPLE:
		return RECORD_END_PROC_SAMPLE;
	case END_SEEN_CPU_TIME:
		return RECORD_END_CPU_TIME;
	case END_SEEN_THREAD_EXIT:
		return RECORD_END_THREAD_EXIT;
	case END_SEEN_EXACT:
	default:
		return NULL;
	}
}

static const char *evidence_name(enum call_evidence evidence)
{
	switch (evidence) {
	case EVIDENCE_PROC_SYSCALL:
		return RECORD_INFLIGHT_PROC_SYSCALL;
	case EVIDENCE_CPU_TIME:
		return RECORD_INFLIGHT_CPU_TIME;
	case EVIDENCE_STATE:
		return RECORD_INFLIGHT_STATE;
	case EVIDENCE_NONE:
	default:
		return NULL;
	}
}

/*
 * stallwatch.host: the host signals that bear on this call
 * (cgroupscan/hostctx.h), or NULL. Never waits for a host sample: under
 * ptrace the thread waits in its exit stop while this runs.
 */
static struct record_call_host *call_host(struct lifecycle *lc, const struct tracee *t,
					  const struct call_facts *f)
{
	struct record_call_host *host;
	struct hostctx_call c;

	if (!lc->hostctx)
		return NULL;
	host = malloc(sizeof(*host));
	if (!host)
		return NULL;
	c = (struct hostctx_call){
		.nr = f->native,
		.args = t->call.args,
		.fd_path = f->fd_path,
		.path = f->abs_path ?: f->path,
		.wait = f->wait,
	};
	if (!hostctx_for_call(lc->hostctx, &c, sw_mono_ns(), host)) {
		free(host);
		return NULL;
	}
	/* a directory walk: who filled that directory with negative dentries (storm.h) */
	if (host->has_dentry && lc->storm) {
		const char *dir = c.path && c.path[0] == '/' ? c.path : c.fd_path;

		if (dir && dir[0] == '/') {
			host->has_enoent = true;
			snprintf(host->enoent_directory, sizeof(host->enoent_directory), "%s", dir);
			host->n_enoent_top = storm_top_under(lc->storm, dir, host->enoent_top,
							     RECORD_ENOENT_TOP_MAX);
		}
	}
	return host;
}

static void emit(struct lifecycle *lc, struct tracee *t, const struct policy_rule *rule,
		 const struct call_facts *f, const struct report_call *rc, uint64_t event_ns)
{
	const struct traced_call *call = &t->call;
	_cleanup_free_ char *owned_name = NULL;
	_cleanup_free_ struct record_call_host *host = call_host(lc, t, f);
	_cleanup_free_ struct record_evidence *evidence = NULL;
	bool stuck = strcmp(rc->action, "stuck-syscall") == 0;
	struct record_syscall ev = {
		.action = rc->action,
		.rule_name = rule->name,
		.level = rule->level,
		.tags = (const char *const *)rule->tags,
		.n_tags = rule->n_tags,
		.nr = call->name_nr >= 0 ? call->name_nr : (long)call->nr,
		.has_ret = rc->has_ret,
		.ret = rc->ret,
		.start_mono_ns = call->start_ns,
		.event_mono_ns = event_ns,
		.duration_ns = rc->duration_ns,
		.threshold_ns = rule->min_duration_ns,
		.sched_delay_ns = rc->sched_delay_ns,
		.sched_delay_known = rc->sched_delay_known,
		.partial = call->partial,
		.wait = f->wait,
		.note = f->note,
		.fd_path = f->fd_path,
		.path = f->path,
		.backend = lc->backend_name,
		.approximate = rc->approximate,
		.has_duration_max = rc->has_duration_max,
		.duration_max_ns = rc->duration_max_ns,
		.end_seen = end_seen_name(rc->seen),
		.inflight_evidence = evidence_name(call->evidence),
		.host = host,
	};

	ev.name = call_name(call, call->name_nr, &owned_name);
	memcpy(ev.args, call->args, sizeof(ev.args));
	ev.proc.tid = t->tid;
	ev.proc.pid = t->tgid > 0 ? t->tgid : t->tid;
	if (t->info) {
		ev.proc.pid = t->info->tgid;
		ev.proc.vpid = t->info->vpid;
		ev.proc.name = t->info->comm;
		ev.proc.thread_name = t->info->thread_comm[0] ? t->info->thread_comm : NULL;
		ev.proc.executable = t->info->exe[0] ? t->info->exe : NULL;
		ev.proc.command_line = t->info->cmdline_len ? t->info->cmdline : NULL;
		ev.proc.command_line_len = t->info->cmdline_len;
		ev.proc.cgroup = t->info->cgroup[0] ? t->info->cgroup : NULL;
	}
	/* where the time went: slow path, for a record a rule fired only */
	/* a stuck call's figures as of the moment its duration stands for */
	if (lc->evidence && (evidence = calloc(1, sizeof(*evidence))) &&
	    lc->evidence->fill(lc->evidence->opaque, t, stuck, call->start_ns + rc->duration_ns,
			       evidence))
		ev.evidence = evidence;
	if (recorder_syscall(lc->recorder, &ev) < 0)
		lc->stats.records_dropped++;
	else
		lc->stats.records++;
}

bool report_call(struct lifecycle *lc, struct tracee *t, const struct report_call *rc,
		 uint64_t *ret_next_ns)
{
	_cleanup_free_ struct call_facts *f = NULL;
	struct policy_process proc = {};
	const struct policy_rule *rule;
	bool stuck = strcmp(rc->action, "stuck-syscall") == 0;
	bool wait = decide_wait(t);
	uint64_t event_ns = rc->event_ns;
	struct policy_call pc;

	if (ret_next_ns)
		*ret_next_ns = POLICY_UNWATCHED;
	/*
	 * A wait no rule takes (the pure default's idle futexes and reads of
	 * sockets) ends here, before the /proc reads of its facts.
	 */
	if (wait && t->call.name_nr < 0 && t->call.native >= 0 &&
	    !syscall_set_has_call(&lc->policy->watched, t->call.native, true))
		return false;
	/*
	 * Found in flight at its deadline: the /proc backends' evidence
	 * (procevidence.h) samples it now, before the facts' reads, and again
	 * at its end; records of this call draw on both.
	 */
	if (rc->in_flight_now && lc->evidence && lc->evidence->sample) {
		lc->evidence->sample(lc->evidence->opaque, t, SAMPLE_AT_CROSSING, 0);
		t->call.sampled = true;
	}
	f = malloc(sizeof(*f));
	if (!f)
		return false;
	f->wait = wait;
	gather_facts(lc, t, f, rc->note, stuck);
	proc.tgid = t->info ? t->info->tgid : t->tgid > 0 ? t->tgid : t->tid;
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
		.duration_ns = rc->eff_duration_ns,
		.has_result = rc->has_ret,
		/* the kernel's error range: -4095..-1 (include/linux/err.h) */
		.failed = rc->has_ret && rc->ret < 0 && rc->ret >= -4095,
		.error = rc->has_ret && rc->ret < 0 && rc->ret >= -4095 ? (int)-rc->ret : 0,
		.proc = &proc,
		.parent_of = procinfo_policy_parent,
		.opaque = lc,
	};
	rule = policy_match(lc->policy, &pc, ret_next_ns);
	if (!rule)
		return false;

	/* a stuck+slow pair is one incident: its slow record follows its stuck record's fate */
	if (!stuck && t->stuck_reported) {
		/* counted once, with the stuck record: records-dropped counts calls */
		if (t->stuck_cut)
			return true;
	} else if (!ratelimit_take(&lc->ratelimit, proc.tgid,
				   (uint32_t)policy_rule_index(lc->policy, rule),
				   rule->rate_limit_per_min, sw_mono_ns())) {
		lc->stats.rate_limited++;
		recorder_dropped(lc->recorder, RECORD_DROP_RATE_LIMIT, rule->name, rc->action, 1);
		if (stuck)
			t->stuck_cut = true;
		return true;
	}
	if (stuck)
		event_ns = t->call.start_ns + rule->min_duration_ns;
	emit(lc, t, rule, f, rc, event_ns);
	return true;
}
