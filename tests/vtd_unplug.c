// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hot-unplug of a device whose DMA faults, through the emulated VT-d: QEMU's
 * edu PCI device, no driver bound, in its default DMA domain, removed and
 * rescanned through sysfs while it DMAs from an IOVA nothing ever mapped.
 * Run in the 'vtd' VM profile.
 *
 * The DMA remapping fault interrupt, dmar_fault(), a hard IRQ, looks the
 * faulting device up by source id and uses it and its device_domain_info
 * (reports to its domain, traces its name). Releasing the device must wait
 * for such an interrupt before freeing them. One test makes that race
 * deterministic with tests/bpf/vtd_unplug.bpf.c; the others remove and
 * rescan the device in a loop under continuous faults, untraced and traced
 * by the tool.
 *
 * The device is driven through a /proc/bus/pci mapping of its BAR0: sysfs
 * resourceN mappings are revoked as soon as removal starts, this one is
 * not, so the device can still be told to DMA while the kernel removes it,
 * as real hardware might. The edu device is left bound to vfio-pci, as the
 * guest's init binds it, for the other vtd suites.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/pci.h>

#include "kselftest_harness.h"
#include "vtd_unplug.skel.h"
#include "edu.h"

#define EDU_DMA_LEN	64	/* within one page: one translation, one fault */
/*
 * Below edu's 28-bit DMA mask and far above anything the DMA API would map
 * for this device: without a driver nothing is mapped in its domain at all.
 * A read, so no memory is harmed whatever happens.
 */
#define IOVA_NEVER	0x0ff00000

#define PCI_SYSFS	"/sys/bus/pci"
#define TOOL_PATH	"/opt/iommufd-bpf/bin/iommufd-bpf"

#define MS		1000000ull

FIXTURE(unplug)
{
	char bdf[16];		/* 0000:00:03.0 */
	char dir[64];		/* /sys/bus/pci/devices/<bdf> */
	uint16_t sid;		/* bus << 8 | devfn */
	uint64_t bar_phys;
	volatile uint8_t *bar;
	uint16_t cmd_saved;
	bool taken;		/* unbound from vfio-pci: teardown rebinds */
	int irq, irq_cpu, other_cpu;
	struct vtd_unplug_bpf *skel;
	pthread_t pump;
	bool pump_running;
	volatile bool pump_quit;
	uint64_t pump_issued;	/* DMAs started */
	pid_t tool;		/* iommufd-bpf trace, while it runs */
	pid_t test_pid;		/* the process running the test */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Returns 0 or -errno */
static int sysfs_write(const char *path, const char *val)
{
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(val))
		err = -EIO;
	close(fd);
	return err;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int err = 0;

	buf[0] = 0;
	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		err = -EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return err;
}

static unsigned long read_hex(const char *dir, const char *file)
{
	char path[PATH_MAX], buf[32];

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return ~0ul;
	if (read_line(path, buf, sizeof(buf)))
		return ~0ul;
	return strtoul(buf, NULL, 16);
}

/* The edu device's PCI name, at most 15 characters ("0000:00:03.0") */
static bool find_edu(char bdf[16])
{
	struct dirent *d;
	bool found = false;
	char dir[320];
	DIR *dp;

	dp = opendir(PCI_SYSFS "/devices");
	if (!dp)
		return false;
	while (!found && (d = readdir(dp))) {
		if (d->d_name[0] == '.' || strlen(d->d_name) > 15)
			continue;
		snprintf(dir, sizeof(dir), PCI_SYSFS "/devices/%s", d->d_name);
		if (read_hex(dir, "vendor") == EDU_VENDOR &&
		    read_hex(dir, "device") == EDU_DEVICE) {
			memcpy(bdf, d->d_name, strlen(d->d_name) + 1);
			found = true;
		}
	}
	closedir(dp);
	return found;
}

