// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Rejected: a policy without a GPL-compatible license (none at all here) */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("struct_ops/handle_fault")
int BPF_PROG(unlicensed, struct iommufd_fault_ctx *fc)
{
	return 0;
}

SEC(".struct_ops.link")
struct iommufd_fault_ops reject_ops = {
	.handle_fault = (void *)unlicensed,
	.name = "reject",
};
