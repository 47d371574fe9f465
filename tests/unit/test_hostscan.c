/* SPDX-License-Identifier: MIT */
/*
 * The host scan (cgroupscan/hostscan.h, cgroupscan/memcg.h): v2 counting on
 * fake cgroup.stat files and on this machine's v2 root, the v1 directory
 * walk on a fake tree, the cgroup-namespace test on a fake proc root, every
 * alert kind and level of hostscan_alerts() on synthetic results (levels,
 * ratios, rates and the "sustained over the window" rule), the --state file
 * (round trip, another boot, garbage) and one real scan from a fresh state.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroupscan/hostscan.h"
#include "cgroupscan/memcg.h"
#include "cgroupscan/slab.h"
#include "common/macro.h"
#include "common/timeutil.h"
#include "policy/policy.h"
#include "unit.h"

#define MiB (1024ULL * 1024ULL)
#define GiB (1024ULL * MiB)
/* include/linux/proc_ns.h PROC_CGROUP_INIT_INO */
#define INIT_CGROUP_NS "cgroup:[4026531835]"

/* ---- fake trees ---- */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A temporary directory, removed with everything in it when the test returns. */
struct tmpdir {
	char path[64];
};

static void tmpdir_done(struct tmpdir *t)
{
	if (t->path[0])
		rm_tree(t->path);
}
#define _cleanup_tmpdir_ _cleanup_(tmpdir_done)

static bool tmpdir_make(struct tmpdir *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/sw-unit-hostscan.XXXXXX");
	if (!mkdtemp(t->path)) {
		t->path[0] = 0;
		return false;
	}
	return true;
}

static bool write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

static bool make_dir(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return mkdir(path, 0755) == 0;
}

/* ---- memcg_count_v2 ---- */

/* count_v2_text: memcg_count_v2 on a fake root holding cgroup.stat = text. */
static int count_v2_text(const char *text, struct memcg_scan *m, struct sw_error *err)
{
	_cleanup_tmpdir_ struct tmpdir t = {};

	*m = (struct memcg_scan){};
	if (!tmpdir_make(&t) || !write_file(t.path, "cgroup.stat", text))
		return -EIO;
	return memcg_count_v2(t.path, m, err);
}

static int test_count_v2_per_subsys(void)
{
	struct sw_error err = {};
	struct memcg_scan m;

	/* 6.11+: the memory keys win over the all-controller ones */
	CHECK(count_v2_text("nr_descendants 12\n"
			    "nr_subsys_cpu 5\n"
			    "nr_subsys_memory 9\n"
			    "nr_dying_descendants 40\n"
			    "nr_dying_subsys_cpu 3\n"
			    "nr_dying_subsys_memory 25\n",
			    &m, &err) == 0);
	CHECK(m.counted && m.offline == 25 && m.online == 9);
	CHECK(m.offline_min == 25 && m.offline_max == 25);

	/* key order does not matter; a longer key with the same prefix is another key */
	CHECK(count_v2_text("nr_dying_subsys_memory_x 77\n"
			    "nr_subsys_memory_x 88\n"
			    "nr_dying_subsys_memory 4\n"
			    "nr_dying_descendants 400\n"
			    "nr_descendants 100\n"
			    "nr_subsys_memory 31\n",
			    &m, &err) == 0);
	CHECK(m.counted && m.offline == 4 && m.online == 31);

	/* nr_dying_subsys_memory alone: online is at least the root */
	CHECK(count_v2_text("nr_dying_subsys_memory 2\n", &m, &err) == 0);
	CHECK(m.counted && m.offline == 2 && m.online == 1);

	/* zeros are counts too */
	CHECK(count_v2_text("nr_subsys_memory 1\nnr_dying_subsys_memory 0\n", &m, &err) == 0);
	CHECK(m.counted && m.offline == 0 && m.online == 1);
	return 0;
}

static int test_count_v2_descendants(void)
{
	struct sw_error err = {};
	struct memcg_scan m;

	/* 4.14 .. 6.10: every dying cgroup, online = descendants + the root */
	CHECK(count_v2_text("nr_descendants 12\nnr_dying_descendants 40\n", &m, &err) == 0);
	CHECK(m.counted && m.offline == 40 && m.online == 13);
	CHECK(m.offline_min == 40 && m.offline_max == 40);

	/* 6.11+ on a hierarchy where memory is not enabled: no memory keys */
	CHECK(count_v2_text("nr_descendants 0\nnr_subsys_perf_event 1\nnr_subsys_hugetlb 1\n"
			    "nr_dying_descendants 3\nnr_dying_subsys_perf_event 0\n"
			    "nr_dying_subsys_hugetlb 0\n",
			    &m, &err) == 0);
	CHECK(m.counted && m.offline == 3 && m.online == 1);
	return 0;
}

