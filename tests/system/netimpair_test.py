#!/usr/bin/env python3
"""A check of tools/netimpair itself, with Linux at both ends and no Morgana.

Topology (namespaces made by the test, cleaned up on every path):

    namespace A                                namespace B
      tap0 10.9.0.1/24                           tap0 10.9.0.2/24
        |  (tap fd, opened in A)                   |  (tap fd, opened in B)
        +------ netimpair --a=tap0 --a-netns=A --b=tap0 --b-netns=B ------+
                (runs in the test's own namespace)

    Morgana's topology, with a second netimpair standing in for the image:

    namespace A             namespace M (no address)          namespace D
      tap0 10.9.0.1 ---- netimpair ---- tap0 ==== stand-in ---- tap0 10.9.0.4
                    --b=packet:tap0 --b-netns=M   (holds M's tap0 fd as an
                                                   image would, forwards to D)

Checks: forwarding without impairment; --drop loses about that share and
counts it; --spare-arp lets ARP through a 100% drop; --dup makes ping report
duplicates; a 5 MB TCP transfer through drop, reorder, duplication and delay
arrives byte-exact; the same seed drops the same frames; delay, jitter, the
reorder timeout and the queue limit shape the timing; an AF_PACKET link
forwards to a tap that another process holds; and the forwarding rate without
impairment (reported, with a floor).

Run as root: python3 tests/system/netimpair_test.py
Environment: MORGANA_NETIMPAIR (the binary; default: the first that exists of
build/hosted-asan/tools/netimpair, build/hosted/tools/netimpair,
build/netimpair/netimpair), MORGANA_TEST_SEED, MORGANA_KEEP_LOGS.
"""

import collections
import hashlib
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import harness
from harness import ROOT, TAP, TestFailure

ADDRESS_A = "10.9.0.1"
ADDRESS_B = "10.9.0.2"
ADDRESS_D = "10.9.0.4"
PREFIX = 24
TCP_PORT = 5001
UDP_PORT = 5002
TRANSFER_BYTES = 5 * 1024 * 1024
MINIMUM_FRAMES_PER_SECOND = 10_000

CANDIDATES = ["build/hosted-asan/tools/netimpair", "build/hosted/tools/netimpair", "build/netimpair/netimpair"]


def find_binary():
    if os.environ.get("MORGANA_NETIMPAIR"):
        return Path(os.environ["MORGANA_NETIMPAIR"])
    for candidate in CANDIDATES:
        if (ROOT / candidate).is_file():
            return ROOT / candidate
    raise TestFailure("netimpair is not built; build it with: cmake -S tools -B build/netimpair -G Ninja "
                      "-DCMAKE_CXX_COMPILER=clang++-19 && cmake --build build/netimpair")


class Netimpair:
    """One netimpair process in the test's own namespace, stopped by PID."""

    runs = 0

    def __init__(self, test, binary, *arguments):
        Netimpair.runs += 1
        self.test = test
        self.label = f"netimpair-{Netimpair.runs}"
        self.log_path = test.log_dir / f"{self.label}.log"
        self.command = [str(binary), *arguments]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            preexec_fn=harness._die_with_parent)
        test.cleanup.add_process(self.process, self.label)
        test.show_log_on_failure(self.log_path, f"{self.label} ({' '.join(self.command)})")
        self.wait_ready()

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout=10.0):
        ready = harness.wait_until(lambda: "netimpair: forwarding" in self.log() or self.process.poll() is not None,
                                   timeout)
        if self.process.poll() is not None or not ready:
            raise TestFailure(f"{self.label} did not start: {self.log().strip()[-300:]}")

    def stop(self):
        """SIGTERM; the counters it prints ({'a_to_b.dropped': 3, ...}; the hash as a string)."""
        status = harness.stop_process(self.process, self.label)
        self.test.check(status == 0, f"{self.label} exits 0 on SIGTERM", f"status {status}")
        text = self.log()
        self.test.check(not re.search(r"Sanitizer|runtime error:", text), f"{self.label}: no sanitizer report")
        _, found, after = text.rpartition("netimpair: counters\n")
        self.test.require(bool(found), f"{self.label} prints its counters on SIGTERM")
        counters = {}
        for line in after.splitlines():
            match = re.fullmatch(r"  (\S+) (\S+)", line)
            if match:
                name, value = match.groups()
                counters[name] = value if name.endswith("decision_hash") else int(value)
        return counters


