/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the test policy keeps of the last fault group it saw */
#ifndef IOMMUFD_BPF_FAULT_TEST_POLICY_H
#define IOMMUFD_BPF_FAULT_TEST_POLICY_H

struct seen_ctx {
	__u32 fault_id, dev_id, hwpt_id, ioas_id;
	__s32 owner_tgid;
	__u32 pasid, pasid_valid, grpid, nr_faults, perm;
	__u64 addr, length;
};

#endif
