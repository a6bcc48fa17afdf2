/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The time an iommufd ioctl handler takes, from fentry to fexit on the same
 * thread: what the fallbacks for kernels without the iommufd-bpf series
 * measure where the series' events carry a duration. Include after
 * vmlinux.h and bpf_helpers.h.
 */
#ifndef IOMMUFD_BPF_IOCTL_HANDLER_TIME_BPF_H
#define IOMMUFD_BPF_IOCTL_HANDLER_TIME_BPF_H

/* A handler's entry, until its exit on the same thread */
struct handler_entry {
	__u64 ts_ns;
	__u64 length;		/* unmap: asked for; the reply overwrites it */
};

/*
 * Per thread in a handler: an ioctl sleeps, so the thread keeps it, not
 * the CPU. Task storage: the thread's own slot, found through the task
 * without a hash lookup, and freed with the thread. A slot whose exit was
 * missed (detached in between) is overwritten by the thread's next call.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct handler_entry);
} handler_entries SEC(".maps");

static __always_inline int handler_enter(__u64 length)
{
	struct handler_entry *h;

	h = bpf_task_storage_get(&handler_entries, bpf_get_current_task_btf(),
				 NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!h)
		return 0;
	h->ts_ns = bpf_ktime_get_ns();
	h->length = length;
	return 0;
}

/*
 * Take this thread's entry: false when it was not seen (the programs were
 * attached while the handler ran, or no slot could be had). Else *@ns is
 * the time since it and, with @length, *@length what the entry kept.
 */
static __always_inline bool handler_exit(__u64 *ns, __u64 *length)
{
	struct handler_entry *h;

	h = bpf_task_storage_get(&handler_entries, bpf_get_current_task_btf(),
				 NULL, 0);
	if (!h || !h->ts_ns)
		return false;
	*ns = bpf_ktime_get_ns() - h->ts_ns;
	if (length)
		*length = h->length;
	h->ts_ns = 0;
	return true;
}

#endif /* IOMMUFD_BPF_IOCTL_HANDLER_TIME_BPF_H */
