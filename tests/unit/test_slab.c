/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroupscan/slab.h"
#include "cgroupscan/trend.h"
#include "common/macro.h"
#include "common/timeutil.h"
#include "unit.h"

#define MiB (1024.0 * 1024.0)
#define HOUR 3600.0
/* a CLOCK_REALTIME-like origin (2026-11-22), so the fit sees epoch-sized t */
#define T0 1795305600.0

static void slab_history_freep(struct slab_history **h)
{
	slab_history_free(*h);
}
#define _cleanup_history_ _cleanup_(slab_history_freep)
#define _cleanup_json_ _cleanup_(json_decrefp)

static double absd(double x)
{
	return x < 0 ? -x : x;
}

static bool near(double a, double b, double tol)
{
	return absd(a - b) <= tol;
}

/* Deterministic noise in [-1, 1): a 64-bit LCG (Knuth MMIX), top 53 bits. */
static double noise(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*state >> 11) / 4503599627370496.0 - 1.0;
}

/*
 * An excerpt of /proc/slabinfo from the 6.18 test machine, plus the variants
 * it lacks (kmalloc-rnd-*, CONFIG_RANDOM_KMALLOC_CACHES) and the duplicate
 * name of prometheus/node_exporter#3506 (mlx5_fs_ftes, 44 and 396 objects).
 */
static const char SAMPLE[] =
	"slabinfo - version: 2.1\n"
	"# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : "
	"tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> "
	"<sharedavail>\n"
	"mlx5_fs_ftes          44     44    736   44    8 : tunables    0    0    0 : slabdata      1      1      0\n"
	"ext4_inode_cache   61553  61600   1128   14    4 : tunables    0    0    0 : slabdata   4400   4400      0\n"
	"dentry             96663  96663    192   21    1 : tunables    0    0    0 : slabdata   4603   4603      0\n"
	"kmalloc-rnd-01-32    512    512     32  128    1 : tunables    0    0    0 : slabdata      4      4      0\n"
	"kmalloc_buckets       36     36    112   36    1 : tunables    0    0    0 : slabdata      1      1      0\n"
	"kmalloc-cg-1k        135    144   1024   16    4 : tunables    0    0    0 : slabdata      9      9      0\n"
	"kmalloc-cg-32        256    256     32  128    1 : tunables    0    0    0 : slabdata      2      2      0\n"
	"dma-kmalloc-32         0      0     32  128    1 : tunables    0    0    0 : slabdata      0      0      0\n"
	"kmalloc-rcl-96     14910  14910     96   42    1 : tunables    0    0    0 : slabdata    355    355      0\n"
	"kmalloc-rcl-32       128    128     32  128    1 : tunables    0    0    0 : slabdata      1      1      0\n"
	"kmalloc-1k           733    752   1024   16    4 : tunables    0    0    0 : slabdata     47     47      0\n"
	"kmalloc-32          2148   3328     32  128    1 : tunables    0    0    0 : slabdata     26     26      0\n"
	"kmalloc-16          3321   3328     16  256    1 : tunables    0    0    0 : slabdata     13     13      0\n"
	"mlx5_fs_ftes         396    396    736   44    8 : tunables    0    0    0 : slabdata      9      9      0\n";

static const struct slab_cache *find_cache(const struct slab_cache *v, size_t n, const char *name,
					   size_t nth)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0 && nth-- == 0)
			return &v[i];
	return NULL;
}

static int test_parse_sample(void)
{
	_cleanup_free_ struct slab_cache *v = NULL;
	const struct slab_cache *c;
	size_t n = 0;

	CHECK(slab_parse(SAMPLE, &v, &n) == 0);
	CHECK(n == 14);

	c = find_cache(v, n, "kmalloc-32", 0);
	CHECK(c && c->active_objs == 2148 && c->num_objs == 3328 && c->objsize == 32);
	CHECK(c->bytes == 2148 * 32 && c->total_bytes == 3328 * 32 && !c->reclaimable);

	c = find_cache(v, n, "dentry", 0);
	CHECK(c && c->bytes == 96663ULL * 192 && c->reclaimable);
	c = find_cache(v, n, "ext4_inode_cache", 0);
	CHECK(c && c->bytes == 61553ULL * 1128 && c->total_bytes == 61600ULL * 1128);
	CHECK(c->reclaimable);
	c = find_cache(v, n, "kmalloc-rcl-96", 0);
	CHECK(c && c->reclaimable && c->bytes == 14910 * 96);
	c = find_cache(v, n, "kmalloc-rnd-01-32", 0);
	CHECK(c && c->bytes == 512 * 32 && !c->reclaimable);
	c = find_cache(v, n, "dma-kmalloc-32", 0);
	CHECK(c && c->bytes == 0 && c->total_bytes == 0);

	/* node_exporter#3506: both rows survive, in file order */
	c = find_cache(v, n, "mlx5_fs_ftes", 0);
	CHECK(c && c->active_objs == 44 && c->objsize == 736);
	c = find_cache(v, n, "mlx5_fs_ftes", 1);
	CHECK(c && c->active_objs == 396 && c->bytes == 396 * 736);
	CHECK(find_cache(v, n, "mlx5_fs_ftes", 2) == NULL);
	CHECK_STR(v[0].name, "mlx5_fs_ftes");
	CHECK_STR(v[n - 1].name, "mlx5_fs_ftes");
	return 0;
}

