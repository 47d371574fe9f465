/* SPDX-License-Identifier: MIT */
/*
 * storm.c - ENOENT storms for the lifecycle (storm.h).
 */
#include "storm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../common/macro.h"
#include "../common/timeutil.h"
#include "lifecycle.h"
#include "procinfo.h"

/* ---- records ----------------------------------------------------------------- */

static void submit(struct storm *s, struct enoent_entry *e, struct record_enoent *evp);

/* The latest few names of e, oldest first, into samples; returns how many. */
static size_t latest_samples(const struct enoent_entry *e, const char *samples[ENOENT_SAMPLES])
{
	uint32_t first = e->c.next_sample > ENOENT_SAMPLES ? e->c.next_sample - ENOENT_SAMPLES : 0;
	size_t n = 0;

	for (uint32_t i = first; i < e->c.next_sample; i++)
		samples[n++] = e->c.sample[i % ENOENT_SAMPLES];
	return n;
}

static void emit(struct storm *s, struct enoent_entry *e, uint64_t now_ns, const char *note)
{
	struct lifecycle *lc = s->lc;
	const struct policy_enoent *conf = &lc->policy->enoent;
	const char *samples[ENOENT_SAMPLES];
	struct record_enoent ev = {
		.level = conf->level ?: "warning",
		.rule_name = POLICY_ENOENT_RULE,
		.directory = e->directory,
		.dir_dev = e->key.dev,
		.dir_ino = e->key.ino,
		.start_mono_ns = e->storm_start_ns,
		.last_mono_ns = e->c.last_ns > e->storm_start_ns ? e->c.last_ns : e->storm_start_ns,
		.event_mono_ns = now_ns,
		.distinct = (uint64_t)llround(enoent_sketch_estimate(e->storm_names.reg)),
		.count = e->c.count - e->storm_count_base,
		.peak_per_s = e->storm_peak_per_s,
		.threshold_per_s = s->det.conf.distinct_per_s,
		.window_ns = s->det.conf.window_ns,
		.distinct_error_pct = 104.0 / sqrt(ENOENT_REGISTERS),
		.total_distinct = (uint64_t)llround(enoent_sketch_estimate(e->c.total)),
		.total_count = e->c.count,
		.tracked_since_mono_ns = e->c.first_ns,
		.evictions = s->det.evictions,
		.backend = lc->backend_name,
		.note = note,
	};
	double span_s = (double)(ev.last_mono_ns - ev.start_mono_ns) / 1e9;

	/* a storm of one slice: its rate is at least what the slice says */
	if (span_s < (double)s->det.slice_ns / 1e9)
		span_s = (double)s->det.slice_ns / 1e9;
	ev.rate_per_s = (double)ev.distinct / span_s;
	if (ev.distinct > ev.count)
		ev.distinct = ev.count; /* an estimate above what was counted says nothing more */
	ev.n_samples = latest_samples(e, samples);
	ev.samples = samples;
	submit(s, e, &ev);
	enoent_closed(&s->det, e, now_ns);
	free(e->info);
	e->info = NULL;
}

/*
 * The slow storm (distinct_per_day): as many distinct failed names within
 * a day as the policy allows, whatever the rate. Its record covers the
 * day so far: event.start is when that day began.
 */
