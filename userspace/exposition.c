// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Metric families and their samples. Counters are cumulative since the
 * exporter loaded its programs; Prometheus turns them into rates. In the
 * Prometheus format a counter's TYPE line names the sample (with _total),
 * in OpenMetrics it names the family (without).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exposition.h"
#include "json_writer.h"

/* An owner's process name, read once per page */
struct owner_name {
	int32_t owner;
	char comm[32];
};

/* The page being written */
struct page {
	FILE *out;
	bool om;
	const volatile sig_atomic_t *cancel;
	struct owner_name *names;	/* sorted by owner */
	size_t nr_names;
};

struct family {
	const char *name;	/* without _total */
	const char *type;	/* counter, gauge, histogram */
	const char *help;
};

static void family_header(FILE *out, const struct family *f, bool om)
{
	bool counter = !strcmp(f->type, "counter");
	const char *suffix = counter && !om ? "_total" : "";

	fprintf(out, "# HELP %s%s %s\n", f->name, suffix, f->help);
	fprintf(out, "# TYPE %s%s %s\n", f->name, suffix, f->type);
}

/*
 * A label value: backslash, double quote and newline escaped, and every
 * byte that is not part of valid UTF-8 (a process may name itself so)
 * replaced by U+FFFD, or Prometheus rejects the whole scrape.
 */
static void label_value(FILE *out, const char *str)
{
	size_t left = strlen(str);

	while (left) {
		size_t n = utf8_seq_len(str, left);

		if (!n)
			fputs("\xef\xbf\xbd", out);
		else if (*str == '\\' || *str == '"')
			fprintf(out, "\\%c", *str);
		else if (*str == '\n')
			fputs("\\n", out);
		else
			fwrite(str, 1, n, out);
		n = n ? n : 1;
		str += n;
		left -= n;
	}
}

static int by_owner(const void *a, const void *b)
{
	const struct owner_name *x = a, *y = b;

	return (x->owner > y->owner) - (x->owner < y->owner);
}

/* Read each owner's name once: /proc is opened once per owner per page */
static void page_names(struct page *pg, const struct stats_snapshot *snap)
{
	size_t max = snap->nr_ioas + snap->nr_dev + snap->nr_owner +
		     snap->nr_hist, n = 0, i;
	struct owner_name *names;

	pg->names = NULL;
	pg->nr_names = 0;
	names = calloc(max ? max : 1, sizeof(*names));
	if (!names)
		return;
	for (i = 0; i < snap->nr_ioas; i++)
		names[n++].owner = snap->ioas[i].v.owner_tgid;
	for (i = 0; i < snap->nr_dev; i++)
		names[n++].owner = snap->dev[i].v.owner_tgid;
	for (i = 0; i < snap->nr_owner; i++)
		names[n++].owner = snap->owner[i].owner_tgid;
	for (i = 0; i < snap->nr_hist; i++)
		names[n++].owner = snap->hist[i].v.owner_tgid;
	/* Sorted and each owner once, its name read once */
	qsort(names, n, sizeof(*names), by_owner);
	for (i = 0; i < n; i++) {
		if (pg->nr_names && names[pg->nr_names - 1].owner == names[i].owner)
			continue;
		names[pg->nr_names].owner = names[i].owner;
		owner_comm(names[i].owner, names[pg->nr_names].comm,
			   sizeof(names[0].comm));
		pg->nr_names++;
	}
	pg->names = names;
}

static void owner_labels(struct page *pg, int32_t owner)
{
	struct owner_name key = { .owner = owner }, *found;

	found = pg->names ? bsearch(&key, pg->names, pg->nr_names,
				    sizeof(key), by_owner) : NULL;
	fprintf(pg->out, "owner=\"%d\",comm=\"", owner);
	label_value(pg->out, found ? found->comm : "?");
	fputc('"', pg->out);
}

/*
 * The labels of a context's row: its id first, which alone tells contexts
 * apart (one process may hold several, each with an IOAS 1), then who
 * issued its last counted operation
 */
static void ctx_labels(struct page *pg, __u64 ctx, __s64 owner)
{
	fprintf(pg->out, "ctx=\"%llu\",", (unsigned long long)ctx);
	owner_labels(pg, (int32_t)owner);
}

