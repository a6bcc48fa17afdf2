// SPDX-License-Identifier: GPL-2.0-only
/*
 * A real device through iommufd: QEMU's edu PCI device behind the emulated
 * VT-d, bound to vfio-pci and used through its vfio cdev. The device DMAs a
 * buffer in and back out through IOVAs we map; the data must arrive intact,
 * and the map, attach, IOTLB flush and unmap events must be those of this
 * device and this process. Run in the 'vtd' VM profile.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>
#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "trace_capture.h"
#include "edu.h"

#ifndef offsetofend
#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))
#endif

/* QEMU 7.2's edu rejects a DMA that ends exactly at its buffer's end */
#define EDU_DMA_LEN	2048
/* edu masks DMA addresses to 28 bits: keep IOVAs below 256 MiB */
#define IOVA_IN		0x100000
#define IOVA_OUT	0x200000
#define IOVA_NEVER	0x300000	/* never mapped */
/* VT-d fault reasons for a PTE without the access (the spec's 5h and 6h) */
#define DMAR_REASON_NO_WRITE	0x05
#define DMAR_REASON_NO_READ	0x06

FIXTURE(edu)
{
	int iommufd, dev;
	uint32_t devid, ioas_id, hwpt_id;
	uint64_t bar0;
	void *in, *out;
	size_t len;
	struct trace_capture cap;
};

static uint64_t region_offset(struct __test_metadata *_metadata, int dev,
			      uint32_t index)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

	ASSERT_EQ(0, ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &info));
	return info.offset;
}

static void edu_write64(struct __test_metadata *_metadata, FIXTURE_DATA(edu) *self,
			uint32_t reg, uint64_t val)
{
	ASSERT_EQ(sizeof(val), pwrite(self->dev, &val, sizeof(val),
				      self->bar0 + reg));
}

static uint64_t edu_read64(struct __test_metadata *_metadata,
			   FIXTURE_DATA(edu) *self, uint32_t reg)
{
	uint64_t val = 0;

	ASSERT_EQ(sizeof(val), pread(self->dev, &val, sizeof(val),
				     self->bar0 + reg));
	return val;
}

/* Start one DMA and wait for the device to finish it (edu uses a timer) */
static void edu_dma(struct __test_metadata *_metadata, FIXTURE_DATA(edu) *self,
		    uint64_t src, uint64_t dst, uint64_t cmd)
{
	int i;

	edu_write64(_metadata, self, EDU_DMA_SRC, src);
	edu_write64(_metadata, self, EDU_DMA_DST, dst);
	edu_write64(_metadata, self, EDU_DMA_COUNT, EDU_DMA_LEN);
	edu_write64(_metadata, self, EDU_DMA_CMD, cmd | EDU_CMD_START);
	for (i = 0; i < 500; i++) {
		if (!(edu_read64(_metadata, self, EDU_DMA_CMD) & EDU_CMD_START))
			return;
		usleep(10000);
	}
	ASSERT_TRUE(0) TH_LOG("edu DMA did not complete in 5 s");
}

static void map_fixed(struct __test_metadata *_metadata, FIXTURE_DATA(edu) *self,
		      void *buf, uint64_t iova)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = self->ioas_id,
		.user_va = (uintptr_t)buf,
		.length = self->len,
		.iova = iova,
	};

	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_MAP, &map));
}

FIXTURE_SETUP(edu)
{
	struct edu_attached a = { 0 };
	uint64_t cfg;
	uint16_t cmd;
	int err;

	self->len = 4096;
	self->in = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->out = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->in);
	ASSERT_NE(MAP_FAILED, self->out);

	ASSERT_EQ(0, _capture_start(&self->cap, getpid(), 0, 0, 0));
	err = edu_attach(&a);
	ASSERT_EQ(0, err) TH_LOG("%s: %s (is the edu device bound to vfio-pci?)",
				 edu_cdev(), strerror(-err));
	self->iommufd = a.iommufd;
	self->dev = a.dev;
	self->devid = a.devid;
	self->ioas_id = a.ioas_id;
	self->hwpt_id = a.hwpt_id;

	/* Let the device master the bus, then find its registers */
	cfg = region_offset(_metadata, self->dev, VFIO_PCI_CONFIG_REGION_INDEX);
	ASSERT_EQ(2, pread(self->dev, &cmd, 2, cfg + 4));
	cmd |= 0x4;	/* PCI_COMMAND_MASTER */
	ASSERT_EQ(2, pwrite(self->dev, &cmd, 2, cfg + 4));
	self->bar0 = region_offset(_metadata, self->dev, VFIO_PCI_BAR0_REGION_INDEX);
}

