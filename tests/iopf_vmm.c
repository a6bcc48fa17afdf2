// SPDX-License-Identifier: GPL-2.0-only
/*
 * iopf-vmm: a VMM-shaped process whose device takes I/O page faults, for the
 * fault policy demo and CLI tests. The selftest mock device sits on a paging
 * HWPT with a fault object; "guest RAM" is the IOVA window GUEST_BASE +
 * GUEST_SIZE, of which the first MAPPED_SIZE bytes are mapped. A handler
 * thread answers the fault fd as a VMM would: a fault inside guest RAM is
 * demand-mapped and answered SUCCESS, anything else INVALID.
 *
 *   iopf-vmm      prints "ready pid=P fault_fd=F dev=D ioas=I hwpt=H fault=X"
 *                 then reads commands from stdin, one per line:
 *   fault KIND N  N fault groups of one KIND:
 *                   mapped  on mapped guest RAM (the fault raced a map)
 *                   demand  on unmapped guest RAM (the VMM maps it)
 *                   stray   outside guest RAM (a buggy or hostile device)
 *                   storm   like stray, as fast as possible
 *   ledger        print the device's page-response ledger
 *   quit          exit: 0 if every group was answered exactly once
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>

#include "iommufd_test.h"

#define GUEST_BASE	0x10000000ULL
#define GUEST_SIZE	(16ULL << 20)
#define MAPPED_SIZE	(1ULL << 20)
#define STRAY_BASE	0x80000000ULL
#define PAGE		4096ULL

static int fd, fault_fd;
static uint32_t ioas_id, dev_id;
static void *guest_ram;
static volatile bool stopping;
static unsigned long by_fd_success, by_fd_invalid;

static void die(const char *what)
{
	fprintf(stderr, "iopf-vmm: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void test_cmd(struct iommu_test_cmd *cmd, const char *what)
{
	cmd->size = sizeof(*cmd);
	if (ioctl(fd, IOMMU_TEST_CMD, cmd))
		die(what);
}

static int map_guest(uint64_t iova, uint64_t len)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)guest_ram + (iova - GUEST_BASE),
		.length = len,
		.iova = iova,
	};

	return ioctl(fd, IOMMU_IOAS_MAP, &map) ? -errno : 0;
}

/* The VMM's fault handler: demand-map guest RAM, refuse the rest */
static void *handle_faults(void *arg)
{
	struct pollfd p = { .fd = fault_fd, .events = POLLIN };

	while (!stopping) {
		struct iommu_hwpt_pgfault pf[16];
		ssize_t n;
		int i;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fault_fd, pf, sizeof(pf));
		for (i = 0; n > 0 && i < n / (ssize_t)sizeof(pf[0]); i++) {
			uint64_t page = pf[i].addr & ~(PAGE - 1);
			bool ram = page >= GUEST_BASE && page < GUEST_BASE + GUEST_SIZE;
			struct iommu_hwpt_page_response resp = {
				.cookie = pf[i].cookie,
			};

			if (ram) {
				int err = map_guest(page, PAGE);

				/* mapped already (an earlier request) is fine */
				ram = !err || err == -EEXIST;
			}
			/* one answer per group (read returns whole groups):
			 * its last request decides */
			if (i + 1 < n / (ssize_t)sizeof(pf[0]) &&
			    pf[i + 1].cookie == pf[i].cookie)
				continue;
			resp.code = ram ? IOMMUFD_PAGE_RESP_SUCCESS :
					  IOMMUFD_PAGE_RESP_INVALID;
			if (write(fault_fd, &resp, sizeof(resp)) != sizeof(resp))
				die("write response");
			if (ram)
				by_fd_success++;
			else
				by_fd_invalid++;
		}
	}
	return NULL;
}

static void trigger(uint32_t pasid, uint32_t grpid, uint64_t addr)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = {
			.dev_id = dev_id, .pasid = pasid, .grpid = grpid & 0x1ff,
			.perm = IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE,
			.addr = addr,
		},
	};

	test_cmd(&cmd, "IOMMU_TEST_OP_TRIGGER_IOPF");
}

static void read_ledger(struct iommu_test_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->op = IOMMU_TEST_OP_IOPF_LEDGER;
	cmd->iopf_ledger.dev_id = dev_id;
	test_cmd(cmd, "IOMMU_TEST_OP_IOPF_LEDGER");
}

/* Wait until every reported group has its answer (the handler is async) */
static bool settle(struct iommu_test_cmd *cmd)
{
	int i;

	for (i = 0; i < 500; i++) {
		read_ledger(cmd);
		if (!cmd->iopf_ledger.out_pending)
			return true;
		usleep(10000);
	}
	return false;
}

