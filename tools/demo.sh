#!/usr/bin/env bash
# make demo: boot the VM and show iommufd activity traced live, first on the
# selftest mock, then on a real (emulated) device behind VT-d.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
for profile in mock vtd; do
	echo "=== VM profile: $profile ==="
	"$top/tools/vm-run.sh" --profile "$profile" --quiet --timeout 600 \
		--log "$top/build/vm/demo-$profile.console.log" -- \
		sh tools/demo.sh "$profile"
done
