// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A fault policy the tests and the benchmark steer at run time: it returns
 * whatever "verdict" holds (garbage included), ejects itself after
 * "eject_after" groups, spins "spin_ns" in each call (a policy that stalls),
 * and keeps the last context it saw for field checks.
 */
#include "fault_policy.bpf.h"
#include "fault_test_policy.h"

int verdict;			/* returned as is */
__u64 eject_after;		/* 0: never */
__u64 spin_ns;			/* 0: answer at once */
__u64 calls;
struct seen_ctx last;		/* the last group's context */

static long spin_until(__u64 i, void *deadline)
{
	return bpf_ktime_get_ns() >= *(__u64 *)deadline;
}

SEC("struct_ops/handle_fault")
int BPF_PROG(test_handle_fault, struct iommufd_fault_ctx *fc)
{
	__u64 n = __sync_fetch_and_add(&calls, 1) + 1;

	last.fault_id = fc->fault_id;
	last.dev_id = fc->dev_id;
	last.hwpt_id = fc->hwpt_id;
	last.ioas_id = fc->ioas_id;
	last.owner_tgid = fc->owner_tgid;
	last.pasid = fc->pasid;
	last.pasid_valid = fc->pasid_valid;
	last.grpid = fc->grpid;
	last.nr_faults = fc->nr_faults;
	last.perm = fc->perm;
	last.addr = fc->addr;
	last.length = fc->length;

	policy_count(FAULT_STAT_GROUPS);
	if (spin_ns) {
		__u64 deadline = bpf_ktime_get_ns() + spin_ns;

		bpf_loop(1 << 23, spin_until, &deadline, 0);
	}
	if (eject_after && n >= eject_after) {
		bpf_iommufd_fault_eject(fc, "test policy gave up");
		/* the kernel must not trust this any more */
		return FAULT_SUCCESS;
	}
	return verdict;
}

SEC(".struct_ops.link")
struct iommufd_fault_ops test_ops = {
	.handle_fault = (void *)test_handle_fault,
	.exit = (void *)policy_exit,
	.name = "test",
};
