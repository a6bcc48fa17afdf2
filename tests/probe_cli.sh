#!/bin/sh
# What the tool says of the running kernel, and what it does on it: on the
# series' kernel (IOMMUFD_BPF_KERNEL=series) every capability is there and
# 'trace --fallback' gives the fallback's records for comparison; on the
# stock kernel (=stock) 'probe' says what is missing, 'trace' runs in its
# reduced mode, and the commands without a fallback exit 1 saying why.
# Prints TAP and a kselftest-style "# Totals:" line.
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
workload=${WORKLOAD:-/opt/iommufd-bpf/tests/iommufd_workload}
kernel=${IOMMUFD_BPF_KERNEL:?set IOMMUFD_BPF_KERNEL to series or stock}
tmp=$(mktemp -d)
. "$(dirname "$0")/tap.sh"

# The eleven capabilities 'probe' reports, in its order
caps="ioas_ops ioas_stats attach iotlb_flush iotlb_wait io_page_faults dma_faults fault_policies dirty lifecycle pinned"

echo "TAP version 13"
expect_exit 0 "probe --help teaches with examples" "EXAMPLES" -- "$tool" probe --help
expect_exit 0 "the command list names probe" "probe" -- "$tool" --help
expect_exit 2 "probe: stray argument" "unexpected argument 'x'" -- "$tool" probe x
# BTF is world-readable: a user without privileges may ask
expect_exit 0 "probe needs no privilege" "CAPABILITY" -- \
	/opt/iommufd-bpf/tests/run_unprivileged "$tool" probe

"$tool" probe >"$tmp/probe.txt" 2>"$tmp/probe.err"
check_eq "probe exits 0" "$?" 0
"$tool" probe --json >"$tmp/probe.json" 2>>"$tmp/probe.err"
check_eq "probe --json exits 0" "$?" 0
check_eq "probe --json is one line" "$(wc -l < "$tmp/probe.json")" 1

# source_of CAP: the SOURCE column of the capability's row
source_of() { awk -v c="$1" '$1 == c { print $2 }' "$tmp/probe.txt"; }
json_source_of() {
	grep -o "\"name\":\"$1\",\"commands\":\"[^\"]*\",\"source\":\"[a-z]*\"" "$tmp/probe.json" |
		sed 's/.*"source":"\([a-z]*\)"/\1/'
}

if [ "$kernel" = series ]; then
	want_series=yes want_json=true
else
	want_series=no want_json=false
fi
if grep -q "iommufd-bpf series $want_series\$" "$tmp/probe.txt"; then
	ok "probe says the series is $want_series"
else
	not_ok "probe says the series is $want_series" "$(head -1 "$tmp/probe.txt")"
fi
if grep -q "\"iommufd\":true,\"series\":$want_json," "$tmp/probe.json"; then
	ok "probe --json: series $want_json"
else
	not_ok "probe --json: series $want_json" "$(cat "$tmp/probe.json")"
fi
for c in $caps; do
	if [ "$kernel" = series ]; then
		want=series
	elif [ "$c" = ioas_ops ] || [ "$c" = ioas_stats ] || [ "$c" = attach ] ||
	     [ "$c" = io_page_faults ] || [ "$c" = dirty ]; then
		want=fexit
	else
		want=missing
	fi
	check_eq "probe: $c from $want" "$(source_of "$c")" "$want"
	check_eq "probe --json: $c from $want" "$(json_source_of "$c")" "$want"
done
if [ "$kernel" = stock ]; then
	if grep -q "^fault_policies .*no fallback" "$tmp/probe.txt"; then
		ok "probe: fault policies have no fallback"
	else
		not_ok "probe: fault policies have no fallback" "$(grep fault_policies "$tmp/probe.txt")"
	fi
fi

# A live trace of a known workload: 3 maps and 3 unmaps of 2 pages, one copy
# (unmapped in its IOAS again) and one copy that fails with ENOENT
live_trace() { # NAME TRACE-OPTIONS...
	name=$1; shift
	start_bg "$name" "Tracing" "$tool" trace "$@"
	"$workload" -n 3 -p 2 --copy 1 >"$tmp/$name.wl" 2>&1
	wl_rc=$?
	kill -INT "$bg"
	wait "$bg"
	tr_rc=$?
	check_eq "$name: workload exits 0" "$wl_rc" 0
	check_eq "$name: trace exits 0 on SIGINT" "$tr_rc" 0
	pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$tmp/$name.wl")
	ioas=$(sed -n 's/^pid=[0-9]* ioas=\([0-9]*\) .*/\1/p' "$tmp/$name.wl")
	copy_ioas=$(sed -n 's/.* copy_ioas=\([0-9]*\).*/\1/p' "$tmp/$name.wl")
}

