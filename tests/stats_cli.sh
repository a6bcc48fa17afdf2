#!/bin/sh
# The in-kernel aggregation as users meet it: 'iommufd-bpf top', 'hist' and
# 'metrics' against a workload whose operations we know, so every count
# must equal what was driven. Bad input exits 2 (1 for a port in use) with
# a message naming it. The JSON of top and hist and the /metrics pages are
# printed between ARTIFACT markers for the host to check with a JSON
# parser, promtool and an OpenMetrics checker.
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
workload=${WORKLOAD:-/opt/iommufd-bpf/tests/iommufd_workload}
tmp=$(mktemp -d)
. "$(dirname "$0")/tap.sh"

# Wait (up to 30 s) for a line matching PATTERN in FILE
wait_for_line() { # FILE PATTERN
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# ids printed by the workload's first line
ids() { # FILE
	pid=$(sed -n 's/^pid=\([0-9]*\) ioas=\([0-9]*\).*/\1/p' "$1")
	ioas=$(sed -n 's/^pid=\([0-9]*\) ioas=\([0-9]*\).*/\2/p' "$1")
	dev=$(sed -n 's/.* dev=\([0-9]*\) .*/\1/p' "$1")
}

echo "TAP version 13"
expect_exit 0 "top --help teaches with examples" "EXAMPLES" -- "$tool" top --help
expect_exit 2 "top: bad interval" "invalid interval 'soon'" -- "$tool" top soon
expect_exit 2 "top: bad count" "invalid count '0'" -- "$tool" top 1 0
expect_exit 2 "top: stray argument" "unexpected argument 'x'" -- "$tool" top 1 2 x
expect_exit 2 "metrics: a bad number of CPUs for --memory" "invalid number of CPUs 'abc' (1 to 65536)" -- "$tool" metrics --memory=abc
expect_exit 2 "metrics: zero CPUs for --memory" "invalid number of CPUs '0'" -- "$tool" metrics --memory=0
expect_exit 0 "hist --help names the four histograms" "fault-to-answer\|report to answer" -- "$tool" hist --help
expect_exit 2 "hist: unknown kind is named" "unknown kind in 'map,dma'" -- "$tool" hist -k map,dma
expect_exit 0 "metrics --help teaches with examples" "EXAMPLES" -- "$tool" metrics --help
expect_exit 2 "metrics: nothing to do" "nothing to do" -- "$tool" metrics
for bad in 127.0.0.1 127.0.0.1:0 127.0.0.1:65536 1.2.3:99 ::1:9464 "[::1]" nosuchhost:80 127.0.0.1:http; do
	expect_exit 2 "metrics: bad address '$bad' is named" \
		"invalid listen address '$(echo "$bad" | sed 's/[][]/\\&/g')'" -- \
		"$tool" metrics --listen "$bad"
done
expect_exit 2 "metrics: textfile must end in .prom" "must end in .prom" -- \
	"$tool" metrics --textfile /tmp/iommufd.txt
expect_exit 1 "metrics: textfile in a missing directory is named" \
	"cannot write /nonexistent/dir/iommufd.prom: No such file or directory" -- \
	"$tool" metrics --textfile /nonexistent/dir/iommufd.prom -d 1s
expect_exit 1 "unprivileged top names the missing capabilities" \
	"needs CAP_BPF and CAP_PERFMON" -- \
	/opt/iommufd-bpf/tests/run_unprivileged "$tool" top 1 1

# top: 7 maps and unmaps of 2 pages, 3 page faults, 2 DMA faults, 6 IOTLB
# invalidations of a nested HWPT and one refused, 3 PASIDs attached and
# detached (the last by the close)
start_bg top "Counting" "$tool" top --json 500ms
"$workload" --device -n 7 -p 2 --faults 3 --dma-faults 2 --invalidate 6 --pasids 3 >"$tmp/wl.out" 2>&1
sleep 1
kill -INT "$bg"; wait "$bg"; rc=$?
ids "$tmp/wl.out"
check_eq "top exits 0 on SIGINT" "$rc" 0
sum() { # ROW FIELD KEY=VALUE: total of FIELD over the JSON rows that match
	grep "\"row\":\"$1\"" "$tmp/top.out" | grep "\"owner_tgid\":$pid,.*$3" |
		sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}
check_eq "top: maps of the IOAS" "$(sum ioas maps "\"ioas_id\":$ioas,")" 7
check_eq "top: unmaps of the IOAS" "$(sum ioas unmaps "\"ioas_id\":$ioas,")" 7
check_eq "top: bytes mapped" "$(sum ioas map_bytes "\"ioas_id\":$ioas,")" $((7 * 8192))
check_eq "top: domain unmaps" "$(sum ioas domain_unmaps "\"ioas_id\":$ioas,")" 7
check_eq "top: user IOTLB invalidations" "$(sum ioas invalidations "\"ioas_id\":$ioas,")" 6
check_eq "top: the refused invalidation is an error" "$(sum ioas errors "\"ioas_id\":$ioas,")" 1
check_eq "top: I/O page fault groups of the device" "$(sum dev iopf_groups "\"dev_id\":$dev,")" 3
check_eq "top: answers" "$(sum dev iopf_answered "\"dev_id\":$dev,")" 3
check_eq "top: DMA faults" "$(sum dev dma_faults "\"dev_id\":$dev,")" 2
check_eq "top: PASIDs attached" "$(sum dev pasid_attaches "\"dev_id\":$dev,")" 3
check_eq "top: PASIDs detached, the last at close" "$(sum dev pasid_detaches "\"dev_id\":$dev,")" 3
check_eq "top: no PASID attached at the end" \
	"$(grep "\"row\":\"dev\".*\"dev_id\":$dev," "$tmp/top.out" | tail -1 | sed -n 's/.*"pasids":\([-0-9]*\).*/\1/p')" 0
