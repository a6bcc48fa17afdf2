# Helpers of the suites that watch dirty_vmm's harvests (dirty_cli.sh,
# dirty_fallback.sh), sourced after tap.sh, with $tool, $vmm_bin and $tmp
# set. Not a suite itself.

# json_field NAME < line: a number or word field of a flat JSON line
json_field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }

# start_vmm OUT ARGS...: dirty_vmm ARGS held until 'echo > $tmp/go', so a
# watcher can filter on its pid before its first harvest; pid in $vmm
start_vmm() {
	out=$1; shift
	rm -f "$tmp/go"; mkfifo "$tmp/go"
	sh -c 'read x < "$0"; exec "$@"' "$tmp/go" "$vmm_bin" "$@" >"$out" 2>"$out.err" &
	vmm=$!
}

# start_watcher OUT ARGS...: iommufd-bpf dirty ARGS in the background,
# returning once it is attached; pid in $watcher, stderr in OUT.err
start_watcher() {
	out=$1; shift
	"$tool" dirty "$@" >"$out" 2>"$out.err" &
	watcher=$!
	for i in 1 2 3 4 5 6 7 8 9 10; do
		grep -q "watching" "$out.err" 2>/dev/null && return
		sleep 1
	done
}
