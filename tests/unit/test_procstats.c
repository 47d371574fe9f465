/* SPDX-License-Identifier: MIT */
/*
 * The host /proc readers (cgroupscan/procstats.h): parsers on fixtures from
 * several kernel generations and on malformed text, live reads of this
 * machine's files, a fake proc_root for paths and absent files, and a live
 * negative-dentry experiment (doc/scan.md, Background).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cgroupscan/procstats.h"
#include "common/macro.h"
#include "unit.h"

/* ---- dentry-state ---- */

static int test_dentry_parse(void)
{
	struct dentry_state d;

	/* 6.18, this project's test VM */
	CHECK(procstats_dentry_parse("97395\t95991\t45\t0\t17066\t0\n", &d) == 0);
	CHECK(d.nr_dentry == 97395 && d.nr_unused == 95991 && d.age_limit == 45);
	CHECK(d.want_pages == 0 && d.nr_negative == 17066 && d.has_negative);

	/* 4.x: field 5 is a dummy 0; only the reader's uname gate can tell */
	CHECK(procstats_dentry_parse("2359296\t2336129\t45\t0\t0\t0\n", &d) == 0);
	CHECK(d.nr_dentry == 2359296 && d.nr_unused == 2336129 && d.nr_negative == 0);

	/* field 5 missing: no negative count */
	CHECK(procstats_dentry_parse("100 90 45 0\n", &d) == 0);
	CHECK(d.nr_dentry == 100 && !d.has_negative && d.nr_negative == 0);

	/* no trailing newline, spaces, 64-bit values */
	CHECK(procstats_dentry_parse("18446744073709551615 1 45 0 5 0", &d) == 0);
	CHECK(d.nr_dentry == UINT64_MAX && d.nr_negative == 5);
	return 0;
}

static int test_dentry_parse_rejects(void)
{
	static const char *const bad[] = {
		"",
		"\n",
		"1\t2\t3\n", /* too few fields */
		"1\t2\t3\t4\t5\t6\t7\n", /* too many */
		"-1\t2\t3\t4\t5\t6\n",
		"+1\t2\t3\t4\t5\t6\n",
		"1x\t2\t3\t4\t5\t6\n",
		"1\t2\t3\t4\t0x5\t6\n",
		"1.5\t2\t3\t4\t5\t6\n",
		"1,2,3,4,5,6\n",
		"18446744073709551616\t2\t3\t4\t5\t6\n", /* 2^64 */
		"1\t2\t3\t4\t5\t6\n7\t8\t9\t10\t11\t12\n", /* two lines */
		"1\t2\t3\t4\t5\t6\n\n",
		"1\t2\t3\t4\t5\t6\r\n",
	};
	struct dentry_state d = { .nr_dentry = 4242 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (procstats_dentry_parse(bad[i], &d) != -EINVAL) {
			fprintf(stderr, "  accepted `%s`\n", bad[i]);
			return -1;
		}
	}
	CHECK(procstats_dentry_parse(NULL, &d) == -EINVAL);
	CHECK(d.nr_dentry == 4242); /* untouched on failure */
	return 0;
}

static int test_release_gate(void)
{
	CHECK(procstats_release_has_nr_negative("6.18.44-fc-v669"));
	CHECK(procstats_release_has_nr_negative("5.0.0"));
	CHECK(procstats_release_has_nr_negative("5.10.0-28-amd64"));
	CHECK(procstats_release_has_nr_negative("10.1"));
	CHECK(!procstats_release_has_nr_negative("4.19.0-17-amd64"));
	CHECK(!procstats_release_has_nr_negative("4.20.17"));
	CHECK(!procstats_release_has_nr_negative("3.10.0-1160.el7.x86_64"));
	CHECK(!procstats_release_has_nr_negative(""));
	CHECK(!procstats_release_has_nr_negative("5"));
	CHECK(!procstats_release_has_nr_negative("linux-6.1"));
	CHECK(!procstats_release_has_nr_negative(NULL));
	return 0;
}

