// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd_stats: iommufd activity aggregated in the kernel, per context,
 * IOAS and device, with log2 latency histograms. Nothing is sent per
 * operation: userspace reads the tables when it wants a view ('top') or a
 * scrape ('metrics'). Tables are per-CPU, so updates take no lock.
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

#define STATS_TABLE(name, key_t, value_t, entries)			\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH);			\
		__uint(max_entries, entries);				\
		__type(key, key_t);					\
		__type(value, value_t);					\
	} name SEC(".maps")

STATS_TABLE(ioas_stats, struct stats_ioas_key, struct stats_ioas, 4096);
STATS_TABLE(dev_stats, struct stats_dev_key, struct stats_dev, 4096);
STATS_TABLE(owner_stats, __s32, struct stats_owner, 1024);
STATS_TABLE(hist_stats, struct stats_hist_key, struct stats_hist, 4096);

#define FAST_TABLE(name, value_t)					\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);		\
		__uint(max_entries, STATS_FAST_SLOTS);			\
		__type(key, __u32);					\
		__type(value, value_t);					\
	} name SEC(".maps")

FAST_TABLE(ioas_fast, struct stats_ioas_slot);
FAST_TABLE(owner_fast, struct stats_owner_slot);

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

static __always_inline void count_lost(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&lost, &which);

	if (v)
		(*v)++;
}

/* This CPU's entry for @key, created zeroed on first use; NULL when full */
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

static __always_inline bool skip_owner(__s32 owner)
{
	return filter_owner_tgid && owner != filter_owner_tgid;
}

/* The fast slot's row for the key if it holds or can take it, else the hash's */
static __always_inline struct stats_ioas *ioas_entry(__s32 owner, __u32 ioas)
{
	struct stats_ioas_key key = { .owner_tgid = owner, .ioas_id = ioas };
	__u32 slot = stats_fast_slot(owner, ioas);
	struct stats_ioas_slot *f = bpf_map_lookup_elem(&ioas_fast, &slot);

	if (f && !f->used) {
		f->key = key;
		f->used = 1;
	}
	if (f && f->key.owner_tgid == owner && f->key.ioas_id == ioas)
		return &f->v;
	return entry(&ioas_stats, &key, &zero_ioas, STATS_LOST_IOAS);
}

static __always_inline struct stats_owner *owner_entry(__s32 owner)
{
	__u32 slot = stats_fast_slot(owner, 0);
	struct stats_owner_slot *f = bpf_map_lookup_elem(&owner_fast, &slot);

	if (f && !f->used) {
		f->owner_tgid = owner;
		f->used = 1;
	}
	if (f && f->owner_tgid == owner)
		return &f->v;
	return entry(&owner_stats, &owner, &zero_owner, STATS_LOST_OWNER);
}

static __always_inline struct stats_dev *dev_entry(__s32 owner, __u32 dev)
{
	struct stats_dev_key key = { .owner_tgid = owner, .dev_id = dev };

	return entry(&dev_stats, &key, &zero_dev, STATS_LOST_DEV);
}

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

static __always_inline void hist_add(__s32 owner, __u32 kind, __u64 ns)
{
	struct stats_hist_key key = { .owner_tgid = owner, .kind = kind };
	struct stats_hist *h;

	/* 0: the event was enabled while the operation ran, not timed */
	if (!collect_latency || !ns)
		return;
	h = entry(&hist_stats, &key, &zero_hist, STATS_LOST_HIST);
	if (!h)
		return;
	h->slots[log2_slot(ns)]++;
	h->count++;
	h->sum_ns += ns;
}

enum ioas_op { IOAS_MAP, IOAS_UNMAP, IOAS_COPY };

/* A map, unmap or copy of @done bytes ended with @ret after @duration_ns */
static __always_inline int count_ioas_op(struct iommufd_ctx *ictx,
					 __u32 ioas_id, u64 done, int ret,
					 u64 duration_ns, enum ioas_op op)
{
	static const __u32 hist_kind[] = {
		[IOAS_MAP] = STATS_HIST_MAP,
		[IOAS_UNMAP] = STATS_HIST_UNMAP,
		[IOAS_COPY] = STATS_HIST_COPY,
	};
	__s32 owner = ctx_owner(ictx);
	struct stats_ioas *s;

	if (skip_owner(owner))
		return 0;
	s = ioas_entry(owner, ioas_id);
	if (!s)
		return 0;
	if (ret) {
		s->errors++;
		return 0;
	}
	switch (op) {
	case IOAS_MAP:
		s->maps++;
		s->map_bytes += done;
		break;
	case IOAS_UNMAP:
		s->unmaps++;
		s->unmap_bytes += done;
		break;
	case IOAS_COPY:
		s->copies++;
		s->copy_bytes += done;
		break;
	}
	hist_add(owner, hist_kind[op], duration_ns);
	return 0;
}

