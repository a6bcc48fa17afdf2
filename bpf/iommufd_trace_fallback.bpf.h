/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracer's fallback for kernels without the iommufd-bpf series: the
 * same IOAS map, unmap and copy records, from fentry/fexit on the ioctl
 * handlers every iommufd kernel has, device attach, replace and detach
 * records from the functions VFIO calls for them, and I/O page fault
 * reports, reads and answers. Included by iommufd_trace.bpf.c, so
 * both sources share its ring buffer, counters and sequence numbers. Not
 * loaded unless asked for ("?" sections): the loader enables one source
 * per event (trace_sources.c).
 *
 * What it knows and the series does not differ in:
 * - every call is traced, also those the handler rejects before it looks
 *   the IOAS up (bad flags, an IOAS id that does not exist), which the
 *   series' events leave out;
 * - the owner is the calling thread group: the series' owner is the last
 *   group to issue an ioctl on the context, which is the caller here;
 * - the duration spans the whole handler;
 * - there is no boot-unique context id (IOMMUFD_ABSENT_CTX), a failed
 *   unmap cannot say what it unmapped before failing (IOMMUFD_ABSENT_DONE),
 *   and a map or unmap cannot say what it pinned, released or unmapped from
 *   the domains (IOMMUFD_ABSENT_TALLY).
 */
#ifndef IOMMUFD_BPF_TRACE_FALLBACK_BPF_H
#define IOMMUFD_BPF_TRACE_FALLBACK_BPF_H

#include "ioctl_handler_time.bpf.h"
#include "fault_read_fallback.bpf.h"

/*
 * The duration since this thread's entry into the handler; 0 with
 * IOMMUFD_ABSENT_DURATION in @absent when the entry was not seen
 */
static __always_inline __u64 handler_duration(__u32 *absent, __u64 *length)
{
	__u64 ns;

	if (handler_exit(&ns, length))
		return ns;
	*absent |= IOMMUFD_ABSENT_DURATION;
	return 0;
}

/* A record of the calling thread group's ioctl */
static __always_inline struct iommufd_event *
handler_event_begin(__u32 type, __u32 ioas_id)
{
	struct iommufd_event *e;

	e = event_begin(type, bpf_get_current_pid_tgid() >> 32, ioas_id, 0);
	if (e)
		e->absent = IOMMUFD_ABSENT_CTX;
	return e;
}

/* What every record of a handler's exit ends with; submitted */
static __always_inline int handler_event_end(struct iommufd_event *e, int ret,
					     __u64 ns, __u32 absent)
{
	e->ret = ret;
	e->duration_ns = ns;
	e->absent |= absent;
	event_submit(e);
	return 0;
}

SEC("?fentry/iommufd_ioas_map")
int BPF_PROG(fallback_ioas_map_enter, struct iommufd_ucmd *ucmd)
{
	return handler_enter(0);
}

SEC("?fexit/iommufd_ioas_map")
int BPF_PROG(fallback_ioas_map, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_ioas_map *cmd = bpf_core_cast(ucmd->cmd,
						   struct iommu_ioas_map);
	struct iommufd_event *e;
	__u32 absent = 0;
	__u64 ns;

	ns = handler_duration(&absent, NULL);
	absent |= IOMMUFD_ABSENT_TALLY;
	e = handler_event_begin(IOMMUFD_EV_IOAS_MAP, cmd->ioas_id);
	if (!e)
		return 0;
	/* On success the reply holds the IOVA the kernel chose */
	e->iova = cmd->iova;
	e->length = cmd->length;
	e->done = ret ? 0 : cmd->length;
	e->flags = cmd->flags;
	return handler_event_end(e, ret, ns, absent);
}

SEC("?fentry/iommufd_ioas_unmap")
int BPF_PROG(fallback_ioas_unmap_enter, struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = bpf_core_cast(ucmd->cmd,
						     struct iommu_ioas_unmap);

	return handler_enter(cmd->length);
}

