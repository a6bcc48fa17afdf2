// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty-bitmap harvesting, exactly: pages the mock device dirties are
 * harvested once, with the right bits, through several IOVA areas, with
 * NO_CLEAR, across tracking off and on, while another thread unmaps and
 * maps; bad requests fail with their errno; and the BPF aggregate
 * (bpf/iommufd_dirty) counts exactly the bits the bitmap got, per region.
 */
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>
#include <bpf/bpf.h>

#include "kselftest_harness.h"
#include "iommufd_dirty.skel.h"
#include "iommufd_dirty.h"
#include "mock_device.h"
#include "fault_injection.h"
#include "iommufd_test.h"

#define SZ_2M		(2ULL << 20)
#define AREAS		4			/* the fixture maps 4 areas */
#define LENGTH		(AREAS * SZ_2M)
#define PAGE		MOCK_DIRTY_PAGE_SIZE
#define NPAGES		(LENGTH / PAGE)
#define PAGES_PER_AREA	(SZ_2M / PAGE)
#define WORDS		(NPAGES / 64)

FIXTURE(dirty) {
	struct mock_hwpt m;
	struct iommufd_dirty_bpf *skel;
	uint64_t want[WORDS];	/* pages dirtied since the last harvest */
	uint64_t got[WORDS];	/* the last harvest's bitmap */
};

FIXTURE_SETUP(dirty)
{
	/* 2 MiB of backing: each 2 MiB of IOVA is an area of its own */
	ASSERT_EQ(0, mock_hwpt_create(&self->m, LENGTH, SZ_2M));
	ASSERT_EQ(0, mock_hwpt_set_tracking(&self->m, true));
	self->skel = iommufd_dirty_bpf__open();
	ASSERT_NE(NULL, self->skel);
	self->skel->rodata->filter_owner_tgid = getpid();
	self->skel->rodata->filter_hwpt_id = self->m.hwpt_id;
	ASSERT_EQ(0, iommufd_dirty_bpf__load(self->skel));
	ASSERT_EQ(0, iommufd_dirty_bpf__attach(self->skel));
}

FIXTURE_TEARDOWN(dirty)
{
	iommufd_dirty_bpf__destroy(self->skel);
	mock_hwpt_destroy(&self->m);
}

static void mark(uint64_t *bits, uint64_t page)
{
	bits[page / 64] |= 1ULL << (page % 64);
}

static uint64_t count_bits(const uint64_t *bits, size_t words)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < words; i++)
		n += __builtin_popcountll(bits[i]);
	return n;
}

/* Dirty @n distinct pseudo-random pages of [first, first + span) */
static void pick_pages(uint64_t *bits, uint64_t first, uint64_t span,
		       uint64_t n, uint64_t *seed)
{
	while (n) {
		uint64_t p;

		*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
		p = first + (*seed >> 33) % span;
		if (bits[p / 64] & (1ULL << (p % 64)))
			continue;
		mark(bits, p);
		n--;
	}
}

#define dirty_pages(bits)						\
	ASSERT_EQ(count_bits(bits, WORDS),				\
		  mock_hwpt_dirty(&self->m, bits, NPAGES))

/* Harvest the whole range into self->got (the kernel only sets bits) */
#define harvest_all(flags)						\
	({								\
		memset(self->got, 0, sizeof(self->got));		\
		ASSERT_EQ(0, mock_hwpt_harvest(&self->m, self->m.iova,	\
					       LENGTH, PAGE, self->got,	\
					       flags));			\
	})

#define expect_harvest(want_bits)					\
	({								\
		harvest_all(0);						\
		ASSERT_EQ(0, memcmp(want_bits, self->got,		\
				    sizeof(self->got)))			\
			TH_LOG("harvested %llu bits, want %llu",	\
			       (unsigned long long)count_bits(self->got, WORDS), \
			       (unsigned long long)count_bits(want_bits, WORDS)); \
	})

static struct iommufd_dirty_hwpt_stats hwpt_stats(struct __test_metadata *_metadata,
						  FIXTURE_DATA(dirty) *self)
{
	struct iommufd_dirty_hwpt_key key = {
		.owner_tgid = getpid(),
		.hwpt_id = self->m.hwpt_id,
	};
	struct iommufd_dirty_hwpt_stats s = {};

	EXPECT_EQ(0, bpf_map_lookup_elem(bpf_map__fd(self->skel->maps.hwpts),
					 &key, &s));
	return s;
}

