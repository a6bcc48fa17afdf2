// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Metric families and their samples. Counters are cumulative since the
 * exporter loaded its programs; Prometheus turns them into rates. In the
 * Prometheus format a counter's TYPE line names the sample (with _total),
 * in OpenMetrics it names the family (without).
 */
#include <string.h>

#include "exposition.h"

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

/* A label value: backslash, double quote and newline escaped */
static void label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void owner_labels(FILE *out, int32_t owner)
{
	char comm[32];

	owner_comm(owner, comm, sizeof(comm));
	fprintf(out, "owner=\"%d\",comm=\"", owner);
	label_value(out, comm);
	fputc('"', out);
}

/* One family with one sample per IOAS row, the value picked by @field */
#define IOAS_FAMILY(out, snap, om, fam, field)				\
	do {								\
		size_t _i;						\
		family_header(out, fam, om);				\
		for (_i = 0; _i < (snap)->nr_ioas; _i++) {		\
			fprintf(out, "%s_total{", (fam)->name);		\
			owner_labels(out, (snap)->ioas[_i].key.owner_tgid); \
			fprintf(out, ",ioas=\"%u\"} %llu\n",		\
				(snap)->ioas[_i].key.ioas_id,		\
				(unsigned long long)(snap)->ioas[_i].v.field); \
		}							\
	} while (0)

#define DEV_FAMILY(out, snap, om, fam, field)				\
	do {								\
		size_t _i;						\
		family_header(out, fam, om);				\
		for (_i = 0; _i < (snap)->nr_dev; _i++) {		\
			fprintf(out, "%s_total{", (fam)->name);		\
			owner_labels(out, (snap)->dev[_i].key.owner_tgid); \
			fprintf(out, ",dev=\"%u\"} %llu\n",		\
				(snap)->dev[_i].key.dev_id,		\
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
	dunmaps = { "iommufd_ioas_domain_unmaps", "counter", "IOVA areas unmapped from an iommu domain (iommufd_domain_unmap), each with its IOTLB flush." },
	dunmapped = { "iommufd_ioas_domain_unmapped_bytes", "counter", "Bytes of IOVA those domain unmaps covered." },
	invals = { "iommufd_ioas_invalidations", "counter", "User IOTLB invalidations (IOMMU_HWPT_INVALIDATE) of nested HWPTs over the IOAS." },
	iopf = { "iommufd_device_iopf_groups", "counter", "I/O page fault groups queued to userspace." },
	answers = { "iommufd_device_iopf_answers", "counter", "I/O page fault groups answered, by code (auto: by the kernel on detach or destroy)." },
	dma = { "iommufd_device_dma_faults", "counter", "Unrecoverable DMA faults the IOMMU reported for the device." },
	pinned = { "iommufd_context_pinned_bytes_delta", "gauge", "Bytes the context pinned minus bytes it unpinned since the exporter started." },
	duration = { "iommufd_operation_duration_seconds", "histogram", "Latency of map, unmap, copy, invalidate (user IOTLB flush) and fault (report to answer)." },
	lost = { "iommufd_exporter_lost_updates", "counter", "Updates the kernel side could not record because a table was full." };

static void write_answers(FILE *out, const struct stats_snapshot *snap, bool om)
{
	static const char *const codes[] = { "success", "invalid", "failure", "auto" };
	size_t i, c;

	family_header(out, &answers, om);
	for (i = 0; i < snap->nr_dev; i++) {
		const struct stats_dev *v = &snap->dev[i].v;
		const __u64 n[] = { v->iopf_success, v->iopf_invalid,
				    v->iopf_failure, v->iopf_auto };

		for (c = 0; c < 4; c++) {
			fprintf(out, "%s_total{", answers.name);
			owner_labels(out, snap->dev[i].key.owner_tgid);
			fprintf(out, ",dev=\"%u\",code=\"%s\"} %llu\n",
				snap->dev[i].key.dev_id, codes[c],
				(unsigned long long)n[c]);
		}
	}
}

/*
 * Slot k of a log2 histogram holds [2^k, 2^(k+1)) ns: le is its top. The
 * last slot also holds everything longer (the BPF side clamps), so it has
 * no finite top: it is only in the +Inf bucket.
 */
static void write_histograms(FILE *out, const struct stats_snapshot *snap,
			     bool om)
{
	size_t i, s;

	family_header(out, &duration, om);
	for (i = 0; i < snap->nr_hist; i++) {
		const struct stats_hist_row *r = &snap->hist[i];
		__u64 cum = 0;

		for (s = 0; s < STATS_HIST_SLOTS - 1; s++) {
			cum += r->v.slots[s];
			fprintf(out, "%s_bucket{", duration.name);
			owner_labels(out, r->key.owner_tgid);
			fprintf(out, ",op=\"%s\",le=\"%.9g\"} %llu\n",
				stats_hist_name(r->key.kind),
				(double)(2ull << s) * 1e-9,
				(unsigned long long)cum);
		}
		fprintf(out, "%s_bucket{", duration.name);
		owner_labels(out, r->key.owner_tgid);
		fprintf(out, ",op=\"%s\",le=\"+Inf\"} %llu\n",
			stats_hist_name(r->key.kind),
			(unsigned long long)r->v.count);
		fprintf(out, "%s_sum{", duration.name);
		owner_labels(out, r->key.owner_tgid);
		fprintf(out, ",op=\"%s\"} %.9f\n", stats_hist_name(r->key.kind),
			r->v.sum_ns * 1e-9);
		fprintf(out, "%s_count{", duration.name);
		owner_labels(out, r->key.owner_tgid);
		fprintf(out, ",op=\"%s\"} %llu\n", stats_hist_name(r->key.kind),
			(unsigned long long)r->v.count);
	}
}

void write_exposition(FILE *out, const struct stats_snapshot *snap,
		      bool openmetrics)
{
	static const char *const tables[STATS_LOST_MAX] = {
		"ioas", "dev", "owner", "hist", "fault_times",
	};
	bool om = openmetrics;
	size_t i;

	IOAS_FAMILY(out, snap, om, &maps, maps);
	IOAS_FAMILY(out, snap, om, &mapped, map_bytes);
	IOAS_FAMILY(out, snap, om, &unmaps, unmaps);
	IOAS_FAMILY(out, snap, om, &unmapped, unmap_bytes);
	IOAS_FAMILY(out, snap, om, &copies, copies);
	IOAS_FAMILY(out, snap, om, &copied, copy_bytes);
	IOAS_FAMILY(out, snap, om, &errors, errors);
	IOAS_FAMILY(out, snap, om, &dunmaps, domain_unmaps);
	IOAS_FAMILY(out, snap, om, &dunmapped, domain_unmap_bytes);
	IOAS_FAMILY(out, snap, om, &invals, invalidations);
	DEV_FAMILY(out, snap, om, &iopf, iopf_groups);
	write_answers(out, snap, om);
	DEV_FAMILY(out, snap, om, &dma, dma_faults);

	family_header(out, &pinned, om);
	for (i = 0; i < snap->nr_owner; i++) {
		fprintf(out, "%s{", pinned.name);
		owner_labels(out, snap->owner[i].owner_tgid);
		fprintf(out, "} %lld\n",
			(long long)snap->owner[i].v.pinned_bytes);
	}
	write_histograms(out, snap, om);

	family_header(out, &lost, om);
	for (i = 0; i < STATS_LOST_MAX; i++)
		fprintf(out, "%s_total{table=\"%s\"} %llu\n", lost.name,
			tables[i], (unsigned long long)snap->lost[i]);
	if (om)
		fputs("# EOF\n", out);
}
