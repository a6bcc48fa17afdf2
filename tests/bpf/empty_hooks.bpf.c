// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of the overhead benchmark: programs on the five events a map +
 * unmap pair fires (map, unmap, IOTLB flush, two pinned-page updates) that
 * do nothing, so the cost of dispatching to BPF at all shows beside what
 * the tracer and the aggregation do in their programs.
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
