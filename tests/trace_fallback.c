// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tracer's fallback (fentry/fexit on iommufd's ioctl handlers), checked
 * through the production BPF object as 'trace' loads it: on a kernel
 * without the series it is what 'trace' uses; on the series' kernel it is
 * forced (trace --fallback) and compared with the series' records.
 *
 * Core iommufd ioctls, and for device attach, replace and detach the
 * selftest mock's (whose numbers the series keeps), so every test runs
 * unchanged on the stock kernel. Each record is checked field by field
 * against what the workload did; the fields the fallback cannot know must
 * be marked absent, not zero.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/iommufd.h>

#include "iommufd_test.h"
#include "kselftest_harness.h"
#include "trace_capture.h"
#include "trace_sources.h"
#include "event_format.h"

#define PAGE 4096ul
#define NPAGES 8
#define IOVA_A 0x100000ul
#define IOVA_UNMAPPED 0x40000000ul
#define MAP_RW (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)
#define MAP_FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW)
#define FALLBACK_MASK IOMMUFD_EV_MASK_FALLBACK

static void *buf;

static int ioas_alloc(int fd, __u32 *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);

	*id = cmd.out_ioas_id;
	return rc ? -errno : 0;
}

/* Map @len bytes of the buffer; *iova in: the fixed IOVA, or 0 to allocate */
static int ioas_map(int fd, __u32 ioas, __u64 *iova, __u64 len, __u32 flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas,
		.user_va = (uintptr_t)buf, .length = len, .iova = *iova,
	};
	int rc = ioctl(fd, IOMMU_IOAS_MAP, &cmd);

	*iova = cmd.iova;
	return rc ? -errno : 0;
}

/* Returns 0 or -errno; *len out: what the kernel says it unmapped */
static int ioas_unmap(int fd, __u32 ioas, __u64 iova, __u64 *len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
		.length = *len,
	};
	int rc = ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);

	*len = cmd.length;
	return rc ? -errno : 0;
}

static int ioas_copy(int fd, __u32 dst, __u32 src, __u64 src_iova,
		     __u64 *dst_iova, __u64 len, __u32 flags)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd), .flags = flags, .dst_ioas_id = dst,
		.src_ioas_id = src, .length = len, .dst_iova = *dst_iova,
		.src_iova = src_iova,
	};
	int rc = ioctl(fd, IOMMU_IOAS_COPY, &cmd);

	*dst_iova = cmd.dst_iova;
	return rc ? -errno : 0;
}

/* Open the trace object with the fallback chosen as 'trace --fallback' does */
static int fallback_start(struct trace_capture *cap,
			  const struct kernel_features *kf, __s32 owner,
			  __u32 ioas)
{
	int err = capture_open(cap, owner, ioas, 0, FALLBACK_MASK);

	if (err)
		return err;
	trace_select_programs(cap->skel, kf, FALLBACK_MASK, true);
	return capture_load(cap);
}

FIXTURE(fallback)
{
	int fd;
	__u32 ioas;
	struct kernel_features kf;
	struct trace_capture cap;
};

FIXTURE_SETUP(fallback)
{
	buf = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, kernel_features_probe(&self->kf));
	ASSERT_TRUE(self->kf.ioas_ioctls);
	ASSERT_EQ(0, fallback_start(&self->cap, &self->kf, getpid(), 0));
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	capture_reset(&self->cap);
}

FIXTURE_TEARDOWN(fallback)
{
	close(self->fd);
	capture_stop(&self->cap);
	munmap(buf, NPAGES * PAGE);
}

/*
 * Collect and check that exactly @n records of the listed types arrived in
 * order, with what every fallback record carries: this process as caller
 * and owner, no context id (marked absent), consecutive sequence numbers.
 */
#define expect_records(...)						\
	({								\
		const __u32 _want[] = { __VA_ARGS__ };			\
		_expect_records(_metadata, &self->cap, _want,		\
				sizeof(_want) / sizeof(_want[0]));	\
	})

static struct iommufd_event *_expect_records(struct __test_metadata *_metadata,
					     struct trace_capture *cap,
					     const __u32 *want, unsigned int n)
{
	unsigned int i;

	capture_collect(cap);
	for (i = 0; i < cap->n; i++)
		TH_LOG("got %u: %s ret %d", i, event_type_name(cap->ev[i].type),
		       cap->ev[i].ret);
	ASSERT_EQ(0, cap->overflow);
	ASSERT_EQ(n, cap->n);
	for (i = 0; i < n; i++) {
		const struct iommufd_event *e = &cap->ev[i];

		ASSERT_EQ(want[i], e->type);
		/* A fault's report runs where the device reports it */
		if (e->absent & IOMMUFD_ABSENT_OWNER) {
			ASSERT_EQ(0, e->owner_tgid);
		} else {
			ASSERT_EQ(getpid(), e->owner_tgid);
		}
		ASSERT_EQ(getpid(), e->tgid);
		ASSERT_EQ(0, strncmp(e->comm, "trace_fallback", sizeof(e->comm)));
		ASSERT_TRUE(e->absent & IOMMUFD_ABSENT_CTX);
		ASSERT_EQ(0, e->ctx);
		ASSERT_NE(0, e->ts_ns);
		/* Only the IOAS handlers are timed */
		if (IOMMUFD_EV_MASK_FALLBACK_IOAS & (1u << e->type)) {
			ASSERT_FALSE(e->absent & IOMMUFD_ABSENT_DURATION);
			ASSERT_NE(0, e->duration_ns);
		}
		if (i)
			ASSERT_EQ(cap->ev[i - 1].seq + 1, e->seq);
	}
	cap->n = 0;
	return n ? &cap->ev[0] : NULL;
}

