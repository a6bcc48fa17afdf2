// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_dirty_harvest: what the BPF dirty aggregation costs a harvest, and
 * how a harvest scales with the IOVA it walks.
 *
 * For 256 MiB, 1 GiB and 4 GiB of IOVA on the mock, and 0.1 %, 1 % and
 * 10 % of the pages dirty, blocks run side by side (A B, B A, ...): the
 * same pages are dirtied, then one IOMMU_HWPT_GET_DIRTY_BITMAP over the
 * whole range is timed, with nothing attached ("ioctl") or with
 * bpf/iommufd_dirty attached ("bpf"). Every harvest is checked to return
 * exactly the pages dirtied. Figures are medians over the blocks. At 1 GiB
 * and 1 %, the same harvest made of 512 ioctls of 2 MiB shows what the
 * per-call cost is, i.e. what batching ranges could save.
 *
 * Prints one JSON object (flat, named figures) on stdout, progress on stderr.
 *
 *   bench_dirty_harvest [BLOCKS [FIGURE_PREFIX]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include "iommufd_dirty.h"
#include "iommufd_dirty.skel.h"
#include "mock_device.h"

#define MAX_BLOCKS 64
#define GIB (1ULL << 30)

static const struct { const char *name; uint64_t bytes; } sizes[] = {
	{ "256m", 256ULL << 20 }, { "1g", GIB }, { "4g", 4 * GIB },
};
static const struct { const char *name; double fraction; } dirtiness[] = {
	{ "0.1pct", 0.001 }, { "1pct", 0.01 }, { "10pct", 0.1 },
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* (max - min) / median in percent, to show how well blocks agree */
static double spread_pct(const uint64_t *sorted, unsigned int n, double med)
{
	return med ? 100.0 * (sorted[n - 1] - sorted[0]) / med : 0;
}

static void fail(const char *what)
{
	fprintf(stderr, "bench_dirty_harvest: %s\n", what);
	exit(1);
}

/*
 * Dirty @want's pages, harvest them all in ioctls of @chunk bytes, check
 * and return the time
 */
static uint64_t harvest_once(struct mock_hwpt *m, const uint64_t *want,
			     uint64_t *got, uint64_t words, uint64_t npages,
			     uint64_t chunk)
{
	uint64_t t0, t1, off;

	if (mock_hwpt_dirty(m, want, npages) < 0)
		fail("IOMMU_TEST_OP_DIRTY failed");
	memset(got, 0, words * sizeof(*got));
	t0 = now_ns();
	for (off = 0; off < m->length; off += chunk)
		if (mock_hwpt_harvest(m, m->iova + off, chunk,
				      MOCK_DIRTY_PAGE_SIZE,
				      got + off / MOCK_DIRTY_PAGE_SIZE / 64, 0))
			fail("IOMMU_HWPT_GET_DIRTY_BITMAP failed");
	t1 = now_ns();
	if (memcmp(want, got, words * sizeof(*got)))
		fail("a harvest did not return exactly the pages dirtied");
	return t1 - t0;
}

int main(int argc, char **argv)
{
	unsigned int blocks = argc > 1 ? atoi(argv[1]) : 5, s, d, b;
	/* Names the figures: "dirty", or another run's, e.g. "dirty_wallclock" */
	const char *prefix = argc > 2 ? argv[2] : "dirty";
	double worst = 0, plain_1pct[3] = {};
	uint64_t seed = 42;

	if (!blocks || blocks > MAX_BLOCKS)
		fail("usage: bench_dirty_harvest [BLOCKS (1-64) [FIGURE_PREFIX]]");
	printf("{\"%s.blocks\":%u", prefix, blocks);
	for (s = 0; s < 3; s++) {
		uint64_t npages = sizes[s].bytes / MOCK_DIRTY_PAGE_SIZE;
		uint64_t words = (npages + 63) / 64, *want, *got;
		struct iommufd_dirty_bpf *skel;
		struct mock_hwpt m;

		fprintf(stderr, "bench: mapping %s on the mock\n", sizes[s].name);
		if (mock_hwpt_create(&m, sizes[s].bytes, 256ULL << 20) ||
		    mock_hwpt_set_tracking(&m, true))
			fail("cannot set up the mock HWPT");
		skel = iommufd_dirty_bpf__open();
		if (!skel)
			fail("cannot open the BPF object");
		skel->rodata->filter_owner_tgid = getpid();
		skel->rodata->filter_hwpt_id = m.hwpt_id;
		if (iommufd_dirty_bpf__load(skel))
			fail("cannot load the BPF object");
		want = calloc(words, sizeof(*want));
		got = calloc(words, sizeof(*got));
		if (!want || !got)
			fail("out of memory");

		for (d = 0; d < 3; d++) {
			uint64_t t_plain[MAX_BLOCKS], t_bpf[MAX_BLOCKS], k, i;
			double mp, mb;

			/* The same pages every block: uniform, K of them */
			memset(want, 0, words * sizeof(*want));
			k = npages * dirtiness[d].fraction;
			for (i = 0; i < k;) {
				uint64_t p;

				seed ^= seed >> 12;
				seed ^= seed << 25;
				seed ^= seed >> 27;
				p = seed * 2685821657736338717ULL % npages;
				if (want[p / 64] & (1ULL << (p % 64)))
					continue;
				want[p / 64] |= 1ULL << (p % 64);
				i++;
			}
			fprintf(stderr, "bench: %s, %s dirty (%llu pages), %u blocks\n",
				sizes[s].name, dirtiness[d].name,
				(unsigned long long)k, blocks);
			for (b = 0; b < blocks; b++) {
				int v;

				/* A B, then B A: neither always goes first */
				for (v = 0; v < 2; v++) {
					int with_bpf = (b + v) % 2;

					if (with_bpf && iommufd_dirty_bpf__attach(skel))
						fail("cannot attach the BPF programs");
					if (with_bpf)
						t_bpf[b] = harvest_once(&m, want, got, words, npages, m.length);
					else
						t_plain[b] = harvest_once(&m, want, got, words, npages, m.length);
					if (with_bpf)
						iommufd_dirty_bpf__detach(skel);
				}
			}
			mp = median(t_plain, blocks);
			mb = median(t_bpf, blocks);
			printf(",\"%s.%s_%s_ioctl_ns\":%.0f,\"%s.%s_%s_bpf_ns\":%.0f,"
			       "\"%s.%s_%s_ratio\":%.4f,\"%s.%s_%s_spread_pct\":%.2f",
			       prefix, sizes[s].name, dirtiness[d].name, mp,
			       prefix, sizes[s].name, dirtiness[d].name, mb,
			       prefix, sizes[s].name, dirtiness[d].name, mb / mp,
			       prefix, sizes[s].name, dirtiness[d].name,
			       spread_pct(t_plain, blocks, mp) > spread_pct(t_bpf, blocks, mb) ?
			       spread_pct(t_plain, blocks, mp) : spread_pct(t_bpf, blocks, mb));
			if (mb / mp > worst)
				worst = mb / mp;
			if (d == 1)
				plain_1pct[s] = mp;
			/*
			 * What one ioctl per 2 MiB range costs against one for
			 * the whole 1 GiB: the most a batched harvest could save
			 */
			if (s == 1 && d == 1) {
				uint64_t t_small[MAX_BLOCKS], t_one[MAX_BLOCKS];
				double ms, mo;

				for (b = 0; b < blocks; b++) {
					t_small[b] = harvest_once(&m, want, got, words, npages, 2ULL << 20);
					t_one[b] = harvest_once(&m, want, got, words, npages, m.length);
				}
				ms = median(t_small, blocks);
				mo = median(t_one, blocks);
				printf(",\"%s.1g_1pct_2m_ranges_ns\":%.0f,"
				       "\"%s.small_ranges_over_one_ratio\":%.4f",
				       prefix, ms, prefix, ms / mo);
			}
		}
		free(want);
		free(got);
		iommufd_dirty_bpf__destroy(skel);
		mock_hwpt_destroy(&m);
	}
	printf(",\"%s.bpf_over_ioctl_ratio\":%.4f,\"%s.scale_4x_ratio\":%.4f,"
	       "\"%s.harvest_ns_per_gib\":%.0f}\n", prefix, worst, prefix,
	       plain_1pct[2] / plain_1pct[1], prefix, plain_1pct[1]);
	return 0;
}
