#!/bin/sh
# iommufd-bpf fault as an operator meets it, in the guest: usage errors
# named, then the three policies attached to the fault fd of another
# process (tests/iopf_vmm, a VMM-shaped workload) by pid and fd, pinned or
# in the foreground; every group answered exactly once (the VMM checks its
# device's ledger when it quits). Prints TAP and a "# Totals:" line.
tool=${TOOL:-/opt/iommufd-bpf/bin/iommufd-bpf}
vmm=/opt/iommufd-bpf/tests/iopf_vmm
tmp=$(mktemp -d)
. "$(dirname "$0")/tap.sh"

# json_field NAME < line: a number or word field of a flat JSON line
json_field() { sed -n "s/.*\"$1\":\"*\([^,}\"]*\).*/\1/p"; }

echo "TAP version 13"

expect_exit 0 "fault --help teaches the policies" "POLICY is one of" -- "$tool" fault --help
expect_exit 2 "an action is required" "which action" -- "$tool" fault
expect_exit 2 "unknown action named" "unknown action 'frob'" -- "$tool" fault frob
expect_exit 2 "attach needs a policy" "which policy" -- "$tool" fault attach --fd 3
expect_exit 2 "unknown policy named" "unknown policy 'nope'" -- "$tool" fault attach nope --fd 3
expect_exit 2 "attach needs --fd" "--fd is required" -- "$tool" fault attach resolve
expect_exit 2 "windows needs a window" "at least one --window" -- "$tool" fault attach windows --fd 3
expect_exit 2 "bad window named" "--window: '3@zz' is not DEV" -- \
	"$tool" fault attach windows --fd 3 --window 3@zz
expect_exit 2 "PASID out of range" "--window: '3.1048576@0+4K'" -- \
	"$tool" fault attach windows --fd 3 --window 3.1048576@0+4K
expect_exit 2 "--window only for windows" "--window is for the windows policy" -- \
	"$tool" fault attach resolve --fd 3 --window 3@0+4K
expect_exit 2 "storm needs a rate" "--rate is required" -- "$tool" fault attach storm --fd 3
expect_exit 2 "bad rate named" "--rate: '0' is not a rate" -- "$tool" fault attach storm --fd 3 --rate 0
expect_exit 2 "bad burst named" "--burst: '0' is not a bucket size" -- \
	"$tool" fault attach storm --fd 3 --rate 5 --burst 0
expect_exit 2 "--burst only for storm" "--rate and --burst are for the storm policy" -- \
	"$tool" fault attach resolve --fd 3 --burst 5
expect_exit 2 "bad name named" "--name: 'a b' is not a name" -- \
	"$tool" fault attach resolve --fd 3 --name 'a b'
expect_exit 2 "bad duration named" "invalid duration 'soon'" -- \
	"$tool" fault attach resolve --fd 3 -d soon
expect_exit 2 "bad descriptor named" "--fd: 'x' is not a file descriptor" -- \
	"$tool" fault attach resolve --fd x
expect_exit 2 "bad pid named" "--pid: '0' is not a process id" -- \
	"$tool" fault attach resolve --fd 3 --pid 0
expect_exit 2 "--pin and --duration contradict" "contradict" -- \
	"$tool" fault attach resolve --fd 3 --pin -d 1s
expect_exit 2 "list takes no attach options" "list takes no attach options" -- "$tool" fault list --fd 3
expect_exit 2 "stats needs a name" "which policy" -- "$tool" fault stats
expect_exit 2 "bad policy name named" "'a/b' is not a policy name" -- "$tool" fault stats a/b
expect_exit 1 "a policy that is not pinned" "no pinned fault policy named 'ghost'" -- "$tool" fault stats ghost
expect_exit 1 "attach to a descriptor that is not open" "--fd 77: not an open file descriptor" -- \
	"$tool" fault attach resolve --fd 77

