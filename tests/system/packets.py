"""Hand-made frames for system tests: correct ones, and ones that lie.

Every builder computes what a correct sender would (lengths, checksums) unless
a keyword argument overrides it, so a test states only the lie it tells.
"""

import socket
import struct

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
PROTO_ICMP = 1
PROTO_UDP = 17
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"


def mac(text):
    return bytes(int(part, 16) for part in text.split(":"))


def mac_text(raw):
    return ":".join(f"{b:02x}" for b in raw)


def ip(text):
    return socket.inet_aton(text)


def checksum(data):
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(destination, source, ether_type, payload):
    return mac(destination) + mac(source) + struct.pack("!H", ether_type) + payload


def ipv4(source, destination, protocol, payload, *, identification=0, dont_fragment=False, more_fragments=False,
         fragment_offset=0, ttl=64, version=4, ihl=5, total_length=None, header_checksum=None, options=b""):
    """An IPv4 packet (RFC 791 §3.1); fragment_offset in bytes (a multiple of 8)."""
    header_length = 20 + len(options)
    if total_length is None:
        total_length = header_length + len(payload)
    flags = (0x4000 if dont_fragment else 0) | (0x2000 if more_fragments else 0)
    header = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total_length, identification,
                         flags | (fragment_offset // 8), ttl, protocol, 0, ip(source), ip(destination)) + options
    if header_checksum is None:
        header_checksum = checksum(header)
    header = header[:10] + struct.pack("!H", header_checksum) + header[12:]
    return header + payload


def udp(source, destination, source_port, destination_port, payload, *, length=None, udp_checksum=None):
    """A UDP datagram (RFC 768) with the checksum over the pseudo-header."""
    if length is None:
        length = 8 + len(payload)
    datagram = struct.pack("!HHHH", source_port, destination_port, length, 0) + payload
    if udp_checksum is None:
        pseudo = ip(source) + ip(destination) + struct.pack("!BBH", 0, PROTO_UDP, 8 + len(payload))
        udp_checksum = checksum(pseudo + datagram) or 0xFFFF
    return datagram[:6] + struct.pack("!H", udp_checksum) + datagram[8:]


def icmp_echo(identifier, sequence, payload, *, icmp_type=8, icmp_checksum=None):
    """An ICMP echo request (RFC 792)."""
    message = struct.pack("!BBHHH", icmp_type, 0, 0, identifier, sequence) + payload
    if icmp_checksum is None:
        icmp_checksum = checksum(message)
    return message[:2] + struct.pack("!H", icmp_checksum) + message[4:]


def arp(operation, sender_mac, sender_ip, target_mac, target_ip):
    """ARP for IPv4 over Ethernet (RFC 826); operation 1 request, 2 reply."""
    return struct.pack("!HHBBH6s4s6s4s", 1, ETHERTYPE_IPV4, 6, 4, operation, mac(sender_mac), ip(sender_ip),
                       mac(target_mac), ip(target_ip))


def udp_frame(linux_mac, echo_mac, source, destination, source_port, destination_port, payload, **ip_options):
    datagram = udp(source, destination, source_port, destination_port, payload)
    return ethernet(echo_mac, linux_mac, ETHERTYPE_IPV4, ipv4(source, destination, PROTO_UDP, datagram, **ip_options))


class Parsed:
    """The fields of a received frame that tests look at; None where absent."""

    def __init__(self, frame):
        self.destination_mac = mac_text(frame[0:6]) if len(frame) >= 14 else None
        self.source_mac = mac_text(frame[6:12]) if len(frame) >= 14 else None
        self.ether_type = struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else None
        self.arp = None
        self.ip = None
        self.udp = None
        self.icmp = None
        body = frame[14:]
        if self.ether_type == ETHERTYPE_ARP and len(body) >= 28:
            operation, sender_mac, sender_ip, target_mac, target_ip = struct.unpack("!6xH6s4s6s4s", body[:28])
            self.arp = {"operation": operation, "sender_mac": mac_text(sender_mac),
                        "sender_ip": socket.inet_ntoa(sender_ip), "target_mac": mac_text(target_mac),
                        "target_ip": socket.inet_ntoa(target_ip)}
        elif self.ether_type == ETHERTYPE_IPV4 and len(body) >= 20:
            ihl = (body[0] & 0x0F) * 4
            total_length, identification, flags_offset, _, protocol = struct.unpack("!2xHHHBB", body[:10])
            self.ip = {"source": socket.inet_ntoa(body[12:16]), "destination": socket.inet_ntoa(body[16:20]),
                       "protocol": protocol, "identification": identification,
                       "more_fragments": bool(flags_offset & 0x2000), "offset": (flags_offset & 0x1FFF) * 8,
                       "dont_fragment": bool(flags_offset & 0x4000), "total_length": total_length}
            payload = body[ihl:total_length]
            if self.ip["offset"] == 0:
                if protocol == PROTO_UDP and len(payload) >= 8:
                    source_port, destination_port = struct.unpack("!HH", payload[:4])
                    self.udp = {"source_port": source_port, "destination_port": destination_port,
                                "payload": payload[8:]}
                elif protocol == PROTO_ICMP and len(payload) >= 4:
                    self.icmp = {"type": payload[0], "code": payload[1], "rest": payload[4:]}
