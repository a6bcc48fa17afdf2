// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of the overhead benchmarks: programs that do nothing, so the
 * cost of dispatching to BPF at all shows beside what the tracer and the
 * aggregation do in their programs. bench_trace_overhead attaches the
 * ones on the events a map + unmap pair can fire on the mock: map and
 * unmap, which count the pair's pinned pages and IOTLB flushes on the
 * series' kernel, and the pinned-page and IOTLB-flush events, which fire
 * outside them; bench_iotlb_overhead the one on VT-d's invalidation waits.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/iommufd_ioas_map")
int BPF_PROG(empty_map)
{
	return 0;
}

SEC("tp_btf/iommufd_ioas_unmap")
int BPF_PROG(empty_unmap)
{
	return 0;
}

SEC("tp_btf/iommufd_domain_unmap")
int BPF_PROG(empty_domain_unmap)
{
	return 0;
}

SEC("tp_btf/iommufd_pinned_update")
int BPF_PROG(empty_pinned)
{
	return 0;
}

SEC("tp_btf/qi_wait")
int BPF_PROG(empty_qi_wait)
{
	return 0;
}
