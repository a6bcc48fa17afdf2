// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one-word row keys of iommufd_stats (stats_key(): the context's number
 * above the object's id) at the edge of their range. Contexts the key
 * cannot hold must be counted as lost, never folded into another
 * context's rows. The kernel's context ids cannot be driven that far in a
 * test, but the fallback numbers contexts itself (fallback_ctx_last), so
 * the test sets the next number. Runs on the series' kernel (fallback
 * forced) and on the stock one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "iommufd_stats.h"
#include "iommufd_stats.skel.h"
#include "kernel_features.h"
#include "percpu_counters.h"
#include "stats_sources.h"

#define PAGE 4096ul

/* A context with an IOAS that maps one page; the fd, or -errno */
static int context_maps_a_page(void *buf, __u32 *ioas_id)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)buf, .length = PAGE,
	};
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		goto fail;
	map.ioas_id = alloc.out_ioas_id;
	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		goto fail;
	*ioas_id = alloc.out_ioas_id;
	return fd;
fail:
	close(fd);
	return -errno;
}

static int destroy(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd) ? -errno : 0;
}

/* The keys of a stats hash, at most @max; how many */
static int table_keys(int map_fd, __u64 *keys, int max)
{
	__u64 key, next;
	int n = 0;

	while (n < max && !bpf_map_get_next_key(map_fd, n ? &key : NULL, &next))
		keys[n++] = key = next;
	return n;
}

TEST(key_packs_and_unpacks_at_the_limits)
{
	__u32 id_max = (1u << STATS_KEY_ID_BITS) - 1;

	ASSERT_EQ(0x1ffffffffull, STATS_KEY_CTX_MAX);
	ASSERT_EQ(STATS_KEY_CTX_MAX,
		  stats_key_ctx(stats_key(STATS_KEY_CTX_MAX, id_max)));
	ASSERT_EQ(id_max, stats_key_id(stats_key(STATS_KEY_CTX_MAX, id_max)));
	ASSERT_EQ(1, stats_key_ctx(stats_key(1, 0)));
	ASSERT_EQ(0, stats_key_id(stats_key(1, 0)));
	/* Contexts that differ only in a bit next to the id stay apart */
	ASSERT_NE(stats_key(2, 1), stats_key(3, 1));
}

FIXTURE(fallback) {
	struct iommufd_stats_bpf *skel;
	void *buf;
};

FIXTURE_SETUP(fallback)
{
	struct kernel_features kf;

	ASSERT_EQ(0, kernel_features_probe(&kf));
	if (!kf.iommufd)
		SKIP(return, "iommufd is not built into this kernel");
	self->skel = iommufd_stats_bpf__open();
	ASSERT_NE(NULL, self->skel);
	/* As 'top --fallback' loads it, without histograms */
	bpf_map__set_max_entries(self->skel->maps.hist_stats, 1);
	bpf_map__set_max_entries(self->skel->maps.hist_retired, 1);
	bpf_map__set_max_entries(self->skel->maps.fault_times, 1);
	stats_select_programs(self->skel, &kf, true);
	ASSERT_EQ(0, iommufd_stats_bpf__load(self->skel));
	ASSERT_EQ(0, iommufd_stats_bpf__attach(self->skel));
	self->buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(fallback)
{
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, PAGE);
	iommufd_stats_bpf__destroy(self->skel);
}

/*
 * Contexts numbered 1, then STATS_KEY_CTX_MAX (the last a key holds), then
 * 2^33 + 1, whose key would wrap onto the first's: each maps a page into
 * its first IOAS (id 1 in all three), the third then destroys that IOAS.
 */
TEST_F(fallback, contexts_past_the_key_range_are_lost_not_mixed)
{
	int ioas_fd = bpf_map__fd(self->skel->maps.ioas_stats);
	int retired_fd = bpf_map__fd(self->skel->maps.ioas_retired);
	__u32 first_ioas, last_ioas, beyond_ioas;
	__u64 lost[STATS_LOST_MAX], keys[4];
	int first, last, beyond, n, i;
	struct stats_ioas row;

	self->skel->bss->fallback_ctx_last = 0;
	first = context_maps_a_page(self->buf, &first_ioas);
	ASSERT_LE(0, first);
	self->skel->bss->fallback_ctx_last = STATS_KEY_CTX_MAX - 1;
	last = context_maps_a_page(self->buf, &last_ioas);
	ASSERT_LE(0, last);
	self->skel->bss->fallback_ctx_last = STATS_KEY_CTX_MAX + 1;
	beyond = context_maps_a_page(self->buf, &beyond_ioas);
	ASSERT_LE(0, beyond);
	ASSERT_EQ(first_ioas, beyond_ioas);
	ASSERT_EQ(stats_key(1, first_ioas),
		  stats_key(STATS_KEY_CTX_MAX + 2, beyond_ioas));

	/* Two rows, of one map each: the third context's map is lost */
	n = table_keys(ioas_fd, keys, 4);
	ASSERT_EQ(2, n);
	for (i = 0; i < n; i++) {
		ASSERT_TRUE(keys[i] == stats_key(1, first_ioas) ||
			    keys[i] == stats_key(STATS_KEY_CTX_MAX, last_ioas));
		ASSERT_EQ(0, bpf_map_lookup_elem(ioas_fd, &keys[i], &row));
		ASSERT_EQ(1, row.maps);
		ASSERT_EQ(PAGE, row.map_bytes);
	}
	ASSERT_EQ(0, percpu_counters_read(bpf_map__fd(self->skel->maps.lost),
					  lost, STATS_LOST_MAX));
	ASSERT_EQ(1, lost[STATS_LOST_IOAS]);

	/* Its IOAS's destroy and its release retire nobody's row */
	ASSERT_EQ(0, destroy(beyond, beyond_ioas));
	close(beyond);
	ASSERT_EQ(2, table_keys(ioas_fd, keys, 4));
	ASSERT_EQ(0, table_keys(retired_fd, keys, 4));

	/* The counted ones' retire their own */
	close(first);
	close(last);
	ASSERT_EQ(0, table_keys(ioas_fd, keys, 4));
	ASSERT_EQ(2, table_keys(retired_fd, keys, 4));
}

TEST_HARNESS_MAIN
