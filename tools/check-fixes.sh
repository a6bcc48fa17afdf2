#!/usr/bin/env bash
# The bug fixes of the series stand alone: every patch with a Fixes: tag
# applies to the pinned, pristine source by itself, so it can go to stable
# without the rest of the series. Prints one line per fix; exits 1 if one
# does not apply alone.
#
#   tools/check-fixes.sh [PATCH...]    default: kernel/patches/*.patch
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null
. "$top/kernel/base.pin"
[ -f "$tarball" ] || { echo "check-fixes: $tarball missing (run tools/install-deps.sh)" >&2; exit 1; }

if [ $# -gt 0 ]; then
	patches=("$@")
else
	mapfile -t patches < <(ls "$top"/kernel/patches/[0-9][0-9][0-9][0-9]-*.patch | grep -v '/0000-')
fi
fixes=()
for p in "${patches[@]}"; do
	grep -q '^Fixes: [0-9a-f]\{12\} ("' "$p" && fixes+=("$p")
done
if [ ${#fixes[@]} = 0 ]; then
	echo "check-fixes: no patch with a Fixes: tag"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One pass over the tarball for every file the fixes change (not create)
mapfile -t files < <(sed -n 's|^--- a/||p' "${fixes[@]}" | sort -u)
# (tar dies of SIGPIPE once head has its line)
root=$(tar -tf "$tarball" 2>/dev/null | head -1 || true)
root=${root%%/*}
# A file the base lacks is not extracted: the patch then fails, as it should
mkdir -p "$tmp/$root"
tar -C "$tmp" -xf "$tarball" "${files[@]/#/$root/}" 2>/dev/null || true

rc=0
for p in "${fixes[@]}"; do
	rm -rf "$tmp/tree" && cp -a "$tmp/$root" "$tmp/tree"
	if patch -d "$tmp/tree" -p1 -s --dry-run --fuzz=0 --batch < "$p" > "$tmp/out" 2>&1; then
		echo "ok: $(basename "$p") applies alone to $package $version"
	else
		echo "FAILED: $(basename "$p") does not apply alone to $package $version:"
		sed 's/^/  /' "$tmp/out"
		rc=1
	fi
done
exit $rc