static int test_count_v2_neither(void)
{
	_cleanup_tmpdir_ struct tmpdir t = {};
	struct sw_error err = {};
	struct memcg_scan m;

	CHECK(count_v2_text("nr_descendants 12\n", &m, &err) == -EINVAL);
	CHECK(!m.counted && err.msg[0]);
	sw_error_clear(&err);
	CHECK(count_v2_text("", &m, &err) == -EINVAL);
	CHECK(!m.counted);
	sw_error_clear(&err);
	CHECK(count_v2_text("nr_dying_descendants x\n", &m, &err) == -EINVAL);
	sw_error_clear(&err);
	/* no cgroup.stat at all */
	CHECK(tmpdir_make(&t));
	m = (struct memcg_scan){};
	CHECK(memcg_count_v2(t.path, &m, &err) == -ENOENT);
	CHECK(!m.counted && strstr(err.msg, "cgroup.stat"));
	return 0;
}

/* "key value" of text, or -1. */
static long long stat_key(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, n) == 0 && l[n] == ' ')
			return atoll(l + n + 1);
	return -1;
}

static int test_count_v2_live(void)
{
	static const char root[] = "/sys/fs/cgroup/unified";
	char path[128], before[4096], after[4096];
	struct sw_error err = {};
	struct memcg_scan m = {};
	long long dying, live;
	int tries = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.stat", root);
	if (access(path, R_OK) < 0)
		SKIP("no cgroup v2 root at /sys/fs/cgroup/unified");
	do {
		size_t n;

		f = fopen(path, "re");
		CHECK(f);
		n = fread(before, 1, sizeof(before) - 1, f);
		fclose(f);
		before[n] = 0;
		CHECK(memcg_count_v2(root, &m, &err) == 0);
		f = fopen(path, "re");
		CHECK(f);
		n = fread(after, 1, sizeof(after) - 1, f);
		fclose(f);
		after[n] = 0;
	} while (strcmp(before, after) != 0 && ++tries < 10); /* churn: try again */
	if (strcmp(before, after) != 0)
		SKIP("the v2 root's cgroup.stat kept changing");
	CHECK(m.counted);
	dying = stat_key(before, "nr_dying_subsys_memory");
	if (dying >= 0) {
		live = stat_key(before, "nr_subsys_memory");
		CHECK((long long)m.offline == dying);
		CHECK((long long)m.online == (live >= 0 ? live : 1));
	} else {
		CHECK((long long)m.offline == stat_key(before, "nr_dying_descendants"));
		CHECK((long long)m.online == stat_key(before, "nr_descendants") + 1);
	}
	CHECK(m.offline_min == m.offline && m.offline_max == m.offline);
	return 0;
}

/* ---- memcg_walk_v1 ---- */

static int test_walk_v1_fake(void)
{
	_cleanup_tmpdir_ struct tmpdir t = {};
	uint64_t dirs = 99, vanished = 99;
	char path[256];

	CHECK(tmpdir_make(&t));
	/* the root alone */
	CHECK(memcg_walk_v1(t.path, &dirs, &vanished) == 0);
	CHECK(dirs == 1 && vanished == 0);

	/* root + a b c + a/x a/y + a/x/deep = 7; files and symlinks are not cgroups */
	CHECK(make_dir(t.path, "a") && make_dir(t.path, "b") && make_dir(t.path, "c"));
	CHECK(make_dir(t.path, "a/x") && make_dir(t.path, "a/y") && make_dir(t.path, "a/x/deep"));
	CHECK(write_file(t.path, "memory.stat", "cache 0\n"));
	CHECK(write_file(t.path, "a/memory.stat", "cache 0\n"));
	CHECK(write_file(t.path, "a/x/deep/cgroup.procs", ""));
	snprintf(path, sizeof(path), "%s/link-to-a", t.path);
	CHECK(symlink("a", path) == 0);
	CHECK(memcg_walk_v1(t.path, &dirs, &vanished) == 0);
	CHECK(dirs == 7 && vanished == 0);

	/* a removed directory is simply not counted the next time */
	snprintf(path, sizeof(path), "%s/a/x/deep/cgroup.procs", t.path);
	CHECK(unlink(path) == 0);
	snprintf(path, sizeof(path), "%s/a/x/deep", t.path);
	CHECK(rmdir(path) == 0);
	CHECK(memcg_walk_v1(t.path, &dirs, &vanished) == 0);
	CHECK(dirs == 6 && vanished == 0);

	/* a subtree given as the root */
	snprintf(path, sizeof(path), "%s/a", t.path);
	CHECK(memcg_walk_v1(path, &dirs, &vanished) == 0);
	CHECK(dirs == 3);

	/* no such root; a file as the root */
	snprintf(path, sizeof(path), "%s/gone", t.path);
	CHECK(memcg_walk_v1(path, &dirs, &vanished) == -ENOENT);
	CHECK(dirs == 0 && vanished == 0);
	snprintf(path, sizeof(path), "%s/memory.stat", t.path);
	CHECK(memcg_walk_v1(path, &dirs, &vanished) == -ENOTDIR);
	return 0;
}

static int test_walk_v1_live(void)
{
	static const char root[] = "/sys/fs/cgroup/memory";
	uint64_t dirs = 0, vanished = 0;

	if (access(root, R_OK | X_OK) < 0 || access("/sys/fs/cgroup/memory/memory.stat", R_OK) < 0)
		SKIP("no v1 memory hierarchy at /sys/fs/cgroup/memory");
	CHECK(memcg_walk_v1(root, &dirs, &vanished) == 0);
	CHECK(dirs >= 1);
	return 0;
}

