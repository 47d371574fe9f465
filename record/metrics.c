/* SPDX-License-Identifier: MIT */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../common/timeutil.h"
#include "../common/utf8.h"

#ifndef SW_VERSION
#define SW_VERSION "unknown" /* the Makefile defines it; this keeps cppcheck and odd builds happy */
#endif

/* ---- the duration histogram (hot path) -------------------------------- */

/* Upper bounds (le) in ns; the last bucket, +Inf, has none. */
const uint64_t metrics_duration_le_ns[METRICS_DURATION_BUCKETS - 1] = {
	10 * NSEC_PER_USEC,  100 * NSEC_PER_USEC, 1 * NSEC_PER_MSEC, 10 * NSEC_PER_MSEC,
	100 * NSEC_PER_MSEC, 1 * NSEC_PER_SEC,	  10 * NSEC_PER_SEC,
};
#define N_BUCKETS METRICS_DURATION_BUCKETS
/* the le values as Prometheus client libraries print them (Go's strconv 'g' format) */
static const char *const bucket_le_text[N_BUCKETS] = { "1e-05", "0.0001", "0.001", "0.01",
						       "0.1",	"1",	  "10",	   "+Inf" };

struct hist_entry {
	const char *syscall; /* static, set before the entry is published */
	uint64_t sum_ns;
	/*
	 * NOT cumulative: one increment per call. The renderer derives the
	 * cumulative buckets and _count from one read of each, so every render
	 * is self-consistent (_count == +Inf bucket) even while the tracer adds.
	 */
	uint64_t bucket[N_BUCKETS];
};

/* ---- counter families (slow path) ------------------------------------- */

#define MAX_LABELS 3

struct series {
	char *label[MAX_LABELS]; /* all point into one allocation, owned by label[0] */
	uint64_t value;
};

struct family {
	const char *const *label_names;
	size_t n_labels;
	size_t rule_label; /* the label that becomes "_other" first when the family is full */
	struct series *v; /* sorted by labels (strcmp, label by label): render order */
	size_t n, cap;
};

static const char *const record_labels[] = { "action", "rule", "syscall" };
static const char *const dropped_labels[] = { "reason", "rule", "sink" };
static const char *const stall_labels[] = { "rule", "severity" };

struct metrics {
	char *path;
	char *tmp_path; /* <dir>/.<base>.<pid>.tmp */
	char *mode;
	char *source; /* `source="NAME"`: the file's name without .prom, on every series */
	uint64_t start_unix_ns;
	size_t n_slots;
	struct hist_entry **slots; /* written by metrics_observe() only */
	struct family records, dropped, stalls;
	bool has_watch;
	struct metrics_watch watch;
	bool has_host;
	struct metrics_host host;
	uint64_t scans;
	uint64_t traced_threads;
	uint64_t suppressed;
	uint64_t kernel_filtered;
};

static char *source_label(const char *base);
static char *add_source(char *text, const char *label);

struct metrics *metrics_new(const char *path, const char *mode, size_t n_slots)
{
	struct metrics *m;
	const char *slash;
	int r;

	if (!path || !mode) {
		errno = EINVAL;
		return NULL;
	}
	slash = strrchr(path, '/');
	/* rename(2) needs a file name: "dir/" or "" has none */
	if (!*(slash ? slash + 1 : path)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->start_unix_ns = sw_real_ns();
	m->n_slots = n_slots;
	m->records.label_names = record_labels;
	m->records.n_labels = ARRAY_SIZE(record_labels);
	m->records.rule_label = 1;
	m->dropped.label_names = dropped_labels;
	m->dropped.n_labels = ARRAY_SIZE(dropped_labels);
	m->dropped.rule_label = 1;
	m->stalls.label_names = stall_labels;
	m->stalls.n_labels = ARRAY_SIZE(stall_labels);
	m->stalls.rule_label = 0;
	m->path = strdup(path);
	m->mode = strdup(mode);
	/* same directory: rename(2) is atomic only within one filesystem */
	if (slash)
		r = asprintf(&m->tmp_path, "%.*s/.%s.%d.tmp", (int)(slash - path), path, slash + 1,
			     (int)getpid());
	else
		r = asprintf(&m->tmp_path, ".%s.%d.tmp", path, (int)getpid());
	if (r < 0)
		m->tmp_path = NULL;
	if (n_slots)
		m->slots = calloc(n_slots, sizeof(*m->slots));
	m->source = source_label(slash ? slash + 1 : path);
	if (!m->path || !m->mode || !m->tmp_path || !m->source || (n_slots && !m->slots)) {
		metrics_free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

static void family_free(struct family *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].label[0]);
	free(f->v);
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->slots && i < m->n_slots; i++)
		free(m->slots[i]);
	free(m->slots);
	family_free(&m->records);
	family_free(&m->dropped);
	family_free(&m->stalls);
	free(m->path);
	free(m->tmp_path);
	free(m->source);
	free(m->mode);
	free(m);
}

