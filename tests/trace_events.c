// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd trace events, checked through the production BPF program.
 *
 * Each test drives one kind of operation through the iommufd selftest mock
 * and checks that the program delivers exactly the expected records, in
 * order, field by field, and nothing else. The capture is filtered on this
 * process as owner, so other iommufd users in the guest cannot disturb it.
 */
#include <signal.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "iommufd_utils.h"
#include "trace_capture.h"
#include "event_format.h"
#include "fault_injection.h"
#include "iopf_mock.h"

#define NPAGES 4

/* Kernel values the records carry (iommufd_private.h, io_pagetable.h) */
enum { DOMAIN_UNMAP_AREA, DOMAIN_UNMAP_UNFILL, DOMAIN_UNMAP_UNWIND };
enum { AUTO_RESP_DETACH, AUTO_RESP_DESTROY };
enum { ACCOUNT_NONE, ACCOUNT_USER, ACCOUNT_MM };
#define MAP_FLAGS_FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | \
			    IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)

/*
 * Collect and check that exactly the listed types arrived, in order, then
 * check what every record must carry. Returns the first record.
 */
#define expect_events(...)                                                    \
	({                                                                    \
		const __u32 _want[] = { __VA_ARGS__ };                        \
		_expect_events(_metadata, &self->cap, _want,                  \
			       sizeof(_want) / sizeof(_want[0]));             \
	})

static struct iommufd_event *_expect_events(struct __test_metadata *_metadata,
					    struct trace_capture *cap,
					    const __u32 *want, unsigned int n)
{
	unsigned int i;

	capture_collect(cap);
	for (i = 0; i < cap->n; i++)
		TH_LOG("got %u: %s", i, event_type_name(cap->ev[i].type));
	ASSERT_EQ(0, cap->overflow);
	ASSERT_EQ(n, cap->n);
	for (i = 0; i < n; i++) {
		const struct iommufd_event *e = &cap->ev[i];

		ASSERT_EQ(want[i], e->type)
			TH_LOG("record %u is %s, want %s", i,
			       event_type_name(e->type),
			       event_type_name(want[i]));
		/* Attributed to this process, which owns the context */
		ASSERT_EQ(getpid(), e->owner_tgid);
		if (e->type == IOMMUFD_EV_DMA_FAULT) {
			/* Reported by an interrupt on hardware: no caller */
			ASSERT_EQ(0, e->tgid);
			ASSERT_EQ(0, e->comm[0]);
		} else {
			ASSERT_EQ(getpid(), e->tgid);
			ASSERT_EQ(0, strncmp(e->comm, "trace_events",
					     sizeof(e->comm)));
		}
		ASSERT_NE(0, e->ts_ns);
		ASSERT_NE(0, e->seq);
		if (i)
			ASSERT_EQ(cap->ev[i - 1].seq + 1, e->seq);
	}
	cap->n = 0;
	return n ? &cap->ev[0] : NULL;
}

/* Every lifecycle record, the access pins and unpins of emulated devices too */
#define LIFECYCLE_MASK (IOMMUFD_EV_MASK_LIFECYCLE |			\
			(1u << IOMMUFD_EV_ACCESS_PIN) |			\
			(1u << IOMMUFD_EV_ACCESS_UNPIN))

/* What objects do: maps, attaches, faults... */
#define ACTIVITY_MASK (IOMMUFD_EV_MASK_ALL & ~LIFECYCLE_MASK)

/* The buffer iommufd_utils.h's helpers map: npages of shared memory */
static void alloc_buffer(struct __test_metadata *_metadata, unsigned int npages)
{
	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
	BUFFER_SIZE = npages * PAGE_SIZE;
	buffer = mmap(NULL, BUFFER_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buffer);
	memset(buffer, 0x5a, BUFFER_SIZE);
}

FIXTURE(trace)
{
	int fd;
	uint32_t ioas_id;
	struct trace_capture cap;
};

FIXTURE_SETUP(trace)
{
	alloc_buffer(_metadata, NPAGES);

	/* Lifecycle records have their own test: here, what objects do */
	ASSERT_EQ(0, _capture_start(&self->cap, getpid(), 0, 0,
				    ACTIVITY_MASK));
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	capture_reset(&self->cap);
}

FIXTURE_TEARDOWN(trace)
{
	teardown_iommufd(self->fd, _metadata);
	capture_stop(&self->cap);
	munmap(buffer, BUFFER_SIZE);
}

/* Without a domain nothing is pinned: one record per ioctl */
TEST_F(trace, map_unmap_without_domain)
{
	struct iommufd_event *e;

	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START);
	e = expect_events(IOMMUFD_EV_IOAS_MAP);
	ASSERT_EQ(self->ioas_id, e->ioas_id);
	ASSERT_EQ(MOCK_APERTURE_START, e->iova);
	ASSERT_EQ(BUFFER_SIZE, e->length);
	ASSERT_EQ(BUFFER_SIZE, e->done);
	ASSERT_EQ(MAP_FLAGS_FIXED_RW, e->flags);
	ASSERT_EQ(0, e->ret);
	ASSERT_EQ(0, e->hwpt_id);
	ASSERT_EQ(0, e->dev_id);
	/* Timed by the kernel, as the event was on while it ran */
	ASSERT_NE(0, e->duration_ns);

	test_ioctl_ioas_unmap(MOCK_APERTURE_START, BUFFER_SIZE);
	e = expect_events(IOMMUFD_EV_IOAS_UNMAP);
	ASSERT_EQ(self->ioas_id, e->ioas_id);
	ASSERT_EQ(MOCK_APERTURE_START, e->iova);
	ASSERT_EQ(BUFFER_SIZE, e->length);
	ASSERT_EQ(BUFFER_SIZE, e->done);
	ASSERT_EQ(0, e->ret);
	ASSERT_NE(0, e->duration_ns);

	/* A failed unmap is reported with its errno and nothing done */
	test_err_ioctl_ioas_unmap(ENOENT, MOCK_APERTURE_START, BUFFER_SIZE);
	e = expect_events(IOMMUFD_EV_IOAS_UNMAP);
	ASSERT_EQ(-ENOENT, e->ret);
	ASSERT_EQ(0, e->done);
}

/*
 * Every VMM's first IOAS is 1: records say which context they come from,
 * with an id unique for the boot, so two contexts' IOAS 1 keep apart.
 */
TEST_F(trace, records_name_their_context)
{
	__u64 iova = MOCK_APERTURE_START, ctx;
	struct iommufd_event *e;
	uint32_t ioas2;
	int fd2;

	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START);
	e = expect_events(IOMMUFD_EV_IOAS_MAP);
	ctx = e->ctx;
	ASSERT_NE(0, ctx);

	fd2 = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, fd2);
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(fd2, &ioas2));
	ASSERT_EQ(self->ioas_id, ioas2);
	ASSERT_EQ(0, _test_ioctl_ioas_map(fd2, ioas2, buffer, BUFFER_SIZE,
					  &iova, MAP_FLAGS_FIXED_RW));
	e = expect_events(IOMMUFD_EV_IOAS_MAP);
	ASSERT_EQ(ioas2, e->ioas_id);
	ASSERT_NE(0, e->ctx);
	ASSERT_NE(ctx, e->ctx);
	ASSERT_EQ(0, close(fd2));

	test_ioctl_ioas_unmap(MOCK_APERTURE_START, BUFFER_SIZE);
	e = expect_events(IOMMUFD_EV_IOAS_UNMAP);
	ASSERT_EQ(ctx, e->ctx);
}

/* An automatically allocated IOVA is reported, not the one asked for */
TEST_F(trace, map_auto_iova)
{
	struct iommufd_event *e;
	__u64 iova;

	test_ioctl_ioas_map(buffer, BUFFER_SIZE, &iova);
	e = expect_events(IOMMUFD_EV_IOAS_MAP);
	ASSERT_EQ(iova, e->iova);
	ASSERT_EQ(IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE,
		  e->flags);
}

/*
 * With a domain, map pins and unmap flushes then unpins: one record each,
 * carrying the pages and the domain unmaps, with no pinned update or domain
 * unmap record of their own
 */
