// SPDX-License-Identifier: GPL-2.0-only
/*
 * context-churn: many iommufd contexts, as on a host running many VMMs,
 * for the tests and benchmarks of tables that must forget the dead.
 *
 *   context-churn [--ioas K] [--devices D] [--maps M] [--hold N] COUNT
 *
 * Creates COUNT contexts one after the other, each with K IOASes, D mock
 * devices (attached to the IOASes in turn) and M maps and unmaps of one page
 * on every IOAS, and closes each when done. With --hold N it first creates
 * N such contexts and keeps them open, prints "held N" and, after the
 * churn, waits for SIGTERM or SIGINT before closing them; --keep-mapped
 * leaves one page mapped (and pinned) in every IOAS of those.
 *
 * Prints "done contexts=COUNT maps=TOTAL" at the end of the churn, where
 * TOTAL counts the maps of the churned contexts only. Every IOAS of a
 * context gets the same ids in every context: 1 is always the first.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <linux/iommufd.h>

#include "iommufd_test.h"

#define IOVA_BASE (1UL << 24)	/* MOCK_APERTURE_START */
#define MAX_IOAS 16

static unsigned long nr_ioas = 1, nr_devices = 1, nr_maps = 2;
static bool keep_mapped;
static void *page;

static void die(const char *what)
{
	fprintf(stderr, "context-churn: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Map the page at IOVA_BASE of @ioas */
static void map_page(int fd, uint32_t ioas)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas, .user_va = (uintptr_t)page,
		.length = 4096, .iova = IOVA_BASE,
	};

	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		die("IOMMU_IOAS_MAP");
}

/*
 * One context with its objects and activity; returns its fd. A kept
 * context maps its page once more at the end and leaves it mapped (so
 * pinned, through the mock devices' domains).
 */
static int make_context(bool keep)
{
	uint32_t ioas[MAX_IOAS];
	unsigned long i, m;
	int fd;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		die("/dev/iommu");
	for (i = 0; i < nr_ioas; i++) {
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

		if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
			die("IOMMU_IOAS_ALLOC");
		ioas[i] = alloc.out_ioas_id;
	}
	for (i = 0; i < nr_devices; i++) {
		struct iommu_test_cmd mock = {
			.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
			.id = ioas[i % nr_ioas],
		};

		if (ioctl(fd, IOMMU_TEST_CMD, &mock))
			die("IOMMU_TEST_OP_MOCK_DOMAIN");
	}
	for (i = 0; i < nr_ioas; i++) {
		for (m = 0; m < nr_maps; m++) {
			struct iommu_ioas_unmap unmap = {
				.size = sizeof(unmap), .ioas_id = ioas[i],
				.iova = IOVA_BASE, .length = 4096,
			};

			map_page(fd, ioas[i]);
			if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
				die("IOMMU_IOAS_UNMAP");
		}
		if (keep)
			map_page(fd, ioas[i]);
	}
	return fd;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static unsigned long number(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "context-churn: invalid %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ioas", required_argument, NULL, 'i' },
		{ "devices", required_argument, NULL, 'd' },
		{ "maps", required_argument, NULL, 'm' },
		{ "hold", required_argument, NULL, 'H' },
		{ "keep-mapped", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long count, hold = 0, i;
	struct rlimit rl;
	int *held = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "i:d:m:H:Kh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': nr_ioas = number(optarg, "--ioas"); break;
		case 'd': nr_devices = number(optarg, "--devices"); break;
		case 'm': nr_maps = number(optarg, "--maps"); break;
		case 'H': hold = number(optarg, "--hold"); break;
		case 'K': keep_mapped = true; break;
		case 'h':
			printf("usage: %s [--ioas K] [--devices D] [--maps M] [--hold N [--keep-mapped]] COUNT\n",
			       argv[0]);
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || !nr_ioas || nr_ioas > MAX_IOAS) {
		fprintf(stderr, "context-churn: need COUNT, and 1 <= --ioas <= %d\n",
			MAX_IOAS);
		return 2;
	}
	count = number(argv[optind], "COUNT");

	/* Held contexts each keep a file open */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < hold + 64) {
		rl.rlim_cur = rl.rlim_max = hold + 64;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			die("RLIMIT_NOFILE");
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (page == MAP_FAILED)
		die("mmap");

	held = calloc(hold ? hold : 1, sizeof(*held));
	if (!held)
		die("calloc");
	for (i = 0; i < hold; i++)
		held[i] = make_context(keep_mapped);
	printf("pid=%d held %lu\n", getpid(), hold);
	fflush(stdout);

	for (i = 0; i < count && !stop; i++)
		close(make_context(false));
	printf("done contexts=%lu maps=%lu\n", i, i * nr_ioas * nr_maps);
	fflush(stdout);

	if (hold) {
		while (!stop)
			pause();
		for (i = 0; i < hold; i++)
			close(held[i]);
	}
	free(held);
	return 0;
}
