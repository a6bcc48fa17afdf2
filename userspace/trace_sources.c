// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <bpf/libbpf.h>

#include "iommufd_trace.h"
#include "iommufd_trace.skel.h"
#include "percpu_counters.h"
#include "trace_sources.h"

#define EV(type) (1u << IOMMUFD_EV_##type)

__u32 trace_events_available(const struct kernel_features *kf, __u32 wanted,
			      bool fallback)
{
	__u32 have = 0;

	if (kf->series && !fallback) {
		have = IOMMUFD_EV_MASK_ALL;
		/* The VT-d driver's events: absent on a kernel without VT-d */
		if (!kf->qi_wait)
			have &= ~EV(IOTLB_WAIT);
	} else {
		if (kf->ioas_ioctls)
			have |= IOMMUFD_EV_MASK_FALLBACK_IOAS;
		if (kf->device_attach)
			have |= IOMMUFD_EV_MASK_FALLBACK_DEVICE;
		if (kf->iopf_functions)
			have |= IOMMUFD_EV_MASK_FALLBACK_FAULTS;
		if (kf->fault_fd_read)
			have |= IOMMUFD_EV_MASK_FALLBACK_FAULT_READ;
	}
	return wanted & have;
}

/*
 * Load and attach only the programs the events need: an event left out
 * with -e costs nothing, and is not counted either. Some programs serve
 * others: an answer's wait is measured from its report and its read, and a
 * DMA fault is checked against the unmaps before it.
 */