/* Bits the BPF side counted in the 2 MiB region at @iova */
static uint64_t region_bits(FIXTURE_DATA(dirty) *self, uint64_t iova)
{
	struct iommufd_dirty_region_key key = {
		.owner_tgid = getpid(),
		.hwpt_id = self->m.hwpt_id,
		.region = iova >> IOMMUFD_DIRTY_REGION_SHIFT,
	};
	uint64_t v = 0;

	bpf_map_lookup_elem(bpf_map__fd(self->skel->maps.regions), &key, &v);
	return v;
}

TEST_F(dirty, exactly_once)
{
	uint64_t seed = 1, expect_region[AREAS] = {}, p;
	struct iommufd_dirty_hwpt_stats s;
	int i;

	pick_pages(self->want, 0, NPAGES, 300, &seed);
	for (p = 0; p < NPAGES; p++)
		if (self->want[p / 64] & (1ULL << (p % 64)))
			expect_region[p / PAGES_PER_AREA]++;
	dirty_pages(self->want);
	expect_harvest(self->want);

	/* Harvested once: the next harvest finds nothing */
	memset(self->want, 0, sizeof(self->want));
	expect_harvest(self->want);

	s = hwpt_stats(_metadata, self);
	ASSERT_EQ(2, s.harvests);
	ASSERT_EQ(0, s.errors);
	ASSERT_EQ(300, s.range_bits);
	ASSERT_EQ(2 * LENGTH, s.scanned_bytes);
	ASSERT_EQ(self->m.ioas_id, s.ioas_id);
	/* Only the harvest that cleared bits flushed, within the range */
	ASSERT_EQ(1, s.flushes);
	ASSERT_LT(0, s.flushed_bytes);
	ASSERT_GE(LENGTH, s.flushed_bytes);
	for (i = 0; i < AREAS; i++)
		ASSERT_EQ(expect_region[i], region_bits(self, self->m.iova + i * SZ_2M))
			TH_LOG("region %d", i);
}

