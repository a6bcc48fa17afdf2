# iommufd-bpf: the kernel series, BPF programs, tools and tests, built and
# run in a QEMU guest. 'make help' lists the targets.
#
# Everything is built under build/. 'make V=1' shows the commands.

BUILD      := build
FLAVOR     ?= debug
KOBJ       := $(BUILD)/kernel-$(FLAVOR)
VMLINUX    := $(KOBJ)/vmlinux
UAPI       := $(BUILD)/uapi-$(FLAVOR)/include
TC         := $(BUILD)/toolchain
BPFTOOL    := $(TC)/bpftool/bpftool
LIBBPF     := $(TC)/libbpf/libbpf.a
VMLINUX_H  := $(TC)/vmlinux.h
SELFTESTS  := $(BUILD)/linux/tools/testing/selftests
# The selftest mock's ioctls (the series changes them)
MOCK_UAPI  := $(BUILD)/linux/drivers/iommu/iommufd/iommufd_test.h

CLANG      ?= clang-19
CC         := gcc
# Static binaries: the guest is busybox and nothing else.
CFLAGS     := -g -O2 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE \
	      -I$(TC)/include -I$(BUILD)/bpf -Ibpf -Iuserspace
LDFLAGS    := -static
LDLIBS     := $(LIBBPF) -lelf -lz -lcap
BPF_CFLAGS := -g -O2 -Wall -target bpf -D__TARGET_ARCH_x86 \
	      -I$(TC)/include -I$(TC) -Ibpf
# Every compile writes a depfile (foo.o -> foo.d) naming the headers it
# read; they are included at the end, so editing a header rebuilds what
# includes it. -MP: a header deleted since does not break the build.
DEPFLAGS   := -MMD -MP
OBJ        := $(BUILD)/obj

ifeq ($(V),1)
Q :=
else
Q := @
endif
msg = @printf '  %-8s %s\n' "$(1)" "$(2)"

BPF_PROGS := iommufd_trace iommufd_stats iommufd_dirty fault_windows fault_storm fault_resolve
BPF_OBJS  := $(BPF_PROGS:%=$(BUILD)/bpf/%.bpf.o)
BPF_SKELS := $(BPF_PROGS:%=$(BUILD)/bpf/%.skel.h)
# BPF programs only the tests load (a steerable policy, verifier rejections)
TEST_BPF_PROGS := fault_test_policy fault_latency reject_kfunc_from_tracing \
		  reject_ctx_write reject_ctx_private_read reject_sleepable \
		  reject_no_license empty_hooks vtd_unplug
TEST_BPF_OBJS  := $(TEST_BPF_PROGS:%=$(BUILD)/bpf/tests/%.bpf.o)
TEST_BPF_SKELS := $(TEST_BPF_PROGS:%=$(BUILD)/bpf/tests/%.skel.h)

TOOL_SRCS := userspace/iommufd-bpf.c userspace/trace.c userspace/common.c \
	     userspace/event_format.c userspace/dirty.c \
	     userspace/dirty_forecast.c userspace/forecast.c \
	     userspace/fault.c userspace/fault_policies.c \
	     userspace/stats.c userspace/stats_rows.c userspace/top.c \
	     userspace/hist.c \
	     userspace/metrics.c userspace/exposition.c \
	     userspace/scrape_server.c userspace/json_writer.c \
	     userspace/kernel_features.c userspace/trace_sources.c \
	     userspace/stats_sources.c \
	     userspace/probe.c
TOOL_OBJS := $(TOOL_SRCS:%.c=$(OBJ)/%.o)
TOOL      := $(BUILD)/bin/iommufd-bpf

# Guest programs: build/tests/NAME from tests/NAME.c, and
# build/tests/bench_NAME from tests/bench/NAME.c
TEST_PROGS  := trace_events trace_fallback pasid_attach vtd_edu vtd_unplug iommufd_workload run_unprivileged \
	       edu_workload \
	       dirty_harvest dirty_vmm fault_ledger fault_policy iopf_vmm \
	       context_churn stats_key_range stats_slots
