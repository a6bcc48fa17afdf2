#!/usr/bin/env bash
# make bench: run the benchmarks in one VM boot with deterministic guest
# time (-icount), write build/bench/results.json (a flat object of named
# figures) and print them as a table.
#
#   tools/bench.sh [BLOCKS [OPS_PER_BLOCK]]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench
mkdir -p "$out"
blocks=${1:-21} ops=${2:-400}
kernel=$top/build/kernel-${FLAVOR:-bench}/arch/x86/boot/bzImage

echo "bench: $blocks interleaved blocks of $ops map+unmap pairs per variant, under -icount" >&2
"$top/tools/vm-run.sh" --quiet --icount --timeout 3000 --kernel "$kernel" \
	--log "$out/console.log" -- \
	tests/bench_trace_overhead "$blocks" "$ops" > "$out/raw.out"
grep '^{' "$out/raw.out" | tail -1 > "$out/results.json"
python3 - "$out/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("%-42s %14s" % ("figure", "value"))
for k, v in r.items():
    print("%-42s %14s" % (k, ("%.4f" % v) if isinstance(v, float) else v))
PY
echo "bench: wrote $out/results.json" >&2
