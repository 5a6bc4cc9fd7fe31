#!/usr/bin/env python3
"""examples/static-site as a PVH image in QEMU (TCG, -M microvm) with little
memory, its heap starved by TLS handshakes (docs/DESIGN-memory.md):

  - a few keep-alive HTTPS connections are opened first and kept;
  - then many clients start TLS handshakes at once and hold their
    connections open, more than the heap can hold; every third one then
    announces a 1 MiB request body (Content-Length, the parser's limit) and
    sends none of it, which a server that reserves the body up front pays
    for in memory;
  - the image is still running (no abort), the kept connections still get
    byte-exact pages while the flood holds its memory, the log shows the
    refusals (TLS, TCP or HTTP, each rate-limited), and once the flood lets
    go, new HTTPS connections are served again.

Topology: harness.py's namespace (tap0 10.0.0.1/24), the guest at 10.0.0.2.
Environment: MORGANA_STARVE_MEMORY (QEMU -m in MiB, default 8),
MORGANA_STARVE_FLOOD (concurrent handshakes, default 120).
"""

import os
import re
import socket
import ssl
import threading
import time

import harness
import pvh_support
from harness import ECHO_ADDRESS, ROOT, TestFailure

SITE = ROOT / "examples" / "static-site" / "site"
CERTS = ROOT / "build" / "test-certs"
HOST = "static-site.test"
MEMORY_MB = int(os.environ.get("MORGANA_STARVE_MEMORY", "8"))
LARGE_BODY = 1024 * 1024  # ParserLimits::max_body: announced, never sent
FLOOD = int(os.environ.get("MORGANA_STARVE_FLOOD", "120"))
KEPT = 3
TIMEOUT = 20  # a TLS handshake under TCG while the guest works through the flood
REFUSALS = re.compile(r"no memory for its engine|for want of memory|low on memory")
TROUBLE = re.compile(r"morgana abort|CPU exception|out of memory")


def tls_context():
    return ssl.create_default_context(cafile=str(CERTS / "ca.pem"))


def open_https(ns, context):
    """A TLS connection to the guest, made inside the namespace from this thread."""
    with ns.entered():
        raw = socket.create_connection((ECHO_ADDRESS, 443), timeout=TIMEOUT)
    try:
        return context.wrap_socket(raw, server_hostname=HOST)
    except BaseException:
        raw.close()
        raise


def get(connection, path="/"):
    """One keep-alive GET on `connection`; returns (status, body)."""
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            raise TestFailure(f"connection closed before the response head ({len(data)} bytes)")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
    if not length:
        raise TestFailure(f"response without Content-Length: {head[:200]!r}")
    while len(body) < int(length.group(1)):
        chunk = connection.recv(65536)
        if not chunk:
            raise TestFailure("connection closed inside the response body")
        body += chunk
    return int(head.split()[1]), body


class Flood:
    """FLOOD clients that each make a TLS connection, ask for / and hold the
    connection until released; each thread records what happened to it."""

    def __init__(self, ns, context, count):
        self.release = threading.Event()
        self.outcomes = []
        self.lock = threading.Lock()
        self.sockets = []
        self.threads = [threading.Thread(target=self._client, args=(ns, context, number % 3 == 2), daemon=True)
                        for number in range(count)]
        for thread in self.threads:
            thread.start()

    def _client(self, ns, context, large_body):
        connection = None
        try:
            connection = open_https(ns, context)
            with self.lock:
                self.sockets.append(connection)
            if large_body:
                connection.sendall(f"POST / HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {LARGE_BODY}\r\n\r\n"
                                   .encode())
                # A server that took the body's memory waits for it; one that had none answers 503.
                connection.settimeout(3)
                try:
                    answer = connection.recv(100)
                    outcome = f"body: {answer[9:12].decode(errors='replace')}" if answer else "body: closed"
                except socket.timeout:
                    outcome = "body: waiting"
            else:
                status, _ = get(connection)
                outcome = "served" if status == 200 else f"status {status}"
        except (OSError, TestFailure) as error:
            outcome = f"refused: {type(error).__name__}"
        with self.lock:
            self.outcomes.append(outcome)
        self.release.wait(timeout=120)
        if connection:
            connection.close()

    def wait_outcomes(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.outcomes) == len(self.threads):
                    break
            time.sleep(0.2)
        with self.lock:
            return list(self.outcomes)

    def stop(self):
        self.release.set()
        with self.lock:
            for connection in self.sockets:
                connection.close()
        for thread in self.threads:
            thread.join(timeout=5)


