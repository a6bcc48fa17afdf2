// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rejected: a policy reading past its context, where the kernel keeps the
 * HWPT and policy pointers the kfuncs use
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/handle_fault")
int BPF_PROG(read_private, struct iommufd_fault_ctx *fc)
{
	return *(__u64 *)((char *)fc + sizeof(*fc)) ? 1 : 0;
}

SEC(".struct_ops.link")
struct iommufd_fault_ops reject_ops = {
	.handle_fault = (void *)read_private,
	.name = "reject",
};
