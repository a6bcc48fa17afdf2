// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault policies (iommufd_fault_ops): every I/O page fault group is answered
 * exactly once whatever the policy does, proven with the mock device's page
 * response ledger; the kernel's guarantees (verdict validation, ejection,
 * detach with faults in flight, teardown in any order, privileges) and the
 * three policies of bpf/ (windows, storm, resolve).
 */
#include <pthread.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "iommufd_utils.h"
#include "iopf_mock.h"
#include "pasid_mock.h"
#include "fault_injection.h"
#include "fault_policies.h"
#include "percpu_counters.h"
#include "bpf/fault_test_policy.h"
#include "fault_test_policy.skel.h"
#include "reject_ctx_write.skel.h"
#include "reject_ctx_private_read.skel.h"
#include "reject_kfunc_from_tracing.skel.h"
#include "reject_no_license.skel.h"
#include "reject_sleepable.skel.h"

#define PAGE 4096UL
/* IOVA in tests: the mock's aperture starts at 16 MiB */
#define IOVA(x) (0x10000000ULL + (x))

#define RW (IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE)

/*
 * Answer every group waiting on the fault fd with code; returns the number
 * of groups (not requests) answered. The fd is non-blocking.
 */
static int drain(int fault_fd, uint32_t code)
{
	struct iommu_hwpt_pgfault pf[64];
	int groups = 0;
	ssize_t n;

	while ((n = read(fault_fd, pf, sizeof(pf))) > 0) {
		size_t i, nr = n / sizeof(pf[0]);

		for (i = 0; i < nr; i++) {
			struct iommu_hwpt_page_response resp = {
				.cookie = pf[i].cookie,
				.code = code,
			};

			/*
			 * A read returns whole groups, each request with its
			 * group's cookie: answer at the group's last request.
			 * (Cookies are reused once answered, so compare only
			 * within one read.)
			 */
			if (i + 1 < nr && pf[i + 1].cookie == pf[i].cookie)
				continue;
			if (write(fault_fd, &resp, sizeof(resp)) != sizeof(resp)) {
				fprintf(stderr, "# drain: answering cookie %u: %s\n",
					pf[i].cookie, strerror(errno));
				return -1;
			}
			groups++;
		}
	}
	return groups;
}

FIXTURE(policy) {
	int fd;
	uint32_t ioas_id, stdev_id, device_id, mock_hwpt, hwpt_id, fault_id;
	uint32_t parent;	/* nested variant: the HWPT under hwpt_id */
	int fault_fd;
	struct fault_test_policy_bpf *skel;
	struct bpf_link *link;
};

/*
 * Where page requests come from: a PASID of a device on a nested HWPT
 * (through the RID's PASID table), the RID on a paging HWPT of the IOAS,
 * or PASIDs attached themselves to such a paging HWPT; on a paging HWPT
 * resolve-if-mapped can look at mappings.
 */
FIXTURE_VARIANT(policy) {
	uint32_t pasid;
	bool nested;
	bool pasid_attach;	/* pasid and pasid + 1 attached to hwpt_id */
};

FIXTURE_VARIANT_ADD(policy, pasid_nested) {
	.pasid = 0x1,
	.nested = true,
};

FIXTURE_VARIANT_ADD(policy, no_pasid_paging) {
	.pasid = 0,	/* IOMMU_NO_PASID */
};

FIXTURE_VARIANT_ADD(policy, pasid_paging) {
	.pasid = 0x1,
	.pasid_attach = true,
};

FIXTURE_SETUP(policy)
{
	uint32_t ffd;

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	if (variant->nested) {
		iopf_setup(_metadata, self->fd, self->ioas_id, &self->stdev_id,
			   &self->device_id, &self->parent, &self->hwpt_id,
			   &self->fault_id, &self->fault_fd);
		self->mock_hwpt = self->parent;
	} else if (variant->pasid_attach) {
		uint32_t rid_hwpt, pt;

		/* the RID on a PASID-capable HWPT without a fault object */
		ASSERT_EQ(0, _test_cmd_mock_domain_flags(self->fd, self->ioas_id,
							 MOCK_FLAGS_DEVICE_PASID,
							 &self->stdev_id,
							 &rid_hwpt,
							 &self->device_id));
		ASSERT_EQ(0, _test_cmd_hwpt_alloc(self->fd, self->device_id,
						  self->ioas_id, 0,
						  IOMMU_HWPT_ALLOC_PASID,
						  &rid_hwpt,
						  IOMMU_HWPT_DATA_NONE, NULL, 0));
		ASSERT_EQ(0, _test_cmd_mock_domain_replace(self->fd,
							   self->stdev_id,
							   rid_hwpt, NULL));
		ASSERT_EQ(0, _test_ioctl_fault_alloc(self->fd, &self->fault_id,
						     &ffd));
		self->fault_fd = ffd;
		ASSERT_EQ(0, _test_cmd_hwpt_alloc(self->fd, self->device_id,
						  self->ioas_id, self->fault_id,
						  IOMMU_HWPT_FAULT_ID_VALID |
						  IOMMU_HWPT_ALLOC_PASID,
						  &self->hwpt_id,
						  IOMMU_HWPT_DATA_NONE, NULL, 0));
		/* two PASIDs of the device on the one paging HWPT */
		pt = self->hwpt_id;
		ASSERT_EQ(0, pasid_attach(self->fd, self->stdev_id,
					  variant->pasid, &pt));
		ASSERT_EQ(0, pasid_attach(self->fd, self->stdev_id,
					  variant->pasid + 1, &pt));
	} else {
		ASSERT_EQ(0, _test_cmd_mock_domain(self->fd, self->ioas_id,
						   &self->stdev_id,
						   &self->mock_hwpt,
						   &self->device_id));
		/* its automatic domain goes once the device leaves it */
		self->mock_hwpt = self->ioas_id;
		ASSERT_EQ(0, _test_ioctl_fault_alloc(self->fd, &self->fault_id,
						     &ffd));
		self->fault_fd = ffd;
		ASSERT_EQ(0, _test_cmd_hwpt_alloc(self->fd, self->device_id,
						  self->ioas_id, self->fault_id,
						  IOMMU_HWPT_FAULT_ID_VALID,
						  &self->hwpt_id,
						  IOMMU_HWPT_DATA_NONE, NULL, 0));
		ASSERT_EQ(0, _test_cmd_mock_domain_replace(self->fd,
							   self->stdev_id,
							   self->hwpt_id, NULL));
	}
	fcntl(self->fault_fd, F_SETFL, O_NONBLOCK);
	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
}

