// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_trace_overhead: what tracing costs an IOAS map + unmap.
 *
 * A mock device is attached, so every map pins and fills the domain and
 * every unmap flushes and unpins: the real path. Variants run side by side
 * in interleaved blocks: "off" with nothing attached; three tracers, each
 * with a thread consuming its ring buffer and formatting every record as
 * 'iommufd-bpf trace --json' does: "trace" with the tool's defaults,
 * "trace.lossless" with a ring no block can fill, "trace.filtered" with
 * an owner filter that matches nothing (the programs run, no record is
 * written); "top" with iommufd_stats counting in the kernel as
 * 'iommufd-bpf top' does, "latency" with its histograms on as 'hist' and
 * 'metrics' do, and "empty", programs that do nothing on the same events:
 * the floor. For kernels without the series, "fallback.trace" is 'trace' as
 * it runs there (fentry/fexit on the IOAS ioctl handlers, the same
 * consumer) beside "trace.ioas", the series' tracer on the same three
 * events (-e ioas_map,ioas_unmap,ioas_copy), and "fallback.top" is 'top'
 * as it counts there: all in the same boot, as ratios. On a kernel without
 * the series (the stock kernel) only those two fallbacks can load: they
 * run beside "off" as "stock.trace" and "stock.top". Each block times
 * BLOCK_OPS map+unmap pairs; the figure is the
 * median block, a ratio is median(variant)/median(off). A tracer's block
 * is the traced process's own time: the consumer's CPU time is taken out
 * and reported per record. Then a burst of BURST_OPS pairs with the tool's
 * defaults says how much of it the default ring delivers. Run it on one
 * vCPU (tools/bench.sh does), where boots repeat to 0.1 %.
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
#include "event_format.h"
#include "kernel_features.h"
#include "stats_sources.h"
#include "trace_sources.h"
#include "blocks.h"

#define IOVA (1UL << 24)
/* The burst of the default tracer: 1,500 pairs, 3,000 records */
#define BURST_OPS 1500
/* A ring for the lossless tracer that no block of the bench can fill */
#define LOSSLESS_RING (64u << 20)

static int fd;
static uint32_t ioas_id;
static atomic_int stop_drain;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* A tracer: its programs, its ring and what its consumer delivered */
struct tracer {
	struct iommufd_trace_bpf *skel;
	struct ring *ring;
	uint64_t delivered;
	uint64_t consumer_ns;	/* its consumer's CPU time over its blocks */
};

static FILE *sink;		/* /dev/null, fully buffered, as a file is */
static clockid_t drain_clock;	/* the consumer thread's CPU time */

/* The tool's consumer: every record formatted as a JSON line */
static int consume_event(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;

	t->delivered++;
	print_event_json(sink, data, size);
	return 0;
}

static void *drain(void *arg)
{
	struct ring_buffer *rb = arg;

	/* As the tool: woken every 1,024 records, else at each tick */
	while (!atomic_load(&stop_drain))
		if (ring_buffer__poll(rb, 100) == 0)
			ring_buffer__consume(rb);
	ring_buffer__consume(rb);
	return NULL;
}

static void pairs(void *buf, size_t len, unsigned int ops)
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
	unsigned int i;

	for (i = 0; i < ops; i++) {
		if (ioctl(fd, IOMMU_IOAS_MAP, &map))
			die("IOMMU_IOAS_MAP");
		if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
			die("IOMMU_IOAS_UNMAP");
	}
}

/*
 * Attaching and detaching programs leaves work behind (links freed from a
 * workqueue, probe arrays after an RCU grace period, fentry/fexit
 * trampolines after an RCU-tasks one), and the consumer may still be
 * finishing its last tick: let it all run before a block starts, or it is
 * charged to whichever variant comes next. 20 ms was not enough for the
 * trampolines: a variant run after a fentry one took up to 7 % more in
 * some boots and not in others (1.195 against 1.126); with 200 ms every
 * variant agrees across boots. Idle guest time is skipped under -icount:
 * the wait costs no real time.
 */
static void settle(void)
{
	usleep(200000);
}

/* Wait for the consumer to empty @ring */
static void drained(struct ring *ring)
{
	while (ring__avail_data_size(ring))
		usleep(100);
}

/*
 * ns per map+unmap pair over one block, of the traced process's own
 * instructions. Under -icount guest time counts every CPU's instructions,
 * so with @t the consumer's CPU time during the block is taken out (on
 * hardware it runs beside the traced process, not in its way) and kept
 * apart, with the rest of its work until the ring is empty: what the
 * consumer costs per record is a figure of its own.
 */