SEC("?fexit/iommufd_ioas_unmap")
int BPF_PROG(fallback_ioas_unmap, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_ioas_unmap *cmd = bpf_core_cast(ucmd->cmd,
						     struct iommu_ioas_unmap);
	struct iommufd_event *e;
	__u32 absent = 0;
	__u64 length = 0, ns;

	ns = handler_duration(&absent, &length);
	absent |= IOMMUFD_ABSENT_TALLY;
	e = handler_event_begin(IOMMUFD_EV_IOAS_UNMAP, cmd->ioas_id);
	if (!e)
		return 0;
	e->iova = cmd->iova;
	/* Without the entry, only a failure left the length asked for */
	if (absent & IOMMUFD_ABSENT_DURATION)
		length = cmd->length;
	e->length = length;
	/* On success the reply says what was unmapped */
	if (ret)
		absent |= IOMMUFD_ABSENT_DONE;
	else
		e->done = cmd->length;
	return handler_event_end(e, ret, ns, absent);
}

SEC("?fentry/iommufd_ioas_copy")
int BPF_PROG(fallback_ioas_copy_enter, struct iommufd_ucmd *ucmd)
{
	return handler_enter(0);
}

SEC("?fexit/iommufd_ioas_copy")
int BPF_PROG(fallback_ioas_copy, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_ioas_copy *cmd = bpf_core_cast(ucmd->cmd,
						    struct iommu_ioas_copy);
	struct iommufd_event *e;
	__u32 absent = 0;
	__u64 ns;

	ns = handler_duration(&absent, NULL);
	e = handler_event_begin(IOMMUFD_EV_IOAS_COPY, cmd->dst_ioas_id);
	if (!e)
		return 0;
	e->src_ioas_id = cmd->src_ioas_id;
	e->iova = cmd->src_iova;
	/* On success the reply holds the IOVA the kernel chose */
	e->dst_iova = cmd->dst_iova;
	e->length = cmd->length;
	e->done = ret ? 0 : cmd->length;
	e->flags = cmd->flags;
	return handler_event_end(e, ret, ns, absent);
}

/*
 * Device attach, replace and detach, from fentry/fexit on the functions
 * VFIO (and the selftest mock) call. Kernels before 6.15 take no PASID
 * (v1: the RID only); 6.15 and the series take one (v2). The loader picks
 * the pair of the running kernel's prototype. Before 6.15 (and in the
 * series) the group keeps the RID's HWPT, which names the HWPT left by a
 * replace or a detach and the IOAS under it; mainline 6.15 keeps it per
 * PASID in an xarray only, and there the record says they are not known.
 */
struct iommufd_group___v1 {
	struct iommufd_hw_pagetable *hwpt;
} __attribute__((preserve_access_index));

/* The HWPT the device's RID is attached to, where the group says */
static __always_inline struct iommufd_hw_pagetable *
rid_hwpt(struct iommufd_device *idev)
{
	struct iommufd_group___v1 *g = (void *)idev->igroup;

	if (!bpf_core_field_exists(g->hwpt))
		return NULL;
	/* A BTF load: the verifier types it as the kernel's HWPT pointer */
	return g->hwpt;
}

/*
 * A record of a device's attach, replace or detach by the calling thread
 * group; @hwpt (NULL: unknown) names the HWPT and the IOAS under it, which
 * the filters look at as they do for the series' records
 */
static __always_inline struct iommufd_event *
device_event_begin(__u32 type, struct iommufd_device *idev, __u32 pasid,
		   struct iommufd_hw_pagetable *hwpt)
{
	__u32 ioas_id = hwpt ? hwpt_ioas_id(hwpt) : 0;
	struct iommufd_event *e;

	e = event_begin(type, bpf_get_current_pid_tgid() >> 32, ioas_id,
			idev->obj.id);
	if (!e)
		return NULL;
	e->absent = IOMMUFD_ABSENT_CTX;
	e->pasid = pasid;
	if (hwpt)
		e->hwpt_id = BPF_CORE_READ(hwpt, obj.id);
	else
		e->absent |= IOMMUFD_ABSENT_HWPT | IOMMUFD_ABSENT_IOAS;
	return e;
}