# The VMM: commands through a fifo, its output in a file
mkfifo "$tmp/cmd"
"$vmm" < "$tmp/cmd" > "$tmp/vmm.out" 2>"$tmp/vmm.err" &
vmm_pid=$!
exec 3>"$tmp/cmd"
i=0
while ! grep -q '^ready' "$tmp/vmm.out" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ready=$(grep '^ready' "$tmp/vmm.out")
pid=$(echo "$ready" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
ffd=$(echo "$ready" | sed -n 's/.*fault_fd=\([0-9]*\).*/\1/p')
dev=$(echo "$ready" | sed -n 's/.*dev=\([0-9]*\).*/\1/p')
[ -n "$ffd" ] && ok "the VMM is ready: $ready" || not_ok "the VMM is ready" "$(cat "$tmp/vmm.err")"

# vmm CMD...: send commands, then wait for the ledger line they end with
ledgers=0
vmm() {
	for c in "$@"; do echo "$c" >&3; done
	echo ledger >&3
	ledgers=$((ledgers + 1)); i=0
	while [ "$(grep -c '^ledger' "$tmp/vmm.out")" -lt $ledgers ] && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	grep '^ledger' "$tmp/vmm.out" | tail -1
}

expect_exit 1 "a descriptor that is no fault fd is refused" "is not an iommufd fault fd" -- \
	"$tool" fault attach resolve --pid "$pid" --fd 0
expect_exit 1 "unprivileged attach refused" "permission denied" -- \
	/opt/iommufd-bpf/tests/run_unprivileged "$tool" fault attach resolve --pid "$pid" --fd "$ffd"

# windows, pinned: strays answered INVALID in the kernel, demand paging
# inside guest RAM (0x10000000 + 16M) still reaches the VMM; ftrace
# records the kernel's side
events=/sys/kernel/tracing/events/iommufd
echo > /sys/kernel/tracing/trace
# Whatever an earlier suite left, record (1 is the boot default)
echo 1 > /sys/kernel/tracing/tracing_on
for e in iommufd_fault_policy_attach iommufd_fault_verdict iommufd_fault_policy_exit; do
	echo 1 > $events/$e/enable
done
expect_exit 0 "attach windows pinned" "pinned at /sys/fs/bpf/iommufd-bpf/fault/windows" -- \
	"$tool" fault attach windows --pid "$pid" --fd "$ffd" --window "$dev@0x10000000+16M" --pin
expect_exit 1 "one policy per fault object" "has a policy already" -- \
	"$tool" fault attach resolve --pid "$pid" --fd "$ffd" --pin --name other
expect_exit 1 "a pinned name is taken" "is pinned already" -- \
	"$tool" fault attach windows --pid "$pid" --fd "$ffd" --window "$dev@0+4K" --pin
line=$(vmm "fault stray 5" "fault demand 3")
case $line in
*"answered_by_fd=3 answered_in_kernel=5 (success 0, invalid 5)"*) ok "windows: 5 strays refused in the kernel, 3 demand faults to the VMM" ;;
*) not_ok "windows: 5 strays refused in the kernel, 3 demand faults to the VMM" "$line" ;;
esac
"$tool" fault stats windows --json > "$tmp/stats" 2>&1
if [ "$(json_field outside < "$tmp/stats")" = 5 ] && [ "$(json_field defer < "$tmp/stats")" = 3 ] &&
   [ "$(json_field state < "$tmp/stats")" = attached ]; then
	ok "stats --json: outside 5, defer 3, attached"
else
	not_ok "stats --json: outside 5, defer 3, attached" "$(cat "$tmp/stats")"
fi
expect_exit 0 "list shows the pinned policy" "windows" -- "$tool" fault list
expect_exit 0 "detach reports the kernel's exit" "detached" -- "$tool" fault detach windows
expect_exit 0 "nothing pinned after detach" "no pinned fault policies" -- "$tool" fault list
line=$(vmm "fault stray 2")
case $line in
*"answered_by_fd=5 answered_in_kernel=5 "*) ok "after detach every fault reaches the VMM" ;;
*) not_ok "after detach every fault reaches the VMM" "$line" ;;
esac
for e in iommufd_fault_policy_attach iommufd_fault_verdict iommufd_fault_policy_exit; do
	echo 0 > $events/$e/enable
