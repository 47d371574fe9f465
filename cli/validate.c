/* SPDX-License-Identifier: MIT */
/*
 * validate.c - `stallwatch validate [--json] FILE...`: load policy files in
 * order exactly as run/attach/watch would (replace / append across files)
 * and report every mistake with its position; run nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/macro.h"
#include "../policy/load.h"
#include "cli.h"

struct validate_options {
	bool json;
	size_t max_errors; /* text report: stop after this many errors; 0: no limit */
	bool max_errors_given;
	char **files;
	size_t n_files;
};

static const char validate_usage[] =
	"USAGE: stallwatch validate [--json | --max-errors=N] FILE...\n"
	"\n"
	"Check policy files and do nothing else. The files load in order, as with\n"
	"several --policy options: a later rule of the same name replaces the earlier\n"
	"one, or extends it with \"override\": \"append\". Every mistake is found and\n"
	"reported, one line each, as FILE:LINE:COL: error[CODE]: message (warnings\n"
	"likewise), up to the error limit, then one line per file: `FILE: ok` or\n"
	"`FILE: invalid (N errors)`.\n"
	"\n"
	"      --max-errors=N  stop the report after N errors (default 100; 0: no\n"
	"                 limit); one line says how many more errors and warnings\n"
	"                 there are: `and N more errors, M more warnings (...)`\n"
	"      --json     one JSON document instead: validity, every diagnostic (no\n"
	"                 limit) and the compiled rules (doc/policy.md)\n"
	"  -h, --help     this text\n"
	"\n"
	"Exit status: 0 all valid (warnings allowed), 1 any invalid, 2 usage error.\n"
	"\n"
	"EXAMPLES:\n"
	"  stallwatch validate /etc/stallwatch/default.json\n"
	"  stallwatch validate base.json site-overrides.json\n"
	"  stallwatch validate --json policy.json | jq '.diagnostics[]'\n";

static int parse_args(struct validate_options *o, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "max-errors", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'M': {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *optarg < '0' || *optarg > '9' || *end || v > SIZE_MAX) {
				cli_error(
					"validate: --max-errors `%s`: a number of errors, 0 for no "
					"limit",
					optarg);
				return -EINVAL;
			}
			o->max_errors = (size_t)v;
			o->max_errors_given = true;
			break;
		}
		case 'h':
			fputs(validate_usage, stdout);
			return 1;
		default:
			cli_error("validate: bad option `%s` (see `stallwatch validate --help`)",
				  argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (o->json && o->max_errors_given) {
		cli_error("validate: --max-errors is for the text report; --json lists every "
			  "diagnostic");
		return -EINVAL;
	}
	if (optind >= argc) {
		cli_error("validate: no policy file given (stallwatch validate [--json] FILE...)");
		return -EINVAL;
	}
	o->files = argv + optind;
	o->n_files = (size_t)(argc - optind);
	return 0;
}

/* Diagnostics of file; returns false if it could not be read (a diagnostic without position). */
static bool count_for(const struct policy_diags *d, const char *file, size_t *errors,
		      size_t *warnings)
{
	bool read = true;

	*errors = *warnings = 0;
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].file, file) == 0) {
			(*(d->v[i].error ? errors : warnings))++;
			if (!d->v[i].line)
				read = false;
		}
	return read;
}

static void print_text(const struct validate_options *o, const struct policy_diags *d)
{
	/* an unreadable file: its one line on stderr says it all, no summary line */
	cli_print_diags(stdout, d, o->max_errors, "--max-errors=0");
	for (size_t i = 0; i < o->n_files; i++) {
		size_t errors, warnings;
		char line[4096 + 64];

		if (!count_for(d, o->files[i], &errors, &warnings))
			continue;
		if (errors)
			snprintf(line, sizeof(line), "%s: invalid (%zu error%s)", o->files[i],
				 errors, errors == 1 ? "" : "s");
		else if (warnings)
			snprintf(line, sizeof(line), "%s: ok (%zu warning%s)", o->files[i],
				 warnings, warnings == 1 ? "" : "s");
		else
			snprintf(line, sizeof(line), "%s: ok", o->files[i]);
		cli_print_escaped(stdout, "", line);
	}
}

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *rule_json(const struct policy *p, const struct policy_rule *r)
{
	json_t *o = json_object(), *targets = json_array(), *result = json_array();

	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "file", r->file ? json_string(r->file) : json_null());
	json_object_set_new(o, "line", json_integer(r->line));
	json_object_set_new(o, "enabled", json_boolean(r->enabled));
	json_object_set_new(o, "severity", json_string(r->level));
	json_object_set_new(o, "min_duration_ns", json_integer((json_int_t)r->min_duration_ns));
	json_object_set_new(o, "syscalls",
			    json_integer((json_int_t)syscall_set_count(&r->syscalls)));
	for (size_t i = 0; i < r->n_targets; i++)
		json_array_append_new(targets, json_string(p->targets[r->targets[i]].name));
	json_object_set_new(o, "targets", targets);
	json_object_set_new(o, "paths", strv_json(r->paths, r->n_paths));
	if (r->result_success)
		json_array_append_new(result, json_string("success"));
	if (r->result_failure)
		json_array_append_new(result, json_string("failure"));
	for (size_t i = 0; i < r->n_result_errnos; i++)
		json_array_append_new(result, json_string(strerrorname_np(r->result_errnos[i])));
	json_object_set_new(o, "result", result);
	json_object_set_new(o, "tags", strv_json(r->tags, r->n_tags));
	json_object_set_new(o, "rate_limit", json_integer(r->rate_limit_per_min));
	return o;
}

