#!/usr/bin/env bash
# Build the BPF userspace toolchain from the pinned kernel source itself:
# static libbpf, bpftool, and vmlinux.h for CO-RE programs. Debian bookworm's
# libbpf 1.1 / bpftool 7.1 predate the kernel (no struct_ops links, older BTF).
#
#   tools/bpf-toolchain.sh [--vmlinux PATH]
#
# Source tree : build/linux (unpacked and patched by tools/kernel-build.sh)
# Output      : build/toolchain/
#   libbpf/libbpf.a        static libbpf (objects out of tree, same dir)
#   include/bpf/*.h        libbpf's installed headers (-I build/toolchain/include)
#   bpftool/bpftool        bpftool (host tool: skeletons, BTF dumps)
#   vmlinux.h              `bpftool btf dump file VMLINUX format c`
#
# Each step is skipped when its stamp matches: the source tree's series sum
# (.iommufd-bpf-applied/sum), the base version and this script's own hash.
# Quiet unless V=1; the make output of a step is kept in build/toolchain/*.log.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
self=$top/tools/$(basename "$0")
build=$top/build
src=$build/linux
tc=$build/toolchain
jobs=${JOBS:-$(nproc)}
default_vmlinux=$build/kernel-debug/vmlinux

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

usage() {
	cat <<EOF
Usage: tools/bpf-toolchain.sh [--vmlinux PATH]

Builds, from the pinned kernel tree in build/linux:
  build/toolchain/libbpf/libbpf.a      static libbpf
  build/toolchain/include/bpf/         libbpf headers
  build/toolchain/bpftool/bpftool      bpftool (clang-19 for its skeletons)
  build/toolchain/vmlinux.h            from PATH (default: build/kernel-debug/vmlinux
                                       if it exists; skipped otherwise)

Options:
  --vmlinux PATH   vmlinux (or raw BTF file) to dump vmlinux.h from; it is an
                   error if PATH does not exist
  -h, --help       this text

Environment: V=1 shows the make output, JOBS=N sets make -j (default nproc).
EOF
}

vmlinux=
vmlinux_explicit=0
while [ $# -gt 0 ]; do
	case $1 in
	-h|--help) usage; exit 0 ;;
	--vmlinux) [ $# -ge 2 ] || die "--vmlinux needs a PATH"; vmlinux=$2; vmlinux_explicit=1; shift 2 ;;
	--vmlinux=*) vmlinux=${1#--vmlinux=}; vmlinux_explicit=1; shift ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
if [ $vmlinux_explicit = 1 ]; then
	[ -n "$vmlinux" ] || die "--vmlinux needs a non-empty PATH"
	[ -e "$vmlinux" ] || die "--vmlinux $vmlinux: no such file"
	{ [ -f "$vmlinux" ] && [ -r "$vmlinux" ]; } || die "--vmlinux $vmlinux: not a readable file"
	vmlinux=$(cd "$(dirname "$vmlinux")" && pwd)/$(basename "$vmlinux")
elif [ -f "$default_vmlinux" ]; then
	vmlinux=$default_vmlinux
fi

verbose=0
[ -n "${V:-}" ] && [ "$V" != 0 ] && verbose=1

# --- prerequisites ----------------------------------------------------------
{ [ -f "$src/.iommufd-bpf-base" ] && [ -d "$src/tools/lib/bpf" ] && [ -d "$src/tools/bpf/bpftool" ]; } ||
	die "no kernel source tree at $src (tools/kernel-build.sh unpacks and patches it)"
for t in make gcc clang-19 llvm-strip-19 pkg-config; do
	command -v "$t" >/dev/null || die "'$t' not found (install clang-19, llvm-19, gcc, make, pkg-config)"
done
for h in libelf.h zlib.h; do
	printf '#include <%s>\n' "$h" | gcc -E -x c - >/dev/null 2>&1 ||
		die "<$h> not found (install libelf-dev zlib1g-dev)"
done

cc=gcc
if command -v ccache >/dev/null; then
	cc="ccache gcc"
	export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1 CCACHE_COMPILERCHECK=content
fi

libbpf_version=$(grep -oE '^LIBBPF_[0-9.]+' "$src/tools/lib/bpf/libbpf.map" | cut -d_ -f2 | sort -rV | head -n1)
[ -n "$libbpf_version" ] || die "cannot read the libbpf version from $src/tools/lib/bpf/libbpf.map"

# The stamp: what the tree is (base version + applied series) and how we
# build it (this script).
series_sum=none
[ -f "$src/.iommufd-bpf-applied/sum" ] && series_sum=$(cat "$src/.iommufd-bpf-applied/sum")
key="base=$(cat "$src/.iommufd-bpf-base") series=$series_sum script=$(sha256sum "$self" | cut -c1-16)"

mkdir -p "$tc"
# Like kbuild's O= directories: keep build products out of git status.
[ -f "$tc/.gitignore" ] || echo '*' > "$tc/.gitignore"

up_to_date() { # STAMP FILE...
	local stamp=$1 f; shift
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] || return 1
	for f in "$@"; do [ -s "$f" ] || return 1; done
}

# run_make STEP LOGFILE make-args...: quiet (log kept, tail shown on failure)
# unless V=1.
run_make() {
	local step=$1 logf=$2; shift 2
	if [ $verbose = 1 ]; then
		make V=1 "$@" 2>&1 | tee "$logf" || die "$step build failed (log: $logf)"
	elif ! make -s "$@" >"$logf" 2>&1; then
		tail -n 40 "$logf" >&2
		die "$step build failed (full log: $logf; rerun with V=1)"
	fi
}

