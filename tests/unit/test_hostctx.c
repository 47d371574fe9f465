/* SPDX-License-Identifier: MIT */
/*
 * test_hostctx - host context of syscall records (cgroupscan/hostctx.h):
 * which call gets which host signals, values against this test's own
 * readings of the same files, the record's stallwatch.host object, and the
 * cost of building it (printed: doc/scan.md quotes it).
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "../../cgroupscan/hostctx.h"
#include "../../cgroupscan/hostscan.h"
#include "../../cgroupscan/procstats.h"
#include "../../common/timeutil.h"
#include "../../policy/syscall_set.h"
#include "unit.h"

static const uint64_t no_args[6];

static bool for_call(struct hostctx *h, const char *name, const char *fd_path, const char *path,
		     bool wait, struct record_call_host *out)
{
	struct hostctx_call c = { .nr = syscall_nr(name),
				  .args = no_args,
				  .fd_path = fd_path,
				  .path = path,
				  .wait = wait };

	return hostctx_for_call(h, &c, sw_mono_ns(), out);
}

static const char *root_memory_stat(void)
{
	static const char *const candidates[] = { "/sys/fs/cgroup/memory/memory.stat",
						  "/sys/fs/cgroup/memory.stat" };

	for (size_t i = 0; i < 2; i++)
		if (access(candidates[i], R_OK) == 0)
			return candidates[i];
	return NULL;
}

/* A hostctx whose first sample is in (polls up to 10 s: the host may be busy). */
static struct hostctx *started(void)
{
	struct record_call_host *out = malloc(sizeof(*out));
	struct hostctx *h = NULL;
	uint64_t until = sw_mono_ns() + 10 * NSEC_PER_SEC;
	struct policy_scan th;

	policy_scan_defaults(&th);
	if (!out || hostctx_new(&th, &h) < 0) {
		free(out);
		return NULL;
	}
	while (sw_mono_ns() < until) {
		for_call(h, "read", "/sys/fs/cgroup/memory.stat", NULL, false, out);
		if (!strstr(out->memcg_unavailable, "not taken yet"))
			break;
		usleep(5000);
	}
	free(out);
	return h;
}

static int test_null(void)
{
	struct record_call_host out;

	CHECK(!for_call(NULL, "read", "/sys/fs/cgroup/memory/memory.stat", NULL, false, &out));
	CHECK(!out.has_memcg && !out.has_dentry && !out.has_softnet);
	hostctx_free(NULL);
	return 0;
}

/* Which call gets what: cgroup stat files, dentry walkers, network calls, waits. */
static int test_call_kinds(void)
{
	struct record_call_host *out = malloc(sizeof(*out));
	struct hostctx *h = started();
	const char *stat_file = root_memory_stat();
	uint64_t rmdir_args[6] = { 0, 0, AT_REMOVEDIR }, file_args[6] = { 0 };
	struct hostctx_call c = { .nr = syscall_nr("unlinkat"), .path = "/tmp/x" };
	bool psi = access("/proc/pressure/cpu", R_OK) == 0;

	CHECK(out && h);
	/* memory.stat and cgroup.stat on cgroupfs, by fd or by path */
	if (stat_file) {
		for_call(h, "read", stat_file, NULL, false, out);
		CHECK(out->has_memcg && out->memcg_hierarchy[0]);
		CHECK(out->memcg_counted || out->memcg_unavailable[0]);
		CHECK(out->has_stat_read && out->stat_read_ns > 0);
		CHECK(!out->has_dentry && !out->has_softnet);
		for_call(h, "openat", NULL, stat_file, false, out);
		CHECK(out->has_memcg);
	}
	for_call(h, "read", "/sys/fs/cgroup/unified/cgroup.stat", NULL, false, out);
	CHECK(out->has_memcg);
	/* the name alone is not enough: /tmp is no cgroup filesystem */
	for_call(h, "read", "/tmp/memory.stat", NULL, false, out);
	CHECK(!out->has_memcg);
	for_call(h, "read", "/sys/fs/cgroup/memory/memory.stat.bak", NULL, false, out);
	CHECK(!out->has_memcg);
	for_call(h, "read", "memory.stat", NULL, false, out);
	CHECK(!out->has_memcg);

	/* the calls that walk a directory's child dentries */
	for_call(h, "inotify_add_watch", "anon_inode:inotify", "/tmp", false, out);
	CHECK(out->has_dentry && out->dentry_total > 0 && !out->has_memcg && !out->has_softnet);
	for_call(h, "fanotify_mark", NULL, "/tmp", false, out);
	CHECK(out->has_dentry);
	for_call(h, "rmdir", NULL, "/tmp/x", false, out);
	CHECK(out->has_dentry);
	for_call(h, "umount2", NULL, "/mnt", false, out);
	CHECK(out->has_dentry);
	c.args = rmdir_args;
	CHECK(hostctx_for_call(h, &c, sw_mono_ns(), out) && out->has_dentry);
	c.args = file_args; /* unlinkat of a file walks nothing */
	hostctx_for_call(h, &c, sw_mono_ns(), out);
	CHECK(!out->has_dentry);

	/* network calls: by syscall, or by a socket fd */
	for_call(h, "connect", "socket:[1234]", NULL, false, out);
	CHECK(out->has_softnet && !out->has_dentry && !out->has_memcg);
	for_call(h, "write", "socket:[1234]", NULL, false, out);
	CHECK(out->has_softnet);
	for_call(h, "recvfrom", "socket:[1234]", NULL, true, out);
	CHECK(out->has_softnet);
	for_call(h, "write", "/tmp/f", NULL, false, out);
	CHECK(!out->has_softnet);

	/* PSI: every call that is not a wait; a wait of nothing else has no host context */
	for_call(h, "fsync", "/tmp/f", NULL, false, out);
	CHECK(out->pressure[0].present == psi);
	CHECK(!for_call(h, "read", "pipe:[99]", NULL, true, out));
	CHECK(!out->pressure[0].present);
	hostctx_free(h);
	free(out);
	return 0;
}

