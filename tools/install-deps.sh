#!/usr/bin/env bash
# Install the Debian packages the project builds and runs with. Idempotent:
# it does nothing (and needs no network) when every package is present.
#
#   tools/install-deps.sh [--check]    --check: only report what is missing
set -euo pipefail

# shellcheck source=/dev/null
. "$(dirname "$0")/../kernel/base.pin"

packages=(
	"$package"                  # the pinned kernel source (kernel/base.pin)
	build-essential bc bison flex libssl-dev libelf-dev dwarves  # kernel build; dwarves = pahole for BTF
	cpio xz-utils kmod rsync ccache python3
	clang-19 llvm-19            # BPF objects; clang-19 over bookworm's default 14 for current BPF features
	libcap-dev zlib1g-dev pkg-config  # libbpf/bpftool and the loaders (libcap drops privileges)
	qemu-system-x86             # the guest: q35 + emulated VT-d + edu device
	busybox-static              # the guest's userspace
	linux-perf                  # perf in the guest: the events as perf users see them
	curl                        # the guest's HTTP client for 'iommufd-bpf metrics'
	prometheus                  # promtool: checks the metrics exposition (the server is not started)
)

missing=()
for p in "${packages[@]}"; do
	# A package counts as present only when dpkg says "install ok installed".
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done

# The kernel source must be exactly the pinned version, not just present.
have=$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null || true)
if [ -n "$have" ] && [ "$have" != "$version" ]; then
	echo "[deps] $package is $have, pinned $version: installing the pinned version" >&2
	missing+=("$package=$version")
fi

if [ ${#missing[@]} -eq 0 ]; then
	echo "[deps] all ${#packages[@]} packages present" >&2
	exit 0
fi
if [ "${1:-}" = --check ]; then
	echo "[deps] missing: ${missing[*]}" >&2
	exit 1
fi
[ "$(id -u)" = 0 ] || { echo "[deps] error: need root to apt-get install: ${missing[*]}" >&2; exit 1; }

echo "[deps] installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Packages wanted for their tools must not start their daemons (prometheus)
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
fi
rc=0
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
[ -z "$own_policy" ] || rm -f "$policy"
[ "$rc" = 0 ] || { echo "[deps] error: apt-get install failed ($rc)" >&2; exit "$rc"; }
echo "[deps] done" >&2
