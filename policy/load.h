/* SPDX-License-Identifier: MIT */
/*
 * load.h - policy files (doc/policy.md) to a compiled struct policy, with
 * diagnostics that point at the offending value: `FILE:LINE:COL:
 * error[CODE]: message` (1-based; codes are stable, doc/policy.md).
 *
 * Several sources load in order into one policy: a later target or list of
 * the same name replaces the earlier one, a later rule replaces the earlier
 * one wholesale or, with "override":"append", extends it. Every source is
 * checked completely, so one run reports every mistake, not the first.
 * Library code: nothing is printed; the caller formats the diagnostics.
 */
#ifndef SW_POLICY_LOAD_H
#define SW_POLICY_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct policy_diag {
	char *file;
	unsigned line, column; /* 1-based; 0:0 when about the whole file (code `io`) */
	bool error; /* false: warning */
	const char *code; /* "bad-duration", static */
	char *message;
	size_t src, seq; /* for the order of the report: source, then position */
};

struct policy_diags {
	struct policy_diag *v;
	size_t n, cap;
	size_t n_errors, n_warnings;
};

void policy_diags_free(struct policy_diags *d);

/*
 * "FILE:LINE:COL: error[CODE]: message" (no newline) into buf; a diagnostic
 * about the whole file (line 0: it could not be read) is "FILE: message",
 * e.g. "x.json: cannot read: No such file or directory".
 */
void policy_diag_format(const struct policy_diag *d, char *buf, size_t size);

struct policy_source {
	const char *name; /* shown in diagnostics; defaults to path */
	const char *path; /* read when text is NULL */
	const char *text;
	size_t len;
};

struct policy_load_options {
	const struct policy_source *sources; /* none: the built-in default policy */
	size_t n_sources;
	/*
	 * add the command-line rule (-e or -m given). Over the built-in
	 * default (no sources) it replaces the catch-all rule
	 * POLICY_DEFAULT_CATCH_ALL; the default's incident rules stay.
	 */
	bool command_line;
	/* -e: the syscalls watched at all; every rule is restricted to it (NULL: all) */
	const struct syscall_set *watch;
	uint64_t min_duration_ns; /* -m, for the command-line rule */
	/*
	 * --rate-limit: records per minute per process of every rule without
	 * its own `rate_limit` (the command-line rule too); 0 = unlimited.
	 * NULL: POLICY_DEFAULT_RATE_LIMIT.
	 */
	const uint32_t *default_rate_limit_per_min;
};

/*
 * A storm of slow calls in one process yields at most this many records a
 * minute per rule (burst the same), then counts (records-dropped).
 */
#define POLICY_DEFAULT_RATE_LIMIT 600

/* contrib/policy/default.json, compiled in (build/gen/default_policy.c). */
extern const char policy_default_json[];
extern const size_t policy_default_json_len;
#define POLICY_DEFAULT_NAME "default.json (built-in)"
/* The built-in default's rule for any call but a wait (doc/policy.md). */
#define POLICY_DEFAULT_CATCH_ALL "slow-call"

/*
 * Load and compile. Returns 0 with *ret set (diagnostics may hold
 * warnings), -EINVAL when diags holds at least one error (*ret NULL), or
 * -ENOMEM. diags is appended to; the caller frees it.
 */
int policy_load(const struct policy_load_options *o, struct policy **ret,
		struct policy_diags *diags);

#endif
