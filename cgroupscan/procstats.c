/* SPDX-License-Identifier: MIT */
/*
 * procstats.c - host /proc readers for `stallwatch scan` (procstats.h).
 *
 * Sources: doc/scan.md, Background (dentry-state fields, nr_negative since
 * 5.0 af0c9af1b3f6, read it with a <= 4 KiB buffer; the /proc/cgroups memory
 * row; meminfo Slab/SUnreclaim/Percpu; what each read costs); kernel
 * formats from fs/dcache.c proc_nr_dentry
 * (six %ld), fs/proc/meminfo.c ("%8lu kB"), net/core/net-procfs.c
 * softnet_seq_show ("%08x" columns), kernel/sched/psi.c psi_show
 * ("%lu.%02lu" averages, %llu total), kernel/cgroup/cgroup-v1.c
 * proc_cgroupstats_show ("%s\t%d\t%d\t%d").
 *
 * Numbers: a span of digits is checked by hand first, then converted with
 * strtoull(), which must end exactly at the span's end without ERANGE. So
 * "+1", "-1", " 1", "0x10" (base 16) and overflow are all -EINVAL.
 *
 * PSI averages: parsed by hand into an exact integer mantissa (at most 15
 * digits, < 2^53) and one division by an exact power of ten, which rounds
 * correctly, like strtod() in the C locale. Chosen over strtod_l() with a
 * newlocale() C locale because it needs no allocation, no failure path and
 * no global state, and the kernel's format is fixed-point ("%lu.%02lu").
 */
#include "procstats.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../common/timeutil.h"

/* proc_sys allocates count + 1 bytes per read: keep count small (doc/scan.md). */
#define DENTRY_BUF 4096
#define MEMINFO_BUF 65536
/* ~136 bytes per CPU with 15 columns: 256 KiB holds ~1900 CPUs */
#define SOFTNET_BUF (256 * 1024)
#define PRESSURE_BUF 4096
#define CGROUPS_BUF 4096

static const char *root_or_default(const char *proc_root)
{
	return proc_root ? proc_root : "/proc";
}

