#!/usr/bin/env bash
# Boot our kernel in QEMU (TCG: the host has no KVM), run one command in the
# guest, return its exit status, and fail if the kernel log shows a problem.
set -euo pipefail

prog=vm-run
top=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	cat <<'EOF'
Usage: tools/vm-run.sh [OPTIONS] -- COMMAND [ARG...]
       tools/vm-run.sh --scan-only CONSOLE_LOG

Boot the kernel in QEMU, run COMMAND in the guest (busybox sh, cwd
/opt/iommufd-bpf, /opt/iommufd-bpf/bin on PATH, as root), power off, and
exit with COMMAND's status.

Options:
  --profile mock|vtd   mock (default): no IOMMU hardware, for the iommufd
                       selftest mock. vtd: emulated Intel VT-d plus QEMU's
                       edu PCI device bound to vfio-pci in the guest, so
                       /dev/vfio/devices/vfio0 is a device doing real DMA.
  --kernel BZIMAGE     default build/kernel-$FLAVOR/arch/x86/boot/bzImage,
                       FLAVOR from the environment, else debug
  --initramfs FILE     default build/vm/initramfs.cpio.gz (built, base only,
                       with tools/vm-initramfs.sh if it does not exist)
  --timeout SECS       kill the guest after SECS of wall time (default 600)
  --log FILE           kernel console log (default build/vm/console.log);
                       the command's output is also kept in FILE.out
  --mem SIZE           guest RAM (default 2G)
  --cpus N             guest CPUs (default 2)
  --cmdline-extra STR  appended to the kernel command line
  --env NAME=VALUE     export in the guest before COMMAND (repeatable)
  --icount             deterministic guest time (-icount, single-threaded
                       TCG): for benchmarks measured as ratios; with
                       --cpus 1 also free of how the vCPUs take turns
  -q, --quiet          do not echo the kernel console to stderr
  --scan-only LOG      only scan LOG for kernel problems (exit 0 or 3)
  -h, --help           this text

Two serial ports keep test output out of the kernel log:
  ttyS0 = kernel console (+ a few "vm-init:" lines) -> --log FILE, echoed live
          to stderr; only this one is scanned for kernel problems.
  ttyS1 = COMMAND's stdout+stderr -> this script's stdout, live, and FILE.out.

Exit status:
  COMMAND's own status when the run was clean, else
  2    usage error
  3    kernel log has problem lines (WARNING:, BUG:, Oops, lockdep, KASAN,
       RCU, hung task, panic, ...), whatever COMMAND returned
  124  guest timed out (QEMU killed)
  125  no exit status from the guest: QEMU could not start or failed, the
       kernel image is missing, /init died
The stderr message says which one; a COMMAND may itself return 2 or 3.

Examples:
  tools/vm-run.sh -- uname -a
  tools/vm-run.sh -q -- sh -c 'cd selftests && ./iommufd'
  tools/vm-run.sh --profile vtd -- ls -l /dev/vfio/devices
  tools/vm-run.sh --env IOMMUFD_BPF_VERBOSE=1 --timeout 120 -- bin/iommufd-bpf-test
  tools/vm-run.sh --scan-only build/vm/console.log
EOF
}

die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 125; }
usage_error() { printf '%s: %s (try --help)\n' "$prog" "$*" >&2; exit 2; }

# Kernel problem signatures (ERE, matched anywhere in a console line). The
# console only carries printk and init's own "vm-init:" lines, so these do
# not see test output like kselftest's "# WARNING".
problem_re='WARNING:|BUG:|Oops|Call Trace:|kernel BUG|general protection fault'
problem_re+='|possible recursive locking|circular locking dependency'
problem_re+='|inconsistent lock state|suspicious RCU usage|DEBUG_LOCKS_WARN_ON'
problem_re+='|turning off the locking correctness validator|lock held when returning'
problem_re+='|KASAN|UBSAN|INFO: task .* blocked|rcu: INFO: .*detected stall'
problem_re+='|soft lockup|hard LOCKUP|Kernel panic|list_(add|del) corruption'

