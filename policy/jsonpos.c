/* SPDX-License-Identifier: MIT */
/*
 * jsonpos.c - line/column index of a JSON document by JSON Pointer (see
 * jsonpos.h): jansson gives positions only for syntax errors, so the policy
 * loader re-scans the text it already accepted to point at bad values.
 *
 * One recursive-descent pass (depth capped at JSONPOS_MAX_DEPTH) validates
 * the RFC 8259 grammar and appends an entry per value in document order:
 * its parent entry, its key (decoded into one shared buffer) or array index,
 * and where it and its key start. Pointers are never stored: a document
 * nested deep under long keys would make that quadratic. Instead the
 * entries are sorted by (parent, key or index) and a lookup walks the
 * pointer one reference token at a time with a binary search per level.
 *
 * Columns are counted incrementally from a mark that only moves forward,
 * so a 1 MB single-line document costs one pass, not one pass per value.
 * UTF-8 is not validated (jansson did that); bytes are only classified as
 * continuation bytes or not.
 */
#include "jsonpos.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	KIND_SCALAR,
	KIND_OBJECT,
	KIND_ARRAY,
};

struct jsonpos_entry {
	size_t parent; /* index into entries; unused for the root */
	size_t key; /* object member: offset into keys; array element: its index */
	size_t key_len; /* object member only */
	unsigned line, col;
	unsigned key_line, key_col; /* 0 unless an object member */
	unsigned char kind;
};

struct parser {
	const char *text;
	size_t len;
	size_t pos;
	/* Line and column of text[mark]; mark <= pos, moved by locate(). */
	size_t mark;
	unsigned line, col;
	struct jsonpos *idx;
	size_t entries_cap, keys_cap;
};

static void saturating_inc(unsigned *v)
{
	if (*v < UINT_MAX)
		(*v)++;
}

/* Line and column of text[pos]. */
static void locate(struct parser *p, unsigned *ret_line, unsigned *ret_col)
{
	for (; p->mark < p->pos; p->mark++) {
		unsigned char c = (unsigned char)p->text[p->mark];

		if (c == '\n') {
			saturating_inc(&p->line);
			p->col = 1;
		} else if ((c & 0xc0) != 0x80) {
			saturating_inc(&p->col);
		}
	}
	*ret_line = p->line;
	*ret_col = p->col;
}

static int grow(void **array, size_t *cap, size_t need, size_t elem)
{
	size_t n;
	void *a;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap : 64;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (n > SIZE_MAX / elem)
		return -ENOMEM;
	a = realloc(*array, n * elem);
	if (!a)
		return -ENOMEM;
	*array = a;
	*cap = n;
	return 0;
}

static int keys_append(struct parser *p, const char *s, size_t n)
{
	struct jsonpos *idx = p->idx;
	void *keys = idx->keys;
	int r;

	if (n == 0) /* keys may still be NULL: no memcpy() to it */
		return 0;
	if (n > SIZE_MAX - idx->keys_len)
		return -ENOMEM;
	r = grow(&keys, &p->keys_cap, idx->keys_len + n, 1);
	idx->keys = keys;
	if (r < 0)
		return r;
	memcpy(idx->keys + idx->keys_len, s, n);
	idx->keys_len += n;
	return 0;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->text[p->pos];

		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
		p->pos++;
	}
}

/* The next byte, or 0 at the end (a raw NUL is never valid JSON anyway). */
static char peek(const struct parser *p)
{
	return p->pos < p->len ? p->text[p->pos] : '\0';
}

