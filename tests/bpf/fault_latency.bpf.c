// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * For the fault benchmark: how long each fault group waits in the kernel,
 * from iommufd_fault_report (the group reaches its fault object) to
 * iopf_group_response (the device gets its answer), whoever answers it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_SAMPLES 65536

__u64 samples[MAX_SAMPLES];	/* ns, in answer order */
__u32 nr_samples;		/* reset by the benchmark per block */
__u64 unmatched;		/* answers whose report was not seen */

/* The benchmark has one fault in flight at a time: no map, no races */
__u64 reported_group, reported_ns;

SEC("tp_btf/iommufd_fault_report")
int BPF_PROG(on_report, struct iommufd_fault *fault,
	     struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev,
	     struct iopf_group *group)
{
	reported_group = (__u64)group;
	reported_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("fentry/iopf_group_response")
int BPF_PROG(on_response, struct iopf_group *group, int status)
{
	__u64 d = bpf_ktime_get_ns() - reported_ns;
	__u32 i;

	if ((__u64)group != reported_group) {
		unmatched++;
		return 0;
	}
	reported_group = 0;
	i = nr_samples++;
	if (i < MAX_SAMPLES)
		samples[i] = d;
	return 0;
}
