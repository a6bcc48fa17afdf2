// SPDX-License-Identifier: GPL-2.0-only
/*
 * run-unprivileged: run a command as uid/gid 65534 with no capabilities,
 * to check how a tool refuses when it lacks privileges.
 *
 *   run_unprivileged CMD [ARG...]
 */
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CMD [ARG...]\n", argv[0]);
		return 2;
	}
	/* Dropping to a non-zero uid clears every capability set */
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) {
		fprintf(stderr, "run_unprivileged: %s\n", strerror(errno));
		return 125;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "run_unprivileged: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
