#!/usr/bin/env python3
"""Linux pings the echo example: sizes from 56 bytes up to 8000 (which Linux
must fragment and the echo must reassemble, then fragment its reply), and ARP
resolves in both directions."""

import harness
import packets
from harness import ECHO_ADDRESS, ECHO_MAC, PREFIX, TAP

SECOND_LINUX_ADDRESS = "10.0.0.3"


def test(t):
    ns = t.namespace("ping")
    echo = harness.Echo(t, ns, f"--ipv4={ECHO_ADDRESS}/{PREFIX}")
    echo.wait_serving()

    # Linux → echo: Linux's ARP request must be answered with the echo's MAC.
    ok, output = ns.ping(ECHO_ADDRESS, size=56)
    t.check(ok, "ping 56 bytes", output)
    t.check(ns.neighbour_mac(ECHO_ADDRESS) == ECHO_MAC, f"Linux's neighbour table has {ECHO_ADDRESS} at {ECHO_MAC}",
            ns.ip("neigh", "show", "dev", TAP))

    for size in (1000, 1472, 1473, 4000, 8000):
        ok, output = ns.ping(ECHO_ADDRESS, size=size)
        t.check(ok, f"ping {size} bytes" + (" (fragmented both ways)" if size > 1472 else ""), output)

    # echo → Linux: a ping from an address the echo has never seen makes the
    # echo send its own ARP request before it can reply.
    ns.ip("addr", "add", f"{SECOND_LINUX_ADDRESS}/{PREFIX}", "dev", TAP)
    sniffer = harness.Sniffer(ns)
    ok, output = ns.ping(ECHO_ADDRESS, size=56, count=1)
    ns.run("ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "2", "-I", SECOND_LINUX_ADDRESS, ECHO_ADDRESS, check=False)
    sniffer.stop()
    frames = [packets.Parsed(frame) for frame in sniffer.received()]
    requests = [f.arp for f in frames if f.arp and f.arp["operation"] == 1 and f.source_mac == ECHO_MAC]
    t.check(any(r["target_ip"] == SECOND_LINUX_ADDRESS and r["sender_ip"] == ECHO_ADDRESS for r in requests),
            f"echo sends an ARP request for {SECOND_LINUX_ADDRESS}", f"ARP requests seen: {requests}")
    replies = [f for f in frames if f.icmp and f.icmp["type"] == 0 and f.ip["destination"] == SECOND_LINUX_ADDRESS]
    t.check(bool(replies), f"echo replies to a ping from {SECOND_LINUX_ADDRESS} after resolving it")

    counters = echo.stop()
    t.check(counters.get("icmp.echo_requests", 0) >= 18, "counter icmp.echo_requests counts the pings",
            f"counters: {counters}")
    t.check(counters.get("ipv4.reassembled", 0) >= 6, "counter ipv4.reassembled counts fragmented pings")
    t.check(counters.get("ipv4.fragments_sent", 0) > 0, "counter ipv4.fragments_sent counts fragmented replies")
    t.check(counters.get("arp.requests_sent", 0) > 0, "counter arp.requests_sent is not zero")
    t.check(counters.get("arp.replies_sent", 0) > 0, "counter arp.replies_sent is not zero")


if __name__ == "__main__":
    harness.main(test)
