/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading iommufd's kernel objects from tp_btf programs, shared by the
 * tracer and the in-kernel aggregation. Include after vmlinux.h.
 */
#ifndef IOMMUFD_BPF_OBJECTS_BPF_H
#define IOMMUFD_BPF_OBJECTS_BPF_H

#include <bpf/bpf_core_read.h>

/*
 * container_of() for kernel objects: the verifier will not let a pointer to
 * one struct grow into its container, so cast through bpf_rdonly_cast(),
 * which gives a read-only view of the container at the CO-RE offset.
 */
#define kernel_container_of(ptr, type, member)				\
	bpf_core_cast((void *)(ptr) - bpf_core_field_offset(type, member), type)

/*
 * The owner of a context, as the kernel's iommufd_ctx_owner_tgid() says:
 * the thread group that last issued an ioctl on it, 0 once it has exited
 * (its struct pid no longer leads a thread group), so a reused pid is never
 * reported. tp_btf programs run under RCU, which keeps the owner readable.
 * Every counted operation asks, so these are plain BTF loads (the verifier
 * guards them), not bpf_probe_read_kernel() calls: four loads, no helper.
 */
static __always_inline __s32 ctx_owner(struct iommufd_ctx *ictx)
{
	struct iommufd_owner *owner;
	struct pid *pid;

	/* A kernel without the series' owner tracking attributes to no one */
	if (!ictx || !bpf_core_field_exists(ictx->owner))
		return 0;
	owner = ictx->owner;
	pid = owner ? owner->tgid : NULL;
	if (!pid || !pid->tasks[PIDTYPE_TGID].first)
		return 0;
	return pid->numbers[0].nr;
}

/*
 * The context's id, unique for the boot (iommufd_ctx::id). A kernel
 * without it gets the address, unique while the context lives.
 */
static __always_inline __u64 ctx_id(struct iommufd_ctx *ictx)
{
	if (!ictx)
		return 0;
	if (bpf_core_field_exists(ictx->id))
		return ictx->id;
	return (__u64)ictx;
}

/* The IOAS under a HWPT (a nested HWPT's is its parent's), or NULL */
static __always_inline struct iommufd_ioas *
hwpt_ioas(struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging;
	struct iommufd_hwpt_nested *nested;

	if (!hwpt)
		return NULL;
	/* The kernel's own values of the object types (CO-RE) */
	if (hwpt->obj.type == bpf_core_enum_value(enum iommufd_object_type,
						  IOMMUFD_OBJ_HWPT_PAGING)) {
		paging = kernel_container_of(hwpt, struct iommufd_hwpt_paging,
					     common);
		return paging->ioas;
	}
	if (hwpt->obj.type == bpf_core_enum_value(enum iommufd_object_type,
						  IOMMUFD_OBJ_HWPT_NESTED)) {
		nested = kernel_container_of(hwpt, struct iommufd_hwpt_nested,
					     common);
		return nested->parent->ioas;
	}
	return NULL;
}

/* Its id, or 0 */
static __always_inline __u32 hwpt_ioas_id(struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_ioas *ioas = hwpt_ioas(hwpt);

	return ioas ? ioas->obj.id : 0;
}

/* The IOAS an IOVA area belongs to */
static __always_inline struct iommufd_ioas *area_ioas(struct iopt_area *area)
{
	return kernel_container_of(area->iopt, struct iommufd_ioas, iopt);
}

/*
 * iommufd's fault handler, which it installs on every domain it allocates
 * with the HWPT as its token. Weak: 0 where iommufd lacks it.
 */
extern const void iommufd_hwpt_dma_fault __ksym __weak;

/*
 * The iommufd HWPT whose domain @domain is, or NULL for a domain iommufd
 * does not own (the DMA API's; SVA's, whose union member there holds an
 * mm, never a function) or none
 */
static __always_inline struct iommufd_hw_pagetable *
domain_hwpt(struct iommu_domain *domain)
{
	if (!domain || !&iommufd_hwpt_dma_fault ||
	    (__u64)domain->handler != (__u64)&iommufd_hwpt_dma_fault)
		return NULL;
	return bpf_core_cast(domain->handler_token,
			     struct iommufd_hw_pagetable);
}

/* The iommufd device a fault group was reported for */
static __always_inline struct iommufd_device *group_idev(struct iopf_group *group)
{
	struct iommufd_attach_handle *handle =
		kernel_container_of(group->attach_handle,
				    struct iommufd_attach_handle, handle);

	return handle->idev;
}

/*
 * iommufd's I/O page fault handler, which it installs on every domain with
 * a fault object. Weak: 0 where iommufd lacks it.
 */
extern const void iommufd_fault_iopf_handler __ksym __weak;

/* The HWPT a fault group's domain reports to, or NULL if not iommufd's */
static __always_inline struct iommufd_hw_pagetable *
group_hwpt(struct iopf_group *group)
{
	struct iommu_domain *domain = group->attach_handle->domain;

	if (!&iommufd_fault_iopf_handler ||
	    (__u64)domain->iopf_handler != (__u64)&iommufd_fault_iopf_handler)
		return NULL;
	return bpf_core_cast(domain->fault_data, struct iommufd_hw_pagetable);
}

#endif /* IOMMUFD_BPF_OBJECTS_BPF_H */
