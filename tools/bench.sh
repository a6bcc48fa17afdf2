#!/usr/bin/env bash
# make bench: run the benchmarks in one VM boot with deterministic guest
# time (-icount), write build/bench/results.json (a flat object of named
# figures) and print them as a table.
#
#   tools/bench.sh [BLOCKS [OPS_PER_BLOCK [DIRTY_BLOCKS [FAULT_BLOCKS [FAULTS_PER_BLOCK [CONTEXTS]]]]]]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench
mkdir -p "$out"
blocks=${1:-21} ops=${2:-400} dirty_blocks=${3:-5}
fault_blocks=${4:-21} faults=${5:-1000} contexts=${6:-1000}
kernel=$top/build/kernel-${FLAVOR:-bench}/arch/x86/boot/bzImage

echo "bench: $blocks interleaved blocks of $ops map+unmap pairs per variant" \
	"(one vCPU), then dirty harvests in $dirty_blocks blocks per grid point, then" \
	"$fault_blocks interleaved blocks of $faults faults per fault mode, then" \
	"metrics over $contexts live contexts, under -icount" >&2
# The tracing costs on one vCPU: with two, single-threaded TCG takes turns
# between them, and how the turns fall moved whole boots by up to 7 %
# (same binaries, another command line); on one they agree to 0.1 %.
"$top/tools/vm-run.sh" --quiet --icount --cpus 1 --timeout 3000 \
	--kernel "$kernel" --log "$out/console-trace.log" -- \
	tests/bench_trace_overhead "$blocks" "$ops" > "$out/raw.out"
# The fallbacks where they are needed: the same pair on the same
# configuration without the series (make bench builds it), one vCPU
echo "bench: the fallbacks on the kernel without the series" >&2
"$top/tools/vm-run.sh" --quiet --icount --cpus 1 --timeout 3000 \
	--kernel "$top/build/kernel-stock-bench/arch/x86/boot/bzImage" \
	--log "$out/console-stock.log" -- \
	tests/bench_trace_overhead "$blocks" "$ops" >> "$out/raw.out"
"$top/tools/vm-run.sh" --quiet --icount --timeout 3000 --kernel "$kernel" \
	--log "$out/console.log" -- \
	sh -c "tests/bench_dirty_harvest $dirty_blocks &&
	       tests/bench_fault_latency $fault_blocks $faults && tests/bench_scale.sh $contexts" \
	>> "$out/raw.out"
# What watching the IOMMU's invalidation waits costs: edu behind the
# emulated VT-d, one vCPU
echo "bench: invalidation waits on the emulated VT-d" >&2
"$top/tools/vm-run.sh" --profile vtd --quiet --icount --cpus 1 --timeout 3000 \
	--kernel "$kernel" --log "$out/console-vtd.log" -- \
	tests/bench_iotlb_overhead "$blocks" >> "$out/raw.out"
# The dirty ratios again on wall-clock time (multi-threaded TCG, no
# -icount): noisier, but shows the conclusion does not hang on -icount
echo "bench: dirty harvests again on wall-clock time" >&2
"$top/tools/vm-run.sh" --quiet --timeout 3000 --kernel "$kernel" \
	--log "$out/console-wallclock.log" -- \
	tests/bench_dirty_harvest "$dirty_blocks" dirty_wallclock >> "$out/raw.out"
# Each benchmark prints one flat JSON object: merge them
python3 - "$out/raw.out" "$out/results.json" <<'PY'
import json, sys
r = {}
for line in open(sys.argv[1]):
    if line.startswith("{"):
        r.update(json.loads(line))
if not all(any(k.startswith(b + ".") for k in r) for b in ("trace", "stock", "dirty", "fault", "scale", "iotlb")):
    sys.exit("bench: a benchmark printed no results; see build/bench/raw.out")
json.dump(r, open(sys.argv[2], "w"), indent=1)
print("%-42s %14s" % ("figure", "value"))
for k, v in r.items():
    print("%-42s %14s" % (k, ("%.4f" % v) if isinstance(v, float) else v))
PY
echo "bench: wrote $out/results.json" >&2