static bool print_ledger(void)
{
	struct iommu_test_cmd cmd;
	bool settled = settle(&cmd);
	typeof(cmd.iopf_ledger) *l = &cmd.iopf_ledger;
	unsigned long kernel_success = l->out_success - by_fd_success;
	unsigned long kernel_invalid = l->out_invalid - by_fd_invalid;

	printf("ledger reported=%u success=%u invalid=%u failure=%u duplicates=%u orphans=%u pending=%u"
	       " answered_by_fd=%lu answered_in_kernel=%lu (success %lu, invalid %lu)\n",
	       l->out_reported, l->out_success, l->out_invalid,
	       l->out_failure, l->out_duplicates, l->out_orphans,
	       l->out_pending, by_fd_success + by_fd_invalid,
	       kernel_success + kernel_invalid, kernel_success,
	       kernel_invalid);
	fflush(stdout);
	return settled && !l->out_failure && !l->out_duplicates &&
	       !l->out_orphans &&
	       l->out_reported == l->out_success + l->out_invalid;
}

static void run_faults(const char *kind, unsigned long n)
{
	static uint32_t grpid;
	static uint64_t demand_next = GUEST_BASE + MAPPED_SIZE;
	unsigned long i;

	for (i = 0; i < n; i++, grpid++) {
		if (!strcmp(kind, "mapped")) {
			trigger(0, grpid, GUEST_BASE + (i * PAGE) % MAPPED_SIZE);
		} else if (!strcmp(kind, "demand")) {
			trigger(0, grpid, demand_next);
			demand_next += PAGE;
			if (demand_next >= GUEST_BASE + GUEST_SIZE)
				demand_next = GUEST_BASE + MAPPED_SIZE;
		} else if (!strcmp(kind, "stray")) {
			trigger(0, grpid, STRAY_BASE + i * PAGE);
			usleep(2000);
		} else {
			trigger(0, grpid, STRAY_BASE + i * PAGE);
		}
	}
	printf("faulted %s %lu\n", kind, n);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_test_cmd replace = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	struct iommu_fault_alloc falloc = { .size = sizeof(falloc) };
	struct iommu_hwpt_alloc halloc = { .size = sizeof(halloc) };
	char line[128];
	pthread_t handler;
	bool ok = true;

	if (argc > 1) {
		fprintf(stderr, "usage: iopf-vmm (commands on stdin: fault mapped|demand|stray|storm N, ledger, quit)\n");
		return 2;
	}
	guest_ram = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guest_ram == MAP_FAILED)
		die("mmap");
	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		die("/dev/iommu");
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOMMU_IOAS_ALLOC");
	ioas_id = alloc.out_ioas_id;
	mock.id = ioas_id;
	test_cmd(&mock, "IOMMU_TEST_OP_MOCK_DOMAIN");
	dev_id = mock.mock_domain.out_idev_id;
	if (ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &falloc))
		die("IOMMU_FAULT_QUEUE_ALLOC");
	fault_fd = falloc.out_fault_fd;
	halloc.flags = IOMMU_HWPT_FAULT_ID_VALID;
	halloc.dev_id = dev_id;
	halloc.pt_id = ioas_id;
	halloc.fault_id = falloc.out_fault_id;
	if (ioctl(fd, IOMMU_HWPT_ALLOC, &halloc))
		die("IOMMU_HWPT_ALLOC (paging, with a fault object)");
	replace.id = mock.mock_domain.out_stdev_id;
	replace.mock_domain_replace.pt_id = halloc.out_hwpt_id;
	test_cmd(&replace, "attach to the IOPF HWPT");
	if (map_guest(GUEST_BASE, MAPPED_SIZE))
		die("IOMMU_IOAS_MAP");
	if (pthread_create(&handler, NULL, handle_faults, NULL))
		die("pthread_create");

	printf("ready pid=%d fault_fd=%d dev=%u ioas=%u hwpt=%u fault=%u\n",
	       getpid(), fault_fd, dev_id, ioas_id, halloc.out_hwpt_id,
	       falloc.out_fault_id);
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		char kind[16];
		unsigned long n;

		if (sscanf(line, "fault %15s %lu", kind, &n) == 2 &&
		    (!strcmp(kind, "mapped") || !strcmp(kind, "demand") ||
		     !strcmp(kind, "stray") || !strcmp(kind, "storm")))
			run_faults(kind, n);
		else if (!strncmp(line, "ledger", 6))
			ok = print_ledger() && ok;
		else if (!strncmp(line, "quit", 4))
			break;
		else
			fprintf(stderr, "iopf-vmm: unknown command: %s", line);
	}
	ok = print_ledger() && ok;
	stopping = true;
	pthread_join(handler, NULL);
	return ok ? 0 : 1;
}
