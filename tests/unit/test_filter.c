/* SPDX-License-Identifier: MIT */
/*
 * The generated seccomp filter, read back with seccomp_export_pfc(): 32-bit
 * calls can't run on the dev VM, so the x86/x32 handling is checked here.
 */
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policy/syscall_set.h"
#include "tracer/filter.h"
#include "unit.h"

/* Export the PFC text of the filter for set (malloc'd). */
static char *pfc_of(const char *expr, bool nnp)
{
	struct syscall_set set;
	scmp_filter_ctx ctx = NULL;
	char *text = NULL;
	int fd;
	off_t len;

	if (syscall_set_parse(expr, &set, NULL) < 0 || filter_build(&set, nnp, &ctx, NULL) < 0)
		return NULL;
	fd = memfd_create("pfc", MFD_CLOEXEC);
	if (fd >= 0 && seccomp_export_pfc(ctx, fd) == 0) {
		len = lseek(fd, 0, SEEK_END);
		text = calloc(1, (size_t)len + 1);
		if (text && pread(fd, text, (size_t)len, 0) != len) {
			free(text);
			text = NULL;
		}
	}
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return text;
}

static int test_all_three_abis(void)
{
	char *pfc = pfc_of("read,openat", true);
	int ok;

	CHECK(pfc);
	ok = strstr(pfc, "filter for arch x86_64") && strstr(pfc, "filter for arch x86 ") &&
	     strstr(pfc, "filter for arch x32");
	free(pfc);
	CHECK(ok);
	return 0;
}

static int test_watched_calls_trace_others_allow(void)
{
	char *pfc = pfc_of("read", true);
	int ok;

	CHECK(pfc);
	/* read is 0 on x86_64, 3 on i386; ALLOW is the default for a small set */
	ok = strstr(pfc, "if ($syscall == 0)") && strstr(pfc, "if ($syscall == 3)") &&
	     strstr(pfc, "action TRACE(0)") && strstr(pfc, "# default action\n  action ALLOW;");
	if (!ok)
		fprintf(stderr, "%s\n", pfc);
	free(pfc);
	CHECK(ok);
	return 0;
}

static int test_restart_and_ptrace_always_traced(void)
{
	char *pfc = pfc_of("read", true);
	int ok;

	CHECK(pfc);
	/* restart_syscall 219 and ptrace 101 on x86_64 */
	ok = strstr(pfc, "if ($syscall == 219)") && strstr(pfc, "if ($syscall == 101)");
	free(pfc);
	CHECK(ok);
	return 0;
}

static int test_clone_untraced_only(void)
{
	char *pfc = pfc_of("read", true);
	int ok;

	CHECK(pfc);
	/* clone (56) stops only when CLONE_UNTRACED (0x00800000) is set */
	ok = strstr(pfc, "if ($syscall == 56)") && strstr(pfc, "8388608");
	free(pfc);
	CHECK(ok);
	return 0;
}

static int test_large_set_defaults_to_trace(void)
{
	char *pfc = pfc_of("!getppid", true);
	int ok;

	CHECK(pfc);
	ok = strstr(pfc, "# default action\n  action TRACE(0);") &&
	     strstr(pfc, "if ($syscall == 110)");
	free(pfc);
	CHECK(ok);
	return 0;
}

static int test_nnp_attribute(void)
{
	struct syscall_set set;
	scmp_filter_ctx ctx = NULL;
	uint32_t nnp = 9, badarch = 0;

	CHECK(syscall_set_parse("read", &set, NULL) == 0);
	CHECK(filter_build(&set, false, &ctx, NULL) == 0);
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_NNP, &nnp) == 0);
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_ACT_BADARCH, &badarch) == 0);
	seccomp_release(ctx);
	CHECK(nnp == 0);
	CHECK(badarch == SCMP_ACT_ALLOW);
	CHECK(filter_build(&set, true, &ctx, NULL) == 0);
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_NNP, &nnp) == 0);
	seccomp_release(ctx);
	CHECK(nnp == 1);
	return 0;
}

UNIT_MAIN(TEST(test_all_three_abis), TEST(test_watched_calls_trace_others_allow),
	  TEST(test_restart_and_ptrace_always_traced), TEST(test_clone_untraced_only),
	  TEST(test_large_set_defaults_to_trace), TEST(test_nnp_attribute))
