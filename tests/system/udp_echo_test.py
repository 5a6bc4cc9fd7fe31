#!/usr/bin/env python3
"""UDP datagrams of 1 to 8000 bytes from Linux to the echo example come back
byte for byte, from the echo's address and port 7."""

import socket

import harness
from harness import ECHO_ADDRESS, ECHO_PORT, LINUX_ADDRESS, PREFIX

FIXED_SIZES = (1, 2, 100, 1472, 1473, 2952, 2953, 3000, 8000)


def echo_once(t, sock, payload):
    sock.sendto(payload, (ECHO_ADDRESS, ECHO_PORT))
    try:
        reply, source = sock.recvfrom(65535)
    except socket.timeout:
        return t.check(False, f"UDP echo of {len(payload)} bytes", "no reply within 3 s")
    if source != (ECHO_ADDRESS, ECHO_PORT):
        return t.check(False, f"UDP echo of {len(payload)} bytes", f"reply from {source}")
    first_difference = next((i for i, (a, b) in enumerate(zip(reply, payload)) if a != b), None)
    return t.check(reply == payload, f"UDP echo of {len(payload)} bytes",
                   f"reply has {len(reply)} bytes, first difference at {first_difference}")


def test(t):
    ns = t.namespace("udp")
    echo = harness.Echo(t, ns, f"--ipv4={ECHO_ADDRESS}/{PREFIX}")
    echo.wait_serving()
    ok, output = ns.ping(ECHO_ADDRESS, count=1)
    t.require(ok, "echo answers ping before the UDP test", output)

    sizes = list(FIXED_SIZES) + sorted(t.random.randint(1, 8000) for _ in range(6))
    with ns.entered():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LINUX_ADDRESS, 0))
    sock.settimeout(3)
    for size in sizes:
        echo_once(t, sock, t.random.randbytes(size))

    # A burst: every datagram comes back, in any order.
    burst = [t.random.randbytes(t.random.randint(1, 1400)) for _ in range(20)]
    for payload in burst:
        sock.sendto(payload, (ECHO_ADDRESS, ECHO_PORT))
    replies = []
    try:
        while len(replies) < len(burst):
            replies.append(sock.recvfrom(65535)[0])
    except socket.timeout:
        pass
    t.check(sorted(replies) == sorted(burst), f"a burst of {len(burst)} datagrams comes back whole",
            f"{len(replies)} replies")
    sock.close()

    counters = echo.stop()
    expected = len(sizes) + len(burst)
    t.check(counters.get("udp.received", 0) == expected, f"counter udp.received is {expected}",
            f"counters: {counters}")


if __name__ == "__main__":
    harness.main(test)