static int test_parse_rejects_and_skips(void)
{
	_cleanup_free_ struct slab_cache *v = NULL;
	struct slab_cache *none = (struct slab_cache *)1;
	size_t n = 99;
	char long_row[256];

	CHECK(slab_parse(NULL, &v, &n) == -EINVAL);
	CHECK(slab_parse("", &v, &n) == -EINVAL);
	CHECK(slab_parse("slabinfo - version: 1.1\nfoo 1 2 3\n", &v, &n) == -EINVAL);
	CHECK(slab_parse("MemTotal: 1 kB\n", &v, &n) == -EINVAL);
	CHECK(slab_parse("# name\nslabinfo - version: 2.1\n", &v, &n) == -EINVAL);
	CHECK(n == 99 && v == NULL);

	/* headers only: no rows, no allocation */
	CHECK(slab_parse("slabinfo - version: 2.1\n# name <active_objs>\n", &none, &n) == 0);
	CHECK(none == NULL && n == 0);

	/*
	 * Malformed rows are skipped; a name past 63 bytes is cut; products
	 * saturate; the last row needs no newline.
	 */
	snprintf(long_row, sizeof(long_row), "%.*s 10 10 8 1 1\n", 70,
		 "a_very_long_cache_name_from_some_driver_that_goes_on_and_on_and_on_and_on");
	{
		_cleanup_free_ char *text = NULL;

		CHECK(asprintf(&text,
			       "slabinfo - version: 2.1\n"
			       "# header\n"
			       "two_numbers 1 2\n"
			       "negative -1 2 3\n"
			       "glued 1 2 3x 4\n"
			       "overflow 99999999999999999999 1 1\n"
			       "\n"
			       "%s"
			       "huge 18446744073709551615 18446744073709551615 4096 : tunables\n"
			       "tabs\t5\t6\t7\n"
			       "last 1 2 8",
			       long_row) > 0);
		CHECK(slab_parse(text, &v, &n) == 0);
	}
	CHECK(n == 4);
	CHECK(strlen(v[0].name) == SLAB_NAME_MAX - 1 && v[0].bytes == 80);
	CHECK_STR(v[1].name, "huge");
	CHECK(v[1].bytes == UINT64_MAX && v[1].total_bytes == UINT64_MAX);
	CHECK_STR(v[2].name, "tabs");
	CHECK(v[2].active_objs == 5 && v[2].num_objs == 6 && v[2].objsize == 7);
	CHECK_STR(v[3].name, "last");
	CHECK(v[3].bytes == 8 && v[3].total_bytes == 16);
	return 0;
}

static int test_family_every_variant(void)
{
	static const struct {
		const char *name, *family;
		bool reclaimable;
	} cases[] = {
		{ "kmalloc-32", "kmalloc-32", false },
		{ "kmalloc-cg-32", "kmalloc-32", false },
		{ "dma-kmalloc-32", "kmalloc-32", false },
		{ "kmalloc-rnd-05-32", "kmalloc-32", false },
		{ "kmalloc-rnd-01-32", "kmalloc-32", false },
		{ "kmalloc-rnd-15-8k", "kmalloc-8k", false },
		{ "kmalloc-rcl-32", "kmalloc-rcl-32", true },
		{ "kmalloc-rcl-8k", "kmalloc-rcl-8k", true },
		{ "kmalloc-8", "kmalloc-8", false },
		{ "kmalloc-192", "kmalloc-192", false },
		{ "kmalloc-cg-8k", "kmalloc-8k", false },
		{ "dma-kmalloc-1k", "kmalloc-1k", false },
		{ "kmalloc-8192", "kmalloc-8192", false }, /* pre-4.20 size names */
		{ "kmalloc-cg-2M", "kmalloc-2M", false },
		/* not kmalloc variants: unchanged */
		{ "kmalloc_buckets", "kmalloc_buckets", false },
		{ "msg_msg-32", "msg_msg-32", false }, /* CONFIG_SLAB_BUCKETS: its own family */
		{ "memdup_user-32", "memdup_user-32", false },
		{ "kmalloc-cg-", "kmalloc-cg-", false },
		{ "kmalloc-", "kmalloc-", false },
		{ "kmalloc-rnd-xx-32", "kmalloc-rnd-xx-32", false },
		{ "kmalloc-rnd-05-", "kmalloc-rnd-05-", false },
		{ "kmalloc-32x", "kmalloc-32x", false },
		{ "kmalloc-reclaimable-32", "kmalloc-reclaimable-32", false },
		{ "dentry", "dentry", true },
		{ "inode_cache", "inode_cache", true },
		{ "ext4_inode_cache", "ext4_inode_cache", true },
		{ "nfs_inode_cache", "nfs_inode_cache", true },
		{ "radix_tree_node", "radix_tree_node", true },
		{ "buffer_head", "buffer_head", true },
		{ "xfs_inode", "xfs_inode", true },
		{ "btrfs_inode", "btrfs_inode", true },
		{ "task_struct", "task_struct", false },
		{ "", "", false },
	};
	char small[8];
	bool r = true;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char family[SLAB_NAME_MAX];
		bool reclaimable = !cases[i].reclaimable;

		slab_family(cases[i].name, family, sizeof(family), &reclaimable);
		if (strcmp(family, cases[i].family) != 0 || reclaimable != cases[i].reclaimable) {
			fprintf(stderr, "  `%s`: family `%s` reclaimable %d, want `%s` %d\n",
				cases[i].name, family, reclaimable, cases[i].family,
				cases[i].reclaimable);
			return -1;
		}
	}
	/* a short buffer is cut, NULL outputs are allowed */
	slab_family("kmalloc-cg-1k", small, sizeof(small), NULL);
	CHECK_STR(small, "kmalloc");
	slab_family("kmalloc-rcl-64", NULL, 0, &r);
	CHECK(r);
	return 0;
}

