/* SPDX-License-Identifier: MIT */
/*
 * test_jsonpos.c - the JSON Pointer -> line/column index the policy loader
 * uses to point at values jansson parsed (jansson has positions only for
 * syntax errors). Every document is copied into a buffer of exactly its
 * length, without a NUL, so ASan catches any read past the end.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/macro.h"
#include "policy/jsonpos.h"
#include "unit.h"

static int build_n(struct jsonpos *idx, const char *text, size_t len)
{
	_cleanup_free_ char *copy = malloc(len ? len : 1);
	int r;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	r = jsonpos_build(idx, copy, len);
	return r;
}

static int build(struct jsonpos *idx, const char *text)
{
	return build_n(idx, text, strlen(text));
}

static int expect_value(const struct jsonpos *idx, const char *pointer, unsigned line, unsigned col)
{
	unsigned l = 0, c = 0;

	if (!jsonpos_value(idx, pointer, &l, &c) || l != line || c != col) {
		fprintf(stderr, "  value `%s`: got %u:%u, want %u:%u\n", pointer, l, c, line, col);
		return -1;
	}
	return 0;
}

static int expect_key(const struct jsonpos *idx, const char *pointer, unsigned line, unsigned col)
{
	unsigned l = 0, c = 0;

	if (!jsonpos_key(idx, pointer, &l, &c) || l != line || c != col) {
		fprintf(stderr, "  key `%s`: got %u:%u, want %u:%u\n", pointer, l, c, line, col);
		return -1;
	}
	return 0;
}

#define VALUE_AT(idx, ptr, line, col) CHECK(expect_value(idx, ptr, line, col) == 0)
#define KEY_AT(idx, ptr, line, col) CHECK(expect_key(idx, ptr, line, col) == 0)

static int test_nested(void)
{
	static const char doc[] = "{\n"
				  "  \"rules\": [\n"
				  "    {\n"
				  "      \"name\": \"x\",\n"
				  "      \"min_duration\": \"5ms\"\n"
				  "    },\n"
				  "    { \"nmae\": 1, \"list\": [1, [2, 3]] }\n"
				  "  ],\r\n"
				  "\t\"version\":\t1\n"
				  "}\n";
	struct jsonpos idx;

	CHECK(build(&idx, doc) == 0);
	VALUE_AT(&idx, "", 1, 1);
	CHECK(!jsonpos_key(&idx, "", NULL, NULL));
	VALUE_AT(&idx, "/rules", 2, 12);
	KEY_AT(&idx, "/rules", 2, 3);
	VALUE_AT(&idx, "/rules/0", 3, 5);
	CHECK(!jsonpos_key(&idx, "/rules/0", NULL, NULL));
	VALUE_AT(&idx, "/rules/0/name", 4, 15);
	KEY_AT(&idx, "/rules/0/name", 4, 7);
	VALUE_AT(&idx, "/rules/0/min_duration", 5, 23);
	KEY_AT(&idx, "/rules/0/min_duration", 5, 7);
	VALUE_AT(&idx, "/rules/1", 7, 5);
	VALUE_AT(&idx, "/rules/1/nmae", 7, 15);
	KEY_AT(&idx, "/rules/1/nmae", 7, 7);
	VALUE_AT(&idx, "/rules/1/list", 7, 26);
	KEY_AT(&idx, "/rules/1/list", 7, 18);
	VALUE_AT(&idx, "/rules/1/list/0", 7, 27);
	VALUE_AT(&idx, "/rules/1/list/1", 7, 30);
	VALUE_AT(&idx, "/rules/1/list/1/0", 7, 31);
	VALUE_AT(&idx, "/rules/1/list/1/1", 7, 34);
	/* A tab is one column; the CR before the LF does not start a line. */
	VALUE_AT(&idx, "/version", 9, 13);
	KEY_AT(&idx, "/version", 9, 2);

	CHECK(!jsonpos_value(&idx, "/rules/2", NULL, NULL));
	CHECK(!jsonpos_value(&idx, "/rules/1/list/1/2", NULL, NULL));
	CHECK(!jsonpos_value(&idx, "/rules/0/nmae", NULL, NULL));
	CHECK(!jsonpos_value(&idx, "/rules/0/name/x", NULL, NULL)); /* below a scalar */
	CHECK(!jsonpos_value(&idx, "/Rules", NULL, NULL));
	CHECK(!jsonpos_value(&idx, "/rule", NULL, NULL));
	CHECK(!jsonpos_value(&idx, "/rulesx", NULL, NULL));
	jsonpos_free(&idx);
	return 0;
}

