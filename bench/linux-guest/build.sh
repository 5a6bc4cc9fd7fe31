#!/usr/bin/env bash
# Builds the Linux peer of the PVH benchmarks (bench/pvh_guest.py): Debian's kernel
# from /boot with a busybox initramfs whose /init loads virtio-net, takes an address
# by DHCP (like examples/echo) and serves TCP echo on port 7.
#
#   bench/linux-guest/build.sh [OUT_DIR]     # default build/bench/linux-guest
#
# Writes OUT_DIR/initramfs.cpio.gz and OUT_DIR/kernel (the path of the vmlinuz it
# belongs to). Needs linux-image-amd64, busybox-static and cpio (scripts/setup).
# Debian builds virtio_net, virtio_mmio and virtio_pci as modules, so they and
# their dependencies (from modinfo) go into the initramfs. No root needed.
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
here=bench/linux-guest
out=$(realpath -m "${1:-build/bench/linux-guest}")

kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -1)
[[ -n $kernel ]] || { echo "linux-guest: no /boot/vmlinuz-* (install linux-image-amd64)" >&2; exit 1; }
version=${kernel#/boot/vmlinuz-}
[[ -d /lib/modules/$version ]] || { echo "linux-guest: no /lib/modules/$version" >&2; exit 1; }
busybox=/bin/busybox
grep -q "not a dynamic executable" <<<"$(LC_ALL=C ldd "$busybox" 2>&1)" ||
  { echo "linux-guest: $busybox is not static (install busybox-static)" >&2; exit 1; }
command -v cpio >/dev/null || { echo "linux-guest: no cpio (install cpio)" >&2; exit 1; }

# The drivers for both transports; each is preceded by what it depends on.
wanted=(virtio_mmio virtio_pci virtio_net)
ordered=()
add_module() {
  local name=$1 dependency m
  for m in "${ordered[@]}"; do [[ $m == "$name" ]] && return; done
  local depends
  depends=$(modinfo -k "$version" -F depends "$name") || { echo "linux-guest: no module $name" >&2; exit 1; }
  [[ $(modinfo -k "$version" -F filename "$name") == "(builtin)" ]] && return
  for dependency in ${depends//,/ }; do add_module "$dependency"; done
  ordered+=("$name")
}
for m in "${wanted[@]}"; do add_module "$m"; done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,etc,lib/modules}
cp "$busybox" "$root/bin/busybox"
for m in "${ordered[@]}"; do
  file=$(modinfo -k "$version" -F filename "$m")
  case $file in
    *.ko) cp "$file" "$root/lib/modules/$m.ko" ;;
    *.ko.xz) xz -dc "$file" >"$root/lib/modules/$m.ko" ;;
    *.ko.zst) zstd -qdc "$file" >"$root/lib/modules/$m.ko" ;;
    *) echo "linux-guest: cannot unpack $file" >&2; exit 1 ;;
  esac
done
printf '%s\n' "${ordered[@]}" >"$root/etc/modules"
install -m 755 "$here/init" "$root/init"
install -m 755 "$here/udhcpc.script" "$root/etc/udhcpc.script"

mkdir -p "$out"
(cd "$root" && find . -print0 | sort -z | cpio --null --create --format=newc --owner=0:0 --quiet) |
  gzip -9n >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
echo "$kernel" >"$out/kernel"
size=$(stat -c %s "$out/initramfs.cpio.gz")
echo "linux-guest: $out/initramfs.cpio.gz ($size bytes) for $kernel; modules: ${ordered[*]}"
