#!/usr/bin/env python3
"""A barrage of broken and unwelcome frames, written into the tap from the
Linux side through an AF_PACKET socket. The echo example must drop each one
(nothing answered that should not be), keep serving UDP echo and ping, and
count every drop under the counter its layer names for it."""

import socket
import time

import harness
import packets as p
from harness import ECHO_ADDRESS, ECHO_MAC, ECHO_PORT, LINUX_ADDRESS, PREFIX, TAP

OTHER_HOST = "10.0.0.77"
OTHER_MAC = "02:00:5e:00:00:99"
BROADCAST = "10.0.0.255"
ENDLESS_FRAGMENTS = 100  # far above the reassembler's 16 datagrams in progress


class Barrage:
    """Frames to send, each with the counter that must count it."""

    def __init__(self, linux_mac):
        self.linux_mac = linux_mac
        self.frames = []  # (description, frame, counter)
        self.expected = {}  # counter -> minimum value

    def add(self, description, frame, counter):
        self.frames.append((description, frame, counter))
        self.expected[counter] = self.expected.get(counter, 0) + 1

    def ip_frame(self, protocol, payload, destination_mac=ECHO_MAC, **options):
        options.setdefault("identification", 0x4242)
        source = options.pop("source", LINUX_ADDRESS)
        destination = options.pop("destination", ECHO_ADDRESS)
        packet = p.ipv4(source, destination, protocol, payload, **options)
        return p.ethernet(destination_mac, self.linux_mac, p.ETHERTYPE_IPV4, packet)

    def udp_to_echo(self, payload, **options):
        return self.ip_frame(p.PROTO_UDP, p.udp(LINUX_ADDRESS, ECHO_ADDRESS, 40000, ECHO_PORT, payload), **options)