/* ---- meminfo ---- */

#define MEMINFO_HEAD                                                                               \
	"MemTotal:       24684084 kB\n"                                                            \
	"MemFree:        22093312 kB\n"                                                            \
	"MemAvailable:   23861572 kB\n"                                                            \
	"Buffers:          210588 kB\n"                                                            \
	"Slab:             146400 kB\n"                                                            \
	"SReclaimable:     120580 kB\n"                                                            \
	"SUnreclaim:        25820 kB\n"                                                            \
	"KernelStack:        3632 kB\n"
#define MEMINFO_TAIL                                                                               \
	"HugePages_Total:       0\n"                                                               \
	"Hugepagesize:       2048 kB\n"                                                            \
	"DirectMap1G:     2097152 kB\n"

static int test_meminfo_parse(void)
{
	struct meminfo m;

	CHECK(procstats_meminfo_parse(MEMINFO_HEAD "Percpu:              664 kB\n" MEMINFO_TAIL,
				      &m) == 0);
	CHECK(m.mem_total == 24684084ULL * 1024 && m.mem_available == 23861572ULL * 1024);
	CHECK(m.slab == 146400ULL * 1024 && m.sreclaimable == 120580ULL * 1024);
	CHECK(m.sunreclaim == 25820ULL * 1024);
	CHECK(m.has_percpu && m.percpu == 664ULL * 1024);

	/* before 4.16: no Percpu line */
	CHECK(procstats_meminfo_parse(MEMINFO_HEAD MEMINFO_TAIL, &m) == 0);
	CHECK(!m.has_percpu && m.percpu == 0 && m.sunreclaim == 25820ULL * 1024);
	return 0;
}

static int test_meminfo_parse_rejects(void)
{
	static const char *const bad[] = {
		"",
		/* a required key missing */
		"MemTotal: 1 kB\nMemAvailable: 1 kB\nSlab: 1 kB\nSReclaimable: 1 kB\n",
		MEMINFO_HEAD "MemTotal:       1 kB\n", /* repeated */
		MEMINFO_HEAD "Percpu: 1 kB\nPercpu: 1 kB\n",
		MEMINFO_HEAD "Percpu: 664\n", /* no unit */
		MEMINFO_HEAD "Percpu: 664 MB\n", MEMINFO_HEAD "Percpu: 664 kB extra\n",
		MEMINFO_HEAD "Percpu: 66x4 kB\n", MEMINFO_HEAD "Percpu: -664 kB\n",
		MEMINFO_HEAD "Percpu:  kB\n",
		MEMINFO_HEAD "Percpu: 18014398509481984 kB\n", /* 2^54 kB: bytes overflow */
		MEMINFO_HEAD "no colon here\n", MEMINFO_HEAD "\n", /* blank line */
	};
	struct meminfo m = { .mem_total = 4242 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (procstats_meminfo_parse(bad[i], &m) != -EINVAL) {
			fprintf(stderr, "  accepted meminfo case %zu\n", i);
			return -1;
		}
	}
	CHECK(m.mem_total == 4242);
	return 0;
}

/* ---- softnet_stat ---- */

