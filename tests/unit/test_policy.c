/* SPDX-License-Identifier: MIT */
/*
 * The compiled policy (policy/policy.h, doc/policy.md): per-ABI thresholds,
 * the -e watch set, doc/schema.md's rule order, path globs, result filters,
 * the stuck-time deadline, targets (children included), several files in
 * load order, scan thresholds and the built-in default policy.
 *
 * Policies are written with ' for " so the JSON stays readable in C.
 */
#include <errno.h>
#include <linux/audit.h>
#include <stdlib.h>

#include "policy/load.h"
#include "unit.h"

#define MS(x) (UINT64_C(1000000) * (x))
#define SEC(x) (UINT64_C(1000000000) * (x))
#define X32_BIT 0x40000000ULL
#define MAX_TEXTS 4

struct load_args {
	bool command_line;
	const struct syscall_set *watch;
	uint64_t min_duration_ns;
};

/*
 * Load texts[0..n) as file1.json, file2.json, ... (' stands for "). Every
 * policy of these tests is clean: any diagnostic, warnings included, is
 * printed and fails the load (NULL).
 */
static struct policy *load_texts(const char *const *texts, size_t n, const struct load_args *a)
{
	static const struct load_args none = {};
	struct policy_source src[MAX_TEXTS] = {};
	char *copies[MAX_TEXTS] = {};
	char names[MAX_TEXTS][16];
	struct policy_diags diags = {};
	struct policy_load_options o = {};
	struct policy *p = NULL;
	bool ok = n <= MAX_TEXTS;
	int r = -EINVAL;

	if (!a)
		a = &none;
	for (size_t i = 0; ok && i < n; i++) {
		copies[i] = strdup(texts[i]);
		if (!copies[i]) {
			ok = false;
			break;
		}
		for (char *c = copies[i]; *c; c++)
			if (*c == '\'')
				*c = '"';
		snprintf(names[i], sizeof(names[i]), "file%zu.json", i + 1);
		src[i] = (struct policy_source){ .name = names[i],
						 .text = copies[i],
						 .len = strlen(copies[i]) };
	}
	if (ok) {
		o = (struct policy_load_options){ .sources = src,
						  .n_sources = n,
						  .command_line = a->command_line,
						  .watch = a->watch,
						  .min_duration_ns = a->min_duration_ns };
		r = policy_load(&o, &p, &diags);
	}
	for (size_t i = 0; i < diags.n; i++) {
		char buf[1024];

		policy_diag_format(&diags.v[i], buf, sizeof(buf));
		fprintf(stderr, "  diagnostic: %s\n", buf);
	}
	if (r < 0)
		fprintf(stderr, "  policy_load: %d\n", r);
	if (r == 0 && diags.n) {
		policy_free(p);
		p = NULL;
	}
	policy_diags_free(&diags);
	for (size_t i = 0; i < n && i < MAX_TEXTS; i++)
		free(copies[i]);
	return r == 0 ? p : NULL;
}

static struct policy *load1(const char *text)
{
	return load_texts(&text, 1, NULL);
}

static const struct policy_rule *rule_named(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (strcmp(p->rules[i].name, name) == 0)
			return &p->rules[i];
	return NULL;
}

static const struct policy_process app = {
	.tgid = 100,
	.comm = "app",
	.exe = "/usr/bin/app",
	.cgroup = "0::/user.slice/app.scope\n",
};

/* A returned call of syscall name taking ns, by proc (NULL: app). */
static struct policy_call call_of(const char *name, uint64_t ns, const struct policy_process *proc)
{
	return (struct policy_call){
		.nr = syscall_nr(name),
		.duration_ns = ns,
		.has_result = true,
		.proc = proc ? proc : &app,
	};
}

/* The name of the rule the call fires, or NULL. */
static const char *fired(const struct policy *p, const struct policy_call *call)
{
	const struct policy_rule *rule = policy_match(p, call, NULL);

	return rule ? rule->name : NULL;
}

static void set_of(struct syscall_set *set, const char *const *names, size_t n)
{
	syscall_set_clear(set);
	for (size_t i = 0; i < n; i++)
		syscall_set_add(set, syscall_nr(names[i]));
}

/* ---- thresholds and the watch set ------------------------------------ */

static int test_thresholds_smallest_enabled_rule(void)
{
	_cleanup_policy_ struct policy *p =
		load1("{'rules': ["
		      " {'name': 'a', 'syscalls': ['read'], 'min_duration': '50ms'},"
		      " {'name': 'b', 'syscalls': ['read', 'write'], 'min_duration': '20ms'},"
		      " {'name': 'off', 'syscalls': ['read', 'openat'], 'min_duration': '1ms',"
		      "  'enabled': false},"
		      " {'name': 'sleep', 'syscalls': ['nanosleep'], 'min_duration': '30ms',"
		      "  'severity': 'error'}]}");
	_cleanup_policy_ struct policy *all = NULL;
	static const char *const watched[] = { "read", "write", "nanosleep" };
	struct syscall_set want, every;
	struct policy_call c;

	CHECK(p);
	CHECK(p->n_rules == 4);
	CHECK(!p->has_command_line);
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 0) == MS(20)); /* read */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 1) == MS(20)); /* write */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 35) == MS(30)); /* nanosleep */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 257) == POLICY_UNWATCHED); /* openat: off */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 3) == POLICY_UNWATCHED); /* close */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_I386, 3) == MS(20)); /* i386 read */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_I386, 4) == MS(20)); /* i386 write */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_I386, 162) == MS(30)); /* i386 nanosleep */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_I386, 295) == POLICY_UNWATCHED); /* i386 openat */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_I386, 6) == POLICY_UNWATCHED); /* i386 close */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, X32_BIT | 0) == MS(20)); /* x32 read */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, X32_BIT | 1) == MS(20)); /* x32 write */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, X32_BIT | 257) == POLICY_UNWATCHED);

	/* watched: the union of the enabled rules' sets */
	set_of(&want, watched, ARRAY_SIZE(watched));
	CHECK(syscall_set_equal(&p->watched, &want));
	CHECK(syscall_set_count(&p->watched) == 3);

	/* the disabled rule never fires, though its threshold is the smallest */
	c = call_of("read", MS(19), NULL);
	CHECK(!fired(p, &c));
	c = call_of("openat", SEC(10), NULL);
	CHECK(!fired(p, &c));
	c = call_of("read", MS(20), NULL);
	CHECK_STR(fired(p, &c), "b");
	c = call_of("nanosleep", MS(30), NULL);
	CHECK_STR(fired(p, &c), "sleep");
	CHECK_STR(policy_match(p, &c, NULL)->level, "error");

	/* a rule for all syscalls: every syscall gets its threshold */
	all = load1("{'rules': ["
		    " {'name': 'r', 'syscalls': ['read'], 'min_duration': '5ms'},"
		    " {'name': 'any', 'min_duration': '100ms'}]}");
	CHECK(all);
	syscall_set_fill_all(&every);
	CHECK(syscall_set_equal(&all->watched, &every));
	CHECK(policy_threshold_ns(all, AUDIT_ARCH_X86_64, 0) == MS(5));
	CHECK(policy_threshold_ns(all, AUDIT_ARCH_X86_64, 3) == MS(100)); /* close */
	CHECK(policy_threshold_ns(all, AUDIT_ARCH_I386, 3) == MS(5)); /* i386 read */
	CHECK(policy_threshold_ns(all, AUDIT_ARCH_I386, 6) == MS(100)); /* i386 close */
	CHECK(policy_threshold_ns(all, AUDIT_ARCH_AARCH64, 63) == POLICY_UNWATCHED);
	CHECK(rule_named(all, "any")->all_syscalls);
	CHECK(rule_named(all, "any")->specificity == POLICY_SPEC_ALL_SYSCALLS);
	CHECK(rule_named(all, "r")->specificity == POLICY_SPEC_NAMED_SYSCALLS);
	return 0;
}

static int test_watch_restricts_every_rule(void)
{
	static const char *const policy =
		"{'rules': ["
		" {'name': 'watch-setup', 'syscalls': ['inotify_add_watch'], 'min_duration': '10ms',"
		"  'severity': 'error'},"
		" {'name': 'rw', 'syscalls': ['read', 'write'], 'min_duration': '10ms'},"
		" {'name': 'any', 'min_duration': '100ms', 'severity': 'critical'}]}";
	static const char *const read_only[] = { "read" };
	struct syscall_set watch;
	struct load_args a = { .watch = &watch };
	_cleanup_policy_ struct policy *p = NULL;
	_cleanup_policy_ struct policy *cl = NULL;
	const struct policy_rule *rule;
	struct policy_call c;

	set_of(&watch, read_only, 1);
	p = load_texts(&policy, 1, &a);
	CHECK(p);
	CHECK(p->n_rules == 3);
	CHECK(syscall_set_count(&rule_named(p, "watch-setup")->syscalls) == 0);
	CHECK(syscall_set_equal(&p->watched, &watch));
	/* inotify_add_watch: x86_64 254, i386 292 */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 254) == POLICY_UNWATCHED);
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_I386, 292) == POLICY_UNWATCHED);
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 1) == POLICY_UNWATCHED); /* write */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 3) == POLICY_UNWATCHED); /* close: "any" */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 0) == MS(10)); /* read */
	c = call_of("inotify_add_watch", SEC(5), NULL);
	CHECK(!fired(p, &c));
	c = call_of("write", SEC(5), NULL);
	CHECK(!fired(p, &c));
	c = call_of("close", SEC(5), NULL);
	CHECK(!fired(p, &c));
	c = call_of("read", MS(10), NULL);
	CHECK_STR(fired(p, &c), "rw");
	c = call_of("read", MS(100), NULL);
	CHECK_STR(fired(p, &c), "any"); /* critical */

	/* with -e read -m 5ms: the command-line rule covers read only */
	a = (struct load_args){ .command_line = true, .watch = &watch, .min_duration_ns = MS(5) };
	cl = load_texts(&policy, 1, &a);
	CHECK(cl);
	CHECK(cl->n_rules == 4);
	CHECK(cl->has_command_line);
	rule = rule_named(cl, "command-line");
	CHECK(rule && rule == &cl->rules[3]);
	CHECK(syscall_set_equal(&rule->syscalls, &watch));
	CHECK(rule->min_duration_ns == MS(5));
	CHECK(!rule->file);
	CHECK(policy_threshold_ns(cl, AUDIT_ARCH_X86_64, 0) == MS(5));
	CHECK(policy_threshold_ns(cl, AUDIT_ARCH_X86_64, 1) == POLICY_UNWATCHED);
	c = call_of("read", MS(5), NULL);
	CHECK_STR(fired(cl, &c), "command-line");
	c = call_of("write", SEC(5), NULL);
	CHECK(!fired(cl, &c));
	return 0;
}

/* ---- which rule's record ---------------------------------------------- */