static void emit_day(struct storm *s, struct enoent_entry *e, uint64_t now_ns)
{
	const struct policy_enoent *conf = &s->lc->policy->enoent;
	const char *samples[ENOENT_SAMPLES];
	uint64_t total = (uint64_t)llround(enoent_sketch_estimate(e->c.total));
	struct record_enoent ev = {
		.level = conf->level ?: "warning",
		.rule_name = POLICY_ENOENT_RULE,
		.trigger = "day",
		.directory = e->directory,
		.dir_dev = e->key.dev,
		.dir_ino = e->key.ino,
		.start_mono_ns = e->day_start_ns,
		.last_mono_ns = e->c.last_ns > e->day_start_ns ? e->c.last_ns : e->day_start_ns,
		.event_mono_ns = now_ns,
		.distinct = total > e->day_base_distinct ? total - e->day_base_distinct : 0,
		.count = e->c.count - e->day_base_count,
		.threshold_per_s = (double)conf->distinct_per_day / 86400.0,
		.window_ns = POLICY_ENOENT_DAY_NS,
		.distinct_error_pct = 104.0 / sqrt(ENOENT_REGISTERS),
		.total_distinct = total,
		.total_count = e->c.count,
		.tracked_since_mono_ns = e->c.first_ns,
		.evictions = s->det.evictions,
		.backend = s->lc->backend_name,
	};
	double span_s = (double)(ev.last_mono_ns - ev.start_mono_ns) / 1e9;

	if (ev.distinct > ev.count)
		ev.distinct = ev.count;
	ev.rate_per_s = span_s > 1.0 ? (double)ev.distinct / span_s : (double)ev.distinct;
	ev.peak_per_s = ev.rate_per_s;
	ev.n_samples = latest_samples(e, samples);
	ev.samples = samples;
	submit(s, e, &ev);
	enoent_day_closed(&s->det, e, now_ns);
	if (!e->storm) {
		free(e->info);
		e->info = NULL;
	}
}

/* The process of e's record, then the record. */
static void submit(struct storm *s, struct enoent_entry *e, struct record_enoent *evp)
{
	struct lifecycle *lc = s->lc;
	struct record_enoent ev = *evp;

	ev.proc.pid = (pid_t)e->key.tgid;
	if (e->info) {
		ev.proc.vpid = e->info->vpid;
		ev.proc.name = e->info->comm;
		ev.proc.executable = e->info->exe[0] ? e->info->exe : NULL;
		ev.proc.command_line = e->info->cmdline_len ? e->info->cmdline : NULL;
		ev.proc.command_line_len = e->info->cmdline_len;
		ev.proc.cgroup = e->info->cgroup[0] ? e->info->cgroup : NULL;
	} else if (e->c.comm[0]) {
		/* gone before it was read: the name the kernel kept (bpf) */
		ev.proc.name = e->c.comm;
	}
	if (recorder_enoent(lc->recorder, &ev) < 0)
		lc->stats.records_dropped++;
	else
		lc->stats.records++;
}

/* The detector drops a pair with an open storm for room: its record first. */
static void flush_evicted(void *opaque, struct enoent_entry *e)
{
	struct storm *s = opaque;

	emit(s, e, sw_mono_ns(), "reported early: the directory table was full");
}

static void release(void *opaque, struct enoent_entry *e)
{
	(void)opaque;
	free(e->directory);
	free(e->info);
	e->directory = NULL;
	e->info = NULL;
}

/* ---- the detector's life ----------------------------------------------------- */

static void set_counted(struct storm *s)
{
	struct syscall_set calls;

	policy_enoent_calls(&calls);
	for (int nr = 0; nr < SW_MAX_NR; nr++)
		s->counted[nr] = syscall_set_has(&calls, nr);
}

struct storm *storm_new(struct lifecycle *lc)
{
	struct storm *s;

	if (!lc->policy->enoent.enabled)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (enoent_init(&s->det, &lc->policy->enoent) < 0) {
		free(s);
		return NULL;
	}
	s->lc = lc;
	s->det.flush = flush_evicted;
	s->det.release = release;
	s->det.flush_opaque = s;
	set_counted(s);
	return s;
}

void storm_free(struct storm *s)
{
	uint64_t now_ns;

	if (!s)
		return;
	now_ns = sw_mono_ns();
	for (uint32_t i = 0; i < s->det.n_alloc; i++) {
		struct enoent_entry *e = enoent_at(&s->det, i);

		if (!e)
			continue;
		enoent_check(&s->det, e, now_ns, true);
		if (e->ignored)
			continue;
		enoent_check_day(&s->det, e, now_ns);
		if (e->day_due)
			emit_day(s, e, now_ns);
		if (e->storm)
			emit(s, e, now_ns, "reported early: tracing ended");
	}
	enoent_done(&s->det);
	free(s);
}

