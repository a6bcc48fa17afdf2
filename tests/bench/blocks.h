/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the interleaved-block benchmarks share: the clock they time blocks
 * with and the median of their blocks.
 */
#ifndef IOMMUFD_BPF_BENCH_BLOCKS_H
#define IOMMUFD_BPF_BENCH_BLOCKS_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* @clock's time in ns: CLOCK_MONOTONIC, or a thread's CPU time */
static inline uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @v's @n blocks; sorts @v */
static inline double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
