#!/bin/sh
# iommufd-bpf dirty and forecast as a user meets them, in the guest: the
# forecast against figures computed by hand, usage errors (the tool's, and
# those of dirty_vmm, the VMM-shaped mock workload that owns the device
# model's options), and the tool watching dirty_vmm's harvests: what the
# kernel side counted of each harvest must equal the bitmap dirty_vmm got.
# Prints TAP and a "# Totals:" line.
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
vmm_bin=${DIRTY_VMM:-/opt/iommufd-bpf/tests/dirty_vmm}
tmp=$(mktemp -d)
. "$(dirname "$0")/tap.sh"

. "$(dirname "$0")/dirty_watch.sh"

echo "TAP version 13"

# Pass 1 sends 1 GiB in 1 s and leaves 100 MiB dirty; pass 2 sends it in
# 1/10.24 s, leaving 100 MiB / 10.24; pass 3 leaves 100 MiB / 10.24^2 =
# 1000000 bytes, under 1 GiB/s x 2 ms = 2147483.648: three passes, and
# 1000000 / 2^30 s = 931323 ns of downtime.
expect_exit 0 "forecast: three passes, by hand" '"passes":3,"final_bytes":1000000,"downtime_ns":931323' -- \
	"$tool" forecast --memory 1G --rate 100MiB/s --bandwidth 1GiB/s --downtime 2ms --json
# 200 ms of downtime takes the 100 MiB left after pass 1
expect_exit 0 "forecast: one pass when the downtime allows" '"passes":1,"final_bytes":104857600' -- \
	"$tool" forecast --memory 1G --rate 100MiB/s --bandwidth 1GiB/s --downtime 200ms --json
# 8 Gbit/s is 10^9 bytes/s: pass 1 takes 1.073741824 s at 10^8 bytes/s
expect_exit 0 "forecast: link speed in decimal bits" '"passes":1,"final_bytes":107374182' -- \
	"$tool" forecast --memory 1G --rate 100000000 --bandwidth 8Gbit --downtime 200ms --json
expect_exit 0 "forecast: an idle device converges at once" '"passes":1,"final_bytes":0,' -- \
	"$tool" forecast --memory 1G --rate 0 --json
expect_exit 1 "forecast: a device faster than the link never converges" \
	"will not converge: device dirties 2147483648 bytes/s, link sends 1073741824 bytes/s" -- \
	"$tool" forecast --memory 1G --rate 2GiB/s --bandwidth 1GiB/s
expect_exit 1 "forecast: a slow shrink stops at the pass limit" "will not converge within 30 passes" -- \
	"$tool" forecast --memory 1T --rate 1000MiB/s --bandwidth 1001MiB/s --downtime 1ms

expect_exit 0 "dirty --help teaches with examples" "EXAMPLES" -- "$tool" dirty --help
expect_exit 0 "forecast --help explains the model" "Pass 1 sends all memory" -- "$tool" forecast --help
expect_exit 2 "forecast needs memory and rate" "--memory and --rate are required" -- "$tool" forecast --rate 1G
expect_exit 2 "bad link speed is named" "--bandwidth: '10Gbits' is not a link speed" -- \
	"$tool" forecast --memory 1G --rate 1M --bandwidth 10Gbits
expect_exit 2 "bad size is named" "--memory: '1Q' is not a size" -- "$tool" forecast --memory 1Q --rate 1M
expect_exit 2 "dirty no longer drives the selftest mock" "unrecognized option '--mock'" -- "$tool" dirty --mock 64M
expect_exit 2 "--top is bounded" "--top: '17' is not a number from 0 to 16" -- "$tool" dirty --top 17
expect_exit 2 "bad count is named" "count: '1s' is not a positive number" -- "$tool" dirty 1s
expect_exit 2 "bad duration is named" "invalid duration '0s'" -- "$tool" dirty -d 0s
expect_exit 1 "unprivileged dirty names the missing capabilities" "needs CAP_BPF and CAP_PERFMON" -- \
	/opt/iommufd-bpf/tests/run_unprivileged "$tool" dirty 1