TEST_F(trace, map_unmap_with_domain)
{
	uint32_t stdev_id, hwpt_id, device_id;
	struct iommufd_event *e;

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, &device_id);
	capture_reset(&self->cap);

	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START);
	e = expect_events(IOMMUFD_EV_IOAS_MAP);
	ASSERT_EQ(BUFFER_SIZE, e->done);
	ASSERT_EQ(NPAGES, e->pinned);
	ASSERT_EQ(0, e->domain_unmaps);
	ASSERT_EQ(0, e->absent);

	/* Two areas in one unmap: the domain unmaps add up */
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, BUFFER_SIZE);
	test_ioctl_ioas_map_fixed(buffer, PAGE_SIZE, MOCK_APERTURE_START);
	test_ioctl_ioas_map_fixed(buffer + PAGE_SIZE, PAGE_SIZE,
				  MOCK_APERTURE_START + PAGE_SIZE);
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, 2 * PAGE_SIZE);
	e = expect_events(IOMMUFD_EV_IOAS_UNMAP, IOMMUFD_EV_IOAS_MAP,
			  IOMMUFD_EV_IOAS_MAP, IOMMUFD_EV_IOAS_UNMAP);
	ASSERT_EQ(BUFFER_SIZE, e[0].done);
	ASSERT_EQ(-NPAGES, e[0].pinned);
	ASSERT_EQ(1, e[0].domain_unmaps);
	ASSERT_EQ(1, e[1].pinned);
	ASSERT_EQ(1, e[2].pinned);
	ASSERT_EQ(2 * PAGE_SIZE, e[3].done);
	ASSERT_EQ(-2, e[3].pinned);
	ASSERT_EQ(2, e[3].domain_unmaps);
}

/*
 * A map or an unmap counts only the caller's own pages. A child unmapping
 * its parent's mapping releases the parent's pages: a pinned update record
 * of the parent's pages, and the child's unmap counts none.
 */
TEST_F(trace, unmap_of_another_process_pages)
{
	uint32_t stdev_id, hwpt_id, device_id;
	unsigned int i, pinned = 0, unmaps = 0;
	pid_t parent = getpid(), child;
	int status;

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, &device_id);
	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START);
	/* Everyone's records: the child becomes the context's owner */
	capture_stop(&self->cap);
	ASSERT_EQ(0, _capture_start(&self->cap, 0, 0, 0, ACTIVITY_MASK));

	child = fork();
	ASSERT_NE(-1, child);
	if (!child)
		_exit(_test_ioctl_ioas_unmap(self->fd, self->ioas_id,
					     MOCK_APERTURE_START, BUFFER_SIZE,
					     NULL) ? 1 : 0);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));

	capture_collect(&self->cap);
	for (i = 0; i < self->cap.n; i++) {
		const struct iommufd_event *e = &self->cap.ev[i];

		ASSERT_EQ(child, e->tgid);
		switch (e->type) {
		case IOMMUFD_EV_PINNED_UPDATE:
			ASSERT_EQ(parent, e->owner_tgid);	/* the pages' */
			ASSERT_EQ(NPAGES, e->length);
			ASSERT_EQ(0, e->flags);	/* released */
			ASSERT_EQ(0, e->done);	/* none left pinned */
			pinned++;
			break;
		case IOMMUFD_EV_IOAS_UNMAP:
			ASSERT_EQ(child, e->owner_tgid);
			ASSERT_EQ(BUFFER_SIZE, e->done);
			ASSERT_EQ(0, e->pinned);
			ASSERT_EQ(1, e->domain_unmaps);
			unmaps++;
			break;
		default:
			ASSERT_TRUE(0) TH_LOG("unexpected %s record",
					      event_type_name(e->type));
		}
	}
	ASSERT_EQ(1, pinned);
	ASSERT_EQ(1, unmaps);
	self->cap.n = 0;
}

TEST_F(trace, copy)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = MAP_FLAGS_FIXED_RW,
		.src_iova = MOCK_APERTURE_START,
		.dst_iova = MOCK_APERTURE_START + 16 * PAGE_SIZE,
		.length = BUFFER_SIZE,
	};
	struct iommufd_event *e;
	uint32_t ioas2;

	test_ioctl_ioas_alloc(&ioas2);
	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START);
	capture_reset(&self->cap);

	copy.src_ioas_id = self->ioas_id;
	copy.dst_ioas_id = ioas2;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_COPY, &copy));
	e = expect_events(IOMMUFD_EV_IOAS_COPY);
	ASSERT_EQ(self->ioas_id, e->src_ioas_id);
	ASSERT_EQ(ioas2, e->ioas_id);
	ASSERT_EQ(copy.src_iova, e->iova);
	ASSERT_EQ(copy.dst_iova, e->dst_iova);
	ASSERT_EQ(BUFFER_SIZE, e->length);
	ASSERT_EQ(BUFFER_SIZE, e->done);
	ASSERT_EQ(MAP_FLAGS_FIXED_RW, e->flags);
	ASSERT_EQ(0, e->ret);

	/* The same range again overlaps: EEXIST, reported */
	EXPECT_ERRNO(EEXIST, ioctl(self->fd, IOMMU_IOAS_COPY, &copy));
	e = expect_events(IOMMUFD_EV_IOAS_COPY);
	ASSERT_EQ(-EEXIST, e->ret);
	ASSERT_EQ(0, e->done);

	/* A source range that is not mapped: ENOENT, reported too */
	copy.src_iova = MOCK_APERTURE_START + 64 * PAGE_SIZE;
	copy.dst_iova = MOCK_APERTURE_START + 128 * PAGE_SIZE;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_IOAS_COPY, &copy));
	e = expect_events(IOMMUFD_EV_IOAS_COPY);
	ASSERT_EQ(-ENOENT, e->ret);
	ASSERT_EQ(ioas2, e->ioas_id);
	ASSERT_EQ(copy.src_iova, e->iova);
	ASSERT_EQ(copy.dst_iova, e->dst_iova);
	ASSERT_EQ(0, e->done);

	/* A destination IOAS that does not exist: ENOENT, named as asked */
	copy.src_iova = MOCK_APERTURE_START;
	copy.dst_ioas_id = ioas2 + 100;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_IOAS_COPY, &copy));
	e = expect_events(IOMMUFD_EV_IOAS_COPY);
	ASSERT_EQ(-ENOENT, e->ret);
	ASSERT_EQ(ioas2 + 100, e->ioas_id);
}

TEST_F(trace, attach_detach)
{
	uint32_t stdev_id, hwpt_id, device_id;
	struct iommufd_event *e;

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, &device_id);
	e = expect_events(IOMMUFD_EV_DEVICE_ATTACH);
	ASSERT_EQ(device_id, e->dev_id);
	ASSERT_EQ(hwpt_id, e->hwpt_id);
	ASSERT_EQ(self->ioas_id, e->ioas_id);
	ASSERT_EQ(0, e->pasid);		/* IOMMU_NO_PASID: the whole device */
	ASSERT_EQ(0, e->old_hwpt_id);
	ASSERT_EQ(0, e->ret);

	test_ioctl_destroy(stdev_id);
	e = expect_events(IOMMUFD_EV_DEVICE_DETACH);
	ASSERT_EQ(device_id, e->dev_id);
	ASSERT_EQ(hwpt_id, e->hwpt_id);
	ASSERT_EQ(self->ioas_id, e->ioas_id);
	ASSERT_EQ(0, e->ret);
}

/* Attaching fills the new domain; detaching its last user unfills it */
TEST_F(trace, attach_fill_detach_unfill)
{
	uint32_t stdev_id, hwpt_id, device_id;
	struct iommufd_event *e;

	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START);
	capture_reset(&self->cap);

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, &device_id);
	e = expect_events(IOMMUFD_EV_DEVICE_ATTACH, IOMMUFD_EV_PINNED_UPDATE);
	ASSERT_EQ(NPAGES, e[1].length);
	ASSERT_EQ(1, e[1].flags);

	test_ioctl_destroy(stdev_id);
	e = expect_events(IOMMUFD_EV_DEVICE_DETACH, IOMMUFD_EV_DOMAIN_UNMAP,
			  IOMMUFD_EV_PINNED_UPDATE);
	ASSERT_EQ(DOMAIN_UNMAP_UNFILL, e[1].code);
	ASSERT_EQ(MOCK_APERTURE_START, e[1].iova);
	ASSERT_EQ(BUFFER_SIZE, e[1].length);
	ASSERT_EQ(self->ioas_id, e[1].ioas_id);
	ASSERT_EQ(NPAGES, e[2].length);
	ASSERT_EQ(0, e[2].flags);
}

