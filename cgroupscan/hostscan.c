/* SPDX-License-Identifier: MIT */
/*
 * hostscan.c - one host scan, its history and its alerts (see hostscan.h).
 * Thresholds: policy `scan` keys; the defaults and why in doc/scan.md (Thresholds).
 */
#include "hostscan.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/macro.h"
#include "../common/timeutil.h"
#include "trend.h"

#define _cleanup_json_ _cleanup_(json_decrefp)
/* a rate needs at least this much history (one timer period of a typical setup) */
#define MIN_RATE_SPAN_S 60.0

const char *const hostscan_psi_names[3] = { "cpu", "memory", "io" };

static double real_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void read_boot_id(char *buf, size_t size)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/* ---- state ------------------------------------------------------------- */

int hostscan_state_init(struct hostscan_state *st)
{
	*st = (struct hostscan_state){};
	st->slab = slab_history_new();
	if (!st->slab)
		return -ENOMEM;
	read_boot_id(st->boot_id, sizeof(st->boot_id));
	return 0;
}

void hostscan_state_free(struct hostscan_state *st)
{
	free(st->samples);
	slab_history_free(st->slab);
	*st = (struct hostscan_state){};
}

static void clear_history(struct hostscan_state *st)
{
	free(st->samples);
	st->samples = NULL;
	st->n_samples = 0;
	slab_history_free(st->slab);
	st->slab = slab_history_new();
	st->slab_t_s = st->walk_t_s = 0;
	st->walk_online = st->walk_ns = 0;
}

static bool get_u64(const json_t *o, const char *key, uint64_t *ret)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*ret = (uint64_t)json_integer_value(v);
	return true;
}

int hostscan_state_load(struct hostscan_state *st, const char *path, struct sw_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	const json_t *samples, *v, *walk;
	struct stat stb;
	char boot_id[64] = "";
	size_t i, len;
	int r;

	if (lstat(path, &stb) == 0 && !S_ISREG(stb.st_mode))
		/* it is replaced by rename(2) at save: never a device, fifo or symlink */
		return sw_error_set(
			err, -EINVAL,
			"--state %s: not a regular file (a symlink, device or directory "
			"would be replaced when the state is saved)",
			path);
	r = sw_read_file(path, HOSTSCAN_STATE_MAX_BYTES, &text, &len);
	if (r == -ENOENT)
		return 0; /* first run: no history yet */
	if (r < 0)
		/* a history we cannot read must not be replaced by an empty one */
		return sw_error_set(err, r, "%s: cannot read", path);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		sw_error_set(err, -EINVAL, "%s:%d:%d: %s (starting a new history)", path, jerr.line,
			     jerr.column, jerr.text);
		return 1;
	}
	v = json_object_get(root, "boot_id");
	if (json_is_string(v))
		snprintf(boot_id, sizeof(boot_id), "%s", json_string_value(v));
	if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != 1) {
		sw_error_set(err, -EINVAL,
			     "%s: not a stallwatch scan state (starting a new history)", path);
		return 1;
	}
	/* counts and rates of another boot say nothing about this one */
	if (st->boot_id[0] && strcmp(boot_id, st->boot_id) != 0)
		return 0;
	samples = json_object_get(root, "samples");
	json_array_foreach(samples, i, v)
	{
		struct hostscan_sample s = {};
		const json_t *t = json_object_get(v, "t");
		struct hostscan_sample *ns;

		if (!json_is_number(t))
			continue;
		s.t_s = json_number_value(t);
		s.has_offline = get_u64(v, "offline", &s.offline);
		s.has_negative = get_u64(v, "negative", &s.negative);
		s.has_squeeze = get_u64(v, "squeeze", &s.squeeze);
		ns = realloc(st->samples, (st->n_samples + 1) * sizeof(*ns));
		if (!ns)
			return sw_error_set(err, -ENOMEM, "out of memory");
		st->samples = ns;
		st->samples[st->n_samples++] = s;
	}
	v = json_object_get(root, "slab");
	if (v && slab_history_from_json(st->slab, v) < 0)
		clear_history(st);
	v = json_object_get(root, "slab_t");
	if (json_is_number(v))
		st->slab_t_s = json_number_value(v);
	walk = json_object_get(root, "walk");
	if (json_is_object(walk) && json_is_number(json_object_get(walk, "t")) &&
	    get_u64(walk, "online", &st->walk_online) && get_u64(walk, "ns", &st->walk_ns))
		st->walk_t_s = json_number_value(json_object_get(walk, "t"));
	return 0;
}

