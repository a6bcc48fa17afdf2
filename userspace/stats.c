// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "common.h"
#include "kernel_features.h"
#include "iommufd_stats.skel.h"
#include "percpu_counters.h"
#include "stats.h"
#include "stats_rows.h"
#include "stats_sources.h"

const char *stats_hist_name(uint32_t kind)
{
	static const char *const names[STATS_HIST_MAX] = {
		[STATS_HIST_MAP] = "map",
		[STATS_HIST_UNMAP] = "unmap",
		[STATS_HIST_INVALIDATE] = "invalidate",
		[STATS_HIST_FAULT] = "fault",
		[STATS_HIST_COPY] = "copy",
		[STATS_HIST_FAULT_QUEUE] = "fault_queue",
		[STATS_HIST_FAULT_HANDLE] = "fault_handle",
		[STATS_HIST_IOTLB] = "iotlb",
	};

	return kind < STATS_HIST_MAX ? names[kind] : "?";
}

/* Open the programs and size their tables for @opts */
static struct iommufd_stats_bpf *stats_open(const struct stats_opts *opts,
					    const struct kernel_features *kf,
					    bool fallback)
{
	struct iommufd_stats_bpf *skel = iommufd_stats_bpf__open();

	if (!skel) {
		warnx_("cannot open the BPF object: %s", strerror(errno));
		return NULL;
	}
	skel->rodata->filter_owner_tgid = opts->owner_tgid;
	skel->rodata->collect_latency = opts->latency;
	skel->rodata->page_shift = __builtin_ctzl(sysconf(_SC_PAGESIZE));
	/* No histograms, no room for them (a hash needs one entry) */
	if (!opts->latency) {
		bpf_map__set_max_entries(skel->maps.hist_stats, 1);
		bpf_map__set_max_entries(skel->maps.hist_retired, 1);
		bpf_map__set_max_entries(skel->maps.fault_times, 1);
		bpf_program__set_autoload(skel->progs.stats_fault_read, false);
	}
	stats_select_programs(skel, kf, fallback);
	if (fallback) {
		/* Its rows are all in the hash, which its release walks */
		bpf_map__set_max_entries(skel->maps.ioas_slots, 1);
		skel->rodata->ioas_slot_mask = 0;
		return skel;
	}
	/* The VT-d driver's event: absent on a kernel without VT-d */
	if (!kf->qi_wait)
		bpf_program__set_autoload(skel->progs.stats_qi_wait, false);
	return skel;
}

/*
 * Whether @opts are served by the fallback on this kernel, after saying
 * so; -1 after saying why neither can serve them
 */
static int choose_source(const struct stats_opts *opts,
			 struct kernel_features *kf)
{
	const char *line;

	if (kernel_features_probe(kf)) {
		warnx_("no kernel BTF at /sys/kernel/btf/vmlinux: the kernel needs CONFIG_DEBUG_INFO_BTF=y");
		return -1;
	}
	if (kf->series && !opts->fallback)
		return 0;
	if (!kf->ioas_ioctls || !kf->object_ends) {
		warnx_("this kernel has neither the iommufd-bpf series nor the iommufd functions the fallback attaches to (iommufd_ioas_map, _unmap, _copy, iommufd_destroy, iommufd_device_unbind, iommufd_fops_release): it needs CONFIG_IOMMUFD=y ('iommufd-bpf probe' lists what this kernel offers)");
		return -1;
	}
	line = kf->fault_fd_read ? STATS_FALLBACK_COUNTS_FAULT_READS :
	       kf->iopf_functions ? STATS_FALLBACK_COUNTS_FAULTS :
				    STATS_FALLBACK_COUNTS;
	if (kf->series)
		fprintf(stderr, "iommufd-bpf %s: --fallback: %s\n",
			opts->command, line);
	else
		report_reduced_mode(opts->command, line);
	return 1;
}

struct iommufd_stats_bpf *stats_start(const struct stats_opts *opts)
{
	struct iommufd_stats_bpf *skel;
	struct kernel_features kf;
	int err, source;