check_eq "top: context row sums its IOAS" "$(sum ctx maps "")" 7
# The table form refreshes with a header per interval
"$tool" top 300ms 2 >"$tmp/top.txt" 2>&1; rc=$?
if [ "$rc" = 0 ] && [ "$(grep -c 'OWNER.*MAPS/s.*IOPF/s.*DMAFLT/s.*PASIDS.*PINNED' "$tmp/top.txt")" = 2 ]; then
	ok "top: a table per interval, COUNT honoured"
else
	not_ok "top: a table per interval, COUNT honoured" "exit $rc" "$(head -5 "$tmp/top.txt")"
fi

# hist: every operation lands in one bucket
start_bg hist "Timing" "$tool" hist --json --per-owner
"$workload" --device -n 9 -p 1 --faults 4 --invalidate 5 >"$tmp/wl.out" 2>&1
kill -INT "$bg"; wait "$bg"; rc=$?
ids "$tmp/wl.out"
check_eq "hist exits 0 on SIGINT" "$rc" 0
for want in map:9 unmap:9 fault:4 invalidate:5 fault_queue:4 fault_handle:4; do
	# (not n: tap.sh numbers the tests with it)
	kind=${want%:*} expect=${want#*:}
	line=$(grep "\"kind\":\"$kind\",\"owner_tgid\":$pid," "$tmp/hist.out")
	count=$(echo "$line" | sed -n 's/.*"count":\([0-9]*\),"sum_ns".*/\1/p')
	buckets=$(echo "$line" | grep -o '"count":[0-9]*}' | sed 's/[^0-9]//g' | awk '{ s += $1 } END { print s + 0 }')
	if [ "$count" = "$expect" ] && [ "$buckets" = "$expect" ]; then
		ok "hist: $expect ${kind}s, buckets add up"
	else
		not_ok "hist: $expect ${kind}s, buckets add up" "count '$count' buckets '$buckets'" "$line"
	fi
done
# A group's wait is its queue time plus its handling time, to the ns
sum_ns() {
	grep "\"kind\":\"$1\",\"owner_tgid\":$pid," "$tmp/hist.out" |
		sed -n 's/.*"sum_ns":\([0-9]*\).*/\1/p'
}
total=$(sum_ns fault) queue=$(sum_ns fault_queue) handle=$(sum_ns fault_handle)
if [ -n "$total" ] && [ -n "$queue" ] && [ -n "$handle" ] && [ "$queue" -gt 0 ] &&
   [ "$handle" -gt 0 ] && [ "$((queue + handle))" = "$total" ]; then
	ok "hist: fault waits split into queue and handling time"
else
	not_ok "hist: fault waits split into queue and handling time" \
		"fault '$total' ns, queue '$queue', handling '$handle'"
fi
# Start the workload once the tool is attached ("Timing" on stderr), not
# after a guessed sleep: loading can take longer than that (a KASAN kernel).
# -d counts from the attach, and 3 maps take far less than its 3 s.
start_bg histtext "Timing" "$tool" hist -k map -d 3s
"$workload" --device -n 3 -p 1 >/dev/null 2>&1
# Text output comes only at the end: any now means the window closed early.
late=
[ ! -s "$tmp/histtext.out" ] || late="(the 3 s ended before the workload did)"
wait "$bg"; rc=$?
if [ "$rc" = 0 ] && grep -q "^map latency: 3 operations, average" "$tmp/histtext.out" &&
   grep -q '|\*\*\*\*' "$tmp/histtext.out" && ! grep -q "unmap latency" "$tmp/histtext.out"; then
	ok "hist: text histogram of the kind asked for"
else
	not_ok "hist: text histogram of the kind asked for" "exit $rc $late" \
		"$(cat "$tmp/histtext.out" "$tmp/histtext.err")"
fi

# metrics over HTTP, read by curl
start_bg metrics "Serving" "$tool" metrics --listen 127.0.0.1:9464
expect_exit 1 "metrics: a port in use is named" \
	"cannot listen on 127.0.0.1:9464: Address already in use" -- \
	"$tool" metrics --listen 127.0.0.1:9464 -d 1s
# A live process whose name is not UTF-8 and holds a quote and a
# backslash: the page must still parse (the host runs promtool on it)
"$workload" -n 8 -p 1 --sleep 1000 --comm "$(printf 'x\377"q\\')" >"$tmp/hostile.out" 2>&1 &
hostile=$!
"$workload" --device -n 5 -p 2 --faults 3 --dma-faults 2 --invalidate 4 --copy 3 --pasids 4 >"$tmp/wl.out" 2>&1
ids "$tmp/wl.out"
copy_ioas=$(sed -n 's/^pid=.* copy_ioas=\([0-9]*\).*/\1/p' "$tmp/wl.out")
curl -sf -D "$tmp/headers" http://127.0.0.1:9464/metrics >"$tmp/metrics.txt"; rc=$?
curl -sf -H 'Accept: application/openmetrics-text; version=1.0.0' \
	-D "$tmp/om.headers" http://127.0.0.1:9464/metrics >"$tmp/openmetrics.txt"; rc2=$?
code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9464/nope)
head_size=$(curl -s -I -o /dev/null -w '%{http_code} %{size_download}' http://127.0.0.1:9464/metrics)
kill -INT "$bg"; wait "$bg"; mrc=$?
wait "$hostile"
hpid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$tmp/hostile.out")
check_eq "metrics: a name that is not UTF-8 is escaped and replaced" \
	"$(grep -c "^iommufd_ioas_maps_total{ctx=\"[0-9]*\",owner=\"$hpid\",comm=\"x$(printf '\357\277\275')\\\\\"q\\\\\\\\\"" "$tmp/metrics.txt")" 1
check_eq "curl gets /metrics" "$rc/$rc2" 0/0
# The workload had exited before the first scrape: its context's final
# values were on that page (checked below), and only there
check_eq "metrics: a released context's series are published once, then gone" \
	"$(grep -c "owner=\"$pid\"" "$tmp/openmetrics.txt")" 0
