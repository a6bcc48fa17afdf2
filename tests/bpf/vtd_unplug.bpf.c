// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * For tests/vtd_unplug.c: the lifetime rule between the VT-d fault
 * interrupt and the release of a device. dmar_fault() looks the device up
 * in the IOMMU's rbtree and then uses it and its device_domain_info;
 * intel_iommu_release_device() must not free them while such an interrupt
 * is in flight.
 *
 * Armed by the test, the release of the target device is held at its entry
 * (after the core moved the device to the blocking domain, so its DMA now
 * faults) until a fault interrupt that found the device in the rbtree is
 * running; that interrupt then keeps the device for spin_ns. The interrupt
 * records whether release returned meanwhile: it must not have.
 *
 * Unarmed, it only counts the target's fault records, for the stress loops.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set between open and load */
const volatile __u16 target_sid;		/* bus << 8 | devfn */
const volatile __u64 spin_ns = 300000000;	/* interrupt keeps the device */
const volatile __u64 hold_ns = 3000000000;	/* release waits for a fault */

/* Written by the test through the mmapped .bss */
volatile __u32 armed;

/* Every dmar_fault record of target_sid; nodev: not (or no longer) in the rbtree */
volatile __u64 faults, faults_nodev;

/* The armed round; all times bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
volatile __u64 release_dev;		/* struct device * being released */
volatile __u64 release_entered_ns, released_ns;
volatile __u32 release_cpu, hold_timed_out;
volatile __u64 spin_dev;		/* struct device * the interrupt holds */
volatile __u64 spin_start_ns, spin_end_ns;
volatile __u32 spin_cpu, spin_reason, released_during_spin;

/*
 * bpf_loop() stops at 1 << 23 iterations: repeat it so a fast CPU still
 * waits out the deadline.
 */
#define WAIT_ROUNDS 16

struct wait_ctx {
	__u64 deadline;
	bool for_spin;	/* end early once the interrupt holds the device */
};

static long wait_cb(__u64 i, void *data)
{
	struct wait_ctx *w = data;

	if (w->for_spin && spin_start_ns)
		return 1;
	return bpf_ktime_get_ns() >= w->deadline;
}

static __always_inline void wait_until(__u64 deadline, bool for_spin)
{
	struct wait_ctx w = { .deadline = deadline, .for_spin = for_spin };
	int i;

	for (i = 0; i < WAIT_ROUNDS; i++) {
		bpf_loop(1 << 23, wait_cb, &w, 0);
		if ((for_spin && spin_start_ns) || bpf_ktime_get_ns() >= deadline)
			break;
	}
}

static __always_inline __u16 dev_sid(struct device *dev)
{
	struct device_domain_info *info = BPF_CORE_READ(dev, iommu, priv);

	if (!info)
		return 0;
	return BPF_CORE_READ(info, bus) << 8 | BPF_CORE_READ(info, devfn);
}

SEC("fentry/intel_iommu_release_device")
int BPF_PROG(release_enter, struct device *dev)
{
	if (!armed || release_entered_ns || dev_sid(dev) != target_sid)
		return 0;
	release_dev = (__u64)dev;
	release_cpu = bpf_get_smp_processor_id();
	release_entered_ns = bpf_ktime_get_ns();
	/* Widen the window between blocking the device and releasing it */
	wait_until(release_entered_ns + hold_ns, true);
	if (!spin_start_ns)
		hold_timed_out = 1;
	return 0;
}

SEC("fexit/intel_iommu_release_device")
int BPF_PROG(release_exit, struct device *dev)
{
	/* Compare the pointer only: its iommu data is freed by now */
	if (armed && release_dev == (__u64)dev)
		released_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/dmar_fault")
int BPF_PROG(on_dmar_fault, struct intel_iommu *iommu, struct device *dev,
	     u16 source_id, u32 pasid, u64 addr, bool write, u8 reason,
	     int fault_type, const char *reason_name)
{
	if (source_id != target_sid)
		return 0;
	__sync_fetch_and_add(&faults, 1);
	/* No device has the source id (any more): the series marks it maybe-NULL */
	if (!dev) {
		__sync_fetch_and_add(&faults_nodev, 1);
		return 0;
	}
	/*
	 * Once per round, and only a fault raised while release is held: the
	 * fault interrupt is not reentrant, so no other instance races here.
	 */
	if (!armed || !release_entered_ns || released_ns || spin_start_ns)
		return 0;
	spin_dev = (__u64)dev;
	spin_cpu = bpf_get_smp_processor_id();
	spin_reason = reason;
	spin_start_ns = bpf_ktime_get_ns();
	/* dmar_fault() is still using dev and its info: keep it so */
	wait_until(spin_start_ns + spin_ns, false);
	released_during_spin = released_ns != 0;
	spin_end_ns = bpf_ktime_get_ns();
	return 0;
}
