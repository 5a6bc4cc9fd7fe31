#!/usr/bin/env python3
"""examples/echo as a PVH image under QEMU (TCG), on a tap device inside network
namespaces this test creates, with Linux as the peer:

  1. DHCP and ping, on -M microvm and on -M pc: the image boots without --ipv4,
     takes its address from dnsmasq in Linux's namespace, and answers ping there,
     also a 4000-byte ping that travels in IPv4 fragments both ways. The address
     in the image's log is the one in dnsmasq's lease file, with the image's MAC.
  2. TCP through an impaired link, as tcp_impaired_test.py does for the hosted
     echo: netimpair (the same drop, duplication, reordering and delay, seeded)
     forwards between QEMU's tap and Linux's. Each run writes random bytes to
     the echo port while reading the echo back, and reads the byte source;
     both byte-exact by sha256. Two runs (microvm and pc), each with its own
     seed and namespaces, at once: the link's loss sets their pace.

Topology of a run in part 2 (all made by the test, removed on every path):

    namespace img (no address)                       namespace lnx
      tap0 <-- fd -- QEMU: echo.elf 10.0.0.2            tap0 10.0.0.1/24 (Python)
        ^ AF_PACKET                                        ^ tap fd
        +--- netimpair --a=packet:tap0 --b=tap0 (impairments, --seed) ---+

Seeds are printed; MORGANA_TEST_SEED replays a run. Needs root, qemu-system-x86_64
and dnsmasq. Environment: MORGANA_PVH_IMAGE (default: examples/echo configured
and built for pvh by ./morgana, build/app-echo-pvh/echo.elf), MORGANA_PVH_TAP_MB (bytes per transfer, default 8),
MORGANA_PVH_TAP_RUNS (default 2), MORGANA_NETIMPAIR and those of harness.py.
"""

import ipaddress
import os
import random
import threading
import time

import harness
import tcp_impaired_test
import tcp_support
import pvh_support
from pvh_support import MACHINES, PvhGuest
from dhcp_dns_test import BOUND, POOL, start_dnsmasq
from harness import ECHO_ADDRESS, ECHO_MAC, PREFIX

MEGABYTES = float(os.environ.get("MORGANA_PVH_TAP_MB", "8"))
RUNS = int(os.environ.get("MORGANA_PVH_TAP_RUNS", "2"))
SIZE = int(MEGABYTES * 1024 * 1024)
# A 4000-byte ICMP payload: three fragments at MTU 1500, each way.
FRAGMENTED_PING = 4000
# Each transfer: the link's loss sets the pace (about 0.3 MB/s each way), plus boot.
RUN_TIMEOUT = 60 + 2 * SIZE / 100_000


def dhcp_and_ping(t, image, machine):
    ns = t.namespace(f"dhcp-{machine}")
    leases = t.log_dir / "dnsmasq.leases"
    pid_file = t.log_dir / "dnsmasq.pid"
    for stale in (leases, pid_file):
        stale.unlink(missing_ok=True)
    dnsmasq = start_dnsmasq(t, ns)
    try:
        harness.wait_until(lambda: pid_file.exists() or dnsmasq.poll() is not None, 5)
        t.require(dnsmasq.poll() is None, f"{machine}: dnsmasq starts", harness.log_tail(t.log_dir / "dnsmasq.out"))
        echo = PvhGuest(t, ns, image, machine, "", f"echo-dhcp-{machine}")
        try:
            bound = echo.wait_for(BOUND)
            address = ipaddress.IPv4Address(bound.group(1))
            t.check(ipaddress.IPv4Address(POOL[0]) <= address <= ipaddress.IPv4Address(POOL[1])
                    and bound.group(2) == str(PREFIX),
                    f"{machine}: the image's DHCP address {address}/{bound.group(2)} is in dnsmasq's range "
                    f"{POOL[0]}-{POOL[1]}/{PREFIX}")
            serving = ipaddress.IPv4Address(echo.wait_serving().group(1))
            t.check(serving == address, f"{machine}: the echo serves on its leased address {address}",
                    f"serving on {serving}")
            harness.wait_until(lambda: leases.exists() and str(address) in leases.read_text(), 5)
            lease_lines = leases.read_text().splitlines() if leases.exists() else []
            t.check(any(str(address) in line and ECHO_MAC in line for line in lease_lines),
                    f"{machine}: dnsmasq's lease file gives {address} to the image's MAC {ECHO_MAC}",
                    f"{lease_lines}")
            ok, output = ns.ping(str(address))
            t.check(ok, f"{machine}: the image answers ping at {address}", output)
            ok, output = ns.ping(str(address), size=FRAGMENTED_PING, count=2)
            t.check(ok, f"{machine}: the image answers a {FRAGMENTED_PING}-byte ping (IPv4 fragments both ways)",
                    output)
            other = ipaddress.IPv4Address(POOL[1]) if address != ipaddress.IPv4Address(POOL[1]) else \
                ipaddress.IPv4Address(POOL[0])
            ok, output = ns.ping(str(other), count=1, wait=1)
            t.check(not ok, f"{machine}: no answer at {other}, an address the image was not given", output)
        finally:
            echo.stop(t.check)
    finally:
        tcp_support.stop_quietly(dnsmasq)


