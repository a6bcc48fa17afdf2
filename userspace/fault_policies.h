/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Loading fault policies (iommufd_fault_ops struct_ops objects): set the
 * fault fd and name, load, configure, attach, pin. Shared by
 * 'iommufd-bpf fault', the tests and the benchmark.
 */
#ifndef IOMMUFD_BPF_FAULT_POLICIES_H
#define IOMMUFD_BPF_FAULT_POLICIES_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "fault_policy.h"

struct bpf_object;
struct bpf_map;
struct bpf_link;

struct fault_policy {
	struct bpf_object *obj;
	struct bpf_map *ops_map;	/* the struct_ops map */
	struct bpf_link *link;
	int stats_fd, exit_fd, info_fd;
	int notes_fd;			/* storm notifications, or -1 */
	struct fault_policy_info info;	/* filled by the caller, written at load */
};

/* --window DEV[.PASID]@START+SIZE */
struct fault_window_spec {
	struct fault_dev_key key;
	__u64 start, end;
};

struct fault_policy_kind {
	const char *name;
	const void *(*elf_bytes)(size_t *size);
	/* fill the policy's maps after load, before attach; 0 or -errno */
	int (*configure)(struct fault_policy *fp,
			 const struct fault_window_spec *windows,
			 unsigned int nr_windows,
			 const struct fault_storm_config *storm);
};

const struct fault_policy_kind *fault_policy_find(const char *name);

/* Parse DEV[.PASID|.none]@START+SIZE; 0 or -1 */
int fault_parse_window(const char *s, struct fault_window_spec *w);

/* CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN (+ CAP_SYS_PTRACE); -1 with a message */
int fault_check_privileges(bool ptrace);

/*
 * Open and load a policy object from its ELF bytes, serving the fault fd
 * fault_fd (of this process) under the given name. 0 or -errno; on error
 * nothing is left behind.
 */
int fault_policy_load_elf(struct fault_policy *fp, const void *elf,
			  size_t size, int fault_fd, const char *name);
int fault_policy_load(struct fault_policy *fp,
		      const struct fault_policy_kind *kind, int fault_fd,
		      const char *name);
/* Register the struct_ops; 0 or -errno (EBUSY: the fault has a policy) */
int fault_policy_attach(struct fault_policy *fp);
/* Pin link, stats, exit_rec and info under root/name; on error unpins */
int fault_policy_pin(struct fault_policy *fp, const char *root,
		     const char *name);
/* What is pinned under root/name besides "link" */
#define FAULT_POLICY_PINNED_MAPS 3
extern const char *const fault_policy_pinned_maps[FAULT_POLICY_PINNED_MAPS];
/* Remove root/name: the pinned maps, the link and the directory; 0 or -errno */
int fault_policy_unpin(const char *root, const char *name);
/* Unregister (waits for faults in flight); the maps stay readable */
void fault_policy_detach(struct fault_policy *fp);
void fault_policy_close(struct fault_policy *fp);

/* Say why attaching failed, in the operator's words */
void fault_policy_explain(int err, int fd, int pid);

#endif
