/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which of iommufd_stats' programs count on this kernel: the series' trace
 * events, or the fallback (fentry/fexit on the IOAS ioctl handlers). Shared
 * by the tool and the benchmark, so both measure what the tool loads.
 */
#ifndef IOMMUFD_BPF_STATS_SOURCES_H
#define IOMMUFD_BPF_STATS_SOURCES_H

#include <stdbool.h>

struct iommufd_stats_bpf;

/*
 * Before load: with @fallback only the fallback's programs, else only the
 * series' (the fallback's tables then shrink to nothing)
 */
void stats_select_programs(struct iommufd_stats_bpf *skel, bool fallback);

#endif
