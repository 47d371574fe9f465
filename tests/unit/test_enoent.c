/* SPDX-License-Identifier: MIT */
/*
 * The ENOENT-storm detector (tracer/enoent.h, doc/policy.md
 * "enoent_storms"): the sketch's estimate against exact counts, the
 * directory key (path split, dirname hash, the start directory's identity
 * from /proc), the sliding-window storm decision, the slow (per-day)
 * storm, the table's bounds, and the top producers under a directory.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/record.h"
#include "tracer/enoent.h"
#include "tracer/storm.h"
#include "tracer/procinfo.h"
#include "unit.h"

#define SEC(x) (UINT64_C(1000000000) * (x))
#define T0 SEC(5000)
/* the sketch's standard error (enoent_counts.h): 1.04 / sqrt(128) */
#define STDERR_REL (1.04 / sqrt(ENOENT_REGISTERS))

static uint64_t name_hash(unsigned seed, unsigned i)
{
	char name[64];
	int n = snprintf(name, sizeof(name), "n%u-%07u", seed, i);

	return enoent_hash(name, (size_t)n);
}

static int test_sketch_against_exact(void)
{
	static const unsigned sizes[] = { 1, 10, 100, 1000, 20000, 100000, 1000000 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		unsigned n = sizes[k];
		uint8_t reg[ENOENT_REGISTERS] = {};
		double e, rel;

		for (unsigned i = 0; i < n; i++)
			enoent_sketch_add(reg, name_hash(1, i));
		e = enoent_sketch_estimate(reg);
		rel = fabs(e - n) / n;
		/* every size within 3 standard errors (or 1 for tiny sets: linear counting) */
		if (!(rel <= 3 * STDERR_REL || fabs(e - n) <= 1)) {
			fprintf(stderr, "  n %u: estimate %.0f (%.1f %%)\n", n, e, rel * 100);
			return -1;
		}
	}
	{
		uint8_t reg[ENOENT_REGISTERS] = {};

		CHECK(enoent_sketch_estimate(reg) == 0);
	}
	return 0;
}

/* Over many sets the error behaves as documented: no bias, RMS about the standard error. */
static int test_sketch_error_distribution(void)
{
	const unsigned trials = 40, n = 20000;
	double sum = 0, sum2 = 0;

	for (unsigned s = 0; s < trials; s++) {
		uint8_t reg[ENOENT_REGISTERS] = {};
		double rel;

		for (unsigned i = 0; i < n; i++)
			enoent_sketch_add(reg, name_hash(100 + s, i));
		rel = (enoent_sketch_estimate(reg) - n) / n;
		sum += rel;
		sum2 += rel * rel;
	}
	fprintf(stderr, "  n %u x %u: mean error %.2f %%, rms %.2f %% (documented %.1f %%)\n", n,
		trials, 100 * sum / trials, 100 * sqrt(sum2 / trials), 100 * STDERR_REL);
	CHECK(fabs(sum / trials) < 0.05);
	CHECK(sqrt(sum2 / trials) < 1.5 * STDERR_REL);
	return 0;
}

static int test_sketch_duplicates_and_merge(void)
{
	uint8_t once[ENOENT_REGISTERS] = {}, many[ENOENT_REGISTERS] = {};
	uint8_t a[ENOENT_REGISTERS] = {}, b[ENOENT_REGISTERS] = {};

	for (unsigned i = 0; i < 5000; i++)
		enoent_sketch_add(once, name_hash(7, i));
	for (unsigned r = 0; r < 10; r++)
		for (unsigned i = 0; i < 5000; i++)
			enoent_sketch_add(many, name_hash(7, i));
	/* a name seen again changes nothing */
	CHECK(memcmp(once, many, sizeof(once)) == 0);
	/* the union of two halves is the sketch of the whole */
	for (unsigned i = 0; i < 5000; i++)
		enoent_sketch_add(i % 2 ? a : b, name_hash(7, i));
	enoent_sketch_merge(a, b);
	CHECK(memcmp(a, once, sizeof(a)) == 0);
	/* one name 20000 times: one */
	memset(a, 0, sizeof(a));
	for (unsigned i = 0; i < 20000; i++)
		enoent_sketch_add(a, enoent_hash("missing", 7));
	CHECK(llround(enoent_sketch_estimate(a)) == 1);
	return 0;
}