/*
 * A domain attach that fails while filling a later area unmaps the areas it
 * had filled: those flushes say "unwind". Inject a failure at every
 * allocation of the attach in turn until it succeeds.
 */
TEST_F(trace, attach_unwind_after_failed_fill)
{
	const uint64_t iova_a = MOCK_APERTURE_START;
	const uint64_t iova_b = MOCK_APERTURE_START + 256 * PAGE_SIZE;
	uint32_t stdev_id, hwpt_id, device_id;
	unsigned int nth, i, unwinds = 0;
	int nthfd, rc, armed;

	setup_fault_injection(_metadata);
	test_ioctl_ioas_map_fixed(buffer, 2 * PAGE_SIZE, iova_a);
	test_ioctl_ioas_map_fixed(buffer + 2 * PAGE_SIZE, 2 * PAGE_SIZE, iova_b);
	nthfd = fail_nth_open();
	ASSERT_NE(-1, nthfd);

	for (nth = 1; nth < 1000; nth++) {
		capture_reset(&self->cap);
		ASSERT_EQ(0, fail_nth_arm(nthfd, nth));
		rc = _test_cmd_mock_domain(self->fd, self->ioas_id, &stdev_id,
					   &hwpt_id, &device_id);
		/* Still armed: the attach has fewer than nth injection points */
		armed = fail_nth_disarm(nthfd);
		capture_collect(&self->cap);
		for (i = 0; i < self->cap.n; i++) {
			const struct iommufd_event *e = &self->cap.ev[i];

			/*
			 * A failure after the fill removes the whole domain
			 * again ("unfill"); only a failure inside the fill
			 * unwinds, and only the first area can precede it.
			 */
			if (e->type != IOMMUFD_EV_DOMAIN_UNMAP ||
			    e->code != DOMAIN_UNMAP_UNWIND)
				continue;
			ASSERT_EQ(self->ioas_id, e->ioas_id);
			ASSERT_EQ(iova_a, e->iova);
			ASSERT_EQ(2 * PAGE_SIZE, e->length);
			unwinds++;
		}
		/* Some failures are absorbed (fallbacks): undo a success */
		if (!rc)
			test_ioctl_destroy(stdev_id);
		if (armed) {
			ASSERT_EQ(0, rc);
			break;
		}
	}
	close(nthfd);
	ASSERT_LT(nth, 1000) TH_LOG("more injection points than expected");
	/* Some injection point lay between the two areas' fills */
	ASSERT_LT(0, unwinds);
}

TEST_F(trace, replace)
{
	uint32_t stdev_id, hwpt_id, device_id, hwpt2;
	struct iommufd_event *e;

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, &device_id);
	test_cmd_hwpt_alloc(device_id, self->ioas_id, 0, &hwpt2);
	capture_reset(&self->cap);

	test_cmd_mock_domain_replace(stdev_id, hwpt2);
	e = expect_events(IOMMUFD_EV_DEVICE_REPLACE);
	ASSERT_EQ(device_id, e->dev_id);
	ASSERT_EQ(hwpt_id, e->old_hwpt_id);
	ASSERT_EQ(hwpt2, e->hwpt_id);
	ASSERT_EQ(self->ioas_id, e->ioas_id);
	ASSERT_EQ(0, e->ret);

	/* Replacing with the current HWPT is a no-op, still reported */
	test_cmd_mock_domain_replace(stdev_id, hwpt2);
	e = expect_events(IOMMUFD_EV_DEVICE_REPLACE);
	ASSERT_EQ(hwpt2, e->old_hwpt_id);
	ASSERT_EQ(hwpt2, e->hwpt_id);

	/* An id that is no HWPT fails before any attach work: no event */
	test_err_mock_domain_replace(ENOENT, stdev_id, 99999);
	expect_events();
}

/* A PASID-capable mock device reports its width; attach is at the RID */
TEST_F(trace, pasid_capable_device)
{
	uint32_t stdev_id, hwpt_id, device_id;
	struct iommufd_event *e;
	uint8_t max_pasid = 0;

	test_cmd_mock_domain_flags(self->ioas_id, MOCK_FLAGS_DEVICE_PASID,
				   &stdev_id, &hwpt_id, &device_id);
	e = expect_events(IOMMUFD_EV_DEVICE_ATTACH);
	ASSERT_EQ(device_id, e->dev_id);
	ASSERT_EQ(0, e->pasid);
	test_cmd_get_hw_info_pasid(device_id, &max_pasid);
	ASSERT_EQ(MOCK_PASID_WIDTH, max_pasid);
}

TEST_F(trace, hwpt_invalidate)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_invalidate_selftest inv = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
	};
	uint32_t stdev_id, hwpt_id, device_id, parent, nested, num;
	struct iommufd_event *e;

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, &device_id);
	test_cmd_hwpt_alloc(device_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &parent);
	test_cmd_hwpt_alloc_nested(device_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	capture_reset(&self->cap);

	num = 1;
	test_cmd_hwpt_invalidate(nested, &inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv), &num);
	e = expect_events(IOMMUFD_EV_HWPT_INVALIDATE);
	ASSERT_EQ(nested, e->hwpt_id);
	ASSERT_EQ(self->ioas_id, e->ioas_id);	/* the parent's IOAS */
	ASSERT_EQ(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, e->code);
	ASSERT_EQ(1, e->count);
	ASSERT_EQ(1, e->done);
	ASSERT_EQ(0, e->ret);

	num = 1;
	test_err_hwpt_invalidate(EINVAL, nested, &inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
				 sizeof(inv), &num);
	e = expect_events(IOMMUFD_EV_HWPT_INVALIDATE);
	ASSERT_EQ(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID, e->code);
	ASSERT_EQ(-EINVAL, e->ret);
	ASSERT_EQ(0, e->done);
}

TEST_F(trace, dirty_tracking_and_read)
{
	uint32_t stdev_id, hwpt_id, device_id, hwpt;
	__u64 in[1] = { 0x5 }, out[1] = { 0 }, nr = 0;	/* pages 0 and 2 */
	struct iommufd_event *e;

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, &device_id);
	test_cmd_hwpt_alloc(device_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt);
	test_cmd_mock_domain_replace(stdev_id, hwpt);
	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START);
	capture_reset(&self->cap);

	test_cmd_set_dirty_tracking(hwpt, true);
	e = expect_events(IOMMUFD_EV_DIRTY_TRACKING);
	ASSERT_EQ(hwpt, e->hwpt_id);
	ASSERT_EQ(self->ioas_id, e->ioas_id);
	ASSERT_EQ(1, e->flags);
	ASSERT_EQ(0, e->ret);

	/* The mock tracks dirty state per IO page, half a CPU page */
	test_cmd_mock_domain_set_dirty(self->fd, hwpt, BUFFER_SIZE,
				       MOCK_APERTURE_START, PAGE_SIZE / 2, in,
				       &nr);
	ASSERT_EQ(2, nr);
	test_cmd_get_dirty_bitmap(self->fd, hwpt, BUFFER_SIZE,
				  MOCK_APERTURE_START, PAGE_SIZE / 2, out, 0);
	ASSERT_EQ(0x5, out[0]);
	e = expect_events(IOMMUFD_EV_DIRTY_READ);
	ASSERT_EQ(hwpt, e->hwpt_id);
	ASSERT_EQ(MOCK_APERTURE_START, e->iova);
	ASSERT_EQ(BUFFER_SIZE, e->length);
	ASSERT_EQ(PAGE_SIZE / 2, e->page_size);
	ASSERT_EQ(0, e->flags);
	ASSERT_EQ(2, e->done);		/* pages reported dirty */
	ASSERT_EQ(0, e->ret);

	/* Read again: the bits were cleared, nothing dirty */
	out[0] = 0;
	test_cmd_get_dirty_bitmap(self->fd, hwpt, BUFFER_SIZE,
				  MOCK_APERTURE_START, PAGE_SIZE / 2, out, 0);
	ASSERT_EQ(0, out[0]);
	e = expect_events(IOMMUFD_EV_DIRTY_READ);
	ASSERT_EQ(0, e->done);

	test_cmd_set_dirty_tracking(hwpt, false);
	e = expect_events(IOMMUFD_EV_DIRTY_TRACKING);
	ASSERT_EQ(0, e->flags);
}