/* The name of the driver bound to the device, "" if none */
static void driver_name(const char *dir, char *name, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/driver", dir);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		name[0] = 0;
		return;
	}
	target[n] = 0;
	snprintf(name, len, "%s", strrchr(target, '/') + 1);
}

static bool has_iommu_group(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/iommu_group", dir);
	return access(path, F_OK) == 0;
}

static uint64_t bar0_start(const char *dir)
{
	unsigned long long start = 0;
	char path[PATH_MAX], buf[128];

	snprintf(path, sizeof(path), "%s/resource", dir);
	if (read_line(path, buf, sizeof(buf)) ||
	    sscanf(buf, "%llx", &start) != 1)
		return 0;
	return start;
}

static int config_rw16(const char *dir, uint16_t *val, bool write)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/config", dir);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	if (write)
		n = pwrite(fd, val, 2, PCI_COMMAND);
	else
		n = pread(fd, val, 2, PCI_COMMAND);
	close(fd);
	return n == 2 ? 0 : -EIO;
}

/* Let the device decode its BAR and master the bus; no driver does it */
static int enable_device(const char *dir)
{
	uint16_t cmd;
	int err = config_rw16(dir, &cmd, false);

	if (err)
		return err;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	return config_rw16(dir, &cmd, true);
}

/* The IRQ of the DMAR fault interrupt ("dmar0") and the CPU it goes to */
static int dmar_fault_irq(int *cpu)
{
	char line[512], path[64], buf[64], *name;
	int irq = -1, n;
	FILE *f;

	f = fopen("/proc/interrupts", "r");
	if (!f)
		return -1;
	while (irq < 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		name = strrchr(line, ' ');
		if (!name || sscanf(line, " %d:", &n) != 1)
			continue;
		name++;
		if (!strncmp(name, "dmar", 4) && name[4] &&
		    strspn(name + 4, "0123456789") == strlen(name + 4))
			irq = n;
	}
	fclose(f);
	if (irq < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/irq/%d/effective_affinity_list", irq);
	if (read_line(path, buf, sizeof(buf)) || sscanf(buf, "%d", cpu) != 1)
		return -1;
	return irq;
}

static void edu_write(FIXTURE_DATA(unplug) *self, uint32_t reg, uint64_t val)
{
	*(volatile uint64_t *)(self->bar + reg) = val;
}

static uint64_t edu_read(FIXTURE_DATA(unplug) *self, uint32_t reg)
{
	return *(volatile uint64_t *)(self->bar + reg);
}

static void edu_dma_start(FIXTURE_DATA(unplug) *self, uint64_t iova)
{
	edu_write(self, EDU_DMA_SRC, iova);
	edu_write(self, EDU_DMA_DST, EDU_BUF_ADDR);
	edu_write(self, EDU_DMA_COUNT, EDU_DMA_LEN);
	edu_write(self, EDU_DMA_CMD, EDU_CMD_START);
}

static bool edu_wait_idle(FIXTURE_DATA(unplug) *self)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (!(edu_read(self, EDU_DMA_CMD) & EDU_CMD_START))
			return true;
		usleep(5000);
	}
	return false;
}

/* Rescan the bus; true once the device is back with an IOMMU group */
static bool rescan(FIXTURE_DATA(unplug) *self)
{
	int i;

	if (sysfs_write(PCI_SYSFS "/rescan", "1"))
		return false;
	for (i = 0; i < 500; i++) {
		if (has_iommu_group(self->dir))
			return true;
		usleep(10000);
	}
	return false;
}