BENCH_PROGS := trace_overhead dirty_harvest fault_latency iotlb_overhead
TEST_BINS   := $(TEST_PROGS:%=$(BUILD)/tests/%) $(BENCH_PROGS:%=$(BUILD)/tests/bench_%)
# Objects several test programs link (tests/NAME.c)
TEST_LIB_OBJS := $(OBJ)/tests/mock_device.o $(OBJ)/tests/dirty_model.o
TEST_OBJS   := $(TEST_PROGS:%=$(OBJ)/tests/%.o) $(BENCH_PROGS:%=$(OBJ)/tests/bench/%.o) \
	       $(TEST_LIB_OBJS)
UPSTREAM_TESTS := $(BUILD)/tests/upstream/iommufd $(BUILD)/tests/upstream/iommufd_fail_nth
TEST_SCRIPTS := $(wildcard tests/*.sh)
# Benchmarks written in shell: tests/bench/NAME.sh runs as tests/bench_NAME.sh
BENCH_SCRIPTS := $(wildcard tests/bench/*.sh)

INITRAMFS := $(BUILD)/vm/initramfs.cpio.gz

.PHONY: all help deps kernel kernel-modular kernel-stock toolchain programs check check-kasan \
	demo bench checkpatch clean distclean

all: programs

help:
	@echo "make programs     build kernel, toolchain, tool, tests and initramfs"
	@echo "make check        build everything, boot the VM, run every test"
	@echo "make check-kasan  the same tests on a KASAN kernel (slower; FLAVOR=kasan)"
	@echo "make demo         build everything, boot the VM, trace live iommufd activity"
	@echo "make bench        benchmarks (JSON in build/bench/results.json)"
	@echo "make checkpatch   checkpatch.pl over kernel/patches; each fix applies alone"
	@echo "make kernel-modular  build the series with iommufd and VFIO as modules"
	@echo "make kernel-stock build the kernel without the series (make check boots it)"
	@echo "make clean        remove build/ products except the kernel tree"
	@echo "make distclean    remove build/ entirely"
	@echo "Variables: FLAVOR=debug|bench|kasan (kernel build), V=1 (show commands)"

deps:
	$(Q)tools/install-deps.sh

# The scripts are incremental themselves (kbuild, stamps), so always ask them.
kernel: deps
	$(Q)V=$(V) tools/kernel-build.sh $(FLAVOR)
	$(Q)$(MAKE) -s -C $(BUILD)/linux O=$(abspath $(KOBJ)) \
		INSTALL_HDR_PATH=$(abspath $(BUILD)/uapi-$(FLAVOR)) headers_install

# The series with iommufd and VFIO as modules, as distributions build them:
# exports, module BTF and Kconfig must hold there too. Build only.
kernel-modular: deps
	$(Q)V=$(V) tools/kernel-build.sh modular

# The same configuration without the series, in a tree of its own: the
# fallback's tests boot it (about 15 minutes cold, like the others)
kernel-stock: deps
	$(Q)V=$(V) tools/kernel-build.sh stock

toolchain: kernel
	$(Q)V=$(V) tools/bpf-toolchain.sh --vmlinux $(VMLINUX)

# Everything that runs in the guest, once the kernel and toolchain exist.
programs: toolchain
	$(Q)$(MAKE) -s --no-print-directory $(TOOL) $(TEST_BINS) $(UPSTREAM_TESTS) $(INITRAMFS)

# Keep BPF objects and skeletons: intermediate (for the skeletons, for the
# objects that include them), not temporary.
.SECONDARY: $(BPF_OBJS) $(TEST_BPF_OBJS) $(BPF_SKELS) $(TEST_BPF_SKELS)

$(VMLINUX_H) $(LIBBPF) $(BPFTOOL):
	@echo "error: $@ is missing: run 'make toolchain' (it needs the kernel built)" >&2
	@false

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/bpf/tests/%.bpf.o: tests/bpf/%.bpf.c $(VMLINUX_H)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o $(BPFTOOL)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# Our guest tests use the kselftest harness and the upstream iommufd helpers
# (the harness's setjmp trips -Wclobbered).
TEST_CFLAGS := $(CFLAGS) -Wno-sign-compare -Wno-missing-field-initializers \
	       -Wno-clobbered -Wno-unused-function -isystem $(UAPI) -I$(SELFTESTS) \
	       -I$(SELFTESTS)/iommu -I$(BUILD)/linux/drivers/iommu/iommufd -Itests \
	       -I$(BUILD)/bpf/tests

# Headers the build generates must exist before the first compile, when no
# depfile says who includes them yet: order-only, the depfiles then name
# the ones each object really includes.
$(OBJ)/userspace/%.o: userspace/%.c | $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -isystem $(UAPI) $(DEPFLAGS) -c $< -o $@

$(OBJ)/tests/%.o: tests/%.c | $(BPF_SKELS) $(TEST_BPF_SKELS) $(MOCK_UAPI)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(TEST_CFLAGS) $(DEPFLAGS) -c $< -o $@

# Static archives give a program only what it calls: every link can name
# libbpf, libelf, libz and libcap.
define link
$(call msg,LD,$@)
$(Q)mkdir -p $(@D)
$(Q)$(CC) $(LDFLAGS) $(filter %.o,$^) $(LDLIBS) -lpthread -o $@
endef

$(TOOL): $(TOOL_OBJS) $(LIBBPF)
	$(link)

$(TEST_PROGS:%=$(BUILD)/tests/%): $(BUILD)/tests/%: $(OBJ)/tests/%.o $(LIBBPF)
	$(link)

$(BENCH_PROGS:%=$(BUILD)/tests/bench_%): $(BUILD)/tests/bench_%: $(OBJ)/tests/bench/%.o $(LIBBPF)
	$(link)

# What test programs link besides their own object
# (trace_capture.h reads the tracer's accounting through trace_sources.o)
$(BUILD)/tests/trace_events $(BUILD)/tests/trace_fallback $(BUILD)/tests/pasid_attach \
		$(BUILD)/tests/vtd_edu $(BUILD)/tests/bench_trace_overhead: \
		$(OBJ)/userspace/event_format.o $(OBJ)/userspace/json_writer.o \
		$(OBJ)/userspace/kernel_features.o $(OBJ)/userspace/trace_sources.o
$(BUILD)/tests/bench_trace_overhead $(BUILD)/tests/stats_key_range: \
		$(OBJ)/userspace/stats_sources.o
$(BUILD)/tests/stats_key_range: $(OBJ)/userspace/kernel_features.o
$(BUILD)/tests/stats_slots: $(OBJ)/userspace/stats.o \
		$(OBJ)/userspace/stats_rows.o $(OBJ)/userspace/common.o \
		$(OBJ)/userspace/kernel_features.o $(OBJ)/userspace/stats_sources.o
$(BUILD)/tests/dirty_harvest $(BUILD)/tests/bench_dirty_harvest: $(OBJ)/tests/mock_device.o
$(BUILD)/tests/dirty_vmm: $(OBJ)/tests/mock_device.o $(OBJ)/tests/dirty_model.o \
		$(OBJ)/userspace/common.o $(OBJ)/userspace/json_writer.o
$(BUILD)/tests/fault_policy $(BUILD)/tests/bench_fault_latency: \
		$(OBJ)/userspace/fault_policies.o $(OBJ)/userspace/common.o

# The upstream selftests, as shipped in the pinned source, against our uapi.
$(BUILD)/tests/upstream/%: $(SELFTESTS)/iommu/%.c $(SELFTESTS)/iommu/iommufd_utils.h $(MOCK_UAPI)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -Wall -O2 -Wno-unused-function -D_GNU_SOURCE -isystem $(UAPI) \
		-I$(SELFTESTS)/iommu $(LDFLAGS) $< -lpthread -o $@

GUEST_SCRIPTS := $(wildcard tools/guest/*.sh)

$(INITRAMFS): $(TOOL) $(TEST_BINS) $(UPSTREAM_TESTS) $(TEST_SCRIPTS) $(BENCH_SCRIPTS) \
		$(GUEST_SCRIPTS) \
		tools/vm-initramfs.sh tools/guest/init
	$(call msg,CPIO,$@)
	$(Q)rm -rf $(BUILD)/vm/stage && mkdir -p $(BUILD)/vm/stage/bin \
		$(BUILD)/vm/stage/tests $(BUILD)/vm/stage/tools
	$(Q)cp $(TOOL) $(BUILD)/vm/stage/bin/
	@# perf is dynamic: vm-initramfs.sh brings its libraries along
	$(Q)cp /usr/bin/perf $(BUILD)/vm/stage/bin/
	@# so is curl, the HTTP client the metrics tests use
	$(Q)cp /usr/bin/curl $(BUILD)/vm/stage/bin/
	$(Q)cp $(GUEST_SCRIPTS) $(BUILD)/vm/stage/tools/
	$(Q)cp -r $(BUILD)/tests/. $(BUILD)/vm/stage/tests/
	$(Q)cp $(TEST_SCRIPTS) $(BUILD)/vm/stage/tests/
	$(Q)for f in $(BENCH_SCRIPTS); do \
		cp $$f $(BUILD)/vm/stage/tests/bench_$$(basename $$f); done
	$(Q)tools/vm-initramfs.sh $@ $(BUILD)/vm/stage

# FLAVOR goes on to run-tests.sh, so the kernel booted is the one whose BTF
# the programs were just built against.
check: programs kernel-stock
	$(Q)FLAVOR=$(FLAVOR) tools/run-tests.sh

# The whole suite on a KASAN kernel. 'make check FLAVOR=kasan' is the same
# run; a target of its own, like bench, names it in make help and gives CI
# one word to call. Switching flavours rebuilds build/toolchain/vmlinux.h and
# so every BPF object, tool and test (build/ holds one flavour's programs at
# a time): do not run it alongside make check or make bench.
check-kasan:
	$(Q)$(MAKE) --no-print-directory FLAVOR=kasan check

demo: programs
	$(Q)tools/demo.sh

# Benchmarks boot a kernel without debug options (FLAVOR=bench), and the
# same configuration without the series for the fallbacks' cost.
bench:
	$(Q)$(MAKE) --no-print-directory FLAVOR=bench programs
	$(Q)V=$(V) tools/kernel-build.sh stock-bench
	$(Q)FLAVOR=bench tools/bench.sh

checkpatch:
	$(Q)test -d $(BUILD)/linux || tools/kernel-build.sh --unpack-only
	@# New files under drivers/iommu/iommufd/ are covered by the IOMMUFD
	@# entry of MAINTAINERS already: ignore checkpatch's generic reminder.
	@# GIT_DIR: inside this repository checkpatch would consult our git
	@# history instead of reading the patch files as patches. The base is a
	@# source tarball without upstream history, so checkpatch cannot look up
	@# the commits Fixes: tags name (UNKNOWN_COMMIT_ID). A fault handler
	@# returns -ENOSYS for "not handled": report_iommu_fault()'s contract,
	@# not a syscall number (ENOSYS). The bug fixes (Fixes: tags) must also
	@# apply to the pristine base on their own.
	$(Q)rc=0; for p in kernel/patches/[0-9][0-9][0-9][0-9]-*.patch; do \
		case $$p in */0000-*) continue;; esac; \
		GIT_DIR=/nonexistent $(BUILD)/linux/scripts/checkpatch.pl -q \
			--ignore FILE_PATH_CHANGES,UNKNOWN_COMMIT_ID,ENOSYS $$p || rc=1; \
	done; \
	tools/check-fixes.sh || rc=1; \
	if [ $$rc = 0 ]; then echo "checkpatch: clean"; else echo "checkpatch: problems above"; fi; exit $$rc

clean:
	rm -rf $(BUILD)/bin $(BUILD)/obj $(BUILD)/bpf $(BUILD)/tests $(BUILD)/vm $(BUILD)/bench

distclean:
	rm -rf $(BUILD)

-include $(TOOL_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(BPF_OBJS:.o=.d) $(TEST_BPF_OBJS:.o=.d)
