/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The aggregation's fallback for kernels without the iommufd-bpf series:
 * IOAS maps, unmaps and copies, their bytes, errors and latency, counted
 * into the same tables from fentry/fexit on the ioctl handlers every
 * iommufd kernel has, and I/O page faults, their answers and their wait,
 * from iommufd's fault handler and iopf_group_response(). Included by
 * iommufd_stats.bpf.c; not loaded unless asked for ("?" sections,
 * stats_sources.c).
 *
 * Such a kernel gives a context no id, so the first operation seen on one
 * numbers it (1, 2, ... in the order seen, for the life of the programs)
 * and its release forgets the number. Nor does it say who owns a context:
 * its owner is the thread group that last issued a counted ioctl on it,
 * as the series defines it, 0 until one is seen. Rows are retired as the
 * series' lifecycle events retire them: an IOAS's at IOMMU_DESTROY, a
 * device's at its unbind, everything left of a context at its release.
 *
 * What it counts differently from the series:
 * - every call is counted, also those the handler rejects before it looks
 *   the IOAS up (an id that is no IOAS gets a row of errors until the
 *   context goes); VFIO's compatibility maps (VFIO_IOMMU_MAP_DMA on the
 *   iommufd) are not counted;
 * - a duration spans the whole handler, and a fault group's read is taken
 *   at the end of the read call that gave it out, not as it was copied.
 */
#ifndef IOMMUFD_BPF_STATS_FALLBACK_BPF_H
#define IOMMUFD_BPF_STATS_FALLBACK_BPF_H

#include "ioctl_handler_time.bpf.h"
#include "fault_read_fallback.bpf.h"

/* What the fallback knows of a context seen */
struct fallback_ctx_info {
	__u64 number;
	__s32 owner_tgid;	/* its last counted ioctl's; 0: none seen */
	__u32 pad;
};

/* By the context's address */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STATS_IOAS_ROWS);
	__type(key, __u64);
	__type(value, struct fallback_ctx_info);
} fallback_ctx_numbers SEC(".maps");

/* The last number given */
__u64 fallback_ctx_last;

/* @ictx's entry, numbered now if it had none; NULL when the table is full */
static __always_inline struct fallback_ctx_info *
fallback_ctx(struct iommufd_ctx *ictx)
{
	struct fallback_ctx_info *found, fresh = {};
	__u64 addr = (__u64)ictx;

	found = bpf_map_lookup_elem(&fallback_ctx_numbers, &addr);
	if (found)
		return found;
	fresh.number = __sync_fetch_and_add(&fallback_ctx_last, 1) + 1;
	/* Another CPU may number it first: then its number holds */
	bpf_map_update_elem(&fallback_ctx_numbers, &addr, &fresh, BPF_NOEXIST);
	found = bpf_map_lookup_elem(&fallback_ctx_numbers, &addr);
	if (!found)
		count_lost(STATS_LOST_IOAS);
	return found;
}

static __always_inline int fallback_count(struct iommufd_ucmd *ucmd,
					  __u32 ioas_id, __u64 done, int ret,
					  enum ioas_op op)
{
	__s32 owner = bpf_get_current_pid_tgid() >> 32;
	struct fallback_ctx_info *c;
	__u64 ns = 0;

	handler_exit(&ns, NULL);
	if (skip_owner(owner))
		return 0;
	c = fallback_ctx(ucmd->ictx);
	if (!c)
		return 0;
	c->owner_tgid = owner;
	count_ioas(c->number, owner, ioas_id, done, ret, ns, op, false);
	return 0;
}

SEC("?fentry/iommufd_ioas_map")
int BPF_PROG(fallback_stats_map_enter, struct iommufd_ucmd *ucmd)
{
	return handler_enter(0);
}

SEC("?fexit/iommufd_ioas_map")
int BPF_PROG(fallback_stats_map, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_ioas_map *cmd = bpf_core_cast(ucmd->cmd,
						   struct iommu_ioas_map);

	return fallback_count(ucmd, cmd->ioas_id, cmd->length, ret, IOAS_MAP);
}

SEC("?fentry/iommufd_ioas_unmap")
int BPF_PROG(fallback_stats_unmap_enter, struct iommufd_ucmd *ucmd)
{
	return handler_enter(0);
}

