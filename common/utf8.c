/* SPDX-License-Identifier: MIT */
#include "utf8.h"

#include <string.h>

/* Length of the well-formed sequence at s (RFC 3629 table), 0 if malformed. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* no overlongs */
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* <= U+10FFFF */
	} else
		return 0;
	if (avail < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

size_t sw_utf8_decode(const char *s, size_t avail, uint32_t *ret_cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = avail ? utf8_seq_len(u, avail) : 0;
	uint32_t cp;

	if (n == 0)
		return 0;
	if (n == 1)
		cp = u[0];
	else if (n == 2)
		cp = (uint32_t)(u[0] & 0x1f) << 6 | (u[1] & 0x3f);
	else if (n == 3)
		cp = (uint32_t)(u[0] & 0x0f) << 12 | (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
	else
		cp = (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3f) << 12 |
		     (uint32_t)(u[2] & 0x3f) << 6 | (u[3] & 0x3f);
	if (ret_cp)
		*ret_cp = cp;
	return n;
}

size_t sw_utf8_sanitize(const char *in, size_t len, char *out, size_t out_size, char replace_nul)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0;

	if (out_size == 0)
		return 0;
	while (i < len) {
		size_t n;

		if (s[i] == 0) {
			if (!replace_nul)
				break;
			if (o + 1 >= out_size)
				break;
			out[o++] = replace_nul;
			i++;
			continue;
		}
		n = utf8_seq_len(s + i, len - i);
		if (n == 0) {
			if (o + 3 >= out_size)
				break;
			memcpy(out + o, replacement, 3);
			o += 3;
			i++;
			continue;
		}
		if (o + n >= out_size)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = 0;
	return o;
}
