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

/* The notify filter's hand-off fd in these tests. */
#define HANDOFF_FD 1023

/* Export the PFC text of the filter for set (malloc'd); notify: the notify backend's. */
static char *pfc_of_filter(const char *expr, bool nnp, bool notify)
{
	struct syscall_set set;
	scmp_filter_ctx ctx = NULL;
	char *text = NULL;
	int fd, r;
	off_t len;

	if (syscall_set_parse(expr, &set, NULL) < 0)
		return NULL;
	r = notify ? filter_build_notify(&set, nnp, HANDOFF_FD, &ctx, NULL) :
		     filter_build(&set, nnp, &ctx, NULL);
	if (r < 0)
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

static char *pfc_of(const char *expr, bool nnp)
{
	return pfc_of_filter(expr, nnp, false);
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

/* PFC of the notify filter for expr, printed on stderr when a check fails. */
static int notify_pfc_has(const char *expr, const char *const *want, const char *const *unwanted)
{
	char *pfc = pfc_of_filter(expr, true, true);
	int ok = pfc != NULL;

	for (; ok && want && *want; want++)
		ok = strstr(pfc, *want) != NULL;
	for (; ok && unwanted && *unwanted; unwanted++)
		ok = strstr(pfc, *unwanted) == NULL;
	if (!ok)
		fprintf(stderr, "  filter for `%s`:\n%s\n", expr, pfc ? pfc : "(none)");
	free(pfc);
	return ok ? 0 : -1;
}

/* libseccomp 2.5.4 prints SCMP_ACT_NOTIFY as its value */
#define NOTIFY_ACTION "action 0x7fc00000;"

static int test_notify_watched_and_restart(void)
{
	/* getppid 110 and 64 (i386); restart_syscall 219; no ptrace (101), no clone (56) */
	CHECK(notify_pfc_has("getppid",
			     (const char *const[]){ "if ($syscall == 110)", "if ($syscall == 64)",
						    "if ($syscall == 219)", NOTIFY_ACTION,
						    "# default action\n  action ALLOW;", NULL },
			     (const char *const[]){ "if ($syscall == 101)", "if ($syscall == 56)",
						    "TRACE", NULL }) == 0);
	return 0;
}

static int test_notify_wait_split_watches_syscall(void)
{
	/* %wait leaves a read of a file out, but some reads are in: read (0) is notified */
	CHECK(notify_pfc_has("%wait", (const char *const[]){ "if ($syscall == 0)", NULL }, NULL) ==
	      0);
	return 0;
}

static int test_notify_sendmsg_exempts_handoff(void)
{
	/* sendmsg is 46: notified unless its fd is the hand-off socket's */
	CHECK(notify_pfc_has("sendmsg,getppid",
			     (const char *const[]){ "if ($syscall == 46)", "if ($a0.lo32 == 1023)",
						    "else\n        " NOTIFY_ACTION, NULL },
			     NULL) == 0);
	/* most calls watched: NOTIFY by default, sendmsg(1023) the exception */
	CHECK(notify_pfc_has("!getppid",
			     (const char *const[]){ "# default action\n  " NOTIFY_ACTION,
						    "if ($a0.lo32 == 1023)\n        action ALLOW;",
						    NULL },
			     NULL) == 0);
	/* an unwatched sendmsg is allowed by default: no rule at all */
	CHECK(notify_pfc_has("getppid", NULL, (const char *const[]){ "($syscall == 46)", NULL }) ==
	      0);
	return 0;
}

static int test_notify_export_bpf(void)
{
	struct syscall_set set;
	scmp_filter_ctx ctx = NULL;
	struct sock_fprog prog = {};
	int r;

	CHECK(syscall_set_parse("getppid", &set, NULL) == 0);
	CHECK(filter_build_notify(&set, true, HANDOFF_FD, &ctx, NULL) == 0);
	r = filter_export_bpf(ctx, &prog, NULL);
	seccomp_release(ctx);
	CHECK(r == 0);
	CHECK(prog.len > 3 && prog.filter);
	/* the program starts by loading seccomp_data.arch (offset 4) */
	r = prog.filter[0].code == (BPF_LD | BPF_W | BPF_ABS) && prog.filter[0].k == 4;
	free(prog.filter);
	CHECK(r);
	return 0;
}

UNIT_MAIN(TEST(test_all_three_abis), TEST(test_watched_calls_trace_others_allow),
	  TEST(test_restart_and_ptrace_always_traced), TEST(test_clone_untraced_only),
	  TEST(test_large_set_defaults_to_trace), TEST(test_nnp_attribute),
	  TEST(test_notify_watched_and_restart), TEST(test_notify_wait_split_watches_syscall),
	  TEST(test_notify_sendmsg_exempts_handoff), TEST(test_notify_export_bpf))
