/* SPDX-License-Identifier: MIT */
/*
 * policy.c - the compiled policy: thresholds for the hot path, rule
 * matching for the slow path (see policy.h).
 */
#include "policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <string.h>

#include "../common/timeutil.h"

/* x32 calls arrive with the native arch and this bit set (arch/x86/include/uapi/asm/unistd.h) */
#define X32_SYSCALL_BIT 0x40000000ULL
/* ancestors looked at for "children": deeper trees are not real process trees */
#define MAX_ANCESTRY 64

static const char *const severity_names[_POLICY_SEV_MAX] = {
	"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug",
};

int policy_severity_from_name(const char *name)
{
	for (int i = 0; i < _POLICY_SEV_MAX; i++)
		if (strcmp(name, severity_names[i]) == 0)
			return i;
	return -1;
}

const char *policy_severity_name(enum policy_severity sev)
{
	return sev < _POLICY_SEV_MAX ? severity_names[sev] : "warning";
}

void policy_scan_defaults(struct policy_scan *scan)
{
	/* doc/scan.md, Thresholds: each value and why */
	*scan = (struct policy_scan){
		.memcg_offline_warning = 1000,
		.memcg_offline_warning_ratio = 2.0,
		.memcg_offline_critical = 10000,
		.memcg_offline_growth_per_min = 100,
		.memcg_stat_read_warning_ns = 10 * NSEC_PER_MSEC,
		.memcg_stat_read_critical_ns = 100 * NSEC_PER_MSEC,
		.dentry_negative_warning = 1000000,
		.dentry_negative_critical = 10000000,
		.dentry_negative_growth_per_s = 1000,
		.slab_unreclaimable_warning_pct = 10,
		.slab_unreclaimable_critical_pct = 20,
		.slab_leak_min_bytes_per_hour = 1024 * 1024,
		.slab_leak_min_r2 = 0.9,
		.slab_leak_min_span_ns = 6 * 3600 * NSEC_PER_SEC, /* "monotonic over >= 6 h" */
		.growth_window_ns = 10 * 60 * NSEC_PER_SEC,
		.interval_ns = POLICY_SCAN_INTERVAL_NS,
	};
}

bool policy_abi_of(uint32_t arch, uint64_t nr, enum policy_abi *ret_abi, int *ret_index)
{
	enum policy_abi abi;

	if (arch == AUDIT_ARCH_X86_64 && (nr & X32_SYSCALL_BIT)) {
		abi = POLICY_ABI_X32;
		nr &= ~X32_SYSCALL_BIT;
	} else if (arch == AUDIT_ARCH_X86_64)
		abi = POLICY_ABI_NATIVE;
	else if (arch == AUDIT_ARCH_I386)
		abi = POLICY_ABI_X86;
	else
		return false;
	if (nr >= SW_MAX_NR)
		return false;
	*ret_abi = abi;
	*ret_index = (int)nr;
	return true;
}

static const uint32_t abi_scmp_arch[_POLICY_ABI_MAX] = {
	[POLICY_ABI_NATIVE] = SCMP_ARCH_X86_64,
	[POLICY_ABI_X86] = SCMP_ARCH_X86,
	[POLICY_ABI_X32] = SCMP_ARCH_X32,
};

static void lower_threshold(uint64_t *slot, uint64_t ns)
{
	if (ns < *slot)
		*slot = ns;
}

/*
 * Can rule take a call whose only path is the link of a pipe, a socket or
 * an anon inode ("pipe:[42]", "anon_inode:[eventfd]": never a '/' in it,
 * fs/pipe.c, net/socket.c, fs/anon_inodes.c d_dname)? Not when each of its
 * globs has a '/', which fnmatch() without FNM_PATHNAME matches only to a
 * '/' (a bracket expression might match something else: kept).
 */
static bool rule_takes_pathless(const struct policy_rule *rule)
{
	if (!rule->n_paths)
		return true;
	for (size_t i = 0; i < rule->n_paths; i++)
		if (!strchr(rule->paths[i], '/') || strchr(rule->paths[i], '['))
			return true;
	return false;
}

