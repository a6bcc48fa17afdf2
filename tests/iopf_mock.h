/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * I/O page faults on the selftest mock, for the guest tests. Include after
 * iommufd_utils.h, which has no include guard.
 */
#ifndef IOMMUFD_BPF_TESTS_IOPF_MOCK_H
#define IOMMUFD_BPF_TESTS_IOPF_MOCK_H

/* Build a device on an IOPF-capable nested HWPT; returns its fault fd */
static void iopf_setup(struct __test_metadata *_metadata, int fd,
		       uint32_t ioas_id, uint32_t *stdev_id,
		       uint32_t *device_id, uint32_t *parent,
		       uint32_t *iopf_hwpt, uint32_t *fault_id, int *fault_fd)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	uint32_t hwpt_id, ffd;

	ASSERT_EQ(0, _test_cmd_mock_domain(fd, ioas_id, stdev_id, &hwpt_id,
					   device_id));
	ASSERT_EQ(0, _test_cmd_hwpt_alloc(fd, *device_id, ioas_id, 0,
					  IOMMU_HWPT_ALLOC_NEST_PARENT, parent,
					  IOMMU_HWPT_DATA_NONE, NULL, 0));
	ASSERT_EQ(0, _test_ioctl_fault_alloc(fd, fault_id, &ffd));
	ASSERT_EQ(0, _test_cmd_hwpt_alloc(fd, *device_id, *parent, *fault_id,
					  IOMMU_HWPT_FAULT_ID_VALID, iopf_hwpt,
					  IOMMU_HWPT_DATA_SELFTEST, &data,
					  sizeof(data)));
	ASSERT_EQ(0, _test_cmd_mock_domain_replace(fd, *stdev_id, *iopf_hwpt,
						   NULL));
	*fault_fd = ffd;
}

/* Report one page request group (the last page of the group) */
static int trigger_iopf_group(int fd, uint32_t device_id, uint32_t pasid,
			      uint32_t grpid, uint64_t addr)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = {
			.dev_id = device_id,
			.pasid = pasid,
			.grpid = grpid,
			.perm = IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE,
			.addr = addr,
		},
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#endif
