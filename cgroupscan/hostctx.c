/* SPDX-License-Identifier: MIT */
/*
 * hostctx.c - host context of syscall records (hostctx.h).
 */
#include "hostctx.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>

#include "../common/thread.h"
#include "../common/timeutil.h"
#include "../policy/syscall_set.h"
#include "hostscan.h"

/* What a record can take from one host sample. */
struct hostctx_sample {
	bool valid;
	uint64_t mono_ns; /* when the scan began */
	char hierarchy[8];
	char unavailable[256];
	bool counted;
	uint64_t online, offline, offline_min, offline_max;
	bool has_rate;
	double offline_growth_per_min;
	bool has_stat_read;
	uint64_t stat_read_ns;
	char stat_read_path[4096];
	bool dentry_ok;
	struct dentry_state dentry;
	bool softnet_ok;
	struct softnet softnet;
};

struct hostctx {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* CLOCK_MONOTONIC */
	pthread_t worker;
	bool stop; /* under lock */
	struct hostctx_sample latest, previous; /* under lock */

	/* the worker's own */
	struct policy_scan thresholds;
	struct hostscan_state state;
	struct hostscan_result result;

	/* read-only after hostctx_new() */
	struct syscall_set net;
	int nr_inotify_add_watch, nr_fanotify_mark, nr_rmdir, nr_umount, nr_umount2, nr_unlinkat;

	/* the tracer thread's own: PSI read at most once per HOSTCTX_PSI_MAX_AGE_NS */
	uint64_t psi_mono_ns;
	struct pressure psi[3];
};

static void sample_from(const struct hostscan_result *r, struct hostctx_sample *s)
{
	*s = (struct hostctx_sample){ .valid = true, .mono_ns = r->sample_mono_ns };
	if (r->memcg_ok) {
		const struct memcg_scan *m = &r->memcg;

		snprintf(s->hierarchy, sizeof(s->hierarchy), "%s",
			 cgadapter_kind_name(m->hierarchy));
		s->counted = m->counted;
		if (!m->counted)
			snprintf(s->unavailable, sizeof(s->unavailable), "%.255s", m->unavailable);
		s->online = m->online;
		s->offline = m->offline;
		s->offline_min = m->offline_min;
		s->offline_max = m->offline_max;
		s->has_stat_read = m->stat_reads > 0;
		s->stat_read_ns = m->stat_read_max_ns;
		snprintf(s->stat_read_path, sizeof(s->stat_read_path), "%.4095s",
			 m->stat_read_max_path);
	} else {
		snprintf(s->hierarchy, sizeof(s->hierarchy), "none");
		snprintf(s->unavailable, sizeof(s->unavailable), "%.255s",
			 r->memcg_error[0] ? r->memcg_error : "memory cgroups not scanned");
	}
	s->has_rate = r->has_offline_rate;
	s->offline_growth_per_min = r->offline_growth_per_min;
	s->dentry_ok = r->dentry_ok;
	s->dentry = r->dentry;
	s->softnet_ok = r->softnet_ok;
	s->softnet = r->softnet;
}

static struct timespec mono_in(long s)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += s;
	return ts;
}

static void *worker_main(void *arg)
{
	struct hostctx *h = arg;
	const struct hostscan_options o = {
		.proc_root = "/proc",
		.slab_sysfs = "/sys/kernel/slab",
		.thresholds = &h->thresholds,
		.skip_slab = true,
	};
	struct hostctx_sample *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		struct sw_error err = {};
		struct timespec until;
		int r;

		pthread_mutex_unlock(&h->lock);
		/* only ENOMEM fails a scan; each part that fails is left out of it */
		r = hostscan_run(&o, &h->state, &h->result, &err);
		if (r == 0)
			sample_from(&h->result, s);
		pthread_mutex_lock(&h->lock);
		if (r == 0) {
			h->previous = h->latest;
			h->latest = *s;
		}
		until = mono_in(HOSTCTX_SAMPLE_PERIOD_S);
		while (!h->stop && pthread_cond_timedwait(&h->wake, &h->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&h->lock);
	free(s);
	return NULL;
}

int hostctx_new(const struct policy_scan *thresholds, struct hostctx **ret)
{
	struct hostctx *h = calloc(1, sizeof(*h));
	pthread_condattr_t ca;
	struct sw_error err = {};
	int r;

	*ret = NULL;
	if (!h)
		return -ENOMEM;
	h->thresholds = *thresholds;
	if (syscall_set_parse("%net", &h->net, &err) < 0)
		syscall_set_clear(&h->net);
	h->nr_inotify_add_watch = syscall_nr("inotify_add_watch");
	h->nr_fanotify_mark = syscall_nr("fanotify_mark");
	h->nr_rmdir = syscall_nr("rmdir");
	h->nr_umount = syscall_nr("umount"); /* i386 and others; not x86_64 */
	h->nr_umount2 = syscall_nr("umount2");
	h->nr_unlinkat = syscall_nr("unlinkat");
	r = hostscan_state_init(&h->state);
	if (r < 0) {
		free(h);
		return r;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &ca);
	pthread_condattr_destroy(&ca);
	r = sw_thread_create_quiet(&h->worker, worker_main, h);
	if (r < 0) {
		pthread_cond_destroy(&h->wake);
		pthread_mutex_destroy(&h->lock);
		hostscan_state_free(&h->state);
		free(h);
		return r;
	}
	*ret = h;
	return 0;
}

void hostctx_free(struct hostctx *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->worker, NULL);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	hostscan_state_free(&h->state);
	free(h);
}

