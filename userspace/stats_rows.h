/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The rows of a snapshot's tables: an 8-byte key (stats_key(), or a tgid
 * padded to 8 bytes), then the value, in an array grown as rows are read.
 */
#ifndef IOMMUFD_BPF_STATS_ROWS_H
#define IOMMUFD_BPF_STATS_ROWS_H

#include <stddef.h>
#include <linux/types.h>

/* Append one row (key then value) to *rows, growing it as needed */
int rows_append(void **rows, size_t *n, size_t *cap, size_t row_size,
		const void *key, size_t key_size, const void *value);

/*
 * Sort the @n rows of @row_size bytes by key, in place, and add up the
 * rows of one key into one: a kernel table may hold an object in two
 * places (a slot and the hash), and a destroyed object's final row meets
 * the live row of a new one that reused its ids. The value's 8-byte words
 * from @first_summed on are summed; the words before it (an owner) are the
 * first row's of that key in the order given, so callers append the live
 * rows first. Sorted rows are looked up with rows_find(). 0 or -ENOMEM.
 */
int rows_coalesce(void *rows, size_t *n, size_t row_size,
		  size_t first_summed);

/* The row of @key in rows sorted by rows_coalesce(), or NULL */
const void *rows_find(const void *rows, size_t n, size_t row_size, __u64 key);

#endif /* IOMMUFD_BPF_STATS_ROWS_H */
