/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records shared by iommufd_trace.bpf.c and its userspace consumers.
 * Fixed-width types only: the same layout is compiled for BPF and x86_64.
 */
#ifndef IOMMUFD_BPF_TRACE_H
#define IOMMUFD_BPF_TRACE_H

/* One per iommufd:* trace event; the value is also the bit in the event mask */
enum iommufd_event_type {
	IOMMUFD_EV_IOAS_MAP = 1,
	IOMMUFD_EV_IOAS_UNMAP,
	IOMMUFD_EV_IOAS_COPY,
	IOMMUFD_EV_DEVICE_ATTACH,
	IOMMUFD_EV_DEVICE_DETACH,
	IOMMUFD_EV_DEVICE_REPLACE,
	IOMMUFD_EV_DOMAIN_UNMAP,
	IOMMUFD_EV_HWPT_INVALIDATE,
	IOMMUFD_EV_DIRTY_TRACKING,
	IOMMUFD_EV_DIRTY_READ,
	IOMMUFD_EV_FAULT_REPORT,
	IOMMUFD_EV_FAULT_RESPOND,
	IOMMUFD_EV_FAULT_AUTO_RESPOND,
	IOMMUFD_EV_PINNED_UPDATE,
	IOMMUFD_EV_DMA_FAULT,
	/* Object lifecycle */
	IOMMUFD_EV_CTX_OPEN,
	IOMMUFD_EV_CTX_RELEASE,
	IOMMUFD_EV_IOAS_ALLOC,
	IOMMUFD_EV_HWPT_ALLOC,
	IOMMUFD_EV_FAULT_ALLOC,
	IOMMUFD_EV_DEVICE_BIND,
	IOMMUFD_EV_ACCESS_CREATE,
	IOMMUFD_EV_OBJECT_DESTROY,
	IOMMUFD_EV_ACCESS_PIN,
	IOMMUFD_EV_ACCESS_UNPIN,
	/* After the lifecycle: the values above stay what they were */
	IOMMUFD_EV_FAULT_READ,
	IOMMUFD_EV_IOTLB_WAIT,
	IOMMUFD_EV_MAX,
};

#define IOMMUFD_EV_MASK_ALL (((1u << IOMMUFD_EV_MAX) - 1) & ~1u)
/*
 * The fault stream: I/O page faults, their reads from the fault fd, their
 * answers, unrecoverable faults
 */
#define IOMMUFD_EV_MASK_FAULTS						\
	((1u << IOMMUFD_EV_FAULT_REPORT) | (1u << IOMMUFD_EV_FAULT_READ) | \
	 (1u << IOMMUFD_EV_FAULT_RESPOND) |				\
	 (1u << IOMMUFD_EV_FAULT_AUTO_RESPOND) | (1u << IOMMUFD_EV_DMA_FAULT))

/* The lifecycle stream: contexts and objects created and destroyed */
#define IOMMUFD_EV_MASK_LIFECYCLE					\
	((1u << IOMMUFD_EV_CTX_OPEN) | (1u << IOMMUFD_EV_CTX_RELEASE) |	\
	 (1u << IOMMUFD_EV_IOAS_ALLOC) | (1u << IOMMUFD_EV_HWPT_ALLOC) |	\
	 (1u << IOMMUFD_EV_FAULT_ALLOC) | (1u << IOMMUFD_EV_DEVICE_BIND) | \
	 (1u << IOMMUFD_EV_ACCESS_CREATE) | (1u << IOMMUFD_EV_OBJECT_DESTROY))

/* Object types of lifecycle records (stable; the kernel's are mapped) */
enum iommufd_object_kind {
	IOMMUFD_OBJECT_OTHER,
	IOMMUFD_OBJECT_DEVICE,
	IOMMUFD_OBJECT_HWPT_PAGING,
	IOMMUFD_OBJECT_HWPT_NESTED,
	IOMMUFD_OBJECT_IOAS,
	IOMMUFD_OBJECT_ACCESS,
	IOMMUFD_OBJECT_FAULT,
};

/* Counters, indexed per CPU in the 'counters' map */
enum iommufd_counter {
	/*
	 * Events the hooks saw: not counted by the programs but derived,
	 * next_seq + filtered (trace_counters_read()), as every event is
	 * filtered or takes a sequence number
	 */
	IOMMUFD_CNT_PRODUCED,
	IOMMUFD_CNT_FILTERED,	/* dropped on purpose by a filter */
	IOMMUFD_CNT_DROPPED,	/* ring buffer full: lost */
	IOMMUFD_CNT_MAX,
};