FIXTURE_TEARDOWN(edu)
{
	close(self->dev);
	close(self->iommufd);
	capture_stop(&self->cap);
}

TEST_F(edu, dma_round_trip_and_events)
{
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	struct iommufd_event *e;
	uint32_t ident = 0;
	unsigned int i, flush = 0, unmaps = 0;
	unsigned int maps = 0, waits = 0;
	size_t off;

	ASSERT_EQ(4, pread(self->dev, &ident, 4, self->bar0 + EDU_IDENT));
	ASSERT_EQ(0x010000ed, ident & 0xff0000ff) TH_LOG("not an edu device: 0x%x", ident);

	/* The attach of this device to an automatic HWPT of our IOAS */
	capture_collect(&self->cap);
	for (i = 0, e = NULL; i < self->cap.n; i++)
		if (self->cap.ev[i].type == IOMMUFD_EV_DEVICE_ATTACH)
			e = &self->cap.ev[i];
	ASSERT_NE(NULL, e);
	ASSERT_EQ(self->devid, e->dev_id);
	ASSERT_EQ(self->hwpt_id, e->hwpt_id);
	ASSERT_EQ(self->ioas_id, e->ioas_id);
	ASSERT_EQ(getpid(), e->owner_tgid);
	ASSERT_EQ(0, e->ret);
	self->cap.n = 0;

	for (off = 0; off < self->len; off++)
		((uint8_t *)self->in)[off] = off * 7 + 3;
	memset(self->out, 0, self->len);
	map_fixed(_metadata, self, self->in, IOVA_IN);
	map_fixed(_metadata, self, self->out, IOVA_OUT);

	/* RAM -> device through IOVA_IN, device -> RAM through IOVA_OUT */
	edu_dma(_metadata, self, IOVA_IN, EDU_BUF_ADDR, 0);
	edu_dma(_metadata, self, EDU_BUF_ADDR, IOVA_OUT, EDU_CMD_TO_RAM);
	ASSERT_EQ(0, memcmp(self->in, self->out, EDU_DMA_LEN));
	/* and nothing beyond what the device was asked to write */
	for (off = EDU_DMA_LEN; off < self->len; off++)
		ASSERT_EQ(0, ((uint8_t *)self->out)[off]);

	unmap.ioas_id = self->ioas_id;
	unmap.iova = 0;
	unmap.length = UINT64_MAX;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_UNMAP, &unmap));
	ASSERT_EQ(2 * self->len, unmap.length);

	/*
	 * Two maps, each pinning its page for the domain, then one unmap of
	 * both: per area a flush and an unpin, counted in the unmap's record.
	 * The emulated VT-d runs in caching mode, so a map invalidates too:
	 * each map and each flush waits for one invalidation of the device's
	 * HWPT.
	 */
	capture_collect(&self->cap);
	for (i = 0; i < self->cap.n; i++) {
		e = &self->cap.ev[i];
		ASSERT_EQ(getpid(), e->owner_tgid);
		switch (e->type) {
		case IOMMUFD_EV_IOAS_MAP:
			ASSERT_EQ(self->ioas_id, e->ioas_id);
			ASSERT_TRUE(e->iova == IOVA_IN || e->iova == IOVA_OUT);
			ASSERT_EQ(self->len, e->done);
			ASSERT_EQ(1, e->pinned);
			ASSERT_EQ(0, e->domain_unmaps);
			maps++;
			break;
		case IOMMUFD_EV_IOTLB_WAIT:
			ASSERT_EQ(self->hwpt_id, e->hwpt_id);
			ASSERT_EQ(self->ioas_id, e->ioas_id);
			ASSERT_EQ(0, e->ret);
			/* one page-selective IOTLB invalidation of that page */
			ASSERT_EQ(IOMMUFD_QI_IOTLB, self->cap.wait[i].kinds);
			ASSERT_EQ(1, e->count);
			ASSERT_TRUE(e->iova == IOVA_IN || e->iova == IOVA_OUT);
			ASSERT_EQ(self->len, e->length);
			ASSERT_NE(0, e->duration_ns);
			ASSERT_LE(e->duration_ns, self->cap.wait[i].total_ns);
			ASSERT_EQ(0, strncmp(self->cap.wait[i].iommu, "dmar", 4));
			waits++;
			break;
		case IOMMUFD_EV_IOAS_UNMAP:
			ASSERT_EQ(2 * self->len, e->done);
			ASSERT_EQ(-2, e->pinned);
			flush += e->domain_unmaps;
			unmaps++;
			break;
		default:
			/* No pinned update or domain unmap record of its own */
			ASSERT_TRUE(0) TH_LOG("unexpected event type %u", e->type);
		}
	}
	ASSERT_EQ(2, maps);
	ASSERT_EQ(2, flush);
	ASSERT_EQ(1, unmaps);
	ASSERT_EQ(maps + flush, waits);
	ASSERT_EQ(2 + 4 + 1, self->cap.n);
}

