/* SPDX-License-Identifier: MIT */
/*
 * fuzz_policy.c - libFuzzer target for the policy loader (policy/load.c)
 * and the matcher of the policy it compiles (policy/policy.c).
 *
 * The input is one policy file or, when it holds lines `----`, up to three
 * files split there and loaded in order (replace and append across files).
 * Its last byte picks the loader options: the command-line rule, an -e set
 * and -m. Trailing whitespace keeps a file valid JSON, so '\n', ' ', '\t'
 * and '\r' map to four useful option sets; any other byte to a mix.
 * When the load succeeds, synthetic calls with paths, comms and pids taken
 * from the input go through policy_match(), and policy_threshold_ns() is
 * checked against the rules. A broken invariant of load.h or policy.h
 * aborts. Nothing is printed.
 *
 *   make fuzz           clang, libFuzzer, ASan+UBSan: build/fuzz/fuzz_policy
 *   make fuzz-replay    the corpus without clang (tests/fuzz/replay.c)
 */
#include <errno.h>
#include <linux/audit.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/load.h"
#include "policy/policy.h"
#include "policy/syscall_set.h"

#define MAX_SOURCES 3
#define MAX_STRINGS 16
#define MAX_STRING_LEN 256
#define MAX_NUMBERS 4
#define MAX_DEPTH 3
#define MSEC 1000000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_assert(cond)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* The -e sets the last input byte chooses from (NULL: no -e). */
static const char *const watch_exprs[] = {
	NULL, /* every syscall */
	"read", /* one */
	"%file", /* a class */
	"%desc,%network", /* a union */
	"none", /* nothing: every rule watches nothing */
	"/^(open|stat)", /* a regex */
	"!%memory", /* a negation */
	"inotify_add_watch,fanotify_mark", /* the default policy's watch-setup-slow */
};

static struct syscall_set watch_sets[ARRAY_SIZE(watch_exprs)];
static int nr_read = -1, nr_openat = -1, nr_inotify = -1;

static void init_once(void)
{
	static bool done;

	if (done)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(watch_exprs); i++) {
		struct sw_error err = {};

		if (watch_exprs[i])
			fuzz_assert(syscall_set_parse(watch_exprs[i], &watch_sets[i], &err) == 0);
	}
	nr_read = syscall_nr("read");
	nr_openat = syscall_nr("openat");
	nr_inotify = syscall_nr("inotify_add_watch");
	done = true;
}

struct options {
	bool command_line;
	int watch; /* index into watch_exprs */
	uint64_t min_duration_ns;
	unsigned depth; /* ancestors parent_of reports */
};

static struct options options_from_byte(uint8_t b)
{
	static const uint64_t min_durations[] = { 10 * MSEC, 0, 1, 1000000 * MSEC };

	switch (b) {
	case '\n':
		return (struct options){ false, 0, 10 * MSEC, 3 };
	case ' ':
		return (struct options){ true, 0, 10 * MSEC, 1 };
	case '\t':
		return (struct options){ true, 1, 50 * MSEC, 2 };
	case '\r':
		return (struct options){ false, 2, 10 * MSEC, 0 };
	default:
		return (struct options){ b & 1, (b >> 1) & 7, min_durations[(b >> 4) & 3],
					 (b >> 6) & 3 };
	}
}

/* ---- what the input offers as paths, names and numbers ----------------- */

struct inputs {
	char strs[MAX_STRINGS][MAX_STRING_LEN];
	size_t n_strs;
	uint64_t nums[MAX_NUMBERS];
	size_t n_nums;
};

/* The raw bytes between quotes (escapes left as they are) and decimal numbers. */
static void scan_inputs(const uint8_t *data, size_t size, struct inputs *in)
{
	size_t i = 0;

	while (i < size) {
		if (data[i] == '"') {
			size_t start = ++i, len;

			while (i < size && data[i] != '"') {
				if (data[i] == '\\' && i + 1 < size)
					i++;
				i++;
			}
			len = i - start;
			if (in->n_strs < MAX_STRINGS && len < MAX_STRING_LEN) {
				memcpy(in->strs[in->n_strs], data + start, len);
				in->strs[in->n_strs][len] = 0;
				in->n_strs++;
			}
			i++;
		} else if (data[i] >= '0' && data[i] <= '9') {
			uint64_t v = 0;

			while (i < size && data[i] >= '0' && data[i] <= '9') {
				v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX :
								v * 10 + (data[i] - '0');
				i++;
			}
			if (in->n_nums < MAX_NUMBERS)
				in->nums[in->n_nums++] = v;
		} else
			i++;
	}
}