def check_kept(t, kept, index, when):
    for number, connection in enumerate(kept):
        try:
            status, body = get(connection)
        except (OSError, TestFailure) as error:
            t.check(False, f"kept connection {number} {when}: served", f"{type(error).__name__}: {error}")
            continue
        t.check(status == 200 and body == index, f"kept connection {number} {when}: / byte-exact",
                f"status {status}, {len(body)} bytes")


def part_starve(t):
    image = pvh_support.build_image("examples/static-site", "--crunch", f"tls={CERTS / 'tls'}")
    ns = t.namespace("starve")
    guest = pvh_support.PvhGuest(t, ns, image, "microvm", "--ipv4=10.0.0.2/24 --tls=443", "static-site-starved",
                                 memory_mb=MEMORY_MB)
    guest.wait_serving("static-site")
    index = (SITE / "index.html").read_bytes()
    context = tls_context()
    started = time.monotonic()

    kept = [open_https(ns, context) for _ in range(KEPT)]
    flood = None
    try:
        check_kept(t, kept, index, "before the flood")
        flood = Flood(ns, context, FLOOD)
        outcomes = flood.wait_outcomes(timeout=35)
        served = outcomes.count("served")
        bodies = {outcome: outcomes.count(outcome) for outcome in outcomes if outcome.startswith("body")}
        refused = len([outcome for outcome in outcomes if outcome.startswith("refused")])
        print(f"  ..    flood of {FLOOD}: {served} served, {refused} refused, large bodies {bodies}, "
              f"{FLOOD - len(outcomes)} still waiting after {time.monotonic() - started:.0f} s", flush=True)
        # The rest would only time out against a stopped image.
        stopped = [line for line in guest.log().splitlines() if TROUBLE.search(line)]
        t.require(guest.process.poll() is None, "the image is still running during the flood",
                  f"QEMU exited with {guest.process.poll()}: {stopped[:3]}")
        t.check(refused + (FLOOD - len(outcomes)) > 0, "the flood asked for more than the heap holds",
                "every flood connection was served: raise MORGANA_STARVE_FLOOD or lower MORGANA_STARVE_MEMORY")
        # The flood still holds every connection it got: memory is short now.
        check_kept(t, kept, index, "while the flood holds its connections")
        log = guest.log()
        refusals = [line for line in log.splitlines() if REFUSALS.search(line)]
        t.check(bool(refusals), "the log shows connections refused for want of memory",
                "no refusal warning in the log")
        for line in refusals[:3]:
            print(f"  ..    {line.strip()}", flush=True)
        t.check(len(refusals) <= 3 * max(1, int(time.monotonic() - started)) + 3,
                "refusal warnings are rate-limited", f"{len(refusals)} lines")
    finally:
        if flood:
            flood.stop()

    # Once the flood lets go, the image serves new connections again.
    time.sleep(1)
    for number in range(3):
        try:
            with open_https(ns, context) as connection:
                status, body = get(connection)
            t.check(status == 200 and body == index, f"new connection {number} after the flood: / byte-exact",
                    f"status {status}, {len(body)} bytes")
        except (OSError, TestFailure) as error:
            t.check(False, f"new connection {number} after the flood: served", f"{type(error).__name__}: {error}")
    check_kept(t, kept, index, "after the flood")
    for connection in kept:
        connection.close()

    running = guest.process.poll() is None
    harness.stop_process(guest.process, guest.label)
    trouble = [line for line in guest.log().splitlines() if TROUBLE.search(line)]
    t.check(running and not trouble, "the image ran to the end: no abort, no fault in its log",
            f"running {running}, {trouble[:3]}")


def test(t):
    harness.test_certs()
    part_starve(t)


if __name__ == "__main__":
    harness.main(test)
