/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A dirty-tracking HWPT on the iommufd selftest mock (CONFIG_IOMMUFD_TEST):
 * an IOAS with IOVA mapped, a mock device attached to a HWPT allocated with
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING, and a way to play the device writing to
 * pages (IOMMU_TEST_OP_DIRTY). Used by dirty_vmm, the dirty tests and the
 * dirty benchmark; errors are printed with the program's name (warnx()).
 */
#ifndef IOMMUFD_BPF_MOCK_DEVICE_H
#define IOMMUFD_BPF_MOCK_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

/* The pages the device model dirties and the bitmaps count */
#define MOCK_DIRTY_PAGE_SIZE 4096ULL

struct mock_hwpt {
	int fd;			/* /dev/iommu */
	uint32_t ioas_id;
	uint32_t idev_id;	/* the mock device */
	uint32_t hwpt_id;	/* the dirty-tracking HWPT */
	uint64_t iova;		/* first mapped IOVA */
	uint64_t length;	/* bytes of IOVA mapped from iova */
	void *backing;		/* memory mapped (repeatedly) behind the IOVA */
	uint64_t backing_len;
	bool hugetlb;
};

/*
 * Map @length bytes of IOVA (a multiple of 2 MiB) on a new mock device's
 * dirty-tracking HWPT, backed by at most @max_backing bytes of memory mapped
 * again and again (hugetlb pages when the system has enough). Tracking is
 * left off. Returns 0, or -errno after printing what failed.
 */
int mock_hwpt_create(struct mock_hwpt *m, uint64_t length,
		     uint64_t max_backing);

/* The same with a mock device of @dev_flags (MOCK_FLAGS_DEVICE_*) */
int mock_hwpt_create_flags(struct mock_hwpt *m, uint64_t length,
			   uint64_t max_backing, uint32_t dev_flags);

void mock_hwpt_destroy(struct mock_hwpt *m);

/*
 * Map @length bytes (at most backing_len) of the backing memory at @iova,
 * or unmap a range; 0 or -errno
 */
int mock_hwpt_map(struct mock_hwpt *m, uint64_t iova, uint64_t length);
int mock_hwpt_unmap(struct mock_hwpt *m, uint64_t iova, uint64_t length);

/* IOMMU_HWPT_SET_DIRTY_TRACKING; 0 or -errno */
int mock_hwpt_set_tracking(struct mock_hwpt *m, bool on);

/*
 * Play the device: mark dirty every 4 KiB page whose bit is set in @pages,
 * bit i meaning the page at m->iova + i * 4 KiB, for i < @npages.
 * Returns the number of pages marked, or -errno.
 */
int64_t mock_hwpt_dirty(struct mock_hwpt *m, const uint64_t *pages,
			uint64_t npages);

/*
 * IOMMU_HWPT_GET_DIRTY_BITMAP of [iova, iova + length) at @page_size into
 * @bitmap; 0 or -errno.
 */
int mock_hwpt_harvest(struct mock_hwpt *m, uint64_t iova, uint64_t length,
		      uint64_t page_size, uint64_t *bitmap, uint32_t flags);

#endif