static int print_json(const struct validate_options *o, const struct policy_diags *d,
		      const struct policy *p)
{
	_cleanup_(json_decrefp) json_t *root = json_object();
	json_t *files = json_array(), *diags = json_array(), *rules = json_array();
	json_t *targets = json_array(), *lists = json_array();
	_cleanup_free_ char *text = NULL;

	if (!root || !files || !diags || !rules || !targets || !lists)
		return -ENOMEM;
	json_object_set_new(root, "valid", json_boolean(d->n_errors == 0));
	for (size_t i = 0; i < o->n_files; i++) {
		json_t *f = json_object();
		size_t errors, warnings;

		count_for(d, o->files[i], &errors, &warnings);
		json_object_set_new(f, "file", json_string(o->files[i]));
		json_object_set_new(f, "valid", json_boolean(errors == 0));
		json_object_set_new(f, "errors", json_integer((json_int_t)errors));
		json_object_set_new(f, "warnings", json_integer((json_int_t)warnings));
		json_array_append_new(files, f);
	}
	json_object_set_new(root, "files", files);
	for (size_t i = 0; i < d->n; i++) {
		json_t *e = json_object();
		char line[2048];

		if (!d->v[i].line) {
			/* line and column 0: the file could not be read; said on stderr too */
			policy_diag_format(&d->v[i], line, sizeof(line));
			cli_error("%s", line);
		}

		json_object_set_new(e, "file", json_string(d->v[i].file));
		json_object_set_new(e, "line", json_integer(d->v[i].line));
		json_object_set_new(e, "column", json_integer(d->v[i].column));
		json_object_set_new(e, "severity",
				    json_string(d->v[i].error ? "error" : "warning"));
		json_object_set_new(e, "code", json_string(d->v[i].code));
		json_object_set_new(e, "message", json_string(d->v[i].message));
		json_array_append_new(diags, e);
	}
	json_object_set_new(root, "diagnostics", diags);
	for (size_t i = 0; p && i < p->n_rules; i++)
		json_array_append_new(rules, rule_json(p, &p->rules[i]));
	json_object_set_new(root, "rules", rules);
	for (size_t i = 0; p && i < p->n_targets; i++)
		json_array_append_new(targets, json_string(p->targets[i].name));
	for (size_t i = 0; p && i < p->n_lists; i++)
		json_array_append_new(lists, json_string(p->lists[i]));
	json_object_set_new(root, "targets", targets);
	json_object_set_new(root, "lists", lists);
	if (p) {
		/* enoent_storms as compiled: the defaults filled in (doc/policy.md) */
		json_t *e = json_object();

		json_object_set_new(e, "enabled", json_boolean(p->enoent.enabled));
		json_object_set_new(e, "distinct_per_s", json_real(p->enoent.distinct_per_s));
		json_object_set_new(e, "window_ns", json_integer((json_int_t)p->enoent.window_ns));
		json_object_set_new(e, "directories",
				    strv_json(p->enoent.directories, p->enoent.n_directories));
		json_object_set_new(e, "max_directories",
				    json_integer((json_int_t)p->enoent.max_directories));
		json_object_set_new(e, "severity", json_string(p->enoent.level));
		json_object_set_new(root, "enoent_storms", e);
	}
	text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!text)
		return -ENOMEM;
	printf("%s\n", text);
	return 0;
}

int cli_validate(int argc, char **argv)
{
	struct validate_options o = { .max_errors = CLI_MAX_ERRORS };
	_cleanup_free_ struct policy_source *sources = NULL;
	struct policy_diags diags = {};
	struct policy_load_options lo = {};
	_cleanup_policy_ struct policy *p = NULL;
	int r;

	r = parse_args(&o, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : EXIT_USAGE;
	sources = calloc(o.n_files, sizeof(*sources));
	if (!sources) {
		cli_error("validate: out of memory");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < o.n_files; i++)
		sources[i].path = o.files[i];
	lo.sources = sources;
	lo.n_sources = o.n_files;
	r = policy_load(&lo, &p, &diags);
	if (r == -ENOMEM) {
		cli_error("validate: out of memory");
		policy_diags_free(&diags);
		return 1;
	}
	if (o.json)
		r = print_json(&o, &diags, p);
	else
		print_text(&o, &diags);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("validate: writing the result: %s", strerror(errno));
		policy_diags_free(&diags);
		return 1;
	}
	r = diags.n_errors ? 1 : 0;
	policy_diags_free(&diags);
	return r;
}