# Prints the problem lines of LOG and returns 3, or returns 0 if clean.
scan_log() {
	local log=$1 hits n
	hits=$(tr -d '\r' < "$log" | grep -v '^vm-init: ' | grep -E -- "$problem_re" || true)
	[ -n "$hits" ] || return 0
	n=$(printf '%s\n' "$hits" | wc -l)
	printf '%s: kernel log has %d problem line(s):\n' "$prog" "$n" >&2
	printf '%s\n' "$hits" | sed 's/^/  /' | head -n 50 >&2
	[ "$n" -le 50 ] || printf '  ... (%d more, see %s)\n' $((n - 50)) "$log" >&2
	return 3
}

profile=mock
kernel=$top/build/kernel-${FLAVOR:-debug}/arch/x86/boot/bzImage
initramfs=
timeout=600
log=$top/build/vm/console.log
mem=2G
cpus=2
cmdline_extra=
icount=
quiet=0
envs=()
scan_only=

need_arg() { [ $# -ge 2 ] || usage_error "option $1 needs an argument"; }
while [ $# -gt 0 ]; do
	case $1 in
	--profile) need_arg "$@"; profile=$2; shift 2 ;;
	--kernel) need_arg "$@"; kernel=$2; shift 2 ;;
	--initramfs) need_arg "$@"; initramfs=$2; shift 2 ;;
	--timeout) need_arg "$@"; timeout=$2; shift 2 ;;
	--log) need_arg "$@"; log=$2; shift 2 ;;
	--mem) need_arg "$@"; mem=$2; shift 2 ;;
	--cpus) need_arg "$@"; cpus=$2; shift 2 ;;
	--cmdline-extra) need_arg "$@"; cmdline_extra=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--env) need_arg "$@"; envs+=("$2"); shift 2 ;;
	--scan-only) need_arg "$@"; scan_only=$2; shift 2 ;;
	-q | --quiet) quiet=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage_error "unknown argument '$1' (the guest command goes after --)" ;;
	esac
done

if [ -n "$scan_only" ]; then
	[ -r "$scan_only" ] || usage_error "cannot read '$scan_only'"
	scan_log "$scan_only" || exit 3
	echo "$prog: $scan_only: no kernel problems" >&2
	exit 0
fi

