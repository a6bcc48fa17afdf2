#!/bin/sh
# The iommufd-bpf tool as a user meets it, in the guest: usage errors, help,
# and a live JSON trace of a known workload. Prints TAP and a kselftest-style
# "# Totals:" line. The JSON trace is also printed between ARTIFACT markers
# so the host can check it with a real JSON parser.
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
workload=${WORKLOAD:-/opt/iommufd-bpf/tests/iommufd_workload}
tmp=$(mktemp -d)
. "$(dirname "$0")/tap.sh"

echo "TAP version 13"
expect_exit 2 "no command is a usage error" "Usage:" -- "$tool"
expect_exit 2 "unknown command is named" "unknown command 'bogus'" -- "$tool" bogus
expect_exit 0 "--help lists the commands" "trace" -- "$tool" --help
expect_exit 0 "trace --help teaches with examples" "EXAMPLES" -- "$tool" trace --help
expect_exit 0 "trace --help lists the events" "fault_report" -- "$tool" trace --help
expect_exit 2 "unknown option" "unrecognized option" -- "$tool" trace --bogus
expect_exit 2 "unknown event is named" "unknown event 'nosuch'" -- "$tool" trace -e ioas_map,nosuch
expect_exit 2 "bad duration" "invalid duration '0s'" -- "$tool" trace -d 0s
expect_exit 2 "duration without a known unit" "invalid duration '5parsecs'" -- "$tool" trace -d 5parsecs
expect_exit 2 "bad pid" "invalid PID 'abc'" -- "$tool" trace -p abc
expect_exit 2 "bad ring buffer size" "invalid ring buffer size" -- "$tool" trace --ringbuf-kib 3
expect_exit 2 "stray argument" "unexpected argument" -- "$tool" trace extra
expect_exit 2 "--faults chooses the events" "do not combine it with -e" -- "$tool" trace --faults -e ioas_map
expect_exit 2 "-e then --faults" "do not combine it with -e" -- "$tool" trace -e ioas_map --faults
expect_exit 0 "trace --help explains DMA after unmap" "DMA after unmap" -- "$tool" trace --help

# Without CAP_BPF/CAP_PERFMON: exit 1 naming the cause.
expect_exit 1 "unprivileged trace names the missing capabilities" \
	"needs CAP_BPF and CAP_PERFMON" -- \
	/opt/iommufd-bpf/tests/run_unprivileged "$tool" trace -d 1s

# A live trace: JSON lines of a known workload, then SIGINT.
"$tool" trace --json >"$tmp/trace.json" 2>"$tmp/trace.err" &
tracer=$!
i=0
while ! grep -q "Tracing" "$tmp/trace.err" 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
# Named with a byte that is not UTF-8, a quote, a backslash and a tab: the
# host parses the JSON with Python and checks the name came through
"$workload" --device -n 3 -p 2 --faults 2 --dma-faults 4 \
	--comm "$(printf 'wl\377"\\\t')" >"$tmp/workload.out" 2>&1
wl_rc=$?
kill -INT "$tracer"
wait "$tracer"; tr_rc=$?
if [ "$wl_rc" != 0 ]; then
	not_ok "workload ran" "$(cat "$tmp/workload.out")"
else
	ok "workload ran"
fi
if [ "$tr_rc" = 0 ]; then ok "trace exits 0 on SIGINT"; else not_ok "trace exits 0 on SIGINT" "exit $tr_rc" "$(cat "$tmp/trace.err")"; fi

