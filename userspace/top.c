// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd-bpf top: a refreshing view of iommufd activity per context, IOAS
 * and device. The kernel side aggregates (iommufd_stats); every INTERVAL
 * this reads the tables and shows what changed, as rates.
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
#include "event_format.h"
#include "stats.h"
#include "subcommands.h"

enum { OPT_FALLBACK = 0x100 };

static struct top_opts {
	struct common_opts common;
	uint64_t interval_ns;
	uint32_t count;
	bool json;
	bool all;
	bool fallback;
} opts = {
	.interval_ns = 1000000000ull,
};

static const struct argp_option options[] = {
	{ "json", 'j', NULL, 0, "One JSON object per row and interval instead of a table", 0 },
	{ "all", 'a', NULL, 0, "Also rows without activity in the interval", 0 },
	{ "fallback", OPT_FALLBACK, NULL, 0, "Count as on a kernel without the iommufd-bpf series (fexit on the ioctl handlers), even where the series is there: to compare the two", 0 },
	{},
};

static const char doc[] =
	"A live view of iommufd activity by context (owner process), IOAS and\n"
	"device: maps, unmaps and copies (into an IOAS) per second, bytes mapped,\n"
	"domain unmaps (IOVA areas unmapped from an iommu domain, each with its\n"
	"IOTLB flush; DUNMAP), user IOTLB invalidations, the IOMMU's own\n"
	"invalidations of the context's domains and the CPU's mean wait for them\n"
	"(HWINV, HWWAIT: VT-d), I/O page fault groups and unrecoverable DMA\n"
	"faults per second, the PASIDs of the devices attached now (PASIDS: those\n"
	"attached since top started, less those detached) and the bytes the\n"
	"context pinned since top started. Counting happens in the kernel: no\n"
	"event per operation reaches userspace, so top costs little even under\n"
	"heavy load.\n"
	"\n"
	"On a kernel without the iommufd-bpf series, top counts IOAS maps, unmaps\n"
	"and copies and I/O page faults only, from fentry/fexit on iommufd's\n"
	"functions, and numbers the contexts itself: the other columns show '?'\n"
	"(null in JSON), the owner is the process that last issued an ioctl on\n"
	"the context ('iommufd-bpf probe' says which kernel this is).\n"
	"\n"
	"EXAMPLES:\n"
	"  iommufd-bpf top                  # refresh every second\n"
	"  iommufd-bpf top -p 1234 5        # one VMM, every 5 seconds\n"
	"  iommufd-bpf top --json 1 10      # ten JSON snapshots\n"
	"\n"
	"INTERVAL is in seconds (default 1) or has a unit (500ms); COUNT stops after\n"
	"that many intervals. Exit status: 0 on success (also when ended by\n"
	"SIGINT/SIGTERM), 1 on failure, 2 on bad usage.";

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &opts.common;
		break;
	case 'j':
		opts.json = true;
		break;
	case 'a':
		opts.all = true;
		break;
	case OPT_FALLBACK:
		opts.fallback = true;
		break;
	case ARGP_KEY_ARG:
		parse_interval_count(state, arg, &opts.interval_ns, &opts.count);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int cmp_owner(const void *a, const void *b)
{
	const int32_t *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

/* The owners present in @snap, sorted, without duplicates */
static size_t owners(const struct stats_snapshot *snap, int32_t **out)
{
	size_t cap = snap->nr_ioas + snap->nr_dev + snap->nr_owner, n = 0, i;
	int32_t *o = calloc(cap ?: 1, sizeof(*o));

	if (!o)
		return 0;
	for (i = 0; i < snap->nr_ioas; i++)
		o[n++] = snap->ioas[i].v.owner_tgid;
	for (i = 0; i < snap->nr_dev; i++)
		o[n++] = snap->dev[i].v.owner_tgid;
	for (i = 0; i < snap->nr_owner; i++)
		o[n++] = snap->owner[i].owner_tgid;
	qsort(o, n, sizeof(*o), cmp_owner);
	for (i = 0, cap = 0; i < n; i++)
		if (!cap || o[cap - 1] != o[i])
			o[cap++] = o[i];
	*out = o;
	return cap;
}

static __s64 pinned_of(const struct stats_snapshot *snap, int32_t owner)
{
	size_t i;

	for (i = 0; i < snap->nr_owner; i++)
		if (snap->owner[i].owner_tgid == owner)
			return snap->owner[i].v.pinned_bytes;
	return 0;
}

/* One interval's change of an IOAS row */
struct ioas_delta {
	__u64 maps, unmaps, copies, map_bytes, unmap_bytes, copy_bytes, errors,
	      domain_unmaps, invalidations, iotlb_waits, iotlb_wait_ns;
};

static struct ioas_delta ioas_delta(const struct stats_ioas *now,
				    const struct stats_ioas *before)
{
	static const struct stats_ioas zero;
	struct ioas_delta d;

	/* Smaller than before: a new IOAS that reused the ids, from 0 */
	if (!before || now->maps < before->maps ||
	    now->unmaps < before->unmaps || now->copies < before->copies ||
	    now->errors < before->errors ||
	    now->domain_unmaps < before->domain_unmaps ||
	    now->invalidations < before->invalidations ||
	    now->iotlb_waits < before->iotlb_waits)
		before = &zero;
	d.maps = now->maps - before->maps;
	d.unmaps = now->unmaps - before->unmaps;
	d.copies = now->copies - before->copies;
	d.copy_bytes = now->copy_bytes - before->copy_bytes;
	d.map_bytes = now->map_bytes - before->map_bytes;
	d.unmap_bytes = now->unmap_bytes - before->unmap_bytes;
	d.errors = now->errors - before->errors;
	d.domain_unmaps = now->domain_unmaps - before->domain_unmaps;
	d.invalidations = now->invalidations - before->invalidations;
	d.iotlb_waits = now->iotlb_waits - before->iotlb_waits;
	d.iotlb_wait_ns = now->iotlb_wait_ns - before->iotlb_wait_ns;
	return d;
}

struct dev_delta {
	__u64 iopf, answered, dma_faults, pasid_attaches, pasid_detaches;
	__s64 pasids;	/* attached now, as far as seen since the start */
};

static struct dev_delta dev_delta(const struct stats_dev *now,
				  const struct stats_dev *before)
{
	static const struct stats_dev zero;
	struct dev_delta d;

	/* Smaller than before: a device that reused the ids, from 0 */
	if (!before || now->iopf_groups < before->iopf_groups ||
	    now->iopf_success < before->iopf_success ||
	    now->iopf_invalid < before->iopf_invalid ||
	    now->iopf_failure < before->iopf_failure ||
	    now->dma_faults < before->dma_faults ||
	    now->pasid_attaches < before->pasid_attaches ||
	    now->pasid_detaches < before->pasid_detaches)
		before = &zero;
	d.iopf = now->iopf_groups - before->iopf_groups;
	d.answered = now->iopf_success + now->iopf_invalid + now->iopf_failure -
		     before->iopf_success - before->iopf_invalid -
		     before->iopf_failure;
	d.dma_faults = now->dma_faults - before->dma_faults;
	d.pasid_attaches = now->pasid_attaches - before->pasid_attaches;
	d.pasid_detaches = now->pasid_detaches - before->pasid_detaches;
	d.pasids = (__s64)(now->pasid_attaches - now->pasid_detaches);
	return d;
}

static void print_table_header(double secs, size_t nr_owners)
{
	char clock[16];
	time_t t = time(NULL);

	strftime(clock, sizeof(clock), "%H:%M:%S", localtime(&t));
	if (isatty(STDOUT_FILENO))
		printf("\033[H\033[2J");
	printf("%s  iommufd-bpf top  interval %.2fs  contexts %zu\n", clock, secs,
	       nr_owners);
	printf("%8s %-15s %-14s %9s %9s %8s %10s %9s %8s %8s %8s %8s %8s %6s %10s\n",
	       "OWNER", "COMM", "OBJECT", "MAPS/s", "UNMAPS/s", "COPY/s",
	       "MAPPED/s", "DUNMAP/s", "INVAL/s", "HWINV/s", "HWWAIT", "IOPF/s",
	       "DMAFLT/s", "PASIDS", "PINNED");
}

/* @n per second, or "?" when the kernel cannot count it */
static const char *rate(__u64 n, double secs, bool absent, char *buf,
			size_t len)
{
	if (absent)
		return "?";
	snprintf(buf, len, "%.1f", n / secs);
	return buf;
}

/* A count in JSON: null when the kernel cannot count it, never 0 */
static void json_count(struct json_writer *w, const char *name, __u64 v,
		       bool absent)
{
	if (absent)
		json_null(w, name);
	else
		json_u64(w, name, v);
}

/* The mean wait of @n invalidations taking @ns in all, "12.3us", or "-" */
static const char *mean_wait(__u64 ns, __u64 n, char *buf, size_t len)
{
	if (!n)
		return "-";
	snprintf(buf, len, "%.1fus", ns / 1e3 / n);
	return buf;
}

static void show(const struct stats_snapshot *now,
		 const struct stats_snapshot *before)
{
	double secs = (now->when_ns - before->when_ns) / 1e9;
	int32_t *own = NULL;
	size_t nr, o, i;

	if (secs <= 0)
		secs = 1e-9;
	bool fb = now->fallback;
	/* I/O page faults: counted by the fallback where iommufd has them */
	bool no_iopf = fb && !now->fallback_faults;

	nr = owners(now, &own);
	if (!opts.json)
		print_table_header(secs, nr);
	for (o = 0; o < nr; o++) {
		__s64 pinned = pinned_of(now, own[o]);
		__s64 pinned_before = pinned_of(before, own[o]);
		struct ioas_delta ctx = { 0 };
		struct dev_delta dctx = { 0 };
		char comm[32], b1[32], b2[32], b3[32], col[8][16];

		owner_comm(own[o], comm, sizeof(comm));
		for (i = 0; i < now->nr_ioas; i++) {
			const struct stats_ioas_row *r = &now->ioas[i];
			struct ioas_delta d;

			if (r->v.owner_tgid != own[o])
				continue;
			d = ioas_delta(&r->v, stats_find_ioas(before, r->key));
			ctx.maps += d.maps;
			ctx.unmaps += d.unmaps;
			ctx.copies += d.copies;
			ctx.map_bytes += d.map_bytes;
			ctx.copy_bytes += d.copy_bytes;
			ctx.errors += d.errors;
			ctx.domain_unmaps += d.domain_unmaps;
			ctx.invalidations += d.invalidations;
			ctx.iotlb_waits += d.iotlb_waits;
			ctx.iotlb_wait_ns += d.iotlb_wait_ns;
		}
		for (i = 0; i < now->nr_dev; i++) {
			const struct stats_dev_row *r = &now->dev[i];
			struct dev_delta d;

			if (r->v.owner_tgid != own[o])
				continue;
			d = dev_delta(&r->v, stats_find_dev(before, r->key));
			dctx.iopf += d.iopf;
			dctx.dma_faults += d.dma_faults;
			dctx.pasid_attaches += d.pasid_attaches;
			dctx.pasid_detaches += d.pasid_detaches;
			dctx.pasids += d.pasids;
		}
		if (!opts.all && !ctx.maps && !ctx.unmaps && !ctx.copies &&
		    !ctx.errors && !ctx.domain_unmaps && !ctx.invalidations &&
		    !ctx.iotlb_waits && !dctx.iopf && !dctx.dma_faults &&
		    !dctx.pasid_attaches && !dctx.pasid_detaches &&
		    pinned == pinned_before)
			continue;
		if (opts.json) {
			struct json_writer w;

			json_begin(&w, stdout);
			json_str(&w, "row", "ctx");
			json_fixed(&w, "interval_s", secs, 3);
			json_s64(&w, "owner_tgid", own[o]);
			json_str(&w, "comm", comm);
			json_u64(&w, "maps", ctx.maps);
			json_u64(&w, "unmaps", ctx.unmaps);
			json_u64(&w, "copies", ctx.copies);
			json_u64(&w, "map_bytes", ctx.map_bytes);
			json_u64(&w, "copy_bytes", ctx.copy_bytes);
			json_u64(&w, "errors", ctx.errors);
			json_count(&w, "domain_unmaps", ctx.domain_unmaps, fb);
			json_count(&w, "invalidations", ctx.invalidations, fb);
			json_count(&w, "iotlb_waits", ctx.iotlb_waits, fb);
			json_count(&w, "iotlb_wait_ns", ctx.iotlb_wait_ns, fb);
			json_count(&w, "iopf_groups", dctx.iopf, no_iopf);
			json_count(&w, "dma_faults", dctx.dma_faults, fb);
			json_count(&w, "pasid_attaches", dctx.pasid_attaches, fb);
			json_count(&w, "pasid_detaches", dctx.pasid_detaches, fb);
			if (fb) {
				json_null(&w, "pasids");
				json_null(&w, "pinned_bytes");
			} else {
				json_s64(&w, "pasids", dctx.pasids);
				json_s64(&w, "pinned_bytes", pinned);
			}
			json_end(&w);
		} else {
			snprintf(col[6], sizeof(col[6]), "%lld", (long long)dctx.pasids);
			printf("%8d %-15.15s %-14s %9.1f %9.1f %8.1f %10s %9s %8s %8s %8s %8s %8s %6s %10s\n",
			       own[o], comm, "ctx", ctx.maps / secs,
			       ctx.unmaps / secs, ctx.copies / secs,
			       format_size(ctx.map_bytes / secs, b1, sizeof(b1)),
			       rate(ctx.domain_unmaps, secs, fb, col[0], sizeof(col[0])),
			       rate(ctx.invalidations, secs, fb, col[1], sizeof(col[1])),
			       rate(ctx.iotlb_waits, secs, fb, col[2], sizeof(col[2])),
			       fb ? "?" : mean_wait(ctx.iotlb_wait_ns,
						    ctx.iotlb_waits, b3,
						    sizeof(b3)),
			       rate(dctx.iopf, secs, no_iopf, col[3], sizeof(col[3])),
			       rate(dctx.dma_faults, secs, fb, col[4], sizeof(col[4])),
			       fb ? "?" : col[6],
			       fb ? "?" : format_size(pinned, b2, sizeof(b2)));
		}
		for (i = 0; i < now->nr_ioas; i++) {
			const struct stats_ioas_row *r = &now->ioas[i];
			struct ioas_delta d;
			char obj[32];

			if (r->v.owner_tgid != own[o])
				continue;
			d = ioas_delta(&r->v, stats_find_ioas(before, r->key));
			if (!opts.all && !d.maps && !d.unmaps && !d.copies &&
			    !d.domain_unmaps && !d.invalidations && !d.errors &&
			    !d.iotlb_waits)
				continue;
			if (opts.json) {
				struct json_writer w;

				json_begin(&w, stdout);
				json_str(&w, "row", "ioas");
				json_fixed(&w, "interval_s", secs, 3);
				json_s64(&w, "owner_tgid", own[o]);
				json_u64(&w, "ctx", stats_key_ctx(r->key));
				json_u64(&w, "ioas_id", stats_key_id(r->key));
				json_u64(&w, "maps", d.maps);
				json_u64(&w, "unmaps", d.unmaps);
				json_u64(&w, "copies", d.copies);
				json_u64(&w, "map_bytes", d.map_bytes);
				json_u64(&w, "unmap_bytes", d.unmap_bytes);
				json_u64(&w, "copy_bytes", d.copy_bytes);
				json_u64(&w, "errors", d.errors);
				json_count(&w, "domain_unmaps", d.domain_unmaps, fb);
				json_count(&w, "invalidations", d.invalidations, fb);
				json_count(&w, "iotlb_waits", d.iotlb_waits, fb);
				json_count(&w, "iotlb_wait_ns", d.iotlb_wait_ns, fb);
				json_end(&w);
				continue;
			}
			snprintf(obj, sizeof(obj), "ioas %u/c%llu",
				 stats_key_id(r->key),
				 (unsigned long long)stats_key_ctx(r->key));
			printf("%8d %-15.15s %-14s %9.1f %9.1f %8.1f %10s %9s %8s %8s %8s %8s %8s %6s %10s\n",
			       own[o], comm, obj, d.maps / secs,
			       d.unmaps / secs, d.copies / secs,
			       format_size(d.map_bytes / secs, b1, sizeof(b1)),
			       rate(d.domain_unmaps, secs, fb, col[0], sizeof(col[0])),
			       rate(d.invalidations, secs, fb, col[1], sizeof(col[1])),
			       rate(d.iotlb_waits, secs, fb, col[2], sizeof(col[2])),
			       fb ? "?" : mean_wait(d.iotlb_wait_ns,
						    d.iotlb_waits, b3,
						    sizeof(b3)),
			       "-", "-", "-", "-");
		}
		for (i = 0; i < now->nr_dev; i++) {
			const struct stats_dev_row *r = &now->dev[i];
			struct dev_delta d;
			char obj[32];

			if (r->v.owner_tgid != own[o])
				continue;
			d = dev_delta(&r->v, stats_find_dev(before, r->key));
			if (!opts.all && !d.iopf && !d.answered && !d.dma_faults &&
			    !d.pasid_attaches && !d.pasid_detaches)
				continue;
			if (opts.json) {
				struct json_writer w;

				json_begin(&w, stdout);
				json_str(&w, "row", "dev");
				json_fixed(&w, "interval_s", secs, 3);
				json_s64(&w, "owner_tgid", own[o]);
				json_u64(&w, "ctx", stats_key_ctx(r->key));
				json_u64(&w, "dev_id", stats_key_id(r->key));
				json_u64(&w, "iopf_groups", d.iopf);
				json_u64(&w, "iopf_answered", d.answered);
				if (fb) {
					json_null(&w, "dma_faults");
					json_null(&w, "pasid_attaches");
					json_null(&w, "pasid_detaches");
					json_null(&w, "pasids");
					json_end(&w);
					continue;
				}
				json_u64(&w, "dma_faults", d.dma_faults);
				json_u64(&w, "pasid_attaches", d.pasid_attaches);
				json_u64(&w, "pasid_detaches", d.pasid_detaches);
				json_s64(&w, "pasids", d.pasids);
				json_end(&w);
				continue;
			}
			snprintf(obj, sizeof(obj), "dev %u/c%llu",
				 stats_key_id(r->key),
				 (unsigned long long)stats_key_ctx(r->key));
			snprintf(col[6], sizeof(col[6]), "%lld", (long long)d.pasids);
			printf("%8d %-15.15s %-14s %9s %9s %8s %10s %9s %8s %8s %8s %8.1f %8s %6s %10s\n",
			       own[o], comm, obj, "-", "-", "-", "-", "-", "-",
			       "-", "-", d.iopf / secs,
			       rate(d.dma_faults, secs, fb, col[4], sizeof(col[4])),
			       fb ? "?" : col[6], "-");
		}
	}
	free(own);
	fflush(stdout);
}

int cmd_top(int argc, char **argv)
{
	static const struct argp_child children[] = { COMMON_ARGP_CHILD, {} };
	static const struct argp argp = {
		.children = children,
		.options = options, .parser = parse_opt, .args_doc = "[INTERVAL [COUNT]]",
		.doc = doc,
	};
	struct stats_snapshot before = { 0 }, now = { 0 };
	struct stats_opts sopts = { 0 };
	struct iommufd_stats_bpf *skel;
	uint64_t deadline = 0, next;
	uint32_t shown = 0;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return EXIT_USAGE;
	sopts.command = "top";
	sopts.owner_tgid = opts.common.owner_tgid;
	sopts.fallback = opts.fallback;
	skel = stats_start(&sopts);
	if (!skel)
		return EXIT_FAIL;
	err = drop_all_capabilities();
	if (err)
		goto out;
	catch_exit_signals();
	err = stats_read(skel, &before);
	if (err) {
		warnx_("cannot read the statistics: %s", strerror(-err));
		goto out;
	}
	if (opts.common.duration_ns)
		deadline = before.when_ns + opts.common.duration_ns;
	fprintf(stderr, "Counting iommufd activity every %.2fs. Ctrl-C to end.\n",
		opts.interval_ns / 1e9);
	next = before.when_ns + opts.interval_ns;
	while (!exit_requested) {
		uint64_t until = next;
		bool last;

		if (deadline && deadline < until)
			until = deadline;
		/* A signal ends the sleep early: show the partial interval */
		sleep_until(until);
		err = stats_read(skel, &now);
		if (err) {
			warnx_("cannot read the statistics: %s", strerror(-err));
			goto out;
		}
		show(&now, &before);
		shown++;
		last = exit_requested || (opts.count && shown >= opts.count) ||
		       (deadline && now.when_ns >= deadline);
		stats_snapshot_free(&before);
		before = now;
		memset(&now, 0, sizeof(now));
		if (last)
			break;
		next += opts.interval_ns;
	}
	if (before.lost[STATS_LOST_IOAS] || before.lost[STATS_LOST_DEV] ||
	    before.lost[STATS_LOST_OWNER])
		warnx_("tables full: %llu updates not counted",
		       (unsigned long long)(before.lost[STATS_LOST_IOAS] +
					    before.lost[STATS_LOST_DEV] +
					    before.lost[STATS_LOST_OWNER]));
out:
	stats_snapshot_free(&before);
	stats_snapshot_free(&now);
	stats_stop(skel);
	return err ? EXIT_FAIL : EXIT_OK;
}