/* One family with one sample per IOAS row, the value picked by @field */
/* Whether the page is to be given up (write_exposition's @cancel) */
static bool cancelled(const struct page *pg)
{
	return pg->cancel && *pg->cancel;
}

#define IOAS_FAMILY(pg, snap, fam, field)				\
	do {								\
		size_t _i;						\
		family_header((pg)->out, fam, (pg)->om);		\
		for (_i = 0; _i < (snap)->nr_ioas && !cancelled(pg); _i++) { \
			fprintf((pg)->out, "%s_total{", (fam)->name);	\
			ctx_labels(pg, stats_key_ctx((snap)->ioas[_i].key), \
				   (snap)->ioas[_i].v.owner_tgid);	\
			fprintf((pg)->out, ",ioas=\"%u\"} %llu\n",	\
				stats_key_id((snap)->ioas[_i].key),	\
				(unsigned long long)(snap)->ioas[_i].v.field); \
		}							\
	} while (0)

#define DEV_FAMILY(pg, snap, fam, field)				\
	do {								\
		size_t _i;						\
		family_header((pg)->out, fam, (pg)->om);		\
		for (_i = 0; _i < (snap)->nr_dev && !cancelled(pg); _i++) { \
			fprintf((pg)->out, "%s_total{", (fam)->name);	\
			ctx_labels(pg, stats_key_ctx((snap)->dev[_i].key), \
				   (snap)->dev[_i].v.owner_tgid);	\
			fprintf((pg)->out, ",dev=\"%u\"} %llu\n",	\
				stats_key_id((snap)->dev[_i].key),	\
				(unsigned long long)(snap)->dev[_i].v.field); \
		}							\
	} while (0)

static const struct family
	maps = { "iommufd_ioas_maps", "counter", "IOAS maps that succeeded (IOMMU_IOAS_MAP, VFIO_IOMMU_MAP_DMA)." },
	mapped = { "iommufd_ioas_mapped_bytes", "counter", "Bytes mapped into the IOAS." },
	unmaps = { "iommufd_ioas_unmaps", "counter", "IOAS unmaps that succeeded." },
	unmapped = { "iommufd_ioas_unmapped_bytes", "counter", "Bytes unmapped from the IOAS." },
	copies = { "iommufd_ioas_copies", "counter", "IOAS copies into the IOAS that succeeded (IOMMU_IOAS_COPY)." },
	copied = { "iommufd_ioas_copied_bytes", "counter", "Bytes copied into the IOAS." },
	errors = { "iommufd_ioas_errors", "counter", "IOAS maps, unmaps, copies into it and invalidations of HWPTs over it that failed." },
	dunmaps = { "iommufd_ioas_domain_unmaps", "counter", "IOVA areas unmapped from an iommu domain of the IOAS, each with its IOTLB flush." },
	dunmapped = { "iommufd_ioas_domain_unmapped_bytes", "counter", "Bytes of IOVA those domain unmaps covered." },
	invals = { "iommufd_ioas_invalidations", "counter", "User IOTLB invalidations (IOMMU_HWPT_INVALIDATE) of nested HWPTs over the IOAS." },
	hwinv = { "iommufd_ioas_iotlb_waits", "counter", "Invalidations the IOMMU did for the domains of HWPTs over the IOAS, each waited for (VT-d queued invalidation); their waits are op=\"iotlb\" of iommufd_operation_duration_seconds." },
	iopf = { "iommufd_device_iopf_groups", "counter", "I/O page fault groups queued to userspace." },
	answers = { "iommufd_device_iopf_answers", "counter", "I/O page fault groups answered, by code (auto: by the kernel on detach or destroy)." },
	dma = { "iommufd_device_dma_faults", "counter", "Unrecoverable DMA faults the IOMMU reported for the device." },
	pasid_att = { "iommufd_device_pasid_attaches", "counter", "PASIDs of the device attached to a HWPT (VFIO_DEVICE_ATTACH_PASID); the device's own (RID) attach is not counted." },
	pasid_det = { "iommufd_device_pasid_detaches", "counter", "PASIDs of the device detached, those unbind detaches included; attaches minus detaches is the PASIDs attached now." },
	pinned = { "iommufd_context_pinned_bytes_delta", "gauge", "Bytes the context pinned minus bytes it unpinned since the exporter started." },
	duration = { "iommufd_operation_duration_seconds", "histogram", "Latency of map, unmap, copy, invalidate (user IOTLB flush), fault (report to answer), fault_queue (report to the VMM's read), fault_handle (read to answer) and iotlb (the wait for a hardware invalidation of the context's domains, VT-d)." },
	lost = { "iommufd_exporter_lost_updates", "counter", "Updates the kernel side could not record because a table was full." },
	table_rows = { "iommufd_exporter_table_rows", "gauge", "Rows of live objects in the kernel's tables (rows of destroyed objects go once published)." },
	table_capacity = { "iommufd_exporter_table_capacity", "gauge", "Rows the kernel's tables can hold; past that, updates are lost (and counted)." },
	map_bytes = { "iommufd_exporter_bpf_map_bytes", "gauge", "Kernel memory of the exporter's BPF tables, as the kernel accounts it (fixed: the tables are preallocated)." },
	textfile_errors = { "iommufd_exporter_textfile_errors", "counter", "Writes of the textfile that failed (the previous file stayed in place)." },
	scrapes_dropped = { "iommufd_exporter_scrapes_dropped", "counter", "Scrape connections dropped: past their deadline, or over the limit of connections at once." };