FIXTURE_SETUP(unplug)
{
	unsigned int dom, bus, slot, fn;

	self->test_pid = getpid();
	if (!find_edu(self->bdf))
		SKIP(return, "no QEMU edu PCI device (%04x:%04x): run in the vtd profile",
		     EDU_VENDOR, EDU_DEVICE);
	snprintf(self->dir, sizeof(self->dir), PCI_SYSFS "/devices/%s", self->bdf);
	if (!has_iommu_group(self->dir))
		SKIP(return, "%s has no IOMMU group: no VT-d (intel_iommu=on)", self->bdf);
	ASSERT_EQ(4, sscanf(self->bdf, "%x:%x:%x.%x", &dom, &bus, &slot, &fn));
	self->sid = bus << 8 | slot << 3 | fn;
	self->irq = dmar_fault_irq(&self->irq_cpu);
	ASSERT_LE(0, self->irq) TH_LOG("no DMAR fault interrupt in /proc/interrupts");
	self->other_cpu = self->irq_cpu ? 0 : 1;

	self->skel = vtd_unplug_bpf__open();
	ASSERT_NE(NULL, self->skel);
	self->skel->rodata->target_sid = self->sid;
	ASSERT_EQ(0, vtd_unplug_bpf__load(self->skel));
	ASSERT_EQ(0, vtd_unplug_bpf__attach(self->skel));
}

static bool edu_decodes(FIXTURE_DATA(unplug) *self)
{
	uint32_t ident = *(volatile uint32_t *)(self->bar + EDU_IDENT);

	return (ident & 0xff0000ff) == 0x010000ed;
}

/*
 * Map BAR0 where it is now: a rescan may move it (the kernel gives the
 * BAR an address of its own the first time the firmware's is released).
 */
static void map_bar(struct __test_metadata *_metadata,
		    FIXTURE_DATA(unplug) *self)
{
	char path[64];
	void *bar;
	int fd;

	if (self->bar)
		munmap((void *)self->bar, 4096);
	self->bar = NULL;
	self->bar_phys = bar0_start(self->dir);
	ASSERT_NE(0, self->bar_phys);
	snprintf(path, sizeof(path), "/proc/bus/pci/%.2s/%s", self->bdf + 5, self->bdf + 8);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ(0, ioctl(fd, PCIIOC_MMAP_IS_MEM));
	bar = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, self->bar_phys);
	close(fd);
	ASSERT_NE(MAP_FAILED, bar) TH_LOG("mmap BAR0 through %s: %s", path, strerror(errno));
	self->bar = bar;
	ASSERT_TRUE(edu_decodes(self)) TH_LOG("no edu registers at 0x%llx",
					      (unsigned long long)self->bar_phys);
}

/*
 * Take the device from vfio-pci (the guest's init binds it there), enable
 * it, and map its registers. Removing a vfio-bound device would block until
 * its user let go; unbound, nothing holds it.
 */
static void take_device(struct __test_metadata *_metadata,
			FIXTURE_DATA(unplug) *self)
{
	char path[PATH_MAX], drv[64];

	self->taken = true;
	driver_name(self->dir, drv, sizeof(drv));
	if (drv[0]) {
		snprintf(path, sizeof(path), "%s/driver/unbind", self->dir);
		ASSERT_EQ(0, sysfs_write(path, self->bdf)) TH_LOG("unbind %s from %s", self->bdf, drv);
	}
	ASSERT_EQ(0, config_rw16(self->dir, &self->cmd_saved, false));
	ASSERT_EQ(0, enable_device(self->dir));
	map_bar(_metadata, self);
	ASSERT_TRUE(edu_wait_idle(self));
}

/*
 * Keep the device DMAing from never-mapped IOVA, whatever the kernel does.
 * While the BAR is not decoded (a rescan sizing it) reads return no ident.
 */
static void *pump_fn(void *arg)
{
	FIXTURE_DATA(unplug) *self = arg;

	while (!self->pump_quit) {
		if (edu_decodes(self) &&
		    !(edu_read(self, EDU_DMA_CMD) & EDU_CMD_START)) {
			edu_dma_start(self, IOVA_NEVER + (self->pump_issued % 16) * 0x1000);
			self->pump_issued++;
		}
		usleep(2000);
	}
	return NULL;
}

static void pump_start(struct __test_metadata *_metadata,
		       FIXTURE_DATA(unplug) *self)
{
	self->pump_quit = false;
	ASSERT_EQ(0, pthread_create(&self->pump, NULL, pump_fn, self));
	self->pump_running = true;
}