class PvhRun(tcp_impaired_test.Run):
    """One seed's echo transfers against the image, behind its own netimpair;
    checks, log access and threading as in tcp_impaired_test.Run."""

    def __init__(self, t, number, seed, image, machine):
        super().__init__(t, number, seed)
        self.name = f"run {number} ({machine}, seed {seed})"
        self.image = image
        self.machine = machine

    def echo_side(self):
        image_ns, linux_ns = tcp_support.impaired_topology(self, f"p{self.number}")
        impair = tcp_support.Netimpair(self, image_ns, linux_ns, *tcp_impaired_test.IMPAIRMENTS,
                                       f"--seed={self.seed}")
        try:
            echo = PvhGuest(self, image_ns, self.image, self.machine, f"--ipv4={ECHO_ADDRESS}/{PREFIX}",
                           f"echo-run{self.number}-{self.machine}")
            try:
                echo.wait_serving()
                data = random.Random(self.seed).randbytes(SIZE)
                parts = [threading.Thread(target=self.guarded,
                                          args=(tcp_impaired_test.into_echo, self, linux_ns, data)),
                         threading.Thread(target=self.guarded,
                                          args=(tcp_impaired_test.out_of_source, self, linux_ns, SIZE))]
                for part in parts:
                    part.start()
                for part in parts:
                    part.join(RUN_TIMEOUT)
                self.check(not any(part.is_alive() for part in parts), f"the transfers end within {RUN_TIMEOUT:.0f} s")
            finally:
                echo.stop(self.check)
        finally:
            self.check_impaired(impair.stop())


def impaired_transfers(t, image):
    tcp_support.netimpair_binary()
    machines = list(MACHINES)
    runs = [PvhRun(t, number, t.random.getrandbits(31), image, machines[(number - 1) % len(machines)])
            for number in range(1, RUNS + 1)]
    print(f"{RUNS} runs of {MEGABYTES:g} MB each way through netimpair ({' '.join(tcp_impaired_test.IMPAIRMENTS)}), "
          f"at once; {', '.join(run.name for run in runs)}", flush=True)
    started = time.monotonic()
    threads = [threading.Thread(target=run.guarded, args=(run.echo_side,), daemon=True) for run in runs]
    for thread in threads:
        thread.start()
    deadline = started + RUN_TIMEOUT + 30
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    t.check(not any(thread.is_alive() for thread in threads), f"every run ends within {deadline - started:.0f} s")
    for run in runs:
        print(f"{run.name}: {'FAILED' if run.failed else 'passed'}", flush=True)
    print(f"the runs took {time.monotonic() - started:.1f} s", flush=True)


def test(t):
    image = pvh_support.echo_image(t)
    for machine in MACHINES:
        t.run_part(lambda test, machine=machine: dhcp_and_ping(test, image, machine))
    t.run_part(lambda test: impaired_transfers(test, image))


if __name__ == "__main__":
    harness.main(test)
