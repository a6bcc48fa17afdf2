// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd_stats: iommufd activity aggregated in the kernel, per context,
 * IOAS and device, with log2 latency histograms. Nothing is sent per
 * operation: userspace reads the tables when it wants a view ('top') or a
 * scrape ('metrics'). The lifecycle events retire the rows of what is
 * destroyed, so the tables hold what is alive.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "iommufd_objects.bpf.h"
#include "fault_times.bpf.h"
#include "iommufd_stats.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Fill the latency histograms (costs a lookup per timed operation) */
const volatile bool collect_latency;
/* The kernel's PAGE_SHIFT, which counts pinned pages: set by the loader */
const volatile __u32 page_shift = 12;
/* Only contexts owned by this tgid; 0 means any */
const volatile __s32 filter_owner_tgid;

/*
 * One row per object, shared by all CPUs and updated with atomic adds: a
 * per-CPU table would multiply its memory by the CPUs (a 256-CPU host),
 * while rows of one object are rarely updated by two CPUs at once, as
 * its operations serialize in the kernel anyway. Preallocated, so an
 * update never allocates. The loader shrinks hist tables to one row when
 * latency is not collected. A per-CPU direct-mapped table in front of the
 * IOAS and pinned-bytes rows (retired by folding every CPU's slot at
 * destroy) made a map+unmap pair slower, not faster: 1.1325 against
 * 1.1014 times a pair without programs (make bench, -icount), so rows are
 * in the hashes only.
 */
#define STATS_TABLE(name, key_t, value_t, entries)			\
	struct {							\
		__uint(type, BPF_MAP_TYPE_HASH);			\
		__uint(max_entries, entries);				\
		__type(key, key_t);					\
		__type(value, value_t);					\
	} name SEC(".maps")

STATS_TABLE(ioas_stats, __u64, struct stats_ioas, STATS_IOAS_ROWS);
STATS_TABLE(dev_stats, __u64, struct stats_dev, STATS_DEV_ROWS);
STATS_TABLE(hist_stats, __u64, struct stats_hist, STATS_HIST_ROWS);
STATS_TABLE(owner_stats, struct stats_owner_key, struct stats_owner,
	    STATS_OWNER_ROWS);
/* The final values of destroyed objects, until the reader publishes them */
STATS_TABLE(ioas_retired, __u64, struct stats_ioas, STATS_RETIRED_ROWS);
STATS_TABLE(dev_retired, __u64, struct stats_dev, STATS_RETIRED_ROWS);
STATS_TABLE(hist_retired, __u64, struct stats_hist, STATS_RETIRED_ROWS);

/* IOAS rows in front of the hash (iommufd_stats.h); the reader maps it */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, STATS_IOAS_SLOTS);
	__type(key, __u32);
	__type(value, struct stats_ioas_slot);
} ioas_slots SEC(".maps");
/* Their number less 1: the loader sets this with the table size */
const volatile __u32 ioas_slot_mask = STATS_IOAS_SLOTS - 1;

/* Pinned pages per process: stats_owner_slot() words (iommufd_stats.h) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STATS_OWNER_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} owner_slots SEC(".maps");
/* A tgid's slot is its low bits: the loader sets this with the table size */
const volatile __u32 owner_slot_mask = STATS_OWNER_SLOTS - 1;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STATS_LOST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static const struct stats_ioas zero_ioas;
static const struct stats_dev zero_dev;
static const struct stats_owner zero_owner;
static const struct stats_hist zero_hist;

#define count_add(field, n) __sync_fetch_and_add(&(field), n)

static __always_inline void count_lost(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&lost, &which);

	if (v)
		(*v)++;
}

/* The row for @key, created zeroed on first use; NULL when full */
static __always_inline void *entry(void *map, const void *key,
				   const void *zero, __u32 lost_which)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		count_lost(lost_which);
	return v;
}

/*
 * The row of object @id (or histogram kind) of context @ctx, as entry();
 * NULL, counted as lost, for a context past the key's range
 */
static __always_inline void *object_entry(void *map, __u64 ctx, __u32 id,
					  const void *zero, __u32 lost_which)
{
	__u64 key = stats_key(ctx, id);

	if (!stats_key_holds(ctx)) {
		count_lost(lost_which);
		return NULL;
	}
	return entry(map, &key, zero, lost_which);
}

