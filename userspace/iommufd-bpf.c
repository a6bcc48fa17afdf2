// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* iommufd-bpf: BPF observability for iommufd. Dispatches to subcommands. */
#include <argp.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "subcommands.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "trace", cmd_trace, "stream iommufd events (text or JSON lines); --faults: the fault stream" },
	{ "top", cmd_top, "live per context / IOAS / device rates, counted in the kernel" },
	{ "hist", cmd_hist, "log2 latency histograms of map, unmap, invalidate, fault-to-answer" },
	{ "metrics", cmd_metrics, "Prometheus / OpenMetrics: serve /metrics over HTTP, or a textfile" },
	{ "dirty", cmd_dirty, "dirty rate, hot regions and pre-copy forecast of dirty-tracking HWPTs" },
	{ "forecast", cmd_forecast, "pre-copy convergence for a given dirty rate and link" },
	{ "fault", cmd_fault, "attach, list, inspect, detach policies answering I/O page faults" },
	{ "probe", cmd_probe, "what this kernel offers each command: the series, a fallback, or nothing" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: iommufd-bpf COMMAND [OPTION...]\n"
		"\n"
		"BPF tracing and fault policies for the kernel's iommufd (/dev/iommu).\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out,
		"\n"
		"Run 'iommufd-bpf COMMAND --help' for a command's options.\n"
		"Needs CAP_BPF and CAP_PERFMON and a kernel with BTF. Every command\n"
		"works with the iommufd-bpf kernel series; without it, 'trace' falls\n"
		"back to fewer events and fields ('iommufd-bpf probe' says what is there).\n");
}

int main(int argc, char **argv)
{
	size_t i;

	/* argp exits with this on a usage error in any subcommand */
	argp_err_exit_status = EXIT_USAGE;
	stdout_survives_signals();

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name)) {
			char prog[64];

			/* argp names the program after argv[0] in its messages */
			snprintf(prog, sizeof(prog), "iommufd-bpf %s",
				 commands[i].name);
			argv[1] = prog;
			return commands[i].run(argc - 1, argv + 1);
		}
	warnx_("unknown command '%s'", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
