// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd_trace: one ring-buffer record per iommufd:* trace event.
 *
 * tp_btf programs read the kernel objects the events pass. Filters are
 * rodata, set by the loader before load. Every event is accounted:
 * produced = delivered + dropped + filtered, and delivered records carry
 * consecutive sequence numbers, so a consumer sees drops as gaps.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "iommufd_objects.bpf.h"
#include "fault_times.bpf.h"
#include "iommufd_trace.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* include/linux/iommu.h: report_iommu_fault() flags (a define, not in BTF) */
#define IOMMU_FAULT_WRITE 0x1

/* Filters; 0 means "any". Set between open and load. */
const volatile __s32 filter_owner_tgid;
const volatile __u32 filter_ioas_id;
const volatile __u32 filter_dev_id;
const volatile __u32 event_mask = IOMMUFD_EV_MASK_ALL;
/* Remember unmapped ranges, to diagnose DMA after unmap (fault stream only) */
const volatile bool track_unmaps;

/*
 * The VT-d driver reports a fault to iommufd just before its own dmar_fault
 * event; its domains have this owner. Weak: 0 on a kernel without VT-d.
 */
extern const void intel_iommu_ops __ksym __weak;

/* VT-d descriptor types (drivers/iommu/intel/iommu.h, not in BTF) */
#define QI_TYPE_IOTLB		0x2
#define QI_TYPE_PASID_IOTLB	0x6

/*
 * 4 MiB, about 19,000 records: a burst of 1,500 4 KiB map+unmap pairs
 * (3,000 records) fits six times over, even if the consumer were not
 * woken before its next tick. 'trace --ringbuf-kib' changes it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IOMMUFD_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/*
 * Per IOAS, the spans its last UNMAP_RING unmap ioctls unmapped from its
 * domains (first to last area), newest at head - 1. Bounded twice: the ring
 * per IOAS and the LRU over IOASes. A fault may read a slot being written
 * and then miss the diagnosis.
 */
#define UNMAP_RING 32

struct unmap_rec {
	__u64 gen;		/* slot number + 1 once written, 0 while written */
	__u64 iova;
	__u64 length;
	__u64 ts_ns;
	__s32 tgid;
	char comm[IOMMUFD_COMM_LEN];
};

/*
 * Unmaps from several CPUs at once each take their own slot (an atomic
 * head) and publish it seqlock-style through its gen: a reader that sees
 * gen change, or 0, while it copies a slot skips it. (LRU maps cannot hold
 * a bpf_spin_lock.)
 */
struct unmap_ring {
	__u64 head;
	struct unmap_rec rec[UNMAP_RING];
};

/*
 * An IOAS is named by its kernel object: unique while it lives, and its
 * ring goes when it is destroyed (forget_unmaps), so an IOAS that later
 * gets the same memory, or the same id in its context, starts with none.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);		/* struct iommufd_ioas * */
	__type(value, struct unmap_ring);
} recent_unmaps SEC(".maps");

static const struct unmap_ring empty_ring;

/*
 * A DMA fault the VT-d driver reported to iommufd, waiting on this CPU for
 * the driver's dmar_fault event that follows in the same interrupt.
 */
struct pending_dma_fault {
	__u64 dev;		/* struct device *, to match the two events */
	__u64 ioas;		/* struct iommufd_ioas * of the HWPT, or 0 */
	bool valid;
	struct iommufd_dma_fault_event rec;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending_dma_fault);
} pending_dma_fault SEC(".maps");

__u64 next_seq;

/*
 * The calling thread group and name, read from the task itself: two loads
 * for the name where bpf_get_current_comm() copies it a byte at a time
 */
static __always_inline void current_task_ids(__s32 *tgid, char *comm)
{
	struct task_struct *t = bpf_get_current_task_btf();

	*tgid = t->tgid;
	__builtin_memcpy(comm, t->comm, IOMMUFD_COMM_LEN);
}

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		(*v)++;
}

/* Whether the owner and IOAS filters let these ids through */
static __always_inline bool owner_ioas_wanted(__s32 owner_tgid, __u32 ioas_id)
{
	return (!filter_owner_tgid || owner_tgid == filter_owner_tgid) &&
	       (!filter_ioas_id || ioas_id == filter_ioas_id);
}

/* Whether the filters let a record of @type with these ids through */
static __always_inline bool wanted(__u32 type, __s32 owner_tgid, __u32 ioas_id,
				   __u32 dev_id)
{
	return (event_mask & (1u << type)) &&
	       owner_ioas_wanted(owner_tgid, ioas_id) &&
	       (!filter_dev_id || dev_id == filter_dev_id);
}