SEC("tp_btf/iommufd_ioas_map")
int BPF_PROG(stats_ioas_map, struct iommufd_ctx *ictx,
	     struct iommufd_ioas *ioas, u64 iova, u64 length, u64 done,
	     u32 flags, int ret, u64 duration_ns)
{
	return count_ioas_op(ictx, ioas->obj.id, done, ret, duration_ns,
			     IOAS_MAP);
}

SEC("tp_btf/iommufd_ioas_unmap")
int BPF_PROG(stats_ioas_unmap, struct iommufd_ctx *ictx,
	     struct iommufd_ioas *ioas, u64 iova, u64 length, u64 done,
	     u32 flags, int ret, u64 duration_ns)
{
	return count_ioas_op(ictx, ioas->obj.id, done, ret, duration_ns,
			     IOAS_UNMAP);
}

/* Counted in the destination IOAS, whose mappings it adds to */
SEC("tp_btf/iommufd_ioas_copy")
int BPF_PROG(stats_ioas_copy, struct iommufd_ctx *ictx, u32 src_ioas_id,
	     u32 dst_ioas_id, u64 src_iova, u64 dst_iova, u64 length,
	     u32 flags, int ret, u64 duration_ns)
{
	return count_ioas_op(ictx, dst_ioas_id, length, ret, duration_ns,
			     IOAS_COPY);
}

SEC("tp_btf/iommufd_domain_unmap")
int BPF_PROG(stats_domain_unmap, struct iopt_area *area,
	     struct iommu_domain *domain, unsigned int reason)
{
	struct iommufd_ioas *ioas = area_ioas(area);
	__s32 owner = ctx_owner(ioas->ictx);
	struct stats_ioas *s;

	if (skip_owner(owner))
		return 0;
	s = ioas_entry(owner, ioas->obj.id);
	if (!s)
		return 0;
	s->domain_unmaps++;
	s->domain_unmap_bytes += area->node.last - area->node.start + 1;
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
	s = ioas_entry(owner, hwpt_ioas_id(hwpt));
	if (!s)
		return 0;
	if (ret) {
		s->errors++;
		return 0;
	}
	s->invalidations++;
	hist_add(owner, STATS_HIST_INVALIDATE, duration_ns);
	return 0;
}

SEC("tp_btf/iommufd_pinned_update")
int BPF_PROG(stats_pinned_update, struct iopt_pages *pages,
	     unsigned long npages, bool inc, int ret)
{
	__s32 owner = pages->source_task->tgid;
	struct stats_owner *s;

	if (ret || skip_owner(owner))
		return 0;
	s = owner_entry(owner);
	if (!s)
		return 0;
	if (inc)
		s->pinned_bytes += (__s64)npages << page_shift;
	else
		s->pinned_bytes -= (__s64)npages << page_shift;
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
	s = dev_entry(owner, idev->obj.id);
	if (s)
		s->iopf_groups++;
	if (collect_latency && fault_reported_now(group))
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
		s->iopf_success++;
	else if (code == RESP_INVALID)
		s->iopf_invalid++;
	else
		s->iopf_failure++;
}

SEC("tp_btf/iommufd_fault_respond")
int BPF_PROG(stats_fault_respond, struct iommufd_fault *fault,
	     struct iopf_group *group, u32 code)
{
	struct iommufd_device *idev = group_idev(group);
	__s32 owner = ctx_owner(fault->ictx);
	struct stats_dev *s;

	if (skip_owner(owner))
		return 0;
	s = dev_entry(owner, idev->obj.id);
	if (s)
		count_answer(s, code);
	if (collect_latency)
		hist_add(owner, STATS_HIST_FAULT, fault_waited_ns(group));
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
	s = dev_entry(owner, idev ? idev->obj.id : 0);
	if (s)
		s->iopf_auto += nr;
	return 0;
}

/* A policy answered in the kernel: the call is the whole wait */
SEC("tp_btf/iommufd_fault_verdict")
int BPF_PROG(stats_fault_verdict, const char *name,
	     const struct iommufd_fault_ctx *fctx, u32 verdict, u64 latency)
{
	__s32 owner = fctx->owner_tgid;
	struct stats_dev *s;

	if (skip_owner(owner) || (verdict != IOMMUFD_FAULT_SUCCESS &&
				  verdict != IOMMUFD_FAULT_INVALID))
		return 0;
	s = dev_entry(owner, fctx->dev_id);
	if (s)
		count_answer(s, verdict == IOMMUFD_FAULT_SUCCESS ?
				RESP_SUCCESS : RESP_INVALID);
	hist_add(owner, STATS_HIST_FAULT, latency);
	return 0;
}

SEC("tp_btf/iommufd_dma_fault")
int BPF_PROG(stats_dma_fault, struct iommufd_hw_pagetable *hwpt,
	     struct device *dev, u32 dev_id, pid_t owner_tgid,
	     unsigned long iova, int flags)
{
	struct stats_dev *s;

	if (skip_owner(owner_tgid))
		return 0;
	s = dev_entry(owner_tgid, dev_id);
	if (s)
		s->dma_faults++;
	return 0;
}