class Topology:
    def __init__(self, test):
        self.test = test
        self.binary = find_binary()
        self.a = test.namespace("ni-a", linux_cidr=f"{ADDRESS_A}/{PREFIX}")
        self.b = test.namespace("ni-b", linux_cidr=f"{ADDRESS_B}/{PREFIX}")
        self.tool = None

    def start(self, *impairments, b_link=TAP, b_netns=None):
        # A part that failed may have left its netimpair holding the taps.
        if self.tool is not None:
            harness.stop_process(self.tool.process, self.tool.label)
        self.tool = Netimpair(self.test, self.binary, f"--a={TAP}", f"--a-netns={self.a.name}", f"--b={b_link}",
                              f"--b-netns={b_netns or self.b.name}", *impairments)
        return self.tool

    def ping(self, namespace, address, count, interval, wait=1):
        result = namespace.run("ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", str(wait), address,
                               check=False, timeout=count * interval + wait + 20)
        match = re.search(r"(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?", result.stdout)
        if not match:
            raise TestFailure(f"cannot read ping's summary: {result.stdout.strip()} {result.stderr.strip()}")
        transmitted, received, duplicates = (int(group or 0) for group in match.groups())
        return transmitted, received, duplicates, result.stdout.strip()


def transfer(t, sender_ns, receiver_ns, address, size, label, timeout):
    """socat from sender to receiver over TCP; checks that the bytes arrive unchanged."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    source = t.log_dir / f"{slug}.in"
    target = t.log_dir / f"{slug}.out"
    source.write_bytes(t.random.randbytes(size))
    target.unlink(missing_ok=True)
    receiver = receiver_ns.spawn(["socat", "-u", f"TCP-LISTEN:{TCP_PORT},bind={address},reuseaddr",
                                  f"CREATE:{target}"], t.log_dir / f"{slug}-receiver.log", f"{label} receiver")
    started = time.monotonic()
    result = sender_ns.run("socat", "-u", f"OPEN:{source}", f"TCP:{address}:{TCP_PORT},retry=50,interval=0.1",
                           check=False, timeout=timeout)
    try:
        receiver.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    elapsed = time.monotonic() - started
    same = target.is_file() and hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(
        source.read_bytes()).digest()
    got = target.stat().st_size if target.is_file() else 0
    t.check(result.returncode == 0 and same, f"{label}: {size} bytes arrive byte-exact ({elapsed:.1f} s)",
            f"sender status {result.returncode} {result.stderr.strip()}; received {got} bytes")
    source.unlink(missing_ok=True)
    target.unlink(missing_ok=True)


def part_arguments(t, net):
    result = subprocess.run([str(net.binary), "--help"], capture_output=True, text=True, timeout=10)
    t.check(result.returncode == 0 and "--a-to-b-drop" in result.stdout, "--help exits 0 and lists the options")
    result = subprocess.run([str(net.binary), "--a=x", "--b=y", "--drop=150"], capture_output=True, text=True,
                            timeout=10)
    t.check(result.returncode == 2 and "150" in result.stderr, "--drop=150 is refused with status 2", result.stderr)
    result = subprocess.run([str(net.binary), "--a=nosuchtap", f"--a-netns={net.a.name}", "--b=y"],
                            capture_output=True, text=True, timeout=10)
    t.check(result.returncode == 1 and "nosuchtap" in result.stderr, "a missing tap is refused with status 1",
            result.stderr)


def part_clean(t, net):
    tool = net.start("--seed=1", "--verbose")
    transmitted, received, _, output = net.ping(net.a, ADDRESS_B, count=20, interval=0.01)
    t.check(received == transmitted == 20, "no impairment: 20 of 20 pings answered", output)
    os.kill(tool.process.pid, signal.SIGUSR1)
    printed = harness.wait_until(lambda: "netimpair: counters" in tool.log(), 5)
    t.check(printed and tool.process.poll() is None, "SIGUSR1 prints the counters and netimpair goes on")
    t.check(re.search(r"a_to_b #\d+ 98 bytes: forwarded delay 0.000 ms", tool.log()),
            "--verbose logs each frame's decisions")
    counters = tool.stop()
    t.check(counters["a_to_b.forwarded"] >= 20 and counters["b_to_a.forwarded"] >= 20,
            "no impairment: counters count the forwarded frames", f"{counters}")
    t.check(counters["a_to_b.dropped"] == counters["b_to_a.dropped"] == 0, "no impairment: nothing dropped")


def part_drop(t, net):
    # The per-direction option wins although it comes first.
    tool = net.start("--a-to-b-drop=50", "--drop=0", f"--seed={t.seed}")
    transmitted, received, _, output = net.ping(net.a, ADDRESS_B, count=200, interval=0.01)
    lost = transmitted - received
    t.check(transmitted == 200 and 0.2 * transmitted <= lost <= 0.8 * transmitted,
            f"--a-to-b-drop=50: between 20% and 80% of 200 pings lost ({lost})", output)
    counters = tool.stop()
    t.check(abs(counters["a_to_b.dropped"] - lost) <= 2, "a_to_b.dropped counts the lost requests",
            f"dropped {counters['a_to_b.dropped']}, lost {lost}")
    t.check(counters["b_to_a.dropped"] == 0, "--drop=0 leaves b_to_a alone", f"{counters['b_to_a.dropped']}")


def part_spare_arp(t, net):
    for spare in (True, False):
        net.a.ip("neigh", "flush", "dev", TAP)
        tool = net.start("--drop=100", *([] if spare else ["--no-spare-arp"]))
        _, received, _, output = net.ping(net.a, ADDRESS_B, count=3, interval=0.2)
        t.check(received == 0, f"--drop=100{'' if spare else ' --no-spare-arp'}: no ping answered", output)
        resolved = net.a.neighbour_mac(ADDRESS_B) == net.b.linux_mac
        counters = tool.stop()
        if spare:
            t.check(resolved and counters["a_to_b.spared"] >= 1, "--spare-arp: ARP resolves through a 100% drop",
                    net.a.ip("neigh", "show", "dev", TAP))
        else:
            t.check(not resolved and counters["a_to_b.spared"] == 0, "--no-spare-arp: ARP is dropped too",
                    net.a.ip("neigh", "show", "dev", TAP))


def part_duplicates(t, net):
    tool = net.start("--dup=100")
    _, received, duplicates, output = net.ping(net.a, ADDRESS_B, count=10, interval=0.05)
    t.check(received == 10 and duplicates >= 10, f"--dup=100: ping reports duplicates ({duplicates})", output)
    counters = tool.stop()
    t.check(counters["a_to_b.duplicated"] >= 10 and counters["b_to_a.duplicated"] >= 20,
            "--dup=100: duplicated counts each copy made", f"{counters}")


def part_tcp(t, net):
    tool = net.start("--drop=2", "--reorder=5", "--dup=1", "--delay=5ms", f"--seed={t.seed}")
    transfer(t, net.a, net.b, ADDRESS_B, TRANSFER_BYTES, "tcp through --drop=2 --reorder=5 --dup=1 --delay=5ms",
             timeout=120)
    counters = tool.stop()
    for direction in ("a_to_b", "b_to_a"):
        seen = {name: counters[f"{direction}.{name}"] for name in ("dropped", "duplicated", "reordered", "delayed")}
        t.check(all(value > 0 for value in seen.values()), f"{direction}: every impairment happened", f"{seen}")
    t.check(counters["a_to_b.send_errors"] == counters["b_to_a.send_errors"] == 0, "no send errors")


def send_numbered(net, count, pause, wait=1.0):
    """Sends `count` numbered datagrams A→B; the numbers in the order they arrived
    (waiting up to `wait` seconds for each next one)."""
    with net.b.entered():
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with net.a.entered():
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    arrived = []
    # Datagrams carry this call's tag: stragglers of an earlier call (held back by a
    # delay when its receiver closed) are not counted.
    tag = f"{time.monotonic_ns():x}"
    try:
        receiver.bind((ADDRESS_B, UDP_PORT))
        receiver.settimeout(wait)
        sender.bind((ADDRESS_A, 0))
        for number in range(count):
            sender.sendto(f"{tag} datagram {number}".encode(), (ADDRESS_B, UDP_PORT))
            if pause:
                time.sleep(pause)
        try:
            while True:
                words = receiver.recvfrom(100)[0].split()
                if words[0].decode() == tag:
                    arrived.append(int(words[2]))
        except socket.timeout:
            pass
    finally:
        sender.close()
        receiver.close()
    return arrived


def part_determinism(t, net):
    runs = []
    for seed in (t.seed, t.seed, t.seed + 1):
        tool = net.start("--a-to-b-drop=30", "--a-to-b-dup=5", "--a-to-b-reorder=10", f"--seed={seed}")
        arrived = send_numbered(net, 300, pause=0.001)
        runs.append((collections.Counter(arrived), arrived, tool.stop()))
    (first, order, first_counters), (second, _, second_counters), (other, _, other_counters) = runs
    dropped = 300 - len(first)
    t.check(30 <= dropped <= 150, f"--a-to-b-drop=30 dropped {dropped} of 300 datagrams")
    t.check(any(later < earlier for earlier, later in zip(order, order[1:])),
            "--a-to-b-reorder=10 delivers some datagrams after later ones", f"{order[:40]}")
    t.check(first == second, "the same seed delivers the same datagrams, each as often",
            f"differ at {sorted(set(first.items()) ^ set(second.items()))[:10]}")
    t.check(first_counters["a_to_b.decision_hash"] == second_counters["a_to_b.decision_hash"]
            and first_counters["a_to_b.dropped"] == second_counters["a_to_b.dropped"],
            "the same seed gives the same decision hash and drop count",
            f"{first_counters['a_to_b.decision_hash']} vs {second_counters['a_to_b.decision_hash']}")
    t.check(first != other and first_counters["a_to_b.decision_hash"] != other_counters["a_to_b.decision_hash"],
            "another seed decides differently")


def rtt_range(output):
    match = re.search(r"= ([\d.]+)/[\d.]+/([\d.]+)/", output)
    if not match:
        raise TestFailure(f"no round-trip times in ping's output: {output}")
    return float(match.group(1)), float(match.group(2))


def part_timing(t, net):
    tool = net.start("--delay=20ms", "--jitter=10ms")
    _, received, _, output = net.ping(net.a, ADDRESS_B, count=20, interval=0.02)
    low, high = rtt_range(output)
    t.check(received == 20 and 19.5 <= low and high <= 70 and high - low >= 2,
            "--delay=20ms --jitter=10ms: round trips between 20 and 60 ms, and varying", output)
    tool.stop()

    # Every frame held, none ever sent past it: each waits for the timeout.
    tool = net.start("--reorder=100", "--reorder-timeout=30ms")
    _, received, _, output = net.ping(net.a, ADDRESS_B, count=5, interval=0.1)
    low, high = rtt_range(output)
    t.check(received == 5 and low >= 59.5 and high <= 100, "--reorder=100 --reorder-timeout=30ms: round trips of 60 ms",
            output)
    tool.stop()

    # The delay is long so that the whole burst meets a full queue even on a loaded machine.
    # A unicast IPv4 frame other than the burst's (a straggler of an earlier part's TCP) takes
    # a slot, and frees it 3 s later, perhaps mid-burst: such a run proves nothing, so it is
    # repeated; netimpair's counters tell (received - spared = the IPv4 frames it queued).
    for attempt in range(1, 4):
        tool = net.start("--a-to-b-delay=3s", "--queue-limit=10")
        arrived = send_numbered(net, 50, pause=0, wait=5.0)
        counters = tool.stop()
        queued = counters["a_to_b.received"] - counters["a_to_b.spared"]
        if queued == 50:
            break
        print(f"  netimpair took {queued} IPv4 frames A->B, not the burst's 50: again ({attempt})", flush=True)
    t.check(queued == 50 and sorted(arrived) == list(range(10)) and counters["a_to_b.queue_full"] == 40,
            "--queue-limit=10: a burst of 50 datagrams behind a 3 s delay keeps the first 10",
            f"arrived {arrived}; queue_full {counters['a_to_b.queue_full']}; IPv4 frames taken {queued}")


def part_packet_link(t, net):
    # Morgana's own topology: the image holds its tap's fd, so netimpair reaches
    # that tap through AF_PACKET. A second netimpair stands in for the image.
    image = t.namespace("ni-m", linux_cidr=None)
    peer = t.namespace("ni-d", linux_cidr=f"{ADDRESS_D}/{PREFIX}")
    stand_in = Netimpair(t, net.binary, f"--a={TAP}", f"--a-netns={image.name}", f"--b={TAP}",
                         f"--b-netns={peer.name}")
    tool = net.start("--delay=1ms", b_link=f"packet:{TAP}", b_netns=image.name)
    transmitted, received, _, output = net.ping(net.a, ADDRESS_D, count=10, interval=0.02)
    t.check(received == transmitted == 10, "AF_PACKET link: 10 of 10 pings answered", output)
    transfer(t, peer, net.a, ADDRESS_A, 1024 * 1024, "tcp over the AF_PACKET link", timeout=60)
    counters = tool.stop()
    t.check(counters["b_to_a.forwarded"] >= 10 and counters["a_to_b.forwarded"] >= 10,
            "AF_PACKET link: frames forwarded both ways", f"{counters}")
    stand_in.stop()


def part_throughput(t, net):
    tool = net.start()
    server = net.b.spawn(["iperf3", "-s", "-1", "-B", ADDRESS_B], t.log_dir / "iperf3-server.log", "iperf3 server")
    listening = harness.wait_until(
        lambda: net.b.run("ss", "-ltnH", "sport = :5201", check=False).stdout.strip() or server.poll() is not None, 10)
    t.require(listening and server.poll() is None, "iperf3 server starts")
    started = time.monotonic()
    result = net.a.run("iperf3", "-c", ADDRESS_B, "-t", "3", "-f", "m", check=False, timeout=30)
    elapsed = time.monotonic() - started
    harness.stop_process(server, "iperf3 server")
    counters = tool.stop()
    frames = counters["a_to_b.forwarded"] + counters["b_to_a.forwarded"]
    rate = frames / elapsed
    bitrate = re.findall(r"([\d.]+) Mbits/sec.*sender", result.stdout)
    print(f"  info  no impairment: {rate:,.0f} frames/s forwarded ({frames} frames in {elapsed:.1f} s; "
          f"iperf3 TCP {bitrate[0] if bitrate else '?'} Mbit/s)", flush=True)
    t.check(result.returncode == 0, "iperf3 through netimpair", result.stderr.strip())
    t.check(rate >= MINIMUM_FRAMES_PER_SECOND, f"forwards at least {MINIMUM_FRAMES_PER_SECOND} frames/s",
            f"{rate:.0f} frames/s")


def test(t):
    net = Topology(t)
    print(f"  using {net.binary}", flush=True)
    # Determinism first: stray segments of the TCP part's connection (retransmitted FINs,
    # ACKs) would otherwise enter the frame sequence whose fates a seed fixes.
    for part in (part_arguments, part_determinism, part_clean, part_drop, part_spare_arp, part_duplicates, part_tcp,
                 part_timing, part_packet_link, part_throughput):
        t.run_part(lambda test, part=part: part(test, net))


if __name__ == "__main__":
    harness.main(test)