check_eq "metrics exits 0 on SIGINT" "$mrc" 0
check_eq "an unknown path is 404" "$code" 404
check_eq "HEAD: 200 without a body" "$head_size" "200 0"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$tmp/headers" &&
	ok "Prometheus text format by default" ||
	not_ok "Prometheus text format by default" "$(cat "$tmp/headers")"
grep -qi '^Content-Type: application/openmetrics-text; version=1.0.0' "$tmp/om.headers" &&
   [ "$(tail -1 "$tmp/openmetrics.txt")" = "# EOF" ] &&
	ok "OpenMetrics when asked, ending in # EOF" ||
	not_ok "OpenMetrics when asked, ending in # EOF" "$(cat "$tmp/om.headers")"
sample() { # NAME LABELS-REGEX
	grep "^$1{ctx=\"[0-9]*\",owner=\"$pid\",comm=\"[^\"]*\"$2} " "$tmp/metrics.txt" | sed 's/.* //'
}
check_eq "metrics: maps" "$(sample iommufd_ioas_maps_total ",ioas=\"$ioas\"")" 5
check_eq "metrics: bytes mapped" "$(sample iommufd_ioas_mapped_bytes_total ",ioas=\"$ioas\"")" $((5 * 8192))
check_eq "metrics: unmaps" "$(sample iommufd_ioas_unmaps_total ",ioas=\"$ioas\"")" 5
# Copies count in the IOAS they land in; the one of an unmapped range fails
check_eq "metrics: copies into the second IOAS" "$(sample iommufd_ioas_copies_total ",ioas=\"$copy_ioas\"")" 3
check_eq "metrics: bytes copied" "$(sample iommufd_ioas_copied_bytes_total ",ioas=\"$copy_ioas\"")" $((3 * 8192))
check_eq "metrics: the failed copy is an error" "$(sample iommufd_ioas_errors_total ",ioas=\"$copy_ioas\"")" 1
check_eq "metrics: unmaps of the copies" "$(sample iommufd_ioas_unmaps_total ",ioas=\"$copy_ioas\"")" 3
check_eq "metrics: copy latency count" "$(sample iommufd_operation_duration_seconds_count ",op=\"copy\"")" 3
check_eq "metrics: domain unmaps" "$(sample iommufd_ioas_domain_unmaps_total ",ioas=\"$ioas\"")" 5
check_eq "metrics: fault groups" "$(sample iommufd_device_iopf_groups_total ",dev=\"$dev\"")" 3
check_eq "metrics: answered success" "$(sample iommufd_device_iopf_answers_total ",dev=\"$dev\",code=\"success\"")" 3
check_eq "metrics: DMA faults" "$(sample iommufd_device_dma_faults_total ",dev=\"$dev\"")" 2
check_eq "metrics: PASIDs attached" "$(sample iommufd_device_pasid_attaches_total ",dev=\"$dev\"")" 4
check_eq "metrics: PASIDs detached" "$(sample iommufd_device_pasid_detaches_total ",dev=\"$dev\"")" 4
check_eq "metrics: map latency count" "$(sample iommufd_operation_duration_seconds_count ",op=\"map\"")" 5
check_eq "metrics: map latency +Inf bucket" "$(sample iommufd_operation_duration_seconds_bucket ",op=\"map\",le=\"+Inf\"")" 5
check_eq "metrics: invalidations" "$(sample iommufd_ioas_invalidations_total ",ioas=\"$ioas\"")" 4
check_eq "metrics: invalidate latency count" "$(sample iommufd_operation_duration_seconds_count ",op=\"invalidate\"")" 4
check_eq "metrics: fault-to-answer count" "$(sample iommufd_operation_duration_seconds_count ",op=\"fault\"")" 3
check_eq "metrics: fault queue-time count" "$(sample iommufd_operation_duration_seconds_count ",op=\"fault_queue\"")" 3
check_eq "metrics: fault handling-time count" "$(sample iommufd_operation_duration_seconds_count ",op=\"fault_handle\"")" 3