TEST_F(fallback, map_fixed_and_allocated)
{
	__u64 fixed = IOVA_A, chosen = 0;
	struct iommufd_event *e;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, &fixed, 4 * PAGE,
			      MAP_FIXED_RW));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, &chosen, 2 * PAGE, MAP_RW));
	ASSERT_NE(0, chosen);

	e = expect_records(IOMMUFD_EV_IOAS_MAP, IOMMUFD_EV_IOAS_MAP);
	ASSERT_EQ(0, e[0].ret);
	ASSERT_EQ(self->ioas, e[0].ioas_id);
	ASSERT_EQ(IOVA_A, e[0].iova);
	ASSERT_EQ(4 * PAGE, e[0].length);
	ASSERT_EQ(4 * PAGE, e[0].done);
	ASSERT_EQ(MAP_FIXED_RW, e[0].flags);
	/* What the map pinned is the series' alone to know: absent, not 0 */
	ASSERT_EQ(IOMMUFD_ABSENT_CTX | IOMMUFD_ABSENT_TALLY, e[0].absent);
	/* The IOVA the kernel chose, as the caller got it */
	ASSERT_EQ(0, e[1].ret);
	ASSERT_EQ(chosen, e[1].iova);
	ASSERT_EQ(2 * PAGE, e[1].length);
	ASSERT_EQ(2 * PAGE, e[1].done);
	ASSERT_EQ(MAP_RW, e[1].flags);
}

/* Rejected calls are traced too, with their errno and what was asked */
TEST_F(fallback, map_rejected)
{
	__u64 iova = IOVA_A;
	struct iommufd_event *e;

	ASSERT_EQ(-ENOENT, ioas_map(self->fd, self->ioas + 100, &iova, PAGE,
				    MAP_FIXED_RW));
	iova = IOVA_A;
	ASSERT_EQ(-EINVAL, ioas_map(self->fd, self->ioas, &iova, PAGE,
				    IOMMU_IOAS_MAP_FIXED_IOVA));
	/* Overlapping an existing mapping */
	iova = IOVA_A;
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, &iova, PAGE, MAP_FIXED_RW));
	ASSERT_EQ(-EEXIST, ioas_map(self->fd, self->ioas, &iova, PAGE,
				    MAP_FIXED_RW));

	e = expect_records(IOMMUFD_EV_IOAS_MAP, IOMMUFD_EV_IOAS_MAP,
			   IOMMUFD_EV_IOAS_MAP, IOMMUFD_EV_IOAS_MAP);
	ASSERT_EQ(-ENOENT, e[0].ret);
	ASSERT_EQ(self->ioas + 100, e[0].ioas_id);
	ASSERT_EQ(0, e[0].done);
	ASSERT_EQ(-EINVAL, e[1].ret);
	ASSERT_EQ(IOMMU_IOAS_MAP_FIXED_IOVA, e[1].flags);
	ASSERT_EQ(0, e[1].done);
	ASSERT_EQ(0, e[2].ret);
	ASSERT_EQ(-EEXIST, e[3].ret);
	ASSERT_EQ(IOVA_A, e[3].iova);
	ASSERT_EQ(PAGE, e[3].length);
	ASSERT_EQ(0, e[3].done);
}

TEST_F(fallback, unmap_exact_failed_and_all)
{
	__u64 iova = IOVA_A, other = IOVA_A + 16 * PAGE, len;
	struct iommufd_event *e;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, &iova, 4 * PAGE,
			      MAP_FIXED_RW));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, &other, 2 * PAGE,
			      MAP_FIXED_RW));
	capture_reset(&self->cap);

	len = 4 * PAGE;
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA_A, &len));
	ASSERT_EQ(4 * PAGE, len);
	len = PAGE;
	ASSERT_EQ(-ENOENT, ioas_unmap(self->fd, self->ioas, IOVA_UNMAPPED, &len));
	/* iova 0, length U64_MAX: everything, whatever the IOVAs */
	len = UINT64_MAX;
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, &len));
	ASSERT_EQ(2 * PAGE, len);

	e = expect_records(IOMMUFD_EV_IOAS_UNMAP, IOMMUFD_EV_IOAS_UNMAP,
			   IOMMUFD_EV_IOAS_UNMAP);
	ASSERT_EQ(0, e[0].ret);
	ASSERT_EQ(self->ioas, e[0].ioas_id);
	ASSERT_EQ(IOVA_A, e[0].iova);
	ASSERT_EQ(4 * PAGE, e[0].length);
	ASSERT_EQ(4 * PAGE, e[0].done);
	ASSERT_EQ(IOMMUFD_ABSENT_CTX | IOMMUFD_ABSENT_TALLY, e[0].absent);
	/* What a failed unmap removed first is unknown: absent, not 0 */
	ASSERT_EQ(-ENOENT, e[1].ret);
	ASSERT_EQ(IOVA_UNMAPPED, e[1].iova);
	ASSERT_EQ(PAGE, e[1].length);
	ASSERT_EQ(IOMMUFD_ABSENT_CTX | IOMMUFD_ABSENT_DONE |
		  IOMMUFD_ABSENT_TALLY, e[1].absent);
	/* The length asked for, although the reply overwrote it */
	ASSERT_EQ(0, e[2].ret);
	ASSERT_EQ(0, e[2].iova);
	ASSERT_EQ(UINT64_MAX, e[2].length);
	ASSERT_EQ(2 * PAGE, e[2].done);
}