static int test_aggregate_sums(void)
{
	_cleanup_free_ struct slab_cache *v = NULL, *f = NULL;
	const struct slab_cache *c;
	size_t n = 0, m = 0;

	CHECK(slab_parse(SAMPLE, &v, &n) == 0);
	CHECK(slab_aggregate(v, n, &f, &m) == 0);
	/* 14 rows: 4 kmalloc-32 variants and 2 kmalloc-1k fold, the mlx5 pair folds */
	CHECK(m == 9);

	c = find_cache(f, m, "kmalloc-32", 0);
	CHECK(c);
	CHECK(c->bytes == 512 * 32 + 256 * 32 + 0 + 2148 * 32);
	CHECK(c->total_bytes == 512 * 32 + 256 * 32 + 0 + 3328 * 32);
	CHECK(c->active_objs == 512 + 256 + 2148 && c->num_objs == 512 + 256 + 3328);
	CHECK(c->objsize == 32 && !c->reclaimable);

	c = find_cache(f, m, "kmalloc-1k", 0);
	CHECK(c && c->bytes == (135 + 733) * 1024ULL && c->total_bytes == (144 + 752) * 1024ULL);
	c = find_cache(f, m, "kmalloc-rcl-32", 0);
	CHECK(c && c->reclaimable && c->bytes == 128 * 32);
	c = find_cache(f, m, "mlx5_fs_ftes", 0);
	CHECK(c && c->bytes == (44 + 396) * 736 && c->active_objs == 440);
	CHECK(find_cache(f, m, "kmalloc-cg-32", 0) == NULL);
	CHECK(find_cache(f, m, "dma-kmalloc-32", 0) == NULL);
	CHECK(find_cache(f, m, "kmalloc-rnd-01-32", 0) == NULL);

	/* sorted by bytes, descending */
	CHECK_STR(f[0].name, "ext4_inode_cache");
	CHECK_STR(f[1].name, "dentry");
	CHECK(f[0].reclaimable && f[1].reclaimable);
	for (size_t i = 1; i < m; i++)
		CHECK(f[i - 1].bytes >= f[i].bytes);

	/* reclaimable if any member is; objsize of the first member; sums saturate */
	{
		struct slab_cache in[3] = {
			{ .name = "kmalloc-cg-64", .objsize = 64, .bytes = UINT64_MAX - 5 },
			{ .name = "kmalloc-64", .objsize = 99, .bytes = 10, .reclaimable = true },
			{ .name = "kmalloc-rnd-02-64", .objsize = 64, .bytes = 1 },
		};
		_cleanup_free_ struct slab_cache *g = NULL;
		size_t k = 0;

		CHECK(slab_aggregate(in, 3, &g, &k) == 0);
		CHECK(k == 1 && g[0].bytes == UINT64_MAX && g[0].objsize == 64 && g[0].reclaimable);
	}
	{
		struct slab_cache *g = (struct slab_cache *)1;
		size_t k = 7;

		CHECK(slab_aggregate(NULL, 0, &g, &k) == 0 && g == NULL && k == 0);
		CHECK(slab_aggregate(NULL, 3, &g, &k) == -EINVAL);
	}
	return 0;
}