# The scrape server faces the network. A client sending its request a byte
# at a time and one sending nothing hold nobody up, and are told 408 and
# dropped at their 5 s deadline; 20 scrapes at once all get their page;
# SIGTERM ends the exporter within a second whatever its clients do.
uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
start_bg metrics2 "Serving" "$tool" metrics --listen 127.0.0.1:9465
(for c in G E T; do printf %s "$c"; sleep 1; done; sleep 9) |
	nc 127.0.0.1 9465 >"$tmp/slow.out" 2>&1 &
sleep 12 | nc 127.0.0.1 9465 >"$tmp/silent.out" 2>&1 &
sleep 0.5
t0=$(uptime_ms)
curl -sf -m 4 -o "$tmp/during.txt" http://127.0.0.1:9465/metrics; rc=$?
t1=$(uptime_ms)
if [ "$rc" = 0 ] && grep -q "^# TYPE iommufd_ioas_maps_total counter" "$tmp/during.txt"; then
	ok "metrics: a scrape is served at once beside two stalled clients ($((t1 - t0)) ms)"
else
	not_ok "metrics: a scrape is served beside two stalled clients" "curl exit $rc after $((t1 - t0)) ms"
fi
pids=
for i in $(seq 20); do
	curl -sf -m 10 -o "$tmp/many.$i" http://127.0.0.1:9465/metrics &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
pages=$(grep -l "^# TYPE iommufd_ioas_maps_total counter" "$tmp"/many.* | wc -l)
check_eq "metrics: 20 scrapes at once, 20 pages" "$fails/$pages" 0/20
sleep 6
check_eq "metrics: the slow client is told 408 at its deadline" \
	"$(head -1 "$tmp/slow.out" | tr -d '\r')" "HTTP/1.1 408 Request Timeout"
check_eq "metrics: so is the silent one" \
	"$(head -1 "$tmp/silent.out" | tr -d '\r')" "HTTP/1.1 408 Request Timeout"
# Stalled clients again, then SIGTERM
(printf G; sleep 10) | nc 127.0.0.1 9465 >/dev/null 2>&1 &
sleep 10 | nc 127.0.0.1 9465 >/dev/null 2>&1 &
sleep 0.5
t0=$(uptime_ms)
kill -TERM "$bg"; wait "$bg"; rc=$?
t1=$(uptime_ms)
if [ "$rc" = 0 ] && [ $((t1 - t0)) -lt 1000 ]; then
	ok "metrics: SIGTERM with stalled clients ends it in $((t1 - t0)) ms, exit 0"
