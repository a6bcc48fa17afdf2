#!/bin/sh
# A real device on a kernel without the series: the edu device behind the
# emulated VT-d, bound through its VFIO cdev as a VMM binds it, attached to
# an IOAS (an automatic HWPT), two pages mapped one at a time and unmapped
# with one call, then detached. trace and top take their fallbacks
# (fentry/fexit on iommufd's functions, VFIO's calls into them) and must
# report exactly what the workload did, under the process that did it.
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
workload=${EDU_WORKLOAD:-/opt/iommufd-bpf/tests/edu_workload}
tmp=$(mktemp -d)
. "$(dirname "$0")/tap.sh"

echo "TAP version 13"
start_bg trace "Tracing" "$tool" trace --json
trace=$bg
start_bg top "Counting" "$tool" top --json -a 60s 1
top=$bg
"$workload" -n 2 >"$tmp/wl.out" 2>&1 || not_ok "the edu workload ran" "$(cat "$tmp/wl.out")"
kill -INT "$top"; wait "$top"; trc=$?
kill -INT "$trace"; wait "$trace"
pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$tmp/wl.out")
dev=$(sed -n 's/.* dev=\([0-9]*\) .*/\1/p' "$tmp/wl.out")
ioas=$(sed -n 's/.* ioas=\([0-9]*\) .*/\1/p' "$tmp/wl.out")
hwpt=$(sed -n 's/.* hwpt=\([0-9]*\)$/\1/p' "$tmp/wl.out")
grep -q "reduced mode: this kernel lacks the iommufd-bpf series" "$tmp/trace.err" &&
	ok "trace says it runs in a reduced mode" ||
	not_ok "trace says it runs in a reduced mode" "$(head -2 "$tmp/trace.err")"

# records EVENT PATTERN...: the workload's records of EVENT matching all
records() {
	ev=$1; shift
	grep "\"event\":\"$ev\"" "$tmp/trace.out" |
		grep "\"owner_tgid\":$pid,\"tgid\":$pid,.*\"ctx\":null," > "$tmp/sel"
	for p in "$@"; do grep -- "$p" "$tmp/sel" > "$tmp/sel2"; mv "$tmp/sel2" "$tmp/sel"; done
	wc -l < "$tmp/sel" | tr -d ' '
}
check_eq "trace: the attach, with its device, HWPT and IOAS" \
	"$(records device_attach "\"ret\":0," "\"dev_id\":$dev," "\"hwpt_id\":$hwpt," "\"ioas_id\":$ioas," "\"pasid\":0")" 1
check_eq "trace: the maps of a page each" \
	"$(records ioas_map "\"ret\":0," "\"ioas_id\":$ioas," "\"iova\":10[45][0-9]*," "\"length\":4096," "\"done\":4096," "\"flags\":7," '"duration_ns":[1-9]')" 2
check_eq "trace: the unmap of both" \
	"$(records ioas_unmap "\"ret\":0," "\"ioas_id\":$ioas," "\"iova\":1048576," "\"length\":8192," "\"done\":8192,")" 1
check_eq "trace: the detach, from the HWPT it leaves" \
	"$(records device_detach "\"dev_id\":$dev," "\"hwpt_id\":$hwpt," "\"ioas_id\":$ioas,")" 1
check_eq "trace: nothing else of the workload" \
	"$(grep -c "\"owner_tgid\":$pid," "$tmp/trace.out")" 5
if grep -q '"event":"summary",.*"dropped":0,.*"seq_gaps":0' "$tmp/trace.out"; then
	ok "trace: nothing lost"
else
	not_ok "trace: nothing lost" "$(tail -1 "$tmp/trace.out")"
fi
[ "$fail" = 0 ] || cat "$tmp/wl.out" "$tmp/trace.err" "$tmp/trace.out" | sed 's/^/# /'

check_eq "top exits 0 on SIGINT" "$trc" 0
sum() { # FIELD: over the workload's IOAS rows
	grep '"row":"ioas"' "$tmp/top.out" | grep "\"owner_tgid\":$pid," |
		sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}
check_eq "top: two maps" "$(sum maps)" 2
check_eq "top: one unmap" "$(sum unmaps)" 1
check_eq "top: bytes mapped and unmapped" "$(sum map_bytes)/$(sum unmap_bytes)" 8192/8192
check_eq "top: no errors" "$(sum errors)" 0
rm -rf "$tmp"
tap_end
