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
#include "iommufd_trace.h"

/*
 * container_of() for kernel objects: the verifier will not let a pointer to
 * one struct grow into its container, so cast through bpf_rdonly_cast(),
 * which gives a read-only view of the container at the CO-RE offset.
 */
#define kernel_container_of(ptr, type, member)				\
	bpf_core_cast((void *)(ptr) - bpf_core_field_offset(type, member), type)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Filters; 0 means "any". Set between open and load. */
const volatile __s32 filter_owner_tgid;
const volatile __u32 filter_ioas_id;
const volatile __u32 filter_dev_id;
const volatile __u32 event_mask = IOMMUFD_EV_MASK_ALL;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IOMMUFD_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Report time of each fault group still waiting for its answer */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);	/* struct iopf_group * */
	__type(value, __u64);	/* ns */
} fault_reported SEC(".maps");

__u64 next_seq;

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		(*v)++;
}

/*
 * Reserve and zero a record for @type, or NULL when the event is filtered
 * or the ring buffer is full (both counted).
 */
static __always_inline struct iommufd_event *
event_begin(__u32 type, __s32 owner_tgid, __u32 ioas_id, __u32 dev_id)
{
	struct iommufd_event *e;

	count(IOMMUFD_CNT_PRODUCED);
	if (!(event_mask & (1u << type)) ||
	    (filter_owner_tgid && owner_tgid != filter_owner_tgid) ||
	    (filter_ioas_id && ioas_id != filter_ioas_id) ||
	    (filter_dev_id && dev_id != filter_dev_id)) {
		count(IOMMUFD_CNT_FILTERED);
		return NULL;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(IOMMUFD_CNT_DROPPED);
		/* Burn a sequence number so the consumer sees the gap */
		__sync_fetch_and_add(&next_seq, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->seq = __sync_fetch_and_add(&next_seq, 1) + 1;
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	e->owner_tgid = owner_tgid;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->ioas_id = ioas_id;
	e->dev_id = dev_id;
	return e;
}

static __always_inline __s32 ctx_owner(struct iommufd_ctx *ictx)
{
	return ictx ? ictx->owner_tgid : 0;
}

static __always_inline __u32 hwpt_ioas_id(struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging;
	struct iommufd_hwpt_nested *nested;

	if (!hwpt)
		return 0;
	switch (hwpt->obj.type) {
	case IOMMUFD_OBJ_HWPT_PAGING:
		paging = kernel_container_of(hwpt, struct iommufd_hwpt_paging,
					     common);
		return paging->ioas->obj.id;
	case IOMMUFD_OBJ_HWPT_NESTED:
		nested = kernel_container_of(hwpt, struct iommufd_hwpt_nested,
					     common);
		return nested->parent->ioas->obj.id;
	default:
		return 0;
	}
}

static __always_inline int ioas_range(__u32 type, struct iommufd_ctx *ictx,
				      struct iommufd_ioas *ioas, __u64 iova,
				      __u64 length, __u64 done, __u32 flags,
				      int ret)
{
	struct iommufd_event *e;

	e = event_begin(type, ctx_owner(ictx), ioas->obj.id, 0);
	if (!e)
		return 0;
	e->iova = iova;
	e->length = length;
	e->done = done;
	e->flags = flags;
	e->ret = ret;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/iommufd_ioas_map")
int BPF_PROG(on_ioas_map, struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
	     u64 iova, u64 length, u64 done, u32 flags, int ret)
{
	return ioas_range(IOMMUFD_EV_IOAS_MAP, ictx, ioas, iova, length, done,
			  flags, ret);
}

SEC("tp_btf/iommufd_ioas_unmap")
int BPF_PROG(on_ioas_unmap, struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
	     u64 iova, u64 length, u64 done, u32 flags, int ret)
{
	return ioas_range(IOMMUFD_EV_IOAS_UNMAP, ictx, ioas, iova, length, done,
			  flags, ret);
}

SEC("tp_btf/iommufd_ioas_copy")
int BPF_PROG(on_ioas_copy, struct iommufd_ctx *ictx, u32 src_ioas_id,
	     struct iommufd_ioas *dst_ioas, u64 src_iova, u64 dst_iova,
	     u64 length, u32 flags, int ret)
{
	struct iommufd_event *e;

	e = event_begin(IOMMUFD_EV_IOAS_COPY, ctx_owner(ictx),
			dst_ioas->obj.id, 0);
	if (!e)
		return 0;
	e->src_ioas_id = src_ioas_id;
	e->iova = src_iova;
	e->dst_iova = dst_iova;
	e->length = length;
	e->done = ret ? 0 : length;
	e->flags = flags;
	e->ret = ret;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline int device_hwpt(__u32 type, struct iommufd_device *idev,
				       struct iommufd_hw_pagetable *hwpt,
				       struct iommufd_hw_pagetable *old,
				       ioasid_t pasid, int ret)
{
	struct iommufd_event *e;

	e = event_begin(type, ctx_owner(idev->ictx), hwpt_ioas_id(hwpt),
			idev->obj.id);
	if (!e)
		return 0;
	e->hwpt_id = hwpt->obj.id;
	e->old_hwpt_id = old ? old->obj.id : 0;
	e->pasid = pasid;
	e->ret = ret;
	bpf_ringbuf_submit(e, 0);
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
	return device_hwpt(IOMMUFD_EV_DEVICE_REPLACE, idev, new_hwpt, old_hwpt,
			   pasid, ret);
}

SEC("tp_btf/iommufd_iotlb_flush")
int BPF_PROG(on_iotlb_flush, struct iopt_area *area,
	     struct iommu_domain *domain, unsigned int reason)
{
	struct iommufd_ioas *ioas =
		kernel_container_of(area->iopt, struct iommufd_ioas, iopt);
	struct iommufd_event *e;

	e = event_begin(IOMMUFD_EV_IOTLB_FLUSH, ctx_owner(ioas->ictx),
			ioas->obj.id, 0);
	if (!e)
		return 0;
	/* The area's IOVA range, as iopt_area_iova() / iopt_area_length() */
	e->iova = area->node.start;
	e->length = area->node.last - area->node.start + 1;
	e->code = reason;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/iommufd_hwpt_invalidate")
int BPF_PROG(on_hwpt_invalidate, struct iommufd_ctx *ictx,
	     struct iommufd_hw_pagetable *hwpt, u32 data_type, u32 entries,
	     u32 done, int ret)
{
	struct iommufd_event *e;

	e = event_begin(IOMMUFD_EV_HWPT_INVALIDATE, ctx_owner(ictx),
			hwpt_ioas_id(hwpt), 0);
	if (!e)
		return 0;
	e->hwpt_id = hwpt->obj.id;
	e->code = data_type;
	e->count = entries;
	e->done = done;
	e->ret = ret;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/iommufd_dirty_tracking")
int BPF_PROG(on_dirty_tracking, struct iommufd_ctx *ictx,
	     struct iommufd_hwpt_paging *hwpt_paging, bool enable, int ret)
{
	struct iommufd_event *e;

	e = event_begin(IOMMUFD_EV_DIRTY_TRACKING, ctx_owner(ictx),
			hwpt_paging->ioas->obj.id, 0);
	if (!e)
		return 0;
	e->hwpt_id = hwpt_paging->common.obj.id;
	e->flags = enable;
	e->ret = ret;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/iommufd_dirty_read")
int BPF_PROG(on_dirty_read, struct iommufd_ctx *ictx,
	     struct iommufd_hwpt_paging *hwpt_paging, u64 iova, u64 length,
	     u64 page_size, u32 flags, u64 dirty, u64 duration_ns, int ret)
{
	struct iommufd_event *e;

	e = event_begin(IOMMUFD_EV_DIRTY_READ, ctx_owner(ictx),
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
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/iommufd_fault_report")
int BPF_PROG(on_fault_report, struct iommufd_fault *fault,
	     struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev,
	     struct iopf_group *group)
{
	struct iommu_fault_page_request *prm = &group->last_fault.fault.prm;
	__u64 key = (__u64)group, now = bpf_ktime_get_ns();
	struct iommufd_event *e;

	bpf_map_update_elem(&fault_reported, &key, &now, BPF_ANY);
	e = event_begin(IOMMUFD_EV_FAULT_REPORT, ctx_owner(fault->ictx),
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
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/iommufd_fault_respond")
int BPF_PROG(on_fault_respond, struct iommufd_fault *fault,
	     struct iopf_group *group, u32 code)
{
	struct iommu_fault_page_request *prm = &group->last_fault.fault.prm;
	struct iommufd_attach_handle *handle =
		kernel_container_of(group->attach_handle,
				    struct iommufd_attach_handle, handle);
	__u64 key = (__u64)group, waited = 0, *reported;
	struct iommufd_event *e;

	reported = bpf_map_lookup_elem(&fault_reported, &key);
	if (reported) {
		waited = bpf_ktime_get_ns() - *reported;
		bpf_map_delete_elem(&fault_reported, &key);
	}
	e = event_begin(IOMMUFD_EV_FAULT_RESPOND, ctx_owner(fault->ictx), 0,
			handle->idev->obj.id);
	if (!e)
		return 0;
	e->fault_id = fault->obj.id;
	e->pasid = prm->pasid;
	e->flags = prm->flags;
	e->grpid = prm->grpid;
	e->iova = prm->addr;
	e->code = code;
	e->duration_ns = waited;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/iommufd_fault_auto_respond")
int BPF_PROG(on_fault_auto_respond, struct iommufd_fault *fault,
	     struct iommufd_device *idev, u32 nr, unsigned int reason)
{
	struct iommufd_event *e;

	e = event_begin(IOMMUFD_EV_FAULT_AUTO_RESPOND, ctx_owner(fault->ictx),
			0, idev ? idev->obj.id : 0);
	if (!e)
		return 0;
	e->fault_id = fault->obj.id;
	e->count = nr;
	e->code = reason;
	bpf_ringbuf_submit(e, 0);
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
	bpf_ringbuf_submit(e, 0);
	return 0;
}
