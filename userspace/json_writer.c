// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include <string.h>

#include "json_writer.h"

size_t utf8_seq_len(const char *str, size_t left)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A byte that needs no escape in a JSON string */
static bool json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static void flush(struct json_writer *w)
{
	fwrite_unlocked(w->buf, 1, w->len, w->out);
	w->len = 0;
}

/* Room for @n (at most JSON_LINE_BUF) more bytes at the end of the line */
static inline char *room(struct json_writer *w, size_t n)
{
	if (w->len + n > sizeof(w->buf))
		flush(w);
	return w->buf + w->len;
}

/* Copy @n bytes: the pieces are a few bytes, for which a call costs more */
static inline char *put(char *p, const void *src, size_t n)
{
	const char *s = src;

	while (n--)
		*p++ = *s++;
	return p;
}

/* Append @n bytes to the line; a line longer than the buffer goes out in parts */
static void emit(struct json_writer *w, const void *p, size_t n)
{
	if (n > sizeof(w->buf)) {
		flush(w);
		fwrite_unlocked(p, 1, n, w->out);
		return;
	}
	w->len = put(room(w, n), p, n) - w->buf;
}

static inline void emit_c(struct json_writer *w, char c)
{
	*room(w, 1) = c;
	w->len++;
}

static void emit_s(struct json_writer *w, const char *s)
{
	emit(w, s, strlen(s));
}

static void write_string(struct json_writer *w, const char *str, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t left = strnlen(str, max);

	emit_c(w, '"');
	while (left) {
		size_t n = 0;

		/* Runs of plain ASCII, the common case, in one copy */
		while (n < left && json_plain(s[n]))
			n++;
		if (n) {
			emit(w, s, n);
			s += n;
			left -= n;
			continue;
		}
		n = utf8_seq_len((const char *)s, left);
		if (!n) {
			emit_s(w, "\\ufffd");
		} else if (*s == '"' || *s == '\\') {
			emit_c(w, '\\');
			emit_c(w, *s);
		} else if (*s == '\n') {
			emit_s(w, "\\n");
		} else if (*s == '\t') {
			emit_s(w, "\\t");
		} else if (*s < 0x20 || *s == 0x7f) {
			char u[6] = { '\\', 'u', '0', '0', hex[*s >> 4],
				      hex[*s & 15] };

			emit(w, u, sizeof(u));
		} else {
			emit(w, s, n);
		}
		n = n ? n : 1;
		s += n;
		left -= n;
	}
	emit_c(w, '"');
}

/*
 * The separator and key before a value, and room for @value bytes after.
 * Keys are the program's own names: plain ASCII, short, written as they are.
 */
static char *json_key_room(struct json_writer *w, const char *key,
			   size_t value)
{
	size_t k = key ? strlen(key) : 0;
	char *p = room(w, k + 4 + value);

	if (w->comma[w->depth])
		*p++ = ',';
	w->comma[w->depth] = true;
	if (key) {
		*p++ = '"';
		p = put(p, key, k);
		*p++ = '"';
		*p++ = ':';
	}
	w->len = p - w->buf;
	return p;
}

static void json_key(struct json_writer *w, const char *key)
{
	json_key_room(w, key, 0);
}

static void json_open(struct json_writer *w, const char *key, char c)
{
	json_key(w, key);
	emit_c(w, c);
	if (w->depth + 1 < JSON_DEPTH_MAX)
		w->depth++;
	w->comma[w->depth] = false;
}

static void json_close(struct json_writer *w, char c)
{
	emit_c(w, c);
	if (w->depth)
		w->depth--;
}

void json_begin(struct json_writer *w, FILE *out)
{
	w->out = out;
	w->len = 0;
	memset(w->comma, 0, sizeof(w->comma));
	emit_c(w, '{');
	w->depth = 1;
}

void json_end(struct json_writer *w)
{
	emit(w, "}\n", 2);
	fwrite_unlocked(w->buf, 1, w->len, w->out);
	w->len = 0;
	w->depth = 0;
}

void json_object(struct json_writer *w, const char *key)
{
	json_open(w, key, '{');
}

void json_object_end(struct json_writer *w)
{
	json_close(w, '}');
}

void json_array(struct json_writer *w, const char *key)
{
	json_open(w, key, '[');
}

void json_array_end(struct json_writer *w)
{
	json_close(w, ']');
}

void json_str(struct json_writer *w, const char *key, const char *s)
{
	json_key(w, key);
	write_string(w, s, strlen(s));
}

void json_strn(struct json_writer *w, const char *key, const char *s,
	       size_t max)
{
	json_key(w, key);
	write_string(w, s, max);
}

/* Decimal digits of @v, without printf's format parsing: every record has a dozen */
static void write_u64(struct json_writer *w, const char *key, uint64_t v,
		      bool negative)
{
	char digits[20], *d = digits + sizeof(digits), *p;

	p = json_key_room(w, key, sizeof(digits) + 1);
	do {
		*--d = '0' + v % 10;
		v /= 10;
	} while (v);
	if (negative)
		*p++ = '-';
	p = put(p, d, digits + sizeof(digits) - d);
	w->len = p - w->buf;
}

void json_u64(struct json_writer *w, const char *key, uint64_t v)
{
	write_u64(w, key, v, false);
}

void json_s64(struct json_writer *w, const char *key, int64_t v)
{
	/* -INT64_MIN overflows int64_t, not uint64_t */
	write_u64(w, key, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
}

void json_bool(struct json_writer *w, const char *key, bool v)
{
	json_key(w, key);
	emit_s(w, v ? "true" : "false");
}

void json_null(struct json_writer *w, const char *key)
{
	json_key(w, key);
	emit(w, "null", 4);
}

void json_fixed(struct json_writer *w, const char *key, double v,
		int decimals)
{
	char buf[64];
	int n;

	json_key(w, key);
	n = isfinite(v) ? snprintf(buf, sizeof(buf), "%.*f", decimals, v) : -1;
	if (n > 0 && (size_t)n < sizeof(buf))
		emit(w, buf, n);
	else
		emit(w, "null", 4);
}
