#!/usr/bin/env python3
"""PVH guest benchmarks: examples/echo as a PVH image against a Linux guest (Debian's
kernel with a busybox initramfs) on the same QEMU machine, in one run: time from QEMU
start to the first answered TCP request, image size, and the smallest guest memory
that still serves a run of connections.

    cmake --preset pvh && cmake --build build/pvh --target echo.elf
    python3 bench/pvh_guest.py              # about 8 minutes under TCG; --help for options

Both guests take their address from QEMU's user network by DHCP and serve TCP echo on
port 7, which QEMU forwards from a free port on 127.0.0.1. QEMU accepts a forwarded
connection before the guest listens, so a request counts only when its line comes
back. The Linux guest is built by bench/linux-guest/build.sh into build/bench/.

Measurements (each repetition runs every row once, interleaved; tables give medians):
  boot     QEMU start to the first echoed line, on each machine type (microvm, pc).
  size     llvm-strip-19 of echo.elf; the Linux guest's vmlinuz + initramfs.
  memory   the smallest -m (MiB) at which the guest boots and echoes N connections
           (a few clients in parallel, and one at a time; one short line per
           connection); bisected.
"""

import argparse
import gzip
import os
import platform
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import bench_support
from bench_support import OUT_DIR, ROOT, Failure, free_port, linux_append

IMAGE = ROOT / "build" / "pvh" / "echo.elf"
LOG_DIR = OUT_DIR / "pvh_guest"
LINUX_GUEST_DIR = OUT_DIR / "linux-guest"
ECHO_PORT = 7
LINUX_APPEND = linux_append()
NET_DEVICE = bench_support.NET_DEVICE
KINDS = ("morgana", "linux")
# Seconds a guest may take to answer its first request. Morgana's is short: with -m 1
# its image (loaded at 1 MiB) lies past the end of RAM and the guest never prints.
BOOT_TIMEOUT = {"morgana": 20, "linux": 60}
# Where a memory search from scratch starts (it doubles while the guest fails).
MEMORY_START = {"morgana": 64, "linux": 256}
SERVING = {"morgana": re.compile(r"echo info: serving on"), "linux": re.compile(r"linux-guest: serving")}
# The first line the guest's own program prints: Morgana's platform, Linux's /init.
PROGRAM_STARTED = {"morgana": re.compile(r"pvh info:"), "linux": re.compile(r"udhcpc: started")}
# What in a log says why a guest did not serve.
TROUBLE = re.compile(r"morgana abort|CPU exception|stopping|exit status|out of memory|error|panic|\boom\b|"
                     r"killed|not syncing|linux-guest: no", re.IGNORECASE)


def echo_once(port, line, timeout):
    """True when `line` comes back whole through the forwarded port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            connection.sendall(line)
            reply = b""
            while len(reply) < len(line):
                chunk = connection.recv(len(line) - len(reply))
                if not chunk:
                    break
                reply += chunk
            return reply == line
    except OSError:
        return False


class Guest:
    """One QEMU process: its command, a reader that timestamps the serial log, cleanup."""

    def __init__(self, bench, kind, machine, memory, label, capture=False):
        self.kind = kind
        self.machine = machine
        self.port = free_port()
        self.log_path = LOG_DIR / f"{label}.log"
        self.pcap_path = LOG_DIR / f"{label}.pcap" if capture else None
        self.lines = []  # (seconds since QEMU start, line)
        self.serving_at = None
        self.program_started_at = None
        command = ["qemu-system-x86_64", "-M", machine, "-cpu", "max", "-m", str(memory), "-nographic",
                   "-no-reboot", "-nodefaults", "-serial", "stdio", "-device", "isa-debug-exit",
                   "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.port}-:{ECHO_PORT}",
                   "-device", f"{NET_DEVICE[machine]},netdev=n0"]
        if capture:
            command += ["-object", f"filter-dump,id=capture,netdev=n0,file={self.pcap_path}"]
        if kind == "morgana":
            command += ["-kernel", str(bench.image)]
        else:
            command += ["-kernel", str(bench.kernel), "-initrd", str(bench.initramfs), "-append", LINUX_APPEND]
        self.command = command
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, preexec_fn=bench_support.die_with_parent)
        bench.guests.append(self)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        with open(self.log_path, "w") as log:
            log.write(" ".join(self.command) + "\n")
            for raw in self.process.stdout:
                at = time.monotonic() - self.started
                line = raw.decode(errors="replace").rstrip("\r\n")
                self.lines.append((at, line))
                if self.serving_at is None and SERVING[self.kind].search(line):
                    self.serving_at = at
                if self.program_started_at is None and PROGRAM_STARTED[self.kind].search(line):
                    self.program_started_at = at
                log.write(f"[host {at:8.3f}] {line}\n")
                log.flush()

    def alive(self):
        return self.process.poll() is None

    def first_answer(self, timeout, interval=0.025, attempt_timeout=1.0):
        """Seconds from QEMU start to the first echoed line. A new attempt starts every
        `interval` s and lives `attempt_timeout` s: an attempt whose SYN reached the guest
        before it listened waits on QEMU's retransmission, a later one need not."""
        answered = []
        done = threading.Event()

        def attempt(number):
            if echo_once(self.port, f"boot probe {number}\n".encode(), attempt_timeout) and not done.is_set():
                answered.append(time.monotonic() - self.started)
                done.set()

        number = 0
        deadline = self.started + timeout
        while not done.is_set() and time.monotonic() < deadline and self.alive():
            threading.Thread(target=attempt, args=(number,), daemon=True).start()
            number += 1
            done.wait(interval)
        done.set()
        return min(answered) if answered else None

    def wait_serving(self, timeout):
        """Until an echoed line comes back (the log line alone is not enough)."""
        return self.first_answer(timeout, interval=0.2, attempt_timeout=2.0)

    def stop(self):
        bench_support.kill_guest(self.process, self.reader)

    def trouble(self, limit=6):
        """The log lines that say what went wrong, for the report."""
        found = [line for _, line in self.lines if TROUBLE.search(line)][-limit:]
        if not found:
            found = ["nothing about it in the log, whose last line is: " + (self.lines[-1][1] if self.lines else "")]
        resets = handshake_resets(self.pcap_path) if self.pcap_path else None
        if resets:
            found.append(resets)
        return found + ([f"QEMU exit status {self.process.returncode}"] if self.process.returncode is not None else [])