static void pump_stop(FIXTURE_DATA(unplug) *self)
{
	if (!self->pump_running)
		return;
	self->pump_quit = true;
	pthread_join(self->pump, NULL);
	self->pump_running = false;
}

/*
 * In the parent, after the test process ended: a failed ASSERT longjmps out
 * of the test with this harness, and then a child-side teardown would not
 * run, leaving the device removed or unbound for the other suites. The
 * test process's own resources (BPF links, pump thread, BAR mapping) end
 * with it; only when the harness runs this in the test process itself are
 * they released here.
 */
FIXTURE_TEARDOWN_PARENT(unplug)
{
	char path[PATH_MAX], drv[64];

	/*
	 * A failed ASSERT longjmps out of the harness's handler loop before it
	 * clears its trigger: clear it, or the first check below would log as
	 * failed whatever its outcome.
	 */
	_metadata->trigger = 0;
	if (getpid() == self->test_pid) {
		pump_stop(self);
		vtd_unplug_bpf__destroy(self->skel);
		if (self->bar)
			munmap((void *)self->bar, 4096);
	}
	/* Not reaped if the test process was its parent: it is gone anyway */
	if (self->tool > 0) {
		kill(self->tool, SIGKILL);
		waitpid(self->tool, NULL, 0);
	}
	if (!self->taken)
		return;
	if (access(self->dir, F_OK))
		EXPECT_TRUE(rescan(self)) TH_LOG("%s did not come back", self->bdf);
	/* Back as the guest's init left it, for the other vtd suites */
	EXPECT_EQ(0, config_rw16(self->dir, &self->cmd_saved, true));
	snprintf(path, sizeof(path), "%s/driver_override", self->dir);
	EXPECT_EQ(0, sysfs_write(path, "vfio-pci"));
	driver_name(self->dir, drv, sizeof(drv));
	if (!drv[0])
		EXPECT_EQ(0, sysfs_write(PCI_SYSFS "/drivers_probe", self->bdf));
	driver_name(self->dir, drv, sizeof(drv));
	EXPECT_STREQ("vfio-pci", drv);
}

struct remover {
	const char *path;
	int cpu;
	int err;	/* positive errno */
};