/* The edu device's PCI name (0000:00:03.0) and requester id, from sysfs */
static void edu_pci_name(struct __test_metadata *_metadata, char *name,
			 size_t len, uint32_t *rid)
{
	const char *path = edu_cdev();
	char link[PATH_MAX], target[PATH_MAX];
	unsigned int dom, bus, slot, fn;
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/class/vfio-dev/%s/device",
		 basename(strdupa(path)));
	n = readlink(link, target, sizeof(target) - 1);
	ASSERT_LT(0, n) TH_LOG("%s: %s", link, strerror(errno));
	target[n] = 0;
	snprintf(name, len, "%s", basename(target));
	ASSERT_EQ(4, sscanf(name, "%x:%x:%x.%x", &dom, &bus, &slot, &fn));
	*rid = bus << 8 | slot << 3 | fn;
}

/* Wait up to a second for @n records: the fault interrupt is asynchronous */
static void collect_at_least(struct trace_capture *cap, unsigned int n)
{
	int i;

	for (i = 0; i < 100 && capture_collect(cap) < n; i++)
		usleep(10000);
}

/*
 * Real DMA faults through the emulated VT-d: a read of an IOVA never mapped
 * and a write to one unmapped a moment ago. Each comes out as one dma_fault
 * record with the VT-d decode and the iommufd attribution, and the second
 * is diagnosed as DMA after unmap, with the range and who unmapped it.
 */
