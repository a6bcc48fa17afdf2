/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Aggregates iommufd_stats.bpf.c keeps in the kernel, read by
 * 'iommufd-bpf top', 'iommufd-bpf hist' and 'iommufd-bpf metrics'.
 * Every count is cumulative since the programs were loaded, over the life of
 * its object.
 */
#ifndef IOMMUFD_BPF_STATS_H
#define IOMMUFD_BPF_STATS_H

/*
 * Rows are kept per object of a context: an IOAS, a device, or (for the
 * histograms) a kind of operation. The context is the kernel's
 * iommufd_ctx::id, unique for the boot, so contexts whose object ids
 * collide (every VMM's first IOAS is 1) keep apart, and a context's rows go
 * when it does.
 *
 * A row's key is one word, the context's id above the object's: a table
 * lookup hashes and compares it in less time than two words (top's cost
 * per 4 KiB map+unmap, make bench: 1.100 with a 16-byte key, 1.091 with
 * this). Object ids are below 2^31 (iommufd allocates them so), which
 * leaves 33 bits for the context: the 8,589,934,591 first contexts of a
 * boot. A context past that is not counted, and counted as lost.
 */
#define STATS_KEY_ID_BITS	31
#define STATS_KEY_CTX_MAX	((1ull << (64 - STATS_KEY_ID_BITS)) - 1)

/* Whether context @ctx has rows: past the key's range it is not counted */
static inline bool stats_key_holds(__u64 ctx)
{
	return ctx <= STATS_KEY_CTX_MAX;
}

static inline __u64 stats_key(__u64 ctx, __u32 id)
{
	return ctx << STATS_KEY_ID_BITS | id;
}

static inline __u64 stats_key_ctx(__u64 key)
{
	return key >> STATS_KEY_ID_BITS;
}

static inline __u32 stats_key_id(__u64 key)
{
	return key & ((1u << STATS_KEY_ID_BITS) - 1);
}

struct stats_ioas {
	__s64 owner_tgid;	/* who issued the last counted operation */
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
	__u64 iotlb_waits;	/* hardware invalidations of its HWPTs' domains (VT-d) */
	__u64 iotlb_wait_ns;	/* and how long the CPU waited for them */
};

/*
 * Most IOAS count in a slot of an array (ioas_slots) instead of a row of
 * the hash (ioas_stats): an index where the hash costs a lookup (make
 * bench: the qi_wait program took 290 ns a wait with the hash, 127 with
 * the slot). A key has one slot, stats_ioas_slot_index(); an IOAS takes
 * it on its first count if it is free and the IOAS has no hash row, and
 * holds it until it is destroyed: the destroy moves the counts to the
 * retired table and frees the slot. An IOAS whose slot another holds
 * counts in the hash. Two CPUs counting a new IOAS at once may leave it in
 * both: a reader adds the two.
 *
 * The reader maps the array and reads a slot's key, its counts, then its
 * key again: a retire marks the slot retiring before it zeroes the counts,
 * so a read that saw the same key twice saw the IOAS's counts.
 */
struct stats_ioas_slot {
	__u64 key;		/* stats_key(), or free, or retiring */
	struct stats_ioas v;
};

#define STATS_IOAS_SLOT_FREE		0
/* Context 0 is no context (their ids count from 1): no key of an IOAS */
#define STATS_IOAS_SLOT_RETIRING	1
#define STATS_IOAS_SLOT_BITS		12
#define STATS_IOAS_SLOTS		(1 << STATS_IOAS_SLOT_BITS)

/*
 * The slot of @key: a multiplicative (Fibonacci) hash's top bits, masked
 * by @mask, the number of slots (a power of 2, at most 2^12) less 1
 */
static inline __u32 stats_ioas_slot_index(__u64 key, __u32 mask)
{
	return (key * 0x9e3779b97f4a7c15ull) >> (64 - STATS_IOAS_SLOT_BITS) &
	       mask;
}

struct stats_dev {
	__s64 owner_tgid;
	__u64 iopf_groups;	/* I/O page fault groups queued to userspace */
	__u64 iopf_success;	/* answers, by code, from userspace or a policy */
	__u64 iopf_invalid;
	__u64 iopf_failure;
	__u64 iopf_auto;	/* groups the kernel answered on detach/destroy */
	__u64 dma_faults;	/* unrecoverable DMA faults */
	__u64 pasid_attaches;	/* PASIDs attached (the RID's attach is not) */
	__u64 pasid_detaches;	/* PASIDs detached, unbind's included */
};

