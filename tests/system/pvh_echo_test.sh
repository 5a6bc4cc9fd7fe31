#!/usr/bin/env bash
# Boots examples/echo, unchanged, as a PVH image under QEMU (TCG) on every
# virtio-net transport the pvh platform drives, and checks that it serves:
# 10 MB through the TCP echo service compared byte for byte, and UDP echo of
# datagrams from 1 to 1472 bytes. QEMU user networking forwards host ports to
# the guest; it accepts a connection even when the guest is dead, so only
# the echoed bytes count. The log must show the transport and interrupt
# path each boot is meant to exercise.
#
#   microvm                      virtio-mmio v1, IRQ from the ACPI DSDT
#   microvm, acpi=off            virtio-mmio v1, virtio_mmio.device= on the command line
#   microvm, force-legacy=false  virtio-mmio v2
#   microvm, no ACPI, no cmdline virtio-mmio v1 found by probing, IRQ unknown: polled
#   pc                           virtio-net-pci 1af4:1000 (transitional), modern interface, MSI-X
#   pc, disable-modern=on        1af4:1000 legacy I/O BAR, MSI-X
#   pc, disable-legacy=on        1af4:1041 modern, MSI-X
#   pc, vectors=0                legacy I/O BAR, INTx through the I/O APIC
#
# As root with /dev/net/tun, two more boots serve over a tap device inside a
# network namespace this script creates (and removes): microvm and pc.
#
# Usage: tests/system/pvh_echo_test.sh [IMAGE]
#   IMAGE defaults to examples/echo configured and built for pvh by ./morgana
#   (build/app-echo-pvh/echo.elf).
# Needs qemu-system-x86_64 and python3. Logs: build/system-tests/pvh_echo/.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

netns=""
pvh_extra_cleanup() {
  if [[ -n $netns ]]; then ip netns delete "$netns" 2>/dev/null; fi
}
# shellcheck source=tests/system/pvh_lib.sh
source tests/system/pvh_lib.sh
pvh_setup pvh_echo echo "${1:-}"

tcp_bytes=$((10 * 1024 * 1024))

# The client: TCP echo of `tcp_bytes` random bytes (written and read
# concurrently), then UDP echo of a few datagrams. Prints one summary line;
# exits non-zero on any mismatch or timeout.
# Usage: python3 $client HOST TCP_PORT UDP_PORT BYTES
client=$log_dir/echo_client.py
cat >"$client" <<'PYTHON'
import os, socket, sys, threading, time

host, tcp_port, udp_port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
deadline = 120

data = os.urandom(size)
received = bytearray()
error = []
try:
    stream = socket.create_connection((host, tcp_port), timeout=10)
except OSError as e:
    print(f"tcp: cannot connect: {e}")
    sys.exit(1)
stream.settimeout(deadline)

def read_all():
    try:
        while len(received) < size:
            chunk = stream.recv(1 << 16)
            if not chunk:
                break
            received.extend(chunk)
    except OSError as e:
        error.append(e)

reader = threading.Thread(target=read_all, daemon=True)
start = time.monotonic()
reader.start()
try:
    stream.sendall(data)
except OSError as e:
    error.append(e)
reader.join(deadline)
elapsed = time.monotonic() - start
stream.close()
if bytes(received) != data:
    where = next((i for i, (a, b) in enumerate(zip(received, data)) if a != b), min(len(received), size))
    print(f"tcp: echoed {len(received)} of {size} bytes, first difference at {where}, errors {error}")
    sys.exit(1)

udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.settimeout(2)
sizes = [1, 64, 512, 1000, 1472]
echoed = 0
for length in sizes:
    payload = os.urandom(length)
    for attempt in range(3):  # the first may wait on ARP
        udp.sendto(payload, (host, udp_port))
        try:
            reply, _ = udp.recvfrom(2048)
        except socket.timeout:
            continue
        if reply == payload:
            echoed += 1
            break
if echoed != len(sizes):
    print(f"udp: {echoed} of {len(sizes)} datagrams echoed")
    sys.exit(1)
print(f"tcp {size} bytes echoed in {elapsed:.2f} s ({size * 8 / elapsed / 1e6:.0f} Mbit/s), udp {echoed} datagrams")
PYTHON

free_ports() {
  python3 -c '
import socket
socks = []
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))'
}

# wait_for_serving LOG PID: until the echo service says it serves (60 s at most).
wait_for_serving() {
  local log=$1 pid=$2 waited=0
  while ((waited < 600)); do
    grep -aqs "echo info: serving on" "$log" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
    waited=$((waited + 1))
  done
  return 1
}

# stop PID: kills one QEMU and forgets it.
stop() {
  local pid=$1 kept=() p
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  for p in "${qemu_pids[@]}"; do [[ $p != "$pid" ]] && kept+=("$p"); done
  qemu_pids=("${kept[@]}")
}

