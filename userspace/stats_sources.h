/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which of iommufd_stats' programs count on this kernel: the series' trace
 * events, or the fallback (fentry/fexit on the IOAS ioctl handlers). Shared
 * by the tool and the benchmark, so both measure what the tool loads.
 */
#ifndef IOMMUFD_BPF_STATS_SOURCES_H
#define IOMMUFD_BPF_STATS_SOURCES_H

#include <stdbool.h>

#include "kernel_features.h"

struct iommufd_stats_bpf;

/*
 * Before load: with @fallback only the fallback's programs (its I/O page
 * fault counting where @kf has iommufd's fault handling), else only the
 * series' (the fallback's tables then shrink to nothing)
 */
void stats_select_programs(struct iommufd_stats_bpf *skel,
			   const struct kernel_features *kf, bool fallback);

/* After load: whether the fallback counts I/O page faults */
bool stats_fallback_counts_faults(const struct iommufd_stats_bpf *skel);

/* ... and splits their wait at the VMM's read (fault_queue, fault_handle) */
bool stats_fallback_splits_faults(const struct iommufd_stats_bpf *skel);

#endif
