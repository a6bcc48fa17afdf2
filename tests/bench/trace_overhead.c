// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_trace_overhead: what tracing costs an IOAS map + unmap.
 *
 * A mock device is attached, so every map pins and fills the domain and
 * every unmap flushes and unpins: the real path. Variants run side by side
 * in interleaved blocks (A B C D A B C D ...): "off" with nothing attached,
 * "trace" with the iommufd_trace programs attached and a thread draining
 * the ring buffer as 'iommufd-bpf trace' does (an event per operation),
 * "top" with iommufd_stats counting in the kernel as 'iommufd-bpf top'
 * does, "latency" with its histograms on as 'hist' and 'metrics' do, and
 * "empty", programs that do nothing on the same events: the floor.
 * Each block times BLOCK_OPS map+unmap pairs; the figure is the median
 * block, a ratio is median(variant)/median(off).
 *
 * Prints one JSON object (flat, named figures) on stdout.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <linux/iommufd.h>

#include "iommufd_test.h"
#include "iommufd_trace.h"
#include "iommufd_trace.skel.h"
#include "iommufd_stats.skel.h"
#include "empty_hooks.skel.h"
#include "percpu_counters.h"

#define IOVA (1UL << 24)

static int fd;
static uint32_t ioas_id;
static atomic_int stop_drain;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t delivered;

static int count_event(void *ctx, void *data, size_t size)
{
	delivered++;
	return 0;
}

static void *drain(void *arg)
{
	struct ring_buffer *rb = arg;

	/* The tool's poll tick; the ring buffer wakes it for new records */
	while (!atomic_load(&stop_drain))
		ring_buffer__poll(rb, 100);
	ring_buffer__consume(rb);
	return NULL;
}

/*
 * ns per map+unmap pair over one block. With @ring, the block ends when the
 * consumer has read every record in it: the consumer's work is part of what
 * tracing costs, and left over it would run on the other CPU during the
 * next variant's block and be charged to it (guest time under -icount
 * counts every CPU's instructions).
 */
static double block(void *buf, size_t len, unsigned int ops, struct ring *ring)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map), .ioas_id = ioas_id,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)buf, .length = len, .iova = IOVA,
	};
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = ioas_id, .iova = IOVA,
		.length = len,
	};
	uint64_t t0 = now_ns();
	unsigned int i;

	for (i = 0; i < ops; i++) {
		if (ioctl(fd, IOMMU_IOAS_MAP, &map))
			die("IOMMU_IOAS_MAP");
		if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
			die("IOMMU_IOAS_UNMAP");
	}
	while (ring && ring__avail_data_size(ring))
		usleep(100);
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

/* Spread: (p90 - p10) / median, in percent */
static double spread(double *v, unsigned int n)
{
	double m = median(v, n);

	return 100.0 * (v[n * 9 / 10] - v[n / 10]) / m;
}

struct variants {
	struct iommufd_trace_bpf *trace;
	struct iommufd_stats_bpf *top;
	struct iommufd_stats_bpf *latency;
	struct empty_hooks_bpf *empty;
	struct ring *ring;	/* the tracer's, which its consumer drains */
};

static void print_figures(const char *prefix, const char *name, double *v,
			  double *off, unsigned int blocks)
{
	double m = median(v, blocks), m_off = median(off, blocks);

	printf("\"%s.map_unmap_%s_ns\":%.0f,\"%s.map_unmap_%s_spread_pct\":%.1f,"
	       "\"%s.map_unmap_%s_ratio\":%.4f,",
	       prefix, name, m, prefix, name, spread(v, blocks), prefix, name,
	       m / m_off);
}

/*
 * Where a variant's cost goes: with the kernel's run-time statistics on
 * (a separate pass, as they add two clock reads per run), the guest ns per
 * run of each program, without the tracepoint's dispatch to it.
 */
static void profile(const char *prefix, struct bpf_object *obj,
		    struct ring *ring, void *buf, size_t len, unsigned int ops)
{
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	struct bpf_link *links[64];
	struct bpf_program *prog;
	unsigned int n = 0, i;

	if (stats_fd < 0)
		die("BPF_ENABLE_STATS");
	bpf_object__for_each_program(prog, obj) {
		if (n == 64 || !(links[n++] = bpf_program__attach(prog)))
			die("attach for profile");
	}
	block(buf, len, ops, ring);
	for (i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	close(stats_fd);
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 info_len = sizeof(info);

		if (bpf_prog_get_info_by_fd(bpf_program__fd(prog), &info,
					    &info_len))
			die("bpf_prog_get_info_by_fd");
		if (info.run_cnt)
			printf("\"%s.prog.%s_ns\":%.0f,\"%s.prog.%s_runs_per_pair\":%.2f,",
			       prefix, bpf_program__name(prog),
			       (double)info.run_time_ns / info.run_cnt, prefix,
			       bpf_program__name(prog),
			       (double)info.run_cnt / ops);
	}
}