/* ---- memcg_in_cgroup_namespace ---- */

static int ns_with_link(const char *target)
{
	_cleanup_tmpdir_ struct tmpdir t = {};
	char path[256];

	if (!tmpdir_make(&t) || !make_dir(t.path, "self") || !make_dir(t.path, "self/ns"))
		return -1;
	if (target) {
		snprintf(path, sizeof(path), "%s/self/ns/cgroup", t.path);
		if (symlink(target, path) < 0)
			return -1;
	}
	return memcg_in_cgroup_namespace(t.path) ? 1 : 0;
}

static int test_cgroup_namespace(void)
{
	char link[64] = "";
	ssize_t n;

	CHECK(ns_with_link(INIT_CGROUP_NS) == 0);
	CHECK(ns_with_link("cgroup:[4026532100]") == 1);
	CHECK(ns_with_link("cgroup:[1]") == 1);
	/* no ns/cgroup (before 4.6), or a link that says nothing: not in a namespace */
	CHECK(ns_with_link(NULL) == 0);
	CHECK(ns_with_link("net:[4026531840]") == 0);
	CHECK(ns_with_link("garbage") == 0);

	/* this process: whatever the kernel says */
	n = readlink("/proc/self/ns/cgroup", link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		CHECK(memcg_in_cgroup_namespace("/proc") == (strcmp(link, INIT_CGROUP_NS) != 0));
	}
	return 0;
}

/* ---- hostscan_alerts ---- */

/* A result shaped like this idle test machine: nothing should fire at the defaults. */
static void idle_result(struct hostscan_result *r)
{
	*r = (struct hostscan_result){};
	r->memcg_ok = true;
	r->memcg.hierarchy = MEMCG_V1;
	r->memcg.counted = true;
	r->memcg.online = 7;
	r->memcg.offline = r->memcg.offline_min = r->memcg.offline_max = 34;
	r->memcg.est_pinned_bytes = 34 * 17000ULL;
	r->memcg.stat_reads = 2;
	r->memcg.stat_read_p50_ns = 60000;
	r->memcg.stat_read_max_ns = 63000;
	snprintf(r->memcg.stat_read_max_path, sizeof(r->memcg.stat_read_max_path),
		 "/sys/fs/cgroup/memory/memory.stat");
	r->dentry_ok = true;
	r->dentry = (struct dentry_state){ .nr_dentry = 100819,
					   .nr_unused = 99402,
					   .age_limit = 45,
					   .nr_negative = 20201,
					   .has_negative = true };
	r->meminfo_ok = true;
	r->mem = (struct meminfo){ .mem_total = 24 * GiB,
				   .sunreclaim = 26 * MiB,
				   .sreclaimable = 119 * MiB };
}

static struct policy_scan defaults(void)
{
	struct policy_scan th;

	policy_scan_defaults(&th);
	return th;
}

static size_t count_action(const struct hostscan_result *r, const char *action)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_alerts; i++)
		n += strcmp(r->alerts[i].action, action) == 0;
	return n;
}

static const struct hostscan_alert *find(const struct hostscan_result *r, const char *action)
{
	for (size_t i = 0; i < r->n_alerts; i++)
		if (strcmp(r->alerts[i].action, action) == 0)
			return &r->alerts[i];
	return NULL;
}

/* Exactly one ACTION alert, of LEVEL, from RULE, with a reason and a next step. */
static bool alert_is(const struct hostscan_result *r, const char *action, const char *level,
		     const char *rule)
{
	const struct hostscan_alert *a = find(r, action);

	if (!a || count_action(r, action) != 1) {
		fprintf(stderr, "  want one %s alert, got %zu\n", action, count_action(r, action));
		return false;
	}
	if (strcmp(a->level, level) != 0 || strcmp(a->rule, rule) != 0 || !a->reason[0] ||
	    !a->next_step[0]) {
		fprintf(stderr, "  %s: got %s %s (reason `%s`), want %s %s\n", action, a->level,
			a->rule, a->reason, level, rule);
		return false;
	}
	return true;
}

static int test_alerts_idle(void)
{
	struct policy_scan th = defaults();
	struct hostscan_result r;

	idle_result(&r);
	hostscan_alerts(&th, &r);
	CHECK(r.n_alerts == 0);

	/* with rates that are small, still nothing */
	idle_result(&r);
	r.has_offline_rate = true;
	r.offline_growth_per_min = 3.5;
	r.offline_rate_span_s = 600;
	r.has_negative_rate = true;
	r.negative_rate_per_s = 12;
	hostscan_alerts(&th, &r);
	CHECK(r.n_alerts == 0);

	/* nothing measured: nothing to say */
	r = (struct hostscan_result){};
	hostscan_alerts(&th, &r);
	CHECK(r.n_alerts == 0);
	return 0;
}