static int split_is(const char *path, const char *dir, const char *name)
{
	const char *d, *n;
	size_t dl, nl;

	if (!enoent_split(path, &d, &dl, &n, &nl))
		return name == NULL;
	return name && dl == strlen(dir) && strncmp(d, dir, dl) == 0 && nl == strlen(name) &&
	       strncmp(n, name, nl) == 0;
}

static int test_split(void)
{
	CHECK(split_is("/tmp/x/name", "/tmp/x", "name"));
	CHECK(split_is("/name", "/", "name"));
	CHECK(split_is("name", "", "name"));
	CHECK(split_is("a/b/name", "a/b", "name"));
	CHECK(split_is("a/b/", "a", "b")); /* trailing slashes name nothing */
	CHECK(split_is("/tmp//x", "/tmp/", "x"));
	CHECK(split_is("", "", NULL));
	CHECK(split_is("/", "", NULL));
	CHECK(split_is("///", "", NULL));
	return 0;
}

/* The directory key: the start directory's identity, and the dirname's hash. */
static int test_directory_key(void)
{
	char tmpl[] = "/tmp/sw-unit-enoent.XXXXXX", sub[64];
	uint64_t dev1, ino1, dev2, ino2, dev3, ino3;
	struct stat st;
	int fd1, fd2;
	const char *d1, *d2, *n;
	size_t l1, l2, nl;

	if (!mkdtemp(tmpl))
		return -1;
	snprintf(sub, sizeof(sub), "%s/sub", tmpl);
	CHECK(mkdir(sub, 0700) == 0);
	fd1 = open(tmpl, O_RDONLY | O_DIRECTORY);
	fd2 = open(sub, O_RDONLY | O_DIRECTORY);
	CHECK(fd1 >= 0 && fd2 >= 0);
	/* a dirfd: the directory it is open on */
	CHECK(procinfo_dir_id(getpid(), fd1, &dev1, &ino1) == 0);
	CHECK(stat(tmpl, &st) == 0);
	CHECK(dev1 == st.st_dev && ino1 == st.st_ino);
	CHECK(procinfo_dir_id(getpid(), fd2, &dev2, &ino2) == 0);
	CHECK(ino2 != ino1);
	/* AT_FDCWD: the cwd, which a chdir changes */
	CHECK(procinfo_dir_id(getpid(), -1, &dev3, &ino3) == 0);
	CHECK(stat(".", &st) == 0 && dev3 == st.st_dev && ino3 == st.st_ino);
	CHECK(fchdir(fd2) == 0);
	CHECK(procinfo_dir_id(getpid(), -1, &dev3, &ino3) == 0);
	CHECK(dev3 == dev2 && ino3 == ino2);
	CHECK(chdir("/") == 0);
	/* a closed fd has no directory */
	close(fd2);
	CHECK(procinfo_dir_id(getpid(), fd2, &dev2, &ino2) < 0);
	/* dirnames: the same spelling, one key; another, another */
	CHECK(enoent_split("x/y/a1", &d1, &l1, &n, &nl) &&
	      enoent_split("x/y/a2", &d2, &l2, &n, &nl));
	CHECK(enoent_hash(d1, l1) == enoent_hash(d2, l2));
	CHECK(enoent_split("x/z/a1", &d2, &l2, &n, &nl));
	CHECK(enoent_hash(d1, l1) != enoent_hash(d2, l2));
	close(fd1);
	rmdir(sub);
	rmdir(tmpl);
	return 0;
}

static struct policy_enoent conf_of(double per_s, uint64_t window_ns, uint32_t max_dirs)
{
	struct policy_enoent c;

