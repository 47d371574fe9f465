/* SPDX-License-Identifier: MIT */
/*
 * test_output.c - the writer thread and its sinks (record/output.c) against
 * real files, /dev/full, a pipe nobody reads and a symlink swapped under a
 * running output: every record is written or counted, exactly once.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../common/macro.h"
#include "../../common/timeutil.h"
#include "../../record/output.h"
#include "unit.h"

struct notes {
	pthread_mutex_t lock;
	int n;
	char last[1024];
};

static void on_notify(void *opaque, const char *line)
{
	struct notes *n = opaque;

	pthread_mutex_lock(&n->lock);
	n->n++;
	snprintf(n->last, sizeof(n->last), "%s", line);
	pthread_mutex_unlock(&n->lock);
}

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/sw-test-output-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "  cannot remove %s\n", dir);
}

/* A JSON record line like the recorder makes: {"seq":N,"pad":"xxx"} */
static int submit_seq(struct output *out, int seq, size_t pad, const char *rule)
{
	char *line = NULL;
	char *p = malloc(pad + 1);
	int r;

	if (!p)
		return -ENOMEM;
	memset(p, 'x', pad);
	p[pad] = 0;
	r = asprintf(&line, "{\"seq\":%d,\"pad\":\"%s\"}\n", seq, p);
	free(p);
	if (r < 0)
		return -ENOMEM;
	return output_submit(out, &(struct output_record){ .json = line,
							   .priority = 4,
							   .action = "slow-syscall",
							   .rule = rule,
							   .syscall = "read" });
}

struct tally {
	int records; /* lines with "seq" */
	long long dropped[3]; /* by reason: rate-limit, queue-full, write-error */
	int dropped_records, final_records, bad, header;
	char errno_name[32];
};

static int tally_file(const char *path, struct tally *t)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t e;
		json_t *j, *d;

		if (strncmp(line, "TIME", 4) == 0) {
			t->header++;
			continue;
		}
		j = json_loads(line[0] == '<' ? line + 3 : line, 0, &e);
		if (!j) {
			t->bad++;
			continue;
		}
		d = json_object_get(json_object_get(j, "stallwatch"), "dropped");
		if (json_object_get(j, "seq"))
			t->records++;
		else if (d) {
			const char *reason = json_string_value(json_object_get(d, "reason"));
			long long c = json_integer_value(json_object_get(d, "count"));
			const char *en = json_string_value(json_object_get(d, "errno"));

			t->dropped_records++;
			if (json_is_true(json_object_get(d, "final")))
				t->final_records++;
			if (reason && strcmp(reason, "rate-limit") == 0)
				t->dropped[0] += c;
			else if (reason && strcmp(reason, "queue-full") == 0)
				t->dropped[1] += c;
			else if (reason && strcmp(reason, "write-error") == 0)
				t->dropped[2] += c;
			if (en)
				snprintf(t->errno_name, sizeof(t->errno_name), "%s", en);
		} else
			t->bad++;
		json_decref(j);
	}
	free(line);
	fclose(f);
	return 0;
}

