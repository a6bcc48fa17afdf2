#!/bin/sh
# top, hist and metrics where the series' events are missing: their
# fallback counts IOAS maps, unmaps and copies from fexit on the ioctl
# handlers. On the stock kernel (IOMMUFD_BPF_KERNEL=stock) it is what runs;
# on the series' kernel (=series) --fallback asks for it, and the series'
# own counts of the same workload are compared with it. Every count is
# checked against the workload; what the fallback cannot count must be
# null or left out, never 0. Prints TAP and a kselftest-style "# Totals:".
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
workload=${WORKLOAD:-/opt/iommufd-bpf/tests/iommufd_workload}
kernel=${IOMMUFD_BPF_KERNEL:?set IOMMUFD_BPF_KERNEL to series or stock}
tmp=$(mktemp -d)
. "$(dirname "$0")/tap.sh"

if [ "$kernel" = series ]; then
	fb=--fallback mode="--fallback:"
else
	fb= mode="reduced mode: this kernel lacks the iommufd-bpf series;"
fi

# The first line of a workload: pid, IOAS and second IOAS
pid_of() { sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$1"; }
ioas_of() { sed -n 's/^pid=[0-9]* ioas=\([0-9]*\) .*/\1/p' "$1"; }
copy_ioas_of() { sed -n 's/^pid=.* copy_ioas=\([0-9]*\).*/\1/p' "$1"; }

# sum FILE ROW FIELD PATTERN: total of FIELD over the JSON rows of kind ROW
# matching PATTERN
sum() {
	grep "\"row\":\"$2\"" "$1" | grep -- "$4" |
		sed -n "s/.*\"$3\":\([0-9]*\).*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}

echo "TAP version 13"

# 1. Two tenants at once, each with its own context whose first IOAS has
# the same id. One interval ended by SIGINT once both closed: every row
# then comes from the contexts' release, so the counts are right only if
# retiring keeps them.
start_bg top "Counting" "$tool" top $fb --json 60s 1
top=$bg
# pid 1 holds no iommufd context: -p 1 counts nothing of theirs
start_bg none "Counting" "$tool" top $fb --json -p 1 60s 1
none=$bg
if [ "$kernel" = series ]; then
	start_bg stop "Counting" "$tool" top --json 60s 1
	stop=$bg
fi
"$workload" -n 7 -p 2 >"$tmp/a.out" 2>&1 &
a=$!
"$workload" --device -n 5 -p 1 --copy 2 --faults 3 --destroy-copy --linger 500 >"$tmp/b.out" 2>&1
wait "$a"
kill -INT "$top"; wait "$top"; rc=$?
kill -INT "$none"; wait "$none"; nrc=$?
check_eq "top $fb exits 0 on SIGINT" "$rc" 0
check_eq "top -p 1: the tenants' operations are not counted" \
	"$nrc/$(grep -c '"row"' "$tmp/none.out")" 0/0
if grep -q "^iommufd-bpf top: $mode counts IOAS maps, unmaps and copies.*; missing: domain unmaps, IOTLB" "$tmp/top.err"; then
	ok "top says once what it counts and what is missing"
else
	not_ok "top says once what it counts and what is missing" "$(head -2 "$tmp/top.err")"
fi
pa=$(pid_of "$tmp/a.out") pb=$(pid_of "$tmp/b.out")
db=$(sed -n 's/.* dev=\([0-9]*\) .*/\1/p' "$tmp/b.out")
ia=$(ioas_of "$tmp/a.out") ib=$(ioas_of "$tmp/b.out") cb=$(copy_ioas_of "$tmp/b.out")
check_eq "the two tenants' IOAS ids collide" "$ia" "$ib"
f="$tmp/top.out"
check_eq "A: maps" "$(sum "$f" ioas maps "\"owner_tgid\":$pa,.*\"ioas_id\":$ia,")" 7
check_eq "A: unmaps" "$(sum "$f" ioas unmaps "\"owner_tgid\":$pa,.*\"ioas_id\":$ia,")" 7
check_eq "A: bytes mapped" "$(sum "$f" ioas map_bytes "\"owner_tgid\":$pa,.*\"ioas_id\":$ia,")" $((7 * 8192))
check_eq "A: bytes unmapped" "$(sum "$f" ioas unmap_bytes "\"owner_tgid\":$pa,.*\"ioas_id\":$ia,")" $((7 * 8192))
check_eq "A: no errors" "$(sum "$f" ioas errors "\"owner_tgid\":$pa,")" 0
check_eq "B: maps" "$(sum "$f" ioas maps "\"owner_tgid\":$pb,.*\"ioas_id\":$ib,")" 5
check_eq "B: bytes mapped" "$(sum "$f" ioas map_bytes "\"owner_tgid\":$pb,.*\"ioas_id\":$ib,")" $((5 * 4096))
check_eq "B: copies into its second IOAS" "$(sum "$f" ioas copies "\"owner_tgid\":$pb,.*\"ioas_id\":$cb,")" 2
check_eq "B: bytes copied" "$(sum "$f" ioas copy_bytes "\"owner_tgid\":$pb,.*\"ioas_id\":$cb,")" $((2 * 4096))
check_eq "B: the copies unmapped there" "$(sum "$f" ioas unmaps "\"owner_tgid\":$pb,.*\"ioas_id\":$cb,")" 2
check_eq "B: the failed copy is its one error" "$(sum "$f" ioas errors "\"owner_tgid\":$pb,.*\"ioas_id\":$cb,")" 1
check_eq "the context rows sum their IOAS" \
	"$(sum "$f" ctx maps "\"owner_tgid\":$pa,")/$(sum "$f" ctx copies "\"owner_tgid\":$pb,")" 7/2
