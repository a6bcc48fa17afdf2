#!/bin/sh
# Tables that forget the dead: 10,000 contexts come and go (each with an
# IOAS, a mock device and two maps) beside three that stay, while
# 'iommufd-bpf metrics' is scraped every second. Every context's final
# values are published exactly once, nothing is lost, the kernel's tables
# end up holding only the three live contexts, and those are exact. Then
# a page of megabytes against a client that does not read it.
# Prints TAP and a kselftest-style "# Totals:" line.
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
churn=${CHURN:-/opt/iommufd-bpf/tests/context_churn}
count=${CHURN_CONTEXTS:-10000}
port=9467
tmp=$(mktemp -d)
. "$(dirname "$0")/tap.sh"

echo "TAP version 13"
"$tool" metrics --listen 127.0.0.1:$port >"$tmp/metrics.out" 2>"$tmp/metrics.err" &
exporter=$!
i=0
while ! grep -q Serving "$tmp/metrics.err" 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done

t0=$(date +%s)
"$churn" --hold 3 --keep-mapped --ioas 1 --devices 1 --maps 2 "$count" >"$tmp/churn.out" 2>&1 &
churner=$!
# Scrape every second until the churn is done, then twice more: the first
# of those publishes the last contexts to go, the second shows what stays
scrapes=0
scrape() {
	scrapes=$((scrapes + 1))
	curl -sf -o "$tmp/page.$scrapes" http://127.0.0.1:$port/metrics ||
		echo "scrape $scrapes failed" >>"$tmp/scrape.err"
}
while ! grep -q "^done " "$tmp/churn.out" && kill -0 "$churner" 2>/dev/null; do
	scrape
	sleep 1
done
t1=$(date +%s)
scrape
scrape
pid=$(sed -n 's/^pid=\([0-9]*\) held.*/\1/p' "$tmp/churn.out")
if grep -q "^done contexts=$count " "$tmp/churn.out"; then
	ok "$count contexts created and released in $((t1 - t0)) s, $scrapes scrapes"
else
	not_ok "$count contexts created and released" "$(cat "$tmp/churn.out")"
fi

# The last value of every context's maps series over the pages in order:
# each must reach its final count (2; the held ones map a third time) and
# none may go missing
check() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then ok "$1 ($2)"; else not_ok "$1" "got '$2', want '$3'"; fi
}
check "every scrape answered" "$(cat "$tmp/scrape.err" 2>/dev/null)" ""
pages=$(i=1; while [ $i -le $scrapes ]; do echo "$tmp/page.$i"; i=$((i + 1)); done)
# shellcheck disable=SC2086
grep -hF "iommufd_ioas_maps_total{ctx=" $pages | grep -F "owner=\"$pid\"" |
	awk -F'"' '{ v = $NF; sub(/.* /, "", v); last[$2] = v + 0 }
		END {
			for (c in last) {
				seen++; total += last[c]; if (last[c] < 2) short++
			}
			printf "%d %d %d\n", seen, total, short
		}' >"$tmp/sums"
read -r seen total short <"$tmp/sums"
check "every context was published" "$seen" $((count + 3))
# The held contexts map once more, and keep it
check "every context's final maps were published" "$total" $((2 * count + 3 * 3))
check "no context was published short" "$short" 0

final=$tmp/page.$scrapes
sample() { # FAMILY{LABELS}
	grep "^$1" "$final" | sed 's/.* //'
}
check "the last page: only the live contexts' series" \
	"$(grep -c "^iommufd_ioas_maps_total{ctx=\"[0-9]*\",owner=\"$pid\"" "$final")" 3
check "the live contexts are exact" \
	"$(grep "^iommufd_ioas_maps_total{ctx=\"[0-9]*\",owner=\"$pid\"" "$final" | sed 's/.* //' | sort -u)" 3
check "the live contexts' pinned page each" \
	"$(sample "iommufd_context_pinned_bytes_delta{owner=\"$pid\"")" $((3 * 4096))
check "kernel table: live IOAS rows" "$(sample 'iommufd_exporter_table_rows{table="ioas"}')" 3
# map and unmap latency, per live context
check "kernel table: live histogram rows" "$(sample 'iommufd_exporter_table_rows{table="hist"}')" 6
lost=$(grep '^iommufd_exporter_lost_updates_total' "$final" | grep -v ' 0$')
check "nothing lost, in any table" "$lost" ""

# The tables' memory, as the kernel accounts it for the exporter's maps,
# is what the exporter publishes and what --memory computes beforehand
memlock=0
for f in /proc/$exporter/fdinfo/*; do
	grep -q '^map_type' "$f" 2>/dev/null || continue
	memlock=$((memlock + $(sed -n 's/^memlock:[[:space:]]*//p' "$f")))
done
check "BPF map memory: the kernel's account" "$(sample iommufd_exporter_bpf_map_bytes)" "$memlock"
check "BPF map memory: --memory computes it unloaded" \
	"$("$tool" metrics --memory | sed 's/ bytes.*//')" "$memlock"

# A page of megabytes (300 more contexts of 4 IOASes) and a client that
# takes it at 1 KiB/s, so the exporter's socket fills: a scrape beside it
# is served at once, the slow one is dropped at its 5 s deadline, and
# SIGTERM during a second such transfer ends the exporter within a second
"$churn" --hold 300 --ioas 4 --devices 1 --maps 1 0 >"$tmp/big.out" 2>&1 &
big=$!
i=0
while ! grep -q "^done " "$tmp/big.out" 2>/dev/null && [ $i -lt 1200 ]; do
	sleep 0.1; i=$((i + 1))
done
uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
curl -s --limit-rate 1k -o /dev/null http://127.0.0.1:$port/metrics &
slow=$!
sleep 1
t0=$(uptime_ms)
curl -sf -m 4 -o "$tmp/beside" http://127.0.0.1:$port/metrics; rc=$?
t1=$(uptime_ms)
size=$(wc -c <"$tmp/beside")
if [ "$rc" = 0 ] && [ "$size" -gt 1000000 ]; then
	ok "a $size-byte page is served beside a client not reading one ($((t1 - t0)) ms)"
else
	not_ok "a large page is served beside a client not reading one" "curl exit $rc, $size bytes"
fi
# Past its 5 s the slow client is dropped (reset: the exporter keeps
# nothing queued for it; what its own socket already holds, it may read)
sleep 5
curl -sf -o "$tmp/after" http://127.0.0.1:$port/metrics
check "the client not reading is dropped at its deadline" \
	"$(sed -n 's/^iommufd_exporter_scrapes_dropped_total{why="deadline"} //p' "$tmp/after")" 1
kill "$slow" 2>/dev/null; wait "$slow"
# SIGTERM 0.2 s into the scrape: the page (megabytes, a second or more to
# build under TCG) is still being built, or already being sent
curl -s --limit-rate 1k -o /dev/null http://127.0.0.1:$port/metrics &
slow=$!
sleep 0.2
t0=$(uptime_ms)
kill -TERM "$exporter"; wait "$exporter"; rc=$?
t1=$(uptime_ms)
if [ "$rc" = 0 ] && [ $((t1 - t0)) -lt 1000 ]; then
	ok "SIGTERM while a large page is built or sent ends the exporter in $((t1 - t0)) ms, exit 0"
else
	not_ok "SIGTERM while a large page is built or sent ends the exporter within a second" \
		"exit $rc after $((t1 - t0)) ms"
fi
kill "$slow" 2>/dev/null; wait "$slow"
kill -TERM "$big" "$churner"; wait "$big"; wait "$churner"
rm -rf "$tmp"
tap_end