expect_exit 0 "dirty_vmm --help shows how to watch it" "iommufd-bpf dirty -p" -- "$vmm_bin" --help
expect_exit 2 "mock size must be whole 2 MiB" "size: '3M' is not a multiple of 2MiB" -- "$vmm_bin" 3M
expect_exit 2 "bad pattern is named" "--pattern: 'hot:0%' is not" -- "$vmm_bin" --pattern hot:0% 64M
expect_exit 2 "page size must be a power of two" "--page-size: '12K' is not a power of two" -- \
	"$vmm_bin" --page-size 12K 64M
expect_exit 2 "bad interval is named" "interval: '0s' is not a duration" -- "$vmm_bin" 64M 0s
expect_exit 2 "dirty_vmm needs a size" "a SIZE of IOVA to map is required" -- "$vmm_bin"

# A stop and continue (^Z, fg) does not end the watcher: Ctrl-C does
start_watcher "$tmp/stopped.txt" -d 60s
kill -STOP "$watcher"; kill -CONT "$watcher"
sleep 0.5
if kill -0 "$watcher" 2>/dev/null; then alive=yes; else alive=no; fi
kill -INT "$watcher"; wait "$watcher"; src=$?
if [ "$alive" = yes ] && [ "$src" = 0 ]; then
	ok "dirty goes on after a stop and continue, ends on SIGINT"
else
	not_ok "dirty goes on after a stop and continue" "alive after SIGCONT: $alive, exit $src" \
		"$(cat "$tmp/stopped.txt.err")"
fi

# Harvest 0 and 3 more, each counted twice: by the BPF side from the
# driver's dirty runs (the watcher) and from the bitmap (dirty_vmm). 32 MiB
# is 16 regions of 2 MiB, so --top 16 lists every dirty one.
start_vmm "$tmp/vmm.json" --rate 8MiB/s --json 32M 500ms 3
start_watcher "$tmp/watch.json" -p "$vmm" --top 16 --json -d 60s 4
echo > "$tmp/go"
wait "$vmm"; vrc=$?
wait "$watcher"; wrc=$?
if [ "$vrc" = 0 ] && grep -q '"type":"summary","iterations":3' "$tmp/vmm.json"; then
	ok "dirty_vmm harvests 3 times after harvest 0"
else
	not_ok "dirty_vmm harvests 3 times after harvest 0" "exit $vrc" "$(cat "$tmp/vmm.json.err")" \
		"$(tail -1 "$tmp/vmm.json")"
fi
bad=0 bad_regions=0 total=0
for i in 0 1 2 3; do
	# The watcher numbers from 1, and sees only dirty_vmm's HWPT
	v=$(grep "\"iteration\":$i," "$tmp/vmm.json" | json_field dirty_pages)
	line=$(grep "\"iteration\":$((i + 1))," "$tmp/watch.json")
	w=$(echo "$line" | json_field dirty_pages)
	owner=$(echo "$line" | json_field owner_tgid)
	regions=$(echo "$line" | grep -o '"pages":[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')
	if [ -z "$v" ] || [ "$v" != "$w" ] || [ "$owner" != "$vmm" ]; then
		bad=$((bad + 1))
		echo "# harvest $i: dirty_vmm's bitmap ${v:-?} pages, the watcher ${w:-?} (owner ${owner:-?}, pid $vmm)"
	fi
	[ "$regions" = "${v:-?}" ] || bad_regions=$((bad_regions + 1))
	total=$((total + ${v:-0}))
done
if [ "$wrc" = 0 ] && [ "$bad" = 0 ] && [ "$total" -gt 0 ]; then
	ok "dirty -p: the kernel's count of each harvest equals its bitmap ($total pages)"