static int test_softnet_parse(void)
{
	struct softnet s;

	/* 5.10+: 13 columns (backlog length, CPU index) */
	CHECK(procstats_softnet_parse("0000abcd 00000002 00000010 00000000 00000000 00000000 "
				      "00000000 00000000 00000000 00000000 00000000 00000003 "
				      "00000000\n"
				      "ffffffff 00000001 00000001 00000000 00000000 00000000 "
				      "00000000 00000000 00000000 00000007 00000000 00000000 "
				      "00000001\n",
				      &s) == 0);
	CHECK(s.cpus == 2 && s.processed == 0xabcdULL + 0xffffffffULL);
	CHECK(s.dropped == 3 && s.time_squeeze == 0x11);

	/* current 6.x (this VM's 6.18): 15 columns */
	CHECK(procstats_softnet_parse("00000019 00000000 00000000 00000000 00000000 00000000 "
				      "00000000 00000000 00000000 00000000 00000000 00000000 "
				      "00000000 00000000 00000000\n"
				      "00000237 00000000 0000000A 00000000 00000000 00000000 "
				      "00000000 00000000 00000000 00000000 00000000 00000000 "
				      "00000001 00000000 00000000\n",
				      &s) == 0);
	CHECK(s.cpus == 2 && s.processed == 0x19 + 0x237 && s.dropped == 0);
	CHECK(s.time_squeeze == 10);

	/* 3.11+: 11 columns, one CPU, no trailing newline */
	CHECK(procstats_softnet_parse("00000100 00000000 00000005 00000000 00000000 00000000 "
				      "00000000 00000000 00000000 00000000 00000000",
				      &s) == 0);
	CHECK(s.cpus == 1 && s.processed == 256 && s.time_squeeze == 5);
	return 0;
}

static int test_softnet_parse_rejects(void)
{
	static const char *const bad[] = {
		"",
		"\n",
		"00000001 00000002\n", /* fewer than 3 columns */
		"00000001 00000002 00000003 00000004\n00000001 00000002 00000003\n",
		"00000001 00000002 0000000g\n",
		"00000001 -0000002 00000003\n",
		"0x000001 00000002 00000003\n",
		"100000000 00000002 00000003\n", /* above 32 bits */
		"00000001 00000002 00000003\n\n00000001 00000002 00000003\n",
		"00000001,00000002,00000003\n",
	};
	struct softnet s = { .cpus = 4242 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (procstats_softnet_parse(bad[i], &s) != -EINVAL) {
			fprintf(stderr, "  accepted `%s`\n", bad[i]);
			return -1;
		}
	}
	CHECK(s.cpus == 4242);
	return 0;
}

/* ---- pressure ---- */

static int test_pressure_parse(void)
{
	struct pressure ps;

	CHECK(procstats_pressure_parse("some avg10=1.23 avg60=45.67 avg300=0.12 total=19814996\n"
				       "full avg10=0.50 avg60=100.00 avg300=0.11 total=17671420\n",
				       &ps) == 0);
	CHECK(ps.present && ps.has_full);
	/* exactly the doubles strtod() gives in the C locale */
	CHECK(ps.some_avg10 == 1.23 && ps.some_avg60 == 45.67 && ps.some_total_us == 19814996);
	CHECK(ps.full_avg10 == 0.5 && ps.full_avg60 == 100.0 && ps.full_total_us == 17671420);

	/* cpu before 5.13: no full line */
	CHECK(procstats_pressure_parse("some avg10=0.77 avg60=1.06 avg300=1.33 total=807717726\n",
				       &ps) == 0);
	CHECK(ps.present && !ps.has_full && ps.some_avg10 == 0.77 && ps.some_avg60 == 1.06);
	CHECK(ps.full_avg10 == 0 && ps.full_total_us == 0);

	/* forward compatible: unknown keys and lines are skipped; order is free */
	CHECK(procstats_pressure_parse("some total=5 avg300=0 avg60=0.1 avg10=2 avg1800=7.00\n"
				       "peak avg10=9.99\n",
				       &ps) == 0);
	CHECK(ps.some_avg10 == 2.0 && ps.some_avg60 == 0.1 && ps.some_total_us == 5);
	CHECK(!ps.has_full);
	return 0;
}

