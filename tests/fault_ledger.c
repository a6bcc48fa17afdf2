// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every I/O page fault group is answered exactly once, proven from the
 * device's side: the mock device's page response ledger
 * (IOMMU_TEST_OP_IOPF_LEDGER) counts the groups it reported and every
 * response it got, by code, plus duplicates and orphans.
 */
#include "iommufd_utils.h"
#include "iopf_mock.h"

FIXTURE(ledger) {
	int fd;
	uint32_t ioas_id, stdev_id, device_id, parent, iopf_hwpt, fault_id;
	int fault_fd;
};

/* With and without a PASID on the page requests */
FIXTURE_VARIANT(ledger) {
	uint32_t pasid;
};

FIXTURE_VARIANT_ADD(ledger, pasid) {
	.pasid = 0x1,
};

FIXTURE_VARIANT_ADD(ledger, no_pasid) {
	.pasid = 0,	/* IOMMU_NO_PASID */
};

FIXTURE_SETUP(ledger)
{
	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	iopf_setup(_metadata, self->fd, self->ioas_id, &self->stdev_id,
		   &self->device_id, &self->parent, &self->iopf_hwpt,
		   &self->fault_id, &self->fault_fd);
}

FIXTURE_TEARDOWN(ledger)
{
	close(self->fault_fd);
	teardown_iommufd(self->fd, _metadata);
}

static void answer(struct __test_metadata *_metadata, int fault_fd,
		   uint32_t cookie, uint32_t code)
{
	struct iommu_hwpt_page_response resp = {
		.cookie = cookie,
		.code = code,
	};

	ASSERT_EQ(sizeof(resp), write(fault_fd, &resp, sizeof(resp)));
}

TEST_F(ledger, userspace_answers_each_group_once)
{
	struct iommu_hwpt_pgfault pf[8];
	struct iommu_hwpt_page_response again;
	int i;

	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, trigger_iopf_group(self->fd, self->device_id,
						variant->pasid, i, PAGE_SIZE * 256 * i));
	expect_ledger(8, 0, 0, 8);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(sizeof(pf[i]), read(self->fault_fd, &pf[i], sizeof(pf[i])));
		ASSERT_EQ(i, pf[i].grpid);
	}
	for (i = 0; i < 8; i++)
		answer(_metadata, self->fault_fd, pf[i].cookie,
		       i % 2 ? IOMMUFD_PAGE_RESP_INVALID : IOMMUFD_PAGE_RESP_SUCCESS);
	expect_ledger(8, 4, 4, 0);

	/* Answering again is refused before it reaches the device */
	again.cookie = pf[0].cookie;
	again.code = IOMMUFD_PAGE_RESP_SUCCESS;
	ASSERT_EQ(-1, write(self->fault_fd, &again, sizeof(again)));
	ASSERT_EQ(EINVAL, errno);
	expect_ledger(8, 4, 4, 0);
}

TEST_F(ledger, same_group_index_twice)
{
	struct iommu_hwpt_pgfault pf[2];
	int i;

	/* Two outstanding groups with one index: each answered once */
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, trigger_iopf_group(self->fd, self->device_id,
						variant->pasid, 5, 0x200000));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(sizeof(pf[i]), read(self->fault_fd, &pf[i], sizeof(pf[i])));
	answer(_metadata, self->fault_fd, pf[1].cookie, IOMMUFD_PAGE_RESP_SUCCESS);
	expect_ledger(2, 1, 0, 1);
	answer(_metadata, self->fault_fd, pf[0].cookie, IOMMUFD_PAGE_RESP_SUCCESS);
	expect_ledger(2, 2, 0, 0);
}

TEST_F(ledger, pending_groups_answered_on_detach)
{
	struct iommu_hwpt_page_response late;
	struct iommu_hwpt_pgfault pf[2];
	int i;

	/* Five groups: one answered, one read and held, three queued */
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, trigger_iopf_group(self->fd, self->device_id,
						variant->pasid, i, PAGE_SIZE * 256 * i));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(sizeof(pf[i]), read(self->fault_fd, &pf[i], sizeof(pf[i])));
	answer(_metadata, self->fault_fd, pf[0].cookie, IOMMUFD_PAGE_RESP_SUCCESS);
	expect_ledger(5, 1, 0, 4);

	/* Leaving the IOPF HWPT answers the other four, once, INVALID */
	test_cmd_mock_domain_replace(self->stdev_id, self->parent);
	expect_ledger(5, 1, 4, 0);

	/* The held cookie is gone with them */
	late.cookie = pf[1].cookie;
	late.code = IOMMUFD_PAGE_RESP_SUCCESS;
	ASSERT_EQ(-1, write(self->fault_fd, &late, sizeof(late)));
	expect_ledger(5, 1, 4, 0);
}

TEST_F(ledger, not_a_mock_device)
{
	struct ledger l;

	/* An id that is no device at all */
	ASSERT_EQ(-ENOENT, read_ledger(self->fd, self->ioas_id, &l));
}

TEST_HARNESS_MAIN
