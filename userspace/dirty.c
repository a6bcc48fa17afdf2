// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd-bpf dirty: dirty rate, hottest regions and a pre-copy forecast
 * for HWPTs with IOMMU dirty tracking.
 *
 * It watches the dirty-bitmap harvests other processes (a VMM's pre-copy
 * loop) make and reports each one, from the BPF side's in-kernel
 * aggregation: bitmap bits per region and HWPT, counted from the runs the
 * IOMMU driver reports.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "common.h"
#include "json_writer.h"
#include "dirty_forecast.h"
#include "iommufd_dirty.h"
#include "iommufd_dirty.skel.h"
#include "kernel_features.h"
#include "percpu_counters.h"
#include "subcommands.h"

#define MAX_TOP 16

/* What the fallback follows and what it lacks */
#define DIRTY_FALLBACK_LINE \
	"harvests, their dirty pages and regions from fentry/fexit on the dirty-bitmap ioctl and iova_bitmap_set; missing: the harvests' IOTLB flushes"

static struct dirty_opts {
	struct common_opts common;	/* -p, -d, -v */
	uint32_t hwpt_id;
	double bandwidth;
	uint64_t downtime_ns;
	uint64_t region_size;
	uint32_t top;
	uint32_t count;
	bool json;
	bool fallback;
} opts = {
	.bandwidth = 10e9 / 8,
	.downtime_ns = 300000000ULL,
	.region_size = 2ULL << 20,
	.top = 3,
};

/* -d: when to stop (0: never); SIGINT and SIGTERM set exit_requested */
static uint64_t deadline;

static bool stopping(void)
{
	return exit_requested || (deadline && monotonic_ns() >= deadline);
}

enum { OPT_HWPT = 0x100, OPT_BANDWIDTH, OPT_DOWNTIME, OPT_REGION, OPT_TOP,
       OPT_FALLBACK };

static const struct argp_option options[] = {
	{ "hwpt", OPT_HWPT, "ID", 0, "Watch only this HWPT id (ids are per iommufd context: give -p too)", 0 },
	{ "bandwidth", OPT_BANDWIDTH, "RATE", 0, "Migration link for the forecast (default 10Gbit/s)", 0 },
	{ "downtime", OPT_DOWNTIME, "TIME", 0, "Longest allowed stop-and-copy (default 300ms)", 0 },
	{ "region-size", OPT_REGION, "SIZE", 0, "Aggregation granule, a power of two (default 2MiB)", 0 },
	{ "top", OPT_TOP, "N", 0, "Hottest regions to show per harvest (default 3, at most 16)", 0 },
	{ "json", 'j', NULL, 0, "One JSON object per line instead of text", 0 },
	{ "fallback", OPT_FALLBACK, NULL, 0, "Watch as on a kernel without the iommufd-bpf series (fentry/fexit on the dirty-bitmap ioctl and iova_bitmap_set), even where the series is there: to compare the two", 0 },
	{},
};

