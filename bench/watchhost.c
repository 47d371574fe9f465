/* SPDX-License-Identifier: MIT */
/*
 * watchhost - the bpf backend of `stallwatch watch` in host-wide mode,
 * alone, for bench/progcost.sh: tracer_watch() with one rule without
 * targets (SYSCALL, min_duration 10 s: nothing is recorded) and a select()
 * that takes nothing, until SIGINT/SIGTERM. What the host pays is the
 * kernel programs' cost for every process.
 *
 *   watchhost SYSCALL [MIN_DURATION [GLOB]]
 *                         prints "ready" once the first pass is done;
 *                         MIN_DURATION (default 10s) and a path GLOB for
 *                         the rule: the name prefilter's windows
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "policy/load.h"
#include "record/recorder.h"
#include "tracer/tracer.h"

static void take_nothing(void *opaque, const struct policy_process *proc, enum tracer_watch_why why,
			 struct tracer_watch_choice *ret)
{
	(void)opaque;
	(void)proc;
	(void)why;
	ret->watch = false;
}

static void ready(void *opaque, const struct tracer_result *res)
{
	(void)opaque;
	(void)res;
	printf("ready\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char json[512];
	struct policy_source src = { .name = "watchhost", .text = json };
	struct policy_load_options o = { .sources = &src, .n_sources = 1 };
	struct policy_diags diags = {};
	struct policy *policy = NULL;
	struct recorder rec = {};
	struct sw_error err = {};
	struct tracer_result res = {};
	struct tracer_watch_stats stats;
	int r;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: watchhost SYSCALL [MIN_DURATION [GLOB]]\n");
		return 2;
	}
	snprintf(json, sizeof(json),
		 "{\"version\":1,\"rules\":[{\"name\":\"host\",\"syscalls\":[\"%s\"],"
		 "\"min_duration\":\"%s\"%s%s%s}]}",
		 argv[1], argc > 2 ? argv[2] : "10s", argc > 3 ? ",\"paths\":[\"" : "",
		 argc > 3 ? argv[3] : "", argc > 3 ? "\"]" : "");
	src.len = strlen(json);
	if (policy_load(&o, &policy, &diags) < 0 || diags.n_errors) {
		fprintf(stderr, "watchhost: bad rule %s\n", json);
		return 2;
	}
	if (recorder_init(&rec,
			  &(struct recorder_options){ .output_path = "/dev/null",
						      .format = RECORD_FORMAT_JSON,
						      .mode = "watch" },
			  &err) < 0) {
		fprintf(stderr, "watchhost: %s\n", err.msg);
		return 1;
	}
	r = tracer_watch(&(struct tracer_watch_options){ .policy = policy,
							 .recorder = &rec,
							 .backend = TRACER_BACKEND_BPF,
							 .host_wide = true,
							 .recheck_ns = NSEC_PER_SEC,
							 .select = take_nothing,
							 .ready = ready },
			 &res, &stats, &err);
	if (r < 0)
		fprintf(stderr, "watchhost: %s\n", err.msg);
	recorder_done(&rec, NULL);
	policy_free(policy);
	policy_diags_free(&diags);
	return r < 0 ? 1 : 0;
}