ctxa=$(grep "\"row\":\"ioas\".*\"owner_tgid\":$pa," "$f" | sed -n 's/.*"ctx":\([0-9]*\).*/\1/p' | sort -u)
ctxb=$(grep "\"row\":\"ioas\".*\"owner_tgid\":$pb," "$f" | sed -n 's/.*"ctx":\([0-9]*\).*/\1/p' | sort -u)
if [ -n "$ctxa" ] && [ -n "$ctxb" ] && [ "$ctxa" != "$ctxb" ] &&
   [ "$(echo "$ctxa" | wc -l)" = 1 ] && [ "$(echo "$ctxb" | wc -l)" = 1 ]; then
	ok "each context has one number of its own ($ctxa, $ctxb)"
else
	not_ok "each context has one number of its own" "A: $ctxa" "B: $ctxb"
fi
rows=$(grep -c '"row":"ioas"' "$f")
check_eq "IOAS rows: what is not counted is null, not 0" \
	"$(grep '"row":"ioas"' "$f" | grep -c '"domain_unmaps":null,"invalidations":null,"iotlb_waits":null,"iotlb_wait_ns":null}')" "$rows"
check_eq "B: I/O page fault groups of its device" "$(sum "$f" dev iopf_groups "\"owner_tgid\":$pb,.*\"dev_id\":$db,")" 3
check_eq "B: their answers" "$(sum "$f" dev iopf_answered "\"owner_tgid\":$pb,.*\"dev_id\":$db,")" 3
check_eq "context rows: DMA faults, PASIDs and pinned bytes are null" \
	"$(grep '"row":"ctx"' "$f" | grep -c '"iopf_groups":[0-9]*,"dma_faults":null,.*"pasids":null,"pinned_bytes":null}')" \
	"$(grep -c '"row":"ctx"' "$f")"
check_eq "device rows: DMA faults and PASIDs are null" \
	"$(grep '"row":"dev"' "$f" | grep -c '"dma_faults":null,"pasid_attaches":null,"pasid_detaches":null,"pasids":null}')" \
	"$(grep -c '"row":"dev"' "$f")"
if [ "$kernel" = series ]; then
	kill -INT "$stop"; wait "$stop"
	same=0 differ=
	for p in "$pa $ia" "$pb $ib" "$pb $cb"; do
		set -- $p
		for field in maps unmaps copies map_bytes unmap_bytes copy_bytes errors; do
			x=$(sum "$f" ioas $field "\"owner_tgid\":$1,.*\"ioas_id\":$2,")
			y=$(sum "$tmp/stop.out" ioas $field "\"owner_tgid\":$1,.*\"ioas_id\":$2,")
			if [ "$x" = "$y" ]; then same=$((same + 1)); else differ="$differ $1/$2/$field:$x!=$y"; fi
		done
	done
	for field in iopf_groups iopf_answered; do
		x=$(sum "$f" dev $field "\"owner_tgid\":$pb,.*\"dev_id\":$db,")
		y=$(sum "$tmp/stop.out" dev $field "\"owner_tgid\":$pb,.*\"dev_id\":$db,")
		if [ "$x" = "$y" ]; then same=$((same + 1)); else differ="$differ $pb/$db/$field:$x!=$y"; fi
	done
	check_eq "the series' counts of the same workload are the fallback's (23 fields)$differ" "$same" 23
fi