static __always_inline bool skip_owner(__s32 owner)
{
	return filter_owner_tgid && owner != filter_owner_tgid;
}

static __always_inline struct stats_ioas_slot *ioas_slot(__u64 key)
{
	__u32 i = stats_ioas_slot_index(key, ioas_slot_mask);

	return bpf_map_lookup_elem(&ioas_slots, &i);
}

/*
 * The row of IOAS @key when its slot holds another key: its hash row, or
 * the slot taken now (free, and no hash row), or a new hash row; NULL,
 * counted as lost, when the hash is full. A subprogram: the caller inlines
 * only the common case.
 */
static __noinline struct stats_ioas *
ioas_entry_slow(struct stats_ioas_slot *slot, __u64 key)
{
	struct stats_ioas *s = bpf_map_lookup_elem(&ioas_stats, &key);
	__u64 held;

	if (s)
		return s;
	held = __sync_val_compare_and_swap(&slot->key, STATS_IOAS_SLOT_FREE,
					   key);
	/* Taken now, or by another CPU counting the same IOAS */
	if (held == STATS_IOAS_SLOT_FREE || held == key)
		return &slot->v;
	return entry(&ioas_stats, &key, &zero_ioas, STATS_LOST_IOAS);
}

/*
 * The row of IOAS @id of context @ctx, as object_entry(): its slot when it
 * holds it (iommufd_stats.h), else as ioas_entry_slow() finds it. The
 * fallback, which retires a context's rows by walking the hash, asks for
 * the hash only (@in_slot false).
 */
static __always_inline struct stats_ioas *ioas_row(__u64 ctx, __u32 id,
						   bool in_slot)
{
	struct stats_ioas_slot *slot;
	__u64 key = stats_key(ctx, id);

	if (!in_slot)
		return object_entry(&ioas_stats, ctx, id, &zero_ioas,
				    STATS_LOST_IOAS);
	if (!stats_key_holds(ctx)) {
		count_lost(STATS_LOST_IOAS);
		return NULL;
	}
	slot = ioas_slot(key);
	if (!slot)	/* a mask past the table: the loader's mistake */
		return object_entry(&ioas_stats, ctx, id, &zero_ioas,
				    STATS_LOST_IOAS);
	if (slot->key == key)
		return &slot->v;
	return ioas_entry_slow(slot, key);
}

/* The row, which names @owner as the one who counted last */
static __always_inline struct stats_ioas *ioas_entry(__u64 ctx, __s32 owner,
						     __u32 ioas, bool in_slot)
{
	struct stats_ioas *s = ioas_row(ctx, ioas, in_slot);

	if (s)
		s->owner_tgid = owner;
	return s;
}

static __always_inline struct stats_dev *dev_entry(__u64 ctx, __s32 owner,
						   __u32 dev)
{
	struct stats_dev *s;

	s = object_entry(&dev_stats, ctx, dev, &zero_dev,
			 STATS_LOST_DEV);
	if (s)
		s->owner_tgid = owner;
	return s;
}

/*
 * Add the final row @v of a destroyed object to the retired table. The
 * same ids may be reused by a new object before the reader collects the
 * old one: then the two add up, as one series would.
 */
#define RETIRE_ROW(retired, key, v, value_t)				\
	({								\
		value_t *r = bpf_map_lookup_elem(&retired, key);	\
		__u32 w;						\
									\
		if (!r) {						\
			if (bpf_map_update_elem(&retired, key, v,	\
						BPF_NOEXIST))		\
				count_lost(STATS_LOST_RETIRED);		\
		} else {						\
			__u64 *to = (__u64 *)r;				\
			const __u64 *from = (const __u64 *)(v);		\
									\
			/* word 0 is the owner, the rest counts */	\
			for (w = 1; w < sizeof(value_t) / 8; w++)	\
				count_add(to[w], from[w]);		\
			r->owner_tgid = (v)->owner_tgid;		\
		}							\
	})

/*
 * Move an object's row to the retired table when the object is destroyed.
 * No operation of the object can still be counting (the kernel destroys it
 * once it has no users), so the row is final.
 */
