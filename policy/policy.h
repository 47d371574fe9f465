/* SPDX-License-Identifier: MIT */
/*
 * policy.h - a compiled policy: what is watched and which rule a slow call
 * fires (doc/policy.md).
 *
 * A policy is built by policy_load() (policy/load.h) from JSON files or the
 * built-in default, plus the `command-line` rule stallwatch(8) gives -e/-m.
 * The tracer asks two kinds of questions:
 *   - hot path, every watched stop: policy_threshold_ns(), the smallest
 *     min_duration of any rule that could fire for this syscall, from flat
 *     per-ABI arrays (one load);
 *   - slow path, only for a call that crossed that smallest threshold:
 *     policy_match(), which evaluates targets, path globs, results and
 *     per-rule thresholds and picks the rule whose record it is.
 * A compiled policy is immutable; a reload (SIGHUP) builds a new one.
 */
#ifndef SW_POLICY_POLICY_H
#define SW_POLICY_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"
#include "syscall_set.h"

#define POLICY_UNWATCHED UINT64_MAX
#define POLICY_NAME_MAX 64
#define POLICY_COMMAND_LINE_RULE "command-line"

/* The ABIs a tracee on this machine can use (x86_64 kernel: native, i386, x32). */
enum policy_abi {
	POLICY_ABI_NATIVE,
	POLICY_ABI_X86,
	POLICY_ABI_X32,
	_POLICY_ABI_MAX,
};

/* syslog(3) order: a smaller number is more severe. */
enum policy_severity {
	POLICY_SEV_EMERGENCY,
	POLICY_SEV_ALERT,
	POLICY_SEV_CRITICAL,
	POLICY_SEV_ERROR,
	POLICY_SEV_WARNING,
	POLICY_SEV_NOTICE,
	POLICY_SEV_INFORMATIONAL,
	POLICY_SEV_DEBUG,
	_POLICY_SEV_MAX,
};

/* Specificity for the tie-break of doc/schema.md's choice order (higher wins). */
enum policy_specificity {
	POLICY_SPEC_ALL_SYSCALLS,
	POLICY_SPEC_NAMED_SYSCALLS,
	POLICY_SPEC_RESULT,
	POLICY_SPEC_PATH,
};

struct policy_target {
	char name[POLICY_NAME_MAX];
	pid_t *pids;
	size_t n_pids;
	char **comms; /* exact names or fnmatch globs */
	size_t n_comms;
	char **exes; /* fnmatch globs */
	size_t n_exes;
	char **cgroups; /* path prefixes, matched at component boundaries */
	size_t n_cgroups;
	bool children; /* also match descendants of a matching process */
};

struct policy_rule {
	char name[POLICY_NAME_MAX];
	char *description;
	enum policy_severity severity;
	const char *level; /* severity name, static */
	bool enabled;
	uint64_t min_duration_ns;
	bool all_syscalls; /* no `syscalls` key, or "all" */
	struct syscall_set syscalls; /* native numbers, already restricted to -e */
	char **paths; /* fnmatch globs; call path or fd path must match one */
	size_t n_paths;
	bool has_result;
	bool result_success, result_failure;
	int *result_errnos;
	size_t n_result_errnos;
	char **tags;
	size_t n_tags;
	size_t *targets; /* indices into policy.targets; none = every process */
	size_t n_targets;
	uint32_t rate_limit_per_min; /* 0: unlimited */
	enum policy_specificity specificity;
	char *file; /* where its live (non-appending) definition is; NULL for command-line */
	unsigned line;
};

/* Host-signal thresholds for `scan` (doc/scan.md, Thresholds). */
struct policy_scan {
	uint64_t memcg_offline_warning;
	double memcg_offline_warning_ratio;
	uint64_t memcg_offline_critical;
	uint64_t memcg_offline_growth_per_min;
	uint64_t memcg_stat_read_warning_ns;
	uint64_t memcg_stat_read_critical_ns;
	uint64_t dentry_negative_warning;
	uint64_t dentry_negative_critical;
	uint64_t dentry_negative_growth_per_s;
	double slab_unreclaimable_warning_pct;
	double slab_unreclaimable_critical_pct;
	uint64_t slab_leak_min_bytes_per_hour;
	double slab_leak_min_r2;
	uint64_t slab_leak_min_span_ns; /* a leak grows steadily for at least this long */
	uint64_t growth_window_ns;
	/* `watch`: a host scan every interval_ns (the `scan` command's is --interval) */
	uint64_t interval_ns;
};

#define POLICY_SCAN_INTERVAL_NS (60 * 1000000000ULL)
#define POLICY_SCAN_INTERVAL_MIN_NS (100 * 1000000ULL)