FIXTURE_TEARDOWN(policy)
{
	bpf_link__destroy(self->link);
	fault_test_policy_bpf__destroy(self->skel);
	close(self->fault_fd);
	teardown_iommufd(self->fd, _metadata);
}

/*
 * The device leaves the HWPT of the fault object, which answers what waits
 * on it: the RID is moved to mock_hwpt, or the PASIDs are detached.
 */
static int leave_fault_hwpt(FIXTURE_DATA(policy) *self,
			    const FIXTURE_VARIANT(policy) *variant)
{
	if (variant->pasid_attach)
		return pasid_detach(self->fd, self->stdev_id, variant->pasid) ?:
		       pasid_detach(self->fd, self->stdev_id,
				    variant->pasid + 1);
	return _test_cmd_mock_domain_replace(self->fd, self->stdev_id,
					     self->mock_hwpt, NULL);
}

/* Load the steerable test policy for a fault fd; 0 or -errno */
static int test_policy_load(struct fault_test_policy_bpf **skelp, int fault_fd,
			    int verdict)
{
	struct fault_test_policy_bpf *skel = fault_test_policy_bpf__open();
	int err;

	if (!skel)
		return -errno;
	skel->struct_ops.test_ops->fault_fd = fault_fd;
	skel->bss->verdict = verdict;
	err = fault_test_policy_bpf__load(skel);
	if (err) {
		fault_test_policy_bpf__destroy(skel);
		return err;
	}
	*skelp = skel;
	return 0;
}

static int attach_test_policy(struct __test_metadata *_metadata,
			      FIXTURE_DATA(policy) *self, int verdict)
{
	int err = test_policy_load(&self->skel, self->fault_fd, verdict);

	if (err)
		return err;
	self->link = bpf_map__attach_struct_ops(self->skel->maps.test_ops);
	return self->link ? 0 : -errno;
}

static void detach_test_policy(FIXTURE_DATA(policy) *self)
{
	bpf_link__destroy(self->link);
	self->link = NULL;
}

/* The exit record, once the kernel has called the exit op (it may be late) */
static int wait_exit(int exit_fd, struct fault_policy_exit *rec)
{
	__u32 zero = 0;
	int i;

	for (i = 0; i < 400; i++) {
		if (bpf_map_lookup_elem(exit_fd, &zero, rec))
			return -errno;
		if (rec->kind)
			return 0;
		usleep(5000);
	}
	return -ETIMEDOUT;
}

TEST_F(policy, verdicts_exactly_once)
{
	static const int verdicts[] = { FAULT_SUCCESS, FAULT_INVALID, FAULT_DEFER };
	static const uint32_t sizes[] = { 1, 4 };
	uint32_t reported = 0, success = 0, invalid = 0;
	unsigned int v, s, i;

	for (v = 0; v < 3; v++) {
		for (s = 0; s < 2; s++) {
			const struct seen_ctx *last;
			uint64_t addr = 0x100000 * (1 + v * 2 + s);

			ASSERT_EQ(0, attach_test_policy(_metadata, self, verdicts[v]));
			for (i = 0; i < 6; i++)
				ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id,
						     variant->pasid, i, addr,
						     RW, sizes[s]));
			reported += 6;
			last = &self->skel->bss->last;
			EXPECT_EQ(6, self->skel->bss->calls);
			/* the context, field by field (the last group) */
			EXPECT_EQ(self->fault_id, last->fault_id);
			EXPECT_EQ(self->device_id, last->dev_id);
			EXPECT_EQ(self->hwpt_id, last->hwpt_id);
			EXPECT_EQ(variant->nested ? 0 : self->ioas_id, last->ioas_id);
			EXPECT_EQ(getpid(), last->owner_tgid);
			EXPECT_EQ(!!variant->pasid, last->pasid_valid);
			EXPECT_EQ(variant->pasid, last->pasid);
			EXPECT_EQ(5, last->grpid);
			EXPECT_EQ(sizes[s], last->nr_faults);
			EXPECT_EQ(RW, last->perm);
			EXPECT_EQ(addr, last->addr);
			EXPECT_EQ(sizes[s] * PAGE, last->length);

			/* a nested HWPT's SUCCESS is the guest's to give */
			if (verdicts[v] == FAULT_DEFER ||
			    (variant->nested && verdicts[v] == FAULT_SUCCESS)) {
				expect_ledger(reported, success, invalid, 6);
				/* the groups, and nothing else, wait on the fd */
				ASSERT_EQ(6, drain(self->fault_fd,
						   IOMMUFD_PAGE_RESP_SUCCESS));
				success += 6;
			} else {
				ASSERT_EQ(0, drain(self->fault_fd,
						   IOMMUFD_PAGE_RESP_SUCCESS));
				if (verdicts[v] == FAULT_SUCCESS)
					success += 6;
				else
					invalid += 6;
			}
			expect_ledger(reported, success, invalid, 0);
			detach_test_policy(self);
			fault_test_policy_bpf__destroy(self->skel);
			self->skel = NULL;
		}
	}
}