static int test_utf8_columns(void)
{
	/* é ü € are 2-3 bytes, the emoji 4: each is one column. */
	static const char doc[] =
		"{\"\xc3\xa9\": \"\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80\", \"x\": 1,\n"
		"\"\xe6\x97\xa5\xe6\x9c\xac\": [\"\xe8\xaa\x9e\", 2]}";
	struct jsonpos idx;

	CHECK(build(&idx, doc) == 0);
	VALUE_AT(&idx, "/\xc3\xa9", 1, 7);
	KEY_AT(&idx, "/\xc3\xa9", 1, 2);
	KEY_AT(&idx, "/x", 1, 14);
	VALUE_AT(&idx, "/x", 1, 19);
	KEY_AT(&idx, "/\xe6\x97\xa5\xe6\x9c\xac", 2, 1);
	VALUE_AT(&idx, "/\xe6\x97\xa5\xe6\x9c\xac", 2, 7);
	VALUE_AT(&idx, "/\xe6\x97\xa5\xe6\x9c\xac/0", 2, 8);
	VALUE_AT(&idx, "/\xe6\x97\xa5\xe6\x9c\xac/1", 2, 13);
	jsonpos_free(&idx);
	return 0;
}

/* Each member has its own line, so the line tells which key matched. */
static int test_escaped_keys(void)
{
	static const char doc[] = "{\n"
				  "\"a/b\": 1,\n"
				  "\"~\": 2,\n"
				  "\"\\u00e9\": 3,\n"
				  "\"m~0\": 4,\n"
				  "\"\\/\": 5,\n"
				  "\"q\\\"t\": 6,\n"
				  "\"\\ud83d\\uDE00\": 7,\n"
				  "\"\": 8,\n"
				  "\"t\\tb\\\\\\b\\f\\n\\r\": 9,\n"
				  "\"z\\u0000\": 10,\n"
				  "\"a\": {\"b\": 11},\n"
				  "\"\\u20AC\\u0041\": 12\n"
				  "}";
	static const struct {
		const char *pointer;
		unsigned line;
	} cases[] = {
		{ "/a~1b", 2 },
		{ "/~0", 3 },
		{ "/\xc3\xa9", 4 },
		{ "/m~00", 5 },
		{ "/~1", 6 },
		{ "/q\"t", 7 },
		{ "/\xf0\x9f\x98\x80", 8 },
		{ "/", 9 },
		{ "/t\tb\\\b\f\n\r", 10 },
		{ "/z\\u0000", 11 }, /* \u0000 is kept as its six characters */
		{ "/a", 12 },
		{ "/\xe2\x82\xac"
		  "A",
		  13 },
	};
	static const char *const missing[] = {
		"/a~1b/x", "/~", "/~2", "/a~", "/~01", "/z", "/z\\u", "//", "/a/b/", "a/b",
	};
	struct jsonpos idx;

	CHECK(build(&idx, doc) == 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned line = 0;

		KEY_AT(&idx, cases[i].pointer, cases[i].line, 1);
		CHECK(jsonpos_value(&idx, cases[i].pointer, &line, NULL));
		CHECK(line == cases[i].line);
	}
	for (size_t i = 0; i < ARRAY_SIZE(missing); i++) {
		if (jsonpos_value(&idx, missing[i], NULL, NULL)) {
			fprintf(stderr, "  `%s` should not resolve\n", missing[i]);
			return -1;
		}
	}
	VALUE_AT(&idx, "/a/b", 12, 12);
	KEY_AT(&idx, "/a/b", 12, 7);
	jsonpos_free(&idx);
	return 0;
}