/* The fault the tests below trigger */
/*
 * A context and each kind of object, created and destroyed: one record
 * each, naming the context by its boot-unique id and the object by its
 * id, the allocation flags and parents of HWPTs, the device's name.
 */
TEST_F(trace, lifecycle_events)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	uint32_t ioas, stdev, dev, auto_hwpt, parent, nested, fault_id;
	struct iommu_test_cmd pages = {
		.size = sizeof(pages),
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.access_pages = { .iova = MOCK_APERTURE_START,
				  .length = BUFFER_SIZE,
				  .uptr = (uintptr_t)buffer },
	};
	uint32_t access_id;
	int fd2, fault_fd;
	struct iommufd_event *e;
	__u64 ctx2, ctx;
	__u32 access;

	capture_stop(&self->cap);
	ASSERT_EQ(0, _capture_start(&self->cap, getpid(), 0, 0,
				    LIFECYCLE_MASK));

	/* A context of its own: open and release, with an id never 0 */
	fd2 = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, fd2);
	e = expect_events(IOMMUFD_EV_CTX_OPEN);
	ctx2 = e->ctx;
	ASSERT_NE(0, ctx2);
	ASSERT_EQ(0, close(fd2));
	e = expect_events(IOMMUFD_EV_CTX_RELEASE);
	ASSERT_EQ(ctx2, e->ctx);

	test_ioctl_ioas_alloc(&ioas);
	e = expect_events(IOMMUFD_EV_IOAS_ALLOC);
	ASSERT_EQ(ioas, e->ioas_id);
	ctx = e->ctx;
	/* Another context than the one released: ids are not reused */
	ASSERT_NE(0, ctx);
	ASSERT_NE(ctx2, ctx);

	/* A mock device: bound, then an automatic HWPT for its attach */
	test_cmd_mock_domain(ioas, &stdev, &auto_hwpt, &dev);
	e = expect_events(IOMMUFD_EV_DEVICE_BIND, IOMMUFD_EV_HWPT_ALLOC);
	ASSERT_EQ(ctx, e[0].ctx);
	ASSERT_EQ(dev, e[0].dev_id);
	ASSERT_EQ(0, strncmp(self->cap.device[0], "iommufd_mock", 12))
		TH_LOG("device '%.32s'", self->cap.device[0]);
	ASSERT_EQ(ctx, e[1].ctx);
	ASSERT_EQ(auto_hwpt, e[1].hwpt_id);
	ASSERT_EQ(IOMMUFD_OBJECT_HWPT_PAGING, e[1].object_kind);
	ASSERT_EQ(ioas, e[1].ioas_id);
	ASSERT_EQ(dev, e[1].dev_id);
	ASSERT_EQ(1, e[1].auto_domain);
	ASSERT_EQ(0, e[1].flags);
	ASSERT_EQ(0, e[1].fault_id);
	ASSERT_EQ(0, e[1].parent_hwpt_id);

	test_cmd_hwpt_alloc(dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT |
			    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &parent);
	e = expect_events(IOMMUFD_EV_HWPT_ALLOC);
	ASSERT_EQ(parent, e->hwpt_id);
	ASSERT_EQ(IOMMUFD_OBJECT_HWPT_PAGING, e->object_kind);
	ASSERT_EQ(IOMMU_HWPT_ALLOC_NEST_PARENT |
		  IOMMU_HWPT_ALLOC_DIRTY_TRACKING, e->flags);
	ASSERT_EQ(0, e->auto_domain);
	ASSERT_EQ(ioas, e->ioas_id);

	test_ioctl_fault_alloc(&fault_id, (uint32_t *)&fault_fd);
	e = expect_events(IOMMUFD_EV_FAULT_ALLOC);
	ASSERT_EQ(fault_id, e->fault_id);
	ASSERT_EQ(ctx, e->ctx);

	test_cmd_hwpt_alloc_iopf(dev, parent, fault_id,
				 IOMMU_HWPT_FAULT_ID_VALID, &nested,
				 IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data));
	e = expect_events(IOMMUFD_EV_HWPT_ALLOC);
	ASSERT_EQ(nested, e->hwpt_id);
	ASSERT_EQ(IOMMUFD_OBJECT_HWPT_NESTED, e->object_kind);
	ASSERT_EQ(parent, e->parent_hwpt_id);
	ASSERT_EQ(ioas, e->ioas_id);	/* the parent's */
	ASSERT_EQ(fault_id, e->fault_id);
	ASSERT_EQ(IOMMU_HWPT_FAULT_ID_VALID, e->flags);
	ASSERT_EQ(dev, e->dev_id);

	/* An emulated device's access: pins and unpins name it and the IOAS */
	test_ioctl_ioas_map_fixed_id(ioas, buffer, BUFFER_SIZE,
				     MOCK_APERTURE_START);
	test_cmd_create_access(ioas, &access_id,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	e = expect_events(IOMMUFD_EV_ACCESS_CREATE);
	access = e->access_id;
	ASSERT_NE(0, access);
	pages.id = access_id;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_TEST_CMD, &pages));
	test_cmd_destroy_access_pages(access_id,
				      pages.access_pages.out_access_pages_id);
	e = expect_events(IOMMUFD_EV_ACCESS_PIN, IOMMUFD_EV_ACCESS_UNPIN);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(access, e[i].access_id);
		ASSERT_EQ(ioas, e[i].ioas_id);
		ASSERT_EQ(MOCK_APERTURE_START, e[i].iova);
		ASSERT_EQ(BUFFER_SIZE, e[i].length);
		ASSERT_EQ(0, e[i].ret);
	}
	test_cmd_destroy_access(access_id);
	e = expect_events(IOMMUFD_EV_OBJECT_DESTROY);
	ASSERT_EQ(IOMMUFD_OBJECT_ACCESS, e->object_kind);
	ASSERT_EQ(access, e->object_id);

	/* Destroys: each object once, by kind and id */
	test_ioctl_destroy(nested);
	e = expect_events(IOMMUFD_EV_OBJECT_DESTROY);
	ASSERT_EQ(IOMMUFD_OBJECT_HWPT_NESTED, e->object_kind);
	ASSERT_EQ(nested, e->object_id);
	ASSERT_EQ(ctx, e->ctx);
	test_ioctl_destroy(parent);
	e = expect_events(IOMMUFD_EV_OBJECT_DESTROY);
	ASSERT_EQ(IOMMUFD_OBJECT_HWPT_PAGING, e->object_kind);
	ASSERT_EQ(parent, e->object_id);
	ASSERT_EQ(0, close(fault_fd));
	test_ioctl_destroy(fault_id);
	e = expect_events(IOMMUFD_EV_OBJECT_DESTROY);
	ASSERT_EQ(IOMMUFD_OBJECT_FAULT, e->object_kind);
	ASSERT_EQ(fault_id, e->object_id);
	/* The mock device: its automatic HWPT, the device, the mock itself */
	test_ioctl_destroy(stdev);
	e = expect_events(IOMMUFD_EV_OBJECT_DESTROY, IOMMUFD_EV_OBJECT_DESTROY,
			  IOMMUFD_EV_OBJECT_DESTROY);
	ASSERT_EQ(IOMMUFD_OBJECT_HWPT_PAGING, e[0].object_kind);
	ASSERT_EQ(auto_hwpt, e[0].object_id);
	ASSERT_EQ(IOMMUFD_OBJECT_DEVICE, e[1].object_kind);
	ASSERT_EQ(dev, e[1].object_id);
	ASSERT_EQ(dev, e[1].dev_id);
	ASSERT_EQ(IOMMUFD_OBJECT_OTHER, e[2].object_kind);
	ASSERT_EQ(stdev, e[2].object_id);
	test_ioctl_destroy(ioas);
	e = expect_events(IOMMUFD_EV_OBJECT_DESTROY);
	ASSERT_EQ(IOMMUFD_OBJECT_IOAS, e->object_kind);
	ASSERT_EQ(ioas, e->object_id);
	ASSERT_EQ(ioas, e->ioas_id);
}

static int trigger_test_fault(int fd, uint32_t device_id)
{
	return trigger_iopf_group(fd, device_id, 0x1, 0x2, 0xdeadb000);
}

