#!/bin/sh
# The exporter at the size of a busy host: CONTEXTS live contexts (default
# 1000), each with 4 IOASes and 2 mock devices doing maps, under
# 'iommufd-bpf metrics'. Prints one flat JSON object:
#   scale.contexts          live contexts the page showed
#   scale.scrape_ms         guest time to serve one full /metrics page
#                           (median of 5)
#   scale.page_bytes        its size
#   scale.bpf_map_bytes_2cpu, scale.bpf_map_bytes_256cpu
#                           the tables' kernel memory on such hosts,
#                           computed from the maps' definitions
#
#   scale.sh [CONTEXTS]
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
churn=${CHURN:-/opt/iommufd-bpf/tests/context_churn}
contexts=${1:-1000}
port=9468
tmp=$(mktemp -d)

"$tool" metrics --listen 127.0.0.1:$port >/dev/null 2>"$tmp/metrics.err" &
exporter=$!
i=0
while ! grep -q Serving "$tmp/metrics.err" 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.1; i=$((i + 1))
done
"$churn" --hold "$contexts" --ioas 4 --devices 2 --maps 1 0 >"$tmp/churn.out" 2>&1 &
churner=$!
i=0
while ! grep -q "^done " "$tmp/churn.out" 2>/dev/null && [ $i -lt 6000 ]; do
	sleep 0.1; i=$((i + 1))
done
pid=$(sed -n 's/^pid=\([0-9]*\) held.*/\1/p' "$tmp/churn.out")

for i in 1 2 3 4 5; do
	curl -sf -o "$tmp/page" -w '%{time_total}\n' \
		http://127.0.0.1:$port/metrics >>"$tmp/times"
done
ms=$(sort -n "$tmp/times" | sed -n 3p | awk '{ printf "%.1f", $1 * 1000 }')
live=$(grep -F "iommufd_ioas_maps_total{ctx=" "$tmp/page" | grep -F "owner=\"$pid\"" |
	sed 's/{ctx="\([0-9]*\)".*/\1/' | sort -u | wc -l)
bytes=$(wc -c <"$tmp/page")
m2=$("$tool" metrics --memory=2 | sed 's/ bytes.*//')
m256=$("$tool" metrics --memory=256 | sed 's/ bytes.*//')

kill -TERM "$churner"; wait "$churner"
kill -INT "$exporter"; wait "$exporter"
rm -rf "$tmp"
printf '{"scale.contexts":%s,"scale.scrape_ms":%s,"scale.page_bytes":%s,' \
	"$live" "$ms" "$bytes"
printf '"scale.bpf_map_bytes_2cpu":%s,"scale.bpf_map_bytes_256cpu":%s}\n' \
	"$m2" "$m256"