static double block(void *buf, size_t len, unsigned int ops, struct tracer *t)
{
	uint64_t t0, c0, wall;

	settle();
	t0 = clock_ns(CLOCK_MONOTONIC);
	c0 = t ? clock_ns(drain_clock) : 0;

	pairs(buf, len, ops);
	wall = clock_ns(CLOCK_MONOTONIC) - t0;
	if (t) {
		wall -= clock_ns(drain_clock) - c0;
		drained(t->ring);
		t->consumer_ns += clock_ns(drain_clock) - c0;
	}
	return (double)wall / ops;
}

/* Spread: (p90 - p10) / median, in percent */
static double spread(double *v, unsigned int n)
{
	double m = median(v, n);

	return 100.0 * (v[n * 9 / 10] - v[n / 10]) / m;
}

/* What one boot measures; on the stock kernel only the fallbacks load */
struct variants {
	bool stock;
	struct tracer trace, lossless, filtered, ioas, fallback;
	struct iommufd_stats_bpf *top, *top_fallback;
	struct iommufd_stats_bpf *latency;
	struct empty_hooks_bpf *empty;
};

/* "PREFIXmap_unmap_NAME_ns" etc.: PREFIX is "top." or "trace.lossless_" */
static void print_figures(const char *prefix, const char *name, double *v,
			  double *off, unsigned int blocks)
{
	double m = median(v, blocks), m_off = median(off, blocks);

	printf("\"%smap_unmap_%s_ns\":%.0f,\"%smap_unmap_%s_spread_pct\":%.1f,"
	       "\"%smap_unmap_%s_ratio\":%.4f,",
	       prefix, name, m, prefix, name, spread(v, blocks), prefix, name,
	       m / m_off);
}

/* A tracer's block; 0 when the variant is not loaded in this boot */
static double trace_block(struct tracer *t, void *buf, size_t len,
			  unsigned int ops)
{
	double v;

	if (!t->skel)
		return 0;
	if (iommufd_trace_bpf__attach(t->skel))
		die("attach trace");
	v = block(buf, len, ops, t);
	iommufd_trace_bpf__detach(t->skel);
	return v;
}

/*
 * Where a variant's cost goes: with the kernel's run-time statistics on
 * (a separate pass, as they add two clock reads per run), the guest ns per
 * run of each program, without the tracepoint's dispatch to it.
 */
static void profile(const char *prefix, struct bpf_object *obj,
		    struct tracer *t, void *buf, size_t len, unsigned int ops)
{
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	struct bpf_link *links[64];
	struct bpf_program *prog;
	unsigned int n = 0, i;