	policy_enoent_defaults(&c);
	c.enabled = true;
	c.distinct_per_s = per_s;
	c.window_ns = window_ns;
	c.max_directories = max_dirs;
	return c;
}

/*
 * Feed rate lookups a second of new names (or of one name) into key from
 * *t for secs seconds, checking as the hot path does; returns the time the
 * storm opened (0: it did not).
 */
static uint64_t feed(struct enoent_detector *d, const struct enoent_key *key, uint64_t *t,
		     unsigned rate, unsigned secs, bool same, unsigned *next_name)
{
	uint64_t opened = 0, step = SEC(1) / rate;

	for (unsigned i = 0; i < rate * secs; i++) {
		bool is_new, op;
		char name[32];
		int n = same ? snprintf(name, sizeof(name), "missing") :
			       snprintf(name, sizeof(name), "m%07u", (*next_name)++);

		if (!enoent_observe(d, key, enoent_hash(name, (size_t)n), name, (size_t)n, *t,
				    &is_new, &op))
			return 0;
		if (op && !opened)
			opened = *t;
		*t += step;
	}
	return opened;
}

static int test_window_decision(void)
{
	struct enoent_detector d;
	struct policy_enoent c = conf_of(100, SEC(10), 64);
	struct enoent_key k1 = { .tgid = 10, .dirname_hash = 1 }, k2 = k1, k3 = k1;
	uint64_t t = T0, opened;
	unsigned names = 0;

	k2.dirname_hash = 2;
	k3.dirname_hash = 3;
	CHECK(enoent_init(&d, &c) == 0);
	/* 50 new names a second for a minute: half the rate, never a storm */
	opened = feed(&d, &k1, &t, 50, 60, false, &names);
	CHECK(opened == 0);
	CHECK(!enoent_find(&d, &k1)->storm);
	/* one name 5000 times a second: one negative dentry, never a storm */
	opened = feed(&d, &k2, &t, 5000, 20, true, &names);
	CHECK(opened == 0);
	CHECK(enoent_find(&d, &k2)->c.count == 100000);
	/* 300 new names a second: 1000 in the window after about 3.3 s */
	{
		uint64_t start = t;

		opened = feed(&d, &k3, &t, 300, 20, false, &names);
		CHECK(opened != 0);
		CHECK(opened - start >= SEC(2) && opened - start <= SEC(5));
		/* its record is due a window after it opened, then one per window */
		CHECK(enoent_due_ns(&d, enoent_find(&d, &k3)) == opened + SEC(10));
		enoent_closed(&d, enoent_find(&d, &k3), opened + SEC(10));
		CHECK(!enoent_find(&d, &k3)->storm);
		/* the storm goes on: the next one needs fresh slices */
		t = opened + SEC(10);
		opened = feed(&d, &k3, &t, 300, 20, false, &names);
		CHECK(opened >= start + SEC(10) + SEC(3));
	}
	CHECK(d.storms == 2);
	enoent_done(&d);
	return 0;
}

/* One new name every step_ns from *t, n times, into key; returns when the day's storm fired (0: never). */
static uint64_t feed_slow(struct enoent_detector *d, const struct enoent_key *key, uint64_t *t,
			  uint64_t step_ns, unsigned n, unsigned *next_name)
{
	uint64_t fired = 0;

	for (unsigned i = 0; i < n; i++) {
		bool is_new, op;
		char name[32];
		int len = snprintf(name, sizeof(name), "s%07u", (*next_name)++);
		struct enoent_entry *e = enoent_observe(d, key, enoent_hash(name, (size_t)len),
							name, (size_t)len, *t, &is_new, &op);

		if (!e)
			return 0;
		if (e->day_due && !fired)
			fired = *t;
		*t += step_ns;
	}
	return fired;
}