static int test_alerts_memcg_levels(void)
{
	struct policy_scan th = defaults();
	struct hostscan_result r;

	/* > 1000 and > 2 x online: warning */
	idle_result(&r);
	r.memcg.offline = 1500;
	r.memcg.online = 100;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "warning", "scan.memcg_offline_warning"));
	CHECK(strstr(find(&r, "memcg-offline")->reason, "1500 offline"));
	CHECK(strstr(find(&r, "memcg-offline")->next_step, "force_empty"));

	/* > 1000 but not > 2 x online (1500 <= 2 x 750): the ratio keeps it quiet */
	idle_result(&r);
	r.memcg.offline = 1500;
	r.memcg.online = 750;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "memcg-offline") == 0);
	r.memcg.online = 749;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "warning", "scan.memcg_offline_warning"));

	/* exactly the warning count: not above it */
	idle_result(&r);
	r.memcg.offline = 1000;
	r.memcg.online = 1;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "memcg-offline") == 0);

	/* > 10000: critical, whatever the ratio */
	idle_result(&r);
	r.memcg.offline = 10001;
	r.memcg.online = 100000;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "critical", "scan.memcg_offline_critical"));

	/* estimated pinned memory above 1 % of RAM: critical */
	idle_result(&r);
	r.memcg.offline = 500;
	r.memcg.est_pinned_bytes = r.mem.mem_total / 100 + 1;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "critical", "scan.memcg_offline_critical"));

	/* policy thresholds are used: warning 0 and ratio 0 fire on any zombie */
	th.memcg_offline_warning = 0;
	th.memcg_offline_warning_ratio = 0;
	idle_result(&r);
	r.memcg.offline = 1;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "warning", "scan.memcg_offline_warning"));
	idle_result(&r);
	r.memcg.offline = 0;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "memcg-offline") == 0);
	return 0;
}

static int test_alerts_memcg_not_counted(void)
{
	struct policy_scan th = defaults();
	struct hostscan_result r;

	/* in a cgroup namespace the numbers are not valid: no alert from them */
	idle_result(&r);
	r.memcg.counted = false;
	r.memcg.offline = 50000;
	r.has_offline_rate = true;
	r.offline_growth_per_min = 1000;
	r.offline_rate_span_s = 600;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "memcg-offline") == 0);

	idle_result(&r);
	r.memcg_ok = false;
	r.memcg.offline = 50000;
	r.memcg.stat_read_max_ns = 5 * NSEC_PER_SEC;
	hostscan_alerts(&th, &r);
	CHECK(r.n_alerts == 0);
	return 0;
}

static int test_alerts_memcg_rate(void)
{
	struct policy_scan th = defaults(); /* 100/min over 600 s */
	struct hostscan_result r;

	/* sustained over the whole window: critical, even at a low level */
	idle_result(&r);
	r.has_offline_rate = true;
	r.offline_growth_per_min = 150;
	r.offline_rate_span_s = 600;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "critical", "scan.memcg_offline_growth_per_min"));
	CHECK(strstr(find(&r, "memcg-offline")->reason, "per minute"));

	/* 0.9 x the window is enough (one timer period of slack) */
	r.offline_rate_span_s = 540;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "critical", "scan.memcg_offline_growth_per_min"));

	/* a shorter burst warns */
	r.offline_rate_span_s = 539;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "warning", "scan.memcg_offline_growth_per_min"));
	r.offline_rate_span_s = 60;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "warning", "scan.memcg_offline_growth_per_min"));

	/* slower than the threshold: nothing; shrinking: nothing */
	r.offline_rate_span_s = 600;
	r.offline_growth_per_min = 99;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "memcg-offline") == 0);
	r.offline_growth_per_min = -5000;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "memcg-offline") == 0);

	/* the window is the policy's: 300 s */
	th.growth_window_ns = 300 * NSEC_PER_SEC;
	idle_result(&r);
	r.has_offline_rate = true;
	r.offline_growth_per_min = 200;
	r.offline_rate_span_s = 280;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "critical", "scan.memcg_offline_growth_per_min"));
	r.offline_rate_span_s = 260;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "warning", "scan.memcg_offline_growth_per_min"));

	/* a level warning plus a sustained rate: critical from the rate */
	th = defaults();
	idle_result(&r);
	r.memcg.offline = 1500;
	r.memcg.online = 10;
	r.has_offline_rate = true;
	r.offline_growth_per_min = 500;
	r.offline_rate_span_s = 600;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "critical", "scan.memcg_offline_growth_per_min"));
	/* a critical level names the level */
	r.memcg.offline = 20000;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "critical", "scan.memcg_offline_critical"));
	return 0;
}

static int test_alerts_stat_read(void)
{
	struct policy_scan th = defaults(); /* 10 ms / 100 ms */
	struct hostscan_result r;

	idle_result(&r);
	r.memcg.stat_read_max_ns = 10 * NSEC_PER_MSEC - 1;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "memcg-stat-slow") == 0);

	r.memcg.stat_read_max_ns = 10 * NSEC_PER_MSEC;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-stat-slow", "warning", "scan.memcg_stat_read_warning"));
	CHECK(strstr(find(&r, "memcg-stat-slow")->reason, "/sys/fs/cgroup/memory/memory.stat"));

	r.memcg.stat_read_max_ns = 100 * NSEC_PER_MSEC;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-stat-slow", "critical", "scan.memcg_stat_read_critical"));

	/* a slow time without any read behind it says nothing */
	r.memcg.stat_reads = 0;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "memcg-stat-slow") == 0);

	/* policy: 1 us */
	th.memcg_stat_read_warning_ns = 1000;
	idle_result(&r);
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-stat-slow", "warning", "scan.memcg_stat_read_warning"));
	return 0;
}