TEST_F(fallback, copy_and_failed_copy)
{
	__u64 iova = IOVA_A, dst_iova = 0, fixed = IOVA_A;
	struct iommufd_event *e;
	__u32 dst;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, &iova, 4 * PAGE,
			      MAP_FIXED_RW));
	capture_reset(&self->cap);

	ASSERT_EQ(0, ioas_copy(self->fd, dst, self->ioas, IOVA_A, &dst_iova,
			       2 * PAGE, MAP_RW));
	ASSERT_NE(0, dst_iova);
	/* A source range that is not mapped */
	ASSERT_EQ(-ENOENT, ioas_copy(self->fd, dst, self->ioas, IOVA_UNMAPPED,
				     &fixed, PAGE, MAP_FIXED_RW));

	e = expect_records(IOMMUFD_EV_IOAS_COPY, IOMMUFD_EV_IOAS_COPY);
	ASSERT_EQ(0, e[0].ret);
	ASSERT_EQ(self->ioas, e[0].src_ioas_id);
	ASSERT_EQ(dst, e[0].ioas_id);
	ASSERT_EQ(IOVA_A, e[0].iova);
	ASSERT_EQ(dst_iova, e[0].dst_iova);
	ASSERT_EQ(2 * PAGE, e[0].length);
	ASSERT_EQ(2 * PAGE, e[0].done);
	ASSERT_EQ(MAP_RW, e[0].flags);
	ASSERT_EQ(-ENOENT, e[1].ret);
	ASSERT_EQ(IOVA_UNMAPPED, e[1].iova);
	ASSERT_EQ(IOVA_A, e[1].dst_iova);
	ASSERT_EQ(PAGE, e[1].length);
	ASSERT_EQ(0, e[1].done);
	ASSERT_EQ(MAP_FIXED_RW, e[1].flags);
}

/* The owner and IOAS filters apply before a record is reserved */
TEST_F(fallback, filters)
{
	struct trace_capture only_ioas;
	__u64 iova, len;
	__u32 other;
	pid_t child;
	int status;

	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	ASSERT_EQ(0, fallback_start(&only_ioas, &self->kf, 0, other));
	/* Another process's maps: not this owner's */
	child = fork();
	ASSERT_NE(-1, child);
	if (!child) {
		int fd = open("/dev/iommu", O_RDWR);
		__u32 ioas;

		iova = IOVA_A;
		_exit(fd < 0 || ioas_alloc(fd, &ioas) ||
		      ioas_map(fd, ioas, &iova, PAGE, MAP_FIXED_RW));
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_EQ(0, status);
	iova = IOVA_A;
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, &iova, PAGE, MAP_FIXED_RW));
	iova = IOVA_A;
	ASSERT_EQ(0, ioas_map(self->fd, other, &iova, PAGE, MAP_FIXED_RW));
	len = PAGE;
	ASSERT_EQ(0, ioas_unmap(self->fd, other, IOVA_A, &len));

	/* This owner: its three, not the child's */
	expect_records(IOMMUFD_EV_IOAS_MAP, IOMMUFD_EV_IOAS_MAP,
		       IOMMUFD_EV_IOAS_UNMAP);
	ASSERT_EQ(1, capture_counter(&self->cap, IOMMUFD_CNT_FILTERED));
	/* The other IOAS: this process's two records on it */
	capture_collect(&only_ioas);
	ASSERT_EQ(2, only_ioas.n);
	ASSERT_EQ(other, only_ioas.ev[0].ioas_id);
	ASSERT_EQ(other, only_ioas.ev[1].ioas_id);
	ASSERT_EQ(IOMMUFD_EV_IOAS_UNMAP, only_ioas.ev[1].type);
	capture_stop(&only_ioas);
}

/* Threads on every CPU at once: each call's entry is its thread's own */
struct worker {
	int fd;
	__u32 ioas;
	int cpu;
	unsigned int pairs;
	int err;
};

/* Run the calling thread on @cpu only */
static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	pin_to_cpu(w->cpu);
	for (i = 0; i < w->pairs && !w->err; i++) {
		/* A length per thread and iteration: records cannot be mixed up */
		__u64 iova = IOVA_A, len = (1 + (i + w->cpu) % NPAGES) * PAGE;
		__u64 asked = len;

		w->err = ioas_map(w->fd, w->ioas, &iova, len, MAP_FIXED_RW) ?:
			 ioas_unmap(w->fd, w->ioas, IOVA_A, &len);
		if (!w->err && len != asked)
			w->err = -EIO;
	}
	return NULL;
}

struct tally {
	__u32 ioas[64];
	unsigned int n_ioas;
	unsigned int maps[64], unmaps[64], bad;
	__u64 last_map_len[64];
	__u64 seqs;
};

static int tally_cb(void *ctx, void *data, size_t size)
{
	const struct iommufd_event *e = data;
	struct tally *t = ctx;
	unsigned int i;

	t->seqs++;
	for (i = 0; i < t->n_ioas && t->ioas[i] != e->ioas_id; i++)
		;
	if (i == t->n_ioas || e->ret || e->tgid != getpid() ||
	    (e->absent & IOMMUFD_ABSENT_DURATION) || !e->duration_ns) {
		t->bad++;
		return 0;
	}
	if (e->type == IOMMUFD_EV_IOAS_MAP) {
		t->maps[i]++;
		t->last_map_len[i] = e->length;
	} else if (e->type == IOMMUFD_EV_IOAS_UNMAP) {
		/* Each thread unmaps what it just mapped, in its IOAS */
		if (e->length != t->last_map_len[i] || e->done != e->length)
			t->bad++;
		t->unmaps[i]++;
	} else {
		t->bad++;
	}
	return 0;
}

