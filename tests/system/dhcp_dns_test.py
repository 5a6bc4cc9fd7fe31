#!/usr/bin/env python3
"""The echo example without --ipv4 gets its address from dnsmasq (DHCP) on the
Linux side, answers ping there, and resolves a name through dnsmasq (DNS)."""

import ipaddress
import shutil

import harness
from harness import LINUX_ADDRESS, TAP

POOL = ("10.0.0.50", "10.0.0.60")
NAME = "morgana.test"
NAME_ADDRESS = "10.0.0.99"
BOUND = r"dhcp.*bound.*?(\d+\.\d+\.\d+\.\d+)/(\d+)"


def start_dnsmasq(t, ns):
    binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    log = t.log_dir / "dnsmasq.log"
    command = [binary, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
               f"--interface={TAP}", "--bind-interfaces", f"--listen-address={LINUX_ADDRESS}", "--port=53",
               f"--dhcp-range={POOL[0]},{POOL[1]},1h", f"--address=/{NAME}/{NAME_ADDRESS}",
               f"--dhcp-leasefile={t.log_dir / 'dnsmasq.leases'}", f"--pid-file={t.log_dir / 'dnsmasq.pid'}",
               f"--log-facility={log}", "--log-queries", "--log-dhcp", "--user=root", "--group=root"]
    process = ns.spawn(command, t.log_dir / "dnsmasq.out", "dnsmasq")
    t.show_log_on_failure(log, "dnsmasq")
    t.show_log_on_failure(t.log_dir / "dnsmasq.out", "dnsmasq output")
    return process


def test(t):
    ns = t.namespace("dhcp")
    dnsmasq = start_dnsmasq(t, ns)
    # dnsmasq writes its pid file once its sockets are bound.
    harness.wait_until(lambda: (t.log_dir / "dnsmasq.pid").exists() or dnsmasq.poll() is not None, 5)
    t.require(dnsmasq.poll() is None, "dnsmasq starts", harness.log_tail(t.log_dir / "dnsmasq.out"))

    echo = harness.Echo(t, ns, f"--resolve={NAME}")
    bound = echo.wait_for(BOUND, timeout=30)
    address = ipaddress.IPv4Address(bound.group(1))
    in_pool = ipaddress.IPv4Address(POOL[0]) <= address <= ipaddress.IPv4Address(POOL[1])
    t.check(in_pool, f"DHCP address {address} is in dnsmasq's range {POOL[0]}-{POOL[1]}")
    t.check(bound.group(2) == "24", "DHCP prefix is /24", f"/{bound.group(2)}")

    echo.wait_serving()
    ok, output = ns.ping(str(address))
    t.check(ok, f"echo answers ping at its DHCP address {address}", output)

    resolved = echo.wait_for(rf"resolved {NAME} to (\S+)", timeout=15)
    t.check(resolved.group(1) == NAME_ADDRESS, f"echo resolves {NAME} to {NAME_ADDRESS} through dnsmasq",
            f"got {resolved.group(1)}")

    leases = (t.log_dir / "dnsmasq.leases").read_text() if (t.log_dir / "dnsmasq.leases").exists() else ""
    t.check(str(address) in leases and harness.ECHO_MAC in leases, "dnsmasq's lease file has the echo's lease", leases)

    counters = echo.stop()
    t.check(counters.get("dhcp.leases_bound", 0) >= 1, "counter dhcp.leases_bound is not zero", f"{counters}")
    t.check(counters.get("dns.queries", 0) >= 1, "counter dns.queries is not zero")


if __name__ == "__main__":
    harness.main(test)