def handshake_resets(pcap_path):
    """What the guest did with the connections it accepted, from QEMU's capture of the
    guest's link: how many it reset after its SYN-ACK without echoing anything."""
    try:
        data = pcap_path.read_bytes()
    except OSError:
        return None
    connections = {}  # client port -> set of what the guest sent: "synack", "data", "rst"
    offset = 24  # pcap file header
    while offset + 16 <= len(data):
        captured = struct.unpack_from("<I", data, offset + 8)[0]
        frame = data[offset + 16:offset + 16 + captured]
        offset += 16 + captured
        if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ip_header = (frame[14] & 0x0F) * 4
        tcp = frame[14 + ip_header:]
        if len(tcp) < 20:
            continue
        source, destination = struct.unpack_from("!HH", tcp)
        if source != ECHO_PORT:
            continue
        flags = tcp[13]
        payload = struct.unpack_from("!H", frame, 16)[0] - ip_header - (tcp[12] >> 4) * 4
        sent = connections.setdefault(destination, set())
        if flags & 0x12 == 0x12:
            sent.add("synack")
        if payload > 0:
            sent.add("data")
        if flags & 0x04:
            sent.add("rst")
    accepted = [sent for sent in connections.values() if "synack" in sent]
    reset = sum(1 for sent in accepted if "rst" in sent and "data" not in sent)
    if not accepted:
        return None
    return f"capture: the guest sent SYN-ACK on {len(accepted)} connections and reset {reset} of them unanswered"


