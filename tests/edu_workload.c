// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu-workload: what a VMM does with a real device through iommufd, for the
 * tests that watch it without knowing the series' events: the edu device's
 * VFIO cdev bound to a new context, attached to a new IOAS (through an
 * automatic HWPT), N pages mapped one at a time from IOVA 0x100000 and
 * unmapped with one call, the device detached, everything closed.
 *
 *   edu-workload [-n PAGES]
 *
 * Prints "pid=P dev=D ioas=I hwpt=H" once attached and "done" at the end.
 * Exit status: 0, 1 on a failed call (named on stderr), 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "edu.h"

#define IOVA_BASE 0x100000ul

static int die(const char *what)
{
	fprintf(stderr, "edu-workload: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };
	struct edu_attached a = { 0 };
	unsigned long pages = 2, i;
	void *buf;
	int err;

	if (argc == 3 && !strcmp(argv[1], "-n")) {
		pages = strtoul(argv[2], NULL, 0);
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [-n PAGES]\n", argv[0]);
		return 2;
	}
	if (!pages || pages > 256) {
		fprintf(stderr, "edu-workload: need 1 <= PAGES <= 256\n");
		return 2;
	}
	buf = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return die("mmap");
	err = edu_attach(&a);
	if (err) {
		errno = -err;
		return die(edu_cdev());
	}
	printf("pid=%d dev=%u ioas=%u hwpt=%u\n", getpid(), a.devid, a.ioas_id,
	       a.hwpt_id);
	fflush(stdout);
	for (i = 0; i < pages; i++) {
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = a.ioas_id,
			.user_va = (uintptr_t)buf + i * 4096,
			.length = 4096, .iova = IOVA_BASE + i * 4096,
		};

		if (ioctl(a.iommufd, IOMMU_IOAS_MAP, &map))
			return die("IOMMU_IOAS_MAP");
	}
	{
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap), .ioas_id = a.ioas_id,
			.iova = IOVA_BASE, .length = pages * 4096,
		};

		if (ioctl(a.iommufd, IOMMU_IOAS_UNMAP, &unmap))
			return die("IOMMU_IOAS_UNMAP");
	}
	if (ioctl(a.dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach))
		return die("VFIO_DEVICE_DETACH_IOMMUFD_PT");
	close(a.dev);
	close(a.iommufd);
	printf("done\n");
	return 0;
}