/* slot's entry, allocated and published the first time (tracer thread only) */
static struct hist_entry *slot_entry(struct metrics *m, size_t slot, const char *syscall)
{
	/* relaxed: only this thread ever stores the pointer */
	struct hist_entry *e = __atomic_load_n(&m->slots[slot], __ATOMIC_RELAXED);

	if (unlikely(!e)) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return NULL;
		e->syscall = syscall ? syscall : "unknown"; /* a caller bug must not crash render */
		/* release: the renderer that sees the pointer sees syscall and the zeroes */
		__atomic_store_n(&m->slots[slot], e, __ATOMIC_RELEASE);
	}
	return e;
}

void metrics_set_histogram(struct metrics *m, size_t slot, const char *syscall,
			   const uint64_t bucket[METRICS_DURATION_BUCKETS], uint64_t sum_ns)
{
	struct hist_entry *e;

	if (slot >= m->n_slots || !(e = slot_entry(m, slot, syscall)))
		return;
	for (size_t i = 0; i < N_BUCKETS; i++)
		__atomic_store_n(&e->bucket[i], bucket[i], __ATOMIC_RELAXED);
	__atomic_store_n(&e->sum_ns, sum_ns, __ATOMIC_RELAXED);
}

void metrics_observe(struct metrics *m, size_t slot, const char *syscall, uint64_t duration_ns)
{
	struct hist_entry *e;
	size_t i = 0;

	if (unlikely(slot >= m->n_slots))
		return;
	e = slot_entry(m, slot, syscall);
	if (unlikely(!e))
		return;
	/* le: a call of exactly a bound belongs to that bound's bucket */
	while (i < ARRAY_SIZE(metrics_duration_le_ns) && duration_ns > metrics_duration_le_ns[i])
		i++;
	/* one writer: load+store is enough, no locked read-modify-write on the hot path */
	__atomic_store_n(&e->bucket[i], __atomic_load_n(&e->bucket[i], __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&e->sum_ns, __atomic_load_n(&e->sum_ns, __ATOMIC_RELAXED) + duration_ns,
			 __ATOMIC_RELAXED);
}

uint64_t metrics_observed(const struct metrics *m)
{
	uint64_t n = 0;

	for (size_t s = 0; s < m->n_slots; s++) {
		const struct hist_entry *e = __atomic_load_n(&m->slots[s], __ATOMIC_ACQUIRE);

		for (size_t i = 0; e && i < ARRAY_SIZE(e->bucket); i++)
			n += __atomic_load_n(&e->bucket[i], __ATOMIC_RELAXED);
	}
	return n;
}

/* ---- counters --------------------------------------------------------- */

static int compare_labels(const struct family *f, const char *const *a, const char *const *b)
{
	for (size_t i = 0; i < f->n_labels; i++) {
		int c = strcmp(a[i], b[i]);

		if (c)
			return c;
	}
	return 0;
}

/* Binary search: the index of key, or where it would go (*found false). */
static size_t family_find(const struct family *f, const char *const *key, bool *found)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = compare_labels(f, (const char *const *)f->v[mid].label, key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int family_insert(struct family *f, size_t at, const char *const *key)
{
	size_t len[MAX_LABELS], total = 0;
	char *p;

	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		struct series *v = reallocarray(f->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		f->v = v;
		f->cap = cap;
	}
	for (size_t i = 0; i < f->n_labels; i++) {
		len[i] = strlen(key[i]) + 1;
		total += len[i];
	}
	p = malloc(total);
	if (!p)
		return -ENOMEM;
	memmove(&f->v[at + 1], &f->v[at], (f->n - at) * sizeof(*f->v));
	f->n++;
	memset(&f->v[at], 0, sizeof(f->v[at]));
	for (size_t i = 0; i < f->n_labels; i++) {
		memcpy(p, key[i], len[i]);
		f->v[at].label[i] = p;
		p += len[i];
	}
	return 0;
}

/* A label value as valid UTF-8 (node_exporter rejects the whole file otherwise). */
static const char *utf8_label(const char *s, char **owned)
{
	size_t len = 0;
	bool ascii = true;

	*owned = NULL;
	for (; s[len]; len++)
		if ((unsigned char)s[len] >= 0x80)
			ascii = false;
	if (ascii)
		return s;
	/* every invalid byte becomes U+FFFD: at most 3 bytes each */
	*owned = malloc(3 * len + 1);
	if (!*owned)
		return NULL;
	sw_utf8_sanitize(s, len, *owned, 3 * len + 1, 0);
	return *owned;
}

static int family_add(struct family *f, const char *const *raw, uint64_t n)
{
	char *owned[MAX_LABELS] = {};
	const char *key[MAX_LABELS];
	bool found;
	size_t at;
	int r = 0;

	/* sanitised before the lookup, so two raw values that read the same are one series */
	for (size_t i = 0; i < f->n_labels; i++) {
		key[i] = utf8_label(raw[i] ? raw[i] : "", &owned[i]);
		if (!key[i]) {
			r = -ENOMEM;
			goto out;
		}
	}
	at = family_find(f, key, &found);
	if (!found && f->n >= METRICS_MAX_SERIES) {
		key[f->rule_label] = METRICS_OTHER;
		at = family_find(f, key, &found);
		if (!found && f->n >= METRICS_MAX_SERIES + METRICS_MAX_OVERFLOW) {
			for (size_t i = 0; i < f->n_labels; i++)
				key[i] = METRICS_OTHER;
			at = family_find(f, key, &found);
		}
	}
	if (!found) {
		r = family_insert(f, at, key);
		if (r < 0)
			goto out;
	}
	f->v[at].value += n;
out:
	for (size_t i = 0; i < f->n_labels; i++)
		free(owned[i]);
	return r;
}

int metrics_count_record(struct metrics *m, const char *action, const char *rule,
			 const char *syscall)
{
	const char *key[] = { action, rule, syscall };

	return family_add(&m->records, key, 1);
}

int metrics_count_dropped(struct metrics *m, const char *reason, const char *rule, const char *sink,
			  uint64_t n)
{
	const char *key[] = { reason, rule, sink };

	return family_add(&m->dropped, key, n);
}

void metrics_set_host(struct metrics *m, const struct metrics_host *h)
{
	m->host = *h;
	m->has_host = true;
	m->scans++;
}

int metrics_count_stall(struct metrics *m, const char *rule, const char *severity)
{
	const char *key[] = { rule, severity };

	return family_add(&m->stalls, key, 1);
}

void metrics_set_watch(struct metrics *m, const struct metrics_watch *w)
{
	m->watch = *w;
	m->has_watch = true;
}

void metrics_set_suppressed(struct metrics *m, uint64_t n)
{
	m->suppressed = n;
}

void metrics_set_kernel_filtered(struct metrics *m, uint64_t n)
{
	m->kernel_filtered = n;
}

void metrics_set_traced_threads(struct metrics *m, uint64_t n)
{
	m->traced_threads = n;
}

/* ---- rendering -------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool failed; /* ENOMEM: later appends are no-ops, render returns NULL */
};

static bool buf_reserve(struct buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->len + more < b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap <= b->len + more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	int n;

	/* every caller prints a number or a short name; a longer text goes through buf_str */
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(small)) {
		b->failed = true;
		return;
	}
	buf_add(b, small, (size_t)n);
}