# 2. The table: '?' where the kernel cannot count
start_bg text "Counting" "$tool" top $fb 60s 1
"$workload" -n 3 -p 1 >"$tmp/c.out" 2>&1
kill -INT "$bg"; wait "$bg"
pc=$(pid_of "$tmp/c.out")
if grep -Eq "^ *$pc +[^ ]+ +ctx +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ [KMGT]?i?B +\? +\? +\? +\? +[0-9.]+ +\? +\? +\?$" "$tmp/text.out"; then
	ok "top's table: '?' in the seven columns it cannot count"
else
	not_ok "top's table: '?' in the seven columns it cannot count" "$(grep " $pc " "$tmp/text.out" | head -2)"
fi

# 3. hist: map, unmap and copy, timed from entry to exit of the handler;
# what failed is not timed
start_bg hist "Timing" "$tool" hist $fb --json --per-owner
"$workload" --device -n 4 -p 1 --copy 2 --faults 2 >"$tmp/d.out" 2>&1
kill -INT "$bg"; wait "$bg"; rc=$?
pd=$(pid_of "$tmp/d.out")
count_of() { grep "\"kind\":\"$1\",\"owner_tgid\":$pd," "$tmp/hist.out" | sed -n 's/.*"count":\([0-9]*\),.*/\1/p'; }
check_eq "hist $fb exits 0" "$rc" 0
check_eq "hist: maps timed" "$(count_of map)" 4
check_eq "hist: unmaps timed, those of the copies too" "$(count_of unmap)" 6
check_eq "hist: the copies that succeeded are timed" "$(count_of copy)" 2
check_eq "hist: faults, report to answer" "$(count_of fault)" 2
check_eq "hist: faults, report to the VMM's read" "$(count_of fault_queue)" 2
check_eq "hist: faults, read to answer" "$(count_of fault_handle)" 2
# A group's wait is its queue time plus its handling time, to the ns
sum_ns() { grep "\"kind\":\"$1\",\"owner_tgid\":$pd," "$tmp/hist.out" | sed -n 's/.*"sum_ns":\([0-9]*\).*/\1/p'; }
total=$(sum_ns fault) queue=$(sum_ns fault_queue) handle=$(sum_ns fault_handle)
if [ -n "$total" ] && [ "${queue:-0}" -gt 0 ] && [ "${handle:-0}" -gt 0 ] &&
   [ "$((queue + handle))" = "$total" ]; then
	ok "hist: fault waits split at the read, to the ns"
else
	not_ok "hist: fault waits split at the read, to the ns" \
		"fault '$total' ns, queue '$queue', handling '$handle'"
fi
check_eq "hist: only the kinds the fallback times" \
	"$(sed -n 's/.*"kind":"\([a-z_]*\)".*/\1/p' "$tmp/hist.out" | sort -u | tr '\n' ' ')" "copy fault fault_handle fault_queue map unmap "
expect_exit 1 "hist -k of kinds the fallback lacks names them" \
	"only map, unmap, copy, fault, fault_queue and fault_handle are timed, not invalidate, iotlb" -- \
	"$tool" hist $fb -k iotlb,invalidate -d 1s
expect_exit 0 "hist -k map,iotlb times map, and says iotlb is not" \
	"not timed without the series' events: iotlb" -- \
	"$tool" hist $fb -k map,iotlb -d 300ms

# 4. metrics: the families the fallback counts, and no others; iommufd's
# own answers (a group left unread when the device moves off its HWPT);
# rows go when their IOAS is destroyed and when their context is released
start_bg metrics "Writing" "$tool" metrics $fb --textfile "$tmp/m.prom" --interval 500ms
"$workload" --device -n 3 -p 1 --copy 1 --faults 2 --unanswered 1 --destroy-copy --linger 2500 >"$tmp/e.out" 2>&1 &
e=$!
wait_done() { i=0; while ! grep -q '^done' "$1" && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; }
wait_done "$tmp/e.out"
sleep 1.2
cp "$tmp/m.prom" "$tmp/during.prom"
wait "$e"
sleep 1.2
cp "$tmp/m.prom" "$tmp/after.prom"
kill -INT "$bg"; wait "$bg"; rc=$?
pe=$(pid_of "$tmp/e.out") ie=$(ioas_of "$tmp/e.out")
de=$(sed -n 's/.* dev=\([0-9]*\) .*/\1/p' "$tmp/e.out")
gauge() { sed -n "s/^iommufd_exporter_table_rows{table=\"$2\"} //p" "$1"; }
check_eq "metrics $fb exits 0" "$rc" 0
check_eq "metrics: maps of the live IOAS" \
	"$(grep "^iommufd_ioas_maps_total{ctx=\"[0-9]*\",owner=\"$pe\",comm=\"[^\"]*\",ioas=\"$ie\"} " "$tmp/during.prom" | sed 's/.* //')" 3