TEST_F(fallback, threads_on_every_cpu)
{
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int nthreads = ncpu < 2 ? 2 : ncpu > 16 ? 16 : ncpu, i;
	struct worker w[16];
	pthread_t th[16];
	struct ring_buffer *rb;
	struct tally t = { 0 };

	rb = ring_buffer__new(bpf_map__fd(self->cap.skel->maps.events),
			      tally_cb, &t, NULL);
	ASSERT_NE(NULL, rb);
	for (i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ .fd = self->fd, .cpu = i % ncpu,
					.pairs = 300 };
		ASSERT_EQ(0, ioas_alloc(self->fd, &w[i].ioas));
		t.ioas[t.n_ioas++] = w[i].ioas;
	}
	for (i = 0; i < nthreads; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, worker_run, &w[i]));
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		ASSERT_EQ(0, w[i].err);
	}
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	TH_LOG("%u threads on %d CPUs: %llu records", nthreads, ncpu,
	       (unsigned long long)t.seqs);
	ASSERT_EQ(0, t.bad);
	for (i = 0; i < nthreads; i++) {
		ASSERT_EQ(300, t.maps[i]);
		ASSERT_EQ(300, t.unmaps[i]);
	}
	ASSERT_EQ(0, capture_counter(&self->cap, IOMMUFD_CNT_DROPPED));
	ASSERT_EQ(nthreads * 600, self->cap.skel->bss->next_seq);
}

/*
 * Which source serves on this kernel. With the series, its records and the
 * fallback's of the same calls agree on every field both know; without it,
 * the fallback is what the loader takes, and only for what it covers.
 */
/* A selftest command on @fd; 0 or -errno */
static int test_cmd(int fd, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return ioctl(fd, IOMMU_TEST_CMD, cmd) ? -errno : 0;
}

/* A HWPT of @dev over @ioas; 0 or -errno */
static int hwpt_alloc(int fd, __u32 dev, __u32 ioas, __u32 *hwpt)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .dev_id = dev, .pt_id = ioas,
	};
	int rc = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	*hwpt = cmd.out_hwpt_id;
	return rc ? -errno : 0;
}

/*
 * A mock device attached to the IOAS (a HWPT made for it), moved to
 * another HWPT, a move to an id that does not exist refused, then
 * destroyed, which detaches it. Where the device's group names the HWPT
 * of its RID (before 6.15, and the series), every record knows it and the
 * IOAS under it; where it does not (mainline 6.15), the HWPT id the kernel
 * writes back is there and the rest is absent.
 */
TEST_F(fallback, device_attach_replace_detach)
{
	struct iommu_test_cmd dom = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = self->ioas,
	};
	struct iommu_test_cmd rep = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	const bool rid_known = self->kf.group_rid_hwpt;
	const __u32 ioas_absent = rid_known ? 0 : IOMMUFD_ABSENT_IOAS;
	struct iommufd_event *e;
	__u32 dev, hwpt1, hwpt2;

	ASSERT_TRUE(self->kf.device_attach);
	ASSERT_EQ(0, test_cmd(self->fd, &dom));
	dev = dom.mock_domain.out_idev_id;
	hwpt1 = dom.mock_domain.out_hwpt_id;
	e = expect_records(IOMMUFD_EV_DEVICE_ATTACH);
	ASSERT_EQ(0, e->ret);
	ASSERT_EQ(dev, e->dev_id);
	ASSERT_EQ(hwpt1, e->hwpt_id);
	ASSERT_EQ(0, e->pasid);
	ASSERT_EQ(IOMMUFD_ABSENT_CTX | ioas_absent, e->absent);
	ASSERT_EQ(rid_known ? self->ioas : 0, e->ioas_id);

	ASSERT_EQ(0, hwpt_alloc(self->fd, dev, self->ioas, &hwpt2));
	ASSERT_NE(hwpt1, hwpt2);
	rep.id = dom.mock_domain.out_stdev_id;
	rep.mock_domain_replace.pt_id = hwpt2;
	ASSERT_EQ(0, test_cmd(self->fd, &rep));
	ASSERT_EQ(hwpt2, rep.mock_domain_replace.pt_id);
	e = expect_records(IOMMUFD_EV_DEVICE_REPLACE);
	ASSERT_EQ(0, e->ret);
	ASSERT_EQ(dev, e->dev_id);
	ASSERT_EQ(hwpt2, e->hwpt_id);
	ASSERT_EQ(rid_known ? hwpt1 : 0, e->old_hwpt_id);
	ASSERT_EQ(IOMMUFD_ABSENT_CTX | ioas_absent |
		  (rid_known ? 0 : IOMMUFD_ABSENT_OLD_HWPT), e->absent);
	ASSERT_EQ(rid_known ? self->ioas : 0, e->ioas_id);

	/* Refused: what it would have attached is not known */
	rep.mock_domain_replace.pt_id = 0xdead;
	ASSERT_EQ(-ENOENT, test_cmd(self->fd, &rep));
	e = expect_records(IOMMUFD_EV_DEVICE_REPLACE);
	ASSERT_EQ(-ENOENT, e->ret);
	ASSERT_EQ(dev, e->dev_id);
	ASSERT_EQ(rid_known ? hwpt2 : 0, e->old_hwpt_id);
	ASSERT_TRUE(e->absent & IOMMUFD_ABSENT_HWPT);
	ASSERT_TRUE(e->absent & IOMMUFD_ABSENT_IOAS);

	/* Destroying the mock device detaches it from the HWPT it is on */
	destroy.id = dom.mock_domain.out_stdev_id;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_DESTROY, &destroy));
	e = expect_records(IOMMUFD_EV_DEVICE_DETACH);
	ASSERT_EQ(0, e->ret);
	ASSERT_EQ(dev, e->dev_id);
	ASSERT_EQ(0, e->pasid);
	if (rid_known) {
		ASSERT_EQ(IOMMUFD_ABSENT_CTX, e->absent);
		ASSERT_EQ(hwpt2, e->hwpt_id);
		ASSERT_EQ(self->ioas, e->ioas_id);
	} else {
		ASSERT_EQ(IOMMUFD_ABSENT_CTX | IOMMUFD_ABSENT_HWPT |
			  IOMMUFD_ABSENT_IOAS, e->absent);
	}
}

