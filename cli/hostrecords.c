/* SPDX-License-Identifier: MIT */
/*
 * hostrecords.c - the records of one host scan (`scan`, and `watch`'s
 * scheduled scans): the host-scan metric record, its alerts and the
 * metrics file's host gauges.
 */
#include "../cgroupscan/hostscan.h"
#include "../common/macro.h"
#include "../common/timeutil.h"
#include "cli.h"

/* Host records from one result: the host-scan metric, then its alerts. */
void cli_write_host_records(struct recorder *rec, const struct hostscan_result *r)
{
	struct record_slab_cache top[HOSTSCAN_TOP_CACHES];
	struct record_pressure psi[3];
	size_t n_psi = 0;
	struct record_host hr = {
		.action = "host-scan",
		.level = "informational",
		.rule_name = "host-scan",
		.sample_mono_ns = r->sample_mono_ns,
		.scan_ns = r->scan_ns,
	};

	hr.has_memcg = true;
	hr.memcg_hierarchy = cgadapter_kind_name(r->memcg.hierarchy);
	if (!r->memcg_ok)
		hr.memcg_unavailable = r->memcg_error;
	else if (!r->memcg.counted)
		hr.memcg_unavailable = r->memcg.unavailable;
	hr.memcg_counted = r->memcg_ok && r->memcg.counted;
	hr.memcg_online = r->memcg.online;
	hr.memcg_offline = r->memcg.offline;
	hr.memcg_offline_min = r->memcg.offline_min;
	hr.memcg_offline_max = r->memcg.offline_max;
	hr.memcg_est_pinned_bytes = r->memcg.est_pinned_bytes;
	hr.memcg_walked = r->memcg.walked;
	hr.memcg_walk_ns = r->memcg.walk_ns;
	hr.has_memcg_rate = r->has_offline_rate;
	hr.memcg_offline_growth_per_min = r->offline_growth_per_min;
	hr.has_stat_read = r->memcg_ok && r->memcg.stat_reads > 0;
	hr.stat_read_ns = r->memcg.stat_read_max_ns;
	hr.stat_read_p50_ns = r->memcg.stat_read_p50_ns;
	hr.stat_reads = r->memcg.stat_reads;
	hr.stat_read_path = r->memcg.stat_read_max_path;

	hr.has_dentry = r->dentry_ok;
	hr.dentry_total = r->dentry.nr_dentry;
	hr.dentry_unused = r->dentry.nr_unused;
	hr.has_dentry_negative = r->dentry_ok && r->dentry.has_negative;
	hr.dentry_negative = r->dentry.nr_negative;
	hr.has_dentry_rate = r->has_negative_rate;
	hr.dentry_negative_rate_per_s = r->negative_rate_per_s;

	hr.has_slab = r->meminfo_ok;
	hr.slab_unreclaimable_bytes = r->mem.sunreclaim;
	hr.slab_reclaimable_bytes = r->mem.sreclaimable;
	hr.mem_total_bytes = r->mem.mem_total;
	hr.has_percpu = r->mem.has_percpu;
	hr.percpu_bytes = r->mem.percpu;
	hr.slab_sampled = r->slab_sampled;
	hr.slab_read_ns = r->slab_read_ns;
	hr.slab_unavailable = r->slab_unavailable[0] ? r->slab_unavailable : NULL;
	for (size_t i = 0; i < r->n_top; i++)
		top[i] = (struct record_slab_cache){
			.name = r->top[i].family,
			.bytes = r->top[i].bytes_now,
			.slope_bytes_per_hour = r->top[i].slope_bytes_per_hour,
			.r2 = r->top[i].r2,
			.span_s = r->top[i].span_s,
		};
	hr.slab_top = top;
	hr.n_slab_top = r->n_top;

	hr.has_softnet = r->softnet_ok;
	hr.time_squeeze = r->softnet.time_squeeze;
	hr.has_squeeze_delta = r->has_squeeze_delta;
	hr.time_squeeze_delta = r->squeeze_delta;
	for (int i = 0; i < 3; i++)
		if (r->psi[i].present)
			psi[n_psi++] = (struct record_pressure){
				.name = hostscan_psi_names[i],
				.some_avg10 = r->psi[i].some_avg10,
				.full_avg10 = r->psi[i].full_avg10,
				.has_full = r->psi[i].has_full,
			};
	hr.pressure = psi;
	hr.n_pressure = n_psi;
	recorder_host(rec, &hr);
	recorder_host_metrics(
		rec, &(struct metrics_host){
			     .sample_unix_ns = r->sample_mono_ns + sw_real_ns() - sw_mono_ns(),
			     .scan_ns = r->scan_ns,
			     .has_memcg = r->memcg_ok && r->memcg.counted,
			     .memcg_online = r->memcg.online,
			     .memcg_offline = r->memcg.offline,
			     .has_stat_read = hr.has_stat_read,
			     .stat_read_ns = hr.stat_read_ns,
			     .has_dentry = hr.has_dentry,
			     .dentry_total = hr.dentry_total,
			     .has_dentry_negative = hr.has_dentry_negative,
			     .dentry_negative = hr.dentry_negative,
			     .has_slab = hr.has_slab,
			     .slab_unreclaimable_bytes = hr.slab_unreclaimable_bytes,
			     .slab_reclaimable_bytes = hr.slab_reclaimable_bytes,
		     });

	/* alerts carry the same host fields, plus why and what next */
	for (size_t i = 0; i < r->n_alerts; i++) {
		struct record_host ar = hr;
		const struct hostscan_alert *a = &r->alerts[i];

		ar.action = a->action;
		ar.level = a->level;
		ar.rule_name = a->rule;
		ar.alert_reason = a->reason;
		ar.alert_next_step = a->next_step;
		ar.alert_cache = a->cache[0] ? a->cache : NULL;
		ar.pressure = NULL;
		ar.n_pressure = 0;
		recorder_host(rec, &ar);
	}
}
