// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd-bpf hist: log2 latency histograms of IOAS map, unmap, copy, user
 * IOTLB invalidation, I/O page fault report-to-answer (and its queue and
 * handling steps) and the IOMMU's own invalidations, built in the kernel
 * (iommufd_stats) and printed like bcc's biolatency.
 */
#include <argp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "json_writer.h"
#include "stats.h"
#include "stats_sources.h"
#include "subcommands.h"

static struct hist_opts {
	struct common_opts common;
	uint64_t interval_ns;
	uint32_t count;
	uint32_t kinds;		/* bit per enum stats_hist_kind */
	bool kinds_given;	/* -k */
	bool per_owner;
	bool json;
	bool fallback;
} opts = {
	.kinds = (1u << STATS_HIST_MAX) - 1,
};

enum { OPT_PER_OWNER = 0x100, OPT_FALLBACK };

/*
 * The kinds the fallback times, from entry to exit of the ioctl handler;
 * fault too where iommufd has fault objects (report to answer), and its
 * two steps where the kernel's read of the fault fd can be followed
 */
#define FALLBACK_KINDS ((1u << STATS_HIST_MAP) | (1u << STATS_HIST_UNMAP) | \
			(1u << STATS_HIST_COPY))

static const struct argp_option options[] = {
	{ "kind", 'k', "LIST", 0, "Comma-separated kinds, named below (default all)", 0 },
	{ "per-owner", OPT_PER_OWNER, NULL, 0, "One histogram per context instead of their sum", 0 },
	{ "json", 'j', NULL, 0, "One JSON object per histogram", 0 },
	{ "fallback", OPT_FALLBACK, NULL, 0, "Time as on a kernel without the iommufd-bpf series (map, unmap and copy, fexit on the ioctl handlers), even where the series is there: to compare the two", 0 },
	{},
};

static const char doc[] =
	"Latency histograms (log2 buckets of nanoseconds) of iommufd operations:\n"
	"  map         IOMMU_IOAS_MAP / VFIO_IOMMU_MAP_DMA: pinning and mapping\n"
	"  unmap       IOMMU_IOAS_UNMAP / VFIO_IOMMU_UNMAP_DMA, with its IOTLB flushes\n"
	"  copy        IOMMU_IOAS_COPY: sharing pinned pages into another IOAS\n"
	"  invalidate  IOMMU_HWPT_INVALIDATE: a VMM's IOTLB flush of a nested HWPT\n"
	"  fault       I/O page fault group, from report to answer (by userspace\n"
	"              through the fault fd, or by a fault policy in the kernel)\n"
	"  fault_queue   the part of it before the VMM read the group from the\n"
	"                fault fd: its wake-up and scheduling\n"
	"  fault_handle  the part after the read: the VMM's (or guest's) handling\n"
	"  iotlb       the CPU's wait for an invalidation of the IOMMU's caches for\n"
	"              a domain of the context (VT-d queued invalidation), from\n"
	"              the doorbell to its completion\n"
	"\n"
	"EXAMPLES:\n"
	"  iommufd-bpf hist -d 10s           # every histogram after 10 seconds\n"
	"  iommufd-bpf hist -k map,unmap 5   # every 5 seconds, what those took\n"
	"  iommufd-bpf hist -p 1234 --per-owner --json -d 1m\n"
	"\n"
	"Without INTERVAL the histograms are printed once, at the end (Ctrl-C or\n"
	"-d); with it, each interval prints what happened in it. On a kernel\n"
	"without the iommufd-bpf series only map, unmap and copy (each from entry\n"
	"to exit of its ioctl handler), fault, fault_queue and fault_handle are\n"
	"timed ('iommufd-bpf probe' says which this kernel has). Exit status: 0\n"
	"on success, 1 on failure, 2 on bad usage.";

/* "map, unmap, ...": every kind, in the order of enum stats_hist_kind */
static const char *known_kinds(void)
{
	static char buf[160];
	size_t n = 0;
	uint32_t k;

	for (k = 0; k < STATS_HIST_MAX && n < sizeof(buf); k++)
		n += snprintf(buf + n, sizeof(buf) - n, "%s%s", k ? ", " : "",
			      stats_hist_name(k));
	return buf;
}

static int parse_kinds(const char *list, uint32_t *out)
{
	char copy[128], *tok, *save = NULL;
	uint32_t k, m = 0;

	if (strlen(list) >= sizeof(copy))
		return -1;
	strcpy(copy, list);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < STATS_HIST_MAX; k++)
			if (!strcmp(tok, stats_hist_name(k)))
				break;
		if (k == STATS_HIST_MAX)
			return -1;
		m |= 1u << k;
	}
	if (!m)
		return -1;
	*out = m;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &opts.common;
		break;
	case 'k':
		if (parse_kinds(arg, &opts.kinds))
			argp_error(state, "unknown kind in '%s' (known: %s)", arg,
				   known_kinds());
		opts.kinds_given = true;
		break;
	case OPT_FALLBACK:
		opts.fallback = true;
		break;
	case OPT_PER_OWNER:
		opts.per_owner = true;
		break;
	case 'j':
		opts.json = true;
		break;
	case ARGP_KEY_ARG:
		parse_interval_count(state, arg, &opts.interval_ns, &opts.count);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* The row of @key in @snap, or NULL */
