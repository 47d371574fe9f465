/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/syscall_set.h"
#include "unit.h"

#if defined(__x86_64__) && !defined(__ILP32__)
#define NATIVE_X86_64 1
#else
#define NATIVE_X86_64 0
#endif

static const char *const class_names[] = {
	"file", "desc", "net", "network", "process", "memory", "signal", "ipc", "creds", "clock",
};

/*
 * Class members newer than the libseccomp the name table was generated
 * from: libseccomp 2.5.4 does not know them on any arch, so the typo check
 * below cannot vouch for them.
 */
static const char *const newer_than_libseccomp[] = {
	"file_getattr", "file_setattr",	  "getxattrat",	   "listxattrat",
	"mseal",	"open_tree_attr", "removexattrat", "setxattrat",
};

static bool has_name(const struct syscall_set *set, const char *name)
{
	return syscall_set_has(set, syscall_nr(name));
}

/* Parse expr, which must succeed; failures print the message. */
static int parse(const char *expr, struct syscall_set *set)
{
	struct sw_error err = {};
	int r = syscall_set_parse(expr, set, &err);

	if (r < 0)
		fprintf(stderr, "  `%s`: %d %s\n", expr, r, err.msg);
	return r;
}

/* Parse expr, which must fail with code and a message containing message. */
static int parse_fails(const char *expr, int code, const char *message)
{
	struct syscall_set set;
	struct sw_error err = {};
	int r = syscall_set_parse(expr, &set, &err);

	if (r != code || err.code != code || !strstr(err.msg, message)) {
		fprintf(stderr, "  `%s`: r=%d msg=`%s`, want %d and `%s`\n", expr, r, err.msg, code,
			message);
		return -1;
	}
	return 0;
}

static size_t universe_size(void)
{
	struct syscall_set all;

	syscall_set_fill_all(&all);
	return syscall_set_count(&all);
}

static int test_single_name(void)
{
	struct syscall_set set;

	CHECK(parse("read", &set) == 0);
	CHECK(syscall_set_count(&set) == 1);
	CHECK(has_name(&set, "read"));
	return 0;
}

static int test_several_names(void)
{
	struct syscall_set set;

	CHECK(parse("read,write,getppid,read", &set) == 0);
	CHECK(syscall_set_count(&set) == 3);
	CHECK(has_name(&set, "read"));
	CHECK(has_name(&set, "write"));
	CHECK(has_name(&set, "getppid"));
	return 0;
}

static int test_class_file(void)
{
	struct syscall_set set;

	CHECK(parse("%file", &set) == 0);
	CHECK(has_name(&set, "openat"));
	CHECK(has_name(&set, "execve"));
	CHECK(has_name(&set, "statx"));
	CHECK(!has_name(&set, "getppid"));
	CHECK(!has_name(&set, "read"));
	return 0;
}

static int test_class_desc_and_net(void)
{
	struct syscall_set desc, net, network;

	CHECK(parse("%desc", &desc) == 0);
	CHECK(has_name(&desc, "read"));
	CHECK(has_name(&desc, "close"));
	CHECK(has_name(&desc, "mmap"));
	CHECK(!has_name(&desc, "getppid"));
	CHECK(parse("%net", &net) == 0);
	CHECK(has_name(&net, "connect"));
	CHECK(!has_name(&net, "read"));
	CHECK(parse("%network", &network) == 0);
	CHECK(syscall_set_equal(&net, &network));
	return 0;
}

static int test_negation(void)
{
	struct syscall_set file, not_file;

	CHECK(parse("%file", &file) == 0);
	CHECK(parse("!%file", &not_file) == 0);
	CHECK(!has_name(&not_file, "openat"));
	CHECK(has_name(&not_file, "getppid"));
	CHECK(syscall_set_count(&not_file) == universe_size() - syscall_set_count(&file));
	/* '!' negates the whole list, not the first item. */
	CHECK(parse("!read,write", &not_file) == 0);
	CHECK(!has_name(&not_file, "read") && !has_name(&not_file, "write"));
	CHECK(syscall_set_count(&not_file) == universe_size() - 2);
	CHECK(parse_fails("read,!write", -EINVAL, "unknown syscall `!write`") == 0);
	return 0;
}

