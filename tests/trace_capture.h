/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Load the production iommufd_trace BPF program in a test and collect what
 * it delivers, so tests check the events a user of the tool would see.
 */
#ifndef IOMMUFD_BPF_TRACE_CAPTURE_H
#define IOMMUFD_BPF_TRACE_CAPTURE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "iommufd_trace.h"
#include "iommufd_trace.skel.h"
#include "trace_sources.h"

#define CAPTURE_MAX 512

struct trace_capture {
	struct iommufd_trace_bpf *skel;
	struct ring_buffer *rb;
	struct iommufd_event ev[CAPTURE_MAX];
	/* the detail of ev[i] when it is a dma_fault record */
	struct iommufd_dma_fault_detail fault[CAPTURE_MAX];
	/* the device name of ev[i] when it is a device_bind record */
	char device[CAPTURE_MAX][32];
	/* the detail of ev[i] when it is an iotlb_wait record */
	struct iommufd_iotlb_wait_detail wait[CAPTURE_MAX];
	unsigned int n;
	unsigned int overflow;
};

static int capture_cb(void *ctx, void *data, size_t size)
{
	struct trace_capture *cap = ctx;

	const struct iommufd_event *e = data;
	size_t want = e->type == IOMMUFD_EV_DMA_FAULT ?
		sizeof(struct iommufd_dma_fault_event) :
		e->type == IOMMUFD_EV_DEVICE_BIND ?
		sizeof(struct iommufd_bind_event) :
		e->type == IOMMUFD_EV_IOTLB_WAIT ?
		sizeof(struct iommufd_iotlb_wait_event) : sizeof(*e);

	if (size != want)
		return -EINVAL;
	if (cap->n == CAPTURE_MAX) {
		cap->overflow++;
		return 0;
	}
	memcpy(&cap->ev[cap->n], data, sizeof(*e));
	if (e->type == IOMMUFD_EV_DMA_FAULT)
		memcpy(&cap->fault[cap->n],
		       &((const struct iommufd_dma_fault_event *)data)->f,
		       sizeof(cap->fault[0]));
	if (e->type == IOMMUFD_EV_IOTLB_WAIT)
		memcpy(&cap->wait[cap->n],
		       &((const struct iommufd_iotlb_wait_event *)data)->w,
		       sizeof(cap->wait[0]));
	if (e->type == IOMMUFD_EV_DEVICE_BIND)
		memcpy(cap->device[cap->n],
		       ((const struct iommufd_bind_event *)data)->device,
		       sizeof(cap->device[0]));
	cap->n++;
	return 0;
}

/*
 * Open with the given filters (0 = any, mask 0 = all events), for a caller
 * that chooses the programs before capture_load(). Returns 0 or -errno.
 */
static int capture_open(struct trace_capture *cap, __s32 owner_tgid,
			__u32 ioas_id, __u32 dev_id, __u32 mask)
{
	memset(cap, 0, sizeof(*cap));
	cap->skel = iommufd_trace_bpf__open();
	if (!cap->skel)
		return -errno;
	cap->skel->rodata->filter_owner_tgid = owner_tgid;
	cap->skel->rodata->filter_ioas_id = ioas_id;
	cap->skel->rodata->filter_dev_id = dev_id;
	if (mask)
		cap->skel->rodata->event_mask = mask;
	cap->skel->rodata->track_unmaps =
		!!(cap->skel->rodata->event_mask & (1u << IOMMUFD_EV_DMA_FAULT));
	return 0;
}

/* Load and attach what capture_open() opened. Returns 0 or -errno. */
static int capture_load(struct trace_capture *cap)
{
	int err;

	err = iommufd_trace_bpf__load(cap->skel);
	if (!err)
		err = iommufd_trace_bpf__attach(cap->skel);
	if (!err) {
		cap->rb = ring_buffer__new(bpf_map__fd(cap->skel->maps.events),
					   capture_cb, cap, NULL);
		if (!cap->rb)
			err = -errno;
	}
	if (err) {
		iommufd_trace_bpf__destroy(cap->skel);
		cap->skel = NULL;
	}
	return err;
}

/*
 * Load and attach the series' programs with the given filters (0 = any,
 * mask 0 = all events). Returns 0 or -errno.
 */
static int _capture_start(struct trace_capture *cap, __s32 owner_tgid,
			  __u32 ioas_id, __u32 dev_id, __u32 mask)
{
	int err = capture_open(cap, owner_tgid, ioas_id, dev_id, mask);

	return err ?: capture_load(cap);
}

static void capture_stop(struct trace_capture *cap)
{
	ring_buffer__free(cap->rb);
	iommufd_trace_bpf__destroy(cap->skel);
	cap->rb = NULL;
	cap->skel = NULL;
}

/* Collect everything delivered so far (events are submitted synchronously) */
static unsigned int capture_collect(struct trace_capture *cap)
{
	ring_buffer__consume(cap->rb);
	return cap->n;
}

/* Forget what was collected */
static void capture_reset(struct trace_capture *cap)
{
	capture_collect(cap);
	cap->n = 0;
}

/* One of the BPF side's counters, or ~0 if it cannot be read */
static __u64 capture_counter(struct trace_capture *cap, __u32 which)
{
	__u64 cnt[IOMMUFD_CNT_MAX];

	if (trace_counters_read(cap->skel, cnt))
		return ~0ull;
	return cnt[which];
}

#endif