static const struct stats_hist *find_hist(const struct stats_snapshot *snap,
					  __u64 key)
{
	size_t i;

	for (i = 0; snap && i < snap->nr_hist; i++)
		if (snap->hist[i].key == key)
			return &snap->hist[i].v;
	return NULL;
}

/*
 * @h = what @now has for (owner, kind) minus @before, row by row: a row
 * gone since @before (its context released) was counted when it was last
 * read, and a row smaller than before is a new context's that reused the
 * ids, counted from 0. owner < 0 is "all".
 */
static void collect(const struct stats_snapshot *now,
		    const struct stats_snapshot *before, int64_t owner,
		    uint32_t kind, struct stats_hist *h)
{
	const struct stats_hist *b;
	size_t i, s;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < now->nr_hist; i++) {
		const struct stats_hist_row *r = &now->hist[i];

		if (stats_key_id(r->key) != kind ||
		    (owner >= 0 && r->v.owner_tgid != owner))
			continue;
		b = find_hist(before, r->key);
		if (b && b->count > r->v.count)
			b = NULL;
		for (s = 0; s < STATS_HIST_SLOTS; s++)
			h->slots[s] += r->v.slots[s] - (b ? b->slots[s] : 0);
		h->count += r->v.count - (b ? b->count : 0);
		h->sum_ns += r->v.sum_ns - (b ? b->sum_ns : 0);
	}
}

static void print_text(const char *what, int64_t owner,
		       const struct stats_hist *h)
{
	__u64 max = 0;
	int s, first = -1, last = -1, i, stars;

	for (s = 0; s < STATS_HIST_SLOTS; s++) {
		if (!h->slots[s])
			continue;
		if (first < 0)
			first = s;
		last = s;
		if (h->slots[s] > max)
			max = h->slots[s];
	}
	if (owner >= 0)
		printf("\n%s latency of owner %lld: ", what, (long long)owner);
	else
		printf("\n%s latency: ", what);
	if (!h->count) {
		printf("none\n");
		return;
	}
	printf("%llu operations, average %llu ns\n", (unsigned long long)h->count,
	       (unsigned long long)(h->sum_ns / h->count));
	printf("%24s : %-8s %s\n", "ns", "count", "distribution");
	for (s = first; s <= last; s++) {
		char range[32];

		/* The last slot holds everything longer too */
		if (s == STATS_HIST_SLOTS - 1)
			snprintf(range, sizeof(range), "%llu -> ...", 1ull << s);
		else
			snprintf(range, sizeof(range), "%llu -> %llu",
				 1ull << s, (2ull << s) - 1);
		stars = max ? (int)(h->slots[s] * 40 / max) : 0;
		printf("%24s : %-8llu |", range,
		       (unsigned long long)h->slots[s]);
		for (i = 0; i < 40; i++)
			putchar(i < stars ? '*' : ' ');
		printf("|\n");
	}
}

static void print_json(const char *what, int64_t owner,
		       const struct stats_hist *h)
{
	struct json_writer w;
	int s, last = -1;

	for (s = 0; s < STATS_HIST_SLOTS; s++)
		if (h->slots[s])
			last = s;
	json_begin(&w, stdout);
	json_str(&w, "kind", what);
	if (owner >= 0)
		json_s64(&w, "owner_tgid", owner);
	json_u64(&w, "count", h->count);
	json_u64(&w, "sum_ns", h->sum_ns);
	/*
	 * Slot k holds [2^k, 2^(k+1)) ns, up to the last non-empty slot; the
	 * last one also holds everything longer: its high_ns is null
	 */
	json_array(&w, "buckets");
	for (s = 0; s <= last; s++) {
		json_object(&w, NULL);
		json_u64(&w, "low_ns", 1ull << s);
		if (s == STATS_HIST_SLOTS - 1)
			json_null(&w, "high_ns");
		else
			json_u64(&w, "high_ns", (2ull << s) - 1);
		json_u64(&w, "count", h->slots[s]);
		json_object_end(&w);
	}
	json_array_end(&w);
	json_end(&w);
}

/*
 * Keep the kinds the fallback times; -1 when none asked for is one of
 * them, after naming the others
 */