static int proc_path(char *buf, size_t size, const char *proc_root, const char *rel)
{
	int n = snprintf(buf, size, "%s/%s", root_or_default(proc_root), rel);

	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Read all of path into buf (size includes the NUL). one_line: stop after the
 * first read that ends a line, for proc_sys files, which return everything in
 * one read; an extra read would recompute the per-CPU sums for nothing.
 */
static int read_file(const char *path, char *buf, size_t size, bool one_line)
{
	_cleanup_close_ int fd = -1;
	size_t len = 0;

	if (size < 2)
		return -EINVAL;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;

	for (;;) {
		ssize_t n;

		if (len == size - 1) {
			char extra;

			/* full: is there more? */
			do
				n = read(fd, &extra, 1);
			while (n < 0 && errno == EINTR);
			if (n < 0)
				return -errno;
			if (n > 0)
				return -EFBIG;
			break;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (one_line && buf[len - 1] == '\n')
			break;
	}
	buf[len] = 0;
	/* an embedded NUL would hide the rest of the file from the parser */
	if (strlen(buf) != len)
		return -EINVAL;
	return 0;
}

static unsigned digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	return 255;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_end(char c)
{
	return c == '\n' || c == 0;
}

static void skip_blanks(const char **p)
{
	while (is_blank(**p))
		(*p)++;
}

/* An unsigned number in base 10 or 16 at *p, with nothing but digits; advances *p. */
static int parse_u64(const char **p, unsigned base, uint64_t *ret)
{
	const char *s = *p, *e = s;
	unsigned long long v;
	char *end;

	while (digit_value(*e) < base)
		e++;
	if (e == s)
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, (int)base);
	if (errno == ERANGE || end != e)
		return -EINVAL;
	*ret = v;
	*p = e;
	return 0;
}

/* The number just parsed must be followed by a blank or the end of the line. */
static bool at_field_end(const char *p)
{
	return is_blank(*p) || is_end(*p);
}

/* The start of the next line, or the terminating NUL. */
static const char *next_line(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? nl + 1 : p + strlen(p);
}

/* ---- /proc/sys/fs/dentry-state ---- */

int procstats_dentry_parse(const char *text, struct dentry_state *ret)
{
	uint64_t v[6] = { 0 };
	const char *p = text;
	unsigned n = 0;

	if (!text)
		return -EINVAL;
	for (;;) {
		int r;

		skip_blanks(&p);
		if (is_end(*p))
			break;
		if (n == ARRAY_SIZE(v))
			return -EINVAL;
		r = parse_u64(&p, 10, &v[n]);
		if (r < 0)
			return r;
		if (!at_field_end(p))
			return -EINVAL;
		n++;
	}
	if (*p == '\n')
		p++;
	if (*p || n < 4) /* one line, nr_dentry .. want_pages at least */
		return -EINVAL;
	*ret = (struct dentry_state){
		.nr_dentry = v[0],
		.nr_unused = v[1],
		.age_limit = v[2],
		.want_pages = v[3],
		.nr_negative = v[4],
		.has_negative = n >= 5,
	};
	return 0;
}

bool procstats_release_has_nr_negative(const char *release)
{
	unsigned major = 0, digits = 0;

	if (!release)
		return false;
	for (; *release >= '0' && *release <= '9'; release++) {
		if (++digits > 4)
			return false;
		major = major * 10 + (unsigned)(*release - '0');
	}
	return digits > 0 && *release == '.' && major >= 5;
}

int procstats_dentry(const char *proc_root, struct dentry_state *ret, uint64_t *ret_read_ns)
{
	char path[PATH_MAX], buf[DENTRY_BUF];
	struct dentry_state d;
	struct utsname u;
	uint64_t t0, t1;
	int r;

	r = proc_path(path, sizeof(path), proc_root, "sys/fs/dentry-state");
	if (r < 0)
		return r;
	t0 = sw_mono_ns();
	r = read_file(path, buf, sizeof(buf), true);
	t1 = sw_mono_ns();
	if (r < 0)
		return r;
	r = procstats_dentry_parse(buf, &d);
	if (r < 0)
		return r;
	/* before 5.0 field 5 is a dummy 0, not a count */
	if (d.has_negative && (uname(&u) < 0 || !procstats_release_has_nr_negative(u.release))) {
		d.has_negative = false;
		d.nr_negative = 0;
	}
	*ret = d;
	if (ret_read_ns)
		*ret_read_ns = t1 - t0;
	return 0;
}

/* ---- /proc/meminfo ---- */

int procstats_meminfo_parse(const char *text, struct meminfo *ret)
{
	struct meminfo m = { 0 };
	const struct {
		const char *key;
		uint64_t *dst;
		bool required;
	} keys[] = {
		{ "MemTotal", &m.mem_total, true },
		{ "MemAvailable", &m.mem_available, true },
		{ "Slab", &m.slab, true },
		{ "SReclaimable", &m.sreclaimable, true },
		{ "SUnreclaim", &m.sunreclaim, true },
		{ "Percpu", &m.percpu, false },
	};
	bool seen[ARRAY_SIZE(keys)] = { false };
	const char *p = text;

	if (!text)
		return -EINVAL;
	for (; *p; p = next_line(p)) {
		const char *colon = p;
		uint64_t kb;
		size_t i;
		int r;

		while (!is_end(*colon) && *colon != ':')
			colon++;
		if (*colon != ':' || colon == p)
			return -EINVAL; /* every meminfo line is "Key: value" */
		for (i = 0; i < ARRAY_SIZE(keys); i++)
			if (strlen(keys[i].key) == (size_t)(colon - p) &&
			    memcmp(keys[i].key, p, (size_t)(colon - p)) == 0)
				break;
		if (i == ARRAY_SIZE(keys))
			continue;
		if (seen[i])
			return -EINVAL;
		seen[i] = true;

		p = colon + 1;
		skip_blanks(&p);
		r = parse_u64(&p, 10, &kb);
		if (r < 0)
			return r;
		if (!is_blank(*p))
			return -EINVAL;
		skip_blanks(&p);
		if (p[0] != 'k' || p[1] != 'B' || !is_end(p[2]))
			return -EINVAL;
		p += 2;
		if (kb > UINT64_MAX / 1024)
			return -EINVAL;
		*keys[i].dst = kb * 1024;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].required && !seen[i])
			return -EINVAL;
	m.has_percpu = seen[ARRAY_SIZE(keys) - 1];
	*ret = m;
	return 0;
}