static int test_order_command_line_wins(void)
{
	static const char *const policy =
		"{'rules': ["
		" {'name': 'stat-critical', 'syscalls': ['read'], 'paths': ['*/memory.stat'],"
		"  'min_duration': '10ms', 'severity': 'critical'},"
		" {'name': 'anything-emergency', 'min_duration': '10ms', 'severity': 'emergency'}]}";
	struct load_args a = { .command_line = true, .min_duration_ns = MS(50) };
	_cleanup_policy_ struct policy *p = load_texts(&policy, 1, &a);
	const struct policy_rule *rule;
	struct policy_call c = call_of("read", MS(60), NULL);

	CHECK(p);
	CHECK(p->n_rules == 3);
	c.fd_path = "/sys/fs/cgroup/memory/memory.stat";
	/* all three fire: command-line wins over emergency and the most specific */
	rule = policy_match(p, &c, NULL);
	CHECK(rule);
	CHECK_STR(rule->name, "command-line");
	CHECK_STR(rule->level, "warning");
	/* stuck: the same order */
	c.has_result = false;
	CHECK_STR(fired(p, &c), "command-line");
	/* command-line did not fire (below -m): highest severity */
	c = call_of("read", MS(49), NULL);
	c.fd_path = "/sys/fs/cgroup/memory/memory.stat";
	CHECK_STR(fired(p, &c), "anything-emergency");
	c = call_of("write", MS(50), NULL);
	CHECK_STR(fired(p, &c), "command-line");
	c = call_of("write", MS(9), NULL);
	CHECK(!fired(p, &c));
	return 0;
}

static int test_order_command_line_name_reserved(void)
{
	static const char *const policy =
		"{'rules': [{'name': 'command-line', 'min_duration': '1ms', 'severity': 'debug'}]}";
	struct policy_diags diags = {};
	struct policy_source src = { .name = "reserved.json" };
	struct policy_load_options o = { .sources = &src, .n_sources = 1, .command_line = true };
	struct policy *p = NULL;
	char *text = strdup(policy);
	int r;

	CHECK(text);
	for (char *c = text; *c; c++)
		if (*c == '\'')
			*c = '"';
	src.text = text;
	src.len = strlen(text);
	r = policy_load(&o, &p, &diags);
	free(text);
	CHECK(r == -EINVAL);
	CHECK(!p);
	CHECK(diags.n_errors == 1);
	CHECK_STR(diags.v[0].code, "bad-name");
	policy_diags_free(&diags);
	return 0;
}

static int test_order_severity_before_specificity(void)
{
	_cleanup_policy_ struct policy *p =
		load1("{'rules': ["
		      " {'name': 'warn-path', 'syscalls': ['read'], 'paths': ['*/memory.stat'],"
		      "  'result': 'success', 'min_duration': '10ms'},"
		      " {'name': 'notice-path', 'syscalls': ['read'], 'paths': ['*/memory.stat'],"
		      "  'min_duration': '1ms', 'severity': 'notice'},"
		      " {'name': 'error-all', 'min_duration': '10ms', 'severity': 'error'},"
		      " {'name': 'alert-late', 'min_duration': '1s', 'severity': 'alert'}]}");
	struct policy_call c = call_of("read", MS(10), NULL);

	CHECK(p);
	c.fd_path = "/sys/fs/cgroup/memory.stat";
	CHECK_STR(fired(p, &c), "error-all");
	c.duration_ns = SEC(1);
	CHECK_STR(fired(p, &c), "alert-late");
	c.duration_ns = MS(9);
	CHECK_STR(fired(p, &c), "notice-path");
	c.duration_ns = MS(10);
	c.fd_path = NULL;
	CHECK_STR(fired(p, &c), "error-all");
	return 0;
}

static int test_order_specificity(void)
{
	/* same severity, least specific first: load order alone would pick `all` */
	_cleanup_policy_ struct policy *p =
		load1("{'rules': ["
		      " {'name': 'all', 'min_duration': '10ms'},"
		      " {'name': 'named', 'syscalls': ['read'], 'min_duration': '10ms'},"
		      " {'name': 'result', 'result': 'failure', 'min_duration': '10ms'},"
		      " {'name': 'named-result', 'syscalls': ['read'], 'result': 'failure',"
		      "  'min_duration': '10ms'},"
		      " {'name': 'path', 'paths': ['*/memory.stat'], 'min_duration': '10ms'},"
		      " {'name': 'path-result', 'syscalls': ['read'], 'paths': ['*/memory.stat'],"
		      "  'result': 'ENOENT', 'min_duration': '10ms'}]}");
	struct policy_call c = call_of("read", MS(20), NULL);

	CHECK(p);
	CHECK(rule_named(p, "all")->specificity == POLICY_SPEC_ALL_SYSCALLS);
	CHECK(rule_named(p, "named")->specificity == POLICY_SPEC_NAMED_SYSCALLS);
	CHECK(rule_named(p, "result")->specificity == POLICY_SPEC_RESULT);
	CHECK(rule_named(p, "named-result")->specificity == POLICY_SPEC_RESULT);
	CHECK(rule_named(p, "path")->specificity == POLICY_SPEC_PATH);
	CHECK(rule_named(p, "path-result")->specificity == POLICY_SPEC_PATH);

	/* everything fires: paths win; only the most specific condition counts */
	c.fd_path = "/sys/fs/cgroup/memory.stat";
	c.failed = true;
	c.error = ENOENT;
	CHECK_STR(fired(p, &c), "path");
	/* no path: result beats named syscalls */
	c.fd_path = NULL;
	CHECK_STR(fired(p, &c), "result");
	/* success: named syscalls beat all syscalls */
	c.failed = false;
	c.error = 0;
	CHECK_STR(fired(p, &c), "named");
	/* another syscall: only `all` (and `path`, which needs a path) */
	c = call_of("write", MS(20), NULL);
	CHECK_STR(fired(p, &c), "all");
	c.failed = true;
	c.error = EIO;
	CHECK_STR(fired(p, &c), "result");
	/* stuck: result rules do not fire, so named wins */
	c = call_of("read", MS(20), NULL);
	c.has_result = false;
	CHECK_STR(fired(p, &c), "named");
	c.fd_path = "/sys/fs/cgroup/memory.stat";
	CHECK_STR(fired(p, &c), "path");
	return 0;
}

static int test_order_load_order(void)
{
	static const char *const files[] = {
		"{'rules': ["
		" {'name': 'x', 'syscalls': ['read'], 'min_duration': '10ms', 'description': 'one'},"
		" {'name': 'y', 'syscalls': ['read'], 'min_duration': '10ms'}]}",
		"{'rules': ["
		" {'name': 'z', 'syscalls': ['read'], 'min_duration': '10ms'},"
		" {'name': 'y', 'syscalls': ['read'], 'min_duration': '10ms', 'tags': ['t']},"
		" {'name': 'x', 'syscalls': ['read'], 'min_duration': '10ms',"
		"  'description': 'replaced'}]}",
	};
	_cleanup_policy_ struct policy *one =
		load1("{'rules': ["
		      " {'name': 'first', 'syscalls': ['read'], 'min_duration': '10ms'},"
		      " {'name': 'second', 'syscalls': ['read'], 'min_duration': '10ms'},"
		      " {'name': 'third', 'syscalls': ['read'], 'min_duration': '5ms'}]}");
	_cleanup_policy_ struct policy *two = NULL;
	struct policy_call c = call_of("read", MS(10), NULL);

	CHECK(one);
	CHECK_STR(fired(one, &c), "first");
	c.duration_ns = MS(7);
	CHECK_STR(fired(one, &c), "third");

	/* a rule replaced by a later file keeps the place of its first appearance */
	two = load_texts(files, 2, NULL);
	CHECK(two);
	CHECK(two->n_rules == 3);
	CHECK_STR(two->rules[0].name, "x");
	CHECK_STR(two->rules[0].description, "replaced");
	CHECK_STR(two->rules[0].file, "file2.json"); /* its defining object is file2's */
	CHECK_STR(two->rules[1].name, "y");
	CHECK(two->rules[1].n_tags == 1);
	CHECK_STR(two->rules[2].name, "z");
	c.duration_ns = MS(10);
	CHECK_STR(fired(two, &c), "x");
	return 0;
}

/* ---- path globs ------------------------------------------------------- */

static int test_paths(void)
{
	_cleanup_policy_ struct policy *p =
		load1("{'rules': [{'name': 'stat', 'syscalls': ['read', 'openat'],"
		      " 'paths': ['*/memory.stat'], 'min_duration': '10ms'}]}");
	struct policy_call c = call_of("read", MS(10), NULL);
	uint64_t next = 0;

	CHECK(p);
	CHECK(rule_named(p, "stat")->n_paths == 1);
	c.fd_path = "/sys/fs/cgroup/memory/memory.stat";
	CHECK_STR(fired(p, &c), "stat");
	c.fd_path = "/rootfs/sys/fs/cgroup/memory/kubepods/memory.stat";
	CHECK_STR(fired(p, &c), "stat");
	c.fd_path = "/proc/self/status";
	CHECK(!fired(p, &c));
	c.fd_path = "/sys/fs/cgroup/memory/memory.stat.bak";
	CHECK(!fired(p, &c));
	/* neither a path nor an fd path */
	c.fd_path = NULL;
	CHECK(!fired(p, &c));
	c.has_result = false;
	CHECK(!policy_match(p, &c, &next));
	CHECK(next == POLICY_UNWATCHED);

	/* the path argument */
	c = call_of("openat", MS(10), NULL);
	c.path = "/sys/fs/cgroup/memory/memory.stat";
	CHECK_STR(fired(p, &c), "stat");
	c.path = "/proc/self/status";
	CHECK(!fired(p, &c));
	/* either string may match */
	c.fd_path = "/sys/fs/cgroup/memory/memory.stat";
	CHECK_STR(fired(p, &c), "stat");
	c.fd_path = "/sys/fs/cgroup";
	c.path = "/sys/fs/cgroup/memory/memory.stat";
	CHECK_STR(fired(p, &c), "stat");
	/* a relative name is matched as given ... */
	c = call_of("openat", MS(10), NULL);
	c.path = "memory.stat";
	CHECK(!fired(p, &c));
	/* ... and made absolute */
	c.abs_path = "/sys/fs/cgroup/memory/memory.stat";
	CHECK_STR(fired(p, &c), "stat");
	return 0;
}

/* ---- results ---------------------------------------------------------- */