static int test_scalars(void)
{
	static const char doc[] =
		"[\n"
		"  \"plain\", \"with \\\"quotes\\\" and \\\\ ]}\", -12.5e+3, 0, true, false, null,\n"
		"  {\"s\": \"a\\\"b}\", \"n\": 1E-2, \"z\": -0}\n"
		"]";
	struct jsonpos idx;

	CHECK(build(&idx, doc) == 0);
	VALUE_AT(&idx, "/0", 2, 3);
	VALUE_AT(&idx, "/1", 2, 12);
	VALUE_AT(&idx, "/2", 2, 41);
	VALUE_AT(&idx, "/3", 2, 51);
	VALUE_AT(&idx, "/4", 2, 54);
	VALUE_AT(&idx, "/5", 2, 60);
	VALUE_AT(&idx, "/6", 2, 67);
	VALUE_AT(&idx, "/7", 3, 3);
	VALUE_AT(&idx, "/7/s", 3, 9);
	VALUE_AT(&idx, "/7/n", 3, 23);
	VALUE_AT(&idx, "/7/z", 3, 34);
	CHECK(!jsonpos_value(&idx, "/8", NULL, NULL));
	jsonpos_free(&idx);
	return 0;
}

static int test_root_scalar(void)
{
	struct jsonpos idx;

	CHECK(build(&idx, "42") == 0);
	VALUE_AT(&idx, "", 1, 1);
	CHECK(!jsonpos_key(&idx, "", NULL, NULL));
	CHECK(!jsonpos_value(&idx, "/0", NULL, NULL));
	jsonpos_free(&idx);

	CHECK(build(&idx, " \r\n\t \"s\" \n") == 0);
	VALUE_AT(&idx, "", 2, 3);
	jsonpos_free(&idx);

	CHECK(build(&idx, "null") == 0);
	VALUE_AT(&idx, "", 1, 1);
	jsonpos_free(&idx);
	return 0;
}

static int test_empty_containers(void)
{
	struct jsonpos idx;

	CHECK(build(&idx, "{\"o\": {}, \"a\": [], \"e\": [ \n ], \"p\": { }}") == 0);
	VALUE_AT(&idx, "/o", 1, 7);
	VALUE_AT(&idx, "/a", 1, 16);
	VALUE_AT(&idx, "/e", 1, 25);
	VALUE_AT(&idx, "/p", 2, 10);
	CHECK(!jsonpos_value(&idx, "/o/x", NULL, NULL));
	CHECK(!jsonpos_value(&idx, "/o/", NULL, NULL));
	CHECK(!jsonpos_value(&idx, "/a/0", NULL, NULL));
	CHECK(!jsonpos_value(&idx, "/a/", NULL, NULL));
	jsonpos_free(&idx);

	CHECK(build(&idx, "[]") == 0);
	VALUE_AT(&idx, "", 1, 1);
	CHECK(!jsonpos_value(&idx, "/0", NULL, NULL));
	jsonpos_free(&idx);

	CHECK(build(&idx, "{}") == 0);
	VALUE_AT(&idx, "", 1, 1);
	CHECK(!jsonpos_value(&idx, "/", NULL, NULL));
	jsonpos_free(&idx);
	return 0;
}

static int test_array_index_tokens(void)
{
	static const char *const missing[] = {
		"/01", "/-", "/1x", "/ 1", "/+1", "/", "/11", "/99999999999999999999999999",
		"x",   "0",
	};
	struct jsonpos idx;

	CHECK(build(&idx, "[0,1,2,3,4,5,6,7,8,9,10]") == 0);
	VALUE_AT(&idx, "/0", 1, 2);
	VALUE_AT(&idx, "/9", 1, 20);
	VALUE_AT(&idx, "/10", 1, 22);
	for (size_t i = 0; i < ARRAY_SIZE(missing); i++) {
		if (jsonpos_value(&idx, missing[i], NULL, NULL)) {
			fprintf(stderr, "  `%s` should not resolve\n", missing[i]);
			return -1;
		}
	}
	CHECK(!jsonpos_value(&idx, NULL, NULL, NULL));
	CHECK(!jsonpos_key(&idx, "/3", NULL, NULL));
	jsonpos_free(&idx);
	return 0;
}

