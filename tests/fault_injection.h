/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fail-nth for the guest tests: make every allocation injectable, keep the
 * injected failures out of the kernel log, and arm/disarm this thread.
 */
#ifndef IOMMUFD_BPF_TESTS_FAULT_INJECTION_H
#define IOMMUFD_BPF_TESTS_FAULT_INJECTION_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"

/* Make every allocation injectable and keep failures quiet in the log */
static void setup_fault_injection(struct __test_metadata *_metadata)
{
	static const char *const knobs[] = {
		"failslab/ignore-gfp-wait",
		"fail_page_alloc/ignore-gfp-wait",
	};
	DIR *dir = opendir("/sys/kernel/debug");
	struct dirent *d;
	char path[300];
	unsigned int i;
	int kfd;

	ASSERT_NE(NULL, dir);
	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s", knobs[i]);
		kfd = open(path, O_WRONLY);
		ASSERT_NE(-1, kfd) TH_LOG("%s: %s", path, strerror(errno));
		ASSERT_EQ(1, write(kfd, "N", 1));
		close(kfd);
	}
	/* Every fault attribute (failslab, fail_iommufd, ...) prints a stack */
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, "fail", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/verbose",
			 d->d_name);
		kfd = open(path, O_WRONLY);
		if (kfd < 0)
			continue;
		ASSERT_EQ(1, write(kfd, "0", 1));
		close(kfd);
	}
	closedir(dir);
}

/* This thread's fail-nth file, or -1 */
static int fail_nth_open(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", gettid());
	return open(path, O_RDWR);
}

/* Fail the nth injectable allocation from now on; 0 or -1 */
static int fail_nth_arm(int nthfd, unsigned int nth)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", nth);
	return pwrite(nthfd, num, strlen(num), 0) > 0 ? 0 : -1;
}

/*
 * Disarm; returns 1 when it was still armed (the code between arming and
 * now had fewer than nth injection points), 0 when it fired. Reading can
 * itself be the injected failure (EFAULT), which also means it was still
 * armed; so can disarming.
 */
static int fail_nth_disarm(int nthfd)
{
	char num[16] = {};
	int armed;

	if (pread(nthfd, num, sizeof(num) - 1, 0) < 0)
		strcpy(num, errno == EFAULT ? "1" : "0");
	armed = atoi(num) != 0;
	if (pwrite(nthfd, "0", 1, 0) < 0)
		pwrite(nthfd, "0", 1, 0);
	return armed;
}

#endif
