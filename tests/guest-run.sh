#!/bin/sh
# Run the test suites of one VM profile inside the guest.
#
#   tests/guest-run.sh mock|vtd|stock|stock-vtd [SUITE...]
#
# stock: the kernel without the series (the mock's VM), where the tool
# falls back or says what is missing; stock-vtd: the same kernel in the
# vtd VM, with a real device.
#
# Each suite prints TAP and ends with a kselftest "# Totals:" line. For each
# suite this prints one machine-readable line for the host:
#   RESULT <suite> pass=P fail=F skip=S
# A suite that crashes or times out before its totals counts every planned
# test it did not pass as failed.
profile=${1:?usage: guest-run.sh mock|vtd|stock|stock-vtd [SUITE...]}
shift
cd /opt/iommufd-bpf || exit 1

case $profile in
mock) default="trace_events trace_fallback probe_cli stats_fallback stats_key_range stats_slots dirty_fallback pasid_attach tool_cli stats_cli stats_churn dirty_harvest dirty_cli fault_ledger fault_policy fault_cli ftrace_events perf_events upstream/iommufd upstream/iommufd_fail_nth" ;;
vtd) default="vtd_edu vtd_cli vtd_unplug" ;;
stock) default="trace_fallback probe_cli stats_fallback stats_key_range dirty_fallback" ;;
stock-vtd) default="vtd_fallback" ;;
*) echo "guest-run: unknown profile '$profile'" >&2; exit 2 ;;
esac
suites=${*:-$default}
status=0
# Which kernel the suites that run on both are on
if [ "$profile" = stock ] || [ "$profile" = stock-vtd ]; then
	export IOMMUFD_BPF_KERNEL=stock
else
	export IOMMUFD_BPF_KERNEL=series
fi

run_suite() { # NAME
	name=$1 out=/tmp/suite.out
	# A suite is a shell script tests/NAME.sh or a binary tests/NAME
	if [ -f "tests/$name.sh" ]; then
		cmd="sh tests/$name.sh"
	else
		cmd="tests/$name"
	fi
	echo "=== suite $name ==="
	start=$(cut -d' ' -f1 /proc/uptime)
	# A hung suite must not hang the run: the host's VM timeout is the
	# last resort, this names the culprit.
	timeout "${SUITE_TIMEOUT:-1200}" $cmd >"$out" 2>&1
	rc=$?
	cat "$out"
	end=$(cut -d' ' -f1 /proc/uptime)
	totals=$(grep '^# Totals:' "$out" | tail -1)
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$out" | tail -1)
	if [ -n "$totals" ]; then
		p=$(echo "$totals" | sed 's/.* pass:\([0-9]*\).*/\1/')
		f=$(echo "$totals" | sed 's/.* fail:\([0-9]*\).*/\1/')
		s=$(echo "$totals" | sed 's/.* skip:\([0-9]*\).*/\1/')
		e=$(echo "$totals" | sed 's/.* error:\([0-9]*\).*/\1/')
		f=$((f + e))
	else
		p=$(grep -c '^ok ' "$out")
		s=0
		f=$(( ${planned:-0} > p ? ${planned:-0} - p : 1 ))
		echo "# $name ended without totals (exit $rc): counting $f failed"
	fi
	# A non-zero exit with no failure counted is still a failure
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "# $name exited $rc"
	fi
	[ "$f" = 0 ] || status=1
	echo "RESULT $name pass=$p fail=$f skip=$s seconds=$(echo "$start $end" | awk '{printf "%.1f", $2 - $1}')"
	case $name in
	upstream/*) echo "upstream ${name#upstream/}: $p/$((p + f + s)) passed" ;;
	esac
}

for s in $suites; do
	run_suite "$s"
done
exit $status
