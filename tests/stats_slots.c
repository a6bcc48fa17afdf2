// SPDX-License-Identifier: GPL-2.0-only
/*
 * The slots in front of iommufd_stats' hashes: pinned bytes per process
 * (owner slots: a word per slot, the tgid and its pages) and the rows of
 * IOAS (ioas_slots: the key, then the row), each with the hash for what
 * finds its slot held by another. The tables are shrunk to one slot, so
 * everything collides: the rules that keep each count exact are then all
 * on the path. Checked in the kernel's tables and through stats_read(),
 * the reader of top and metrics. Needs the series' events.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/iommufd.h>

#include "iommufd_test.h"
#include "kselftest_harness.h"
#include "iommufd_stats.h"
#include "iommufd_stats.skel.h"
#include "kernel_features.h"
#include "stats.h"
#include "stats_sources.h"

#define PAGE 4096ul
#define IOVA(n) ((1ul << 24) + (n) * 0x100000ul)

/* A process with a context, an IOAS and a mock device, told what to do */
struct vmm {
	pid_t pid;
	int cmd, done;		/* pipe ends: commands in, one byte back */
};

static int vmm_setup(int *fd, __u32 *ioas)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};

	*fd = open("/dev/iommu", O_RDWR);
	if (*fd < 0 || ioctl(*fd, IOMMU_IOAS_ALLOC, &alloc))
		return -1;
	*ioas = mock.id = alloc.out_ioas_id;
	return ioctl(*fd, IOMMU_TEST_CMD, &mock);
}

/* 'N' maps N pages (1-9) at the next IOVA, 'u' unmaps everything, 'q' ends */
static void vmm_run(int cmd, int done)
{
	void *buf = mmap(NULL, 9 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	unsigned int areas = 0;
	__u32 ioas = 0;
	int fd = -1;
	char c, ok;

	ok = buf != MAP_FAILED && !vmm_setup(&fd, &ioas);
	while (write(done, &ok, 1) == 1 && read(cmd, &c, 1) == 1 && c != 'q') {
		if (c == 'u') {
			struct iommu_ioas_unmap unmap = {
				.size = sizeof(unmap), .ioas_id = ioas,
				.iova = 0, .length = UINT64_MAX,
			};

			ok = !ioctl(fd, IOMMU_IOAS_UNMAP, &unmap);
		} else {
			struct iommu_ioas_map map = {
				.size = sizeof(map), .ioas_id = ioas,
				.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
					 IOMMU_IOAS_MAP_READABLE |
					 IOMMU_IOAS_MAP_WRITEABLE,
				.user_va = (uintptr_t)buf,
				.length = (c - '0') * PAGE,
				.iova = IOVA(areas++),
			};

			ok = !ioctl(fd, IOMMU_IOAS_MAP, &map);
		}
	}
	_exit(0);
}

static void vmm_start(struct __test_metadata *_metadata, struct vmm *v)
{
	int cmd[2], done[2];
	char ok = 0;

	ASSERT_EQ(0, pipe(cmd));
	ASSERT_EQ(0, pipe(done));
	v->pid = fork();
	ASSERT_NE(-1, v->pid);
	if (!v->pid) {
		close(cmd[1]);
		close(done[0]);
		vmm_run(cmd[0], done[1]);
	}
	close(cmd[0]);
	close(done[1]);
	v->cmd = cmd[1];
	v->done = done[0];
	ASSERT_EQ(1, read(v->done, &ok, 1));
	ASSERT_EQ(1, ok);
}

static void vmm_do(struct __test_metadata *_metadata, struct vmm *v, char c)
{
	char ok = 0;

	ASSERT_EQ(1, write(v->cmd, &c, 1));
	ASSERT_EQ(1, read(v->done, &ok, 1));
	ASSERT_EQ(1, ok);
}

static void vmm_end(struct __test_metadata *_metadata, struct vmm *v)
{
	int status;

	ASSERT_EQ(1, write(v->cmd, "q", 1));
	ASSERT_EQ(v->pid, waitpid(v->pid, &status, 0));
	ASSERT_EQ(0, status);
	close(v->cmd);
	close(v->done);
}

FIXTURE(slots) {
	struct iommufd_stats_bpf *skel;
	struct stats_snapshot snap;
};

FIXTURE_SETUP(slots)
{
	struct kernel_features kf;

	memset(&self->snap, 0, sizeof(self->snap));
	ASSERT_EQ(0, kernel_features_probe(&kf));
	if (!kf.series)
		SKIP(return, "the kernel lacks the series' events");
	self->skel = iommufd_stats_bpf__open();
	ASSERT_NE(NULL, self->skel);
	self->skel->rodata->page_shift = __builtin_ctzl(PAGE);
	/* One slot each: every process, every IOAS has the same */
	ASSERT_EQ(0, bpf_map__set_max_entries(self->skel->maps.owner_slots, 1));
	self->skel->rodata->owner_slot_mask = 0;
	ASSERT_EQ(0, bpf_map__set_max_entries(self->skel->maps.ioas_slots, 1));
	self->skel->rodata->ioas_slot_mask = 0;
	bpf_program__set_autoload(self->skel->progs.stats_qi_wait, false);
	stats_select_programs(self->skel, &kf, false);
	ASSERT_EQ(0, iommufd_stats_bpf__load(self->skel));
	ASSERT_EQ(0, iommufd_stats_bpf__attach(self->skel));
}

FIXTURE_TEARDOWN(slots)
{
	stats_snapshot_free(&self->snap);
	stats_stop(self->skel);
}

static __u64 slot_word(struct iommufd_stats_bpf *skel)
{
	__u32 zero = 0;
	__u64 w = ~0ull;

	bpf_map_lookup_elem(bpf_map__fd(skel->maps.owner_slots), &zero, &w);
	return w;
}

/* @tgid's bytes in the hash, or -1 without a row */
static __s64 hash_bytes(struct iommufd_stats_bpf *skel, pid_t tgid)
{
	struct stats_owner_key key = { .owner_tgid = tgid };
	struct stats_owner v;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.owner_stats), &key, &v))
		return -1;
	return v.pinned_bytes;
}

