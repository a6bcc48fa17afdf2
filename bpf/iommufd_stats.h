/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Aggregates iommufd_stats.bpf.c keeps in the kernel, read by
 * 'iommufd-bpf top', 'iommufd-bpf hist' and 'iommufd-bpf metrics'.
 * Every count is cumulative since the programs were loaded; per-CPU values
 * are summed by the reader.
 */
#ifndef IOMMUFD_BPF_STATS_H
#define IOMMUFD_BPF_STATS_H

/* An IOAS of one context (owner: the tgid that last issued an ioctl on it) */
struct stats_ioas_key {
	__s32 owner_tgid;
	__u32 ioas_id;
};

struct stats_ioas {
	__u64 maps;		/* IOMMU_IOAS_MAP / VFIO_IOMMU_MAP_DMA that succeeded */
	__u64 map_bytes;
	__u64 unmaps;		/* unmaps that succeeded */
	__u64 unmap_bytes;
	__u64 copies;		/* IOMMU_IOAS_COPY into this IOAS that succeeded */
	__u64 copy_bytes;
	__u64 errors;		/* maps, unmaps, copies, invalidations that failed */
	__u64 domain_unmaps;	/* IOVA areas unmapped from a domain, one IOTLB flush each */
	__u64 domain_unmap_bytes;
	__u64 invalidations;	/* IOMMU_HWPT_INVALIDATE on HWPTs over this IOAS */
};

/* A device of one context */
struct stats_dev_key {
	__s32 owner_tgid;
	__u32 dev_id;
};

struct stats_dev {
	__u64 iopf_groups;	/* I/O page fault groups queued to userspace */
	__u64 iopf_success;	/* answers, by code, from userspace or a policy */
	__u64 iopf_invalid;
	__u64 iopf_failure;
	__u64 iopf_auto;	/* groups the kernel answered on detach/destroy */
	__u64 dma_faults;	/* unrecoverable DMA faults */
};

/* Bytes a context pinned minus bytes it unpinned */
struct stats_owner {
	__s64 pinned_bytes;
};

/*
 * The busiest rows (IOAS, owner: updated on every map and unmap) live first
 * in a per-CPU direct-mapped table, whose lookup the verifier inlines: a
 * key takes slot stats_fast_slot() of the CPU that first counts it there,
 * and goes to the hash when another key holds that slot. A key may so have
 * a slot on some CPUs and a hash entry on others; readers add all up.
 */
#define STATS_FAST_SLOTS 512

static inline __u32 stats_fast_slot(__s32 owner, __u32 id)
{
	return ((__u32)owner * 2654435761u ^ id * 40503u) & (STATS_FAST_SLOTS - 1);
}

struct stats_ioas_slot {
	struct stats_ioas_key key;
	__u64 used;
	struct stats_ioas v;
};

struct stats_owner_slot {
	__s32 owner_tgid;
	__u32 used;
	struct stats_owner v;
};

/* Log2 latency histograms: slot k counts durations in [2^k, 2^(k+1)) ns */
enum stats_hist_kind {
	STATS_HIST_MAP,		/* IOAS map, pinning and filling the domains */
	STATS_HIST_UNMAP,	/* IOAS unmap, including its IOTLB flushes */
	STATS_HIST_INVALIDATE,	/* user IOTLB invalidation of a nested HWPT */
	STATS_HIST_FAULT,	/* I/O page fault group, report to answer */
	STATS_HIST_COPY,	/* IOAS copy: sharing pinned pages, filling the domains */
	STATS_HIST_MAX,
};

#define STATS_HIST_SLOTS 36	/* the last, from 2^35 ns (34 s), is open-ended */

struct stats_hist_key {
	__s32 owner_tgid;
	__u32 kind;		/* enum stats_hist_kind */
};

struct stats_hist {
	__u64 slots[STATS_HIST_SLOTS];
	__u64 count;
	__u64 sum_ns;
};

/* Updates the BPF side could not record (a table was full), per table */
enum stats_lost {
	STATS_LOST_IOAS,
	STATS_LOST_DEV,
	STATS_LOST_OWNER,
	STATS_LOST_HIST,
	STATS_LOST_FAULT_TIMES,
	STATS_LOST_MAX,
};

#endif /* IOMMUFD_BPF_STATS_H */
