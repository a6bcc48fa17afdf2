/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The in-kernel aggregation shared by 'top', 'hist' and 'metrics': load and
 * attach iommufd_stats, and read its tables as one snapshot, which collects
 * (publishes once, then deletes) the rows of objects destroyed since.
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
	const char *command;	/* top, hist, metrics: for messages */
	int32_t owner_tgid;	/* 0: every context */
	bool latency;		/* fill the latency histograms */
	bool fallback;		/* count as without the series, where it is */
};

/*
 * What the fallback counts on a kernel without the series (fentry/fexit
 * on iommufd's functions), with iommufd's fault objects (6.11) whose read
 * can be followed, with them but not their read, and without them: every
 * other count is absent, not zero
 */
#define STATS_FALLBACK_COUNTS_FAULT_READS \
	"counts IOAS maps, unmaps and copies, their bytes, errors and latency, and I/O page faults, their answers and wait (split at the VMM's read), from fentry/fexit on iommufd's functions, in contexts the tool numbers; missing: domain unmaps, IOTLB invalidations and waits, DMA faults, PASIDs, pinned bytes"
#define STATS_FALLBACK_COUNTS_FAULTS \
	"counts IOAS maps, unmaps and copies, their bytes, errors and latency, and I/O page faults, their answers and wait, from fentry/fexit on iommufd's functions, in contexts the tool numbers; missing: domain unmaps, IOTLB invalidations and waits, DMA faults, PASIDs, pinned bytes, a fault's wait split at its read"
#define STATS_FALLBACK_COUNTS \
	"counts IOAS maps, unmaps and copies, their bytes, errors and latency from fentry/fexit on iommufd's functions, in contexts the tool numbers; missing: domain unmaps, IOTLB invalidations and waits, devices (I/O page faults, DMA faults, PASIDs), pinned bytes"

struct stats_ioas_row {
	__u64 key;		/* stats_key(): context, IOAS id */
	struct stats_ioas v;
};

struct stats_dev_row {
	__u64 key;		/* stats_key(): context, device id */
	struct stats_dev v;
};

struct stats_owner_row {
	__s32 owner_tgid;	/* struct stats_owner_key */
	__u32 pad;
	struct stats_owner v;
};

struct stats_hist_row {
	__u64 key;		/* stats_key(): context, enum stats_hist_kind */
	struct stats_hist v;
};

/* The kernel's live tables, as the snapshot's table_rows index them */
enum stats_table { STATS_TABLE_IOAS, STATS_TABLE_DEV, STATS_TABLE_HIST,
		   STATS_TABLE_OWNER, STATS_TABLE_MAX };

/*
 * Every table at one moment: the rows of live objects, and those of
 * objects destroyed since the last read, in their final state; a row per
 * key, sorted by key (the owner rows by tgid)
 */
struct stats_snapshot {
	uint64_t when_ns;	/* CLOCK_MONOTONIC */
	bool fallback;		/* counted by the fallback: stats_fallback() */
	bool fallback_faults;	/* ... with its I/O page faults */
	struct stats_ioas_row *ioas;
	size_t nr_ioas;
	struct stats_dev_row *dev;
	size_t nr_dev;
	struct stats_owner_row *owner;
	size_t nr_owner;
	struct stats_hist_row *hist;
	size_t nr_hist;
	__u64 lost[STATS_LOST_MAX];
	/* Rows of live objects in the kernel's tables, and their room */
	size_t table_rows[STATS_TABLE_MAX];
	size_t table_capacity[STATS_TABLE_MAX];
};

/*
 * Check privileges and kernel support, load and attach the programs: the
 * series' where the kernel has it (unless @opts asks for the fallback),
 * else the fallback, after one line on stderr saying what it lacks.
 * Returns the skeleton, or NULL after saying why.
 */
struct iommufd_stats_bpf *stats_start(const struct stats_opts *opts);

/* Whether the fallback counts (STATS_FALLBACK_COUNTS): the rest is absent */
bool stats_fallback(const struct iommufd_stats_bpf *skel);
void stats_stop(struct iommufd_stats_bpf *skel);

/*
 * Fill @snap (freeing what it held); 0 or -errno. The rows of destroyed
 * objects (and of exited processes that pin nothing) are in this snapshot
 * for the last time: the read removes them from the kernel's tables.
 */
int stats_read(struct iommufd_stats_bpf *skel, struct stats_snapshot *snap);
void stats_snapshot_free(struct stats_snapshot *snap);

/*
 * Take the final rows of objects destroyed since the last call from the
 * kernel, for the next stats_read() to publish. A long-running reader
 * (metrics) calls it every second or so, so that contexts coming and going
 * faster than it is scraped do not fill the kernel's small retired tables.
 */
int stats_collect(struct iommufd_stats_bpf *skel);

/* "map", "unmap", "invalidate", "fault", "copy", "fault_queue", ... */
const char *stats_hist_name(uint32_t kind);

/* The row for @key in @snap, or NULL (for deltas between snapshots) */
const struct stats_ioas *stats_find_ioas(const struct stats_snapshot *snap,
					 __u64 key);
const struct stats_dev *stats_find_dev(const struct stats_snapshot *snap,
				       __u64 key);

/*
 * Bytes of kernel memory the loaded tables take, computed as the kernel
 * accounts it (htab_map_mem_usage()) for @ncpu possible CPUs, from the
 * maps' definitions and the running kernel's BTF; -errno on failure
 */
long long stats_map_bytes(struct iommufd_stats_bpf *skel, int ncpu);

/* The same for the tables @opts would load, without loading them */
long long stats_memory(const struct stats_opts *opts, int ncpu);

/* /proc/PID/comm of a context's owner, or "?" once it is gone */
void owner_comm(int32_t tgid, char *buf, size_t len);

#endif
