/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Pre-copy convergence forecast for live migration with a device that
 * dirties memory.
 *
 * Model: pass 1 sends all of the tracked memory M over a link of B bytes/s.
 * While a pass that takes t seconds runs, the device dirties r*t bytes
 * (at most M). Each next pass sends what the previous one left dirty.
 * Pre-copy stops after the first pass that leaves at most B * downtime
 * dirty: that rest is sent with the VM stopped. If r >= B the dirty set
 * never shrinks and pre-copy does not converge.
 */
#ifndef IOMMUFD_BPF_DIRTY_FORECAST_H
#define IOMMUFD_BPF_DIRTY_FORECAST_H

#include <stdbool.h>

/* More passes than this is "does not converge" in practice */
#define DIRTY_FORECAST_MAX_PASSES 30

struct dirty_forecast_input {
	double memory_bytes;	/* M: tracked memory, sent in full by pass 1 */
	double dirty_rate;	/* r: bytes/s the device dirties */
	double bandwidth;	/* B: bytes/s the link sends */
	double downtime_s;	/* longest allowed stop-and-copy */
};

struct dirty_forecast {
	bool converges;
	unsigned int passes;	/* pre-copy passes before stop-and-copy */
	double final_bytes;	/* sent during downtime */
	double downtime_s;	/* final_bytes / B */
	double total_s;		/* all passes plus the downtime */
};

/* Returns 0, or -1 when an input is negative or B is zero */
int dirty_forecast(const struct dirty_forecast_input *in,
		   struct dirty_forecast *out);

struct json_writer;

/*
 * The forecast's JSON fields, as 'forecast' and 'dirty' both write them:
 * converges, passes, final_bytes, downtime_ns (the stop-and-copy it
 * predicts), total_ns
 */
void dirty_forecast_json(struct json_writer *w, const struct dirty_forecast *fc);

#endif
