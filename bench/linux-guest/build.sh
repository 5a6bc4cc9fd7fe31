#!/usr/bin/env bash
# Builds the Linux peer of the PVH benchmarks (bench/pvh_guest.py, bench/pvh_http.py,
# bench/xen.py) and of the Xen harness's tests (tests/system/xen_harness_test.py):
# Debian's kernel from /boot with a busybox initramfs whose /init loads virtio-net and
# xen-netfront, takes an address by DHCP (like examples/echo; linux-guest.ipv4=A/P on
# the command line sets one instead) and serves TCP echo on port 7 and discard on
# port 9, or, with --nginx, the host's nginx on ports 80 and 443 instead. The same
# files boot in QEMU and as a Xen PVH guest (extra = "console=hvc0").
#
#   bench/linux-guest/build.sh [OUT_DIR]     # default build/bench/linux-guest
#   bench/linux-guest/build.sh OUT_DIR --nginx NGINX_CONF SITE_DIR TLS_DIR
#
# Writes OUT_DIR/initramfs.cpio.gz and OUT_DIR/kernel (the path of the vmlinuz it
# belongs to). Needs linux-image-amd64, busybox-static and cpio (scripts/setup).
# Debian builds virtio_net, virtio_mmio, virtio_pci and xen-netfront as modules, so they and
# their dependencies (from modinfo) go into the initramfs. No root needed.
#
# --nginx copies /usr/sbin/nginx with the shared libraries ldd names (at the same
# paths), /etc/nginx/mime.types and /etc/ssl/openssl.cnf into the initramfs, with
# NGINX_CONF as /etc/nginx/nginx.conf, SITE_DIR as /srv/site and TLS_DIR (server.pem,
# server.key) as /etc/nginx/tls. The configuration must use those paths.
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
here=bench/linux-guest
out=$(realpath -m "${1:-build/bench/linux-guest}")
nginx_conf='' nginx_site='' nginx_tls=''
if [[ ${2:-} == --nginx ]]; then
  [[ $# -eq 5 ]] || { echo "linux-guest: --nginx takes NGINX_CONF SITE_DIR TLS_DIR" >&2; exit 2; }
  nginx_conf=$(realpath "$3") nginx_site=$(realpath "$4") nginx_tls=$(realpath "$5")
  command -v nginx >/dev/null || { echo "linux-guest: no nginx on the host (install nginx-light)" >&2; exit 1; }
elif [[ $# -gt 1 ]]; then
  echo "linux-guest: unexpected argument $2" >&2
  exit 2
fi

kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -1)
[[ -n $kernel ]] || { echo "linux-guest: no /boot/vmlinuz-* (install linux-image-amd64)" >&2; exit 1; }
version=${kernel#/boot/vmlinuz-}
[[ -d /lib/modules/$version ]] || { echo "linux-guest: no /lib/modules/$version" >&2; exit 1; }
busybox=/bin/busybox
grep -q "not a dynamic executable" <<<"$(LC_ALL=C ldd "$busybox" 2>&1)" ||
  { echo "linux-guest: $busybox is not static (install busybox-static)" >&2; exit 1; }
command -v cpio >/dev/null || { echo "linux-guest: no cpio (install cpio)" >&2; exit 1; }

# The drivers for both virtio transports and Xen's; each is preceded by what it depends on.
wanted=(virtio_mmio virtio_pci virtio_net xen-netfront)
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

if [[ -n $nginx_conf ]]; then
  nginx=$(command -v nginx)
  install -D -m 755 "$nginx" "$root$nginx"
  # Every library ldd resolves (and the dynamic loader), at the same path as on the host.
  for library in $(LC_ALL=C ldd "$nginx" | grep -o '/[^ ]*'); do
    install -D -m 755 "$(realpath "$library")" "$root$library"
  done
  install -D -m 644 /etc/nginx/mime.types "$root/etc/nginx/mime.types"
  install -D -m 644 /etc/ssl/openssl.cnf "$root/etc/ssl/openssl.cnf"
  install -D -m 644 "$nginx_conf" "$root/etc/nginx/nginx.conf"
  install -D -m 644 "$nginx_tls/server.pem" "$root/etc/nginx/tls/server.pem"
  install -D -m 600 "$nginx_tls/server.key" "$root/etc/nginx/tls/server.key"
  mkdir -p "$root/srv" "$root/run" "$root/tmp" "$root/var/lib/nginx"
  chmod 755 "$root" # mktemp made it 700; nobody must reach /srv/site
  cp -r "$nginx_site" "$root/srv/site"
  chmod -R a+rX "$root/srv/site"
  # nginx's workers run as nobody.
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
fi

mkdir -p "$out"
(cd "$root" && find . -print0 | sort -z | cpio --null --create --format=newc --owner=0:0 --quiet) |
  gzip -9n >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
echo "$kernel" >"$out/kernel"
size=$(stat -c %s "$out/initramfs.cpio.gz")
echo "linux-guest: $out/initramfs.cpio.gz ($size bytes) for $kernel; modules: ${ordered[*]}${nginx_conf:+; with nginx}"