/* The k-th string that contains c (or any string when c is 0), else NULL. */
static const char *nth_string(const struct inputs *in, char c, size_t k)
{
	for (size_t i = 0; i < in->n_strs; i++)
		if ((!c || strchr(in->strs[i], c)) && k-- == 0)
			return in->strs[i];
	return NULL;
}

/* The string right after the k-th string equal to key ("comm": "x" gives x), or NULL. */
static const char *after_key(const struct inputs *in, const char *key, size_t k)
{
	for (size_t i = 0; i + 1 < in->n_strs; i++)
		if (strcmp(in->strs[i], key) == 0 && k-- == 0)
			return in->strs[i + 1];
	return NULL;
}

static uint64_t nth_number(const struct inputs *in, size_t k, uint64_t fallback)
{
	return k < in->n_nums ? in->nums[k] : fallback;
}

/* ---- a fake process tree ------------------------------------------------ */

struct tree {
	const struct inputs *in;
	pid_t pids[MAX_DEPTH + 1]; /* [0] the caller, then its ancestors; decreasing */
	unsigned depth; /* ancestors that exist */
	char cgroup[MAX_DEPTH + 1][2 * MAX_STRING_LEN + 32];
};

static void make_cgroup(char *buf, size_t size, const struct inputs *in, size_t k)
{
	const char *a = after_key(in, "cgroup", k), *b = nth_string(in, '/', k);

	snprintf(buf, size, "0::%s\n4:memory:%s\n12:cpu,cpuacct:/", a ? a : "/",
		 b ? b : "/x.slice");
}

static void tree_init(struct tree *t, const struct inputs *in, unsigned depth)
{
	*t = (struct tree){ .in = in };
	t->pids[0] = (pid_t)(nth_number(in, 0, 4242) % 4194305);
	if (t->pids[0] < 2)
		t->pids[0] = 4242;
	for (unsigned i = 1; i <= MAX_DEPTH; i++) {
		pid_t want = (pid_t)(nth_number(in, i, 0) % 4194305);

		t->pids[i] = want > 1 && want < t->pids[i - 1] ? want : t->pids[i - 1] / 2;
		if (t->pids[i] < 1)
			t->pids[i] = 1;
	}
	for (unsigned i = 0; i <= MAX_DEPTH; i++)
		make_cgroup(t->cgroup[i], sizeof(t->cgroup[i]), in, i);
	/* a chain ends at pid 1 */
	for (t->depth = 0; t->depth < depth && t->pids[t->depth] > 1; t->depth++)
		;
}

static int parent_of(void *opaque, pid_t pid, struct policy_ancestor *ret)
{
	const struct tree *t = opaque;
	const char *comm, *exe;
	unsigned i;

	for (i = 0; i < t->depth; i++)
		if (t->pids[i] == pid)
			break;
	if (i == t->depth)
		return -ESRCH;
	comm = after_key(t->in, "comm", i + 1);
	exe = after_key(t->in, "exe", i + 1);
	snprintf(ret->comm, sizeof(ret->comm), "%s", comm ? comm : "bash");
	snprintf(ret->exe, sizeof(ret->exe), "%s", exe ? exe : "/usr/bin/bash");
	snprintf(ret->cgroup, sizeof(ret->cgroup), "%s", t->cgroup[i + 1]);
	ret->proc = (struct policy_process){
		.tgid = t->pids[i + 1],
		.comm = ret->comm,
		.exe = i == 1 ? NULL : ret->exe, /* one ancestor's exe is unknown */
		.cgroup = ret->cgroup,
	};
	return 0;
}

/* ---- checks ----------------------------------------------------------- */

static const struct policy_rule *command_line_rule(const struct policy *p)
{
	const struct policy_rule *r;

	if (!p->has_command_line)
		return NULL;
	fuzz_assert(p->n_rules > 0);
	r = &p->rules[p->n_rules - 1];
	fuzz_assert(strcmp(r->name, POLICY_COMMAND_LINE_RULE) == 0 && !r->file);
	return r;
}

static bool rule_has_nr(const struct policy_rule *r, int nr)
{
	return nr >= 0 ? syscall_set_has(&r->syscalls, nr) : r->all_syscalls;
}