static int test_duplicate_keys_keep_first(void)
{
	struct jsonpos idx;

	CHECK(build(&idx, "{\"a\": 1,\n\"b\": {\"c\": 1},\n\"a\": 2,\n\"b\": {\"d\": 2}}") == 0);
	VALUE_AT(&idx, "/a", 1, 7);
	KEY_AT(&idx, "/a", 1, 2);
	VALUE_AT(&idx, "/b", 2, 6);
	VALUE_AT(&idx, "/b/c", 2, 12);
	CHECK(!jsonpos_value(&idx, "/b/d", NULL, NULL));
	jsonpos_free(&idx);
	return 0;
}

/* n arrays, or n objects with key "a", around a 1. */
static char *nested(size_t n, bool objects)
{
	size_t open = objects ? 5 : 1, len = n * (open + 1) + 1;
	char *s = malloc(len + 1), *p = s;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, objects ? "{\"a\":" : "[", open);
		p += open;
	}
	*p++ = '1';
	memset(p, objects ? '}' : ']', n);
	p[n] = '\0';
	return s;
}

static int test_depth_limit(void)
{
	_cleanup_free_ char *ok_arrays = nested(JSONPOS_MAX_DEPTH, false);
	_cleanup_free_ char *ok_objects = nested(JSONPOS_MAX_DEPTH, true);
	_cleanup_free_ char *deep_arrays = nested(JSONPOS_MAX_DEPTH + 1, false);
	_cleanup_free_ char *deep_objects = nested(JSONPOS_MAX_DEPTH + 1, true);
	_cleanup_free_ char *very_deep = nested(200000, false);
	_cleanup_free_ char *pointer = malloc(2 * JSONPOS_MAX_DEPTH + 1);
	struct jsonpos idx;

	CHECK(ok_arrays && ok_objects && deep_arrays && deep_objects && very_deep && pointer);

	CHECK(build(&idx, ok_arrays) == 0);
	pointer[0] = '\0';
	for (size_t i = 0; i < JSONPOS_MAX_DEPTH; i++)
		CHECK(jsonpos_append_index(pointer, 2 * JSONPOS_MAX_DEPTH + 1, 0) == 0);
	VALUE_AT(&idx, pointer, 1, JSONPOS_MAX_DEPTH + 1);
	jsonpos_free(&idx);

	CHECK(build(&idx, ok_objects) == 0);
	pointer[0] = '\0';
	for (size_t i = 0; i < JSONPOS_MAX_DEPTH; i++)
		CHECK(jsonpos_append_key(pointer, 2 * JSONPOS_MAX_DEPTH + 1, "a") == 0);
	VALUE_AT(&idx, pointer, 1, 5 * JSONPOS_MAX_DEPTH + 1);
	KEY_AT(&idx, pointer, 1, 5 * JSONPOS_MAX_DEPTH - 3);
	jsonpos_free(&idx);

	CHECK(build(&idx, deep_arrays) == -E2BIG);
	CHECK(!jsonpos_value(&idx, "", NULL, NULL));
	jsonpos_free(&idx);
	CHECK(build(&idx, deep_objects) == -E2BIG);
	CHECK(build(&idx, very_deep) == -E2BIG);
	/* Truncated and too deep: the depth is hit first. */
	CHECK(build_n(&idx, very_deep, 100000) == -E2BIG);
	return 0;
}