static int test_read_live(void)
{
	_cleanup_free_ struct slab_cache *v = NULL, *f = NULL;
	const struct slab_cache *dentry, *k32;
	uint64_t read_ns = 0, t0, refine_ns, best = UINT64_MAX;
	size_t n = 0, m = 0, answered;
	int r;

	r = slab_read(&v, &n, &read_ns);
	if (r == -EACCES || r == -EPERM)
		SKIP("/proc/slabinfo is 0400 root-only and this test is not root");
	if (r == -ENOENT)
		SKIP("no /proc/slabinfo (CONFIG_SLUB_DEBUG off or no procfs)");
	CHECK(r == 0);
	CHECK(n > 50);
	CHECK(read_ns > 0 && read_ns < 5 * NSEC_PER_SEC);
	dentry = find_cache(v, n, "dentry", 0);
	CHECK(dentry && dentry->objsize > 0 && dentry->active_objs > 0 && dentry->reclaimable);
	for (int i = 0; i < 20; i++) {
		_cleanup_free_ struct slab_cache *w = NULL;
		size_t wn;
		uint64_t ns;

		CHECK(slab_read(&w, &wn, &ns) == 0);
		if (ns < best)
			best = ns;
	}

	t0 = sw_mono_ns();
	answered = slab_refine_reclaimable(SLAB_SYSFS_ROOT, v, n);
	refine_ns = sw_mono_ns() - t0;
	CHECK(slab_aggregate(v, n, &f, &m) == 0);
	CHECK(m > 0 && m <= n);
	CHECK(find_cache(f, m, "dentry", 0)->reclaimable);
	k32 = find_cache(f, m, "kmalloc-32", 0);
	CHECK(k32 && !k32->reclaimable && k32->objsize == 32);
	fprintf(stderr,
		"  note: %zu caches (%zu families), /proc/slabinfo open+read+close %.1f us "
		"(first), %.1f us (best of 20); sysfs reclaim_account for %zu/%zu caches %.1f us\n",
		n, m, (double)read_ns / 1000.0, (double)best / 1000.0, answered, n,
		(double)refine_ns / 1000.0);
	return 0;
}

static int write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return -1;
	return 0;
}

static const struct {
	const char *cache, *content;
} FAKE[] = {
	{ "my_cache", "1\n" }, /* unknown name, sysfs says reclaimable */
	{ "kmalloc-32", "0\n" },      { "dentry", "0\n" }, /* sysfs beats the name list */
	{ "odd_cache", "yes\n" }, /* unreadable answer: name list (not reclaimable) */
	{ "odd_inode_cache", "2\n" }, /* unreadable answer: name list (reclaimable) */
	{ "empty_cache", "" },
};

static int fake_sysfs_checks(const char *root)
{
	struct slab_cache caches[4] = {
		{ .name = "my_cache" },
		{ .name = "ext4_inode_cache" }, /* absent: name list */
		{ .name = "dentry", .reclaimable = true },
		{ .name = "../etc" },
	};

	CHECK(slab_is_reclaimable(root, "my_cache"));
	CHECK(!slab_is_reclaimable(root, "kmalloc-32"));
	CHECK(!slab_is_reclaimable(root, "dentry"));
	CHECK(!slab_is_reclaimable(root, "odd_cache"));
	CHECK(slab_is_reclaimable(root, "odd_inode_cache"));
	CHECK(!slab_is_reclaimable(root, "empty_cache"));
	/* not in the fake sysfs: the name list */
	CHECK(slab_is_reclaimable(root, "ext4_inode_cache"));
	CHECK(slab_is_reclaimable(root, "kmalloc-rcl-64"));
	CHECK(!slab_is_reclaimable(root, "kmalloc-64"));
	/* names that could leave the directory never reach the filesystem */
	CHECK(!slab_is_reclaimable(root, "../my_cache"));
	CHECK(slab_is_reclaimable(root, "../x_inode_cache"));
	CHECK(!slab_is_reclaimable(root, ".."));
	CHECK(!slab_is_reclaimable(root, ""));
	CHECK(!slab_is_reclaimable(root, NULL));
	/* no sysfs at all */
	CHECK(slab_is_reclaimable(NULL, "dentry"));
	CHECK(!slab_is_reclaimable(NULL, "my_cache"));

	CHECK(slab_refine_reclaimable(root, caches, ARRAY_SIZE(caches)) == 2);
	CHECK(caches[0].reclaimable && caches[1].reclaimable && !caches[2].reclaimable);
	CHECK(!caches[3].reclaimable);
	return 0;
}

static int test_reclaimable_fake_sysfs(void)
{
	char root[] = "/tmp/test_slab.XXXXXX";
	char path[256];
	int r = 0;

	if (!mkdtemp(root))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(FAKE) && r == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, FAKE[i].cache);
		if (mkdir(path, 0755) < 0)
			r = -1;
		snprintf(path, sizeof(path), "%s/%s/reclaim_account", root, FAKE[i].cache);
		if (r == 0 && write_file(path, FAKE[i].content) < 0)
			r = -1;
	}
	if (r == 0)
		r = fake_sysfs_checks(root);

	for (size_t i = 0; i < ARRAY_SIZE(FAKE); i++) {
		snprintf(path, sizeof(path), "%s/%s/reclaim_account", root, FAKE[i].cache);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", root, FAKE[i].cache);
		rmdir(path);
	}
	if (rmdir(root) < 0) {
		fprintf(stderr, "  could not remove %s: %s\n", root, strerror(errno));
		return -1;
	}
	return r;
}

static int test_reclaimable_real_sysfs(void)
{
	if (access(SLAB_SYSFS_ROOT "/dentry/reclaim_account", R_OK) < 0 ||
	    access(SLAB_SYSFS_ROOT "/kmalloc-32/reclaim_account", R_OK) < 0)
		SKIP("no " SLAB_SYSFS_ROOT " (not SLUB, or sysfs not mounted)");
	CHECK(slab_is_reclaimable(SLAB_SYSFS_ROOT, "dentry"));
	CHECK(!slab_is_reclaimable(SLAB_SYSFS_ROOT, "kmalloc-32"));
	return 0;
}

