#!/usr/bin/env python3
"""A SYN flood against the echo: 20,000 SYNs from random addresses in
10.0.0.0/24 (never Linux's own 10.0.0.1) and random ports, crafted by hand
(IPv4 + TCP with correct checksums) and sent through a raw socket as fast as
Python goes, while a normal client from 10.0.0.1 keeps connecting and echoing.
The normal client is served (every connection opens and echoes within 10 s),
the echo's memory stays bounded (VmRSS grows by less than 64 MB), and beyond
its backlog the listener answers with SYN cookies (tcp.syn_cookies_sent > 0). The fake
addresses have no ARP entry, so the echo's SYN-ACKs to them go nowhere.

Topology: harness.py's (namespace with tap0 10.0.0.1/24, echo 10.0.0.2/24).
Linux's tap queue is made deep enough for the whole flood: with the default
1000 frames, Linux itself drops nine SYNs in ten before the echo sees them.
The echo's AddressSanitizer quarantine is kept small (16 MB) so that RSS
measures the image's memory, not freed blocks the sanitizer holds back.
On a failure of the normal client, its segments (captured on Linux's side)
are printed.
"""

import os
import socket
import struct
import threading
import time

import harness
import tcp_support
from harness import ECHO_ADDRESS, ECHO_PORT, LINUX_ADDRESS, PREFIX

SYNS = 20_000
RSS_GROWTH_LIMIT_KIB = 64 * 1024
CLIENT_TIMEOUT = 10
CLIENT_PAYLOAD = 100


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn_packet(rng, destination):
    """An IPv4 packet holding a TCP SYN from a random address and port of 10.0.0.0/24."""
    source = socket.inet_aton(f"10.0.0.{rng.randint(3, 254)}")
    source_port = rng.randint(1024, 65535)
    tcp = struct.pack("!HHIIBBHHH", source_port, ECHO_PORT, rng.getrandbits(32), 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = source + destination + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), rng.getrandbits(16), 0x4000, 64, socket.IPPROTO_TCP, 0,
                     source, destination)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


class NormalClient:
    """Connects, echoes CLIENT_PAYLOAD bytes and closes, over and over, in a thread."""

    def __init__(self, t, ns):
        self.t = t
        self.ns = ns
        self.stopping = threading.Event()
        self.successes = 0
        self.failures = []
        self.slowest = 0.0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        number = 0
        while not self.stopping.is_set():
            number += 1
            payload = os.urandom(CLIENT_PAYLOAD)
            started = time.monotonic()
            with self.ns.entered():
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LINUX_ADDRESS, 0))
            port = sock.getsockname()[1]
            try:
                with sock:
                    sock.settimeout(CLIENT_TIMEOUT)
                    sock.connect((ECHO_ADDRESS, ECHO_PORT))
                    sock.sendall(payload)
                    reply = b""
                    while len(reply) < len(payload):
                        chunk = sock.recv(len(payload) - len(reply))
                        if not chunk:
                            break
                        reply += chunk
                outcome = "ok" if reply == payload else f"{len(reply)} bytes came back"
            except OSError as error:
                outcome = f"{type(error).__name__}: {error}"
            elapsed = time.monotonic() - started
            self.slowest = max(self.slowest, elapsed)
            if outcome == "ok":
                self.successes += 1
            else:
                self.failures.append((port, f"connection {number} from port {port} after {elapsed:.1f} s: {outcome}"))
            time.sleep(0.02)

    def stop(self):
        self.stopping.set()
        self.thread.join(2 * CLIENT_TIMEOUT + 5)


class RssSampler:
    """Samples a process's VmRSS every 20 ms in a thread."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = tcp_support.vm_rss_kib(pid)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.is_set():
            try:
                self.peak = max(self.peak, tcp_support.vm_rss_kib(self.pid) or 0)
            except OSError:
                return
            time.sleep(0.02)

    def stop(self):
        self.stopping.set()
        self.thread.join()
        return self.peak


def test(t):
    # A small quarantine: freed connections must not count as resident memory.
    os.environ["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:quarantine_size_mb=16"
    ns = t.namespace("synflood")
    # Room for the whole flood in the tap's queue: the SYNs reach the echo
    # instead of being dropped by Linux when Python outruns it.
    ns.ip("link", "set", "tap0", "txqueuelen", str(SYNS + 5000))
    echo = harness.Echo(t, ns, f"--ipv4={ECHO_ADDRESS}/{PREFIX}")
    echo.wait_serving()
    ok, output = ns.ping(ECHO_ADDRESS, count=1)
    t.require(ok, "echo answers ping (Linux knows its MAC)", output)

    destination = socket.inet_aton(ECHO_ADDRESS)
    packets = [syn_packet(t.random, destination) for _ in range(SYNS)]
    with ns.entered():
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    time.sleep(0.5)
    baseline = tcp_support.vm_rss_kib(echo.process.pid)
    sampler = RssSampler(echo.process.pid)
    # Linux's own segments only: the normal client's.
    capture = tcp_support.Capture(t, ns, "client", expression=f"tcp and host {LINUX_ADDRESS}")
    client = NormalClient(t, ns)
    time.sleep(0.5)  # the client is connecting before the flood starts
    started = time.monotonic()
    sent = errors = 0
    with raw:
        for packet in packets:
            try:
                raw.sendto(packet, (ECHO_ADDRESS, 0))
                sent += 1
            except OSError:
                errors += 1  # the tap's queue is full: the flood outruns the echo
    flood_seconds = time.monotonic() - started
    time.sleep(3)  # the client goes on while the echo works through the backlog
    client.stop()
    peak = sampler.stop()
    segments = capture.stop()
    print(f"        (sent {sent} SYNs in {flood_seconds:.2f} s, {errors} refused by the tap's queue; "
          f"the client made {client.successes} connections, the slowest in {client.slowest:.2f} s)")
    t.check(sent > SYNS // 2, f"the flood sent at least {SYNS // 2} SYNs", f"sent {sent}")
    t.check(client.successes > 0 and not client.failures,
            f"the normal client is served throughout (every connection echoes within {CLIENT_TIMEOUT} s)",
            "; ".join(what for _, what in client.failures[:5]) +
            (f" ... {len(client.failures)} failures" if len(client.failures) > 5 else ""))
    for port, what in client.failures[:2]:
        print(f"        segments of {what}:")
        for segment in segments:
            if port in (segment.source_port, segment.destination_port):
                print(f"          {segment}")
    t.check(peak - baseline < RSS_GROWTH_LIMIT_KIB, f"the echo's VmRSS grows by less than "
            f"{RSS_GROWTH_LIMIT_KIB // 1024} MB ({baseline // 1024} MB -> peak {peak // 1024} MB)")
    ns_link = ns.run("ip", "-s", "link", "show", "tap0").stdout
    counters = echo.stop()
    t.check(counters.get("tcp.syn_cookies_sent", 0) > 0, "beyond the backlog the listener answered with SYN cookies",
            f"tcp.syn_cookies_sent {counters.get('tcp.syn_cookies_sent', 0)}; counters {counters}; tap0: {ns_link}")
    print(f"        (tcp.syn_cookies_sent {counters.get('tcp.syn_cookies_sent', 0)}, tcp.connections_opened "
          f"{counters.get('tcp.connections_opened', 0)}, tcp.syn_dropped {counters.get('tcp.syn_dropped', 0)})")


if __name__ == "__main__":
    harness.main(test)
