// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_iotlb_overhead: what watching the IOMMU's invalidation waits costs.
 *
 * QEMU's edu device behind the emulated VT-d (caching mode), bound to
 * vfio-pci and attached to an IOAS through its vfio cdev: each 4 KiB map
 * and each unmap waits for one IOTLB invalidation of its HWPT. Variants run
 * side by side in interleaved blocks of map+unmap pairs, each with one
 * program on qi_wait or none: "off" with nothing attached; "empty", a
 * program that does nothing: the event's clocks and the dispatch to BPF;
 * "top", the aggregation's, counting per IOAS as top does; "latency", the
 * same with the iotlb histogram, as hist and metrics run it; "trace", the
 * tracer's, a record per wait, drained after each block. The figure is the median block; a ratio
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

#include "blocks.h"
#include "edu.h"
#include "iommufd_trace.h"
#include "iommufd_trace.skel.h"
#include "iommufd_stats.skel.h"
#include "empty_hooks.skel.h"

#define IOVA 0x100000	/* edu masks DMA addresses to 28 bits */

static struct edu_attached edu;

static void die(const char *what)
{
	perror(what);
	exit(1);
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
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	unsigned int i;

	for (i = 0; i < ops; i++) {
		if (ioctl(edu.iommufd, IOMMU_IOAS_MAP, &map))
			die("IOMMU_IOAS_MAP");
		if (ioctl(edu.iommufd, IOMMU_IOAS_UNMAP, &unmap))
			die("IOMMU_IOAS_UNMAP");
	}
	return (double)(clock_ns(CLOCK_MONOTONIC) - t0) / ops;
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

/* A variant: one program on qi_wait, attached for its blocks only */
struct variant {
	const char *name;
	struct bpf_program *prog;	/* NULL: nothing attached */
	double *ns;			/* per block */
};

static struct iommufd_stats_bpf *load_stats(bool latency)
{
	struct iommufd_stats_bpf *skel = iommufd_stats_bpf__open();

	if (!skel)
		die("open iommufd_stats");
	skel->rodata->collect_latency = latency;
	only(skel->obj, skel->progs.stats_qi_wait);
	if (iommufd_stats_bpf__load(skel))
		die("load iommufd_stats");
	return skel;
}

int main(int argc, char **argv)
{
	unsigned int blocks = argc > 1 ? atoi(argv[1]) : 21;
	unsigned int ops = argc > 2 ? atoi(argv[2]) : 200;
	struct iommufd_stats_bpf *top, *latency;
	struct empty_hooks_bpf *empty;
	struct iommufd_trace_bpf *tr;
	unsigned long records = 0;
	struct ring_buffer *rb;
	unsigned int b, v;
	double off_ns;
	void *buf;
	int err;

	if (!blocks || !ops) {
		fprintf(stderr, "usage: %s [BLOCKS [OPS_PER_BLOCK]]\n", argv[0]);
		return 2;
	}
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	err = edu_attach(&edu);
	if (err) {
		errno = -err;
		die(edu_cdev());
	}

	top = load_stats(false);
	latency = load_stats(true);
	empty = empty_hooks_bpf__open();
	if (!empty)
		die("open empty_hooks");
	only(empty->obj, empty->progs.empty_qi_wait);
	if (empty_hooks_bpf__load(empty))
		die("load empty_hooks");
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

	struct variant var[] = {
		{ "off", NULL },
		{ "empty", empty->progs.empty_qi_wait },
		{ "top", top->progs.stats_qi_wait },
		{ "latency", latency->progs.stats_qi_wait },
		{ "trace", tr->progs.on_qi_wait },
	};
	const unsigned int nvar = sizeof(var) / sizeof(var[0]);

	for (v = 0; v < nvar; v++) {
		var[v].ns = calloc(blocks, sizeof(double));
		if (!var[v].ns)
			die("memory");
	}
	block(buf, ops);	/* warm up: first pins, first page tables */
	for (b = 0; b < blocks; b++) {
		for (v = 0; v < nvar; v++) {
			struct bpf_link *link = NULL;

			if (var[v].prog) {
				link = bpf_program__attach(var[v].prog);
				if (!link)
					die(var[v].name);
			}
			var[v].ns[b] = block(buf, ops);
			bpf_link__destroy(link);
		}
		ring_buffer__consume(rb);
	}

	off_ns = median(var[0].ns, blocks);
	printf("{\"iotlb.blocks\":%u,\"iotlb.ops_per_block\":%u,"
	       "\"iotlb.map_unmap_4k_off_ns\":%.0f,", blocks, ops, off_ns);
	for (v = 1; v < nvar; v++)
		printf("\"iotlb.%s_map_unmap_4k_ratio\":%.4f,", var[v].name,
		       median(var[v].ns, blocks) / off_ns);
	/* The key of the cost goal: what top, counting the waits, adds */
	printf("\"iotlb.overhead_ratio\":%.4f,",
	       median(var[2].ns, blocks) / off_ns);
	/* Caching mode: one wait per map, one per unmap */
	printf("\"iotlb.waits_per_pair\":%.3f}\n",
	       (double)records / ((double)blocks * ops));
	ring_buffer__free(rb);
	iommufd_trace_bpf__destroy(tr);
	empty_hooks_bpf__destroy(empty);
	iommufd_stats_bpf__destroy(latency);
	iommufd_stats_bpf__destroy(top);
	return 0;
}