static int test_alerts_negative_dentries(void)
{
	struct policy_scan th = defaults(); /* 1M / 10M / 1000 per s */
	struct hostscan_result r;

	idle_result(&r);
	r.dentry.nr_dentry = 3000000;
	r.dentry.nr_negative = 1000001;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "negative-dentries", "warning", "scan.dentry_negative_warning"));
	CHECK(strstr(find(&r, "negative-dentries")->reason, "1000001 negative"));

	r.dentry.nr_negative = 1000000;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "negative-dentries") == 0);

	r.dentry.nr_dentry = 20000000;
	r.dentry.nr_negative = 10000001;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "negative-dentries", "critical", "scan.dentry_negative_critical"));

	/* the ratio: > 90 % negative of more than 1M dentries, below 1M negative */
	idle_result(&r);
	r.dentry.nr_dentry = 1100000;
	r.dentry.nr_negative = 999999;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "negative-dentries", "warning", "scan.dentry_negative_warning"));
	r.dentry.nr_negative = 990000; /* exactly 90 % is not above 90 % */
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "negative-dentries") == 0);
	/* a high ratio of few dentries is normal */
	r.dentry.nr_dentry = 900000;
	r.dentry.nr_negative = 890000;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "negative-dentries") == 0);

	/* the rate: above 1000/s warns, at any level */
	idle_result(&r);
	r.has_negative_rate = true;
	r.negative_rate_per_s = 2000;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "negative-dentries", "warning", "scan.dentry_negative_growth_per_s"));
	CHECK(strstr(find(&r, "negative-dentries")->reason, "per second"));
	r.negative_rate_per_s = 1000;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "negative-dentries") == 0);
	r.negative_rate_per_s = -50000; /* pruned at rmdir */
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "negative-dentries") == 0);

	/* kernels before 5.0 print 0 there: no field, no alert */
	idle_result(&r);
	r.dentry.has_negative = false;
	r.dentry.nr_negative = 50000000;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "negative-dentries") == 0);

	/* policy: warning at 1 */
	th.dentry_negative_warning = 1;
	idle_result(&r);
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "negative-dentries", "warning", "scan.dentry_negative_warning"));
	return 0;
}

static int test_alerts_slab_pct(void)
{
	struct policy_scan th = defaults(); /* 10 % / 20 % */
	struct hostscan_result r;

	idle_result(&r);
	r.mem.mem_total = 1000 * MiB;
	r.mem.sunreclaim = 100 * MiB; /* 10 %: not above */
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "slab-growth") == 0);

	r.mem.sunreclaim = 101 * MiB;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "slab-growth", "warning", "scan.slab_unreclaimable_warning_pct"));
	CHECK(find(&r, "slab-growth")->cache[0] == 0);

	r.mem.sunreclaim = 250 * MiB;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "slab-growth", "critical", "scan.slab_unreclaimable_critical_pct"));

	/* no MemTotal: no percentage */
	r.mem.mem_total = 0;
	r.n_alerts = 0;
	hostscan_alerts(&th, &r);
	CHECK(count_action(&r, "slab-growth") == 0);

	/* policy: 0.0001 % */
	th.slab_unreclaimable_warning_pct = 0.0001;
	idle_result(&r);
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "slab-growth", "warning", "scan.slab_unreclaimable_warning_pct"));
	return 0;
}

/* Every kind at once: one alert each, in a bounded array. */
static int test_alerts_all_kinds(void)
{
	struct policy_scan th = defaults();
	struct hostscan_result r;

	idle_result(&r);
	r.memcg.offline = 20000;
	r.memcg.stat_read_max_ns = NSEC_PER_SEC;
	r.dentry.nr_dentry = 30000000;
	r.dentry.nr_negative = 20000000;
	r.mem.sunreclaim = r.mem.mem_total / 2;
	hostscan_alerts(&th, &r);
	CHECK(r.n_alerts == 4);
	CHECK(alert_is(&r, "memcg-offline", "critical", "scan.memcg_offline_critical"));
	CHECK(alert_is(&r, "memcg-stat-slow", "critical", "scan.memcg_stat_read_critical"));
	CHECK(alert_is(&r, "negative-dentries", "critical", "scan.dentry_negative_critical"));
	CHECK(alert_is(&r, "slab-growth", "critical", "scan.slab_unreclaimable_critical_pct"));
	/* a full array takes no more */
	r.n_alerts = HOSTSCAN_MAX_ALERTS;
	hostscan_alerts(&th, &r);
	CHECK(r.n_alerts == HOSTSCAN_MAX_ALERTS);
	return 0;
}

/*
 * Exact boundaries, as doc/scan.md "Alerts" and "Thresholds" give them:
 * the memcg growth rate and memory.stat reads compare with >=, the counts,
 * the negative-dentry rate and the unreclaimable percentages with >.
 */