/*
 * Seconds from integer ns, exactly: "<s>.<9 digits>" with trailing zeros cut
 * ("0.000153", "1.5", "12"). Unlike %g or %.17g of a double this never loses
 * a nanosecond, even for Unix times, and never prints an exponent.
 */
static void buf_seconds(struct buf *b, uint64_t ns)
{
	uint64_t frac = ns % NSEC_PER_SEC;
	char digits[16];
	int n;

	if (!frac) {
		buf_printf(b, "%" PRIu64, ns / NSEC_PER_SEC);
		return;
	}
	n = snprintf(digits, sizeof(digits), "%09" PRIu64, frac);
	while (n > 0 && digits[n - 1] == '0')
		n--;
	buf_printf(b, "%" PRIu64 ".%.*s", ns / NSEC_PER_SEC, n, digits);
}

/* name="value" with the text format's escapes: backslash, double quote, newline. */
static void buf_label(struct buf *b, const char *name, const char *value)
{
	_cleanup_free_ char *owned = NULL;
	const char *v = utf8_label(value, &owned);

	if (!v) {
		b->failed = true;
		return;
	}
	buf_str(b, name);
	buf_add(b, "=\"", 2);
	for (; *v; v++) {
		const char *run = v;

		while (*v && *v != '\\' && *v != '"' && *v != '\n')
			v++;
		buf_add(b, run, (size_t)(v - run));
		if (!*v)
			break;
		buf_add(b, *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : "\\n", 2);
	}
	buf_add(b, "\"", 1);
}