#define RETIRE(live, retired, key, value_t)				\
	({								\
		value_t *v = bpf_map_lookup_elem(&live, key);		\
									\
		if (v) {						\
			RETIRE_ROW(retired, key, v, value_t);		\
			bpf_map_delete_elem(&live, key);		\
		}							\
	})

/* floor(log2(v)) for v > 0, bounded for the verifier */
static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	if (v >> 32) { v >>= 32; slot += 32; }
	if (v >> 16) { v >>= 16; slot += 16; }
	if (v >> 8) { v >>= 8; slot += 8; }
	if (v >> 4) { v >>= 4; slot += 4; }
	if (v >> 2) { v >>= 2; slot += 2; }
	if (v >> 1)
		slot += 1;
	return slot < STATS_HIST_SLOTS ? slot : STATS_HIST_SLOTS - 1;
}

static __always_inline void hist_add(__u64 ctx, __s32 owner, __u32 kind,
				     __u64 ns)
{
	struct stats_hist *h;

	/* 0: the event was enabled while the operation ran, not timed */
	if (!collect_latency || !ns)
		return;
	h = object_entry(&hist_stats, ctx, kind, &zero_hist, STATS_LOST_HIST);
	if (!h)
		return;
	h->owner_tgid = owner;
	count_add(h->slots[log2_slot(ns)], 1);
	count_add(h->count, 1);
	count_add(h->sum_ns, ns);
}

enum ioas_op { IOAS_MAP, IOAS_UNMAP, IOAS_COPY };

/*
 * A map, unmap or copy of @done bytes in IOAS @ioas_id of context @ctx,
 * issued by @owner, ended with @ret after @duration_ns (0: not timed).
 * Returns the IOAS's row, if it is counted, for what else the call did.
 */
static __always_inline struct stats_ioas *
count_ioas(__u64 ctx, __s32 owner, __u32 ioas_id, u64 done, int ret,
	   u64 duration_ns, enum ioas_op op, bool in_slot)
{
	static const __u32 hist_kind[] = {
		[IOAS_MAP] = STATS_HIST_MAP,
		[IOAS_UNMAP] = STATS_HIST_UNMAP,
		[IOAS_COPY] = STATS_HIST_COPY,
	};
	struct stats_ioas *s;

	if (skip_owner(owner))
		return NULL;
	s = ioas_entry(ctx, owner, ioas_id, in_slot);
	if (!s)
		return NULL;
	if (ret) {
		count_add(s->errors, 1);
		return s;
	}
	switch (op) {
	case IOAS_MAP:
		count_add(s->maps, 1);
		count_add(s->map_bytes, done);
		break;
	case IOAS_UNMAP:
		count_add(s->unmaps, 1);
		count_add(s->unmap_bytes, done);
		break;
	case IOAS_COPY:
		count_add(s->copies, 1);
		count_add(s->copy_bytes, done);
		break;
	}
	hist_add(ctx, owner, hist_kind[op], duration_ns);
	return s;
}

/*
 * Add @delta pages to @owner's slot if it holds it, or takes it (the slot
 * holds 0 pages and @owner has no row in the hash, so a process never
 * counts in both but for a race of its own). False when another process
 * holds the slot. A few tries: the holder may update it meanwhile. A
 * subprogram: the caller inlines only the common case, below.
 */
static __noinline bool owner_slot_add_slow(__u64 *slot, __s32 owner,
					   __s64 delta)
{
	struct stats_owner_key key = { .owner_tgid = owner };
	__u64 old, new;
	__u32 try;

	for (try = 0; try < 4; try++) {
		old = *(volatile __u64 *)slot;
		if (stats_owner_slot_tgid(old) == owner)
			new = stats_owner_slot_add(old, delta);
		else if (!stats_owner_slot_pages(old) &&
			 !bpf_map_lookup_elem(&owner_stats, &key))
			new = stats_owner_slot(owner, delta);
		else
			return false;
		if (__sync_val_compare_and_swap(slot, old, new) == old)
			return true;
	}
	return false;
}

/*
 * Every map and unmap comes here with its pages: the common case is the
 * owner's own slot, which no other CPU changes meanwhile, in one try (make
 * bench: a map's program took 340 ns with the slow path inline, 323 so).
 */