def build_barrage(linux_mac):
    b = Barrage(linux_mac)
    good_udp = p.udp(LINUX_ADDRESS, ECHO_ADDRESS, 40000, ECHO_PORT, b"marker:ip-layer")

    # Ethernet
    b.add("unknown EtherType 0x88b5", p.ethernet(ECHO_MAC, linux_mac, 0x88B5, bytes(46)), "ethernet.unknown_type")
    b.add("802.3 length field instead of an EtherType", p.ethernet(ECHO_MAC, linux_mac, 46, bytes(46)),
          "ethernet.malformed")
    b.add("frame for another MAC address", p.ethernet(OTHER_MAC, linux_mac, p.ETHERTYPE_IPV4, bytes(46)),
          "ethernet.not_for_us")

    # IPv4 header
    b.add("IPv4 EtherType, no payload", p.ethernet(ECHO_MAC, linux_mac, p.ETHERTYPE_IPV4, b""), "ipv4.truncated")
    b.add("IPv4 header cut at 10 bytes", b.ip_frame(p.PROTO_UDP, good_udp)[:14 + 10], "ipv4.truncated")
    b.add("IPv4 total length beyond the frame", b.ip_frame(p.PROTO_UDP, good_udp, total_length=400),
          "ipv4.truncated")
    b.add("IPv4 total length below the header length", b.ip_frame(p.PROTO_UDP, good_udp, total_length=12),
          "ipv4.malformed")
    b.add("IPv4 bad header checksum", b.udp_to_echo(b"marker:bad-ip-checksum", header_checksum=0x1234),
          "ipv4.bad_checksum")
    b.add("IPv4 IHL 4", b.ip_frame(p.PROTO_UDP, good_udp, ihl=4), "ipv4.malformed")
    b.add("IPv4 IHL 3", b.ip_frame(p.PROTO_UDP, good_udp, ihl=3), "ipv4.malformed")
    b.add("version 6 under the IPv4 EtherType", b.ip_frame(p.PROTO_UDP, good_udp, version=6), "ipv4.malformed")
    b.add("IPv4 TTL 0", b.udp_to_echo(b"marker:ttl-zero", ttl=0), "ipv4.ttl_zero")
    b.add("IPv4 from the broadcast address", b.udp_to_echo(b"marker:broadcast-source", source="255.255.255.255"),
          "ipv4.bad_source")
    b.add("IPv4 from a multicast address", b.udp_to_echo(b"marker:multicast-source", source="224.0.0.9"),
          "ipv4.bad_source")
    b.add("IPv4 for another host", b.ip_frame(p.PROTO_UDP, p.udp(LINUX_ADDRESS, OTHER_HOST, 40000, ECHO_PORT,
                                                                  b"marker:other-host"), destination=OTHER_HOST),
          "ipv4.not_for_us")
    b.add("IPv4 protocol 253 (experimental)", b.ip_frame(253, bytes(20)), "ipv4.unknown_protocol")

    # UDP
    b.add("UDP header cut at 4 bytes", b.ip_frame(p.PROTO_UDP, good_udp[:4]), "udp.truncated")
    b.add("UDP length field 4", b.ip_frame(p.PROTO_UDP, p.udp(LINUX_ADDRESS, ECHO_ADDRESS, 40000, ECHO_PORT,
                                                              b"marker:udp-length-4", length=4)), "udp.malformed")
    b.add("UDP length field beyond the datagram",
          b.ip_frame(p.PROTO_UDP, p.udp(LINUX_ADDRESS, ECHO_ADDRESS, 40000, ECHO_PORT, b"marker:udp-length-long",
                                        length=300)), "udp.truncated")
    b.add("UDP bad checksum", b.ip_frame(p.PROTO_UDP, p.udp(LINUX_ADDRESS, ECHO_ADDRESS, 40000, ECHO_PORT,
                                                            b"marker:bad-udp-checksum", udp_checksum=0x1234)),
          "udp.bad_checksum")
    b.add("UDP to a port nobody listens on", b.ip_frame(p.PROTO_UDP, p.udp(LINUX_ADDRESS, ECHO_ADDRESS, 40000, 9,
                                                                           b"marker:closed-port")), "udp.no_listener")

    # ICMP
    b.add("ICMP cut at 3 bytes", b.ip_frame(p.PROTO_ICMP, b"\x08\x00\x00"), "icmp.malformed")
    b.add("ICMP echo request with a bad checksum",
          b.ip_frame(p.PROTO_ICMP, p.icmp_echo(7, 1, b"marker:bad-icmp-checksum", icmp_checksum=0x1234)),
          "icmp.bad_checksum")
    b.add("ICMP echo request to the broadcast address",
          b.ip_frame(p.PROTO_ICMP, p.icmp_echo(7, 2, b"marker:broadcast-echo"), destination=BROADCAST,
                     destination_mac=p.BROADCAST_MAC), "icmp.broadcast_echo_ignored")
    b.add("ICMP timestamp request (type 13)", b.ip_frame(p.PROTO_ICMP, p.icmp_echo(7, 3, bytes(12), icmp_type=13)),
          "icmp.other_messages")

    # ARP
    b.add("ARP request for another host",
          p.ethernet(p.BROADCAST_MAC, linux_mac, p.ETHERTYPE_ARP,
                     p.arp(1, linux_mac, LINUX_ADDRESS, "00:00:00:00:00:00", OTHER_HOST) + bytes(18)), "arp.not_for_us")
    b.add("ARP cut at 20 bytes",
          p.ethernet(p.BROADCAST_MAC, linux_mac, p.ETHERTYPE_ARP,
                     p.arp(1, linux_mac, LINUX_ADDRESS, "00:00:00:00:00:00", ECHO_ADDRESS)[:20]), "arp.malformed")
    b.add("ARP operation 9",
          p.ethernet(p.BROADCAST_MAC, linux_mac, p.ETHERTYPE_ARP,
                     p.arp(9, linux_mac, LINUX_ADDRESS, "00:00:00:00:00:00", ECHO_ADDRESS)), "arp.unknown_operation")
    b.add("ARP request from a broadcast sender MAC",
          p.ethernet(p.BROADCAST_MAC, linux_mac, p.ETHERTYPE_ARP,
                     p.arp(1, p.BROADCAST_MAC, "10.0.0.66", "00:00:00:00:00:00", ECHO_ADDRESS)), "arp.bad_sender")
    b.add("ARP reply from another host claiming the echo's address",
          p.ethernet(ECHO_MAC, linux_mac, p.ETHERTYPE_ARP, p.arp(2, OTHER_MAC, ECHO_ADDRESS, ECHO_MAC, LINUX_ADDRESS)),
          "arp.address_conflict")

    # Fragments: overlapping pieces drop the datagram.
    datagram = p.udp(LINUX_ADDRESS, ECHO_ADDRESS, 40000, ECHO_PORT, b"marker:overlap " + bytes(49))
    b.add("fragment 0-24 of an overlapping datagram",
          b.ip_frame(p.PROTO_UDP, datagram[0:24], identification=0x0F0F, more_fragments=True), "ipv4.received")
    b.add("fragment 16-40 overlapping the one before",
          b.ip_frame(p.PROTO_UDP, datagram[16:40], identification=0x0F0F, more_fragments=True, fragment_offset=16),
          "ipv4.reassembly_dropped")
    # Endless first fragments, never completed: the oldest are evicted.
    for identification in range(0x1000, 0x1000 + ENDLESS_FRAGMENTS):
        piece = p.udp(LINUX_ADDRESS, ECHO_ADDRESS, 40000, ECHO_PORT, b"marker:endless " + bytes(1000))[:64]
        b.add(f"first fragment {identification:#x}, never completed",
              b.ip_frame(p.PROTO_UDP, piece, identification=identification, more_fragments=True), "ipv4.received")
    b.expected["ipv4.reassembly_evicted"] = ENDLESS_FRAGMENTS - 16
    return b