	if (stats_fd < 0)
		die("BPF_ENABLE_STATS");
	/* Only what the variant loaded: not the fallback's programs */
	bpf_object__for_each_program(prog, obj) {
		if (bpf_program__fd(prog) < 0)
			continue;
		if (n == 64 || !(links[n++] = bpf_program__attach(prog)))
			die("attach for profile");
	}
	block(buf, len, ops, t);
	for (i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	close(stats_fd);
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 info_len = sizeof(info);

		if (bpf_program__fd(prog) < 0)
			continue;
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

/* A block with 'top' counting in the kernel; 0 when it is not loaded */
static double stats_block(struct iommufd_stats_bpf *skel, void *buf,
			  size_t len, unsigned int ops)
{
	double v;

	if (!skel)
		return 0;
	if (iommufd_stats_bpf__attach(skel))
		die("attach iommufd_stats");
	v = block(buf, len, ops, NULL);
	iommufd_stats_bpf__detach(skel);
	return v;
}

static void run(const char *name, size_t len, unsigned int blocks,
		unsigned int ops, struct variants *var)
{
	double off[blocks], trace[blocks], lossless[blocks], filtered[blocks];
	double top[blocks], lat[blocks], empty[blocks], ioas[blocks];
	double fallback[blocks], top_fallback[blocks];
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
		trace[b] = trace_block(&var->trace, buf, len, ops);
		lossless[b] = trace_block(&var->lossless, buf, len, ops);
		filtered[b] = trace_block(&var->filtered, buf, len, ops);
		ioas[b] = trace_block(&var->ioas, buf, len, ops);
		fallback[b] = trace_block(&var->fallback, buf, len, ops);
		top[b] = stats_block(var->top, buf, len, ops);
		top_fallback[b] = stats_block(var->top_fallback, buf, len, ops);
		lat[b] = stats_block(var->latency, buf, len, ops);
		empty[b] = 0;
		if (var->empty) {
			if (empty_hooks_bpf__attach(var->empty))
				die("attach empty");
			empty[b] = block(buf, len, ops, NULL);
			empty_hooks_bpf__detach(var->empty);
		}
		off[b] = block(buf, len, ops, NULL);
	}
	if (var->stock) {
		printf("\"stock.map_unmap_%s_off_ns\":%.0f,\"stock.map_unmap_%s_off_spread_pct\":%.1f,",
		       name, median(off, blocks), name, spread(off, blocks));
		print_figures("stock.trace.", name, fallback, off, blocks);
		print_figures("stock.top.", name, top_fallback, off, blocks);
		if (len == 4096) {
			profile("stock.top", var->top_fallback->obj, NULL, buf,
				len, ops);
			profile("stock.trace", var->fallback.skel->obj,
				&var->fallback, buf, len, ops);
		}
		return;
	}
	printf("\"trace.map_unmap_%s_off_ns\":%.0f,\"trace.map_unmap_%s_off_spread_pct\":%.1f,",
	       name, median(off, blocks), name, spread(off, blocks));
	print_figures("trace.", name, trace, off, blocks);
	print_figures("trace.lossless_", name, lossless, off, blocks);
	print_figures("trace.filtered_", name, filtered, off, blocks);
	print_figures("trace.ioas_", name, ioas, off, blocks);
	print_figures("fallback.trace.", name, fallback, off, blocks);
	print_figures("top.", name, top, off, blocks);
	print_figures("fallback.top.", name, top_fallback, off, blocks);
	print_figures("latency.", name, lat, off, blocks);
	print_figures("empty.", name, empty, off, blocks);
	if (len == 4096) {
		profile("top", var->top->obj, NULL, buf, len, ops);
		profile("trace", var->trace.skel->obj, &var->trace, buf, len,
			ops);
	}
}

/* What the default tracer delivers of a burst */
static void burst(struct tracer *t, unsigned int ops)
{
	__u64 before[IOMMUFD_CNT_MAX], after[IOMMUFD_CNT_MAX];
	uint64_t delivered = t->delivered;
	void *buf;

	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	if (trace_counters_read(t->skel, before))
		die("read counters");
	if (iommufd_trace_bpf__attach(t->skel))
		die("attach trace");
	pairs(buf, 4096, ops);
	iommufd_trace_bpf__detach(t->skel);
	drained(t->ring);
	if (trace_counters_read(t->skel, after))
		die("read counters");
	delivered = t->delivered - delivered;
	printf("\"trace.burst_ops\":%u,\"trace.burst_events\":%llu,"
	       "\"trace.default_delivered_pct\":%.1f,",
	       ops, (unsigned long long)(after[IOMMUFD_CNT_PRODUCED] -
					 before[IOMMUFD_CNT_PRODUCED]),
	       100.0 * delivered / (after[IOMMUFD_CNT_PRODUCED] -
				    before[IOMMUFD_CNT_PRODUCED]));
	munmap(buf, 4096);
}

/*
 * A tracer loaded as 'iommufd-bpf trace' loads it: every event, or with
 * @events (IOMMUFD_EV_MASK_FALLBACK_IOAS) only those, from the fallback's
 * programs with @fallback
 */
static void load_tracer_of(struct tracer *t, struct ring_buffer **rb,
			   uint32_t ring_bytes, __s32 owner, __u32 events,
			   bool fallback)
{
	static unsigned int nr_rings;
	struct kernel_features kf;

	t->skel = iommufd_trace_bpf__open();
	if (!t->skel)
		die("open iommufd_trace");
	t->skel->rodata->track_unmaps = !events;
	t->skel->rodata->filter_owner_tgid = owner;
	if (events) {
		if (kernel_features_probe(&kf))
			die("kernel BTF");
		t->skel->rodata->event_mask = events;
		trace_select_programs(t->skel, &kf, events, fallback);
	}
	if (ring_bytes &&
	    bpf_map__set_max_entries(t->skel->maps.events, ring_bytes))
		die("ring size");
	if (iommufd_trace_bpf__load(t->skel))
		die("load iommufd_trace");
	if (!*rb)
		*rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events),
				       consume_event, t, NULL);
	else if (ring_buffer__add(*rb, bpf_map__fd(t->skel->maps.events),
				  consume_event, t))
		*rb = NULL;
	if (!*rb)
		die("ring buffer");
	t->ring = ring_buffer__ring(*rb, nr_rings++);
}

static void load_tracer(struct tracer *t, struct ring_buffer **rb,
			uint32_t ring_bytes, __s32 owner)
{
	load_tracer_of(t, rb, ring_bytes, owner, 0, false);
}

/* Its records: produced = delivered + dropped + filtered, or a complaint */
static void print_accounting(const char *prefix, struct tracer *t)
{
	__u64 cnt[IOMMUFD_CNT_MAX];

	if (trace_counters_read(t->skel, cnt))
		die("read counters");
	printf("\"%sevents_produced\":%llu,\"%sevents_delivered\":%llu,"
	       "\"%sevents_dropped\":%llu,\"%sunaccounted_events\":%lld,",
	       prefix, (unsigned long long)cnt[IOMMUFD_CNT_PRODUCED], prefix,
	       (unsigned long long)t->delivered, prefix,
	       (unsigned long long)cnt[IOMMUFD_CNT_DROPPED], prefix,
	       (long long)(cnt[IOMMUFD_CNT_PRODUCED] - t->delivered -
			   cnt[IOMMUFD_CNT_DROPPED] - cnt[IOMMUFD_CNT_FILTERED]));
}