static int test_results(void)
{
	_cleanup_policy_ struct policy *p = load1(
		"{'rules': ["
		" {'name': 'ok', 'syscalls': ['read'], 'result': 'success', 'min_duration': '10ms'},"
		" {'name': 'fail', 'syscalls': ['write'], 'result': 'failure', 'min_duration': '10ms'},"
		" {'name': 'noent', 'syscalls': ['openat'], 'result': 'ENOENT', 'min_duration': '10ms'},"
		" {'name': 'either', 'syscalls': ['stat'], 'result': ['ENOENT', 'EACCES'],"
		"  'min_duration': '10ms'}]}");
	const struct policy_rule *either;
	struct policy_call c;
	uint64_t next = 0;

	CHECK(p);
	either = rule_named(p, "either");
	CHECK(either && either->has_result && either->n_result_errnos == 2);
	CHECK(either->result_errnos[0] == ENOENT && either->result_errnos[1] == EACCES);
	CHECK(!either->result_success && !either->result_failure);
	CHECK(rule_named(p, "ok")->result_success && !rule_named(p, "ok")->result_failure);
	CHECK(rule_named(p, "fail")->result_failure && !rule_named(p, "fail")->result_success);

	c = call_of("read", MS(10), NULL);
	CHECK_STR(fired(p, &c), "ok");
	c.failed = true;
	c.error = EIO;
	CHECK(!fired(p, &c));

	c = call_of("write", MS(10), NULL);
	CHECK(!fired(p, &c));
	c.failed = true;
	c.error = EAGAIN;
	CHECK_STR(fired(p, &c), "fail");

	c = call_of("openat", MS(10), NULL);
	CHECK(!fired(p, &c));
	c.failed = true;
	c.error = ENOENT;
	CHECK_STR(fired(p, &c), "noent");
	c.error = EACCES;
	CHECK(!fired(p, &c));

	c = call_of("stat", MS(10), NULL);
	CHECK(!fired(p, &c));
	c.failed = true;
	c.error = ENOENT;
	CHECK_STR(fired(p, &c), "either");
	c.error = EACCES;
	CHECK_STR(fired(p, &c), "either");
	c.error = EPERM;
	CHECK(!fired(p, &c));
	c.duration_ns = MS(9);
	c.error = ENOENT;
	CHECK(!fired(p, &c));

	/* stuck: no result yet, whatever the other fields say */
	c = call_of("read", SEC(10), NULL);
	c.has_result = false;
	CHECK(!policy_match(p, &c, &next));
	CHECK(next == POLICY_UNWATCHED);
	c = call_of("openat", SEC(10), NULL);
	c.has_result = false;
	c.failed = true;
	c.error = ENOENT;
	next = 0;
	CHECK(!policy_match(p, &c, &next));
	CHECK(next == POLICY_UNWATCHED);
	c = call_of("write", MS(1), NULL);
	c.has_result = false;
	c.failed = true;
	c.error = EIO;
	next = 0;
	CHECK(!policy_match(p, &c, &next));
	CHECK(next == POLICY_UNWATCHED);
	return 0;
}

/* ---- the stuck-time deadline ------------------------------------------ */

static int test_stuck_next_deadline(void)
{
	_cleanup_policy_ struct policy *p = load1(
		"{'targets': {'pid999': {'pid': 999}},"
		" 'rules': ["
		" {'name': 'a', 'syscalls': ['read'], 'min_duration': '10ms'},"
		" {'name': 'b', 'syscalls': ['read'], 'min_duration': '50ms'},"
		" {'name': 'res', 'syscalls': ['read'], 'result': 'failure', 'min_duration': '20ms',"
		"  'severity': 'emergency'},"
		" {'name': 'path', 'syscalls': ['read'], 'paths': ['*/memory.stat'],"
		"  'min_duration': '30ms'},"
		" {'name': 'off', 'syscalls': ['read'], 'min_duration': '15ms', 'enabled': false},"
		" {'name': 'other-pid', 'syscalls': ['read'], 'targets': ['pid999'],"
		"  'min_duration': '25ms'},"
		" {'name': 'crit', 'syscalls': ['read'], 'min_duration': '80ms',"
		"  'severity': 'critical'}]}");
	static const struct policy_process pid999 = { .tgid = 999, .comm = "x" };
	struct policy_call c = call_of("read", MS(5), NULL);
	const struct policy_rule *rule;
	uint64_t next;

	CHECK(p);
	c.has_result = false;
	c.fd_path = "/proc/12/status";
	c.failed = true; /* stale: must not matter while stuck */
	c.error = EIO;

	next = 0;
	CHECK(!policy_match(p, &c, &next));
	CHECK(next == MS(10));
	c.duration_ns = MS(10);
	rule = policy_match(p, &c, &next);
	CHECK(rule);
	CHECK_STR(rule->name, "a");
	CHECK(next == MS(50)); /* not res (20), off (15), path (30) or other-pid (25) */
	c.duration_ns = MS(49);
	CHECK_STR(policy_match(p, &c, &next)->name, "a");
	CHECK(next == MS(50));
	c.duration_ns = MS(50);
	CHECK_STR(policy_match(p, &c, &next)->name, "a"); /* tie with b: load order */
	CHECK(next == MS(80));
	c.duration_ns = MS(80);
	CHECK_STR(policy_match(p, &c, &next)->name, "crit");
	CHECK(next == POLICY_UNWATCHED);
	c.duration_ns = SEC(100);
	CHECK_STR(policy_match(p, &c, &next)->name, "crit");
	CHECK(next == POLICY_UNWATCHED);

	/* a memory.stat read: the path rule can still fire */
	c.fd_path = "/sys/fs/cgroup/memory.stat";
	c.duration_ns = MS(10);
	CHECK_STR(policy_match(p, &c, &next)->name, "a");
	CHECK(next == MS(30));
	c.duration_ns = MS(30);
	CHECK_STR(policy_match(p, &c, &next)->name, "path");
	CHECK(next == MS(50));

	/* pid 999: its target rule can still fire */
	c.fd_path = NULL;
	c.proc = &pid999;
	c.duration_ns = MS(3);
	CHECK(!policy_match(p, &c, &next));
	CHECK(next == MS(10));
	c.duration_ns = MS(10);
	CHECK_STR(policy_match(p, &c, &next)->name, "a");
	CHECK(next == MS(25));
	c.duration_ns = MS(25);
	CHECK_STR(policy_match(p, &c, &next)->name, "a");
	CHECK(next == MS(50));

	/* returned: res fires, and beats everything (emergency) */
	c = call_of("read", MS(20), NULL);
	c.failed = true;
	c.error = EIO;
	CHECK_STR(fired(p, &c), "res");
	/* a syscall no rule has */
	c = call_of("write", MS(1), NULL);
	c.has_result = false;
	next = 0;
	CHECK(!policy_match(p, &c, &next));
	CHECK(next == POLICY_UNWATCHED);
	return 0;
}

/* ---- targets ---------------------------------------------------------- */

static int test_targets_pid_comm_exe(void)
{
	_cleanup_policy_ struct policy *p = load1(
		"{'targets': {"
		"  'pids': {'pid': [100, 101]},"
		"  'one-pid': {'pid': 7},"
		"  'kubelet': {'comm': 'kubelet'},"
		"  'kube-glob': {'comm': ['kube*', 'etcd']},"
		"  'usr-bin': {'exe': '/usr/bin/*'},"
		"  'everyone': {}},"
		" 'rules': ["
		" {'name': 'r-pid', 'syscalls': ['read'], 'targets': ['pids'], 'min_duration': '1ms'},"
		" {'name': 'r-one', 'syscalls': ['pread64'], 'targets': ['one-pid'],"
		"  'min_duration': '1ms'},"
		" {'name': 'r-comm', 'syscalls': ['write'], 'targets': ['kubelet'],"
		"  'min_duration': '1ms'},"
		" {'name': 'r-glob', 'syscalls': ['openat'], 'targets': ['kube-glob'],"
		"  'min_duration': '1ms'},"
		" {'name': 'r-exe', 'syscalls': ['close'], 'targets': ['usr-bin'],"
		"  'min_duration': '1ms'},"
		" {'name': 'r-all', 'syscalls': ['fsync'], 'targets': ['everyone'],"
		"  'min_duration': '1ms'}]}");
	struct policy_process proc = { .tgid = 101, .comm = "kubelet", .exe = "/usr/bin/kubelet" };
	struct policy_call c = call_of("read", MS(1), &proc);

	CHECK(p);
	CHECK(p->n_targets == 6);
	CHECK(rule_named(p, "r-pid")->n_targets == 1);

	CHECK_STR(fired(p, &c), "r-pid");
	proc.tgid = 100;
	CHECK_STR(fired(p, &c), "r-pid");
	proc.tgid = 102;
	CHECK(!fired(p, &c));
	c = call_of("pread64", MS(1), &proc);
	proc.tgid = 7;
	CHECK_STR(fired(p, &c), "r-one");
	proc.tgid = 70;
	CHECK(!fired(p, &c));

	/* comm: exact */
	c = call_of("write", MS(1), &proc);
	CHECK_STR(fired(p, &c), "r-comm");
	proc.comm = "kubelet2";
	CHECK(!fired(p, &c));
	proc.comm = "kube";
	CHECK(!fired(p, &c));
	proc.comm = NULL;
	CHECK(!fired(p, &c));

	/* comm: glob or exact, any of them */
	c = call_of("openat", MS(1), &proc);
	CHECK(!fired(p, &c)); /* comm unknown */
	proc.comm = "kube-proxy";
	CHECK_STR(fired(p, &c), "r-glob");
	proc.comm = "kubelet";
	CHECK_STR(fired(p, &c), "r-glob");
	proc.comm = "etcd";
	CHECK_STR(fired(p, &c), "r-glob");
	proc.comm = "etcdctl";
	CHECK(!fired(p, &c));
	proc.comm = "xkube";
	CHECK(!fired(p, &c));

	/* exe glob (`*` crosses `/`); unknown exe never matches */
	c = call_of("close", MS(1), &proc);
	CHECK_STR(fired(p, &c), "r-exe");
	proc.exe = "/usr/bin/sub/dir/tool";
	CHECK_STR(fired(p, &c), "r-exe");
	proc.exe = "/opt/vendor/agent";
	CHECK(!fired(p, &c));
	proc.exe = NULL;
	CHECK(!fired(p, &c));

	/* an empty target matches every process, even one we know nothing about */
	c = call_of("fsync", MS(1), &proc);
	proc.comm = NULL;
	CHECK_STR(fired(p, &c), "r-all");
	return 0;
}