static int test_day_decision(void)
{
	struct enoent_detector d;
	struct policy_enoent c = conf_of(100, SEC(60), 64);
	struct enoent_key k1 = { .tgid = 11, .dirname_hash = 1 }, k2 = k1;
	uint64_t t = T0, fired;
	unsigned names = 0;
	struct enoent_entry *e;

	k2.dirname_hash = 2;
	c.distinct_per_day = 2000;
	CHECK(enoent_init(&d, &c) == 0);
	/* one new name a second: far below 100/s, but 2000 distinct within a day */
	fired = feed_slow(&d, &k1, &t, SEC(1), 3000, &names);
	e = enoent_find(&d, &k1);
	CHECK(!e->storm && d.storms == 0);
	CHECK(fired != 0);
	/* the estimate's error decides the moment: within 4 standard errors of 2000 names */
	CHECK(fired - T0 >= SEC(2000 * (1 - 4 * STDERR_REL)) &&
	      fired - T0 <= SEC(2000 * (1 + 4 * STDERR_REL)));
	CHECK(enoent_due_ns(&d, e) == 0 && enoent_next_due_ns(&d) == 0);
	/* written: not due again until 2000 more distinct names */
	enoent_day_closed(&d, e, fired);
	CHECK(!e->day_due && enoent_due_ns(&d, e) == UINT64_MAX);
	t = fired;
	CHECK(feed_slow(&d, &k1, &t, SEC(1), 500, &names) == 0);
	/* 1500 names over 1.5 days: never 2000 within one day */
	t = T0;
	CHECK(feed_slow(&d, &k2, &t, SEC(90), 1500, &names) == 0);
	CHECK(!enoent_find(&d, &k2)->day_due);
	/* off: never */
	enoent_done(&d);
	c.distinct_per_day = 0;
	CHECK(enoent_init(&d, &c) == 0);
	t = T0;
	CHECK(feed_slow(&d, &k1, &t, SEC(1), 3000, &names) == 0);
	enoent_done(&d);
	return 0;
}

/* A pair with directory dir, count failed lookups of distinct distinct names, comm comm. */
static struct enoent_entry *add_pair(struct storm *s, uint32_t tgid, const char *dir,
				     unsigned distinct, unsigned count, const char *comm)
{
	struct enoent_key key = { .tgid = tgid, .dirname_hash = enoent_hash(dir, strlen(dir)) };
	struct enoent_entry *e;
	bool is_new;

	e = enoent_get(&s->det, &key, T0, &is_new);
	if (!e || !is_new)
		return NULL;
	e->directory = strdup(dir);
	snprintf(e->c.comm, sizeof(e->c.comm), "%s", comm);
	for (unsigned i = 0; i < count; i++) {
		char name[32];
		int n = snprintf(name, sizeof(name), "t%u", i % distinct);

		enoent_add(&e->c, s->det.slice_ns, T0 + i, enoent_hash(name, (size_t)n), name,
			   (size_t)n);
	}
	return e;
}

static int test_top_under(void)
{
	struct storm *s = calloc(1, sizeof(*s));
	struct policy_enoent c = conf_of(100, SEC(60), 64);
	struct record_enoent_producer out[4];
	struct enoent_entry *ign;
	size_t n;

	CHECK(s && enoent_init(&s->det, &c) == 0);
	/* tgids above PID_MAX_LIMIT: no /proc entry, so the names are the kernel's (c.comm) */
	CHECK(add_pair(s, 4200001, "/srv/a", 100, 200, "one"));
	CHECK(add_pair(s, 4200002, "/srv/a/b", 300, 300, "two"));
	CHECK(add_pair(s, 4200003, "/srv/ab", 500, 500, "three")); /* not below /srv/a */
	CHECK(add_pair(s, 4200004, "/srv/a/c", 100, 400, "four"));
	CHECK((ign = add_pair(s, 4200005, "/srv/a/d", 900, 900, "five")));
	ign->ignored = true; /* a directory the policy does not report */

	n = storm_top_under(s, "/srv/a/", out, 2);
	CHECK(n == 2);
	CHECK(out[0].pid == 4200002 && strcmp(out[0].name, "two") == 0);
	CHECK(strcmp(out[0].directory, "/srv/a/b") == 0);
	CHECK(out[0].count == 300 && fabs((double)out[0].distinct - 300) < 300 * 4 * STDERR_REL);
	/* equal distinct names (100 each): more failed lookups first */
	CHECK(out[1].pid == 4200004 && out[1].count == 400);
	n = storm_top_under(s, "/srv/a", out, 4);
	CHECK(n == 3 && out[2].pid == 4200001);
	/* "/" is every directory; a relative or NULL one is none */
	n = storm_top_under(s, "/", out, 4);
	CHECK(n == 4 && out[0].pid == 4200003);
	CHECK(storm_top_under(s, "srv/a", out, 4) == 0 && storm_top_under(s, NULL, out, 4) == 0);
	CHECK(storm_top_under(NULL, "/", out, 4) == 0);

	for (uint32_t i = 0; i < s->det.n_alloc; i++)
		if (enoent_at(&s->det, i))
			free(s->det.entries[i].directory);
	enoent_done(&s->det);
	free(s);
	return 0;
}