static void buf_family(struct buf *b, const char *name, const char *type, const char *help)
{
	/* help texts are constants without backslashes or newlines: nothing to escape */
	buf_printf(b, "# HELP %s ", name);
	buf_str(b, help);
	buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void buf_sample_u64(struct buf *b, const char *name, uint64_t value)
{
	buf_printf(b, "%s %" PRIu64 "\n", name, value);
}

static void buf_sample_seconds(struct buf *b, const char *name, uint64_t ns)
{
	buf_printf(b, "%s ", name);
	buf_seconds(b, ns);
	buf_add(b, "\n", 1);
}

static void render_family(struct buf *b, const struct family *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++) {
		buf_str(b, name);
		buf_add(b, "{", 1);
		for (size_t l = 0; l < f->n_labels; l++) {
			if (l)
				buf_add(b, ",", 1);
			buf_label(b, f->label_names[l], f->v[i].label[l]);
		}
		buf_printf(b, "} %" PRIu64 "\n", f->v[i].value);
	}
}

/* A histogram series as read once from its hist_entry. */
struct hist_snapshot {
	const char *syscall;
	uint64_t sum_ns;
	uint64_t bucket[N_BUCKETS];
};

static int compare_snapshots(const void *a, const void *b)
{
	return strcmp(((const struct hist_snapshot *)a)->syscall,
		      ((const struct hist_snapshot *)b)->syscall);
}

static void render_histogram(struct buf *b, struct metrics *m)
{
	static const char name[] = "stallwatch_syscall_duration_seconds";
	_cleanup_free_ struct hist_snapshot *s = NULL;
	size_t n = 0, cap = 0, out = 0;

	for (size_t i = 0; i < m->n_slots; i++) {
		/* acquire: pairs with the release store that published the entry */
		const struct hist_entry *e = __atomic_load_n(&m->slots[i], __ATOMIC_ACQUIRE);

		if (!e)
			continue;
		if (n == cap) {
			size_t new_cap = cap ? 2 * cap : 64;
			struct hist_snapshot *p = reallocarray(s, new_cap, sizeof(*s));

			if (!p) {
				b->failed = true;
				return;
			}
			s = p;
			cap = new_cap;
		}
		s[n].syscall = e->syscall;
		for (size_t k = 0; k < N_BUCKETS; k++)
			s[n].bucket[k] = __atomic_load_n(&e->bucket[k], __ATOMIC_RELAXED);
		s[n].sum_ns = __atomic_load_n(&e->sum_ns, __ATOMIC_RELAXED);
		n++;
	}
	if (!n)
		return;
	qsort(s, n, sizeof(*s), compare_snapshots);
	/* two slots with one name (one call in two ABIs) must be one series */
	for (size_t i = 1; i < n; i++) {
		if (strcmp(s[out].syscall, s[i].syscall) == 0) {
			for (size_t k = 0; k < N_BUCKETS; k++)
				s[out].bucket[k] += s[i].bucket[k];
			s[out].sum_ns += s[i].sum_ns;
		} else {
			s[++out] = s[i];
		}
	}
	n = out + 1;

	buf_family(
		b, name, "histogram",
		"Wall time of completed watched system calls (all of them, not only slow ones).");
	for (size_t i = 0; i < n; i++) {
		uint64_t cumulative = 0;

		for (size_t k = 0; k < N_BUCKETS; k++) {
			cumulative += s[i].bucket[k];
			buf_printf(b, "%s_bucket{", name);
			buf_label(b, "syscall", s[i].syscall);
			buf_printf(b, ",le=\"%s\"} %" PRIu64 "\n", bucket_le_text[k], cumulative);
		}
		buf_printf(b, "%s_sum{", name);
		buf_label(b, "syscall", s[i].syscall);
		buf_add(b, "} ", 2);
		buf_seconds(b, s[i].sum_ns);
		buf_printf(b, "\n%s_count{", name);
		buf_label(b, "syscall", s[i].syscall);
		buf_printf(b, "} %" PRIu64 "\n", cumulative);
	}
}