static int test_targets_cgroup(void)
{
	_cleanup_policy_ struct policy *p = load1(
		"{'targets': {"
		"  'a': {'cgroup': '/a'},"
		"  'root': {'cgroup': '/'},"
		"  'a-slash': {'cgroup': '/a/'},"
		"  'several': {'cgroup': ['/x/y', '/kubepods.slice']}},"
		" 'rules': ["
		" {'name': 'r-a', 'syscalls': ['read'], 'targets': ['a'], 'min_duration': '1ms'},"
		" {'name': 'r-root', 'syscalls': ['write'], 'targets': ['root'],"
		"  'min_duration': '1ms'},"
		" {'name': 'r-slash', 'syscalls': ['openat'], 'targets': ['a-slash'],"
		"  'min_duration': '1ms'},"
		" {'name': 'r-several', 'syscalls': ['close'], 'targets': ['several'],"
		"  'min_duration': '1ms'}]}");
	struct policy_process proc = { .tgid = 5, .comm = "x" };
	struct policy_call c = call_of("read", MS(1), &proc);

	CHECK(p);
	proc.cgroup = "4:memory:/a/b\n0::/other\n";
	CHECK_STR(fired(p, &c), "r-a");
	proc.cgroup = "0::/a\n";
	CHECK_STR(fired(p, &c), "r-a");
	proc.cgroup = "0::/a";
	CHECK_STR(fired(p, &c), "r-a");
	proc.cgroup = "12:pids:/x\n11:cpu,cpuacct:/b\n0::/a/b/c\n";
	CHECK_STR(fired(p, &c), "r-a");
	proc.cgroup = "0::/ab\n";
	CHECK(!fired(p, &c));
	proc.cgroup = "4:memory:/ab/c\n0::/b/a\n";
	CHECK(!fired(p, &c));
	proc.cgroup = "0::/\n";
	CHECK(!fired(p, &c));
	proc.cgroup = "";
	CHECK(!fired(p, &c));
	proc.cgroup = NULL;
	CHECK(!fired(p, &c));

	/* "/" matches every cgroup */
	c = call_of("write", MS(1), &proc);
	proc.cgroup = "0::/\n";
	CHECK_STR(fired(p, &c), "r-root");
	proc.cgroup = "0::/system.slice/kubelet.service\n";
	CHECK_STR(fired(p, &c), "r-root");
	proc.cgroup = "4:memory:/ab\n";
	CHECK_STR(fired(p, &c), "r-root");

	/* a trailing slash in the prefix changes nothing */
	c = call_of("openat", MS(1), &proc);
	proc.cgroup = "0::/a\n";
	CHECK_STR(fired(p, &c), "r-slash");
	proc.cgroup = "0::/a/b\n";
	CHECK_STR(fired(p, &c), "r-slash");
	proc.cgroup = "0::/ab\n";
	CHECK(!fired(p, &c));

	/* any of several prefixes */
	c = call_of("close", MS(1), &proc);
	proc.cgroup = "0::/kubepods.slice/pod1\n";
	CHECK_STR(fired(p, &c), "r-several");
	proc.cgroup = "0::/x/y\n";
	CHECK_STR(fired(p, &c), "r-several");
	proc.cgroup = "0::/x\n";
	CHECK(!fired(p, &c));
	proc.cgroup = "0::/kubepods.slicer\n";
	CHECK(!fired(p, &c));
	return 0;
}

static int test_targets_several_keys_and_targets(void)
{
	_cleanup_policy_ struct policy *p = load1(
		"{'targets': {"
		"  'kubelet-in-pods': {'comm': 'kubelet', 'cgroup': '/kubepods'},"
		"  'pid7': {'pid': 7},"
		"  'all-keys': {'pid': 9, 'comm': 'agent', 'exe': '/opt/*', 'cgroup': '/v'}},"
		" 'rules': ["
		" {'name': 'both-keys', 'syscalls': ['read'], 'targets': ['kubelet-in-pods'],"
		"  'min_duration': '1ms'},"
		" {'name': 'any-target', 'syscalls': ['write'], 'targets': ['kubelet-in-pods', 'pid7'],"
		"  'min_duration': '1ms'},"
		" {'name': 'four-keys', 'syscalls': ['close'], 'targets': ['all-keys'],"
		"  'min_duration': '1ms'}]}");
	struct policy_process proc = { .tgid = 3, .comm = "kubelet", .cgroup = "0::/kubepods/x\n" };
	struct policy_call c = call_of("read", MS(1), &proc);

	CHECK(p);
	CHECK(rule_named(p, "any-target")->n_targets == 2);
	/* every key of a target must match */
	CHECK_STR(fired(p, &c), "both-keys");
	proc.cgroup = "0::/system.slice\n";
	CHECK(!fired(p, &c));
	proc.comm = "cadvisor";
	proc.cgroup = "0::/kubepods\n";
	CHECK(!fired(p, &c));

	/* any target of a rule */
	c = call_of("write", MS(1), &proc);
	CHECK(!fired(p, &c));
	proc.tgid = 7;
	CHECK_STR(fired(p, &c), "any-target");
	proc.tgid = 8;
	proc.comm = "kubelet";
	CHECK_STR(fired(p, &c), "any-target");
	proc.cgroup = "0::/kubepodsx\n";
	CHECK(!fired(p, &c));

	/* four keys: drop any one and the process no longer matches */
	c = call_of("close", MS(1), &proc);
	proc = (struct policy_process){
		.tgid = 9, .comm = "agent", .exe = "/opt/agent", .cgroup = "0::/v/w\n"
	};
	CHECK_STR(fired(p, &c), "four-keys");
	proc.tgid = 10;
	CHECK(!fired(p, &c));
	proc.tgid = 9;
	proc.comm = "agent2";
	CHECK(!fired(p, &c));
	proc.comm = "agent";
	proc.exe = "/usr/agent";
	CHECK(!fired(p, &c));
	proc.exe = NULL;
	CHECK(!fired(p, &c));
	proc.exe = "/opt/agent";
	proc.cgroup = "0::/vw\n";
	CHECK(!fired(p, &c));
	proc.cgroup = "0::/v\n";
	CHECK_STR(fired(p, &c), "four-keys");
	return 0;
}

/* A fake process tree: 300 (mount) -> 200 (kubelet) -> 1; 400 (bash) -> 1. */
struct fake_proc {
	pid_t pid, ppid;
	const char *comm;
	const char *exe;
};

static const struct fake_proc fake_tree[] = {
	{ 1, 0, "systemd", "/usr/lib/systemd/systemd" },
	{ 200, 1, "kubelet", NULL },
	{ 300, 200, "mount", "/usr/bin/mount" },
	{ 400, 1, "bash", "/usr/bin/bash" },
};

static int fake_calls;

static int fake_parent_of(void *opaque, pid_t pid, struct policy_ancestor *ret)
{
	const struct fake_proc *self = NULL;

	fake_calls++;
	for (size_t i = 0; i < ARRAY_SIZE(fake_tree); i++)
		if (fake_tree[i].pid == pid)
			self = &fake_tree[i];
	if (!self || self->ppid <= 0)
		return -ESRCH;
	for (size_t i = 0; i < ARRAY_SIZE(fake_tree); i++) {
		const struct fake_proc *parent = &fake_tree[i];

		if (parent->pid != self->ppid)
			continue;
		snprintf(ret->comm, sizeof(ret->comm), "%s", parent->comm);
		snprintf(ret->exe, sizeof(ret->exe), "%s", parent->exe ? parent->exe : "");
		snprintf(ret->cgroup, sizeof(ret->cgroup), "0::/ancestors\n");
		ret->proc = (struct policy_process){
			.tgid = parent->pid,
			.comm = ret->comm,
			.exe = parent->exe ? ret->exe : NULL,
			.cgroup = ret->cgroup,
		};
		return 0;
	}
	return -ESRCH;
}

static int test_targets_children(void)
{
	_cleanup_policy_ struct policy *p = load1(
		"{'targets': {"
		"  'kube-tree': {'comm': 'kubelet', 'children': true},"
		"  'kube-only': {'comm': 'kubelet'},"
		"  'pid-tree': {'pid': 200, 'children': true},"
		"  'systemd-exe-tree': {'exe': '/usr/lib/systemd/*', 'children': true},"
		"  'no-exe-tree': {'exe': '/opt/*', 'children': true}},"
		" 'rules': ["
		" {'name': 'r-tree', 'syscalls': ['read'], 'targets': ['kube-tree'],"
		"  'min_duration': '1ms'},"
		" {'name': 'r-only', 'syscalls': ['write'], 'targets': ['kube-only'],"
		"  'min_duration': '1ms'},"
		" {'name': 'r-pid-tree', 'syscalls': ['close'], 'targets': ['pid-tree'],"
		"  'min_duration': '1ms'},"
		" {'name': 'r-systemd', 'syscalls': ['fsync'], 'targets': ['systemd-exe-tree'],"
		"  'min_duration': '1ms'},"
		" {'name': 'r-opt', 'syscalls': ['openat'], 'targets': ['no-exe-tree'],"
		"  'min_duration': '1ms'}]}");
	struct policy_process proc = { .tgid = 300, .comm = "mount", .exe = "/usr/bin/mount" };
	struct policy_call c = call_of("read", MS(1), &proc);

	CHECK(p);
	CHECK(p->n_targets == 5);
	c.parent_of = fake_parent_of;

	/* a child of kubelet */
	CHECK_STR(fired(p, &c), "r-tree");
	/* kubelet itself */
	proc = (struct policy_process){ .tgid = 200, .comm = "kubelet" };
	CHECK_STR(fired(p, &c), "r-tree");
	/* not below kubelet */
	proc = (struct policy_process){ .tgid = 400, .comm = "bash", .exe = "/usr/bin/bash" };
	fake_calls = 0;
	CHECK(!fired(p, &c));
	CHECK(fake_calls == 1); /* 400 -> 1, and pid 1 has no parent */
	/* the parent is gone */
	proc = (struct policy_process){ .tgid = 555, .comm = "orphan" };
	CHECK(!fired(p, &c));
	/* no callback: the process itself only */
	proc = (struct policy_process){ .tgid = 300, .comm = "mount", .exe = "/usr/bin/mount" };
	c.parent_of = NULL;
	CHECK(!fired(p, &c));
	c.parent_of = fake_parent_of;

	/* without children the parent does not count */
	c = call_of("write", MS(1), &proc);
	c.parent_of = fake_parent_of;
	CHECK(!fired(p, &c));
	proc.comm = "kubelet";
	CHECK_STR(fired(p, &c), "r-only");
	proc.comm = "mount";

	/* a pid target with children */
	c = call_of("close", MS(1), &proc);
	c.parent_of = fake_parent_of;
	CHECK_STR(fired(p, &c), "r-pid-tree");
	proc = (struct policy_process){ .tgid = 400, .comm = "bash" };
	CHECK(!fired(p, &c));

	/* the grandparent (pid 1) matches by exe */
	c = call_of("fsync", MS(1), &proc);
	c.parent_of = fake_parent_of;
	proc = (struct policy_process){ .tgid = 300, .comm = "mount", .exe = "/usr/bin/mount" };
	CHECK_STR(fired(p, &c), "r-systemd");

	/* an unknown exe (self or kubelet's) never matches an exe target */
	c = call_of("openat", MS(1), &proc);
	c.parent_of = fake_parent_of;
	CHECK(!fired(p, &c));
	proc.exe = NULL;
	CHECK(!fired(p, &c));
	return 0;
}

/* An endless chain: the parent of N is N + 1; `kubelet` at a given level. */
struct endless {
	pid_t start;
	int kubelet_level; /* <= 0: nowhere */
	int calls;
	bool cycle; /* the parent of every pid is itself */
};

static int endless_parent_of(void *opaque, pid_t pid, struct policy_ancestor *ret)
{
	struct endless *e = opaque;
	pid_t parent = e->cycle ? pid : pid + 1;

	e->calls++;
	if (e->calls > 100000)
		return -ELOOP; /* the test fails below; this only ends the loop */
	snprintf(ret->comm, sizeof(ret->comm), "%s",
		 e->kubelet_level > 0 && parent - e->start == e->kubelet_level ? "kubelet" : "sh");
	ret->proc = (struct policy_process){ .tgid = parent, .comm = ret->comm };
	return 0;
}