static const char doc[] =
	"Measure how fast devices dirty memory through IOMMU dirty tracking, and\n"
	"forecast whether live migration's pre-copy converges.\n"
	"\n"
	"It watches the dirty-bitmap harvests (IOMMU_HWPT_GET_DIRTY_BITMAP) other\n"
	"processes make, a VMM's pre-copy loop, and reports each one: dirty pages\n"
	"and bytes, the dirty rate since that HWPT's previous harvest, the hottest\n"
	"regions, the harvest's cost, and a forecast: how many pre-copy passes\n"
	"until what is left fits the downtime on the link, or \"will not\n"
	"converge\". The first harvest seen of a HWPT has no rate, so no forecast.\n"
	"Pages and regions are counted in the kernel from the dirty runs the IOMMU\n"
	"driver reports; nothing per page is copied out.\n"
	"\n"
	"On a kernel without the iommufd-bpf series the harvests are followed\n"
	"from fentry/fexit on the ioctl's handler and on iova_bitmap_set(), where\n"
	"drivers record each dirty IOPTE: pages, regions, rate and forecast are\n"
	"the same; the harvest's IOTLB flushes are unknown ('?', null in JSON).\n"
	"\n"
	"EXAMPLES:\n"
	"  iommufd-bpf dirty -p $(pidof qemu-system-x86_64) --bandwidth 25Gbit\n"
	"  iommufd-bpf dirty -p 4242 --hwpt 5 --downtime 50ms --json 10\n"
	"  iommufd-bpf dirty --region-size 1G -d 1m   # every HWPT, for a minute\n"
	"\n"
	"Positional [COUNT]: stop after COUNT harvests. -d TIME stops it after\n"
	"TIME, and SIGINT at any time.\n"
	"Exit status: 0 on success (also when ended by SIGINT/SIGTERM), 1 on\n"
	"failure, 2 on bad usage.\n";

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	uint64_t size;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &opts.common;
		break;
	case OPT_HWPT:
		if (parse_u32(arg, &opts.hwpt_id) || !opts.hwpt_id)
			argp_error(state, "--hwpt: '%s' is not an object id", arg);
		break;
	case OPT_BANDWIDTH:
		if (parse_rate(arg, &opts.bandwidth) || opts.bandwidth <= 0)
			argp_error(state, "--bandwidth: '%s' is not a link speed (e.g. 10Gbit/s)", arg);
		break;
	case OPT_DOWNTIME:
		if (parse_duration(arg, &opts.downtime_ns))
			argp_error(state, "--downtime: '%s' is not a duration (e.g. 300ms)", arg);
		break;
	case OPT_REGION:
		if (parse_size(arg, &size) || size < 4096 || (size & (size - 1)))
			argp_error(state, "--region-size: '%s' is not a power of two >= 4KiB", arg);
		opts.region_size = size;
		break;
	case OPT_TOP:
		if (parse_u32(arg, &opts.top) || opts.top > MAX_TOP)
			argp_error(state, "--top: '%s' is not a number from 0 to %d", arg, MAX_TOP);
		break;
	case 'j':
		opts.json = true;
		break;
	case OPT_FALLBACK:
		opts.fallback = true;
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			argp_error(state, "unexpected argument '%s'", arg);
		if (parse_u32(arg, &opts.count) || !opts.count)
			argp_error(state, "count: '%s' is not a positive number of harvests", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Cumulative bits per region of one HWPT, sorted by region */
struct region_count {
	uint64_t region;
	uint64_t bits;
};

struct region_snapshot {
	struct region_count *r;
	size_t n;
};

static int cmp_region(const void *a, const void *b)
{
	const struct region_count *x = a, *y = b;

	return x->region < y->region ? -1 : x->region > y->region;
}

static int cmp_hotter(const void *a, const void *b)
{
	const struct region_count *x = a, *y = b;

	if (x->bits != y->bits)
		return x->bits > y->bits ? -1 : 1;
	return cmp_region(a, b);
}

static int snapshot_regions(int map_fd, int32_t owner, uint32_t hwpt,
			    struct region_snapshot *s)
{
	struct iommufd_dirty_region_key key, next, *prev = NULL;
	size_t cap = 0;
	uint64_t bits;

	s->n = 0;
	while (!bpf_map_get_next_key(map_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (key.owner_tgid != owner || key.hwpt_id != hwpt)
			continue;
		if (bpf_map_lookup_elem(map_fd, &key, &bits))
			continue;
		if (s->n == cap) {
			struct region_count *r;

			cap = cap ? 2 * cap : 256;
			r = realloc(s->r, cap * sizeof(*r));
			if (!r)
				return -ENOMEM;
			s->r = r;
		}
		s->r[s->n].region = key.region;
		s->r[s->n].bits = bits;
		s->n++;
	}
	qsort(s->r, s->n, sizeof(*s->r), cmp_region);
	return 0;
}

/*
 * Bits per region since @old, hottest first, into @out (at most @max);
 * returns how many regions had any.
 */
static size_t region_deltas(const struct region_snapshot *old,
			    const struct region_snapshot *cur,
			    struct region_count *out, size_t max)
{
	struct region_count *all;
	size_t i, j = 0, n = 0;

	all = calloc(cur->n ? cur->n : 1, sizeof(*all));
	if (!all)
		return 0;
	for (i = 0; i < cur->n; i++) {
		uint64_t before = 0;

		while (j < old->n && old->r[j].region < cur->r[i].region)
			j++;
		if (j < old->n && old->r[j].region == cur->r[i].region)
			before = old->r[j].bits;
		if (cur->r[i].bits > before) {
			all[n].region = cur->r[i].region;
			all[n].bits = cur->r[i].bits - before;
			n++;
		}
	}
	qsort(all, n, sizeof(*all), cmp_hotter);
	memcpy(out, all, (n < max ? n : max) * sizeof(*out));
	free(all);
	return n;
}

/* What one harvest found, from its BPF record */
struct iteration {
	uint64_t number;
	int32_t owner_tgid;
	uint32_t hwpt_id;
	uint64_t length;	/* IOVA harvested */
	uint64_t page_size;
	uint64_t dirty_pages;	/* bits of the dirty runs the driver reported */
	uint64_t window_ns;	/* time the device had to dirty them */
	uint64_t harvest_ns;
	uint64_t flushes;	/* IOTLB flushes the harvest did */
	bool flushes_absent;	/* ... not known on this kernel */
	int ret;
	struct region_count top[MAX_TOP];
	size_t ntop, nregions;
};

/* A size as format_size() writes it */
static void print_size(FILE *f, double bytes)
{
	char buf[32];

	fputs(format_size(bytes, buf, sizeof(buf)), f);
}

static void print_forecast(double rate, const struct dirty_forecast *fc)
{
	printf("      forecast at ");
	print_size(stdout, opts.bandwidth);
	printf("/s, downtime %.0f ms: ", opts.downtime_ns / 1e6);
	if (fc->converges) {
		printf("converges after %u pre-copy pass%s, last ", fc->passes,
		       fc->passes == 1 ? "" : "es");
		print_size(stdout, fc->final_bytes);
		printf(" in %.1f ms of downtime, %.1f s in all\n",
		       fc->downtime_s * 1e3, fc->total_s);
	} else if (rate >= opts.bandwidth) {
		printf("will not converge: device dirties ");
		print_size(stdout, rate);
		printf("/s, link sends ");
		print_size(stdout, opts.bandwidth);
		printf("/s\n");
	} else {
		printf("will not converge within %u passes (", fc->passes);
		print_size(stdout, fc->final_bytes);
		printf(" still dirty)\n");
	}
}

/*
 * A harvest without a window (the first seen of its HWPT) has no rate, so
 * no forecast either: a rate of 0 would forecast convergence at once.
 */
static void report(const struct iteration *it)
{
	double bytes = (double)it->dirty_pages * it->page_size;
	double rate = it->window_ns ? bytes * 1e9 / it->window_ns : 0;
	struct dirty_forecast_input in = {
		.memory_bytes = it->length,
		.dirty_rate = rate,
		.bandwidth = opts.bandwidth,
		.downtime_s = opts.downtime_ns / 1e9,
	};
	struct dirty_forecast fc;
	size_t i;

	dirty_forecast(&in, &fc);
	if (opts.json) {
		struct json_writer w;

		json_begin(&w, stdout);
		json_str(&w, "type", "iteration");
		json_u64(&w, "iteration", it->number);
		json_s64(&w, "owner_tgid", it->owner_tgid);
		json_u64(&w, "hwpt_id", it->hwpt_id);
		json_u64(&w, "length", it->length);
		json_u64(&w, "page_size", it->page_size);
		json_u64(&w, "dirty_pages", it->dirty_pages);
		json_fixed(&w, "dirty_bytes", bytes, 0);
		json_u64(&w, "window_ns", it->window_ns);
		if (it->window_ns)
			json_fixed(&w, "dirty_rate_bps", rate, 0);
		else
			json_null(&w, "dirty_rate_bps");
		json_u64(&w, "harvest_ns", it->harvest_ns);
		if (it->flushes_absent)
			json_null(&w, "iotlb_flushes");
		else
			json_u64(&w, "iotlb_flushes", it->flushes);
		json_s64(&w, "ret", it->ret);
		json_u64(&w, "regions_dirty", it->nregions);
		json_array(&w, "hot_regions");
		for (i = 0; i < it->ntop; i++) {
			json_object(&w, NULL);
			json_u64(&w, "iova", it->top[i].region * opts.region_size);
			json_u64(&w, "pages", it->top[i].bits);
			json_object_end(&w);
		}
		json_array_end(&w);
		if (it->window_ns) {
			/* The link and the downtime allowed, then the forecast */
			json_object(&w, "forecast");
			json_fixed(&w, "bandwidth_bps", opts.bandwidth, 0);
			json_u64(&w, "max_downtime_ns", opts.downtime_ns);
			dirty_forecast_json(&w, &fc);
			json_object_end(&w);
		} else {
			json_null(&w, "forecast");
		}
		json_end(&w);
		fflush(stdout);
		return;
	}
	printf("#%-4llu tgid %d hwpt %u: %llu pages (", (unsigned long long)it->number,
	       it->owner_tgid, it->hwpt_id, (unsigned long long)it->dirty_pages);
	print_size(stdout, bytes);
	if (it->window_ns) {
		printf(") dirty in %.2fs, ", it->window_ns / 1e9);
		print_size(stdout, rate);
		printf("/s; harvest of ");
	} else {
		printf(") dirty, no earlier harvest seen: no rate; harvest of ");
	}
	print_size(stdout, it->length);
	if (it->flushes_absent)
		printf(" took %.2f ms, ? IOTLB flushes%s\n", it->harvest_ns / 1e6,
		       it->ret ? ", and FAILED" : "");
	else
		printf(" took %.2f ms, %llu IOTLB flush%s%s\n",
		       it->harvest_ns / 1e6, (unsigned long long)it->flushes,
		       it->flushes == 1 ? "" : "es",
		       it->ret ? ", and FAILED" : "");
	if (it->ntop) {
		printf("      hottest of %zu regions:", it->nregions);
		for (i = 0; i < it->ntop; i++)
			printf(" 0x%llx:%llu", (unsigned long long)(it->top[i].region *
							      opts.region_size),
			       (unsigned long long)it->top[i].bits);
		printf(" pages\n");
	}
	if (it->window_ns)
		print_forecast(rate, &fc);
	fflush(stdout);
}

/* What watching remembers of one HWPT between its harvests */
struct watched_hwpt {
	int32_t owner_tgid;
	uint32_t hwpt_id;
	uint64_t prev_ts;
	struct region_snapshot prev;
};

#define MAX_WATCHED 256

/* BPF records of harvests, reported as they come */
struct harvest_sink {
	uint64_t records, gaps;
	struct iommufd_dirty_bpf *skel;
	struct watched_hwpt watched[MAX_WATCHED];
	size_t nwatched;
	uint64_t number;
};

/* The watched HWPT for a record, or NULL when too many are watched */
static struct watched_hwpt *watched(struct harvest_sink *s, int32_t owner,
				    uint32_t hwpt)
{
	struct watched_hwpt *w;
	size_t i;

	for (i = 0; i < s->nwatched; i++)
		if (s->watched[i].owner_tgid == owner &&
		    s->watched[i].hwpt_id == hwpt)
			return &s->watched[i];
	if (s->nwatched == MAX_WATCHED)
		return NULL;
	w = &s->watched[s->nwatched++];
	w->owner_tgid = owner;
	w->hwpt_id = hwpt;
	return w;
}

static void watch_report(struct harvest_sink *s,
			 const struct iommufd_dirty_harvest *h)
{
	struct watched_hwpt *w = watched(s, h->owner_tgid, h->hwpt_id);
	struct region_snapshot cur = {};
	struct iteration it = {};

	it.number = ++s->number;
	it.owner_tgid = h->owner_tgid;
	it.hwpt_id = h->hwpt_id;
	it.length = h->length;
	it.page_size = h->page_size;
	it.dirty_pages = h->range_bits;
	it.harvest_ns = h->duration_ns;
	it.flushes = h->flushes;
	it.flushes_absent = h->absent & IOMMUFD_DIRTY_ABSENT_FLUSHES;
	it.ret = h->ret;
	/*
	 * The window is the time since this HWPT's previous harvest; the
	 * first one seen has none, and past MAX_WATCHED HWPTs neither
	 * windows nor regions are kept.
	 */
	if (w) {
		it.window_ns = w->prev_ts ? h->ts_ns - w->prev_ts : 0;
		w->prev_ts = h->ts_ns;
	}
	if (w && !snapshot_regions(bpf_map__fd(s->skel->maps.regions),
				   h->owner_tgid, h->hwpt_id, &cur)) {
		it.nregions = region_deltas(&w->prev, &cur, it.top, opts.top);
		it.ntop = it.nregions < opts.top ? it.nregions : opts.top;
		free(w->prev.r);
		w->prev = cur;
	}
	report(&it);
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct harvest_sink *s = ctx;
	const struct iommufd_dirty_harvest *h = data;

	if (len < sizeof(*h))
		return 0;
	s->records++;
	watch_report(s, h);
	if (opts.count && s->records >= opts.count)
		exit_requested = 1;
	return 0;
}

static int print_accounting(struct iommufd_dirty_bpf *skel,
			    struct harvest_sink *s)
{
	__u64 c[IOMMUFD_DIRTY_CNT_MAX];
	int err;

	err = percpu_counters_read(bpf_map__fd(skel->maps.counters), c,
				   IOMMUFD_DIRTY_CNT_MAX);
	if (err) {
		warnx_("cannot read the harvest counters: %s", strerror(-err));
		return err;
	}
	s->gaps = records_lost(skel->bss->next_seq, s->records);
	fprintf(stderr, "iommufd-bpf: harvests produced %llu, delivered %llu, "
		"dropped %llu, filtered %llu, not followed %llu; region bits "
		"lost %llu; dirty runs outside a harvest %llu\n",
		(unsigned long long)c[IOMMUFD_DIRTY_CNT_PRODUCED],
		(unsigned long long)s->records,
		(unsigned long long)c[IOMMUFD_DIRTY_CNT_DROPPED],
		(unsigned long long)c[IOMMUFD_DIRTY_CNT_FILTERED],
		(unsigned long long)c[IOMMUFD_DIRTY_CNT_UNTRACKED],
		(unsigned long long)c[IOMMUFD_DIRTY_CNT_REGION_LOST],
		(unsigned long long)c[IOMMUFD_DIRTY_CNT_STRAY_RANGES]);
	if (c[IOMMUFD_DIRTY_CNT_PRODUCED] != s->records +
	    c[IOMMUFD_DIRTY_CNT_DROPPED] + c[IOMMUFD_DIRTY_CNT_FILTERED] ||
	    s->gaps != c[IOMMUFD_DIRTY_CNT_DROPPED]) {
		warnx_("harvest records do not add up (sequence gaps %llu)",
		       (unsigned long long)s->gaps);
		return -EPROTO;
	}
	return 0;
}

/*
 * Whether the fallback follows the harvests on this kernel, after saying
 * so; -1 after saying why neither can
 */
static int choose_source(void)
{
	struct kernel_features kf;

	if (kernel_features_probe(&kf)) {
		warnx_("no kernel BTF at /sys/kernel/btf/vmlinux: the kernel needs CONFIG_DEBUG_INFO_BTF=y");
		return -1;
	}
	if (kf.dirty_events && !opts.fallback)
		return 0;
	if (!kf.dirty_ioctl) {
		warnx_("this kernel has neither the iommufd-bpf series' dirty events nor the functions the fallback attaches to (iommufd_hwpt_get_dirty_bitmap, iova_bitmap_set): it needs CONFIG_IOMMUFD=y ('iommufd-bpf probe' lists what this kernel offers)");
		return -1;
	}
	if (kf.dirty_events)
		fprintf(stderr, "iommufd-bpf dirty: --fallback: %s\n",
			DIRTY_FALLBACK_LINE);
	else
		report_reduced_mode("dirty", DIRTY_FALLBACK_LINE);
	return 1;
}

/* The fallback's programs instead of the series' (every tp_btf one) */
static void select_fallback(struct iommufd_dirty_bpf *skel)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog,
			!strncmp(bpf_program__name(prog), "fallback_", 9));
}