static uint64_t timeval_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * NSEC_PER_SEC + (uint64_t)tv->tv_usec * NSEC_PER_USEC;
}

static void render_self_cpu(struct buf *b)
{
	static const char name[] = "stallwatch_self_cpu_seconds_total";
	struct rusage ru = {};

	/* RUSAGE_SELF cannot fail; zeroes are still valid counters if it did */
	getrusage(RUSAGE_SELF, &ru);
	buf_family(b, name, "counter",
		   "CPU time used by stallwatch itself (all its threads), from getrusage(2).");
	buf_printf(b, "%s{mode=\"system\"} ", name);
	buf_seconds(b, timeval_ns(&ru.ru_stime));
	buf_printf(b, "\n%s{mode=\"user\"} ", name);
	buf_seconds(b, timeval_ns(&ru.ru_utime));
	buf_add(b, "\n", 1);
}

static void render_watch(struct buf *b, const struct metrics *m)
{
	const struct metrics_watch *w = &m->watch;
	static const char missed[] = "stallwatch_watch_missed_total";

	buf_family(
		b, "stallwatch_watch_targets", "gauge",
		"watch: processes watched now (the policy's targets; their children not counted).");
	buf_sample_u64(b, "stallwatch_watch_targets", w->targets);
	buf_family(b, "stallwatch_watch_targets_added_total", "counter",
		   "watch: processes taken since start.");
	buf_sample_u64(b, "stallwatch_watch_targets_added_total", w->added_total);
	buf_family(b, "stallwatch_watch_targets_released_total", "counter",
		   "watch: processes let go because they stopped matching (exec, cgroup move).");
	buf_sample_u64(b, "stallwatch_watch_targets_released_total", w->released_total);
	buf_family(b, missed, "counter",
		   "watch: processes that matched but are not watched, by reason (max-targets: "
		   "--max-targets reached; attach-failed: gone, refused, already traced).");
	buf_printf(b, "%s{reason=\"attach-failed\"} %" PRIu64 "\n", missed, w->missed_failed);
	buf_printf(b, "%s{reason=\"max-targets\"} %" PRIu64 "\n", missed, w->missed_max_targets);
	buf_family(b, "stallwatch_watch_pickup_seconds_max", "gauge",
		   "watch: the longest delay from a target's exec to its being watched.");
	buf_sample_seconds(b, "stallwatch_watch_pickup_seconds_max", w->pickup_ns_max);
	buf_family(b, "stallwatch_self_resident_bytes", "gauge",
		   "Resident memory of stallwatch itself (VmRSS).");
	buf_sample_u64(b, "stallwatch_self_resident_bytes", w->rss_bytes);
}