static int test_pressure_parse_rejects(void)
{
	static const char *const bad[] = {
		"",
		"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", /* no some line */
		"some avg10=0.00 avg60=0.00 avg300=0.00\n", /* no total */
		"some avg10=0.00 avg60=0.00 total=0\n", /* no avg300 */
		"some avg10=0.00 avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		"some avg10=1,23 avg60=0.00 avg300=0.00 total=0\n", /* comma decimal */
		"some avg10= avg60=0.00 avg300=0.00 total=0\n",
		"some avg10=.5 avg60=0.00 avg300=0.00 total=0\n",
		"some avg10=5. avg60=0.00 avg300=0.00 total=0\n",
		"some avg10=-1.00 avg60=0.00 avg300=0.00 total=0\n",
		"some avg10=1e3 avg60=0.00 avg300=0.00 total=0\n",
		"some avg10=1.0000000000000000 avg60=0.00 avg300=0.00 total=0\n", /* > 15 digits */
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=1.5\n",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551616\n",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=0 junk\n",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=0 x=\n",
		"some=1 avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n\n", /* blank line */
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nFULL avg10=0\n",
	};
	struct pressure ps = { .some_total_us = 4242 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (procstats_pressure_parse(bad[i], &ps) != -EINVAL) {
			fprintf(stderr, "  accepted `%s`\n", bad[i]);
			return -1;
		}
	}
	CHECK(ps.some_total_us == 4242 && !ps.present);
	return 0;
}

/* Under a comma-decimal locale strtod() would stop at the '.'; the parser must not care. */
static int test_pressure_ignores_locale(void)
{
	_cleanup_free_ char *saved = NULL;
	struct pressure ps = { 0 };
	int r;

	saved = strdup(setlocale(LC_NUMERIC, NULL));
	CHECK(saved);
	if (!setlocale(LC_NUMERIC, "de_DE.UTF-8"))
		SKIP("de_DE.UTF-8 is not installed");
	r = procstats_pressure_parse("some avg10=1.25 avg60=0.00 avg300=0.00 total=0\n", &ps);
	setlocale(LC_NUMERIC, saved);
	CHECK(r == 0 && ps.some_avg10 == 1.25);
	return 0;
}

/* ---- /proc/cgroups ---- */

/* cgroup v1 memory hierarchy next to v2 (hybrid), as on this project's test VM */
static const char cgroups_hybrid[] = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
				     "cpuset\t3\t1\t1\n"
				     "cpu\t1\t1\t1\n"
				     "memory\t7\t68680\t1\n"
				     "memory_recursiveprot\t0\t1\t1\n"
				     "hugetlb\t0\t1\t1\n"
				     "pids\t8\t1\t1\n";

/* pure cgroup v2 (systemd unified): every controller on hierarchy 0 */
static const char cgroups_v2[] = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
				 "cpuset\t0\t97\t1\n"
				 "cpu\t0\t97\t1\n"
				 "memory\t0\t97\t1\n"
				 "rdma\t0\t97\t0\n";

static int test_cgroups_parse(void)
{
	struct cgroups_row row;

	CHECK(procstats_cgroups_parse(cgroups_hybrid, "memory", &row) == 0);
	CHECK(row.hierarchy == 7 && row.num_cgroups == 68680 && row.enabled);
	CHECK(procstats_cgroups_parse(cgroups_hybrid, "pids", &row) == 0);
	CHECK(row.hierarchy == 8 && row.num_cgroups == 1);
	CHECK(procstats_cgroups_parse(cgroups_v2, "memory", &row) == 0);
	CHECK(row.hierarchy == 0 && row.num_cgroups == 97 && row.enabled);
	CHECK(procstats_cgroups_parse(cgroups_v2, "rdma", &row) == 0);
	CHECK(!row.enabled);
	/* no trailing newline, space separated */
	CHECK(procstats_cgroups_parse("memory 4 32 1", "memory", &row) == 0);
	CHECK(row.hierarchy == 4 && row.num_cgroups == 32);
	return 0;
}

