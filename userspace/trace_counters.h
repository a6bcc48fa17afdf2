/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Read iommufd_trace's per-CPU event counters, summed over CPUs. */
#ifndef IOMMUFD_BPF_TRACE_COUNTERS_H
#define IOMMUFD_BPF_TRACE_COUNTERS_H

#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "iommufd_trace.h"

/* Fill out[] from the 'counters' map (fd); 0 or -errno */
static inline int iommufd_trace_read_counters(int map_fd,
					      __u64 out[IOMMUFD_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), i, c, err = 0;
	__u64 *vals;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (c = 0; c < IOMMUFD_CNT_MAX && !err; c++) {
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