#define IOMMUFD_COMM_LEN 16

/*
 * One record per event. Every field has one meaning; a field an event does
 * not carry is 0. The whole record is zeroed before it is filled, padding
 * included, so nothing from the kernel stack reaches userspace.
 */
struct iommufd_event {
	__u64 seq;		/* 1, 2, ...: over records that passed filters */
	__u64 ts_ns;		/* bpf_ktime_get_ns() at the hook */
	__u32 type;		/* enum iommufd_event_type */
	__s32 ret;		/* operation result (0 or -errno) */
	__s32 owner_tgid;	/* the context's owner, 0 if it has exited */
	__s32 tgid;		/* current task's tgid when the event fired */
	char comm[IOMMUFD_COMM_LEN];	/* current task's comm */

	__u32 ioas_id;		/* IOAS (destination IOAS for a copy) */
	__u32 hwpt_id;		/* HWPT (the new one for a replace) */
	__u32 dev_id;		/* iommufd device object id */
	__u32 pasid;		/* PASID, IOMMU_NO_PASID (0) for the RID */
	__u32 fault_id;		/* fault object id */
	__u32 old_hwpt_id;	/* replace: HWPT left */
	__u32 src_ioas_id;	/* copy: source IOAS */
	__u32 flags;		/* map flags, fault flags, dirty flags, enable */
	__u32 code;		/* fault response code, flush / auto-response reason,
				 * invalidation data type, pinned account mode */
	__u32 perm;		/* fault: IOMMU_FAULT_PERM_* */
	__u32 grpid;		/* fault: page request group id */
	__u32 count;		/* faults in a group, groups auto-answered,
				 * invalidation entries asked for */
	__u64 iova;		/* IOVA (source IOVA for a copy), fault address */
	__u64 length;		/* bytes asked for; pages for pinned updates */
	__u64 done;		/* bytes (un)mapped, entries invalidated,
				 * dirty pages reported, pinned total after */
	__u64 dst_iova;		/* copy: destination IOVA */
	__u64 page_size;	/* dirty read: bitmap page size */
	__u64 duration_ns;	/* dirty read: kernel time; fault answer:
				 * time since report (0 if report unseen) */
	__u64 queued_ns;	/* fault read and answer: report to read */
	__u64 handled_ns;	/* fault answer: read to answer (0 if the read
				 * or the report was unseen) */
	__u64 ctx;		/* the context's id, unique for the boot: every
				 * record but pinned updates (0 there) */
	/* Lifecycle records */
	__u32 object_kind;	/* enum iommufd_object_kind: HWPT alloc, destroy */
	__u32 object_id;	/* destroy: the object's id */
	__u32 parent_hwpt_id;	/* HWPT alloc: a nested HWPT's parent */
	__u32 access_id;	/* access create, pin, unpin */
	__u32 auto_domain;	/* HWPT alloc: made by an attach to an IOAS */
	__u32 cookie;		/* fault read and answer: the group's cookie */
	__u32 absent;		/* enum iommufd_absent: fields the source
				 * could not know (a kernel without the
				 * series); they read as null, not 0 */
	/* What a map or unmap did besides its areas (struct iopt_op_tally) */
	__u32 domain_unmaps;	/* areas unmapped from a domain, each with its
				 * IOTLB flush: not DOMAIN_UNMAP records */
	__s64 pinned;		/* the calling process's pages charged (+) or
				 * released (-): not PINNED_UPDATE records */
};

/*
 * iommufd_event.absent: fields that a record from the fallback (fentry and
 * fexit on a kernel without the series) cannot fill
 */
enum iommufd_absent {
	IOMMUFD_ABSENT_CTX = 1 << 0,	/* no boot-unique context id */
	IOMMUFD_ABSENT_DONE = 1 << 1,	/* a failed unmap: bytes unmapped
					 * before it failed */
	IOMMUFD_ABSENT_DURATION = 1 << 2, /* the handler's entry was not seen */
	IOMMUFD_ABSENT_HWPT = 1 << 3,	/* attach, detach, replace: hwpt_id */
	IOMMUFD_ABSENT_IOAS = 1 << 4,	/* ... and the IOAS under it */
	IOMMUFD_ABSENT_OLD_HWPT = 1 << 5, /* replace: old_hwpt_id */
	IOMMUFD_ABSENT_OWNER = 1 << 6,	/* owner_tgid: a fault's report */
	IOMMUFD_ABSENT_FAULT_STEPS = 1 << 7, /* queued_ns, handled_ns: the
					      * read from the fault fd */
	IOMMUFD_ABSENT_TALLY = 1 << 8,	/* map, unmap: pinned, domain_unmaps */
};

