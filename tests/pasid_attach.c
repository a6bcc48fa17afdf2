// SPDX-License-Identifier: GPL-2.0-only
/*
 * PASID attach, replace and detach on the iommufd selftest mock: every
 * rule and its errno, what the iommu core and the mock driver end up with
 * after each step (IOMMU_TEST_OP_PASID_CHECK_HWPT asks both), the trace
 * records with their PASID, unbind with PASIDs attached, failures
 * injected at every allocation, and page requests of a PASID reaching the
 * fault object of the paging HWPT it is attached to.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

/* Its PAGE_SIZE is for tests that map buffers: this one maps none */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-variable"
#include "iommufd_utils.h"
#pragma GCC diagnostic pop
#include "trace_capture.h"
#include "fault_injection.h"
#include "iopf_mock.h"
#include "pasid_mock.h"

#define ATTACH_MASK ((1u << IOMMUFD_EV_DEVICE_ATTACH) |		\
		     (1u << IOMMUFD_EV_DEVICE_DETACH) |		\
		     (1u << IOMMUFD_EV_DEVICE_REPLACE))

FIXTURE(pasid)
{
	int fd;
	uint32_t ioas_id;
	/* A PASID-capable mock device, its RID on rid_hwpt */
	uint32_t stdev_id, dev_id, rid_hwpt;
	/* HWPTs of the IOAS: allocated with IOMMU_HWPT_ALLOC_PASID or not */
	uint32_t hwpt_a, hwpt_b, hwpt_plain;
	struct trace_capture cap;
};

FIXTURE_SETUP(pasid)
{
	uint32_t auto_hwpt;

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_cmd_mock_domain_flags(self->ioas_id, MOCK_FLAGS_DEVICE_PASID,
				   &self->stdev_id, &auto_hwpt, &self->dev_id);
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_PASID, &self->hwpt_a);
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_PASID, &self->hwpt_b);
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id, 0, &self->hwpt_plain);
	/* PASIDs want the RID on a PASID-capable HWPT too */
	test_cmd_mock_domain_replace(self->stdev_id, self->hwpt_a);
	self->rid_hwpt = self->hwpt_a;
	ASSERT_EQ(0, _capture_start(&self->cap, getpid(), 0, 0, ATTACH_MASK));
}

FIXTURE_TEARDOWN(pasid)
{
	capture_stop(&self->cap);
	teardown_iommufd(self->fd, _metadata);
}

/* Exactly one record arrived since the last call: return it */
static struct iommufd_event *one_event(struct __test_metadata *_metadata,
				       struct trace_capture *cap, __u32 type)
{
	capture_collect(cap);
	EXPECT_EQ(1, cap->n);
	if (cap->n != 1)
		return NULL;
	cap->n = 0;
	EXPECT_EQ(type, cap->ev[0].type);
	EXPECT_EQ(getpid(), cap->ev[0].owner_tgid);
	return &cap->ev[0];
}

#define expect_event(type) one_event(_metadata, &self->cap, type)

/* No record arrived since the last call */
#define expect_no_event()						\
	do {								\
		capture_collect(&self->cap);				\
		EXPECT_EQ(0, self->cap.n);				\
		self->cap.n = 0;					\
	} while (0)

#define check_pasid(pasid, hwpt) \
	ASSERT_EQ(0, pasid_check(self->fd, self->stdev_id, pasid, hwpt))