static void set_u64(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

int hostscan_state_save(const struct hostscan_state *st, const char *path, struct sw_error *err)
{
	_cleanup_json_ json_t *root = json_object();
	_cleanup_free_ char *tmp = NULL;
	json_t *samples = json_array(), *walk = json_object();
	int fd, r;

	if (!root || !samples || !walk) {
		json_decref(samples);
		json_decref(walk);
		return sw_error_set(err, -ENOMEM, "out of memory");
	}
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "boot_id", json_string(st->boot_id));
	for (size_t i = 0; i < st->n_samples; i++) {
		const struct hostscan_sample *s = &st->samples[i];
		json_t *o = json_object();

		json_object_set_new(o, "t", json_real(s->t_s));
		if (s->has_offline)
			set_u64(o, "offline", s->offline);
		if (s->has_negative)
			set_u64(o, "negative", s->negative);
		if (s->has_squeeze)
			set_u64(o, "squeeze", s->squeeze);
		json_array_append_new(samples, o);
	}
	json_object_set_new(root, "samples", samples);
	json_object_set_new(root, "slab", slab_history_to_json(st->slab));
	json_object_set_new(root, "slab_t", json_real(st->slab_t_s));
	json_object_set_new(walk, "t", json_real(st->walk_t_s));
	set_u64(walk, "online", st->walk_online);
	set_u64(walk, "ns", st->walk_ns);
	json_object_set_new(root, "walk", walk);

	if (asprintf(&tmp, "%s.tmp.%d", path, getpid()) < 0)
		return sw_error_set(err, -ENOMEM, "out of memory");
	/* errors name FILE, not the temporary file: FILE is what the user gave */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return sw_error_set(err, -errno, "%s: cannot write", path);
	errno = 0;
	if (json_dumpfd(root, fd, JSON_COMPACT) < 0 || fsync(fd) < 0)
		r = errno > 0 ? -errno : -EIO;
	else
		r = 0;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return sw_error_set(err, r, "%s: cannot write", path);
	}
	return 0;
}

/*
 * Keep at most HOSTSCAN_MAX_SAMPLES spread over keep_s: a sample closer than
 * keep_s / HOSTSCAN_MAX_SAMPLES to the one before the latest replaces the
 * latest, so a fast --interval thins the history instead of shortening it
 * (the rate must still see the whole growth window).
 */