/* An IOMMUFD_EV_DEVICE_BIND record: the device's name follows */
struct iommufd_bind_event {
	struct iommufd_event ev;
	char device[32];	/* e.g. 0000:00:03.0 */
};

/* iommufd_event.flags of an IOMMUFD_EV_DMA_FAULT record */
enum iommufd_dma_fault_flags {
	IOMMUFD_DMA_FAULT_WRITE = 1 << 0,	/* else a read */
	IOMMUFD_DMA_FAULT_ATTRIBUTED = 1 << 1,	/* iommufd_dma_fault seen: ids valid */
	IOMMUFD_DMA_FAULT_DECODED = 1 << 2,	/* the driver's record seen (VT-d) */
	IOMMUFD_DMA_FAULT_PASID = 1 << 3,	/* the request carried pasid */
	IOMMUFD_DMA_FAULT_AFTER_UNMAP = 1 << 4,	/* address unmapped recently */
};

/* VT-d fault kinds (the kernel's enum dmar_fault_type) */
enum iommufd_dmar_fault_kind {
	IOMMUFD_DMAR_FAULT_DMA,
	IOMMUFD_DMAR_FAULT_INTR,
	IOMMUFD_DMAR_FAULT_UNKNOWN,
};

/*
 * An IOMMUFD_EV_DMA_FAULT record is an iommufd_event followed by this. In
 * the event: owner_tgid, dev_id, hwpt_id, ioas_id, iova (the faulting
 * address), pasid, flags (enum iommufd_dma_fault_flags) and code (the VT-d
 * reason code); tgid and comm are 0 / empty (an interrupt has no caller).
 */
struct iommufd_dma_fault_detail {
	__u32 source_id;	/* PCI requester id: bus << 8 | devfn (VT-d) */
	__u32 kind;		/* enum iommufd_dmar_fault_kind (VT-d) */
	/* AFTER_UNMAP: the unmapped range that held the address, and who */
	__u64 unmap_iova;
	__u64 unmap_length;
	__u64 unmap_age_ns;	/* from the unmap to the fault */
	__s32 unmap_tgid;
	char unmap_comm[IOMMUFD_COMM_LEN];
	char reason[64];	/* the driver's name for the reason code */
	char device[32];	/* the device's name, e.g. 0000:00:03.0 */
};

struct iommufd_dma_fault_event {
	struct iommufd_event ev;
	struct iommufd_dma_fault_detail f;
};

/*
 * An IOMMUFD_EV_IOTLB_WAIT record: one submission to a VT-d invalidation
 * queue for a domain iommufd owns (intel_iommu:qi_wait), and how long the
 * CPU waited for the IOMMU. In the event: owner_tgid, ctx, hwpt_id,
 * ioas_id, count (descriptors), iova and length (the first IOTLB
 * descriptor's range, 0 if none), duration_ns (doorbell to completion),
 * ret; tgid and comm are the flushing task's.
 */
struct iommufd_iotlb_wait_detail {
	__u64 total_ns;		/* from the call: room in the queue, its lock */
	__u32 kinds;		/* enum iommufd_qi_kind bits */
	__u32 did;		/* the IOMMU's domain id of the first IOTLB one */
	char iommu[16];		/* e.g. dmar0 */
};

struct iommufd_iotlb_wait_event {
	struct iommufd_event ev;
	struct iommufd_iotlb_wait_detail w;
};

/* Descriptor kinds of a VT-d submission: bit BIT(type) of the spec's types */
enum iommufd_qi_kind {
	IOMMUFD_QI_CC = 1 << 1,		/* context cache */
	IOMMUFD_QI_IOTLB = 1 << 2,
	IOMMUFD_QI_DEV_TLB = 1 << 3,
	IOMMUFD_QI_IEC = 1 << 4,	/* interrupt entry cache */
	IOMMUFD_QI_WAIT = 1 << 5,
	IOMMUFD_QI_PASID_IOTLB = 1 << 6,
	IOMMUFD_QI_PASID_CACHE = 1 << 7,
	IOMMUFD_QI_PASID_DEV_TLB = 1 << 8,
	IOMMUFD_QI_PAGE_RESP = 1 << 9,
};

#endif /* IOMMUFD_BPF_TRACE_H */