# --- 1. static libbpf ----------------------------------------------------------
libbpf_a=$tc/libbpf/libbpf.a
if up_to_date "$tc/.libbpf.stamp" "$libbpf_a" "$tc/include/bpf/libbpf.h" "$tc/include/bpf/bpf_helper_defs.h"; then
	log "libbpf $libbpf_version: up to date"
else
	log "libbpf $libbpf_version: building static library"
	start=$(date +%s)
	rm -rf "$tc/libbpf" "$tc/include/bpf" "$tc/.libbpf.stamp"
	mkdir -p "$tc/libbpf"
	# The kernel tree's libbpf Makefile (unlike github libbpf's) has no
	# BUILD_STATIC_ONLY/install_static: asking for the .a target builds
	# only the static objects; headers go to DESTDIR/include/bpf.
	run_make libbpf "$tc/libbpf.log" -C "$src/tools/lib/bpf" -j"$jobs" \
		OUTPUT="$tc/libbpf/" DESTDIR="$tc" prefix= CC="$cc" \
		"$libbpf_a" install_headers
	[ -s "$libbpf_a" ] || die "libbpf build produced no $libbpf_a"
	echo "$key" > "$tc/.libbpf.stamp"
	log "libbpf $libbpf_version: built in $(( $(date +%s) - start ))s"
fi

# --- 2. bpftool --------------------------------------------------------------------
bpftool=$tc/bpftool/bpftool
if up_to_date "$tc/.bpftool.stamp" "$bpftool" && "$bpftool" version >/dev/null 2>&1; then
	log "bpftool: up to date"
else
	log "bpftool: building (with clang-19 skeletons)"
	start=$(date +%s)
	rm -rf "$tc/bpftool" "$tc/.bpftool.stamp"
	mkdir -p "$tc/bpftool"
	# bpftool's own CO-RE skeletons (prog profile, pids in prog show) need
	# some kernel BTF to compile against; any recent one will do since they
	# relocate at load time. Prefer the running kernel's: always complete,
	# unlike a vmlinux a concurrent kernel build may be relinking.
	skel_btf=
	for b in /sys/kernel/btf/vmlinux "$vmlinux"; do
		[ -n "$b" ] && [ -r "$b" ] && { skel_btf=$b; break; }
	done
	[ -n "$skel_btf" ] ||
		log "warning: no kernel BTF to build bpftool's own skeletons; it lacks 'prog profile' and pid info"
	# JIT disassembly (libbfd or LLVM libs) is deliberately not probed: the
	# host has llvm-14-dev, which would otherwise get linked in, and it is
	# not needed to generate skeletons or vmlinux.h.
	run_make bpftool "$tc/bpftool.log" -C "$src/tools/bpf/bpftool" -j"$jobs" \
		OUTPUT="$tc/bpftool/" CC="$cc" HOSTCC="$cc" \
		CLANG=clang-19 LLVM_STRIP=llvm-strip-19 LLVM_CONFIG=llvm-config-19 \
		FEATURE_TESTS="clang-bpf-co-re libcap" FEATURE_DISPLAY="clang-bpf-co-re libcap" \
		VMLINUX_BTF="$skel_btf"
	"$bpftool" version >/dev/null 2>&1 || die "the built $bpftool does not run"
	echo "$key" > "$tc/.bpftool.stamp"
	log "bpftool: built in $(( $(date +%s) - start ))s ($("$bpftool" version | head -n1))"
fi

# --- 3. vmlinux.h ----------------------------------------------------------------------
if [ -z "$vmlinux" ]; then
	log "vmlinux.h: skipped (no $default_vmlinux yet; pass --vmlinux PATH)"
	exit 0
fi
# Redo the dump when the vmlinux or bpftool changed; replace vmlinux.h only
# when its content changed, so BPF objects depending on it do not rebuild.
vkey="$key vmlinux=$vmlinux $(stat -c '%s %Y' "$vmlinux") bpftool=$(stat -c '%Y' "$bpftool")"
if [ -f "$tc/.vmlinux_h.stamp" ] && [ "$(cat "$tc/.vmlinux_h.stamp")" = "$vkey" ] && [ -s "$tc/vmlinux.h" ]; then
	log "vmlinux.h: up to date ($vmlinux)"
	exit 0
fi
start=$(date +%s)
tmp=$tc/vmlinux.h.tmp
"$bpftool" btf dump file "$vmlinux" format c > "$tmp" 2>"$tc/vmlinux_h.log" || {
	cat "$tc/vmlinux_h.log" >&2; rm -f "$tmp"
	die "bpftool btf dump of $vmlinux failed (built with CONFIG_DEBUG_INFO_BTF? still being linked?)"
}
[ -s "$tmp" ] || { rm -f "$tmp"; die "empty BTF dump from $vmlinux"; }
if cmp -s "$tmp" "$tc/vmlinux.h"; then
	rm -f "$tmp"
	log "vmlinux.h: unchanged ($vmlinux, $(( $(date +%s) - start ))s)"
else
	mv "$tmp" "$tc/vmlinux.h"
	log "vmlinux.h: written from $vmlinux ($(wc -l < "$tc/vmlinux.h") lines, $(( $(date +%s) - start ))s)"
fi
echo "$vkey" > "$tc/.vmlinux_h.stamp"