/* A HWPT of @dev: with @fault a nested one over @parent reporting to it */
static int hwpt_alloc_flags(int fd, __u32 dev, __u32 pt, __u32 flags,
			    __u32 fault, __u32 *hwpt)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev, .pt_id = pt,
	};
	int rc;

	if (fault) {
		cmd.fault_id = fault;
		cmd.data_type = IOMMU_HWPT_DATA_SELFTEST;
		cmd.data_len = sizeof(data);
		cmd.data_uptr = (uintptr_t)&data;
	}
	rc = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
	*hwpt = cmd.out_hwpt_id;
	return rc ? -errno : 0;
}

/* The mock device @dev reports a page request of group @grpid at @addr */
static int trigger_iopf(int fd, __u32 dev, __u32 grpid, __u64 addr)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = {
			.dev_id = dev, .pasid = 1, .grpid = grpid,
			.perm = IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE,
			.addr = addr,
		},
	};

	return test_cmd(fd, &cmd);
}

/* A mock device moved to a nested HWPT whose faults go to a fault object */
struct iopf_device {
	__u32 dev, stdev, parent, nested;
	struct iommu_fault_alloc fa;
};

/* Set @d up in IOAS @ioas; 0 or -errno */
static int iopf_device_setup(int fd, __u32 ioas, struct iopf_device *d)
{
	struct iommu_test_cmd dom = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = ioas,
	};
	struct iommu_test_cmd rep = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	int rc;

	d->fa = (struct iommu_fault_alloc){ .size = sizeof(d->fa) };
	rc = test_cmd(fd, &dom);
	if (rc)
		return rc;
	d->dev = dom.mock_domain.out_idev_id;
	d->stdev = dom.mock_domain.out_stdev_id;
	rc = hwpt_alloc_flags(fd, d->dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0,
			      &d->parent);
	if (rc)
		return rc;
	if (ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &d->fa))
		return -errno;
	rc = hwpt_alloc_flags(fd, d->dev, d->parent, IOMMU_HWPT_FAULT_ID_VALID,
			      d->fa.out_fault_id, &d->nested);
	if (rc)
		return rc;
	rep.id = d->stdev;
	rep.mock_domain_replace.pt_id = d->nested;
	return test_cmd(fd, &rep);
}

/*
 * I/O page faults through a fault object: two groups reported, one read
 * and answered by this process, then the device moved off the HWPT, which
 * answers the other. The report runs in the reporting context (here this
 * thread, in hardware an interrupt), so its owner is not known; the read
 * and the answer run in this process. The other xa_alloc() calls made
 * while the programs are attached (every object allocated) read nothing.
 */