TEST_F(policy, bad_verdict_ejects_the_policy)
{
	static const int bad[] = { 3, -1, 0x7fffffff };
	struct fault_policy_exit rec;
	char want[64];
	unsigned int b;
	uint32_t reported = 0;

	for (b = 0; b < 3; b++) {
		ASSERT_EQ(0, attach_test_policy(_metadata, self, bad[b]));
		/* the group is deferred, the policy ejected */
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     1, 0x200000, RW, 2));
		ASSERT_EQ(0, wait_exit(bpf_map__fd(self->skel->maps.exit_rec), &rec));
		EXPECT_EQ(FAULT_EXIT_BAD_VERDICT, rec.kind);
		EXPECT_EQ(bad[b], rec.verdict);
		EXPECT_EQ(1, rec.groups);
		snprintf(want, sizeof(want), "handle_fault returned %d, not a verdict",
			 bad[b]);
		EXPECT_STREQ(want, rec.reason);
		/* ejected: later groups go to the fd without asking it */
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     2, 0x300000, RW, 1));
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     3, 0x300000, RW, 1));
		EXPECT_EQ(1, self->skel->bss->calls);
		reported += 3;
		EXPECT_EQ(3, drain(self->fault_fd, IOMMUFD_PAGE_RESP_INVALID));
		expect_ledger(reported, 0, reported, 0);
		detach_test_policy(self);
		fault_test_policy_bpf__destroy(self->skel);
		self->skel = NULL;
	}
}

TEST_F(policy, eject_kfunc_defers_and_reports)
{
	struct fault_policy_exit rec;
	int i;

	ASSERT_EQ(0, attach_test_policy(_metadata, self, FAULT_SUCCESS));
	self->skel->bss->eject_after = 3;
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     i, 0x400000, RW, 1));
	ASSERT_EQ(0, wait_exit(bpf_map__fd(self->skel->maps.exit_rec), &rec));
	EXPECT_EQ(FAULT_EXIT_ERROR, rec.kind);
	EXPECT_STREQ("test policy gave up", rec.reason);
	EXPECT_EQ(3, rec.groups);
	EXPECT_EQ(3, self->skel->bss->calls);
	if (variant->nested) {
		/* SUCCESS for a nested HWPT is deferred: all five on the fd */
		EXPECT_EQ(2, rec.clamped);
		expect_ledger(5, 0, 0, 5);
		EXPECT_EQ(5, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
	} else {
		/* two answered here; the ejecting call's SUCCESS not trusted */
		EXPECT_EQ(0, rec.clamped);
		expect_ledger(5, 2, 0, 3);
		EXPECT_EQ(3, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
	}
	expect_ledger(5, 5, 0, 0);
}

/* ---- what a policy may cost the other tenants of its IOMMU ------------- */

/* The budget of a handle_fault call, from the iommufd module parameter */
static unsigned int policy_budget_us(void)
{
	FILE *f = fopen("/sys/module/iommufd/parameters/fault_policy_budget_us", "r");
	unsigned int us = 0;

	if (f) {
		if (fscanf(f, "%u", &us) != 1)
			us = 0;
		fclose(f);
	}
	return us;
}

/*
 * A policy that stalls the page request path is ejected at its second slow
 * call in a row, whose verdict is not trusted, and never asked again:
 * later groups go to the fd at once. One slow call is forgiven (it may be
 * the host preempting the vCPU): its verdict stands.
 */
TEST_F(policy, stalling_policy_is_ejected)
{
	unsigned int budget = policy_budget_us();
	struct fault_policy_exit rec;
	char want[64];

	ASSERT_LT(0, budget) TH_LOG("no fault_policy_budget_us parameter");
	ASSERT_EQ(0, attach_test_policy(_metadata, self, FAULT_INVALID));
	/* fast calls are answered */
	ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid, 1,
			     0x100000, RW, 1));
	expect_ledger(1, 0, 1, 0);
	/* calls running 5 budgets: the first is forgiven, not the second */
	self->skel->bss->spin_ns = 5ULL * budget * 1000;
	ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid, 2,
			     0x100000, RW, 1));
	expect_ledger(2, 0, 2, 0);
	ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid, 3,
			     0x100000, RW, 1));
	ASSERT_EQ(0, wait_exit(bpf_map__fd(self->skel->maps.exit_rec), &rec));
	EXPECT_EQ(FAULT_EXIT_STALL, rec.kind);
	EXPECT_EQ(FAULT_INVALID, rec.verdict);
	EXPECT_EQ(3, rec.groups);
	snprintf(want, sizeof(want), "over its budget of %u us twice in a row",
		 budget);
	EXPECT_NE(NULL, strstr(rec.reason, want)) TH_LOG("reason: %s", rec.reason);
	EXPECT_NE(NULL, strstr(rec.reason, "handle_fault ran "));
	expect_ledger(3, 0, 2, 1);
	self->skel->bss->spin_ns = 0;
	ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid, 4,
			     0x100000, RW, 1));
	EXPECT_EQ(3, self->skel->bss->calls);
	EXPECT_EQ(2, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
	expect_ledger(4, 2, 2, 0);
}

/*
 * A device retries at once after SUCCESS. Played here: each SUCCESS is
 * followed by the same fault again, as a device would do for an address
 * that is not mapped. On a paging HWPT the policy is ejected at its 16th
 * SUCCESS in a row and the device's next request reaches the VMM, instead
 * of looping forever; on a nested HWPT SUCCESS is never given in the
 * kernel (the guest's vIOMMU must see its stage-1 faults) and every group
 * reaches the VMM at once.
 */
