// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* dirty_vmm's device model; see the header. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "dirty_model.h"

/* The device writes in bursts this often */
#define TICK_NS 10000000ULL

int dirty_pattern_parse(const char *s, enum dirty_pattern *p, double *hot)
{
	char *end;

	*hot = 10;
	if (!strcmp(s, "uniform")) {
		*p = DIRTY_UNIFORM;
		return 0;
	}
	if (!strcmp(s, "sweep")) {
		*p = DIRTY_SWEEP;
		return 0;
	}
	if (strncmp(s, "hot", 3))
		return -1;
	*p = DIRTY_HOT;
	if (!s[3])
		return 0;
	if (s[3] != ':' || !s[4] || s[4] == '-')
		return -1;
	errno = 0;
	*hot = strtod(s + 4, &end);
	if (errno || end == s + 4 || (*end && strcmp(end, "%")) ||
	    *hot <= 0 || *hot > 100)
		return -1;
	return 0;
}

const char *dirty_pattern_name(enum dirty_pattern p)
{
	switch (p) {
	case DIRTY_UNIFORM: return "uniform";
	case DIRTY_HOT: return "hot";
	case DIRTY_SWEEP: return "sweep";
	}
	return "?";
}

/* xorshift64*: cheap, and reproducible from the seed */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void *writer(void *arg)
{
	struct dirty_model *dm = arg;
	uint64_t npages = dm->hwpt->length / MOCK_DIRTY_PAGE_SIZE;
	uint64_t hot = npages * dm->hot_percent / 100;
	uint64_t words = (npages + 63) / 64, seed = 0x9e3779b97f4a7c15ULL;
	uint64_t sweep = 0, last = monotonic_ns(), *bits;
	double owed = 0;

	if (!hot)
		hot = 1;
	bits = calloc(words, sizeof(*bits));
	if (!bits) {
		dm->err = -ENOMEM;
		return NULL;
	}
	while (!dm->stop) {
		struct timespec tick = { 0, TICK_NS };
		uint64_t now, n, i, p;
		int64_t marked;

		nanosleep(&tick, NULL);
		now = monotonic_ns();
		owed += dm->rate * (now - last) / 1e9 / MOCK_DIRTY_PAGE_SIZE;
		last = now;
		/* A stalled tick does not turn into an endless burst */
		if (owed > npages)
			owed = npages;
		n = (uint64_t)owed;
		if (!n)
			continue;
		owed -= n;
		memset(bits, 0, words * sizeof(*bits));
		for (i = 0; i < n; i++) {
			switch (dm->pattern) {
			case DIRTY_UNIFORM:
				p = next_random(&seed) % npages;
				break;
			case DIRTY_HOT:
				p = next_random(&seed) % hot;
				break;
			default:
				p = sweep;
				sweep = (sweep + 1) % npages;
				break;
			}
			bits[p / 64] |= 1ULL << (p % 64);
		}
		marked = mock_hwpt_dirty(dm->hwpt, bits, npages);
		if (marked < 0) {
			dm->err = marked;
			break;
		}
		dm->pages_written += n;
	}
	free(bits);
	return NULL;
}

int dirty_model_start(struct dirty_model *dm)
{
	dm->stop = 0;
	dm->err = 0;
	dm->pages_written = 0;
	return -pthread_create(&dm->thread, NULL, writer, dm);
}

int dirty_model_stop(struct dirty_model *dm)
{
	dm->stop = 1;
	pthread_join(dm->thread, NULL);
	return dm->err;
}
