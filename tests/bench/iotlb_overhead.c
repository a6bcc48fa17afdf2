// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_iotlb_overhead: what watching the IOMMU's invalidation waits costs.
 *
 * QEMU's edu device behind the emulated VT-d (caching mode), bound to
 * vfio-pci and attached to an IOAS through its vfio cdev: each 4 KiB map
 * and each unmap waits for one IOTLB invalidation of its HWPT. Variants run
 * side by side in interleaved blocks of map+unmap pairs: "off" with nothing
 * attached; "top" with the aggregation's qi_wait program alone (counting
 * per IOAS and in the iotlb histogram, as top, hist and metrics do), so its
 * ratio is the instrumentation's own cost: the event's clocks and the
 * program; "trace" with the tracer's qi_wait program alone, a record per
 * wait, drained after each block. The figure is the median block; a ratio
 * is median(variant)/median(off). The pairs do no DMA: edu starts a DMA
 * 100 ms after it is asked, which would drown the cost measured here. Run
 * in the vtd profile, on one vCPU, under -icount (tools/bench.sh does).
 *
 * Prints one JSON object (flat, named figures) on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <bpf/libbpf.h>

#include "edu.h"
#include "iommufd_trace.h"
#include "iommufd_trace.skel.h"
#include "iommufd_stats.skel.h"

#define IOVA 0x100000	/* edu masks DMA addresses to 28 bits */

static struct edu_attached edu;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* @ops map+unmap pairs of one page; ns per pair */
static double block(void *buf, unsigned int ops)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = edu.ioas_id,
		.user_va = (uintptr_t)buf,
		.length = 4096,
		.iova = IOVA,
	};
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = edu.ioas_id,
		.iova = IOVA,
		.length = 4096,
	};
	uint64_t t0 = now_ns();
	unsigned int i;

	for (i = 0; i < ops; i++) {
		if (ioctl(edu.iommufd, IOMMU_IOAS_MAP, &map))
			die("IOMMU_IOAS_MAP");
		if (ioctl(edu.iommufd, IOMMU_IOAS_UNMAP, &unmap))
			die("IOMMU_IOAS_UNMAP");
	}
	return (double)(now_ns() - t0) / ops;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The one program @keep of @obj loaded, the others left out */
static void only(struct bpf_object *obj, struct bpf_program *keep)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj)
		bpf_program__set_autoload(p, p == keep);
}

static int count_record(void *ctx, void *data, size_t size)
{
	const struct iommufd_event *e = data;

	if (e->type == IOMMUFD_EV_IOTLB_WAIT)
		(*(unsigned long *)ctx)++;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int blocks = argc > 1 ? atoi(argv[1]) : 21;
	unsigned int ops = argc > 2 ? atoi(argv[2]) : 200;
	double *off, *top, *trace;
	struct iommufd_stats_bpf *stats;
	struct iommufd_trace_bpf *tr;
	struct ring_buffer *rb;
	unsigned long records = 0;
	unsigned int b;
	void *buf;
	int err;

	if (!blocks || !ops) {
		fprintf(stderr, "usage: %s [BLOCKS [OPS_PER_BLOCK]]\n", argv[0]);
		return 2;
	}
	off = calloc(blocks, sizeof(double));
	top = calloc(blocks, sizeof(double));
	trace = calloc(blocks, sizeof(double));
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (!off || !top || !trace || buf == MAP_FAILED)
		die("memory");
	err = edu_attach(&edu);
	if (err) {
		errno = -err;
		die(edu_cdev());
	}

	stats = iommufd_stats_bpf__open();
	if (!stats)
		die("open iommufd_stats");
	stats->rodata->collect_latency = true;
	only(stats->obj, stats->progs.stats_qi_wait);
	if (iommufd_stats_bpf__load(stats))
		die("load iommufd_stats");
	tr = iommufd_trace_bpf__open();
	if (!tr)
		die("open iommufd_trace");
	only(tr->obj, tr->progs.on_qi_wait);
	if (iommufd_trace_bpf__load(tr))
		die("load iommufd_trace");
	rb = ring_buffer__new(bpf_map__fd(tr->maps.events), count_record,
			      &records, NULL);
	if (!rb)
		die("ring buffer");

	block(buf, ops);	/* warm up: first pins, first page tables */
	for (b = 0; b < blocks; b++) {
		off[b] = block(buf, ops);
		if (iommufd_stats_bpf__attach(stats))
			die("attach iommufd_stats");
		top[b] = block(buf, ops);
		iommufd_stats_bpf__detach(stats);
		if (iommufd_trace_bpf__attach(tr))
			die("attach iommufd_trace");
		trace[b] = block(buf, ops);
		iommufd_trace_bpf__detach(tr);
		ring_buffer__consume(rb);
	}

	printf("{\"iotlb.map_unmap_4k_off_ns\":%.0f,\"iotlb.map_unmap_4k_top_ns\":%.0f,"
	       "\"iotlb.map_unmap_4k_trace_ns\":%.0f,",
	       median(off, blocks), median(top, blocks), median(trace, blocks));
	printf("\"iotlb.overhead_ratio\":%.4f,\"iotlb.trace_overhead_ratio\":%.4f,",
	       median(top, blocks) / median(off, blocks),
	       median(trace, blocks) / median(off, blocks));
	/* Caching mode: one wait per map, one per unmap */
	printf("\"iotlb.waits_per_pair\":%.3f}\n",
	       (double)records / ((double)blocks * ops));
	ring_buffer__free(rb);
	iommufd_trace_bpf__destroy(tr);
	iommufd_stats_bpf__destroy(stats);
	return 0;
}
