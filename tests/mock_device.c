// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A dirty-tracking HWPT on the iommufd selftest mock; see the header. */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>

#include "iommufd_test.h"
#include "mock_device.h"

#define SZ_2M (2ULL << 20)
/* The mock's IO page; IOMMU_TEST_OP_DIRTY counts in these */
#define MOCK_IO_PAGE (MOCK_DIRTY_PAGE_SIZE / 2)
/* IOMMU_TEST_OP_DIRTY copies its whole bitmap: call it per window */
#define DIRTY_WINDOW_PAGES (1ULL << 15)

static int fail(const char *what)
{
	int err = -errno;

	warnx("%s: %s", what, strerror(errno));
	return err;
}

static int mock_device_attach(struct mock_hwpt *m, uint32_t dev_flags)
{
	struct iommu_test_cmd mock = {
		.size = sizeof(mock),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.id = m->ioas_id,
		.mock_domain_flags = { .dev_flags = dev_flags },
	};
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	};
	struct iommu_test_cmd replace = {
		.size = sizeof(replace),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
	};

	/* A mock device on the IOAS, then moved to a dirty-tracking HWPT */
	if (ioctl(m->fd, IOMMU_TEST_CMD, &mock))
		return fail("IOMMU_TEST_OP_MOCK_DOMAIN (is CONFIG_IOMMUFD_TEST on?)");
	m->idev_id = mock.mock_domain.out_idev_id;
	alloc.dev_id = m->idev_id;
	alloc.pt_id = m->ioas_id;
	if (ioctl(m->fd, IOMMU_HWPT_ALLOC, &alloc))
		return fail("IOMMU_HWPT_ALLOC with dirty tracking");
	m->hwpt_id = alloc.out_hwpt_id;
	replace.id = mock.mock_domain.out_stdev_id;
	replace.mock_domain_replace.pt_id = m->hwpt_id;
	if (ioctl(m->fd, IOMMU_TEST_CMD, &replace))
		return fail("attaching the mock device to the dirty-tracking HWPT");
	return 0;
}

static int map_backing(struct mock_hwpt *m, uint64_t len)
{
	m->backing_len = len;
	m->backing = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			  MAP_POPULATE, -1, 0);
	m->hugetlb = m->backing != MAP_FAILED;
	if (!m->hugetlb)
		m->backing = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
				  -1, 0);
	if (m->backing == MAP_FAILED) {
		m->backing = NULL;
		return fail("mmap of the backing memory");
	}
	return 0;
}

int mock_hwpt_create(struct mock_hwpt *m, uint64_t length,
		     uint64_t max_backing)
{
	return mock_hwpt_create_flags(m, length, max_backing, 0);
}

int mock_hwpt_create_flags(struct mock_hwpt *m, uint64_t length,
			   uint64_t max_backing, uint32_t dev_flags)
{
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	uint64_t done, chunk;
	int err;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (!length || length % SZ_2M || max_backing < SZ_2M) {
		warnx("mock HWPT size must be a non-zero multiple of 2 MiB");
		return -EINVAL;
	}
	m->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (m->fd < 0)
		return fail("open /dev/iommu");
	if (ioctl(m->fd, IOMMU_IOAS_ALLOC, &ioas))
		return fail("IOMMU_IOAS_ALLOC");
	m->ioas_id = ioas.out_ioas_id;
	err = mock_device_attach(m, dev_flags);
	if (err)
		return err;
	err = map_backing(m, length < max_backing ? length : max_backing &
			  ~(SZ_2M - 1));
	if (err)
		return err;

	m->iova = MOCK_APERTURE_START;
	for (done = 0; done < length; done += chunk) {
		chunk = length - done < m->backing_len ? length - done :
							 m->backing_len;
		err = mock_hwpt_map(m, m->iova + done, chunk);
		if (err) {
			errno = -err;
			return fail("IOMMU_IOAS_MAP (mock aperture too small?)");
		}
	}
	m->length = length;
	return 0;
}

int mock_hwpt_map(struct mock_hwpt *m, uint64_t iova, uint64_t length)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = m->ioas_id,
		.user_va = (uintptr_t)m->backing,
		.length = length,
		.iova = iova,
	};

	return ioctl(m->fd, IOMMU_IOAS_MAP, &map) ? -errno : 0;
}

int mock_hwpt_unmap(struct mock_hwpt *m, uint64_t iova, uint64_t length)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = m->ioas_id,
		.iova = iova,
		.length = length,
	};

	return ioctl(m->fd, IOMMU_IOAS_UNMAP, &unmap) ? -errno : 0;
}

void mock_hwpt_destroy(struct mock_hwpt *m)
{
	/* Closing the context destroys every object in it */
	if (m->fd >= 0)
		close(m->fd);
	if (m->backing)
		munmap(m->backing, m->backing_len);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

int mock_hwpt_set_tracking(struct mock_hwpt *m, bool on)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = on ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = m->hwpt_id,
	};

	return ioctl(m->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd) ? -errno : 0;
}

int64_t mock_hwpt_dirty(struct mock_hwpt *m, const uint64_t *pages,
			uint64_t npages)
{
	uint64_t io_bits[2 * DIRTY_WINDOW_PAGES / 64];
	uint64_t first, i, n, marked = 0;

	for (first = 0; first < npages; first += DIRTY_WINDOW_PAGES) {
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd),
			.op = IOMMU_TEST_OP_DIRTY,
			.id = m->hwpt_id,
		};
		bool any = false;

		n = npages - first < DIRTY_WINDOW_PAGES ? npages - first :
							  DIRTY_WINDOW_PAGES;
		memset(io_bits, 0, sizeof(io_bits));
		/* The mock counts 2 KiB IO pages: both halves of each page */
		for (i = 0; i < n; i++) {
			uint64_t p = first + i;

			if (!(pages[p / 64] & (1ULL << (p % 64))))
				continue;
			io_bits[(2 * i) / 64] |= 3ULL << ((2 * i) % 64);
			any = true;
		}
		if (!any)
			continue;
		cmd.dirty.iova = m->iova + first * MOCK_DIRTY_PAGE_SIZE;
		cmd.dirty.length = n * MOCK_DIRTY_PAGE_SIZE;
		cmd.dirty.page_size = MOCK_IO_PAGE;
		cmd.dirty.uptr = (uintptr_t)io_bits;
		if (ioctl(m->fd, IOMMU_TEST_CMD, &cmd))
			return -errno;
		marked += cmd.dirty.out_nr_dirty / 2;
	}
	return marked;
}

int mock_hwpt_harvest(struct mock_hwpt *m, uint64_t iova, uint64_t length,
		      uint64_t page_size, uint64_t *bitmap, uint32_t flags)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = m->hwpt_id,
		.flags = flags,
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.data = (uintptr_t)bitmap,
	};

	return ioctl(m->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd) ? -errno : 0;
}
