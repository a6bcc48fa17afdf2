// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * resolve-if-mapped: a fault on IOVA the IOAS already maps with the
 * permissions asked for raced a map (or hit a stale IOTLB entry); answer
 * SUCCESS so the device retries at once. Anything else goes to the fault fd.
 */
#include "fault_policy.bpf.h"

SEC("struct_ops/handle_fault")
int BPF_PROG(resolve_handle_fault, struct iommufd_fault_ctx *fc)
{
	int ret = bpf_iommufd_fault_iova_mapped(fc, fc->addr, fc->length,
						fc->perm);

	if (ret == 1) {
		policy_count(FAULT_STAT_MAPPED);
		return policy_verdict(FAULT_SUCCESS);
	}
	policy_count(ret == 0 ? FAULT_STAT_UNMAPPED :
		     ret == -16 /* EBUSY */ ? FAULT_STAT_BUSY :
					      FAULT_STAT_LOOKUP_ERROR);
	return policy_verdict(FAULT_DEFER);
}

SEC(".struct_ops.link")
struct iommufd_fault_ops resolve_ops = {
	.handle_fault = (void *)resolve_handle_fault,
	.exit = (void *)policy_exit,
	.name = "resolve",
};
