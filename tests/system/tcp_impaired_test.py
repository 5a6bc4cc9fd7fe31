#!/usr/bin/env python3
"""TCP through an impaired link: each direction drops 2%, reorders 5%,
duplicates 1% and delays by 10 ms (tools/netimpair). Every run moves 50 MB
three ways, each byte-exact by sha256:

  - into Morgana: Linux writes random bytes to the echo port and reads the echo
    back at the same time (both directions loaded);
  - out of Morgana's byte source (port 19) to Linux, checked against the
    source's known pattern;
  - out of Morgana's active open: examples/tcp-send connects to a socat
    listener in Linux's namespace that stores what arrives, checked against
    the same ChaCha20 keystream made by openssl.

Five runs, each with its own seed for netimpair and the payload (printed, so a
failing run can be replayed: MORGANA_TEST_SEED gives the same seeds). The link's
loss, not the CPU, sets the pace (about 0.35 MB/s a transfer here, in the
AddressSanitizer build and the optimised one alike), so the runs and their
transfers go at once, each in its own pair of namespaces: about 3 minutes.

Topology of each run's echo and of its tcp-send (namespaces made by the test,
cleaned up on every path):

    namespace img (no address)                    namespace lnx
      tap0 <-- fd -- echo or tcp-send 10.0.0.2       tap0 10.0.0.1/24 (socat, Python)
        ^ AF_PACKET                                    ^ tap fd
        +--- netimpair --a=packet:tap0 --b=tap0 (impairments, --seed) ---+

Environment: MORGANA_TCP_IMPAIRED_MB (bytes per transfer, default 50),
MORGANA_TCP_IMPAIRED_RUNS (default 5), and those of harness.py and tcp_support.py.
"""

import hashlib
import os
import random
import socket
import threading
import time

import harness
import tcp_support
from harness import ECHO_ADDRESS, ECHO_PORT, LINUX_ADDRESS, PREFIX, TestFailure

MEGABYTES = int(os.environ.get("MORGANA_TCP_IMPAIRED_MB", "50"))
RUNS = int(os.environ.get("MORGANA_TCP_IMPAIRED_RUNS", "5"))
SIZE = MEGABYTES * 1024 * 1024
IMPAIRMENTS = ("--drop=2", "--reorder=5", "--dup=1", "--delay=10ms")
STORE_PORT = 5001
# A transfer that makes no progress for this long has failed.
STALL_TIMEOUT = 60
# Generous: about a third of the rate measured (0.3 MB/s a transfer), plus startup.
TRANSFER_TIMEOUT = 60 + SIZE / 100_000


def into_echo(t, linux_ns, data):
    """Writes `data` to the echo port while reading the echo back; checks both sha256."""
    started = time.monotonic()
    sock = tcp_support.connect(linux_ns, ECHO_ADDRESS, ECHO_PORT, 10)
    sock.settimeout(STALL_TIMEOUT)
    send_error = []

    def send():
        try:
            # sendall's timeout bounds the whole call: send in pieces so that it bounds a stall.
            view = memoryview(data)
            for offset in range(0, len(data), 1 << 16):
                sock.sendall(view[offset:offset + (1 << 16)])
            sock.shutdown(socket.SHUT_WR)
        except OSError as error:
            send_error.append(error)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    digest = hashlib.sha256()
    try:
        got = tcp_support.receive_exactly(sock, len(data) + 1, digest)
    except OSError as error:
        got = f"error {error}"
    sender.join(TRANSFER_TIMEOUT)
    sock.close()
    elapsed = time.monotonic() - started
    t.check(not send_error, f"{len(data)} bytes written to the echo port", f"{send_error}")
    t.check(got == len(data) and digest.hexdigest() == hashlib.sha256(data).hexdigest(),
            f"the echo of {len(data)} bytes comes back byte-exact and then ends ({elapsed:.1f} s, "
            f"{len(data) / elapsed / 1e6:.2f} MB/s each way)", f"received {got} bytes")


def out_of_source(t, linux_ns, size):
    started = time.monotonic()
    sock = tcp_support.connect(linux_ns, ECHO_ADDRESS, tcp_support.SOURCE_PORT, 10)
    sock.settimeout(STALL_TIMEOUT)
    digest = hashlib.sha256()
    try:
        got = tcp_support.receive_exactly(sock, size, digest)
    except OSError as error:
        got = f"error {error}"
    sock.close()
    elapsed = time.monotonic() - started
    t.check(got == size and digest.hexdigest() == tcp_support.source_sha256(size),
            f"{size} bytes from the byte source are byte-exact ({elapsed:.1f} s, {size / elapsed / 1e6:.2f} MB/s)",
            f"received {got} bytes")


