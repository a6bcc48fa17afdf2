#!/bin/sh
# iommufd-bpf dirty where the series' dirty events are missing: its
# fallback follows each harvest from fentry/fexit on the dirty-bitmap
# ioctl's handler and fentry on iova_bitmap_set(). On the stock kernel
# (IOMMUFD_BPF_KERNEL=stock) it is what runs; on the series' kernel
# (=series) --fallback asks for it, and a watcher on the series' events
# watches the same harvests beside it. Each harvest's pages and regions must
# equal the bitmap dirty_vmm got; the IOTLB flushes, which the fallback
# cannot see, must be null, not 0. Prints TAP and a "# Totals:" line.
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
vmm_bin=${DIRTY_VMM:-/opt/iommufd-bpf/tests/dirty_vmm}
kernel=${IOMMUFD_BPF_KERNEL:?set IOMMUFD_BPF_KERNEL to series or stock}
tmp=$(mktemp -d)
. "$(dirname "$0")/tap.sh"

if [ "$kernel" = series ]; then
	fb=--fallback mode="--fallback:"
else
	fb= mode="reduced mode: this kernel lacks the iommufd-bpf series;"
fi

. "$(dirname "$0")/dirty_watch.sh"

# compare VMM-JSON WATCH-JSON N: of harvests 0..N-1, how many the watcher
# counted exactly (pages, and regions adding up to them)
compare() {
	good=0 i=0
	while [ $i -lt "$3" ]; do
		v=$(grep "\"iteration\":$i," "$1" | json_field dirty_pages)
		line=$(grep "\"iteration\":$((i + 1))," "$2")
		w=$(echo "$line" | json_field dirty_pages)
		r=$(echo "$line" | grep -o '"pages":[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')
		if [ -n "$v" ] && [ "$v" = "$w" ] && [ "$v" = "$r" ]; then
			good=$((good + 1))
		else
			echo "# harvest $i: bitmap ${v:-?} pages, watcher ${w:-?}, regions $r" >&2
		fi
		i=$((i + 1))
	done
	echo "$good"
}

echo "TAP version 13"

# 1. Harvest 0 and 3 more of 32 MiB (16 regions of 2 MiB: --top 16 shows
# every dirty one)
start_vmm "$tmp/vmm.json" --rate 8MiB/s --json 32M 500ms 3
start_watcher "$tmp/fb.json" $fb -p "$vmm" --top 16 --json -d 60s 4
fbw=$watcher
if [ "$kernel" = series ]; then
	start_watcher "$tmp/series.json" -p "$vmm" --top 16 --json -d 60s 4
	sw=$watcher
fi
echo > "$tmp/go"
wait "$vmm"; vrc=$?
wait "$fbw"; wrc=$?
check_eq "dirty_vmm and the watcher exit 0" "$vrc/$wrc" 0/0
if grep -q "^iommufd-bpf dirty: $mode harvests, their dirty pages and regions from fentry/fexit on the dirty-bitmap ioctl and iova_bitmap_set; missing: the harvests' IOTLB flushes" "$tmp/fb.json.err"; then
	ok "dirty says once what it follows and what is missing"
else
	not_ok "dirty says once what it follows and what is missing" "$(head -2 "$tmp/fb.json.err")"
fi
check_eq "each harvest's pages and regions equal its bitmap" "$(compare "$tmp/vmm.json" "$tmp/fb.json" 4)" 4
total=$(grep '"type":"iteration"' "$tmp/fb.json" | json_field dirty_pages | awk '{ s += $1 } END { print s + 0 }')
[ "$total" -gt 0 ] && ok "the device dirtied pages ($total)" || not_ok "the device dirtied pages" "$total"
check_eq "the harvests are the VMM's" \
	"$(grep -c "\"owner_tgid\":$vmm,.*\"page_size\":4096," "$tmp/fb.json")" 4
check_eq "IOTLB flushes are null, not 0" "$(grep -c '"iotlb_flushes":null,' "$tmp/fb.json")" 4
check_eq "a rate from the second harvest on" \
	"$(grep -c '"dirty_rate_bps":[0-9]' "$tmp/fb.json")/$(grep -c '"forecast":{"bandwidth_bps"' "$tmp/fb.json")" 3/3