/*
 * ENOENT storms (doc/policy.md, "enoent_storms"): a process failing lookups
 * of many distinct names in one directory, each failure a new negative
 * dentry there. A storm is at least distinct_per_s distinct failed names a
 * second over the sliding window (tracer/enoent.h).
 */
struct policy_enoent {
	bool enabled;
	bool by_default; /* enabled by the built-in default policy, not by a file given */
	double distinct_per_s;
	uint64_t window_ns;
	/*
	 * The slow storm: at least this many distinct failed names in one
	 * directory within a day, whatever the rate (0: off).
	 */
	uint64_t distinct_per_day;
	char **directories; /* fnmatch globs of reported directories; none = every one */
	size_t n_directories;
	uint32_t max_directories; /* (process, directory) pairs tracked at once */
	enum policy_severity severity;
	const char *level; /* severity name, static */
};

#define POLICY_ENOENT_DISTINCT_PER_S 100.0
#define POLICY_ENOENT_WINDOW_NS (60 * 1000000000ULL)
#define POLICY_ENOENT_DISTINCT_PER_DAY 100000
#define POLICY_ENOENT_DAY_NS (86400 * 1000000000ULL)
#define POLICY_ENOENT_MAX_DIRECTORIES 1024
#define POLICY_ENOENT_RULE "enoent-storm" /* rule.name of its records */

struct policy {
	struct policy_rule *rules; /* load order; command-line (if any) is one of them */
	size_t n_rules;
	struct policy_target *targets;
	size_t n_targets;
	char **lists; /* names of the lists (their items are compiled into the rules) */
	size_t n_lists;
	struct policy_scan scan;
	struct policy_enoent enoent;
	/* syscalls any enabled rule watches (their calls can make records) */
	struct syscall_set watched;
	bool has_command_line;
	/* smallest enabled min_duration per ABI and syscall number (x32: without the x32 bit) */
	uint64_t threshold_ns[_POLICY_ABI_MAX][SW_MAX_NR];
};

/* A process as targets see it (strings may be NULL when unknown). */
struct policy_process {
	pid_t tgid;
	const char *comm;
	const char *exe;
	const char *cgroup; /* raw /proc/PID/cgroup text */
};

/* Room for one ancestor, filled by the caller's parent_of callback. */
struct policy_ancestor {
	struct policy_process proc;
	char comm[64];
	char exe[4096];
	char cgroup[4096];
};

/* A call that crossed the policy's smallest threshold for its syscall. */
struct policy_call {
	int nr; /* native number (compat calls mapped by name), -1 if unknown */
	const char *path; /* path argument as the program passed it, or NULL */
	const char *abs_path; /* ... made absolute when it was relative, or NULL */
	const char *fd_path; /* what the fd argument points to, or NULL */
	bool wait; /* blocks until an event by design (wait.h): only %wait rules see it */
	uint64_t duration_ns;
	bool has_result; /* false while in flight (stuck) */
	bool failed;
	int error; /* errno when failed */
	const struct policy_process *proc;
	/*
	 * Fill *ret with the parent of pid (only called for targets with
	 * "children"); return 0, or -errno when it is gone or pid is 1.
	 */
	int (*parent_of)(void *opaque, pid_t pid, struct policy_ancestor *ret);
	void *opaque;
};

/*
 * `stallwatch watch`: who is watched. A daemon watches the union of the
 * targets its enabled rules name (the command-line rule names none and
 * applies to the same processes). Does proc match one of them, directly
 * or, for a target with "children", through an ancestor (parent_of as in
 * struct policy_call; NULL: ancestors are not looked at)? On a match,
 * reason (if not NULL) says which, e.g. "target kubelet (comm kubelet)" or
 * "target build (child of 812 make: comm make)"; the first matching target
 * in the policy's order is named.
 */
bool policy_watch_match(const struct policy *p, const struct policy_process *proc,
			int (*parent_of)(void *opaque, pid_t pid, struct policy_ancestor *ret),
			void *opaque, char *reason, size_t size);

/* Does the policy's enabled set of rules name any target? */
bool policy_has_watch_targets(const struct policy *p);
/* ... any target with a `cgroup` selector (a move can make a process match)? */
bool policy_has_cgroup_targets(const struct policy *p);

/*
 * watch (doc/policy.md, "Who watch watches"): a rule without targets
 * applies to every process only when it names its syscalls; a catch-all
 * (no `syscalls`, "all", "!%wait") would time every call on the host, so
 * it applies where the targets do, as does the command-line rule (-e/-m):
 * each such rule is given the union of the targets the enabled rules name.
 * When no rule names a target, the catch-alls are disabled (their names,
 * ", " between, in unapplied, cut to size) and the policy finalized again.
 * Returns how many were disabled, or -ENOMEM.
 */
int policy_scope_for_watch(struct policy *p, char *unapplied, size_t size);