TEST_F(pasid, alloc_flag)
{
	uint32_t stdev, plain_dev, rid, hwpt, parent;
	struct iommu_hwpt_selftest data = {
		.iotlb = IOMMU_TEST_IOTLB_DEFAULT,
	};

	/* A device without PASIDs cannot have a PASID HWPT */
	test_cmd_mock_domain(self->ioas_id, &stdev, &rid, &plain_dev);
	test_err_hwpt_alloc(EOPNOTSUPP, plain_dev, self->ioas_id,
			    IOMMU_HWPT_ALLOC_PASID, &hwpt);
	/* Nested HWPTs can be, on a parent that is not */
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &parent);
	test_cmd_hwpt_alloc_nested(self->dev_id, parent,
				   IOMMU_HWPT_ALLOC_PASID, &hwpt,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	test_err_hwpt_alloc_nested(EOPNOTSUPP, plain_dev, parent,
				   IOMMU_HWPT_ALLOC_PASID, &hwpt,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	/* Flags beyond the defined ones are still refused */
	test_err_hwpt_alloc(EOPNOTSUPP, self->dev_id, self->ioas_id, 1u << 4,
			    &hwpt);
}

TEST_F(pasid, attach_detach)
{
	uint32_t pt = self->hwpt_b;
	struct iommufd_event *e;

	check_pasid(5, 0);
	ASSERT_EQ(0, pasid_attach(self->fd, self->stdev_id, 5, &pt));
	ASSERT_EQ(self->hwpt_b, pt);
	check_pasid(5, self->hwpt_b);
	/* The RID and the other PASIDs are untouched */
	check_pasid(6, 0);
	e = expect_event(IOMMUFD_EV_DEVICE_ATTACH);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(self->dev_id, e->dev_id);
	EXPECT_EQ(self->hwpt_b, e->hwpt_id);
	EXPECT_EQ(self->ioas_id, e->ioas_id);
	EXPECT_EQ(5, e->pasid);
	EXPECT_EQ(0, e->old_hwpt_id);
	EXPECT_EQ(0, e->ret);

	/* An attached HWPT cannot go */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->hwpt_b));

	ASSERT_EQ(0, pasid_detach(self->fd, self->stdev_id, 5));
	check_pasid(5, 0);
	e = expect_event(IOMMUFD_EV_DEVICE_DETACH);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(self->dev_id, e->dev_id);
	EXPECT_EQ(self->hwpt_b, e->hwpt_id);
	EXPECT_EQ(self->ioas_id, e->ioas_id);
	EXPECT_EQ(5, e->pasid);
	EXPECT_EQ(0, e->ret);

	/* Detaching what is not attached does nothing */
	ASSERT_EQ(0, pasid_detach(self->fd, self->stdev_id, 5));
	expect_no_event();
	test_ioctl_destroy(self->hwpt_b);
}

/* Every refused attach names its reason and leaves everything as it was */
TEST_F(pasid, attach_errors_change_nothing)
{
	uint32_t stdev, rid, plain_dev, pt;
	struct iommufd_event *e;

	/* PASID 0 is the RID */
	pt = self->hwpt_b;
	EXPECT_EQ(-EINVAL, pasid_attach(self->fd, self->stdev_id, 0, &pt));
	expect_no_event();

	/* A HWPT not allocated for PASIDs */
	pt = self->hwpt_plain;
	EXPECT_EQ(-EINVAL, pasid_attach(self->fd, self->stdev_id, 5, &pt));
	e = expect_event(IOMMUFD_EV_DEVICE_ATTACH);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(-EINVAL, e->ret);
	EXPECT_EQ(5, e->pasid);
	EXPECT_EQ(self->hwpt_plain, e->hwpt_id);
	check_pasid(5, 0);

	/* An IOAS: its automatic domains are not for PASIDs */
	pt = self->ioas_id;
	EXPECT_EQ(-EINVAL, pasid_attach(self->fd, self->stdev_id, 5, &pt));
	check_pasid(5, 0);
	capture_reset(&self->cap);

	/* Beyond the device's PASID width */
	pt = self->hwpt_b;
	EXPECT_EQ(-EINVAL, pasid_attach(self->fd, self->stdev_id,
					1u << MOCK_PASID_WIDTH, &pt));
	e = expect_event(IOMMUFD_EV_DEVICE_ATTACH);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(-EINVAL, e->ret);
	EXPECT_EQ(1u << MOCK_PASID_WIDTH, e->pasid);
	check_pasid((1u << MOCK_PASID_WIDTH) - 1, 0);

	/* No such object: refused before any attach work, no record */
	pt = 99999;
	EXPECT_EQ(-ENOENT, pasid_attach(self->fd, self->stdev_id, 5, &pt));
	expect_no_event();

	/* A device without PASIDs */
	test_cmd_mock_domain(self->ioas_id, &stdev, &rid, &plain_dev);
	pt = self->hwpt_b;
	EXPECT_EQ(-EOPNOTSUPP, pasid_attach(self->fd, stdev, 5, &pt));
	EXPECT_EQ(0, pasid_check(self->fd, stdev, 5, 0));
	capture_reset(&self->cap);

	/* Twice: the first stays */
	pt = self->hwpt_b;
	ASSERT_EQ(0, pasid_attach(self->fd, self->stdev_id, 5, &pt));
	pt = self->hwpt_a;
	EXPECT_EQ(-EBUSY, pasid_attach(self->fd, self->stdev_id, 5, &pt));
	check_pasid(5, self->hwpt_b);
	capture_reset(&self->cap);

	/* While a PASID is attached the RID stays on a PASID HWPT */
	EXPECT_ERRNO(EINVAL, _test_cmd_mock_domain_replace(self->fd,
							   self->stdev_id,
							   self->hwpt_plain,
							   NULL));
	e = expect_event(IOMMUFD_EV_DEVICE_REPLACE);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(-EINVAL, e->ret);
	EXPECT_EQ(0, e->pasid);
	check_pasid(5, self->hwpt_b);
	ASSERT_EQ(0, pasid_detach(self->fd, self->stdev_id, 5));

	/* ... and with the RID on a plain HWPT, no PASID can attach */
	test_cmd_mock_domain_replace(self->stdev_id, self->hwpt_plain);
	pt = self->hwpt_b;
	EXPECT_EQ(-EINVAL, pasid_attach(self->fd, self->stdev_id, 5, &pt));
	check_pasid(5, 0);

	/* Replacing a PASID that is not attached */
	pt = self->hwpt_b;
	EXPECT_EQ(-EINVAL, pasid_replace(self->fd, self->stdev_id, 7, &pt));
	check_pasid(7, 0);
}

