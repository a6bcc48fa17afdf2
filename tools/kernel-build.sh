#!/usr/bin/env bash
# Build the project's kernel: the pinned Debian source, our patch series on
# top, tinyconfig + our fragments, bzImage with BTF, out of tree, via ccache.
#
#   tools/kernel-build.sh FLAVOR          FLAVOR: debug (make check) | bench
#                                         (make bench) | kasan (make check-kasan)
#                                         | modular (make kernel-modular: iommufd
#                                         and VFIO as modules, build only)
#                                         | stock (the debug configuration without
#                                         the series: the fallback's tests)
#                                         | stock-bench (the bench configuration
#                                         without the series: make bench)
#   tools/kernel-build.sh --unpack-only   only unpack and patch build/linux
#
# Source tree : build/linux            (patched in place, see apply_series)
#               build/linux-stock      (stock*: the pinned source, unpatched)
# Objects     : build/kernel-FLAVOR    (bzImage, vmlinux with BTF)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
flavor=${1:-debug}
unpack_only=
if [ "$flavor" = --unpack-only ]; then
	unpack_only=1
	flavor=debug
fi
build=$top/build
src=$build/linux
obj=$build/kernel-$flavor
series_dir=$top/kernel/patches
# The stock kernel has a tree of its own, never patched, so that building it
# does not unpatch the tree the other flavours share.
case $flavor in stock*) src=$build/linux-stock ;; esac
jobs=${JOBS:-$(( $(nproc) + 1 ))}

log() { printf '[kernel] %s\n' "$*" >&2; }
die() { printf '[kernel] error: %s\n' "$*" >&2; exit 1; }

case $flavor in
debug) fragments=("$top/kernel/config/iommufd-bpf.fragment" "$top/kernel/config/debug.fragment") ;;
bench) fragments=("$top/kernel/config/iommufd-bpf.fragment") ;;
kasan) fragments=("$top/kernel/config/iommufd-bpf.fragment" "$top/kernel/config/debug.fragment"
		  "$top/kernel/config/kasan.fragment") ;;
modular) fragments=("$top/kernel/config/iommufd-bpf.fragment" "$top/kernel/config/modular.fragment") ;;
stock) fragments=("$top/kernel/config/iommufd-bpf.fragment" "$top/kernel/config/debug.fragment") ;;
stock-bench) fragments=("$top/kernel/config/iommufd-bpf.fragment") ;;
*) die "unknown flavor '$flavor' (expected debug, bench, kasan, modular, stock or stock-bench)" ;;
esac

# shellcheck source=/dev/null
. "$top/kernel/base.pin"
have=$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null) ||
	die "$package is not installed (run tools/install-deps.sh)"
[ "$have" = "$version" ] ||
	die "$package is $have but the series is pinned to $version (kernel/base.pin); refusing to build on another base"
[ -f "$tarball" ] || die "$tarball missing although $package $have is installed"

mkdir -p "$build"
# One build at a time per tree: two would patch and unpatch build/linux
# under each other (make check and make bench started together, say).
exec 9>"$build/.kernel-build.lock"
flock 9 || die "cannot lock $build/.kernel-build.lock"

