// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd_dirty: aggregate dirty-bitmap harvests in the kernel.
 *
 * IOMMU_HWPT_GET_DIRTY_BITMAP emits iommufd_dirty_read_begin, then one
 * iommufd_dirty_range per run of dirty IOVA the IOMMU driver reports, then
 * iommufd_dirty_read. Every one of them names the context's owner and the
 * HWPT, so the harvest in progress is kept per (owner, HWPT), whichever
 * task runs the walk: each run is counted into its HWPT's 2 MiB (by
 * default) regions and the IOTLB flush (iommufd_dirty_flush) into the
 * harvest's cost; the end event adds the harvest to the HWPT's totals and
 * sends one record per harvest. Runs of no harvest in progress (VFIO
 * devices' own trackers report with HWPT 0) are counted, not aggregated.
 *
 * Runs arrive in IOVA order, so the current region's count is kept with
 * the harvest and added to the region map once per region, not per run.
 * Two concurrent reads of one HWPT (no VMM does that) would share it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "iommufd_dirty.h"
#include "iommufd_objects.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set between open and load; 0 means "any" */
const volatile __s32 filter_owner_tgid;
const volatile __u32 filter_hwpt_id;
const volatile __u32 region_shift = IOMMUFD_DIRTY_REGION_SHIFT;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} harvests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IOMMUFD_DIRTY_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct iommufd_dirty_hwpt_key);
	__type(value, struct iommufd_dirty_hwpt_stats);
} hwpts SEC(".maps");

/* 65536 regions: 128 GiB of IOVA at 2 MiB */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct iommufd_dirty_region_key);
	__type(value, __u64);
} regions SEC(".maps");

/* A harvest in progress, between begin and end */
struct harvest_state {
	__s32 owner_tgid;
	__u32 hwpt_id;
	__u32 filtered;
	__u32 pad;
	__u64 region;		/* region being counted ... */
	__u64 region_bits;	/* ... and its bits not yet in 'regions' */
	__u64 range_bits;
	__u64 ranges;
	__u64 flushes;
	__u64 flushed_bytes;
	__u64 run_end;		/* IOVA where the last run ended */
	__u64 bit_end;		/* past the last bit counted; 0: none yet */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct iommufd_dirty_hwpt_key);
	__type(value, struct harvest_state);
} in_progress SEC(".maps");

__u64 next_seq;

static __always_inline void count(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		*v += n;
}

static void region_add(__s32 owner_tgid, __u32 hwpt_id, __u64 region,
		       __u64 bits)
{
	struct iommufd_dirty_region_key key = {
		.owner_tgid = owner_tgid,
		.hwpt_id = hwpt_id,
		.region = region,
	};
	__u64 *v;

	v = bpf_map_lookup_elem(&regions, &key);
	if (!v) {
		/* Another CPU may insert the same key first: then add to it */
		if (!bpf_map_update_elem(&regions, &key, &bits, BPF_NOEXIST))
			return;
		v = bpf_map_lookup_elem(&regions, &key);
		if (!v) {
			count(IOMMUFD_DIRTY_CNT_REGION_LOST, bits);
			return;
		}
	}
	__sync_fetch_and_add(v, bits);
}

static void region_commit(struct harvest_state *st)
{
	if (!st->region_bits)
		return;
	region_add(st->owner_tgid, st->hwpt_id, st->region, st->region_bits);
	st->region_bits = 0;
}

/* A harvest of @owner_tgid's HWPT @hwpt_id begins */
static __always_inline int harvest_begin(__s32 owner_tgid, __u32 hwpt_id)
{
	struct harvest_state st = {
		.owner_tgid = owner_tgid,
		.hwpt_id = hwpt_id,
	};
	struct iommufd_dirty_hwpt_key key = {
		.owner_tgid = owner_tgid,
		.hwpt_id = hwpt_id,
	};

	st.filtered =
		(filter_owner_tgid && st.owner_tgid != filter_owner_tgid) ||
		(filter_hwpt_id && st.hwpt_id != filter_hwpt_id);
	/* Replaces the state of a read that never ended (it failed early) */
	if (bpf_map_update_elem(&in_progress, &key, &st, BPF_ANY))
		count(IOMMUFD_DIRTY_CNT_UNTRACKED, 1);
	return 0;
}

