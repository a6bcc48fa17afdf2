/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The in-kernel aggregation shared by 'top', 'hist' and 'metrics': load and
 * attach iommufd_stats, and read its per-CPU tables as one snapshot.
 */
#ifndef IOMMUFD_BPF_STATS_USER_H
#define IOMMUFD_BPF_STATS_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "iommufd_stats.h"

struct iommufd_stats_bpf;

struct stats_opts {
	int32_t owner_tgid;	/* 0: every context */
	bool latency;		/* fill the latency histograms */
};

struct stats_ioas_row {
	struct stats_ioas_key key;
	struct stats_ioas v;
};

struct stats_dev_row {
	struct stats_dev_key key;
	struct stats_dev v;
};

struct stats_owner_row {
	__s32 owner_tgid;
	struct stats_owner v;
};

struct stats_hist_row {
	struct stats_hist_key key;
	struct stats_hist v;
};

/* Every table, summed over CPUs, at one moment */
struct stats_snapshot {
	uint64_t when_ns;	/* CLOCK_MONOTONIC */
	struct stats_ioas_row *ioas;
	size_t nr_ioas;
	struct stats_dev_row *dev;
	size_t nr_dev;
	struct stats_owner_row *owner;
	size_t nr_owner;
	struct stats_hist_row *hist;
	size_t nr_hist;
	__u64 lost[STATS_LOST_MAX];
};

/*
 * Check privileges and kernel support, load and attach the programs.
 * Returns the skeleton, or NULL after saying why.
 */
struct iommufd_stats_bpf *stats_start(const struct stats_opts *opts);
void stats_stop(struct iommufd_stats_bpf *skel);

/* Fill @snap (freeing what it held); 0 or -errno */
int stats_read(struct iommufd_stats_bpf *skel, struct stats_snapshot *snap);
void stats_snapshot_free(struct stats_snapshot *snap);

/* "map", "unmap", "invalidate", "fault" */
const char *stats_hist_name(uint32_t kind);

/* The row for @key in @snap, or NULL (for deltas between snapshots) */
const struct stats_ioas *stats_find_ioas(const struct stats_snapshot *snap,
					 const struct stats_ioas_key *key);
const struct stats_dev *stats_find_dev(const struct stats_snapshot *snap,
				       const struct stats_dev_key *key);

/* /proc/PID/comm of a context's owner, or "?" once it is gone */
void owner_comm(int32_t tgid, char *buf, size_t len);

#endif