static void write_answers(struct page *pg, const struct stats_snapshot *snap)
{
	FILE *out = pg->out;
	static const char *const codes[] = { "success", "invalid", "failure", "auto" };
	size_t i, c;

	family_header(out, &answers, pg->om);
	for (i = 0; i < snap->nr_dev && !cancelled(pg); i++) {
		const struct stats_dev *v = &snap->dev[i].v;
		const __u64 n[] = { v->iopf_success, v->iopf_invalid,
				    v->iopf_failure, v->iopf_auto };

		for (c = 0; c < 4; c++) {
			fprintf(out, "%s_total{", answers.name);
			ctx_labels(pg, stats_key_ctx(snap->dev[i].key),
				   snap->dev[i].v.owner_tgid);
			fprintf(out, ",dev=\"%u\",code=\"%s\"} %llu\n",
				stats_key_id(snap->dev[i].key), codes[c],
				(unsigned long long)n[c]);
		}
	}
}

/*
 * Slot k of a log2 histogram holds [2^k, 2^(k+1)) ns: le is its top. The
 * last slot also holds everything longer (the BPF side clamps), so it has
 * no finite top: it is only in the +Inf bucket.
 */
static void write_histograms(struct page *pg,
			     const struct stats_snapshot *snap)
{
	FILE *out = pg->out;
	size_t i, s;

	family_header(out, &duration, pg->om);
	for (i = 0; i < snap->nr_hist && !cancelled(pg); i++) {
		const struct stats_hist_row *r = &snap->hist[i];
		const char *op = stats_hist_name(stats_key_id(r->key));
		__u64 ctx = stats_key_ctx(r->key), cum = 0;

		for (s = 0; s < STATS_HIST_SLOTS - 1; s++) {
			cum += r->v.slots[s];
			fprintf(out, "%s_bucket{", duration.name);
			ctx_labels(pg, ctx, r->v.owner_tgid);
			fprintf(out, ",op=\"%s\",le=\"%.9g\"} %llu\n", op,
				(double)(2ull << s) * 1e-9,
				(unsigned long long)cum);
		}
		fprintf(out, "%s_bucket{", duration.name);
		ctx_labels(pg, ctx, r->v.owner_tgid);
		fprintf(out, ",op=\"%s\",le=\"+Inf\"} %llu\n", op,
			(unsigned long long)r->v.count);
		fprintf(out, "%s_sum{", duration.name);
		ctx_labels(pg, ctx, r->v.owner_tgid);
		fprintf(out, ",op=\"%s\"} %.9f\n", op, r->v.sum_ns * 1e-9);
		fprintf(out, "%s_count{", duration.name);
		ctx_labels(pg, ctx, r->v.owner_tgid);
		fprintf(out, ",op=\"%s\"} %llu\n", op,
			(unsigned long long)r->v.count);
	}
}

