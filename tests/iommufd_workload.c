// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd-workload: drive known iommufd activity through the selftest mock,
 * for the tracer's tests and the demo.
 *
 *   iommufd-workload [-n ITER] [-p PAGES] [--device] [--faults N]
 *                    [--dma-faults N] [--invalidate N] [--pasids N]
 *                    [--sleep MS]
 *
 * Opens /dev/iommu, allocates an IOAS and, with --device, a mock device
 * attached to it (so maps pin pages and unmaps flush the IOTLB). Each
 * iteration maps PAGES pages at a fixed IOVA and unmaps them. --faults N
 * moves the device to an IOPF-capable HWPT and answers N page faults through
 * the fault queue. --dma-faults N then has the device make N unrecoverable
 * DMA faults: even ones write into the range the last iteration unmapped
 * (DMA after unmap), odd ones read an IOVA never mapped (IOVA_NEVER).
 * --invalidate N flushes the IOTLB of a nested HWPT N times, as a VMM does
 * for its guest (IOMMU_HWPT_INVALIDATE), plus one request the mock refuses.
 * --copy N copies the mapping into a second IOAS in the first N iterations
 * (IOMMU_IOAS_COPY, unmapped there again), plus one copy of a range that is
 * not mapped, which fails. --pasids N makes the device PASID-capable and,
 * last, attaches its PASIDs 1..N to a HWPT allocated for PASIDs (the RID
 * moved onto one too), replaces PASID 1's with another, and detaches
 * PASIDs 2..N: PASID 1 stays attached until the context closes.
 * --unanswered N (with --faults) has the device report N more page faults
 * that are never read: iommufd answers them itself when the device leaves
 * the HWPT. --comm names the process (any bytes, as a
 * hostile or broken process may). --linger MS keeps the context open that
 * long after the "done" line, before closing it. --destroy-copy destroys the
 * second IOAS (IOMMU_DESTROY) before the "done" line, --destroy-device the
 * mock device (which unbinds it).
 * Prints
 * one line "pid=P ioas=I dev=D hwpt=H" first, then
 * "done maps=M unmaps=U faults=F dma_faults=D invalidations=I" at the end.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <linux/iommufd.h>

#include "iommufd_test.h"
#include "pasid_mock.h"

#define IOVA_BASE (1UL << 24)	/* MOCK_APERTURE_START */
#define IOVA_NEVER (IOVA_BASE + (1UL << 30))

static int fd;

static void die(const char *what)
{
	fprintf(stderr, "iommufd-workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void test_cmd(struct iommu_test_cmd *cmd, const char *what)
{
	cmd->size = sizeof(*cmd);
	if (ioctl(fd, IOMMU_TEST_CMD, cmd))
		die(what);
}

static uint32_t hwpt_alloc(uint32_t dev, uint32_t pt, uint32_t flags,
			   uint32_t fault_id, uint32_t type, void *data,
			   uint32_t len)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev, .pt_id = pt,
		.data_type = type, .data_len = len, .data_uptr = (uintptr_t)data,
		.fault_id = fault_id,
	};

	if (ioctl(fd, IOMMU_HWPT_ALLOC, &cmd))
		die("IOMMU_HWPT_ALLOC");
	return cmd.out_hwpt_id;
}

/*
 * Move the device to an IOPF-capable HWPT, answer n faults, and leave
 * unanswered more for iommufd to answer when the device moves back
 */
