/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * QEMU's edu PCI device (hw/misc/edu.c), the vtd profile's real DMA engine:
 * its ids and BAR0 register map, shared by the vtd suites.
 */
#ifndef IOMMUFD_BPF_TESTS_EDU_H
#define IOMMUFD_BPF_TESTS_EDU_H

#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8

#define EDU_IDENT	0x00
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1	/* RAM -> device; edu runs it 100 ms later */
#define EDU_CMD_TO_RAM	0x2	/* direction: device buffer -> RAM */
#define EDU_BUF_ADDR	0x40000	/* the device's internal 4 KiB buffer */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

/* The vfio cdev of the edu device bound to vfio-pci */
static inline const char *edu_cdev(void)
{
	return getenv("EDU_VFIO_CDEV") ?: "/dev/vfio/devices/vfio0";
}

struct edu_attached {
	int iommufd, dev;	/* /dev/iommu and the device's vfio cdev */
	uint32_t devid, ioas_id, hwpt_id;
};

/*
 * Open a context and the edu device, bind it, and attach it to a new IOAS
 * (through an automatic HWPT): 0, or -errno with what was opened closed
 */
static inline int edu_attach(struct edu_attached *a)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int err;

	a->iommufd = open("/dev/iommu", O_RDWR);
	if (a->iommufd < 0)
		return -errno;
	a->dev = open(edu_cdev(), O_RDWR);
	if (a->dev < 0)
		goto fail;
	bind.iommufd = a->iommufd;
	if (ioctl(a->dev, VFIO_DEVICE_BIND_IOMMUFD, &bind) ||
	    ioctl(a->iommufd, IOMMU_IOAS_ALLOC, &alloc))
		goto fail;
	a->devid = bind.out_devid;
	a->ioas_id = alloc.out_ioas_id;
	attach.pt_id = a->ioas_id;
	if (ioctl(a->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		goto fail;
	a->hwpt_id = attach.pt_id;
	return 0;
fail:
	err = -errno;
	if (a->dev >= 0)
		close(a->dev);
	close(a->iommufd);
	return err;
}

#endif