static int test_file_basic(void)
{
	_cleanup_free_ char *dir = tmpdir();
	char path[256];
	struct output *out = NULL;
	struct output_stats st;
	struct sw_error err = {};
	struct tally t;
	struct stat sb;

	CHECK(dir);
	snprintf(path, sizeof(path), "%s/out.jsonl", dir);
	CHECK(output_open(&out, &(struct output_options){ .path = path, .host_name = "h" }, &err) ==
	      0);
	for (int i = 0; i < 500; i++)
		CHECK(submit_seq(out, i, 100, "r") == 0);
	output_close(out, &st);
	CHECK(st.stream.written == 500 && st.stream.dropped_queue == 0 &&
	      st.stream.dropped_write == 0 && st.stream.unflushed == 0);
	CHECK(tally_file(path, &t) == 0);
	CHECK(t.records == 500 && t.bad == 0 && t.dropped_records == 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	rm_rf(dir);
	return 0;
}

/* /dev/full: ENOSPC on every write; one notice, every record counted, nothing blocks. */
static int test_write_error_forever(void)
{
	struct notes notes = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct output *out = NULL;
	struct output_stats st;
	struct sw_error err = {};

	if (access("/dev/full", W_OK) != 0)
		SKIP("no /dev/full");
	CHECK(output_open(&out,
			  &(struct output_options){ .path = "/dev/full",
						    .notify = on_notify,
						    .notify_opaque = &notes,
						    .retry_interval_ns = 10 * NSEC_PER_MSEC },
			  &err) == 0);
	for (int i = 0; i < 7; i++)
		CHECK(submit_seq(out, i, 10, "r") == 0);
	usleep(50 * 1000); /* a few idle retries */
	output_close(out, &st);
	CHECK(st.stream.written == 0);
	CHECK(st.stream.dropped_write == 7 && st.stream.unreported_write == 7);
	CHECK(st.stream.write_errno == ENOSPC);
	CHECK(notes.n == 1);
	CHECK(strstr(notes.last, "cannot write to output `/dev/full`"));
	return 0;
}

/*
 * The sink fails, then works again after a reopen (a symlink swapped from
 * /dev/full to a file, as a fixed mount would): the first thing in the new
 * file is the records-dropped record with the exact count.
 */
static int test_write_error_recovers(void)
{
	_cleanup_free_ char *dir = tmpdir();
	struct notes notes = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char link[256], file[256], tmp[256];
	struct output *out = NULL;
	struct output_stats st;
	struct sw_error err = {};
	struct tally t;

	CHECK(dir);
	if (access("/dev/full", W_OK) != 0)
		SKIP("no /dev/full");
	snprintf(link, sizeof(link), "%s/out", dir);
	snprintf(file, sizeof(file), "%s/real.jsonl", dir);
	snprintf(tmp, sizeof(tmp), "%s/out.new", dir);
	CHECK(symlink("/dev/full", link) == 0);
	CHECK(output_open(&out,
			  &(struct output_options){
				  .path = link, .notify = on_notify, .notify_opaque = &notes },
			  &err) == 0);
	for (int i = 0; i < 10; i++)
		CHECK(submit_seq(out, i, 10, "r") == 0);
	usleep(50 * 1000);
	CHECK(symlink(file, tmp) == 0 && rename(tmp, link) == 0);
	output_reopen(out);
	for (int i = 10; i < 15; i++)
		CHECK(submit_seq(out, i, 10, "r") == 0);
	output_close(out, &st);
	CHECK(st.stream.dropped_write == 10 && st.stream.unreported_write == 0);
	CHECK(tally_file(file, &t) == 0);
	CHECK(t.records == 5 && t.bad == 0);
	CHECK(t.dropped[2] == 10);
	CHECK(strcmp(t.errno_name, "ENOSPC") == 0);
	CHECK(notes.n == 2 && strstr(notes.last, "writable again"));
	rm_rf(dir);
	return 0;
}

struct drain {
	int fd;
	const char *path;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	int fd = open(d->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char buf[65536];
	ssize_t n;

	while ((n = read(d->fd, buf, sizeof(buf))) > 0)
		if (fd >= 0 && write(fd, buf, (size_t)n) != n)
			break;
	if (fd >= 0)
		close(fd);
	return NULL;
}

/*
 * Nobody reads the pipe: the writer blocks, the queue (10 records) fills and
 * submit refuses without ever blocking; once a reader drains it, written +
 * queue-full dropped == submitted.
 */
static int test_queue_full(void)
{
	_cleanup_free_ char *dir = tmpdir();
	char path[256];
	struct output *out = NULL;
	struct output_stats st;
	struct sw_error err = {};
	struct drain d;
	pthread_t th;
	int p[2], refused = 0;
	uint64_t t0, worst = 0;
	struct tally t;

	CHECK(dir);
	snprintf(path, sizeof(path), "%s/drained", dir);
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	CHECK(output_open(&out, &(struct output_options){ .fd = p[1], .queue_max_records = 10 },
			  &err) == 0);
	for (int i = 0; i < 1000; i++) {
		int r;

		t0 = sw_mono_ns();
		r = submit_seq(out, i, 1000, "r");
		if (sw_mono_ns() - t0 > worst)
			worst = sw_mono_ns() - t0;
		CHECK(r == 0 || r == -ENOBUFS);
		refused += r == -ENOBUFS;
	}
	/* 1000 x 1 KB >> 64 KiB of pipe + 10 queued: most were refused, none waited */
	CHECK(refused > 800);
	CHECK(worst < 200 * NSEC_PER_MSEC);
	d = (struct drain){ .fd = p[0], .path = path };
	CHECK(pthread_create(&th, NULL, drain_main, &d) == 0);
	output_close(out, &st);
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
	CHECK(st.stream.dropped_queue == (uint64_t)refused && st.stream.unreported_queue == 0);
	CHECK(tally_file(path, &t) == 0);
	CHECK(t.bad == 0);
	CHECK(t.records + t.dropped[1] == 1000);
	CHECK(t.final_records == 1);
	rm_rf(dir);
	return 0;
}

/* Rate-limit counts: one report per interval per (reason, rule), a final one at close. */
static int test_drop_reports(void)
{
	_cleanup_free_ char *dir = tmpdir();
	char path[256];
	struct output *out = NULL;
	struct sw_error err = {};
	struct tally t;

	CHECK(dir);
	snprintf(path, sizeof(path), "%s/out.jsonl", dir);
	CHECK(output_open(&out,
			  &(struct output_options){
				  .path = path, .drop_report_interval_ns = 100 * NSEC_PER_MSEC },
			  &err) == 0);
	CHECK(submit_seq(out, 0, 1, "a") == 0);
	output_count_dropped(out, "rate-limit", "a", "slow-syscall", 3);
	output_count_dropped(out, "rate-limit", "a", "slow-syscall", 4);
	output_count_dropped(out, "rate-limit", "b", "slow-syscall", 1);
	usleep(300 * 1000); /* one report is due after 100 ms */
	CHECK(tally_file(path, &t) == 0);
	CHECK(t.dropped_records == 2 && t.dropped[0] == 8 && t.final_records == 0);
	output_count_dropped(out, "rate-limit", "a", "slow-syscall", 5);
	output_close(out, NULL);
	CHECK(tally_file(path, &t) == 0);
	CHECK(t.dropped_records == 3 && t.dropped[0] == 13 && t.final_records == 1);
	CHECK(t.records == 1 && t.bad == 0);
	rm_rf(dir);
	return 0;
}

/* $JOURNAL_STREAM names the fd: "<N>" prefixes; a text stream gets its header once per file. */
static int test_journal_and_header(void)
{
	_cleanup_free_ char *dir = tmpdir();
	char path[256], env[64], *line = NULL;
	struct output *out = NULL;
	struct sw_error err = {};
	struct stat sb;
	size_t cap = 0;
	FILE *f;
	int fd, lines = 0;

	CHECK(dir);
	snprintf(path, sizeof(path), "%s/journal", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && fstat(fd, &sb) == 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)sb.st_dev,
		 (unsigned long long)sb.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	CHECK(output_open(&out, &(struct output_options){ .fd = fd }, &err) == 0);
	unsetenv("JOURNAL_STREAM");
	CHECK(submit_seq(out, 1, 1, "r") == 0);
	output_close(out, NULL);
	close(fd);
	f = fopen(path, "r");
	CHECK(f);
	while (getline(&line, &cap, f) > 0) {
		lines++;
		CHECK(strncmp(line, "<4>{\"seq\":1", 11) == 0);
	}
	free(line);
	fclose(f);
	CHECK(lines == 1);

	/* text: the header before the first line, and again in a reopened file */
	snprintf(path, sizeof(path), "%s/text", dir);
	CHECK(output_open(&out,
			  &(struct output_options){ .path = path, .format = RECORD_FORMAT_TEXT },
			  &err) == 0);
	for (int i = 0; i < 3; i++) {
		char *text = strdup("a text line\n");

		CHECK(text);
		CHECK(output_submit(out, &(struct output_record){ .text = text, .rule = "r" }) ==
		      0);
	}
	output_close(out, NULL);
	{
		struct tally t;

		CHECK(tally_file(path, &t) == 0);
		CHECK(t.header == 1);
	}
	rm_rf(dir);
	return 0;
}

/* which file is at path: its inode and mtime (an inode number may be reused) */
static uint64_t inode_of(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return 0;
	return (uint64_t)sb.st_ino * 1000003u ^
	       ((uint64_t)sb.st_mtim.tv_sec * NSEC_PER_SEC + (uint64_t)sb.st_mtim.tv_nsec);
}

/* The metrics file: written at open, rewritten only when something changed (rename: a new inode). */
static int test_metrics_rewrites(void)
{
	_cleanup_free_ char *dir = tmpdir();
	char path[256];
	struct output *out = NULL;
	struct sw_error err = {};
	uint64_t first, second;
	int p[2];

	CHECK(dir);
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	CHECK(output_open(&out,
			  &(struct output_options){ .fd = p[1],
						    .metrics_path = path,
						    .mode = "run",
						    .metrics_slots = 16,
						    .metrics_interval_ns = 20 * NSEC_PER_MSEC },
			  &err) == 0);
	CHECK(output_start(out) == 0);
	first = inode_of(path);
	CHECK(first != 0);
	usleep(150 * 1000);
	CHECK(inode_of(path) == first); /* nothing happened: no rewrite */
	output_observe(out, 3, "read", 5000);
	usleep(150 * 1000);
	second = inode_of(path);
	CHECK(second != 0 && second != first);
	usleep(150 * 1000);
	CHECK(inode_of(path) == second);
	output_close(out, NULL);
	close(p[0]);
	close(p[1]);
	rm_rf(dir);
	return 0;
}

/* How many threads this process has now (/proc/self/status). */
static int thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* Wait up to 2 s for the process to have n threads (a thread that returned
 * may still be leaving the kernel for a moment). */
static bool threads_become(int n)
{
	for (int i = 0; i < 200; i++) {
		if (thread_count() == n)
			return true;
		usleep(10000);
	}
	return false;
}

/* Wait up to 2 s for the writer to be (or not be) running. */
static bool writer_becomes(struct output *out, bool running)
{
	for (int i = 0; i < 200; i++) {
		if (output_writer_running(out) == running)
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * The writer thread exists only while there is work: none before the first
 * record, it ends idle_exit_ns after the last one (the process is single-
 * threaded again, record/output.h says why), a
 * new record starts a new one, and nothing is lost across the restarts,
 * including drops counted while no thread ran (close reports them).
 */
static int test_idle_exit(void)
{
	_cleanup_free_ char *dir = tmpdir();
	char path[256];
	struct output *out = NULL;
	struct output_stats st;
	struct sw_error err = {};
	struct tally t;
	int base = thread_count();

	CHECK(dir && base >= 1);
	snprintf(path, sizeof(path), "%s/out.jsonl", dir);
	CHECK(output_open(&out,
			  &(struct output_options){ .path = path,
						    .host_name = "h",
						    .idle_exit_ns = 300 * NSEC_PER_MSEC },
			  &err) == 0);
	CHECK(!output_writer_running(out));
	CHECK(thread_count() == base);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 10; i++)
			CHECK(submit_seq(out, round * 10 + i, 10, "r") == 0);
		CHECK(output_writer_running(out));
		CHECK(writer_becomes(out, false));
		/* it has ended, not only gone quiet: the thread is gone */
		CHECK(threads_become(base));
	}
	/* a drop counted while no thread runs: a thread starts to report it */
	output_count_dropped(out, "rate-limit", "r", "slow-syscall", 7);
	output_close(out, &st);
	CHECK(st.stream.written >= 30 && st.stream.dropped_queue == 0 &&
	      st.stream.dropped_write == 0);
	CHECK(threads_become(base));
	CHECK(tally_file(path, &t) == 0);
	CHECK(t.records == 30 && t.bad == 0);
	CHECK(t.dropped[0] == 7);
	rm_rf(dir);
	return 0;
}

/* Complete lines (ending in '\n') readable from fd now, without blocking. */
static int drain_lines(int fd)
{
	char buf[65536];
	int lines = 0;
	ssize_t n;

	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	return lines;
}

/*
 * A pipe nobody ever reads: close gives up at its limit,
 * and every record is written (in the pipe), dropped (queue full) or still
 * queued at exit, exactly: the record in hand when the limit passed too.
 */
static int test_stuck_pipe_exact(void)
{
	struct output *out = NULL;
	struct output_stats st;
	struct sw_error err = {};
	int p[2], queued = 0, lines;
	uint64_t t0;

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	CHECK(output_open(&out,
			  &(struct output_options){ .fd = p[1],
						    .queue_max_records = 100,
						    .close_timeout_ns = 300 * NSEC_PER_MSEC },
			  &err) == 0);
	for (int i = 0; i < 1000; i++)
		queued += submit_seq(out, i, 1000, "r") == 0;
	t0 = sw_mono_ns();
	output_close(out, &st);
	/* the limit, plus a slice of the writer's poll */
	CHECK(sw_mono_ns() - t0 < 2 * NSEC_PER_SEC);
	lines = drain_lines(p[0]);
	close(p[0]);
	close(p[1]);
	CHECK(st.stream.written > 0 && st.stream.unflushed > 0 && !st.stream.no_reader);
	CHECK(st.stream.written + st.stream.dropped_queue + st.stream.unflushed == 1000);
	CHECK(st.stream.dropped_queue == (uint64_t)(1000 - queued));
	/* the pipe holds exactly what was written: nothing taken off and lost */
	CHECK((uint64_t)lines == st.stream.written);
	/* the pipe stayed full: the final records-dropped record could not go out */
	CHECK(st.stream.unreported_unflushed == st.stream.unflushed);
	CHECK(st.stream.unreported_queue == st.stream.dropped_queue);
	return 0;
}

struct fifo_reader {
	const char *fifo, *out;
};

static void *fifo_reader_main(void *arg)
{
	struct fifo_reader *f = arg;
	int in = open(f->fifo, O_RDONLY | O_CLOEXEC);
	struct drain d = { .fd = in, .path = f->out };

	if (in >= 0) {
		drain_main(&d);
		close(in);
	}
	return NULL;
}

/*
 * -o FIFO without a reader: open returns at once and says
 * it waits; records queue; a reader that comes later gets them all.
 */
static int test_fifo_late_reader(void)
{
	_cleanup_free_ char *dir = tmpdir();
	char fifo[256], path[256];
	struct output *out = NULL;
	struct output_stats st;
	struct sw_error err = {};
	struct fifo_reader f = { fifo, path };
	struct tally t;
	pthread_t th;
	uint64_t t0;

	CHECK(dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(path, sizeof(path), "%s/read.jsonl", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	t0 = sw_mono_ns();
	CHECK(output_open(&out,
			  &(struct output_options){
				  .path = fifo, .format_auto = true, .host_name = "h" },
			  &err) == 0);
	CHECK(sw_mono_ns() - t0 < 500 * NSEC_PER_MSEC);
	CHECK(output_waits_for_reader(out));
	CHECK(output_format(out) == RECORD_FORMAT_JSON);
	for (int i = 0; i < 5; i++)
		CHECK(submit_seq(out, i, 10, "r") == 0);
	usleep(300 * 1000);
	CHECK(pthread_create(&th, NULL, fifo_reader_main, &f) == 0);
	for (int i = 5; i < 8; i++)
		CHECK(submit_seq(out, i, 10, "r") == 0);
	output_close(out, &st);
	pthread_join(th, NULL);
	CHECK(st.stream.written == 8 && st.stream.unflushed == 0);
	CHECK(tally_file(path, &t) == 0);
	CHECK(t.records == 8 && t.bad == 0 && t.dropped_records == 0);
	rm_rf(dir);
	return 0;
}

/* A FIFO nobody ever opens for reading: close ends at its limit and counts them as such. */
static int test_fifo_never_read(void)
{
	_cleanup_free_ char *dir = tmpdir();
	char fifo[256];
	struct output *out = NULL;
	struct output_stats st;
	struct sw_error err = {};
	uint64_t t0;

	CHECK(dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK(output_open(&out,
			  &(struct output_options){ .path = fifo,
						    .close_timeout_ns = 200 * NSEC_PER_MSEC },
			  &err) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(submit_seq(out, i, 10, "r") == 0);
	t0 = sw_mono_ns();
	output_close(out, &st);
	CHECK(sw_mono_ns() - t0 < 2 * NSEC_PER_SEC);
	CHECK(st.stream.written == 0 && st.stream.unflushed == 3 && st.stream.no_reader);
	CHECK(st.stream.unreported_unflushed == 3);
	rm_rf(dir);
	return 0;
}

/* A datagram socket at path that nobody reads (a stuck /dev/log). */
static int bind_dgram(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * --syslog against a /dev/log that never reads: each
 * datagram is what syslog(3) sends; close ends at its limit (no closelog()
 * to hang in); the stream got every record meanwhile (its own queue and
 * thread); sent + still queued + dropped == submitted, exactly.
 */
static int test_syslog_stuck(void)
{
	_cleanup_free_ char *dir = tmpdir();
	char sock[256], path[256], buf[8192], want[64];
	struct output *out = NULL;
	struct output_stats st;
	struct sw_error err = {};
	struct tally t;
	int rx, got = 0, bad = 0, queued = 0;
	uint64_t t0;
	ssize_t n;

	CHECK(dir);
	snprintf(sock, sizeof(sock), "%s/log.sock", dir);
	snprintf(path, sizeof(path), "%s/out.jsonl", dir);
	rx = bind_dgram(sock);
	CHECK(rx >= 0);
	CHECK(output_open(&out,
			  &(struct output_options){ .path = path,
						    .syslog = true,
						    .syslog_path = sock,
						    .host_name = "h",
						    .close_timeout_ns = 300 * NSEC_PER_MSEC },
			  &err) == 0);
	for (int i = 0; i < 500; i++)
		queued += submit_seq(out, i, 100, "r") == 0;
	t0 = sw_mono_ns();
	output_close(out, &st);
	CHECK(sw_mono_ns() - t0 < 2 * NSEC_PER_SEC);
	CHECK(queued == 500); /* the stream took each one */
	CHECK(tally_file(path, &t) == 0);
	CHECK(t.records == 500 && st.stream.written == 500);
	snprintf(want, sizeof(want), " stallwatch[%d]: {\"seq\":", (int)getpid());
	fcntl(rx, F_SETFL, O_NONBLOCK);
	while ((n = recv(rx, buf, sizeof(buf) - 1, 0)) > 0) {
		int mon_day, h, m, s;
		char mon[4];

		buf[n] = 0;
		got++;
		/* <28> = daemon (3 << 3) | warning (4); "Mmm dd hh:mm:ss " local time */
		if (strncmp(buf, "<28>", 4) != 0 ||
		    sscanf(buf + 4, "%3s %2d %2d:%2d:%2d", mon, &mon_day, &h, &m, &s) != 5 ||
		    !strstr(buf, want) || buf[n - 1] == '\n')
			bad++;
	}
	close(rx);
	CHECK(got >= 1 && bad == 0);
	CHECK(st.syslog.on && st.syslog.written == (uint64_t)got);
	CHECK(st.syslog.dropped_queue == 0);
	CHECK(st.syslog.written + st.syslog.unflushed == 500);
	CHECK(st.syslog.unflushed > 0 && st.syslog.unreported_unflushed == st.syslog.unflushed);
	rm_rf(dir);
	return 0;
}

/* --syslog where nothing listens: every record is counted as a write error, none waits. */
static int test_syslog_missing(void)
{
	_cleanup_free_ char *dir = tmpdir();
	char sock[256];
	struct notes notes = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct output *out = NULL;
	struct output_stats st;
	struct sw_error err = {};
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

	CHECK(dir && devnull >= 0);
	snprintf(sock, sizeof(sock), "%s/nothing", dir);
	CHECK(output_open(&out,
			  &(struct output_options){ .fd = devnull,
						    .syslog = true,
						    .syslog_path = sock,
						    .notify = on_notify,
						    .notify_opaque = &notes },
			  &err) == 0);
	for (int i = 0; i < 4; i++)
		CHECK(submit_seq(out, i, 10, "r") == 0);
	output_close(out, &st);
	close(devnull);
	CHECK(st.stream.written == 4);
	CHECK(st.syslog.written == 0 && st.syslog.unreported_write == 4);
	CHECK(st.syslog.write_errno == ENOENT);
	CHECK(notes.n == 1 && strstr(notes.last, "cannot write to syslog ("));
	rm_rf(dir);
	return 0;
}

/* A number after `prefix` in the file at path, or -1. */
static long long file_value(const char *path, const char *prefix)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	long long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			v = atoll(line + strlen(prefix));
	fclose(f);
	return v;
}

/*
 * A stuck stream does not starve the metrics file: it has
 * its own queue and thread, and counts every record while the stream waits.
 */
static int test_metrics_not_starved(void)
{
	_cleanup_free_ char *dir = tmpdir();
	char path[256];
	struct output *out = NULL;
	struct sw_error err = {};
	long long v = -1;
	int p[2];

	CHECK(dir);
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	CHECK(output_open(&out,
			  &(struct output_options){ .fd = p[1],
						    .metrics_path = path,
						    .mode = "run",
						    .metrics_slots = 16,
						    .metrics_interval_ns = 20 * NSEC_PER_MSEC,
						    .close_timeout_ns = 200 * NSEC_PER_MSEC },
			  &err) == 0);
	/* 300 x 1 KB: the pipe (64 KiB) is full long before the end */
	for (int i = 0; i < 300; i++)
		CHECK(submit_seq(out, i, 1000, "r") == 0);
	for (int i = 0; i < 200 && v != 300; i++) {
		usleep(10000);
		v = file_value(path, "stallwatch_records_total{action=\"slow-syscall\",rule=\"r\","
				     "syscall=\"read\",source=\"m\"} ");
	}
	CHECK(v == 300);
	CHECK(output_writer_running(out));
	output_close(out, NULL);
	/* the final file has the stream's losses, by sink */
	CHECK(file_value(path, "stallwatch_records_dropped_total{reason=\"write-error\",rule=\"r\","
			       "sink=\"stream\",source=\"m\"} ") > 0);
	close(p[0]);
	close(p[1]);
	rm_rf(dir);
	return 0;
}

UNIT_MAIN(TEST(test_file_basic), TEST(test_write_error_forever), TEST(test_write_error_recovers),
	  TEST(test_queue_full), TEST(test_drop_reports), TEST(test_journal_and_header),
	  TEST(test_metrics_rewrites), TEST(test_idle_exit), TEST(test_stuck_pipe_exact),
	  TEST(test_fifo_late_reader), TEST(test_fifo_never_read), TEST(test_syslog_stuck),
	  TEST(test_syslog_missing), TEST(test_metrics_not_starved))