/*
 * Reserve and zero a record for @type, or NULL when the event is filtered
 * or the ring buffer is full (both counted).
 */
#define event_begin(type, owner_tgid, ioas_id, dev_id)			\
	((struct iommufd_event *)event_reserve(type, owner_tgid, ioas_id, \
					       dev_id, sizeof(struct iommufd_event)))

static __always_inline void *
event_reserve(__u32 type, __s32 owner_tgid, __u32 ioas_id, __u32 dev_id,
	      __u64 size)
{
	struct iommufd_event *e;

	if (!wanted(type, owner_tgid, ioas_id, dev_id)) {
		count(IOMMUFD_CNT_FILTERED);
		return NULL;
	}
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e) {
		count(IOMMUFD_CNT_DROPPED);
		/* Burn a sequence number so the consumer sees the gap */
		__sync_fetch_and_add(&next_seq, 1);
		return NULL;
	}
	if (size == sizeof(struct iommufd_dma_fault_event))
		__builtin_memset(e, 0, sizeof(struct iommufd_dma_fault_event));
	else if (size == sizeof(struct iommufd_iotlb_wait_event))
		__builtin_memset(e, 0, sizeof(struct iommufd_iotlb_wait_event));
	else if (size == sizeof(struct iommufd_bind_event))
		__builtin_memset(e, 0, sizeof(struct iommufd_bind_event));
	else
		__builtin_memset(e, 0, sizeof(*e));
	e->seq = __sync_fetch_and_add(&next_seq, 1) + 1;
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	e->owner_tgid = owner_tgid;
	current_task_ids(&e->tgid, e->comm);
	e->ioas_id = ioas_id;
	e->dev_id = dev_id;
	return e;
}

/*
 * A record of an operation of context @ictx, with its owner and its id.
 * Object ids are per context and reused, and every VMM's first IOAS is 1:
 * the context's boot-unique id tells them apart.
 */
static __always_inline struct iommufd_event *
ctx_event_begin(__u32 type, struct iommufd_ctx *ictx, __u32 ioas_id,
		__u32 dev_id)
{
	struct iommufd_event *e;

	e = event_begin(type, ctx_owner(ictx), ioas_id, dev_id);
	if (e)
		e->ctx = ctx_id(ictx);
	return e;
}

/*
 * Commit a record, waking the consumer once every WAKEUP_RECORDS records
 * (188 KiB of them; 1/22 of the default ring): a wake-up per record, the
 * ring buffer's default while the consumer keeps up, costs the consumer
 * more than the record itself, and under a storm that is exactly when it
 * cannot afford it. Between wake-ups the consumer's 100 ms tick collects
 * the records. The sequence number decides, so no helper call is added.
 */
#define WAKEUP_RECORDS 1024

static __always_inline void event_submit(void *e)
{
	__u64 seq = ((struct iommufd_event *)e)->seq;

	bpf_ringbuf_submit(e, seq % WAKEUP_RECORDS ? BPF_RB_NO_WAKEUP :
						     BPF_RB_FORCE_WAKEUP);
}

/* A map's or unmap's record, not yet submitted; @owner is ictx's */
static __always_inline struct iommufd_event *
ioas_range(__u32 type, struct iommufd_ctx *ictx, __s32 owner,
	   struct iommufd_ioas *ioas, __u64 iova, __u64 length, __u64 done,
	   __u32 flags, int ret, __u64 duration_ns,
	   const struct iopt_op_tally *tally)
{
	struct iommufd_event *e;

	e = event_begin(type, owner, ioas->obj.id, 0);
	if (!e)
		return NULL;
	e->ctx = ctx_id(ictx);
	e->iova = iova;
	e->length = length;
	e->done = done;
	e->flags = flags;
	e->ret = ret;
	e->duration_ns = duration_ns;
	e->pinned = tally->pinned;
	e->domain_unmaps = tally->domain_unmaps;
	return e;
}

