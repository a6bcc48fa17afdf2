// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Rejected: a sleepable handle_fault (it runs where sleeping is not allowed) */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops.s/handle_fault")
int BPF_PROG(sleepy, struct iommufd_fault_ctx *fc)
{
	return 0;
}

SEC(".struct_ops.link")
struct iommufd_fault_ops reject_ops = {
	.handle_fault = (void *)sleepy,
	.name = "reject",
};