static int test_trend_perfect_line(void)
{
	struct trend_point p[10];
	struct trend_fit f = {};

	for (int i = 0; i < 10; i++)
		p[i] = (struct trend_point){ i, 3.0 + 2.0 * i };
	CHECK(trend_fit(p, 10, &f) == 0);
	CHECK(f.n == 10 && f.span_s == 9.0 && f.max_drop == 0.0);
	CHECK(f.slope_per_s == 2.0 && f.intercept == 3.0 && f.r2 == 1.0);

	/* epoch-sized times: centring keeps it exact to rounding */
	for (int i = 0; i < 10; i++)
		p[i] = (struct trend_point){ T0 + 60.0 * i, 5e6 + 100.0 * 60.0 * i };
	CHECK(trend_fit(p, 10, &f) == 0);
	CHECK(near(f.slope_per_s, 100.0, 1e-9) && near(f.span_s, 540.0, 1e-6));
	CHECK(f.r2 > 1.0 - 1e-12 && f.r2 <= 1.0);
	CHECK(near(f.intercept + f.slope_per_s * T0, 5e6, 1e-3));
	return 0;
}

static int test_trend_noise_flat_drop(void)
{
	struct trend_point p[200];
	struct trend_fit f = {};
	uint64_t st = 42;

	for (int i = 0; i < 200; i++)
		p[i] = (struct trend_point){ T0 + 60.0 * i, 1000.0 + 100.0 * noise(&st) };
	CHECK(trend_fit(p, 200, &f) == 0);
	CHECK(f.r2 < 0.05);
	CHECK(absd(f.slope_per_s * 199 * 60) < 50); /* change over the span << the noise */
	CHECK(f.max_drop > 100 && f.max_drop < 200);

	for (int i = 0; i < 7; i++)
		p[i] = (struct trend_point){ i * 10.0, 0.1 };
	CHECK(trend_fit(p, 7, &f) == 0);
	CHECK(f.slope_per_s == 0.0 && f.r2 == 0.0 && f.intercept == 0.1 && f.max_drop == 0.0);

	p[0] = (struct trend_point){ 0, 10 };
	p[1] = (struct trend_point){ 1, 20 };
	p[2] = (struct trend_point){ 2, 15 };
	p[3] = (struct trend_point){ 3, 30 };
	p[4] = (struct trend_point){ 4, 29 };
	CHECK(trend_fit(p, 5, &f) == 0 && f.max_drop == 5.0 && f.slope_per_s > 0);

	CHECK(trend_fit(p, 1, &f) == -EINVAL);
	CHECK(trend_fit(NULL, 5, &f) == -EINVAL);
	p[1].t_s = p[0].t_s;
	CHECK(trend_fit(p, 2, &f) == -EINVAL); /* zero span */
	p[1] = (struct trend_point){ 1, __builtin_nan("") };
	CHECK(trend_fit(p, 2, &f) == -EINVAL);
	p[1] = (struct trend_point){ __builtin_inf(), 1 };
	CHECK(trend_fit(p, 2, &f) == -EINVAL);
	return 0;
}

/*
 * A recorded-like scan history: a sample every 60 s (+-5 s jitter) for
 * `hours`, each sample the family list slab_aggregate() would give:
 *   kmalloc-32   the NFS leak: 8 MiB + 2 MiB/h, +-128 KiB noise       (a)
 *   dentry       reclaimable, 200 MiB + 2 MiB/h                         (b)
 *   kmalloc-64   4 MiB + 3 MiB/h, dips 30 % for 15 min at 6 h (breathes) (c)
 *   kmalloc-128  10 MiB + 2 MiB/h, drops 30 % at 5 h and grows on       (c)
 *   kmalloc-192  20 MiB +-1 % noise                                     (d)
 *   kmalloc-256  10 MiB, one step up to 18 MiB at 3.5 h: grows, never
 *                falls, slope 1.7 MiB/h, but R^2 0.75: a workload change
 *   kmalloc-512  30 MiB + 0.5 MiB/h: a straight line below the slope limit
 *   small_NN     40 small constant caches (1-40 KB): only the top 32 of
 *                the non-reclaimable families are tracked
 */