static int test_cgroups_parse_rejects(void)
{
	static const struct {
		const char *text;
		int code;
	} cases[] = {
		{ "", -ENOENT },
		{ "#subsys_name\thierarchy\tnum_cgroups\tenabled\n", -ENOENT },
		{ "cpu\t1\t1\t1\nmemoryx\t2\t3\t1\n", -ENOENT },
		{ "#memory\t2\t3\t1\n", -ENOENT },
		{ "memory\t2\t3\n", -EINVAL }, /* missing column */
		{ "memory\t2\t3\t1\t9\n", -EINVAL }, /* extra column */
		{ "memory\t2\t3\t2\n", -EINVAL }, /* enabled is 0 or 1 */
		{ "memory\t-1\t3\t1\n", -EINVAL },
		{ "memory\t4294967296\t3\t1\n", -EINVAL }, /* hierarchy above unsigned */
		{ "memory\t2\t3x\t1\n", -EINVAL },
		{ "memory\t2\t3\t1\nmemory\t2\t3\t1\n", -EINVAL }, /* twice */
	};
	struct cgroups_row row = { .num_cgroups = 4242 };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = procstats_cgroups_parse(cases[i].text, "memory", &row);

		if (r != cases[i].code) {
			fprintf(stderr, "  `%s`: %d, want %d\n", cases[i].text, r, cases[i].code);
			return -1;
		}
	}
	CHECK(procstats_cgroups_parse(cgroups_v2, "", &row) == -EINVAL);
	CHECK(procstats_cgroups_parse(cgroups_v2, NULL, &row) == -EINVAL);
	CHECK(procstats_cgroups_parse(cgroups_v2, "memory\t0", &row) == -EINVAL);
	CHECK(row.num_cgroups == 4242);
	return 0;
}

/* ---- live reads of this machine's /proc ---- */

static int test_live(void)
{
	struct dentry_state d;
	struct meminfo m;
	struct softnet s;
	struct cgroups_row row;
	struct utsname u;
	uint64_t ns = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	static const char *const resources[] = { "cpu", "memory", "io" };

	CHECK(uname(&u) == 0);
	CHECK(procstats_dentry("/proc", &d, &ns) == 0);
	CHECK(d.nr_dentry > 0 && d.nr_unused <= d.nr_dentry && ns > 0);
	CHECK(d.has_negative == procstats_release_has_nr_negative(u.release));
	CHECK(procstats_dentry(NULL, &d, NULL) == 0 && d.nr_dentry > 0);

	CHECK(procstats_meminfo("/proc", &m) == 0);
	CHECK(m.mem_total > 0 && m.mem_available <= m.mem_total);
	/* fs/proc/meminfo.c prints Slab as SReclaimable + SUnreclaim of one snapshot */
	CHECK(m.slab == m.sreclaimable + m.sunreclaim && m.slab < m.mem_total);

	CHECK(procstats_softnet("/proc", &s) == 0);
	CHECK(s.cpus >= 1 && ncpu > 0 && s.cpus <= (unsigned long)ncpu);

	for (size_t i = 0; i < ARRAY_SIZE(resources); i++) {
		struct pressure ps = { .present = true };
		int r = procstats_pressure("/proc", resources[i], &ps);

		CHECK(r == 0 || r == -ENOENT);
		CHECK(ps.present == (r == 0));
		if (r == 0)
			CHECK(ps.some_avg10 >= 0 && ps.some_avg10 <= 100 && ps.some_avg60 <= 100);
	}

	CHECK(procstats_cgroups("/proc", "memory", &row) == 0);
	CHECK(row.enabled && row.num_cgroups >= 1);
	CHECK(procstats_cgroups("/proc", "no-such-controller", &row) == -ENOENT);
	return 0;
}

/* ---- a fake proc_root ---- */

struct fake_root {
	char dir[64];
	char made[16][128]; /* relative paths created, removed in reverse order */
	bool is_dir[16];
	size_t n;
};

