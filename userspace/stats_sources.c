// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include <bpf/libbpf.h>

#include "iommufd_stats.skel.h"
#include "stats_sources.h"

void stats_select_programs(struct iommufd_stats_bpf *skel,
			   const struct kernel_features *kf, bool fallback)
{
	struct bpf_program *iopf[] = {
		skel->progs.fallback_stats_fault_report,
		skel->progs.fallback_stats_fault_respond,
		skel->progs.fallback_stats_auto_enter,
		skel->progs.fallback_stats_auto_exit,
		skel->progs.fallback_stats_destroy_enter,
		skel->progs.fallback_stats_destroy_exit,
	};
	struct bpf_program *prog;
	size_t i;

	/* The fallback's programs are "?" sections: off unless chosen */
	if (fallback) {
		bpf_object__for_each_program(prog, skel->obj)
			bpf_program__set_autoload(prog,
				!strncmp(bpf_program__name(prog), "fallback_", 9));
		/* Before 6.11 iommufd has no fault objects */
		for (i = 0; i < sizeof(iopf) / sizeof(iopf[0]); i++)
			if (!kf->iopf_functions)
				bpf_program__set_autoload(iopf[i], false);
		/* The reads only split the wait in the histograms */
		bpf_program__set_autoload(skel->progs.fallback_stats_fault_read,
					  kf->iopf_functions &&
					  kf->fault_fd_read &&
					  skel->rodata->collect_latency);
		return;
	}
	bpf_map__set_max_entries(skel->maps.fallback_ctx_numbers, 1);
	bpf_map__set_max_entries(skel->maps.fallback_auto_answering, 1);
}

bool stats_fallback_counts_faults(const struct iommufd_stats_bpf *skel)
{
	return bpf_program__autoload(skel->progs.fallback_stats_fault_report);
}

bool stats_fallback_splits_faults(const struct iommufd_stats_bpf *skel)
{
	return bpf_program__autoload(skel->progs.fallback_stats_fault_read);
}
