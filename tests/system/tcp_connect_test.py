#!/usr/bin/env python3
"""Morgana as a TCP client (examples/tcp-send) against socat in Linux's
namespace:

  - an echo (socat ... PIPE): tcp-send sends 1 MB, half-closes, and gets the
    same 1 MB back (its FNV-1a hashes both ways equal the hash of the bytes it
    was told to send, computed here); Morgana closed first, so its side went
    through TIME-WAIT, which ends (--tcp-msl=1s, --wait-before-exit=3s: every
    connection freed before it exits);
  - a store (socat -u ... CREATE:file): the file's sha256 is that of the
    ChaCha20 keystream for the seed, made by openssl;
  - a closed port: Linux answers RST, tcp-send exits 1 saying "connection refused";
  - a port whose SYNs nftables drops: tcp-send gives up at its --connect-timeout.

Topology: harness.py's namespace (tap0 10.0.0.1/24); tcp-send holds tap0 as
10.0.0.2/24, one run at a time.
"""

import hashlib
import re
import time

import harness
import tcp_support
from harness import ECHO_ADDRESS, LINUX_ADDRESS

SIZE = 1024 * 1024
ECHO_SERVER_PORT = 5001
STORE_PORT = 5002
CLOSED_PORT = 5003
SILENT_PORT = 5004
MSL_SECONDS = 1


def counters_of(log):
    _, found, after = log.rpartition("\ncounters:\n")
    counters = {}
    for line in after.splitlines() if found else []:
        match = re.fullmatch(r"  (\S+) (\d+)", line)
        if match:
            counters[match.group(1)] = int(match.group(2))
    return counters


def echo_server(t, ns):
    seed = t.random.getrandbits(31)
    # PIPE echoes through a pipe in socat's own process. Blocks of one page
    # (-b 4096) fit whenever the pipe polls writable, so socat never blocks
    # writing a full pipe that only it could drain (it would with 8 KiB blocks).
    server = ns.spawn(["socat", "-b", "4096", "-t", "30",
                       f"TCP-LISTEN:{ECHO_SERVER_PORT},bind={LINUX_ADDRESS},reuseaddr", "PIPE"],
                      t.log_dir / "socat-echo.log", "socat-echo")
    t.require(tcp_support.listening(ns, ECHO_SERVER_PORT), "socat listens as an echo server")
    capture = tcp_support.Capture(t, ns, "echo-server")
    started = time.monotonic()
    status, log, line = tcp_support.run_tcp_send(t, ns, f"{LINUX_ADDRESS}:{ECHO_SERVER_PORT}", SIZE, seed,
                                                 f"--tcp-msl={MSL_SECONDS}s", f"--wait-before-exit={2 * MSL_SECONDS + 1}s")
    elapsed = time.monotonic() - started
    segments = capture.stop()
    t.check(status == 0 and line, f"tcp-send to the echo server exits 0 with its summary (seed {seed}, {elapsed:.1f} s)",
            f"status {status}")
    expected = tcp_support.fnv64(tcp_support.keystream(seed, SIZE))
    if line:
        t.check(line["sent"] == SIZE and line["sent_fnv"] == expected,
                f"tcp-send sent {SIZE} bytes of its keystream", f"{line}, expected fnv64 {expected}")
        t.check(line["received"] == SIZE and line["received_fnv"] == expected,
                f"the same {SIZE} bytes came back", f"{line}, expected fnv64 {expected}")
    morgana_fin = next((s for s in segments if s.source == ECHO_ADDRESS and s.has(s.FIN)), None)
    linux_fin = next((s for s in segments if s.source == LINUX_ADDRESS and s.has(s.FIN)), None)
    t.check(morgana_fin and linux_fin and morgana_fin.time < linux_fin.time,
            "Morgana sent the first FIN (it closes first and enters TIME-WAIT)", f"{morgana_fin} / {linux_fin}")
    counters = counters_of(log)
    opened, freed = counters.get("tcp.connections_opened", 0), counters.get("tcp.connections_freed", 0)
    t.check(opened == 1 and freed == 1, "TIME-WAIT ended and the connection was freed before exit",
            f"opened {opened}, freed {freed}")
    tcp_support.stop_quietly(server)


def store_server(t, ns):
    seed = t.random.getrandbits(31)
    stored = t.log_dir / "stored.bin"
    stored.unlink(missing_ok=True)
    server = ns.spawn(["socat", "-u", f"TCP-LISTEN:{STORE_PORT},bind={LINUX_ADDRESS},reuseaddr", f"CREATE:{stored}"],
                      t.log_dir / "socat-store.log", "socat-store")
    t.require(tcp_support.listening(ns, STORE_PORT), "socat listens to store a stream")
    status, _, line = tcp_support.run_tcp_send(t, ns, f"{LINUX_ADDRESS}:{STORE_PORT}", SIZE, seed)
    t.check(status == 0 and line and line["sent"] == SIZE and line["received"] == 0,
            f"tcp-send to the store exits 0 having sent {SIZE} bytes (seed {seed})", f"status {status}, {line}")
    t.check(harness.wait_until(lambda: server.poll() is not None, 10) and server.returncode == 0,
            "socat stored the stream and exited 0", f"status {server.poll()}")
    tcp_support.stop_quietly(server)
    data = stored.read_bytes() if stored.exists() else b""
    expected = hashlib.sha256(tcp_support.keystream(seed, SIZE)).hexdigest()
    t.check(len(data) == SIZE and hashlib.sha256(data).hexdigest() == expected,
            f"the stored {SIZE} bytes are byte-exact (sha256)", f"{len(data)} bytes")
    stored.unlink(missing_ok=True)


def closed_port(t, ns):
    started = time.monotonic()
    status, log, _ = tcp_support.run_tcp_send(t, ns, f"{LINUX_ADDRESS}:{CLOSED_PORT}", SIZE, 1, timeout=30)
    elapsed = time.monotonic() - started
    t.check(status == 1 and "connection refused" in log,
            f"tcp-send to a closed port exits 1 saying the connection was refused ({elapsed:.1f} s)",
            f"status {status}: {log.strip()[-300:]}")


def silent_port(t, ns):
    ns.run("nft", "add table inet mgt_silent")
    ns.run("nft", "add chain inet mgt_silent input { type filter hook input priority 0 ; }")
    ns.run("nft", f"add rule inet mgt_silent input tcp dport {SILENT_PORT} drop")
    started = time.monotonic()
    status, log, _ = tcp_support.run_tcp_send(t, ns, f"{LINUX_ADDRESS}:{SILENT_PORT}", SIZE, 1, "--connect-timeout=2s",
                                              timeout=30)
    elapsed = time.monotonic() - started
    t.check(status == 1 and "no answer in time" in log,
            f"tcp-send to a port that drops SYNs gives up at its 2 s connect timeout ({elapsed:.1f} s)",
            f"status {status}: {log.strip()[-300:]}")
    ns.run("nft", "delete table inet mgt_silent")


def test(t):
    ns = t.namespace("tcpconnect")
    for part in (echo_server, store_server, closed_port, silent_port):
        t.run_part(lambda t, part=part: part(t, ns))


if __name__ == "__main__":
    harness.main(test)
