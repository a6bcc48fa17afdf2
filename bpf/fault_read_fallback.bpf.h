/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The groups a VMM reads from a fault fd, on a kernel without the series'
 * iommufd_fault_read event. iommufd_fault_fops_read() takes groups from
 * the head of the fault's deliver list and gives each a cookie (from 1:
 * the response xarray allocates from 1) before copying it out. Nothing it
 * does per group can be attached to: the helpers are inlined and xa_alloc()
 * is in lib/, built without ftrace, where kprobes are refused too. So the
 * read is followed from its two ends: fentry notes the first groups queued
 * and their cookies, and fexit takes those whose cookie changed as read,
 * at the end of the call. The walk at fentry is done without the list's
 * lock, as the groups' reporter may be adding at the tail; it only reads,
 * and is bounded. What it cannot see: groups beyond the first
 * FAULT_READ_GROUPS of one read, and a group put back after a failed copy
 * that gets its old cookie again when it is read anew.
 * Include after vmlinux.h, bpf_core_read.h and iommufd_objects.bpf.h.
 */
#ifndef IOMMUFD_BPF_FAULT_READ_FALLBACK_BPF_H
#define IOMMUFD_BPF_FAULT_READ_FALLBACK_BPF_H

#define FAULT_READ_GROUPS 32

/* A thread inside iommufd_fault_fops_read(), until it returns */
struct fault_reader {
	__u32 n;
	__u32 cookie[FAULT_READ_GROUPS];	/* at entry: 0 unless read before */
	__u64 group[FAULT_READ_GROUPS];		/* struct iopf_group * */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fault_reader);
} fault_readers SEC(".maps");

/* At the read's entry: note the groups at the head of the queue */
static __always_inline int fault_read_enter(struct file *filep)
{
	struct iommufd_fault *fault =
		bpf_core_cast(filep->private_data, struct iommufd_fault);
	struct list_head *head = &fault->deliver, *pos;
	struct fault_reader *r;
	struct iopf_group *group;
	__u32 i;

	r = bpf_task_storage_get(&fault_readers, bpf_get_current_task_btf(),
				 NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!r)
		return 0;
	r->n = 0;
	pos = head->next;
	for (i = 0; i < FAULT_READ_GROUPS; i++) {
		if (!pos || pos == head)
			break;
		group = kernel_container_of(pos, struct iopf_group, node);
		r->group[i] = (__u64)group;
		r->cookie[i] = group->cookie;
		r->n = i + 1;
		pos = pos->next;
	}
	return 0;
}

/* At the read's exit: what its entry noted, or NULL; zero its n after */
static __always_inline struct fault_reader *fault_reader(void)
{
	return bpf_task_storage_get(&fault_readers, bpf_get_current_task_btf(),
				    NULL, 0);
}

/* Group @i noted at entry if this read gave it a cookie, else NULL */
static __always_inline struct iopf_group *
fault_read_group(const struct fault_reader *r, __u32 i)
{
	struct iopf_group *group;

	if (i >= FAULT_READ_GROUPS || i >= r->n)
		return NULL;
	group = bpf_core_cast((void *)r->group[i], struct iopf_group);
	if (!group->cookie || group->cookie == r->cookie[i])
		return NULL;
	return group;
}

#endif /* IOMMUFD_BPF_FAULT_READ_FALLBACK_BPF_H */
