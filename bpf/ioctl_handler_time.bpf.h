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
 * Per thread in a handler. An ioctl sleeps, so the thread id keys it, not
 * the CPU. Loaders shrink it to one entry when their fallback is unused.
 * A thread whose exit was missed (detached in between) leaves an entry
 * that its next call overwrites.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct handler_entry);
} handler_entries SEC(".maps");

static __always_inline int handler_enter(__u64 length)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct handler_entry h = {
		.ts_ns = bpf_ktime_get_ns(),
		.length = length,
	};

	bpf_map_update_elem(&handler_entries, &tid, &h, BPF_ANY);
	return 0;
}

/*
 * Take this thread's entry: false when it was not seen (the programs were
 * attached while the handler ran, or the table was full). Else *@ns is the
 * time since it and, with @length, *@length what the entry kept.
 */
static __always_inline bool handler_exit(__u64 *ns, __u64 *length)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct handler_entry *h;

	h = bpf_map_lookup_elem(&handler_entries, &tid);
	if (!h)
		return false;
	*ns = bpf_ktime_get_ns() - h->ts_ns;
	if (length)
		*length = h->length;
	bpf_map_delete_elem(&handler_entries, &tid);
	return true;
}

#endif /* IOMMUFD_BPF_IOCTL_HANDLER_TIME_BPF_H */