TEST_F(trace, fault_report_and_respond)
{
	uint32_t stdev_id, device_id, parent, iopf_hwpt, fault_id;
	struct iommu_hwpt_page_response resp = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	struct iommu_hwpt_pgfault pf;
	struct iommufd_event *e;
	__u64 queued;
	int fault_fd;

	iopf_setup(_metadata, self->fd, self->ioas_id, &stdev_id, &device_id,
		   &parent, &iopf_hwpt, &fault_id, &fault_fd);
	capture_reset(&self->cap);

	ASSERT_EQ(0, trigger_test_fault(self->fd, device_id));
	e = expect_events(IOMMUFD_EV_FAULT_REPORT);
	ASSERT_EQ(fault_id, e->fault_id);
	ASSERT_EQ(iopf_hwpt, e->hwpt_id);
	ASSERT_EQ(device_id, e->dev_id);
	ASSERT_EQ(self->ioas_id, e->ioas_id);
	ASSERT_EQ(0x1, e->pasid);
	ASSERT_EQ(0x2, e->grpid);
	ASSERT_EQ(IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE, e->perm);
	ASSERT_EQ(0xdeadb000, e->iova);
	ASSERT_EQ(1, e->count);
	ASSERT_EQ(IOMMU_PGFAULT_FLAGS_PASID_VALID |
		  IOMMU_PGFAULT_FLAGS_LAST_PAGE, e->flags);

	ASSERT_EQ(sizeof(pf), read(fault_fd, &pf, sizeof(pf)));
	e = expect_events(IOMMUFD_EV_FAULT_READ);
	ASSERT_EQ(fault_id, e->fault_id);
	ASSERT_EQ(device_id, e->dev_id);
	ASSERT_EQ(0x1, e->pasid);
	ASSERT_EQ(0x2, e->grpid);
	ASSERT_EQ(0xdeadb000, e->iova);
	ASSERT_EQ(1, e->count);
	ASSERT_EQ(pf.cookie, e->cookie);
	ASSERT_EQ(getpid(), e->tgid);	/* the reader */
	ASSERT_NE(0, e->queued_ns);	/* paired with its report */
	queued = e->queued_ns;

	resp.cookie = pf.cookie;
	ASSERT_EQ(sizeof(resp), write(fault_fd, &resp, sizeof(resp)));
	e = expect_events(IOMMUFD_EV_FAULT_RESPOND);
	ASSERT_EQ(fault_id, e->fault_id);
	ASSERT_EQ(device_id, e->dev_id);
	ASSERT_EQ(0x1, e->pasid);
	ASSERT_EQ(0x2, e->grpid);
	ASSERT_EQ(0xdeadb000, e->iova);
	ASSERT_EQ(pf.cookie, e->cookie);
	ASSERT_EQ(IOMMUFD_PAGE_RESP_SUCCESS, e->code);
	/* The wait since the report, split at the read */
	ASSERT_EQ(queued, e->queued_ns);
	ASSERT_NE(0, e->handled_ns);
	ASSERT_EQ(e->duration_ns, e->queued_ns + e->handled_ns);

	/* A response to a cookie nobody holds fails: no event */
	EXPECT_ERRNO(EINVAL, write(fault_fd, &resp, sizeof(resp)));
	expect_events();
	close(fault_fd);
}

/*
 * A group is read once, whole: a read too small for it leaves it queued
 * and traces nothing; the read that takes it traces it once.
 */
TEST_F(trace, fault_read_once_per_group)
{
	uint32_t stdev_id, device_id, parent, iopf_hwpt, fault_id;
	struct iommu_hwpt_page_response resp = {
		.code = IOMMUFD_PAGE_RESP_INVALID,
	};
	struct iommu_hwpt_pgfault pf[3];
	struct iommufd_event *e;
	int fault_fd;

	iopf_setup(_metadata, self->fd, self->ioas_id, &stdev_id, &device_id,
		   &parent, &iopf_hwpt, &fault_id, &fault_fd);
	ASSERT_EQ(0, trigger_iopf(self->fd, device_id, 0x1, 0x7, 0xbeef0000,
				  IOMMU_PGFAULT_PERM_READ, 3));
	capture_reset(&self->cap);

	EXPECT_ERRNO(EINVAL, read(fault_fd, pf, 2 * sizeof(pf[0])));
	expect_events();
	ASSERT_EQ(sizeof(pf), read(fault_fd, pf, sizeof(pf)));
	e = expect_events(IOMMUFD_EV_FAULT_READ);
	ASSERT_EQ(3, e->count);
	ASSERT_EQ(0x7, e->grpid);
	ASSERT_EQ(pf[2].addr, e->iova);	/* the last request's, as reported */
	ASSERT_EQ(pf[0].cookie, e->cookie);
	ASSERT_NE(0, e->queued_ns);
	/* Nothing left to read: nothing read, nothing traced */
	ASSERT_EQ(0, read(fault_fd, pf, sizeof(pf)));
	expect_events();

	resp.cookie = pf[0].cookie;
	ASSERT_EQ(sizeof(resp), write(fault_fd, &resp, sizeof(resp)));
	e = expect_events(IOMMUFD_EV_FAULT_RESPOND);
	ASSERT_EQ(IOMMUFD_PAGE_RESP_INVALID, e->code);
	ASSERT_EQ(e->duration_ns, e->queued_ns + e->handled_ns);
	close(fault_fd);
}

/* Faults still pending when the device leaves the HWPT are answered */
TEST_F(trace, fault_auto_respond_on_replace)
{
	uint32_t stdev_id, device_id, parent, iopf_hwpt, fault_id;
	struct iommu_hwpt_pgfault pf;
	struct iommufd_event *e;
	int fault_fd;

	iopf_setup(_metadata, self->fd, self->ioas_id, &stdev_id, &device_id,
		   &parent, &iopf_hwpt, &fault_id, &fault_fd);
	/* One group read by userspace, one still queued */
	ASSERT_EQ(0, trigger_test_fault(self->fd, device_id));
	ASSERT_EQ(sizeof(pf), read(fault_fd, &pf, sizeof(pf)));
	ASSERT_EQ(0, trigger_test_fault(self->fd, device_id));
	capture_reset(&self->cap);

	test_cmd_mock_domain_replace(stdev_id, parent);
	e = expect_events(IOMMUFD_EV_FAULT_AUTO_RESPOND,
			  IOMMUFD_EV_DEVICE_REPLACE);
	ASSERT_EQ(fault_id, e[0].fault_id);
	ASSERT_EQ(device_id, e[0].dev_id);
	ASSERT_EQ(2, e[0].count);
	ASSERT_EQ(AUTO_RESP_DETACH, e[0].code);
	ASSERT_EQ(iopf_hwpt, e[1].old_hwpt_id);
	ASSERT_EQ(parent, e[1].hwpt_id);
	close(fault_fd);
}

/*
 * Report a DMA fault of a mock device to its domain; @result gets what the
 * domain's fault handler answered.
 */
static int _test_cmd_dma_fault(int fd, __u32 dev_id, __u64 iova, __u32 flags,
			       int *result)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DMA_FAULT,
		.dma_fault = { .dev_id = dev_id, .flags = flags, .iova = iova },
	};
	int rc = ioctl(fd, IOMMU_TEST_CMD, &cmd);

	if (result)
		*result = cmd.dma_fault.out_result;
	return rc;
}
#define test_cmd_dma_fault(dev_id, iova, flags) \
	ASSERT_EQ(0, _test_cmd_dma_fault(self->fd, dev_id, iova, flags, NULL))
#define test_err_dma_fault(_errno, dev_id, iova, flags)                     \
	EXPECT_ERRNO(_errno, _test_cmd_dma_fault(self->fd, dev_id, iova, flags, NULL))

