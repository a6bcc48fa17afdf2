// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * storm guard: a token bucket per device and PASID. Within budget a fault
 * goes to the fault fd as usual; over budget it is answered INVALID at once
 * and counted, and userspace hears of it through the ring buffer, at most
 * once per notify interval per device and PASID.
 */
#include "fault_policy.bpf.h"

#define NSEC_PER_SEC 1000000000ULL

/* Filled by the loader after load, before attach */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fault_storm_config);
} storm_config SEC(".maps");

struct storm_bucket {
	struct bpf_spin_lock lock;
	__u64 credit;		/* groups * NSEC_PER_SEC */
	__u64 last_ns;
	__u64 over_total;
	__u64 last_note_ns;
	__u64 suppressed;
};

/* bpf_spin_lock rules out an LRU map: past 4096 pairs, faults are deferred */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct fault_dev_key);
	__type(value, struct storm_bucket);
} buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} notes SEC(".maps");

static void notify(struct iommufd_fault_ctx *fc, __u32 pasid, __u64 now,
		   __u64 over_total, __u64 suppressed)
{
	struct fault_storm_note *n = bpf_ringbuf_reserve(&notes, sizeof(*n), 0);

	if (!n) {
		policy_count(FAULT_STAT_NOTIFY_LOST);
		return;
	}
	n->time_ns = now;
	n->dev_id = fc->dev_id;
	n->pasid = pasid;
	n->owner_tgid = fc->owner_tgid;
	n->fault_id = fc->fault_id;
	n->over_total = over_total;
	n->suppressed = suppressed;
	bpf_ringbuf_submit(n, 0);
	policy_count(FAULT_STAT_NOTIFIED);
}

SEC("struct_ops/handle_fault")
int BPF_PROG(storm_handle_fault, struct iommufd_fault_ctx *fc)
{
	struct fault_dev_key key = {
		.dev_id = fc->dev_id,
		.pasid = fc->pasid_valid ? fc->pasid : FAULT_PASID_NONE,
	};
	__u64 now = bpf_ktime_get_ns(), over = 0, suppressed = 0, cap;
	struct fault_storm_config *cfg;
	bool within, note = false;
	struct storm_bucket *b, fresh = {};
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&storm_config, &zero);
	if (!cfg || !cfg->rate_per_sec || !cfg->burst)
		return policy_verdict(FAULT_DEFER);
	cap = cfg->burst * NSEC_PER_SEC;
	b = bpf_map_lookup_elem(&buckets, &key);
	if (!b) {
		fresh.credit = cap;
		fresh.last_ns = now;
		bpf_map_update_elem(&buckets, &key, &fresh, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&buckets, &key);
		if (!b) {
			policy_count(FAULT_STAT_UNGOVERNED);
			return policy_verdict(FAULT_DEFER);
		}
	}

	bpf_spin_lock(&b->lock);
	if (now > b->last_ns) {
		__u64 elapsed = now - b->last_ns;

		/* a long quiet spell refills the bucket; avoids overflow */
		if (elapsed >= 100 * NSEC_PER_SEC ||
		    b->credit + elapsed * cfg->rate_per_sec >= cap)
			b->credit = cap;
		else
			b->credit += elapsed * cfg->rate_per_sec;
		b->last_ns = now;
	}
	within = b->credit >= NSEC_PER_SEC;
	if (within) {
		b->credit -= NSEC_PER_SEC;
	} else {
		over = ++b->over_total;
		if (!b->last_note_ns ||
		    now - b->last_note_ns >= cfg->notify_interval_ns) {
			note = true;
			suppressed = b->suppressed;
			b->suppressed = 0;
			b->last_note_ns = now;
		} else {
			b->suppressed++;
		}
	}
	bpf_spin_unlock(&b->lock);

	if (within)
		return policy_verdict(FAULT_DEFER);
	policy_count(FAULT_STAT_OVER_BUDGET);
	if (note)
		notify(fc, key.pasid, now, over, suppressed);
	return policy_verdict(FAULT_INVALID);
}

SEC(".struct_ops.link")
struct iommufd_fault_ops storm_ops = {
	.handle_fault = (void *)storm_handle_fault,
	.exit = (void *)policy_exit,
	.name = "storm",
};
