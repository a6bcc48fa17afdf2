// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Rejected: a policy kfunc called from a tracing program */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern int bpf_iommufd_fault_iova_mapped(struct iommufd_fault_ctx *ctx,
					 __u64 iova, __u64 length,
					 __u32 perm) __ksym;

SEC("tp_btf/iommufd_fault_report")
int BPF_PROG(trace_report, struct iommufd_fault *fault)
{
	return bpf_iommufd_fault_iova_mapped((void *)fault, 0, 4096, 1);
}
