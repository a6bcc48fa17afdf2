// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_fault_latency: how long an I/O page fault waits for its answer when
 * a BPF fault policy gives it in the kernel, against the round trip through
 * the fault fd that a VMM makes.
 *
 * One mock device on a paging HWPT with a fault object. Four modes run in
 * interleaved blocks, the order rotated every block so no mode always goes
 * first:
 *   bpf       the test policy answers SUCCESS inside the trigger ioctl;
 *   fd        no policy: a thread blocked in poll() on the fault fd reads the
 *             group and writes SUCCESS (the VMM's path);
 *   busypoll  no policy: the thread spins on read() instead of poll();
 *   defer     the test policy attached but deferring, answered as in fd: what
 *             a policy that always defers adds to that path.
 * One fault is in flight at a time, the handler thread on the triggering
 * thread's CPU. A fault's latency is how long its group waits in the
 * kernel for the answer: from iommufd_fault_report to iopf_group_response,
 * taken by a tracing program attached in every mode (tests/bpf/
 * fault_latency.bpf.c); on hardware the report comes from the IOMMU's page
 * request queue, here from the mock's trigger ioctl, whose cost is the same
 * in every mode and is left out. The round trip the triggering thread sees
 * (from before IOMMU_TEST_OP_TRIGGER_IOPF until the mock device's page
 * response ledger counts the SUCCESS, polled by the same loop in every mode)
 * is reported too. Latencies are nearest-rank percentiles over all faults
 * of a mode, faults per second over all its blocks' time. After every block
 * the ledger must show each group answered exactly once, with SUCCESS, or
 * the benchmark fails.
 *
 * Prints one JSON object (flat, named figures) on stdout, a table on stderr.
 *
 *   bench_fault_latency [BLOCKS [FAULTS_PER_BLOCK]]
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "iommufd_utils.h"
#include "iopf_mock.h"
#include "fault_policy.h"
#include "bpf/fault_test_policy.h"
#include "fault_test_policy.skel.h"
#include "fault_latency.skel.h"

#define MAX_BLOCKS 64
/*
 * The pages the device faults on; nothing is mapped, only the answer counts.
 * Distinct pages in turn, as a device walking a buffer: SUCCESS for the same
 * page over and over is what a device retrying in vain gets, and the kernel
 * ejects a policy that does that.
 */
#define FAULT_PAGE 256
#define FAULT_PAGES 64
/* Longer than any answer takes, even under -icount: the group was lost */
#define ANSWER_TIMEOUT_NS (10 * 1000000000ULL)

enum mode { BPF, FD, BUSYPOLL, DEFER, NR_MODES };
static const char *const mode_name[NR_MODES] = { "bpf", "fd", "busypoll", "defer" };

static int fd, fault_fd;
static uint32_t device_id;
static uint32_t triggered;	/* groups reported so far, for the ledger check */

struct handler {
	pthread_t thread;
	int spin;		/* busypoll: no poll() */
	unsigned int groups;	/* answer this many, then return */
	atomic_int ready;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void fail(const char *what)
{
	fprintf(stderr, "bench_fault_latency: %s\n", what);
	exit(1);
}

static void die(const char *what)
{
	fprintf(stderr, "bench_fault_latency: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank of a sorted array */
static uint64_t percentile(const uint64_t *sorted, size_t n, unsigned int pct)
{
	return sorted[(n * pct + 99) / 100 - 1];
}

static struct ledger ledger_now(void)
{
	struct ledger l;

	errno = -read_ledger(fd, device_id, &l);
	if (errno)
		die("IOMMU_TEST_OP_IOPF_LEDGER");
	return l;
}

/* Every group triggered answered once, with SUCCESS, nothing else */
static void check_ledger(const char *mode)
{
	struct ledger c = ledger_now();

	if (c.reported == triggered &&
	    c.success == triggered &&
	    !c.invalid && !c.failure &&
	    !c.duplicates && !c.orphans &&
	    !c.pending)
		return;
	fprintf(stderr, "bench_fault_latency: %s: %u triggered, ledger: reported %u "
		"success %u invalid %u failure %u duplicates %u orphans %u pending %u\n",
		mode, triggered, c.reported,
		c.success, c.invalid,
		c.failure, c.duplicates,
		c.orphans, c.pending);
	exit(1);
}

/* A mock device on a paging HWPT of a new IOAS, faults to a fault object */
static void setup_device(void)
{
	uint32_t ioas_id, stdev_id, mock_hwpt, hwpt_id, fault_id, ffd;

	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		die("/dev/iommu");
	if (_test_ioctl_ioas_alloc(fd, &ioas_id) ||
	    _test_cmd_mock_domain(fd, ioas_id, &stdev_id, &mock_hwpt, &device_id) ||
	    _test_ioctl_fault_alloc(fd, &fault_id, &ffd) ||
	    _test_cmd_hwpt_alloc(fd, device_id, ioas_id, fault_id,
				 IOMMU_HWPT_FAULT_ID_VALID, &hwpt_id,
				 IOMMU_HWPT_DATA_NONE, NULL, 0) ||
	    _test_cmd_mock_domain_replace(fd, stdev_id, hwpt_id, NULL))
		die("mock device with a fault object");
	fault_fd = ffd;
}

/*
 * The VMM's side. read() of a fault fd never blocks: it returns 0 when no
 * group waits. busypoll yields after an empty read so the triggering thread,
 * on the same CPU, can go on; on a core of its own that yield returns at
 * once and it is a plain spin. Every group is one request: one response per
 * record read.
 */
static void *handle_faults(void *arg)
{
	struct handler *h = arg;
	struct pollfd pfd = { .fd = fault_fd, .events = POLLIN };
	struct iommu_hwpt_pgfault pf[8];
	unsigned int answered = 0;

	atomic_store(&h->ready, 1);
	while (answered < h->groups) {
		ssize_t n, i;

		if (!h->spin && poll(&pfd, 1, -1) < 0)
			die("poll on the fault fd");
		n = read(fault_fd, pf, sizeof(pf));
		if (n < 0)
			die("read from the fault fd");
		if (!n)
			sched_yield();
		for (i = 0; i < n / (ssize_t)sizeof(pf[0]); i++) {
			struct iommu_hwpt_page_response resp = {
				.cookie = pf[i].cookie,
				.code = IOMMUFD_PAGE_RESP_SUCCESS,
			};

			if (write(fault_fd, &resp, sizeof(resp)) != sizeof(resp))
				die("write to the fault fd");
			answered++;
		}
	}
	return NULL;
}

/*
 * Report one group and wait until the ledger counts one more SUCCESS; ns.
 * The handler shares our CPU (see main), so yield between polls to let it
 * answer; bpf never yields: its answer is in the ledger when the trigger
 * ioctl returns.
 */
static uint64_t one_fault(enum mode m, uint32_t grpid, uint32_t *success)
{
	uint64_t t0 = now_ns(), t;
	struct ledger c;

	/* PASID 0 is IOMMU_NO_PASID */
	if (trigger_iopf_group(fd, device_id, 0, grpid,
			       (FAULT_PAGE + grpid % FAULT_PAGES) * PAGE_SIZE))
		die("IOMMU_TEST_OP_TRIGGER_IOPF");
	triggered++;
	for (;;) {
		c = ledger_now();
		t = now_ns();
		if (c.success != *success)
			break;
		if (t - t0 > ANSWER_TIMEOUT_NS) {
			fprintf(stderr, "bench_fault_latency: %s: a fault group got no answer in 10 s\n",
				mode_name[m]);
			exit(1);
		}
		sched_yield();
	}
	*success = c.success;
	return t - t0;
}

static struct fault_latency_bpf *tracer;

/* One block of one mode: each fault's in-kernel wait into lat[], its round
 * trip into rtt[]; the block's ns */
static uint64_t block(enum mode m, unsigned int faults, uint64_t *lat,
		      uint64_t *rtt, struct fault_test_policy_bpf *skel)
{
	struct handler h = { .spin = m == BUSYPOLL, .groups = faults };
	int policy = m == BPF || m == DEFER;
	uint64_t calls = skel->bss->calls, t0, t;
	struct bpf_link *link = NULL;
	uint32_t success = triggered;
	unsigned int i;

	if (policy) {
		skel->bss->verdict = m == BPF ? FAULT_SUCCESS : FAULT_DEFER;
		link = bpf_map__attach_struct_ops(skel->maps.test_ops);
		if (!link)
			die("attach the test policy");
	}
	if (m != BPF) {
		if (pthread_create(&h.thread, NULL, handle_faults, &h))
			fail("cannot start the handler thread");
		/* The first fault is not to time the thread's start */
		while (!atomic_load(&h.ready))
			sched_yield();
	}
	tracer->bss->nr_samples = 0;
	t0 = now_ns();
	for (i = 0; i < faults; i++)
		rtt[i] = one_fault(m, i % 512, &success);	/* 9-bit PRG index */
	t = now_ns() - t0;
	if (tracer->bss->nr_samples != faults || tracer->bss->unmatched)
		fail("the latency tracer did not see every report and answer");
	memcpy(lat, tracer->bss->samples, faults * sizeof(*lat));
	if (m != BPF)
		pthread_join(h.thread, NULL);
	bpf_link__destroy(link);
	check_ledger(mode_name[m]);
	/* With the policy attached it saw every group, else none */
	if (skel->bss->calls - calls != (policy ? faults : 0))
		fail("the test policy was not offered exactly the groups of its blocks");
	return t;
}

struct figures {
	uint64_t p50, p99, rtt_p50, rtt_p99;
	double per_sec, spread_pct;
};

/* One mode's figures from its blocks' latencies (sorted here) and time */
static struct figures summarize(uint64_t *lat, uint64_t *rtt,
				unsigned int blocks, unsigned int faults,
				uint64_t ns)
{
	size_t n = (size_t)blocks * faults;
	uint64_t med[MAX_BLOCKS];
	struct figures f;
	unsigned int b;

	/* How well the blocks agree: (max - min) / median of block medians */
	for (b = 0; b < blocks; b++) {
		qsort(lat + (size_t)b * faults, faults, sizeof(*lat), cmp_u64);
		med[b] = percentile(lat + (size_t)b * faults, faults, 50);
	}
	qsort(med, blocks, sizeof(*med), cmp_u64);
	f.spread_pct = 100.0 * (med[blocks - 1] - med[0]) /
		       percentile(med, blocks, 50);
	qsort(lat, n, sizeof(*lat), cmp_u64);
	f.p50 = percentile(lat, n, 50);
	f.p99 = percentile(lat, n, 99);
	qsort(rtt, n, sizeof(*rtt), cmp_u64);
	f.rtt_p50 = percentile(rtt, n, 50);
	f.rtt_p99 = percentile(rtt, n, 99);
	f.per_sec = n * 1e9 / ns;
	return f;
}

static void report(const struct figures *f, unsigned int blocks,
		   unsigned int faults)
{
	double fd_bpf = (double)f[FD].p50 / f[BPF].p50;
	double busy_bpf = (double)f[BUSYPOLL].p50 / f[BPF].p50;
	double defer_fd = (double)f[DEFER].p50 / f[FD].p50;
	unsigned int m;

	fprintf(stderr, "%-9s %10s %10s %10s %10s %10s %8s\n", "mode",
		"wait p50", "wait p99", "rtt p50", "rtt p99", "faults/s",
		"spread");
	for (m = 0; m < NR_MODES; m++)
		fprintf(stderr, "%-9s %10llu %10llu %10llu %10llu %10.0f %7.1f%%\n",
			mode_name[m], (unsigned long long)f[m].p50,
			(unsigned long long)f[m].p99,
			(unsigned long long)f[m].rtt_p50,
			(unsigned long long)f[m].rtt_p99, f[m].per_sec,
			f[m].spread_pct);
	fprintf(stderr, "p50 ratios: fd/bpf %.2f, busypoll/bpf %.2f, defer/fd %.4f\n",
		fd_bpf, busy_bpf, defer_fd);

	printf("{\"fault.blocks\":%u,\"fault.faults_per_block\":%u", blocks,
	       faults);
	for (m = 0; m < NR_MODES; m++)
		printf(",\"fault.%s_latency_ns_p50\":%llu,\"fault.%s_latency_ns_p99\":%llu,"
		       "\"fault.%s_roundtrip_ns_p50\":%llu,\"fault.%s_roundtrip_ns_p99\":%llu,"
		       "\"fault.%s_faults_per_sec\":%.0f,\"fault.%s_spread_pct\":%.1f",
		       mode_name[m], (unsigned long long)f[m].p50, mode_name[m],
		       (unsigned long long)f[m].p99, mode_name[m],
		       (unsigned long long)f[m].rtt_p50, mode_name[m],
		       (unsigned long long)f[m].rtt_p99, mode_name[m], f[m].per_sec,
		       mode_name[m], f[m].spread_pct);
	printf(",\"fault.fd_over_bpf_latency_ratio\":%.4f,"
	       "\"fault.busypoll_over_bpf_latency_ratio\":%.4f,"
	       "\"fault.defer_overhead_ratio\":%.4f,\"fault.defer_overhead_ns\":%lld}\n",
	       fd_bpf, busy_bpf, defer_fd,
	       (long long)f[DEFER].p50 - (long long)f[FD].p50);
}

int main(int argc, char **argv)
{
	unsigned int blocks = argc > 1 ? atoi(argv[1]) : 21;
	unsigned int faults = argc > 2 ? atoi(argv[2]) : 1000;
	uint64_t *lat[NR_MODES], *rtt[NR_MODES], ns[NR_MODES] = {};
	struct figures f[NR_MODES];
	struct fault_test_policy_bpf *skel;
	unsigned int b, k, m;
	cpu_set_t cpu;

	/* 65536: the latency tracer's samples per block */
	if (!blocks || blocks > MAX_BLOCKS || !faults || faults > 65536)
		fail("usage: bench_fault_latency [BLOCKS (1-64) [FAULTS_PER_BLOCK (1-65536)]]");
	/*
	 * The handler thread inherits this CPU. Under -icount the 2 vCPUs take
	 * turns on one host thread, and a vCPU woken by an IPI while the other
	 * spins can wait seconds of guest time (RCU stalls): on one CPU the
	 * hand-over is a guest context switch, the same in every mode and
	 * every run, and no emulator scheduling gets into the figures.
	 */
	CPU_ZERO(&cpu);
	CPU_SET(sched_getcpu(), &cpu);
	if (sched_setaffinity(0, sizeof(cpu), &cpu))
		die("sched_setaffinity");
	setup_device();
	skel = fault_test_policy_bpf__open();
	if (!skel)
		die("open the test policy");
	skel->struct_ops.test_ops->fault_fd = fault_fd;
	if (fault_test_policy_bpf__load(skel))
		die("load the test policy");
	tracer = fault_latency_bpf__open_and_load();
	if (!tracer || fault_latency_bpf__attach(tracer))
		die("load the latency tracer");
	for (m = 0; m < NR_MODES; m++) {
		lat[m] = calloc((size_t)blocks * faults, sizeof(*lat[m]));
		rtt[m] = calloc((size_t)blocks * faults, sizeof(*rtt[m]));
		if (!lat[m] || !rtt[m])
			fail("out of memory");
	}

	fprintf(stderr, "bench: %u blocks of %u faults per mode\n", blocks, faults);
	/* Every path once unmeasured: block 0's latencies are taken again */
	for (m = 0; m < NR_MODES; m++)
		block(m, faults, lat[m], rtt[m], skel);
	for (b = 0; b < blocks; b++)
		for (k = 0; k < NR_MODES; k++) {
			m = (b + k) % NR_MODES;
			ns[m] += block(m, faults, lat[m] + (size_t)b * faults,
				       rtt[m] + (size_t)b * faults, skel);
		}
	for (m = 0; m < NR_MODES; m++)
		f[m] = summarize(lat[m], rtt[m], blocks, faults, ns[m]);
	report(f, blocks, faults);
	fault_test_policy_bpf__destroy(skel);
	fault_latency_bpf__destroy(tracer);
	return 0;
}