TEST_F(pasid, replace_in_one_step)
{
	uint32_t pt = self->hwpt_a;
	struct iommufd_event *e;

	ASSERT_EQ(0, pasid_attach(self->fd, self->stdev_id, 9, &pt));
	capture_reset(&self->cap);

	pt = self->hwpt_b;
	ASSERT_EQ(0, pasid_replace(self->fd, self->stdev_id, 9, &pt));
	ASSERT_EQ(self->hwpt_b, pt);
	check_pasid(9, self->hwpt_b);
	e = expect_event(IOMMUFD_EV_DEVICE_REPLACE);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(self->dev_id, e->dev_id);
	EXPECT_EQ(self->hwpt_a, e->old_hwpt_id);
	EXPECT_EQ(self->hwpt_b, e->hwpt_id);
	EXPECT_EQ(self->ioas_id, e->ioas_id);
	EXPECT_EQ(9, e->pasid);
	EXPECT_EQ(0, e->ret);

	/* With the current HWPT: nothing changes, still reported */
	ASSERT_EQ(0, pasid_replace(self->fd, self->stdev_id, 9, &pt));
	e = expect_event(IOMMUFD_EV_DEVICE_REPLACE);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(self->hwpt_b, e->old_hwpt_id);
	EXPECT_EQ(self->hwpt_b, e->hwpt_id);
	check_pasid(9, self->hwpt_b);

	/* Not for PASIDs: refused, the PASID stays where it was */
	pt = self->hwpt_plain;
	EXPECT_EQ(-EINVAL, pasid_replace(self->fd, self->stdev_id, 9, &pt));
	check_pasid(9, self->hwpt_b);
	capture_reset(&self->cap);
	ASSERT_EQ(0, pasid_detach(self->fd, self->stdev_id, 9));
	check_pasid(9, 0);
}

/* The driver refuses a replace: the old HWPT stays, in core and driver */
TEST_F(pasid, replace_refused_by_driver)
{
	uint32_t pt = self->hwpt_a;
	struct iommufd_event *e;

	ASSERT_EQ(0, pasid_attach(self->fd, self->stdev_id,
				  MOCK_PASID_NO_REPLACE, &pt));
	capture_reset(&self->cap);
	pt = self->hwpt_b;
	EXPECT_EQ(-EBUSY, pasid_replace(self->fd, self->stdev_id,
					MOCK_PASID_NO_REPLACE, &pt));
	check_pasid(MOCK_PASID_NO_REPLACE, self->hwpt_a);
	e = expect_event(IOMMUFD_EV_DEVICE_REPLACE);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(-EBUSY, e->ret);
	EXPECT_EQ(self->hwpt_a, e->old_hwpt_id);
	EXPECT_EQ(self->hwpt_b, e->hwpt_id);
	/* The new HWPT holds no reference: it can go */
	test_ioctl_destroy(self->hwpt_b);
	ASSERT_EQ(0, pasid_detach(self->fd, self->stdev_id,
				  MOCK_PASID_NO_REPLACE));
	check_pasid(MOCK_PASID_NO_REPLACE, 0);
}

