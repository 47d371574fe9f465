/* SPDX-License-Identifier: MIT */
#include "recorder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../common/timeutil.h"

int recorder_init(struct recorder *rec, const struct recorder_options *o, struct sw_error *err)
{
	struct output_options oo;
	size_t queue_records = 0;
	const char *env;
	int r;

	memset(rec, 0, sizeof(*rec));
	rec->real_minus_mono_ns = (int64_t)(sw_real_ns() - sw_mono_ns());
	/* a pod's host name is the pod's: the DaemonSet passes the node's (Falco's FALCO_HOSTNAME) */
	env = getenv("STALLWATCH_HOST_NAME");
	if (env && *env)
		snprintf(rec->host_name, sizeof(rec->host_name), "%s", env);
	else if (gethostname(rec->host_name, sizeof(rec->host_name) - 1) < 0)
		snprintf(rec->host_name, sizeof(rec->host_name), "localhost");
	/* the queue bound: doc/sinks.md (a tuning knob, and the tests' way to fill it fast) */
	env = getenv("STALLWATCH_QUEUE_RECORDS");
	if (env) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(env, &end, 10);
		if (!errno && end != env && !*end && v > 0 && v <= 1000000)
			queue_records = (size_t)v;
	}
	oo = (struct output_options){
		.queue_max_records = queue_records,
		.path = o->output_path,
		.fd = o->fd,
		.format = o->format,
		/* --format not given: text for a terminal (perf trace, bcc), JSON Lines otherwise */
		.format_auto = o->format_auto,
		.syslog = o->syslog,
		.metrics_path = o->metrics_path,
		.mode = o->mode,
		.metrics_slots = o->metrics_slots,
		.host_name = rec->host_name,
		.notify = o->notify,
		.notify_opaque = o->notify_opaque,
	};
	r = output_open(&rec->out, &oo, err);
	if (r < 0)
		return r;
	rec->format = output_format(rec->out);
	rec->want_json = rec->format == RECORD_FORMAT_JSON || o->syslog;
	return 0;
}

void recorder_done(struct recorder *rec, struct output_stats *stats)
{
	output_close(rec->out, stats);
	rec->out = NULL;
}

static uint64_t wall_offset_ns(struct recorder *rec)
{
	int64_t now = (int64_t)(sw_real_ns() - sw_mono_ns()), drift;

	drift = now - rec->real_minus_mono_ns;
	if (drift > (int64_t)NSEC_PER_MSEC || drift < -(int64_t)NSEC_PER_MSEC)
		rec->real_minus_mono_ns = now;
	return (uint64_t)rec->real_minus_mono_ns;
}

/* Queue the encoded lines (NULL where an encoder ran out of memory: counted as dropped). */
static int submit(struct recorder *rec, char *json, char *text, const char *level,
		  const char *action, const char *rule, const char *syscall)
{
	struct output_record r = {
		.json = json,
		.text = text,
		.priority = output_priority_of(level),
		.action = action,
		.rule = rule,
		.syscall = syscall,
	};

	if ((rec->want_json && !json) || (rec->format == RECORD_FORMAT_TEXT && !text)) {
		free(json);
		free(text);
		output_count_dropped(rec->out, RECORD_DROP_QUEUE_FULL, rule, action, 1);
		return -ENOMEM;
	}
	return output_submit(rec->out, &r);
}

int recorder_syscall(struct recorder *rec, const struct record_syscall *ev)
{
	uint64_t off = wall_offset_ns(rec);
	char *json = NULL, *text = NULL;

	if (rec->want_json)
		json = record_encode_syscall(ev, rec->host_name, off, RECORD_FORMAT_JSON);
	if (rec->format == RECORD_FORMAT_TEXT)
		text = record_encode_syscall(ev, rec->host_name, off, RECORD_FORMAT_TEXT);
	return submit(rec, json, text, ev->level, ev->action, ev->rule_name, ev->name);
}

int recorder_host(struct recorder *rec, const struct record_host *hr)
{
	uint64_t off = wall_offset_ns(rec);
	char *json = NULL, *text = NULL;

	if (rec->want_json)
		json = record_encode_host(hr, rec->host_name, off, RECORD_FORMAT_JSON);
	if (rec->format == RECORD_FORMAT_TEXT)
		text = record_encode_host(hr, rec->host_name, off, RECORD_FORMAT_TEXT);
	return submit(rec, json, text, hr->level, hr->action, hr->rule_name, NULL);
}

int recorder_enoent(struct recorder *rec, const struct record_enoent *ev)
{
	uint64_t off = wall_offset_ns(rec);
	char *json = NULL, *text = NULL;

	if (rec->want_json)
		json = record_encode_enoent(ev, rec->host_name, off, RECORD_FORMAT_JSON);
	if (rec->format == RECORD_FORMAT_TEXT)
		text = record_encode_enoent(ev, rec->host_name, off, RECORD_FORMAT_TEXT);
	return submit(rec, json, text, ev->level, "enoent-storm", ev->rule_name, NULL);
}

int recorder_watch_status(struct recorder *rec, const struct record_watch_status *ws)
{
	uint64_t off = wall_offset_ns(rec);
	char *json = NULL, *text = NULL;

	if (rec->want_json)
		json = record_encode_watch_status(ws, rec->host_name, off, RECORD_FORMAT_JSON);
	if (rec->format == RECORD_FORMAT_TEXT)
		text = record_encode_watch_status(ws, rec->host_name, off, RECORD_FORMAT_TEXT);
	return submit(rec, json, text, "informational", "watch-status", "watch-status", NULL);
}

int recorder_summary(struct recorder *rec, const struct record_summary *sum)
{
	uint64_t off = wall_offset_ns(rec);
	char *json = NULL, *text = NULL;

	if (rec->want_json)
		json = record_encode_summary(sum, rec->host_name, off, RECORD_FORMAT_JSON);
	if (rec->format == RECORD_FORMAT_TEXT)
		text = record_encode_summary(sum, rec->host_name, off, RECORD_FORMAT_TEXT);
	return submit(rec, json, text, "informational", "summary", "summary", NULL);
}

void recorder_dropped(struct recorder *rec, const char *reason, const char *rule,
		      const char *action, uint64_t n)
{
	output_count_dropped(rec->out, reason, rule, action, n);
}

void recorder_reopen(struct recorder *rec)
{
	output_reopen(rec->out);
}

int recorder_host_metrics(struct recorder *rec, const struct metrics_host *h)
{
	return output_host_metrics(rec->out, h);
}

int recorder_watch_metrics(struct recorder *rec, const struct metrics_watch *w)
{
	return output_watch_metrics(rec->out, w);
}