static int hex4(const struct parser *p, size_t at, unsigned *ret)
{
	unsigned v = 0;

	if (p->len - at < 4) /* at <= len always holds */
		return -EINVAL;
	for (size_t i = 0; i < 4; i++) {
		char c = p->text[at + i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

static size_t utf8_encode(unsigned cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The \u escape at text[pos] (pos at the backslash), with its low surrogate
 * if it is a high one. Lone surrogates are refused, as jansson does.
 * Stores the code point and the escape's length in bytes.
 */
static int unicode_escape(const struct parser *p, size_t pos, unsigned *ret_cp, size_t *ret_n)
{
	unsigned cp, lo;

	if (hex4(p, pos + 2, &cp) < 0)
		return -EINVAL;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return -EINVAL;
	if (cp < 0xd800 || cp > 0xdbff) {
		*ret_cp = cp;
		*ret_n = 6;
		return 0;
	}
	if (p->len - pos < 12 || p->text[pos + 6] != '\\' || p->text[pos + 7] != 'u' ||
	    hex4(p, pos + 8, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
		return -EINVAL;
	*ret_cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	*ret_n = 12;
	return 0;
}

/*
 * The string at text[pos] (pos at the opening quote). With decode, its
 * decoded bytes are appended to idx->keys.
 */
static int parse_string(struct parser *p, bool decode)
{
	size_t run; /* start of the pending run of plain bytes */
	int r;

	p->pos++;
	run = p->pos;
	for (;;) {
		unsigned char c;
		char buf[4];
		const char *out = buf;
		size_t n_out = 1, n_in = 2;

		if (p->pos >= p->len)
			return -EINVAL;
		c = (unsigned char)p->text[p->pos];
		if (c < 0x20)
			return -EINVAL;
		if (c != '"' && c != '\\') {
			p->pos++;
			continue;
		}
		if (decode) {
			r = keys_append(p, p->text + run, p->pos - run);
			if (r < 0)
				return r;
		}
		if (c == '"') {
			p->pos++;
			return 0;
		}
		if (p->len - p->pos < 2)
			return -EINVAL;
		switch (p->text[p->pos + 1]) {
		case '"':
		case '\\':
		case '/':
			buf[0] = p->text[p->pos + 1];
			break;
		case 'b':
			buf[0] = '\b';
			break;
		case 'f':
			buf[0] = '\f';
			break;
		case 'n':
			buf[0] = '\n';
			break;
		case 'r':
			buf[0] = '\r';
			break;
		case 't':
			buf[0] = '\t';
			break;
		case 'u': {
			unsigned cp;

			r = unicode_escape(p, p->pos, &cp, &n_in);
			if (r < 0)
				return r;
			if (cp == 0) { /* keep "\u0000" as is: pointers are C strings */
				out = p->text + p->pos;
				n_out = 6;
			} else {
				n_out = utf8_encode(cp, buf);
			}
			break;
		}
		default:
			return -EINVAL;
		}
		if (decode) {
			r = keys_append(p, out, n_out);
			if (r < 0)
				return r;
		}
		p->pos += n_in;
		run = p->pos;
	}
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void skip_digits(struct parser *p)
{
	while (is_digit(peek(p)))
		p->pos++;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int parse_number(struct parser *p)
{
	if (peek(p) == '-')
		p->pos++;
	if (peek(p) == '0')
		p->pos++;
	else if (is_digit(peek(p)))
		skip_digits(p);
	else
		return -EINVAL;
	if (peek(p) == '.') {
		p->pos++;
		if (!is_digit(peek(p)))
			return -EINVAL;
		skip_digits(p);
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (!is_digit(peek(p)))
			return -EINVAL;
		skip_digits(p);
	}
	return 0;
}

static int parse_literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
		return -EINVAL;
	p->pos += n;
	return 0;
}

struct member {
	size_t parent;
	size_t key, key_len;
	unsigned key_line, key_col;
};

static int parse_value(struct parser *p, const struct member *m, unsigned depth);

static int parse_container(struct parser *p, size_t self, unsigned depth)
{
	bool object = p->text[p->pos] == '{';
	char close = object ? '}' : ']';
	struct member m = { .parent = self };
	int r;

	if (depth >= JSONPOS_MAX_DEPTH)
		return -E2BIG;
	p->idx->entries[self].kind = object ? KIND_OBJECT : KIND_ARRAY;
	p->pos++;
	skip_ws(p);
	if (peek(p) == close) {
		p->pos++;
		return 0;
	}
	for (size_t i = 0;; i++) {
		if (object) {
			if (peek(p) != '"')
				return -EINVAL;
			locate(p, &m.key_line, &m.key_col);
			m.key = p->idx->keys_len;
			r = parse_string(p, true);
			if (r < 0)
				return r;
			m.key_len = p->idx->keys_len - m.key;
			skip_ws(p);
			if (peek(p) != ':')
				return -EINVAL;
			p->pos++;
			skip_ws(p);
		} else {
			m.key = i;
		}
		r = parse_value(p, &m, depth + 1);
		if (r < 0)
			return r;
		skip_ws(p);
		if (peek(p) == close) {
			p->pos++;
			return 0;
		}
		if (peek(p) != ',')
			return -EINVAL;
		p->pos++;
		skip_ws(p);
	}
}

/* The value at text[pos] (whitespace already skipped); m is NULL for the root. */
static int parse_value(struct parser *p, const struct member *m, unsigned depth)
{
	struct jsonpos *idx = p->idx;
	struct jsonpos_entry *e;
	void *entries = idx->entries;
	size_t self = idx->n_entries;
	int r;

	r = grow(&entries, &p->entries_cap, self + 1, sizeof(*e));
	idx->entries = entries;
	if (r < 0)
		return r;
	e = &idx->entries[idx->n_entries++];
	*e = (struct jsonpos_entry){ .kind = KIND_SCALAR };
	if (m) {
		e->parent = m->parent;
		e->key = m->key;
		e->key_len = m->key_len;
		e->key_line = m->key_line;
		e->key_col = m->key_col;
	}
	locate(p, &e->line, &e->col);

	switch (peek(p)) {
	case '{':
	case '[':
		return parse_container(p, self, depth);
	case '"':
		return parse_string(p, false);
	case 't':
		return parse_literal(p, "true");
	case 'f':
		return parse_literal(p, "false");
	case 'n':
		return parse_literal(p, "null");
	default:
		return parse_number(p);
	}
}

/* Lexicographic by unsigned byte, a prefix first; as memcmp() but NULL-safe. */
static int bytes_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	size_t n = na < nb ? na : nb;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return na < nb ? -1 : na > nb;
}

/* Siblings by key or index; entries with different parents by parent. */
/*
 * The bytes of a key. keys stays NULL while every key is "" (nothing was
 * stored), and NULL + 0 is undefined behaviour in C (found by the fuzzer).
 */
static const char *key_at(const struct jsonpos *idx, size_t off)
{
	return idx->keys ? idx->keys + off : "";
}

static int child_cmp(const struct jsonpos *idx, const struct jsonpos_entry *a,
		     const struct jsonpos_entry *b)
{
	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	if (idx->entries[a->parent].kind == KIND_ARRAY)
		return a->key < b->key ? -1 : a->key > b->key;
	return bytes_cmp(key_at(idx, a->key), a->key_len, key_at(idx, b->key), b->key_len);
}

static int order_cmp(const void *va, const void *vb, void *vidx)
{
	const struct jsonpos *idx = vidx;
	size_t ia = *(const size_t *)va, ib = *(const size_t *)vb;
	int c = child_cmp(idx, &idx->entries[ia], &idx->entries[ib]);

	if (c)
		return c;
	return ia < ib ? -1 : ia > ib; /* the first of duplicate keys sorts first */
}

static int build_order(struct jsonpos *idx)
{
	size_t n = 0;

	if (idx->n_entries < 2)
		return 0;
	idx->order = calloc(idx->n_entries - 1, sizeof(*idx->order));
	if (!idx->order)
		return -ENOMEM;
	for (size_t i = 1; i < idx->n_entries; i++)
		idx->order[i - 1] = i;
	qsort_r(idx->order, idx->n_entries - 1, sizeof(*idx->order), order_cmp, idx);

	/* Keep the first of each run of equal (parent, key): duplicate keys. */
	for (size_t i = 0; i < idx->n_entries - 1; i++)
		if (n == 0 || child_cmp(idx, &idx->entries[idx->order[n - 1]],
					&idx->entries[idx->order[i]]) != 0)
			idx->order[n++] = idx->order[i];
	idx->n_order = n;
	return 0;
}

int jsonpos_build(struct jsonpos *idx, const char *text, size_t len)
{
	struct parser p = {
		.text = text,
		.len = len,
		.line = 1,
		.col = 1,
		.idx = idx,
	};
	int r;

	*idx = (struct jsonpos){};
	if (!text)
		return -EINVAL;
	skip_ws(&p);
	r = parse_value(&p, NULL, 0);
	if (r == 0) {
		skip_ws(&p);
		if (p.pos != p.len)
			r = -EINVAL;
	}
	if (r == 0)
		r = build_order(idx);
	if (r < 0)
		jsonpos_free(idx);
	return r;
}

void jsonpos_free(struct jsonpos *idx)
{
	free(idx->entries);
	free(idx->keys);
	free(idx->order);
	*idx = (struct jsonpos){};
}

/* A reference token's "~0"/"~1" are valid and no other '~' appears. */
static bool token_valid(const char *tok, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tok[i] == '~' && (i + 1 >= n || (tok[i + 1] != '0' && tok[i + 1] != '1')))
			return false;
	return true;
}

/* Compare a decoded key with an escaped (valid) reference token, as bytes_cmp(). */
static int key_token_cmp(const char *key, size_t n_key, const char *tok, size_t n_tok)
{
	size_t i = 0, j = 0;

	while (i < n_key && j < n_tok) {
		unsigned char k = (unsigned char)key[i++];
		unsigned char t = (unsigned char)tok[j++];

		if (t == '~')
			t = tok[j++] == '0' ? '~' : '/';
		if (k != t)
			return k < t ? -1 : 1;
	}
	if (i < n_key)
		return 1;
	return j < n_tok ? -1 : 0;
}

/* "0" or [1-9][0-9]* that fits a size_t. */
static bool token_index(const char *tok, size_t n, size_t *ret)
{
	size_t v = 0;

	if (n == 0 || (n > 1 && tok[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(tok[i]))
			return false;
		if (v > (SIZE_MAX - (size_t)(tok[i] - '0')) / 10)
			return false;
		v = v * 10 + (size_t)(tok[i] - '0');
	}
	*ret = v;
	return true;
}

/* The child of entry parent named by the token; false if none. */
static bool find_child(const struct jsonpos *idx, size_t parent, const char *tok, size_t n,
		       size_t *ret)
{
	bool array = idx->entries[parent].kind == KIND_ARRAY;
	size_t index = 0, lo = 0, hi = idx->n_order;

	if (idx->entries[parent].kind == KIND_SCALAR)
		return false;
	if (array ? !token_index(tok, n, &index) : !token_valid(tok, n))
		return false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct jsonpos_entry *e = &idx->entries[idx->order[mid]];
		int c;

		if (e->parent != parent)
			c = e->parent < parent ? -1 : 1;
		else if (array)
			c = e->key < index ? -1 : e->key > index;
		else
			c = key_token_cmp(key_at(idx, e->key), e->key_len, tok, n);
		if (c == 0) {
			*ret = idx->order[mid];
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static const struct jsonpos_entry *lookup(const struct jsonpos *idx, const char *pointer)
{
	size_t cur = 0;

	if (!idx || !idx->entries || !pointer)
		return NULL;
	if (*pointer && *pointer != '/')
		return NULL;
	while (*pointer == '/') {
		const char *tok = pointer + 1;
		size_t n = strcspn(tok, "/");

		if (!find_child(idx, cur, tok, n, &cur))
			return NULL;
		pointer = tok + n;
	}
	return &idx->entries[cur];
}

bool jsonpos_value(const struct jsonpos *idx, const char *pointer, unsigned *ret_line,
		   unsigned *ret_col)
{
	const struct jsonpos_entry *e = lookup(idx, pointer);

	if (!e)
		return false;
	if (ret_line)
		*ret_line = e->line;
	if (ret_col)
		*ret_col = e->col;
	return true;
}

bool jsonpos_key(const struct jsonpos *idx, const char *pointer, unsigned *ret_line,
		 unsigned *ret_col)
{
	const struct jsonpos_entry *e = lookup(idx, pointer);

	if (!e || e->key_line == 0)
		return false;
	if (ret_line)
		*ret_line = e->key_line;
	if (ret_col)
		*ret_col = e->key_col;
	return true;
}

static int append(char *buf, size_t size, const char *tok, size_t extra)
{
	size_t cur = buf ? strnlen(buf, size) : 0;
	size_t need = 1 + strlen(tok) + extra; /* "/" + token + one byte per '~' or '/' */
	char *out;

	if (!buf || cur >= size || need >= size - cur)
		return -ENAMETOOLONG;
	out = buf + cur;
	*out++ = '/';
	for (; *tok; tok++) {
		if (*tok == '~' || *tok == '/') {
			*out++ = '~';
			*out++ = *tok == '~' ? '0' : '1';
		} else {
			*out++ = *tok;
		}
	}
	*out = '\0';
	return 0;
}

int jsonpos_append_key(char *buf, size_t size, const char *key)
{
	size_t extra = 0;

	for (const char *s = key; *s; s++)
		extra += *s == '~' || *s == '/';
	return append(buf, size, key, extra);
}

int jsonpos_append_index(char *buf, size_t size, size_t index)
{
	char tok[24];

	snprintf(tok, sizeof(tok), "%zu", index);
	return append(buf, size, tok, 0);
}