TEST_F(policy, success_for_unmapped_address_stops)
{
	const uint64_t addr = 0x1000000;	/* never mapped */
	struct fault_policy_exit rec;
	struct ledger l;
	uint32_t tries;

	ASSERT_EQ(0, attach_test_policy(_metadata, self, FAULT_SUCCESS));
	for (tries = 1; tries <= 1000; tries++) {
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     tries % 256, addr, RW, 1));
		ASSERT_EQ(0, read_ledger(self->fd, self->device_id, &l));
		if (l.pending)
			break;	/* not answered SUCCESS: the device stops */
	}
	if (variant->nested) {
		EXPECT_EQ(1, tries);
		expect_ledger(1, 0, 0, 1);
		detach_test_policy(self);
		ASSERT_EQ(0, wait_exit(bpf_map__fd(self->skel->maps.exit_rec), &rec));
		EXPECT_EQ(FAULT_EXIT_UNREG, rec.kind);
		EXPECT_EQ(1, rec.clamped);
	} else {
		EXPECT_EQ(16, tries);
		expect_ledger(16, 15, 0, 1);
		ASSERT_EQ(0, wait_exit(bpf_map__fd(self->skel->maps.exit_rec), &rec));
		EXPECT_EQ(FAULT_EXIT_RETRY_STORM, rec.kind);
		EXPECT_EQ(0, rec.clamped);
		EXPECT_NE(NULL, strstr(rec.reason, "answered SUCCESS 16 times in a row for 0x1000000"))
			TH_LOG("reason: %s", rec.reason);
	}
	EXPECT_EQ(1, drain(self->fault_fd, IOMMUFD_PAGE_RESP_INVALID));
}

/* ---- which fault object a policy serves, and who can see it ------------ */

/* The "policy:" value of a fault fd's fdinfo, in buf; 0 or -1 */
static int fdinfo_policy(int fd, char *buf, size_t len)
{
	char path[64], line[128];
	int rc = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "policy: %127s", buf) == 1 && strlen(buf) < len) {
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

/*
 * The fault fd is the one the map's writer gave: linked again by a child
 * whose table has another fault object at that fd number, the policy still
 * serves the writer's. The VMM sees which policy serves it in fdinfo.
 */
TEST_F(policy, fault_fd_named_where_given)
{
	int other_fd, gone_fd, status, map_fd;
	uint32_t other_id, gone_id;
	char name[128];
	pid_t child;
	int i;

	ASSERT_EQ(0, fdinfo_policy(self->fault_fd, name, sizeof(name)));
	EXPECT_STREQ("-", name);
	ASSERT_EQ(0, _test_ioctl_fault_alloc(self->fd, &other_id,
					     (uint32_t *)&other_fd));

	/* written (and linked once) here; the map keeps what it was given */
	ASSERT_EQ(0, attach_test_policy(_metadata, self, FAULT_INVALID));
	ASSERT_EQ(0, fdinfo_policy(self->fault_fd, name, sizeof(name)));
	EXPECT_STREQ("test", name);
	detach_test_policy(self);
	ASSERT_EQ(0, fdinfo_policy(self->fault_fd, name, sizeof(name)));
	EXPECT_STREQ("-", name);

	map_fd = bpf_map__fd(self->skel->maps.test_ops);
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		if (dup2(other_fd, self->fault_fd) < 0)
			_exit(2);
		if (bpf_link_create(map_fd, 0, BPF_STRUCT_OPS, NULL) < 0)
			_exit(3);
		pause();	/* the policy lives as long as its link */
		_exit(0);
	}
	for (i = 0; i < 2000; i++) {
		ASSERT_EQ(0, fdinfo_policy(self->fault_fd, name, sizeof(name)));
		if (strcmp(name, "-") || waitpid(child, &status, WNOHANG))
			break;
		usleep(1000);
	}
	EXPECT_STREQ("test", name);
	ASSERT_EQ(0, fdinfo_policy(other_fd, name, sizeof(name)));
	EXPECT_STREQ("-", name);
	ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid, 1,
			     0x100000, RW, 1));
	expect_ledger(1, 0, 1, 0);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("child exited %d", WEXITSTATUS(status));
	/* the link died with the child, and the VMM can tell */
	for (i = 0; i < 2000; i++) {
		ASSERT_EQ(0, fdinfo_policy(self->fault_fd, name, sizeof(name)));
		if (!strcmp(name, "-"))
			break;
		usleep(1000);
	}
	EXPECT_STREQ("-", name);
	fault_test_policy_bpf__destroy(self->skel);
	self->skel = NULL;
	close(other_fd);

	/* a fault object destroyed between writing the map and linking it */
	ASSERT_EQ(0, _test_ioctl_fault_alloc(self->fd, &gone_id,
					     (uint32_t *)&gone_fd));
	ASSERT_EQ(0, test_policy_load(&self->skel, gone_fd, FAULT_INVALID));
	self->link = bpf_map__attach_struct_ops(self->skel->maps.test_ops);
	ASSERT_NE(NULL, self->link);
	detach_test_policy(self);
	close(gone_fd);
	ASSERT_EQ(0, _test_ioctl_destroy(self->fd, gone_id));
	EXPECT_EQ(-ENOENT, bpf_link_create(bpf_map__fd(self->skel->maps.test_ops),
					   0, BPF_STRUCT_OPS, NULL));
}

TEST_F(policy, one_policy_per_fault_object)
{
	struct fault_test_policy_bpf *other = NULL;
	struct bpf_link *link;

	ASSERT_EQ(0, attach_test_policy(_metadata, self, FAULT_INVALID));
	ASSERT_EQ(0, test_policy_load(&other, self->fault_fd, FAULT_SUCCESS));
	link = bpf_map__attach_struct_ops(other->maps.test_ops);
	EXPECT_EQ(NULL, link);
	EXPECT_EQ(EBUSY, errno);
	/* the first still answers */
	ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid, 1,
			     0x100000, RW, 1));
	expect_ledger(1, 0, 1, 0);
	EXPECT_EQ(0, other->bss->calls);
	detach_test_policy(self);
	link = bpf_map__attach_struct_ops(other->maps.test_ops);
	ASSERT_NE(NULL, link);
	ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid, 1,
			     0x100000, RW, 1));
	if (variant->nested) {
		/* SUCCESS for a nested HWPT is the guest's: to the fd */
		expect_ledger(2, 0, 1, 1);
		EXPECT_EQ(1, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
	}
	expect_ledger(2, 1, 1, 0);
	bpf_link__destroy(link);
	fault_test_policy_bpf__destroy(other);
}