TEST_F(fallback, page_faults_reported_answered_and_auto_answered)
{
	struct iommu_test_cmd rep = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	struct iommu_hwpt_page_response answer = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	struct iommu_hwpt_pgfault pf;
	struct iommufd_event *e;
	struct iopf_device d;
	__u32 dev, nested, i, auto_at;

	ASSERT_TRUE(self->kf.iopf_functions);
	/* Every owner: a report's is not known, the owner filter drops it */
	capture_stop(&self->cap);
	ASSERT_EQ(0, fallback_start(&self->cap, &self->kf, 0, 0));
	ASSERT_EQ(0, iopf_device_setup(self->fd, self->ioas, &d));
	dev = d.dev, nested = d.nested;
	expect_records(IOMMUFD_EV_DEVICE_ATTACH, IOMMUFD_EV_DEVICE_REPLACE);

	ASSERT_EQ(0, trigger_iopf(self->fd, dev, 2, 0xdead000));
	ASSERT_EQ(sizeof(pf), read(d.fa.out_fault_fd, &pf, sizeof(pf)));
	answer.cookie = pf.cookie;
	ASSERT_EQ(sizeof(answer), write(d.fa.out_fault_fd, &answer,
					sizeof(answer)));
	ASSERT_TRUE(self->kf.fault_fd_read);
	e = expect_records(IOMMUFD_EV_FAULT_REPORT, IOMMUFD_EV_FAULT_READ,
			   IOMMUFD_EV_FAULT_RESPOND);
	ASSERT_EQ(IOMMUFD_ABSENT_CTX | IOMMUFD_ABSENT_OWNER, e[0].absent);
	ASSERT_EQ(dev, e[0].dev_id);
	ASSERT_EQ(d.fa.out_fault_id, e[0].fault_id);
	ASSERT_EQ(nested, e[0].hwpt_id);
	ASSERT_EQ(self->ioas, e[0].ioas_id);
	ASSERT_EQ(1, e[0].pasid);
	ASSERT_EQ(2, e[0].grpid);
	ASSERT_EQ(0xdead000, e[0].iova);
	ASSERT_EQ(IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE,
		  e[0].perm);
	ASSERT_EQ(1, e[0].count);
	/* The read: the cookie the VMM got, and the wait until then */
	ASSERT_EQ(IOMMUFD_ABSENT_CTX, e[1].absent);
	ASSERT_EQ(getpid(), e[1].owner_tgid);
	ASSERT_EQ(dev, e[1].dev_id);
	ASSERT_EQ(d.fa.out_fault_id, e[1].fault_id);
	ASSERT_EQ(1, e[1].pasid);
	ASSERT_EQ(2, e[1].grpid);
	ASSERT_EQ(0xdead000, e[1].iova);
	ASSERT_EQ(pf.cookie, e[1].cookie);
	ASSERT_EQ(1, e[1].count);
	ASSERT_NE(0, e[1].queued_ns);
	/* The answer, its wait split at the read */
	ASSERT_EQ(IOMMUFD_ABSENT_CTX, e[2].absent);
	ASSERT_EQ(getpid(), e[2].owner_tgid);
	ASSERT_EQ(dev, e[2].dev_id);
	ASSERT_EQ(d.fa.out_fault_id, e[2].fault_id);
	ASSERT_EQ(2, e[2].grpid);
	ASSERT_EQ(pf.cookie, e[2].cookie);
	ASSERT_EQ(IOMMUFD_PAGE_RESP_SUCCESS, e[2].code);
	ASSERT_NE(0, e[2].handled_ns);
	ASSERT_EQ(e[1].queued_ns, e[2].queued_ns);
	ASSERT_EQ(e[2].duration_ns, e[2].queued_ns + e[2].handled_ns);

	/* Unread when the device leaves: iommufd answers it, once */
	ASSERT_EQ(0, trigger_iopf(self->fd, dev, 3, 0xbeef000));
	/* (its first HWPT went when it left: the nest parent takes it) */
	rep.id = d.stdev;
	rep.mock_domain_replace.pt_id = d.parent;
	ASSERT_EQ(0, test_cmd(self->fd, &rep));
	capture_collect(&self->cap);
	ASSERT_EQ(3, self->cap.n);
	ASSERT_EQ(IOMMUFD_EV_FAULT_REPORT, self->cap.ev[0].type);
	ASSERT_EQ(3, self->cap.ev[0].grpid);
	/* Answered within the replace: before or after its record */
	auto_at = self->cap.ev[1].type == IOMMUFD_EV_FAULT_AUTO_RESPOND ? 1 : 2;
	e = &self->cap.ev[auto_at];
	ASSERT_EQ(IOMMUFD_EV_FAULT_AUTO_RESPOND, e->type);
	ASSERT_EQ(getpid(), e->owner_tgid);
	ASSERT_EQ(IOMMUFD_ABSENT_CTX, e->absent);
	ASSERT_EQ(dev, e->dev_id);
	ASSERT_EQ(d.fa.out_fault_id, e->fault_id);
	ASSERT_EQ(1, e->count);
	ASSERT_EQ(0, e->code);	/* detach */
	ASSERT_EQ(IOMMUFD_EV_DEVICE_REPLACE, self->cap.ev[3 - auto_at].type);
	for (i = 1; i < 3; i++)
		ASSERT_EQ(self->cap.ev[i - 1].seq + 1, self->cap.ev[i].seq);
	self->cap.n = 0;
	close(d.fa.out_fault_fd);
}

/*
 * Reads of several groups at once, and of fewer than are queued: each
 * group the VMM got is read once, when it got it, with the cookie it got;
 * a read too small for the first group reads nothing. Each answer's wait
 * is split at its group's own read.
 */
TEST_F(fallback, page_fault_reads_of_several_groups)
{
	struct iommu_hwpt_page_response answer = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	struct iommu_hwpt_pgfault pf[3];
	char small[sizeof(pf[0]) / 2];
	struct iommufd_event *e;
	struct iopf_device d;
	__u64 queued[3];
	__u32 dev, i;

	ASSERT_TRUE(self->kf.fault_fd_read);
	capture_stop(&self->cap);
	ASSERT_EQ(0, fallback_start(&self->cap, &self->kf, 0, 0));
	ASSERT_EQ(0, iopf_device_setup(self->fd, self->ioas, &d));
	dev = d.dev;
	expect_records(IOMMUFD_EV_DEVICE_ATTACH, IOMMUFD_EV_DEVICE_REPLACE);

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, trigger_iopf(self->fd, dev, 5 + i,
					  0x100000 * (i + 1)));
	/* Not a whole fault: the kernel reads nothing */
	ASSERT_EQ(-1, read(d.fa.out_fault_fd, small, sizeof(small)));
	ASSERT_EQ(2 * sizeof(pf[0]),
		  read(d.fa.out_fault_fd, pf, 2 * sizeof(pf[0])));
	e = expect_records(IOMMUFD_EV_FAULT_REPORT, IOMMUFD_EV_FAULT_REPORT,
			   IOMMUFD_EV_FAULT_REPORT, IOMMUFD_EV_FAULT_READ,
			   IOMMUFD_EV_FAULT_READ);
	/* The two the VMM got, in no particular order */
	ASSERT_EQ(5 + 6, e[3].grpid + e[4].grpid);
	for (i = 0; i < 2; i++) {
		__u32 g = e[3 + i].grpid - 5;

		ASSERT_GT(2, g);
		ASSERT_EQ(5 + g, pf[g].grpid);
		ASSERT_EQ(pf[g].cookie, e[3 + i].cookie);
		ASSERT_EQ(0x100000 * (g + 1), e[3 + i].iova);
		ASSERT_NE(0, e[3 + i].queued_ns);
		queued[g] = e[3 + i].queued_ns;
	}
	/* The third, alone; then answers in the opposite order */
	ASSERT_EQ(sizeof(pf[0]), read(d.fa.out_fault_fd, &pf[2], sizeof(pf[0])));
	for (i = 3; i-- > 0;) {
		answer.cookie = pf[i].cookie;
		ASSERT_EQ(sizeof(answer), write(d.fa.out_fault_fd, &answer,
						sizeof(answer)));
	}
	e = expect_records(IOMMUFD_EV_FAULT_READ, IOMMUFD_EV_FAULT_RESPOND,
			   IOMMUFD_EV_FAULT_RESPOND, IOMMUFD_EV_FAULT_RESPOND);
	ASSERT_EQ(7, e[0].grpid);
	ASSERT_EQ(pf[2].cookie, e[0].cookie);
	queued[2] = e[0].queued_ns;
	for (i = 0; i < 3; i++) {
		const struct iommufd_event *r = &e[3 - i];

		ASSERT_EQ(5 + i, r->grpid);
		ASSERT_EQ(IOMMUFD_ABSENT_CTX, r->absent);
		/* Each split at its own group's read */
		ASSERT_EQ(queued[i], r->queued_ns);
		ASSERT_NE(0, r->handled_ns);
		ASSERT_EQ(r->duration_ns, r->queued_ns + r->handled_ns);
	}
	close(d.fa.out_fault_fd);
}