/*
 * The record's dentry numbers against this test's readings right before and
 * after (others move the counters: tried a few times).
 */
static int test_dentry_between_readings(void)
{
	struct record_call_host *out = malloc(sizeof(*out));
	struct hostctx *h = started();
	struct dentry_state a, b;
	int ok = 0;

	CHECK(out && h);
	for (int try = 0; try < 10 && !ok; try++) {
		CHECK(procstats_dentry("/proc", &a, NULL) == 0);
		for_call(h, "inotify_add_watch", NULL, "/tmp", false, out);
		CHECK(procstats_dentry("/proc", &b, NULL) == 0);
		CHECK(out->has_dentry && out->has_dentry_negative == a.has_negative);
		ok = out->dentry_negative >=
			     (a.nr_negative < b.nr_negative ? a.nr_negative : b.nr_negative) &&
		     out->dentry_negative <=
			     (a.nr_negative > b.nr_negative ? a.nr_negative : b.nr_negative);
	}
	CHECK(ok);
	hostctx_free(h);
	free(out);
	return 0;
}

/* The stallwatch.host object of a record, host-record names, nothing unset. */
static int test_record_object(void)
{
	struct record_call_host *host = calloc(1, sizeof(*host));
	struct record_syscall ev = {
		.action = "slow-syscall",
		.rule_name = "r",
		.level = "warning",
		.name = "read",
		.fd_path = "/sys/fs/cgroup/memory/memory.stat",
		.duration_ns = 1000,
		.event_mono_ns = 2000,
		.start_mono_ns = 1000,
	};
	json_t *j, *hj, *m;
	char *line;

	CHECK(host);
	host->has_memcg = true;
	snprintf(host->memcg_hierarchy, sizeof(host->memcg_hierarchy), "v1");
	host->memcg_counted = true;
	host->memcg_online = 9;
	host->memcg_offline = 327;
	host->memcg_offline_min = 320;
	host->memcg_offline_max = 330;
	host->has_stat_read = true;
	host->stat_read_ns = 12345;
	snprintf(host->stat_read_path, sizeof(host->stat_read_path), "%s", ev.fd_path);
	host->memcg_sample_age_ns = 77;
	host->has_memcg_previous = true;
	host->previous_counted = true;
	host->previous_offline = 300;
	host->previous_age_ns = 10000000077ULL;
	host->pressure[1].present = true;
	host->pressure[1].some_avg10 = 1.5;
	host->read_ns = 42;
	ev.host = host;
	line = record_encode_syscall(&ev, "h", 0, RECORD_FORMAT_JSON);
	CHECK(line);
	j = json_loads(line, 0, NULL);
	free(line);
	CHECK(j);
	hj = json_object_get(json_object_get(j, "stallwatch"), "host");
	m = json_object_get(hj, "memcg");
	CHECK_STR(json_string_value(json_object_get(m, "hierarchy")), "v1");
	CHECK(json_integer_value(json_object_get(m, "offline")) == 327);
	CHECK(json_integer_value(json_object_get(m, "online")) == 9);
	CHECK(json_integer_value(json_object_get(m, "offline_min")) == 320);
	CHECK(json_integer_value(json_object_get(m, "stat_read_ns")) == 12345);
	CHECK(json_integer_value(json_object_get(m, "sample_age_ns")) == 77);
	CHECK(!json_object_get(m, "unavailable") && !json_object_get(m, "offline_growth_per_min"));
	CHECK(json_integer_value(json_object_get(json_object_get(m, "previous"), "offline")) ==
	      300);
	CHECK(!json_object_get(json_object_get(m, "previous"), "stat_read_ns"));
	CHECK(!json_object_get(hj, "dentry") && !json_object_get(hj, "softnet"));
	CHECK(json_real_value(json_object_get(
		      json_object_get(json_object_get(hj, "pressure"), "memory"), "some_avg10")) ==
	      1.5);
	CHECK(!json_object_get(json_object_get(hj, "pressure"), "cpu"));
	CHECK(json_integer_value(json_object_get(hj, "read_ns")) == 42);
	json_decref(j);

	/* without host context: no stallwatch.host at all */
	ev.host = NULL;
	line = record_encode_syscall(&ev, "h", 0, RECORD_FORMAT_JSON);
	CHECK(line && !strstr(line, "\"host\":{\"memcg"));
	j = json_loads(line, 0, NULL);
	free(line);
	CHECK(j && !json_object_get(json_object_get(j, "stallwatch"), "host"));
	json_decref(j);
	free(host);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* What the tracer pays per record (doc/scan.md quotes these lines). */
static int test_cost(void)
{
	enum { N = 201 };
	static const char *const kinds[][3] = {
		{ "read", "/sys/fs/cgroup/memory/memory.stat", "memcg (cached sample) + PSI" },
		{ "inotify_add_watch", NULL, "dentry-state + PSI" },
		{ "sendto", "socket:[1]", "softnet_stat (a wait: no PSI)" },
		{ "fsync", "/tmp/f", "PSI only (cached up to 100 ms)" },
	};
	struct record_call_host *out = malloc(sizeof(*out));
	struct hostctx *h = started();
	uint64_t t[N];

	CHECK(out && h);
	for (size_t k = 0; k < 4; k++) {
		for (int i = 0; i < N; i++) {
			for_call(h, kinds[k][0], kinds[k][1], "/tmp", k == 2, out);
			t[i] = out->read_ns;
		}
		qsort(t, N, sizeof(t[0]), cmp_u64);
		fprintf(stderr, "  hostctx_for_call %s (%s): median %.1f us, p90 %.1f us\n",
			kinds[k][0], kinds[k][2], (double)t[N / 2] / 1e3,
			(double)t[N * 9 / 10] / 1e3);
		/* a few small files: far below a millisecond even on a busy host */
		CHECK(t[N / 2] < 2 * NSEC_PER_MSEC);
	}
	/* what a PSI refresh costs (at most every 100 ms): the three files */
	for (int i = 0; i < N; i++) {
		struct pressure p;
		uint64_t t0 = sw_mono_ns();

		for (size_t r = 0; r < 3; r++)
			procstats_pressure("/proc", hostscan_psi_names[r], &p);
		t[i] = sw_mono_ns() - t0;
	}
	qsort(t, N, sizeof(t[0]), cmp_u64);
	fprintf(stderr, "  PSI refresh (3 files): median %.1f us, p90 %.1f us\n",
		(double)t[N / 2] / 1e3, (double)t[N * 9 / 10] / 1e3);
	hostctx_free(h);
	free(out);
	return 0;
}

UNIT_MAIN(TEST(test_null), TEST(test_call_kinds), TEST(test_dentry_between_readings),
	  TEST(test_record_object), TEST(test_cost))