static __always_inline bool owner_slot_add(__s32 owner, __s64 delta)
{
	__u32 i = owner & owner_slot_mask;
	__u64 *slot = bpf_map_lookup_elem(&owner_slots, &i);
	__u64 old;

	if (!slot)
		return false;
	old = *(volatile __u64 *)slot;
	if (stats_owner_slot_tgid(old) == owner &&
	    __sync_val_compare_and_swap(slot, old,
					stats_owner_slot_add(old, delta)) == old)
		return true;
	return owner_slot_add_slow(slot, owner, delta);
}

/* @npages charged (> 0) to or released (< 0) from process @owner */
static __always_inline void count_pinned(__s32 owner, __s64 npages)
{
	struct stats_owner_key key;
	struct stats_owner *s;

	if (skip_owner(owner))
		return;
	if (owner_slot_add(owner, npages))
		return;
	key = (struct stats_owner_key){ .owner_tgid = owner };
	s = entry(&owner_stats, &key, &zero_owner, STATS_LOST_OWNER);
	if (!s)
		return;
	count_add(s->pinned_bytes, npages < 0 ? -(-npages << page_shift) :
						npages << page_shift);
}

/*
 * A map or unmap counts what it pinned or released and unmapped from the
 * domains (the kernel's struct iopt_op_tally) itself, failed or not:
 * iommufd_pinned_update and iommufd_domain_unmap do not report it again.
 */
static __always_inline int count_ioas_op(struct iommufd_ctx *ictx,
					 struct iommufd_ioas *ioas, u64 done,
					 int ret, u64 duration_ns,
					 enum ioas_op op,
					 const struct iopt_op_tally *tally)
{
	/*
	 * The tally's task is the caller's group leader. The ioctl made the
	 * caller the context's owner on entry (iommufd_ctx_set_owner()), so
	 * its tgid is the owner ctx_owner() reads, in two loads instead of
	 * four (make bench: top 1.0511 to 1.0475), unless another process's
	 * ioctl on the same context took the ownership meanwhile: the call
	 * is still this one's. The pages are the caller's own too.
	 */
	__s32 owner = tally->task->tgid;
	struct stats_ioas *s;

	s = count_ioas(ctx_id(ictx), owner, ioas->obj.id, done, ret,
		       duration_ns, op, true);
	if (s && tally->domain_unmaps) {
		count_add(s->domain_unmaps, tally->domain_unmaps);
		count_add(s->domain_unmap_bytes, tally->domain_unmap_bytes);
	}
	if (tally->pinned)
		count_pinned(owner, tally->pinned);
	return 0;
}

SEC("tp_btf/iommufd_ioas_map")
int BPF_PROG(stats_ioas_map, struct iommufd_ctx *ictx,
	     struct iommufd_ioas *ioas, u64 iova, u64 length, u64 done,
	     u32 flags, int ret, u64 duration_ns,
	     const struct iopt_op_tally *tally)
{
	return count_ioas_op(ictx, ioas, done, ret, duration_ns, IOAS_MAP,
			     tally);
}

SEC("tp_btf/iommufd_ioas_unmap")
int BPF_PROG(stats_ioas_unmap, struct iommufd_ctx *ictx,
	     struct iommufd_ioas *ioas, u64 iova, u64 length, u64 done,
	     u32 flags, int ret, u64 duration_ns,
	     const struct iopt_op_tally *tally)
{
	return count_ioas_op(ictx, ioas, done, ret, duration_ns, IOAS_UNMAP,
			     tally);
}

/*
 * Counted in the destination IOAS, whose mappings it adds to. A failed
 * copy's may be no IOAS, whose destroy would never free a slot: it counts
 * in the hash.
 */
SEC("tp_btf/iommufd_ioas_copy")
int BPF_PROG(stats_ioas_copy, struct iommufd_ctx *ictx, u32 src_ioas_id,
	     u32 dst_ioas_id, u64 src_iova, u64 dst_iova, u64 length,
	     u32 flags, int ret, u64 duration_ns)
{
	count_ioas(ctx_id(ictx), ctx_owner(ictx), dst_ioas_id, length, ret,
		   duration_ns, IOAS_COPY, !ret);
	return 0;
}