static void render_host(struct buf *b, const struct metrics *m)
{
	const struct metrics_host *h = &m->host;

	buf_family(b, "stallwatch_scans_total", "counter", "Host scans done.");
	buf_sample_u64(b, "stallwatch_scans_total", m->scans);
	buf_family(b, "stallwatch_scan_timestamp_seconds", "gauge",
		   "Wall time of the latest host scan, seconds since the Unix epoch.");
	buf_sample_seconds(b, "stallwatch_scan_timestamp_seconds", h->sample_unix_ns);
	buf_family(b, "stallwatch_scan_duration_seconds", "gauge",
		   "How long the latest host scan took.");
	buf_sample_seconds(b, "stallwatch_scan_duration_seconds", h->scan_ns);
	if (h->has_memcg) {
		buf_family(b, "stallwatch_memcg_online", "gauge", "Online memory cgroups.");
		buf_sample_u64(b, "stallwatch_memcg_online", h->memcg_online);
		buf_family(b, "stallwatch_memcg_offline", "gauge",
			   "Offline (deleted but not yet freed, \"zombie\") memory cgroups.");
		buf_sample_u64(b, "stallwatch_memcg_offline", h->memcg_offline);
	}
	if (h->has_stat_read) {
		buf_family(b, "stallwatch_memcg_stat_read_seconds", "gauge",
			   "Slowest memory.stat read timed by the latest scan.");
		buf_sample_seconds(b, "stallwatch_memcg_stat_read_seconds", h->stat_read_ns);
	}
	if (h->has_dentry) {
		buf_family(b, "stallwatch_dentry_total", "gauge",
			   "Dentries in the dentry cache (/proc/sys/fs/dentry-state nr_dentry).");
		buf_sample_u64(b, "stallwatch_dentry_total", h->dentry_total);
	}
	if (h->has_dentry_negative) {
		buf_family(b, "stallwatch_dentry_negative", "gauge",
			   "Negative dentries (/proc/sys/fs/dentry-state nr_negative).");
		buf_sample_u64(b, "stallwatch_dentry_negative", h->dentry_negative);
	}
	if (h->has_slab) {
		buf_family(b, "stallwatch_slab_unreclaimable_bytes", "gauge",
			   "Unreclaimable slab memory (SUnreclaim of /proc/meminfo).");
		buf_sample_u64(b, "stallwatch_slab_unreclaimable_bytes",
			       h->slab_unreclaimable_bytes);
		buf_family(b, "stallwatch_slab_reclaimable_bytes", "gauge",
			   "Reclaimable slab memory (SReclaimable of /proc/meminfo).");
		buf_sample_u64(b, "stallwatch_slab_reclaimable_bytes", h->slab_reclaimable_bytes);
	}
}

char *metrics_render(struct metrics *m)
{
	struct buf b = {};

	buf_family(&b, "stallwatch_info", "gauge",
		   "Version and mode of this stallwatch process; the value is always 1.");
	buf_str(&b, "stallwatch_info{");
	buf_label(&b, "version", SW_VERSION);
	buf_add(&b, ",", 1);
	buf_label(&b, "mode", m->mode);
	buf_add(&b, "} 1\n", 4);

	buf_family(&b, "stallwatch_start_time_seconds", "gauge",
		   "Wall time when stallwatch started, seconds since the Unix epoch.");
	buf_sample_seconds(&b, "stallwatch_start_time_seconds", m->start_unix_ns);

	buf_family(
		&b, "stallwatch_records_total", "counter",
		"Records made, by action, rule and syscall (empty for records not about a call).");
	render_family(&b, &m->records, "stallwatch_records_total");

	buf_family(&b, "stallwatch_records_dropped_total", "counter",
		   "Records lost, by reason (rate-limit, queue-full, write-error), rule and sink "
		   "(stream, syslog, metrics; empty for losses before any sink).");
	render_family(&b, &m->dropped, "stallwatch_records_dropped_total");

	if (m->n_slots) {
		buf_family(
			&b, "stallwatch_stalls_total", "counter",
			"slow-syscall and stuck-syscall records, by rule and severity (log.level).");
		render_family(&b, &m->stalls, "stallwatch_stalls_total");
		render_histogram(&b, m);
	}

	render_self_cpu(&b);

	if (m->n_slots) {
		buf_family(&b, "stallwatch_traced_threads", "gauge", "Threads being traced now.");
		buf_sample_u64(&b, "stallwatch_traced_threads", m->traced_threads);
		buf_family(
			&b, "stallwatch_calls_suppressed_total", "counter",
			"Calls over their threshold that were not reported because stallwatch's own "
			"wait for a CPU explains the excess (doc/schema.md).");
		buf_sample_u64(&b, "stallwatch_calls_suppressed_total", m->suppressed);
		buf_family(
			&b, "stallwatch_calls_filtered_in_kernel_total", "counter",
			"bpf backend: calls past their syscall's lowest threshold kept in the "
			"kernel because no rule takes such a call (a wait or not, doc/policy.md) "
			"at that duration, or, host-wide, none takes a file of its name; 0 under "
			"the other backends.");
		buf_sample_u64(&b, "stallwatch_calls_filtered_in_kernel_total", m->kernel_filtered);
	}

	if (m->has_host)
		render_host(&b, m);
	if (m->has_watch)
		render_watch(&b, m);

	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return add_source(b.p, m->source);
}

