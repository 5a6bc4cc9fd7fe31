#!/usr/bin/env python3
"""examples/echo as a Xen PVH guest (Xen 4.17 nested in QEMU, tests/system/xen_support.py):
netfront finds its vif in xenstore and connects to dom0's netback; the address comes
from the .xl's `extra = "--ipv4=..."` through the same boot argument parser as on QEMU;
dom0 pings it (plain, and 4000-byte pings that IPv4 fragments) and sends 10 MB through
its TCP echo service, which must come back byte-exact: once with every offload netback
offers (--offload=all: checksums and 64 KiB TCP frames both ways, as the guest's log
line and netfront's xenstore keys show) and once with --offload=none.
Logs: build/system-tests/xen_echo_test/xen/."""

import re

import harness
import xen_support

ADDRESS = "10.0.0.50"
PLAIN_ADDRESS = "10.0.0.51"
MEGABYTES = 10
# netfront's feature keys in xenstore, by --offload.
FEATURES = {
    "all": {"feature-no-csum-offload": "0", "feature-sg": "1", "feature-gso-tcpv4": "1"},
    "none": {"feature-no-csum-offload": "1", "feature-sg": "0", "feature-gso-tcpv4": "0"},
}


def echo_script(name, address):
    """dom0's part for one echo guest: its xenstore keys, pings, and 10 MB through TCP echo, into /results/NAME-*."""
    return f"""
guest_console {name} 'serving on' 600 || echo "{name} never served"
xenstore-ls /local/domain/$(xl domid {name})/device/vif/0 >/results/{name}-xenstore 2>&1
ping -c 3 -W 10 {address} >/results/{name}-ping 2>&1
ping -c 3 -W 10 -s 4000 {address} >/results/{name}-ping-fragmented 2>&1
start=$(date +%s)
socat -T 120 -t 120 - TCP:{address}:7 </tmp/sent >/tmp/echoed 2>/results/{name}-socat.log
echo $(($(date +%s) - start)) >/results/{name}-echo-seconds
wc -c </tmp/echoed >/results/{name}-echoed-bytes
if cmp /tmp/sent /tmp/echoed >/results/{name}-cmp 2>&1; then echo same >/results/{name}-cmp; fi
xl destroy {name} && guest_wait {name} 120
"""


def check_echo(t, result, name, address, offload):
    console = result.guest_console(name)
    t.check(re.search(r"net0: netfront device/vif/0", console), f"{name}: netfront connects to dom0's netback",
            console[-1500:])
    t.check(re.search(rf"net0: netfront device/vif/0: .*offloads {offload}\b", console),
            f"{name}: the guest logs the offloads it negotiated ({offload})", console[-1500:])
    keys = dict(re.findall(r'^\s*([\w-]+) = "([^"]*)"', result.text(f"/results/{name}-xenstore"), re.M))
    wanted = FEATURES[offload]
    t.check({key: keys.get(key) for key in wanted} == wanted,
            f"{name}: netfront's xenstore keys ask netback for {offload}", result.text(f"/results/{name}-xenstore"))
    t.check(f"serving on {address}" in console, f"{name}: echo serves on the address from extra =", console[-1500:])
    ping, fragmented = result.text(f"/results/{name}-ping"), result.text(f"/results/{name}-ping-fragmented")
    t.check("3 packets received" in ping, f"{name}: dom0 pings the guest over netfront", ping)
    t.check("3 packets received" in fragmented, f"{name}: dom0 pings the guest with 4000-byte (fragmented) packets",
            fragmented)
    echoed = result.text(f"/results/{name}-echoed-bytes").strip()
    print(f"  {name}: {MEGABYTES} MB echoed in {result.text(f'/results/{name}-echo-seconds').strip()} s "
          "(nested TCG; no threshold)")
    t.check(result.text(f"/results/{name}-cmp").strip() == "same",
            f"{name}: {MEGABYTES} MB come back byte-exact from the TCP echo service (--offload={offload})",
            f"{echoed} bytes echoed; {result.text(f'/results/{name}-cmp')} "
            f"{result.text(f'/results/{name}-socat.log')}")


def test(t):
    image = harness.build_app("examples/echo", "pvh")
    echo = xen_support.Guest("echo", image, extra=f"--ipv4={ADDRESS}/24 --offload=all")
    plain = xen_support.Guest("plain", image, extra=f"--ipv4={PLAIN_ADDRESS}/24 --offload=none")
    dhcp = xen_support.Guest("dhcp", image)
    result = xen_support.run_xen(t, guests=[echo, plain, dhcp], script=f"""
head -c {MEGABYTES * 1024 * 1024} /dev/urandom >/tmp/sent
guest_start echo {echo.config_path}
{echo_script("echo", ADDRESS)}
guest_start plain {plain.config_path}
{echo_script("plain", PLAIN_ADDRESS)}
guest_start dhcp {dhcp.config_path}
address=$(guest_address dhcp 300)
echo "$address" >/results/dhcp-address
ping -c 3 -W 10 "$address" >/results/dhcp-ping 2>&1
echo "over a leased address" | nc -w 20 "$address" 7 >/results/dhcp-echo 2>&1
xl destroy dhcp && guest_wait dhcp 120
""")
    check_echo(t, result, "echo", ADDRESS, "all")
    check_echo(t, result, "plain", PLAIN_ADDRESS, "none")

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