TEST_F(policy, attach_errors_change_nothing)
{
	struct fault_test_policy_bpf *skel = NULL;
	struct bpf_link *link;
	int devnull = open("/dev/null", O_RDWR);
	struct {
		int fd;
		int err;
	} cases[] = {
		{ devnull, EINVAL },	/* not a fault fd */
		{ self->fd, EINVAL },	/* the iommufd itself */
		{ 1000, EBADF },	/* not open */
		{ -1, EBADF },
	};
	unsigned int i;

	ASSERT_LE(0, devnull);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, test_policy_load(&skel, cases[i].fd, FAULT_SUCCESS));
		link = bpf_map__attach_struct_ops(skel->maps.test_ops);
		EXPECT_EQ(NULL, link);
		EXPECT_EQ(cases[i].err, errno);
		bpf_link__destroy(link);
		fault_test_policy_bpf__destroy(skel);
	}
	/* an empty name is refused when the struct_ops map is filled */
	{
		struct fault_policy fp = { 0 };
		size_t size;
		const void *elf = fault_test_policy_bpf__elf_bytes(&size);

		ASSERT_EQ(0, fault_policy_load_elf(&fp, elf, size,
						   self->fault_fd, ""));
		EXPECT_EQ(-EINVAL, fault_policy_attach(&fp));
		fault_policy_close(&fp);
	}
	close(devnull);

	/* no policy was left behind */
	ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid, 1,
			     0x100000, RW, 1));
	expect_ledger(1, 0, 0, 1);
	EXPECT_EQ(1, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
}

struct stream {
	int fd, fault_fd;
	uint32_t device_id, pasid, groups;
	volatile int stop, done;
};

static void *stream_faults(void *arg)
{
	struct stream *st = arg;
	uint32_t i;

	for (i = 0; !st->stop; i++)
		if (trigger_iopf(st->fd, st->device_id, st->pasid, i % 256,
			    0x100000 + (i % 64) * PAGE, RW, 1 + i % 3))
			break;
	st->groups = i;
	st->done = 1;
	return NULL;
}

static void *answer_faults(void *arg)
{
	struct stream *st = arg;

	while (!st->done)
		if (drain(st->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS) == 0)
			usleep(200);
	drain(st->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS);
	return NULL;
}

/* 20 policy loads: up to 2 s each on KASAN with the cores shared */
TEST_F_TIMEOUT(policy, attach_detach_while_faults_stream, 180)
{
	struct stream st = {
		.fd = self->fd, .fault_fd = self->fault_fd,
		.device_id = self->device_id, .pasid = variant->pasid,
	};
	pthread_t producer, consumer;
	struct ledger l;
	int cycles = 0;

	ASSERT_EQ(0, pthread_create(&producer, NULL, stream_faults, &st));
	ASSERT_EQ(0, pthread_create(&consumer, NULL, answer_faults, &st));
	for (cycles = 0; cycles < 20 && !st.done; cycles++) {
		ASSERT_EQ(0, attach_test_policy(_metadata, self,
						cycles % 2 ? FAULT_INVALID : FAULT_SUCCESS));
		usleep(1000 * (cycles % 5));
		detach_test_policy(self);
		fault_test_policy_bpf__destroy(self->skel);
		self->skel = NULL;
	}
	st.stop = 1;
	pthread_join(producer, NULL);
	pthread_join(consumer, NULL);
	drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS);
	ASSERT_EQ(0, read_ledger(self->fd, self->device_id, &l));
	TH_LOG("%d attach/detach cycles: %u groups, %u success %u invalid",
	       cycles, l.reported, l.success, l.invalid);
	EXPECT_EQ(st.groups, l.reported);
	EXPECT_EQ(l.reported, l.success + l.invalid);
	EXPECT_EQ(0, l.pending);
	EXPECT_EQ(0, l.failure);
	EXPECT_EQ(0, l.duplicates);
	EXPECT_EQ(0, l.orphans);
	EXPECT_EQ(20, cycles);
	/* policies answered some, the fd the others */
	EXPECT_LT(0, l.invalid);
}

/* Teardown in different orders while groups wait on the fault fd */
TEST_F(policy, teardown_policy_then_device)
{
	struct fault_policy_exit rec;
	int exit_fd, i;

	ASSERT_EQ(0, attach_test_policy(_metadata, self, FAULT_DEFER));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     i, 0x100000, RW, 2));
	exit_fd = bpf_map__fd(self->skel->maps.exit_rec);
	detach_test_policy(self);
	ASSERT_EQ(0, wait_exit(exit_fd, &rec));
	EXPECT_EQ(FAULT_EXIT_UNREG, rec.kind);
	EXPECT_EQ(4, rec.groups);
	expect_ledger(4, 0, 0, 4);
	/* leaving the HWPT answers what waits, once */
	ASSERT_EQ(0, leave_fault_hwpt(self, variant));
	expect_ledger(4, 0, 4, 0);
	EXPECT_EQ(0, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
}

TEST_F(policy, teardown_device_then_fault_then_policy)
{
	struct fault_policy_exit rec;
	int exit_fd, i;

	ASSERT_EQ(0, attach_test_policy(_metadata, self, FAULT_DEFER));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     i, 0x100000, RW, 1));
	ASSERT_EQ(0, leave_fault_hwpt(self, variant));
	expect_ledger(4, 0, 4, 0);
	/* the HWPT, then the fault object: the policy learns it is gone */
	ASSERT_EQ(0, _test_ioctl_destroy(self->fd, self->hwpt_id));
	close(self->fault_fd);
	self->fault_fd = -1;
	ASSERT_EQ(0, _test_ioctl_destroy(self->fd, self->fault_id));
	exit_fd = bpf_map__fd(self->skel->maps.exit_rec);
	ASSERT_EQ(0, wait_exit(exit_fd, &rec));
	EXPECT_EQ(FAULT_EXIT_FAULT_GONE, rec.kind);
	EXPECT_EQ(4, rec.groups);
	/* and unregistering it afterwards is harmless */
	detach_test_policy(self);
	expect_ledger(4, 0, 4, 0);
}

