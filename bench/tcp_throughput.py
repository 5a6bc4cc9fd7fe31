#!/usr/bin/env python3
"""TCP bulk throughput and CPU per MB: Morgana's stack (hosted target, tap) against
Linux's own stack between two network namespaces, in one run, as a ratio.

    cmake --preset hosted && cmake --build build/hosted --target echo
    sudo python3 bench/tcp_throughput.py            # about 3 to 4 minutes

Topology (namespaces are created here and removed on every exit path):

    mgb<pid>-tap     tap0 10.0.0.1/24 (Linux peer)  <-tap fd->  echo 10.0.0.2/24 (Morgana)
    mgb<pid>-jumbo   the same with MTU 9000 on both sides (what a larger MTU buys)
    mgb<pid>-callgrind   the same, for the echo under callgrind (instructions per MB)
    mgb<pid>-l1  --veth-->  mgb<pid>-l2
                 v1 10.1.0.1 -- v2 10.1.0.2   Linux defaults (TSO/GSO/GRO, checksum offload)
                 w1 10.2.0.1 -- w2 10.2.0.2   offloads off: one wire-sized segment per packet,
                                              checksums in software (like the tap path)
                 j1 10.3.0.1 -- j2 10.3.0.2   offloads off, MTU 9000

The program that plays the peer is this script (--peer-send / --peer-receive), the
same in every configuration, so the only difference is the stack on the far side:
Morgana's examples/echo (discard on port 9, byte source on port 19) or a Linux
discard/source server (this script, --serve) in mgb<pid>-l2.

Each repetition runs every configuration in turn (interleaved, so that load from
other work on the machine falls on all of them alike); the table gives medians.

With --reorder PCT the rows are instead Morgana's tap through tools/netimpair twice,
once forwarding untouched and once reordering PCT% of the frames each way (held
back until 3 later frames went out), and the ratio is reordered / untouched:

    cmake --build build/hosted --target echo netimpair
    sudo python3 bench/tcp_throughput.py --reorder 5

    mgb<pid>-ROLE-img  tap0 <-fd- echo 10.0.0.2      mgb<pid>-ROLE  tap0 10.0.0.1/24 (peer)
                        ^ AF_PACKET                                  ^ tap fd
                        +---- netimpair --a=packet:tap0 --b=tap0 ----+
"""

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import bench_support
from bench_support import CLOCK_TICKS, OUT_DIR, ROOT, Failure

ECHO = ROOT / "build" / "hosted" / "echo"
NETIMPAIR = ROOT / "build" / "hosted" / "tools" / "netimpair"
PREFIX = "mgb"
CHUNK = 256 * 1024
DISCARD_PORT = 9
SOURCE_PORT = 19
MB = 1_000_000


# --- peers (run inside a namespace by the orchestrator) -------------------------------------

def cpu_seconds_self():
    usage = os.times()
    return usage.user + usage.system


def peer_send(host, port, seconds, limit):
    """Sends for `seconds` (or `limit` bytes), half-closes, waits for the sink's FIN:
    every byte counted was read by the application on the far side."""
    connection = socket.create_connection((host, port), timeout=60)
    data = bytes(CHUNK)
    sent = 0
    cpu = cpu_seconds_self()
    started = time.monotonic()
    while (limit and sent < limit) or (not limit and time.monotonic() - started < seconds):
        count = min(CHUNK, limit - sent) if limit else CHUNK
        connection.sendall(data[:count] if count < CHUNK else data)
        sent += count
    connection.shutdown(socket.SHUT_WR)
    while connection.recv(CHUNK):
        pass
    elapsed = time.monotonic() - started
    cpu = cpu_seconds_self() - cpu
    connection.close()
    return {"bytes": sent, "seconds": elapsed, "peer_cpu": cpu}


def peer_receive(host, port, seconds, limit):
    """Reads for `seconds` (or until `limit` bytes), then closes (the source sees a reset)."""
    connection = socket.create_connection((host, port), timeout=60)
    buffer = bytearray(CHUNK)
    received = 0
    cpu = cpu_seconds_self()
    started = time.monotonic()
    while (limit and received < limit) or (not limit and time.monotonic() - started < seconds):
        count = connection.recv_into(buffer)
        if count == 0:
            raise ConnectionError("the source closed the connection")
        received += count
    elapsed = time.monotonic() - started
    cpu = cpu_seconds_self() - cpu
    connection.close()
    return {"bytes": received, "seconds": elapsed, "peer_cpu": cpu}