static unsigned int run_faults(uint32_t stdev, uint32_t dev, uint32_t ioas,
			       unsigned int n, unsigned int unanswered)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_fault_alloc falloc = { .size = sizeof(falloc) };
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	uint32_t parent, iopf;
	unsigned int i;

	if (ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &falloc))
		die("IOMMU_FAULT_QUEUE_ALLOC");
	parent = hwpt_alloc(dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0,
			    IOMMU_HWPT_DATA_NONE, NULL, 0);
	iopf = hwpt_alloc(dev, parent, IOMMU_HWPT_FAULT_ID_VALID,
			  falloc.out_fault_id, IOMMU_HWPT_DATA_SELFTEST, &data,
			  sizeof(data));
	cmd.id = stdev;
	cmd.mock_domain_replace.pt_id = iopf;
	test_cmd(&cmd, "replace to the IOPF HWPT");

	for (i = 0; i < n + unanswered; i++) {
		struct iommu_test_cmd trig = {
			.op = IOMMU_TEST_OP_TRIGGER_IOPF,
			.trigger_iopf = {
				.dev_id = dev, .pasid = 0x1, .grpid = i & 0x1ff,
				.perm = IOMMU_PGFAULT_PERM_READ,
				.addr = IOVA_BASE + (uint64_t)i * 4096,
			},
		};
		struct iommu_hwpt_page_response resp = {
			.code = IOMMUFD_PAGE_RESP_SUCCESS,
		};
		struct iommu_hwpt_pgfault pf;

		test_cmd(&trig, "IOMMU_TEST_OP_TRIGGER_IOPF");
		if (i >= n)
			continue;
		if (read(falloc.out_fault_fd, &pf, sizeof(pf)) != sizeof(pf))
			die("read fault");
		resp.cookie = pf.cookie;
		if (write(falloc.out_fault_fd, &resp, sizeof(resp)) != sizeof(resp))
			die("write response");
	}
	/* Back to the parent, then drop the fault queue */
	cmd.mock_domain_replace.pt_id = parent;
	test_cmd(&cmd, "replace back");
	close(falloc.out_fault_fd);
	return n;
}

/* PASIDs 1..n attached, PASID 1 replaced, 2..n detached (see the top) */
static unsigned int run_pasids(uint32_t stdev, uint32_t dev, uint32_t ioas,
			       unsigned int n)
{
	uint32_t a = hwpt_alloc(dev, ioas, IOMMU_HWPT_ALLOC_PASID, 0,
				IOMMU_HWPT_DATA_NONE, NULL, 0);
	uint32_t b = hwpt_alloc(dev, ioas, IOMMU_HWPT_ALLOC_PASID, 0,
				IOMMU_HWPT_DATA_NONE, NULL, 0);
	struct iommu_test_cmd replace = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev,
		.mock_domain_replace = { .pt_id = a },
	};
	unsigned int pasid;
	uint32_t pt;

	/* PASIDs want the RID on a HWPT for PASIDs too */
	test_cmd(&replace, "IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE");
	for (pasid = 1; pasid <= n; pasid++) {
		pt = a;
		errno = -pasid_attach(fd, stdev, pasid, &pt);
		if (errno)
			die("IOMMU_TEST_OP_PASID_ATTACH");
	}
	pt = b;
	errno = -pasid_replace(fd, stdev, 1, &pt);
	if (errno)
		die("IOMMU_TEST_OP_PASID_REPLACE");
	for (pasid = 2; pasid <= n; pasid++) {
		errno = -pasid_detach(fd, stdev, pasid);
		if (errno)
			die("IOMMU_TEST_OP_PASID_DETACH");
	}
	return n;
}

/* Unrecoverable DMA faults of the mock device, as its IOMMU would report */
static unsigned int run_dma_faults(uint32_t dev, size_t len, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct iommu_test_cmd cmd = {
			.op = IOMMU_TEST_OP_DMA_FAULT,
			.dma_fault = { .dev_id = dev },
		};

		if (i % 2) {
			cmd.dma_fault.iova = IOVA_NEVER + (uint64_t)i * 4096;
		} else {
			cmd.dma_fault.iova = IOVA_BASE + (i / 2 * 4096) % len;
			cmd.dma_fault.flags = MOCK_DMA_FAULT_WRITE;
		}
		test_cmd(&cmd, "IOMMU_TEST_OP_DMA_FAULT");
	}
	return n;
}

