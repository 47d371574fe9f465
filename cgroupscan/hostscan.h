/* SPDX-License-Identifier: MIT */
/*
 * hostscan.h - one host scan: the kernel-side causes of the three incidents
 * (offline memcgs, slow memory.stat, negative dentries, slab growth) and
 * their symptoms (softnet time_squeeze, PSI), with the thresholds of a
 * policy's `scan` object turned into alerts. Levels AND rates: reclaim
 * makes levels decay (doc/scan.md, Background), so growth over
 * `growth_window` alerts too. History for rates and slab trends lives in a
 * struct hostscan_state, kept in memory (scan --interval) and/or in a
 * --state file between one-shot runs (a systemd timer).
 *
 * Its own cost is bounded and reported (scan_ns):
 *   - /proc/slabinfo (root only, ~100 us, walks partial lists under
 *     list_lock) is read at most once per SLABINFO_MIN_INTERVAL_S;
 *   - the v1 memcg walk (~35 us per directory here) runs at most once per
 *     1000 x its last duration (<= 0.1 % of wall time), capped at 10 min;
 *     between walks the last count of directories is reused.
 */
#ifndef SW_CGROUPSCAN_HOSTSCAN_H
#define SW_CGROUPSCAN_HOSTSCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/error.h"
#include "../policy/policy.h"
#include "cgadapter.h"
#include "memcg.h"
#include "procstats.h"
#include "slab.h"

#define SLABINFO_MIN_INTERVAL_S 10.0
#define HOSTSCAN_WALK_MAX_INTERVAL_S 600.0
#define HOSTSCAN_MAX_SAMPLES 1024
#define HOSTSCAN_MAX_ALERTS 16
#define HOSTSCAN_TOP_CACHES 5

struct hostscan_sample {
	double t_s; /* CLOCK_REALTIME seconds (survives reboots of stallwatch, not of the host) */
	bool has_offline, has_negative, has_squeeze;
	uint64_t offline, negative, squeeze;
};

struct hostscan_state {
	struct hostscan_sample *samples;
	size_t n_samples;
	struct slab_history *slab;
	double slab_t_s; /* last /proc/slabinfo read; 0 never */
	double walk_t_s; /* last v1 walk */
	uint64_t walk_online, walk_ns;
	char boot_id[64]; /* history from another boot is dropped */
};

struct hostscan_alert {
	const char *action; /* memcg-offline, memcg-stat-slow, negative-dentries, slab-growth */
	const char *level;
	char rule[64]; /* the threshold that fired: "scan.memcg_offline_critical" */
	char reason[512];
	char next_step[384];
	char cache[64]; /* slab-growth: the family */
};

struct hostscan_result {
	uint64_t sample_mono_ns, scan_ns;
	bool memcg_ok;
	char memcg_error[SW_ERROR_MSG_MAX];
	struct memcg_scan memcg;
	bool has_offline_rate;
	double offline_growth_per_min;
	double offline_rate_span_s; /* history the rate is fitted on */
	bool dentry_ok;
	struct dentry_state dentry;
	bool has_negative_rate;
	double negative_rate_per_s;
	bool meminfo_ok;
	struct meminfo mem;
	bool slab_sampled;
	uint64_t slab_read_ns;
	char slab_unavailable[128];
	struct slab_leak top[HOSTSCAN_TOP_CACHES];
	size_t n_top;
	bool softnet_ok;
	struct softnet softnet;
	bool has_squeeze_delta;
	uint64_t squeeze_delta;
	struct pressure psi[3]; /* cpu, memory, io */
	struct hostscan_alert alerts[HOSTSCAN_MAX_ALERTS];
	size_t n_alerts;
};

extern const char *const hostscan_psi_names[3];

struct hostscan_options {
	const char *proc_root; /* "/proc" */
	const char *slab_sysfs; /* "/sys/kernel/slab" */
	const struct policy_scan *thresholds;
	/* leave /proc/slabinfo out (host context of syscall records needs no slab) */
	bool skip_slab;
};

int hostscan_state_init(struct hostscan_state *st);
void hostscan_state_free(struct hostscan_state *st);
/* A state file is far smaller (1024 samples, a few hundred slab families) */
#define HOSTSCAN_STATE_MAX_BYTES (16 * 1024 * 1024)
/*
 * Load a --state file: a missing file is an empty history (0); a file that
 * does not parse is replaced (returns 1 with err saying why, history empty);
 * one that cannot be read (EACCES, ENOTDIR, EIO, above the size bound) is an
 * error ("FILE: cannot read", -errno), and so is one that is not a regular
 * file (-EINVAL).
 */
int hostscan_state_load(struct hostscan_state *st, const char *path, struct sw_error *err);
/* Write it back (temp file + rename, mode 0600). 0 or -errno ("FILE: cannot write"). */
int hostscan_state_save(const struct hostscan_state *st, const char *path, struct sw_error *err);

/* One scan; updates st (history, caches). Returns 0 or -errno (err) on a fatal error. */
int hostscan_run(const struct hostscan_options *o, struct hostscan_state *st,
		 struct hostscan_result *ret, struct sw_error *err);

/* Alerts of a result against thresholds (called by hostscan_run; exposed for tests). */
void hostscan_alerts(const struct policy_scan *th, struct hostscan_result *r);

#endif