def serve_forever():
    """Linux's side of the baseline: discard (port 9) and byte source (port 19), one
    connection at a time each, like examples/echo."""

    def listen(port):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", port))
        listener.listen(8)
        return listener

    def discard(listener):
        buffer = bytearray(CHUNK)
        while True:
            connection, _ = listener.accept()
            with connection, contextlib.suppress(OSError):
                while connection.recv_into(buffer):
                    pass

    def source(listener):
        data = bytes(range(32, 127)) * (CHUNK // 95 + 1)
        data = data[:CHUNK]
        while True:
            connection, _ = listener.accept()
            with connection, contextlib.suppress(OSError):
                while True:
                    connection.sendall(data)

    discard_listener, source_listener = listen(DISCARD_PORT), listen(SOURCE_PORT)
    threading.Thread(target=discard, args=(discard_listener,), daemon=True).start()
    threading.Thread(target=source, args=(source_listener,), daemon=True).start()
    print("serving", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


# --- orchestration ------------------------------------------------------------------------

def run(command, check=True, timeout=60):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise Failure(f"'{' '.join(command)}' failed ({result.returncode}): {result.stderr.strip()}")
    return result


def process_times(pid):
    """(utime, stime) of a process (all its threads), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def process_cpu(pid):
    return sum(process_times(pid))


def ksoftirqd_pids():
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().startswith("ksoftirqd/"):
                    pids.append(int(entry.name))
    return pids


def softirq_seconds():
    """Softirq time of all CPUs from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return int(fields[7]) / CLOCK_TICKS


class Bench(bench_support.NamespaceBench):
    PREFIX = PREFIX

    def __init__(self, args):
        super().__init__(args, OUT_DIR / "tcp_throughput")
        self.softirq_threads = ksoftirqd_pids()

    def tap_namespace(self, role, mtu):
        name = self.namespace(role)
        run(["ip", "-n", name, "tuntap", "add", "dev", "tap0", "mode", "tap"])
        run(["ip", "-n", name, "addr", "add", "10.0.0.1/24", "dev", "tap0"])
        run(["ip", "-n", name, "link", "set", "tap0", "mtu", str(mtu), "up"])
        return name

    def veth(self, left, right, names, subnet, mtu, offloads):
        a, b = names
        run(["ip", "-n", left, "link", "add", a, "type", "veth", "peer", "name", b, "netns", right])
        for namespace, device, host in ((left, a, 1), (right, b, 2)):
            run(["ip", "-n", namespace, "addr", "add", f"{subnet}.{host}/24", "dev", device])
            run(["ip", "-n", namespace, "link", "set", device, "mtu", str(mtu), "up"])
            if not offloads:
                run(["ip", "netns", "exec", namespace, "ethtool", "-K", device, "tso", "off", "gso", "off",
                     "gro", "off", "tx", "off", "rx", "off", "sg", "off"])
                features = run(["ip", "netns", "exec", namespace, "ethtool", "-k", device]).stdout
                for feature in ("tcp-segmentation-offload", "generic-segmentation-offload",
                                "generic-receive-offload", "tx-checksumming", "rx-checksumming"):
                    if not re.search(rf"^{feature}: off", features, re.MULTILINE):
                        raise Failure(f"ethtool could not turn {feature} off on {device}")
        return f"{subnet}.2"

    def impaired(self, role, impairments):
        """An echo behind netimpair (see the module's docstring); returns (the peer's namespace, the echo)."""
        image = self.namespace(f"{role}-img")
        run(["ip", "-n", image, "tuntap", "add", "dev", "tap0", "mode", "tap"])
        run(["ip", "-n", image, "link", "set", "tap0", "up"])
        peer = self.tap_namespace(role, 1500)
        # Linux's tap queue holds 1,000 frames by default: bursts through netimpair overflow it.
        run(["ip", "-n", peer, "link", "set", "tap0", "txqueuelen", "10000"])
        echo = self.spawn(image, [str(self.args.echo), "--net=tap0", "--ipv4=10.0.0.2/24"], f"echo-{role}",
                          r"serving on")
        self.spawn(peer, [str(self.args.netimpair), "--a=packet:tap0", f"--a-netns={image}", "--b=tap0",
                          f"--b-netns={peer}", "--seed=1", *impairments], f"netimpair-{role}",
                   r"netimpair: forwarding")
        return peer, echo

    def setup_reorder(self):
        clean, clean_echo = self.impaired("clean", [])
        reordered, reordered_echo = self.impaired("reorder", [f"--reorder={self.args.reorder:g}"])
        self.configurations = [
            ("morgana tap netimpair", clean, "10.0.0.2", clean_echo),
            (f"morgana tap netimpair reorder {self.args.reorder:g}%", reordered, "10.0.0.2", reordered_echo),
        ]

    def setup(self):
        if self.args.reorder is not None:
            self.setup_reorder()
            return
        tap = self.tap_namespace("tap", 1500)
        tap_plain = self.tap_namespace("tapplain", 1500)
        jumbo = self.tap_namespace("jumbo", 9000)
        l1, l2 = self.namespace("l1"), self.namespace("l2")
        default_address = self.veth(l1, l2, ("v1", "v2"), "10.1.0", 1500, offloads=True)
        plain_address = self.veth(l1, l2, ("w1", "w2"), "10.2.0", 1500, offloads=False)
        jumbo_address = self.veth(l1, l2, ("j1", "j2"), "10.3.0", 9000, offloads=False)

        echo_command = [str(self.args.echo), "--net=tap0", "--ipv4=10.0.0.2/24"]
        # These echoes use every offload the tap has (IFF_VNET_HDR: TSO, checksums,
        # coalesced receive; TSO is not on by default); the plain one the tap as
        # before issue 13.
        echo = self.spawn(tap, [*echo_command, "--offload=all"], "echo", r"serving on")
        echo_jumbo = self.spawn(jumbo, [*echo_command, "--offload=all", "--mtu=9000"], "echo-jumbo", r"serving on")
        echo_plain = self.spawn(tap_plain, [*echo_command, "--offload=none"], "echo-no-offload", r"serving on")
        server = self.spawn(l2, [sys.executable, str(Path(__file__).resolve()), "--serve"], "linux-server",
                            r"serving")
        self.spawn(l2, ["iperf3", "--server", "--forceflush", "--bind", default_address], "iperf3-server",
                   r"Server listening")
        self.iperf3_client = (l1, default_address)
        # ip netns exec replaces itself with the command: the PID is the server's own.
        for process, name in ((echo, "echo"), (server, "python")):
            comm = Path(f"/proc/{process.pid}/comm").read_text().strip()
            if not comm.startswith(name):
                raise Failure(f"pid {process.pid} is {comm}, not {name}")

        # (label, the peer's namespace, the far side's address, the far side's process)
        self.configurations = [
            ("morgana tap", tap, "10.0.0.2", echo),
            ("morgana tap no-offload", tap_plain, "10.0.0.2", echo_plain),
            ("linux veth", l1, default_address, server),
            ("linux veth no-offload", l1, plain_address, server),
            ("morgana tap mtu9000", jumbo, "10.0.0.2", echo_jumbo),
            ("linux veth no-offload mtu9000", l1, jumbo_address, server),
        ]
        self.callgrind_namespace = self.tap_namespace("callgrind", 1500)

    # measurement

    def peer(self, namespace, mode, address, port, seconds=0.0, limit=0, timeout=None):
        command = ["ip", "netns", "exec", namespace, sys.executable, str(Path(__file__).resolve()), mode,
                   address, str(port), f"--seconds={seconds}", f"--bytes={limit}"]
        result = run(command, check=False, timeout=timeout or seconds + 60)
        if result.returncode != 0:
            raise Failure(f"peer {mode} {address}:{port} failed: {result.stderr.strip()[-500:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def measure(self, label, namespace, address, server, direction):
        mode, port = ("--peer-send", DISCARD_PORT) if direction == "into" else ("--peer-receive", SOURCE_PORT)
        before_server = process_times(server.pid)
        before_softirqd = sum(process_cpu(pid) for pid in self.softirq_threads)
        before_softirq = softirq_seconds()
        outcome = self.peer(namespace, mode, address, port, seconds=self.args.seconds)
        after_server = process_times(server.pid)
        outcome["stack_user"] = after_server[0] - before_server[0]
        outcome["stack_cpu"] = sum(after_server) - sum(before_server)
        outcome["ksoftirqd_cpu"] = sum(process_cpu(pid) for pid in self.softirq_threads) - before_softirqd
        outcome["softirq"] = softirq_seconds() - before_softirq
        if server.poll() is not None:
            raise Failure(f"the far side of '{label}' exited with status {server.returncode}")
        return outcome

    def stripped_echo(self):
        """The echo without debug information: Debian's valgrind cannot read clang-19's DWARF 5."""
        stripped = self.log_dir / "echo-stripped"
        if not stripped.exists() or stripped.stat().st_mtime < self.args.echo.stat().st_mtime:
            run(["llvm-objcopy-19", "--strip-debug", str(self.args.echo), str(stripped)])
        return stripped

    def top_functions(self, direction, limit, total, count=3):
        """The functions with the most instructions (exclusive) in a callgrind run, as 'name NN%'."""
        result = run(["callgrind_annotate", str(self.log_dir / f"callgrind.{direction}.{limit}.out")], check=False)
        top = []
        for line in result.stdout.splitlines():
            match = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*?:(.+?)(?:\(.*)? \[", line)
            if match and "PROGRAM TOTALS" not in line:
                name = re.sub(r"^morgana::", "", match.group(2).strip())
                top.append(f"{name} {int(match.group(1).replace(',', '')) / total * 100:.0f}%")
            if len(top) == count:
                break
        return top

    def callgrind(self, direction, limit):
        """Instructions the echo executes for a transfer of `limit` bytes, from start to exit."""
        out = self.log_dir / f"callgrind.{direction}.{limit}.out"
        out.unlink(missing_ok=True)
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(self.stripped_echo()),
                   "--net=tap0", "--ipv4=10.0.0.2/24"]
        echo = self.spawn(self.callgrind_namespace, command, f"callgrind-{direction}-{limit}", r"serving on")
        try:
            mode, port = ("--peer-send", DISCARD_PORT) if direction == "into" else ("--peer-receive", SOURCE_PORT)
            self.peer(self.callgrind_namespace, mode, "10.0.0.2", port, limit=limit, timeout=300)
            time.sleep(0.2)  # the echo handles the close before it is stopped
        finally:
            self.stop(echo, "callgrind echo")
        text = out.read_text()
        match = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
        if not match:
            raise Failure(f"no instruction total in {out}")
        return int(match.group(1))

    def run(self):
        directions = ("into", "out of")
        results = {(config[0], direction): [] for config in self.configurations for direction in directions}
        failures = {key: 0 for key in results}
        for repetition in range(self.args.repetitions):
            for direction in directions:
                for label, namespace, address, server in self.configurations:
                    key = (label, direction)
                    try:
                        outcome = self.measure(label, namespace, address, server, direction)
                    except (Failure, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
                        failures[key] += 1
                        print(f"  rep {repetition + 1}: {label}, {direction}: FAILED: {error}", flush=True)
                        continue
                    outcome["repetition"] = repetition
                    results[key].append(outcome)
                    print(f"  rep {repetition + 1}: {direction:6} {label:30} "
                          f"{outcome['bytes'] / outcome['seconds'] / MB:8.1f} MB/s", flush=True)
        if self.args.reorder is not None:
            return results, failures, {}, {}
        cross_check = {direction: self.iperf3(direction) for direction in directions}
        instructions = {}
        if self.args.callgrind_mb:
            small, large = 4 * MB, (4 + self.args.callgrind_mb) * MB
            for direction in directions:
                try:
                    counts = [self.callgrind(direction, limit) for limit in (small, large)]
                except (Failure, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
                    print(f"  callgrind {direction}: FAILED: {error}", flush=True)
                    continue
                instructions[direction] = ((counts[1] - counts[0]) / self.args.callgrind_mb,
                                           self.top_functions(direction, large, counts[1]))
                print(f"  callgrind {direction}: {counts[0]} instructions for 4 MB, {counts[1]} for "
                      f"{4 + self.args.callgrind_mb} MB", flush=True)
        return results, failures, instructions, cross_check

    def iperf3_seconds(self):
        return max(1, round(self.args.seconds))  # iperf3 hangs on a fractional --time

    def iperf3(self, direction):
        """iperf3 (a C program, default options) over the default veth: shows whether the
        Python peer and server hold Linux's numbers down."""
        namespace, address = self.iperf3_client
        command = ["ip", "netns", "exec", namespace, "iperf3", "--client", address, "--json",
                   f"--time={self.iperf3_seconds()}", *(["--reverse"] if direction == "out of" else [])]
        try:
            result = run(command, check=False, timeout=self.iperf3_seconds() + 30)
            summary = json.loads(result.stdout)["end"]["sum_received"]
        except (subprocess.TimeoutExpired, json.JSONDecodeError, KeyError) as error:
            print(f"  iperf3 {direction}: failed ({type(error).__name__}: {error})", flush=True)
            return None
        return summary["bytes"] / summary["seconds"] / MB


# --- report -------------------------------------------------------------------------------

def summarise(outcomes):
    """Medians over repetitions; CPU in milliseconds per MB (10^6 bytes)."""

    def median(key):
        return statistics.median(o[key] / (o["bytes"] / MB) * 1000 for o in outcomes)

    rates = [o["bytes"] / o["seconds"] / MB for o in outcomes]
    return {
        "rate": statistics.median(rates),
        "low": min(rates),
        "high": max(rates),
        "stack": median("stack_cpu"),
        "peer": median("peer_cpu"),
        "ksoftirqd": median("ksoftirqd_cpu"),
        "total": statistics.median((o["stack_cpu"] + o["peer_cpu"] + o["ksoftirqd_cpu"]) / (o["bytes"] / MB) * 1000
                                   for o in outcomes),
        "softirq": median("softirq"),
        "stack_busy": statistics.median(o["stack_cpu"] / o["seconds"] * 100 for o in outcomes),
        "stack_user": statistics.median(o["stack_user"] / o["stack_cpu"] * 100 for o in outcomes if o["stack_cpu"]),
        "runs": len(outcomes),
    }


def per_repetition_ratios(ours, theirs, value):
    """ours/theirs for each repetition in which both rows ran (they ran seconds apart)."""
    theirs_by_repetition = {o["repetition"]: o for o in theirs}
    return [value(o) / value(theirs_by_repetition[o["repetition"]]) for o in ours
            if o["repetition"] in theirs_by_repetition]


def report(args, results, failures, instructions, cross_check, started, load_before, load_after):
    lines = []
    say = lines.append
    cpu_model = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    say(f"date: {time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(started))}; "
        f"{os.cpu_count()} CPUs, {cpu_model.group(1) if cpu_model else 'unknown CPU'}; "
        f"Linux {platform.release()}; "
        f"congestion control {Path('/proc/sys/net/ipv4/tcp_congestion_control').read_text().strip()}")
    say(f"{args.repetitions} repetitions of {args.seconds:g} s per row, interleaved; medians "
        f"(MB = 10^6 bytes); load average before {load_before}, after {load_after}")
    say("")
    say("| direction (far side's service) | far side | MB/s median | min-max | far-side CPU ms/MB | "
        "far-side user % | far side busy % | peer CPU ms/MB | ksoftirqd ms/MB | total ms/MB | "
        "softirq ms/MB | runs |")
    say("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    summaries = {}
    for (label, direction), outcomes in results.items():
        name = "discard sink (port 9)" if direction == "into" else "byte source (port 19)"
        if not outcomes:
            say(f"| {direction} {name} | {label} | failed | | | | | | | | | 0/{failures[(label, direction)]} |")
            continue
        s = summaries[(label, direction)] = summarise(outcomes)
        say(f"| {direction} {name} | {label} | {s['rate']:.1f} | {s['low']:.0f}-{s['high']:.0f} | "
            f"{s['stack']:.2f} | {s['stack_user']:.0f} | {s['stack_busy']:.0f} | {s['peer']:.2f} | "
            f"{s['ksoftirqd']:.2f} | {s['total']:.2f} | {s['softirq']:.2f} | "
            f"{s['runs']}/{s['runs'] + failures[(label, direction)]} |")
    say("")
    if args.reorder is not None:
        say(f"Ratios, reordered / untouched: of the medians above, and in brackets the range of the ratios of "
            f"runs in the same repetition (throughput: the goal is >= 0.50 with 5% reordering each way):")
        pairs = [(f"morgana tap netimpair reorder {args.reorder:g}%", "morgana tap netimpair")]
    else:
        say("Ratios, Morgana / Linux: of the medians above, and in brackets the range of the ratios of "
            "runs in the same repetition (throughput: higher is better, the goal is >= 0.50; "
            "CPU per MB: lower is better):")
        pairs = [("morgana tap", "linux veth"), ("morgana tap no-offload", "linux veth no-offload"),
                 ("morgana tap mtu9000", "linux veth no-offload mtu9000")]
    say("")
    say("| direction | row | against row | throughput | total CPU per MB | far-side CPU per MB |")
    say("|---|---|---|---:|---:|---:|")

    def rate(o):
        return o["bytes"] / o["seconds"]

    def total(o):
        return (o["stack_cpu"] + o["peer_cpu"] + o["ksoftirqd_cpu"]) / o["bytes"]

    def stack(o):
        return o["stack_cpu"] / o["bytes"]

    for direction in ("into", "out of"):
        for ours, theirs in pairs:
            a, b = summaries.get((ours, direction)), summaries.get((theirs, direction))
            if not (a and b):
                continue
            cells = []
            for key, value in (("rate", rate), ("total", total), ("stack", stack)):
                spread = [r for r in per_repetition_ratios(results[(ours, direction)], results[(theirs, direction)],
                                                           value) if r == r and r != float("inf")]
                cells.append(f"{a[key] / b[key]:.2f}" + (f" [{min(spread):.2f}-{max(spread):.2f}]" if spread else ""))
            say(f"| {direction} | {ours} | {theirs} | " + " | ".join(cells) + " |")
    say("")
    checks = [f"{direction}: {rate:.0f} MB/s" for direction, rate in cross_check.items() if rate]
    if args.reorder is None:
        say(f"Cross-check, iperf3 over linux veth, one {max(1, round(args.seconds))} s run each (not in the "
            "ratios): " + ("; ".join(checks) if checks else "failed"))
    if instructions:
        say("")
        for direction, (count, top) in instructions.items():
            say(f"callgrind, {direction} Morgana: {count / 1e6:.2f} million instructions per MB in the echo "
                f"process (user space only; a {4 + args.callgrind_mb} MB transfer minus a 4 MB one); "
                f"most of the {4 + args.callgrind_mb} MB run: " + ", ".join(top))
    raw = {f"{label} | {direction}": outcomes for (label, direction), outcomes in results.items()}
    name = "tcp_throughput" if args.reorder is None else "tcp_throughput_reorder"
    bench_support.write_report(name, "\n".join(lines), {"runs": raw, "instructions": instructions})


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one transfer (default 3)")
    parser.add_argument("--repetitions", type=int, default=5, help="runs of each row (default 5)")
    parser.add_argument("--callgrind-mb", type=int, default=20,
                        help="MB for the instruction count under callgrind; 0 skips it (default 20)")
    parser.add_argument("--echo", type=Path, default=ECHO, help=f"the echo binary (default {ECHO})")
    parser.add_argument("--reorder", type=float, metavar="PCT",
                        help="compare the tap through netimpair reordering PCT%% each way with it untouched")
    parser.add_argument("--netimpair", type=Path, default=NETIMPAIR,
                        help=f"netimpair, for --reorder (default {NETIMPAIR})")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--peer-send", nargs=2, metavar=("HOST", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--peer-receive", nargs=2, metavar=("HOST", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--bytes", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        serve_forever()
        return
    if args.peer_send or args.peer_receive:
        host, port = args.peer_send or args.peer_receive
        transfer = peer_send if args.peer_send else peer_receive
        print(json.dumps(transfer(host, int(port), args.seconds, args.bytes)))
        return

    if os.geteuid() != 0:
        sys.exit("tcp_throughput: needs root (network namespaces, tap devices)")
    if not args.echo.is_file():
        sys.exit(f"tcp_throughput: {args.echo} is missing; build it with: "
                 "cmake --preset hosted && cmake --build build/hosted --target echo")

    if args.reorder is not None and not args.netimpair.is_file():
        sys.exit(f"tcp_throughput: {args.netimpair} is missing; build it with: "
                 "cmake --build build/hosted --target netimpair")

    bench_support.install_signal_handlers()
    bench_support.remove_stale_namespaces(PREFIX)
    bench = Bench(args)
    started = time.time()
    load_before = bench_support.load_average()
    with bench_support.exit_on_failure("tcp_throughput", bench.cleanup):
        bench.setup()
        results, failures, instructions, cross_check = bench.run()
    load_after = bench_support.load_average()
    report(args, results, failures, instructions, cross_check, started, load_before, load_after)
    print(f"finished in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
