#!/usr/bin/env python3
"""examples/echo as a Xen PVH guest (Xen 4.17 nested in QEMU, tests/system/xen_support.py):
netfront finds its vif in xenstore and connects to dom0's netback; the address comes
from the .xl's `extra = "--ipv4=..."` through the same boot argument parser as on QEMU;
dom0 pings it (plain, and 4000-byte pings that IPv4 fragments) and sends 10 MB through
its TCP echo service, which must come back byte-exact. Logs:
build/system-tests/xen_echo_test/xen/."""

import re

import harness
import xen_support

ADDRESS = "10.0.0.50"
MEGABYTES = 10


def test(t):
    image = harness.build_app("examples/echo", "pvh")
    echo = xen_support.Guest("echo", image, extra=f"--ipv4={ADDRESS}/24")
    dhcp = xen_support.Guest("dhcp", image)
    result = xen_support.run_xen(t, guests=[echo, dhcp], script=f"""
guest_start echo {echo.config_path}
guest_console echo 'serving on' 600 || echo "echo never served"
ping -c 3 -W 10 {ADDRESS} >/results/ping 2>&1
ping -c 3 -W 10 -s 4000 {ADDRESS} >/results/ping-fragmented 2>&1
head -c {MEGABYTES * 1024 * 1024} /dev/urandom >/tmp/sent
start=$(date +%s)
socat -T 120 -t 120 - TCP:{ADDRESS}:7 </tmp/sent >/tmp/echoed 2>/results/socat.log
echo $(($(date +%s) - start)) >/results/echo-seconds
wc -c </tmp/echoed >/results/echoed-bytes
if cmp /tmp/sent /tmp/echoed >/results/cmp 2>&1; then echo same >/results/cmp; fi
xl destroy echo && guest_wait echo 120

guest_start dhcp {dhcp.config_path}
address=$(guest_address dhcp 300)
echo "$address" >/results/dhcp-address
ping -c 3 -W 10 "$address" >/results/dhcp-ping 2>&1
echo "over a leased address" | nc -w 20 "$address" 7 >/results/dhcp-echo 2>&1
xl destroy dhcp && guest_wait dhcp 120
""")
    console = result.guest_console("echo")
    t.check(re.search(r"net0: netfront device/vif/0", console), "netfront connects to dom0's netback",
            console[-1500:])
    t.check(f"serving on {ADDRESS}" in console, "echo serves on the address from extra =", console[-1500:])
    ping, fragmented = result.text("/results/ping"), result.text("/results/ping-fragmented")
    t.check("3 packets received" in ping, "dom0 pings the guest over netfront", ping)
    t.check("3 packets received" in fragmented, "dom0 pings the guest with 4000-byte (fragmented) packets",
            fragmented)
    echoed = result.text("/results/echoed-bytes").strip()
    print(f"  {MEGABYTES} MB echoed in {result.text('/results/echo-seconds').strip()} s (nested TCG; no threshold)")
    t.check(result.text("/results/cmp").strip() == "same",
            f"{MEGABYTES} MB come back byte-exact from the TCP echo service",
            f"{echoed} bytes echoed; {result.text('/results/cmp')} {result.text('/results/socat.log')}")

    address = result.text("/results/dhcp-address").strip()
    console = result.guest_console("dhcp")
    t.check(re.fullmatch(r"10\.0\.0\.\d+", address) and f"serving on {address}" in console,
            "the second guest serves on the address dnsmasq leased it", f"lease {address!r}; {console[-1500:]}")
    ping = result.text("/results/dhcp-ping")
    t.check("3 packets received" in ping, "dom0 pings the guest at its leased address", ping)
    echoed = result.text("/results/dhcp-echo")
    t.check(echoed == "over a leased address\n", "the leased guest echoes a line over TCP", repr(echoed))


if __name__ == "__main__":
    harness.main(test, needs_root=False)
