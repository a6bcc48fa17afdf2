/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the running kernel offers the tool: the iommufd-bpf series' events,
 * functions that fentry/fexit can attach to where the series is missing,
 * and the IOMMU drivers' own events. Read from the kernel's BTF, which
 * names every trace event (btf_trace_<event>) and every function BPF can
 * attach to.
 */
#ifndef IOMMUFD_BPF_KERNEL_FEATURES_H
#define IOMMUFD_BPF_KERNEL_FEATURES_H

#include <stdbool.h>

/* What one command can get on this kernel, and from where */
enum feature_source {
	SOURCE_NONE,		/* not available */
	SOURCE_SERIES,		/* the series' trace events (or struct_ops) */
	SOURCE_FEXIT,		/* fentry/fexit on iommufd's functions */
};

struct kernel_features {
	bool btf;		/* /sys/kernel/btf/vmlinux readable */
	bool iommufd;		/* iommufd is built in (struct iommufd_ctx) */
	bool series;		/* the series' iommufd:* events */
	bool fault_ops;		/* the series' struct_ops iommufd_fault_ops */
	bool dirty_events;	/* the series' dirty-range events */
	bool qi_wait;		/* the series' intel_iommu:qi_wait */
	/* fentry/fexit targets: IOAS map, unmap and copy handlers */
	bool ioas_ioctls;
	/*
	 * and those where objects and contexts end (IOMMU_DESTROY's handler,
	 * a device's unbind, the file's release), which the aggregation's
	 * fallback retires by
	 */
	bool object_ends;
	/* The dirty-bitmap ioctl's handler and the bitmap's setter */
	bool dirty_ioctl;
	/* iommufd_device_attach, _replace and _detach, VFIO's calls */
	bool device_attach;
	bool attach_pasid_arg;	/* ... take a PASID (6.15 and the series) */
	bool group_rid_hwpt;	/* iommufd_group::hwpt, the RID's (not 6.15) */
	/* iommufd's I/O page fault handler, the answer, the auto-answers */
	bool iopf_functions;
	/* The fault fd's read */
	bool fault_fd_read;
	/* The drivers' own events, whatever the series */
	bool io_page_fault;	/* iommu:io_page_fault */
	bool qi_submit;		/* intel_iommu:qi_submit */
	bool dmar_fault;	/* the series' intel_iommu:dmar_fault */
};

/* Fill @kf from the kernel's BTF; 0, or -errno when there is no BTF */
int kernel_features_probe(struct kernel_features *kf);

/*
 * Unless the series is there, one line on stderr for @command saying it
 * runs in a reduced mode and naming @missing (what it cannot show)
 */
void report_reduced_mode(const char *command, const char *missing);

#endif