/* On success the reply's length is what was unmapped */
SEC("?fexit/iommufd_ioas_unmap")
int BPF_PROG(fallback_stats_unmap, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_ioas_unmap *cmd = bpf_core_cast(ucmd->cmd,
						     struct iommu_ioas_unmap);

	return fallback_count(ucmd, cmd->ioas_id, cmd->length, ret,
			      IOAS_UNMAP);
}

SEC("?fentry/iommufd_ioas_copy")
int BPF_PROG(fallback_stats_copy_enter, struct iommufd_ucmd *ucmd)
{
	return handler_enter(0);
}

/* Counted in the destination IOAS, as the series counts it */
SEC("?fexit/iommufd_ioas_copy")
int BPF_PROG(fallback_stats_copy, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_ioas_copy *cmd = bpf_core_cast(ucmd->cmd,
						    struct iommu_ioas_copy);

	return fallback_count(ucmd, cmd->dst_ioas_id, cmd->length, ret,
			      IOAS_COPY);
}

/*
 * IOMMU_DESTROY removed object @id: if it was an IOAS, its row is final.
 * Object ids are unique within a context whatever the type, so the id
 * names nothing else in the IOAS table.
 */
SEC("?fexit/iommufd_destroy")
int BPF_PROG(fallback_stats_destroy, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_destroy *cmd = bpf_core_cast(ucmd->cmd,
						  struct iommu_destroy);
	__u64 addr = (__u64)ucmd->ictx;
	struct fallback_ctx_info *c;
	__u64 key;

	if (ret)
		return 0;
	c = bpf_map_lookup_elem(&fallback_ctx_numbers, &addr);
	if (!c || !stats_key_holds(c->number))
		return 0;
	key = stats_key(c->number, cmd->id);
	RETIRE(ioas_stats, ioas_retired, &key, struct stats_ioas);
	return 0;
}

static long retire_ctx_ioas(struct bpf_map *map, __u64 *k,
			    struct stats_ioas *v, __u64 *ctx)
{
	__u64 key = *k;

	if (stats_key_ctx(key) == *ctx)
		RETIRE(ioas_stats, ioas_retired, &key, struct stats_ioas);
	return 0;
}

static long retire_ctx_dev(struct bpf_map *map, __u64 *k,
			   struct stats_dev *v, __u64 *ctx)
{
	__u64 key = *k;

	if (stats_key_ctx(key) == *ctx)
		RETIRE(dev_stats, dev_retired, &key, struct stats_dev);
	return 0;
}

/*
 * The context's file is released: the kernel destroys what is left of it,
 * so its IOAS rows and histograms are final, and its number is forgotten
 * (its address may come back with a new context)
 */
SEC("?fentry/iommufd_fops_release")
int BPF_PROG(fallback_stats_release, struct inode *inode, struct file *filp)
{
	__u64 addr = (__u64)filp->private_data, cid;
	struct fallback_ctx_info *c;
	__u64 key;
	__u32 kind;

	c = bpf_map_lookup_elem(&fallback_ctx_numbers, &addr);
	if (!c)
		return 0;
	cid = c->number;
	if (!stats_key_holds(cid))
		goto forget;
	bpf_for_each_map_elem(&ioas_stats, retire_ctx_ioas, &cid, 0);
	bpf_for_each_map_elem(&dev_stats, retire_ctx_dev, &cid, 0);
	if (collect_latency) {
		for (kind = 0; kind < STATS_HIST_MAX; kind++) {
			key = stats_key(cid, kind);
			RETIRE(hist_stats, hist_retired, &key,
			       struct stats_hist);
		}
	}
forget:
	bpf_map_delete_elem(&fallback_ctx_numbers, &addr);
	return 0;
}

/* A device's row is final when VFIO unbinds it from the context */
SEC("?fentry/iommufd_device_unbind")
int BPF_PROG(fallback_stats_unbind, struct iommufd_device *idev)
{
	__u64 addr = (__u64)idev->ictx;
	struct fallback_ctx_info *c;
	__u64 key;

	c = bpf_map_lookup_elem(&fallback_ctx_numbers, &addr);
	if (!c || !stats_key_holds(c->number))
		return 0;
	key = stats_key(c->number, idev->obj.id);
	RETIRE(dev_stats, dev_retired, &key, struct stats_dev);
	return 0;
}

/*
 * I/O page faults. A group reported for a domain with iommufd's fault
 * handler counts for its device; its answer, whether the VMM wrote it or
 * iommufd gave it when the device left or the fault object went (marked
 * on the thread by fentry/fexit on those two), counts by its code, and
 * the wait from the report into the fault histogram, split at the VMM's
 * read where the kernel's read can be followed (fault_read_fallback.bpf.h).
 */

