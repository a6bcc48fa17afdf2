/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * How long an I/O page fault group waits for its answer: the time of its
 * iommufd_fault_report, kept by group until iommufd_fault_respond takes it.
 * The LRU bounds groups never answered (their fault object destroyed).
 * Include after vmlinux.h.
 */
#ifndef IOMMUFD_BPF_FAULT_TIMES_BPF_H
#define IOMMUFD_BPF_FAULT_TIMES_BPF_H

#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);	/* struct iopf_group * */
	__type(value, __u64);	/* ns */
} fault_reported SEC(".maps");

/* At report: remember when; 0 or the map's error */
static __always_inline long fault_reported_now(struct iopf_group *group)
{
	__u64 key = (__u64)group, now = bpf_ktime_get_ns();

	return bpf_map_update_elem(&fault_reported, &key, &now, BPF_ANY);
}

/* At the answer: ns since the report, forgotten; 0 if the report was unseen */
static __always_inline __u64 fault_waited_ns(struct iopf_group *group)
{
	__u64 key = (__u64)group, *reported, waited;

	reported = bpf_map_lookup_elem(&fault_reported, &key);
	if (!reported)
		return 0;
	waited = bpf_ktime_get_ns() - *reported;
	bpf_map_delete_elem(&fault_reported, &key);
	return waited;
}

#endif /* IOMMUFD_BPF_FAULT_TIMES_BPF_H */
