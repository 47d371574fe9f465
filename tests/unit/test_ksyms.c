/* SPDX-License-Identifier: MIT */
/* common/ksyms: kallsyms parsing, lookup, formatting, hidden addresses, tracing frames. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/ksyms.h"
#include "unit.h"

static int write_file(char *path, const char *text)
{
	int fd = mkstemp(path);
	ssize_t len = (ssize_t)strlen(text);

	if (fd < 0)
		return -1;
	if (write(fd, text, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int test_lookup(void)
{
	char path[] = "/tmp/sw-ksyms-XXXXXX";
	struct ksyms *ks = NULL;
	uint64_t off = 0;
	char buf[64];
	int r;

	/* unsorted, a data symbol, a module symbol with its tab */
	CHECK(write_file(path, "ffffffff81000200 T vfs_read\n"
			       "ffffffff81000100 t anon_pipe_read\n"
			       "ffffffff81000180 D some_data\n"
			       "ffffffff81000300 T __sched_text_start\n"
			       "ffffffffc0001000 t nfs_file_read\t[nfs]\n") == 0);
	r = ksyms_load(path, &ks);
	unlink(path);
	CHECK(r == 0 && ks);
	CHECK(ksyms_find(ks, 0xffffffff81000000ULL, NULL) == NULL);
	CHECK_STR(ksyms_find(ks, 0xffffffff810001a0ULL, &off), "anon_pipe_read");
	CHECK(off == 0xa0); /* the data symbol in between is not a function */
	CHECK_STR(ksyms_find(ks, 0xffffffff81000200ULL, &off), "vfs_read");
	CHECK(off == 0);
	CHECK_STR(ksyms_find(ks, 0xffffffffc0001010ULL, NULL), "nfs_file_read");
	CHECK(ksyms_address(ks, "__sched_text_start") == 0xffffffff81000300ULL);
	CHECK(ksyms_address(ks, "nope") == 0);
	CHECK(ksyms_format(ks, 0xffffffff81000234ULL, buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "vfs_read+0x34");
	ksyms_format(ks, 0x1000, buf, sizeof(buf));
	CHECK_STR(buf, "0x1000");
	ksyms_free(ks);
	return 0;
}

/* kptr_restrict: every address reads 0 */
static int test_hidden(void)
{
	char path[] = "/tmp/sw-ksyms-XXXXXX";
	struct ksyms *ks = (struct ksyms *)1;
	int r;

	CHECK(write_file(path,
			 "0000000000000000 T vfs_read\n0000000000000000 t anon_pipe_read\n") == 0);
	r = ksyms_load(path, &ks);
	unlink(path);
	CHECK(r == -EPERM && ks == NULL);
	CHECK(ksyms_load("/nonexistent/kallsyms", &ks) == -ENOENT);
	return 0;
}

static int test_tracing_frames(void)
{
	CHECK(ksyms_is_tracing_frame("bpf_prog_6deef7357e7b4530_sw_sched_switch"));
	CHECK(ksyms_is_tracing_frame("bpf_trace_run4"));
	CHECK(ksyms_is_tracing_frame("__bpf_trace_sched_switch"));
	CHECK(ksyms_is_tracing_frame("__traceiter_sched_switch"));
	CHECK(ksyms_is_tracing_frame("perf_trace_sched_switch"));
	CHECK(!ksyms_is_tracing_frame("__schedule"));
	CHECK(!ksyms_is_tracing_frame("anon_pipe_read"));
	CHECK(!ksyms_is_tracing_frame("bpf_map_lookup_elem"));
	return 0;
}

/* this machine's own file, when it shows addresses */
static int test_proc_kallsyms(void)
{
	struct ksyms *ks = NULL;
	int r = ksyms_load(NULL, &ks);
	uint64_t addr;

	if (r == -EPERM)
		SKIP("kernel addresses hidden here (kptr_restrict or no CAP_SYSLOG)");
	if (r == -ENOENT)
		SKIP("no /proc/kallsyms");
	CHECK(r == 0);
	addr = ksyms_address(ks, "vfs_read");
	CHECK(addr != 0);
	CHECK_STR(ksyms_find(ks, addr + 1, NULL), "vfs_read");
	ksyms_free(ks);
	return 0;
}

UNIT_MAIN(TEST(test_lookup), TEST(test_hidden), TEST(test_tracing_frames), TEST(test_proc_kallsyms))