/* policy.h: the smallest min_duration of any enabled rule that watches nr. */
static void check_threshold(const struct policy *p, int nr)
{
	uint64_t want = POLICY_UNWATCHED;
	bool watched = false;

	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].enabled && syscall_set_has(&p->rules[i].syscalls, nr)) {
			watched = true;
			if (p->rules[i].min_duration_ns < want)
				want = p->rules[i].min_duration_ns;
		}
	fuzz_assert(policy_threshold_ns(p, AUDIT_ARCH_X86_64, (uint64_t)nr) == want);
	/* (a rule of min_duration UINT64_MAX ns is watched with an "unwatched" threshold) */
	fuzz_assert(syscall_set_has(&p->watched, nr) == watched);
}

static void check_match(const struct policy *p, const struct policy_call *call)
{
	const struct policy_rule *best, *cl = command_line_rule(p);
	uint64_t next = 0;

	best = policy_match(p, call, &next);
	if (best) {
		fuzz_assert(best >= p->rules && best < p->rules + p->n_rules);
		fuzz_assert(best->enabled);
		fuzz_assert(call->duration_ns >= best->min_duration_ns);
		fuzz_assert(!best->has_result || call->has_result);
		fuzz_assert(rule_has_nr(best, call->nr));
		/* the hot path must not have filtered out a call that fires a rule */
		if (call->nr >= 0)
			fuzz_assert(policy_threshold_ns(p, AUDIT_ARCH_X86_64, (uint64_t)call->nr) <=
				    call->duration_ns);
	}
	/* the command-line rule wins whenever it fires */
	if (cl && cl->enabled && rule_has_nr(cl, call->nr) &&
	    call->duration_ns >= cl->min_duration_ns)
		fuzz_assert(best == cl);
	if (!call->has_result)
		fuzz_assert(next == POLICY_UNWATCHED || next > call->duration_ns);
	/* without ret_next_ns */
	fuzz_assert(policy_match(p, call, NULL) == best);
}

static void exercise_policy(const struct policy *p, const struct options *opt,
			    const struct inputs *in)
{
	const int nrs[] = { -1, nr_read, nr_openat, nr_inotify,
			    (int)(nth_number(in, 1, 0) % SW_MAX_NR) };
	const uint64_t durations[] = { 0, 10 * MSEC, UINT64_MAX,
				       nth_number(in, 0, 5) * MSEC / (nth_number(in, 2, 1) ?: 1) };
	static const int errnos[] = { ENOENT, EACCES, EINTR };
	const char *comm = after_key(in, "comm", 0), *exe = after_key(in, "exe", 0);
	struct tree tree;
	struct policy_process proc, anon;
	const struct syscall_set *watch = watch_exprs[opt->watch] ? &watch_sets[opt->watch] : NULL;

	tree_init(&tree, in, opt->depth);
	proc = (struct policy_process){
		.tgid = tree.pids[0],
		.comm = comm && strlen(comm) < 16 ? comm : "cadvisor",
		.exe = exe ? exe : nth_string(in, '/', 0),
		.cgroup = tree.cgroup[0],
	};
	anon = (struct policy_process){ .tgid = tree.pids[0] }; /* comm, exe, cgroup unknown */

	fuzz_assert(command_line_rule(p) ? opt->command_line : !opt->command_line);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];

		fuzz_assert(r->level && strcmp(r->level, policy_severity_name(r->severity)) == 0);
		for (size_t k = 0; k < r->n_targets; k++)
			fuzz_assert(r->targets[k] < p->n_targets);
		if (watch)
			for (size_t k = 0; k < ARRAY_SIZE(watch->bits); k++)
				fuzz_assert((r->syscalls.bits[k] & ~watch->bits[k]) == 0);
	}

	/* every nr with every duration, path set and result (in flight, success, failure) */
	for (size_t i = 0; i < ARRAY_SIZE(nrs); i++) {
		if (nrs[i] >= 0)
			check_threshold(p, nrs[i]);
		for (size_t k = 0; k < ARRAY_SIZE(durations) * 3 * 3; k++) {
			size_t d = k / 9, paths = k / 3 % 3, result = k % 3;
			struct policy_call call = {
				.nr = nrs[i],
				.duration_ns = durations[d],
				.has_result = result > 0,
				.failed = result == 2,
				.error = errnos[(i + d) % ARRAY_SIZE(errnos)],
				.proc = (i + result) % 4 == 3 ? &anon : &proc,
				.parent_of = (i + d) % 4 ? parent_of : NULL,
				.opaque = &tree,
			};

			if (paths == 0) {
				call.path = nth_string(in, '/', 1);
				call.fd_path = nth_string(in, '*', 0);
			} else if (paths == 1) {
				call.path = "memory.stat";
				call.abs_path = "/sys/fs/cgroup/kubepods/memory.stat";
				call.fd_path = nth_string(in, 0, d);
			}
			check_match(p, &call);
		}
	}

	/* the hot path with every ABI, a foreign arch and numbers from the input */
	for (size_t i = 0; i < MAX_NUMBERS; i++) {
		uint64_t nr = nth_number(in, i, i * 97);

		if (nr < SW_MAX_NR)
			check_threshold(p, (int)nr);
		(void)policy_threshold_ns(p, AUDIT_ARCH_I386, nr);
		(void)policy_threshold_ns(p, AUDIT_ARCH_X86_64, nr | 0x40000000ULL);
		fuzz_assert(policy_threshold_ns(p, AUDIT_ARCH_AARCH64, nr) == POLICY_UNWATCHED);
	}
	fuzz_assert(policy_threshold_ns(p, AUDIT_ARCH_X86_64, SW_MAX_NR) == POLICY_UNWATCHED);
	fuzz_assert(policy_threshold_ns(p, AUDIT_ARCH_X86_64, UINT64_MAX) == POLICY_UNWATCHED);
}