else
	not_ok "metrics: SIGTERM with stalled clients ends it within a second" "exit $rc after $((t1 - t0)) ms"
fi

# The textfile for node_exporter: rewritten in place, never half-written
mkdir -p "$tmp/textfile"
start_bg textfile "Writing" "$tool" metrics --textfile "$tmp/textfile/iommufd.prom" --interval 200ms
# The context stays open 2 s after its work ("done"), then is released:
# its series are in the file while it lives, and gone a refresh later.
"$workload" --device -n 4 -p 1 --linger 2000 >"$tmp/wl.out" 2>&1 &
wl=$!
wait_for_line "$tmp/wl.out" "^done "
ids "$tmp/wl.out"
sleep 1
textfile_maps() {
	grep "^iommufd_ioas_maps_total{ctx=\"[0-9]*\",owner=\"$pid\"" "$tmp/textfile/iommufd.prom" | sed 's/.* //'
}
check_eq "textfile: maps" "$(textfile_maps)" 4
wait "$wl"
sleep 1
check_eq "textfile: a released context's series are gone" "$(textfile_maps)" ""
kill -INT "$bg"; wait "$bg"; rc=$?
check_eq "metrics --textfile exits 0 on SIGINT" "$rc" 0
check_eq "textfile: nothing left aside" "$(ls "$tmp/textfile")" iommufd.prom

# A full disk: writes fail and are counted, the old file stays whole, the
# exporter keeps going; once there is room again the file is current
mkdir -p "$tmp/small"
if mount -t tmpfs -o size=256k tmpfs "$tmp/small"; then
	start_bg textfile2 "Writing" "$tool" metrics --textfile "$tmp/small/iommufd.prom" --interval 200ms
	dd if=/dev/zero of="$tmp/small/fill" bs=4k 2>/dev/null
	# Lingers until killed below: a KASAN kernel on shared cores took
	# past 3 s to get there, and the context was gone
	"$workload" -n 6 -p 1 --linger 60000 >"$tmp/wl.out" 2>&1 &
	wl=$!
	wait_for_line "$tmp/wl.out" "^done "
	ids "$tmp/wl.out"
	sleep 1
	whole=$(tail -1 "$tmp/small/iommufd.prom")
	rm -f "$tmp/small/fill"
	sleep 1
	kill -INT "$bg"; wait "$bg"; rc=$?
	check_eq "textfile: a full disk does not stop the exporter" "$rc" 0
	grep -q "cannot write $tmp/small/iommufd.prom: No space left on device" "$tmp/textfile2.err" &&
		ok "textfile: the failed writes are named" ||
		not_ok "textfile: the failed writes are named" "$(cat "$tmp/textfile2.err")"
	check_eq "textfile: the old file stayed whole meanwhile" \
		"$(echo "$whole" | sed 's/ [0-9]*$//')" iommufd_exporter_bpf_map_bytes
	check_eq "textfile: current again once there is room" \
		"$(grep "^iommufd_ioas_maps_total{ctx=\"[0-9]*\",owner=\"$pid\"" "$tmp/small/iommufd.prom" | sed 's/.* //')" 6
	kill "$wl"; wait "$wl"
	errs=$(sed -n 's/^iommufd_exporter_textfile_errors_total \([0-9]*\)$/\1/p' "$tmp/small/iommufd.prom")
	[ -n "$errs" ] && [ "$errs" -gt 0 ] &&
		ok "textfile: the failures are counted in it ($errs)" ||
		not_ok "textfile: the failures are counted in it" "'$errs'"
	check_eq "textfile: nothing left aside after failures" "$(ls -A "$tmp/small")" iommufd.prom
	umount "$tmp/small"
else
	not_ok "textfile: a tmpfs to fill" "mount failed"
fi

echo "=== BEGIN ARTIFACT top.json ==="
cat "$tmp/top.out"
echo "=== END ARTIFACT top.json ==="
echo "=== BEGIN ARTIFACT hist.json ==="
cat "$tmp/hist.out"
echo "=== END ARTIFACT hist.json ==="
echo "=== BEGIN ARTIFACT metrics.txt ==="
cat "$tmp/metrics.txt"
echo "=== END ARTIFACT metrics.txt ==="
echo "=== BEGIN ARTIFACT openmetrics.txt ==="
cat "$tmp/openmetrics.txt"
echo "=== END ARTIFACT openmetrics.txt ==="
echo "=== BEGIN ARTIFACT textfile.prom ==="
cat "$tmp/textfile/iommufd.prom"
echo "=== END ARTIFACT textfile.prom ==="
rm -rf "$tmp"
tap_end