static int test_targets_children_deep_chain(void)
{
	_cleanup_policy_ struct policy *p = load1(
		"{'targets': {'kube-tree': {'comm': 'kubelet', 'children': true}},"
		" 'rules': [{'name': 'r', 'targets': ['kube-tree'], 'min_duration': '1ms'}]}");
	struct policy_process proc = { .tgid = 1000, .comm = "sh" };
	struct policy_call c = call_of("read", MS(1), &proc);
	struct endless e = { .start = 1000 };

	CHECK(p);
	c.parent_of = endless_parent_of;
	c.opaque = &e;

	/* never a match: the walk ends after at most 64 ancestors */
	CHECK(!fired(p, &c));
	CHECK(e.calls >= 1 && e.calls <= 64);
	/* a cycle ends as well */
	e = (struct endless){ .start = 1000, .cycle = true };
	CHECK(!fired(p, &c));
	CHECK(e.calls >= 1 && e.calls <= 64);
	/* "up to 64 levels": the 64th ancestor counts ... */
	e = (struct endless){ .start = 1000, .kubelet_level = 64 };
	CHECK_STR(fired(p, &c), "r");
	CHECK(e.calls == 64);
	e = (struct endless){ .start = 1000, .kubelet_level = 2 };
	CHECK_STR(fired(p, &c), "r");
	CHECK(e.calls == 2);
	/* ... the 65th does not */
	e = (struct endless){ .start = 1000, .kubelet_level = 65 };
	CHECK(!fired(p, &c));
	CHECK(e.calls == 64);
	return 0;
}

/* ---- several files ---------------------------------------------------- */

static int test_load_later_rule_replaces(void)
{
	static const char *const files[] = {
		"{'rules': [{'name': 'r', 'description': 'one', 'syscalls': ['read'],"
		" 'paths': ['*/x'], 'result': 'failure', 'tags': ['a'], 'severity': 'error',"
		" 'min_duration': '10ms', 'rate_limit': 5}]}",
		"{'rules': [{'name': 'r', 'syscalls': ['write'], 'min_duration': '20ms'}]}",
	};
	static const char *const write_only[] = { "write" };
	_cleanup_policy_ struct policy *p = load_texts(files, 2, NULL);
	const struct policy_rule *r;
	struct syscall_set want;
	struct policy_call c;

	CHECK(p);
	CHECK(p->n_rules == 1);
	r = &p->rules[0];
	CHECK_STR(r->name, "r");
	set_of(&want, write_only, 1);
	CHECK(syscall_set_equal(&r->syscalls, &want));
	CHECK(!r->all_syscalls);
	CHECK(r->n_paths == 0);
	CHECK(!r->has_result);
	CHECK(r->n_tags == 0);
	CHECK(r->severity == POLICY_SEV_WARNING);
	CHECK_STR(r->level, "warning");
	CHECK(r->min_duration_ns == MS(20));
	CHECK(r->rate_limit_per_min == POLICY_DEFAULT_RATE_LIMIT);
	CHECK(!r->description || !*r->description);
	CHECK(r->enabled);
	CHECK(r->specificity == POLICY_SPEC_NAMED_SYSCALLS);

	c = call_of("read", SEC(1), NULL);
	c.fd_path = "/q/x";
	c.failed = true;
	c.error = EIO;
	CHECK(!fired(p, &c));
	c = call_of("write", MS(20), NULL);
	CHECK_STR(fired(p, &c), "r");
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 0) == POLICY_UNWATCHED);
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 1) == MS(20));
	return 0;
}

static int test_load_append(void)
{
	static const char *const files[] = {
		"{'targets': {'t1': {'pid': 1}},"
		" 'rules': [{'name': 'r', 'description': 'base', 'syscalls': ['read'],"
		" 'paths': ['*/a'], 'result': ['ENOENT'], 'tags': ['x'], 'targets': ['t1'],"
		" 'min_duration': '10ms', 'rate_limit': 5}]}",
		"{'targets': {'t2': {'pid': 2}},"
		" 'rules': [{'name': 'r', 'override': 'append', 'syscalls': ['write'],"
		" 'paths': ['*/b'], 'result': 'EACCES', 'tags': ['y'], 'targets': ['t2'],"
		" 'min_duration': '30ms', 'severity': 'error'}]}",
		"{'rules': [{'name': 'r', 'override': 'append', 'enabled': false,"
		" 'rate_limit': 9, 'description': 'third'}]}",
	};
	static const char *const rw[] = { "read", "write" };
	_cleanup_policy_ struct policy *p = load_texts(files, 2, NULL);
	_cleanup_policy_ struct policy *off = NULL;
	struct policy_process proc = { .tgid = 2, .comm = "x" };
	const struct policy_rule *r;
	struct syscall_set want;
	struct policy_call c;

	CHECK(p);
	CHECK(p->n_rules == 1);
	r = &p->rules[0];
	set_of(&want, rw, 2);
	CHECK(syscall_set_equal(&r->syscalls, &want));
	CHECK(r->n_paths == 2);
	CHECK_STR(r->paths[0], "*/a");
	CHECK_STR(r->paths[1], "*/b");
	CHECK(r->n_tags == 2);
	CHECK_STR(r->tags[0], "x");
	CHECK_STR(r->tags[1], "y");
	CHECK(r->n_targets == 2);
	CHECK_STR(p->targets[r->targets[0]].name, "t1");
	CHECK_STR(p->targets[r->targets[1]].name, "t2");
	CHECK(r->has_result && r->n_result_errnos == 2);
	CHECK(r->result_errnos[0] == ENOENT && r->result_errnos[1] == EACCES);
	/* scalars given replace; the others stay */
	CHECK(r->min_duration_ns == MS(30));
	CHECK(r->severity == POLICY_SEV_ERROR);
	CHECK_STR(r->level, "error");
	CHECK(r->rate_limit_per_min == 5);
	CHECK_STR(r->description, "base");
	CHECK(r->enabled);
	CHECK_STR(r->file, "file1.json");
	CHECK(r->specificity == POLICY_SPEC_PATH);

	c = call_of("write", MS(30), &proc);
	c.fd_path = "/q/b";
	c.failed = true;
	c.error = EACCES;
	CHECK_STR(fired(p, &c), "r");
	c.duration_ns = MS(29);
	CHECK(!fired(p, &c));
	c.duration_ns = MS(30);
	proc.tgid = 3;
	CHECK(!fired(p, &c));
	proc.tgid = 1;
	c.nr = syscall_nr("read");
	c.fd_path = "/q/a";
	c.error = ENOENT;
	CHECK_STR(fired(p, &c), "r");
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 1) == MS(30));

	/* a third file: only the scalars it gives */
	off = load_texts(files, 3, NULL);
	CHECK(off);
	r = &off->rules[0];
	CHECK(!r->enabled);
	CHECK(r->rate_limit_per_min == 9);
	CHECK_STR(r->description, "third");
	CHECK(r->min_duration_ns == MS(30));
	CHECK(r->severity == POLICY_SEV_ERROR);
	CHECK(r->n_paths == 2);
	CHECK(syscall_set_count(&off->watched) == 0);
	CHECK(policy_threshold_ns(off, AUDIT_ARCH_X86_64, 0) == POLICY_UNWATCHED);
	CHECK(policy_threshold_ns(off, AUDIT_ARCH_X86_64, 1) == POLICY_UNWATCHED);
	CHECK(!fired(off, &c));
	return 0;
}

static int test_load_targets_and_lists_replace(void)
{
	static const char *const files[] = {
		"{'targets': {'t': {'comm': 'kubelet', 'children': true}},"
		" 'lists': {'calls': ['read', 'pread64'], 'files': ['*/memory.stat']},"
		" 'rules': [{'name': 'r', 'syscalls': ['@calls'], 'paths': ['@files'],"
		" 'targets': ['t'], 'min_duration': '10ms'}]}",
		"{'targets': {'t': {'pid': 42}},"
		" 'lists': {'calls': ['write'], 'files': ['*/cgroup.stat']}}",
	};
	static const char *const write_only[] = { "write" };
	_cleanup_policy_ struct policy *p = load_texts(files, 2, NULL);
	struct policy_process proc = { .tgid = 42, .comm = "x" };
	const struct policy_target *t;
	const struct policy_rule *r;
	struct syscall_set want;
	struct policy_call c;

	CHECK(p);
	CHECK(p->n_targets == 1);
	t = &p->targets[0];
	CHECK_STR(t->name, "t");
	CHECK(t->n_pids == 1 && t->pids[0] == 42);
	CHECK(t->n_comms == 0);
	CHECK(!t->children);
	CHECK(p->n_lists == 2);
	r = &p->rules[0];
	set_of(&want, write_only, 1);
	CHECK(syscall_set_equal(&r->syscalls, &want));
	CHECK(r->n_paths == 1);
	CHECK_STR(r->paths[0], "*/cgroup.stat");

	c = call_of("write", MS(10), &proc);
	c.fd_path = "/sys/fs/cgroup/a/cgroup.stat";
	CHECK_STR(fired(p, &c), "r");
	c.fd_path = "/sys/fs/cgroup/a/memory.stat";
	CHECK(!fired(p, &c));
	c.fd_path = "/sys/fs/cgroup/a/cgroup.stat";
	proc = (struct policy_process){ .tgid = 1, .comm = "kubelet" };
	CHECK(!fired(p, &c));
	proc.tgid = 42;
	c.nr = syscall_nr("read");
	CHECK(!fired(p, &c));
	return 0;
}

static int check_scan_equal(const struct policy_scan *a, const struct policy_scan *b)
{
	CHECK(a->memcg_offline_warning == b->memcg_offline_warning);
	CHECK(a->memcg_offline_warning_ratio == b->memcg_offline_warning_ratio);
	CHECK(a->memcg_offline_critical == b->memcg_offline_critical);
	CHECK(a->memcg_offline_growth_per_min == b->memcg_offline_growth_per_min);
	CHECK(a->memcg_stat_read_warning_ns == b->memcg_stat_read_warning_ns);
	CHECK(a->memcg_stat_read_critical_ns == b->memcg_stat_read_critical_ns);
	CHECK(a->dentry_negative_warning == b->dentry_negative_warning);
	CHECK(a->dentry_negative_critical == b->dentry_negative_critical);
	CHECK(a->dentry_negative_growth_per_s == b->dentry_negative_growth_per_s);
	CHECK(a->slab_unreclaimable_warning_pct == b->slab_unreclaimable_warning_pct);
	CHECK(a->slab_unreclaimable_critical_pct == b->slab_unreclaimable_critical_pct);
	CHECK(a->slab_leak_min_bytes_per_hour == b->slab_leak_min_bytes_per_hour);
	CHECK(a->slab_leak_min_r2 == b->slab_leak_min_r2);
	CHECK(a->growth_window_ns == b->growth_window_ns);
	return 0;
}