SEC("tp_btf/iommufd_dirty_read_begin")
int BPF_PROG(dirty_begin, struct iommufd_ctx *ictx,
	     struct iommufd_hwpt_paging *hwpt_paging, u64 iova, u64 length,
	     u64 page_size, u32 flags)
{
	return harvest_begin(ctx_owner(ictx), hwpt_paging->common.obj.id);
}

struct span_ctx {
	__s32 owner_tgid;
	__u32 hwpt_id;
	__u64 first_region;
	__u64 bits_per_region;
};

/* A run covering whole regions: add each full region (bpf_loop callback) */
static long add_full_region(__u64 i, struct span_ctx *c)
{
	region_add(c->owner_tgid, c->hwpt_id, c->first_region + i,
		   c->bits_per_region);
	return 0;
}

/* The harvest of (owner, hwpt) in progress, or NULL */
static __always_inline struct harvest_state *harvest_of(__s32 owner_tgid,
							__u32 hwpt_id)
{
	struct iommufd_dirty_hwpt_key key = {
		.owner_tgid = owner_tgid,
		.hwpt_id = hwpt_id,
	};

	return bpf_map_lookup_elem(&in_progress, &key);
}

/*
 * A run of dirty IOVA in harvest @st, @pgshift the bitmap's page shift:
 * into its bits, its run count and its regions
 */
static __always_inline int range_add(struct harvest_state *st,
				     unsigned long iova, unsigned long length,
				     unsigned long pgshift)
{
	__u64 first, last, rshift, r_first, r_last, bits;
	struct span_ctx span;

	if (st->filtered || !length || pgshift > 63)
		return 0;

	first = iova >> pgshift;
	last = (iova + length - 1) >> pgshift;
	/* Drivers report IOPTE by IOPTE: adjacent ones are one run */
	if (!st->ranges || iova != st->run_end)
		st->ranges++;
	st->run_end = iova + length;
	/*
	 * Runs come in IOVA order, and IOPTEs smaller than a bitmap page
	 * share its bit: count each bit once, as the bitmap holds it
	 */
	if (st->bit_end && first < st->bit_end)
		first = st->bit_end;
	if (first > last)
		return 0;
	st->bit_end = last + 1;
	bits = last - first + 1;
	st->range_bits += bits;

	/* Regions count bitmap bits; a region is at least one bit wide */
	rshift = region_shift > pgshift ? region_shift - pgshift : 0;
	r_first = first >> rshift;
	r_last = last >> rshift;
	if (r_first == r_last) {
		if (st->region_bits && st->region != r_first)
			region_commit(st);
		st->region = r_first;
		st->region_bits += bits;
		return 0;
	}

	/* The run crosses regions: head, whole regions, then tail */
	if (st->region_bits && st->region != r_first)
		region_commit(st);
	st->region = r_first;
	st->region_bits += ((r_first + 1) << rshift) - first;
	region_commit(st);
	if (r_last - r_first > 1) {
		span.owner_tgid = st->owner_tgid;
		span.hwpt_id = st->hwpt_id;
		span.first_region = r_first + 1;
		span.bits_per_region = 1ULL << rshift;
		bpf_loop(r_last - r_first - 1, add_full_region, &span, 0);
	}
	st->region = r_last;
	st->region_bits = last - (r_last << rshift) + 1;
	return 0;
}

SEC("tp_btf/iommufd_dirty_range")
int BPF_PROG(dirty_range, pid_t tgid, u32 hwpt_id, unsigned long iova,
	     unsigned long length, unsigned long pgshift)
{
	struct harvest_state *st;

	st = hwpt_id ? harvest_of(tgid, hwpt_id) : NULL;
	if (!st) {
		count(IOMMUFD_DIRTY_CNT_STRAY_RANGES, 1);
		return 0;
	}
	return range_add(st, iova, length, pgshift);
}

SEC("tp_btf/iommufd_dirty_flush")
int BPF_PROG(dirty_flush, struct iommufd_ctx *ictx, u32 hwpt_id,
	     struct iommu_domain *domain, unsigned long iova,
	     unsigned long length)
{
	struct harvest_state *st = harvest_of(ctx_owner(ictx), hwpt_id);

	if (!st || st->filtered)
		return 0;
	st->flushes++;
	st->flushed_bytes += length;
	return 0;
}

