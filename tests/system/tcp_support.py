"""Helpers shared by the TCP system tests (tcp_*_test.py), on top of harness.py:
the tcp-send example and netimpair as binaries, the impaired topology, the
bytes tcp-send sends, the echo's byte source, hashes, and tcpdump captures.

Binaries live next to the echo (MORGANA_ECHO, default build/hosted-asan/echo):
DIR/tcp-send and DIR/tools/netimpair, brought up to date with
`cmake --build DIR --target ...` when DIR is a CMake build directory.
MORGANA_TCP_SEND and MORGANA_NETIMPAIR name other binaries (then nothing is built).
"""

import hashlib
import itertools
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import harness
from harness import ECHO, ECHO_ADDRESS, ECHO_MAC, PREFIX, TAP, TestFailure

SOURCE_PORT = 19
# examples/echo's byte source writes this block over and over.
SOURCE_BLOCK = bytes(ord(" ") + i % 95 for i in range(16384))


_built = {}
_build_lock = threading.Lock()


def binary(target, relative_path, variable):
    """The binary of a CMake target of the echo's build, built if needed (once per test run)."""
    if os.environ.get(variable):
        return Path(os.environ[variable])
    with _build_lock:
        if target not in _built:
            _built[target] = _build(target, relative_path)
        return _built[target]


