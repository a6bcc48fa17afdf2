// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Rejected: a policy writing to its read-only context */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/handle_fault")
int BPF_PROG(write_ctx, struct iommufd_fault_ctx *fc)
{
	fc->addr = 0;
	return 0;
}

SEC(".struct_ops.link")
struct iommufd_fault_ops reject_ops = {
	.handle_fault = (void *)write_ctx,
	.name = "reject",
};