static int test_load_scan(void)
{
	static const char *const files[] = {
		"{'scan': {'memcg_offline_warning': 5, 'growth_window': '60s',"
		" 'slab_leak_min_r2': 0.75, 'slab_unreclaimable_critical_pct': 50}}",
		"{'scan': {'memcg_offline_warning': 7, 'memcg_stat_read_critical': '250ms'}}",
	};
	_cleanup_policy_ struct policy *none = load1("{'rules': []}");
	_cleanup_policy_ struct policy *two = load_texts(files, 2, NULL);
	struct policy_scan defaults, want;

	policy_scan_defaults(&defaults);
	/* doc/scan.md, Thresholds */
	CHECK(defaults.memcg_offline_warning == 1000);
	CHECK(defaults.memcg_offline_warning_ratio == 2.0);
	CHECK(defaults.memcg_offline_critical == 10000);
	CHECK(defaults.memcg_offline_growth_per_min == 100);
	CHECK(defaults.memcg_stat_read_warning_ns == MS(10));
	CHECK(defaults.memcg_stat_read_critical_ns == MS(100));
	CHECK(defaults.dentry_negative_warning == 1000000);
	CHECK(defaults.dentry_negative_critical == 10000000);
	CHECK(defaults.dentry_negative_growth_per_s == 1000);
	CHECK(defaults.slab_unreclaimable_warning_pct == 10);
	CHECK(defaults.slab_unreclaimable_critical_pct == 20);
	CHECK(defaults.slab_leak_min_bytes_per_hour == 1048576);
	CHECK(defaults.slab_leak_min_r2 == 0.9);
	CHECK(defaults.growth_window_ns == SEC(600));

	CHECK(none);
	CHECK(none->n_rules == 0);
	if (check_scan_equal(&none->scan, &defaults) < 0)
		return -1;

	CHECK(two);
	want = defaults;
	want.memcg_offline_warning = 7;
	want.growth_window_ns = SEC(60);
	want.slab_leak_min_r2 = 0.75;
	want.slab_unreclaimable_critical_pct = 50;
	want.memcg_stat_read_critical_ns = MS(250);
	if (check_scan_equal(&two->scan, &want) < 0)
		return -1;
	return 0;
}

/* scan.interval: watch's scan period (default 60 s, at least 100 ms). */
static int test_load_scan_interval(void)
{
	static const char *const later[] = { "{'scan': {'interval': '5s'}}",
					     "{'scan': {'memcg_offline_warning': 3}}" };
	_cleanup_policy_ struct policy *none = load1("{'rules': []}");
	_cleanup_policy_ struct policy *one = load1("{'scan': {'interval': '250ms'}}");
	_cleanup_policy_ struct policy *kept = load_texts(later, 2, NULL);
	struct policy_scan defaults;
	struct policy_source src = { .name = "bad.json",
				     .text = "{\"scan\": {\"interval\": \"50ms\"}}" };
	struct policy_load_options o = { .sources = &src, .n_sources = 1 };
	struct policy_diags diags = {};
	struct policy *bad = NULL;
	char line[512] = "";
	int r;

	policy_scan_defaults(&defaults);
	CHECK(defaults.interval_ns == SEC(60));
	CHECK(none && none->scan.interval_ns == SEC(60));
	CHECK(one && one->scan.interval_ns == MS(250));
	/* a later file that does not give it keeps the earlier value */
	CHECK(kept && kept->scan.interval_ns == SEC(5));
	/* below 100 ms: an error with its position */
	src.len = strlen(src.text);
	r = policy_load(&o, &bad, &diags);
	CHECK(r < 0 && !bad);
	CHECK(diags.n_errors == 1);
	policy_diag_format(&diags.v[0], line, sizeof(line));
	policy_diags_free(&diags);
	CHECK(strstr(line, "bad.json:1:") && strstr(line, "error[bad-value]") &&
	      strstr(line, "at least 100ms"));
	return 0;
}

/* ---- watch: who is watched --------------------------------------------- */

static int test_watch_match(void)
{
	_cleanup_policy_ struct policy *p = load1(
		"{'targets': {"
		"  'kube': {'comm': 'kube*'},"
		"  'agent': {'exe': '/opt/agent/*'},"
		"  'kafka': {'cgroup': '/system.slice/kafka.service'},"
		"  'one': {'pid': 4242},"
		"  'tree': {'comm': 'kubelet', 'children': true},"
		"  'off': {'comm': 'disabled-only'}},"
		" 'rules': ["
		" {'name': 'a', 'targets': ['kube', 'agent'], 'min_duration': '1ms'},"
		" {'name': 'b', 'targets': ['kafka', 'one'], 'min_duration': '1ms'},"
		" {'name': 'c', 'targets': ['tree'], 'min_duration': '1ms'},"
		" {'name': 'd', 'targets': ['off'], 'enabled': false, 'min_duration': '1ms'}]}");
	struct policy_process proc = { .tgid = 10, .comm = "kubelet", .exe = "/usr/bin/kubelet" };
	char why[160];

	CHECK(p);
	CHECK(policy_has_watch_targets(p));
	CHECK(policy_host_wide_rules(p, NULL, 0) == 0);
	/* comm (a glob), the first matching target in the policy's order */
	CHECK(policy_watch_match(p, &proc, NULL, NULL, why, sizeof(why)));
	CHECK_STR(why, "target kube (comm kubelet)");
	/* exe */
	proc = (struct policy_process){ .tgid = 11,
					.comm = "agentd",
					.exe = "/opt/agent/bin/agentd" };
	CHECK(policy_watch_match(p, &proc, NULL, NULL, why, sizeof(why)));
	CHECK_STR(why, "target agent (exe /opt/agent/bin/agentd)");
	/* cgroup: the prefix that matched, at a component boundary */
	proc = (struct policy_process){ .tgid = 12,
					.comm = "java",
					.cgroup = "12:memory:/system.slice/kafka.service/x\n" };
	CHECK(policy_watch_match(p, &proc, NULL, NULL, why, sizeof(why)));
	CHECK_STR(why, "target kafka (cgroup /system.slice/kafka.service)");
	proc.cgroup = "12:memory:/system.slice/kafka.service2\n";
	CHECK(!policy_watch_match(p, &proc, NULL, NULL, why, sizeof(why)));
	CHECK_STR(why, "");
	/* pid */
	proc = (struct policy_process){ .tgid = 4242, .comm = "x" };
	CHECK(policy_watch_match(p, &proc, NULL, NULL, why, sizeof(why)));
	CHECK_STR(why, "target one (pid 4242)");
	/* a disabled rule's target is nobody's */
	proc = (struct policy_process){ .tgid = 13, .comm = "disabled-only" };
	CHECK(!policy_watch_match(p, &proc, fake_parent_of, NULL, why, sizeof(why)));
	/* children: through the ancestors (fake tree: 300 mount -> 200 kubelet -> 1) */
	proc = (struct policy_process){ .tgid = 300, .comm = "mount", .exe = "/usr/bin/mount" };
	CHECK(!policy_watch_match(p, &proc, NULL, NULL, why, sizeof(why)));
	CHECK(policy_watch_match(p, &proc, fake_parent_of, NULL, why, sizeof(why)));
	CHECK_STR(why, "target tree (child of 200 kubelet: comm kubelet)");
	proc = (struct policy_process){ .tgid = 400, .comm = "bash", .exe = "/usr/bin/bash" };
	CHECK(!policy_watch_match(p, &proc, fake_parent_of, NULL, why, sizeof(why)));
	/* no room for a reason: the answer alone */
	proc = (struct policy_process){ .tgid = 10, .comm = "kubelet" };
	CHECK(policy_watch_match(p, &proc, NULL, NULL, NULL, 0));
	return 0;
}

static int test_watch_host_wide(void)
{
	struct syscall_set all;
	struct load_args a = { .command_line = true, .watch = &all, .min_duration_ns = MS(10) };
	static const char *const targeted =
		"{'targets': {'t': {'comm': 'x'}},"
		" 'rules': [{'name': 'r', 'targets': ['t'], 'min_duration': '1ms'}]}";
	static const char *const mixed =
		"{'targets': {'t': {'comm': 'x'}},"
		" 'rules': [{'name': 'r', 'targets': ['t'], 'min_duration': '1ms'},"
		" {'name': 'everyone', 'syscalls': ['fsync'], 'min_duration': '1s'},"
		" {'name': 'quiet', 'enabled': false, 'min_duration': '1s'},"
		" {'name': 'everyone2', 'syscalls': ['read'], 'min_duration': '1s'}]}";
	static const char *const empty = "{'rules': []}";
	_cleanup_policy_ struct policy *t = NULL, *m = NULL, *cl = NULL, *d = NULL;
	struct policy_load_options o = {};
	struct policy_diags diags = {};
	char names[64];

	syscall_set_fill_all(&all);
	t = load_texts(&targeted, 1, &a);
	m = load1(mixed);
	cl = load_texts(&empty, 1, &a);
	CHECK(t && m && cl);
	CHECK(policy_scope_for_watch(t, NULL, 0) == 0);
	CHECK(policy_scope_for_watch(m, NULL, 0) == 0);
	CHECK(policy_scope_for_watch(cl, names, sizeof(names)) == 1);
	CHECK_STR(names, "command-line");
	/* the command-line rule applies where the targets do: never host-wide */
	CHECK(policy_host_wide_rules(t, names, sizeof(names)) == 0);
	CHECK_STR(names, "");
	CHECK(policy_has_watch_targets(t));
	/* -e/-m alone: no target, nothing host-wide: nothing to watch */
	CHECK(policy_host_wide_rules(cl, NULL, 0) == 0);
	CHECK(!policy_has_watch_targets(cl));
	/* rules without targets, disabled ones left out; names cut to the room */
	CHECK(policy_host_wide_rules(m, names, sizeof(names)) == 2);
	CHECK_STR(names, "everyone, everyone2");
	CHECK(policy_host_wide_rules(m, names, 12) == 2);
	CHECK(strlen(names) < 12);
	/* the built-in default names no targets: its incident rules are host-wide, its catch-all off */
	CHECK(policy_load(&o, &d, &diags) == 0);
	policy_diags_free(&diags);
	CHECK(!policy_has_watch_targets(d));
	CHECK(policy_scope_for_watch(d, names, sizeof(names)) == 1);
	CHECK_STR(names, "slow-call");
	CHECK(policy_host_wide_rules(d, NULL, 0) == d->n_rules - 1);
	return 0;
}

/*
 * watch: a catch-all without targets and the command-line rule get the
 * union of the targets (and then match only there); a rule naming its
 * syscalls stays on every process; -e naming syscalls without any target
 * is host-wide, -m alone is not applied.
 */
static int test_watch_scope(void)
{
	struct syscall_set all, reads;
	struct load_args a = { .command_line = true, .watch = &all, .min_duration_ns = MS(10) };
	struct load_args ar = { .command_line = true, .watch = &reads, .min_duration_ns = MS(10) };
	static const char *const text =
		"{'targets': {'t': {'comm': 'x'}, 'u': {'comm': 'y'}},"
		" 'rules': [{'name': 'r', 'targets': ['t'], 'syscalls': ['read'], 'min_duration': '1ms'},"
		" {'name': 's', 'targets': ['u', 't'], 'syscalls': ['write'], 'min_duration': '1ms'},"
		" {'name': 'catch', 'min_duration': '1s'},"
		" {'name': 'nowait', 'syscalls': ['!%wait'], 'min_duration': '1s'},"
		" {'name': 'everyone', 'syscalls': ['fsync'], 'min_duration': '1s'}]}";
	static const char *const empty = "{'rules': []}";
	_cleanup_policy_ struct policy *p = NULL, *e = NULL;
	const struct policy_rule *catch_all, *cl;
	char names[64];

	syscall_set_fill_all(&all);
	syscall_set_clear(&reads);
	CHECK(syscall_set_parse("read", &reads, NULL) == 0);
	p = load_texts(&text, 1, &a);
	CHECK(p);
	CHECK(policy_scope_for_watch(p, names, sizeof(names)) == 0);
	catch_all = rule_named(p, "catch");
	cl = rule_named(p, "command-line");
	CHECK(catch_all && cl && rule_named(p, "nowait"));
	/* t and u, each once, in target order */
	CHECK(catch_all->n_targets == 2 && catch_all->targets[0] == 0 &&
	      catch_all->targets[1] == 1);
	CHECK(cl->n_targets == 2 && rule_named(p, "nowait")->n_targets == 2);
	CHECK(policy_host_wide_rules(p, names, sizeof(names)) == 1);
	CHECK_STR(names, "everyone");
	e = load_texts(&empty, 1, &ar);
	CHECK(e);
	CHECK(policy_scope_for_watch(e, NULL, 0) == 0);
	CHECK(policy_host_wide_rules(e, names, sizeof(names)) == 1);
	CHECK_STR(names, "command-line");
	return 0;
}

