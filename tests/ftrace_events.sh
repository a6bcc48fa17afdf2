#!/bin/sh
# The iommufd trace events as ftrace and perf users see them: present in
# tracefs, and their text records carry the ids and the owner's tgid.
# Prints TAP and a kselftest-style "# Totals:" line.
workload=${WORKLOAD:-/opt/iommufd-bpf/tests/iommufd_workload}
T=/sys/kernel/tracing
. "$(dirname "$0")/tap.sh"

echo "TAP version 13"
for ev in ioas_map ioas_unmap ioas_copy device_attach device_detach \
	  device_replace domain_unmap hwpt_invalidate dirty_tracking \
	  dirty_read_begin dirty_range dirty_flush dirty_read fault_report \
	  fault_read fault_respond fault_auto_respond pinned_update fault_policy_attach \
	  fault_verdict fault_policy_exit dma_fault ctx_open ctx_release \
	  ioas_alloc hwpt_alloc fault_alloc device_bind access_create \
	  object_destroy access_pin access_unpin; do
	if [ -d "$T/events/iommufd/iommufd_$ev" ]; then
		ok "tracefs has iommufd:iommufd_$ev"
	else
		not_ok "tracefs has iommufd:iommufd_$ev"
	fi
done
# Every event we define is one of those 32: nothing unlisted, nothing missing
count=$(ls -d "$T"/events/iommufd/iommufd_* | wc -l)
[ "$count" = 32 ] && ok "exactly 32 iommufd events" || not_ok "exactly 32 iommufd events" "found $count"

# record EVENTS OUT -- CMD...: run CMD (its stdout to OUT) with only the
# iommufd EVENTS enabled ("all" for every one); the text records go to
# /tmp/ftrace.txt
record() {
	events=$1 out=$2
	shift 3
	echo 0 > "$T/tracing_on"
	echo > "$T/trace"
	if [ "$events" = all ]; then
		echo 1 > "$T/events/iommufd/enable"
	else
		for e in $events; do
			echo 1 > "$T/events/iommufd/iommufd_$e/enable"
		done
	fi
	echo 1 > "$T/tracing_on"
	"$@" > "$out"
	echo 0 > "$T/tracing_on"
	echo 0 > "$T/events/iommufd/enable"
	cat "$T/trace" > /tmp/ftrace.txt
}

record all /tmp/wl.out -- "$workload" --device -n 1 -p 1 --dma-faults 2
pid=$(sed -n 's/^pid=\([0-9]*\) ioas=\([0-9]*\) dev=\([0-9]*\) hwpt=\([0-9]*\).*/\1/p' /tmp/wl.out)
ioas=$(sed -n 's/^pid=\([0-9]*\) ioas=\([0-9]*\).*/\2/p' /tmp/wl.out)
dev=$(sed -n 's/.* dev=\([0-9]*\) .*/\1/p' /tmp/wl.out)
hwpt=$(sed -n 's/^pid=.* hwpt=\([0-9]*\) .*/\1/p' /tmp/wl.out)

expect_line() { # NAME PATTERN
	if grep -q -- "$2" /tmp/ftrace.txt; then ok "$1"; else not_ok "$1" "no line matches: $2"; fi
}
expect_line "attach record" "iommufd_device_attach: tgid=$pid dev=$dev (iommufd_mock[0-9]*) hwpt=$hwpt ioas=$ioas pasid=0x0 ret=0"
# A map and an unmap carry the page they pinned and the domain unmap
expect_line "map record" "iommufd_ioas_map: tgid=$pid ioas=$ioas iova=0x1000000 length=0x1000 done=0x1000 flags=0x7 ret=0 duration_ns=[0-9]* pinned=1 domain_unmaps=0$"
expect_line "unmap record" "iommufd_ioas_unmap: tgid=$pid ioas=$ioas iova=0x1000000 length=0x1000 done=0x1000 flags=0x0 ret=0 duration_ns=[0-9]* pinned=-1 domain_unmaps=1$"
if grep -q "iommufd_pinned_update: tgid=$pid \|iommufd_domain_unmap: tgid=$pid " /tmp/ftrace.txt; then
	not_ok "no pinned or domain unmap record besides the map's and unmap's" "$(grep "iommufd_pinned_update\|iommufd_domain_unmap" /tmp/ftrace.txt | head -3)"
else
	ok "no pinned or domain unmap record besides the map's and unmap's"