int procstats_meminfo(const char *proc_root, struct meminfo *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[PATH_MAX];
	int r;

	r = proc_path(path, sizeof(path), proc_root, "meminfo");
	if (r < 0)
		return r;
	buf = malloc(MEMINFO_BUF);
	if (!buf)
		return -ENOMEM;
	r = read_file(path, buf, MEMINFO_BUF, false);
	if (r < 0)
		return r;
	return procstats_meminfo_parse(buf, ret);
}

/* ---- /proc/net/softnet_stat ---- */

int procstats_softnet_parse(const char *text, struct softnet *ret)
{
	struct softnet s = { 0 };
	unsigned want_cols = 0;
	const char *p = text;

	if (!text)
		return -EINVAL;
	while (*p) {
		uint64_t col[3] = { 0 };
		unsigned cols = 0;

		for (;;) {
			uint64_t v;
			int r;

			skip_blanks(&p);
			if (is_end(*p))
				break;
			r = parse_u64(&p, 16, &v);
			if (r < 0)
				return r;
			/* the kernel prints 32-bit counters */
			if (v > UINT32_MAX || !at_field_end(p))
				return -EINVAL;
			if (cols < ARRAY_SIZE(col))
				col[cols] = v;
			if (++cols > 64)
				return -EINVAL;
		}
		if (cols < 3 || (want_cols && cols != want_cols))
			return -EINVAL;
		want_cols = cols;
		if (s.cpus == UINT_MAX)
			return -EINVAL;
		s.cpus++;
		s.processed += col[0];
		s.dropped += col[1];
		s.time_squeeze += col[2];
		if (*p == '\n')
			p++;
	}
	if (!s.cpus)
		return -EINVAL;
	*ret = s;
	return 0;
}

int procstats_softnet(const char *proc_root, struct softnet *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[PATH_MAX];
	int r;

	r = proc_path(path, sizeof(path), proc_root, "net/softnet_stat");
	if (r < 0)
		return r;
	buf = malloc(SOFTNET_BUF);
	if (!buf)
		return -ENOMEM;
	r = read_file(path, buf, SOFTNET_BUF, false);
	if (r < 0)
		return r;
	return procstats_softnet_parse(buf, ret);
}

/* ---- /proc/pressure/<resource> ---- */

/* "12.34" (fraction optional, at most 15 digits in all) into a double; advances *p. */
static int parse_fixed(const char **p, double *ret)
{
	const char *s = *p;
	uint64_t mant = 0;
	unsigned digits = 0, frac = 0;
	double scale = 1;

	for (; *s >= '0' && *s <= '9'; s++, digits++)
		mant = mant * 10 + (uint64_t)(*s - '0');
	if (!digits || digits > 15)
		return -EINVAL;
	if (*s == '.') {
		s++;
		for (; *s >= '0' && *s <= '9'; s++, frac++)
			mant = mant * 10 + (uint64_t)(*s - '0');
		if (!frac || digits + frac > 15)
			return -EINVAL;
	}
	/* mant < 10^15 < 2^53 and 10^frac are exact: one correctly rounded division */
	for (unsigned i = 0; i < frac; i++)
		scale *= 10;
	*ret = (double)mant / scale;
	*p = s;
	return 0;
}

static bool token_is(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) == n && memcmp(p, word, n) == 0;
}

/* The rest of a "some" or "full" line after the word: avg10= avg60= avg300= total=. */
static int parse_pressure_line(const char **pp, double *avg10, double *avg60, uint64_t *total)
{
	const char *p = *pp;
	bool seen[4] = { false };
	double avg300;

	for (;;) {
		const char *key, *eq;
		unsigned k;
		int r;

		if (!is_blank(*p))
			break;
		skip_blanks(&p);
		if (is_end(*p))
			break;
		key = p;
		while (*p != '=' && !at_field_end(p))
			p++;
		if (*p != '=' || p == key)
			return -EINVAL;
		eq = p++;
		if (token_is(key, eq, "avg10"))
			k = 0;
		else if (token_is(key, eq, "avg60"))
			k = 1;
		else if (token_is(key, eq, "avg300"))
			k = 2;
		else if (token_is(key, eq, "total"))
			k = 3;
		else {
			/* a key of a newer kernel: skip a non-empty value */
			if (at_field_end(p))
				return -EINVAL;
			while (!at_field_end(p))
				p++;
			continue;
		}
		if (seen[k])
			return -EINVAL;
		seen[k] = true;
		if (k == 3)
			r = parse_u64(&p, 10, total);
		else
			r = parse_fixed(&p, k == 0 ? avg10 : k == 1 ? avg60 : &avg300);
		if (r < 0)
			return r;
		if (!at_field_end(p))
			return -EINVAL;
	}
	if (!is_end(*p) || !seen[0] || !seen[1] || !seen[2] || !seen[3])
		return -EINVAL;
	*pp = p;
	return 0;
}

