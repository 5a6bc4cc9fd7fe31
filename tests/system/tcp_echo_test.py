#!/usr/bin/env python3
"""TCP echo from Linux: 10 MB of random bytes through port 7 with socat come
back byte-exact (sha256). socat half-closes when its input ends; a capture on
Linux's tap shows the echo still sending after that FIN, up to the last byte,
and only then closing its side. A request whose FIN rides on its only data
segment is echoed too. A SYN to a closed port is refused with RST at once (the
first SYN gets it: one answered segment in tcp.closed_port). Afterwards the
echo holds no connection state (it closed second, so it has no TIME-WAIT).

Topology: harness.py's (namespace with tap0 10.0.0.1/24, echo 10.0.0.2/24).
"""

import hashlib
import socket
import time

import harness
import tcp_support
from harness import ECHO_ADDRESS, ECHO_PORT, LINUX_ADDRESS, PREFIX

SIZE = 10 * 1024 * 1024
CLOSED_PORT = 8
TRANSFER_TIMEOUT = 180


def socat_transfer(t, ns):
    payload = t.random.randbytes(SIZE)
    sent_path = t.log_dir / "sent.bin"
    echoed_path = t.log_dir / "echoed.bin"
    sent_path.write_bytes(payload)
    capture = tcp_support.Capture(t, ns, "socat")
    started = time.monotonic()
    # Reads the file, writes what comes back to another; on the file's end it
    # shuts down its sending side and waits (-t) for the echo to end its own.
    socat = ns.spawn(["socat", "-b", "65536", "-t", "60", f"OPEN:{sent_path},rdonly!!CREATE:{echoed_path}",
                      f"TCP:{ECHO_ADDRESS}:{ECHO_PORT}"], t.log_dir / "socat.log", "socat")
    finished = harness.wait_until(lambda: socat.poll() is not None, TRANSFER_TIMEOUT, interval=0.2)
    elapsed = time.monotonic() - started
    segments = capture.stop()
    t.require(finished, f"socat finishes within {TRANSFER_TIMEOUT} s")
    t.check(socat.returncode == 0, "socat exits 0", (t.log_dir / "socat.log").read_text(errors="replace")[-500:])
    echoed = echoed_path.read_bytes() if echoed_path.exists() else b""
    t.check(len(echoed) == SIZE and hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest(),
            f"{SIZE} bytes come back byte-exact ({elapsed:.1f} s, {SIZE / elapsed / 1e6:.1f} MB/s each way)",
            f"{len(echoed)} bytes came back")
    check_half_close(t, segments)
    sent_path.unlink()
    echoed_path.unlink(missing_ok=True)


def check_half_close(t, segments):
    """From the capture: Linux's FIN, then echo data, then the echo's FIN after the last byte."""
    from_linux = [s for s in segments if s.source == LINUX_ADDRESS and s.destination_port == ECHO_PORT]
    from_echo = [s for s in segments if s.source == ECHO_ADDRESS and s.source_port == ECHO_PORT]
    syn = next((s for s in from_echo if s.has(s.SYN)), None)
    client_fin = next((s for s in from_linux if s.has(s.FIN)), None)
    echo_fin = next((s for s in from_echo if s.has(s.FIN)), None)
    if not t.check(syn and client_fin and echo_fin, "the capture holds the echo's SYN-ACK and both FINs",
                   f"{len(segments)} segments"):
        return
    first_byte = syn.sequence + 1
    after_fin = [s for s in from_echo if s.time > client_fin.time and s.length > 0]
    echoed_after = sum(s.length for s in after_fin)
    t.check(after_fin, "the echo goes on sending after Linux's FIN (half-close)",
            f"Linux's FIN at {client_fin.time:.6f}, the echo's last data at "
            f"{max((s.time for s in from_echo if s.length), default=0):.6f}")
    print(f"        ({echoed_after} bytes in {len(after_fin)} segments from the echo after Linux's FIN)")
    t.check((echo_fin.sequence + echo_fin.length - first_byte) % 2**32 == SIZE,
            "the echo's FIN follows its last byte", f"FIN at relative sequence {echo_fin.sequence - first_byte}")
    t.check(echo_fin.time > client_fin.time, "the echo closes its side only after Linux's FIN")


def fin_with_data(t, ns):
    """One segment carries the whole request and the FIN (TCP_CORK holds the
    data until shutdown adds the FIN to it)."""
    payload = t.random.randbytes(1000)
    capture = tcp_support.Capture(t, ns, "cork")
    sock = tcp_support.connect(ns, ECHO_ADDRESS, ECHO_PORT, 5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    reply = b""
    try:
        while chunk := sock.recv(65536):
            reply += chunk
        ended = True
    except OSError as error:
        ended = error
    sock.close()
    segments = capture.stop()
    carried = [s for s in segments if s.source == LINUX_ADDRESS and s.has(s.FIN) and s.length == len(payload)]
    t.check(carried, "Linux sent the request and its FIN in one segment",
            "; ".join(repr(s) for s in segments if s.source == LINUX_ADDRESS))
    t.check(reply == payload and ended is True, "a request that ends with its FIN in the same segment is echoed "
            "and the echo then closes", f"{len(reply)} bytes back, end: {ended}")


def closed_port(t, ns):
    started = time.monotonic()
    try:
        sock = tcp_support.connect(ns, ECHO_ADDRESS, CLOSED_PORT, 5)
        sock.close()
        outcome = "connected"
    except ConnectionRefusedError:
        outcome = "refused"
    except OSError as error:
        outcome = repr(error)
    t.check(outcome == "refused", f"a connection to closed port {CLOSED_PORT} is refused "
            f"({(time.monotonic() - started) * 1000:.1f} ms)", outcome)


def test(t):
    ns = t.namespace("tcpecho")
    echo = harness.Echo(t, ns, f"--ipv4={ECHO_ADDRESS}/{PREFIX}")
    echo.wait_serving()
    ok, output = ns.ping(ECHO_ADDRESS, count=1)
    t.require(ok, "echo answers ping", output)
    t.run_part(lambda t: socat_transfer(t, ns))
    t.run_part(lambda t: fin_with_data(t, ns))
    t.run_part(lambda t: closed_port(t, ns))
    time.sleep(1)  # the last ACKs of the closing handshakes arrive
    counters = echo.stop()
    t.check(counters.get("tcp.closed_port", 0) == 1, "exactly one segment (the first SYN) reached the closed port",
            f"tcp.closed_port {counters.get('tcp.closed_port', 0)}")
    opened, freed = counters.get("tcp.connections_opened", 0), counters.get("tcp.connections_freed", 0)
    t.check(opened == 2 and freed == opened, "both connections were freed", f"opened {opened}, freed {freed}")
    for counter in ("tcp.bad_checksum", "tcp.malformed", "tcp.data_after_close"):
        t.check(counters.get(counter, 0) == 0, f"counter {counter} is 0", f"{counters.get(counter)}")


if __name__ == "__main__":
    harness.main(test)
