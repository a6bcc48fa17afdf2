// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * windows: a device (or one PASID of it) may only fault inside the IOVA
 * windows configured for it; anything outside is answered INVALID at once,
 * inside goes to the fault fd. Devices with no window configured are not
 * governed: their faults go to the fault fd.
 */
#include "fault_policy.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct fault_dev_key);
	__type(value, struct fault_windows);
} windows SEC(".maps");

/* The exact PASID (or "no PASID") first, then the device's catch-all */
static struct fault_windows *windows_for(struct iommufd_fault_ctx *fc)
{
	struct fault_dev_key key = {
		.dev_id = fc->dev_id,
		.pasid = fc->pasid_valid ? fc->pasid : FAULT_PASID_NONE,
	};
	struct fault_windows *w = bpf_map_lookup_elem(&windows, &key);

	if (w)
		return w;
	key.pasid = FAULT_PASID_ANY;
	return bpf_map_lookup_elem(&windows, &key);
}

SEC("struct_ops/handle_fault")
int BPF_PROG(windows_handle_fault, struct iommufd_fault_ctx *fc)
{
	struct fault_windows *w = windows_for(fc);
	__u64 start = fc->addr, end = fc->addr + fc->length;
	__u32 i;

	if (!w) {
		policy_count(FAULT_STAT_UNGOVERNED);
		return policy_verdict(FAULT_DEFER);
	}
	for (i = 0; i < FAULT_MAX_WINDOWS && i < w->nr; i++) {
		if (start >= w->w[i].start && end <= w->w[i].end &&
		    end > start)
			return policy_verdict(FAULT_DEFER);
	}
	policy_count(FAULT_STAT_OUTSIDE);
	return policy_verdict(FAULT_INVALID);
}

SEC(".struct_ops.link")
struct iommufd_fault_ops windows_ops = {
	.handle_fault = (void *)windows_handle_fault,
	.exit = (void *)policy_exit,
	.name = "windows",
};