/* A device reporting @n page faults as fast as it can, from its own CPU */
struct iopf_storm {
	int fd, cpu, err;
	__u32 dev;
	unsigned int n;
};

static void *iopf_storm_run(void *arg)
{
	struct iopf_storm *st = arg;
	unsigned int i;

	pin_to_cpu(st->cpu);
	for (i = 0; i < st->n && !st->err; i++)
		st->err = trigger_iopf(st->fd, st->dev, i, 0x100000 + i * PAGE);
	return NULL;
}

/*
 * The read is followed from its two ends while the device keeps reporting
 * from another CPU, so the queue grows under the walk at the read's entry:
 * every group the VMM got is read exactly once, with the cookie it got,
 * and every answer's wait is split at its read.
 */
TEST_F(fallback, page_fault_reads_while_the_device_reports)
{
	enum { STORM = 150 };	/* three records each, in CAPTURE_MAX */
	struct iommu_hwpt_page_response answer = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	__u32 got_cookie[STORM] = { 0 }, read_seen[STORM] = { 0 };
	struct iommu_hwpt_pgfault pf[8];
	unsigned int answered = 0, reads = 0, responds = 0, i, k;
	struct iopf_storm st;
	struct iopf_device d;
	pthread_t th;
	ssize_t n;

	ASSERT_TRUE(self->kf.fault_fd_read);
	capture_stop(&self->cap);
	ASSERT_EQ(0, fallback_start(&self->cap, &self->kf, 0, 0));
	ASSERT_EQ(0, iopf_device_setup(self->fd, self->ioas, &d));
	expect_records(IOMMUFD_EV_DEVICE_ATTACH, IOMMUFD_EV_DEVICE_REPLACE);
	st = (struct iopf_storm){ .fd = self->fd, .dev = d.dev, .n = STORM,
				  .cpu = ncpu > 1 ? 1 : 0 };
	ASSERT_EQ(0, pthread_create(&th, NULL, iopf_storm_run, &st));
	while (answered < STORM) {
		n = read(d.fa.out_fault_fd, pf, sizeof(pf));
		ASSERT_LE(0, n);
		if (!n) {
			ASSERT_EQ(0, st.err);
			sched_yield();
			continue;
		}
		for (k = 0; k < n / sizeof(pf[0]); k++) {
			ASSERT_GT(STORM, pf[k].grpid);
			ASSERT_EQ(0, got_cookie[pf[k].grpid]);
			got_cookie[pf[k].grpid] = pf[k].cookie;
			answer.cookie = pf[k].cookie;
			ASSERT_EQ(sizeof(answer),
				  write(d.fa.out_fault_fd, &answer,
					sizeof(answer)));
			answered++;
		}
	}
	pthread_join(th, NULL);
	ASSERT_EQ(0, st.err);

	capture_collect(&self->cap);
	ASSERT_EQ(0, self->cap.overflow);
	ASSERT_EQ(3 * STORM, self->cap.n);
	for (i = 0; i < self->cap.n; i++) {
		const struct iommufd_event *e = &self->cap.ev[i];

		ASSERT_GT(STORM, e->grpid);
		if (e->type == IOMMUFD_EV_FAULT_READ) {
			ASSERT_EQ(got_cookie[e->grpid], e->cookie);
			ASSERT_EQ(0x100000 + e->grpid * PAGE, e->iova);
			ASSERT_EQ(0, read_seen[e->grpid]++);
			reads++;
		} else if (e->type == IOMMUFD_EV_FAULT_RESPOND) {
			/* After its own read, split there */
			ASSERT_EQ(1, read_seen[e->grpid]);
			ASSERT_EQ(IOMMUFD_ABSENT_CTX, e->absent);
			ASSERT_EQ(e->duration_ns, e->queued_ns + e->handled_ns);
			responds++;
		} else {
			ASSERT_EQ(IOMMUFD_EV_FAULT_REPORT, e->type);
		}
	}
	ASSERT_EQ(STORM, reads);
	ASSERT_EQ(STORM, responds);
	close(d.fa.out_fault_fd);
}

/*
 * The same as the series records it, where it does; where it does not,
 * the fallback is what 'trace' takes for these events
 */
