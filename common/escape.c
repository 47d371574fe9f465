/* SPDX-License-Identifier: MIT */
#include "escape.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

bool sw_escape_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

size_t sw_escape_char(const char *s, size_t n, uint32_t cp, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const char *named = cp == '\n' ? "\\n" : cp == '\t' ? "\\t" : cp == '\r' ? "\\r" : NULL;
	size_t len = 0;

	if (named) {
		memcpy(out, named, 3);
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		out[len++] = '\\';
		out[len++] = 'x';
		out[len++] = hex[b >> 4];
		out[len++] = hex[b & 15];
	}
	out[len] = 0;
	return len;
}

const char *sw_escape(const char *s, char *out, size_t size)
{
	size_t len = strlen(s), o = 0;

	if (size == 0)
		return out;
	for (size_t i = 0; i < len;) {
		char esc[SW_ESCAPE_SIZE(4)];
		uint32_t cp = 0;
		size_t n = sw_utf8_decode(s + i, len - i, &cp), elen;
		const char *piece = s + i;

		if (n == 0) {
			elen = sw_escape_char(s + i, 1, 0x80, esc); /* not UTF-8: \xHH */
			piece = esc;
			n = 1;
		} else if (sw_escape_is_control(cp)) {
			elen = sw_escape_char(s + i, n, cp, esc);
			piece = esc;
		} else
			elen = n;
		if (o + elen >= size)
			break;
		memcpy(out + o, piece, elen);
		o += elen;
		i += n;
	}
	out[o] = 0;
	return out;
}
