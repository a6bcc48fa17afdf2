/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A stats snapshot in Prometheus' text exposition format (0.0.4, what the
 * node_exporter textfile collector reads) or in OpenMetrics 1.0.
 */
#ifndef IOMMUFD_BPF_EXPOSITION_H
#define IOMMUFD_BPF_EXPOSITION_H

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include "stats.h"

#define CONTENT_TYPE_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_OPENMETRICS \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* How the exporter itself is doing, published with the kernel's tables */
struct exporter_health {
	uint64_t textfile_errors;	/* textfile writes that failed */
	uint64_t scrapes_timed_out;	/* connections dropped at their deadline */
	uint64_t scrapes_refused;	/* connections over the limit */
	uint64_t bpf_map_bytes;		/* kernel memory of the BPF tables */
};

/*
 * Write every metric of @snap, and of @health if not NULL; OpenMetrics
 * ends with "# EOF". A page of thousands of objects takes a while: once
 * *@cancel is set (if not NULL) it stops between rows and returns -EINTR,
 * so a SIGTERM is not kept waiting by a page nobody will read. 0 when the
 * page is whole.
 */
int write_exposition(FILE *out, const struct stats_snapshot *snap,
		     const struct exporter_health *health, bool openmetrics,
		     const volatile sig_atomic_t *cancel);

#endif