static int test_unknown_names(void)
{
	struct syscall_set set;

	CHECK(parse_fails("nosuchcall", -EINVAL, "unknown syscall `nosuchcall`") == 0);
	CHECK(parse_fails("read,nosuchcall", -EINVAL, "`nosuchcall`") == 0);
	CHECK(parse("?nosuchcall", &set) == 0);
	CHECK(syscall_set_count(&set) == 0);
	CHECK(parse("read,?nosuchcall", &set) == 0);
	CHECK(syscall_set_count(&set) == 1 && has_name(&set, "read"));
	if (NATIVE_X86_64) {
		/* libseccomp knows socketcall, but only as another arch's syscall. */
		CHECK(parse_fails("socketcall", -EINVAL, "unknown syscall `socketcall`") == 0);
		CHECK(parse("?socketcall", &set) == 0 && syscall_set_count(&set) == 0);
	}
	return 0;
}

static int test_regex(void)
{
	struct syscall_set set;
	size_t expected = 0;

	CHECK(parse("/^rt_sig", &set) == 0);
	CHECK(has_name(&set, "rt_sigaction"));
	CHECK(has_name(&set, "rt_sigreturn"));
	CHECK(!has_name(&set, "rt_tgsigqueueinfo"));
	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		const char *name = syscall_name(nr);

		if (name && strncmp(name, "rt_sig", 6) == 0) {
			CHECK(syscall_set_has(&set, nr));
			expected++;
		}
	}
	if (NATIVE_X86_64)
		CHECK(syscall_set_count(&set) == expected);
	CHECK(parse("/^nosuchcall$", &set) == 0 && syscall_set_count(&set) == 0);
	CHECK(parse_fails("/(", -EINVAL, "bad regex `/(`: ") == 0);
	CHECK(parse_fails("/", -EINVAL, "empty regex") == 0);
	return 0;
}

/*
 * Patterns glibc's regcomp() cannot compile in bounded memory or time are
 * refused with one message, and stallwatch itself never holds what it
 * would have taken: /x{32767}{32767} grew to 6 GB. Each parse runs in a
 * child of the test under a 512 MiB RLIMIT_AS, so a parser without its own
 * bound fails the test (REG_ESPACE, -ENOMEM) instead of eating the host.
 */
static int hostile_regex_child(void)
{
	static const char *const hostile[] = {
		"/x{32767}{32767}", /* interval copies multiply: a billion nodes */
		"/((.*)*|(.?)*){24}", /* exponential compile time (37 s unbounded) */
	};
	struct rusage ru;
	char chain[2 * 16000 + 2] = "/";

	/* sanitizer builds reserve terabytes up front: the limit would stop them at once */
#if !defined(__SANITIZE_ADDRESS__)
	struct rlimit as = { 512 << 20, 512 << 20 };

	if (setrlimit(RLIMIT_AS, &as) < 0)
		return 10;
#endif
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++)
		if (parse_fails(hostile[i], -EINVAL, "too big to compile") < 0)
			return 11 + (int)i;
	/* 16000 `.?`: quadratic, 2 GB */
	for (int i = 0; i < 16000; i++)
		strcat(chain + 1 + 2 * i, ".?");
	if (parse_fails(chain, -EINVAL, "too big to compile") < 0)
		return 20;
	/* what this process held stayed small: the work was done elsewhere */
	if (getrusage(RUSAGE_SELF, &ru) < 0 || ru.ru_maxrss > 256 * 1024)
		return 21;
	return 0;
}