[ $# -gt 0 ] || usage_error "no command given after --"
case $profile in mock | vtd) ;; *) usage_error "unknown profile '$profile' (mock or vtd)" ;; esac
[[ $timeout =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout wants whole seconds, got '$timeout'"
[[ $cpus =~ ^[1-8]$ ]] || usage_error "--cpus wants 1 to 8, got '$cpus'"
for e in ${envs[@]+"${envs[@]}"}; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || usage_error "--env wants NAME=VALUE, got '$e'"
done

[ -f "$kernel" ] || die "kernel image $kernel not found (build it: tools/kernel-build.sh ${FLAVOR:-debug})"
command -v qemu-system-x86_64 > /dev/null || die "qemu-system-x86_64 not installed"
if [ -z "$initramfs" ]; then
	initramfs=$top/build/vm/initramfs.cpio.gz
	if [ ! -f "$initramfs" ]; then
		echo "$prog: $initramfs missing; building a base one" >&2
		"$top/tools/vm-initramfs.sh" "$initramfs" || die "could not build $initramfs"
	fi
fi
[ -f "$initramfs" ] || die "initramfs $initramfs not found (build it: tools/vm-initramfs.sh)"

mkdir -p "$(dirname "$log")"
outlog=$log.out
work=$(mktemp -d "${TMPDIR:-/tmp}/vm-run.XXXXXX")
qpid=
tail_pids=()
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	# Only our own children, by pid.
	if [ -n "$qpid" ]; then
		kill "$qpid" 2> /dev/null
		wait "$qpid" 2> /dev/null
	fi
	for p in ${tail_pids[@]+"${tail_pids[@]}"}; do kill "$p" 2> /dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# sh single quoting: 'it'\''s' survives any argument, spaces and all.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# The command travels as a second cpio archive appended to the initramfs
# (the kernel unpacks concatenated archives in order), so no quoting has to
# survive the kernel command line.
mkdir -p "$work/cmd"
{
	printf '# generated by tools/vm-run.sh\n'
	for a in "$@"; do printf '%s ' "$(shq "$a")"; done
	printf '\n'
} > "$work/cmd/run-cmd"
{
	printf 'export IOMMUFD_BPF_PROFILE=%s\n' "$profile"
	for e in ${envs[@]+"${envs[@]}"}; do
		printf 'export %s=%s\n' "${e%%=*}" "$(shq "${e#*=}")"
	done
} > "$work/cmd/run-env"
chmod 0755 "$work/cmd/run-cmd"
(cd "$work/cmd" && printf '%s\n' run-cmd run-env |
	cpio -o -H newc --owner=0:0 --quiet) | gzip -n > "$work/cmd.cpio.gz"
cat "$initramfs" "$work/cmd.cpio.gz" > "$work/initrd"

# hugepages=128: 2 MiB pages for the upstream selftests' MAP_HUGETLB (the
# largest, a *_huge dirty-tracking variant, maps 128 MiB).
# panic=-1 + -no-reboot: a panic ends QEMU at once instead of waiting for
# the timeout. No oops=panic: a warning/oops is found in the log instead,
# after the command had a chance to finish.
append="console=ttyS0 panic=-1 hugepages=128"
machine=q35
devices=()
if [ "$profile" = vtd ]; then
	# Under TCG, interrupt remapping works with the userspace irqchip, so
	# no kernel-irqchip=split/intremap=off is needed. caching-mode=on makes
	# QEMU see every map (needed for an assigned/emulated DMA device).
	# shellcheck disable=SC2054 # commas are QEMU's
	devices+=(-device intel-iommu,caching-mode=on -device edu)
	append+=" intel_iommu=on"
fi
[ -z "$cmdline_extra" ] || append+=" $cmdline_extra"

: > "$log"
: > "$outlog"
# shellcheck disable=SC2054 # commas are QEMU's
# --icount ties guest time to executed instructions (single-threaded TCG):
# ratios measured side by side then repeat within a few percent.
accel=(-accel tcg,thread=multi)
[ -z "$icount" ] || accel=(-accel tcg,thread=single -icount shift=0,align=off,sleep=off)
qemu=(qemu-system-x86_64 -machine "$machine" "${accel[@]}" -smp "$cpus" -m "$mem"
	-nographic -monitor none -no-reboot
	-kernel "$kernel" -initrd "$work/initrd" -append "$append"
	-chardev "file,id=ttyS0,path=$log,append=on" -serial chardev:ttyS0
	-chardev "file,id=ttyS1,path=$outlog,append=on" -serial chardev:ttyS1
	${devices[@]+"${devices[@]}"})

start=$(date +%s.%N)
"${qemu[@]}" < /dev/null &
qpid=$!
# Live views of both ports; each tail ends by itself once QEMU is gone.
tail -n +1 -s 0.2 -f --pid="$qpid" "$outlog" &
tail_pids+=($!)
if [ "$quiet" = 0 ]; then
	tail -n +1 -s 0.2 -f --pid="$qpid" "$log" | sed -u 's/\r$//' >&2 &
	tail_pids+=($!)
fi

# Watchdog: poll rather than sleep in a subshell, so nothing outlives us.
timed_out=0
deadline=$((SECONDS + timeout))
while kill -0 "$qpid" 2> /dev/null; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		timed_out=1
		kill "$qpid" 2> /dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$qpid" 2> /dev/null || break
			sleep 0.5
		done
		kill -KILL "$qpid" 2> /dev/null || true
		break
	fi
	sleep 0.2
done
qrc=0
wait "$qpid" || qrc=$?
qpid=
for p in "${tail_pids[@]}"; do wait "$p" 2> /dev/null || true; done
tail_pids=()
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

# QEMU's file chardev keeps the guest's \r\n; store plain lines.
sed -i 's/\r$//' "$log"

rc=$(grep -ao 'IOMMUFD_BPF_EXIT=[0-9]*' "$log" | tail -n 1 | cut -d= -f2 || true)
problems=0
scan_log "$log" || problems=3

if [ "$timed_out" = 1 ]; then
	echo "$prog: guest timed out after $timeout s (console log: $log)" >&2
	exit 124
fi
if [ "$problems" != 0 ]; then
	echo "$prog: failing the run: kernel problems (command exit status ${rc:-never reported}; console log: $log)" >&2
	exit 3
fi
if [ -z "$rc" ]; then
	echo "$prog: guest ended without reporting an exit status (QEMU exit $qrc); see $log" >&2
	tail -n 15 "$log" | sed 's/^/  /' >&2
	exit 125
fi
[ "$quiet" = 1 ] || echo "$prog: command exited $rc after ${elapsed}s wall time" >&2
exit "$rc"