/* ---- which call gets what ------------------------------------------------ */

/*
 * memory.stat or cgroup.stat of a cgroup filesystem. The path is the
 * traced process's view; /sys/fs/cgroup is where systemd and container
 * runtimes mount cgroupfs, elsewhere statfs(2) decides (about 1 us).
 */
static bool is_cgroup_stat_file(const char *path)
{
	const char *base;
	struct statfs sfs;

	if (!path || path[0] != '/')
		return false;
	base = strrchr(path, '/') + 1;
	if (strcmp(base, "memory.stat") != 0 && strcmp(base, "cgroup.stat") != 0)
		return false;
	if (strncmp(path, "/sys/fs/cgroup/", strlen("/sys/fs/cgroup/")) == 0)
		return true;
	return statfs(path, &sfs) == 0 &&
	       (sfs.f_type == CGROUP_SUPER_MAGIC || sfs.f_type == CGROUP2_SUPER_MAGIC);
}

/*
 * The calls that walk every child dentry of a directory, negative ones
 * included: the first child-event watch on it (fsnotify_set_children_dentry_flags,
 * fs/notify/fsnotify.c, 6.x), and the removal or unmount that prunes it
 * (shrink_dcache_parent, fs/dcache.c).
 */
static bool walks_dentries(const struct hostctx *h, const struct hostctx_call *c)
{
	int nr = c->nr;

	if (nr < 0)
		return false;
	if (nr == h->nr_unlinkat)
		return c->args && (c->args[2] & AT_REMOVEDIR);
	return nr == h->nr_inotify_add_watch || nr == h->nr_fanotify_mark || nr == h->nr_rmdir ||
	       nr == h->nr_umount || nr == h->nr_umount2;
}

static bool is_network(const struct hostctx *h, const struct hostctx_call *c)
{
	return (c->nr >= 0 && syscall_set_has(&h->net, c->nr)) ||
	       (c->fd_path && strncmp(c->fd_path, "socket:", 7) == 0);
}

/* ---- filling the record's host object ------------------------------------- */

static void fill_memcg(const struct hostctx_sample *s, const struct hostctx_sample *prev,
		       uint64_t now_ns, struct record_call_host *out)
{
	out->has_memcg = true;
	if (!s->valid) {
		snprintf(out->memcg_hierarchy, sizeof(out->memcg_hierarchy), "none");
		snprintf(out->memcg_unavailable, sizeof(out->memcg_unavailable),
			 "the first host sample is not taken yet");
		return;
	}
	snprintf(out->memcg_hierarchy, sizeof(out->memcg_hierarchy), "%s", s->hierarchy);
	snprintf(out->memcg_unavailable, sizeof(out->memcg_unavailable), "%s", s->unavailable);
	out->memcg_counted = s->counted;
	out->memcg_online = s->online;
	out->memcg_offline = s->offline;
	out->memcg_offline_min = s->offline_min;
	out->memcg_offline_max = s->offline_max;
	out->has_memcg_rate = s->has_rate;
	out->memcg_offline_growth_per_min = s->offline_growth_per_min;
	out->has_stat_read = s->has_stat_read;
	out->stat_read_ns = s->stat_read_ns;
	snprintf(out->stat_read_path, sizeof(out->stat_read_path), "%s", s->stat_read_path);
	out->memcg_sample_age_ns = now_ns > s->mono_ns ? now_ns - s->mono_ns : 0;
	if (prev->valid && (prev->counted || prev->has_stat_read)) {
		out->has_memcg_previous = true;
		out->previous_age_ns = now_ns > prev->mono_ns ? now_ns - prev->mono_ns : 0;
		out->previous_counted = prev->counted;
		out->previous_offline = prev->offline;
		out->previous_has_stat_read = prev->has_stat_read;
		out->previous_stat_read_ns = prev->stat_read_ns;
	}
}