def out_of_tcp_send(t, image_ns, linux_ns, size, seed):
    stored = t.log_dir / f"stored-{seed}.bin"
    stored.unlink(missing_ok=True)
    listener = linux_ns.spawn(["socat", "-u", f"TCP-LISTEN:{STORE_PORT},bind={LINUX_ADDRESS},reuseaddr",
                               f"CREATE:{stored}"], t.log_dir / f"socat-store-{seed}.log", "socat-store")
    t.require(tcp_support.listening(linux_ns, STORE_PORT), "socat listens to store the stream")
    started = time.monotonic()
    status, _, line = tcp_support.run_tcp_send(t, image_ns, f"{LINUX_ADDRESS}:{STORE_PORT}", size, seed,
                                               timeout=TRANSFER_TIMEOUT)
    elapsed = time.monotonic() - started
    t.check(status == 0 and line and line["sent"] == size, f"tcp-send sends {size} bytes and exits 0 "
            f"({elapsed:.1f} s, {size / elapsed / 1e6:.2f} MB/s)", f"status {status}, line {line}")
    t.check(harness.wait_until(lambda: listener.poll() is not None, 10) and listener.returncode == 0,
            "socat stored the stream and exited 0", f"status {listener.poll()}")
    tcp_support.stop_quietly(listener)
    expected = hashlib.sha256(tcp_support.keystream(seed, size)).hexdigest()
    got_size = stored.stat().st_size if stored.exists() else 0
    t.check(got_size == size and tcp_support.sha256_file(stored) == expected,
            f"the {size} bytes tcp-send sent (seed {seed}) arrive byte-exact", f"stored {got_size} bytes")
    stored.unlink(missing_ok=True)


class Run:
    """One seed's transfers: the echo's in one topology, tcp-send's in another,
    each behind its own netimpair (seeded with the run's seed and seed + 1).
    Each side's thread starts and stops its own processes: harness.py's
    PR_SET_PDEATHSIG kills a child when the thread that started it ends."""

    def __init__(self, t, number, seed):
        self.t = t
        self.number = number
        self.seed = seed
        self.name = f"run {number} (seed {seed})"
        self.failed = False

    def check(self, condition, what, detail=""):
        if not condition:
            self.failed = True
        return self.t.check(condition, f"{self.name}: {what}", detail)

    def require(self, condition, what, detail=""):
        if not self.check(condition, what, detail):
            raise TestFailure(what)

    def __getattr__(self, name):
        # Everything else (log_dir, cleanup, namespace, ...) is the test's.
        return getattr(self.t, name)

    def echo_side(self):
        image_ns, linux_ns = tcp_support.impaired_topology(self, f"e{self.number}")
        impair = tcp_support.Netimpair(self, image_ns, linux_ns, *IMPAIRMENTS, f"--seed={self.seed}")
        try:
            echo = harness.Echo(self, image_ns, f"--ipv4={ECHO_ADDRESS}/{PREFIX}", label=f"echo-run{self.number}")
            try:
                echo.wait_serving()
                data = random.Random(self.seed).randbytes(SIZE)
                parts = [threading.Thread(target=self.guarded, args=(into_echo, self, linux_ns, data)),
                         threading.Thread(target=self.guarded, args=(out_of_source, self, linux_ns, SIZE))]
                for part in parts:
                    part.start()
                for part in parts:
                    part.join()
            finally:
                counters = echo.stop()
            self.check(counters.get("tcp.bad_checksum", 0) == 0 and counters.get("tcp.malformed", 0) == 0,
                       "the echo saw no bad TCP segments", f"{counters}")
            self.check(counters.get("tcp.fast_retransmits", 0) + counters.get("tcp.retransmit_timeouts", 0) > 0,
                       "the echo retransmitted (the impairments bite)", f"{counters}")
        finally:
            self.check_impaired(impair.stop())

    def send_side(self):
        image_ns, linux_ns = tcp_support.impaired_topology(self, f"s{self.number}")
        impair = tcp_support.Netimpair(self, image_ns, linux_ns, *IMPAIRMENTS, f"--seed={self.seed + 1}")
        try:
            out_of_tcp_send(self, image_ns, linux_ns, SIZE, self.seed)
        finally:
            self.check_impaired(impair.stop())

    def check_impaired(self, impaired):
        for direction in ("a_to_b", "b_to_a"):
            self.check(all(impaired.get(f"{direction}.{what}", 0) > 0 for what in ("dropped", "duplicated", "reordered")),
                       f"netimpair dropped, duplicated and reordered frames {direction}",
                       f"{ {name: value for name, value in impaired.items() if name.startswith(direction)} }")

    def guarded(self, part, *arguments):
        """Runs part(*arguments) in a thread: a failure or a bug there becomes a failed check."""
        try:
            part(*arguments)
        except TestFailure as failure:
            self.check(False, str(failure))
        except Exception as error:  # a bug in the test must still fail it, not kill the thread silently
            self.check(False, f"{part.__name__} raised {type(error).__name__}: {error}")


def test(t):
    # Built (when needed) before the runs start, not by each of them at once.
    tcp_support.tcp_send_binary()
    tcp_support.netimpair_binary()
    runs = [Run(t, number, t.random.getrandbits(31)) for number in range(1, RUNS + 1)]
    print(f"{RUNS} runs of {MEGABYTES} MB per transfer, all at once (the link's loss, not the CPU, sets the pace); "
          f"seeds {[run.seed for run in runs]}", flush=True)
    started = time.monotonic()
    threads = []
    for run in runs:
        for side in (run.echo_side, run.send_side):
            thread = threading.Thread(target=run.guarded, args=(side,), daemon=True)
            thread.start()
            threads.append(thread)
    deadline = started + 2 * TRANSFER_TIMEOUT + 60
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    t.check(not any(thread.is_alive() for thread in threads), f"every run ends within {deadline - started:.0f} s")
    for run in runs:
        print(f"{run.name}: {'FAILED' if run.failed else 'passed'}", flush=True)
    print(f"all runs took {time.monotonic() - started:.1f} s", flush=True)


if __name__ == "__main__":
    harness.main(test)