def _build(target, relative_path):
    build_dir = ECHO.parent
    if (build_dir / "build.ninja").is_file():
        result = subprocess.run(["cmake", "--build", str(build_dir), "--target", target], capture_output=True,
                                text=True, timeout=900)
        if result.returncode != 0:
            raise TestFailure(f"cannot build {target} in {build_dir}: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    path = build_dir / relative_path
    if not path.is_file():
        raise TestFailure(f"{path} is missing; build it with: cmake --build {build_dir} --target {target}")
    return path


def tcp_send_binary():
    return binary("tcp-send", "tcp-send", "MORGANA_TCP_SEND")


def netimpair_binary():
    return binary("netimpair", "tools/netimpair", "MORGANA_NETIMPAIR")


def keystream(seed, size):
    """The bytes tcp-send --seed=SEED sends: ChaCha20's keystream under the key
    seed (8 bytes, little-endian) + 24 zero bytes, nonce 0, counter 0."""
    key = seed.to_bytes(8, "little") + bytes(24)
    openssl = subprocess.Popen(["openssl", "enc", "-chacha20", "-K", key.hex(), "-iv", "00" * 16, "-in", "/dev/zero"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    chunks, remaining = [], size
    while remaining:
        chunk = openssl.stdout.read(min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    openssl.kill()
    openssl.wait()
    data = b"".join(chunks)
    if len(data) != size:
        raise TestFailure(f"openssl gave {len(data)} of {size} keystream bytes")
    return data


def fnv64(data):
    """FNV-1a, 64 bits (tcp-send's hash), as 16 hex digits."""
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def source_sha256(size):
    """sha256 of the first `size` bytes of the echo's byte source."""
    digest = hashlib.sha256()
    whole, rest = divmod(size, len(SOURCE_BLOCK))
    for _ in range(whole):
        digest.update(SOURCE_BLOCK)
    digest.update(SOURCE_BLOCK[:rest])
    return digest.hexdigest()


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def receive_exactly(sock, size, digest):
    """Reads `size` bytes into `digest`; returns how many came before EOF."""
    got = 0
    view = memoryview(bytearray(1 << 16))
    while got < size:
        count = sock.recv_into(view, min(len(view), size - got))
        if count == 0:
            break
        digest.update(view[:count])
        got += count
    return got


class Program:
    """A Morgana image other than the echo (tcp-send) run once inside a namespace."""

    runs = itertools.count(1)

    def __init__(self, test, namespace, command, label):
        self.label = f"{label}-{next(Program.runs)}"
        self.log_path = test.log_dir / f"{self.label}.log"
        self.command = [str(part) for part in command]
        test.show_log_on_failure(self.log_path, f"{self.label} ({' '.join(self.command)})")
        self.process = namespace.spawn(self.command, self.log_path, self.label)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout):
        """The exit status, or None when it is still running after `timeout` s (then it is killed)."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            harness.stop_process(self.process, self.label)
            return None


def run_tcp_send(test, namespace, to, size, seed, *arguments, timeout=120, address=ECHO_ADDRESS):
    """Runs tcp-send to `to` ("ADDR:PORT"); returns (status, log, parsed line or None).
    The parsed line is a dict: sent, sent_fnv, received, received_fnv."""
    command = [tcp_send_binary(), f"--net={TAP}", f"--mac={ECHO_MAC}", f"--ipv4={address}/{PREFIX}", f"--to={to}",
               f"--bytes={size}", f"--seed={seed}", *arguments]
    program = Program(test, namespace, command, "tcp-send")
    status = program.wait(timeout)
    text = program.log()
    match = re.search(r"sent (\d+) bytes \(fnv64 ([0-9a-f]{16})\), received (\d+) bytes \(fnv64 ([0-9a-f]{16})\)",
                      text)
    line = None
    if match:
        line = {"sent": int(match.group(1)), "sent_fnv": match.group(2), "received": int(match.group(3)),
                "received_fnv": match.group(4)}
    test.check(not re.search(r"Sanitizer|runtime error:", text), f"{program.label}: no sanitizer report")
    return status, text, line


class Netimpair:
    """netimpair between the image's tap (namespace `image_ns`, through
    AF_PACKET) and Linux's tap (namespace `linux_ns`), stopped by PID."""

    runs = itertools.count(1)

    def __init__(self, test, image_ns, linux_ns, *impairments):
        self.test = test
        self.label = f"netimpair-{next(Netimpair.runs)}"
        self.log_path = test.log_dir / f"{self.label}.log"
        self.command = [str(netimpair_binary()), f"--a=packet:{TAP}", f"--a-netns={image_ns.name}", f"--b={TAP}",
                        f"--b-netns={linux_ns.name}", *impairments]
        # Runs in the Linux namespace; it opens each link in its own namespace.
        self.process = linux_ns.spawn(self.command, self.log_path, self.label)
        test.show_log_on_failure(self.log_path, f"{self.label} ({' '.join(self.command)})")
        ready = harness.wait_until(lambda: "netimpair: forwarding" in self.log() or self.process.poll() is not None,
                                   10)
        if not ready or self.process.poll() is not None:
            raise TestFailure(f"netimpair did not start: {self.log().strip()[-500:]}")

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        """SIGTERM; its counters ({'a_to_b.dropped': 3, ...})."""
        status = harness.stop_process(self.process, self.label)
        self.test.check(status == 0, f"{self.label} exits 0 on SIGTERM", f"status {status}")
        _, found, after = self.log().rpartition("netimpair: counters\n")
        counters = {}
        for line in after.splitlines():
            match = re.fullmatch(r"  (\S+) (\d+)", line)
            if match:
                counters[match.group(1)] = int(match.group(2))
        return counters


def impaired_topology(test, role=""):
    """Two namespaces: the image's (tap0, no address) and Linux's (tap0
    10.0.0.1/24), joined by netimpair later. Returns (image_ns, linux_ns)."""
    image_ns = test.namespace(f"img{role}", linux_cidr=None)
    linux_ns = test.namespace(f"lnx{role}")
    # A deep queue on Linux's tap: its default 1000 frames overflow under bursts.
    linux_ns.ip("link", "set", TAP, "txqueuelen", "10000")
    return image_ns, linux_ns


def connect(namespace, address, port, timeout):
    """A TCP socket made in `namespace`, connected (raises OSError as socket does)."""
    with namespace.entered():
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def listening(namespace, port, timeout=5):
    """True once a TCP socket in `namespace` listens on `port` (from /proc/net/tcp)."""

    def found():
        for line in namespace.run("cat", "/proc/net/tcp").stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
                return True
        return False

    return harness.wait_until(found, timeout)


def vm_rss_kib(pid, field="VmRSS"):
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def stop_quietly(process):
    """SIGTERM to a helper process (socat) that has done its job, by PID."""
    if process.poll() is None:
        try:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=3)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    return process.poll()


class Capture:
    """tcpdump on a namespace's tap, to a pcap file (headers only), stopped by PID."""

    def __init__(self, test, namespace, name, device=TAP, snaplen=96, expression="tcp"):
        self.path = test.log_dir / f"{name}.pcap"
        self.log_path = test.log_dir / f"{name}-tcpdump.log"
        self.process = namespace.spawn(["tcpdump", "-i", device, "-n", "-U", "--immediate-mode", "-B", "16384", "-s", str(snaplen), "-w",
                                        str(self.path), expression], self.log_path, f"tcpdump-{name}")
        if not harness.wait_until(lambda: "listening on" in self.log() or self.process.poll() is not None, 10) \
                or self.process.poll() is not None:
            raise TestFailure(f"tcpdump did not start: {self.log().strip()[-300:]}")

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        """Stops tcpdump; returns the TCP segments it saw (see read_pcap)."""
        time.sleep(0.2)  # the last frames reach the file
        stop_quietly(self.process)
        return read_pcap(self.path)


class Segment:
    """One TCP segment from a capture."""

    __slots__ = ("time", "source", "destination", "source_port", "destination_port", "sequence", "acknowledgment",
                 "flags", "length")

    FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

    def has(self, flag):
        return bool(self.flags & flag)

    def __repr__(self):
        names = "".join(name for name, bit in (("F", 1), ("S", 2), ("R", 4), ("P", 8), (".", 16)) if self.flags & bit)
        return (f"{self.time:.6f} {self.source}:{self.source_port} > {self.destination}:{self.destination_port} "
                f"[{names}] seq {self.sequence} ack {self.acknowledgment} len {self.length}")


def read_pcap(path):
    """The IPv4 TCP segments of a pcap file (Ethernet link type), in order."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        return []
    magic = int.from_bytes(data[:4], "little")
    order = "little" if magic in (0xA1B2C3D4, 0xA1B23C4D) else "big"
    fraction = 1e-9 if magic in (0xA1B23C4D, 0x4D3CB2A1) else 1e-6
    segments, offset = [], 24
    while offset + 16 <= len(data):
        seconds = int.from_bytes(data[offset:offset + 4], order)
        sub = int.from_bytes(data[offset + 4:offset + 8], order)
        captured = int.from_bytes(data[offset + 8:offset + 12], order)
        frame = data[offset + 16:offset + 16 + captured]
        offset += 16 + captured
        if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        header_length = (ip[0] & 0x0F) * 4
        total_length = int.from_bytes(ip[2:4], "big")
        if ip[9] != 6 or len(ip) < header_length + 20:
            continue
        tcp = ip[header_length:]
        segment = Segment()
        segment.time = seconds + sub * fraction
        segment.source = socket.inet_ntoa(ip[12:16])
        segment.destination = socket.inet_ntoa(ip[16:20])
        segment.source_port = int.from_bytes(tcp[0:2], "big")
        segment.destination_port = int.from_bytes(tcp[2:4], "big")
        segment.sequence = int.from_bytes(tcp[4:8], "big")
        segment.acknowledgment = int.from_bytes(tcp[8:12], "big")
        segment.flags = tcp[13]
        segment.length = total_length - header_length - (tcp[12] >> 4) * 4
        segments.append(segment)
    return segments