static bool has_name(char names[POLICY_BASENAMES_MAX][POLICY_BASENAME_MAX], size_t n,
		     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* bpf's name prefilter: the syscalls whose host-wide rules all end their globs in a name */
static int test_host_wide_basenames(void)
{
	_cleanup_policy_ struct policy *p = load1(
		"{'targets': {'t': {'comm': 'x'}}, 'rules': ["
		"{'name': 'a', 'min_duration': '1ms', 'syscalls': ['read'],"
		" 'paths': ['*/memory.stat', '/sys/fs/cgroup/*/cgroup.stat']},"
		"{'name': 'b', 'min_duration': '1ms', 'syscalls': ['openat'], 'paths': ['*/memory.*']},"
		"{'name': 'c', 'min_duration': '1ms', 'syscalls': ['write'], 'paths': ['*/x']},"
		"{'name': 'd', 'min_duration': '1ms', 'syscalls': ['write']},"
		"{'name': 'e', 'min_duration': '1ms', 'syscalls': ['read', 'pread64'], 'targets': ['t']},"
		"{'name': 'f', 'min_duration': '1ms', 'syscalls': ['read'], 'enabled': false},"
		"{'name': 'g', 'min_duration': '1ms', 'syscalls': ['readv'], 'paths': ['*[/]y']},"
		"{'name': 'h', 'min_duration': '1ms', 'syscalls': ['preadv'], 'paths': ['*/z (deleted)']},"
		"{'name': 'i', 'min_duration': '1ms', 'syscalls': ['statx', 'newfstatat'], 'paths': ['/etc/passwd']},"
		"{'name': 'j', 'min_duration': '1ms', 'syscalls': ['statx'], 'paths': ['*/\\\\*']}]}");
	_cleanup_policy_ struct policy *all = load1(
		"{'rules': [{'name': 'a', 'min_duration': '1ms', 'syscalls': ['read'], 'paths': ['*/memory.stat']},"
		"{'name': 'every', 'min_duration': '1ms'}]}");
	static char names[POLICY_BASENAMES_MAX][POLICY_BASENAME_MAX];
	static bool named[SW_MAX_NR];
	char many[8192] =
		"{'rules': [{'name': 'a', 'min_duration': '1ms', 'syscalls': ['read'], 'paths': [";
	_cleanup_policy_ struct policy *m = NULL;
	size_t n;

	CHECK(p && all);
	n = policy_host_wide_basenames(p, named, names);
	CHECK(named[syscall_nr("read")]);
	/* a glob in the name, a rule without paths, a bracket, an unlinked file's mark */
	CHECK(!named[syscall_nr("openat")] && !named[syscall_nr("write")]);
	CHECK(!named[syscall_nr("readv")] && !named[syscall_nr("preadv")]);
	/* only a targeted rule takes it: not host-wide */
	CHECK(!named[syscall_nr("pread64")]);
	CHECK(named[syscall_nr("newfstatat")] && !named[syscall_nr("statx")]);
	CHECK(!named[syscall_nr("getppid")]);
	CHECK(n == 3);
	CHECK(has_name(names, n, "memory.stat") && has_name(names, n, "cgroup.stat") &&
	      has_name(names, n, "passwd"));
	/* "syscalls": "all" without paths lets every name through */
	n = policy_host_wide_basenames(all, named, names);
	CHECK(n == 0 && !named[syscall_nr("read")]);
	/* more names than the kernel's map holds: no filter */
	for (int i = 0; i <= POLICY_BASENAMES_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s'*/f%d'",
			 i ? ", " : "", i);
	snprintf(many + strlen(many), sizeof(many) - strlen(many), "]}]}");
	m = load1(many);
	CHECK(m != NULL);
	CHECK(policy_host_wide_basenames(m, named, names) == 0 && !named[syscall_nr("read")]);
	return 0;
}

/* ---- the built-in default policy -------------------------------------- */

static int check_default_rules(const struct policy *p)
{
	static const char *const reads[] = { "read", "pread64", "readv", "preadv", "preadv2" };
	static const char *const watches[] = { "inotify_add_watch", "fanotify_mark" };
	const struct policy_rule *r;
	struct syscall_set want;

	CHECK(p->n_rules >= 4);
	set_of(&want, reads, ARRAY_SIZE(reads));

	r = &p->rules[0];
	CHECK_STR(r->name, "cgroup-stat-read-slow");
	CHECK(r->enabled && r->min_duration_ns == MS(10) && r->severity == POLICY_SEV_WARNING);
	CHECK(syscall_set_equal(&r->syscalls, &want));
	CHECK(r->n_paths == 2);
	CHECK_STR(r->paths[0], "*/memory.stat");
	CHECK_STR(r->paths[1], "*/cgroup.stat");
	CHECK(r->n_tags == 2);
	CHECK_STR(r->tags[0], "memcg");
	CHECK_STR(r->tags[1], "zombie-memcg");
	CHECK(r->n_targets == 0 && !r->has_result &&
	      r->rate_limit_per_min == POLICY_DEFAULT_RATE_LIMIT);

	r = &p->rules[1];
	CHECK_STR(r->name, "cgroup-stat-read-critical");
	CHECK(r->enabled && r->min_duration_ns == MS(100) && r->severity == POLICY_SEV_CRITICAL);
	CHECK(syscall_set_equal(&r->syscalls, &want));
	CHECK(r->n_paths == 2);
	CHECK(r->specificity == POLICY_SPEC_PATH);

	r = &p->rules[2];
	CHECK_STR(r->name, "watch-setup-slow");
	set_of(&want, watches, ARRAY_SIZE(watches));
	CHECK(r->enabled && r->min_duration_ns == MS(10) && r->severity == POLICY_SEV_ERROR);
	CHECK(syscall_set_equal(&r->syscalls, &want));
	CHECK(r->n_paths == 0);
	CHECK(r->n_tags == 2);
	CHECK_STR(r->tags[0], "dentry");

	r = &p->rules[3];
	CHECK_STR(r->name, "slow-call");
	CHECK(r->enabled && r->min_duration_ns == MS(100) && r->severity == POLICY_SEV_WARNING);
	/* !%%wait: every call but the waits, still ranked as a catch-all */
	CHECK(!r->all_syscalls && r->specificity == POLICY_SPEC_ALL_SYSCALLS);
	CHECK(syscall_set_has_call(&r->syscalls, syscall_nr("read"), false));
	CHECK(!syscall_set_has_call(&r->syscalls, syscall_nr("read"), true));
	CHECK(syscall_set_has_call(&r->syscalls, syscall_nr("connect"), false));
	CHECK(!syscall_set_has(&r->syscalls, syscall_nr("epoll_wait")));
	CHECK(!syscall_set_has(&r->syscalls, syscall_nr("nanosleep")));
	CHECK(r->n_tags == 1);
	CHECK_STR(r->tags[0], "latency");
	return 0;
}

/* Read contrib/policy/default.json (cwd: the source tree); NULL if absent. */
static char *read_default_json(size_t *len)
{
	FILE *f = fopen("contrib/policy/default.json", "re");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (n == cap) {
			char *nb = realloc(buf, cap + 65536 + 1);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		got = fread(buf + n, 1, cap - n, f);
		if (got == 0)
			break;
		n += got;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

/* Rules without rate_limit (and the command-line rule) get --rate-limit, else 600; an explicit one stays. */
static int test_default_rate_limit(void)
{
	static const char text[] = "{\"rules\":[{\"name\":\"a\",\"min_duration\":\"1ms\"},"
				   "{\"name\":\"b\",\"min_duration\":\"1ms\",\"rate_limit\":0},"
				   "{\"name\":\"c\",\"min_duration\":\"1ms\",\"rate_limit\":7}]}";
	struct policy_source src = { .name = "t.json", .text = text, .len = sizeof(text) - 1 };
	const uint32_t given = 42;
	struct policy_load_options lo = {
		.sources = &src, .n_sources = 1, .command_line = true, .min_duration_ns = MS(5)
	};
	struct policy_diags d = {};
	struct policy *p = NULL;

	CHECK(policy_load(&lo, &p, &d) == 0);
	CHECK(p->n_rules == 4);
	CHECK(p->rules[0].rate_limit_per_min == POLICY_DEFAULT_RATE_LIMIT);
	CHECK(p->rules[1].rate_limit_per_min == 0);
	CHECK(p->rules[2].rate_limit_per_min == 7);
	CHECK_STR(p->rules[3].name, POLICY_COMMAND_LINE_RULE);
	CHECK(p->rules[3].rate_limit_per_min == POLICY_DEFAULT_RATE_LIMIT);
	policy_free(p);
	policy_diags_free(&d);

	lo.default_rate_limit_per_min = &given;
	CHECK(policy_load(&lo, &p, &d) == 0);
	CHECK(p->rules[0].rate_limit_per_min == 42);
	CHECK(p->rules[1].rate_limit_per_min == 0);
	CHECK(p->rules[2].rate_limit_per_min == 7);
	CHECK(p->rules[3].rate_limit_per_min == 42);
	policy_free(p);
	policy_diags_free(&d);
	return 0;
}

static int test_default_policy(void)
{
	struct policy_diags diags = {};
	struct policy_load_options o = {};
	_cleanup_policy_ struct policy *p = NULL;
	_cleanup_policy_ struct policy *cl = NULL;
	struct policy_scan defaults;
	struct policy_call c = call_of("read", MS(150), NULL);
	uint64_t next = 0;
	size_t len = 0;
	char *text;

	CHECK(policy_load(&o, &p, &diags) == 0);
	CHECK(diags.n == 0);
	CHECK(p);
	CHECK(p->n_rules == 4);
	CHECK(!p->has_command_line);
	if (check_default_rules(p) < 0)
		return -1;
	CHECK(p->n_lists == 3);
	CHECK(p->n_targets == 0);
	policy_scan_defaults(&defaults);
	if (check_scan_equal(&p->scan, &defaults) < 0)
		return -1;

	/* the compiled-in text is contrib/policy/default.json */
	text = read_default_json(&len);
	if (text) {
		bool same = len == policy_default_json_len &&
			    memcmp(text, policy_default_json, len) == 0;

		free(text);
		CHECK(same);
	} else
		fprintf(stderr, "  note: contrib/policy/default.json not found from the cwd\n");

	/* a slow memory.stat read: the critical rule */
	c.fd_path = "/sys/fs/cgroup/memory/memory.stat";
	CHECK_STR(fired(p, &c), "cgroup-stat-read-critical");
	CHECK_STR(policy_match(p, &c, NULL)->level, "critical");
	c.duration_ns = MS(50);
	CHECK_STR(fired(p, &c), "cgroup-stat-read-slow");
	c.duration_ns = MS(150);
	c.fd_path = "/proc/self/status";
	CHECK_STR(fired(p, &c), "slow-call");
	/* the same read of a pipe is a wait: nothing fires */
	c.fd_path = "pipe:[1234]";
	c.wait = true;
	CHECK(!fired(p, &c));
	c.wait = false;
	/* sleeps and epoll waits are not even watched */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, (uint64_t)syscall_nr("epoll_wait")) ==
	      POLICY_UNWATCHED);
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, (uint64_t)syscall_nr("nanosleep")) ==
	      POLICY_UNWATCHED);
	/* stuck at 50 ms: slow now, critical at 100 ms */
	c.fd_path = "/sys/fs/cgroup/memory/kubepods/cgroup.stat";
	c.has_result = false;
	c.duration_ns = MS(50);
	CHECK_STR(policy_match(p, &c, &next)->name, "cgroup-stat-read-slow");
	CHECK(next == MS(100));
	c = call_of("inotify_add_watch", MS(10), NULL);
	c.path = "/";
	CHECK_STR(fired(p, &c), "watch-setup-slow");
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 0) == MS(10)); /* read */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 1) == MS(100)); /* write */

	/*
	 * -e/-m (no --policy): the command-line rule replaces the catch-all,
	 * the incident rules stay, and it decides
	 */
	o.command_line = true;
	o.min_duration_ns = MS(300);
	CHECK(policy_load(&o, &cl, &diags) == 0);
	CHECK(diags.n == 0);
	CHECK(cl);
	CHECK(cl->n_rules == 4);
	CHECK(cl->has_command_line);
	CHECK_STR(cl->rules[0].name, "cgroup-stat-read-slow");
	CHECK_STR(cl->rules[1].name, "cgroup-stat-read-critical");
	CHECK_STR(cl->rules[2].name, "watch-setup-slow");
	CHECK_STR(cl->rules[3].name, "command-line");
	CHECK(!rule_named(cl, "slow-call"));
	/* -m 300ms: a 150 ms call is nobody's (the 100 ms catch-all is gone) */
	c = call_of("write", MS(150), NULL);
	CHECK(!fired(cl, &c));
	c.has_result = false;
	CHECK(!policy_match(cl, &c, &next));
	CHECK(next == MS(300));
	CHECK(policy_threshold_ns(cl, AUDIT_ARCH_X86_64, 1) == MS(300)); /* write */
	/* waits included: -m alone watches every call */
	c = call_of("epoll_wait", MS(300), NULL);
	c.wait = true;
	CHECK_STR(fired(cl, &c), "command-line");
	/* the incident rules keep their own thresholds */
	c = call_of("read", MS(150), NULL);
	c.fd_path = "/sys/fs/cgroup/memory/memory.stat";
	CHECK_STR(fired(cl, &c), "cgroup-stat-read-critical");
	c.duration_ns = MS(350);
	CHECK_STR(fired(cl, &c), "command-line");
	policy_diags_free(&diags);
	return 0;
}

