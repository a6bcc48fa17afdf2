/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A device model for dirty_vmm: a thread that writes to the mock HWPT's
 * pages at a chosen rate and pattern, through IOMMU_TEST_OP_DIRTY.
 */
#ifndef IOMMUFD_BPF_DIRTY_MODEL_H
#define IOMMUFD_BPF_DIRTY_MODEL_H

#include <pthread.h>
#include <stdint.h>

#include "mock_device.h"

enum dirty_pattern {
	DIRTY_UNIFORM,	/* any page, at random */
	DIRTY_HOT,	/* pages of a hot set (the first hot_percent %) */
	DIRTY_SWEEP,	/* page after page, wrapping around */
};

struct dirty_model {
	struct mock_hwpt *hwpt;
	double rate;		/* bytes/s */
	enum dirty_pattern pattern;
	double hot_percent;
	/* Filled in by the thread */
	pthread_t thread;
	volatile int stop;
	volatile uint64_t pages_written;
	int err;		/* -errno of a failed write; the thread stops */
};

/* "uniform", "sweep", "hot" or "hot:PCT" (default 10); 0 or -1 */
int dirty_pattern_parse(const char *s, enum dirty_pattern *p, double *hot);
const char *dirty_pattern_name(enum dirty_pattern p);

/* Start and stop the writer thread; 0 or -errno */
int dirty_model_start(struct dirty_model *dm);
int dirty_model_stop(struct dirty_model *dm);

#endif