/* The pinned-bytes table's key: a tgid, padded to the row's alignment */
struct stats_owner_key {
	__s32 owner_tgid;
	__u32 pad;
};

/* Bytes a process (the one whose memory it is) pinned minus it unpinned */
struct stats_owner {
	__s64 pinned_bytes;
};

/*
 * Most processes count their pinned pages in a slot of an array instead
 * (owner_slots, the slot of tgid % STATS_OWNER_SLOTS): an index where the
 * hash costs a lookup. A slot is one word, the tgid above the pages, so it
 * changes hands only while it holds 0 pages, in the compare-and-exchange
 * of its new holder's first update: no count is lost or moves to another
 * process. A process whose slot another holds counts in the hash, and
 * stays there while it has a row; a reader adds the two. Tgids are below
 * 2^22 (PID_MAX_LIMIT); the pages, signed, take the other 42 bits.
 */
#define STATS_OWNER_SLOT_TGID_BITS	22
#define STATS_OWNER_SLOT_PAGE_BITS	(64 - STATS_OWNER_SLOT_TGID_BITS)

static inline __u64 stats_owner_slot(__s32 tgid, __s64 pages)
{
	return (__u64)tgid << STATS_OWNER_SLOT_PAGE_BITS |
	       ((__u64)pages & ((1ull << STATS_OWNER_SLOT_PAGE_BITS) - 1));
}

/* @slot with @delta more pages, its tgid unchanged */
static inline __u64 stats_owner_slot_add(__u64 slot, __s64 delta)
{
	const __u64 pages = (1ull << STATS_OWNER_SLOT_PAGE_BITS) - 1;

	return (slot & ~pages) | ((slot + (__u64)delta) & pages);
}

static inline __s32 stats_owner_slot_tgid(__u64 slot)
{
	return slot >> STATS_OWNER_SLOT_PAGE_BITS;
}

static inline __s64 stats_owner_slot_pages(__u64 slot)
{
	return (__s64)(slot << STATS_OWNER_SLOT_TGID_BITS) >>
	       STATS_OWNER_SLOT_TGID_BITS;
}

/* Log2 latency histograms: slot k counts durations in [2^k, 2^(k+1)) ns */
enum stats_hist_kind {
	STATS_HIST_MAP,		/* IOAS map, pinning and filling the domains */
	STATS_HIST_UNMAP,	/* IOAS unmap, including its IOTLB flushes */
	STATS_HIST_INVALIDATE,	/* user IOTLB invalidation of a nested HWPT */
	STATS_HIST_FAULT,	/* I/O page fault group, report to answer */
	STATS_HIST_COPY,	/* IOAS copy: sharing pinned pages, filling the domains */
	/* The fault-fd wait split at the VMM's read of the group */
	STATS_HIST_FAULT_QUEUE,	/* report to read: the VMM's wake-up */
	STATS_HIST_FAULT_HANDLE,	/* read to answer: the VMM's handling */
	STATS_HIST_IOTLB,	/* a hardware invalidation's wait (VT-d queue) */
	STATS_HIST_MAX,
};

#define STATS_HIST_SLOTS 36	/* the last, from 2^35 ns (34 s), is open-ended */

struct stats_hist {
	__s64 owner_tgid;
	__u64 slots[STATS_HIST_SLOTS];
	__u64 count;
	__u64 sum_ns;
};

/*
 * Table sizes. A live table holds a row per object that did something
 * since the programs were loaded, and loses it when the object is
 * destroyed: the row moves to the matching retired table, whose rows the
 * reader publishes once and deletes. README's "Memory" gives the bytes.
 */
#define STATS_IOAS_ROWS		16384
#define STATS_DEV_ROWS		8192
#define STATS_OWNER_ROWS	4096
#define STATS_OWNER_SLOTS	4096	/* a power of 2 */
#define STATS_HIST_ROWS		8192
#define STATS_RETIRED_ROWS	4096

/* Updates the BPF side could not record (a table was full), per table */
enum stats_lost {
	STATS_LOST_IOAS,
	STATS_LOST_DEV,
	STATS_LOST_OWNER,
	STATS_LOST_HIST,
	STATS_LOST_FAULT_TIMES,
	STATS_LOST_RETIRED,	/* final values of a destroyed object */
	STATS_LOST_MAX,
};

#endif /* IOMMUFD_BPF_STATS_H */