static int test_invalid(void)
{
	static const char *const cases[] = {
		"",
		" \n\t",
		"{",
		"[",
		"[1,",
		"[1",
		"[1 2]",
		"[1,]",
		"[,]",
		"{\"a\"}",
		"{\"a\":}",
		"{\"a\" 1}",
		"{\"a\":1,}",
		"{a:1}",
		"{'a':1}",
		"{\"a\":1}}",
		"[1]x",
		"[1] [2]",
		"tru",
		"nul",
		"True",
		"nan",
		"01",
		"1.",
		".5",
		"-",
		"+1",
		"1e",
		"1e+",
		"0x10",
		"\"abc",
		"\"abc\\",
		"\"abc\\\"",
		"\"\\x\"",
		"\"\\u12\"",
		"\"\\u12g4\"",
		"\"\\ud800\"",
		"\"\\ud800\\u0041\"",
		"\"\\udc00\"",
		"\"\\ud800\\",
		"\"a\nb\"",
		"\"a\tb\"",
		"\x01",
		"garbage",
		"\xef\xbb\xbf{}",
		"{\"\\ud83d\": 1}",
	};
	struct jsonpos idx;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = build(&idx, cases[i]);

		if (r != -EINVAL) {
			fprintf(stderr, "  case %zu `%s`: r=%d, want -EINVAL\n", i, cases[i], r);
			return -1;
		}
		CHECK(!jsonpos_value(&idx, "", NULL, NULL));
		jsonpos_free(&idx);
	}
	/* A NUL byte inside the given length is not JSON either. */
	CHECK(build_n(&idx, "[1]\0", 4) == -EINVAL);
	CHECK(build_n(&idx, "\"a\0b\"", 5) == -EINVAL);
	CHECK(build_n(&idx, "[1]", 2) == -EINVAL);
	CHECK(jsonpos_build(&idx, NULL, 0) == -EINVAL);
	/* Every prefix of a valid document: never a crash or an over-read. */
	{
		static const char doc[] = "{\"a\": [1, -2.5e3, \"x\\u00e9\\ud83d\\ude00\\\"\", "
					  "true, false, null, {}], \"\\/\": {\"k\": []}}";

		for (size_t n = 0; n < sizeof(doc) - 1; n++)
			CHECK(build_n(&idx, doc, n) == -EINVAL);
		CHECK(build_n(&idx, doc, sizeof(doc) - 1) == 0);
		VALUE_AT(&idx, "/a/2", 1, 19);
		jsonpos_free(&idx);
	}
	return 0;
}

static int test_free_is_idempotent(void)
{
	struct jsonpos idx = {};

	jsonpos_free(&idx);
	jsonpos_free(&idx);
	CHECK(!jsonpos_value(&idx, "", NULL, NULL));
	CHECK(!jsonpos_key(&idx, "/a", NULL, NULL));
	CHECK(build(&idx, "{\"a\": [1]}") == 0);
	jsonpos_free(&idx);
	jsonpos_free(&idx);
	CHECK(!jsonpos_value(&idx, "/a", NULL, NULL));
	return 0;
}

static int test_append(void)
{
	char buf[16] = "";
	char small[6] = "";

	CHECK(jsonpos_append_key(buf, sizeof(buf), "rules") == 0);
	CHECK_STR(buf, "/rules");
	CHECK(jsonpos_append_index(buf, sizeof(buf), 0) == 0);
	CHECK_STR(buf, "/rules/0");
	CHECK(jsonpos_append_key(buf, sizeof(buf), "a/b~") == 0); /* exactly 15 + NUL */
	CHECK_STR(buf, "/rules/0/a~1b~0");
	CHECK(jsonpos_append_key(buf, sizeof(buf), "") == -ENAMETOOLONG);
	CHECK(jsonpos_append_index(buf, sizeof(buf), 1) == -ENAMETOOLONG);
	CHECK_STR(buf, "/rules/0/a~1b~0");

	CHECK(jsonpos_append_key(small, 5, "~~") == -ENAMETOOLONG);
	CHECK_STR(small, "");
	CHECK(jsonpos_append_key(small, sizeof(small), "~~") == 0);
	CHECK_STR(small, "/~0~0");
	CHECK(jsonpos_append_key(small, 0, "") == -ENAMETOOLONG);

	small[0] = '\0';
	CHECK(jsonpos_append_key(small, sizeof(small), "") == 0);
	CHECK_STR(small, "/");
	CHECK(jsonpos_append_index(small, sizeof(small), 123) == 0);
	CHECK_STR(small, "//123");
	CHECK(jsonpos_append_index(small, sizeof(small), 4) == -ENAMETOOLONG);
	CHECK_STR(small, "//123");

	/* Not NUL-terminated within size: cannot append. */
	memcpy(small, "abcdef", sizeof(small));
	CHECK(jsonpos_append_key(small, sizeof(small), "x") == -ENAMETOOLONG);
	return 0;
}