static int fallback_kinds(bool faults, bool split)
{
	uint32_t have = FALLBACK_KINDS |
			(faults ? 1u << STATS_HIST_FAULT : 0) |
			(split ? 1u << STATS_HIST_FAULT_QUEUE |
				 1u << STATS_HIST_FAULT_HANDLE : 0);
	uint32_t missing = opts.kinds & ~have, k;
	char names[160];
	size_t n = 0;

	for (k = 0; k < STATS_HIST_MAX && n < sizeof(names); k++)
		if (missing & (1u << k))
			n += snprintf(names + n, sizeof(names) - n, "%s%s",
				      n ? ", " : "", stats_hist_name(k));
	opts.kinds &= have;
	if (!opts.kinds) {
		warnx_("without the iommufd-bpf series' events only map, unmap, copy%s are timed, not %s ('iommufd-bpf probe' lists what this kernel has)",
		       split ? ", fault, fault_queue and fault_handle" :
		       faults ? " and fault" : "", names);
		return -1;
	}
	if (missing && opts.kinds_given)
		warnx_("not timed without the series' events: %s", names);
	return 0;
}

static void show(const struct stats_snapshot *now,
		 const struct stats_snapshot *before)
{
	struct stats_hist h;
	uint32_t kind;
	size_t i, j;

	for (kind = 0; kind < STATS_HIST_MAX; kind++) {
		if (!(opts.kinds & (1u << kind)))
			continue;
		if (!opts.per_owner) {
			collect(now, before, -1, kind, &h);
			if (opts.json)
				print_json(stats_hist_name(kind), -1, &h);
			else
				print_text(stats_hist_name(kind), -1, &h);
			continue;
		}
		for (i = 0; i < now->nr_hist; i++) {
			const struct stats_hist_row *r = &now->hist[i];

			if (stats_key_id(r->key) != kind)
				continue;
			/* once per owner, whose contexts add up */
			for (j = 0; j < i; j++)
				if (stats_key_id(now->hist[j].key) == kind &&
				    now->hist[j].v.owner_tgid == r->v.owner_tgid)
					break;
			if (j < i)
				continue;
			collect(now, before, r->v.owner_tgid, kind, &h);
			if (opts.json)
				print_json(stats_hist_name(kind),
					   r->v.owner_tgid, &h);
			else
				print_text(stats_hist_name(kind),
					   r->v.owner_tgid, &h);
		}
	}
	fflush(stdout);
}

int cmd_hist(int argc, char **argv)
{
	static const struct argp_child children[] = { COMMON_ARGP_CHILD, {} };
	static const struct argp argp = {
		.children = children,
		.options = options, .parser = parse_opt,
		.args_doc = "[INTERVAL [COUNT]]", .doc = doc,
	};
	struct stats_snapshot before = { 0 }, now = { 0 };
	struct stats_opts sopts = { .latency = true };
	struct iommufd_stats_bpf *skel;
	uint64_t start, deadline = 0, next = 0;
	uint32_t shown = 0;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return EXIT_USAGE;
	sopts.command = "hist";
	sopts.owner_tgid = opts.common.owner_tgid;
	sopts.fallback = opts.fallback;
	skel = stats_start(&sopts);
	if (!skel)
		return EXIT_FAIL;
	if (stats_fallback(skel) &&
	    fallback_kinds(stats_fallback_counts_faults(skel),
			   stats_fallback_splits_faults(skel))) {
		err = -1;
		goto out;
	}
	err = drop_all_capabilities();
	if (err)
		goto out;
	catch_exit_signals();
	start = monotonic_ns();
	if (opts.common.duration_ns)
		deadline = start + opts.common.duration_ns;
	if (opts.interval_ns)
		next = start + opts.interval_ns;
	fprintf(stderr, "Timing iommufd operations%s. Ctrl-C to end.\n",
		opts.interval_ns ? "" : " (histograms at the end)");
	while (!exit_requested) {
		uint64_t until = next ? next : deadline;
		bool last;

		if (deadline && deadline < until)
			until = deadline;
		/* Without interval or deadline: look for a signal every 100 ms */
		sleep_until(until ? until : monotonic_ns() + 100000000ull);
		last = exit_requested || (deadline && monotonic_ns() >= deadline);
		if (!opts.interval_ns && !last)
			continue;
		err = stats_read(skel, &now);
		if (err) {
			warnx_("cannot read the histograms: %s", strerror(-err));
			goto out;
		}
		show(&now, opts.interval_ns ? &before : NULL);
		shown++;
		last = last || (opts.count && shown >= opts.count);
		stats_snapshot_free(&before);
		before = now;
		memset(&now, 0, sizeof(now));
		if (last)
			break;
		next += opts.interval_ns;
	}
	if (before.lost[STATS_LOST_HIST] || before.lost[STATS_LOST_FAULT_TIMES])
		warnx_("tables full: %llu latencies not counted",
		       (unsigned long long)(before.lost[STATS_LOST_HIST] +
					    before.lost[STATS_LOST_FAULT_TIMES]));
out:
	stats_snapshot_free(&before);
	stats_snapshot_free(&now);
	stats_stop(skel);
	return err ? EXIT_FAIL : EXIT_OK;
}
