#!/bin/sh
# iommufd-bpf dirty and forecast as a user meets them, in the guest: the
# forecast against figures computed by hand, usage errors, the mock demo's
# JSON (the BPF aggregate must equal every bitmap), and one process
# watching another's harvests. Prints TAP and a "# Totals:" line.
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
tmp=$(mktemp -d)
. "$(dirname "$0")/tap.sh"

# json_field NAME < line: a number or word field of a flat JSON line
json_field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }

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
expect_exit 2 "mock size must be whole 2 MiB" "--mock: '3M' is not a multiple of 2MiB" -- "$tool" dirty --mock 3M
expect_exit 2 "bad pattern is named" "--pattern: 'hot:0%' is not" -- "$tool" dirty --mock 64M --pattern hot:0%
expect_exit 2 "page size must be a power of two" "--page-size: '12K' is not a power of two" -- \
	"$tool" dirty --mock 64M --page-size 12K
expect_exit 2 "--mock and --pid exclude each other" "--mock makes its own HWPT" -- "$tool" dirty --mock 64M -p 1
expect_exit 2 "--top is bounded" "--top: '17' is not a number from 0 to 16" -- "$tool" dirty --top 17
expect_exit 2 "bad interval is named" "interval: '0s' is not a duration" -- "$tool" dirty 0s
expect_exit 2 "bad duration is named" "invalid duration '0s'" -- "$tool" dirty -d 0s
expect_exit 1 "unprivileged dirty names the missing capabilities" "needs CAP_BPF and CAP_PERFMON" -- \
	/opt/iommufd-bpf/tests/run_unprivileged "$tool" dirty --mock 64M 1s 1

# The demo: every iteration's BPF count equals the bitmap's
expect_exit 0 "dirty --mock runs 3 iterations" '"type":"summary","iterations":3' -- \
	"$tool" dirty --mock 32M --rate 8MiB/s --json 500ms 3
cp "$tmp/out" "$tmp/mock.json"
iters=$(grep -c '"type":"iteration"' "$tmp/mock.json")
bad=0 total=0
while read -r line; do
	d=$(echo "$line" | json_field dirty_pages)
	b=$(echo "$line" | json_field bpf_pages)
	[ "$d" = "$b" ] || bad=$((bad + 1))
	total=$((total + d))
done <<EOT
$(grep '"type":"iteration"' "$tmp/mock.json")
EOT
if [ "$iters" = 3 ] && [ "$bad" = 0 ] && [ "$total" -gt 0 ] &&
   grep -q '"bpf_mismatches":0' "$tmp/mock.json"; then
	ok "dirty --mock: BPF pages equal bitmap pages ($total pages)"
else
	not_ok "dirty --mock: BPF pages equal bitmap pages" "iterations $iters, mismatches $bad, pages $total" \
		"$(head -2 "$tmp/mock.json")"
fi
written=$(json_field pages_written < "$tmp/mock.json")
harvested=$(json_field pages_harvested < "$tmp/mock.json")
if [ "${harvested:-0}" -gt 0 ] && [ "$harvested" -le "${written:-0}" ]; then
	ok "dirty --mock: harvested $harvested of $written pages written"
else
	not_ok "dirty --mock: harvested no more than written" "harvested $harvested, written $written"
fi
expect_exit 0 "dirty --mock text names the hottest regions and the forecast" "hottest of .* regions" -- \
	"$tool" dirty --mock 16M --rate 4MiB/s --pattern hot:25% 500ms 1
grep -q "forecast at .*converge" "$tmp/out" && ok "dirty text has a forecast line" ||
	not_ok "dirty text has a forecast line" "$(cat "$tmp/out")"

# Watching: another process's harvests (1 initial + 2), as they happen
"$tool" dirty --json 1s 3 >"$tmp/watch.json" 2>"$tmp/watch.err" &
watcher=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
	grep -q "watching" "$tmp/watch.err" 2>/dev/null && break
	sleep 1
done
"$tool" dirty --mock 16M --rate 4MiB/s --json 500ms 2 >"$tmp/demo.json" 2>/dev/null
wait "$watcher"; wrc=$?
w2=$(grep '"iteration":2,' "$tmp/watch.json" | json_field dirty_pages)
w3=$(grep '"iteration":3,' "$tmp/watch.json" | json_field dirty_pages)
d1=$(grep '"iteration":1,' "$tmp/demo.json" | json_field dirty_pages)
d2=$(grep '"iteration":2,' "$tmp/demo.json" | json_field dirty_pages)
if [ "$wrc" = 0 ] && [ -n "$w2" ] && [ "$w2" = "$d1" ] && [ "$w3" = "$d2" ]; then
	ok "watching another process sees its harvests ($d1, $d2 pages)"
else
	not_ok "watching another process sees its harvests" "watcher exit $wrc: $w2 $w3 vs demo $d1 $d2" \
		"$(cat "$tmp/watch.err")"
fi

# Watching someone else: the mock's harvests are filtered, and counted
"$tool" dirty -p 1 --json -d 6s >"$tmp/none.json" 2>"$tmp/none.err" &
watcher=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
	grep -q "watching" "$tmp/none.err" 2>/dev/null && break
	sleep 1
done
"$tool" dirty --mock 16M --rate 4MiB/s --json 300ms 2 >/dev/null 2>&1
wait "$watcher"; wrc=$?
if [ "$wrc" = 0 ] && [ ! -s "$tmp/none.json" ] &&
   grep -q "harvests produced 3, delivered 0, dropped 0, filtered 3" "$tmp/none.err"; then
	ok "-p filters other processes' harvests out, and counts them"
else
	not_ok "-p filters other processes' harvests out, and counts them" "exit $wrc" \
		"$(cat "$tmp/none.err")" "$(head -2 "$tmp/none.json")"
fi

rm -rf "$tmp"
tap_end
