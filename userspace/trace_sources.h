/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which programs of iommufd_trace.bpf.o produce each event on the running
 * kernel: the series' trace events where they exist, else the fallback
 * (fentry/fexit on iommufd's ioctl handlers) for the events it covers.
 * Shared by 'trace' and the tests that load the same object.
 */
#ifndef IOMMUFD_BPF_TRACE_SOURCES_H
#define IOMMUFD_BPF_TRACE_SOURCES_H

#include <stdbool.h>
#include <linux/types.h>

#include "kernel_features.h"

struct iommufd_trace_bpf;

/* Events the fallback produces: from the IOAS ioctl handlers ... */
#define IOMMUFD_EV_MASK_FALLBACK_IOAS					\
	((1u << IOMMUFD_EV_IOAS_MAP) | (1u << IOMMUFD_EV_IOAS_UNMAP) |	\
	 (1u << IOMMUFD_EV_IOAS_COPY))
/* ... and from the device attach functions */
#define IOMMUFD_EV_MASK_FALLBACK_DEVICE					\
	((1u << IOMMUFD_EV_DEVICE_ATTACH) |				\
	 (1u << IOMMUFD_EV_DEVICE_DETACH) |				\
	 (1u << IOMMUFD_EV_DEVICE_REPLACE))
/* ... and from iommufd's fault handler and the answers it sends */
#define IOMMUFD_EV_MASK_FALLBACK_FAULTS					\
	((1u << IOMMUFD_EV_FAULT_REPORT) |				\
	 (1u << IOMMUFD_EV_FAULT_RESPOND) |				\
	 (1u << IOMMUFD_EV_FAULT_AUTO_RESPOND))
/* ... and from the fault fd's read, where the kernel's can be followed */
#define IOMMUFD_EV_MASK_FALLBACK_FAULT_READ (1u << IOMMUFD_EV_FAULT_READ)
#define IOMMUFD_EV_MASK_FALLBACK \
	(IOMMUFD_EV_MASK_FALLBACK_IOAS | IOMMUFD_EV_MASK_FALLBACK_DEVICE | \
	 IOMMUFD_EV_MASK_FALLBACK_FAULTS | IOMMUFD_EV_MASK_FALLBACK_FAULT_READ)

/*
 * The events of @wanted that this kernel can produce (with @fallback: that
 * the fallback can)
 */
__u32 trace_events_available(const struct kernel_features *kf, __u32 wanted,
			      bool fallback);

/*
 * Between open and load: autoload exactly the programs that produce
 * @events, from the series' events or, with @fallback (or on a kernel
 * without the series), from the fallback. @events must be available.
 */
void trace_select_programs(struct iommufd_trace_bpf *skel,
			   const struct kernel_features *kf, __u32 events,
			   bool fallback);

/*
 * The tracer's accounting, summed over CPUs, in @cnt[IOMMUFD_CNT_MAX]; 0 or
 * -errno. The programs count what they filter; every other event takes a
 * sequence number, dropped or not, so produced is next_seq + filtered.
 */
int trace_counters_read(const struct iommufd_trace_bpf *skel, __u64 *cnt);

#endif