/* iommufd_stats as 'top' (or with @latency 'hist') loads it */
static struct iommufd_stats_bpf *load_stats(bool latency, bool fallback)
{
	struct iommufd_stats_bpf *skel = iommufd_stats_bpf__open();
	struct kernel_features kf;

	if (!skel)
		die("open iommufd_stats");
	skel->rodata->collect_latency = latency;
	if (!latency) {
		bpf_map__set_max_entries(skel->maps.hist_stats, 1);
		bpf_map__set_max_entries(skel->maps.hist_retired, 1);
		bpf_map__set_max_entries(skel->maps.fault_times, 1);
		bpf_program__set_autoload(skel->progs.stats_fault_read, false);
	}
	/* The mock has no VT-d: its event never fires in the pair */
	bpf_program__set_autoload(skel->progs.stats_qi_wait, false);
	if (kernel_features_probe(&kf))
		die("kernel BTF");
	stats_select_programs(skel, &kf, fallback);
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
	struct variants var = {};
	struct ring_buffer *rb = NULL;
	struct kernel_features kf;
	pthread_t th;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0 || ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		die("/dev/iommu");
	ioas_id = alloc.out_ioas_id;
	mock.id = ioas_id;
	if (ioctl(fd, IOMMU_TEST_CMD, &mock))
		die("IOMMU_TEST_OP_MOCK_DOMAIN");
	sink = fopen("/dev/null", "w");
	if (!sink)
		die("/dev/null");

	if (kernel_features_probe(&kf))
		die("kernel BTF");
	var.stock = !kf.series;
	if (var.stock) {
		load_tracer_of(&var.fallback, &rb, 0, 0,
			       IOMMUFD_EV_MASK_FALLBACK_IOAS, true);
		if (pthread_create(&th, NULL, drain, rb) ||
		    pthread_getcpuclockid(th, &drain_clock))
			die("consumer thread");
		var.top_fallback = load_stats(false, true);
		printf("{\"stock.blocks\":%u,\"stock.ops_per_block\":%u,",
		       blocks, ops);
		run("4k", 4096, blocks, ops, &var);
		run("2m", 2u << 20, blocks, ops / 4 ?: 1, &var);
		print_accounting("stock.trace.", &var.fallback);
		printf("\"stock.kernel_has_series\":false}\n");
		atomic_store(&stop_drain, 1);
		pthread_join(th, NULL);
		return 0;
	}

	load_tracer(&var.trace, &rb, 0, 0);
	load_tracer(&var.lossless, &rb, LOSSLESS_RING, 0);
	/* pid 1 owns no iommufd context: every event is filtered */
	load_tracer(&var.filtered, &rb, 0, 1);
	load_tracer_of(&var.ioas, &rb, 0, 0, IOMMUFD_EV_MASK_FALLBACK_IOAS,
		       false);
	load_tracer_of(&var.fallback, &rb, 0, 0, IOMMUFD_EV_MASK_FALLBACK_IOAS,
		       true);
	if (pthread_create(&th, NULL, drain, rb) ||
	    pthread_getcpuclockid(th, &drain_clock))
		die("consumer thread");
	var.top = load_stats(false, false);
	var.top_fallback = load_stats(false, true);
	var.latency = load_stats(true, false);
	var.empty = empty_hooks_bpf__open();
	if (var.empty)
		/* Not one of the pair's events: it never fires on the mock */
		bpf_program__set_autoload(var.empty->progs.empty_qi_wait, false);
	if (var.empty && empty_hooks_bpf__load(var.empty)) {
		empty_hooks_bpf__destroy(var.empty);
		var.empty = NULL;
	}
	if (!var.empty)
		die("load empty_hooks");

	printf("{\"trace.blocks\":%u,\"trace.ops_per_block\":%u,", blocks, ops);
	run("4k", 4096, blocks, ops, &var);
	run("2m", 2u << 20, blocks, ops / 4 ?: 1, &var);
	print_accounting("trace.", &var.trace);
	print_accounting("trace.lossless_", &var.lossless);
	print_accounting("fallback.trace.", &var.fallback);
	/* Formatting a record as JSON, and being woken for it, in guest ns */
	printf("\"trace.consumer_ns_per_event\":%.0f,",
	       (double)var.lossless.consumer_ns / var.lossless.delivered);
	burst(&var.trace, BURST_OPS);
	printf("\"trace.default_ring_bytes\":%u}\n",
	       bpf_map__max_entries(var.trace.skel->maps.events));

	atomic_store(&stop_drain, 1);
	pthread_join(th, NULL);
	return 0;
}