/*
 * An attach or replace ended. On success the RID's HWPT is the one now
 * attached; for a PASID, or where the group does not say, *@pt_id is the
 * HWPT id the kernel wrote back, without its IOAS.
 */
static __always_inline int device_attach_end(__u32 type,
					     struct iommufd_device *idev,
					     __u32 pasid, __u32 *pt_id, int ret)
{
	struct iommufd_hw_pagetable *hwpt = NULL;
	struct iommufd_event *e;
	__u64 ns, old_id = 0;
	__u32 hwpt_id;

	if (type == IOMMUFD_EV_DEVICE_REPLACE && !handler_exit(&ns, &old_id))
		old_id = 0;
	if (!ret && !pasid)
		hwpt = rid_hwpt(idev);
	e = device_event_begin(type, idev, pasid, hwpt);
	if (!e)
		return 0;
	if (!ret && !hwpt &&
	    !bpf_probe_read_kernel(&hwpt_id, sizeof(hwpt_id), pt_id)) {
		e->hwpt_id = hwpt_id;
		e->absent &= ~IOMMUFD_ABSENT_HWPT;
	}
	if (type == IOMMUFD_EV_DEVICE_REPLACE) {
		e->old_hwpt_id = old_id;
		if (!old_id)
			e->absent |= IOMMUFD_ABSENT_OLD_HWPT;
	}
	e->ret = ret;
	event_submit(e);
	return 0;
}

/* Before a replace: the HWPT it leaves (0: unknown) */
static __always_inline int device_replace_begin(struct iommufd_device *idev,
						__u32 pasid)
{
	struct iommufd_hw_pagetable *old = pasid ? NULL : rid_hwpt(idev);

	return handler_enter(old ? BPF_CORE_READ(old, obj.id) : 0);
}

/* A detach cannot fail: recorded before, while the HWPT is still there */
static __always_inline int device_detach_begin(struct iommufd_device *idev,
					       __u32 pasid)
{
	struct iommufd_event *e;

	e = device_event_begin(IOMMUFD_EV_DEVICE_DETACH, idev, pasid,
			       pasid ? NULL : rid_hwpt(idev));
	if (e)
		event_submit(e);
	return 0;
}

SEC("?fexit/iommufd_device_attach")
int BPF_PROG(fallback_attach_v1, struct iommufd_device *idev, u32 *pt_id,
	     int ret)
{
	return device_attach_end(IOMMUFD_EV_DEVICE_ATTACH, idev, 0, pt_id, ret);
}

SEC("?fexit/iommufd_device_attach")
int BPF_PROG(fallback_attach_v2, struct iommufd_device *idev, u32 pasid,
	     u32 *pt_id, int ret)
{
	return device_attach_end(IOMMUFD_EV_DEVICE_ATTACH, idev, pasid, pt_id,
				 ret);
}

SEC("?fentry/iommufd_device_replace")
int BPF_PROG(fallback_replace_enter_v1, struct iommufd_device *idev,
	     u32 *pt_id)
{
	return device_replace_begin(idev, 0);
}

SEC("?fexit/iommufd_device_replace")
int BPF_PROG(fallback_replace_v1, struct iommufd_device *idev, u32 *pt_id,
	     int ret)
{
	return device_attach_end(IOMMUFD_EV_DEVICE_REPLACE, idev, 0, pt_id, ret);
}

SEC("?fentry/iommufd_device_replace")
int BPF_PROG(fallback_replace_enter_v2, struct iommufd_device *idev,
	     u32 pasid, u32 *pt_id)
{
	return device_replace_begin(idev, pasid);
}