pid=$(sed -n 's/^pid=\([0-9]*\) ioas=\([0-9]*\).*/\1/p' "$tmp/workload.out")
ioas=$(sed -n 's/^pid=\([0-9]*\) ioas=\([0-9]*\).*/\2/p' "$tmp/workload.out")
# The workload's own records: 3 maps and 3 unmaps of 2 pages on its IOAS,
# each with the pages it pinned or released and its domain unmap, 2 fault
# reports, 2 reads from the fault fd and 2 answers.
count() { grep "\"owner_tgid\":$pid," "$tmp/trace.json" | grep -c "$1"; }
for want in "3 \"event\":\"ioas_map\",.*\"ioas_id\":$ioas,.*\"length\":8192,\"done\":8192,.*\"pinned\":2,\"domain_unmaps\":0" \
	    "3 \"event\":\"ioas_unmap\",.*\"ioas_id\":$ioas,.*\"length\":8192,\"done\":8192,.*\"pinned\":-2,\"domain_unmaps\":1" \
	    "0 \"event\":\"domain_unmap\"" \
	    "0 \"event\":\"pinned_update\"" \
	    "2 \"event\":\"fault_report\",.*\"pasid\":1," \
	    "2 \"event\":\"fault_read\",.*\"pasid\":1,.*\"count\":1,.*\"queued_ns\":[1-9]" \
	    "2 \"event\":\"fault_respond\",.*\"code\":\"success\",.*\"queued_ns\":[1-9][0-9]*,\"handled_ns\":[1-9]" \
	    "2 \"event\":\"dma_fault\",.*\"iova\":167[0-9]*,.*\"write\":true,\"attributed\":true,.*\"after_unmap\":true,\"unmap_iova\":16777216,\"unmap_length\":8192,.*\"unmap_tgid\":$pid," \
	    "2 \"event\":\"dma_fault\",.*\"write\":false,\"attributed\":true,.*\"after_unmap\":false}"; do
	num=${want%% *} pat=${want#* }
	got=$(count "$pat")
	if [ "$got" = "$num" ]; then ok "json: $num x $pat"; else not_ok "json: $num x $pat" "got $got"; fi
done
if grep -q '^{"event":"summary",.*"dropped":0,' "$tmp/trace.json" &&
   grep -q '"seq_gaps":0}' "$tmp/trace.json"; then
	ok "json: summary line, nothing dropped"
else
	not_ok "json: summary line, nothing dropped" "$(tail -1 "$tmp/trace.json")"
fi
if grep -q "produced, .* delivered, 0 dropped" "$tmp/trace.err"; then
	ok "stderr: produced/delivered/dropped counts"
else
	not_ok "stderr: produced/delivered/dropped counts" "$(tail -2 "$tmp/trace.err")"
fi
# The fault stream: only faults, each attributed, the use-after-unmap
# diagnosis in the text, and a summary by owner, device and reason at exit.
"$tool" trace --faults >"$tmp/faults.txt" 2>"$tmp/faults.err" &
tracer=$!
i=0
while ! grep -q "Tracing" "$tmp/faults.err" 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
"$workload" --device -n 2 -p 1 --faults 2 --dma-faults 4 >"$tmp/wl2.out" 2>&1
kill -INT "$tracer"
wait "$tracer"; tr_rc=$?
pid=$(sed -n 's/^pid=\([0-9]*\) ioas=\([0-9]*\).*/\1/p' "$tmp/wl2.out")
dev=$(sed -n 's/.* dev=\([0-9]*\) .*/\1/p' "$tmp/wl2.out")
if [ "$tr_rc" = 0 ] && ! grep -q -e ioas_map -e domain_unmap "$tmp/faults.txt"; then
	ok "--faults: exit 0, no map/unmap records"
else
	not_ok "--faults: exit 0, no map/unmap records" "exit $tr_rc" "$(head -3 "$tmp/faults.txt")"
fi
got=$(grep -c "dma_fault .*owner=$pid ctx=[1-9][0-9]* dev=$dev (iommufd_mock[0-9]*) hwpt=[0-9]* ioas=[0-9]* addr=0x100[0-9a-f]* write DMA after unmap: \[0x1000000, +0x1000) unmapped [0-9.]* ms earlier by tgid=$pid (iommufd_workloa)$" "$tmp/faults.txt")
[ "$got" = 2 ] && ok "--faults: DMA after unmap, with range, age and unmapper" ||
	not_ok "--faults: DMA after unmap, with range, age and unmapper" "got $got" "$(grep dma_fault "$tmp/faults.txt")"
got=$(grep -c "dma_fault .*owner=$pid ctx=[1-9][0-9]* dev=$dev (iommufd_mock[0-9]*) .* addr=0x4100[0-9a-f]* read$" "$tmp/faults.txt")
[ "$got" = 2 ] && ok "--faults: faults on never-mapped IOVA, no diagnosis" ||
	not_ok "--faults: faults on never-mapped IOVA, no diagnosis" "got $got"
for want in "2  write fault (DMA after unmap)" "2  read fault" \
	    "2  I/O page fault group reported" "2  I/O page fault group answered success"; do
	if grep -q "^ *$pid *$dev iommufd_mock[0-9]* *$want\$" "$tmp/faults.err"; then
		ok "--faults summary: $want"
	else
		not_ok "--faults summary: $want" "$(cat "$tmp/faults.err")"
	fi
done

# The same as JSON: the summary rows are objects too
"$tool" trace --faults --json >"$tmp/faults.json" 2>"$tmp/faults.err" &
tracer=$!
i=0
while ! grep -q "Tracing" "$tmp/faults.err" 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
"$workload" --device -n 1 -p 1 --dma-faults 2 >"$tmp/wl3.out" 2>&1
kill -INT "$tracer"
wait "$tracer"; tr_rc=$?
pid=$(sed -n 's/^pid=\([0-9]*\) ioas=\([0-9]*\).*/\1/p' "$tmp/wl3.out")
dev=$(sed -n 's/.* dev=\([0-9]*\) .*/\1/p' "$tmp/wl3.out")
if [ "$tr_rc" = 0 ] &&
   grep -q "^{\"event\":\"fault_summary\",\"owner_tgid\":$pid,\"dev_id\":$dev,\"device\":\"iommufd_mock[0-9]*\",\"reason\":\"write fault (DMA after unmap)\",\"count\":1}$" "$tmp/faults.json" &&
   grep -q "^{\"event\":\"fault_summary\",\"owner_tgid\":$pid,\"dev_id\":$dev,\"device\":\"iommufd_mock[0-9]*\",\"reason\":\"read fault\",\"count\":1}$" "$tmp/faults.json" &&
   tail -1 "$tmp/faults.json" | grep -q '^{"event":"summary",'; then
	ok "--faults --json: summary rows as objects, then the accounting"
else
	not_ok "--faults --json: summary rows as objects, then the accounting" "exit $tr_rc" "$(tail -4 "$tmp/faults.json")"
fi

# A consumer that falls behind: the tracer writes into a pipe nobody reads
# while a burst fills its 4 KiB ring buffer. Records are lost, but every
# loss is counted and shows as a sequence gap.
mkfifo "$tmp/slow"
exec 3<>"$tmp/slow"         # keep the pipe open without blocking...
exec 4<"$tmp/slow"          # ...to get a reader that reads nothing yet
exec 3>&-
"$tool" trace --json --ringbuf-kib 4 >"$tmp/slow" 2>"$tmp/slow.err" &
slow=$!
i=0
while ! grep -q "Tracing" "$tmp/slow.err" 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
"$workload" --device -n 300 -p 1 >/dev/null 2>&1
cat <&4 >"$tmp/slow.json" &
reader=$!
exec 4<&-
kill -INT "$slow"
wait "$slow"; slow_rc=$?
wait "$reader"
sum=$(grep '^{"event":"summary"' "$tmp/slow.json")
num() { echo "$sum" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
produced=$(num produced) delivered=$(num delivered) dropped=$(num dropped)
filtered=$(num filtered) gaps=$(num seq_gaps)
lines=$(grep -c '"seq":' "$tmp/slow.json")
if [ "$slow_rc" = 0 ] && [ -n "$dropped" ] && [ "$dropped" -gt 0 ]; then
	ok "overflow: records dropped when the consumer stalls ($dropped)"
else
	not_ok "overflow: records dropped when the consumer stalls" "exit $slow_rc" "$sum"
fi
if [ -n "$produced" ] && [ "$produced" = $((delivered + dropped + filtered)) ] &&
   [ "$delivered" = "$lines" ]; then
	ok "overflow: produced = delivered + dropped + filtered"
else
	not_ok "overflow: produced = delivered + dropped + filtered" "$sum" "lines $lines"
fi
if [ -n "$gaps" ] && [ "$gaps" = "$dropped" ]; then
	ok "overflow: sequence gaps equal the drops"
else
	not_ok "overflow: sequence gaps equal the drops" "$sum"
fi

# Producers on both CPUs at once, under a JSON and a text tracer: records
# enter the ring in another order than their sequence numbers; nothing is
# lost and no gap is made up (a ring big enough for the burst: this is
# about order, not throughput). Then --count: exactly N records, no more.
tracing_started() { # ERRFILE
	i=0
	while ! grep -q "Tracing" "$1" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
}
"$tool" trace --json --ringbuf-kib 2048 -e ioas_map,ioas_unmap >"$tmp/smp.json" 2>"$tmp/smp.err" &
smp_json=$!
"$tool" trace --ringbuf-kib 2048 -e ioas_map,ioas_unmap >"$tmp/smp.txt" 2>"$tmp/smp_txt.err" &
smp_text=$!
tracing_started "$tmp/smp.err"
tracing_started "$tmp/smp_txt.err"
taskset -c 0 "$workload" -n 1500 -p 1 >/dev/null 2>&1 &
cpu0=$!
taskset -c 1 "$workload" -n 1500 -p 1 >/dev/null 2>&1 &
cpu1=$!
wait "$cpu0"; rc0=$?
wait "$cpu1"; rc1=$?
kill -INT "$smp_json" "$smp_text"
wait "$smp_json"; json_rc=$?
wait "$smp_text"; text_rc=$?
sum=$(grep '^{"event":"summary"' "$tmp/smp.json")
delivered=$(num delivered) dropped=$(num dropped) gaps=$(num seq_gaps)
reordered=$(sed -n 's/^{"seq":\([0-9]*\),.*/\1/p' "$tmp/smp.json" |
	awk 'NR > 1 && $1 < last { n++ } { last = $1 } END { print n + 0 }')
if [ "$rc0$rc1" = 00 ] && [ "$json_rc" = 0 ] && [ "$delivered" = 6000 ] &&
   [ "$dropped" = 0 ] && [ "$gaps" = 0 ]; then
	ok "two CPUs at once: 6000 records, no drop, no false gap ($reordered out of order)"
else
	not_ok "two CPUs at once: 6000 records, no drop, no false gap" \
		"workloads $rc0 $rc1, exit $json_rc" "$sum" "$(cat "$tmp/smp.err")"
fi
if [ "$text_rc" = 0 ] &&
   grep -q "^6000 produced, 6000 delivered, 0 dropped, 0 filtered; 0 sequence gaps" "$tmp/smp_txt.err"; then
	ok "two CPUs at once, text: the same accounting"
else
	not_ok "two CPUs at once, text: the same accounting" "exit $text_rc" "$(cat "$tmp/smp_txt.err")"
fi

"$tool" trace --json -c 5 -e ioas_map >"$tmp/count.json" 2>"$tmp/count.err" &
counted=$!
tracing_started "$tmp/count.err"
"$workload" -n 200 -p 1 >/dev/null 2>&1
wait "$counted"; count_rc=$?
lines=$(grep -c '"seq":' "$tmp/count.json")
if [ "$count_rc" = 0 ] && [ "$lines" = 5 ]; then
	ok "--count 5 prints 5 records under a burst"
else
	not_ok "--count 5 prints 5 records under a burst" "exit $count_rc, $lines records"
fi

# The default ring buffer takes a storm's burst whole: 1,500 4 KiB
# map+unmap pairs through a device, 3,000 records, none dropped
"$tool" trace --json >"$tmp/burst.json" 2>"$tmp/burst.err" &
burst=$!
tracing_started "$tmp/burst.err"
"$workload" --device -n 1500 -p 1 >/dev/null 2>&1
kill -INT "$burst"; wait "$burst"; burst_rc=$?
sum=$(grep '^{"event":"summary"' "$tmp/burst.json")
if [ "$burst_rc" = 0 ] && [ "$(num produced)" -ge 3000 ] && [ "$(num dropped)" = 0 ] &&
   [ "$(num delivered)" = "$(num produced)" ] && ! grep -q "dropped in the last" "$tmp/burst.err"; then
	ok "default options: a burst of 1500 pairs, $(num delivered) records, none dropped"
else
	not_ok "default options: a burst of 1500 pairs, none dropped" "exit $burst_rc" "$sum" \
		"$(cat "$tmp/burst.err")"
fi

# While records are dropped, stderr says so (once a second), not only at
# exit: a stopped consumer (^Z), a burst into a 4 KiB ring, then it
# resumes (fg), and goes on until told to stop
"$tool" trace --json --ringbuf-kib 4 >"$tmp/storm.json" 2>"$tmp/storm.err" &
storm=$!
tracing_started "$tmp/storm.err"
kill -STOP "$storm"
"$workload" --device -n 300 -p 1 >/dev/null 2>&1
sleep 1.2
kill -CONT "$storm"
i=0
while ! grep -q "dropped in the last" "$tmp/storm.err" && [ $i -lt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
kill -INT "$storm"; wait "$storm"; storm_rc=$?
sum=$(grep '^{"event":"summary"' "$tmp/storm.json")
line=$(grep "dropped in the last" "$tmp/storm.err" | head -1)
reported=$(echo "$line" | sed -n 's/^trace: \([0-9]*\) of [0-9]* records dropped.*/\1/p')
if [ "$storm_rc" = 0 ] && [ -n "$reported" ] && [ "$reported" -gt 0 ] && [ -n "$sum" ] &&
   [ "$reported" -le "$(num dropped)" ] && echo "$line" | grep -q "iommufd-bpf top"; then
	ok "a storm: stderr reports $reported dropped records while it happens"
else
	not_ok "a storm: stderr reports the drops while it happens" "exit $storm_rc" "$sum" \
		"$(cat "$tmp/storm.err")"
fi

# -e loads only what it asks for: events left out are not even counted
"$tool" trace --json -e ioas_map >"$tmp/only.json" 2>"$tmp/only.err" &
only=$!
tracing_started "$tmp/only.err"
"$workload" --device -n 20 -p 1 >/dev/null 2>&1
kill -INT "$only"; wait "$only"; only_rc=$?
sum=$(grep '^{"event":"summary"' "$tmp/only.json")
if [ "$only_rc" = 0 ] && [ "$(num produced)" = 20 ] && [ "$(num delivered)" = 20 ] &&
   [ "$(num filtered)" = 0 ]; then
	ok "-e ioas_map: only the map program runs (20 produced, none filtered)"
else
	not_ok "-e ioas_map: only the map program runs" "exit $only_rc" "$sum"
fi

echo "=== BEGIN ARTIFACT trace.json ==="
cat "$tmp/trace.json"
echo "=== END ARTIFACT trace.json ==="
echo "=== BEGIN ARTIFACT workload.out ==="
cat "$tmp/workload.out"
echo "=== END ARTIFACT workload.out ==="

rm -rf "$tmp"
tap_end
