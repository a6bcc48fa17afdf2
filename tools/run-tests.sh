#!/usr/bin/env bash
# The test command: boot the VM once per profile, run the suites inside,
# check the artefacts on the host, and print one final line
#   N passed, N failed[, N skipped]
# Exits non-zero on any failure, including a kernel problem in a guest log.
#
#   [FLAVOR=debug|kasan] tools/run-tests.sh [--profile mock|vtd|stock|stock-vtd] [SUITE...]
#
# FLAVOR picks the kernel booted, build/kernel-FLAVOR (default debug, what
# 'make check' builds); 'make check-kasan' runs FLAVOR=kasan. The programs
# in the initramfs must have been built for the same flavour. The stock
# profile boots build/kernel-stock (the same configuration without the
# series) with those programs: what a user of a distribution kernel runs;
# stock-vtd boots it in the vtd VM, with the edu device.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
flavor=${FLAVOR:-debug}
kernel=$top/build/kernel-$flavor/arch/x86/boot/bzImage
# A KASAN run keeps its logs apart from the last 'make check'.
logs=$top/build/test-logs
[ "$flavor" = debug ] || logs=$top/build/test-logs-$flavor
mkdir -p "$logs"
vm_opts=(--kernel "$kernel" --timeout 2400)
# KASAN prints only its first report unless told otherwise: show them all.
[ "$flavor" != kasan ] || vm_opts+=(--cmdline-extra kasan_multi_shot)
profiles=(mock vtd stock stock-vtd)
suites=()
while [ $# -gt 0 ]; do
	case $1 in
	--profile) profiles=("$2"); shift 2 ;;
	-h|--help)
		sed -n '2,14p' "$0"; exit 0 ;;
	*) suites+=("$1"); shift ;;
	esac
done

# BPF skeletons are compiled against build/toolchain/vmlinux.h, which
# 'make programs' dumps from the flavour it builds; booting another kernel
# would test programs relocated against BTF they were not built for.
stamp=$top/build/toolchain/.vmlinux_h.stamp
if [ -f "$stamp" ]; then
	built_for=$(sed -n 's/.* vmlinux=\([^ ]*\) .*/\1/p' "$stamp")
	if [ -n "$built_for" ] && ! [ "$built_for" -ef "$top/build/kernel-$flavor/vmlinux" ]; then
		echo "run-tests: the programs were built for $built_for, not kernel-$flavor:" \
			"run 'make check FLAVOR=$flavor' (or make programs with it) first" >&2
		exit 2
	fi
fi

pass=0 fail=0 skip=0
add() { pass=$((pass + $1)); fail=$((fail + $2)); skip=$((skip + $3)); }
start=$(date +%s)

# The kernel series itself: checkpatch clean
if make -s -C "$top" checkpatch > "$logs/checkpatch.out" 2>&1; then
	add 1 0 0; echo "ok: checkpatch clean on kernel/patches"
else
	add 0 1 0; echo "FAILED: checkpatch on kernel/patches (see $logs/checkpatch.out)"
fi

for profile in "${profiles[@]}"; do
	out=$logs/$profile.out
	echo "== VM profile '$profile' ==" >&2
	vm_profile=$profile run_opts=("${vm_opts[@]}")
	if [ "$profile" = stock ] || [ "$profile" = stock-vtd ]; then
		vm_profile=mock
		[ "$profile" = stock ] || vm_profile=vtd
		run_opts+=(--kernel "$top/build/kernel-stock/arch/x86/boot/bzImage")
	fi
	"$top/tools/vm-run.sh" --profile "$vm_profile" --quiet "${run_opts[@]}" \
		--log "$logs/$profile.console.log" -- \
		sh tests/guest-run.sh "$profile" "${suites[@]}" | tee "$out"
	rc=${PIPESTATUS[0]}
	while read -r _ name p f s _; do
		add "${p#pass=}" "${f#fail=}" "${s#skip=}"
	done < <(grep '^RESULT ' "$out")
	grep -q '^RESULT ' "$out" || { echo "run-tests: profile $profile reported no suite" >&2; add 0 1 0; }
	# The guest kernel log is a test of its own: clean or not.
	case $rc in
	0|1) add 1 0 0; echo "ok: $profile guest kernel log clean" ;;
	3) add 0 1 0; echo "FAILED: $profile guest kernel log has problems (see $logs/$profile.console.log)" ;;
	*) add 0 1 0; echo "FAILED: $profile VM run ended with status $rc" ;;
	esac

	# Host-side checks of what the guest produced
	if [ "$profile" = mock ] && grep -q '=== BEGIN ARTIFACT trace.json' "$out"; then
		python3 "$top/tests/host/check_trace_json.py" "$out" && add 1 0 0 || add 0 1 0
	fi
	if [ "$profile" = mock ] && grep -q '=== BEGIN ARTIFACT metrics.txt' "$out"; then
		python3 "$top/tests/host/check_metrics.py" "$out" > "$logs/check_metrics.out" 2>&1
		cat "$logs/check_metrics.out"
		hp=$(grep -c '^ok host' "$logs/check_metrics.out")
		hf=$(grep -c '^not ok host' "$logs/check_metrics.out")
		# A checker that crashed reports nothing: a failure of its own
		[ "$hp" -gt 0 ] || [ "$hf" -gt 0 ] || hf=1
		add "$hp" "$hf" 0
	fi
done

grep -h '^upstream ' "$logs"/*.out 2>/dev/null | sort -u
echo "test time: $(( $(date +%s) - start ))s" >&2
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ]