static void fill_dentry(const struct dentry_state *d, uint64_t now_ns,
			const struct hostctx_sample *s, const struct hostctx_sample *prev,
			struct record_call_host *out)
{
	const struct hostctx_sample *then = NULL;

	out->has_dentry = true;
	out->dentry_total = d->nr_dentry;
	out->dentry_unused = d->nr_unused;
	out->has_dentry_negative = d->has_negative;
	out->dentry_negative = d->nr_negative;
	if (!d->has_negative)
		return;
	/* the latest sample, unless it is too recent for a rate: then the one before */
	if (s->valid && s->dentry_ok && s->dentry.has_negative &&
	    now_ns >= s->mono_ns + HOSTCTX_MIN_GROWTH_INTERVAL_NS)
		then = s;
	else if (prev->valid && prev->dentry_ok && prev->dentry.has_negative &&
		 now_ns >= prev->mono_ns + HOSTCTX_MIN_GROWTH_INTERVAL_NS)
		then = prev;
	if (!then)
		return;
	out->has_dentry_growth = true;
	out->dentry_growth_interval_ns = now_ns - then->mono_ns;
	out->dentry_negative_growth_per_s =
		((double)d->nr_negative - (double)then->dentry.nr_negative) /
		((double)out->dentry_growth_interval_ns / 1e9);
}

static void fill_softnet(const struct softnet *n, uint64_t now_ns, const struct hostctx_sample *s,
			 struct record_call_host *out)
{
	out->has_softnet = true;
	out->time_squeeze = n->time_squeeze;
	out->softnet_dropped = n->dropped;
	/* per-CPU 32-bit counters wrap, and CPUs come and go: no delta when a sum fell */
	if (!s->valid || !s->softnet_ok || now_ns <= s->mono_ns ||
	    n->time_squeeze < s->softnet.time_squeeze || n->dropped < s->softnet.dropped)
		return;
	out->has_softnet_delta = true;
	out->time_squeeze_delta = n->time_squeeze - s->softnet.time_squeeze;
	out->softnet_dropped_delta = n->dropped - s->softnet.dropped;
	out->softnet_delta_interval_ns = now_ns - s->mono_ns;
}

static void fill_pressure(struct hostctx *h, uint64_t now_ns, struct record_call_host *out)
{
	if (!h->psi_mono_ns || now_ns - h->psi_mono_ns >= HOSTCTX_PSI_MAX_AGE_NS) {
		for (size_t i = 0; i < 3; i++)
			/* without PSI (no CONFIG_PSI, psi=0) .present stays false */
			if (procstats_pressure("/proc", hostscan_psi_names[i], &h->psi[i]) < 0)
				h->psi[i].present = false;
		h->psi_mono_ns = now_ns;
	}
	for (size_t i = 0; i < 3; i++) {
		out->pressure[i].present = h->psi[i].present;
		out->pressure[i].some_avg10 = h->psi[i].some_avg10;
		out->pressure[i].has_full = h->psi[i].has_full;
		out->pressure[i].full_avg10 = h->psi[i].full_avg10;
	}
}

bool hostctx_for_call(struct hostctx *h, const struct hostctx_call *c, uint64_t now_ns,
		      struct record_call_host *out)
{
	struct hostctx_sample *s = NULL, *prev;
	bool memcg, dentry, net, psi = false;
	struct dentry_state d;
	struct softnet n;
	uint64_t t0 = sw_mono_ns();

	memset(out, 0, sizeof(*out));
	if (!h)
		return false;
	memcg = is_cgroup_stat_file(c->fd_path) || is_cgroup_stat_file(c->path);
	dentry = walks_dentries(h, c);
	net = is_network(h, c);
	if (!memcg && !dentry && !net && c->wait)
		return false;
	if (memcg || dentry || net) {
		s = malloc(2 * sizeof(*s));
		if (!s)
			return false;
		prev = s + 1;
		pthread_mutex_lock(&h->lock);
		*s = h->latest;
		*prev = h->previous;
		pthread_mutex_unlock(&h->lock);
		if (memcg)
			fill_memcg(s, prev, now_ns, out);
		if (dentry && procstats_dentry("/proc", &d, NULL) == 0)
			fill_dentry(&d, sw_mono_ns(), s, prev, out);
		if (net && procstats_softnet("/proc", &n) == 0)
			fill_softnet(&n, sw_mono_ns(), s, out);
		free(s);
	}
	if (!c->wait)
		fill_pressure(h, now_ns, out);
	out->read_ns = sw_mono_ns() - t0;
	for (size_t i = 0; i < 3; i++)
		psi |= out->pressure[i].present;
	return out->has_memcg || out->has_dentry || out->has_softnet || psi;
}