/* %wait and !%wait in a policy: decided per call; a --policy file is never rewritten. */
static int test_wait_rules(void)
{
	static const char *const policy =
		"{'rules':["
		"{'name':'slow-call','syscalls':['!%wait'],'min_duration':'100ms'},"
		"{'name':'long-waits','syscalls':['%wait'],'min_duration':'10s','severity':'notice'},"
		"{'name':'reads','syscalls':['read','!%wait'],'min_duration':'1s','severity':'error'}]}";
	struct load_args a = { .command_line = true, .min_duration_ns = MS(500) };
	_cleanup_policy_ struct policy *p = load_texts(&policy, 1, NULL);
	_cleanup_policy_ struct policy *cl = load_texts(&policy, 1, &a);
	struct policy_call c = call_of("read", MS(150), NULL);

	CHECK(p && cl);
	CHECK(p->n_rules == 3 && !p->has_command_line);
	/* `read` named beside !%wait: every read, and the rule is a named one */
	CHECK(rule_named(p, "reads")->specificity == POLICY_SPEC_NAMED_SYSCALLS);
	CHECK(syscall_set_has_call(&rule_named(p, "reads")->syscalls, syscall_nr("read"), true));
	CHECK_STR(fired(p, &c), "slow-call");
	c.wait = true;
	CHECK(!fired(p, &c));
	c.duration_ns = SEC(2);
	CHECK_STR(fired(p, &c), "reads");
	c.duration_ns = SEC(11);
	CHECK_STR(fired(p, &c), "reads"); /* error ranks before notice */
	c = call_of("nanosleep", SEC(11), NULL);
	c.wait = true;
	CHECK_STR(fired(p, &c), "long-waits");
	c.duration_ns = SEC(9);
	CHECK(!fired(p, &c));
	/* with -m, a --policy file keeps its own `slow-call` */
	CHECK(cl->n_rules == 4 && rule_named(cl, "slow-call") && rule_named(cl, "command-line"));
	return 0;
}

static int test_default_policy_matches_file(void)
{
	struct policy_source src = { .path = "contrib/policy/default.json" };
	struct policy_load_options o = { .sources = &src, .n_sources = 1 };
	struct policy_diags diags = {};
	_cleanup_policy_ struct policy *builtin = NULL;
	_cleanup_policy_ struct policy *file = NULL;
	FILE *f = fopen(src.path, "re");

	if (!f)
		SKIP("contrib/policy/default.json not found from the cwd");
	fclose(f);
	CHECK(policy_load(&o, &file, &diags) == 0);
	CHECK(diags.n == 0);
	o = (struct policy_load_options){};
	CHECK(policy_load(&o, &builtin, &diags) == 0);
	CHECK(diags.n == 0);
	CHECK(file->n_rules == builtin->n_rules);
	for (size_t i = 0; i < file->n_rules; i++) {
		const struct policy_rule *a = &file->rules[i], *b = &builtin->rules[i];

		CHECK_STR(a->name, b->name);
		CHECK(a->severity == b->severity && a->min_duration_ns == b->min_duration_ns);
		CHECK(a->enabled == b->enabled && a->all_syscalls == b->all_syscalls);
		CHECK(syscall_set_equal(&a->syscalls, &b->syscalls));
		CHECK(a->n_paths == b->n_paths && a->n_tags == b->n_tags);
		CHECK(a->specificity == b->specificity);
		CHECK_STR(a->file, "contrib/policy/default.json");
		CHECK_STR(b->file, POLICY_DEFAULT_NAME);
	}
	CHECK(syscall_set_equal(&file->watched, &builtin->watched));
	policy_diags_free(&diags);
	return 0;
}

/* %wait split thresholds (bpf decides %wait in the kernel): the built-in default */
static int test_wait_thresholds_default(void)
{
	struct policy_load_options o = {};
	struct policy_diags diags = {};
	_cleanup_policy_ struct policy *p = NULL;
	static uint64_t wait[SW_MAX_NR], pathless[SW_MAX_NR], other[SW_MAX_NR];
	int read_nr = syscall_nr("read"), epoll_nr = syscall_nr("epoll_wait");
	int inotify_nr = syscall_nr("inotify_add_watch"), futex_nr = syscall_nr("futex");

	CHECK(policy_load(&o, &p, &diags) == 0 && diags.n == 0);
	policy_wait_thresholds(p, wait, pathless, other);
	/* read: its waits only for the cgroup-file rules, whose globs need a '/' */
	CHECK(other[read_nr] == MS(10) && wait[read_nr] == MS(10));
	CHECK(pathless[read_nr] == POLICY_UNWATCHED);
	/* epoll_wait always waits: slow-call (!%wait) never takes it */
	CHECK(wait[epoll_nr] == POLICY_UNWATCHED && pathless[epoll_nr] == POLICY_UNWATCHED);
	CHECK(wait[futex_nr] == POLICY_UNWATCHED && other[futex_nr] == MS(100));
	CHECK(other[inotify_nr] == MS(10));
	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		uint64_t low = wait[nr] < other[nr] ? wait[nr] : other[nr];

		CHECK(pathless[nr] >= wait[nr]);
		CHECK(low == p->threshold_ns[POLICY_ABI_NATIVE][nr]);
	}
	return 0;
}

/* a path glob without '/' (or with a bracket) may match "pipe:[42]": kept for pathless waits */
static int test_wait_thresholds_paths(void)
{
	_cleanup_policy_ struct policy *p = load1(
		"{'version': 1, 'rules': ["
		"{'name': 'a', 'min_duration': '5ms', 'syscalls': ['read'], 'paths': ['/x/*']},"
		"{'name': 'b', 'min_duration': '7ms', 'syscalls': ['read'], 'paths': ['pipe:*']},"
		"{'name': 'c', 'min_duration': '3ms', 'syscalls': ['write'], 'paths': ['*/[ab]']},"
		"{'name': 'd', 'min_duration': '9ms', 'syscalls': ['!%wait']}]}");
	static uint64_t wait[SW_MAX_NR], pathless[SW_MAX_NR], other[SW_MAX_NR];
	int read_nr = syscall_nr("read"), write_nr = syscall_nr("write");

	CHECK(p != NULL);
	policy_wait_thresholds(p, wait, pathless, other);
	CHECK(wait[read_nr] == MS(5) && pathless[read_nr] == MS(7) && other[read_nr] == MS(5));
	CHECK(wait[write_nr] == MS(3) && pathless[write_nr] == MS(3));
	return 0;
}

UNIT_MAIN(TEST(test_thresholds_smallest_enabled_rule), TEST(test_watch_restricts_every_rule),
	  TEST(test_order_command_line_wins), TEST(test_order_command_line_name_reserved),
	  TEST(test_order_severity_before_specificity), TEST(test_order_specificity),
	  TEST(test_order_load_order), TEST(test_paths), TEST(test_results),
	  TEST(test_stuck_next_deadline), TEST(test_targets_pid_comm_exe),
	  TEST(test_targets_cgroup), TEST(test_targets_several_keys_and_targets),
	  TEST(test_targets_children), TEST(test_targets_children_deep_chain),
	  TEST(test_load_later_rule_replaces), TEST(test_load_append),
	  TEST(test_load_targets_and_lists_replace), TEST(test_load_scan),
	  TEST(test_load_scan_interval), TEST(test_watch_match), TEST(test_watch_host_wide),
	  TEST(test_watch_scope), TEST(test_host_wide_basenames), TEST(test_default_policy),
	  TEST(test_wait_rules), TEST(test_default_rate_limit),
	  TEST(test_default_policy_matches_file), TEST(test_wait_thresholds_default),
	  TEST(test_wait_thresholds_paths))
