/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The groups a VMM reads from a fault fd, on a kernel without the series'
 * iommufd_fault_read event. Nothing iommufd_fault_fops_read() does per
 * group can be attached to: its helpers are inlined, and xa_alloc(), which
 * gives each group it hands out a cookie, is in lib/, built without ftrace,
 * where kprobes are refused too. But a group has cookie 0 until it is read
 * (groups are allocated zeroed, and the response xarray allocates from 1).
 * So at the read's exit (fexit), the groups fault_times holds for this
 * fault, not yet read and now with a cookie, are the ones this read gave
 * the VMM: read at the end of the call. The walk visits every bucket of
 * fault_times (4,096), whatever the queue holds: it runs once per read
 * call, not per group. Not seen apart: a group put back after a failed
 * copy keeps its cookie, so it counts as read then, not when it is read
 * again; and when two threads read one fault fd at once, a group one of
 * them read may be recorded with the other as its reader.
 * Include after vmlinux.h, bpf_core_read.h and fault_times.bpf.h.
 */
#ifndef IOMMUFD_BPF_FAULT_READ_FALLBACK_BPF_H
#define IOMMUFD_BPF_FAULT_READ_FALLBACK_BPF_H

/* What the walk of fault_times at a read's exit looks for */
struct fault_read_walk {
	__u64 fault;		/* struct iommufd_fault * the fd reads */
	__u64 now;
};

static __always_inline void fault_read_walk_init(struct fault_read_walk *w,
						 struct file *filep)
{
	w->fault = (__u64)filep->private_data;
	w->now = bpf_ktime_get_ns();
}

/*
 * For the walk's callback: the group of entry (@key, @t) if the read just
 * gave it its cookie, marked read now; else NULL
 */
static __always_inline struct iopf_group *
fault_read_taken(const struct fault_read_walk *w, const __u64 *key,
		 struct fault_times *t)
{
	struct iopf_group *group;

	if (t->fault != w->fault || t->read_ns)
		return NULL;
	group = bpf_core_cast((void *)*key, struct iopf_group);
	if (!group->cookie)
		return NULL;
	t->read_ns = w->now;
	return group;
}

#endif /* IOMMUFD_BPF_FAULT_READ_FALLBACK_BPF_H */
