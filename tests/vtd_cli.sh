#!/bin/sh
# The IOMMU's own invalidations as the tools show them, on the emulated
# VT-d. vtd_edu's round trip maps two pages and unmaps both: in caching
# mode each map and each area unmapped waits for one IOTLB invalidation of
# the device's HWPT, 4 in all. top, hist and metrics must count exactly
# those, under the process that did them.
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
edu=${EDU:-/opt/iommufd-bpf/tests/vtd_edu}
tmp=$(mktemp -d)
. "$(dirname "$0")/tap.sh"

# The round trip, in a process of its own (the harness forks the test);
# its pid is the owner the tools attribute to
round_trip() {
	"$edu" -r edu.dma_round_trip_and_events >"$tmp/edu.out" 2>&1 ||
		not_ok "the edu round trip ran" "$(tail -5 "$tmp/edu.out")"
}

echo "TAP version 13"
expect_exit 0 "hist --help names the iotlb kind" "iotlb" -- "$tool" hist --help

start_bg top "Counting" "$tool" top --json -a 300ms
round_trip
sleep 0.7
kill -INT "$bg"; wait "$bg"; rc=$?
check_eq "top exits 0 on SIGINT" "$rc" 0
# The round trip's owner: the only one with maps in the window
pid=$(grep '"row":"ioas"' "$tmp/top.out" | grep -v '"maps":0,' |
	sed -n 's/.*"owner_tgid":\([0-9]*\),.*/\1/p' | sort -u)
sum() { # ROW FIELD: total of FIELD over the rows of $pid
	grep "\"row\":\"$1\"" "$tmp/top.out" | grep "\"owner_tgid\":$pid," |
		sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}
check_eq "top: one process mapped" "$(echo "$pid" | wc -w)" 1
check_eq "top: maps" "$(sum ioas maps)" 2
check_eq "top: hardware invalidations of its HWPT" "$(sum ioas iotlb_waits)" 4
check_eq "top: the context row sums them" "$(sum ctx iotlb_waits)" 4
waited=$(sum ioas iotlb_wait_ns)
[ "$waited" -gt 0 ] && ok "top: they took time ($waited ns)" ||
	not_ok "top: they took time" "iotlb_wait_ns $waited"
"$tool" top 300ms 1 >"$tmp/top.txt" 2>&1
grep -q 'INVAL/s.*HWINV/s.*HWWAIT' "$tmp/top.txt" &&
	ok "top: the table has the HWINV/s and HWWAIT columns" ||
	not_ok "top: the table has the HWINV/s and HWWAIT columns" "$(head -3 "$tmp/top.txt")"

start_bg hist "Timing" "$tool" hist -k iotlb --json --per-owner
round_trip
kill -INT "$bg"; wait "$bg"
line=$(grep '"kind":"iotlb"' "$tmp/hist.out")
count=$(echo "$line" | sed -n 's/.*"count":\([0-9]*\),"sum_ns".*/\1/p')
buckets=$(echo "$line" | grep -o '"count":[0-9]*}' | sed 's/[^0-9]//g' | awk '{ s += $1 } END { print s + 0 }')
check_eq "hist: 4 invalidation waits" "$count" 4
check_eq "hist: the buckets add up" "$buckets" 4

start_bg metrics "Serving" "$tool" metrics --listen 127.0.0.1:9465
round_trip
curl -sf http://127.0.0.1:9465/metrics >"$tmp/metrics.txt"; rc=$?
kill -INT "$bg"; wait "$bg"
check_eq "curl gets /metrics" "$rc" 0
total() { # NAME LABELS-REGEX: the sum over the page's samples
	grep "^$1{.*$2} " "$tmp/metrics.txt" | sed 's/.* //' |
		awk '{ s += $1 } END { print s + 0 }'
}
check_eq "metrics: invalidations per IOAS" "$(total iommufd_ioas_iotlb_waits_total)" 4
check_eq "metrics: their waits' histogram" \
	"$(total iommufd_operation_duration_seconds_count 'op="iotlb"')" 4
tap_end
