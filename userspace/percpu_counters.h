/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Read a BPF per-CPU array of event counters, summed over CPUs: the
 * accounting of iommufd_trace and iommufd_dirty (produced, filtered,
 * dropped, ...), for the tools, the tests and the benchmarks.
 */
#ifndef IOMMUFD_BPF_PERCPU_COUNTERS_H
#define IOMMUFD_BPF_PERCPU_COUNTERS_H

#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

/* Fill out[0..n) from the per-CPU array map (fd); 0 or -errno */
static inline int percpu_counters_read(int map_fd, __u64 *out, unsigned int n)
{
	int ncpu = libbpf_num_possible_cpus(), i, err = 0;
	unsigned int c;
	__u64 *vals;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (c = 0; c < n && !err; c++) {
		__u32 key = c;

		out[c] = 0;
		if (bpf_map_lookup_elem(map_fd, &key, vals)) {
			err = -errno;
			break;
		}
		for (i = 0; i < ncpu; i++)
			out[c] += vals[i];
	}
	free(vals);
	return err;
}

#endif