static void check_diags(const struct policy_diags *d, size_t n_sources)
{
	char buf[2048], tiny[8];
	size_t errors = 0;

	for (size_t i = 0; i < d->n; i++) {
		const struct policy_diag *g = &d->v[i];

		fuzz_assert(g->file && g->message && g->code && *g->code);
		fuzz_assert(g->line >= 1 && g->column >= 1 && g->src < n_sources);
		if (i > 0) {
			const struct policy_diag *f = &d->v[i - 1];

			/* load.h: by source, then position */
			fuzz_assert(f->src < g->src ||
				    (f->src == g->src &&
				     (f->line < g->line ||
				      (f->line == g->line && f->column <= g->column))));
		}
		errors += g->error;
		policy_diag_format(g, buf, sizeof(buf));
		fuzz_assert(strlen(buf) < sizeof(buf));
		policy_diag_format(g, tiny, sizeof(tiny));
		fuzz_assert(strlen(tiny) < sizeof(tiny));
	}
	fuzz_assert(errors == d->n_errors && d->n_errors + d->n_warnings == d->n);
}

/* ---- entry point ------------------------------------------------------ */

/* Split at lines "----" into at most MAX_SOURCES sources; returns how many. */
static size_t split_sources(const char *text, size_t size, struct policy_source *srcs)
{
	static const char *const names[MAX_SOURCES] = { "a.json", "b.json", "c.json" };
	size_t n = 0, start = 0, line = 0;

	while (line < size && n < MAX_SOURCES - 1) {
		const char *nl = memchr(text + line, '\n', size - line);
		size_t end = nl ? (size_t)(nl - text) : size;

		if (end - line == 4 && memcmp(text + line, "----", 4) == 0) {
			srcs[n] = (struct policy_source){ .name = names[n],
							  .text = text + start,
							  .len = line - start };
			n++;
			start = nl ? end + 1 : size;
		}
		line = end + 1;
	}
	srcs[n] = (struct policy_source){ .name = names[n],
					  .text = text + start,
					  .len = size - start };
	return n + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_source srcs[MAX_SOURCES];
	struct policy_diags diags = {};
	struct policy *p = NULL;
	struct options opt;
	struct inputs *in;
	size_t n_srcs;
	int r;

	init_once();
	opt = options_from_byte(size ? data[size - 1] : '\n');
	n_srcs = split_sources(data ? (const char *)data : "", size, srcs);
	r = policy_load(
		&(struct policy_load_options){
			.sources = srcs,
			.n_sources = n_srcs,
			.command_line = opt.command_line,
			.watch = watch_exprs[opt.watch] ? &watch_sets[opt.watch] : NULL,
			.min_duration_ns = opt.min_duration_ns,
		},
		&p, &diags);
	fuzz_assert(r == 0 || r == -EINVAL || r == -ENOMEM);
	fuzz_assert(r == 0 ? p != NULL : p == NULL);
	if (r == 0)
		fuzz_assert(diags.n_errors == 0);
	else if (r == -EINVAL)
		fuzz_assert(diags.n_errors > 0);
	check_diags(&diags, n_srcs);

	if (p) {
		in = calloc(1, sizeof(*in));
		if (in) {
			scan_inputs(data, size, in);
			exercise_policy(p, &opt, in);
			free(in);
		}
	}
	policy_free(p);
	policy_diags_free(&diags);
	return 0;
}