void policy_wait_thresholds(const struct policy *p, uint64_t wait_ns[SW_MAX_NR],
			    uint64_t pathless_ns[SW_MAX_NR], uint64_t other_ns[SW_MAX_NR])
{
	for (int nr = 0; nr < SW_MAX_NR; nr++)
		wait_ns[nr] = pathless_ns[nr] = other_ns[nr] = POLICY_UNWATCHED;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *rule = &p->rules[i];
		bool pathless = rule_takes_pathless(rule);

		if (!rule->enabled)
			continue;
		for (size_t w = 0; w < ARRAY_SIZE(rule->syscalls.bits); w++)
			for (uint64_t bits = rule->syscalls.bits[w]; bits; bits &= bits - 1) {
				int nr = (int)(w * 64) + __builtin_ctzll(bits);

				if (syscall_set_has_call(&rule->syscalls, nr, true)) {
					lower_threshold(&wait_ns[nr], rule->min_duration_ns);
					if (pathless)
						lower_threshold(&pathless_ns[nr],
								rule->min_duration_ns);
				}
				if (syscall_set_has_call(&rule->syscalls, nr, false))
					lower_threshold(&other_ns[nr], rule->min_duration_ns);
			}
	}
}

void policy_finalize(struct policy *p)
{
	syscall_set_clear(&p->watched);
	for (int abi = 0; abi < _POLICY_ABI_MAX; abi++)
		for (int nr = 0; nr < SW_MAX_NR; nr++)
			p->threshold_ns[abi][nr] = POLICY_UNWATCHED;

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *rule = &p->rules[i];

		if (!rule->enabled)
			continue;
		syscall_set_union(&p->watched, &rule->syscalls);
		/* the set bits only: this runs once per rule (100 000 of them, say) */
		for (size_t w = 0; w < ARRAY_SIZE(rule->syscalls.bits); w++)
			for (uint64_t bits = rule->syscalls.bits[w]; bits; bits &= bits - 1)
				lower_threshold(
					&p->threshold_ns[POLICY_ABI_NATIVE]
							[w * 64 + (size_t)__builtin_ctzll(bits)],
					rule->min_duration_ns);
	}

	/* Compat ABIs are matched by name: "read" is 3 on i386, 0 on x86_64. */
	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		uint64_t ns = p->threshold_ns[POLICY_ABI_NATIVE][nr];
		const char *name;

		if (ns == POLICY_UNWATCHED || !(name = syscall_name(nr)))
			continue;
		for (int abi = POLICY_ABI_X86; abi < _POLICY_ABI_MAX; abi++) {
			int compat_nr = seccomp_syscall_resolve_name_arch(abi_scmp_arch[abi], name);

			if (compat_nr < 0)
				continue;
			compat_nr &= ~(int)X32_SYSCALL_BIT;
			if (compat_nr < SW_MAX_NR)
				lower_threshold(&p->threshold_ns[abi][compat_nr], ns);
		}
	}
}

uint64_t policy_threshold_ns(const struct policy *p, uint32_t arch, uint64_t nr)
{
	enum policy_abi abi;
	int index;

	if (!policy_abi_of(arch, nr, &abi, &index))
		return POLICY_UNWATCHED;
	return p->threshold_ns[abi][index];
}

/* ---- matching --------------------------------------------------------- */

static bool has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static bool comm_matches(const struct policy_target *t, const char *comm)
{
	for (size_t i = 0; i < t->n_comms; i++) {
		const char *want = t->comms[i];

		if (has_glob_chars(want) ? fnmatch(want, comm, 0) == 0 : strcmp(want, comm) == 0)
			return true;
	}
	return false;
}

static bool glob_any(char *const *globs, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(globs[i], s, 0) == 0)
			return true;
	return false;
}

/* Is path equal to prefix or below it (component boundary)? */
static bool path_under(const char *path, size_t path_len, const char *prefix)
{
	size_t n = strlen(prefix);

	while (n > 1 && prefix[n - 1] == '/')
		n--;
	if (n == 1 && prefix[0] == '/')
		return path_len >= 1 && path[0] == '/';
	return path_len >= n && memcmp(path, prefix, n) == 0 && (path_len == n || path[n] == '/');
}