TEST_F(pasid, nested_hwpt)
{
	struct iommu_hwpt_selftest data = {
		.iotlb = IOMMU_TEST_IOTLB_DEFAULT,
	};
	uint32_t parent, nested, pt;
	struct iommufd_event *e;

	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &parent);
	test_cmd_hwpt_alloc_nested(self->dev_id, parent,
				   IOMMU_HWPT_ALLOC_PASID, &nested,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	capture_reset(&self->cap);
	pt = nested;
	ASSERT_EQ(0, pasid_attach(self->fd, self->stdev_id, 3, &pt));
	check_pasid(3, nested);
	e = expect_event(IOMMUFD_EV_DEVICE_ATTACH);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(nested, e->hwpt_id);
	EXPECT_EQ(3, e->pasid);
	/* A nested HWPT's IOAS is its parent's */
	EXPECT_EQ(self->ioas_id, e->ioas_id);
	/* to a paging HWPT and back */
	pt = self->hwpt_b;
	ASSERT_EQ(0, pasid_replace(self->fd, self->stdev_id, 3, &pt));
	check_pasid(3, self->hwpt_b);
	pt = nested;
	ASSERT_EQ(0, pasid_replace(self->fd, self->stdev_id, 3, &pt));
	check_pasid(3, nested);
	ASSERT_EQ(0, pasid_detach(self->fd, self->stdev_id, 3));
	test_ioctl_destroy(nested);
	test_ioctl_destroy(parent);
}

/*
 * Destroying the device detaches its RID, then its PASIDs with the RID
 * already detached, each reported
 */
TEST_F(pasid, unbind_detaches_pasids)
{
	static const uint32_t pasids[] = { 1, 77, (1u << MOCK_PASID_WIDTH) - 1 };
	unsigned int i, found[3] = { 0 };
	uint32_t pt;

	for (i = 0; i < 3; i++) {
		pt = i == 1 ? self->hwpt_b : self->hwpt_a;
		ASSERT_EQ(0, pasid_attach(self->fd, self->stdev_id, pasids[i],
					  &pt));
	}
	capture_reset(&self->cap);
	test_ioctl_destroy(self->stdev_id);
	capture_collect(&self->cap);
	ASSERT_EQ(4, self->cap.n);
	for (i = 0; i < 4; i++) {
		const struct iommufd_event *e = &self->cap.ev[i];
		unsigned int j;

		ASSERT_EQ(IOMMUFD_EV_DEVICE_DETACH, e->type);
		EXPECT_EQ(self->dev_id, e->dev_id);
		EXPECT_EQ(0, e->ret);
		if (i == 0) {
			/* the RID, first */
			EXPECT_EQ(0, e->pasid);
			EXPECT_EQ(self->rid_hwpt, e->hwpt_id);
			continue;
		}
		for (j = 0; j < 3; j++)
			if (e->pasid == pasids[j])
				found[j]++;
		EXPECT_EQ(e->pasid == 77 ? self->hwpt_b : self->hwpt_a,
			  e->hwpt_id);
	}
	for (i = 0; i < 3; i++)
		EXPECT_EQ(1, found[i]);
	self->cap.n = 0;
	/* Nothing holds the HWPTs any more */
	test_ioctl_destroy(self->hwpt_a);
	test_ioctl_destroy(self->hwpt_b);
}

/*
 * fail-nth at every allocation of attach, then of replace: each attempt
 * either succeeds or leaves the PASID as it was, in core and driver; the
 * last attempt meets no injection point.
 */
