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

/* Report one group of nr page requests from addr on (nr 0 or 1: one) */
static int trigger_iopf(int fd, uint32_t device_id, uint32_t pasid,
			uint32_t grpid, uint64_t addr, uint32_t perm,
			uint32_t nr)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = {
			.dev_id = device_id,
			.pasid = pasid,
			.grpid = grpid,
			.perm = perm,
			.addr = addr,
			.nr_faults = nr,
		},
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* Report one read/write page request */
static int trigger_iopf_group(int fd, uint32_t device_id, uint32_t pasid,
			      uint32_t grpid, uint64_t addr)
{
	return trigger_iopf(fd, device_id, pasid, grpid, addr,
			    IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE, 1);
}

/*
 * The mock device's page response ledger (IOMMU_TEST_OP_IOPF_LEDGER):
 * groups reported and the responses it got.
 */
struct ledger {
	uint32_t reported, success, invalid, failure, duplicates, orphans,
		 pending;
};

static int read_ledger(int fd, uint32_t device_id, struct ledger *l)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_IOPF_LEDGER,
		.iopf_ledger = { .dev_id = device_id },
	};

	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		return -errno;
	l->reported = cmd.iopf_ledger.out_reported;
	l->success = cmd.iopf_ledger.out_success;
	l->invalid = cmd.iopf_ledger.out_invalid;
	l->failure = cmd.iopf_ledger.out_failure;
	l->duplicates = cmd.iopf_ledger.out_duplicates;
	l->orphans = cmd.iopf_ledger.out_orphans;
	l->pending = cmd.iopf_ledger.out_pending;
	return 0;
}

/* The ledger of self->device_id holds exactly these counts, and no
 * failure, duplicate or orphan (a TEST_F with self->fd and ->device_id) */
#define expect_ledger(_reported, _success, _invalid, _pending)		\
	({								\
		struct ledger _l;					\
									\
		ASSERT_EQ(0, read_ledger(self->fd, self->device_id, &_l)); \
		EXPECT_EQ(_reported, _l.reported);			\
		EXPECT_EQ(_success, _l.success);			\
		EXPECT_EQ(_invalid, _l.invalid);			\
		EXPECT_EQ(_pending, _l.pending);			\
		EXPECT_EQ(0, _l.failure);				\
		EXPECT_EQ(0, _l.duplicates);				\
		EXPECT_EQ(0, _l.orphans);				\
	})

#endif