check_log() {
  local name=$1 log=$2 expected=$3
  grep -aq "devices info: net0: virtio-net at .*$expected" "$log" ||
    fail "$name: expected a device line matching '$expected': $(grep -a 'virtio' "$log" | head -3)"
  if grep -aqE "morgana abort|CPU exception|stopping" "$log"; then fail "$name: the image stopped; see $log"; fi
}

# user_boot NAME MACHINE DEVICE EXPECTED [QEMU ARGS...]: echo over user networking.
user_boot() {
  local name=$1 machine=$2 device=$3 expected=$4
  shift 4
  local log=$log_dir/$name.log tcp_port udp_port pid summary
  read -r tcp_port udp_port <<<"$(free_ports)"
  qemu-system-x86_64 -M "$machine" -cpu max -m 64 -nographic -no-reboot -nodefaults -serial stdio \
    -device isa-debug-exit -kernel "$image" -append "--ipv4=10.0.2.15/24 --ipv4-gateway=10.0.2.2" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$tcp_port-:7,hostfwd=udp:127.0.0.1:$udp_port-:7" \
    -device "$device,netdev=n0" "$@" </dev/null >"$log" 2>&1 &
  pid=$!
  qemu_pids+=("$pid")
  if ! wait_for_serving "$log" "$pid"; then
    fail "$name: echo did not start serving; see $log"
    stop "$pid"
    return
  fi
  if summary=$(python3 "$client" 127.0.0.1 "$tcp_port" "$udp_port" "$tcp_bytes"); then
    echo "$name: $summary"
  else
    fail "$name: $summary"
  fi
  stop "$pid"
  check_log "$name" "$log" "$expected"
}

# tap_boot NAME MACHINE DEVICE EXPECTED: echo over a tap device in $netns.
tap_boot() {
  local name=$1 machine=$2 device=$3 expected=$4
  local log=$log_dir/$name.log pid summary
  ip netns exec "$netns" qemu-system-x86_64 -M "$machine" -cpu max -m 64 -nographic -no-reboot -nodefaults \
    -serial stdio -device isa-debug-exit -kernel "$image" -append "--ipv4=10.0.3.2/24" \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device "$device,netdev=n0" </dev/null >"$log" 2>&1 &
  pid=$!
  qemu_pids+=("$pid")
  if ! wait_for_serving "$log" "$pid"; then
    fail "$name: echo did not start serving; see $log"
    stop "$pid"
    return
  fi
  if summary=$(ip netns exec "$netns" python3 "$client" 10.0.3.2 7 7 "$tcp_bytes"); then
    echo "$name: $summary"
  else
    fail "$name: $summary"
  fi
  stop "$pid"
  check_log "$name" "$log" "$expected"
}

user_boot microvm microvm virtio-net-device "mmio 0x[0-9a-f]* v1 irq [0-9]*, .*interrupts"
user_boot microvm-acpi-off microvm,acpi=off virtio-net-device "mmio 0x[0-9a-f]* v1 irq [0-9]*, .*interrupts"
grep -aq "virtio_mmio.device\|bad boot argument" "$log_dir/microvm-acpi-off.log" &&
  fail "microvm-acpi-off: the virtio_mmio.device= word reached the boot-argument parser"
user_boot microvm-mmio-v2 microvm virtio-net-device "mmio 0x[0-9a-f]* v2 irq [0-9]*, .*interrupts" \
  -global virtio-mmio.force-legacy=false
user_boot microvm-polled microvm,acpi=off,auto-kernel-cmdline=off virtio-net-device "mmio 0x[0-9a-f]* v1, .*polled"
user_boot pc pc virtio-net-pci "pci 00:[0-9a-f.:]* modern, MSI-X, .*interrupts"
user_boot pc-legacy pc virtio-net-pci,disable-modern=on "pci 00:[0-9a-f.:]* legacy, MSI-X, .*interrupts"
user_boot pc-modern pc virtio-net-pci,disable-legacy=on "pci 00:[0-9a-f.:]* modern, MSI-X, .*interrupts"
user_boot pc-intx pc virtio-net-pci,vectors=0,disable-modern=on "pci 00:[0-9a-f.:]* legacy, MAC .*interrupts"
user_boot pc-mtu pc virtio-net-pci,host_mtu=4000 "MTU 4000, .*interrupts"

if [[ $(id -u) -eq 0 && -c /dev/net/tun ]]; then
  netns=mgpvhecho$$
  if ip netns add "$netns" &&
    ip -n "$netns" link set lo up &&
    ip -n "$netns" tuntap add dev tap0 mode tap &&
    ip -n "$netns" address add 10.0.3.1/24 dev tap0 &&
    ip -n "$netns" link set tap0 up; then
    tap_boot tap-microvm microvm virtio-net-device "mmio .*interrupts"
    tap_boot tap-pc pc virtio-net-pci "pci .*MSI-X.*interrupts"
  else
    fail "cannot create namespace $netns with a tap device"
  fi
else
  echo "pvh_echo_test: not root or no /dev/net/tun: tap boots skipped"
fi

if ((failures)); then
  echo "pvh_echo_test: $failures checks failed; logs in $log_dir"
  exit 1
fi
echo "pvh_echo_test: passed"