/* What a harvest's end knows; fields in @absent are unknown */
struct harvest_end_info {
	__u32 ioas_id;
	__u32 flags;
	__u64 iova;
	__u64 length;
	__u64 page_size;
	__u64 dirty;		/* the driver's own count */
	__u64 duration_ns;
	__u32 absent;		/* enum iommufd_dirty_absent */
	int ret;
};

/*
 * The harvest of (@owner_tgid, @hwpt_id) ended: add it to its HWPT's totals
 * and send its record
 */
static __always_inline int harvest_end(__s32 owner_tgid, __u32 hwpt_id,
				       const struct harvest_end_info *in)
{
	struct iommufd_dirty_hwpt_key key = {
		.owner_tgid = owner_tgid,
		.hwpt_id = hwpt_id,
	};
	struct iommufd_dirty_hwpt_stats *s, zero = {};
	struct iommufd_dirty_harvest *h;
	struct harvest_state *st, done;

	/* A harvest that began before the programs were attached is skipped */
	st = bpf_map_lookup_elem(&in_progress, &key);
	if (!st)
		return 0;
	region_commit(st);
	done = *st;
	bpf_map_delete_elem(&in_progress, &key);
	st = &done;
	count(IOMMUFD_DIRTY_CNT_PRODUCED, 1);
	if (st->filtered) {
		count(IOMMUFD_DIRTY_CNT_FILTERED, 1);
		return 0;
	}

	s = bpf_map_lookup_elem(&hwpts, &key);
	if (!s) {
		zero.ioas_id = in->ioas_id;
		bpf_map_update_elem(&hwpts, &key, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&hwpts, &key);
	}
	if (s) {
		__sync_fetch_and_add(&s->harvests, 1);
		if (in->ret)
			__sync_fetch_and_add(&s->errors, 1);
		__sync_fetch_and_add(&s->range_bits, st->range_bits);
		__sync_fetch_and_add(&s->ranges, st->ranges);
		__sync_fetch_and_add(&s->driver_bits, in->dirty);
		__sync_fetch_and_add(&s->scanned_bytes, in->length);
		__sync_fetch_and_add(&s->duration_ns, in->duration_ns);
		__sync_fetch_and_add(&s->flushes, st->flushes);
		__sync_fetch_and_add(&s->flushed_bytes, st->flushed_bytes);
	}

	h = bpf_ringbuf_reserve(&harvests, sizeof(*h), 0);
	if (!h) {
		count(IOMMUFD_DIRTY_CNT_DROPPED, 1);
		/* Burn a sequence number so the consumer sees the gap */
		__sync_fetch_and_add(&next_seq, 1);
		return 0;
	}
	__builtin_memset(h, 0, sizeof(*h));
	h->seq = __sync_fetch_and_add(&next_seq, 1) + 1;
	h->ts_ns = bpf_ktime_get_ns();
	h->owner_tgid = st->owner_tgid;
	h->hwpt_id = st->hwpt_id;
	h->ioas_id = in->ioas_id;
	h->flags = in->flags;
	h->iova = in->iova;
	h->length = in->length;
	h->page_size = in->page_size;
	h->range_bits = st->range_bits;
	h->ranges = st->ranges;
	h->driver_bits = in->dirty;
	h->duration_ns = in->duration_ns;
	h->flushes = st->flushes;
	h->flushed_bytes = st->flushed_bytes;
	h->ret = in->ret;
	h->absent = in->absent;
	bpf_ringbuf_submit(h, 0);
	return 0;
}

SEC("tp_btf/iommufd_dirty_read")
int BPF_PROG(dirty_end, struct iommufd_ctx *ictx,
	     struct iommufd_hwpt_paging *hwpt_paging, u64 iova, u64 length,
	     u64 page_size, u32 flags, u64 dirty, u64 duration_ns, int ret)
{
	struct harvest_end_info in = {
		.ioas_id = hwpt_paging->ioas->obj.id,
		.flags = flags,
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.dirty = dirty,
		.duration_ns = duration_ns,
		.ret = ret,
	};

	return harvest_end(ctx_owner(ictx), hwpt_paging->common.obj.id, &in);
}

#include "iommufd_dirty_fallback.bpf.h"