check_eq "metrics: map latency count" \
	"$(grep "^iommufd_operation_duration_seconds_count{ctx=\"[0-9]*\",owner=\"$pe\",comm=\"[^\"]*\",op=\"map\"} " "$tmp/during.prom" | sed 's/.* //')" 3
check_eq "metrics: fault groups of the device" \
	"$(grep "^iommufd_device_iopf_groups_total{ctx=\"[0-9]*\",owner=\"$pe\",comm=\"[^\"]*\",dev=\"$de\"} " "$tmp/during.prom" | sed 's/.* //')" 3
check_eq "metrics: answered success" \
	"$(grep "^iommufd_device_iopf_answers_total{ctx=\"[0-9]*\",owner=\"$pe\",comm=\"[^\"]*\",dev=\"$de\",code=\"success\"} " "$tmp/during.prom" | sed 's/.* //')" 2
check_eq "metrics: answered by iommufd, the group left unread" \
	"$(grep "^iommufd_device_iopf_answers_total{ctx=\"[0-9]*\",owner=\"$pe\",comm=\"[^\"]*\",dev=\"$de\",code=\"auto\"} " "$tmp/during.prom" | sed 's/.* //')" 1
check_eq "metrics: the unread group's wait is not a VMM's" \
	"$(grep "^iommufd_operation_duration_seconds_count{ctx=\"[0-9]*\",owner=\"$pe\",comm=\"[^\"]*\",op=\"fault\"} " "$tmp/during.prom" | sed 's/.* //')" 2
check_eq "metrics: the destroyed IOAS's row is gone, the live one stays" "$(gauge "$tmp/during.prom" ioas)" 1
check_eq "metrics: a released context leaves no row" \
	"$(gauge "$tmp/after.prom" ioas)/$(gauge "$tmp/after.prom" dev)/$(gauge "$tmp/after.prom" hist)" 0/0/0
missing=
for fam in iommufd_ioas_domain_unmaps iommufd_ioas_invalidations iommufd_ioas_iotlb_waits \
	   iommufd_device_dma_faults iommufd_device_pasid_attaches \
	   iommufd_context_pinned_bytes_delta; do
	grep -q "^# TYPE $fam\(_total\)\? " "$tmp/during.prom" && missing="$missing $fam"
done
check_eq "metrics: what the fallback cannot count is left out, not 0" "${missing:-none}" none
for fam in iommufd_ioas_maps iommufd_ioas_unmaps iommufd_ioas_copies iommufd_ioas_errors \
	   iommufd_device_iopf_groups iommufd_device_iopf_answers iommufd_operation_duration_seconds; do
	grep -q "^# TYPE $fam\(_total\)\? " "$tmp/during.prom" || missing="$missing $fam"
done
check_eq "metrics: what it counts is there" "${missing:-none}" none

# A device's row goes at its unbind, while its context lives on
start_bg unbind "Writing" "$tool" metrics $fb --textfile "$tmp/u.prom" --interval 500ms
"$workload" --device -n 1 -p 1 --faults 1 --destroy-device --linger 2500 >"$tmp/u.out" 2>&1 &
u=$!
wait_done "$tmp/u.out"
sleep 1.2
cp "$tmp/u.prom" "$tmp/unbound.prom"
wait "$u"
kill -INT "$bg"; wait "$bg"
check_eq "metrics: an unbound device leaves no row, its context's IOAS stays" \
	"$(gauge "$tmp/unbound.prom" dev)/$(gauge "$tmp/unbound.prom" ioas)" 0/1

# 5. Contexts that come and go: each is numbered, and forgotten with its
# rows when released; nothing is lost
start_bg churn "Writing" "$tool" metrics $fb --textfile "$tmp/churn.prom" --interval 500ms
i=0
while [ $i -lt 100 ]; do "$workload" -n 1 -p 1 >/dev/null 2>&1 || break; i=$((i + 1)); done
sleep 1.2
kill -INT "$bg"; wait "$bg"
check_eq "100 contexts came and went" "$i" 100
check_eq "no row of them remains" "$(gauge "$tmp/churn.prom" ioas)/$(gauge "$tmp/churn.prom" hist)" 0/0
check_eq "nothing was lost" \
	"$(sed -n 's/^iommufd_exporter_lost_updates_total{table="[a-z_]*"} //p' "$tmp/churn.prom" | sort -u | tr '\n' ' ')" "0 "

rm -rf "$tmp"
tap_end