/* The one dma_fault record expected now, checked against its device */
static const struct iommufd_dma_fault_detail *
expect_dma_fault(struct __test_metadata *_metadata, struct trace_capture *cap,
		 __u32 dev_id, __u32 hwpt_id, __u32 ioas_id, __u64 iova,
		 __u32 flags)
{
	const struct iommufd_event *e;
	const __u32 want = IOMMUFD_EV_DMA_FAULT;

	e = _expect_events(_metadata, cap, &want, 1);
	ASSERT_NE(NULL, e);
	ASSERT_EQ(dev_id, e->dev_id);
	ASSERT_EQ(hwpt_id, e->hwpt_id);
	ASSERT_EQ(ioas_id, e->ioas_id);
	ASSERT_EQ(iova, e->iova);
	ASSERT_EQ(flags, e->flags);
	/* The mock has no VT-d record to decode */
	ASSERT_EQ(0, e->code);
	ASSERT_EQ(0, cap->fault[0].source_id);
	ASSERT_EQ(0, cap->fault[0].reason[0]);
	ASSERT_EQ(0, strncmp(cap->fault[0].device, "iommufd_mock",
			     strlen("iommufd_mock")))
		TH_LOG("device '%.32s'", cap->fault[0].device);
	return &cap->fault[0];
}

/*
 * Unrecoverable DMA faults of a mock device, reported to its domain as an
 * IOMMU driver does: attributed to the device, HWPT, IOAS and owner; a fault
 * in a range unmapped a moment ago says so, with the range and who unmapped
 * it; one never mapped does not.
 */
TEST_F(trace, dma_fault_attribution_and_after_unmap)
{
	const __u64 other = MOCK_APERTURE_START + 16 * BUFFER_SIZE;
	const __u64 never = MOCK_APERTURE_START + (1ULL << 30);
	const struct iommufd_dma_fault_detail *f;
	uint32_t stdev_id, hwpt_id, device_id;

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, &device_id);
	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START);
	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, other);
	/* Unmap the first range, then the second: the newest does not hide it */
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, BUFFER_SIZE);
	test_ioctl_ioas_unmap(other, BUFFER_SIZE);
	capture_reset(&self->cap);

	test_cmd_dma_fault(device_id, MOCK_APERTURE_START + PAGE_SIZE + 0x10,
			   MOCK_DMA_FAULT_WRITE);
	f = expect_dma_fault(_metadata, &self->cap, device_id, hwpt_id,
			     self->ioas_id, MOCK_APERTURE_START + PAGE_SIZE + 0x10,
			     IOMMUFD_DMA_FAULT_WRITE | IOMMUFD_DMA_FAULT_ATTRIBUTED |
			     IOMMUFD_DMA_FAULT_AFTER_UNMAP);
	ASSERT_EQ(MOCK_APERTURE_START, f->unmap_iova);
	ASSERT_EQ(BUFFER_SIZE, f->unmap_length);
	ASSERT_EQ(getpid(), f->unmap_tgid);
	ASSERT_EQ(0, strncmp(f->unmap_comm, "trace_events", sizeof(f->unmap_comm)));
	ASSERT_LT(0, f->unmap_age_ns);
	ASSERT_GT(60ULL * 1000000000, f->unmap_age_ns);

	test_cmd_dma_fault(device_id, other + BUFFER_SIZE - 1, 0);
	f = expect_dma_fault(_metadata, &self->cap, device_id, hwpt_id,
			     self->ioas_id, other + BUFFER_SIZE - 1,
			     IOMMUFD_DMA_FAULT_ATTRIBUTED |
			     IOMMUFD_DMA_FAULT_AFTER_UNMAP);
	ASSERT_EQ(other, f->unmap_iova);
	ASSERT_EQ(BUFFER_SIZE, f->unmap_length);

	/* Just past the range, and never mapped: no diagnosis */
	test_cmd_dma_fault(device_id, other + BUFFER_SIZE, 0);
	f = expect_dma_fault(_metadata, &self->cap, device_id, hwpt_id,
			     self->ioas_id, other + BUFFER_SIZE,
			     IOMMUFD_DMA_FAULT_ATTRIBUTED);
	ASSERT_EQ(0, f->unmap_length);
	test_cmd_dma_fault(device_id, never, MOCK_DMA_FAULT_WRITE);
	expect_dma_fault(_metadata, &self->cap, device_id, hwpt_id,
			 self->ioas_id, never,
			 IOMMUFD_DMA_FAULT_WRITE | IOMMUFD_DMA_FAULT_ATTRIBUTED);

	/* Bad input changes nothing and emits nothing */
	test_err_dma_fault(EOPNOTSUPP, device_id, never, 1 << 2);
	test_err_dma_fault(ENOENT, hwpt_id, never, 0);
	expect_events();
}

/*
 * IOAS ids are per context: another VMM's IOAS 1 unmapping an IOVA says
 * nothing about a fault at that IOVA in this context's IOAS 1, which never
 * mapped it. Only this context's own unmap makes it "DMA after unmap".
 */
TEST_F(trace, dma_fault_after_unmap_is_per_context)
{
	uint32_t stdev_id, hwpt_id, device_id;
	int ready[2], go[2], status;
	const struct iommufd_dma_fault_detail *f;
	pid_t other;
	char c = 1;

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, &device_id);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	other = fork();
	ASSERT_NE(-1, other);
	if (!other) {
		uint32_t ioas, sdev, hwpt, dev;
		__u64 iova = MOCK_APERTURE_START;
		int fd = open("/dev/iommu", O_RDWR);

		c = fd < 0 || _test_ioctl_ioas_alloc(fd, &ioas) ||
		    ioas != self->ioas_id ||
		    _test_cmd_mock_domain(fd, ioas, &sdev, &hwpt, &dev) ||
		    _test_ioctl_ioas_map(fd, ioas, buffer, BUFFER_SIZE, &iova,
					 MAP_FLAGS_FIXED_RW) ||
		    _test_ioctl_ioas_unmap(fd, ioas, iova, BUFFER_SIZE, NULL);
		/* Stay, and keep the IOAS, until the fault is checked */
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, c);

	capture_reset(&self->cap);
	test_cmd_dma_fault(device_id, MOCK_APERTURE_START, 0);
	f = expect_dma_fault(_metadata, &self->cap, device_id, hwpt_id,
			     self->ioas_id, MOCK_APERTURE_START,
			     IOMMUFD_DMA_FAULT_ATTRIBUTED);
	ASSERT_EQ(0, f->unmap_tgid);

	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START);
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, BUFFER_SIZE);
	capture_reset(&self->cap);
	test_cmd_dma_fault(device_id, MOCK_APERTURE_START, 0);
	f = expect_dma_fault(_metadata, &self->cap, device_id, hwpt_id,
			     self->ioas_id, MOCK_APERTURE_START,
			     IOMMUFD_DMA_FAULT_ATTRIBUTED |
			     IOMMUFD_DMA_FAULT_AFTER_UNMAP);
	ASSERT_EQ(getpid(), f->unmap_tgid);

	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(other, waitpid(other, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* Write @val to the tracefs file @path; 0 or -errno */
static int tracefs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

#define TRACEFS "/sys/kernel/tracing"

/* Whether the ftrace buffer holds a line containing @want; logs it if not */
static void expect_trace_line(struct __test_metadata *_metadata,
			      const char *want)
{
	static char text[16384];
	ssize_t len;
	int fd;

	fd = open(TRACEFS "/trace", O_RDONLY);
	ASSERT_LE(0, fd);
	len = read(fd, text, sizeof(text) - 1);
	close(fd);
	ASSERT_LT(0, len);
	text[len] = 0;
	ASSERT_NE(NULL, strstr(text, want))
		TH_LOG("no line '%s' in:\n%s", want, text);
}

/*
 * iommufd's fault handler leaves every fault to the driver's own log: it
 * answers -ENOSYS, the one value ARM SMMU prints its log for. A driver that
 * cannot tell the device (ARM SMMU context faults) reports NULL: the fault
 * is then attributed through the HWPT, to its context's owner, with no
 * device, in the BPF record and in the ftrace text alike.
 */
TEST_F(trace, dma_fault_unhandled_and_without_device)
{
	const __u64 never = MOCK_APERTURE_START + (1ULL << 30);
	uint32_t stdev_id, hwpt_id, device_id;
	const struct iommufd_event *e;
	char want[160];
	int result = 0;

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, &device_id);
	capture_reset(&self->cap);

	ASSERT_EQ(0, _test_cmd_dma_fault(self->fd, device_id, never, 0, &result));
	ASSERT_EQ(-ENOSYS, result);
	expect_dma_fault(_metadata, &self->cap, device_id, hwpt_id,
			 self->ioas_id, never, IOMMUFD_DMA_FAULT_ATTRIBUTED);

	/* The ftrace text too: the event's own NULL handling runs */
	ASSERT_EQ(0, tracefs_write(TRACEFS "/trace", ""));
	ASSERT_EQ(0, tracefs_write(TRACEFS "/events/iommufd/iommufd_dma_fault/enable", "1"));
	result = 0;
	ASSERT_EQ(0, _test_cmd_dma_fault(self->fd, device_id, never + 4096,
					 MOCK_DMA_FAULT_NO_DEVICE | MOCK_DMA_FAULT_WRITE,
					 &result));
	ASSERT_EQ(0, tracefs_write(TRACEFS "/events/iommufd/iommufd_dma_fault/enable", "0"));
	ASSERT_EQ(-ENOSYS, result);

	capture_collect(&self->cap);
	ASSERT_EQ(1, self->cap.n);
	e = &self->cap.ev[0];
	ASSERT_EQ(IOMMUFD_EV_DMA_FAULT, e->type);
	ASSERT_EQ(getpid(), e->owner_tgid);
	ASSERT_EQ(0, e->dev_id);
	ASSERT_EQ(hwpt_id, e->hwpt_id);
	ASSERT_EQ(self->ioas_id, e->ioas_id);
	ASSERT_EQ(never + 4096, e->iova);
	ASSERT_EQ(IOMMUFD_DMA_FAULT_WRITE | IOMMUFD_DMA_FAULT_ATTRIBUTED, e->flags);
	ASSERT_STREQ("(none)", self->cap.fault[0].device);
	self->cap.n = 0;

	snprintf(want, sizeof(want),
		 "iommufd_dma_fault: tgid=%d dev=0 ((none)) hwpt=%u ioas=%u iova=0x%llx write",
		 getpid(), hwpt_id, self->ioas_id, (unsigned long long)never + 4096);
	expect_trace_line(_metadata, want);
}

/*
 * A destroyed IOAS takes its unmaps with it. The next IOAS of the context
 * gets the same id, and often the same kernel memory: a fault in it at an
 * IOVA the old one unmapped is not "DMA after unmap".
 */
TEST_F(trace, dma_fault_after_unmap_forgets_a_destroyed_ioas)
{
	uint32_t ioas, reused, stdev_id, hwpt_id, device_id;

	test_ioctl_ioas_alloc(&ioas);
	test_cmd_mock_domain(ioas, &stdev_id, &hwpt_id, &device_id);
	self->ioas_id = ioas;
	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START);
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, BUFFER_SIZE);
	/* Remembered: the diagnosis is made while the IOAS lives */
	capture_reset(&self->cap);
	test_cmd_dma_fault(device_id, MOCK_APERTURE_START, 0);
	expect_dma_fault(_metadata, &self->cap, device_id, hwpt_id, ioas,
			 MOCK_APERTURE_START, IOMMUFD_DMA_FAULT_ATTRIBUTED |
			 IOMMUFD_DMA_FAULT_AFTER_UNMAP);

	test_ioctl_destroy(stdev_id);
	test_ioctl_destroy(ioas);
	test_ioctl_ioas_alloc(&reused);
	ASSERT_EQ(ioas, reused);
	test_cmd_mock_domain(reused, &stdev_id, &hwpt_id, &device_id);
	capture_reset(&self->cap);
	test_cmd_dma_fault(device_id, MOCK_APERTURE_START, 0);
	expect_dma_fault(_metadata, &self->cap, device_id, hwpt_id, reused,
			 MOCK_APERTURE_START, IOMMUFD_DMA_FAULT_ATTRIBUTED);
}