/* What stats_read() says @tgid pinned, or -1 without a row */
static __s64 read_bytes(const struct stats_snapshot *snap, pid_t tgid)
{
	size_t i;

	for (i = 0; i < snap->nr_owner; i++)
		if (snap->owner[i].owner_tgid == tgid)
			return snap->owner[i].v.pinned_bytes;
	return -1;
}

TEST_F(slots, owner_counts_exact_through_collisions)
{
	struct vmm a, b, c;

	/* A takes the free slot; B, whose slot A holds, counts in the hash */
	vmm_start(_metadata, &a);
	vmm_do(_metadata, &a, '1');
	ASSERT_EQ(stats_owner_slot(a.pid, 1), slot_word(self->skel));
	vmm_start(_metadata, &b);
	vmm_do(_metadata, &b, '2');
	ASSERT_EQ(stats_owner_slot(a.pid, 1), slot_word(self->skel));
	ASSERT_EQ(2 * PAGE, hash_bytes(self->skel, b.pid));

	/* A at 0 keeps the slot; B, which has a row, stays in the hash */
	vmm_do(_metadata, &a, 'u');
	ASSERT_EQ(stats_owner_slot(a.pid, 0), slot_word(self->skel));
	vmm_do(_metadata, &b, '1');
	ASSERT_EQ(stats_owner_slot(a.pid, 0), slot_word(self->skel));
	ASSERT_EQ(3 * PAGE, hash_bytes(self->skel, b.pid));

	/* C, with no row, takes the slot A left at 0; A now counts in the hash */
	vmm_start(_metadata, &c);
	vmm_do(_metadata, &c, '1');
	ASSERT_EQ(stats_owner_slot(c.pid, 1), slot_word(self->skel));
	vmm_do(_metadata, &a, '4');
	ASSERT_EQ(4 * PAGE, hash_bytes(self->skel, a.pid));
	ASSERT_EQ(-1, hash_bytes(self->skel, c.pid));

	/* The reader adds the two: one row each, exact */
	ASSERT_EQ(0, stats_read(self->skel, &self->snap));
	ASSERT_EQ(3, self->snap.nr_owner);
	ASSERT_EQ(4 * PAGE, read_bytes(&self->snap, a.pid));
	ASSERT_EQ(3 * PAGE, read_bytes(&self->snap, b.pid));
	ASSERT_EQ(1 * PAGE, read_bytes(&self->snap, c.pid));

	/* Unpins come back to 0 wherever they were counted */
	vmm_do(_metadata, &a, 'u');
	vmm_do(_metadata, &b, 'u');
	vmm_do(_metadata, &c, 'u');
	ASSERT_EQ(0, stats_read(self->skel, &self->snap));
	ASSERT_EQ(0, read_bytes(&self->snap, a.pid));
	ASSERT_EQ(0, read_bytes(&self->snap, b.pid));
	ASSERT_EQ(0, read_bytes(&self->snap, c.pid));

	/* An exited process's 0 is published once, then it is gone */
	vmm_end(_metadata, &c);
	vmm_end(_metadata, &b);
	ASSERT_EQ(0, stats_read(self->skel, &self->snap));
	ASSERT_EQ(0, read_bytes(&self->snap, c.pid));
	ASSERT_EQ(0, read_bytes(&self->snap, b.pid));
	ASSERT_EQ(0, stats_read(self->skel, &self->snap));
	ASSERT_EQ(-1, read_bytes(&self->snap, c.pid));
	ASSERT_EQ(-1, read_bytes(&self->snap, b.pid));
	ASSERT_EQ(0, read_bytes(&self->snap, a.pid));
	vmm_end(_metadata, &a);
}