SEC("tp_btf/iommufd_ioas_map")
int BPF_PROG(on_ioas_map, struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
	     u64 iova, u64 length, u64 done, u32 flags, int ret, u64 duration_ns,
	     const struct iopt_op_tally *tally)
{
	struct iommufd_event *e;

	e = ioas_range(IOMMUFD_EV_IOAS_MAP, ictx, ctx_owner(ictx), ioas, iova,
		       length, done, flags, ret, duration_ns, tally);
	if (e)
		event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_ioas_copy")
int BPF_PROG(on_ioas_copy, struct iommufd_ctx *ictx, u32 src_ioas_id,
	     u32 dst_ioas_id, u64 src_iova, u64 dst_iova, u64 length,
	     u32 flags, int ret, u64 duration_ns)
{
	struct iommufd_event *e;

	e = ctx_event_begin(IOMMUFD_EV_IOAS_COPY, ictx, dst_ioas_id, 0);
	if (!e)
		return 0;
	e->src_ioas_id = src_ioas_id;
	e->iova = src_iova;
	e->dst_iova = dst_iova;
	e->length = length;
	e->done = ret ? 0 : length;
	e->flags = flags;
	e->ret = ret;
	e->duration_ns = duration_ns;
	event_submit(e);
	return 0;
}

static __always_inline int device_hwpt(__u32 type, struct iommufd_device *idev,
				       struct iommufd_hw_pagetable *hwpt,
				       struct iommufd_hw_pagetable *old,
				       ioasid_t pasid, int ret)
{
	struct iommufd_event *e;

	e = ctx_event_begin(type, idev->ictx, hwpt_ioas_id(hwpt),
			idev->obj.id);
	if (!e)
		return 0;
	e->hwpt_id = hwpt->obj.id;
	e->old_hwpt_id = old ? old->obj.id : 0;
	e->pasid = pasid;
	e->ret = ret;
	event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_device_attach")
int BPF_PROG(on_device_attach, struct iommufd_device *idev,
	     struct iommufd_hw_pagetable *hwpt, ioasid_t pasid, int ret)
{
	return device_hwpt(IOMMUFD_EV_DEVICE_ATTACH, idev, hwpt, NULL, pasid,
			   ret);
}

SEC("tp_btf/iommufd_device_detach")
int BPF_PROG(on_device_detach, struct iommufd_device *idev,
	     struct iommufd_hw_pagetable *hwpt, ioasid_t pasid, int ret)
{
	return device_hwpt(IOMMUFD_EV_DEVICE_DETACH, idev, hwpt, NULL, pasid,
			   ret);
}

SEC("tp_btf/iommufd_device_replace")
int BPF_PROG(on_device_replace, struct iommufd_device *idev,
	     struct iommufd_hw_pagetable *old_hwpt,
	     struct iommufd_hw_pagetable *new_hwpt, ioasid_t pasid, int ret)
{
	/* A failed replace of a device attached to nothing has no old HWPT */
	return device_hwpt(IOMMUFD_EV_DEVICE_REPLACE, idev, new_hwpt, old_hwpt,
			   pasid, ret);
}

/*
 * Remember an unmap for the diagnosis of a later fault. When the unmap has
 * a record (@e), its clock and task are taken from it, not read again.
 */
static __always_inline void remember_unmap(struct iommufd_ioas *ioas,
					   __u64 iova, __u64 length,
					   const struct iommufd_event *e)
{
	__u64 key = (__u64)ioas, slot;
	struct unmap_ring *ring;
	struct unmap_rec *r;

	ring = bpf_map_lookup_elem(&recent_unmaps, &key);
	if (!ring) {
		bpf_map_update_elem(&recent_unmaps, &key, &empty_ring,
				    BPF_NOEXIST);
		ring = bpf_map_lookup_elem(&recent_unmaps, &key);
		if (!ring)
			return;
	}
	slot = __sync_fetch_and_add(&ring->head, 1);
	r = &ring->rec[slot % UNMAP_RING];
	/* Atomic exchanges order the stores: unpublish, write, publish */
	__sync_lock_test_and_set(&r->gen, 0);
	r->iova = iova;
	r->length = length;
	if (e) {
		r->ts_ns = e->ts_ns;
		r->tgid = e->tgid;
		__builtin_memcpy(r->comm, e->comm, sizeof(r->comm));
	} else {
		r->ts_ns = bpf_ktime_get_ns();
		current_task_ids(&r->tgid, r->comm);
	}
	__sync_lock_test_and_set(&r->gen, slot + 1);
}

/* The newest remembered unmap of the faulting IOAS that covered the IOVA */
static __always_inline void diagnose_after_unmap(struct pending_dma_fault *p,
						 __u64 now)
{
	__u64 key = p->ioas;
	struct iommufd_dma_fault_event *d = &p->rec;
	struct unmap_rec found;
	struct unmap_ring *ring;
	bool hit = false;
	__u64 head, i;

	ring = bpf_map_lookup_elem(&recent_unmaps, &key);
	if (!ring)
		return;
	head = __sync_fetch_and_or(&ring->head, 0);
	for (i = 0; i < UNMAP_RING && i < head; i++) {
		struct unmap_rec *r = &ring->rec[(head - 1 - i) % UNMAP_RING];
		__u64 gen = __sync_fetch_and_or(&r->gen, 0);

		if (!gen)
			continue;
		found = *r;
		/* Rewritten while copied: the slot holds a newer unmap now */
		if (__sync_fetch_and_or(&r->gen, 0) != gen)
			continue;
		if (d->ev.iova < found.iova ||
		    d->ev.iova - found.iova >= found.length)
			continue;
		hit = true;
		break;
	}
	if (!hit)
		return;
	d->ev.flags |= IOMMUFD_DMA_FAULT_AFTER_UNMAP;
	d->f.unmap_iova = found.iova;
	d->f.unmap_length = found.length;
	d->f.unmap_age_ns = now > found.ts_ns ? now - found.ts_ns : 0;
	d->f.unmap_tgid = found.tgid;
	__builtin_memcpy(d->f.unmap_comm, found.comm, sizeof(found.comm));
}

/*
 * An unmap ioctl unmaps its areas from the domains and counts them in its
 * event (the kernel's struct iopt_op_tally), so the span it unmapped is
 * remembered here; other domain unmaps (destroying the IOAS, a domain
 * leaving it) leave nothing a later fault of the IOAS could hit.
 */
SEC("tp_btf/iommufd_ioas_unmap")
int BPF_PROG(on_ioas_unmap, struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
	     u64 iova, u64 length, u64 done, u32 flags, int ret, u64 duration_ns,
	     const struct iopt_op_tally *tally)
{
	__s32 owner = ctx_owner(ictx);
	struct iommufd_event *e;

	e = ioas_range(IOMMUFD_EV_IOAS_UNMAP, ictx, owner, ioas, iova, length,
		       done, flags, ret, duration_ns, tally);
	/*
	 * Faults the owner and IOAS filters leave out need no diagnosis, so
	 * nor do their unmaps (an unmap has no device to filter on)
	 */
	if (track_unmaps && tally->domain_unmaps &&
	    owner_ioas_wanted(owner, ioas->obj.id))
		remember_unmap(ioas, tally->first_iova,
			       tally->last_iova - tally->first_iova + 1, e);
	if (e)
		event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_domain_unmap")
int BPF_PROG(on_domain_unmap, struct iopt_area *area,
	     struct iommu_domain *domain, unsigned int reason)
{
	struct iommufd_ioas *ioas = area_ioas(area);
	struct iommufd_event *e;

	e = event_begin(IOMMUFD_EV_DOMAIN_UNMAP, ctx_owner(ioas->ictx),
			ioas->obj.id, 0);
	if (!e)
		return 0;
	e->ctx = ctx_id(ioas->ictx);
	/* The area's IOVA range, as iopt_area_iova() / iopt_area_length() */
	e->iova = area->node.start;
	e->length = area->node.last - area->node.start + 1;
	e->code = reason;
	event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_hwpt_invalidate")
int BPF_PROG(on_hwpt_invalidate, struct iommufd_ctx *ictx,
	     struct iommufd_hw_pagetable *hwpt, u32 data_type, u32 entries,
	     u32 done, int ret)
{
	struct iommufd_event *e;

	e = ctx_event_begin(IOMMUFD_EV_HWPT_INVALIDATE, ictx,
			hwpt_ioas_id(hwpt), 0);
	if (!e)
		return 0;
	e->hwpt_id = hwpt->obj.id;
	e->code = data_type;
	e->count = entries;
	e->done = done;
	e->ret = ret;
	event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_dirty_tracking")
int BPF_PROG(on_dirty_tracking, struct iommufd_ctx *ictx,
	     struct iommufd_hwpt_paging *hwpt_paging, bool enable, int ret)
{
	struct iommufd_event *e;

	e = ctx_event_begin(IOMMUFD_EV_DIRTY_TRACKING, ictx,
			hwpt_paging->ioas->obj.id, 0);
	if (!e)
		return 0;
	e->hwpt_id = hwpt_paging->common.obj.id;
	e->flags = enable;
	e->ret = ret;
	event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_dirty_read")
int BPF_PROG(on_dirty_read, struct iommufd_ctx *ictx,
	     struct iommufd_hwpt_paging *hwpt_paging, u64 iova, u64 length,
	     u64 page_size, u32 flags, u64 dirty, u64 duration_ns, int ret)
{
	struct iommufd_event *e;

	e = ctx_event_begin(IOMMUFD_EV_DIRTY_READ, ictx,
			hwpt_paging->ioas->obj.id, 0);
	if (!e)
		return 0;
	e->hwpt_id = hwpt_paging->common.obj.id;
	e->iova = iova;
	e->length = length;
	e->page_size = page_size;
	e->flags = flags;
	e->done = dirty;
	e->duration_ns = duration_ns;
	e->ret = ret;
	event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_fault_report")
int BPF_PROG(on_fault_report, struct iommufd_fault *fault,
	     struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev,
	     struct iopf_group *group)
{
	struct iommu_fault_page_request *prm = &group->last_fault.fault.prm;
	struct iommufd_event *e;

	fault_reported_now(group, fault);
	e = ctx_event_begin(IOMMUFD_EV_FAULT_REPORT, fault->ictx,
			hwpt_ioas_id(hwpt), idev->obj.id);
	if (!e)
		return 0;
	e->fault_id = fault->obj.id;
	e->hwpt_id = hwpt->obj.id;
	e->pasid = prm->pasid;
	e->flags = prm->flags;
	e->perm = prm->perm;
	e->grpid = prm->grpid;
	e->iova = prm->addr;
	e->count = group->fault_count;
	event_submit(e);
	return 0;
}

/*
 * A record of @type for a fault group read or answered: the group's
 * device, PASID, group id and (last) address
 */
static __always_inline struct iommufd_event *
fault_group_event(__u32 type, struct iommufd_fault *fault,
		  struct iopf_group *group)
{
	struct iommu_fault_page_request *prm = &group->last_fault.fault.prm;
	struct iommufd_device *idev = group_idev(group);
	struct iommufd_event *e;

	e = ctx_event_begin(type, fault->ictx, 0, idev->obj.id);
	if (!e)
		return NULL;
	e->fault_id = fault->obj.id;
	e->pasid = prm->pasid;
	e->flags = prm->flags;
	e->grpid = prm->grpid;
	e->iova = prm->addr;
	e->cookie = group->cookie;
	return e;
}

/* The VMM read the group from the fault fd */
SEC("tp_btf/iommufd_fault_read")
int BPF_PROG(on_fault_read, struct iommufd_fault *fault,
	     struct iopf_group *group)
{
	__u64 queued = fault_read_now(group);
	struct iommufd_event *e;

	e = fault_group_event(IOMMUFD_EV_FAULT_READ, fault, group);
	if (!e)
		return 0;
	e->count = group->fault_count;
	e->queued_ns = queued;
	event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_fault_respond")
int BPF_PROG(on_fault_respond, struct iommufd_fault *fault,
	     struct iopf_group *group, u32 code)
{
	struct iommufd_event *e;
	struct fault_wait w;

	fault_waited(group, &w);
	e = fault_group_event(IOMMUFD_EV_FAULT_RESPOND, fault, group);
	if (!e)
		return 0;
	e->code = code;
	e->duration_ns = w.total_ns;
	e->queued_ns = w.queued_ns;
	e->handled_ns = w.handled_ns;
	event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_fault_auto_respond")
int BPF_PROG(on_fault_auto_respond, struct iommufd_fault *fault,
	     struct iommufd_device *idev, u32 nr, unsigned int reason)
{
	struct iommufd_event *e;

	/* Destroying the fault object answers groups of no device */
	e = ctx_event_begin(IOMMUFD_EV_FAULT_AUTO_RESPOND, fault->ictx,
			0, idev ? idev->obj.id : 0);
	if (!e)
		return 0;
	e->fault_id = fault->obj.id;
	e->count = nr;
	e->code = reason;
	event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_pinned_update")
int BPF_PROG(on_pinned_update, struct iopt_pages *pages, unsigned long npages,
	     bool inc, int ret)
{
	struct iommufd_event *e;

	e = event_begin(IOMMUFD_EV_PINNED_UPDATE,
			pages->source_task->tgid, 0, 0);
	if (!e)
		return 0;
	e->length = npages;
	e->flags = inc;
	e->code = pages->account_mode;
	e->done = pages->npinned;
	e->ret = ret;
	event_submit(e);
	return 0;
}

/* The kernel's object type (CO-RE) as the records' stable kind */
static __always_inline __u32 object_kind(enum iommufd_object_type type)
{
	if (type == bpf_core_enum_value(enum iommufd_object_type,
					IOMMUFD_OBJ_DEVICE))
		return IOMMUFD_OBJECT_DEVICE;
	if (type == bpf_core_enum_value(enum iommufd_object_type,
					IOMMUFD_OBJ_HWPT_PAGING))
		return IOMMUFD_OBJECT_HWPT_PAGING;
	if (type == bpf_core_enum_value(enum iommufd_object_type,
					IOMMUFD_OBJ_HWPT_NESTED))
		return IOMMUFD_OBJECT_HWPT_NESTED;
	if (type == bpf_core_enum_value(enum iommufd_object_type,
					IOMMUFD_OBJ_IOAS))
		return IOMMUFD_OBJECT_IOAS;
	if (type == bpf_core_enum_value(enum iommufd_object_type,
					IOMMUFD_OBJ_ACCESS))
		return IOMMUFD_OBJECT_ACCESS;
	if (type == bpf_core_enum_value(enum iommufd_object_type,
					IOMMUFD_OBJ_FAULT))
		return IOMMUFD_OBJECT_FAULT;
	return IOMMUFD_OBJECT_OTHER;
}

static __always_inline int ctx_event(__u32 type, struct iommufd_ctx *ictx)
{
	struct iommufd_event *e = ctx_event_begin(type, ictx, 0, 0);

	if (e)
		event_submit(e);
	return 0;
}

/* An IOAS, fault object or access: its id in the field named for it */
static __always_inline int ctx_event_id(__u32 type, struct iommufd_ctx *ictx,
					__u32 id)
{
	struct iommufd_event *e;

	e = ctx_event_begin(type, ictx, type == IOMMUFD_EV_IOAS_ALLOC ? id : 0,
			    0);
	if (!e)
		return 0;
	if (type == IOMMUFD_EV_FAULT_ALLOC)
		e->fault_id = id;
	else if (type == IOMMUFD_EV_ACCESS_CREATE)
		e->access_id = id;
	event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_ctx_open")
int BPF_PROG(on_ctx_open, struct iommufd_ctx *ictx)
{
	return ctx_event(IOMMUFD_EV_CTX_OPEN, ictx);
}

SEC("tp_btf/iommufd_ctx_release")
int BPF_PROG(on_ctx_release, struct iommufd_ctx *ictx)
{
	return ctx_event(IOMMUFD_EV_CTX_RELEASE, ictx);
}

SEC("tp_btf/iommufd_ioas_alloc")
int BPF_PROG(on_ioas_alloc, struct iommufd_ctx *ictx,
	     struct iommufd_object *obj)
{
	return ctx_event_id(IOMMUFD_EV_IOAS_ALLOC, ictx, obj->id);
}

SEC("tp_btf/iommufd_fault_alloc")
int BPF_PROG(on_fault_alloc, struct iommufd_ctx *ictx,
	     struct iommufd_object *obj)
{
	return ctx_event_id(IOMMUFD_EV_FAULT_ALLOC, ictx, obj->id);
}

SEC("tp_btf/iommufd_access_create")
int BPF_PROG(on_access_create, struct iommufd_ctx *ictx,
	     struct iommufd_object *obj)
{
	return ctx_event_id(IOMMUFD_EV_ACCESS_CREATE, ictx, obj->id);
}

SEC("tp_btf/iommufd_hwpt_alloc")
int BPF_PROG(on_hwpt_alloc, struct iommufd_ctx *ictx,
	     struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev,
	     u32 flags)
{
	__u32 kind = object_kind(hwpt->obj.type);
	struct iommufd_hwpt_nested *nested;
	struct iommufd_hwpt_paging *paging;
	struct iommufd_event *e;

	e = ctx_event_begin(IOMMUFD_EV_HWPT_ALLOC, ictx, hwpt_ioas_id(hwpt),
			    idev->obj.id);
	if (!e)
		return 0;
	e->hwpt_id = hwpt->obj.id;
	e->object_kind = kind;
	e->fault_id = hwpt->fault ? hwpt->fault->obj.id : 0;
	e->flags = flags;
	if (kind == IOMMUFD_OBJECT_HWPT_NESTED) {
		nested = kernel_container_of(hwpt, struct iommufd_hwpt_nested,
					     common);
		e->parent_hwpt_id = nested->parent->common.obj.id;
	} else if (kind == IOMMUFD_OBJECT_HWPT_PAGING) {
		paging = kernel_container_of(hwpt, struct iommufd_hwpt_paging,
					     common);
		e->auto_domain = paging->auto_domain;
	}
	event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_device_bind")
int BPF_PROG(on_device_bind, struct iommufd_ctx *ictx,
	     struct iommufd_device *idev)
{
	struct iommufd_bind_event *b;

	b = event_reserve(IOMMUFD_EV_DEVICE_BIND, ctx_owner(ictx), 0,
			  idev->obj.id, sizeof(*b));
	if (!b)
		return 0;
	b->ev.ctx = ctx_id(ictx);
	bpf_probe_read_kernel_str(b->device, sizeof(b->device),
				  idev->dev->kobj.name);
	event_submit(b);
	return 0;
}

/*
 * A destroyed IOAS takes its remembered unmaps with it: the next IOAS of
 * its context gets the same id, and often its memory. Loaded with the
 * DMA-after-unmap diagnosis, whether object_destroy records are asked for
 * or not.
 */
SEC("tp_btf/iommufd_object_destroy")
int BPF_PROG(forget_unmaps, struct iommufd_ctx *ictx,
	     struct iommufd_object *obj)
{
	__u64 key;

	if (obj->type != bpf_core_enum_value(enum iommufd_object_type,
					     IOMMUFD_OBJ_IOAS))
		return 0;
	key = (__u64)kernel_container_of(obj, struct iommufd_ioas, obj);
	bpf_map_delete_elem(&recent_unmaps, &key);
	return 0;
}

/* Ids in ioas_id / dev_id too, so --ioas and --dev filters see the destroy */
SEC("tp_btf/iommufd_object_destroy")
int BPF_PROG(on_object_destroy, struct iommufd_ctx *ictx,
	     struct iommufd_object *obj)
{
	__u32 kind = object_kind(obj->type);
	struct iommufd_event *e;

	e = ctx_event_begin(IOMMUFD_EV_OBJECT_DESTROY, ictx,
			    kind == IOMMUFD_OBJECT_IOAS ? obj->id : 0,
			    kind == IOMMUFD_OBJECT_DEVICE ? obj->id : 0);
	if (!e)
		return 0;
	e->object_kind = kind;
	e->object_id = obj->id;
	event_submit(e);
	return 0;
}

static __always_inline int access_pages(__u32 type,
					struct iommufd_access *access,
					u32 ioas_id, unsigned long iova,
					unsigned long length, int ret)
{
	struct iommufd_event *e;

	e = ctx_event_begin(type, access->ictx, ioas_id, 0);
	if (!e)
		return 0;
	e->access_id = access->obj.id;
	e->iova = iova;
	e->length = length;
	e->ret = ret;
	event_submit(e);
	return 0;
}

SEC("tp_btf/iommufd_access_pin")
int BPF_PROG(on_access_pin, struct iommufd_access *access, u32 ioas_id,
	     unsigned long iova, unsigned long length, int ret)
{
	return access_pages(IOMMUFD_EV_ACCESS_PIN, access, ioas_id, iova,
			    length, ret);
}

SEC("tp_btf/iommufd_access_unpin")
int BPF_PROG(on_access_unpin, struct iommufd_access *access, u32 ioas_id,
	     unsigned long iova, unsigned long length, int ret)
{
	return access_pages(IOMMUFD_EV_ACCESS_UNPIN, access, ioas_id, iova,
			    length, ret);
}

/* Emit a DMA fault assembled in @p as one record, with the diagnosis */
static __always_inline void dma_fault_emit(struct pending_dma_fault *p)
{
	struct iommufd_dma_fault_event *d;
	__u64 now = bpf_ktime_get_ns();

	if (track_unmaps && p->ioas)
		diagnose_after_unmap(p, now);
	d = event_reserve(IOMMUFD_EV_DMA_FAULT, p->rec.ev.owner_tgid,
			  p->rec.ev.ioas_id, p->rec.ev.dev_id, sizeof(*d));
	if (!d)
		return;
	d->ev.ctx = p->rec.ev.ctx;
	d->ev.hwpt_id = p->rec.ev.hwpt_id;
	d->ev.pasid = p->rec.ev.pasid;
	d->ev.iova = p->rec.ev.iova;
	d->ev.flags = p->rec.ev.flags;
	d->ev.code = p->rec.ev.code;
	/* The interrupted task is not the faulting one */
	d->ev.tgid = 0;
	__builtin_memset(d->ev.comm, 0, sizeof(d->ev.comm));
	__builtin_memcpy(&d->f, &p->rec.f, sizeof(d->f));
	event_submit(d);
}

static __always_inline struct pending_dma_fault *pending_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pending_dma_fault, &zero);
}

SEC("tp_btf/iommufd_dma_fault")
int BPF_PROG(on_dma_fault, struct iommufd_hw_pagetable *hwpt,
	     struct device *dev, u32 dev_id, pid_t owner_tgid,
	     unsigned long iova, int flags)
{
	struct pending_dma_fault *p = pending_get();
	struct iommufd_ioas *ioas;

	if (!p)
		return 0;
	__builtin_memset(&p->rec, 0, sizeof(p->rec));
	ioas = hwpt_ioas(hwpt);
	p->dev = (__u64)dev;
	p->ioas = (__u64)ioas;
	p->rec.ev.ctx = ioas ? ctx_id(ioas->ictx) : 0;
	p->rec.ev.owner_tgid = owner_tgid;
	p->rec.ev.dev_id = dev_id;
	p->rec.ev.hwpt_id = hwpt->obj.id;
	p->rec.ev.ioas_id = hwpt_ioas_id(hwpt);
	p->rec.ev.iova = iova;
	p->rec.ev.flags = IOMMUFD_DMA_FAULT_ATTRIBUTED |
			  (flags & IOMMU_FAULT_WRITE ? IOMMUFD_DMA_FAULT_WRITE : 0);
	/* Drivers that cannot tell the device (ARM SMMU) report none */
	if (dev)
		bpf_probe_read_kernel_str(p->rec.f.device,
					  sizeof(p->rec.f.device),
					  dev->kobj.name);
	else
		__builtin_memcpy(p->rec.f.device, "(none)", sizeof("(none)"));
	/* The VT-d driver's own event follows and completes the record */
	if (&intel_iommu_ops &&
	    (__u64)hwpt->domain->owner == (__u64)&intel_iommu_ops) {
		p->valid = true;
		return 0;
	}
	p->valid = false;
	dma_fault_emit(p);
	return 0;
}

/* How long a VT-d invalidation of a domain iommufd owns waited */
SEC("tp_btf/qi_wait")
int BPF_PROG(on_qi_wait, struct intel_iommu *iommu, struct iommu_domain *domain,
	     const struct qi_desc *desc, unsigned int count, u32 kinds,
	     unsigned long options, u64 wait_ns, u64 total_ns, int rc)
{
	struct iommufd_iotlb_wait_event *e;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_ioas *ioas;
	struct iommufd_ctx *ictx;
	__u64 qw0, qw1;

	hwpt = domain_hwpt(domain);
	if (!hwpt)
		return 0;
	ioas = hwpt_ioas(hwpt);
	ictx = ioas ? ioas->ictx : NULL;
	e = event_reserve(IOMMUFD_EV_IOTLB_WAIT, ctx_owner(ictx),
			  ioas ? ioas->obj.id : 0, 0, sizeof(*e));
	if (!e)
		return 0;
	e->ev.ctx = ctx_id(ictx);
	e->ev.hwpt_id = hwpt->obj.id;
	e->ev.count = count;
	e->ev.duration_ns = wait_ns;
	e->ev.ret = rc;
	e->w.total_ns = total_ns;
	e->w.kinds = kinds;
	bpf_probe_read_kernel_str(e->w.iommu, sizeof(e->w.iommu), iommu->name);
	/* The range of the first descriptor, an IOTLB one when the domain's */
	qw0 = count ? desc->qw0 : 0;
	qw1 = count ? desc->qw1 : 0;
	if ((qw0 & 0xf) == QI_TYPE_IOTLB || (qw0 & 0xf) == QI_TYPE_PASID_IOTLB) {
		e->w.did = (qw0 >> 16) & 0xffff;
		e->ev.iova = qw1 & ~0xfffull;
		/* The address mask: 2^AM pages of 4 KiB */
		e->ev.length = 4096ull << (qw1 & 0x3f);
	}
	event_submit(e);
	return 0;
}

SEC("tp_btf/dmar_fault")
int BPF_PROG(on_dmar_fault, struct intel_iommu *iommu, struct device *dev,
	     u16 source_id, u32 pasid, u64 addr, bool write, u8 reason,
	     int fault_type, const char *reason_name)
{
	struct pending_dma_fault *p = pending_get();

	if (!p)
		return 0;
	/*
	 * Not the fault iommufd just heard of: a device iommufd does not own,
	 * or none (dev is NULL for a source id the IOMMU has no device for)
	 */
	if (!p->valid || p->dev != (__u64)dev ||
	    /* VT-d records fault addresses in 4 KiB pages, whatever PAGE_SIZE */
	    (p->rec.ev.iova & ~0xfffull) != addr) {
		__builtin_memset(&p->rec, 0, sizeof(p->rec));
		p->ioas = 0;
		p->rec.ev.iova = addr;
		p->rec.ev.flags = write ? IOMMUFD_DMA_FAULT_WRITE : 0;
		if (dev)
			bpf_probe_read_kernel_str(p->rec.f.device,
						  sizeof(p->rec.f.device),
						  dev->kobj.name);
	}
	p->valid = false;
	p->rec.ev.flags |= IOMMUFD_DMA_FAULT_DECODED;
	if (pasid != (u32)-1) {
		p->rec.ev.flags |= IOMMUFD_DMA_FAULT_PASID;
		p->rec.ev.pasid = pasid;
	}
	p->rec.ev.code = reason;
	p->rec.f.source_id = source_id;
	p->rec.f.kind = fault_type;
	bpf_probe_read_kernel_str(p->rec.f.reason, sizeof(p->rec.f.reason),
				  reason_name);
	dma_fault_emit(p);
	return 0;
}

/* Kernels without the series: the same records from fentry/fexit */
#include "iommufd_trace_fallback.bpf.h"