static void select_series(struct iommufd_trace_bpf *skel,
			  const struct kernel_features *kf, __u32 events)
{
	const struct {
		struct bpf_program *prog;
		__u32 events;
	} needs[] = {
		{ skel->progs.on_ioas_map, EV(IOAS_MAP) },
		{ skel->progs.on_ioas_unmap, EV(IOAS_UNMAP) | EV(DMA_FAULT) },
		{ skel->progs.on_ioas_copy, EV(IOAS_COPY) },
		{ skel->progs.on_device_attach, EV(DEVICE_ATTACH) },
		{ skel->progs.on_device_detach, EV(DEVICE_DETACH) },
		{ skel->progs.on_device_replace, EV(DEVICE_REPLACE) },
		{ skel->progs.on_domain_unmap, EV(DOMAIN_UNMAP) },
		{ skel->progs.forget_unmaps, EV(DMA_FAULT) },
		{ skel->progs.on_hwpt_invalidate, EV(HWPT_INVALIDATE) },
		{ skel->progs.on_dirty_tracking, EV(DIRTY_TRACKING) },
		{ skel->progs.on_dirty_read, EV(DIRTY_READ) },
		{ skel->progs.on_fault_report,
		  EV(FAULT_REPORT) | EV(FAULT_READ) | EV(FAULT_RESPOND) },
		{ skel->progs.on_fault_read, EV(FAULT_READ) | EV(FAULT_RESPOND) },
		{ skel->progs.on_fault_respond, EV(FAULT_RESPOND) },
		{ skel->progs.on_fault_auto_respond, EV(FAULT_AUTO_RESPOND) },
		{ skel->progs.on_pinned_update, EV(PINNED_UPDATE) },
		{ skel->progs.on_dma_fault, EV(DMA_FAULT) },
		/* The VT-d driver's record of the same fault, if any */
		{ skel->progs.on_dmar_fault, kf->dmar_fault ? EV(DMA_FAULT) : 0 },
		{ skel->progs.on_qi_wait, EV(IOTLB_WAIT) },
		{ skel->progs.on_ctx_open, EV(CTX_OPEN) },
		{ skel->progs.on_ctx_release, EV(CTX_RELEASE) },
		{ skel->progs.on_ioas_alloc, EV(IOAS_ALLOC) },
		{ skel->progs.on_hwpt_alloc, EV(HWPT_ALLOC) },
		{ skel->progs.on_fault_alloc, EV(FAULT_ALLOC) },
		{ skel->progs.on_device_bind, EV(DEVICE_BIND) },
		{ skel->progs.on_access_create, EV(ACCESS_CREATE) },
		{ skel->progs.on_object_destroy, EV(OBJECT_DESTROY) },
		{ skel->progs.on_access_pin, EV(ACCESS_PIN) },
		{ skel->progs.on_access_unpin, EV(ACCESS_UNPIN) },
	};
	size_t i;

	for (i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		bpf_program__set_autoload(needs[i].prog,
					  !!(events & needs[i].events));
}

static void select_fallback(struct iommufd_trace_bpf *skel,
			    const struct kernel_features *kf, __u32 events)
{
	/* The pair that matches the kernel's prototypes */
	const bool v2 = kf->attach_pasid_arg;
	const struct {
		struct bpf_program *prog;
		__u32 event;
		bool v2;
	} device[] = {
		{ skel->progs.fallback_attach_v1, EV(DEVICE_ATTACH), false },
		{ skel->progs.fallback_attach_v2, EV(DEVICE_ATTACH), true },
		{ skel->progs.fallback_replace_enter_v1, EV(DEVICE_REPLACE), false },
		{ skel->progs.fallback_replace_v1, EV(DEVICE_REPLACE), false },
		{ skel->progs.fallback_replace_enter_v2, EV(DEVICE_REPLACE), true },
		{ skel->progs.fallback_replace_v2, EV(DEVICE_REPLACE), true },
		{ skel->progs.fallback_detach_v1, EV(DEVICE_DETACH), false },
		{ skel->progs.fallback_detach_v2, EV(DEVICE_DETACH), true },
	};
	const struct {
		struct bpf_program *enter, *exit;
		__u32 event;
	} handlers[] = {
		{ skel->progs.fallback_ioas_map_enter,
		  skel->progs.fallback_ioas_map, EV(IOAS_MAP) },
		{ skel->progs.fallback_ioas_unmap_enter,
		  skel->progs.fallback_ioas_unmap, EV(IOAS_UNMAP) },
		{ skel->progs.fallback_ioas_copy_enter,
		  skel->progs.fallback_ioas_copy, EV(IOAS_COPY) },
	};
	const struct {
		struct bpf_program *prog;
		__u32 events;
	} faults[] = {
		/* An answer's wait is measured from its report and its read */
		{ skel->progs.fallback_fault_report,
		  EV(FAULT_REPORT) | EV(FAULT_READ) | EV(FAULT_RESPOND) },
		{ skel->progs.fallback_fault_read,
		  kf->fault_fd_read ? EV(FAULT_READ) | EV(FAULT_RESPOND) : 0 },
		/* Auto-answers are told from the VMM's by their callers */
		{ skel->progs.fallback_fault_respond,
		  EV(FAULT_RESPOND) | EV(FAULT_AUTO_RESPOND) },
		{ skel->progs.fallback_auto_detach_enter,
		  EV(FAULT_RESPOND) | EV(FAULT_AUTO_RESPOND) },
		{ skel->progs.fallback_auto_detach,
		  EV(FAULT_RESPOND) | EV(FAULT_AUTO_RESPOND) },
		{ skel->progs.fallback_auto_destroy_enter,
		  EV(FAULT_RESPOND) | EV(FAULT_AUTO_RESPOND) },
		{ skel->progs.fallback_auto_destroy,
		  EV(FAULT_RESPOND) | EV(FAULT_AUTO_RESPOND) },
	};
	size_t i;

	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		bool on = events & handlers[i].event;

		bpf_program__set_autoload(handlers[i].enter, on);
		bpf_program__set_autoload(handlers[i].exit, on);
	}
	for (i = 0; i < sizeof(device) / sizeof(device[0]); i++)
		bpf_program__set_autoload(device[i].prog,
					  (events & device[i].event) &&
					  device[i].v2 == v2);
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		bpf_program__set_autoload(faults[i].prog,
					  !!(events & faults[i].events));
}

void trace_select_programs(struct iommufd_trace_bpf *skel,
			   const struct kernel_features *kf, __u32 events,
			   bool fallback)
{
	fallback = fallback || !kf->series;
	select_series(skel, kf, fallback ? 0 : events);
	select_fallback(skel, kf, fallback ? events : 0);
	/* The fallback's tables cost nothing when the series serves */
	if (!fallback)
		bpf_map__set_max_entries(skel->maps.auto_answering, 1);
}

int trace_counters_read(const struct iommufd_trace_bpf *skel, __u64 *cnt)
{
	/* First: an event between the two reads is missed, never counted twice */
	__u64 seq = __atomic_load_n(&skel->bss->next_seq, __ATOMIC_ACQUIRE);
	int err;

	err = percpu_counters_read(bpf_map__fd(skel->maps.counters), cnt,
				   IOMMUFD_CNT_MAX);
	if (!err)
		cnt[IOMMUFD_CNT_PRODUCED] = seq + cnt[IOMMUFD_CNT_FILTERED];
	return err;
}