/* Domain unmaps outside a map or unmap: destroy, detach, undone attach */
SEC("tp_btf/iommufd_domain_unmap")
int BPF_PROG(stats_domain_unmap, struct iopt_area *area,
	     struct iommu_domain *domain, unsigned int reason)
{
	struct iommufd_ioas *ioas = area_ioas(area);
	__s32 owner = ctx_owner(ioas->ictx);
	struct stats_ioas *s;

	if (skip_owner(owner))
		return 0;
	s = ioas_entry(ctx_id(ioas->ictx), owner, ioas->obj.id, true);
	if (!s)
		return 0;
	count_add(s->domain_unmaps, 1);
	count_add(s->domain_unmap_bytes, area->node.last - area->node.start + 1);
	return 0;
}

SEC("tp_btf/iommufd_hwpt_invalidate")
int BPF_PROG(stats_hwpt_invalidate, struct iommufd_ctx *ictx,
	     struct iommufd_hw_pagetable *hwpt, u32 data_type, u32 entries,
	     u32 done, int ret, u64 duration_ns)
{
	__s32 owner = ctx_owner(ictx);
	struct stats_ioas *s;

	if (skip_owner(owner))
		return 0;
	s = ioas_entry(ctx_id(ictx), owner, hwpt_ioas_id(hwpt), true);
	if (!s)
		return 0;
	if (ret) {
		count_add(s->errors, 1);
		return 0;
	}
	count_add(s->invalidations, 1);
	hist_add(ctx_id(ictx), owner, STATS_HIST_INVALIDATE, duration_ns);
	return 0;
}

/*
 * A VT-d invalidation of a domain iommufd owns, and its wait. Its cost is
 * the edu device's map and unmap (make bench, iotlb.overhead_ratio): the
 * owner is read only to filter or for a new row, as the wait, which a map,
 * an unmap or an invalidation caused, leaves the row's owner as it was.
 */
SEC("tp_btf/qi_wait")
int BPF_PROG(stats_qi_wait, struct intel_iommu *iommu,
	     struct iommu_domain *domain, const struct qi_desc *desc,
	     unsigned int count, u32 kinds, unsigned long options, u64 wait_ns,
	     u64 total_ns, int rc)
{
	struct iommufd_hw_pagetable *hwpt = domain_hwpt(domain);
	struct iommufd_ioas *ioas = hwpt_ioas(hwpt);
	struct stats_ioas *s;
	__u64 cid;

	if (!ioas)
		return 0;
	if (filter_owner_tgid && skip_owner(ctx_owner(ioas->ictx)))
		return 0;
	cid = ctx_id(ioas->ictx);
	s = ioas_row(cid, ioas->obj.id, true);
	if (!s)
		return 0;
	/* A new row (or one whose owner exited, which reads 0 again) */
	if (!s->owner_tgid)
		s->owner_tgid = ctx_owner(ioas->ictx);
	count_add(s->iotlb_waits, 1);
	count_add(s->iotlb_wait_ns, wait_ns);
	hist_add(cid, s->owner_tgid, STATS_HIST_IOTLB, wait_ns);
	return 0;
}

/*
 * PASIDs attached and detached; replace leaves their number as it is. The
 * RID's attachment is the device's, not counted here.
 */
static __always_inline int count_pasid(struct iommufd_device *idev,
				       ioasid_t pasid, int ret, bool attach)
{
	__s32 owner = ctx_owner(idev->ictx);
	struct stats_dev *s;

	/* PASID 0 is IOMMU_NO_PASID: the RID */
	if (!pasid || ret || skip_owner(owner))
		return 0;
	s = dev_entry(ctx_id(idev->ictx), owner, idev->obj.id);
	if (!s)
		return 0;
	if (attach)
		count_add(s->pasid_attaches, 1);
	else
		count_add(s->pasid_detaches, 1);
	return 0;
}

SEC("tp_btf/iommufd_device_attach")
int BPF_PROG(stats_device_attach, struct iommufd_device *idev,
	     struct iommufd_hw_pagetable *hwpt, ioasid_t pasid, int ret)
{
	return count_pasid(idev, pasid, ret, true);
}