static int fake_add(struct fake_root *f, const char *rel, const char *content)
{
	char path[256];
	bool dir = !content;

	if (f->n == ARRAY_SIZE(f->made))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	if (dir) {
		if (mkdir(path, 0700) < 0)
			return -1;
	} else {
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		size_t len = strlen(content);

		if (fd < 0)
			return -1;
		snprintf(f->made[f->n], sizeof(f->made[0]), "%s", rel);
		f->is_dir[f->n++] = false;
		return write(fd, content, len) == (ssize_t)len ? 0 : -1;
	}
	snprintf(f->made[f->n], sizeof(f->made[0]), "%s", rel);
	f->is_dir[f->n++] = dir;
	return 0;
}

/* Replace a file's content (the file must have been added). */
static int fake_rewrite(struct fake_root *f, const char *rel, const char *content, size_t len)
{
	char path[256];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	return write(fd, content, len) == (ssize_t)len ? 0 : -1;
}

static void fake_remove(struct fake_root *f)
{
	char path[256];

	while (f->n > 0) {
		f->n--;
		snprintf(path, sizeof(path), "%s/%s", f->dir, f->made[f->n]);
		if (f->is_dir[f->n])
			rmdir(path);
		else
			unlink(path);
	}
	rmdir(f->dir);
}

static int run_fake_root(struct fake_root *f)
{
	static const char big[5000] = { [0 ... 4998] = '1' };
	static const char with_nul[] = "500\t400\t45\0\t0\t3\n";
	struct dentry_state d = { 0 };
	struct meminfo m = { 0 };
	struct softnet s = { 0 };
	struct pressure ps = { 0 };
	struct cgroups_row row = { 0 };
	char empty_root[128];
	uint64_t ns = 0;

	CHECK(fake_add(f, "sys", NULL) == 0 && fake_add(f, "sys/fs", NULL) == 0);
	CHECK(fake_add(f, "sys/fs/dentry-state", "500\t400\t45\t0\t300\t0\n") == 0);
	CHECK(fake_add(f, "meminfo", MEMINFO_HEAD MEMINFO_TAIL) == 0);
	CHECK(fake_add(f, "net", NULL) == 0);
	CHECK(fake_add(f, "net/softnet_stat",
		       "00000010 00000001 00000002\n"
		       "00000020 00000003 00000004\n") == 0);
	CHECK(fake_add(f, "pressure", NULL) == 0);
	CHECK(fake_add(f, "pressure/cpu", "some avg10=3.50 avg60=2.25 avg300=1.00 total=99\n") ==
	      0);
	CHECK(fake_add(f, "cgroups", cgroups_v2) == 0);
	CHECK(fake_add(f, "empty", NULL) == 0);

	/* every reader follows proc_root */
	CHECK(procstats_dentry(f->dir, &d, &ns) == 0);
	CHECK(d.nr_dentry == 500 && d.nr_unused == 400 && d.nr_negative == 300 && ns > 0);
	CHECK(procstats_meminfo(f->dir, &m) == 0);
	CHECK(m.mem_total == 24684084ULL * 1024 && !m.has_percpu);
	CHECK(procstats_softnet(f->dir, &s) == 0);
	CHECK(s.cpus == 2 && s.processed == 0x30 && s.dropped == 4 && s.time_squeeze == 6);
	CHECK(procstats_pressure(f->dir, "cpu", &ps) == 0);
	CHECK(ps.present && !ps.has_full && ps.some_avg10 == 3.5 && ps.some_total_us == 99);
	CHECK(procstats_cgroups(f->dir, "memory", &row) == 0);
	CHECK(row.hierarchy == 0 && row.num_cgroups == 97);

	/* absent resource: -ENOENT, present = false */
	ps.present = true;
	CHECK(procstats_pressure(f->dir, "io", &ps) == -ENOENT && !ps.present);
	CHECK(procstats_pressure(f->dir, "../meminfo", &ps) == -EINVAL);
	CHECK(procstats_pressure(f->dir, "", &ps) == -EINVAL);
	CHECK(procstats_pressure(f->dir, "..", &ps) == -EINVAL);
	CHECK(procstats_cgroups(f->dir, "pids", &row) == -ENOENT);

	/* a tree without the files */
	snprintf(empty_root, sizeof(empty_root), "%s/empty", f->dir);
	CHECK(procstats_dentry(empty_root, &d, NULL) == -ENOENT);
	CHECK(procstats_meminfo(empty_root, &m) == -ENOENT);
	CHECK(procstats_softnet(empty_root, &s) == -ENOENT);
	CHECK(procstats_pressure(empty_root, "memory", &ps) == -ENOENT && !ps.present);
	CHECK(procstats_cgroups(empty_root, "memory", &row) == -ENOENT);

	/* malformed files are -EINVAL; the output is untouched */
	d.nr_dentry = 4242;
	CHECK(fake_rewrite(f, "sys/fs/dentry-state", "500\t400\n", 8) == 0);
	CHECK(procstats_dentry(f->dir, &d, NULL) == -EINVAL && d.nr_dentry == 4242);
	CHECK(fake_rewrite(f, "sys/fs/dentry-state", with_nul, sizeof(with_nul) - 1) == 0);
	CHECK(procstats_dentry(f->dir, &d, NULL) == -EINVAL); /* embedded NUL */
	CHECK(fake_rewrite(f, "net/softnet_stat", "zz\n", 3) == 0);
	CHECK(procstats_softnet(f->dir, &s) == -EINVAL);

	/* larger than the 4 KiB dentry-state buffer: refused, not truncated */
	CHECK(fake_rewrite(f, "sys/fs/dentry-state", big, sizeof(big) - 1) == 0);
	CHECK(procstats_dentry(f->dir, &d, NULL) == -EFBIG);
	/* exactly filling the buffer (4095 bytes + NUL) is fine up to the parser */
	CHECK(fake_rewrite(f, "sys/fs/dentry-state", big, 4095) == 0);
	CHECK(procstats_dentry(f->dir, &d, NULL) == -EINVAL);
	return 0;
}