/*
 * Host-wide rules: enabled rules that name no targets (after
 * policy_scope_for_watch(): the ones that name their syscalls). Returns
 * how many; their names, ", " between them, go to names (if not NULL; cut
 * to size).
 */
size_t policy_host_wide_rules(const struct policy *p, char *names, size_t size);

/*
 * The host-wide rules' file names (bpf's name prefilter, doc/policy.md):
 * a call of a process no target takes can make a record only through a
 * host-wide rule (enabled, no targets). named[nr] (native numbers) is true
 * when at least one such rule takes nr and every one that does has `paths`
 * whose globs all end in a literal name: nothing of `*?[]\` after the last
 * '/' (the whole glob when it has none), not empty, shorter than
 * POLICY_BASENAME_MAX, not ending in " (deleted)" (a link's mark for an
 * unlinked file, which the file's own name lacks). Such a call matches
 * only when the name of its file (the fd's, or the last component of the
 * path argument) is one of names[0..return value), each distinct. More
 * than POLICY_BASENAMES_MAX distinct names: returns 0, named[] all false.
 */
#define POLICY_BASENAME_MAX 64 /* bytes, the NUL included */
#define POLICY_BASENAMES_MAX 64
size_t policy_host_wide_basenames(const struct policy *p, bool named[SW_MAX_NR],
				  char names[POLICY_BASENAMES_MAX][POLICY_BASENAME_MAX]);

/* Defaults of the scan thresholds (doc/scan.md, Thresholds). */
void policy_scan_defaults(struct policy_scan *scan);
/* Defaults of enoent_storms (disabled; 100 distinct names/s over 60 s when enabled). */
void policy_enoent_defaults(struct policy_enoent *e);

/*
 * The syscalls whose ENOENT results the storm detector counts
 * (doc/policy.md, "enoent_storms"): path lookups that leave a negative
 * dentry when the last component is missing.
 */
void policy_enoent_calls(struct syscall_set *ret);
/*
 * What a tracer must see of a command's calls: the watched set, plus the
 * ENOENT-counted calls when the detector is enabled (their exits only feed
 * it; no rule makes them records unless it watches them).
 */
void policy_traced_set(const struct policy *p, struct syscall_set *ret);

/*
 * Threshold for a call, or POLICY_UNWATCHED. arch is the AUDIT_ARCH_* value
 * from PTRACE_GET_SYSCALL_INFO; nr is as the kernel reports it.
 */
uint64_t policy_threshold_ns(const struct policy *p, uint32_t arch, uint64_t nr);

/*
 * The rule whose record this call makes, or NULL when none fired
 * (doc/schema.md: the command-line rule if it fired; else highest severity;
 * tie: most specific; tie: load order). With has_result false (stuck),
 * rules with a result filter never fire, and *ret_next_ns (if not NULL) is
 * set to the smallest min_duration above duration_ns of a rule that could
 * still fire for this call, or POLICY_UNWATCHED.
 */
const struct policy_rule *policy_match(const struct policy *p, const struct policy_call *call,
				       uint64_t *ret_next_ns);

/* Index of a rule in p->rules (for per-rule state such as rate limits). */
static inline size_t policy_rule_index(const struct policy *p, const struct policy_rule *rule)
{
	return (size_t)(rule - p->rules);
}

/* Map AUDIT_ARCH_* + nr to our ABI index and table index; false if foreign. */
bool policy_abi_of(uint32_t arch, uint64_t nr, enum policy_abi *ret_abi, int *ret_index);

/* Severity by syslog name ("warning"); -1 if none. */
int policy_severity_from_name(const char *name);
const char *policy_severity_name(enum policy_severity sev);

/*
 * %wait split: per native syscall, the smallest enabled min_duration of
 * the rules that take its calls that are waits (wait_ns), of those that
 * take its waits on an fd whose /proc link is not a path ("pipe:[42]",
 * "socket:[7]", "anon_inode:[eventfd]": pathless_ns, which leaves out the
 * rules whose path globs all need a '/'), and of those that take its
 * other calls (other_ns); POLICY_UNWATCHED where none does. The smallest is
 * threshold_ns. For a backend that decides %wait before the policy sees a
 * call (bpf). Slow: once per policy.
 */
void policy_wait_thresholds(const struct policy *p, uint64_t wait_ns[SW_MAX_NR],
			    uint64_t pathless_ns[SW_MAX_NR], uint64_t other_ns[SW_MAX_NR]);

/* Fill p's derived tables (watched, threshold_ns) from its rules. */
void policy_finalize(struct policy *p);

void policy_free(struct policy *p);
static inline void policy_freep(struct policy **p)
{
	if (*p)
		policy_free(*p);
}
#define _cleanup_policy_ _cleanup_(policy_freep)

#endif