#define N_SMALL 40
static int record_history(struct slab_history *h, double hours, bool only_leak)
{
	struct slab_cache fam[7 + N_SMALL];
	uint64_t st = 7, jitter = 99;

	for (double t = 0; t <= hours * HOUR; t += 60.0) {
		double ts = T0 + t + 5.0 * noise(&jitter), th = t / HOUR;
		size_t n = 0;

		fam[n++] = (struct slab_cache){ .name = "kmalloc-32",
						.bytes = (uint64_t)(8 * MiB + 2 * MiB * th +
								    131072 * noise(&st)) };
		if (!only_leak) {
			double k64 = 4 * MiB + 3 * MiB * th, k128 = 10 * MiB + 2 * MiB * th;

			if (th >= 6.0 && th < 6.25)
				k64 *= 0.7;
			if (th >= 5.0)
				k128 = 0.7 * (10 * MiB + 2 * MiB * 5.0) + 2 * MiB * (th - 5.0);
			fam[n++] =
				(struct slab_cache){ .name = "dentry",
						     .bytes = (uint64_t)(200 * MiB + 2 * MiB * th),
						     .reclaimable = true };
			fam[n++] =
				(struct slab_cache){ .name = "kmalloc-64", .bytes = (uint64_t)k64 };
			fam[n++] = (struct slab_cache){ .name = "kmalloc-128",
							.bytes = (uint64_t)k128 };
			fam[n++] = (struct slab_cache){
				.name = "kmalloc-192",
				.bytes = (uint64_t)(20 * MiB * (1 + 0.01 * noise(&st)))
			};
			fam[n++] = (struct slab_cache){
				.name = "kmalloc-256",
				.bytes = (uint64_t)((th < 3.5 ? 10 : 18) * MiB + 16384 * noise(&st))
			};
			fam[n++] = (struct slab_cache){
				.name = "kmalloc-512",
				.bytes = (uint64_t)(30 * MiB + 0.5 * MiB * th + 16384 * noise(&st))
			};
			for (int i = 0; i < N_SMALL; i++) {
				fam[n] = (struct slab_cache){ .bytes = 1000ULL * (i + 1) };
				snprintf(fam[n].name, sizeof(fam[n].name), "small_%02d", i);
				n++;
			}
		}
		CHECK(slab_history_add(h, ts, fam, n) == 0);
	}
	return 0;
}

static int fit_family(const struct slab_history *h, const char *family, struct trend_fit *f)
{
	struct trend_point p[SLAB_HISTORY_MAX];
	size_t n = slab_history_points(h, family, p, ARRAY_SIZE(p));

	return trend_fit(p, n, f);
}

static int test_leak_detection(void)
{
	_cleanup_history_ struct slab_history *h = slab_history_new();
	_cleanup_free_ struct slab_leak *leaks = NULL, *top = NULL;
	struct trend_fit f;
	size_t n = 0, n_top = 0;

	CHECK(h);
	CHECK(record_history(h, 7.0, false) == 0);

	/* tracking: 6 big + the 26 largest small ones; never the reclaimable dentry */
	CHECK(slab_history_size(h) == 32);
	CHECK(slab_history_points(h, "dentry", NULL, 0) == 0);
	CHECK(slab_history_points(h, "small_13", NULL, 0) == 0);
	CHECK(slab_history_points(h, "small_14", NULL, 0) > 0);
	/* jittered 60 s samples kept 120-180 s apart: 7 h fits in the bound */
	n = slab_history_points(h, "kmalloc-32", NULL, 0);
	CHECK(n >= 7 * 20 && n <= 7 * 30 + 2);

	/* (c) the 15-minute dip alone would not fail the fit: only the drop rule catches it */
	CHECK(fit_family(h, "kmalloc-64", &f) == 0);
	CHECK(f.slope_per_s * HOUR > 2.5 * MiB && f.r2 > 0.9 && f.span_s > 6 * HOUR);
	/* (d) noise: no slope to speak of */
	CHECK(fit_family(h, "kmalloc-192", &f) == 0);
	CHECK(f.r2 < 0.5 && absd(f.slope_per_s * HOUR) < 0.1 * MiB);
	/* the step: fast enough, never falls, but no straight line */
	CHECK(fit_family(h, "kmalloc-256", &f) == 0);
	CHECK(f.slope_per_s * HOUR > 1.5 * MiB && f.r2 > 0.7 && f.r2 < 0.8);
	/* the slow line: straight, too slow */
	CHECK(fit_family(h, "kmalloc-512", &f) == 0);
	CHECK(f.r2 > 0.9 && near(f.slope_per_s * HOUR, 0.5 * MiB, 0.05 * MiB));

	CHECK(slab_history_leaks(h, 6 * HOUR, 1 * MiB, 0.9, &leaks, &n) == 0);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr,
			"  leak: %s %.3f MiB/h r2 %.4f span %.2f h %zu points now %.1f MiB\n",
			leaks[i].family, leaks[i].slope_bytes_per_hour / MiB, leaks[i].r2,
			leaks[i].span_s / HOUR, leaks[i].points, (double)leaks[i].bytes_now / MiB);
	/* (a) reported; (b), (c), (d), the step and the slow line not */
	CHECK(n == 1);
	CHECK_STR(leaks[0].family, "kmalloc-32");
	CHECK(near(leaks[0].slope_bytes_per_hour, 2 * MiB, 0.05 * MiB));
	CHECK(leaks[0].r2 > 0.9);
	CHECK(leaks[0].span_s >= 6.9 * HOUR && leaks[0].span_s <= 7.1 * HOUR);
	CHECK(near((double)leaks[0].bytes_now, 22 * MiB, 0.1 * MiB));
	CHECK(leaks[0].points == slab_history_points(h, "kmalloc-32", NULL, 0));

	/* top growing: steepest first, bounded by max */
	CHECK(slab_history_top_growing(h, 3, &top, &n_top) == 0);
	for (size_t i = 0; i < n_top; i++)
		fprintf(stderr, "  top growing: %s %.3f MiB/h r2 %.4f\n", top[i].family,
			top[i].slope_bytes_per_hour / MiB, top[i].r2);
	CHECK(n_top == 3);
	CHECK_STR(top[0].family, "kmalloc-64");
	CHECK_STR(top[1].family, "kmalloc-32");
	CHECK_STR(top[2].family, "kmalloc-256");
	CHECK(top[0].slope_bytes_per_hour >= top[1].slope_bytes_per_hour);
	free(TAKE_PTR(top));
	CHECK(slab_history_top_growing(h, 0, &top, &n_top) == 0 && n_top == 0 && !top);

	free(TAKE_PTR(leaks));
	CHECK(slab_history_leaks(NULL, 0, 0, 0, &leaks, &n) == -EINVAL);
	return 0;
}

