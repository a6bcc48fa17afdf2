// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Pre-copy convergence forecast; the model is described in the header. */
#include <string.h>

#include "dirty_forecast.h"
#include "json_writer.h"

int dirty_forecast(const struct dirty_forecast_input *in,
		   struct dirty_forecast *out)
{
	double budget, left, pass_s;

	if (in->memory_bytes < 0 || in->dirty_rate < 0 ||
	    in->bandwidth <= 0 || in->downtime_s < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	budget = in->bandwidth * in->downtime_s;
	left = in->memory_bytes;
	while (out->passes < DIRTY_FORECAST_MAX_PASSES) {
		pass_s = left / in->bandwidth;
		out->total_s += pass_s;
		out->passes++;
		left = in->dirty_rate * pass_s;
		if (left > in->memory_bytes)
			left = in->memory_bytes;
		if (left <= budget) {
			out->converges = true;
			break;
		}
		/* Not shrinking: the device dirties as fast as the link sends */
		if (in->dirty_rate >= in->bandwidth)
			break;
	}
	out->final_bytes = left;
	out->downtime_s = left / in->bandwidth;
	if (out->converges)
		out->total_s += out->downtime_s;
	return 0;
}

void dirty_forecast_json(struct json_writer *w, const struct dirty_forecast *fc)
{
	json_bool(w, "converges", fc->converges);
	json_u64(w, "passes", fc->passes);
	json_fixed(w, "final_bytes", fc->final_bytes, 0);
	json_fixed(w, "downtime_ns", fc->downtime_s * 1e9, 0);
	json_fixed(w, "total_ns", fc->total_s * 1e9, 0);
}