/* /proc/PID/cgroup lines are "ID:CONTROLLERS:PATH"; any hierarchy may match. */
static bool cgroup_matches(const struct policy_target *t, const char *text)
{
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *c1 = memchr(line, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;

		if (c2) {
			const char *path = c2 + 1;
			size_t path_len = len - (size_t)(path - line);

			for (size_t i = 0; i < t->n_cgroups; i++)
				if (path_under(path, path_len, t->cgroups[i]))
					return true;
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

static bool target_matches_process(const struct policy_target *t, const struct policy_process *proc)
{
	if (t->n_pids) {
		bool found = false;

		for (size_t i = 0; i < t->n_pids && !found; i++)
			found = t->pids[i] == proc->tgid;
		if (!found)
			return false;
	}
	if (t->n_comms && (!proc->comm || !comm_matches(t, proc->comm)))
		return false;
	if (t->n_exes && (!proc->exe || !glob_any(t->exes, t->n_exes, proc->exe)))
		return false;
	if (t->n_cgroups && (!proc->cgroup || !cgroup_matches(t, proc->cgroup)))
		return false;
	return true;
}

static bool target_matches(const struct policy_target *t, const struct policy_call *call)
{
	_cleanup_free_ struct policy_ancestor *anc = NULL;
	pid_t pid;

	if (target_matches_process(t, call->proc))
		return true;
	if (!t->children || !call->parent_of)
		return false;
	anc = malloc(sizeof(*anc));
	if (!anc)
		return false;
	pid = call->proc->tgid;
	for (int depth = 0; depth < MAX_ANCESTRY && pid > 1; depth++) {
		if (call->parent_of(call->opaque, pid, anc) < 0)
			return false;
		if (target_matches_process(t, &anc->proc))
			return true;
		pid = anc->proc.tgid;
	}
	return false;
}

static bool result_matches(const struct policy_rule *rule, const struct policy_call *call)
{
	if (!call->failed)
		return rule->result_success;
	if (rule->result_failure)
		return true;
	for (size_t i = 0; i < rule->n_result_errnos; i++)
		if (rule->result_errnos[i] == call->error)
			return true;
	return false;
}

static bool paths_match(const struct policy_rule *rule, const struct policy_call *call)
{
	return (call->path && glob_any(rule->paths, rule->n_paths, call->path)) ||
	       (call->abs_path && glob_any(rule->paths, rule->n_paths, call->abs_path)) ||
	       (call->fd_path && glob_any(rule->paths, rule->n_paths, call->fd_path));
}

/* Does rule rank before best (doc/schema.md, "the choice order")? */
static bool ranks_before(const struct policy_rule *rule, const struct policy_rule *best)
{
	bool rule_cl = strcmp(rule->name, POLICY_COMMAND_LINE_RULE) == 0 && !rule->file;
	bool best_cl = strcmp(best->name, POLICY_COMMAND_LINE_RULE) == 0 && !best->file;

	if (rule_cl != best_cl)
		return rule_cl;
	if (rule->severity != best->severity)
		return rule->severity < best->severity;
	return rule->specificity > best->specificity; /* equal: the earlier one stays */
}

const struct policy_rule *policy_match(const struct policy *p, const struct policy_call *call,
				       uint64_t *ret_next_ns)
{
	/* per-evaluation cache of target results: 0 unknown, 1 match, 2 no match */
	_cleanup_free_ unsigned char *target_state = NULL;
	const struct policy_rule *best = NULL;
	uint64_t next_ns = POLICY_UNWATCHED;

	if (p->n_targets) {
		target_state = calloc(p->n_targets, 1);
		if (!target_state)
			return NULL;
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *rule = &p->rules[i];
		bool fires_now;

		if (!rule->enabled)
			continue;
		if (call->nr >= 0 ? !syscall_set_has_call(&rule->syscalls, call->nr, call->wait) :
				    !rule->all_syscalls)
			continue;
		if (rule->has_result && (!call->has_result || !result_matches(rule, call)))
			continue;
		fires_now = call->duration_ns >= rule->min_duration_ns;
		if (!fires_now && (call->has_result || rule->min_duration_ns >= next_ns))
			continue; /* cannot matter now nor lower the next deadline */
		if (fires_now && best && !ranks_before(rule, best))
			continue;
		if (rule->n_paths && !paths_match(rule, call))
			continue;
		if (rule->n_targets) {
			bool any = false;

			for (size_t k = 0; k < rule->n_targets && !any; k++) {
				size_t ti = rule->targets[k];

				if (!target_state[ti])
					target_state[ti] =
						target_matches(&p->targets[ti], call) ? 1 : 2;
				any = target_state[ti] == 1;
			}
			if (!any)
				continue;
		}
		if (fires_now)
			best = rule;
		else
			next_ns = rule->min_duration_ns;
	}
	if (ret_next_ns)
		*ret_next_ns = next_ns;
	return best;
}

/* ---- watch: who is watched --------------------------------------------- */

static bool is_command_line_rule(const struct policy_rule *rule)
{
	return strcmp(rule->name, POLICY_COMMAND_LINE_RULE) == 0 && !rule->file;
}

/* Append ", TEXT" (or TEXT first) to buf. */
static void reason_add(char *buf, size_t size, size_t *len, const char *what, const char *value)
{
	int n;

	if (*len >= size)
		return;
	n = snprintf(buf + *len, size - *len, "%s%s %s",
		     *len && buf[*len - 1] != '(' && buf[*len - 1] != ' ' ? ", " : "", what, value);
	*len = n < 0 ? size : *len + (size_t)n >= size ? size : *len + (size_t)n;
}

/* "comm kubelet, exe /usr/bin/kubelet": the selectors of t, with what matched them in proc. */
static void describe_match(const struct policy_target *t, const struct policy_process *proc,
			   char *buf, size_t size, size_t *len)
{
	char pid[16];

	if (t->n_pids) {
		snprintf(pid, sizeof(pid), "%d", (int)proc->tgid);
		reason_add(buf, size, len, "pid", pid);
	}
	if (t->n_comms && proc->comm)
		reason_add(buf, size, len, "comm", proc->comm);
	if (t->n_exes && proc->exe)
		reason_add(buf, size, len, "exe", proc->exe);
	for (size_t i = 0; t->n_cgroups && proc->cgroup && i < t->n_cgroups; i++) {
		/* the prefix that matched: the path in /proc/PID/cgroup may be long */
		struct policy_target one = *t;

		one.cgroups = &t->cgroups[i];
		one.n_cgroups = 1;
		if (cgroup_matches(&one, proc->cgroup)) {
			reason_add(buf, size, len, "cgroup", t->cgroups[i]);
			break;
		}
	}
}

bool policy_has_watch_targets(const struct policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].enabled && p->rules[i].n_targets)
			return true;
	return false;
}

/*
 * Names no syscalls of its own: no `syscalls`, "all", or only "!%wait"
 * (doc/policy.md), whatever paths or results narrow it to; the
 * command-line rule when -e named none.
 */
static bool is_catch_all(const struct policy_rule *rule)
{
	if (is_command_line_rule(rule)) {
		struct syscall_set all;

		syscall_set_fill_all(&all);
		return syscall_set_count(&rule->syscalls) == syscall_set_count(&all);
	}
	return rule->all_syscalls || rule->specificity == POLICY_SPEC_ALL_SYSCALLS;
}

/* Append name to names (", " between), cut to size. */
static void append_name(char *names, size_t size, size_t *len, const char *name)
{
	int w;

	if (!names || *len >= size)
		return;
	w = snprintf(names + *len, size - *len, "%s%s", *len ? ", " : "", name);
	if (w > 0)
		*len += (size_t)w;
}

int policy_scope_for_watch(struct policy *p, char *unapplied, size_t size)
{
	bool *named = NULL, has_targets = policy_has_watch_targets(p);
	size_t n = 0, n_unapplied = 0, len = 0;

	if (unapplied && size)
		unapplied[0] = 0;
	if (has_targets) {
		named = calloc(p->n_targets ? p->n_targets : 1, sizeof(*named));
		if (!named)
			return -ENOMEM;
		for (size_t i = 0; i < p->n_rules; i++)
			for (size_t k = 0; p->rules[i].enabled && k < p->rules[i].n_targets; k++)
				if (!named[p->rules[i].targets[k]]) {
					named[p->rules[i].targets[k]] = true;
					n++;
				}
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		struct policy_rule *rule = &p->rules[i];

		if (!rule->enabled || rule->n_targets)
			continue;
		if (!is_catch_all(rule) && !(has_targets && is_command_line_rule(rule)))
			continue; /* names its syscalls: host-wide */
		if (!has_targets) {
			rule->enabled = false;
			n_unapplied++;
			append_name(unapplied, size, &len, rule->name);
			continue;
		}
		rule->targets = calloc(n, sizeof(*rule->targets));
		if (!rule->targets) {
			free(named);
			return -ENOMEM;
		}
		for (size_t t = 0; t < p->n_targets; t++)
			if (named[t])
				rule->targets[rule->n_targets++] = t;
	}
	free(named);
	if (n_unapplied)
		policy_finalize(p);
	return (int)n_unapplied;
}

bool policy_has_cgroup_targets(const struct policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t k = 0; p->rules[i].enabled && k < p->rules[i].n_targets; k++)
			if (p->targets[p->rules[i].targets[k]].n_cgroups)
				return true;
	return false;
}

