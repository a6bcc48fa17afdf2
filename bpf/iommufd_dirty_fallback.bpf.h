/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The harvests' fallback for kernels without the iommufd-bpf series:
 * fentry/fexit on the IOMMU_HWPT_GET_DIRTY_BITMAP handler begin and end a
 * harvest, and fentry on iova_bitmap_set(), where IOMMU drivers record each
 * dirty IOPTE into the user's bitmap, counts its runs into the same state,
 * regions and records as the series' events. Included by
 * iommufd_dirty.bpf.c; not loaded unless asked for ("?" sections, dirty.c).
 *
 * The walk runs in the caller's thread, so the thread ties the driver's
 * calls to its harvest; a VFIO device's own tracker records into a bitmap
 * outside any harvest and counts as a stray run. What the record cannot
 * know is flagged absent: the IOAS (the handler sees a HWPT id only), the
 * driver's own count and the IOTLB flushes. The owner is the caller; the
 * duration spans the whole handler.
 */
#ifndef IOMMUFD_BPF_DIRTY_FALLBACK_BPF_H
#define IOMMUFD_BPF_DIRTY_FALLBACK_BPF_H

/* A harvest ioctl on this thread, from its entry to its exit */
struct harvest_call {
	__s32 owner_tgid;
	__u32 hwpt_id;
	__u64 ts_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct harvest_call);
} harvest_calls SEC(".maps");

SEC("?fentry/iommufd_hwpt_get_dirty_bitmap")
int BPF_PROG(fallback_dirty_begin, struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd =
		bpf_core_cast(ucmd->cmd, struct iommu_hwpt_get_dirty_bitmap);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct harvest_call call = {
		.owner_tgid = bpf_get_current_pid_tgid() >> 32,
		.hwpt_id = cmd->hwpt_id,
		.ts_ns = bpf_ktime_get_ns(),
	};

	if (bpf_map_update_elem(&harvest_calls, &tid, &call, BPF_ANY)) {
		count(IOMMUFD_DIRTY_CNT_UNTRACKED, 1);
		return 0;
	}
	return harvest_begin(call.owner_tgid, call.hwpt_id);
}

/*
 * A dirty IOPTE recorded into a bitmap. Drivers record whole IOPTEs: only
 * the part inside the range the bitmap covers is set.
 */
SEC("?fentry/iova_bitmap_set")
int BPF_PROG(fallback_dirty_range, struct iova_bitmap *bitmap,
	     unsigned long iova, size_t length)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	unsigned long first = bitmap->iova, last, end;
	struct harvest_state *st = NULL;
	struct harvest_call *call;

	call = bpf_map_lookup_elem(&harvest_calls, &tid);
	if (call)
		st = harvest_of(call->owner_tgid, call->hwpt_id);
	if (!st) {
		count(IOMMUFD_DIRTY_CNT_STRAY_RANGES, 1);
		return 0;
	}
	if (!length || !bitmap->length)
		return 0;
	last = first + bitmap->length - 1;
	end = iova + length - 1;
	if (iova > last || end < first)
		return 0;
	if (iova < first)
		iova = first;
	if (end > last)
		end = last;
	return range_add(st, iova, end - iova + 1, bitmap->mapped.pgshift);
}

SEC("?fexit/iommufd_hwpt_get_dirty_bitmap")
int BPF_PROG(fallback_dirty_end, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd =
		bpf_core_cast(ucmd->cmd, struct iommu_hwpt_get_dirty_bitmap);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct harvest_end_info in = {
		.flags = cmd->flags,
		.iova = cmd->iova,
		.length = cmd->length,
		.page_size = cmd->page_size,
		.ret = ret,
		.absent = IOMMUFD_DIRTY_ABSENT_IOAS |
			  IOMMUFD_DIRTY_ABSENT_DRIVER_BITS |
			  IOMMUFD_DIRTY_ABSENT_FLUSHES,
	};
	struct harvest_call *found, call;

	found = bpf_map_lookup_elem(&harvest_calls, &tid);
	if (!found)
		return 0;
	call = *found;
	bpf_map_delete_elem(&harvest_calls, &tid);
	in.duration_ns = bpf_ktime_get_ns() - call.ts_ns;
	return harvest_end(call.owner_tgid, call.hwpt_id, &in);
}

#endif /* IOMMUFD_BPF_DIRTY_FALLBACK_BPF_H */