static int test_alerts_boundaries(void)
{
	struct policy_scan th = defaults();
	struct hostscan_result r;

	/* rate >= memcg_offline_growth_per_min: exactly 100/min over the window is critical */
	idle_result(&r);
	r.has_offline_rate = true;
	r.offline_growth_per_min = 100.0;
	r.offline_rate_span_s = 600;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "critical", "scan.memcg_offline_growth_per_min"));

	/* offline > memcg_offline_critical: exactly 10000 is the warning level */
	idle_result(&r);
	r.memcg.offline = 10000;
	r.memcg.online = 10;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-offline", "warning", "scan.memcg_offline_warning"));

	/* negative > dentry_negative_critical: exactly 10,000,000 warns */
	idle_result(&r);
	r.dentry.nr_dentry = 20000000;
	r.dentry.nr_negative = 10000000;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "negative-dentries", "warning", "scan.dentry_negative_warning"));

	/* SUnreclaim % > slab_unreclaimable_critical_pct: exactly 20 % warns */
	idle_result(&r);
	r.mem.mem_total = 100 * MiB;
	r.mem.sunreclaim = 20 * MiB;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "slab-growth", "warning", "scan.slab_unreclaimable_warning_pct"));

	/* stat_read_ns >= memcg_stat_read_critical: exactly 100 ms is critical */
	idle_result(&r);
	r.memcg.stat_read_max_ns = 100 * NSEC_PER_MSEC;
	hostscan_alerts(&th, &r);
	CHECK(alert_is(&r, "memcg-stat-slow", "critical", "scan.memcg_stat_read_critical"));
	return 0;
}

/* ---- the --state file ---- */

static void state_freep(struct hostscan_state *st)
{
	hostscan_state_free(st);
}
#define _cleanup_state_ _cleanup_(state_freep)

static bool push_sample(struct hostscan_state *st, struct hostscan_sample s)
{
	struct hostscan_sample *v = realloc(st->samples, (st->n_samples + 1) * sizeof(*v));

	if (!v)
		return false;
	st->samples = v;
	st->samples[st->n_samples++] = s;
	return true;
}

/* A state with three samples, two slab families and a walk cache. */
static bool fill_state(struct hostscan_state *st, double t0)
{
	struct slab_cache fam[2] = {
		{ .name = "kmalloc-sw-unit", .bytes = 3 * MiB },
		{ .name = "sw_unit_cache", .bytes = 2 * MiB },
	};

	if (!push_sample(st, (struct hostscan_sample){ .t_s = t0,
						       .has_offline = true,
						       .offline = 34,
						       .has_negative = true,
						       .negative = 20201,
						       .has_squeeze = true,
						       .squeeze = 7 }) ||
	    !push_sample(st, (struct hostscan_sample){ .t_s = t0 + 60.25,
						       .has_negative = true,
						       .negative = UINT64_C(1) << 40 }) ||
	    !push_sample(st, (struct hostscan_sample){
				     .t_s = t0 + 120.125, .has_offline = true, .offline = 0 }))
		return false;
	if (slab_history_add(st->slab, t0, fam, 2) < 0)
		return false;
	fam[0].bytes = 4 * MiB;
	if (slab_history_add(st->slab, t0 + 300, fam, 1) < 0)
		return false;
	st->slab_t_s = t0 + 300;
	st->walk_t_s = t0 + 120.5;
	st->walk_online = 7;
	st->walk_ns = 115041;
	return true;
}

static int test_state_round_trip(void)
{
	_cleanup_tmpdir_ struct tmpdir t = {};
	_cleanup_state_ struct hostscan_state a = {}, b = {};
	struct trend_point pa[8], pb[8];
	double t0 = (double)sw_real_ns() / 1e9 - 600;
	struct sw_error err = {};
	char path[128];
	struct stat sb;
	size_t na, nb;

	CHECK(tmpdir_make(&t));
	snprintf(path, sizeof(path), "%s/scan.state", t.path);
	CHECK(hostscan_state_init(&a) == 0 && hostscan_state_init(&b) == 0);
	CHECK(a.boot_id[0]); /* /proc/sys/kernel/random/boot_id */
	CHECK(fill_state(&a, t0));
	CHECK(hostscan_state_save(&a, path, &err) == 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600);

	CHECK(hostscan_state_load(&b, path, &err) == 0);
	CHECK(b.n_samples == 3);
	for (size_t i = 0; i < 3; i++) {
		const struct hostscan_sample *x = &a.samples[i], *y = &b.samples[i];

		CHECK(x->t_s == y->t_s);
		CHECK(x->has_offline == y->has_offline && x->has_negative == y->has_negative &&
		      x->has_squeeze == y->has_squeeze);
		CHECK(!x->has_offline || x->offline == y->offline);
		CHECK(!x->has_negative || x->negative == y->negative);
		CHECK(!x->has_squeeze || x->squeeze == y->squeeze);
	}
	CHECK(slab_history_size(b.slab) == 2);
	na = slab_history_points(a.slab, "kmalloc-sw-unit", pa, 8);
	nb = slab_history_points(b.slab, "kmalloc-sw-unit", pb, 8);
	CHECK(na == 2 && nb == 2);
	for (size_t i = 0; i < na; i++)
		CHECK(pa[i].t_s == pb[i].t_s && pa[i].value == pb[i].value);
	CHECK(slab_history_points(b.slab, "sw_unit_cache", pb, 8) == 1);
	CHECK(pb[0].value == (double)(2 * MiB));
	CHECK(b.slab_t_s == a.slab_t_s);
	CHECK(b.walk_t_s == a.walk_t_s && b.walk_online == 7 && b.walk_ns == 115041);
	CHECK(strcmp(a.boot_id, b.boot_id) == 0);

	/* saved again, it is the same file */
	{
		char path2[160], t1[8192], t2[8192];
		FILE *f;
		size_t n1, n2;

		snprintf(path2, sizeof(path2), "%s/scan2.state", t.path);
		CHECK(hostscan_state_save(&b, path2, &err) == 0);
		f = fopen(path, "re");
		CHECK(f);
		n1 = fread(t1, 1, sizeof(t1), f);
		fclose(f);
		f = fopen(path2, "re");
		CHECK(f);
		n2 = fread(t2, 1, sizeof(t2), f);
		fclose(f);
		CHECK(n1 == n2 && memcmp(t1, t2, n1) == 0);
	}
	/* no temporary file left behind */
	{
		char tmp[192];

		snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
		CHECK(access(tmp, F_OK) < 0 && errno == ENOENT);
	}
	return 0;
}