SEC("?fexit/iommufd_device_replace")
int BPF_PROG(fallback_replace_v2, struct iommufd_device *idev, u32 pasid,
	     u32 *pt_id, int ret)
{
	return device_attach_end(IOMMUFD_EV_DEVICE_REPLACE, idev, pasid, pt_id,
				 ret);
}

SEC("?fentry/iommufd_device_detach")
int BPF_PROG(fallback_detach_v1, struct iommufd_device *idev)
{
	return device_detach_begin(idev, 0);
}

SEC("?fentry/iommufd_device_detach")
int BPF_PROG(fallback_detach_v2, struct iommufd_device *idev, u32 pasid)
{
	return device_detach_begin(idev, pasid);
}

/*
 * I/O page faults: iommufd's handler takes each group reported for a
 * domain it owns (the report), and iopf_group_response() sends each answer
 * to the device, whether the VMM wrote it to the fault fd or iommufd gave
 * it when the device was detached or the fault object destroyed (then one
 * record counts them, as the series' auto-response event does). The read
 * from the fault fd is taken at the read's exit from the groups it gave
 * a cookie (fault_read_fallback.bpf.h), which splits an answer's wait. A
 * report runs in the device's context, not the owner's, so its owner is
 * not known; a read and an answer run in the VMM's, the caller.
 */
/* Groups answered by iommufd itself, on this thread, until it is done */
struct auto_answers {
	__u32 fault_id;
	__u32 dev_id;		/* 0: destroying the fault object */
	__u32 reason;		/* 0 detach, 1 destroy: as the series */
	__u32 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct auto_answers);
} auto_answering SEC(".maps");

/* A fault group's record: its device, fault object and first fields */
static __always_inline struct iommufd_event *
fault_event_begin(__u32 type, __s32 owner, struct iommufd_hw_pagetable *hwpt,
		  struct iopf_group *group, __u32 ioas_id)
{
	struct iommu_fault_page_request *prm = &group->last_fault.fault.prm;
	struct iommufd_event *e;

	e = event_begin(type, owner, ioas_id, group_idev(group)->obj.id);
	if (!e)
		return NULL;
	e->absent = IOMMUFD_ABSENT_CTX;
	e->fault_id = hwpt->fault->obj.id;
	e->pasid = prm->pasid;
	e->flags = prm->flags;
	e->grpid = prm->grpid;
	e->iova = prm->addr;
	return e;
}

SEC("?fentry/iommufd_fault_iopf_handler")
int BPF_PROG(fallback_fault_report, struct iopf_group *group)
{
	struct iommufd_hw_pagetable *hwpt = group_hwpt(group);
	struct iommufd_event *e;

	if (!hwpt)
		return 0;
	fault_reported_now(group, hwpt->fault);
	e = fault_event_begin(IOMMUFD_EV_FAULT_REPORT, 0, hwpt, group,
			      hwpt_ioas_id(hwpt));
	if (!e)
		return 0;
	e->absent |= IOMMUFD_ABSENT_OWNER;
	e->hwpt_id = hwpt->obj.id;
	e->perm = group->last_fault.fault.prm.perm;
	e->count = group->fault_count;
	event_submit(e);
	return 0;
}

SEC("?fentry/iopf_group_response")
int BPF_PROG(fallback_fault_respond, struct iopf_group *group,
	     enum iommu_page_response_code status)
{
	struct iommufd_hw_pagetable *hwpt = group_hwpt(group);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct auto_answers *a;
	struct iommufd_event *e;
	struct fault_wait w;

	if (!hwpt)
		return 0;
	fault_waited(group, &w);
	a = bpf_map_lookup_elem(&auto_answering, &tid);
	if (a) {
		a->count++;
		return 0;
	}
	/* The VMM writes the answer: it is the caller */
	e = fault_event_begin(IOMMUFD_EV_FAULT_RESPOND,
			      bpf_get_current_pid_tgid() >> 32, hwpt, group, 0);
	if (!e)
		return 0;
	/* Unseen where the kernel's read cannot be followed (or was not) */
	if (!w.read)
		e->absent |= IOMMUFD_ABSENT_FAULT_STEPS;
	if (!w.total_ns)
		e->absent |= IOMMUFD_ABSENT_DURATION;
	e->cookie = group->cookie;
	e->code = status;
	e->duration_ns = w.total_ns;
	e->queued_ns = w.queued_ns;
	e->handled_ns = w.handled_ns;
	event_submit(e);
	return 0;
}

