/* SPDX-License-Identifier: MIT */
/* sw_escape: strings from a target or a file, safe for a terminal (common/escape.h). */
#include <string.h>

#include "common/escape.h"
#include "unit.h"

static const char *esc(const char *s)
{
	static char out[SW_ESCAPE_SIZE(256)];

	return sw_escape(s, out, sizeof(out));
}

static int test_plain(void)
{
	CHECK_STR(esc(""), "");
	CHECK_STR(esc("kubelet"), "kubelet");
	CHECK_STR(esc("/var/lib/a b/c"), "/var/lib/a b/c");
	CHECK_STR(esc("a\\b"), "a\\b"); /* a backslash stays one */
	/* other languages and symbols are shown as they are */
	CHECK_STR(esc("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xa7 \xc2\xb5s"),
		  "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xa7 \xc2\xb5s");
	return 0;
}

static int test_controls(void)
{
	CHECK_STR(esc("\x1b[31mred"), "\\x1b[31mred");
	CHECK_STR(esc("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
	CHECK_STR(esc("a\n/etc/passwd:1:1: error[fake]: injected"),
		  "a\\n/etc/passwd:1:1: error[fake]: injected");
	CHECK_STR(esc("\t\r\x01\x7f"), "\\t\\r\\x01\\x7f");
	/* C1 controls (8-bit CSI U+009B, OSC U+009D) as their two bytes */
	CHECK_STR(esc("\xc2\x9b"
		      "31m\xc2\x9d"),
		  "\\xc2\\x9b"
		  "31m\\xc2\\x9d");
	CHECK_STR(esc("\xc2\xa0"), "\xc2\xa0"); /* U+00A0 is no control */
	return 0;
}

static int test_invalid_utf8(void)
{
	CHECK_STR(esc("bad\xff\xfe"), "bad\\xff\\xfe");
	CHECK_STR(esc("caf\xe9"), "caf\\xe9"); /* Latin-1 */
	CHECK_STR(esc("\xc0\xaf"), "\\xc0\\xaf"); /* an overlong "/" */
	CHECK_STR(esc("\xed\xa0\x80"), "\\xed\\xa0\\x80"); /* a surrogate */
	CHECK_STR(esc("\xe6\x97"), "\\xe6\\x97"); /* cut short */
	return 0;
}

/* A buffer too small: cut before an escape or character that does not fit whole. */
static int test_truncation(void)
{
	char out[6];

	CHECK_STR(sw_escape("abcdefgh", out, sizeof(out)), "abcde");
	CHECK_STR(sw_escape("ab\x1b", out, sizeof(out)), "ab");
	CHECK_STR(sw_escape("a\x1b", out, sizeof(out)), "a\\x1b");
	CHECK_STR(sw_escape("abc\xe6\x97\xa5", out, sizeof(out)), "abc");
	CHECK_STR(sw_escape("x", out, 1), "");
	/* SW_ESCAPE_SIZE is always enough */
	{
		const char *worst = "\x01\x02\x03\xff";
		char room[SW_ESCAPE_SIZE(4)];

		CHECK_STR(sw_escape(worst, room, sizeof(room)), "\\x01\\x02\\x03\\xff");
	}
	return 0;
}

UNIT_MAIN(TEST(test_plain), TEST(test_controls), TEST(test_invalid_utf8), TEST(test_truncation))
