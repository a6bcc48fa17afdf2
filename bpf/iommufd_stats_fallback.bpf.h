/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The aggregation's fallback for kernels without the iommufd-bpf series:
 * IOAS maps, unmaps and copies, their bytes, errors and latency, counted
 * into the same tables from fentry/fexit on the ioctl handlers every
 * iommufd kernel has. Included by iommufd_stats.bpf.c; not loaded unless
 * asked for ("?" sections, stats.c).
 *
 * Such a kernel gives a context no id, so the first operation seen on one
 * numbers it (1, 2, ... in the order seen, for the life of the programs)
 * and its release forgets the number. Rows are retired as the series'
 * lifecycle events retire them: an IOAS's at IOMMU_DESTROY, everything
 * left of a context at its release.
 *
 * What it counts differently from the series:
 * - every call is counted, also those the handler rejects before it looks
 *   the IOAS up (an id that is no IOAS gets a row of errors until the
 *   context goes); VFIO's compatibility maps (VFIO_IOMMU_MAP_DMA on the
 *   iommufd) are not counted;
 * - the owner is the calling thread group;
 * - a duration spans the whole handler.
 */
#ifndef IOMMUFD_BPF_STATS_FALLBACK_BPF_H
#define IOMMUFD_BPF_STATS_FALLBACK_BPF_H

#include "ioctl_handler_time.bpf.h"

/* The number given to each context seen, by its address */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STATS_IOAS_ROWS);
	__type(key, __u64);
	__type(value, __u64);
} fallback_ctx_numbers SEC(".maps");

/* The last number given */
__u64 fallback_ctx_last;

/* @ictx's number, given now if it has none; 0 when the table is full */
static __always_inline __u64 fallback_ctx(struct iommufd_ctx *ictx)
{
	__u64 addr = (__u64)ictx, *found, n;

	found = bpf_map_lookup_elem(&fallback_ctx_numbers, &addr);
	if (found)
		return *found;
	n = __sync_fetch_and_add(&fallback_ctx_last, 1) + 1;
	/* Another CPU may number it first: then its number holds */
	bpf_map_update_elem(&fallback_ctx_numbers, &addr, &n, BPF_NOEXIST);
	found = bpf_map_lookup_elem(&fallback_ctx_numbers, &addr);
	if (!found) {
		count_lost(STATS_LOST_IOAS);
		return 0;
	}
	return *found;
}

static __always_inline int fallback_count(struct iommufd_ucmd *ucmd,
					  __u32 ioas_id, __u64 done, int ret,
					  enum ioas_op op)
{
	__s32 owner = bpf_get_current_pid_tgid() >> 32;
	__u64 ns = 0, ctx;

	handler_exit(&ns, NULL);
	if (skip_owner(owner))
		return 0;
	ctx = fallback_ctx(ucmd->ictx);
	if (!ctx)
		return 0;
	return count_ioas(ctx, owner, ioas_id, done, ret, ns, op);
}

SEC("?fentry/iommufd_ioas_map")
int BPF_PROG(fallback_stats_map_enter, struct iommufd_ucmd *ucmd)
{
	return handler_enter(0);
}

SEC("?fexit/iommufd_ioas_map")
int BPF_PROG(fallback_stats_map, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_ioas_map *cmd = bpf_core_cast(ucmd->cmd,
						   struct iommu_ioas_map);

	return fallback_count(ucmd, cmd->ioas_id, cmd->length, ret, IOAS_MAP);
}

SEC("?fentry/iommufd_ioas_unmap")
int BPF_PROG(fallback_stats_unmap_enter, struct iommufd_ucmd *ucmd)
{
	return handler_enter(0);
}

/* On success the reply's length is what was unmapped */
SEC("?fexit/iommufd_ioas_unmap")
int BPF_PROG(fallback_stats_unmap, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_ioas_unmap *cmd = bpf_core_cast(ucmd->cmd,
						     struct iommu_ioas_unmap);

	return fallback_count(ucmd, cmd->ioas_id, cmd->length, ret,
			      IOAS_UNMAP);
}

SEC("?fentry/iommufd_ioas_copy")
int BPF_PROG(fallback_stats_copy_enter, struct iommufd_ucmd *ucmd)
{
	return handler_enter(0);
}

/* Counted in the destination IOAS, as the series counts it */
SEC("?fexit/iommufd_ioas_copy")
int BPF_PROG(fallback_stats_copy, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_ioas_copy *cmd = bpf_core_cast(ucmd->cmd,
						    struct iommu_ioas_copy);

	return fallback_count(ucmd, cmd->dst_ioas_id, cmd->length, ret,
			      IOAS_COPY);
}

/*
 * IOMMU_DESTROY removed object @id: if it was an IOAS, its row is final.
 * Object ids are unique within a context whatever the type, so the id
 * names nothing else in the IOAS table.
 */
SEC("?fexit/iommufd_destroy")
int BPF_PROG(fallback_stats_destroy, struct iommufd_ucmd *ucmd, int ret)
{
	struct iommu_destroy *cmd = bpf_core_cast(ucmd->cmd,
						  struct iommu_destroy);
	__u64 addr = (__u64)ucmd->ictx, *n;
	struct stats_key key = { .id = cmd->id };

	if (ret)
		return 0;
	n = bpf_map_lookup_elem(&fallback_ctx_numbers, &addr);
	if (!n)
		return 0;
	key.ctx = *n;
	RETIRE(ioas_stats, ioas_retired, &key, struct stats_ioas);
	return 0;
}

static long retire_ctx_ioas(struct bpf_map *map, struct stats_key *k,
			    struct stats_ioas *v, __u64 *ctx)
{
	struct stats_key key = *k;

	if (key.ctx == *ctx)
		RETIRE(ioas_stats, ioas_retired, &key, struct stats_ioas);
	return 0;
}

/*
 * The context's file is released: the kernel destroys what is left of it,
 * so its IOAS rows and histograms are final, and its number is forgotten
 * (its address may come back with a new context)
 */
SEC("?fentry/iommufd_fops_release")
int BPF_PROG(fallback_stats_release, struct inode *inode, struct file *filp)
{
	__u64 addr = (__u64)filp->private_data, *n, cid;
	struct stats_key key = {};
	__u32 kind;

	n = bpf_map_lookup_elem(&fallback_ctx_numbers, &addr);
	if (!n)
		return 0;
	cid = *n;
	bpf_for_each_map_elem(&ioas_stats, retire_ctx_ioas, &cid, 0);
	key.ctx = cid;
	if (collect_latency) {
		for (kind = 0; kind < STATS_HIST_MAX; kind++) {
			key.id = kind;
			RETIRE(hist_stats, hist_retired, &key,
			       struct stats_hist);
		}
	}
	bpf_map_delete_elem(&fallback_ctx_numbers, &addr);
	return 0;
}

#endif /* IOMMUFD_BPF_STATS_FALLBACK_BPF_H */