if grep -q "harvests produced 4, delivered 4, dropped 0, filtered 0, not followed 0; region bits lost 0; dirty runs outside a harvest 0" "$tmp/fb.json.err"; then
	ok "every harvest accounted for, no run outside one"
else
	not_ok "every harvest accounted for, no run outside one" "$(tail -1 "$tmp/fb.json.err")"
fi
if [ "$kernel" = series ]; then
	wait "$sw"
	same=0 i=1
	while [ $i -le 4 ]; do
		a=$(grep "\"iteration\":$i," "$tmp/fb.json" | sed 's/.*"dirty_pages":\([0-9]*\),.*"hot_regions":\(\[[^]]*\]\).*/\1 \2/')
		b=$(grep "\"iteration\":$i," "$tmp/series.json" | sed 's/.*"dirty_pages":\([0-9]*\),.*"hot_regions":\(\[[^]]*\]\).*/\1 \2/')
		[ -n "$a" ] && [ "$a" = "$b" ] && same=$((same + 1))
		i=$((i + 1))
	done
	check_eq "the series' watcher saw the same pages and regions" "$same" 4
	check_eq "the series knows the flushes" "$(grep -c '"iotlb_flushes":[0-9]' "$tmp/series.json")" 4
fi

# 2. 16 KiB bitmap pages: bits are counted at the bitmap's own page size
start_vmm "$tmp/big.json" --page-size 16K --rate 8MiB/s --json 32M 500ms 2
start_watcher "$tmp/bigw.json" $fb -p "$vmm" --top 16 --json -d 60s 3
echo > "$tmp/go"
wait "$vmm"; wait "$watcher"
check_eq "16 KiB pages: each harvest equals its bitmap" "$(compare "$tmp/big.json" "$tmp/bigw.json" 3)" 3
check_eq "16 KiB pages: the page size is the bitmap's" "$(grep -c '"page_size":16384,' "$tmp/bigw.json")" 3

# 3. Two VMMs at once, their HWPT ids the same (each its own context):
# every harvest goes to its own VMM, with its own pages
start_watcher "$tmp/two.json" $fb --json -d 60s 6
"$vmm_bin" --rate 8MiB/s --json 16M 400ms 2 >"$tmp/v1.json" 2>&1 &
v1=$!
"$vmm_bin" --rate 4MiB/s --json 16M 400ms 2 >"$tmp/v2.json" 2>&1 &
v2=$!
wait "$v1"; wait "$v2"; wait "$watcher"
h1=$(grep -c "\"owner_tgid\":$v1," "$tmp/two.json")
h2=$(grep -c "\"owner_tgid\":$v2," "$tmp/two.json")
check_eq "each VMM's 3 harvests are its own" "$h1/$h2" 3/3
hw1=$(grep "\"owner_tgid\":$v1," "$tmp/two.json" | json_field hwpt_id | sort -u)
hw2=$(grep "\"owner_tgid\":$v2," "$tmp/two.json" | json_field hwpt_id | sort -u)
check_eq "their HWPT ids collide" "$hw1" "$hw2"
p1=$(grep '"type":"summary"' "$tmp/v1.json" | json_field pages_harvested)
p2=$(grep '"type":"summary"' "$tmp/v2.json" | json_field pages_harvested)
# after harvest 0, which the VMM's total leaves out
after0() { grep "\"owner_tgid\":$1," "$tmp/two.json" | tail -n +2 | json_field dirty_pages | awk '{ s += $1 } END { print s + 0 }'; }
check_eq "each VMM's pages are its bitmaps'" "$(after0 "$v1")/$(after0 "$v2")" "${p1:-?}/${p2:-?}"

# 4. Someone else's harvests are filtered, and counted
start_watcher "$tmp/none.json" $fb -p 1 --json -d 5s
"$vmm_bin" --rate 4MiB/s --json 16M 300ms 2 >/dev/null 2>&1
wait "$watcher"; wrc=$?
if [ "$wrc" = 0 ] && [ ! -s "$tmp/none.json" ] &&
   grep -q "harvests produced 3, delivered 0, dropped 0, filtered 3" "$tmp/none.json.err"; then
	ok "-p filters other processes' harvests out, and counts them"
else
	not_ok "-p filters other processes' harvests out, and counts them" "exit $wrc" "$(tail -1 "$tmp/none.json.err")"
fi

rm -rf "$tmp"
tap_end