TEST_F(policy, teardown_everything_under_the_policy)
{
	struct fault_policy_exit rec;
	int exit_fd, i;

	ASSERT_EQ(0, attach_test_policy(_metadata, self, FAULT_DEFER));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     i, 0x100000, RW, 3));
	/* close the iommufd and the fault fd with groups pending */
	close(self->fault_fd);
	self->fault_fd = -1;
	close(self->fd);
	self->fd = -1;
	exit_fd = bpf_map__fd(self->skel->maps.exit_rec);
	ASSERT_EQ(0, wait_exit(exit_fd, &rec));
	EXPECT_EQ(FAULT_EXIT_FAULT_GONE, rec.kind);
	detach_test_policy(self);
	/* teardown_iommufd() needs an iommufd */
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
}

/*
 * fail-nth at every allocation of attaching (the struct_ops map update, the
 * link, the policy): each attempt either attaches a working policy or fails
 * leaving nothing attached; the last attempt meets no injection point.
 * About 25 attempts, each a policy load.
 */
TEST_F_TIMEOUT(policy, fail_nth_over_attach, 180)
{
	uint32_t reported = 0, success = 0, invalid = 0;
	int nthfd, nth, failed = 0, armed = 0;

	setup_fault_injection(_metadata);
	nthfd = fail_nth_open();
	ASSERT_LE(0, nthfd);
	for (nth = 1; nth < 1000 && !armed; nth++) {
		struct bpf_link *link;
		int err = 0;

		ASSERT_EQ(0, test_policy_load(&self->skel, self->fault_fd,
					      FAULT_INVALID));
		ASSERT_EQ(0, fail_nth_arm(nthfd, nth));
		link = bpf_map__attach_struct_ops(self->skel->maps.test_ops);
		if (!link)
			err = errno;
		armed = fail_nth_disarm(nthfd);

		/* a fault tells whether a policy is attached */
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     nth % 256, 0x100000, RW, 1));
		reported++;
		if (link) {
			invalid++;
			EXPECT_EQ(0, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
		} else {
			failed++;
			EXPECT_NE(0, err);
			EXPECT_EQ(1, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
			success++;
		}
		expect_ledger(reported, success, invalid, 0);
		bpf_link__destroy(link);
		fault_test_policy_bpf__destroy(self->skel);
		self->skel = NULL;
	}
	TH_LOG("%d attach attempts, %d failed by injection", nth - 1, failed);
	EXPECT_EQ(1, armed);
	EXPECT_LT(0, failed);
	close(nthfd);
}

/* ---- the policies of bpf/ ---------------------------------------------- */

static void load_policy(struct __test_metadata *_metadata, struct fault_policy *fp,
			const char *kind, int fault_fd,
			const struct fault_window_spec *w, unsigned int nr,
			const struct fault_storm_config *storm)
{
	const struct fault_policy_kind *k = fault_policy_find(kind);

	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, fault_policy_load(fp, k, fault_fd, kind));
	if (k->configure)
		ASSERT_EQ(0, k->configure(fp, w, nr, storm));
	ASSERT_EQ(0, fault_policy_attach(fp));
}

static void read_stats(struct __test_metadata *_metadata,
		       struct fault_policy *fp, __u64 *stats)
{
	ASSERT_EQ(0, percpu_counters_read(fp->stats_fd, stats, FAULT_STAT_MAX));
}

TEST_F(policy, resolve_if_mapped)
{
	struct fault_policy fp = { 0 };
	__u64 stats[FAULT_STAT_MAX];
	void *buf = mmap(NULL, 0x20000, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct {
		uint64_t addr;
		uint32_t perm, nr;
		bool answered;	/* SUCCESS in the kernel, else on the fd */
	} cases[] = {
		{ IOVA(0x400000), RW, 1, true },
		{ IOVA(0x40f000), RW, 1, true },		/* last page */
		{ IOVA(0x40e000), RW, 2, true },		/* group inside */
		{ IOVA(0x40f000), RW, 2, false },		/* runs past the end */
		{ IOVA(0x800000), IOMMU_PGFAULT_PERM_READ, 4, true },
		{ IOVA(0x800000), RW, 1, false },		/* read-only */
		{ IOVA(0x400000), IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_EXEC, 1, false },
		{ IOVA(0x1000000), RW, 1, false },		/* never mapped */
	};
	uint32_t reported = 0, success = 0, deferred = 0;
	__u64 iova;
	unsigned int i;

	ASSERT_NE(MAP_FAILED, buf);
	iova = IOVA(0x400000);
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, buf, 0x10000,
					  &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
					  IOMMU_IOAS_MAP_READABLE |
					  IOMMU_IOAS_MAP_WRITEABLE));
	iova = IOVA(0x800000);
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id,
					  buf + 0x10000, 0x10000, &iova,
					  IOMMU_IOAS_MAP_FIXED_IOVA |
					  IOMMU_IOAS_MAP_READABLE));
	load_policy(_metadata, &fp, "resolve", self->fault_fd, NULL, 0, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     i, cases[i].addr, cases[i].perm, cases[i].nr));
		reported++;
		if (cases[i].answered && !variant->nested) {
			success++;
			EXPECT_EQ(0, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
		} else {
			deferred++;
			EXPECT_EQ(1, drain(self->fault_fd, IOMMUFD_PAGE_RESP_INVALID));
		}
		expect_ledger(reported, success, deferred, 0);
	}
	/* unmapped a moment ago: no longer resolved */
	ASSERT_EQ(0, _test_ioctl_ioas_unmap(self->fd, self->ioas_id, IOVA(0x400000),
					    0x10000, NULL));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid, 9,
			     IOVA(0x400000), RW, 1));
	EXPECT_EQ(1, drain(self->fault_fd, IOMMUFD_PAGE_RESP_INVALID));
	expect_ledger(reported + 1, success, deferred + 1, 0);

	read_stats(_metadata, &fp, stats);
	EXPECT_EQ(reported + 1, stats[FAULT_STAT_GROUPS]);
	EXPECT_EQ(success, stats[FAULT_STAT_MAPPED]);
	EXPECT_EQ(success, stats[FAULT_STAT_SUCCESS]);
	if (variant->nested) {
		/* a nested HWPT's addresses are not IOVA of the IOAS */
		EXPECT_EQ(0, success);
		EXPECT_EQ(reported + 1, stats[FAULT_STAT_LOOKUP_ERROR]);
	} else {
		EXPECT_LT(0, success);
		/* EXEC is never reported mapped: it counts as unmapped */
		EXPECT_EQ(deferred + 1, stats[FAULT_STAT_UNMAPPED]);
		EXPECT_EQ(0, stats[FAULT_STAT_LOOKUP_ERROR]);
	}
	fault_policy_detach(&fp);
	fault_policy_close(&fp);
	munmap(buf, 0x20000);
}