TEST_F(dirty, no_clear_keeps_bits)
{
	uint64_t seed = 2;

	pick_pages(self->want, 0, NPAGES, 100, &seed);
	dirty_pages(self->want);
	harvest_all(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	ASSERT_EQ(0, memcmp(self->want, self->got, sizeof(self->got)));
	harvest_all(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	ASSERT_EQ(0, memcmp(self->want, self->got, sizeof(self->got)));
	expect_harvest(self->want);
	memset(self->want, 0, sizeof(self->want));
	expect_harvest(self->want);
	/* Every harvest counted what it reported: 3 x 100 */
	ASSERT_EQ(300, hwpt_stats(_metadata, self).range_bits);
	/* NO_CLEAR leaves the IOTLB alone: one flush, by the clearing read */
	ASSERT_EQ(1, hwpt_stats(_metadata, self).flushes);
}

TEST_F(dirty, runs_across_areas_and_regions)
{
	uint64_t p;
	struct iommufd_dirty_hwpt_stats s;

	/* One run from area 0 through areas 1 and 2 into area 3 */
	for (p = PAGES_PER_AREA - 12; p < 3 * PAGES_PER_AREA + 65; p++)
		mark(self->want, p);
	dirty_pages(self->want);
	expect_harvest(self->want);

	s = hwpt_stats(_metadata, self);
	/* The driver is called per area, the run still comes out whole */
	ASSERT_EQ(1, s.ranges);
	ASSERT_EQ(12 + 2 * PAGES_PER_AREA + 65, s.range_bits);
	ASSERT_EQ(12, region_bits(self, self->m.iova));
	ASSERT_EQ(PAGES_PER_AREA, region_bits(self, self->m.iova + SZ_2M));
	ASSERT_EQ(PAGES_PER_AREA, region_bits(self, self->m.iova + 2 * SZ_2M));
	ASSERT_EQ(65, region_bits(self, self->m.iova + 3 * SZ_2M));
	/* One flush over exactly the run's span */
	ASSERT_EQ(1, s.flushes);
	ASSERT_EQ((12 + 2 * PAGES_PER_AREA + 65) * PAGE, s.flushed_bytes);
}

TEST_F(dirty, hole_in_range_is_an_error)
{
	uint64_t seed = 3, first_half[WORDS] = {};

	/* Area 2 goes away; pages of areas 0, 1 and 3 are dirty */
	ASSERT_EQ(0, mock_hwpt_unmap(&self->m, self->m.iova + 2 * SZ_2M, SZ_2M));
	pick_pages(self->want, 0, 2 * PAGES_PER_AREA, 50, &seed);
	pick_pages(self->want, 3 * PAGES_PER_AREA, PAGES_PER_AREA, 50, &seed);
	dirty_pages(self->want);

	/* Over the hole: an error, not a success with half a bitmap */
	ASSERT_EQ(-EINVAL, mock_hwpt_harvest(&self->m, self->m.iova, LENGTH,
					     PAGE, self->got, 0));
	ASSERT_EQ(1, hwpt_stats(_metadata, self).errors);

	/*
	 * The failed walk cleared what it read before the hole (areas 0-1);
	 * the rest is still there, area by area.
	 */
	memcpy(first_half, self->want, sizeof(first_half));
	memset(first_half, 0, 2 * PAGES_PER_AREA / 8);
	memset(self->got, 0, sizeof(self->got));
	ASSERT_EQ(0, mock_hwpt_harvest(&self->m, self->m.iova + 3 * SZ_2M,
				       SZ_2M, PAGE,
				       self->got + 3 * PAGES_PER_AREA / 64, 0));
	ASSERT_EQ(0, memcmp(first_half, self->got, sizeof(self->got)));
}

struct remapper {
	struct mock_hwpt *m;
	volatile int stop;
	uint64_t rounds;
	int err;
};

/* Unmap and map area 3 again and again, dirtying it in between */
static void *remap_loop(void *arg)
{
	struct remapper *r = arg;
	uint64_t iova = r->m->iova + 3 * SZ_2M, bits[WORDS] = {}, p;

	for (p = 3 * PAGES_PER_AREA; p < NPAGES; p += 7)
		mark(bits, p);
	while (!r->stop && !r->err) {
		r->err = mock_hwpt_unmap(r->m, iova, SZ_2M);
		if (!r->err)
			r->err = mock_hwpt_map(r->m, iova, SZ_2M);
		if (!r->err && mock_hwpt_dirty(r->m, bits, NPAGES) < 0)
			r->err = -EIO;
		r->rounds++;
	}
	return NULL;
}

TEST_F(dirty, unmap_racing_harvest)
{
	struct remapper r = { .m = &self->m };
	uint64_t seed = 4, harvested = 0;
	pthread_t t;
	int i;

	ASSERT_EQ(0, pthread_create(&t, NULL, remap_loop, &r));
	for (i = 0; i < 40; i++) {
		memset(self->want, 0, sizeof(self->want));
		pick_pages(self->want, 0, 3 * PAGES_PER_AREA, 64, &seed);
		dirty_pages(self->want);
		/* Areas 0-2 stay mapped: their bits come out exactly once */
		memset(self->got, 0, sizeof(self->got));
		ASSERT_EQ(0, mock_hwpt_harvest(&self->m, self->m.iova,
					       3 * SZ_2M, PAGE, self->got, 0));
		ASSERT_EQ(0, memcmp(self->want, self->got, sizeof(self->got)))
			TH_LOG("round %d", i);
		harvested += 64;
	}
	r.stop = 1;
	pthread_join(t, NULL);
	ASSERT_EQ(0, r.err);
	ASSERT_LT(0, r.rounds);
	/* The BPF side counted the same bits, nothing of area 3 */
	ASSERT_EQ(harvested, hwpt_stats(_metadata, self).range_bits);
	ASSERT_EQ(0, region_bits(self, self->m.iova + 3 * SZ_2M));
}

TEST_F(dirty, tracking_off_and_on)
{
	uint64_t seed = 5;

	pick_pages(self->want, 0, NPAGES, 40, &seed);
	dirty_pages(self->want);
	ASSERT_EQ(0, mock_hwpt_set_tracking(&self->m, false));
	/* Not tracking: reading is refused, not answered with zeroes */
	ASSERT_EQ(-EINVAL, mock_hwpt_harvest(&self->m, self->m.iova, LENGTH,
					     PAGE, self->got, 0));
	/* Turning it on starts from a clean slate */
	ASSERT_EQ(0, mock_hwpt_set_tracking(&self->m, true));
	memset(self->want, 0, sizeof(self->want));
	expect_harvest(self->want);
	pick_pages(self->want, 0, NPAGES, 40, &seed);
	dirty_pages(self->want);
	expect_harvest(self->want);
}

TEST_F(dirty, bad_requests)
{
	uint64_t seed = 6;
	void *guard;

	pick_pages(self->want, 0, NPAGES, 20, &seed);
	dirty_pages(self->want);

	/* Unaligned IOVA, length, page size not a power of two, or zero */
	ASSERT_EQ(-EINVAL, mock_hwpt_harvest(&self->m, self->m.iova + 1,
					     LENGTH - PAGE, PAGE, self->got, 0));
	ASSERT_EQ(-EINVAL, mock_hwpt_harvest(&self->m, self->m.iova,
					     LENGTH - 1, PAGE, self->got, 0));
	ASSERT_EQ(-EINVAL, mock_hwpt_harvest(&self->m, self->m.iova, LENGTH,
					     3 * PAGE, self->got, 0));
	ASSERT_EQ(-EINVAL, mock_hwpt_harvest(&self->m, self->m.iova, LENGTH,
					     0, self->got, 0));
	ASSERT_EQ(-EOPNOTSUPP, mock_hwpt_harvest(&self->m, self->m.iova,
						 LENGTH, PAGE, self->got, 1 << 7));
	/* None of those touched the dirty bits */
	expect_harvest(self->want);

	/* A bitmap the kernel cannot write: an error, not a silent loss */
	dirty_pages(self->want);
	ASSERT_EQ(-EFAULT, mock_hwpt_harvest(&self->m, self->m.iova, LENGTH,
					     PAGE, NULL, 0));
	/* A bitmap one page short, ending at an inaccessible page */
	guard = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, guard);
	ASSERT_EQ(0, mprotect((char *)guard + 4096, 4096, PROT_NONE));
	memset(self->want, 0, sizeof(self->want));
	/* The last page's bit lies past the accessible bytes */
	mark(self->want, NPAGES - 1);
	dirty_pages(self->want);
	ASSERT_EQ(-EFAULT, mock_hwpt_harvest(&self->m, self->m.iova, LENGTH,
					     PAGE, (uint64_t *)((char *)guard +
						4096 - NPAGES / 16), 0));
	munmap(guard, 2 * 4096);
}

/*
 * Inject a failure at every allocation of a harvest in turn, into a bitmap
 * the kernel has to fault in: a harvest either fails with an errno or
 * returns every dirty page, never success with pages missing.
 */
TEST_F(dirty, harvest_under_fault_injection)
{
	uint64_t seed = 7, *bitmap, left[WORDS];
	unsigned int nth, failures = 0, efaults = 0;
	int nthfd, rc, armed, i;

	setup_fault_injection(_metadata);
	nthfd = fail_nth_open();
	ASSERT_NE(-1, nthfd);
	for (nth = 1; nth < 1000; nth++) {
		memset(self->want, 0, sizeof(self->want));
		pick_pages(self->want, 0, NPAGES, 50, &seed);
		dirty_pages(self->want);
		/* Untouched: pinning it has to allocate its page */
		bitmap = mmap(NULL, sizeof(self->got), PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, bitmap);
		ASSERT_EQ(0, fail_nth_arm(nthfd, nth));
		rc = mock_hwpt_harvest(&self->m, self->m.iova, LENGTH, PAGE,
				       bitmap, 0);
		armed = fail_nth_disarm(nthfd);
		if (!rc) {
			ASSERT_EQ(0, memcmp(self->want, bitmap, sizeof(self->got)))
				TH_LOG("nth %u: success with %llu of %llu pages", nth,
				       (unsigned long long)count_bits(bitmap, WORDS),
				       (unsigned long long)count_bits(self->want, WORDS));
		} else {
			/* ENOENT is iommufd's own injection point, object lookup */
			ASSERT_TRUE(rc == -ENOMEM || rc == -EFAULT || rc == -ENOENT)
				TH_LOG("nth %u: %s", nth, strerror(-rc));
			failures++;
			efaults += rc == -EFAULT;
			/* What the failed read did not clear is still dirty */
			harvest_all(0);
			for (i = 0; i < (int)WORDS; i++)
				left[i] = self->got[i] & ~self->want[i];
			ASSERT_EQ(0, count_bits(left, WORDS));
		}
		munmap(bitmap, sizeof(self->got));
		if (armed)
			break;
	}
	close(nthfd);
	ASSERT_LT(nth, 1000) TH_LOG("more injection points than expected");
	/* Among them, the bitmap's page could not be faulted in */
	ASSERT_LT(0, efaults) TH_LOG("%u injected failures, none EFAULT", failures);
}

TEST_F(dirty, hwpt_without_dirty_tracking)
{
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.dev_id = self->m.idev_id,
		.pt_id = self->m.ioas_id,
	};
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set),
		.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
	};
	uint32_t dirty_hwpt = self->m.hwpt_id;

	ASSERT_EQ(0, ioctl(self->m.fd, IOMMU_HWPT_ALLOC, &alloc));
	set.hwpt_id = alloc.out_hwpt_id;
	ASSERT_EQ(-1, ioctl(self->m.fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set));
	ASSERT_EQ(EOPNOTSUPP, errno);
	self->m.hwpt_id = alloc.out_hwpt_id;
	ASSERT_EQ(-EOPNOTSUPP, mock_hwpt_harvest(&self->m, self->m.iova,
						 LENGTH, PAGE, self->got, 0));
	/* An id that is not a HWPT at all */
	self->m.hwpt_id = self->m.ioas_id;
	ASSERT_EQ(-ENOENT, mock_hwpt_harvest(&self->m, self->m.iova, LENGTH,
					     PAGE, self->got, 0));
	self->m.hwpt_id = dirty_hwpt;
}