/* IOTLB invalidations of a nested HWPT over the IOAS: n that work, one not */
static unsigned int run_invalidations(uint32_t dev, uint32_t ioas,
				      unsigned int n)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_invalidate_selftest inv = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
	};
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .data_uptr = (uintptr_t)&inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(inv),
	};
	uint32_t parent;
	unsigned int i;

	parent = hwpt_alloc(dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0,
			    IOMMU_HWPT_DATA_NONE, NULL, 0);
	cmd.hwpt_id = hwpt_alloc(dev, parent, 0, 0, IOMMU_HWPT_DATA_SELFTEST,
				 &data, sizeof(data));
	for (i = 0; i < n; i++) {
		cmd.entry_num = 1;
		if (ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd))
			die("IOMMU_HWPT_INVALIDATE");
	}
	cmd.entry_num = 1;
	cmd.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID;
	if (!ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd) || errno != EINVAL)
		die("IOMMU_HWPT_INVALIDATE of an invalid type did not fail with EINVAL");
	return n;
}

/* Copy what is mapped at IOVA_BASE into @dst and unmap it there again */
static void copy_and_drop(uint32_t src, uint32_t dst, size_t len)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.dst_ioas_id = dst, .src_ioas_id = src,
		.length = len, .dst_iova = IOVA_BASE, .src_iova = IOVA_BASE,
	};
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = dst,
		.iova = IOVA_BASE, .length = len,
	};

	if (ioctl(fd, IOMMU_IOAS_COPY, &copy))
		die("IOMMU_IOAS_COPY");
	if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
		die("IOMMU_IOAS_UNMAP");
}