/* Threads answering groups on iommufd's behalf, until they are done */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} fallback_auto_answering SEC(".maps");

/* The row of @group's device, with its context's number and owner */
static __always_inline struct stats_dev *
fallback_fault_dev(struct iopf_group *group, __u64 *cid, __s32 *owner)
{
	struct iommufd_hw_pagetable *hwpt = group_hwpt(group);
	struct fallback_ctx_info *c;

	if (!hwpt || !hwpt->fault)
		return NULL;
	c = fallback_ctx(hwpt->fault->ictx);
	if (!c || skip_owner(c->owner_tgid))
		return NULL;
	*cid = c->number;
	*owner = c->owner_tgid;
	return dev_entry(*cid, *owner, group_idev(group)->obj.id);
}

SEC("?fentry/iommufd_fault_iopf_handler")
int BPF_PROG(fallback_stats_fault_report, struct iopf_group *group)
{
	struct iommufd_hw_pagetable *hwpt;
	struct stats_dev *s;
	__s32 owner;
	__u64 cid;

	s = fallback_fault_dev(group, &cid, &owner);
	if (!s)
		return 0;
	count_add(s->iopf_groups, 1);
	hwpt = group_hwpt(group);
	if (collect_latency && hwpt && fault_reported_now(group, hwpt->fault))
		count_lost(STATS_LOST_FAULT_TIMES);
	return 0;
}

SEC("?fentry/iopf_group_response")
int BPF_PROG(fallback_stats_fault_respond, struct iopf_group *group,
	     enum iommu_page_response_code status)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fault_wait w;
	struct stats_dev *s;
	__s32 owner;
	__u64 cid;

	s = fallback_fault_dev(group, &cid, &owner);
	if (!s)
		return 0;
	if (bpf_map_lookup_elem(&fallback_auto_answering, &tid)) {
		count_add(s->iopf_auto, 1);
		if (collect_latency)
			fault_waited(group, &w);
		return 0;
	}
	count_answer(s, status);
	if (!collect_latency)
		return 0;
	fault_waited(group, &w);
	hist_add(cid, owner, STATS_HIST_FAULT, w.total_ns);
	if (w.read) {
		hist_add(cid, owner, STATS_HIST_FAULT_QUEUE, w.queued_ns);
		hist_add(cid, owner, STATS_HIST_FAULT_HANDLE, w.handled_ns);
	}
	return 0;
}

static long fallback_stats_read_one(struct bpf_map *map, __u64 *key,
				    struct fault_times *t,
				    struct fault_read_walk *w)
{
	fault_read_taken(w, key, t);
	return 0;
}

SEC("?fexit/iommufd_fault_fops_read")
int BPF_PROG(fallback_stats_fault_read, struct file *filep, char *buf,
	     size_t count, loff_t *ppos, ssize_t ret)
{
	struct fault_read_walk w;

	if (ret <= 0)
		return 0;
	fault_read_walk_init(&w, filep);
	bpf_for_each_map_elem(&fault_times, fallback_stats_read_one, &w, 0);
	return 0;
}

static __always_inline int auto_answering(bool on)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), one = 1;

	if (on)
		bpf_map_update_elem(&fallback_auto_answering, &tid, &one,
				    BPF_ANY);
	else
		bpf_map_delete_elem(&fallback_auto_answering, &tid);
	return 0;
}

SEC("?fentry/iommufd_auto_response_faults")
int BPF_PROG(fallback_stats_auto_enter, struct iommufd_hw_pagetable *hwpt,
	     struct iommufd_attach_handle *handle)
{
	return auto_answering(true);
}

SEC("?fexit/iommufd_auto_response_faults")
int BPF_PROG(fallback_stats_auto_exit, struct iommufd_hw_pagetable *hwpt,
	     struct iommufd_attach_handle *handle)
{
	return auto_answering(false);
}

SEC("?fentry/iommufd_fault_destroy")
int BPF_PROG(fallback_stats_destroy_enter, struct iommufd_object *obj)
{
	return auto_answering(true);
}

SEC("?fexit/iommufd_fault_destroy")
int BPF_PROG(fallback_stats_destroy_exit, struct iommufd_object *obj)
{
	return auto_answering(false);
}

#endif /* IOMMUFD_BPF_STATS_FALLBACK_BPF_H */