else
	not_ok "dirty -p: the kernel's count of each harvest equals its bitmap" \
		"watcher exit $wrc, $bad of 4 harvests differ, $total pages" "$(cat "$tmp/watch.json.err")"
fi
if [ "$bad" = 0 ] && [ "$bad_regions" = 0 ]; then
	ok "dirty -p: per region too"
else
	not_ok "dirty -p: per region too" "$bad_regions of 4 harvests' regions do not add up to the bitmap" \
		"$(head -2 "$tmp/watch.json")"
fi
# A rate needs a window: the first harvest seen has neither rate nor forecast
if grep '"iteration":1,' "$tmp/watch.json" | grep -q '"dirty_rate_bps":null,.*"forecast":null}' &&
   grep '"iteration":2,' "$tmp/watch.json" | grep -q '"dirty_rate_bps":[0-9]*,.*"forecast":{"bandwidth_bps"'; then
	ok "dirty -p: no rate nor forecast before a HWPT's second harvest"
else
	not_ok "dirty -p: no rate nor forecast before a HWPT's second harvest" "$(head -2 "$tmp/watch.json")"
fi
if grep -q "harvests produced 4, delivered 4, dropped 0, filtered 0" "$tmp/watch.json.err"; then
	ok "dirty -p accounts for every harvest"
else
	not_ok "dirty -p accounts for every harvest" "$(cat "$tmp/watch.json.err")"
fi
written=$(grep '"type":"summary"' "$tmp/vmm.json" | json_field pages_written)
harvested=$(grep '"type":"summary"' "$tmp/vmm.json" | json_field pages_harvested)
if [ "${harvested:-0}" -gt 0 ] && [ "$harvested" -le "${written:-0}" ]; then
	ok "dirty_vmm: harvested $harvested of $written pages written"
else
	not_ok "dirty_vmm: harvested no more than written" "harvested $harvested, written $written"
fi

# Text, watching every process: the hottest regions and the forecast
start_watcher "$tmp/text.out" -d 60s 2
"$vmm_bin" --rate 4MiB/s --pattern hot:25% 16M 500ms 1 >"$tmp/vmm.txt" 2>&1; vrc=$?
wait "$watcher"; wrc=$?
if [ "$wrc" = 0 ] && grep -q "hottest of .* regions" "$tmp/text.out"; then
	ok "dirty text names the hottest regions"
else
	not_ok "dirty text names the hottest regions" "exit $wrc" "$(cat "$tmp/text.out" "$tmp/text.out.err")"
fi
grep -q "forecast at .*converge" "$tmp/text.out" && ok "dirty text has a forecast line" ||
	not_ok "dirty text has a forecast line" "$(cat "$tmp/text.out")"
if [ "$vrc" = 0 ] && grep -q "^device model wrote [0-9]* pages; [0-9]* harvested dirty in 1 harvest$" "$tmp/vmm.txt"; then
	ok "dirty_vmm text sums up its harvests"
else
	not_ok "dirty_vmm text sums up its harvests" "exit $vrc" "$(cat "$tmp/vmm.txt")"
fi

# Watching someone else: dirty_vmm's harvests are filtered, and counted
start_watcher "$tmp/none.json" -p 1 --json -d 6s
"$vmm_bin" --rate 4MiB/s --json 16M 300ms 2 >/dev/null 2>&1
wait "$watcher"; wrc=$?
if [ "$wrc" = 0 ] && [ ! -s "$tmp/none.json" ] &&
   grep -q "harvests produced 3, delivered 0, dropped 0, filtered 3" "$tmp/none.json.err"; then
	ok "-p filters other processes' harvests out, and counts them"
else
	not_ok "-p filters other processes' harvests out, and counts them" "exit $wrc" \
		"$(cat "$tmp/none.json.err")" "$(head -2 "$tmp/none.json")"
fi

rm -rf "$tmp"
tap_end