static struct stats_ioas_slot ioas_slot(struct iommufd_stats_bpf *skel)
{
	struct stats_ioas_slot slot;
	__u32 zero = 0;

	memset(&slot, 0xff, sizeof(slot));
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.ioas_slots), &zero, &slot);
	return slot;
}

/* The hash's row of IOAS @key: false without one */
static bool ioas_hash_row(struct iommufd_stats_bpf *skel, __u64 key,
			  struct stats_ioas *v)
{
	return !bpf_map_lookup_elem(bpf_map__fd(skel->maps.ioas_stats), &key, v);
}

/* The key of the hash's one row */
static __u64 ioas_hash_key(struct iommufd_stats_bpf *skel)
{
	__u64 key = 0;

	bpf_map_get_next_key(bpf_map__fd(skel->maps.ioas_stats), NULL, &key);
	return key;
}

TEST_F(slots, ioas_counts_exact_through_collisions)
{
	struct stats_ioas_slot slot;
	struct stats_ioas hrow;
	const struct stats_ioas *r;
	__u64 ka, kb, kc;
	struct vmm a, b, c;
	__u32 zero = 0;

	/* A's IOAS takes the free slot */
	vmm_start(_metadata, &a);
	vmm_do(_metadata, &a, '1');
	slot = ioas_slot(self->skel);
	ka = slot.key;
	ASSERT_NE(STATS_IOAS_SLOT_FREE, ka);
	ASSERT_NE(STATS_IOAS_SLOT_RETIRING, ka);
	ASSERT_EQ(1, slot.v.maps);
	ASSERT_EQ(PAGE, slot.v.map_bytes);
	ASSERT_EQ(a.pid, slot.v.owner_tgid);
	ASSERT_FALSE(ioas_hash_row(self->skel, ka, &hrow));

	/* B's, whose slot A's holds, counts in the hash */
	vmm_start(_metadata, &b);
	vmm_do(_metadata, &b, '2');
	ASSERT_EQ(ka, ioas_slot(self->skel).key);
	ASSERT_EQ(1, ioas_slot(self->skel).v.maps);
	kb = ioas_hash_key(self->skel);
	ASSERT_NE(ka, kb);
	ASSERT_TRUE(ioas_hash_row(self->skel, kb, &hrow));
	ASSERT_EQ(1, hrow.maps);
	ASSERT_EQ(2 * PAGE, hrow.map_bytes);
	ASSERT_EQ(b.pid, hrow.owner_tgid);

	/* The reader has both, one row each, in the table's count */
	ASSERT_EQ(0, stats_read(self->skel, &self->snap));
	ASSERT_EQ(2, self->snap.nr_ioas);
	ASSERT_EQ(2, self->snap.table_rows[STATS_TABLE_IOAS]);
	r = stats_find_ioas(&self->snap, ka);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(1, r->maps);
	ASSERT_EQ(PAGE, r->map_bytes);
	ASSERT_EQ(a.pid, r->owner_tgid);
	r = stats_find_ioas(&self->snap, kb);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(2 * PAGE, r->map_bytes);

	/*
	 * A unmaps and exits: its IOAS is destroyed, the slot's counts move
	 * to the retired table and the slot is free, its counts zero
	 */
	vmm_do(_metadata, &a, 'u');
	ASSERT_EQ(1, ioas_slot(self->skel).v.unmaps);
	vmm_end(_metadata, &a);
	slot = ioas_slot(self->skel);
	ASSERT_EQ(STATS_IOAS_SLOT_FREE, slot.key);
	ASSERT_EQ(0, slot.v.maps);
	ASSERT_EQ(0, slot.v.unmaps);
	ASSERT_EQ(0, slot.v.owner_tgid);

	/* B, which has a hash row, stays there: the slot stays free */
	vmm_do(_metadata, &b, '1');
	ASSERT_EQ(STATS_IOAS_SLOT_FREE, ioas_slot(self->skel).key);
	ASSERT_TRUE(ioas_hash_row(self->skel, kb, &hrow));
	ASSERT_EQ(2, hrow.maps);

	/* A's final row is published once, then it is gone */
	ASSERT_EQ(0, stats_read(self->skel, &self->snap));
	r = stats_find_ioas(&self->snap, ka);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(1, r->maps);
	ASSERT_EQ(1, r->unmaps);
	ASSERT_EQ(PAGE, r->unmap_bytes);
	ASSERT_EQ(0, stats_read(self->skel, &self->snap));
	ASSERT_EQ(NULL, stats_find_ioas(&self->snap, ka));
	ASSERT_EQ(1, self->snap.nr_ioas);

	/* C, with no row, takes the free slot, from 0 */
	vmm_start(_metadata, &c);
	vmm_do(_metadata, &c, '3');
	slot = ioas_slot(self->skel);
	kc = slot.key;
	ASSERT_NE(STATS_IOAS_SLOT_FREE, kc);
	ASSERT_NE(ka, kc);
	ASSERT_NE(kb, kc);
	ASSERT_EQ(1, slot.v.maps);
	ASSERT_EQ(0, slot.v.unmaps);
	ASSERT_EQ(3 * PAGE, slot.v.map_bytes);
	ASSERT_EQ(c.pid, slot.v.owner_tgid);

	/* An IOAS in both (two CPUs' race): the reader adds them up */
	hrow = (struct stats_ioas){ .owner_tgid = c.pid, .maps = 5,
				    .map_bytes = 5 * PAGE };
	ASSERT_EQ(0, bpf_map_update_elem(bpf_map__fd(self->skel->maps.ioas_stats),
					 &kc, &hrow, BPF_NOEXIST));
	ASSERT_EQ(0, stats_read(self->skel, &self->snap));
	ASSERT_EQ(2, self->snap.nr_ioas);
	r = stats_find_ioas(&self->snap, kc);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(6, r->maps);
	ASSERT_EQ(8 * PAGE, r->map_bytes);
	ASSERT_EQ(2, stats_find_ioas(&self->snap, kb)->maps);

	/* ... and its destroy retires both halves: one final row */
	vmm_end(_metadata, &c);
	ASSERT_EQ(STATS_IOAS_SLOT_FREE, ioas_slot(self->skel).key);
	ASSERT_FALSE(ioas_hash_row(self->skel, kc, &hrow));
	ASSERT_EQ(0, stats_read(self->skel, &self->snap));
	r = stats_find_ioas(&self->snap, kc);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(6, r->maps);
	ASSERT_EQ(8 * PAGE, r->map_bytes);

	/* A slot being retired is not read: its counts are on their way */
	slot = (struct stats_ioas_slot){ .key = STATS_IOAS_SLOT_RETIRING,
					 .v.maps = 7 };
	ASSERT_EQ(0, bpf_map_update_elem(bpf_map__fd(self->skel->maps.ioas_slots),
					 &zero, &slot, BPF_ANY));
	ASSERT_EQ(0, stats_read(self->skel, &self->snap));
	ASSERT_EQ(1, self->snap.nr_ioas);
	ASSERT_EQ(kb, self->snap.ioas[0].key);
	slot = (struct stats_ioas_slot){ .key = STATS_IOAS_SLOT_FREE };
	ASSERT_EQ(0, bpf_map_update_elem(bpf_map__fd(self->skel->maps.ioas_slots),
					 &zero, &slot, BPF_ANY));
	vmm_end(_metadata, &b);
}