int cmd_dirty(int argc, char **argv)
{
	static const struct argp_child children[] = { COMMON_ARGP_CHILD, {} };
	static const struct argp argp = {
		.options = options, .parser = parse_arg,
		.args_doc = "[COUNT]", .doc = doc,
		.children = children,
	};
	struct harvest_sink sink = {};
	struct iommufd_dirty_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	int err, fallback;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return EXIT_USAGE;
	setup_libbpf_logging();
	if (check_bpf_privileges())
		return EXIT_FAIL;
	fallback = choose_source();
	if (fallback < 0)
		return EXIT_FAIL;
	catch_exit_signals();

	skel = iommufd_dirty_bpf__open();
	if (!skel) {
		err = -errno;
		warnx_("cannot open the BPF object: %s", strerror(errno));
		goto cleanup;
	}
	skel->rodata->filter_owner_tgid = opts.common.owner_tgid;
	skel->rodata->filter_hwpt_id = opts.hwpt_id;
	skel->rodata->region_shift = __builtin_ctzll(opts.region_size);
	if (fallback)
		select_fallback(skel);
	else
		bpf_map__set_max_entries(skel->maps.harvest_calls, 1);
	err = iommufd_dirty_bpf__load(skel);
	if (!err)
		err = iommufd_dirty_bpf__attach(skel);
	if (err) {
		warnx_("cannot load and attach the BPF programs: %s (try -v)",
		       strerror(-err));
		goto cleanup;
	}
	sink.skel = skel;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.harvests), on_record,
			      &sink, NULL);
	if (!rb) {
		err = -errno;
		warnx_("cannot set up the ring buffer: %s", strerror(errno));
		goto cleanup;
	}
	if (drop_all_capabilities()) {
		err = -EPERM;
		goto cleanup;
	}
	if (opts.common.duration_ns)
		deadline = monotonic_ns() + opts.common.duration_ns;

	/* stderr: JSON consumers of stdout do not see it */
	fprintf(stderr, "iommufd-bpf: watching dirty bitmap harvests; Ctrl-C to stop\n");
	while (!stopping()) {
		err = ring_buffer__poll(rb, 200);
		/* A stop and continue (^Z, fg) interrupts the wait too */
		if (err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0) {
			warnx_("ring buffer: %s", strerror(-err));
			break;
		}
		err = 0;
	}
	iommufd_dirty_bpf__detach(skel);
	ring_buffer__consume(rb);
	if (print_accounting(skel, &sink) && !err)
		err = -EPROTO;

cleanup:
	ring_buffer__free(rb);
	iommufd_dirty_bpf__destroy(skel);
	for (size_t i = 0; i < sink.nwatched; i++)
		free(sink.watched[i].prev.r);
	return err ? EXIT_FAIL : EXIT_OK;
}
