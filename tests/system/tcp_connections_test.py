#!/usr/bin/env python3
"""1000 TCP connections from Linux to the echo, at most 50 at a time: most send
a small random request, read it back, half-close and see the echo close; a
tenth read their echo and then reset (SO_LINGER 0, close); a tenth start a
4 MB transfer and are abandoned mid-way (closed with unread data, as when the
client process dies: the kernel resets). The echo runs with --tcp-msl=1s;
a few seconds after the last connection, no connection state is left:
tcp.connections_opened == tcp.connections_freed.

Topology: harness.py's (namespace with tap0 10.0.0.1/24, echo 10.0.0.2/24).
"""

import asyncio
import collections
import contextlib
import socket
import struct
import time

import harness
from harness import ECHO_ADDRESS, ECHO_PORT, PREFIX

CONNECTIONS = 1000
CONCURRENCY = 50
MSL_SECONDS = 1
ABANDONED_SIZE = 4 * 1024 * 1024
ABANDON_AFTER = 64 * 1024  # bytes echoed before the client goes away
CONNECTION_TIMEOUT = 60


def kind_of(number):
    return {3: "reset", 7: "abandoned"}.get(number % 10, "normal")


async def receive_exactly(loop, sock, size):
    data = bytearray()
    while len(data) < size:
        chunk = await loop.sock_recv(sock, min(65536, size - len(data)))
        if not chunk:
            break
        data += chunk
    return bytes(data)


async def one_connection(loop, kind, payload):
    """Returns "ok" or what went wrong."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, (ECHO_ADDRESS, ECHO_PORT))
        if kind == "abandoned":
            sending = asyncio.ensure_future(loop.sock_sendall(sock, payload))
            echoed = await receive_exactly(loop, sock, ABANDON_AFTER)
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await sending
            if echoed != payload[:ABANDON_AFTER]:
                return f"first {len(echoed)} echoed bytes differ"
            return "ok"  # closed below with unread data: the kernel resets
        await loop.sock_sendall(sock, payload)
        echoed = await receive_exactly(loop, sock, len(payload))
        if echoed != payload:
            return f"echo of {len(payload)} bytes: {len(echoed)} bytes came back" + \
                   (" (different)" if len(echoed) == len(payload) else "")
        if kind == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return "ok"
        sock.shutdown(socket.SHUT_WR)
        rest = await loop.sock_recv(sock, 1)
        return "ok" if rest == b"" else f"{len(rest)} more bytes instead of the end of the stream"
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    finally:
        sock.close()


async def all_connections(t):
    loop = asyncio.get_running_loop()
    limit = asyncio.Semaphore(CONCURRENCY)
    outcomes = collections.defaultdict(collections.Counter)
    abandoned_payload = t.random.randbytes(ABANDONED_SIZE)

    async def run(number):
        kind = kind_of(number)
        payload = abandoned_payload if kind == "abandoned" else t.random.randbytes(t.random.randint(1, 3000))
        async with limit:
            try:
                outcome = await asyncio.wait_for(one_connection(loop, kind, payload), CONNECTION_TIMEOUT)
            except asyncio.TimeoutError:
                outcome = f"no end within {CONNECTION_TIMEOUT} s"
        outcomes[kind][outcome] += 1

    await asyncio.gather(*(run(number) for number in range(CONNECTIONS)))
    return outcomes


def test(t):
    ns = t.namespace("tcpconn")
    echo = harness.Echo(t, ns, f"--ipv4={ECHO_ADDRESS}/{PREFIX}", f"--tcp-msl={MSL_SECONDS}s")
    echo.wait_serving()
    started = time.monotonic()
    with ns.entered():
        outcomes = asyncio.run(all_connections(t))
    elapsed = time.monotonic() - started
    for kind in ("normal", "reset", "abandoned"):
        expected = sum(1 for number in range(CONNECTIONS) if kind_of(number) == kind)
        t.check(outcomes[kind]["ok"] == expected, f"{expected} {kind} connections behave",
                f"outcomes: {dict(outcomes[kind])}")
    print(f"        ({CONNECTIONS} connections in {elapsed:.1f} s)")
    # TIME-WAIT lasts 2 MSL; every other state ends with the handshakes above.
    time.sleep(2 * MSL_SECONDS + 2)
    counters = echo.stop()
    opened, freed = counters.get("tcp.connections_opened", 0), counters.get("tcp.connections_freed", 0)
    t.check(opened == CONNECTIONS, f"the echo opened {CONNECTIONS} connections", f"opened {opened}")
    t.check(freed == opened, "every connection's state was freed", f"opened {opened}, freed {freed}")
    resets = sum(1 for number in range(CONNECTIONS) if kind_of(number) == "reset")
    t.check(counters.get("tcp.resets_received", 0) >= resets, f"at least {resets} resets received",
            f"tcp.resets_received {counters.get('tcp.resets_received', 0)}")
    for counter in ("tcp.bad_checksum", "tcp.malformed", "tcp.syn_dropped", "tcp.no_memory", "tcp.no_memory_connections"):
        t.check(counters.get(counter, 0) == 0, f"counter {counter} is 0", f"{counters.get(counter)}")


if __name__ == "__main__":
    harness.main(test)