static int add_sample(struct hostscan_state *st, const struct hostscan_sample *s, double keep_s)
{
	double step_s = keep_s / HOSTSCAN_MAX_SAMPLES;
	struct hostscan_sample *ns;

	if (st->n_samples >= 2 && s->t_s - st->samples[st->n_samples - 2].t_s < step_s) {
		st->samples[st->n_samples - 1] = *s;
		return 0;
	}
	while (st->n_samples >= HOSTSCAN_MAX_SAMPLES) {
		/* only a loaded state can be this full: drop the oldest */
		memmove(st->samples, st->samples + 1, (st->n_samples - 1) * sizeof(*st->samples));
		st->n_samples--;
	}
	ns = realloc(st->samples, (st->n_samples + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	st->samples = ns;
	st->samples[st->n_samples++] = *s;
	return 0;
}

static void prune_samples(struct hostscan_state *st, double now_s, double keep_s)
{
	size_t first = 0;

	while (first < st->n_samples && st->samples[first].t_s < now_s - keep_s)
		first++;
	if (!first)
		return; /* also: no history yet, samples is NULL */
	memmove(st->samples, st->samples + first, (st->n_samples - first) * sizeof(*st->samples));
	st->n_samples -= first;
}

/*
 * Growth per second of one sampled value over [now - window, now]: the
 * least-squares slope (robust to one noisy sample). False without enough
 * history (span < MIN_RATE_SPAN_S); *ret_span_s tells how much there was.
 */
static bool rate_over(const struct hostscan_state *st, double now_s, double window_s, int which,
		      double *ret_per_s, double *ret_span_s)
{
	_cleanup_free_ struct trend_point *p = calloc(st->n_samples + 1, sizeof(*p));
	struct trend_fit fit;
	size_t n = 0;

	if (!p)
		return false;
	for (size_t i = 0; i < st->n_samples; i++) {
		const struct hostscan_sample *s = &st->samples[i];
		bool has = which == 0 ? s->has_offline :
			   which == 1 ? s->has_negative :
					s->has_squeeze;
		uint64_t v = which == 0 ? s->offline : which == 1 ? s->negative : s->squeeze;

		if (!has || s->t_s < now_s - window_s)
			continue;
		p[n++] = (struct trend_point){ .t_s = s->t_s, .value = (double)v };
	}
	if (n < 2 || trend_fit(p, n, &fit) < 0 || fit.span_s < MIN_RATE_SPAN_S)
		return false;
	*ret_per_s = fit.slope_per_s;
	*ret_span_s = fit.span_s;
	return true;
}

/* ---- alerts ------------------------------------------------------------ */

static struct hostscan_alert *new_alert(struct hostscan_result *r, const char *action,
					const char *level, const char *rule)
{
	struct hostscan_alert *a;

	if (r->n_alerts == HOSTSCAN_MAX_ALERTS)
		return NULL;
	a = &r->alerts[r->n_alerts++];
	*a = (struct hostscan_alert){ .action = action, .level = level };
	snprintf(a->rule, sizeof(a->rule), "scan.%s", rule);
	return a;
}

void hostscan_alerts(const struct policy_scan *th, struct hostscan_result *r)
{
	double window_min = (double)th->growth_window_ns / 6e10;
	struct hostscan_alert *a;

	if (r->memcg_ok && r->memcg.counted) {
		const struct memcg_scan *m = &r->memcg;
		bool crit_level = m->offline > th->memcg_offline_critical;
		bool fast = r->has_offline_rate &&
			    r->offline_growth_per_min >= (double)th->memcg_offline_growth_per_min;
		/* critical when the growth lasted the whole window; a shorter burst warns */
		bool crit_rate = fast && r->offline_rate_span_s >= 0.9 * window_min * 60.0;
		bool crit_mem = r->meminfo_ok && r->mem.mem_total &&
				m->est_pinned_bytes > r->mem.mem_total / 100;
		bool warn_level =
			m->offline > th->memcg_offline_warning &&
			(double)m->offline > th->memcg_offline_warning_ratio * (double)m->online;

		if (crit_level || crit_rate || crit_mem || warn_level || fast) {
			a = new_alert(r, "memcg-offline",
				      crit_level || crit_rate || crit_mem ? "critical" : "warning",
				      crit_level ? "memcg_offline_critical" :
				      crit_rate	 ? "memcg_offline_growth_per_min" :
				      crit_mem	 ? "memcg_offline_critical" :
				      warn_level ? "memcg_offline_warning" :
						   "memcg_offline_growth_per_min");
			if (a) {
				snprintf(
					a->reason, sizeof(a->reason),
					"%llu offline memory cgroups (%llu online, %s); their own kernel "
					"structures take about %.1f MiB (estimate)",
					(unsigned long long)m->offline,
					(unsigned long long)m->online,
					cgadapter_kind_name(m->hierarchy),
					(double)m->est_pinned_bytes / (1024.0 * 1024.0));
				if (r->has_offline_rate) {
					size_t n = strlen(a->reason);

					snprintf(a->reason + n, sizeof(a->reason) - n,
						 ", %+.1f per minute over %.1f min",
						 r->offline_growth_per_min,
						 r->offline_rate_span_s / 60.0);
				}
				snprintf(
					a->next_step, sizeof(a->next_step),
					"find what creates and removes cgroups with page cache "
					"charged (a crash-looping container or agent); reclaim with "
					"%s on the parent of the dead cgroups; kernels before 4.19 make "
					"every memory.stat read walk them",
					m->hierarchy == MEMCG_V2 ? "memory.reclaim" :
								   "memory.force_empty");
			}
		}
	}
	if (r->memcg_ok && r->memcg.stat_reads &&
	    r->memcg.stat_read_max_ns >= th->memcg_stat_read_warning_ns) {
		bool crit = r->memcg.stat_read_max_ns >= th->memcg_stat_read_critical_ns;

		a = new_alert(r, "memcg-stat-slow", crit ? "critical" : "warning",
			      crit ? "memcg_stat_read_critical" : "memcg_stat_read_warning");
		if (a) {
			snprintf(a->reason, sizeof(a->reason),
				 "reading %.200s took %.3f ms (p50 %.3f ms over %llu files)",
				 r->memcg.stat_read_max_path,
				 (double)r->memcg.stat_read_max_ns / NSEC_PER_MSEC,
				 (double)r->memcg.stat_read_p50_ns / NSEC_PER_MSEC,
				 (unsigned long long)r->memcg.stat_reads);
			snprintf(a->next_step, sizeof(a->next_step),
				 "agents reading memory.stat (cadvisor, kubelet) stall as long; "
				 "check the offline memcg count, and watch them with `stallwatch "
				 "attach --name cadvisor`");
		}
	}
	if (r->dentry_ok && r->dentry.has_negative) {
		uint64_t neg = r->dentry.nr_negative;
		bool crit = neg > th->dentry_negative_critical;
		bool warn_level = neg > th->dentry_negative_warning;
		bool ratio = r->dentry.nr_dentry > th->dentry_negative_warning &&
			     (double)neg > 0.9 * (double)r->dentry.nr_dentry;
		bool warn_rate = r->has_negative_rate &&
				 r->negative_rate_per_s > (double)th->dentry_negative_growth_per_s;

		if (crit || warn_level || ratio || warn_rate) {
			a = new_alert(r, "negative-dentries", crit ? "critical" : "warning",
				      crit	 ? "dentry_negative_critical" :
				      warn_level ? "dentry_negative_warning" :
				      warn_rate	 ? "dentry_negative_growth_per_s" :
						   "dentry_negative_warning");
			if (a) {
				size_t n = (size_t)snprintf(
					a->reason, sizeof(a->reason),
					"%llu negative dentries of %llu (%.0f %%)",
					(unsigned long long)neg,
					(unsigned long long)r->dentry.nr_dentry,
					r->dentry.nr_dentry ?
						100.0 * (double)neg / (double)r->dentry.nr_dentry :
						0.0);
				if (r->has_negative_rate && n < sizeof(a->reason))
					snprintf(a->reason + n, sizeof(a->reason) - n,
						 ", %+.0f per second over %.0f min",
						 r->negative_rate_per_s, window_min);
				snprintf(
					a->next_step, sizeof(a->next_step),
					"a directory with a million negative children makes "
					"inotify_add_watch hold its lock ~0.15 s: find the process "
					"looking up missing names (`stallwatch run -e %%file` shows "
					"ENOENT paths); fs.dentry-negative does not help");
			}
		}
	}
	if (r->meminfo_ok && r->mem.mem_total) {
		double pct = 100.0 * (double)r->mem.sunreclaim / (double)r->mem.mem_total;

		if (pct > th->slab_unreclaimable_warning_pct) {
			bool crit = pct > th->slab_unreclaimable_critical_pct;

			a = new_alert(r, "slab-growth", crit ? "critical" : "warning",
				      crit ? "slab_unreclaimable_critical_pct" :
					     "slab_unreclaimable_warning_pct");
			if (a) {
				snprintf(a->reason, sizeof(a->reason),
					 "unreclaimable slab is %.1f %% of memory (%.1f MiB)", pct,
					 (double)r->mem.sunreclaim / (1024.0 * 1024.0));
				snprintf(a->next_step, sizeof(a->next_step),
					 "see the top growing caches in the host-scan records; "
					 "slabtop -s c");
			}
		}
	}
}

/* ---- the scan ----------------------------------------------------------- */

static void slab_part(const struct hostscan_options *o, struct hostscan_state *st, double now_s,
		      struct hostscan_result *r)
{
	_cleanup_free_ struct slab_cache *caches = NULL, *families = NULL;
	_cleanup_free_ struct slab_leak *leaks = NULL, *top = NULL;
	const struct policy_scan *th = o->thresholds;
	size_t n = 0, nf = 0, n_leaks = 0, n_top = 0;
	int e;

	if (st->slab_t_s && now_s - st->slab_t_s < SLABINFO_MIN_INTERVAL_S) {
		snprintf(r->slab_unavailable, sizeof(r->slab_unavailable),
			 "slabinfo sampled at most every %.0f s", SLABINFO_MIN_INTERVAL_S);
		goto trends;
	}
	e = slab_read(&caches, &n, &r->slab_read_ns);
	if (e < 0) {
		snprintf(r->slab_unavailable, sizeof(r->slab_unavailable), "/proc/slabinfo: %s",
			 strerror(-e));
		goto trends;
	}
	st->slab_t_s = now_s;
	r->slab_sampled = true;
	/*
	 * reclaim_account from sysfs costs ~6 us a cache (1.4 ms for all 235
	 * here): ask only for caches big enough to be tracked; the name
	 * patterns of slab_parse() answer for the rest.
	 */
	for (size_t i = 0; i < n; i++)
		if (!caches[i].reclaimable && caches[i].bytes >= SLAB_HISTORY_MIN_BYTES)
			caches[i].reclaimable = slab_is_reclaimable(o->slab_sysfs, caches[i].name);
	if (slab_aggregate(caches, n, &families, &nf) == 0)
		slab_history_add(st->slab, now_s, families, nf);
trends:
	slab_history_prune(st->slab, now_s, 7 * 24 * 3600.0);
	if (slab_history_top_growing(st->slab, HOSTSCAN_TOP_CACHES, &top, &n_top) == 0) {
		for (size_t i = 0; i < n_top && i < HOSTSCAN_TOP_CACHES; i++)
			r->top[i] = top[i];
		r->n_top = n_top < HOSTSCAN_TOP_CACHES ? n_top : HOSTSCAN_TOP_CACHES;
	}
	if (slab_history_leaks(st->slab, (double)th->slab_leak_min_span_ns / 1e9,
			       (double)th->slab_leak_min_bytes_per_hour, th->slab_leak_min_r2,
			       &leaks, &n_leaks) < 0)
		return;
	for (size_t i = 0; i < n_leaks; i++) {
		struct hostscan_alert *a;
		bool crit = r->meminfo_ok && r->mem.mem_total &&
			    leaks[i].bytes_now > r->mem.mem_total / 20;

		a = new_alert(r, "slab-growth", crit ? "critical" : "warning",
			      "slab_leak_min_bytes_per_hour");
		if (!a)
			break;
		snprintf(a->cache, sizeof(a->cache), "%s", leaks[i].family);
		snprintf(a->reason, sizeof(a->reason),
			 "unreclaimable slab cache %s grows %.1f MiB/h (R^2 %.2f over %.1f h, now "
			 "%.1f MiB): a kernel memory leak looks like this",
			 leaks[i].family, leaks[i].slope_bytes_per_hour / (1024.0 * 1024.0),
			 leaks[i].r2, leaks[i].span_s / 3600.0,
			 (double)leaks[i].bytes_now / (1024.0 * 1024.0));
		snprintf(a->next_step, sizeof(a->next_step),
			 "boot with slub_debug=U,%s and read /sys/kernel/debug/slab/%s/"
			 "alloc_traces for the allocating call site (or bcc memleak); if a "
			 "kernel update started it, bisect or revert",
			 leaks[i].family, leaks[i].family);
	}
}

int hostscan_run(const struct hostscan_options *o, struct hostscan_state *st,
		 struct hostscan_result *ret, struct sw_error *err)
{
	const char *proc_root = o->proc_root ?: "/proc";
	struct memcg_hierarchy_info h = {};
	struct memcg_options mo = { .proc_root = proc_root };
	struct hostscan_sample sample = {};
	const struct hostscan_sample *prev = NULL;
	uint64_t t0 = sw_mono_ns(), read_ns;
	double now_s = real_now_s(), per_s, span_s;
	double window_s = (double)o->thresholds->growth_window_ns / 1e9;
	int r;

	*ret = (struct hostscan_result){ .sample_mono_ns = t0 };
	sample.t_s = now_s;

	r = cgadapter_discover_memory(&h, err);
	if (r < 0) {
		snprintf(ret->memcg_error, sizeof(ret->memcg_error), "%s", err->msg);
		sw_error_clear(err);
	} else {
		double every_s = (double)st->walk_ns / 1e9 * 1000.0;

		if (every_s > HOSTSCAN_WALK_MAX_INTERVAL_S)
			every_s = HOSTSCAN_WALK_MAX_INTERVAL_S;
		mo.walk = !st->walk_t_s || now_s - st->walk_t_s >= every_s;
		mo.cached_online = st->walk_online;
		r = memcg_scan(&h, &mo, &ret->memcg, err);
		if (r < 0) {
			snprintf(ret->memcg_error, sizeof(ret->memcg_error), "%s", err->msg);
			sw_error_clear(err);
		} else {
			ret->memcg_ok = true;
			if (ret->memcg.walked) {
				st->walk_t_s = now_s;
				st->walk_online = ret->memcg.online;
				st->walk_ns = ret->memcg.walk_ns;
			}
			if (ret->memcg.counted) {
				sample.has_offline = true;
				sample.offline = ret->memcg.offline;
			}
		}
		cgadapter_hierarchy_free(&h);
	}

	if (procstats_dentry(proc_root, &ret->dentry, &read_ns) == 0) {
		ret->dentry_ok = true;
		if (ret->dentry.has_negative) {
			sample.has_negative = true;
			sample.negative = ret->dentry.nr_negative;
		}
	}
	ret->meminfo_ok = procstats_meminfo(proc_root, &ret->mem) == 0;
	if (procstats_softnet(proc_root, &ret->softnet) == 0) {
		ret->softnet_ok = true;
		sample.has_squeeze = true;
		sample.squeeze = ret->softnet.time_squeeze;
	}
	for (int i = 0; i < 3; i++)
		procstats_pressure(proc_root, hostscan_psi_names[i], &ret->psi[i]);
	if (!o->skip_slab)
		slab_part(o, st, now_s, ret);

	/* rates: the history before this sample, then this sample */
	for (size_t i = st->n_samples; i-- > 0;)
		if (st->samples[i].has_squeeze) {
			prev = &st->samples[i];
			break;
		}
	if (prev && sample.has_squeeze && sample.squeeze >= prev->squeeze) {
		ret->has_squeeze_delta = true;
		ret->squeeze_delta = sample.squeeze - prev->squeeze;
	}
	prune_samples(st, now_s, 2 * window_s);
	if (add_sample(st, &sample, 2 * window_s) < 0)
		return sw_error_set(err, -ENOMEM, "out of memory");
	if (rate_over(st, now_s, window_s, 0, &per_s, &span_s)) {
		ret->has_offline_rate = true;
		ret->offline_growth_per_min = per_s * 60.0;
		ret->offline_rate_span_s = span_s;
	}
	if (rate_over(st, now_s, window_s, 1, &per_s, &span_s)) {
		ret->has_negative_rate = true;
		ret->negative_rate_per_s = per_s;
	}
	hostscan_alerts(o->thresholds, ret);
	ret->scan_ns = sw_mono_ns() - t0;
	return 0;
}
