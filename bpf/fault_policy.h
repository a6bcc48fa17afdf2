/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Fault policies (iommufd_fault_ops struct_ops): what the policy programs
 * share with their loader (iommufd-bpf fault, the tests, the benchmark).
 */
#ifndef IOMMUFD_BPF_FAULT_POLICY_H
#define IOMMUFD_BPF_FAULT_POLICY_H

/* Page request permissions, as struct iommufd_fault_ctx's perm has them */
#define FAULT_PERM_READ		(1 << 0)
#define FAULT_PERM_WRITE	(1 << 1)
#define FAULT_PERM_EXEC		(1 << 2)
#define FAULT_PERM_PRIV		(1 << 3)

/* enum iommufd_fault_verdict */
#define FAULT_DEFER		0
#define FAULT_SUCCESS		1
#define FAULT_INVALID		2

/* enum iommufd_fault_exit_kind */
#define FAULT_EXIT_NONE		0
#define FAULT_EXIT_UNREG	1
#define FAULT_EXIT_FAULT_GONE	2
#define FAULT_EXIT_BAD_VERDICT	3
#define FAULT_EXIT_ERROR	4
#define FAULT_EXIT_STALL	5	/* handle_fault over its time budget */
#define FAULT_EXIT_RETRY_STORM	6	/* SUCCESS again and again, device kept faulting */

#define FAULT_POLICY_NAME_LEN	16
#define FAULT_EXIT_REASON_LEN	128

/* Per-CPU counters of every policy (map "stats"), by index */
enum fault_stat {
	FAULT_STAT_GROUPS,	/* groups offered */
	FAULT_STAT_SUCCESS,	/* answered SUCCESS */
	FAULT_STAT_INVALID,	/* answered INVALID */
	FAULT_STAT_DEFER,	/* left to the fault fd */
	FAULT_STAT_UNGOVERNED,	/* windows: no window for it; storm: table full */
	FAULT_STAT_OUTSIDE,	/* windows: outside every window */
	FAULT_STAT_OVER_BUDGET,	/* storm: over the token bucket */
	FAULT_STAT_NOTIFIED,	/* storm: notifications sent */
	FAULT_STAT_NOTIFY_LOST,	/* storm: notifications the ring had no room for */
	FAULT_STAT_MAPPED,	/* resolve: mapped with the permissions */
	FAULT_STAT_UNMAPPED,	/* resolve: not (fully) mapped */
	FAULT_STAT_BUSY,	/* resolve: IOAS busy, could not look */
	FAULT_STAT_LOOKUP_ERROR,/* resolve: the kfunc failed otherwise */
	FAULT_STAT_MAX,
};

/* Why the policy stopped (map "exit_rec", one entry), from its exit op */
struct fault_policy_exit {
	__u32 kind;		/* FAULT_EXIT_*, FAULT_EXIT_NONE while attached */
	__s32 verdict;		/* the bad value, for FAULT_EXIT_BAD_VERDICT */
	__u64 groups;		/* groups the kernel offered it */
	__u64 clamped;		/* SUCCESS for nested HWPTs, deferred instead */
	__u64 time_ns;		/* CLOCK_MONOTONIC of the exit */
	char reason[FAULT_EXIT_REASON_LEN];
};

/* PASID keys: requests without a PASID, and "any request of the device" */
#define FAULT_PASID_NONE	0xffffffffu
#define FAULT_PASID_ANY		0xfffffffeu

struct fault_dev_key {
	__u32 dev_id;
	__u32 pasid;		/* a PASID, FAULT_PASID_NONE or FAULT_PASID_ANY */
};

/* windows: the IOVA a device (and PASID) may fault on (map "windows") */
#define FAULT_MAX_WINDOWS	8
struct fault_windows {
	__u32 nr;
	__u32 pad;
	struct {
		__u64 start;
		__u64 end;	/* exclusive */
	} w[FAULT_MAX_WINDOWS];
};

/* storm: the token bucket (map "storm_config"); rate and burst not 0 */
struct fault_storm_config {
	__u64 rate_per_sec;	/* groups per second refilled, per device+PASID */
	__u64 burst;		/* bucket size in groups */
	__u64 notify_interval_ns;
};

/* What the loader recorded at attach time (map "info"), for list/stats */
struct fault_policy_info {
	char kind[FAULT_POLICY_NAME_LEN];	/* windows, storm, resolve */
	__s32 fault_pid;	/* process whose fault fd was given */
	__s32 fault_fd;		/* ... and the fd number there */
	__s32 loader_pid;
	__u32 pinned;
	__u64 attach_time_ns;	/* CLOCK_MONOTONIC */
};

/* storm: one ring-buffer record when a device goes over budget, at most
 * one per device and PASID per notify interval */
struct fault_storm_note {
	__u64 time_ns;
	__u32 dev_id;
	__u32 pasid;		/* FAULT_PASID_NONE without PASID */
	__s32 owner_tgid;
	__u32 fault_id;
	__u64 over_total;	/* groups refused over budget so far */
	__u64 suppressed;	/* ... since the previous notification */
};

#endif
