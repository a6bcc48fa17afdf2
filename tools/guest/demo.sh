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
	start_tracer --json -p "$wl" -e ioas_map,fault_report,fault_respond
	echo go > /tmp/go
	wait "$wl"
	sleep 0.2
	stop_tracer

	step "Dirty tracking: a device writes 40 MiB/s into a hot tenth of 256 MiB; harvest every second"
	iommufd-bpf dirty --mock 256M --rate 40MiB/s --pattern hot:10% \
		--bandwidth 1Gbit/s --downtime 100ms 1s 4

	step "A device sweeping memory faster than a 100 Mbit/s link can send it"
	iommufd-bpf dirty --mock 64M --rate 200MiB/s --pattern sweep \
		--bandwidth 100Mbit/s 1s 2
	;;
vtd)
	step "QEMU's edu device DMAs through the emulated VT-d, mapped via vfio cdev + iommufd"
	start_tracer
	tests/vtd_edu >/tmp/edu.out 2>&1 && echo "(edu DMA round trip: data intact)" || cat /tmp/edu.out
	sleep 0.2
	stop_tracer
	;;
esac
