/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracer's fallback for kernels without the iommufd-bpf series: the
 * same IOAS map, unmap and copy records, from fentry/fexit on the ioctl
 * handlers every iommufd kernel has. Included by iommufd_trace.bpf.c, so
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
 * - there is no boot-unique context id (IOMMUFD_ABSENT_CTX), and a failed
 *   unmap cannot say what it unmapped before failing (IOMMUFD_ABSENT_DONE).
 */
#ifndef IOMMUFD_BPF_TRACE_FALLBACK_BPF_H
#define IOMMUFD_BPF_TRACE_FALLBACK_BPF_H

#include "ioctl_handler_time.bpf.h"

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

#endif /* IOMMUFD_BPF_TRACE_FALLBACK_BPF_H */