/*
 * Reading part of a huge IOPTE: the driver reports the whole IOPTE from where
 * its walk is, past the end of the range asked for. Only the range's bits
 * may be set: nothing past the bitmap's last word, whether that word ends
 * inside a page of user memory (the rest of the page must not be written)
 * or at its end (the next page is not the bitmap's: the read must not fail).
 */
#define HUGE_IOPTE	(512 * MOCK_DIRTY_PAGE_SIZE / 2)	/* the mock's */
#define PART		(32 * PAGE)	/* read: the first 32 pages of it */
#define CANARY		0xa5a5a5a5a5a5a5a5ULL

static void read_part_of_huge(struct __test_metadata *_metadata,
			      struct mock_hwpt *m, uint64_t *word,
			      uint32_t flags)
{
	ASSERT_EQ(0, mock_hwpt_harvest(m, m->iova, PART, PAGE, word, flags));
	ASSERT_EQ(0xffffffffULL, *word);
}

TEST(dirty_part_of_huge_iopte)
{
	uint64_t first_page[1] = { 1 };
	struct mock_hwpt m;
	uint64_t *canary;
	long page = sysconf(_SC_PAGE_SIZE);
	uint8_t *mem;
	int i;

	ASSERT_EQ(0, mock_hwpt_create_flags(&m, SZ_2M, SZ_2M,
					    MOCK_FLAGS_DEVICE_HUGE_IOVA));
	if (!m.hugetlb) {
		mock_hwpt_destroy(&m);
		SKIP(return, "no free hugetlb page: the mock maps huge IOPTEs only over contiguous memory");
	}
	ASSERT_EQ(0, mock_hwpt_set_tracking(&m, true));
	/* The device writes one page: the whole huge IOPTE turns dirty */
	ASSERT_EQ(1, mock_hwpt_dirty(&m, first_page, 1));

	/* A bitmap of one word, followed in its page by a canary */
	mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	canary = (uint64_t *)mem + 1;
	for (i = 0; i < 8; i++)
		canary[i] = CANARY;
	*(uint64_t *)mem = 0;
	read_part_of_huge(_metadata, &m, (uint64_t *)mem, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(CANARY, canary[i]) TH_LOG("word %d past the bitmap written", i + 1);

	/* The word at the very end of a page, the next page not accessible */
	ASSERT_EQ(0, mprotect(mem + page, page, PROT_NONE));
	*(uint64_t *)(mem + page - 8) = 0;
	read_part_of_huge(_metadata, &m, (uint64_t *)(mem + page - 8),
			  IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	/* Without NO_CLEAR: the same bits, and the IOPTE is clean after */
	*(uint64_t *)(mem + page - 8) = 0;
	read_part_of_huge(_metadata, &m, (uint64_t *)(mem + page - 8), 0);
	memset(mem, 0, HUGE_IOPTE / PAGE / 8);
	ASSERT_EQ(0, mock_hwpt_harvest(&m, m.iova, HUGE_IOPTE, PAGE,
				       (uint64_t *)mem, 0));
	for (i = 0; i < (int)(HUGE_IOPTE / PAGE / 64); i++)
		ASSERT_EQ(0, ((uint64_t *)mem)[i]);

	munmap(mem, 2 * page);
	mock_hwpt_destroy(&m);
}

TEST_HARNESS_MAIN
