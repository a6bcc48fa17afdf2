/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * PASIDs of mock devices (CONFIG_IOMMUFD_TEST): attach, replace, detach
 * and check, as VFIO_DEVICE_ATTACH_IOMMUFD_PT and
 * VFIO_DEVICE_DETACH_IOMMUFD_PT with their PASID flags do for a real
 * device. @stdev_id is the mock device's selftest object. Each returns 0
 * or -errno.
 */
#ifndef IOMMUFD_BPF_TESTS_PASID_MOCK_H
#define IOMMUFD_BPF_TESTS_PASID_MOCK_H

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/iommufd.h>

#include "iommufd_test.h"

static int pasid_op(int fd, uint32_t op, uint32_t stdev_id, uint32_t pasid,
		    uint32_t *pt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = op,
		.id = stdev_id,
		.pasid_attach = { .pasid = pasid, .pt_id = pt_id ? *pt_id : 0 },
	};

	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		return -errno;
	if (pt_id)
		*pt_id = cmd.pasid_attach.pt_id;
	return 0;
}

/* @pt_id: an IOAS (out: the automatic HWPT) or a HWPT */
static inline int pasid_attach(int fd, uint32_t stdev_id, uint32_t pasid,
			       uint32_t *pt_id)
{
	return pasid_op(fd, IOMMU_TEST_OP_PASID_ATTACH, stdev_id, pasid, pt_id);
}

static inline int pasid_replace(int fd, uint32_t stdev_id, uint32_t pasid,
				uint32_t *pt_id)
{
	return pasid_op(fd, IOMMU_TEST_OP_PASID_REPLACE, stdev_id, pasid,
			pt_id);
}

static inline int pasid_detach(int fd, uint32_t stdev_id, uint32_t pasid)
{
	return pasid_op(fd, IOMMU_TEST_OP_PASID_DETACH, stdev_id, pasid, NULL);
}

/*
 * 0 when @pasid is attached to HWPT @hwpt_id (0: to nothing) both in the
 * iommu core and in the mock driver; -EINVAL when not
 */
static inline int pasid_check(int fd, uint32_t stdev_id, uint32_t pasid,
			      uint32_t hwpt_id)
{
	return pasid_op(fd, IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev_id, pasid,
			&hwpt_id);
}

#endif