/* The families only the series' events can count */
static void write_series_only(struct page *pg,
			      const struct stats_snapshot *snap)
{
	size_t i;

	IOAS_FAMILY(pg, snap, &dunmaps, domain_unmaps);
	IOAS_FAMILY(pg, snap, &dunmapped, domain_unmap_bytes);
	IOAS_FAMILY(pg, snap, &invals, invalidations);
	IOAS_FAMILY(pg, snap, &hwinv, iotlb_waits);
	DEV_FAMILY(pg, snap, &dma, dma_faults);
	DEV_FAMILY(pg, snap, &pasid_att, pasid_attaches);
	DEV_FAMILY(pg, snap, &pasid_det, pasid_detaches);

	family_header(pg->out, &pinned, pg->om);
	for (i = 0; i < snap->nr_owner; i++) {
		fprintf(pg->out, "%s{", pinned.name);
		owner_labels(pg, snap->owner[i].owner_tgid);
		fprintf(pg->out, "} %lld\n",
			(long long)snap->owner[i].v.pinned_bytes);
	}
}

int write_exposition(FILE *out, const struct stats_snapshot *snap,
		     const struct exporter_health *health, bool openmetrics,
		     const volatile sig_atomic_t *cancel)
{
	static const char *const tables[STATS_LOST_MAX] = {
		"ioas", "dev", "owner", "hist", "fault_times", "retired",
	};
	static const char *const table_names[STATS_TABLE_MAX] = {
		"ioas", "dev", "hist", "owner",
	};
	struct page page = {
		.out = out, .om = openmetrics, .cancel = cancel,
	}, *pg = &page;
	size_t i;

	page_names(pg, snap);
	IOAS_FAMILY(pg, snap, &maps, maps);
	IOAS_FAMILY(pg, snap, &mapped, map_bytes);
	IOAS_FAMILY(pg, snap, &unmaps, unmaps);
	IOAS_FAMILY(pg, snap, &unmapped, unmap_bytes);
	IOAS_FAMILY(pg, snap, &copies, copies);
	IOAS_FAMILY(pg, snap, &copied, copy_bytes);
	IOAS_FAMILY(pg, snap, &errors, errors);
	/*
	 * What the fallback cannot count is left out, not published as 0: a
	 * missing series is what Prometheus knows as unknown
	 */
	if (!snap->fallback || snap->fallback_faults) {
		DEV_FAMILY(pg, snap, &iopf, iopf_groups);
		write_answers(pg, snap);
	}
	if (!snap->fallback)
		write_series_only(pg, snap);
	write_histograms(pg, snap);

	family_header(out, &lost, pg->om);
	for (i = 0; i < STATS_LOST_MAX; i++)
		fprintf(out, "%s_total{table=\"%s\"} %llu\n", lost.name,
			tables[i], (unsigned long long)snap->lost[i]);
	family_header(out, &table_rows, pg->om);
	for (i = 0; i < STATS_TABLE_MAX; i++)
		fprintf(out, "%s{table=\"%s\"} %zu\n", table_rows.name,
			table_names[i], snap->table_rows[i]);
	family_header(out, &table_capacity, pg->om);
	for (i = 0; i < STATS_TABLE_MAX; i++)
		fprintf(out, "%s{table=\"%s\"} %zu\n", table_capacity.name,
			table_names[i], snap->table_capacity[i]);
	if (health) {
		family_header(out, &textfile_errors, pg->om);
		fprintf(out, "%s_total %llu\n", textfile_errors.name,
			(unsigned long long)health->textfile_errors);
		family_header(out, &scrapes_dropped, pg->om);
		fprintf(out, "%s_total{why=\"deadline\"} %llu\n",
			scrapes_dropped.name,
			(unsigned long long)health->scrapes_timed_out);
		fprintf(out, "%s_total{why=\"too_many\"} %llu\n",
			scrapes_dropped.name,
			(unsigned long long)health->scrapes_refused);
		family_header(out, &map_bytes, pg->om);
		fprintf(out, "%s %llu\n", map_bytes.name,
			(unsigned long long)health->bpf_map_bytes);
	}
	if (pg->om)
		fputs("# EOF\n", out);
	free(pg->names);
	return cancelled(pg) ? -EINTR : 0;
}
