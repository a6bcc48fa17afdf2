// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include <bpf/libbpf.h>

#include "iommufd_stats.skel.h"
#include "stats_sources.h"

void stats_select_programs(struct iommufd_stats_bpf *skel, bool fallback)
{
	struct bpf_program *prog;

	/* The fallback's programs are "?" sections: off unless chosen */
	if (fallback) {
		bpf_object__for_each_program(prog, skel->obj)
			bpf_program__set_autoload(prog,
				!strncmp(bpf_program__name(prog), "fallback_", 9));
		return;
	}
	bpf_map__set_max_entries(skel->maps.handler_entries, 1);
	bpf_map__set_max_entries(skel->maps.fallback_ctx_numbers, 1);
}