TEST_F(policy, windows)
{
	struct fault_window_spec w[3];
	struct fault_policy fp = { 0 };
	__u64 stats[FAULT_STAT_MAX];
	char spec[64];
	struct {
		uint64_t addr;
		uint32_t nr;
		bool inside;
	} cases[] = {
		{ 0x100000, 1, true },
		{ 0x1ff000, 1, true },
		{ 0x1ff000, 2, false },	/* straddles the end */
		{ 0x0ff000, 1, false },
		{ 0x200000, 1, false },
		{ 0x4000000, 1, false },
		{ 0x800000, 4, true },	/* second window */
	};
	uint32_t reported = 0, success = 0, invalid = 0;
	unsigned int i;

	snprintf(spec, sizeof(spec), "%u@0x100000+1M", self->device_id);
	ASSERT_EQ(0, fault_parse_window(spec, &w[0]));
	snprintf(spec, sizeof(spec), "%u@0x800000+64K", self->device_id);
	ASSERT_EQ(0, fault_parse_window(spec, &w[1]));
	/* another device's window does not govern this one's PASID 7 */
	snprintf(spec, sizeof(spec), "%u.7@0+4G", self->device_id + 1000);
	ASSERT_EQ(0, fault_parse_window(spec, &w[2]));
	load_policy(_metadata, &fp, "windows", self->fault_fd, w, 3, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     i, cases[i].addr, RW, cases[i].nr));
		reported++;
		if (cases[i].inside) {
			EXPECT_EQ(1, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
			success++;
		} else {
			EXPECT_EQ(0, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
			invalid++;
		}
		expect_ledger(reported, success, invalid, 0);
	}
	read_stats(_metadata, &fp, stats);
	EXPECT_EQ(invalid, stats[FAULT_STAT_OUTSIDE]);
	EXPECT_EQ(invalid, stats[FAULT_STAT_INVALID]);
	EXPECT_EQ(success, stats[FAULT_STAT_DEFER]);
	fault_policy_detach(&fp);
	fault_policy_close(&fp);

	/* a window for this PASID only; others of the device ungoverned */
	if (variant->pasid) {
		snprintf(spec, sizeof(spec), "%u.%u@0x100000+4K",
			 self->device_id, variant->pasid);
		ASSERT_EQ(0, fault_parse_window(spec, &w[0]));
		memset(&fp, 0, sizeof(fp));
		load_policy(_metadata, &fp, "windows", self->fault_fd, w, 1, NULL);
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     1, 0x200000, RW, 1));
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid + 1,
				     2, 0x200000, RW, 1));
		EXPECT_EQ(1, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
		expect_ledger(reported + 2, success + 1, invalid + 1, 0);
		read_stats(_metadata, &fp, stats);
		EXPECT_EQ(1, stats[FAULT_STAT_UNGOVERNED]);
		fault_policy_detach(&fp);
		fault_policy_close(&fp);
	}
}

static int count_note(void *ctx, void *data, size_t size)
{
	struct fault_storm_note *last = ctx;

	memcpy(last, data, sizeof(*last));
	last->fault_id++;	/* reused as the number of notes seen */
	return 0;
}

TEST_F(policy, storm_guard)
{
	struct fault_storm_config cfg = {
		.rate_per_sec = 1, .burst = 3,
		.notify_interval_ns = 60ULL * 1000000000,
	};
	struct fault_policy fp = { 0 };
	struct fault_storm_note note = { 0 };
	__u64 stats[FAULT_STAT_MAX];
	struct ring_buffer *rb;
	int i;

	load_policy(_metadata, &fp, "storm", self->fault_fd, NULL, 0, &cfg);
	ASSERT_LE(0, fp.notes_fd);
	/* the bucket holds 3; the other 7 of the burst are refused at once */
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     i, 0x100000, RW, 1));
	EXPECT_EQ(3, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
	expect_ledger(10, 3, 7, 0);
	read_stats(_metadata, &fp, stats);
	EXPECT_EQ(7, stats[FAULT_STAT_OVER_BUDGET]);
	EXPECT_EQ(1, stats[FAULT_STAT_NOTIFIED]);

	rb = ring_buffer__new(fp.notes_fd, count_note, &note, NULL);
	ASSERT_NE(NULL, rb);
	ring_buffer__consume(rb);
	EXPECT_EQ(self->fault_id + 1, note.fault_id);	/* exactly one note */
	EXPECT_EQ(self->device_id, note.dev_id);
	EXPECT_EQ(variant->pasid ? variant->pasid : FAULT_PASID_NONE, note.pasid);
	EXPECT_EQ(getpid(), note.owner_tgid);
	EXPECT_EQ(1, note.over_total);
	ring_buffer__free(rb);
	fault_policy_detach(&fp);
	fault_policy_close(&fp);
}

/* ---- who may attach ----------------------------------------------------- */

