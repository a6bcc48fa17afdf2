/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * iommufd_dirty: records and maps shared by iommufd_dirty.bpf.c and its
 * loaders (iommufd-bpf dirty, the dirty tests and the dirty benchmark).
 */
#ifndef IOMMUFD_BPF_DIRTY_H
#define IOMMUFD_BPF_DIRTY_H

/* Default aggregation granule: 2 MiB regions of IOVA */
#define IOMMUFD_DIRTY_REGION_SHIFT	21

/* A HWPT as userspace names it: ids are per iommufd context */
struct iommufd_dirty_hwpt_key {
	__s32 owner_tgid;
	__u32 hwpt_id;
};

/* Dirty bitmap bits seen in one region of one HWPT, since load */
struct iommufd_dirty_region_key {
	__s32 owner_tgid;
	__u32 hwpt_id;
	__u64 region;		/* iova >> region_shift */
};

/* Per-HWPT totals since load */
struct iommufd_dirty_hwpt_stats {
	__u64 harvests;		/* IOMMU_HWPT_GET_DIRTY_BITMAP calls seen */
	__u64 errors;		/* ... that failed */
	__u64 range_bits;	/* bits of the iommufd_dirty_range runs */
	__u64 ranges;		/* iommufd_dirty_range runs */
	__u64 driver_bits;	/* the driver's own count (iommufd_dirty_read) */
	__u64 scanned_bytes;	/* IOVA bytes asked for */
	__u64 duration_ns;	/* time spent reading */
	__u64 flushes;		/* IOTLB flushes after clearing */
	__u64 flushed_bytes;	/* ... and the IOVA span they covered */
	__u32 ioas_id;
	__u32 pad;
};

/* One ring-buffer record per harvest (IOMMU_HWPT_GET_DIRTY_BITMAP call) */
struct iommufd_dirty_harvest {
	__u64 seq;		/* 1, 2, ...: a gap means records were dropped */
	__u64 ts_ns;		/* bpf_ktime_get_ns() at the end */
	__s32 owner_tgid;
	__u32 hwpt_id;
	__u32 ioas_id;
	__u32 flags;
	__u64 iova;
	__u64 length;
	__u64 page_size;
	__u64 range_bits;	/* bits of this call's dirty runs */
	__u64 ranges;
	__u64 driver_bits;
	__u64 duration_ns;
	__u64 flushes;
	__u64 flushed_bytes;
	__s32 ret;
	__u32 absent;		/* enum iommufd_dirty_absent: fields not known */
};

/*
 * What a harvest record cannot know where the series' events are missing
 * (the fallback: fentry/fexit on the ioctl handler and iova_bitmap_set)
 */
enum iommufd_dirty_absent {
	IOMMUFD_DIRTY_ABSENT_IOAS = 1 << 0,		/* ioas_id */
	IOMMUFD_DIRTY_ABSENT_DRIVER_BITS = 1 << 1,	/* driver_bits */
	IOMMUFD_DIRTY_ABSENT_FLUSHES = 1 << 2,		/* flushes, flushed_bytes */
};

/* Counters (per-CPU array 'counters'): produced = delivered + dropped + filtered */
enum iommufd_dirty_counter {
	IOMMUFD_DIRTY_CNT_PRODUCED,	/* harvests seen from begin to end */
	IOMMUFD_DIRTY_CNT_FILTERED,	/* ... not matching the filters */
	IOMMUFD_DIRTY_CNT_DROPPED,	/* ... lost to a full ring buffer */
	IOMMUFD_DIRTY_CNT_REGION_LOST,	/* bits not aggregated: region map full */
	IOMMUFD_DIRTY_CNT_STRAY_RANGES,	/* runs of no harvest in progress (VFIO
					 * device trackers, reads begun before load) */
	IOMMUFD_DIRTY_CNT_UNTRACKED,	/* harvests not followed: in-progress map full */
	IOMMUFD_DIRTY_CNT_MAX,
};

#endif
