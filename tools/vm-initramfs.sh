#!/usr/bin/env bash
# Build the test guest's initramfs: busybox-static, our /init, and the
# directories we want to run in the guest under /opt/iommufd-bpf.
set -euo pipefail

prog=vm-initramfs
top=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	cat <<'EOF'
Usage: tools/vm-initramfs.sh OUT.cpio.gz [DIR_OR_FILE...]

Build a gzip'd newc cpio initramfs for the QEMU test guest (tools/vm-run.sh):

  /bin/busybox + one symlink per applet   (from the host's busybox-static)
  /init                                    (tools/guest/init)
  /dev/console                             (so PID 1 starts with a console)
  /opt/iommufd-bpf/...                     the CONTENTS of each DIR, merged in
                                           order; a plain FILE lands directly
                                           in /opt/iommufd-bpf/

Our binaries are meant to be static. Any dynamically linked ELF that gets
copied in brings its ldd libraries and loader along at their host paths.
Everything is owned by root in the archive; no root needed to build it.
Re-running with the same inputs rebuilds the same image (a second or so).

Examples:
  # Base image only (what vm-run.sh builds itself when none exists):
  tools/vm-initramfs.sh build/vm/initramfs.cpio.gz

  # With the selftests and our tools: build/guest/bin/iommufd ends up as
  # /opt/iommufd-bpf/bin/iommufd, which is on the guest's PATH.
  tools/vm-initramfs.sh build/vm/initramfs.cpio.gz build/guest

  # Check what went in:
  zcat build/vm/initramfs.cpio.gz | cpio -t 2>/dev/null | grep opt/

Exit status: 0 built, 1 build failed, 2 usage error.
EOF
}

die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
usage_error() { printf '%s: %s (try --help)\n' "$prog" "$*" >&2; exit 2; }

case ${1:-} in
-h | --help) usage; exit 0 ;;
'') usage_error "missing OUT.cpio.gz" ;;
-*) usage_error "unknown option '$1'" ;;
esac
out=$1
shift
for src in "$@"; do
	[ -e "$src" ] || usage_error "'$src' does not exist"
done

busybox=/bin/busybox
init=$top/tools/guest/init
[ -x "$busybox" ] || die "$busybox missing (install the Debian package busybox-static)"
# The guest has no libc: a dynamic busybox would not even run /init.
if readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
	die "$busybox is dynamically linked; install busybox-static"
fi
[ -f "$init" ] || die "$init missing"

stage=$(mktemp -d "${TMPDIR:-/tmp}/vm-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc,mnt}
mkdir -p "$stage/opt/iommufd-bpf/bin"
cp "$busybox" "$stage/bin/busybox"
install -m 0755 "$init" "$stage/init"
# Tools like id/ls want these; a missing passwd only makes output uglier.
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$stage/etc/passwd"
printf 'root:x:0:\n' > "$stage/etc/group"

opt=$stage/opt/iommufd-bpf
for src in "$@"; do
	if [ -d "$src" ]; then
		cp -a "$src/." "$opt/"
	else
		cp -a "$src" "$opt/"
	fi
done

# Cheap insurance for non-static binaries: copy the loader and libraries ldd
# resolves, at their host paths (the guest loader searches the same dirs).
copy_libs() {
	local f=$1 lib
	readelf -l "$f" 2>/dev/null | grep -q 'Requesting program interpreter' || return 0
	printf '%s: note: %s is dynamically linked; copying its libraries\n' \
		"$prog" "${f#"$stage"}" >&2
	while read -r lib; do
		[ -e "$stage$lib" ] || cp -L --parents "$lib" "$stage"
	done < <(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' | sort -u)
}
while IFS= read -r -d '' f; do
	# Only ELF files (magic 0x7f 'E' 'L' 'F'); read without forking, as
	# forks are slow on a loaded build machine.
	magic=
	LC_ALL=C read -r -n 4 magic < "$f" || true
	[ "$magic" != $'\x7fELF' ] || copy_libs "$f"
done < <(find "$opt" -type f -print0)

# Hand-written newc entries for what `cpio -o` can only copy from real
# files: a device node (mknod needs root) and ~270 applet symlinks (one `ln`
# fork each costs seconds on a loaded machine; printf is a builtin).
# Entry: "070701" + 13 hex fields, name + NUL, data; each padded to 4 bytes.
zpad=('' '\0' '\0\0' '\0\0\0')
ino=1
newc_entry() { # NAME MODE [DATA [RDEVMAJOR RDEVMINOR]]
	local name=$1 mode=$2 data=${3:-} rmaj=${4:-0} rmin=${5:-0}
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		$((ino++)) "$mode" 0 0 1 0 ${#data} 0 0 "$rmaj" "$rmin" $((${#name} + 1)) 0
	printf '%s\0' "$name"
	printf "%b" "${zpad[(4 - (110 + ${#name} + 1) % 4) % 4]}"
	printf '%s' "$data"
	printf "%b" "${zpad[(4 - ${#data} % 4) % 4]}"
}
early_archive() {
	local d applet
	# /dev/console: the kernel opens it for PID 1 before /init runs, long
	# before init mounts devtmpfs over /dev.
	newc_entry dev $((0040755))
	newc_entry dev/console $((0020600)) '' 5 1
	for d in bin sbin usr usr/bin usr/sbin; do newc_entry "$d" $((0040755)); done
	# One symlink per applet, at the path busybox itself reports for it.
	while read -r applet; do
		[ "$applet" = bin/busybox ] || newc_entry "$applet" $((0120777)) /bin/busybox
	done < <("$busybox" --list-full)
	newc_entry 'TRAILER!!!' 0
}

mkdir -p "$(dirname "$out")"
tmp_out=$out.tmp.$$
{
	early_archive
	# Same inputs, same bytes: sorted order, fixed mtimes, renumbered inodes.
	(cd "$stage" && find . -mindepth 1 -exec touch -h -d @0 {} + &&
		find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc --owner=0:0 --reproducible --quiet)
} | gzip -n -6 > "$tmp_out" || { rm -f "$tmp_out"; die "writing $out failed"; }
mv -f "$tmp_out" "$out"
printf '%s: wrote %s (%s bytes)\n' "$prog" "$out" "$(stat -c %s "$out")" >&2