/*
 * Several processes on every CPU at once, each opening contexts one after
 * another and mapping and unmapping a page in its IOAS: the one IOAS slot
 * and the one owner slot change hands while the others count, through
 * the claims' and retires' compare-and-exchanges. After all have ended
 * every IOAS has exactly its maps and unmaps, and every process is back
 * to 0 pinned bytes.
 */
#define CHURN_PROCS	4
#define CHURN_ROUNDS	8
#define CHURN_PAIRS	200

static int churn(void)
{
	void *buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	unsigned int round, i;

	if (buf == MAP_FAILED)
		return 1;
	for (round = 0; round < CHURN_ROUNDS; round++) {
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE,
			.user_va = (uintptr_t)buf, .length = PAGE,
			.iova = IOVA(0),
		};
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap), .iova = IOVA(0), .length = PAGE,
		};
		__u32 ioas;
		int fd;

		if (vmm_setup(&fd, &ioas))
			return 1;
		map.ioas_id = unmap.ioas_id = ioas;
		for (i = 0; i < CHURN_PAIRS; i++)
			if (ioctl(fd, IOMMU_IOAS_MAP, &map) ||
			    ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
				return 1;
		close(fd);
	}
	return 0;
}

TEST_F(slots, counts_exact_when_every_cpu_churns)
{
	pid_t pid[CHURN_PROCS];
	unsigned int p, rows = 0;
	int status;
	size_t i;

	for (p = 0; p < CHURN_PROCS; p++) {
		pid[p] = fork();
		ASSERT_NE(-1, pid[p]);
		if (!pid[p])
			_exit(churn());
	}
	for (p = 0; p < CHURN_PROCS; p++) {
		ASSERT_EQ(pid[p], waitpid(pid[p], &status, 0));
		ASSERT_EQ(0, status);
	}
	/* Every IOAS has gone: each is one final row, published now */
	ASSERT_EQ(0, stats_read(self->skel, &self->snap));
	for (i = 0; i < self->snap.nr_ioas; i++) {
		const struct stats_ioas_row *r = &self->snap.ioas[i];

		for (p = 0; p < CHURN_PROCS; p++)
			if (r->v.owner_tgid == pid[p])
				break;
		if (p == CHURN_PROCS)
			continue;	/* another test's */
		rows++;
		EXPECT_EQ(CHURN_PAIRS, r->v.maps);
		EXPECT_EQ(CHURN_PAIRS, r->v.unmaps);
		EXPECT_EQ(CHURN_PAIRS * PAGE, r->v.map_bytes);
		EXPECT_EQ(CHURN_PAIRS * PAGE, r->v.unmap_bytes);
		EXPECT_EQ(0, r->v.errors);
	}
	ASSERT_EQ(CHURN_PROCS * CHURN_ROUNDS, rows);
	for (p = 0; p < CHURN_PROCS; p++)
		EXPECT_EQ(0, read_bytes(&self->snap, pid[p]));
	for (i = 0; i < STATS_LOST_MAX; i++)
		EXPECT_EQ(0, self->snap.lost[i]);
	/* The slot was freed by the last destroy */
	EXPECT_EQ(STATS_IOAS_SLOT_FREE, ioas_slot(self->skel).key);
}

TEST_HARNESS_MAIN