SEC("tp_btf/iommufd_device_detach")
int BPF_PROG(stats_device_detach, struct iommufd_device *idev,
	     struct iommufd_hw_pagetable *hwpt, ioasid_t pasid, int ret)
{
	return count_pasid(idev, pasid, ret, false);
}

/* Pinning outside a map or unmap: accesses, other processes' pages */
SEC("tp_btf/iommufd_pinned_update")
int BPF_PROG(stats_pinned_update, struct iopt_pages *pages,
	     unsigned long npages, bool inc, int ret)
{
	if (!ret)
		count_pinned(pages->source_task->tgid,
			     inc ? (__s64)npages : -(__s64)npages);
	return 0;
}

SEC("tp_btf/iommufd_fault_report")
int BPF_PROG(stats_fault_report, struct iommufd_fault *fault,
	     struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev,
	     struct iopf_group *group)
{
	__s32 owner = ctx_owner(fault->ictx);
	struct stats_dev *s;

	if (skip_owner(owner))
		return 0;
	s = dev_entry(ctx_id(fault->ictx), owner, idev->obj.id);
	if (s)
		count_add(s->iopf_groups, 1);
	if (collect_latency && fault_reported_now(group, fault))
		count_lost(STATS_LOST_FAULT_TIMES);
	return 0;
}

/* The kernel's own values of its response codes (CO-RE) */
#define RESP_SUCCESS \
	bpf_core_enum_value(enum iommu_page_response_code, IOMMU_PAGE_RESP_SUCCESS)
#define RESP_INVALID \
	bpf_core_enum_value(enum iommu_page_response_code, IOMMU_PAGE_RESP_INVALID)

static __always_inline void count_answer(struct stats_dev *s, u32 code)
{
	if (code == RESP_SUCCESS)
		count_add(s->iopf_success, 1);
	else if (code == RESP_INVALID)
		count_add(s->iopf_invalid, 1);
	else
		count_add(s->iopf_failure, 1);
}

/* The VMM read the group from the fault fd: its wait splits here */
SEC("tp_btf/iommufd_fault_read")
int BPF_PROG(stats_fault_read, struct iommufd_fault *fault,
	     struct iopf_group *group)
{
	if (collect_latency)
		fault_read_now(group);
	return 0;
}

SEC("tp_btf/iommufd_fault_respond")
int BPF_PROG(stats_fault_respond, struct iommufd_fault *fault,
	     struct iopf_group *group, u32 code)
{
	struct iommufd_device *idev = group_idev(group);
	__s32 owner = ctx_owner(fault->ictx);
	__u64 cid = ctx_id(fault->ictx);
	struct fault_wait w;
	struct stats_dev *s;

	if (skip_owner(owner))
		return 0;
	s = dev_entry(cid, owner, idev->obj.id);
	if (s)
		count_answer(s, code);
	if (!collect_latency)
		return 0;
	fault_waited(group, &w);
	hist_add(cid, owner, STATS_HIST_FAULT, w.total_ns);
	hist_add(cid, owner, STATS_HIST_FAULT_QUEUE, w.queued_ns);
	hist_add(cid, owner, STATS_HIST_FAULT_HANDLE, w.handled_ns);
	return 0;
}

SEC("tp_btf/iommufd_fault_auto_respond")
int BPF_PROG(stats_fault_auto_respond, struct iommufd_fault *fault,
	     struct iommufd_device *idev, u32 nr, unsigned int reason)
{
	__s32 owner = ctx_owner(fault->ictx);
	struct stats_dev *s;

	if (skip_owner(owner))
		return 0;
	/* Destroying the fault object answers groups of no device */
	s = dev_entry(ctx_id(fault->ictx), owner, idev ? idev->obj.id : 0);
	if (s)
		count_add(s->iopf_auto, nr);
	return 0;
}