/*
 * node_exporter's textfile collector refuses a scrape where two files have
 * the same series ("collected before with the same name and label
 * values"): `scan` and an `attach` per service share one directory, so
 * every series of this file carries source="<file name without .prom>".
 */
static char *source_label(const char *base)
{
	struct buf b = {};
	size_t len = strlen(base);
	char *name;

	if (len > 5 && strcmp(base + len - 5, ".prom") == 0)
		len -= 5;
	name = strndup(base, len);
	if (!name)
		return NULL;
	buf_label(&b, "source", name);
	free(name);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Put the source label into every sample line of text (consumed). */
static char *add_source(char *text, const char *label)
{
	struct buf b = {};
	char *line = text;

	while (*line) {
		char *nl = strchr(line, '\n'), *sp;
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		sp = memrchr(line, ' ', len);
		if (line[0] == '#' || !sp) {
			buf_add(&b, line, len);
		} else if (sp > line && sp[-1] == '}') {
			/* name{a="x"} 1 -> name{a="x",source="s"} 1 */
			buf_add(&b, line, (size_t)(sp - 1 - line));
			buf_add(&b, ",", 1);
			buf_str(&b, label);
			buf_add(&b, sp - 1, len - (size_t)(sp - 1 - line));
		} else {
			/* name 1 -> name{source="s"} 1 */
			buf_add(&b, line, (size_t)(sp - line));
			buf_add(&b, "{", 1);
			buf_str(&b, label);
			buf_add(&b, "}", 1);
			buf_add(&b, sp, len - (size_t)(sp - line));
		}
		buf_add(&b, "\n", 1);
		line += len + (nl ? 1 : 0);
	}
	free(text);
	if (b.failed || !b.p) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- the file ------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* a regular file only returns 0 for a 0-byte write: do not spin */
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int open_temp(const char *tmp_path)
{
	for (int attempt = 0;; attempt++) {
		/* O_EXCL: never follow a symlink someone planted under the temp name */
		int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (fd >= 0)
			return fd;
		/*
		 * A temp file with our pid is left over from a crash of an earlier
		 * process with the same pid (pid 1 in a container restarts as pid 1).
		 */
		if (errno != EEXIST || attempt > 0 || unlink(tmp_path) < 0)
			return -errno;
	}
}

static int replace_file(const struct metrics *m, const char *text, size_t len)
{
	_cleanup_close_ int fd = open_temp(m->tmp_path);
	int r;

	if (fd < 0)
		return fd;
	/*
	 * The umask may have taken the group and other bits away, and
	 * node_exporter usually runs as its own user: the file is not secret.
	 * No fsync: FILE is regenerated every second, and ext4/xfs flush a
	 * file renamed over another one before the rename commits anyway.
	 */
	r = RET_NERRNO(fchmod(fd, 0644));
	if (r == 0)
		r = write_all(fd, text, len);
	if (r == 0) {
		/* NFS reports write-back errors (ENOSPC, EDQUOT) only at close */
		if (close(TAKE_FD(fd)) < 0 && errno != EINTR)
			r = -errno;
	}
	if (r == 0)
		r = RET_NERRNO(rename(m->tmp_path, m->path));
	if (r < 0)
		unlink(m->tmp_path);
	return r;
}

int metrics_write(struct metrics *m, struct sw_error *err)
{
	_cleanup_free_ char *text = metrics_render(m);
	int r;

	if (!text)
		return sw_error_set(err, -ENOMEM, "cannot write metrics file `%s`", m->path);
	r = replace_file(m, text, strlen(text));
	if (r < 0)
		return sw_error_set(err, r, "cannot write metrics file `%s`", m->path);
	return 0;
}