static int test_leak_needs_span(void)
{
	_cleanup_history_ struct slab_history *h = slab_history_new();
	_cleanup_free_ struct slab_leak *leaks = NULL;
	size_t n = 99;

	CHECK(h);
	CHECK(record_history(h, 1.0, true) == 0);
	/* (e) 1 h of the same leak: not with min_span 6 h ... */
	CHECK(slab_history_leaks(h, 6 * HOUR, 1 * MiB, 0.9, &leaks, &n) == 0);
	CHECK(n == 0 && leaks == NULL);
	/* ... but with 30 min: the span was the only reason */
	CHECK(slab_history_leaks(h, 0.5 * HOUR, 1 * MiB, 0.9, &leaks, &n) == 0);
	CHECK(n == 1);
	CHECK_STR(leaks[0].family, "kmalloc-32");
	return 0;
}

static int test_history_bound_and_prune(void)
{
	_cleanup_history_ struct slab_history *h = slab_history_new();
	struct slab_cache fam = { .name = "kmalloc-32", .bytes = 2 << 20 };
	struct trend_point p[SLAB_HISTORY_MAX];
	size_t n;

	CHECK(h);
	for (int i = 0; i < 1000; i++) {
		fam.bytes = (2 << 20) + 1000ULL * i;
		CHECK(slab_history_add(h, T0 + 300.0 * i, &fam, 1) == 0);
	}
	CHECK(slab_history_points(h, "kmalloc-32", p, ARRAY_SIZE(p)) == SLAB_HISTORY_MAX);
	CHECK(p[0].t_s == T0 + 300.0 * 640 && p[0].value == (2 << 20) + 1000.0 * 640);
	CHECK(p[SLAB_HISTORY_MAX - 1].t_s == T0 + 300.0 * 999);

	/* a clock step back is ignored */
	fam.bytes = 1;
	CHECK(slab_history_add(h, T0, &fam, 1) == 0);
	CHECK(slab_history_points(h, "kmalloc-32", p, ARRAY_SIZE(p)) == SLAB_HISTORY_MAX);
	CHECK(p[SLAB_HISTORY_MAX - 1].t_s == T0 + 300.0 * 999);

	/* keep the last hour: t >= 999*300 - 3600, i.e. samples 987..999 */
	slab_history_prune(h, T0 + 300.0 * 999, HOUR);
	n = slab_history_points(h, "kmalloc-32", p, ARRAY_SIZE(p));
	CHECK(n == 13 && p[0].t_s == T0 + 300.0 * 987);
	slab_history_prune(h, T0 + 300.0 * 999 + 2 * HOUR, HOUR);
	CHECK(slab_history_size(h) == 0);

	/* samples every 10 s: one point per >= 120 s, and the newest always present */
	fam.bytes = 2 << 20;
	for (int i = 0; i < 1000; i++)
		CHECK(slab_history_add(h, T0 + 10.0 * i, &fam, 1) == 0);
	n = slab_history_points(h, "kmalloc-32", p, ARRAY_SIZE(p));
	CHECK(n >= 83 && n <= 85);
	CHECK(p[n - 1].t_s == T0 + 9990.0);
	for (size_t i = 1; i + 1 < n; i++)
		CHECK(p[i].t_s - p[i - 1].t_s >= SLAB_HISTORY_STEP_S);
	slab_history_prune(h, T0 + 1e6, HOUR);

	/* the family bound: a larger newcomer replaces the smallest */
	for (int i = 0; i < SLAB_HISTORY_MAX_SERIES + 10; i++) {
		struct slab_cache c = { .bytes = (2ULL << 20) + (uint64_t)i };

		snprintf(c.name, sizeof(c.name), "cache_%03d", i);
		CHECK(slab_history_add(h, T0 + i, &c, 1) == 0);
	}
	CHECK(slab_history_size(h) == SLAB_HISTORY_MAX_SERIES);
	CHECK(slab_history_points(h, "cache_000", NULL, 0) == 0);
	CHECK(slab_history_points(h, "cache_137", NULL, 0) == 1);

	/* a tracked family that turns out reclaimable is dropped */
	{
		struct slab_cache c = { .name = "cache_137",
					.bytes = 5 << 20,
					.reclaimable = true };

		CHECK(slab_history_add(h, T0 + 1000, &c, 1) == 0);
		CHECK(slab_history_points(h, "cache_137", NULL, 0) == 0);
	}
	CHECK(slab_history_add(NULL, T0, &fam, 1) == -EINVAL);
	CHECK(slab_history_add(h, __builtin_nan(""), &fam, 1) == -EINVAL);
	CHECK(slab_history_add(h, T0, NULL, 1) == -EINVAL);
	CHECK(slab_history_add(h, T0, NULL, 0) == 0);
	return 0;
}