/* The VMM read the group: it is the caller */
static __always_inline void fault_read_record(struct iopf_group *group,
					      __u64 queued)
{
	struct iommufd_hw_pagetable *hwpt = group_hwpt(group);
	struct iommufd_event *e;

	if (!hwpt)
		return;
	e = fault_event_begin(IOMMUFD_EV_FAULT_READ,
			      bpf_get_current_pid_tgid() >> 32, hwpt, group, 0);
	if (!e)
		return;
	e->cookie = group->cookie;
	e->count = group->fault_count;
	e->queued_ns = queued;
	event_submit(e);
}

static long fault_read_one(struct bpf_map *map, __u64 *key,
			   struct fault_times *t, struct fault_read_walk *w)
{
	struct iopf_group *group = fault_read_taken(w, key, t);

	if (group)
		fault_read_record(group, w->now - t->reported_ns);
	return 0;
}

SEC("?fexit/iommufd_fault_fops_read")
int BPF_PROG(fallback_fault_read, struct file *filep, char *buf, size_t count,
	     loff_t *ppos, ssize_t ret)
{
	struct fault_read_walk w;

	if (ret <= 0)
		return 0;
	fault_read_walk_init(&w, filep);
	bpf_for_each_map_elem(&fault_times, fault_read_one, &w, 0);
	return 0;
}

static __always_inline int auto_begin(__u32 fault_id, __u32 dev_id,
				      __u32 reason)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct auto_answers a = {
		.fault_id = fault_id, .dev_id = dev_id, .reason = reason,
	};

	bpf_map_update_elem(&auto_answering, &tid, &a, BPF_ANY);
	return 0;
}

static __always_inline int auto_end(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct auto_answers *found, a;
	struct iommufd_event *e;

	found = bpf_map_lookup_elem(&auto_answering, &tid);
	if (!found)
		return 0;
	a = *found;
	bpf_map_delete_elem(&auto_answering, &tid);
	if (!a.count)
		return 0;
	e = event_begin(IOMMUFD_EV_FAULT_AUTO_RESPOND,
			bpf_get_current_pid_tgid() >> 32, 0, a.dev_id);
	if (!e)
		return 0;
	e->absent = IOMMUFD_ABSENT_CTX;
	e->fault_id = a.fault_id;
	e->count = a.count;
	e->code = a.reason;
	event_submit(e);
	return 0;
}

/* A device leaves a HWPT with a fault object: its groups are answered */
SEC("?fentry/iommufd_auto_response_faults")
int BPF_PROG(fallback_auto_detach_enter, struct iommufd_hw_pagetable *hwpt,
	     struct iommufd_attach_handle *handle)
{
	if (!hwpt->fault)
		return 0;
	return auto_begin(hwpt->fault->obj.id, handle->idev->obj.id, 0);
}

SEC("?fexit/iommufd_auto_response_faults")
int BPF_PROG(fallback_auto_detach, struct iommufd_hw_pagetable *hwpt,
	     struct iommufd_attach_handle *handle)
{
	return auto_end();
}

/* A fault object destroyed: what it still holds is answered */
SEC("?fentry/iommufd_fault_destroy")
int BPF_PROG(fallback_auto_destroy_enter, struct iommufd_object *obj)
{
	return auto_begin(obj->id, 0, 1);
}

SEC("?fexit/iommufd_fault_destroy")
int BPF_PROG(fallback_auto_destroy, struct iommufd_object *obj)
{
	return auto_end();
}

#endif /* IOMMUFD_BPF_TRACE_FALLBACK_BPF_H */