TEST_F(edu, dma_faults_decoded_and_attributed)
{
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	const struct iommufd_dma_fault_detail *f;
	const struct iommufd_event *e;
	unsigned int i, nfault = 0;
	char name[32];
	uint32_t rid;

	edu_pci_name(_metadata, name, sizeof(name), &rid);
	map_fixed(_metadata, self, self->out, IOVA_OUT);
	unmap.ioas_id = self->ioas_id;
	unmap.iova = IOVA_OUT;
	unmap.length = self->len;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_UNMAP, &unmap));
	capture_reset(&self->cap);

	edu_dma(_metadata, self, IOVA_NEVER, EDU_BUF_ADDR, 0);
	edu_dma(_metadata, self, EDU_BUF_ADDR, IOVA_OUT, EDU_CMD_TO_RAM);
	collect_at_least(&self->cap, 2);

	for (i = 0; i < self->cap.n; i++) {
		e = &self->cap.ev[i];
		f = &self->cap.fault[i];
		ASSERT_EQ(IOMMUFD_EV_DMA_FAULT, e->type)
			TH_LOG("unexpected event type %u", e->type);
		/* Attributed to this process's iommufd objects */
		ASSERT_EQ(getpid(), e->owner_tgid);
		ASSERT_EQ(self->devid, e->dev_id);
		ASSERT_EQ(self->hwpt_id, e->hwpt_id);
		ASSERT_EQ(self->ioas_id, e->ioas_id);
		ASSERT_STREQ(name, f->device);
		/* Decoded from the VT-d fault record */
		ASSERT_EQ(rid, f->source_id);
		ASSERT_EQ(IOMMUFD_DMAR_FAULT_DMA, f->kind);
		ASSERT_EQ(0, e->pasid);
		ASSERT_EQ(0, e->tgid);
		nfault++;
		if (nfault == 1) {
			ASSERT_EQ(IOVA_NEVER, e->iova);
			ASSERT_EQ(IOMMUFD_DMA_FAULT_ATTRIBUTED |
				  IOMMUFD_DMA_FAULT_DECODED, e->flags);
			ASSERT_EQ(DMAR_REASON_NO_READ, e->code);
			ASSERT_STREQ("PTE Read access is not set", f->reason);
			ASSERT_EQ(0, f->unmap_length);
		} else {
			ASSERT_EQ(IOVA_OUT, e->iova);
			ASSERT_EQ(IOMMUFD_DMA_FAULT_WRITE |
				  IOMMUFD_DMA_FAULT_ATTRIBUTED |
				  IOMMUFD_DMA_FAULT_DECODED |
				  IOMMUFD_DMA_FAULT_AFTER_UNMAP, e->flags);
			ASSERT_EQ(DMAR_REASON_NO_WRITE, e->code);
			ASSERT_STREQ("PTE Write access is not set", f->reason);
			ASSERT_EQ(IOVA_OUT, f->unmap_iova);
			ASSERT_EQ(self->len, f->unmap_length);
			ASSERT_EQ(getpid(), f->unmap_tgid);
			ASSERT_EQ(0, strncmp(f->unmap_comm, "vtd_edu",
					     sizeof(f->unmap_comm)));
			ASSERT_LT(0, f->unmap_age_ns);
		}
	}
	/* One record per faulting DMA: QEMU records one fault per request */
	ASSERT_EQ(2, nfault);
}

static unsigned int count_lines(const char *cmd)
{
	unsigned int n = 0;
	FILE *p = popen(cmd, "r");

	if (!p || fscanf(p, "%u", &n) != 1)
		n = ~0u;
	if (p)
		pclose(p);
	return n;
}

static int tracefs_write(const char *file, const char *val)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "/sys/kernel/tracing/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * A burst of faults: the kernel log is rate-limited (10 lines per 5 s), the
 * trace events are not. Every faulting DMA gives one intel_iommu:dmar_fault
 * and one iommufd:iommufd_dma_fault record, in that interrupt.
 */
TEST_F(edu, fault_burst_traced_past_the_log_ratelimit)
{
	const unsigned int burst = 15;
	unsigned int i, logged_before, logged, dmar, iommufd;

	ASSERT_EQ(0, tracefs_write("events/intel_iommu/dmar_fault/enable", "1"));
	ASSERT_EQ(0, tracefs_write("events/iommufd/iommufd_dma_fault/enable", "1"));
	ASSERT_EQ(0, tracefs_write("trace", ""));
	logged_before = count_lines("dmesg | grep -c 'DMAR: \\[DMA Read'");

	for (i = 0; i < burst; i++)
		edu_dma(_metadata, self, IOVA_NEVER + i * 0x1000, EDU_BUF_ADDR, 0);
	usleep(100000);

	dmar = count_lines("grep -c ' dmar_fault: ' /sys/kernel/tracing/trace");
	iommufd = count_lines("grep -c ' iommufd_dma_fault: ' /sys/kernel/tracing/trace");
	logged = count_lines("dmesg | grep -c 'DMAR: \\[DMA Read'") - logged_before;
	tracefs_write("events/intel_iommu/dmar_fault/enable", "0");
	tracefs_write("events/iommufd/iommufd_dma_fault/enable", "0");
	TH_LOG("%u faulting DMAs: %u dmar_fault, %u iommufd_dma_fault events, %u log lines",
	       burst, dmar, iommufd, logged);
	ASSERT_EQ(burst, dmar);
	ASSERT_EQ(burst, iommufd);
	ASSERT_GT(burst, logged);
}