static int test_state_other_boot(void)
{
	_cleanup_tmpdir_ struct tmpdir t = {};
	_cleanup_state_ struct hostscan_state a = {}, b = {};
	struct sw_error err = {};
	char path[128];

	CHECK(tmpdir_make(&t));
	snprintf(path, sizeof(path), "%s/scan.state", t.path);
	CHECK(hostscan_state_init(&a) == 0 && hostscan_state_init(&b) == 0);
	CHECK(fill_state(&a, (double)sw_real_ns() / 1e9 - 600));
	snprintf(a.boot_id, sizeof(a.boot_id), "00000000-0000-4000-8000-000000000000");
	CHECK(hostscan_state_save(&a, path, &err) == 0);
	CHECK(hostscan_state_load(&b, path, &err) == 0);
	CHECK(b.n_samples == 0);
	CHECK(slab_history_size(b.slab) == 0);
	CHECK(b.slab_t_s == 0 && b.walk_t_s == 0 && b.walk_online == 0 && b.walk_ns == 0);
	CHECK(strcmp(b.boot_id, a.boot_id) != 0); /* still this boot's */
	return 0;
}

static int load_text(const char *text, struct hostscan_state *st, struct sw_error *err)
{
	_cleanup_tmpdir_ struct tmpdir t = {};

	if (!tmpdir_make(&t) || !write_file(t.path, "scan.state", text))
		return -1000;
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/scan.state", t.path);
		return hostscan_state_load(st, path, err);
	}
}

static int test_state_garbage(void)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"{\"version\":",
		"[1,2,3]",
		"42",
		"{}",
		"{\"version\":2,\"samples\":[]}",
		"{\"version\":\"1\"}",
		"{\"version\":1,\"version\":1}", /* duplicate key */
	};
	char ok[512];
	struct sw_error err;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_state_ struct hostscan_state st = {};
		int r;

		CHECK(hostscan_state_init(&st) == 0);
		err = (struct sw_error){};
		r = load_text(bad[i], &st, &err);
		if (r != 1 || !err.msg[0] || st.n_samples != 0) {
			fprintf(stderr, "  `%s`: load returned %d (`%s`), %zu samples\n", bad[i], r,
				err.msg, st.n_samples);
			return -1;
		}
	}

	/* a missing file is a first run: 0, empty */
	{
		_cleanup_state_ struct hostscan_state st = {};

		CHECK(hostscan_state_init(&st) == 0);
		err = (struct sw_error){};
		CHECK(hostscan_state_load(&st, "/nonexistent-sw-unit/scan.state", &err) == 0);
		CHECK(st.n_samples == 0);
	}

	/* odd entries in a good file are skipped, the rest is kept */
	{
		_cleanup_state_ struct hostscan_state st = {};

		CHECK(hostscan_state_init(&st) == 0);
		snprintf(ok, sizeof(ok),
			 "{\"version\":1,\"boot_id\":\"%s\",\"samples\":["
			 "{\"t\":\"x\",\"offline\":1},"
			 "{\"t\":100.5,\"offline\":-3,\"negative\":5,\"squeeze\":\"no\"},"
			 "7,"
			 "{\"t\":160,\"offline\":9}],"
			 "\"slab\":{\"families\":{\"kmalloc-sw-unit\":[[100,1048576],\"bad\"]}},"
			 "\"walk\":{\"t\":150,\"online\":-1,\"ns\":5}}",
			 st.boot_id);
		err = (struct sw_error){};
		CHECK(load_text(ok, &st, &err) == 0);
		CHECK(st.n_samples == 2);
		CHECK(st.samples[0].t_s == 100.5 && !st.samples[0].has_offline &&
		      st.samples[0].has_negative && st.samples[0].negative == 5 &&
		      !st.samples[0].has_squeeze);
		CHECK(st.samples[1].t_s == 160 && st.samples[1].has_offline &&
		      st.samples[1].offline == 9);
		CHECK(slab_history_points(st.slab, "kmalloc-sw-unit", NULL, 0) == 1);
		CHECK(st.walk_t_s == 0); /* a walk cache with a bad field is not used */
	}
	return 0;
}