static int test_json_round_trip(void)
{
	_cleanup_history_ struct slab_history *h = slab_history_new(), *h2 = slab_history_new(),
					      *h3 = slab_history_new();
	_cleanup_json_ json_t *j1 = NULL, *j2 = NULL, *j3 = NULL, *loaded = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ struct slab_leak *l1 = NULL, *l2 = NULL;
	size_t n1 = 0, n2 = 0;
	json_t *series;

	CHECK(h && h2 && h3);
	CHECK(record_history(h, 7.0, false) == 0);
	j1 = slab_history_to_json(h);
	CHECK(j1);
	CHECK(json_object_size(json_object_get(j1, "families")) == slab_history_size(h));
	series = json_object_get(json_object_get(j1, "families"), "kmalloc-32");
	CHECK(json_is_array(series) && json_array_size(series) > 140);
	CHECK(json_is_real(json_array_get(json_array_get(series, 0), 0)));
	CHECK(json_is_integer(json_array_get(json_array_get(series, 0), 1)));

	CHECK(slab_history_from_json(h2, j1) == 0);
	j2 = slab_history_to_json(h2);
	CHECK(j2 && json_equal(j1, j2));

	/* through text, as `scan --state` stores it */
	text = json_dumps(j1, JSON_COMPACT);
	CHECK(text);
	loaded = json_loads(text, 0, NULL);
	CHECK(loaded);
	CHECK(slab_history_from_json(h3, loaded) == 0);
	j3 = slab_history_to_json(h3);
	CHECK(j3 && json_equal(j1, j3));

	CHECK(slab_history_leaks(h, 6 * HOUR, MiB, 0.9, &l1, &n1) == 0);
	CHECK(slab_history_leaks(h3, 6 * HOUR, MiB, 0.9, &l2, &n2) == 0);
	CHECK(n1 == 1 && n2 == 1 && memcmp(l1, l2, sizeof(*l1)) == 0);
	return 0;
}

static int test_json_garbage(void)
{
	_cleanup_history_ struct slab_history *h = slab_history_new();
	_cleanup_json_ json_t *arr = json_array(), *str = json_string("x"), *empty = json_object(),
			      *bad_families = NULL, *mixed = NULL, *out = NULL;
	struct trend_point p[4];

	CHECK(h && arr && str && empty);
	CHECK(slab_history_from_json(h, NULL) == -EINVAL);
	CHECK(slab_history_from_json(h, arr) == -EINVAL);
	CHECK(slab_history_from_json(h, str) == -EINVAL);
	CHECK(slab_history_from_json(NULL, empty) == -EINVAL);
	CHECK(slab_history_from_json(h, empty) == 0 && slab_history_size(h) == 0);
	bad_families = json_loads("{\"families\": [1, 2]}", 0, NULL);
	CHECK(bad_families && slab_history_from_json(h, bad_families) == 0);
	CHECK(slab_history_size(h) == 0);

	mixed = json_loads(
		"{\"families\": {"
		"  \"\": [[1, 2]],"
		"  \"not-an-array\": \"nope\","
		"  \"dentry\": [[1, 2], [200, 3]],"
		"  \"a_name_of_sixty_four_bytes_or_more_is_not_a_cache_name_at_all_xx\": "
		"[[1, 2]],"
		"  \"kmalloc-64\": [],"
		"  \"kmalloc-96\": [[\"a\", 1], [1], {}],"
		"  \"kmalloc-32\": [[1, 100], \"bad\", [2], [3, -5], [4, 1.5], [5, \"x\"],"
		"                   [6, 200, 7], [1000, 300], [900, 400], [2000, 1e300],"
		"                   [3000.5, 500.0], [null, 1]]"
		"}, \"extra\": true}",
		0, NULL);
	CHECK(mixed);
	CHECK(slab_history_from_json(h, mixed) == 0);
	CHECK(slab_history_size(h) == 1);
	CHECK(slab_history_points(h, "kmalloc-32", p, ARRAY_SIZE(p)) == 3);
	CHECK(p[0].t_s == 1 && p[0].value == 100);
	CHECK(p[1].t_s == 1000 && p[1].value == 300);
	CHECK(p[2].t_s == 3000.5 && p[2].value == 500);
	out = slab_history_to_json(h);
	CHECK(out && json_object_size(json_object_get(out, "families")) == 1);
	return 0;
}

UNIT_MAIN(TEST(test_parse_sample), TEST(test_parse_rejects_and_skips),
	  TEST(test_family_every_variant), TEST(test_aggregate_sums), TEST(test_read_live),
	  TEST(test_reclaimable_fake_sysfs), TEST(test_reclaimable_real_sysfs),
	  TEST(test_trend_perfect_line), TEST(test_trend_noise_flat_drop),
	  TEST(test_leak_detection), TEST(test_leak_needs_span), TEST(test_history_bound_and_prune),
	  TEST(test_json_round_trip), TEST(test_json_garbage))