size_t policy_host_wide_rules(const struct policy *p, char *names, size_t size)
{
	size_t n = 0, len = 0;

	if (names && size)
		names[0] = 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *rule = &p->rules[i];
		int w;

		if (!rule->enabled || rule->n_targets)
			continue;
		n++;
		if (!names || len >= size)
			continue;
		w = snprintf(names + len, size - len, "%s%s", len ? ", " : "", rule->name);
		len = w < 0 || len + (size_t)w >= size ? size : len + (size_t)w;
	}
	return n;
}

/* The literal name every path of glob ends in (policy.h, policy_host_wide_basenames()), or NULL. */
static const char *glob_literal_name(const char *glob)
{
	static const char deleted[] = " (deleted)";
	const char *slash = strrchr(glob, '/');
	const char *name = slash ? slash + 1 : glob;
	size_t len = strlen(name);

	if (!len || len >= POLICY_BASENAME_MAX || strpbrk(name, "*?[]\\"))
		return NULL;
	if (len >= sizeof(deleted) - 1 && strcmp(name + len - (sizeof(deleted) - 1), deleted) == 0)
		return NULL;
	return name;
}

static bool rule_names_literal(const struct policy_rule *rule)
{
	if (!rule->n_paths)
		return false;
	for (size_t i = 0; i < rule->n_paths; i++)
		if (!glob_literal_name(rule->paths[i]))
			return false;
	return true;
}