static int test_regex_bounded(void)
{
	struct syscall_set set;
	int status;
	pid_t pid;
	/* long enough for the bounded path, with an interval: the same set as inline */
	const char *long_re = "/^(rt_sig|rt_tgsig)(action|procmask|return|suspend|pending|"
			      "timedwait|queueinfo){1}$";

	CHECK(parse(long_re, &set) == 0);
	CHECK(has_name(&set, "rt_sigaction") && has_name(&set, "rt_sigreturn"));
	CHECK(has_name(&set, "rt_tgsigqueueinfo") && has_name(&set, "rt_sigtimedwait"));
	CHECK(!has_name(&set, "read"));
	CHECK(parse_fails("/^(read|write|openat|close|fstat|lseek|mmap|mprotect|munmap|brk)(",
			  -EINVAL, "bad regex") == 0);

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(hostile_regex_child());
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "  hostile regex child: status %#x\n", status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return 0;
}

static int test_all_and_none(void)
{
	struct syscall_set set, all;

	syscall_set_fill_all(&all);
	if (NATIVE_X86_64)
		CHECK(syscall_set_count(&all) > 300);
	CHECK(parse("all", &set) == 0 && syscall_set_equal(&set, &all));
	CHECK(parse("read,all", &set) == 0 && syscall_set_equal(&set, &all));
	CHECK(parse("!none", &set) == 0 && syscall_set_equal(&set, &all));
	CHECK(parse("none", &set) == 0 && syscall_set_count(&set) == 0);
	CHECK(parse("!all", &set) == 0 && syscall_set_count(&set) == 0);
	CHECK(parse("none,read", &set) == 0 && syscall_set_count(&set) == 1);
	return 0;
}

static int test_trace_prefix(void)
{
	struct syscall_set with, without;

	CHECK(parse("trace=read,write", &with) == 0);
	CHECK(parse("read,write", &without) == 0);
	CHECK(syscall_set_equal(&with, &without));
	CHECK(parse("trace=!%file", &with) == 0);
	CHECK(parse("!%file", &without) == 0);
	CHECK(syscall_set_equal(&with, &without));
	CHECK(parse_fails("trace=trace=read", -EINVAL, "unknown syscall `trace=read`") == 0);
	return 0;
}

static int test_empty_items(void)
{
	static const char *const exprs[] = {
		"", "read,,write", "read,", ",read", "?", "!", "trace=", "trace=!",
	};

	for (size_t i = 0; i < ARRAY_SIZE(exprs); i++)
		CHECK(parse_fails(exprs[i], -EINVAL, "empty syscall name") == 0);
	CHECK(parse_fails("read,,write", -EINVAL, "empty syscall name in `read,,write`") == 0);
	return 0;
}

static int test_unknown_class(void)
{
	CHECK(parse_fails("%nosuch", -EINVAL, "unknown class `%nosuch`") == 0);
	CHECK(parse_fails("read,%", -EINVAL, "unknown class `%`") == 0);
	CHECK(parse_fails("%File", -EINVAL, "unknown class `%File`") == 0);
	/* '?' forgives names only: a class is the same on every arch. */
	CHECK(parse_fails("?%nosuch", -EINVAL, "unknown class `%nosuch`") == 0);
	CHECK(syscall_class_names("nosuch") == NULL);
	return 0;
}

static int test_failed_parse_keeps_result(void)
{
	struct syscall_set set, before;

	CHECK(parse("read", &set) == 0);
	before = set;
	CHECK(syscall_set_parse("write,nosuchcall", &set, NULL) == -EINVAL);
	CHECK(syscall_set_equal(&set, &before));
	return 0;
}