/* The memory is bounded: 32 unmaps later, the first one is forgotten */
TEST_F(trace, dma_fault_after_unmap_is_bounded)
{
	uint32_t stdev_id, hwpt_id, device_id;
	unsigned int i;

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, &device_id);
	for (i = 0; i <= 32; i++) {
		__u64 iova = MOCK_APERTURE_START + i * 2 * BUFFER_SIZE;

		test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, iova);
		test_ioctl_ioas_unmap(iova, BUFFER_SIZE);
	}
	capture_reset(&self->cap);

	/* The second unmap is the oldest of the last 32 */
	test_cmd_dma_fault(device_id, MOCK_APERTURE_START + 2 * BUFFER_SIZE, 0);
	expect_dma_fault(_metadata, &self->cap, device_id, hwpt_id,
			 self->ioas_id, MOCK_APERTURE_START + 2 * BUFFER_SIZE,
			 IOMMUFD_DMA_FAULT_ATTRIBUTED |
			 IOMMUFD_DMA_FAULT_AFTER_UNMAP);
	test_cmd_dma_fault(device_id, MOCK_APERTURE_START, 0);
	expect_dma_fault(_metadata, &self->cap, device_id, hwpt_id,
			 self->ioas_id, MOCK_APERTURE_START,
			 IOMMUFD_DMA_FAULT_ATTRIBUTED);
}

/*
 * The owner of a context is the process that last issued an ioctl on it,
 * and 0 once that process is gone, never a process that reuses its pid.
 * Here a child opens the context and sets it up (as a management daemon
 * would), hands the fds to this process and exits; a new process is made
 * to take the child's pid (as pids wrap on a busy host). A fault answered now (a write to the fault fd,
 * not an ioctl) belongs to a dead owner: 0, in the BPF record and in the
 * ftrace text (the kernel's iommufd_ctx_owner_tgid()). This process' first
 * ioctl then makes it the owner.
 */
struct handover {
	uint32_t ioas_id, device_id, fault_id;
};

/* The child's side: set up a context with a pending fault, pass it on */
static int open_and_hand_over(int sock, void *buf, size_t len)
{
	uint32_t stdev_id, hwpt_id, parent, iopf_hwpt, ffd;
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = {};
	struct handover h = {};
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	__u64 iova = MOCK_APERTURE_START;
	int fd = open("/dev/iommu", O_RDWR), fds[2];

	if (fd < 0 || _test_ioctl_ioas_alloc(fd, &h.ioas_id) ||
	    _test_cmd_mock_domain(fd, h.ioas_id, &stdev_id, &hwpt_id,
				  &h.device_id) ||
	    _test_cmd_hwpt_alloc(fd, h.device_id, h.ioas_id, 0,
				 IOMMU_HWPT_ALLOC_NEST_PARENT, &parent,
				 IOMMU_HWPT_DATA_NONE, NULL, 0) ||
	    _test_ioctl_fault_alloc(fd, &h.fault_id, &ffd) ||
	    _test_cmd_hwpt_alloc(fd, h.device_id, parent, h.fault_id,
				 IOMMU_HWPT_FAULT_ID_VALID, &iopf_hwpt,
				 IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)) ||
	    _test_cmd_mock_domain_replace(fd, stdev_id, iopf_hwpt, NULL) ||
	    _test_ioctl_ioas_map(fd, h.ioas_id, buf, len, &iova,
				 MAP_FLAGS_FIXED_RW) ||
	    trigger_iopf_group(fd, h.device_id, 0x1, 0x2, 0xdeadb000))
		return 1;
	fds[0] = fd;
	fds[1] = ffd;
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
	return sendmsg(sock, &msg, 0) == sizeof(h) ? 0 : 1;
}

/* A process that sleeps under @pid (clone3's set_tid); or -1 and errno */
static pid_t fork_as(pid_t pid)
{
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uintptr_t)&pid,
		.set_tid_size = 1,
	};
	long c = syscall(SYS_clone3, &args, sizeof(args));

	if (!c) {
		pause();
		_exit(0);
	}
	return c;
}