# The series in order, without the cover letter; none for the stock kernel.
series=()
[ "$src" = "$build/linux-stock" ] || mapfile -t series < <(find "$series_dir" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' \
	! -name '0000-*' | sort)
series_sum=$(cat "${series[@]}" /dev/null | sha256sum | cut -c1-16)

unpack() {
	log "unpacking $package $version"
	rm -rf "$src" "$build/linux.tmp"
	mkdir -p "$build/linux.tmp"
	tar -C "$build/linux.tmp" -xf "$tarball" --strip-components=1
	mv "$build/linux.tmp" "$src"
	echo "$version" > "$src/.iommufd-bpf-base"
	mkdir -p "$src/.iommufd-bpf-applied"
}

# Patch the tree in place, quilt style: reverse the series applied last time,
# apply the current one. Files the series does not touch keep their mtimes,
# so a patch change rebuilds only what it touches.
apply_series() {
	local applied=$src/.iommufd-bpf-applied p
	if [ -f "$applied/sum" ] && [ "$(cat "$applied/sum")" = "$series_sum" ]; then
		return 0
	fi
	if [ -f "$applied/sum" ]; then
		log "reverting the previously applied series"
		mapfile -t old < <(find "$applied" -name '*.patch' | sort -r)
		for p in "${old[@]}"; do
			if ! patch -d "$src" -p1 -R -s --fuzz=0 --batch --no-backup-if-mismatch < "$p"; then
				log "could not revert $(basename "$p"); unpacking afresh"
				unpack
				break
			fi
		done
		rm -f "$applied"/*.patch "$applied/sum"
	fi
	for p in "${series[@]}"; do
		log "applying $(basename "$p")"
		patch -d "$src" -p1 -s --fuzz=0 --batch --forward --no-backup-if-mismatch < "$p" ||
			die "$(basename "$p") does not apply cleanly to $package $version"
		cp "$p" "$applied/"
	done
	echo "$series_sum" > "$applied/sum"
}

if [ ! -f "$src/.iommufd-bpf-base" ] || [ "$(cat "$src/.iommufd-bpf-base")" != "$version" ]; then
	unpack
fi
apply_series
[ -z "$unpack_only" ] || exit 0

export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1 CCACHE_COMPILERCHECK=content
export KBUILD_BUILD_TIMESTAMP='2024-01-01' KBUILD_BUILD_USER=iommufd-bpf KBUILD_BUILD_HOST=build
kmake=(make -C "$src" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" -j"$jobs")
[ -n "${V:-}" ] && [ "${V}" != 0 ] && kmake+=(V=1) || kmake+=(-s)

# Generate the config aside; install it only when it changed, so an
# unchanged config never triggers a rebuild.
mkdir -p "$obj"
# Options that only the series adds do not exist on the stock kernel.
if [ "$src" = "$build/linux-stock" ]; then
	grep -hv -e '^CONFIG_IOMMUFD_BPF=' "${fragments[@]}" > "$obj/stock.fragment"
	fragments=("$obj/stock.fragment")
fi
cfg=$obj/.config.new
make -C "$src" O="$obj.cfg" -s tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj.cfg" "$obj.cfg/.config" "${fragments[@]}" >/dev/null
make -C "$src" O="$obj.cfg" -s olddefconfig >/dev/null
cp "$obj.cfg/.config" "$cfg"
rm -rf "$obj.cfg"

# Every option the fragments ask for must have survived olddefconfig (the
# last fragment that names an option has the say, as in merge_config.sh).
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=n) opt=${line%%=*}; want="# $opt is not set" ;;
	CONFIG_*=*) want=$line ;;
	*) continue ;;
	esac
	grep -qxF "$want" "$cfg" || { log "config: '$line' did not survive olddefconfig"; missing=1; }
done < <(cat "${fragments[@]}" | awk -F= '/^CONFIG_/ { if (!($1 in v)) k[++n] = $1; v[$1] = $0 }
					   END { for (i = 1; i <= n; i++) print v[k[i]] }')
[ $missing = 0 ] || die "the fragments ask for options Kconfig refused (see above)"

if ! cmp -s "$cfg" "$obj/.config"; then
	mv "$cfg" "$obj/.config"
	log "config updated"
else
	rm -f "$cfg"
fi

targets=(bzImage)
[ "$flavor" != modular ] || targets+=(modules)
log "building ${targets[*]} ($flavor, -j$jobs; about 15 minutes cold, seconds when nothing changed)"
start=$(date +%s)
"${kmake[@]}" "${targets[@]}"
log "built $obj/arch/x86/boot/bzImage in $(( $(date +%s) - start ))s"
[ -s "$obj/vmlinux" ] || die "no vmlinux produced"