/* ---- one real scan ---- */

/*
 * Growth sustained over the whole growth_window must stay "sustained" while
 * scans go on: --interval allows 100ms, and the history holds at most
 * HOSTSCAN_MAX_SAMPLES samples. Here the oldest sample is 590 s old (inside
 * the 600 s window) and 1022 more came every 0.1 s, as `scan --interval
 * 100ms` makes them. The next scans must keep seeing a 590 s span; dropping
 * the oldest sample to make room leaves 102 s, and the critical
 * memcg-offline growth alert of the default window can then never fire at
 * intervals below 540 s / 1023 = 0.53 s.
 */
static int test_run_rate_span_kept(void)
{
	_cleanup_state_ struct hostscan_state st = {};
	struct policy_scan th = defaults();
	struct hostscan_options o = { .proc_root = "/proc",
				      .slab_sysfs = SLAB_SYSFS_ROOT,
				      .thresholds = &th };
	static struct hostscan_result r;
	struct sw_error err = {};
	double now = (double)sw_real_ns() / 1e9;

	th.memcg_offline_growth_per_min = 0; /* any growth: this is about the span */
	CHECK(hostscan_state_init(&st) == 0);
	CHECK(push_sample(&st, (struct hostscan_sample){ .t_s = now - 590, .has_offline = true }));
	for (int i = HOSTSCAN_MAX_SAMPLES - 2; i >= 1; i--)
		CHECK(push_sample(&st, (struct hostscan_sample){ .t_s = now - 0.1 * i,
								 .has_offline = true }));
	CHECK(st.n_samples == HOSTSCAN_MAX_SAMPLES - 1);
	CHECK(hostscan_run(&o, &st, &r, &err) == 0);
	if (!r.memcg_ok || !r.memcg.counted)
		SKIP("offline memcgs are not counted here");
	CHECK(r.has_offline_rate && r.offline_rate_span_s >= 540);
	CHECK(alert_is(&r, "memcg-offline", "critical", "scan.memcg_offline_growth_per_min"));
	for (int scan = 2; scan <= 3; scan++) {
		usleep(100000);
		CHECK(hostscan_run(&o, &st, &r, &err) == 0);
		if (!(r.offline_rate_span_s >= 540))
			fprintf(stderr,
				"  scan %d: rate over %.1f s, %zu samples, oldest %.1f s ago\n",
				scan, r.offline_rate_span_s, st.n_samples,
				(double)sw_real_ns() / 1e9 - st.samples[0].t_s);
		CHECK(r.has_offline_rate && r.offline_rate_span_s >= 540);
		CHECK(alert_is(&r, "memcg-offline", "critical",
			       "scan.memcg_offline_growth_per_min"));
	}
	return 0;
}

/* The checks of test_run_fresh_state(), in a child process. */
static int fresh_state_scans(void)
{
	_cleanup_state_ struct hostscan_state st = {};
	struct policy_scan th = defaults();
	struct hostscan_options o = { .proc_root = "/proc",
				      .slab_sysfs = SLAB_SYSFS_ROOT,
				      .thresholds = &th };
	static struct hostscan_result r;
	struct sw_error err = {};

	CHECK(hostscan_state_init(&st) == 0);
	CHECK(st.samples == NULL && st.n_samples == 0);
	CHECK(hostscan_run(&o, &st, &r, &err) == 0);
	CHECK(r.scan_ns > 0 && r.sample_mono_ns > 0);
	CHECK(st.n_samples == 1);
	CHECK(!r.has_offline_rate && !r.has_negative_rate); /* one sample: no rate */
	CHECK(hostscan_run(&o, &st, &r, &err) == 0);
	CHECK(st.n_samples == 2);
	CHECK(!r.has_offline_rate); /* < 60 s of history */
	return 0;
}

/*
 * hostscan_run() from a fresh state (no history yet: samples is NULL, as in
 * every one-shot `scan` without --state), then again with the history of the
 * first. In a child process: on the ASan/UBSan tree an undefined-behaviour
 * report ends the process, and the other tests of this file still run.
 */
static int test_run_fresh_state(void)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(fresh_state_scans() == 0 ? 0 : 1);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "  the scans ended with %s %d\n",
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return 0;
}

UNIT_MAIN(TEST(test_count_v2_per_subsys), TEST(test_count_v2_descendants),
	  TEST(test_count_v2_neither), TEST(test_count_v2_live), TEST(test_walk_v1_fake),
	  TEST(test_walk_v1_live), TEST(test_cgroup_namespace), TEST(test_alerts_idle),
	  TEST(test_alerts_memcg_levels), TEST(test_alerts_memcg_not_counted),
	  TEST(test_alerts_memcg_rate), TEST(test_alerts_stat_read),
	  TEST(test_alerts_negative_dentries), TEST(test_alerts_slab_pct),
	  TEST(test_alerts_all_kinds), TEST(test_alerts_boundaries), TEST(test_state_round_trip),
	  TEST(test_state_other_boot), TEST(test_state_garbage), TEST(test_run_rate_span_kept),
	  TEST(test_run_fresh_state))