if [ "$kernel" = stock ]; then
	live_trace reduced --json
	line="iommufd-bpf trace: reduced mode: this kernel lacks the iommufd-bpf series; ioas_map, ioas_unmap, ioas_copy, device_attach, device_detach, device_replace, fault_report, fault_respond, fault_auto_respond, fault_read from fentry/fexit on iommufd's functions, without the context id; missing: domain_unmap,"
else
	live_trace fallback --json --fallback
	line="iommufd-bpf trace: --fallback: ioas_map, ioas_unmap, ioas_copy, device_attach, device_detach, device_replace, fault_report, fault_respond, fault_auto_respond, fault_read from fentry/fexit on iommufd's functions, without the context id; missing: domain_unmap,"
fi
out=$tmp/$name.out
if grep -qF "$line" "$tmp/$name.err"; then
	ok "$name: one line says what is traced and what is missing"
else
	not_ok "$name: one line says what is traced and what is missing" "$(head -3 "$tmp/$name.err")"
fi
own() { grep "\"owner_tgid\":$pid,\"tgid\":$pid,\"comm\":\"iommufd_workloa\",\"ctx\":null," "$out"; }
check_eq "$name: the workload's maps, no context id" \
	"$(own | grep -c "\"event\":\"ioas_map\",\"ret\":0,.*\"ioas_id\":$ioas,\"iova\":16777216,\"length\":8192,\"done\":8192,\"flags\":7,\"duration_ns\":[1-9]")" 3
check_eq "$name: the workload's unmaps" \
	"$(own | grep -c "\"event\":\"ioas_unmap\",\"ret\":0,.*\"iova\":16777216,\"length\":8192,\"done\":8192,")" 4
check_eq "$name: its copy" \
	"$(own | grep -c "\"event\":\"ioas_copy\",\"ret\":0,.*\"src_ioas_id\":$ioas,\"src_iova\":16777216,\"dst_ioas_id\":$copy_ioas,\"dst_iova\":16777216,\"length\":8192,\"done\":8192,\"flags\":7,")" 1
check_eq "$name: its failed copy" \
	"$(own | grep -c "\"event\":\"ioas_copy\",\"ret\":-2,.*\"src_iova\":1090519040,.*\"done\":0,\"flags\":5,")" 1
check_eq "$name: nothing but maps, unmaps and copies" \
	"$(grep -v '"event":"summary"' "$out" | grep -vc '"event":"ioas_\(map\|unmap\|copy\)"')" 0
if grep -q '"event":"summary",.*"dropped":0,"filtered":0,"seq_gaps":0' "$out"; then
	ok "$name: nothing lost"
else
	not_ok "$name: nothing lost" "$(tail -1 "$out")"
fi

if [ "$kernel" = stock ]; then
	# Text: the context id is unknown, not 0
	start_bg text "Tracing" "$tool" trace -e ioas_map
	"$workload" -n 1 -p 1 >/dev/null 2>&1
	kill -INT "$bg"; wait "$bg"
	if grep -q " ioas_map .* ctx=? tgid=" "$tmp/text.out"; then
		ok "text: ctx=? where it is unknown"
	else
		not_ok "text: ctx=? where it is unknown" "$(head -2 "$tmp/text.out")"
	fi
	if grep -q "reduced mode.*; ioas_map from fentry/fexit.*without the context id ('iommufd-bpf probe'" "$tmp/text.err"; then
		ok "-e ioas_map: nothing missing of what was asked"
	else
		not_ok "-e ioas_map: nothing missing of what was asked" "$(head -2 "$tmp/text.err")"
	fi
	expect_exit 1 "trace -e of events without a source names them" \
		"(domain_unmap, dma_fault): they need the iommufd-bpf series" -- \
		"$tool" trace -e domain_unmap,dma_fault -d 1s
	expect_exit 0 "trace --faults: reports, reads and answers, without DMA faults" \
		"fault_report, fault_respond, fault_auto_respond, fault_read from fentry/fexit on iommufd's functions, without the context id; missing: dma_fault" -- \
		"$tool" trace --faults -d 1s
	expect_exit 1 "fault attach: no fallback" \
		"struct_ops iommufd_fault_ops), which this kernel lacks: there is no fallback" -- \
		"$tool" fault attach resolve --fd 0 -p $$
else
	expect_exit 1 "--fallback covers only what the fallback has" \
		"--fallback traces ioas_map, ioas_unmap, ioas_copy, device_attach, device_detach, device_replace, fault_report, fault_respond, fault_auto_respond, fault_read only, not domain_unmap" -- \
		"$tool" trace --fallback -e domain_unmap -d 1s
fi

rm -rf "$tmp"
tap_end
