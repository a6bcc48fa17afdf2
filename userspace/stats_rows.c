// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stats_rows.h"

int rows_append(void **rows, size_t *n, size_t *cap, size_t row_size,
		const void *key, size_t key_size, const void *value)
{
	char *r;

	if (*n == *cap) {
		size_t want = *cap ? *cap * 2 : 64;
		char *grown = realloc(*rows, want * row_size);

		if (!grown)
			return -ENOMEM;
		*rows = grown;
		*cap = want;
	}
	r = (char *)*rows + *n * row_size;
	memcpy(r, key, key_size);
	memcpy(r + key_size, value, row_size - key_size);
	(*n)++;
	return 0;
}

static __u64 row_key(const void *row)
{
	__u64 key;

	memcpy(&key, row, sizeof(key));
	return key;
}

/* A row's place: by key, then by its place in the order given */
struct row_order {
	__u64 key;
	size_t at;
};

static int by_key_then_order(const void *a, const void *b)
{
	const struct row_order *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

int rows_coalesce(void *rows, size_t *n, size_t row_size,
		  size_t first_summed)
{
	const size_t words = (row_size - sizeof(__u64)) / sizeof(__u64);
	struct row_order *order;
	char *out, *last = NULL;
	size_t i, w, kept = 0;

	if (*n < 2)
		return 0;
	order = malloc(*n * sizeof(*order));
	out = malloc(*n * row_size);
	if (!order || !out) {
		free(order);
		free(out);
		return -ENOMEM;
	}
	for (i = 0; i < *n; i++)
		order[i] = (struct row_order){ row_key((char *)rows + i * row_size), i };
	qsort(order, *n, sizeof(*order), by_key_then_order);
	for (i = 0; i < *n; i++) {
		const char *row = (const char *)rows + order[i].at * row_size;

		if (last && row_key(last) == order[i].key) {
			__u64 *to = (__u64 *)(last + sizeof(__u64));
			const __u64 *from = (const __u64 *)(row + sizeof(__u64));

			for (w = first_summed; w < words; w++)
				to[w] += from[w];
			continue;
		}
		last = out + kept++ * row_size;
		memcpy(last, row, row_size);
	}
	memcpy(rows, out, kept * row_size);
	*n = kept;
	free(order);
	free(out);
	return 0;
}

const void *rows_find(const void *rows, size_t n, size_t row_size, __u64 key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		__u64 k = row_key((const char *)rows + mid * row_size);

		if (k == key)
			return (const char *)rows + mid * row_size;
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