int procstats_pressure_parse(const char *text, struct pressure *ret)
{
	struct pressure ps = { .present = true };
	const char *p = text;
	bool has_some = false;

	if (!text)
		return -EINVAL;
	for (; *p; p = next_line(p)) {
		const char *word = p;
		int r;

		while (*p >= 'a' && *p <= 'z')
			p++;
		if (token_is(word, p, "some")) {
			if (has_some)
				return -EINVAL;
			has_some = true;
			r = parse_pressure_line(&p, &ps.some_avg10, &ps.some_avg60,
						&ps.some_total_us);
		} else if (token_is(word, p, "full")) {
			if (ps.has_full)
				return -EINVAL;
			ps.has_full = true;
			r = parse_pressure_line(&p, &ps.full_avg10, &ps.full_avg60,
						&ps.full_total_us);
		} else if (p == word) {
			return -EINVAL; /* not a word: blank line or garbage */
		} else {
			continue; /* a line of a newer kernel */
		}
		if (r < 0)
			return r;
	}
	if (!has_some)
		return -EINVAL;
	*ret = ps;
	return 0;
}

int procstats_pressure(const char *proc_root, const char *resource, struct pressure *ret)
{
	char path[PATH_MAX], rel[64], buf[PRESSURE_BUF];
	int r;

	if (!resource || !*resource || strchr(resource, '/') || strcmp(resource, ".") == 0 ||
	    strcmp(resource, "..") == 0)
		return -EINVAL;
	if ((size_t)snprintf(rel, sizeof(rel), "pressure/%s", resource) >= sizeof(rel))
		return -ENAMETOOLONG;
	r = proc_path(path, sizeof(path), proc_root, rel);
	if (r < 0)
		return r;
	r = read_file(path, buf, sizeof(buf), false);
	if (r == -ENOENT || r == -EOPNOTSUPP) {
		/* no CONFIG_PSI, or psi=0 (older kernels keep the file and fail the read) */
		*ret = (struct pressure){ .present = false };
		return -ENOENT;
	}
	if (r < 0)
		return r;
	return procstats_pressure_parse(buf, ret);
}

/* ---- /proc/cgroups ---- */

int procstats_cgroups_parse(const char *text, const char *controller, struct cgroups_row *ret)
{
	struct cgroups_row row = { 0 };
	const char *p = text;
	bool found = false;
	size_t clen;

	if (!text || !controller || !*controller || strpbrk(controller, " \t\n"))
		return -EINVAL;
	clen = strlen(controller);
	for (; *p; p = next_line(p)) {
		uint64_t v[3];
		int r;

		if (*p == '#')
			continue; /* the header */
		if (strncmp(p, controller, clen) != 0 || !is_blank(p[clen]))
			continue;
		if (found)
			return -EINVAL;
		found = true;
		p += clen;
		for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
			if (!is_blank(*p))
				return -EINVAL;
			skip_blanks(&p);
			r = parse_u64(&p, 10, &v[i]);
			if (r < 0)
				return r;
		}
		skip_blanks(&p);
		if (!is_end(*p) || v[0] > UINT_MAX || v[2] > 1)
			return -EINVAL;
		row = (struct cgroups_row){
			.hierarchy = (unsigned)v[0],
			.num_cgroups = v[1],
			.enabled = v[2] == 1,
		};
	}
	if (!found)
		return -ENOENT;
	*ret = row;
	return 0;
}

int procstats_cgroups(const char *proc_root, const char *controller, struct cgroups_row *ret)
{
	char path[PATH_MAX], buf[CGROUPS_BUF];
	int r;

	r = proc_path(path, sizeof(path), proc_root, "cgroups");
	if (r < 0)
		return r;
	r = read_file(path, buf, sizeof(buf), false);
	if (r < 0)
		return r;
	return procstats_cgroups_parse(buf, controller, ret);
}