/* A policy answered in the kernel: the call is the whole wait */
SEC("tp_btf/iommufd_fault_verdict")
int BPF_PROG(stats_fault_verdict, const char *name,
	     const struct iommufd_fault_ctx *fctx, u32 verdict, u64 latency)
{
	struct iommufd_fault_ctx_kern *kctx =
		kernel_container_of(fctx, struct iommufd_fault_ctx_kern, ctx);
	__u64 cid = ctx_id(kctx->hwpt->fault->ictx);
	__s32 owner = fctx->owner_tgid;
	struct stats_dev *s;

	if (skip_owner(owner) || (verdict != IOMMUFD_FAULT_SUCCESS &&
				  verdict != IOMMUFD_FAULT_INVALID))
		return 0;
	s = dev_entry(cid, owner, fctx->dev_id);
	if (s)
		count_answer(s, verdict == IOMMUFD_FAULT_SUCCESS ?
				RESP_SUCCESS : RESP_INVALID);
	hist_add(cid, owner, STATS_HIST_FAULT, latency);
	return 0;
}

SEC("tp_btf/iommufd_dma_fault")
int BPF_PROG(stats_dma_fault, struct iommufd_hw_pagetable *hwpt,
	     struct device *dev, u32 dev_id, pid_t owner_tgid,
	     unsigned long iova, int flags)
{
	struct iommufd_ioas *ioas = hwpt_ioas(hwpt);
	struct stats_dev *s;

	if (skip_owner(owner_tgid))
		return 0;
	/* From an interrupt: the fault's HWPT names the context */
	s = dev_entry(ioas ? ctx_id(ioas->ictx) : 0, owner_tgid, dev_id);
	if (s)
		count_add(s->dma_faults, 1);
	return 0;
}

/*
 * A destroyed IOAS's slot, if it held it: its counts join the retired
 * table and the slot is free. Marked retiring first, so that no reader
 * takes the zeroed counts for the IOAS's; nothing else counts in the slot
 * meanwhile: the IOAS has no users, and other keys need it free.
 */
static __always_inline void retire_ioas_slot(__u64 key)
{
	struct stats_ioas_slot *slot = ioas_slot(key);
	__u64 *words;
	__u32 w;

	if (!slot || __sync_val_compare_and_swap(&slot->key, key,
					STATS_IOAS_SLOT_RETIRING) != key)
		return;
	RETIRE_ROW(ioas_retired, &key, &slot->v, struct stats_ioas);
	words = (__u64 *)&slot->v;
	for (w = 0; w < sizeof(slot->v) / 8; w++)
		words[w] = 0;
	__sync_val_compare_and_swap(&slot->key, STATS_IOAS_SLOT_RETIRING,
				    STATS_IOAS_SLOT_FREE);
}

/* A destroyed IOAS or device takes its row with it */
SEC("tp_btf/iommufd_object_destroy")
int BPF_PROG(stats_object_destroy, struct iommufd_ctx *ictx,
	     struct iommufd_object *obj)
{
	__u64 key = stats_key(ctx_id(ictx), obj->id);

	/* Past the key's range nothing was counted, and the key is another's */
	if (!stats_key_holds(ctx_id(ictx)))
		return 0;
	if (obj->type == bpf_core_enum_value(enum iommufd_object_type,
					     IOMMUFD_OBJ_IOAS)) {
		RETIRE(ioas_stats, ioas_retired, &key, struct stats_ioas);
		retire_ioas_slot(key);
	} else if (obj->type == bpf_core_enum_value(enum iommufd_object_type,
						    IOMMUFD_OBJ_DEVICE)) {
		RETIRE(dev_stats, dev_retired, &key, struct stats_dev);
	}
	return 0;
}

/*
 * A released context takes its histograms, and the row of the fault
 * groups no device was left to own (answered when a fault object went)
 */
SEC("tp_btf/iommufd_ctx_release")
int BPF_PROG(stats_ctx_release, struct iommufd_ctx *ictx)
{
	__u64 key = stats_key(ctx_id(ictx), 0);
	__u32 kind;

	if (!stats_key_holds(ctx_id(ictx)))
		return 0;
	RETIRE(dev_stats, dev_retired, &key, struct stats_dev);
	if (!collect_latency)
		return 0;
	for (kind = 0; kind < STATS_HIST_MAX; kind++) {
		key = stats_key(ctx_id(ictx), kind);
		RETIRE(hist_stats, hist_retired, &key, struct stats_hist);
	}
	return 0;
}

#include "iommufd_stats_fallback.bpf.h"