/* Run attach in a child after fn(); its exit status is the errno it got */
static int attach_in_child(FIXTURE_DATA(policy) *self, int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct fault_test_policy_bpf *skel = NULL;
		struct bpf_link *link;
		int err;

		if (fn())
			_exit(100);
		err = test_policy_load(&skel, self->fault_fd, FAULT_SUCCESS);
		if (err)
			_exit(-err);
		link = bpf_map__attach_struct_ops(skel->maps.test_ops);
		_exit(link ? 0 : errno);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int drop_bpf_caps(void)
{
	static const cap_value_t drop[] = { CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN };
	cap_t caps = cap_get_proc();
	int err;

	if (!caps)
		return -1;
	err = cap_set_flag(caps, CAP_EFFECTIVE, 3, drop, CAP_CLEAR) ||
	      cap_set_flag(caps, CAP_PERMITTED, 3, drop, CAP_CLEAR) ||
	      cap_set_proc(caps);
	cap_free(caps);
	return err;
}

static int enter_user_namespace(void)
{
	return unshare(CLONE_NEWUSER);
}

TEST_F(policy, unprivileged_attach_refused)
{
	EXPECT_EQ(EPERM, attach_in_child(self, drop_bpf_caps));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid, 1,
			     0x100000, RW, 1));
	EXPECT_EQ(1, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
	expect_ledger(1, 1, 0, 0);
}

TEST_F(policy, user_namespace_attach_refused)
{
	EXPECT_EQ(EPERM, attach_in_child(self, enter_user_namespace));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid, 1,
			     0x100000, RW, 1));
	EXPECT_EQ(1, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
	expect_ledger(1, 1, 0, 0);
}

/*
 * The loader (iommufd-bpf fault attach resolve) killed at spread-out points
 * of its attach, many times: whatever it had done, no policy outlives it and
 * every fault is answered once.
 */
/* Start the loader on our fault fd; its stdout in *out; its pid */
static pid_t start_loader(int fault_fd, const char *window, int *out)
{
	char fdarg[16], pidarg[16];
	int pipefd[2];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -1;
	snprintf(fdarg, sizeof(fdarg), "%d", fault_fd);
	snprintf(pidarg, sizeof(pidarg), "%d", getpid());
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		execlp("iommufd-bpf", "iommufd-bpf", "fault", "attach",
		       "windows", "--pid", pidarg, "--fd", fdarg,
		       "--window", window, "-d", "60s", NULL);
		_exit(127);
	}
	close(pipefd[1]);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	*out = pipefd[0];
	return pid;
}

static bool said_attached(int out)
{
	char line[256] = "";
	ssize_t n = read(out, line, sizeof(line) - 1);

	return n > 0 && strstr(line, "attached");
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/*
 * 31 loaders, each loading the policy: about 20 s on a KASAN kernel, and
 * past the harness's default 30 s when the cores are shared
 */
TEST_F_TIMEOUT(policy, loader_killed_during_attach, 180)
{
	uint32_t reported = 0, success = 0;
	uint64_t attach_us = 0, t0;
	int i, out, status, attached = 0;
	char window[32];
	pid_t pid;

	/* a live policy would answer faults outside this window INVALID */
	snprintf(window, sizeof(window), "%u@0+4K", self->device_id);
	for (i = 0; i < 31; i++) {
		t0 = mono_us();
		pid = start_loader(self->fault_fd, window, &out);
		ASSERT_LT(0, pid);
		if (i == 0) {
			/* how long attaching takes on this machine */
			while (!said_attached(out) && mono_us() - t0 < 60000000)
				usleep(1000);
			attach_us = mono_us() - t0;
			ASSERT_GT(60000000, attach_us);
		} else {
			/* spread over 0 .. 1.5 attach times: before and after */
			usleep(attach_us * 3 / 2 * (i * 7 % 30) / 29);
		}
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSIGNALED(status));
		if (i > 0 && said_attached(out))
			attached++;
		close(out);

		/* whatever it had done, the fault reaches the fd */
		ASSERT_EQ(0, trigger_iopf(self->fd, self->device_id, variant->pasid,
				     i, 0x400000, RW, 1));
		reported++;
		ASSERT_EQ(1, drain(self->fault_fd, IOMMUFD_PAGE_RESP_SUCCESS));
		success++;
		expect_ledger(reported, success, 0, 0);
	}
	TH_LOG("attaching takes %llu ms; loader killed 30 times, %d of them after it had attached",
	       (unsigned long long)attach_us / 1000, attached);
	EXPECT_LT(0, attached);
	EXPECT_GT(30, attached);
}

/* ---- the verifier's rules ---------------------------------------------- */

static char vlog[64 * 1024];

/* Load obj (opened with the log buffer) and expect the verifier to say msg */
#define EXPECT_REJECTED(name, msg)					\
	({								\
		LIBBPF_OPTS(bpf_object_open_opts, _o,			\
			    .kernel_log_buf = vlog,			\
			    .kernel_log_size = sizeof(vlog),		\
			    .kernel_log_level = 1);			\
		struct name##_bpf *_s;					\
									\
		vlog[0] = 0;						\
		_s = name##_bpf__open_opts(&_o);			\
		ASSERT_NE(NULL, _s);					\
		EXPECT_NE(0, name##_bpf__load(_s));			\
		if (!strstr(vlog, msg))					\
			TH_LOG("verifier log of " #name ":\n%s", vlog);	\
		EXPECT_NE(NULL, strstr(vlog, msg));			\
		name##_bpf__destroy(_s);				\
	})

TEST(verifier_rejections)
{
	EXPECT_REJECTED(reject_kfunc_from_tracing,
			"calling kernel function bpf_iommufd_fault_iova_mapped is not allowed");
	EXPECT_REJECTED(reject_ctx_write, "only read is supported");
	EXPECT_REJECTED(reject_ctx_private_read,
			"access beyond struct iommufd_fault_ctx");
	EXPECT_REJECTED(reject_sleepable,
			"attach to unsupported member handle_fault of struct iommufd_fault_ops");
	EXPECT_REJECTED(reject_no_license,
			"struct ops programs must have a GPL compatible license");
}

TEST_HARNESS_MAIN