/* A copy of a range that is not mapped: must fail with ENOENT */
static void copy_unmapped(uint32_t src, uint32_t dst, size_t len)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		.dst_ioas_id = dst, .src_ioas_id = src,
		.length = len, .dst_iova = IOVA_BASE, .src_iova = IOVA_NEVER,
	};

	if (!ioctl(fd, IOMMU_IOAS_COPY, &copy) || errno != ENOENT)
		die("IOMMU_IOAS_COPY of an unmapped range");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "iterations", required_argument, NULL, 'n' },
		{ "pages", required_argument, NULL, 'p' },
		{ "device", no_argument, NULL, 'D' },
		{ "faults", required_argument, NULL, 'f' },
		{ "dma-faults", required_argument, NULL, 'F' },
		{ "invalidate", required_argument, NULL, 'I' },
		{ "pasids", required_argument, NULL, 'P' },
		{ "sleep", required_argument, NULL, 's' },
		{ "copy", required_argument, NULL, 'C' },
		{ "comm", required_argument, NULL, 'c' },
		{ "linger", required_argument, NULL, 'L' },
		{ "destroy-copy", no_argument, NULL, 'X' },
		{ "destroy-device", no_argument, NULL, 'Y' },
		{ "unanswered", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	unsigned long iters = 1, pages = 1, faults = 0, dma_faults = 0, invals = 0;
	unsigned long sleep_ms = 0, copies = 0, linger_ms = 0, pasids = 0, i;
	unsigned long unanswered = 0;
	struct iommu_ioas_alloc alloc2 = { .size = sizeof(alloc2) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	uint32_t stdev = 0, dev = 0, hwpt = 0;
	bool device = false, destroy_copy = false, destroy_device = false;
	unsigned int nfaults = 0, ndma = 0, ninval = 0, npasids = 0;
	size_t len;
	void *buf;
	int c;

	while ((c = getopt_long(argc, argv, "n:p:Df:F:I:P:s:C:c:L:XYU:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': iters = strtoul(optarg, NULL, 0); break;
		case 'p': pages = strtoul(optarg, NULL, 0); break;
		case 'D': device = true; break;
		case 'f': faults = strtoul(optarg, NULL, 0); break;
		case 'F': dma_faults = strtoul(optarg, NULL, 0); break;
		case 'I': invals = strtoul(optarg, NULL, 0); break;
		case 'P': pasids = strtoul(optarg, NULL, 0); break;
		case 's': sleep_ms = strtoul(optarg, NULL, 0); break;
		case 'C': copies = strtoul(optarg, NULL, 0); break;
		case 'c': prctl(PR_SET_NAME, optarg); break;
		case 'L': linger_ms = strtoul(optarg, NULL, 0); break;
		case 'X': destroy_copy = true; break;
		case 'Y': destroy_device = true; break;
		case 'U': unanswered = strtoul(optarg, NULL, 0); break;
		case 'h':
			printf("usage: %s [-n ITER] [-p PAGES] [--device] [--faults N] [--dma-faults N] [--invalidate N] [--pasids N] [--copy N] [--sleep MS] [--comm NAME] [--linger MS] [--destroy-copy] [--destroy-device] [--unanswered N]\n",
			       argv[0]);
			return 0;
		default:
			return 2;
		}
	}
	if (!iters || !pages || pages > 4096 || copies > iters ||
	    ((faults || dma_faults || invals || pasids) && !device) ||
	    (destroy_copy && !copies) || (destroy_device && !device) ||
	    (unanswered && !faults) ||
	    pasids >= 1u << MOCK_PASID_WIDTH) {
		fprintf(stderr, "iommufd-workload: need ITER >= 1, 1 <= PAGES <= 4096, --copy N <= ITER, --pasids N below 2^%u, --device for --faults, --dma-faults, --invalidate, --pasids and --destroy-device, --copy for --destroy-copy, and --faults for --unanswered\n",
			MOCK_PASID_WIDTH);
		return 2;
	}

	len = pages * 4096;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		die("/dev/iommu");
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOMMU_IOAS_ALLOC");
	if (device) {
		mock.id = alloc.out_ioas_id;
		if (pasids) {
			mock.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
			mock.mock_domain_flags.dev_flags = MOCK_FLAGS_DEVICE_PASID;
		}
		test_cmd(&mock, "IOMMU_TEST_OP_MOCK_DOMAIN");
		stdev = mock.mock_domain.out_stdev_id;
		hwpt = mock.mock_domain.out_hwpt_id;
		dev = mock.mock_domain.out_idev_id;
	}
	if (copies && ioctl(fd, IOMMU_IOAS_ALLOC, &alloc2))
		die("IOMMU_IOAS_ALLOC");
	printf("pid=%d ioas=%u dev=%u hwpt=%u copy_ioas=%u\n", getpid(),
	       alloc.out_ioas_id, dev, hwpt, alloc2.out_ioas_id);
	fflush(stdout);

	for (i = 0; i < iters; i++) {
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = alloc.out_ioas_id,
			.user_va = (uintptr_t)buf, .length = len,
			.iova = IOVA_BASE,
		};
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap), .ioas_id = alloc.out_ioas_id,
			.iova = IOVA_BASE, .length = len,
		};

		if (ioctl(fd, IOMMU_IOAS_MAP, &map))
			die("IOMMU_IOAS_MAP");
		if (i < copies)
			copy_and_drop(alloc.out_ioas_id, alloc2.out_ioas_id, len);
		if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
			die("IOMMU_IOAS_UNMAP");
		if (sleep_ms)
			usleep(sleep_ms * 1000);
	}
	if (copies)
		copy_unmapped(alloc.out_ioas_id, alloc2.out_ioas_id, len);
	if (dma_faults)
		ndma = run_dma_faults(dev, len, dma_faults);
	if (invals)
		ninval = run_invalidations(dev, alloc.out_ioas_id, invals);
	if (faults)
		nfaults = run_faults(stdev, dev, alloc.out_ioas_id, faults,
				     unanswered);
	if (pasids)
		npasids = run_pasids(stdev, dev, alloc.out_ioas_id, pasids);
	if (destroy_copy) {
		struct iommu_destroy destroy = {
			.size = sizeof(destroy), .id = alloc2.out_ioas_id,
		};

		if (ioctl(fd, IOMMU_DESTROY, &destroy))
			die("IOMMU_DESTROY");
	}
	if (destroy_device) {
		struct iommu_destroy destroy = {
			.size = sizeof(destroy), .id = stdev,
		};

		if (ioctl(fd, IOMMU_DESTROY, &destroy))
			die("IOMMU_DESTROY of the mock device");
	}
	printf("done maps=%lu unmaps=%lu copies=%lu faults=%u dma_faults=%u invalidations=%u pasids=%u\n",
	       iters, iters, copies, nfaults, ndma, ninval, npasids);
	fflush(stdout);
	if (linger_ms)
		usleep(linger_ms * 1000);
	close(fd);
	return 0;
}