static void *remover_fn(void *arg)
{
	struct remover *r = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	r->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (!r->err)
		r->err = -sysfs_write(r->path, "1");
	return NULL;
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * The lifetime rule, deterministically. Removal moves the device to the
 * blocking domain (its DMA now faults: context entry cleared), then calls
 * intel_iommu_release_device(), which the BPF program holds at its entry.
 * The device is then told to DMA; the fault interrupt, on another CPU, finds
 * it in the IOMMU's rbtree and the BPF program keeps it there for 300 ms,
 * as if dmar_fault() were slow to use the device and its info. The hold
 * ends as soon as the interrupt has the device: release must now wait for
 * the interrupt before it frees what the interrupt uses.
 */
TEST_F_TIMEOUT(unplug, release_waits_for_fault_interrupt, 60)
{
	struct vtd_unplug_bpf__bss *bss = self->skel->bss;
	struct remover r = { 0 };
	char path[PATH_MAX];
	pthread_t thread;
	int i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs: the fault interrupt and the release run side by side");
	take_device(_metadata, self);

	/* This thread where the fault interrupt goes, release on another CPU */
	pin_self(self->irq_cpu);
	snprintf(path, sizeof(path), "%s/remove", self->dir);
	r.path = path;
	r.cpu = self->other_cpu;
	bss->armed = 1;
	ASSERT_EQ(0, pthread_create(&thread, NULL, remover_fn, &r));
	for (i = 0; i < 500 && !bss->release_entered_ns; i++)
		usleep(10000);
	if (bss->release_entered_ns)
		edu_dma_start(self, IOVA_NEVER);
	pthread_join(thread, NULL);
	bss->armed = 0;

	ASSERT_EQ(0, r.err) TH_LOG("writing %s: %s", path, strerror(r.err));
	ASSERT_NE(0, bss->release_entered_ns)
		TH_LOG("intel_iommu_release_device(%s) was never called", self->bdf);
	ASSERT_EQ(0, bss->hold_timed_out)
		TH_LOG("no fault interrupt found %s in the rbtree while its release waited (%llu fault records of sid %04x, %llu without device)",
		       self->bdf, bss->faults, self->sid, bss->faults_nodev);
	ASSERT_EQ(bss->release_dev, bss->spin_dev)
		TH_LOG("the fault interrupt held another device than the one released");
	ASSERT_NE(bss->release_cpu, bss->spin_cpu)
		TH_LOG("the fault interrupt ran on the CPU releasing the device (%u): nothing to tell",
		       bss->spin_cpu);
	ASSERT_NE(0, bss->released_ns);
	TH_LOG("release entered, fault interrupt (reason 0x%02x) held %s from +%.1f to +%.1f ms, release returned at +%.1f ms",
	       bss->spin_reason, self->bdf,
	       (bss->spin_start_ns - bss->release_entered_ns) / 1e6,
	       (bss->spin_end_ns - bss->release_entered_ns) / 1e6,
	       (bss->released_ns - bss->release_entered_ns) / 1e6);
	EXPECT_EQ(0, bss->released_during_spin)
		TH_LOG("intel_iommu_release_device(%s) returned %.1f ms into a %.1f ms dmar_fault interrupt that had found the device with device_rbtree_find() and was still using it: release must wait for the fault interrupt",
		       self->bdf, (bss->released_ns - bss->spin_start_ns) / 1e6,
		       (bss->spin_end_ns - bss->spin_start_ns) / 1e6);

	ASSERT_NE(0, access(self->dir, F_OK)) TH_LOG("%s still there after remove", self->bdf);
	ASSERT_EQ(ENOENT, errno);
	ASSERT_TRUE(rescan(self)) TH_LOG("%s did not come back on rescan", self->bdf);
}

/*
 * Remove and rescan the device @iterations times (within @budget_s) while it
 * faults continuously. Each round the device must go, fault while gone
 * (dmar_fault() then finds no device for its source id), and come back.
 * The remove starts at a random point of the device's 100 ms DMA cycle, so
 * over the rounds its faults hit every step of the removal. Returns the
 * fault records counted meanwhile.
 */
static uint64_t unplug_loop(struct __test_metadata *_metadata,
			    FIXTURE_DATA(unplug) *self,
			    unsigned int iterations, unsigned int budget_s)
{
	struct vtd_unplug_bpf__bss *bss = self->skel->bss;
	uint64_t start = now_ns(), f0, gone0, faults;
	unsigned int i, seed = now_ns();
	char path[PATH_MAX];
	int t;

	snprintf(path, sizeof(path), "%s/remove", self->dir);
	bss->faults = 0;
	bss->faults_nodev = 0;
	self->pump_issued = 0;
	pump_start(_metadata, self);

	for (i = 0; i < iterations; i++) {
		ASSERT_GT(start + budget_s * 1000 * MS, now_ns())
			TH_LOG("only %u of %u rounds in %u s", i, iterations, budget_s);
		usleep(rand_r(&seed) % 100000);
		f0 = bss->faults;
		ASSERT_EQ(0, sysfs_write(path, "1")) TH_LOG("round %u: remove", i);
		ASSERT_NE(0, access(self->dir, F_OK))
			TH_LOG("round %u: %s still there after remove", i, self->bdf);
		/* edu runs one DMA per 100 ms: one faults within two cycles */
		gone0 = bss->faults_nodev;
		for (t = 0; t < 150 && bss->faults_nodev == gone0; t++)
			usleep(10000);
		ASSERT_LT(gone0, bss->faults_nodev)
			TH_LOG("round %u: no fault of the removed device (%llu faults this round)",
			       i, (unsigned long long)(bss->faults - f0));
		ASSERT_TRUE(rescan(self)) TH_LOG("round %u: %s did not come back", i, self->bdf);
		ASSERT_EQ(0, enable_device(self->dir));
		if (bar0_start(self->dir) != self->bar_phys) {
			pump_stop(self);
			map_bar(_metadata, self);
			pump_start(_metadata, self);
		}
	}

	pump_stop(self);
	/* Let the last DMA fault and its interrupt finish */
	ASSERT_TRUE(edu_wait_idle(self));
	usleep(200000);
	faults = bss->faults;
	TH_LOG("%u remove/rescan rounds in %.1f s: %llu DMAs started, %llu fault records, %llu of them while the device was gone",
	       iterations, (now_ns() - start) / 1e9,
	       (unsigned long long)self->pump_issued, (unsigned long long)faults,
	       (unsigned long long)bss->faults_nodev);
	ASSERT_LE(iterations, bss->faults_nodev);
	return faults;
}

#define ROUNDS		30
#define ROUNDS_BUDGET_S	150

TEST_F_TIMEOUT(unplug, remove_rescan_while_faulting, 200)
{
	take_device(_metadata, self);
	unplug_loop(_metadata, self, ROUNDS, ROUNDS_BUDGET_S);
}

/* Lines of @path containing both @a and @b */
static unsigned int count_lines(const char *path, const char *a, const char *b)
{
	unsigned int n = 0;
	char line[4096];
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, a) && strstr(line, b))
			n++;
	fclose(f);
	return n;
}

