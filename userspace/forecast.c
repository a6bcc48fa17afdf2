// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd-bpf forecast: the pre-copy forecast of 'dirty' for figures the
 * user gives, to plan a migration or check the model by hand.
 */
#include <argp.h>
#include <stdio.h>

#include "common.h"
#include "json_writer.h"
#include "dirty_forecast.h"
#include "subcommands.h"

static struct {
	uint64_t memory;
	double rate, bandwidth;
	uint64_t downtime_ns;
	bool rate_set, json;
} fopts = {
	.bandwidth = 10e9 / 8,
	.downtime_ns = 300000000ULL,
};

enum { OPT_MEMORY = 0x100, OPT_RATE, OPT_BANDWIDTH, OPT_DOWNTIME };

static const struct argp_option options[] = {
	{ "memory", OPT_MEMORY, "SIZE", 0, "Memory pass 1 sends in full (required), e.g. 16G", 0 },
	{ "rate", OPT_RATE, "RATE", 0, "Bytes/s the device dirties (required), e.g. 100MiB/s", 0 },
	{ "bandwidth", OPT_BANDWIDTH, "RATE", 0, "Migration link (default 10Gbit/s)", 0 },
	{ "downtime", OPT_DOWNTIME, "TIME", 0, "Longest allowed stop-and-copy (default 300ms)", 0 },
	{ "json", 'j', NULL, 0, "One JSON object instead of text", 0 },
	{},
};

static const char doc[] =
	"Forecast live migration's pre-copy for a device dirtying memory.\n"
	"\n"
	"Pass 1 sends all memory; while a pass runs the device dirties RATE x its\n"
	"duration (at most all memory); each next pass sends what the last left\n"
	"dirty. Pre-copy ends after the first pass leaving no more than BANDWIDTH x\n"
	"DOWNTIME, which is then sent with the VM stopped. 'iommufd-bpf dirty' uses\n"
	"the same model with the dirty rate it measures.\n"
	"\n"
	"EXAMPLES:\n"
	"  iommufd-bpf forecast --memory 16G --rate 300MiB/s --bandwidth 25Gbit\n"
	"  iommufd-bpf forecast --memory 1G --rate 100MiB/s --bandwidth 1GiB/s --downtime 2ms\n"
	"\n"
	"Exit status: 0 when pre-copy converges, 1 when it does not, 2 on bad usage.\n";

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_MEMORY:
		if (parse_size(arg, &fopts.memory))
			argp_error(state, "--memory: '%s' is not a size (e.g. 16G)", arg);
		break;
	case OPT_RATE:
		if (parse_rate(arg, &fopts.rate))
			argp_error(state, "--rate: '%s' is not a rate (e.g. 100MiB/s)", arg);
		fopts.rate_set = true;
		break;
	case OPT_BANDWIDTH:
		if (parse_rate(arg, &fopts.bandwidth) || fopts.bandwidth <= 0)
			argp_error(state, "--bandwidth: '%s' is not a link speed (e.g. 10Gbit/s)", arg);
		break;
	case OPT_DOWNTIME:
		if (parse_duration(arg, &fopts.downtime_ns))
			argp_error(state, "--downtime: '%s' is not a duration (e.g. 300ms)", arg);
		break;
	case 'j':
		fopts.json = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (!fopts.memory || !fopts.rate_set)
			argp_error(state, "--memory and --rate are required");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int cmd_forecast(int argc, char **argv)
{
	static const struct argp argp = { options, parse_arg, NULL, doc, NULL, NULL, NULL };
	struct dirty_forecast_input in;
	struct dirty_forecast fc;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	in.memory_bytes = fopts.memory;
	in.dirty_rate = fopts.rate;
	in.bandwidth = fopts.bandwidth;
	in.downtime_s = fopts.downtime_ns / 1e9;
	if (dirty_forecast(&in, &fc)) {
		warnx_("cannot forecast with these figures");
		return EXIT_USAGE;
	}
	if (fopts.json) {
		struct json_writer w;

		json_begin(&w, stdout);
		dirty_forecast_json(&w, &fc);
		json_end(&w);
	} else if (fc.converges) {
		printf("converges after %u pre-copy pass%s: %.0f bytes left for a "
		       "%.3f ms stop-and-copy, %.3f s in all\n", fc.passes,
		       fc.passes == 1 ? "" : "es", fc.final_bytes,
		       fc.downtime_s * 1e3, fc.total_s);
	} else if (in.dirty_rate >= in.bandwidth) {
		printf("will not converge: device dirties %.0f bytes/s, link sends %.0f bytes/s\n",
		       in.dirty_rate, in.bandwidth);
	} else {
		printf("will not converge within %u passes: %.0f bytes still dirty\n",
		       fc.passes, fc.final_bytes);
	}
	return fc.converges ? EXIT_OK : EXIT_FAIL;
}