class Bench:
    def __init__(self, args):
        self.args = args
        self.image = args.image.resolve()
        self.guests = []
        self.kernel = None
        self.initramfs = None

    def cleanup(self):
        for guest in self.guests:
            guest.stop()
        self.guests.clear()

    def forget(self, guest):
        guest.stop()
        self.guests.remove(guest)

    def build_linux_guest(self):
        result = subprocess.run([str(ROOT / "bench" / "linux-guest" / "build.sh"), str(LINUX_GUEST_DIR)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise Failure(f"bench/linux-guest/build.sh failed: {result.stderr.strip()}")
        print(result.stdout.strip())
        self.kernel = Path((LINUX_GUEST_DIR / "kernel").read_text().strip())
        self.initramfs = LINUX_GUEST_DIR / "initramfs.cpio.gz"

    # size

    def sizes(self):
        stripped = LOG_DIR / "echo.stripped.elf"
        result = subprocess.run(["llvm-strip-19", "-o", str(stripped), str(self.image)], capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise Failure(f"llvm-strip-19 failed: {result.stderr.strip()}")
        echo_gzip = len(gzip.compress(stripped.read_bytes(), 9))
        initramfs_raw = len(gzip.decompress(self.initramfs.read_bytes()))
        return {
            "morgana_stripped": stripped.stat().st_size,
            "morgana_unstripped": self.image.stat().st_size,
            "morgana_stripped_gzip": echo_gzip,
            "linux_kernel": self.kernel.stat().st_size,
            "linux_initramfs": self.initramfs.stat().st_size,
            "linux_initramfs_uncompressed": initramfs_raw,
        }

    # boot

    def boot(self, kind, machine, repetition):
        guest = Guest(self, kind, machine, self.args.boot_memory, f"boot-{kind}-{machine}-{repetition}")
        try:
            answer = guest.first_answer(BOOT_TIMEOUT[kind])
            outcome = {"kind": kind, "machine": machine, "repetition": repetition, "first_answer": answer,
                       "program_started": guest.program_started_at, "serving_logged": guest.serving_at,
                       "log": str(guest.log_path.relative_to(ROOT))}
            if answer is None:
                outcome["trouble"] = guest.trouble()
            return outcome
        finally:
            self.forget(guest)

    # memory

    def serves(self, kind, machine, memory, clients, attempt):
        """Boots with -m `memory`; True when `connections` connections from `clients`
        clients in parallel all echo their line."""
        label = f"memory-{kind}-{machine}-p{clients}-{memory}m-{attempt}"
        guest = Guest(self, kind, machine, memory, label, capture=True)
        passed = False
        try:
            if guest.wait_serving(BOOT_TIMEOUT[kind]) is None:
                return False, "did not serve: " + " | ".join(guest.trouble()), label
            count = self.args.connections
            failed = []
            started = time.monotonic()

            def client(index):
                for n in range(index, count, clients):
                    if failed:
                        return
                    line = f"connection {n} of {count}\n".encode()
                    if not echo_once(guest.port, line, self.args.connection_timeout):
                        failed.append(n)
                        return

            threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            if failed:
                time.sleep(0.5)  # let the serial log catch up
                state = "running" if guest.alive() else "exited"
                return False, (f"connection {min(failed)} of {count} not echoed (QEMU {state}); log: "
                               + " | ".join(guest.trouble())), label
            if not guest.alive():
                return False, "QEMU exited after serving: " + " | ".join(guest.trouble()), label
            passed = True
            return True, f"{count} connections echoed in {elapsed:.1f} s", label
        finally:
            self.forget(guest)
            if passed:
                guest.pcap_path.unlink(missing_ok=True)

    def minimum_memory(self, kind, machine, clients, attempt, guess, trials):
        """The smallest -m (MiB) that serves: a bisection from scratch, or, given `guess`
        (an earlier search's answer), a search outward from it with doubling steps."""

        def passes(memory):
            ok, detail, label = self.serves(kind, machine, memory, clients, attempt)
            trials.append({"kind": kind, "machine": machine, "clients": clients, "attempt": attempt,
                           "memory": memory, "serves": ok, "detail": detail, "log": label + ".log"})
            print(f"  memory {kind} {machine} {clients} clients -m {memory}: {'serves' if ok else 'fails'} "
                  f"({detail[:160]})", flush=True)
            return ok

        limit = self.args.memory_limit
        if guess is None:
            return bench_support.smallest_passing(passes, MEMORY_START[kind], limit)
        if passes(guess):
            high, low, step = guess, None, 1
            while low is None:
                candidate = high - step
                if candidate < 1:
                    low = 0
                elif passes(candidate):
                    high, step = candidate, step * 2
                else:
                    low = candidate
        else:
            low, high, step = guess, None, 1
            while high is None:
                candidate = low + step
                if candidate > limit:
                    return None
                if passes(candidate):
                    high = candidate
                else:
                    low, step = candidate, step * 2
        return bench_support.narrow(passes, low, high)

    def run(self):
        args = self.args
        results = {"size": self.sizes(), "boot": [], "memory": [], "memory_trials": []}
        for repetition in range(args.repetitions):
            for machine in args.machines:
                for kind in KINDS:
                    outcome = self.boot(kind, machine, repetition)
                    results["boot"].append(outcome)
                    shown = f"{outcome['first_answer']:.3f} s" if outcome["first_answer"] else "no answer"
                    print(f"  boot {kind} {machine} #{repetition}: {shown}", flush=True)
        # Each search after a guest's first starts from that guest's last answer.
        guesses = {}
        for machine in args.memory_machines:
            for clients in args.parallel:
                for attempt in range(args.memory_repetitions):
                    for kind in KINDS:
                        found = self.minimum_memory(kind, machine, clients, attempt, guesses.get(kind),
                                                    results["memory_trials"])
                        results["memory"].append({"kind": kind, "machine": machine, "clients": clients,
                                                  "attempt": attempt, "minimum": found})
                        if found is not None:
                            guesses[kind] = found
        return results


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def plural(count, noun, nouns=None):
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def seconds(value):
    return "-" if value is None else f"{value:.3f}"


def report(args, results, started, load_before, load_after, bench):
    lines = []
    say = lines.append
    cpu_model = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    image = bench.image.relative_to(ROOT) if bench.image.is_relative_to(ROOT) else bench.image
    say(f"date: {time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(started))}; {os.cpu_count()} CPUs, "
        f"{cpu_model.group(1) if cpu_model else 'unknown CPU'}; host Linux {platform.release()}; {qemu}, TCG")
    say(f"Morgana: {image} (no -append: DHCP); Linux guest: {bench.kernel} + "
        f"{bench.initramfs.relative_to(ROOT)}, -append '{LINUX_APPEND}'")
    say(f"load average before {load_before}, after {load_after}")
    say("")

    size = results["size"]
    linux_total = size["linux_kernel"] + size["linux_initramfs"]
    say("Image size (bytes; KB = 1000 bytes):")
    say("")
    say("| guest | what | bytes |")
    say("|---|---|---:|")
    say(f"| Morgana | echo.elf after llvm-strip-19 | {size['morgana_stripped']} |")
    say(f"| Morgana | (the same, gzip -9, for reference) | {size['morgana_stripped_gzip']} |")
    say(f"| Linux | vmlinuz (a compressed bzImage) | {size['linux_kernel']} |")
    say(f"| Linux | initramfs.cpio.gz ({size['linux_initramfs_uncompressed']} bytes unpacked) | "
        f"{size['linux_initramfs']} |")
    say(f"| Linux | kernel + initramfs | {linux_total} |")
    say("")
    say(f"Linux / Morgana: {linux_total / size['morgana_stripped']:.1f}x. Goal: echo <= 300 KB stripped: "
        f"{'met' if size['morgana_stripped'] <= 300_000 else 'NOT met'} ({size['morgana_stripped'] / 1000:.0f} KB).")
    say("")

    say(f"Boot to first answered request, seconds from starting QEMU (-m {args.boot_memory}; "
        f"{plural(args.repetitions, 'repetition')}, interleaved; medians):")
    say("")
    say("| machine | guest | first answer | min-max | program started | 'serving' in the log | answered |")
    say("|---|---|---:|---:|---:|---:|---:|")
    medians = {}
    for machine in args.machines:
        for kind in KINDS:
            rows = [o for o in results["boot"] if o["machine"] == machine and o["kind"] == kind]
            answers = [o["first_answer"] for o in rows if o["first_answer"] is not None]
            medians[(machine, kind)] = median_or_none(answers)
            if answers:
                say(f"| {machine} | {kind} | {statistics.median(answers):.3f} | {min(answers):.3f}-{max(answers):.3f} "
                    f"| {seconds(median_or_none([o['program_started'] for o in rows]))} "
                    f"| {seconds(median_or_none([o['serving_logged'] for o in rows]))} | {len(answers)}/{len(rows)} |")
            else:
                say(f"| {machine} | {kind} | failed | | | | 0/{len(rows)} |")
    say("")
    say("'program started': the first line of Morgana's platform code (pvh info) or of Linux's /init "
        "(udhcpc: started); both columns are medians of when the line reached the host.")
    say("")
    for machine in args.machines:
        ours, theirs = medians.get((machine, "morgana")), medians.get((machine, "linux"))
        if not (ours and theirs):
            say(f"{machine}: no ratio (a guest never answered).")
            continue
        linux_by_repetition = {o["repetition"]: o["first_answer"] for o in results["boot"]
                               if o["machine"] == machine and o["kind"] == "linux" and o["first_answer"]}
        ratios = [linux_by_repetition[o["repetition"]] / o["first_answer"] for o in results["boot"]
                  if o["machine"] == machine and o["kind"] == "morgana" and o["first_answer"]
                  and o["repetition"] in linux_by_repetition]
        say(f"{machine}: Linux / Morgana = {theirs / ours:.1f}x (per repetition {min(ratios):.1f}-{max(ratios):.1f}). "
            f"Goal: >= 10x faster: {'met' if theirs / ours >= 10 else 'NOT met'}.")
    for o in results["boot"]:
        if o["first_answer"] is None:
            say(f"no answer: {o['kind']} {o['machine']} #{o['repetition']}: "
                f"{' | '.join(o.get('trouble', []))} ({o['log']})")
    say("")

    if args.memory_machines:
        say(f"Smallest -m (MiB) at which the guest boots and echoes {args.connections} connections "
            f"(one line each; {plural(args.memory_repetitions, 'search', 'searches')} per row):")
        say("")
        say("| machine | clients in parallel | guest | minimum -m per search | median |")
        say("|---|---:|---|---|---:|")
        goal = []
        for machine in args.memory_machines:
            for clients in args.parallel:
                for kind in KINDS:
                    found = [o["minimum"] for o in results["memory"]
                             if (o["machine"], o["clients"], o["kind"]) == (machine, clients, kind)]
                    best = median_or_none(found)
                    shown = ", ".join("none" if m is None else str(m) for m in found)
                    say(f"| {machine} | {clients} | {kind} | {shown} | {'none' if best is None else f'{best:g}'} |")
                    if kind == "morgana":
                        goal.append(f"{machine}, {plural(clients, 'client')}: "
                                    + ("no answer" if best is None else
                                       f"{'met' if best <= 8 else 'NOT met'} ({best:g} MiB)"))
        say("")
        say("Goal: serves in <= 8 MiB: " + "; ".join(goal) + ".")
        say("")
        say("Why the guest failed one MiB below its smallest minimum (the first such trial):")
        say("")
        for machine in args.memory_machines:
            for clients in args.parallel:
                for kind in KINDS:
                    found = [o["minimum"] for o in results["memory"] if o["minimum"]
                             and (o["machine"], o["clients"], o["kind"]) == (machine, clients, kind)]
                    below = [t for t in results["memory_trials"] if found and not t["serves"]
                             and (t["machine"], t["clients"], t["kind"], t["memory"]) ==
                             (machine, clients, kind, min(found) - 1)]
                    for trial in below[:1]:
                        say(f"- {kind}, {machine}, {plural(clients, 'client')}, -m {trial['memory']}: "
                            f"{trial['detail'][:500]} ({trial['log']})")
    bench_support.write_report("pvh_guest", "\n".join(lines), results, LOG_DIR)


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--image", type=Path, default=IMAGE, help=f"the PVH echo image (default {IMAGE})")
    parser.add_argument("--repetitions", type=int, default=5, help="boots of each row (default 5)")
    parser.add_argument("--machines", default="microvm,pc", help="machine types for the boot rows (default microvm,pc)")
    parser.add_argument("--boot-memory", type=int, default=256, help="-m for the boot rows, MiB (default 256)")
    parser.add_argument("--memory-machines", default="microvm,pc",
                        help="machine types for the memory search; empty skips it (default microvm,pc)")
    parser.add_argument("--memory-repetitions", type=int, default=3, help="searches per row (default 3)")
    parser.add_argument("--connections", type=int, default=1000, help="connections per memory trial (default 1000)")
    parser.add_argument("--parallel", default="4,1", help="clients in parallel, one memory row each (default 4,1)")
    parser.add_argument("--connection-timeout", type=float, default=10, help="seconds per connection (default 10)")
    parser.add_argument("--memory-limit", type=int, default=1024, help="largest -m tried, MiB (default 1024)")
    args = parser.parse_args()
    args.machines = [m for m in args.machines.split(",") if m]
    args.memory_machines = [m for m in args.memory_machines.split(",") if m]
    args.parallel = [int(p) for p in args.parallel.split(",") if p]
    for machine in args.machines + args.memory_machines:
        if machine not in NET_DEVICE:
            sys.exit(f"pvh_guest: unknown machine {machine} (one of {', '.join(NET_DEVICE)})")
    if not args.image.is_file():
        sys.exit(f"pvh_guest: {args.image} is missing; build it with: "
                 "cmake --preset pvh && cmake --build build/pvh --target echo.elf")
    for tool in ("qemu-system-x86_64", "llvm-strip-19"):
        if not shutil.which(tool):
            sys.exit(f"pvh_guest: {tool} is missing (scripts/setup)")

    bench_support.install_signal_handlers()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for stale in [*LOG_DIR.glob("*.log"), *LOG_DIR.glob("*.pcap")]:  # the folder holds one run's logs
        stale.unlink()
    bench = Bench(args)
    started = time.time()
    load_before = bench_support.load_average()
    with bench_support.exit_on_failure("pvh_guest", bench.cleanup):
        bench.build_linux_guest()
        results = bench.run()
    load_after = bench_support.load_average()
    report(args, results, started, load_before, load_after, bench)
    print(f"finished in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
