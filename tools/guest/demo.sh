#!/bin/sh
# The live demonstration, inside the guest (tools/demo.sh boots it).
#   demo.sh mock|vtd
cd /opt/iommufd-bpf || exit 1
PATH=/opt/iommufd-bpf/bin:$PATH
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Start a tracer, wait until it is attached, leave its pid in $tracer
start_tracer() { # ARGS...
	iommufd-bpf trace "$@" 2>/tmp/tracer.err &
	tracer=$!
	i=0
	while ! grep -q Tracing /tmp/tracer.err 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	cat /tmp/tracer.err
}
stop_tracer() {
	kill -INT "$tracer"; wait "$tracer"
	tail -n +2 /tmp/tracer.err
}

# Send commands to the VMM and wait for the ledger line they end with
vmm() { # CMD...
	for c in "$@"; do echo "$c" >&3; done
	echo ledger >&3
	ledgers=$((ledgers + 1)); i=0
	while [ "$(grep -c '^ledger' /tmp/vmm.out)" -lt $ledgers ] && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	grep '^ledger' /tmp/vmm.out | tail -1
}

# Fault policies on a VMM-shaped process (tests/iopf_vmm): its device
# faults on guest RAM (0x10000000 + 16 MiB, the first MiB mapped), and
# strays outside it; the VMM demand-maps guest RAM and refuses the rest.
fault_policy_demo() {
	mkfifo /tmp/vmm.cmd
	tests/iopf_vmm < /tmp/vmm.cmd > /tmp/vmm.out &
	vmm_pid=$!
	exec 3>/tmp/vmm.cmd
	ledgers=0
	while ! grep -q '^ready' /tmp/vmm.out; do sleep 0.1; done
	ready=$(grep '^ready' /tmp/vmm.out)
	pid=$(echo "$ready" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
	ffd=$(echo "$ready" | sed -n 's/.*fault_fd=\([0-9]*\).*/\1/p')
	dev=$(echo "$ready" | sed -n 's/.*dev=\([0-9]*\).*/\1/p')
	echo "VMM $ready"
	echo 1 > /sys/kernel/tracing/events/iommufd/iommufd_fault_verdict/enable
	echo 1 > /sys/kernel/tracing/events/iommufd/iommufd_fault_policy_exit/enable

	step "Fault policies: without one, every I/O page fault is a round trip to the VMM"
	vmm "fault demand 5" "fault stray 5"

	step "windows, pinned on the VMM's fault fd: strays refused in the kernel, guest RAM still demand-paged"
	iommufd-bpf fault attach windows --pid "$pid" --fd "$ffd" \
		--window "$dev@0x10000000+16M" --pin
	vmm "fault stray 20" "fault demand 5"
	iommufd-bpf fault list
	iommufd-bpf fault detach windows

	step "storm guard in the foreground: 5 faults/s, bucket of 10; a device storms 200 faults"
	iommufd-bpf fault attach storm --pid "$pid" --fd "$ffd" --rate 5 --burst 10 -d 2s &
	tool=$!
	sleep 1
	vmm "fault storm 200"
	wait $tool

	step "resolve-if-mapped: 50 faults on IOVA the IOAS maps already are answered in the kernel"
	iommufd-bpf fault attach resolve --pid "$pid" --fd "$ffd" -d 2s &
	tool=$!
	sleep 1
	vmm "fault mapped 50" "fault demand 2"
	wait $tool

	step "The kernel's trace of the verdicts (iommufd_fault_verdict, last 4) and of the policies' exits"
	grep iommufd_fault_verdict /sys/kernel/tracing/trace | tail -4 | sed 's/^ *//'
	grep iommufd_fault_policy_exit /sys/kernel/tracing/trace | sed 's/^ *//'
	echo 0 > /sys/kernel/tracing/events/iommufd/enable

	echo quit >&3
	exec 3>&-
	if wait $vmm_pid; then
		echo "(the device's ledger: every fault group answered exactly once)"
	else
		echo "the device's ledger does not add up:"; tail -1 /tmp/vmm.out
		return 1
	fi
}

# iommufd-bpf dirty -p on a VMM-shaped process (tests/dirty_vmm) whose
# mock device dirties memory while it harvests: the VMM waits for a go so
# the tool can filter on its pid, and its own bitmap counts come last.
dirty_demo() { # "DIRTY_VMM-ARGS" IOMMUFD-BPF-DIRTY-ARGS...
	vmm_args=$1; shift
	rm -f /tmp/go; mkfifo /tmp/go
	sh -c "read go < /tmp/go; exec tests/dirty_vmm $vmm_args" >/tmp/vmm.out &
	vmm=$!
	iommufd-bpf dirty -p "$vmm" "$@" 2>/tmp/dirty.err &
	d=$!
	while ! grep -q watching /tmp/dirty.err 2>/dev/null; do sleep 0.1; done
	cat /tmp/dirty.err
	echo go > /tmp/go
	wait "$vmm"
	# Ctrl-C: the tool reports the harvests still queued, then its totals
	kill -INT "$d"; wait "$d"
	tail -n +2 /tmp/dirty.err
	echo "(the VMM's own count, from its bitmaps:)"
	cat /tmp/vmm.out
}

case ${1:-mock} in
mock)
	step "A process maps and unmaps 4 pages 3 times through a (mock) device, then takes 2 I/O page faults"
	start_tracer
	tests/iommufd_workload --device -n 3 -p 4 --faults 2
	sleep 0.2
	stop_tracer

	step "The same as JSON lines, only map and fault events of that process"
	# The workload waits for a go so the tracer can filter on its pid
	mkfifo /tmp/go
	sh -c 'read go < /tmp/go; exec tests/iommufd_workload --device -n 2 -p 1 --faults 1' >/tmp/wl.out &
	wl=$!
	start_tracer --json -p "$wl" -e ioas_map,fault_report,fault_read,fault_respond
	echo go > /tmp/go
	wait "$wl"
	sleep 0.2
	stop_tracer

	step "The fault stream: a device DMAs into IOVA its process just unmapped, and into IOVA never mapped"
	start_tracer --faults
	tests/iommufd_workload --device -n 2 -p 1 --faults 2 --dma-faults 4 >/dev/null
	sleep 0.2
	stop_tracer

	step "PASIDs: a device's PASIDs 1-3 attached to a HWPT for PASIDs, PASID 1 moved to another, 2-3 detached, 1 by the close"
	start_tracer -e device_attach,device_replace,device_detach,hwpt_alloc
	tests/iommufd_workload --device -n 1 -p 1 --pasids 3 >/dev/null
	sleep 0.2
	stop_tracer

	step "iommufd-bpf top: rates per context, IOAS and device, counted in the kernel"
	iommufd-bpf top 1s 3 2>/tmp/top.err &
	top=$!
	while ! grep -q Counting /tmp/top.err 2>/dev/null; do sleep 0.1; done
	tests/iommufd_workload --device -n 300 -p 4 --sleep 5 --faults 40 --dma-faults 6 --pasids 2 --linger 1500 >/dev/null
	wait "$top"

	step "iommufd-bpf hist: how long maps and fault answers take (log2 buckets), a fault's wait split at the VMM's read"
	iommufd-bpf hist -k map,fault,fault_queue,fault_handle -d 4s 2>/tmp/hist.err &
	h=$!
	while ! grep -q Timing /tmp/hist.err 2>/dev/null; do sleep 0.1; done
	tests/iommufd_workload --device -n 200 -p 4 --faults 20 >/dev/null
	wait "$h"

	step "iommufd-bpf metrics: /metrics for Prometheus, read here with curl"
	iommufd-bpf metrics --listen 127.0.0.1:9464 2>/tmp/metrics.err &
	m=$!
	while ! grep -q Serving /tmp/metrics.err 2>/dev/null; do sleep 0.1; done
	cat /tmp/metrics.err
	tests/iommufd_workload --device -n 20 -p 2 --faults 5 --dma-faults 2 --pasids 2 >/dev/null
	curl -s http://127.0.0.1:9464/metrics |
		grep -E '^iommufd_(ioas_maps_total|ioas_mapped_bytes_total|device_iopf_groups_total|device_dma_faults_total|device_pasid_(at|de)taches_total|operation_duration_seconds_count)'
	kill -INT "$m"; wait "$m"

	step "Dirty tracking: a VMM's device writes 40 MiB/s into a hot tenth of 256 MiB; the VMM harvests every second"
	dirty_demo "--rate 40MiB/s --pattern hot:10% 256M 1s 4" --bandwidth 1Gbit/s --downtime 100ms

	step "A device sweeping memory faster than a 100 Mbit/s link can send it"
	dirty_demo "--rate 200MiB/s --pattern sweep 64M 1s 2" --bandwidth 100Mbit/s

	fault_policy_demo
	;;
vtd)
	step "QEMU's edu device DMAs through the emulated VT-d, mapped via vfio cdev + iommufd"
	start_tracer
	tests/vtd_edu -r edu.dma_round_trip_and_events >/tmp/edu.out 2>&1 &&
		echo "(edu DMA round trip: data intact)" || cat /tmp/edu.out
	sleep 0.2
	stop_tracer

	step "How long the IOMMU's invalidations of that HWPT kept the CPU waiting (VT-d queue, 20 round trips)"
	iommufd-bpf hist -k iotlb 2>/tmp/hist.err &
	h=$!
	while ! grep -q Timing /tmp/hist.err 2>/dev/null; do sleep 0.1; done
	for i in $(seq 20); do
		tests/vtd_edu -r edu.dma_round_trip_and_events >/dev/null 2>&1
	done
	kill -INT "$h"; wait "$h"

	step "The fault stream: edu DMAs from IOVA never mapped, then into IOVA unmapped a moment ago"
	start_tracer --faults
	tests/vtd_edu -r edu.dma_faults_decoded_and_attributed >/tmp/edu.out 2>&1 ||
		cat /tmp/edu.out
	sleep 0.2
	stop_tracer
	;;
esac