/*
 * VFIO's PASID attach on a device without PASIDs (QEMU's edu has no PASID
 * capability): each bad request fails with its errno and the device's RID
 * stays attached.
 */
TEST_F(edu, pasid_attach_refused_without_pasids)
{
	struct iommu_hw_info info = { .size = sizeof(info), .dev_id = self->devid };
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.flags = VFIO_DEVICE_ATTACH_PASID,
		.pt_id = self->hwpt_id,
		.pasid = 1,
	};
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
		.flags = VFIO_DEVICE_DETACH_PASID,
		.pasid = 1,
	};
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.flags = IOMMU_HWPT_ALLOC_PASID,
		.dev_id = self->devid,
		.pt_id = self->ioas_id,
	};
	struct iommu_destroy destroy = {
		.size = sizeof(destroy),
		.id = self->hwpt_id,
	};
	const struct iommufd_event *e;

	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_GET_HW_INFO, &info));
	EXPECT_EQ(0, info.out_max_pasid_log2);
	EXPECT_EQ(-1, ioctl(self->iommufd, IOMMU_HWPT_ALLOC, &alloc));
	EXPECT_EQ(EOPNOTSUPP, errno);
	capture_reset(&self->cap);

	/* The old argsz cannot carry a PASID; unknown flags; PASID 0 */
	attach.argsz = offsetofend(struct vfio_device_attach_iommufd_pt, pt_id);
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
	EXPECT_EQ(EINVAL, errno);
	attach.argsz = sizeof(attach);
	attach.flags = VFIO_DEVICE_ATTACH_PASID << 1;
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
	EXPECT_EQ(EINVAL, errno);
	attach.flags = VFIO_DEVICE_ATTACH_PASID;
	attach.pasid = 0;
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
	EXPECT_EQ(EINVAL, errno);
	capture_collect(&self->cap);
	EXPECT_EQ(0, self->cap.n);	/* refused before iommufd */

	/* A well-formed request reaches iommufd, which refuses it */
	attach.pasid = 1;
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
	EXPECT_EQ(EOPNOTSUPP, errno);
	capture_collect(&self->cap);
	ASSERT_EQ(1, self->cap.n);
	e = &self->cap.ev[0];
	EXPECT_EQ(IOMMUFD_EV_DEVICE_ATTACH, e->type);
	EXPECT_EQ(self->devid, e->dev_id);
	EXPECT_EQ(self->hwpt_id, e->hwpt_id);
	EXPECT_EQ(1, e->pasid);
	EXPECT_EQ(-EOPNOTSUPP, e->ret);
	capture_reset(&self->cap);
	attach.pt_id = self->ioas_id;
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
	EXPECT_EQ(EOPNOTSUPP, errno);

	/* Detach: argument errors; a PASID not attached is no error */
	detach.argsz = offsetofend(struct vfio_device_detach_iommufd_pt, flags);
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach));
	EXPECT_EQ(EINVAL, errno);
	detach.argsz = sizeof(detach);
	detach.flags = VFIO_DEVICE_DETACH_PASID << 1;
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach));
	EXPECT_EQ(EINVAL, errno);
	detach.flags = VFIO_DEVICE_DETACH_PASID;
	EXPECT_EQ(0, ioctl(self->dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach));
	capture_reset(&self->cap);

	/* The RID is still attached: its HWPT cannot go */
	EXPECT_EQ(-1, ioctl(self->iommufd, IOMMU_DESTROY, &destroy));
	EXPECT_EQ(EBUSY, errno);
}

TEST_HARNESS_MAIN