	setup_libbpf_logging();
	if (check_bpf_privileges())
		return NULL;
	source = choose_source(opts, &kf);
	if (source < 0)
		return NULL;
	skel = stats_open(opts, &kf, source);
	if (!skel)
		return NULL;
	err = iommufd_stats_bpf__load(skel);
	if (err) {
		warnx_("cannot load the BPF programs: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto fail;
	}
	err = iommufd_stats_bpf__attach(skel);
	if (err) {
		warnx_("cannot attach to the iommufd %s: %s",
		       source ? "ioctl handlers" : "trace events",
		       strerror(-err));
		goto fail;
	}
	return skel;
fail:
	iommufd_stats_bpf__destroy(skel);
	return NULL;
}

long long stats_memory(const struct stats_opts *opts, int ncpu)
{
	struct iommufd_stats_bpf *skel;
	struct kernel_features kf;
	long long bytes;

	setup_libbpf_logging();
	/* The series' tables: the fallback's are the same and three more */
	if (kernel_features_probe(&kf))
		return -ENOENT;
	skel = stats_open(opts, &kf, false);
	if (!skel)
		return -errno;
	bytes = stats_map_bytes(skel, ncpu);
	iommufd_stats_bpf__destroy(skel);
	return bytes;
}

/* Read a hash table into rows of key then value; *cap gets their room */
static int read_hash(int fd, size_t key_size, size_t value_size,
		     void **rows, size_t *n, size_t *cap)
{
	size_t row_size = key_size + value_size;
	char key[64], next[64], value[512];
	char *out = NULL;
	bool first = true;
	int err = 0;

	*rows = NULL;
	*n = *cap = 0;
	while (!bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		first = false;
		memcpy(key, next, key_size);
		if (bpf_map_lookup_elem(fd, key, value)) {
			if (errno == ENOENT)	/* retired meanwhile */
				continue;
			err = -errno;
			break;
		}
		err = rows_append((void **)&out, n, cap, row_size, key, key_size,
				  value);
		if (err)
			break;
	}
	if (err) {
		free(out);
		*n = *cap = 0;
		return err;
	}
	*rows = out;
	return 0;
}

/*
 * The rows of destroyed objects taken from the kernel's retired tables and
 * not yet in a snapshot. Taking them often (stats_collect()) keeps those
 * small tables from filling between reads on a host where contexts come
 * and go fast; each is published by the next stats_read(), then dropped.
 */
/* The tables with a retired table: those before owner */
#define NR_RETIRED STATS_TABLE_OWNER
#define PENDING_ROWS_MAX 65536

static struct {
	void *rows;
	size_t n, cap;
} pending[NR_RETIRED];

/*
 * Per owner slot, the word of an exited process at 0 pages that was
 * published: the slot stays as it is until another process takes it, and
 * is published once, as the hash's rows of exited processes are.
 */
static __u64 *slot_published_gone;

static void pending_free(void)
{
	int t;

	for (t = 0; t < NR_RETIRED; t++) {
		free(pending[t].rows);
		memset(&pending[t], 0, sizeof(pending[t]));
	}
	free(slot_published_gone);
	slot_published_gone = NULL;
}

bool stats_fallback(const struct iommufd_stats_bpf *skel)
{
	return bpf_program__autoload(skel->progs.fallback_stats_map);
}

void stats_stop(struct iommufd_stats_bpf *skel)
{
	iommufd_stats_bpf__destroy(skel);
	pending_free();
}

static int retired_fd(struct iommufd_stats_bpf *skel, int t, size_t *vsize)
{
	switch (t) {
	case STATS_TABLE_IOAS:
		*vsize = sizeof(struct stats_ioas);
		return bpf_map__fd(skel->maps.ioas_retired);
	case STATS_TABLE_DEV:
		*vsize = sizeof(struct stats_dev);
		return bpf_map__fd(skel->maps.dev_retired);
	default:
		*vsize = sizeof(struct stats_hist);
		return bpf_map__fd(skel->maps.hist_retired);
	}
}

/*
 * Take the rows of every retired table, reading and deleting each at once
 * so a row the BPF side merges into meanwhile is not lost. Past
 * PENDING_ROWS_MAX rows they stay in the kernel, which counts what no
 * longer fits there.
 */
int stats_collect(struct iommufd_stats_bpf *skel)
{
	__u64 key;
	char value[512];
	size_t vsize;
	int t, fd, err;

	for (t = 0; t < NR_RETIRED; t++) {
		fd = retired_fd(skel, t, &vsize);
		while (pending[t].n < PENDING_ROWS_MAX &&
		       !bpf_map_get_next_key(fd, NULL, &key)) {
			if (bpf_map_lookup_and_delete_elem(fd, &key, value)) {
				if (errno == ENOENT)
					continue;
				return -errno;
			}
			err = rows_append(&pending[t].rows, &pending[t].n,
					  &pending[t].cap, sizeof(key) + vsize,
					  &key, sizeof(key), value);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * Publish the pending rows in @rows, once: appended after the live rows,
 * whose owner a row of the same key keeps (rows_coalesce())
 */
static int take_pending(int t, size_t value_size, void **rows, size_t *n,
			size_t *cap)
{
	size_t row_size = sizeof(__u64) + value_size, i;
	const char *p = pending[t].rows;
	int err = 0;

	for (i = 0; i < pending[t].n && !err; i++)
		err = rows_append(rows, n, cap, row_size, p + i * row_size,
				  sizeof(__u64), p + i * row_size + sizeof(__u64));
	if (!err)
		pending[t].n = 0;
	return err;
}

/* A thread group that has exited (its tgid no longer names a process) */
static bool process_gone(int32_t tgid)
{
	return tgid > 0 && kill(tgid, 0) && errno == ESRCH;
}

/*
 * The pinned bytes of a process that exited and pins nothing are final:
 * drop its row once read, so exited processes' series go.
 */
static void collect_exited_owners(int fd, struct stats_snapshot *snap)
{
	struct stats_owner_key key = { 0 };
	struct stats_owner v;
	size_t i;

	for (i = 0; i < snap->nr_owner; i++) {
		key.owner_tgid = snap->owner[i].owner_tgid;
		if (snap->owner[i].v.pinned_bytes ||
		    !process_gone(key.owner_tgid))
			continue;
		if (bpf_map_lookup_and_delete_elem(fd, &key, &v))
			continue;
		/* Its last pages were unpinned since the read: keep them */
		if (v.pinned_bytes)
			bpf_map_update_elem(fd, &key, &v, BPF_NOEXIST);
	}
}

/*
 * Append the processes' slots (owner_slots: pages, the tgid in the same
 * word) to the owner rows read from the hash. A process counts in one of
 * the two, or in both after a race of its own pins: rows_coalesce() adds
 * them up.
 */
static int merge_owner_slots(struct iommufd_stats_bpf *skel,
			     struct stats_snapshot *snap, size_t *cap)
{
	__u32 n = bpf_map__max_entries(skel->maps.owner_slots), count = n;
	const __s64 page = 1ll << skel->rodata->page_shift;
	__u32 *keys = calloc(n, sizeof(*keys)), batch, i;
	__u64 *words = calloc(n, sizeof(*words));
	int err = 0;

	if (!slot_published_gone)
		slot_published_gone = calloc(n, sizeof(*slot_published_gone));
	if (!keys || !words || !slot_published_gone) {
		err = -ENOMEM;
		goto out;
	}
	/* All of an array in one call; ENOENT: it ended before count */
	if (bpf_map_lookup_batch(bpf_map__fd(skel->maps.owner_slots), NULL,
				 &batch, keys, words, &count, NULL) &&
	    errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < count && !err; i++) {
		struct stats_owner_row row = {
			.owner_tgid = stats_owner_slot_tgid(words[i]),
			.v.pinned_bytes = stats_owner_slot_pages(words[i]) * page,
		};

		if (!row.owner_tgid || keys[i] >= n)
			continue;
		if (!row.v.pinned_bytes) {
			if (slot_published_gone[keys[i]] == words[i])
				continue;
			if (process_gone(row.owner_tgid))
				slot_published_gone[keys[i]] = words[i];
		}
		err = rows_append((void **)&snap->owner, &snap->nr_owner, cap,
				  sizeof(row), &row,
				  sizeof(struct stats_owner_key), &row.v);
	}
out:
	free(keys);
	free(words);
	return err;
}

/*
 * Append the IOAS rows held in slots (ioas_slots, iommufd_stats.h) to
 * @snap's, reading the mapped array: a slot's key, its counts, its key
 * again. A slot retired in between is left out: its final counts are in
 * the retired table, for the next read. *used gets the slots that hold one.
 */
static int read_ioas_slots(struct iommufd_stats_bpf *skel,
			   struct stats_snapshot *snap, size_t *cap,
			   size_t *used)
{
	const size_t nslots = bpf_map__max_entries(skel->maps.ioas_slots);
	const long page = sysconf(_SC_PAGESIZE);
	const size_t len = (nslots * sizeof(struct stats_ioas_slot) + page - 1) /
			   page * page;
	const struct stats_ioas_slot *slots;
	size_t i, w;
	int err = 0;

	_Static_assert(sizeof(struct stats_ioas_slot) % 8 == 0,
		       "the array's elements are the slots, unpadded");
	*used = 0;
	slots = mmap(NULL, len, PROT_READ, MAP_SHARED,
		     bpf_map__fd(skel->maps.ioas_slots), 0);
	if (slots == MAP_FAILED)
		return -errno;
	for (i = 0; i < nslots && !err; i++) {
		const __u64 *from = (const __u64 *)&slots[i].v;
		__u64 key = __atomic_load_n(&slots[i].key, __ATOMIC_ACQUIRE);
		struct stats_ioas v;

		if (key == STATS_IOAS_SLOT_FREE ||
		    key == STATS_IOAS_SLOT_RETIRING)
			continue;
		for (w = 0; w < sizeof(v) / 8; w++)
			((__u64 *)&v)[w] = __atomic_load_n(&from[w],
							   __ATOMIC_RELAXED);
		/* The counts before the key: a retire marks it first */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&slots[i].key, __ATOMIC_RELAXED) != key)
			continue;
		(*used)++;
		err = rows_append((void **)&snap->ioas, &snap->nr_ioas, cap,
				  sizeof(struct stats_ioas_row), &key,
				  sizeof(key), &v);
	}
	munmap((void *)slots, len);
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
	const struct {
		struct bpf_map *live;
		size_t value_size;
		void **rows;
		size_t *n;
	} tables[NR_RETIRED] = {
		[STATS_TABLE_IOAS] = { skel->maps.ioas_stats, sizeof(struct stats_ioas),
				   (void **)&snap->ioas, &snap->nr_ioas },
		[STATS_TABLE_DEV] = { skel->maps.dev_stats, sizeof(struct stats_dev),
				  (void **)&snap->dev, &snap->nr_dev },
		[STATS_TABLE_HIST] = { skel->maps.hist_stats, sizeof(struct stats_hist),
				   (void **)&snap->hist, &snap->nr_hist },
	};
	size_t cap;
	int t, err = 0;

	_Static_assert(sizeof(struct stats_ioas_row) ==
		       sizeof(__u64) + sizeof(struct stats_ioas),
		       "rows are key then value");
	_Static_assert(sizeof(struct stats_hist_row) ==
		       sizeof(__u64) + sizeof(struct stats_hist),
		       "rows are key then value");
	_Static_assert(sizeof(struct stats_owner_row) ==
		       sizeof(struct stats_owner_key) + sizeof(struct stats_owner),
		       "rows are key then value");
	_Static_assert(sizeof(struct stats_hist) <= 512, "read buffers");
	stats_snapshot_free(snap);
	snap->when_ns = monotonic_ns();
	snap->fallback = stats_fallback(skel);
	snap->fallback_faults = snap->fallback &&
				stats_fallback_counts_faults(skel);
	/*
	 * Retired rows first: one retired after this is read live now and
	 * retired in the next read, never twice in one. A live row of the same
	 * key as a retired one is a new object that reused the ids.
	 */
	err = stats_collect(skel);
	for (t = 0; t < NR_RETIRED && !err; t++) {
		size_t in_slots = 0;

		err = read_hash(bpf_map__fd(tables[t].live),
				sizeof(__u64), tables[t].value_size,
				tables[t].rows, tables[t].n, &cap);
		snap->table_rows[t] = *tables[t].n;
		snap->table_capacity[t] = bpf_map__max_entries(tables[t].live);
		/* The IOAS table is the hash and the slots in front of it */
		if (!err && t == STATS_TABLE_IOAS) {
			err = read_ioas_slots(skel, snap, &cap, &in_slots);
			snap->table_rows[t] += in_slots;
			snap->table_capacity[t] +=
				bpf_map__max_entries(skel->maps.ioas_slots);
		}
		if (!err)
			err = take_pending(t, tables[t].value_size,
					   tables[t].rows, tables[t].n, &cap);
		/* Word 0 of every value is its owner */
		if (!err)
			err = rows_coalesce(*tables[t].rows, tables[t].n,
					    sizeof(__u64) + tables[t].value_size,
					    1);
	}
	if (!err)
		err = read_hash(bpf_map__fd(skel->maps.owner_stats),
				sizeof(struct stats_owner_key),
				sizeof(struct stats_owner),
				(void **)&snap->owner, &snap->nr_owner, &cap);
	if (!err) {
		snap->table_rows[STATS_TABLE_OWNER] = snap->nr_owner;
		snap->table_capacity[STATS_TABLE_OWNER] =
			bpf_map__max_entries(skel->maps.owner_stats);
		collect_exited_owners(bpf_map__fd(skel->maps.owner_stats), snap);
		err = merge_owner_slots(skel, snap, &cap);
	}
	if (!err)
		err = rows_coalesce(snap->owner, &snap->nr_owner,
				    sizeof(struct stats_owner_row), 0);
	if (!err) {
		err = percpu_counters_read(bpf_map__fd(skel->maps.lost),
					   snap->lost, STATS_LOST_MAX);
	}
	if (err)
		stats_snapshot_free(snap);
	return err;
}

const struct stats_ioas *stats_find_ioas(const struct stats_snapshot *snap,
					 __u64 key)
{
	const struct stats_ioas_row *r = rows_find(snap->ioas, snap->nr_ioas,
						   sizeof(*r), key);

	return r ? &r->v : NULL;
}

const struct stats_dev *stats_find_dev(const struct stats_snapshot *snap,
				       __u64 key)
{
	const struct stats_dev_row *r = rows_find(snap->dev, snap->nr_dev,
						  sizeof(*r), key);

	return r ? &r->v : NULL;
}

/* The size of @name's struct in the kernel's BTF, or of what @member points to */
static long long kernel_size(const struct btf *btf, const char *name,
			     const char *member)
{
	const struct btf_member *m;
	const struct btf_type *t;
	int id, i;

	id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
	if (id < 0)
		return id;
	if (!member)
		return btf__resolve_size(btf, id);
	t = btf__type_by_id(btf, id);
	for (i = 0, m = btf_members(t); i < btf_vlen(t); i++, m++) {
		if (strcmp(btf__name_by_offset(btf, m->name_off), member))
			continue;
		t = btf__type_by_id(btf, m->type);
		if (!t || !btf_is_ptr(t))
			return -EINVAL;
		return btf__resolve_size(btf, t->type);
	}
	return -ENOENT;
}

#define ROUND8(x) (((x) + 7ull) & ~7ull)

long long stats_map_bytes(struct iommufd_stats_bpf *skel, int ncpu)
{
	long long htab, bucket, elem, array, smap, sbucket, total = 0;
	const long long page = sysconf(_SC_PAGESIZE);
	struct bpf_map *map;
	struct btf *btf;

	btf = btf__load_vmlinux_btf();
	if (!btf)
		return -errno;
	htab = kernel_size(btf, "bpf_htab", NULL);
	bucket = kernel_size(btf, "bpf_htab", "buckets");
	elem = kernel_size(btf, "htab_elem", NULL);
	array = kernel_size(btf, "bpf_array", NULL);
	smap = kernel_size(btf, "bpf_local_storage_map", NULL);
	sbucket = kernel_size(btf, "bpf_local_storage_map_bucket", NULL);
	btf__free(btf);
	if (htab < 0 || bucket < 0 || elem < 0 || array < 0 || smap < 0 ||
	    sbucket < 0)
		return -ENOENT;
	/* kernel/bpf/hashtab.c and arraymap.c, *_map_mem_usage() */
	bpf_object__for_each_map(map, skel->obj) {
		unsigned long long entries = bpf_map__max_entries(map);
		unsigned long long key = ROUND8(bpf_map__key_size(map));
		unsigned long long value = ROUND8(bpf_map__value_size(map));
		unsigned long long buckets = 1;

		switch (bpf_map__type(map)) {
		case BPF_MAP_TYPE_HASH:	/* preallocated, with extra elements */
			while (buckets < entries)
				buckets <<= 1;
			total += htab + bucket * buckets +
				 4ll * ncpu * 8 /* HASHTAB_MAP_LOCK_COUNT */ +
				 (elem + key + value) * (entries + ncpu) +
				 8ll * ncpu;
			break;
		case BPF_MAP_TYPE_LRU_HASH:	/* no extra elements */
			while (buckets < entries)
				buckets <<= 1;
			total += htab + bucket * buckets + 4ll * ncpu * 8 +
				 (elem + key + value) * entries;
			break;
		case BPF_MAP_TYPE_PERCPU_ARRAY:
			total += array + entries * 8 +
				 entries * value * ncpu;
			break;
		case BPF_MAP_TYPE_ARRAY:	/* global data, mmapable */
			if (bpf_map__map_flags(map) & BPF_F_MMAPABLE)
				total += (array + page - 1) / page * page +
					 (entries * value + page - 1) / page * page;
			else
				total += array + entries * value;
			break;
		case BPF_MAP_TYPE_TASK_STORAGE:
			/*
			 * bpf_local_storage.c: buckets for the CPUs, at
			 * least two; a thread's slot is allocated while it
			 * is in a handler, and not counted by the kernel
			 */
			while (buckets < (unsigned long long)ncpu || buckets < 2)
				buckets <<= 1;
			total += smap + sbucket * buckets;
			break;
		default:
			return -EOPNOTSUPP;
		}
	}
	return total;
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