size_t policy_host_wide_basenames(const struct policy *p, bool named[SW_MAX_NR],
				  char names[POLICY_BASENAMES_MAX][POLICY_BASENAME_MAX])
{
	_cleanup_free_ bool *spoiled = calloc(SW_MAX_NR, sizeof(*spoiled));
	size_t n = 0;

	for (int nr = 0; nr < SW_MAX_NR; nr++)
		named[nr] = false;
	if (!spoiled)
		return 0;
	/* the rules that let every name through spoil their syscalls */
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *rule = &p->rules[i];
		bool literal = rule_names_literal(rule);

		if (!rule->enabled || rule->n_targets)
			continue;
		for (int nr = 0; nr < SW_MAX_NR; nr++) {
			/* all_syscalls: as bpf.c's fill_host_wide() reads it */
			if (!rule->all_syscalls && !syscall_set_has(&rule->syscalls, nr))
				continue;
			if (literal && !spoiled[nr])
				named[nr] = true;
			else {
				spoiled[nr] = true;
				named[nr] = false;
			}
		}
	}
	/* the names of the rules that take a named syscall */
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *rule = &p->rules[i];
		bool takes = false;

		if (!rule->enabled || rule->n_targets || !rule_names_literal(rule))
			continue;
		for (int nr = 0; nr < SW_MAX_NR && !takes; nr++)
			takes = named[nr] &&
				(rule->all_syscalls || syscall_set_has(&rule->syscalls, nr));
		for (size_t k = 0; takes && k < rule->n_paths; k++) {
			const char *name = glob_literal_name(rule->paths[k]);
			size_t j = 0;

			while (j < n && strcmp(names[j], name) != 0)
				j++;
			if (j < n)
				continue;
			if (n == POLICY_BASENAMES_MAX) {
				for (int nr = 0; nr < SW_MAX_NR; nr++)
					named[nr] = false;
				return 0;
			}
			snprintf(names[n++], POLICY_BASENAME_MAX, "%s", name);
		}
	}
	return n;
}