/*
 * The same with 'iommufd-bpf trace --faults' streaming the faults: its
 * dmar_fault program reads the device's name in the interrupt too. It must
 * see every fault record the test counts and exit 0 on SIGINT.
 */
TEST_F_TIMEOUT(unplug, remove_rescan_while_faulting_traced, 260)
{
	const char *tool = getenv("TOOL") ?: TOOL_PATH;
	char out[] = "/tmp/vtd_unplug.out.XXXXXX";
	char err[] = "/tmp/vtd_unplug.err.XXXXXX";
	char sid[32];
	uint64_t faults;
	int fo, fe, i, status = 0;
	unsigned int seen;
	pid_t pid;

	take_device(_metadata, self);
	fo = mkstemp(out);
	fe = mkstemp(err);
	ASSERT_LE(0, fo);
	ASSERT_LE(0, fe);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		dup2(fo, 1);
		dup2(fe, 2);
		execl(tool, tool, "trace", "--faults", "--json", (char *)NULL);
		_exit(127);
	}
	self->tool = pid;
	close(fo);
	close(fe);
	for (i = 0; i < 600 && !count_lines(err, "Tracing", ""); i++) {
		ASSERT_EQ(0, waitpid(pid, &status, WNOHANG))
			TH_LOG("%s exited before tracing (status 0x%x)", tool, status);
		usleep(100000);
	}
	ASSERT_NE(0, count_lines(err, "Tracing", "")) TH_LOG("%s did not start tracing", tool);

	faults = unplug_loop(_metadata, self, ROUNDS, ROUNDS_BUDGET_S);

	kill(pid, SIGINT);
	for (i = 0; i < 300 && !waitpid(pid, &status, WNOHANG); i++)
		usleep(100000);
	ASSERT_LT(i, 300) TH_LOG("%s did not exit on SIGINT", tool);
	self->tool = 0;
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("%s: status 0x%x", tool, status);
	ASSERT_EQ(0, WEXITSTATUS(status));

	snprintf(sid, sizeof(sid), "\"source_id\":%u,", self->sid);
	seen = count_lines(out, "\"event\":\"dma_fault\"", sid);
	TH_LOG("the tool streamed %u of %llu fault records", seen, (unsigned long long)faults);
	ASSERT_EQ(faults, seen);
	ASSERT_EQ(1, count_lines(out, "{\"event\":\"summary\"", "\"dropped\":0,"));
	unlink(out);
	unlink(err);
}

TEST_HARNESS_MAIN