static void run(const char *name, size_t len, unsigned int blocks,
		unsigned int ops, struct variants *var)
{
	double off[blocks], trace[blocks], top[blocks], lat[blocks], empty[blocks];
	unsigned int b;
	void *buf;

	/* 2 MiB-aligned so a 2 MiB map can use one large IOPTE where it may */
	buf = mmap(NULL, len + (2u << 20), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	buf = (void *)(((uintptr_t)buf + (2u << 20) - 1) & ~((2ul << 20) - 1));

	block(buf, len, ops, NULL);	/* warm up */
	for (b = 0; b < blocks; b++) {
		if (iommufd_trace_bpf__attach(var->trace))
			die("attach trace");
		trace[b] = block(buf, len, ops, var->ring);
		iommufd_trace_bpf__detach(var->trace);
		if (iommufd_stats_bpf__attach(var->top))
			die("attach top");
		top[b] = block(buf, len, ops, NULL);
		iommufd_stats_bpf__detach(var->top);
		if (iommufd_stats_bpf__attach(var->latency))
			die("attach latency");
		lat[b] = block(buf, len, ops, NULL);
		iommufd_stats_bpf__detach(var->latency);
		if (empty_hooks_bpf__attach(var->empty))
			die("attach empty");
		empty[b] = block(buf, len, ops, NULL);
		empty_hooks_bpf__detach(var->empty);
		off[b] = block(buf, len, ops, NULL);
	}
	printf("\"trace.map_unmap_%s_off_ns\":%.0f,\"trace.map_unmap_%s_off_spread_pct\":%.1f,",
	       name, median(off, blocks), name, spread(off, blocks));
	print_figures("trace", name, trace, off, blocks);
	print_figures("top", name, top, off, blocks);
	print_figures("latency", name, lat, off, blocks);
	print_figures("empty", name, empty, off, blocks);
	if (len == 4096) {
		profile("top", var->top->obj, NULL, buf, len, ops);
		profile("trace", var->trace->obj, var->ring, buf, len, ops);
	}
}

static struct iommufd_stats_bpf *load_stats(bool latency)
{
	struct iommufd_stats_bpf *skel = iommufd_stats_bpf__open();

	if (!skel)
		die("open iommufd_stats");
	skel->rodata->collect_latency = latency;
	if (iommufd_stats_bpf__load(skel))
		die("load iommufd_stats");
	return skel;
}

int main(int argc, char **argv)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	unsigned int blocks = argc > 1 ? atoi(argv[1]) : 21;
	unsigned int ops = argc > 2 ? atoi(argv[2]) : 400;
	struct iommufd_trace_bpf *skel;
	struct variants var;
	struct ring_buffer *rb;
	__u64 cnt[IOMMUFD_CNT_MAX];
	pthread_t th;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0 || ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		die("/dev/iommu");
	ioas_id = alloc.out_ioas_id;
	mock.id = ioas_id;
	if (ioctl(fd, IOMMU_TEST_CMD, &mock))
		die("IOMMU_TEST_OP_MOCK_DOMAIN");

	/* As 'iommufd-bpf trace' loads it: every event, so DMA faults too */
	skel = iommufd_trace_bpf__open();
	if (!skel)
		die("open iommufd_trace");
	skel->rodata->track_unmaps = true;
	if (iommufd_trace_bpf__load(skel))
		die("load iommufd_trace");
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), count_event,
			      NULL, NULL);
	if (!rb || pthread_create(&th, NULL, drain, rb))
		die("ring buffer");

	var.trace = skel;
	var.ring = ring_buffer__ring(rb, 0);
	var.top = load_stats(false);
	var.latency = load_stats(true);
	var.empty = empty_hooks_bpf__open_and_load();
	if (!var.empty)
		die("load empty_hooks");

	printf("{\"trace.blocks\":%u,\"trace.ops_per_block\":%u,", blocks, ops);
	run("4k", 4096, blocks, ops, &var);
	run("2m", 2u << 20, blocks, ops / 4 ?: 1, &var);

	atomic_store(&stop_drain, 1);
	pthread_join(th, NULL);
	if (percpu_counters_read(bpf_map__fd(skel->maps.counters), cnt,
				 IOMMUFD_CNT_MAX))
		die("read counters");
	printf("\"trace.events_produced\":%llu,\"trace.events_delivered\":%llu,"
	       "\"trace.events_dropped\":%llu,\"trace.unaccounted_events\":%lld}\n",
	       (unsigned long long)cnt[IOMMUFD_CNT_PRODUCED],
	       (unsigned long long)delivered,
	       (unsigned long long)cnt[IOMMUFD_CNT_DROPPED],
	       (long long)(cnt[IOMMUFD_CNT_PRODUCED] - delivered -
			   cnt[IOMMUFD_CNT_DROPPED] - cnt[IOMMUFD_CNT_FILTERED]));
	return 0;
}