done
trace=/sys/kernel/tracing/trace
attach=$(grep -c "iommufd_fault_policy_attach: tgid=$pid fault=[0-9]* policy=windows" $trace)
invalid=$(grep -c "iommufd_fault_verdict: tgid=$pid fault=[0-9]* dev=$dev pasid=0x0(none) addr=0x8000[0-9a-f]*000 grpid=[0-9]* count=1 policy=windows verdict=invalid latency=[0-9]*ns" $trace)
defer=$(grep -c "iommufd_fault_verdict: .* dev=$dev .*addr=0x101[0-9a-f]*000 .*policy=windows verdict=defer" $trace)
exits=$(grep -c 'iommufd_fault_policy_exit: fault=[0-9]* policy=windows kind=unreg groups=8 reason="unregistered"' $trace)
if [ "$attach" = 1 ] && [ "$invalid" = 5 ] && [ "$defer" = 3 ] && [ "$exits" = 1 ]; then
	ok "ftrace: attach, 5 invalid and 3 defer verdicts, one exit"
else
	not_ok "ftrace: attach, 5 invalid and 3 defer verdicts, one exit" \
		"attach $attach invalid $invalid defer $defer exit $exits" "$(grep fault_ $trace | head -5)"
fi

# storm in the foreground: a bucket of 2, one notice for the burst
"$tool" fault attach storm --pid "$pid" --fd "$ffd" --rate 1 --burst 2 -d 4s --json \
	> "$tmp/storm.out" 2>"$tmp/storm.err" &
tool_pid=$!
i=0
while ! grep -q attached "$tmp/storm.out" && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
line=$(vmm "fault storm 20")
wait $tool_pid
rc=$?
notes=$(grep -c '"event":"storm"' "$tmp/storm.out")
final=$(tail -1 "$tmp/storm.out")
if [ $rc = 0 ] && [ "$notes" = 1 ] && grep -q '"event":"storm","dev_id":'"$dev"',"pasid":-1,.*"over_budget":1,' "$tmp/storm.out" &&
   [ "$(echo "$final" | json_field over_budget)" = 18 ] && [ "$(echo "$final" | json_field state)" = detached ]; then
	ok "storm: 18 of 20 refused over budget, one notice, detached at the end"
else
	not_ok "storm: 18 of 20 refused over budget, one notice, detached at the end" "rc $rc notes $notes" "$(cat "$tmp/storm.out" "$tmp/storm.err")"
fi
case $line in
*"answered_in_kernel=23 "*) ok "storm: the ledger agrees" ;;
*) not_ok "storm: the ledger agrees" "$line" ;;
esac

# resolve in the foreground: faults on mapped guest RAM answered SUCCESS
"$tool" fault attach resolve --pid "$pid" --fd "$ffd" -d 3s > "$tmp/resolve.out" 2>&1 &
tool_pid=$!
i=0
while ! grep -q attached "$tmp/resolve.out" && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
caps=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$tool_pid/status)
[ "$caps" = 0000000000000000 ] && ok "attached, the tool holds no capabilities" ||
	not_ok "attached, the tool holds no capabilities" "CapEff $caps"
line=$(vmm "fault mapped 10" "fault stray 1")
wait $tool_pid
case $line in
*"answered_by_fd=8 answered_in_kernel=33 (success 10, invalid 23)"*) ok "resolve: 10 raced faults answered in the kernel, the stray to the VMM" ;;
*) not_ok "resolve: 10 raced faults answered in the kernel, the stray to the VMM" "$line" "$(cat "$tmp/resolve.out")" ;;
esac

echo quit >&3
exec 3>&-
wait $vmm_pid
rc=$?
[ $rc = 0 ] && ok "the VMM's ledger: every group answered exactly once" ||
	not_ok "the VMM's ledger: every group answered exactly once" "$(tail -2 "$tmp/vmm.out")"

rm -rf "$tmp"
tap_end