TEST(owner_is_the_last_user_and_dies_with_it)
{
	struct iommu_hwpt_page_response resp = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = {}, want[128];
	const struct iommufd_event *e;
	struct iommu_hwpt_pgfault pf;
	struct trace_capture cap;
	struct handover h;
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	int sock[2], fds[2], status;
	pid_t opener, impostor;
	__u64 iova;

	alloc_buffer(_metadata, 1);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sock));
	ASSERT_EQ(0, _capture_start(&cap, 0, 0, 0,
				    1u << IOMMUFD_EV_IOAS_MAP |
				    1u << IOMMUFD_EV_FAULT_REPORT |
				    1u << IOMMUFD_EV_FAULT_RESPOND));
	ASSERT_EQ(0, tracefs_write(TRACEFS "/trace", ""));
	ASSERT_EQ(0, tracefs_write(TRACEFS "/events/iommufd/iommufd_fault_respond/enable", "1"));

	opener = fork();
	ASSERT_NE(-1, opener);
	if (!opener)
		_exit(open_and_hand_over(sock[1], buffer, BUFFER_SIZE));
	ASSERT_EQ(sizeof(h), recvmsg(sock[0], &msg, 0));
	ASSERT_NE(NULL, CMSG_FIRSTHDR(&msg));
	memcpy(fds, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(fds));
	ASSERT_EQ(opener, waitpid(opener, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	impostor = fork_as(opener);
	ASSERT_EQ(opener, impostor)
		TH_LOG("could not reuse pid %d: %s", opener, strerror(errno));

	/* Answer the opener's fault: no ioctl, so the owner is still it */
	ASSERT_EQ(sizeof(pf), read(fds[1], &pf, sizeof(pf)));
	resp.cookie = pf.cookie;
	ASSERT_EQ(sizeof(resp), write(fds[1], &resp, sizeof(resp)));
	ASSERT_EQ(0, tracefs_write(TRACEFS "/events/iommufd/iommufd_fault_respond/enable", "0"));
	/* This process' first ioctl makes it the owner */
	iova = MOCK_APERTURE_START + BUFFER_SIZE;
	ASSERT_EQ(0, _test_ioctl_ioas_map(fds[0], h.ioas_id, buffer,
					  BUFFER_SIZE, &iova,
					  MAP_FLAGS_FIXED_RW));
	kill(impostor, SIGKILL);
	waitpid(impostor, NULL, 0);

	capture_collect(&cap);
	ASSERT_EQ(4, cap.n);
	e = &cap.ev[0];	/* the opener's map and fault, its own */
	ASSERT_EQ(IOMMUFD_EV_IOAS_MAP, e->type);
	ASSERT_EQ(opener, e->owner_tgid);
	ASSERT_EQ(opener, e->tgid);
	e = &cap.ev[1];
	ASSERT_EQ(IOMMUFD_EV_FAULT_REPORT, e->type);
	ASSERT_EQ(opener, e->owner_tgid);
	e = &cap.ev[2];	/* answered here: the owner is gone, not the impostor */
	ASSERT_EQ(IOMMUFD_EV_FAULT_RESPOND, e->type);
	ASSERT_EQ(0, e->owner_tgid);
	ASSERT_EQ(getpid(), e->tgid);
	e = &cap.ev[3];
	ASSERT_EQ(IOMMUFD_EV_IOAS_MAP, e->type);
	ASSERT_EQ(getpid(), e->owner_tgid);
	ASSERT_EQ(getpid(), e->tgid);
	capture_stop(&cap);

	snprintf(want, sizeof(want), "iommufd_fault_respond: tgid=0 fault=%u dev=%u",
		 h.fault_id, h.device_id);
	expect_trace_line(_metadata, want);
	close(fds[1]);
	close(fds[0]);
	close(sock[0]);
	close(sock[1]);
	munmap(buffer, BUFFER_SIZE);
}

TEST(filter_by_owner)
{
	struct trace_capture cap;
	int status;
	pid_t child;

	ASSERT_EQ(0, _capture_start(&cap, getpid(), 0, 0, ACTIVITY_MASK));
	child = fork();
	ASSERT_NE(-1, child);
	if (!child) {
		size_t len = 4096;
		void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = MAP_FLAGS_FIXED_RW,
			.user_va = (uintptr_t)buf,
			.length = len,
			.iova = MOCK_APERTURE_START,
		};
		int fd = open("/dev/iommu", O_RDWR);

		if (fd < 0 || ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
			_exit(1);
		map.ioas_id = alloc.out_ioas_id;
		_exit(ioctl(fd, IOMMU_IOAS_MAP, &map) ? 1 : 0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));

	capture_collect(&cap);
	ASSERT_EQ(0, cap.n);
	/* open, IOAS alloc, map, IOAS destroy and release at exit */
	ASSERT_EQ(5, capture_counter(&cap, IOMMUFD_CNT_PRODUCED));
	ASSERT_EQ(5, capture_counter(&cap, IOMMUFD_CNT_FILTERED));
	ASSERT_EQ(0, capture_counter(&cap, IOMMUFD_CNT_DROPPED));
	capture_stop(&cap);
}

/* The event mask selects types; everything is still counted */
TEST(filter_by_event_mask)
{
	struct trace_capture cap;
	uint32_t ioas_id;
	int fd;

	alloc_buffer(_metadata, 1);
	ASSERT_EQ(0, _capture_start(&cap, getpid(), 0, 0,
				    1u << IOMMUFD_EV_IOAS_UNMAP));
	fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, fd);
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(fd, &ioas_id));
	ASSERT_EQ(0, _test_ioctl_ioas_map(fd, ioas_id, buffer, BUFFER_SIZE,
					  &(__u64){ MOCK_APERTURE_START },
					  MAP_FLAGS_FIXED_RW));
	ASSERT_EQ(0, _test_ioctl_ioas_unmap(fd, ioas_id, MOCK_APERTURE_START,
					    BUFFER_SIZE, NULL));
	capture_collect(&cap);
	ASSERT_EQ(1, cap.n);
	ASSERT_EQ(IOMMUFD_EV_IOAS_UNMAP, cap.ev[0].type);
	ASSERT_EQ(1, cap.ev[0].seq);
	/* ctx_open, ioas_alloc and the map were seen and left out */
	ASSERT_EQ(4, capture_counter(&cap, IOMMUFD_CNT_PRODUCED));
	ASSERT_EQ(3, capture_counter(&cap, IOMMUFD_CNT_FILTERED));
	close(fd);
	capture_stop(&cap);
	munmap(buffer, BUFFER_SIZE);
}

/* IOAS and device filters keep only the events that carry that id */
TEST(filter_by_ioas_and_device)
{
	struct trace_capture cap;
	uint32_t ioas1, ioas2, stdev1, hwpt1, dev1, stdev2, hwpt2, dev2;
	unsigned int i;
	int fd;

	alloc_buffer(_metadata, 1);
	fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, fd);
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(fd, &ioas1));
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(fd, &ioas2));

	/* By IOAS: maps on both, only the second's come through */
	ASSERT_EQ(0, _capture_start(&cap, getpid(), ioas2, 0, ACTIVITY_MASK));
	ASSERT_EQ(0, _test_ioctl_ioas_map(fd, ioas1, buffer, BUFFER_SIZE,
					  &(__u64){ MOCK_APERTURE_START },
					  MAP_FLAGS_FIXED_RW));
	ASSERT_EQ(0, _test_ioctl_ioas_map(fd, ioas2, buffer, BUFFER_SIZE,
					  &(__u64){ MOCK_APERTURE_START },
					  MAP_FLAGS_FIXED_RW));
	capture_collect(&cap);
	ASSERT_EQ(1, cap.n);
	ASSERT_EQ(IOMMUFD_EV_IOAS_MAP, cap.ev[0].type);
	ASSERT_EQ(ioas2, cap.ev[0].ioas_id);
	ASSERT_EQ(1, capture_counter(&cap, IOMMUFD_CNT_FILTERED));
	capture_stop(&cap);

	/* By device: two devices attach, only the second's come through */
	ASSERT_EQ(0, _test_cmd_mock_domain(fd, ioas1, &stdev1, &hwpt1, &dev1));
	ASSERT_EQ(0, _capture_start(&cap, getpid(), 0, dev1 + 3,
				    ACTIVITY_MASK));
	ASSERT_EQ(0, _test_cmd_mock_domain(fd, ioas1, &stdev2, &hwpt2, &dev2));
	capture_collect(&cap);
	/* ids are allocated in order: this device was not known in advance */
	ASSERT_EQ(dev1 + 3, dev2);
	for (i = 0; i < cap.n; i++)
		ASSERT_EQ(dev2, cap.ev[i].dev_id);
	ASSERT_EQ(1, cap.n);
	ASSERT_EQ(IOMMUFD_EV_DEVICE_ATTACH, cap.ev[0].type);
	capture_stop(&cap);
	close(fd);
	munmap(buffer, BUFFER_SIZE);
}

TEST_HARNESS_MAIN
