// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"
#include "iommufd_stats.skel.h"
#include "percpu_counters.h"
#include "stats.h"

const char *stats_hist_name(uint32_t kind)
{
	static const char *const names[STATS_HIST_MAX] = {
		[STATS_HIST_MAP] = "map",
		[STATS_HIST_UNMAP] = "unmap",
		[STATS_HIST_INVALIDATE] = "invalidate",
		[STATS_HIST_FAULT] = "fault",
		[STATS_HIST_COPY] = "copy",
	};

	return kind < STATS_HIST_MAX ? names[kind] : "?";
}

struct iommufd_stats_bpf *stats_start(const struct stats_opts *opts)
{
	struct iommufd_stats_bpf *skel;
	int err;

	setup_libbpf_logging();
	if (check_bpf_privileges() || check_kernel_support())
		return NULL;
	skel = iommufd_stats_bpf__open();
	if (!skel) {
		warnx_("cannot open the BPF object: %s", strerror(errno));
		return NULL;
	}
	skel->rodata->filter_owner_tgid = opts->owner_tgid;
	skel->rodata->collect_latency = opts->latency;
	skel->rodata->page_shift = __builtin_ctzl(sysconf(_SC_PAGESIZE));
	err = iommufd_stats_bpf__load(skel);
	if (err) {
		warnx_("cannot load the BPF programs: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto fail;
	}
	err = iommufd_stats_bpf__attach(skel);
	if (err) {
		warnx_("cannot attach to the iommufd trace events: %s",
		       strerror(-err));
		goto fail;
	}
	return skel;
fail:
	iommufd_stats_bpf__destroy(skel);
	return NULL;
}

void stats_stop(struct iommufd_stats_bpf *skel)
{
	iommufd_stats_bpf__destroy(skel);
}

/*
 * Read a per-CPU hash whose values are arrays of 64-bit counters, summing
 * each counter over CPUs. *rows gets n entries of key then value.
 */
static int read_percpu_hash(int fd, size_t key_size, size_t value_size,
			    void **rows, size_t *n)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0, c;
	size_t row_size = key_size + value_size, cap = 0, w;
	/* Per-CPU values are laid out at 8-byte strides */
	size_t stride = (value_size + 7) & ~7ul;
	char key[64], next[64];
	bool first = true;
	__u64 *vals;
	char *out = NULL;

	*rows = NULL;
	*n = 0;
	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, stride);
	if (!vals)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		__u64 *sum;

		first = false;
		memcpy(key, next, key_size);
		if (bpf_map_lookup_elem(fd, key, vals)) {
			if (errno == ENOENT)	/* deleted meanwhile */
				continue;
			err = -errno;
			break;
		}
		if (*n == cap) {
			char *grown;

			cap = cap ? cap * 2 : 64;
			grown = realloc(out, cap * row_size);
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			out = grown;
		}
		memcpy(out + *n * row_size, key, key_size);
		sum = (__u64 *)(out + *n * row_size + key_size);
		memset(sum, 0, value_size);
		for (c = 0; c < ncpu; c++)
			for (w = 0; w < value_size / 8; w++)
				sum[w] += *(__u64 *)((char *)vals + c * stride +
						     w * 8);
		(*n)++;
	}
	free(vals);
	if (err) {
		free(out);
		*n = 0;
		return err;
	}
	*rows = out;
	return 0;
}

/* Add @v (n 64-bit counters) to the row of @key in *rows, appending one */
static int merge_row(void **rows, size_t *n, size_t key_size,
		     size_t value_size, const void *key, const void *v)
{
	size_t row_size = key_size + value_size, i, w;
	char *r = *rows, *grown;

	for (i = 0; i < *n; i++)
		if (!memcmp(r + i * row_size, key, key_size))
			break;
	if (i == *n) {
		grown = realloc(r, (*n + 1) * row_size);
		if (!grown)
			return -ENOMEM;
		r = *rows = grown;
		memcpy(r + i * row_size, key, key_size);
		memset(r + i * row_size + key_size, 0, value_size);
		(*n)++;
	}
	for (w = 0; w < value_size / 8; w++)
		((__u64 *)(r + i * row_size + key_size))[w] += ((const __u64 *)v)[w];
	return 0;
}

/*
 * Fold a per-CPU fast table into rows: every used slot of every CPU is a
 * row (key at @key_off, "used" at @used_off, value at @value_off).
 */
