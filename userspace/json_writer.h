/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one JSON writer of every command: one object per line, keys in the
 * order written, strings always valid UTF-8 JSON (quotes, backslashes and
 * control characters escaped, bytes that are not UTF-8 replaced by U+FFFD,
 * as a process may name itself anything).
 */
#ifndef IOMMUFD_BPF_JSON_WRITER_H
#define IOMMUFD_BPF_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 8
#define JSON_LINE_BUF 1024

/*
 * A line is built in @buf and handed to @out in one write when it ends (or
 * when it outgrows the buffer): a record of 'trace --json' costs one stdio
 * call, not dozens.
 */
struct json_writer {
	FILE *out;
	unsigned int depth;
	bool comma[JSON_DEPTH_MAX];	/* a value was written at this depth */
	size_t len;
	char buf[JSON_LINE_BUF];
};

/*
 * Values take a key inside an object and NULL inside an array (or for the
 * outermost object). Ending the outermost object ends the line.
 */
void json_begin(struct json_writer *w, FILE *out);	/* a line's object */
void json_end(struct json_writer *w);
void json_object(struct json_writer *w, const char *key);
void json_object_end(struct json_writer *w);
void json_array(struct json_writer *w, const char *key);
void json_array_end(struct json_writer *w);

void json_str(struct json_writer *w, const char *key, const char *s);
/* At most @max bytes of @s: fixed-size fields from the kernel */
void json_strn(struct json_writer *w, const char *key, const char *s,
	       size_t max);
void json_u64(struct json_writer *w, const char *key, uint64_t v);
void json_s64(struct json_writer *w, const char *key, int64_t v);
void json_bool(struct json_writer *w, const char *key, bool v);
void json_null(struct json_writer *w, const char *key);
/* A number with @decimals digits after the point; null if not finite */
void json_fixed(struct json_writer *w, const char *key, double v,
		int decimals);

/*
 * Length of the valid UTF-8 sequence at @s (at most @left bytes), or 0 if
 * the byte there does not start one
 */
size_t utf8_seq_len(const char *s, size_t left);

#endif
