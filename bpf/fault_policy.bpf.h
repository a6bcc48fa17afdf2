/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every fault policy program has: its counters, its exit record and
 * the exit op filling it (sched_ext's exit-info model: the kernel says why,
 * the program keeps it where the loader can read it, pinned or not).
 */
#ifndef IOMMUFD_BPF_FAULT_POLICY_BPF_H
#define IOMMUFD_BPF_FAULT_POLICY_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "fault_policy.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern int bpf_iommufd_fault_iova_mapped(struct iommufd_fault_ctx *ctx,
					 __u64 iova, __u64 length,
					 __u32 perm) __ksym;
extern void bpf_iommufd_fault_eject(struct iommufd_fault_ctx *ctx,
				    const char *reason) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FAULT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fault_policy_exit);
} exit_rec SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fault_policy_info);
} info SEC(".maps");

static __always_inline void policy_count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &stat);

	if (v)
		(*v)++;
}

/* Count the group and its verdict; returns the verdict */
static __always_inline int policy_verdict(int verdict)
{
	policy_count(FAULT_STAT_GROUPS);
	policy_count(verdict == FAULT_SUCCESS ? FAULT_STAT_SUCCESS :
		     verdict == FAULT_INVALID ? FAULT_STAT_INVALID :
						FAULT_STAT_DEFER);
	return verdict;
}

SEC("struct_ops/exit")
void BPF_PROG(policy_exit, struct iommufd_fault_exit_info *info)
{
	__u32 zero = 0;
	struct fault_policy_exit *rec = bpf_map_lookup_elem(&exit_rec, &zero);

	if (!rec)
		return;
	bpf_probe_read_kernel_str(rec->reason, sizeof(rec->reason),
				  info->reason);
	rec->verdict = info->verdict;
	rec->groups = info->groups;
	rec->clamped = info->clamped;
	rec->time_ns = bpf_ktime_get_ns();
	/* last: readers take a non-zero kind as "the record is complete" */
	rec->kind = info->kind;
}

#endif