TEST_F(pasid, fail_nth_attach_replace)
{
	unsigned int nth, failed = 0;
	int nthfd, rc, armed;
	uint32_t pt;

	setup_fault_injection(_metadata);
	nthfd = fail_nth_open();
	ASSERT_NE(-1, nthfd);

	for (nth = 1; nth < 200; nth++) {
		pt = self->hwpt_a;
		ASSERT_EQ(0, fail_nth_arm(nthfd, nth));
		rc = pasid_attach(self->fd, self->stdev_id, 11, &pt);
		armed = fail_nth_disarm(nthfd);
		if (rc) {
			failed++;
			ASSERT_EQ(0, pasid_check(self->fd, self->stdev_id, 11,
						 0))
				TH_LOG("attach failed %d at nth %u", rc, nth);
			continue;
		}
		check_pasid(11, self->hwpt_a);
		ASSERT_EQ(0, pasid_detach(self->fd, self->stdev_id, 11));
		if (armed)
			break;
	}
	ASSERT_LT(nth, 200);
	ASSERT_LT(0, failed);

	pt = self->hwpt_a;
	ASSERT_EQ(0, pasid_attach(self->fd, self->stdev_id, 11, &pt));
	for (failed = 0, nth = 1; nth < 200; nth++) {
		pt = self->hwpt_b;
		ASSERT_EQ(0, fail_nth_arm(nthfd, nth));
		rc = pasid_replace(self->fd, self->stdev_id, 11, &pt);
		armed = fail_nth_disarm(nthfd);
		if (rc) {
			failed++;
			/* -EFAULT may also be a replace whose reply was lost */
			if (rc == -EFAULT &&
			    !pasid_check(self->fd, self->stdev_id, 11,
					 self->hwpt_b)) {
				pt = self->hwpt_a;
				ASSERT_EQ(0, pasid_replace(self->fd,
							   self->stdev_id, 11,
							   &pt));
			}
			ASSERT_EQ(0, pasid_check(self->fd, self->stdev_id, 11,
						 self->hwpt_a))
				TH_LOG("replace failed %d at nth %u", rc, nth);
			continue;
		}
		check_pasid(11, self->hwpt_b);
		pt = self->hwpt_a;
		ASSERT_EQ(0, pasid_replace(self->fd, self->stdev_id, 11, &pt));
		if (armed)
			break;
	}
	close(nthfd);
	ASSERT_LT(nth, 200);
	ASSERT_LT(0, failed);
	ASSERT_EQ(0, pasid_detach(self->fd, self->stdev_id, 11));
	capture_reset(&self->cap);
}

/*
 * A page request with a PASID goes to the fault object of the paging HWPT
 * that PASID is attached to; leaving the HWPT answers what still waits.
 */
TEST_F(pasid, page_requests_reach_the_paging_hwpt)
{
	struct iommu_hwpt_page_response resp = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	uint32_t fault_id, fault_fd, hwpt, pt;
	struct iommu_hwpt_pgfault pf;
	struct ledger l;

	ASSERT_EQ(0, _test_ioctl_fault_alloc(self->fd, &fault_id, &fault_fd));
	test_cmd_hwpt_alloc_iopf(self->dev_id, self->ioas_id, fault_id,
				 IOMMU_HWPT_FAULT_ID_VALID |
				 IOMMU_HWPT_ALLOC_PASID, &hwpt,
				 IOMMU_HWPT_DATA_NONE, NULL, 0);
	pt = hwpt;
	ASSERT_EQ(0, pasid_attach(self->fd, self->stdev_id, 21, &pt));

	ASSERT_EQ(0, trigger_iopf_group(self->fd, self->dev_id, 21, 4,
					0x100000));
	ASSERT_EQ(sizeof(pf), read(fault_fd, &pf, sizeof(pf)));
	EXPECT_EQ(21, pf.pasid);
	EXPECT_EQ(4, pf.grpid);
	EXPECT_EQ(self->dev_id, pf.dev_id);
	EXPECT_EQ(0x100000, pf.addr);
	EXPECT_TRUE(pf.flags & IOMMU_PGFAULT_FLAGS_PASID_VALID);
	resp.cookie = pf.cookie;
	ASSERT_EQ(sizeof(resp), write(fault_fd, &resp, sizeof(resp)));
	ASSERT_EQ(0, read_ledger(self->fd, self->dev_id, &l));
	EXPECT_EQ(1, l.reported);
	EXPECT_EQ(1, l.success);

	/* Pending when the PASID leaves: answered INVALID, once */
	ASSERT_EQ(0, trigger_iopf_group(self->fd, self->dev_id, 21, 5,
					0x200000));
	ASSERT_EQ(0, pasid_detach(self->fd, self->stdev_id, 21));
	ASSERT_EQ(0, read_ledger(self->fd, self->dev_id, &l));
	EXPECT_EQ(2, l.reported);
	EXPECT_EQ(1, l.success);
	EXPECT_EQ(1, l.invalid);
	EXPECT_EQ(0, l.pending);
	EXPECT_EQ(0, l.duplicates);

	close(fault_fd);
	capture_reset(&self->cap);
}

