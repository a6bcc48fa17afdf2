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

void json_write_string(FILE *out, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t left = strnlen(str, max);

	fputc('"', out);
	while (left) {
		size_t n = 0;

		/* Runs of plain ASCII, the common case, in one write */
		while (n < left && json_plain(s[n]))
			n++;
		if (n) {
			fwrite(s, 1, n, out);
			s += n;
			left -= n;
			continue;
		}
		n = utf8_seq_len((const char *)s, left);
		if (!n)
			fputs("\\ufffd", out);
		else if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else if (*s < 0x20 || *s == 0x7f)
			fprintf(out, "\\u%04x", *s);
		else
			fwrite(s, 1, n, out);
		n = n ? n : 1;
		s += n;
		left -= n;
	}
	fputc('"', out);
}

/* The separator and key before a value */
static void json_key(struct json_writer *w, const char *key)
{
	if (w->comma[w->depth])
		fputc(',', w->out);
	w->comma[w->depth] = true;
	/* Keys are the program's own names: plain ASCII, written as they are */
	if (key) {
		fputc('"', w->out);
		fputs(key, w->out);
		fputs("\":", w->out);
	}
}

static void json_open(struct json_writer *w, const char *key, char c)
{
	json_key(w, key);
	fputc(c, w->out);
	if (w->depth + 1 < JSON_DEPTH_MAX)
		w->depth++;
	w->comma[w->depth] = false;
}

static void json_close(struct json_writer *w, char c)
{
	fputc(c, w->out);
	if (w->depth)
		w->depth--;
}

void json_begin(struct json_writer *w, FILE *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	fputc('{', out);
	w->depth = 1;
}

void json_end(struct json_writer *w)
{
	fputs("}\n", w->out);
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
	json_write_string(w->out, s, strlen(s));
}

void json_strn(struct json_writer *w, const char *key, const char *s,
	       size_t max)
{
	json_key(w, key);
	json_write_string(w->out, s, max);
}

void json_u64(struct json_writer *w, const char *key, uint64_t v)
{
	json_key(w, key);
	fprintf(w->out, "%llu", (unsigned long long)v);
}

void json_s64(struct json_writer *w, const char *key, int64_t v)
{
	json_key(w, key);
	fprintf(w->out, "%lld", (long long)v);
}

void json_bool(struct json_writer *w, const char *key, bool v)
{
	json_key(w, key);
	fputs(v ? "true" : "false", w->out);
}

void json_null(struct json_writer *w, const char *key)
{
	json_key(w, key);
	fputs("null", w->out);
}

void json_fixed(struct json_writer *w, const char *key, double v,
		int decimals)
{
	json_key(w, key);
	if (isfinite(v))
		fprintf(w->out, "%.*f", decimals, v);
	else
		fputs("null", w->out);
}