fi
expect_line "DMA fault after unmap, attributed" "iommufd_dma_fault: tgid=$pid dev=$dev (iommufd_mock[0-9]*) hwpt=$hwpt ioas=$ioas iova=0x1000000 write$"
expect_line "DMA fault never mapped, attributed" "iommufd_dma_fault: tgid=$pid dev=$dev (iommufd_mock[0-9]*) hwpt=$hwpt ioas=$ioas iova=0x41001000 read$"
expect_line "detach at close" "iommufd_device_detach: tgid=$pid dev=$dev (iommufd_mock[0-9]*) hwpt=$hwpt ioas=$ioas pasid=0x0 ret=0"
# The context's life, all under the id its open gave it
ctx=$(sed -n "s/.*iommufd_ctx_open: ctx=\([0-9]*\) tgid=$pid\$/\1/p" /tmp/ftrace.txt)
[ -n "$ctx" ] && ok "context open record ($ctx)" || not_ok "context open record" "no iommufd_ctx_open of tgid=$pid"
expect_line "IOAS alloc record" "iommufd_ioas_alloc: ctx=$ctx tgid=$pid id=$ioas$"
expect_line "device bind record" "iommufd_device_bind: ctx=$ctx tgid=$pid dev=$dev (iommufd_mock[0-9]*)$"
expect_line "automatic HWPT record" "iommufd_hwpt_alloc: ctx=$ctx tgid=$pid hwpt=$hwpt type=hwpt_paging ioas=$ioas parent=0 dev=$dev fault=0 flags= auto=1$"
expect_line "device unbind at close" "iommufd_object_destroy: ctx=$ctx tgid=$pid type=device id=$dev$"
expect_line "IOAS destroy at close" "iommufd_object_destroy: ctx=$ctx tgid=$pid type=ioas id=$ioas$"
expect_line "context release record" "iommufd_ctx_release: ctx=$ctx tgid=$pid$"
if grep -q "reason=%s" "$T/events/iommufd/iommufd_domain_unmap/format" &&
   grep -q '{ 0, "unmap" }' "$T/events/iommufd/iommufd_domain_unmap/format"; then
	ok "format: symbolic reasons resolved for userspace parsers"
else
	not_ok "format: symbolic reasons resolved for userspace parsers" "$(grep 'print fmt' "$T/events/iommufd/iommufd_domain_unmap/format")"
fi
# A page fault group as text: reported, read by the VMM under the cookie
# its answer carries, answered
record "fault_report fault_read fault_respond" /tmp/wl.out -- \
	"$workload" --device -n 1 -p 1 --faults 1
fpid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' /tmp/wl.out)
fdev=$(sed -n 's/.* dev=\([0-9]*\) .*/\1/p' /tmp/wl.out)
cookie=$(sed -n "s/.*iommufd_fault_read: tgid=$fpid fault=[0-9]* dev=$fdev pasid=0x1 grpid=0 cookie=\([0-9]*\) addr=0x1000000 count=1\$/\1/p" /tmp/ftrace.txt)
[ -n "$cookie" ] && ok "fault read record ($cookie)" ||
	not_ok "fault read record" "no iommufd_fault_read of tgid=$fpid dev=$fdev"
expect_line "fault answer record carries the cookie read" "iommufd_fault_respond: tgid=$fpid fault=[0-9]* dev=$fdev pasid=0x1 grpid=0 cookie=$cookie addr=0x1000000 code=success$"
# A dirty-bitmap read as text: begin, the dirty runs, the end; the runs'
# bits add up to what the harvest returned
record "dirty_read_begin dirty_range dirty_flush dirty_read" /tmp/dirty.json -- \
	sh -c '/opt/iommufd-bpf/tests/dirty_vmm --rate 8MiB/s --json 4M 300ms 1 2>/dev/null'
line=$(grep '"type":"iteration","iteration":1,' /tmp/dirty.json)
dpid=$(echo "$line" | sed -n 's/.*"owner_tgid":\([0-9]*\).*/\1/p')
dhwpt=$(echo "$line" | sed -n 's/.*"hwpt_id":\([0-9]*\).*/\1/p')
# Harvest 0 (before the device wrote) and harvest 1 are both in the trace
dpages=$(sed -n 's/.*"type":"iteration".*"dirty_pages":\([0-9]*\).*/\1/p' /tmp/dirty.json |
	awk '{ s += $1 } END { print s + 0 }')
expect_line "dirty read begin record" "iommufd_dirty_read_begin: tgid=$dpid hwpt=$dhwpt ioas=[0-9]* iova=0x1000000 length=0x400000 page_size=0x1000 flags=0x0"
expect_line "dirty range record names its owner and HWPT" "iommufd_dirty_range: tgid=$dpid hwpt=$dhwpt iova=0x[0-9a-f]* length=0x[0-9a-f]* page_size=0x1000 bits=[1-9]"
expect_line "dirty flush record names its owner and HWPT" "iommufd_dirty_flush: tgid=$dpid hwpt=$dhwpt iova=0x[0-9a-f]* length=0x[0-9a-f]*$"
expect_line "dirty read end record" "iommufd_dirty_read: tgid=$dpid hwpt=$dhwpt ioas=[0-9]* iova=0x1000000 length=0x400000 page_size=0x1000 flags=0x0 dirty=[0-9]* duration_ns=[1-9][0-9]* ret=0"
bits=$(sed -n 's/.*iommufd_dirty_range: .* bits=\([0-9]*\)$/\1/p' /tmp/ftrace.txt | awk '{ s += $1 } END { print s + 0 }')
[ -n "$dpages" ] && [ "$dpages" -gt 0 ] && [ "$bits" = "$dpages" ] &&
	ok "dirty range bits add up to the harvest ($bits)" ||
	not_ok "dirty range bits add up to the harvest" "ranges $bits, harvest $dpages"
# Leave tracing on, as the boot left it, for the suites after this one
echo 1 > "$T/tracing_on"
tap_end