struct fault_stream {
	int fd, fault_fd;
	uint32_t dev_id, pasid;
	atomic_bool stop;
	unsigned int sent, answered;
};

/* Page requests on one PASID, each answered if it reached the fault fd */
static void *stream_and_answer(void *arg)
{
	struct fault_stream *fs = arg;
	struct iommu_hwpt_page_response resp = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	struct iommu_hwpt_pgfault pf;

	while (!atomic_load(&fs->stop)) {
		if (!trigger_iopf_group(fs->fd, fs->dev_id, fs->pasid,
					fs->sent % 256, 0x100000))
			fs->sent++;
		while (read(fs->fault_fd, &pf, sizeof(pf)) == sizeof(pf)) {
			resp.cookie = pf.cookie;
			if (write(fs->fault_fd, &resp, sizeof(resp)) ==
			    sizeof(resp))
				fs->answered++;
		}
	}
	return NULL;
}

/*
 * A PASID attached, replaced and detached 200 times while another thread
 * streams page requests on it and answers them: every group is answered
 * exactly once (by the VMM, by the kernel when the PASID leaves its HWPT,
 * or refused while it has none), none twice, none left waiting, and the
 * core and the mock driver agree at the end.
 */
TEST_F(pasid, page_requests_race_attach_replace_detach)
{
	uint32_t fault_id, fault_fd, hwpt_f1, hwpt_f2, pt;
	struct fault_stream fs = { 0 };
	struct ledger l;
	pthread_t t;
	int i;

	ASSERT_EQ(0, _test_ioctl_fault_alloc(self->fd, &fault_id, &fault_fd));
	fcntl(fault_fd, F_SETFL, O_NONBLOCK);
	test_cmd_hwpt_alloc_iopf(self->dev_id, self->ioas_id, fault_id,
				 IOMMU_HWPT_FAULT_ID_VALID |
				 IOMMU_HWPT_ALLOC_PASID, &hwpt_f1,
				 IOMMU_HWPT_DATA_NONE, NULL, 0);
	test_cmd_hwpt_alloc_iopf(self->dev_id, self->ioas_id, fault_id,
				 IOMMU_HWPT_FAULT_ID_VALID |
				 IOMMU_HWPT_ALLOC_PASID, &hwpt_f2,
				 IOMMU_HWPT_DATA_NONE, NULL, 0);
	fs.fd = self->fd;
	fs.fault_fd = fault_fd;
	fs.dev_id = self->dev_id;
	fs.pasid = 40;
	ASSERT_EQ(0, pthread_create(&t, NULL, stream_and_answer, &fs));
	for (i = 0; i < 200; i++) {
		pt = hwpt_f1;
		ASSERT_EQ(0, pasid_attach(self->fd, self->stdev_id, 40, &pt));
		pt = i % 2 ? hwpt_f2 : self->hwpt_b;
		ASSERT_EQ(0, pasid_replace(self->fd, self->stdev_id, 40, &pt));
		ASSERT_EQ(0, pasid_detach(self->fd, self->stdev_id, 40));
	}
	atomic_store(&fs.stop, true);
	ASSERT_EQ(0, pthread_join(t, NULL));
	check_pasid(40, 0);

	ASSERT_EQ(0, read_ledger(self->fd, self->dev_id, &l));
	TH_LOG("%u requests: %u answered by the VMM, %u success, %u invalid, %u failure",
	       fs.sent, fs.answered, l.success, l.invalid, l.failure);
	EXPECT_EQ(fs.sent, l.reported);
	EXPECT_EQ(l.reported, l.success + l.invalid + l.failure);
	EXPECT_EQ(fs.answered, l.success);
	EXPECT_EQ(0, l.pending);
	EXPECT_EQ(0, l.duplicates);
	EXPECT_EQ(0, l.orphans);
	/* Some reached the fault fd: the race was run, not just refused */
	EXPECT_LT(0, fs.answered);
	close(fault_fd);
	capture_reset(&self->cap);
}

TEST_HARNESS_MAIN