void storm_set_policy(struct storm *s)
{
	enoent_set_conf(&s->det, &s->lc->policy->enoent);
}

/* ---- directories ------------------------------------------------------------- */

/* base + "/" + dir (dir_len bytes; none when 0), without a doubled slash */
static char *join_dir(const char *base, const char *dir, size_t dir_len)
{
	char *out = NULL;
	size_t blen = strlen(base);

	if (dir_len == 0)
		return strdup(base[0] ? base : "/");
	if (dir[0] == '/')
		return strndup(dir, dir_len);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (asprintf(&out, "%.*s/%.*s", (int)blen, base, (int)dir_len, dir) < 0)
		return NULL;
	return out;
}

/* Is the directory one the policy reports (no `directories`: every one)? */
static bool wanted(const struct policy_enoent *conf, const char *dir)
{
	if (!conf->n_directories)
		return true;
	for (size_t i = 0; i < conf->n_directories; i++)
		if (dir && fnmatch(conf->directories[i], dir, 0) == 0)
			return true;
	return false;
}

/* ---- ptrace: a failed call ----------------------------------------------------- */

static void read_info(struct enoent_entry *e, pid_t tid)
{
	e->info = malloc(sizeof(*e->info));
	if (e->info && procinfo_read(tid, e->info) < 0) {
		free(e->info);
		e->info = NULL;
	}
}

static pid_t tgid_of(struct tracee *t)
{
	struct procstatus st;

	if (t->tgid <= 0 && procinfo_status(t->tid, &st) == 0 && st.tgid > 0)
		t->tgid = st.tgid;
	return t->tgid > 0 ? t->tgid : t->tid;
}

void storm_failed_call(struct storm *s, struct tracee *t, int native, uint64_t now_ns)
{
	struct lifecycle *lc = s->lc;
	const struct syscall_args *a = &lc->argmap[native];
	const struct traced_call *call = &t->call;
	struct enoent_key key = {};
	struct enoent_entry *e;
	const char *dir, *name;
	size_t dir_len, name_len;
	long dirfd = -1; /* -1: the cwd */
	bool is_new;

	s->failed_calls++;
	if (a->path_arg == ARG_NONE || procinfo_read_string(t->tid, call->args[(int)a->path_arg],
							    s->path, sizeof(s->path)) < 0) {
		s->unresolved++;
		return;
	}
	if (!enoent_split(s->path, &dir, &dir_len, &name, &name_len))
		return;
	key.tgid = (uint32_t)tgid_of(t);
	if (s->path[0] != '/') {
		if ((a->flags & SYSCALL_DIRFD) && (int)call->args[(int)a->fd_arg] != AT_FDCWD)
			dirfd = (long)(int)call->args[(int)a->fd_arg];
		/* the start directory by identity: a chdir or a reused fd number is another one */
		uint64_t dev, ino;

		if (procinfo_dir_id(t->tid, dirfd, &dev, &ino) < 0) {
			s->unresolved++;
			return;
		}
		key.dev = dev;
		key.ino = ino;
	}
	key.dirname_hash = dir_len ? enoent_hash(dir, dir_len) : 0;
	e = enoent_get(&s->det, &key, now_ns, &is_new);
	if (!e)
		return;
	if (is_new) {
		char base[PROCINFO_PATH_MAX] = "";

		if (s->path[0] != '/') {
			if (dirfd >= 0)
				procinfo_fd_path(t->tid, dirfd, base, sizeof(base));
			else
				procinfo_cwd(t->tid, base, sizeof(base));
		}
		e->directory = join_dir(base, dir, dir_len);
		snprintf(e->c.dirname, sizeof(e->c.dirname), "%.*s", (int)dir_len, dir);
		e->ignored = !wanted(&lc->policy->enoent, e->directory);
	}
	if (e->ignored)
		return;
	enoent_add(&e->c, s->det.slice_ns, now_ns, enoent_hash(name, name_len), name, name_len);
	if (e->storm)
		enoent_sketch_add(e->storm_names.reg, enoent_hash(name, name_len));
	/*
	 * The process as it is now, once a storm is possible (enough lookups
	 * in the window): by the record it may be gone.
	 */
	if (!e->info && enoent_plausible(&s->det, e, now_ns))
		read_info(e, t->tid);
	if (enoent_check_day(&s->det, e, now_ns)) {
		if (!e->info)
			read_info(e, t->tid);
		lc->ensure_timer(lc->timer_opaque, now_ns);
	}
	if (enoent_check(&s->det, e, now_ns, false))
		lc->ensure_timer(lc->timer_opaque, enoent_due_ns(&s->det, e));
	else if (!e->storm)
		/* a check put off: the timer makes it if no call does */
		lc->ensure_timer(lc->timer_opaque,
				 e->evaluated_ns + s->det.slice_ns / ENOENT_EVAL_PER_BUCKET);
}