static int test_fake_proc_root(void)
{
	struct fake_root f = { .dir = "/tmp/sw-procstats-XXXXXX" };
	const char *tmp = getenv("TMPDIR");
	int r;

	if (tmp && *tmp && strlen(tmp) < 40)
		snprintf(f.dir, sizeof(f.dir), "%s/sw-procstats-XXXXXX", tmp);
	CHECK(mkdtemp(f.dir));
	r = run_fake_root(&f);
	fake_remove(&f);
	CHECK(access(f.dir, F_OK) < 0 && errno == ENOENT);
	return r;
}

/* ---- negative dentries, live ---- */

#define TMPFS_MAGIC_ 0x01021994
#define RAMFS_MAGIC_ 0x858458f6
#define NEG_NAMES 20000

/* A directory whose filesystem keeps negative dentries (tmpfs drops them at once). */
static bool keeps_negative_dentries(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 && (unsigned long)sf.f_type != TMPFS_MAGIC_ &&
	       (unsigned long)sf.f_type != RAMFS_MAGIC_;
}

/* nr_negative, field 5 of dentry-state, read with stdio: independent of procstats. */
static int raw_negative(unsigned long long *ret)
{
	unsigned long long f[5];
	FILE *fp = fopen("/proc/sys/fs/dentry-state", "re");
	int n;

	if (!fp)
		return -1;
	n = fscanf(fp, "%llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3], &f[4]);
	fclose(fp);
	if (n != 5)
		return -1;
	*ret = f[4];
	return 0;
}

/*
 * procstats_dentry() between two raw reads. The count is host-wide and every
 * other process moves it, so procstats' value is checked against the two
 * readings around it, not against one taken before some other work: 0 when
 * it lies between them, 1 when not (it went up and back down in between),
 * -1 on an error.
 */
static int bracketed(struct dentry_state *ret, const char *what)
{
	unsigned long long r1, r2;

	if (raw_negative(&r1) < 0 || procstats_dentry("/proc", ret, NULL) < 0 ||
	    raw_negative(&r2) < 0)
		return -1;
	if (!ret->has_negative)
		return 0;
	if (ret->nr_negative >= (r1 < r2 ? r1 : r2) && ret->nr_negative <= (r1 > r2 ? r1 : r2))
		return 0;
	fprintf(stderr, "  %s: procstats nr_negative %llu, raw reads %llu then %llu\n", what,
		(unsigned long long)ret->nr_negative, r1, r2);
	return 1;
}

/*
 * One attempt: 20000 failed lookups of unique names in a fresh directory,
 * then rmdir. Before, after the lookups and after the rmdir, procstats'
 * nr_negative must agree with the raw reads around it; after the lookups the
 * count must hold (nearly all of) our 20000, which only reclaim could take
 * away. Returns 0 if so, 1 if not (noise), -1 on a hard failure, UNIT_SKIP
 * without a negative count.
 */
static int negative_attempt(const char *parent)
{
	char dir[PATH_MAX];
	struct dentry_state before, filled, after;
	_cleanup_close_ int dfd = -1;
	int rb, rf, ra;

	snprintf(dir, sizeof(dir), "%s/sw-negdent-XXXXXX", parent);
	if (!mkdtemp(dir))
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rb = dfd < 0 ? -1 : bracketed(&before, "before");
	if (rb < 0) {
		rmdir(dir);
		return -1;
	}
	if (!before.has_negative) {
		rmdir(dir);
		unit_skip_reason = "no nr_negative in dentry-state (kernel < 5.0)";
		return UNIT_SKIP;
	}
	for (int i = 0; i < NEG_NAMES; i++) {
		char name[32];
		struct stat st;

		snprintf(name, sizeof(name), "no-such-file-%05d", i);
		if (fstatat(dfd, name, &st, 0) == 0 || errno != ENOENT) {
			rmdir(dir);
			return -1;
		}
	}
	rf = bracketed(&filled, "with ours");
	if (rf < 0) {
		rmdir(dir);
		return -1;
	}
	/* rmdir prunes the directory's children (shrink_dcache_parent) */
	if (rmdir(dir) < 0)
		return -1;
	ra = bracketed(&after, "after rmdir");
	if (ra < 0)
		return -1;
	if (filled.nr_negative < 15000) {
		fprintf(stderr, "  nr_negative %llu with our %d in it\n",
			(unsigned long long)filled.nr_negative, NEG_NAMES);
		return 1;
	}
	return rb || rf || ra;
}

/*
 * Up to three attempts: a count that went up and back down between two raw
 * reads (other processes making or pruning negative dentries), or reclaim
 * taking ours, spoils one attempt, not the test.
 */
static int test_negative_dentries_live(void)
{
	const char *candidates[] = { getenv("TMPDIR"), "/tmp", "/var/tmp", "." };
	const char *parent = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(candidates) && !parent; i++)
		if (candidates[i] && *candidates[i] && access(candidates[i], W_OK) == 0 &&
		    keeps_negative_dentries(candidates[i]))
			parent = candidates[i];
	if (!parent)
		SKIP("no writable directory on a filesystem that keeps negative dentries");

	for (int attempt = 0; attempt < 3; attempt++) {
		int r = negative_attempt(parent);

		if (r != 1)
			return r;
	}
	return -1;
}

UNIT_MAIN(TEST(test_dentry_parse), TEST(test_dentry_parse_rejects), TEST(test_release_gate),
	  TEST(test_meminfo_parse), TEST(test_meminfo_parse_rejects), TEST(test_softnet_parse),
	  TEST(test_softnet_parse_rejects), TEST(test_pressure_parse),
	  TEST(test_pressure_parse_rejects), TEST(test_pressure_ignores_locale),
	  TEST(test_cgroups_parse), TEST(test_cgroups_parse_rejects), TEST(test_live),
	  TEST(test_fake_proc_root), TEST(test_negative_dentries_live))