/*
 * A ~1.5 MB policy, pretty (one rule per line) and minified (one line):
 * thousands of lookups must be quick, and columns on a long line must not
 * cost a rescan per value.
 */
static int check_big(bool one_line)
{
	enum { N_RULES = 20000 };
	size_t cap = 100 * N_RULES + 64, len = 0;
	_cleanup_free_ char *doc = malloc(cap);
	_cleanup_free_ unsigned *col = calloc(N_RULES, sizeof(*col));
	struct jsonpos idx;
	char pointer[64];

	CHECK(doc && col);
	len += (size_t)snprintf(doc + len, cap - len, "{\"rules\": [%s", one_line ? "" : "\n");
	for (unsigned i = 0; i < N_RULES; i++) {
		int n;

		n = snprintf(doc + len, cap - len, "{\"name\": \"rule-%u\", \"min_duration\": ", i);
		len += (size_t)n;
		col[i] = (unsigned)(one_line ? len + 1 : (size_t)n + 1);
		n = snprintf(doc + len, cap - len,
			     "\"%ums\", \"syscalls\": [\"read\", \"write\"]}%s%s", i,
			     i + 1 < N_RULES ? "," : "", one_line ? "" : "\n");
		len += (size_t)n;
	}
	len += (size_t)snprintf(doc + len, cap - len, "]}");
	CHECK(len < cap - 1);

	CHECK(build_n(&idx, doc, len) == 0);
	for (unsigned i = 0; i < N_RULES; i++) {
		unsigned line = one_line ? 1 : i + 2;

		pointer[0] = '\0';
		CHECK(jsonpos_append_key(pointer, sizeof(pointer), "rules") == 0);
		CHECK(jsonpos_append_index(pointer, sizeof(pointer), i) == 0);
		CHECK(jsonpos_append_key(pointer, sizeof(pointer), "min_duration") == 0);
		CHECK(expect_value(&idx, pointer, line, col[i]) == 0);
		CHECK(expect_key(&idx, pointer, line, col[i] - 16) == 0);
		CHECK(jsonpos_value(&idx, pointer, NULL, NULL));
		pointer[strlen(pointer) - strlen("/min_duration")] = '\0';
		CHECK(jsonpos_append_key(pointer, sizeof(pointer), "syscalls") == 0);
		CHECK(jsonpos_append_index(pointer, sizeof(pointer), 1) == 0);
		CHECK(jsonpos_value(&idx, pointer, NULL, NULL));
	}
	CHECK(!jsonpos_value(&idx, "/rules/20000", NULL, NULL));
	jsonpos_free(&idx);
	return 0;
}

static int test_big_document(void)
{
	CHECK(check_big(false) == 0);
	CHECK(check_big(true) == 0);
	return 0;
}

UNIT_MAIN(TEST(test_nested), TEST(test_utf8_columns), TEST(test_escaped_keys), TEST(test_scalars),
	  TEST(test_root_scalar), TEST(test_empty_containers), TEST(test_array_index_tokens),
	  TEST(test_duplicate_keys_keep_first), TEST(test_depth_limit), TEST(test_invalid),
	  TEST(test_free_is_idempotent), TEST(test_append), TEST(test_big_document))