/* ---- bpf: the kernel's counts -------------------------------------------------- */

/* A directory the kernel named by (dev, ino): the cwd, else an open fd of the process. */
static void resolve_kernel_dir(pid_t tgid, uint64_t dev, uint64_t ino, char *buf, size_t size)
{
	char path[64], link[PROCINFO_PATH_MAX];
	uint64_t d, i;
	DIR *fds;
	struct dirent *de;

	buf[0] = 0;
	if (procinfo_dir_id(tgid, -1, &d, &i) == 0 && d == dev && i == ino) {
		procinfo_cwd(tgid, buf, size);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", tgid);
	fds = opendir(path);
	if (!fds)
		goto unknown;
	while ((de = readdir(fds))) {
		long fd = strtol(de->d_name, NULL, 10);

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (procinfo_dir_id(tgid, fd, &d, &i) == 0 && d == dev && i == ino &&
		    procinfo_fd_path(tgid, fd, link, sizeof(link)) == 0) {
			snprintf(buf, size, "%s", link);
			break;
		}
	}
	closedir(fds);
	if (buf[0])
		return;
unknown:
	/* gone, or the fd closed: say which directory it was */
	snprintf(buf, size, "<dev %u:%u ino %llu>", major(dev), minor(dev),
		 (unsigned long long)ino);
}

void storm_kernel_counts(struct storm *s, const struct enoent_key *kkey,
			 const struct enoent_counts *c, uint64_t now_ns)
{
	struct enoent_key key = *kkey;
	struct enoent_entry *e;
	bool is_new, had_storm;
	uint64_t epoch = now_ns / s->det.slice_ns;

	/* the kernel's dev_t (include/linux/kdev_t.h) as stat(2) gives it */
	if (key.dev || key.ino)
		key.dev = makedev((unsigned)(kkey->dev >> 20), (unsigned)(kkey->dev & 0xfffff));
	e = enoent_get(&s->det, &key, now_ns, &is_new);
	if (!e)
		return;
	if (is_new) {
		char base[PROCINFO_PATH_MAX] = "";
		size_t dir_len = strnlen(c->dirname, sizeof(c->dirname));

		if (key.dev || key.ino)
			resolve_kernel_dir((pid_t)key.tgid, key.dev, key.ino, base, sizeof(base));
		e->directory = join_dir(base, c->dirname, dir_len);
		e->ignored = !wanted(&s->lc->policy->enoent, e->directory);
	}
	if (e->ignored)
		return;
	/* the kernel dropped the pair for room and began it again: what was counted is gone */
	if (!is_new && (c->count < e->c.count || c->first_ns != e->c.first_ns)) {
		if (e->storm)
			emit(s, e, now_ns, "reported early: the kernel's directory table was full");
		e->min_epoch = 0;
	}
	had_storm = e->storm;
	e->c = *c;
	if (had_storm) {
		uint8_t reg[ENOENT_REGISTERS] = {};

		/* the storm's names: the union of every window seen (ticks come every slice) */
		for (int i = 0; i < ENOENT_SLOTS; i++)
			if (c->epoch[i] <= epoch && epoch - c->epoch[i] <= ENOENT_BUCKETS &&
			    c->epoch[i] * s->det.slice_ns + s->det.slice_ns > e->storm_start_ns)
				enoent_sketch_merge(reg, c->slot[i]);
		enoent_sketch_merge(e->storm_names.reg, reg);
	}
	if (!e->info && enoent_plausible(&s->det, e, now_ns))
		read_info(e, (pid_t)key.tgid);
	enoent_check(&s->det, e, now_ns, true);
	if (enoent_check_day(&s->det, e, now_ns) && !e->info)
		read_info(e, (pid_t)key.tgid);
}

/* ---- producers under a directory --------------------------------------------------- */

/* Is path dir itself or below it (dir without trailing slashes, dir_len of it; "" is "/")? */
static bool under(const char *path, const char *dir, size_t dir_len)
{
	if (!path || path[0] != '/')
		return false;
	if (dir_len == 0)
		return true;
	return strncmp(path, dir, dir_len) == 0 && (path[dir_len] == 0 || path[dir_len] == '/');
}

size_t storm_top_under(struct storm *s, const char *dir, struct record_enoent_producer *out,
		       size_t max)
{
	size_t dir_len, n = 0;

	if (!s || !dir || dir[0] != '/' || max == 0)
		return 0;
	dir_len = strlen(dir);
	while (dir_len > 0 && dir[dir_len - 1] == '/')
		dir_len--;
	for (uint32_t i = 0; i < s->det.n_alloc; i++) {
		const struct enoent_entry *e = enoent_at(&s->det, i);
		struct record_enoent_producer p;
		size_t k;

		if (!e || e->ignored || !e->c.count || !under(e->directory, dir, dir_len))
			continue;
		p = (struct record_enoent_producer){ .pid = (pid_t)e->key.tgid,
						     .count = e->c.count };
		p.distinct = (uint64_t)llround(enoent_sketch_estimate(e->c.total));
		if (p.distinct > p.count)
			p.distinct = p.count; /* as in the storm record */
		/* insertion into the sorted top: most distinct first, then most failed lookups */
		for (k = n;
		     k > 0 && (out[k - 1].distinct < p.distinct ||
			       (out[k - 1].distinct == p.distinct && out[k - 1].count < p.count));
		     k--)
			if (k < max)
				out[k] = out[k - 1];
		if (k >= max)
			continue;
		snprintf(p.directory, sizeof(p.directory), "%s", e->directory);
		if (e->info)
			snprintf(p.name, sizeof(p.name), "%s", e->info->comm);
		else if (e->c.comm[0])
			snprintf(p.name, sizeof(p.name), "%.*s", (int)sizeof(e->c.comm), e->c.comm);
		out[k] = p;
		if (n < max)
			n++;
	}
	/* the name of a process read only now (no storm yet, ptrace): the few that are shown */
	for (size_t k = 0; k < n; k++) {
		struct procstatus st;

		if (!out[k].name[0] && procinfo_status(out[k].pid, &st) == 0)
			snprintf(out[k].name, sizeof(out[k].name), "%s", st.comm);
	}
	return n;
}

/* ---- due records ------------------------------------------------------------------ */

uint64_t storm_tick(struct storm *s, uint64_t now_ns)
{
	for (uint32_t i = 0; i < s->det.n_alloc; i++) {
		struct enoent_entry *e = enoent_at(&s->det, i);

		if (!e || e->ignored)
			continue;
		/* names failed since the last estimate (the hot path estimates at most every slice/8) */
		if (!e->storm && e->c.last_ns > e->evaluated_ns &&
		    enoent_check(&s->det, e, now_ns, true) && !e->info)
			read_info(e, (pid_t)e->key.tgid);
		if (e->day_due)
			emit_day(s, e, now_ns);
		if (e->storm && enoent_due_ns(&s->det, e) <= now_ns)
			emit(s, e, now_ns, NULL);
	}
	return enoent_next_due_ns(&s->det);
}