def echo_answers(t, ns, what):
    with ns.entered():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LINUX_ADDRESS, 0))
    sock.settimeout(3)
    for size in (100, 3000):
        payload = t.random.randbytes(size)
        sock.sendto(payload, (ECHO_ADDRESS, ECHO_PORT))
        try:
            reply = sock.recvfrom(65535)[0]
        except socket.timeout:
            reply = None
        t.check(reply == payload, f"{what}: UDP echo of {size} bytes")
    sock.close()
    ok, output = ns.ping(ECHO_ADDRESS, size=2000)
    t.check(ok, f"{what}: ping (fragmented)", output)


def test(t):
    ns = t.namespace("bad")
    echo = harness.Echo(t, ns, f"--ipv4={ECHO_ADDRESS}/{PREFIX}")
    echo.wait_serving()
    echo_answers(t, ns, "before the barrage")

    barrage = build_barrage(ns.linux_mac)
    sniffer = harness.Sniffer(ns)
    link = harness.RawLink(ns)
    # A well-formed ARP request in the barrage: the positive control for the sniffer.
    link.send(p.ethernet(p.BROADCAST_MAC, ns.linux_mac, p.ETHERTYPE_ARP,
                         p.arp(1, ns.linux_mac, LINUX_ADDRESS, "00:00:00:00:00:00", ECHO_ADDRESS)))
    for _, frame, _ in barrage.frames:
        link.send(frame)

    # A frame longer than the echo's MTU allows: Linux's side needs a larger MTU to send it.
    ns.ip("link", "set", TAP, "mtu", "2000")
    link.send(p.ethernet(ECHO_MAC, ns.linux_mac, p.ETHERTYPE_IPV4, bytes(1800)))
    barrage.expected["ethernet.oversized"] = 1
    ns.ip("link", "set", TAP, "mtu", "1500")
    link.close()
    print(f"  sent {len(barrage.frames) + 2} frames", flush=True)

    echo_answers(t, ns, "after the barrage")
    time.sleep(0.3)
    sniffer.stop()

    frames = [p.Parsed(frame) for frame in sniffer.received()]
    from_echo = [f for f in frames if f.source_mac == ECHO_MAC]
    arp_replies = [f.arp for f in from_echo if f.arp and f.arp["operation"] == 2]
    t.check(any(r["sender_ip"] == ECHO_ADDRESS and r["target_mac"] == ns.linux_mac for r in arp_replies),
            "the echo answers a well-formed ARP request for its address")
    t.check(not any(r["sender_ip"] != ECHO_ADDRESS for r in arp_replies),
            f"the echo answers no ARP request for another address such as {OTHER_HOST}", f"{arp_replies}")
    echoed = [f.udp["payload"] for f in from_echo if f.udp and f.udp["payload"].startswith(b"marker:")]
    t.check(not echoed, "the echo answers none of the broken UDP datagrams",
            f"answered: {[e.split(b' ')[0] for e in echoed]}")
    icmp_replies = [f.icmp for f in from_echo if f.icmp and f.icmp["type"] == 0 and b"marker:" in f.icmp["rest"]]
    t.check(not icmp_replies, "the echo answers neither the broken nor the broadcast echo request",
            f"{icmp_replies}")
    unreachable = [f.icmp for f in from_echo if f.icmp and (f.icmp["type"], f.icmp["code"]) == (3, 3)]
    t.check(bool(unreachable), "the echo sends port unreachable for the closed port")
    other = [f for f in from_echo if f.icmp and f.icmp["type"] not in (0, 3)]
    t.check(not other, "the echo sends no other ICMP message", f"{[o.icmp for o in other]}")

    counters = echo.stop()
    for counter, minimum in sorted(barrage.expected.items()):
        reasons = sorted({d for d, _, c in barrage.frames if c == counter})
        detail = f"got {counters.get(counter, 0)}; frames: {'; '.join(reasons[:3])}"
        t.check(counters.get(counter, 0) >= minimum, f"counter {counter} >= {minimum}", detail)
    print(f"  counters: {counters}", flush=True)


if __name__ == "__main__":
    harness.main(test)