TEST_F(fallback, device_records_agree_with_the_series_or_replace_them)
{
	struct iommu_test_cmd dom = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = self->ioas,
	};
	struct iommu_test_cmd rep = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	struct trace_capture series;
	unsigned int i;
	__u32 hwpt2;

	if (!self->kf.series) {
		ASSERT_EQ(IOMMUFD_EV_MASK_FALLBACK_DEVICE,
			  trace_events_available(&self->kf,
						 IOMMUFD_EV_MASK_FALLBACK_DEVICE,
						 false));
		return;
	}
	ASSERT_EQ(0, _capture_start(&series, getpid(), 0, 0,
				    IOMMUFD_EV_MASK_FALLBACK_DEVICE));
	ASSERT_EQ(0, test_cmd(self->fd, &dom));
	ASSERT_EQ(0, hwpt_alloc(self->fd, dom.mock_domain.out_idev_id,
				self->ioas, &hwpt2));
	rep.id = dom.mock_domain.out_stdev_id;
	rep.mock_domain_replace.pt_id = hwpt2;
	ASSERT_EQ(0, test_cmd(self->fd, &rep));
	destroy.id = dom.mock_domain.out_stdev_id;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_DESTROY, &destroy));

	capture_collect(&self->cap);
	capture_collect(&series);
	ASSERT_EQ(3, series.n);
	ASSERT_EQ(series.n, self->cap.n);
	for (i = 0; i < series.n; i++) {
		const struct iommufd_event *s = &series.ev[i], *f = &self->cap.ev[i];

		ASSERT_EQ(s->type, f->type);
		ASSERT_EQ(s->ret, f->ret);
		ASSERT_EQ(s->owner_tgid, f->owner_tgid);
		ASSERT_EQ(s->dev_id, f->dev_id);
		ASSERT_EQ(s->pasid, f->pasid);
		if (!(f->absent & IOMMUFD_ABSENT_HWPT))
			ASSERT_EQ(s->hwpt_id, f->hwpt_id);
		if (!(f->absent & IOMMUFD_ABSENT_IOAS))
			ASSERT_EQ(s->ioas_id, f->ioas_id);
		if (!(f->absent & IOMMUFD_ABSENT_OLD_HWPT))
			ASSERT_EQ(s->old_hwpt_id, f->old_hwpt_id);
		ASSERT_EQ(0, s->absent);
	}
	/* The attach and the replace know the HWPT they attached */
	ASSERT_FALSE(self->cap.ev[0].absent & IOMMUFD_ABSENT_HWPT);
	ASSERT_FALSE(self->cap.ev[1].absent & IOMMUFD_ABSENT_HWPT);
	capture_stop(&series);
}

TEST_F(fallback, agrees_with_the_series_or_replaces_it)
{
	struct trace_capture series;
	__u64 iova = IOVA_A, dst_iova = 0, len = 4 * PAGE;
	unsigned int i;
	__u32 dst;

	if (!self->kf.series) {
		ASSERT_EQ(FALLBACK_MASK,
			  trace_events_available(&self->kf, IOMMUFD_EV_MASK_ALL,
						 false));
		/* Of the fault stream, no DMA fault */
		ASSERT_EQ(IOMMUFD_EV_MASK_FALLBACK_FAULTS |
			  IOMMUFD_EV_MASK_FALLBACK_FAULT_READ,
			  trace_events_available(&self->kf,
						 IOMMUFD_EV_MASK_FAULTS, false));
		return;
	}
	ASSERT_EQ(IOMMUFD_EV_MASK_ALL,
		  trace_events_available(&self->kf, IOMMUFD_EV_MASK_ALL, false) |
		  (self->kf.qi_wait ? 0 : 1u << IOMMUFD_EV_IOTLB_WAIT));
	ASSERT_EQ(0, _capture_start(&series, getpid(), 0, 0, FALLBACK_MASK));
	ASSERT_EQ(0, ioas_alloc(self->fd, &dst));
	capture_reset(&self->cap);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, &iova, 4 * PAGE,
			      MAP_FIXED_RW));
	ASSERT_EQ(0, ioas_copy(self->fd, dst, self->ioas, IOVA_A, &dst_iova,
			       2 * PAGE, MAP_RW));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA_A, &len));
	len = PAGE;
	ASSERT_EQ(-ENOENT, ioas_unmap(self->fd, self->ioas, IOVA_UNMAPPED, &len));

	capture_collect(&self->cap);
	capture_collect(&series);
	ASSERT_EQ(4, series.n);
	ASSERT_EQ(series.n, self->cap.n);
	for (i = 0; i < series.n; i++) {
		const struct iommufd_event *s = &series.ev[i], *f = &self->cap.ev[i];

		ASSERT_EQ(s->type, f->type);
		ASSERT_EQ(s->ret, f->ret);
		ASSERT_EQ(s->owner_tgid, f->owner_tgid);
		ASSERT_EQ(s->tgid, f->tgid);
		ASSERT_EQ(0, memcmp(s->comm, f->comm, sizeof(s->comm)));
		ASSERT_EQ(s->ioas_id, f->ioas_id);
		ASSERT_EQ(s->src_ioas_id, f->src_ioas_id);
		ASSERT_EQ(s->iova, f->iova);
		ASSERT_EQ(s->dst_iova, f->dst_iova);
		ASSERT_EQ(s->length, f->length);
		ASSERT_EQ(s->flags, f->flags);
		/* The series knows the context, and a failed unmap's bytes */
		ASSERT_NE(0, s->ctx);
		ASSERT_EQ(0, s->absent);
		if (f->absent & IOMMUFD_ABSENT_DONE) {
			ASSERT_NE(0, f->ret);
		} else {
			ASSERT_EQ(s->done, f->done);
		}
		/* The handler's span holds the series' timed part */
		ASSERT_NE(0, s->duration_ns);
		ASSERT_NE(0, f->duration_ns);
		/* Only the series' map and unmap know their tally */
		if (f->type != IOMMUFD_EV_IOAS_COPY)
			ASSERT_TRUE(f->absent & IOMMUFD_ABSENT_TALLY);
	}
	ASSERT_EQ(IOMMUFD_ABSENT_CTX | IOMMUFD_ABSENT_DONE |
		  IOMMUFD_ABSENT_TALLY, self->cap.ev[3].absent);
	capture_stop(&series);
}

TEST_HARNESS_MAIN