bool policy_watch_match(const struct policy *p, const struct policy_process *proc,
			int (*parent_of)(void *opaque, pid_t pid, struct policy_ancestor *ret),
			void *opaque, char *reason, size_t size)
{
	_cleanup_free_ unsigned char *named = NULL;
	_cleanup_free_ struct policy_ancestor *anc = NULL;
	bool any_children = false;
	size_t len = 0;
	pid_t pid;

	if (reason && size)
		reason[0] = 0;
	if (!p->n_targets)
		return false;
	named = calloc(p->n_targets, 1);
	if (!named)
		return false;
	/* the targets of enabled rules only: a disabled rule watches nothing */
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t k = 0; p->rules[i].enabled && k < p->rules[i].n_targets; k++)
			named[p->rules[i].targets[k]] = 1;
	for (size_t ti = 0; ti < p->n_targets; ti++) {
		const struct policy_target *t = &p->targets[ti];

		if (!named[ti])
			continue;
		any_children |= t->children;
		if (!target_matches_process(t, proc))
			continue;
		if (reason && size) {
			int n = snprintf(reason, size, "target %s (", t->name);

			len = n < 0 ? size : (size_t)n;
			describe_match(t, proc, reason, size, &len);
			if (len + 1 < size) {
				reason[len] = ')';
				reason[len + 1] = 0;
			}
		}
		return true;
	}
	if (!any_children || !parent_of)
		return false;
	/* one walk up the tree for every "children" target, nearest ancestor first */
	anc = malloc(sizeof(*anc));
	if (!anc)
		return false;
	pid = proc->tgid;
	for (int depth = 0; depth < MAX_ANCESTRY && pid > 1; depth++) {
		if (parent_of(opaque, pid, anc) < 0)
			return false;
		for (size_t ti = 0; ti < p->n_targets; ti++) {
			const struct policy_target *t = &p->targets[ti];

			if (!named[ti] || !t->children || !target_matches_process(t, &anc->proc))
				continue;
			if (reason && size) {
				int n = snprintf(
					reason, size, "target %s (child of %d %s: ", t->name,
					(int)anc->proc.tgid, anc->proc.comm ? anc->proc.comm : "?");

				len = n < 0 ? size : (size_t)n;
				describe_match(t, &anc->proc, reason, size, &len);
				if (len + 1 < size) {
					reason[len] = ')';
					reason[len + 1] = 0;
				}
			}
			return true;
		}
		pid = anc->proc.tgid;
	}
	return false;
}

/* ---- ENOENT storms ------------------------------------------------------ */

void policy_enoent_defaults(struct policy_enoent *e)
{
	*e = (struct policy_enoent){
		.enabled = false,
		.distinct_per_s = POLICY_ENOENT_DISTINCT_PER_S,
		.window_ns = POLICY_ENOENT_WINDOW_NS,
		.distinct_per_day = POLICY_ENOENT_DISTINCT_PER_DAY,
		.max_directories = POLICY_ENOENT_MAX_DIRECTORIES,
		.severity = POLICY_SEV_WARNING,
		.level = severity_names[POLICY_SEV_WARNING],
	};
}

void policy_enoent_calls(struct syscall_set *ret)
{
	/*
	 * Each resolves a path with a lookup (fs/namei.c, lookup_open() and
	 * lookup_slow() -> d_alloc_parallel()): a missing last component
	 * leaves a negative dentry in its parent and the call fails with
	 * ENOENT. doc/policy.md, "enoent_storms", says why others are left out.
	 */
	static const char *const names[] = {
		"open",	      "openat",	    "openat2", "stat",	    "lstat",
		"newfstatat", "statx",	    "access",  "faccessat", "faccessat2",
		"readlink",   "readlinkat", "execve",  "execveat",
	};

	syscall_set_clear(ret);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int nr = syscall_nr(names[i]);

		if (nr >= 0)
			syscall_set_add(ret, nr);
	}
}

void policy_traced_set(const struct policy *p, struct syscall_set *ret)
{
	*ret = p->watched;
	if (p->enoent.enabled) {
		struct syscall_set calls;

		policy_enoent_calls(&calls);
		syscall_set_union(ret, &calls);
	}
}

/* ---- lifetime --------------------------------------------------------- */

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++) {
		struct policy_rule *r = &p->rules[i];

		free(r->description);
		free_strv(r->paths, r->n_paths);
		free(r->result_errnos);
		free_strv(r->tags, r->n_tags);
		free(r->targets);
		free(r->file);
	}
	free(p->rules);
	for (size_t i = 0; i < p->n_targets; i++) {
		struct policy_target *t = &p->targets[i];

		free(t->pids);
		free_strv(t->comms, t->n_comms);
		free_strv(t->exes, t->n_exes);
		free_strv(t->cgroups, t->n_cgroups);
	}
	free(p->targets);
	free_strv(p->lists, p->n_lists);
	free_strv(p->enoent.directories, p->enoent.n_directories);
	free(p);
}