static int read_fast_table(int fd, size_t slot_size, size_t key_off,
			   size_t key_size, size_t used_off, size_t value_off,
			   size_t value_size, void **rows, size_t *n)
{
	int ncpu = libbpf_num_possible_cpus(), c, err = 0;
	size_t stride = (slot_size + 7) & ~7ul;
	__u32 slot;
	char *vals;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, stride);
	if (!vals)
		return -ENOMEM;
	for (slot = 0; slot < STATS_FAST_SLOTS && !err; slot++) {
		if (bpf_map_lookup_elem(fd, &slot, vals)) {
			err = -errno;
			break;
		}
		for (c = 0; c < ncpu && !err; c++) {
			const char *f = vals + c * stride;
			__u32 used;

			memcpy(&used, f + used_off, sizeof(used));
			if (used)
				err = merge_row(rows, n, key_size, value_size,
						f + key_off, f + value_off);
		}
	}
	free(vals);
	return err;
}

void stats_snapshot_free(struct stats_snapshot *snap)
{
	free(snap->ioas);
	free(snap->dev);
	free(snap->owner);
	free(snap->hist);
	memset(snap, 0, sizeof(*snap));
}

int stats_read(struct iommufd_stats_bpf *skel, struct stats_snapshot *snap)
{
	int err;

	_Static_assert(sizeof(struct stats_ioas_row) ==
		       sizeof(struct stats_ioas_key) + sizeof(struct stats_ioas),
		       "rows are key then value");
	_Static_assert(sizeof(struct stats_hist_row) ==
		       sizeof(struct stats_hist_key) + sizeof(struct stats_hist),
		       "rows are key then value");
	stats_snapshot_free(snap);
	snap->when_ns = monotonic_ns();
	err = read_percpu_hash(bpf_map__fd(skel->maps.ioas_stats),
			       sizeof(struct stats_ioas_key),
			       sizeof(struct stats_ioas), (void **)&snap->ioas,
			       &snap->nr_ioas);
	if (!err)
		err = read_fast_table(bpf_map__fd(skel->maps.ioas_fast),
				      sizeof(struct stats_ioas_slot),
				      offsetof(struct stats_ioas_slot, key),
				      sizeof(struct stats_ioas_key),
				      offsetof(struct stats_ioas_slot, used),
				      offsetof(struct stats_ioas_slot, v),
				      sizeof(struct stats_ioas),
				      (void **)&snap->ioas, &snap->nr_ioas);
	if (!err)
		err = read_percpu_hash(bpf_map__fd(skel->maps.dev_stats),
				       sizeof(struct stats_dev_key),
				       sizeof(struct stats_dev),
				       (void **)&snap->dev, &snap->nr_dev);
	if (!err)
		err = read_percpu_hash(bpf_map__fd(skel->maps.owner_stats),
				       sizeof(__s32), sizeof(struct stats_owner),
				       (void **)&snap->owner, &snap->nr_owner);
	if (!err)
		err = read_fast_table(bpf_map__fd(skel->maps.owner_fast),
				      sizeof(struct stats_owner_slot),
				      offsetof(struct stats_owner_slot, owner_tgid),
				      sizeof(__s32),
				      offsetof(struct stats_owner_slot, used),
				      offsetof(struct stats_owner_slot, v),
				      sizeof(struct stats_owner),
				      (void **)&snap->owner, &snap->nr_owner);
	if (!err)
		err = read_percpu_hash(bpf_map__fd(skel->maps.hist_stats),
				       sizeof(struct stats_hist_key),
				       sizeof(struct stats_hist),
				       (void **)&snap->hist, &snap->nr_hist);
	if (!err)
		err = percpu_counters_read(bpf_map__fd(skel->maps.lost),
					   snap->lost, STATS_LOST_MAX);
	if (err)
		stats_snapshot_free(snap);
	return err;
}

const struct stats_ioas *stats_find_ioas(const struct stats_snapshot *snap,
					 const struct stats_ioas_key *key)
{
	size_t i;

	for (i = 0; i < snap->nr_ioas; i++)
		if (!memcmp(&snap->ioas[i].key, key, sizeof(*key)))
			return &snap->ioas[i].v;
	return NULL;
}

const struct stats_dev *stats_find_dev(const struct stats_snapshot *snap,
				       const struct stats_dev_key *key)
{
	size_t i;

	for (i = 0; i < snap->nr_dev; i++)
		if (!memcmp(&snap->dev[i].key, key, sizeof(*key)))
			return &snap->dev[i].v;
	return NULL;
}

void owner_comm(int32_t tgid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", tgid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, len, f)) {
		snprintf(buf, len, "?");
	} else {
		buf[strcspn(buf, "\n")] = 0;
	}
	if (f)
		fclose(f);
}