static int flushed;

/* records written for evicted storms of process 5000 */
static void count_flush(void *opaque, struct enoent_entry *e)
{
	(void)opaque;
	flushed += e->key.tgid == 5000 && e->storm;
}

static int test_bounds(void)
{
	struct enoent_detector d;
	struct policy_enoent c = conf_of(1, SEC(1), 100);
	uint64_t t = T0;
	bool is_new, op;

	CHECK(enoent_init(&d, &c) == 0);
	d.flush = count_flush;
	/* one process, 200 directories: at most ENOENT_DIRS_PER_PROCESS of them */
	for (unsigned i = 0; i < 200; i++) {
		struct enoent_key k = { .tgid = 1, .ino = i + 1 };

		CHECK(enoent_observe(&d, &k, i, "x", 1, t++, &is_new, &op) && is_new);
	}
	CHECK(d.n_used == ENOENT_DIRS_PER_PROCESS);
	CHECK(d.evictions == 200 - ENOENT_DIRS_PER_PROCESS);
	/* the oldest went first: the newest 64 are there */
	for (unsigned i = 0; i < 200; i++) {
		struct enoent_key k = { .tgid = 1, .ino = i + 1 };

		CHECK(!!enoent_find(&d, &k) == (i >= 200 - ENOENT_DIRS_PER_PROCESS));
	}
	/* many processes: at most max_directories in all */
	for (unsigned p = 2; p < 300; p++) {
		struct enoent_key k = { .tgid = p, .ino = 1 };

		CHECK(enoent_observe(&d, &k, p, "x", 1, t++, &is_new, &op));
	}
	CHECK(d.n_used == 100);
	/* 298 new pairs: 36 filled the table, each of the other 262 evicted the oldest */
	CHECK(d.evictions == 200 - ENOENT_DIRS_PER_PROCESS + 298 - (100 - ENOENT_DIRS_PER_PROCESS));
	/* an evicted pair with an open storm has its record written first */
	{
		struct enoent_key k = { .tgid = 5000, .ino = 9 };
		struct enoent_entry *e;

		for (unsigned i = 0; i < 50; i++)
			CHECK(enoent_observe(&d, &k, name_hash(3, i), "x", 1, t, &is_new, &op));
		e = enoent_find(&d, &k);
		CHECK(enoent_check(&d, e, t + SEC(1) / 2, true) || e->storm);
		flushed = 0;
		for (unsigned p = 6000; p < 6000 + 100; p++) {
			struct enoent_key k2 = { .tgid = p, .ino = 1 };

			CHECK(enoent_observe(&d, &k2, p, "x", 1, t++, &is_new, &op));
		}
		CHECK(enoent_find(&d, &k) == NULL);
		CHECK(flushed == 1);
	}
	enoent_done(&d);
	return 0;
}

UNIT_MAIN(TEST(test_sketch_against_exact), TEST(test_sketch_error_distribution),
	  TEST(test_sketch_duplicates_and_merge), TEST(test_split), TEST(test_directory_key),
	  TEST(test_window_decision), TEST(test_day_decision), TEST(test_bounds),
	  TEST(test_top_under))
