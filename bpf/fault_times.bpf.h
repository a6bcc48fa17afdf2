/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * How long an I/O page fault group waits for its answer, in two steps: in
 * the queue until the VMM reads it from the fault fd, then in the VMM until
 * it answers. The times of its iommufd_fault_report and iommufd_fault_read
 * are kept by group until iommufd_fault_respond takes them. A group's read
 * and answer both run under its fault->mutex, so one CPU at a time writes
 * its entry. The LRU bounds groups never answered (their fault object
 * destroyed). Include after vmlinux.h.
 */
#ifndef IOMMUFD_BPF_FAULT_TIMES_BPF_H
#define IOMMUFD_BPF_FAULT_TIMES_BPF_H

#include <bpf/bpf_helpers.h>

struct fault_times {
	__u64 reported_ns;
	__u64 read_ns;		/* 0 until the group is read */
	__u64 fault;		/* struct iommufd_fault * it was reported to */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);	/* struct iopf_group * */
	__type(value, struct fault_times);
} fault_times SEC(".maps");

/* A group's wait, split at its read; a step not seen is 0 */
struct fault_wait {
	__u64 total_ns;		/* report to answer */
	__u64 queued_ns;	/* report to read */
	__u64 handled_ns;	/* read to answer */
	bool read;		/* the read was seen: the two steps are known */
};

/* At report to @fault: remember when; 0 or the map's error */
static __always_inline long fault_reported_now(struct iopf_group *group,
					       struct iommufd_fault *fault)
{
	struct fault_times t = {
		.reported_ns = bpf_ktime_get_ns(), .fault = (__u64)fault,
	};
	__u64 key = (__u64)group;

	return bpf_map_update_elem(&fault_times, &key, &t, BPF_ANY);
}

/* At read: remember when; ns since the report, 0 if the report was unseen */
static __always_inline __u64 fault_read_now(struct iopf_group *group)
{
	__u64 key = (__u64)group, now = bpf_ktime_get_ns();
	struct fault_times *t;

	t = bpf_map_lookup_elem(&fault_times, &key);
	if (!t)
		return 0;
	t->read_ns = now;
	return now - t->reported_ns;
}

/* At the answer: the wait and its two steps, forgotten */
static __always_inline void fault_waited(struct iopf_group *group,
					 struct fault_wait *w)
{
	__u64 key = (__u64)group, now = bpf_ktime_get_ns();
	struct fault_times *t;

	w->total_ns = w->queued_ns = w->handled_ns = 0;
	w->read = false;
	t = bpf_map_lookup_elem(&fault_times, &key);
	if (!t)
		return;
	w->total_ns = now - t->reported_ns;
	if (t->read_ns) {
		w->queued_ns = t->read_ns - t->reported_ns;
		w->handled_ns = now - t->read_ns;
		w->read = true;
	}
	bpf_map_delete_elem(&fault_times, &key);
}

#endif /* IOMMUFD_BPF_FAULT_TIMES_BPF_H */