static int test_set_operations(void)
{
	struct syscall_set a, b, all;

	syscall_set_clear(&a);
	CHECK(syscall_set_count(&a) == 0);
	syscall_set_add(&a, syscall_nr("read"));
	syscall_set_add(&a, -1);
	syscall_set_add(&a, SW_MAX_NR);
	CHECK(syscall_set_count(&a) == 1);
	CHECK(!syscall_set_has(&a, -1) && !syscall_set_has(&a, SW_MAX_NR));
	CHECK(parse("write", &b) == 0);
	syscall_set_union(&a, &b);
	CHECK(parse("read,write", &b) == 0);
	CHECK(syscall_set_equal(&a, &b));
	syscall_set_invert(&a);
	CHECK(syscall_set_count(&a) == universe_size() - 2);
	syscall_set_invert(&a);
	CHECK(syscall_set_equal(&a, &b));
	/* Inverting stays inside the universe: bits without a name never appear. */
	syscall_set_clear(&a);
	syscall_set_invert(&a);
	syscall_set_fill_all(&all);
	CHECK(syscall_set_equal(&a, &all));
	return 0;
}

static int test_name_nr_round_trip(void)
{
	struct syscall_set all;

	if (!NATIVE_X86_64)
		SKIP("syscall_name() has a table only on x86_64");
	CHECK_STR(syscall_name(0), "read");
	CHECK_STR(syscall_name(110), "getppid");
	CHECK_STR(syscall_name(257), "openat");
	CHECK(syscall_nr("read") == 0);
	CHECK(syscall_nr("getppid") == 110);
	CHECK(syscall_nr("openat") == 257);
	CHECK(syscall_name(-1) == NULL);
	CHECK(syscall_name(400) == NULL); /* unused between rseq (334) and 424 */
	CHECK(syscall_name(SW_MAX_NR) == NULL);
	CHECK(syscall_nr("nosuchcall") == -1);
	CHECK(syscall_nr("") == -1);
	CHECK(syscall_nr("stat64") == -1);
	syscall_set_fill_all(&all);
	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		const char *name = syscall_name(nr);

		CHECK(syscall_set_has(&all, nr) == (name != NULL));
		if (name && syscall_nr(name) != nr) {
			fprintf(stderr, "  %d `%s` resolves to %d\n", nr, name, syscall_nr(name));
			return -1;
		}
	}
	return 0;
}

static bool is_newer_than_libseccomp(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(newer_than_libseccomp); i++) {
		if (strcmp(newer_than_libseccomp[i], name) == 0)
			return true;
	}
	return false;
}

static int test_class_tables(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(class_names); i++) {
		const char *const *names = syscall_class_names(class_names[i]);
		struct syscall_set set;
		char expr[32];

		CHECK(names && names[0]);
		for (size_t j = 0; names[j]; j++) {
			const char *name = names[j];
			int nr = syscall_nr(name);

			/* Sorted and free of duplicates, so a reader can find a name. */
			if (j > 0 && strcmp(names[j - 1], name) >= 0) {
				fprintf(stderr, "  %%%s: `%s` before `%s`\n", class_names[i],
					names[j - 1], name);
				return -1;
			}
			/* A name no arch knows is a typo. */
			if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR &&
			    !is_newer_than_libseccomp(name)) {
				fprintf(stderr, "  %%%s: `%s` is no syscall\n", class_names[i],
					name);
				return -1;
			}
			if (nr >= 0 && NATIVE_X86_64)
				CHECK_STR(syscall_name(nr), name);
		}
		snprintf(expr, sizeof(expr), "%%%s", class_names[i]);
		CHECK(parse(expr, &set) == 0);
		if (NATIVE_X86_64 && syscall_set_count(&set) < 3) {
			fprintf(stderr, "  %s: only %zu syscalls\n", expr, syscall_set_count(&set));
			return -1;
		}
	}
	return 0;
}

UNIT_MAIN(TEST(test_single_name), TEST(test_several_names), TEST(test_class_file),
	  TEST(test_class_desc_and_net), TEST(test_negation), TEST(test_unknown_names),
	  TEST(test_regex), TEST(test_regex_bounded), TEST(test_all_and_none),
	  TEST(test_trace_prefix), TEST(test_empty_items), TEST(test_unknown_class),
	  TEST(test_failed_parse_keeps_result), TEST(test_set_operations),
	  TEST(test_name_nr_round_trip), TEST(test_class_tables))
