#!/usr/bin/env python3
"""Bulk TCP through virtio-net on a tap in QEMU (TCG): examples/echo as a PVH image,
with --offload=all and --offload=none, against the Linux guest (bench/linux-guest:
Debian's kernel, busybox nc serving echo on port 7 and discard on port 9), on the
same machine type and tap device, in one run. QEMU's tap backend has vnet_hdr, so
its virtio-net offers checksum offload, TSO both ways, mergeable buffers and
EVENT_IDX; each guest takes what its driver takes.

From Linux in the tap's namespace (10.0.0.1; the guest 10.0.0.2): --megabytes MiB
into the guest's discard port (time until the guest closes after the sender's FIN),
and as many into its echo port while reading the echo back (time until the last
byte is back). MiB/s of payload, medians of --repetitions, each guest booted once
per repetition. Needs root (a network namespace and a tap device).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import bench_support
from bench_support import OUT_DIR, ROOT

LINUX_GUEST_DIR = OUT_DIR / "linux-guest"
LOG_DIR = OUT_DIR / "pvh_bulk"
NAMESPACE_PREFIX = "bench-pvhbulk-"
GUEST_ADDRESS, HOST_ADDRESS, PREFIX = "10.0.0.2", "10.0.0.1", 24
SERVING = {"morgana": re.compile(r"echo info: serving on"), "linux": re.compile(r"linux-guest: serving")}

# Runs in the namespace: one transfer, prints the seconds it took.
CLIENT = r"""
import socket, sys, threading, time
address, port, size, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
block = bytes(range(256)) * 256
sock = socket.create_connection((address, port), timeout=60)
sock.settimeout(120)
started = time.monotonic()
def send():
    left = size
    while left:
        n = sock.send(memoryview(block)[:min(left, len(block))])
        left -= n
    sock.shutdown(socket.SHUT_WR)
sender = threading.Thread(target=send)
sender.start()
received = 0
while True:
    chunk = sock.recv(1 << 16)
    if not chunk:
        break
    received += len(chunk)
    if mode == "echo" and received >= size:
        break
sender.join()
elapsed = time.monotonic() - started
expected = size if mode == "echo" else 0
if received != expected:
    sys.exit(f"received {received} bytes, expected {expected}")
print(f"{elapsed:.4f}")
"""


class Guest:
    def __init__(self, args, namespace, kind, offload, label):
        self.kind = kind
        self.log_path = LOG_DIR / f"{label}.log"
        command = ["ip", "netns", "exec", namespace, "qemu-system-x86_64", "-M", args.machine, "-cpu", "max", "-m",
                   str(args.memory), "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-device",
                   "isa-debug-exit", "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no", "-device",
                   f"{bench_support.NET_DEVICE[args.machine]},netdev=n0"]
        if kind == "morgana":
            command += ["-kernel", str(args.image), "-append", f"--ipv4={GUEST_ADDRESS}/{PREFIX} --offload={offload}"]
        else:
            kernel = Path((LINUX_GUEST_DIR / "kernel").read_text().strip())
            command += ["-kernel", str(kernel), "-initrd", str(LINUX_GUEST_DIR / "initramfs.cpio.gz"), "-append",
                        f"{bench_support.linux_append()} linux-guest.ipv4={GUEST_ADDRESS}/{PREFIX}"]
        self.command = command
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                        preexec_fn=bench_support.die_with_parent)

    def wait_serving(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if SERVING[self.kind].search(self.log_path.read_text(errors="replace")):
                return True
            time.sleep(0.1)
        return False

    def features(self):
        match = re.search(r"virtio-net info: .*: features ([a-z0-9 -]*[a-z0-9])", self.log_path.read_text(errors="replace"))
        return match.group(1) if match else "-"

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.log.close()


def transfer(namespace, port, size, mode):
    result = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", CLIENT, GUEST_ADDRESS, str(port),
                             str(size), mode], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{mode} transfer failed: {result.stderr.strip()[-300:]}")
    return float(result.stdout.strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", type=Path, default=None, help="the PVH echo image (default: build examples/echo)")
    parser.add_argument("--machine", choices=sorted(bench_support.NET_DEVICE), default="microvm")
    parser.add_argument("--memory", type=int, default=256, help="QEMU -m, MiB (default 256)")
    parser.add_argument("--megabytes", type=int, default=32, help="MiB per transfer (default 32)")
    parser.add_argument("--repetitions", type=int, default=3, help="boots of each guest (default 3)")
    parser.add_argument("--offloads", default="all/none",
                        help="the image's --offload values, one row each, separated by / (default all/none)")
    args = parser.parse_args()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    bench_support.install_signal_handlers()
    bench_support.remove_stale_namespaces(NAMESPACE_PREFIX)
    if args.image is None:
        args.image, _ = bench_support.build_app("examples/echo", "pvh")
    subprocess.run([str(ROOT / "bench" / "linux-guest" / "build.sh"), str(LINUX_GUEST_DIR)], check=True,
                   capture_output=True)
    namespace = f"{NAMESPACE_PREFIX}{os.getpid()}-tap"
    size = args.megabytes << 20
    guests = [("morgana", offload) for offload in args.offloads.split("/")] + [("linux", "-")]
    results = {f"{kind} {offload}": {"discard": [], "echo": [], "features": "-"} for kind, offload in guests}
    started = time.monotonic()
    load_before = bench_support.load_average()
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        for command in (["tuntap", "add", "dev", "tap0", "mode", "tap"], ["addr", "add", f"{HOST_ADDRESS}/{PREFIX}",
                        "dev", "tap0"], ["link", "set", "tap0", "up"]):
            subprocess.run(["ip", "-n", namespace, *command], check=True)
        for repetition in range(args.repetitions):
            for kind, offload in guests:
                name = f"{kind} {offload}"
                guest = Guest(args, namespace, kind, offload, f"{kind}-{offload.replace(',', '+')}-{repetition}")
                try:
                    if not guest.wait_serving():
                        raise RuntimeError(f"{name} did not serve; see {guest.log_path}")
                    results[name]["features"] = guest.features() if kind == "morgana" else "Linux virtio_net"
                    for mode, port in (("discard", 9), ("echo", 7)):
                        seconds = transfer(namespace, port, size, mode)
                        results[name][mode].append(args.megabytes / seconds)
                        print(f"{name} #{repetition + 1}: {mode} {args.megabytes / seconds:.1f} MiB/s", flush=True)
                finally:
                    guest.stop()
    finally:
        subprocess.run(["ip", "netns", "delete", namespace])
    load_after = bench_support.load_average()

    def median(values):
        return statistics.median(values) if values else float("nan")

    linux = results["linux -"]
    lines = [f"Bulk TCP through virtio-net on a tap (QEMU TCG, -M {args.machine}, -m {args.memory}), {args.megabytes} MiB "
             f"per transfer, medians of {args.repetitions} boots, MiB/s of payload (ratio to the Linux guest); "
             f"{time.monotonic() - started:.0f} s, load {load_before} -> {load_after}", "",
             "| guest | virtio-net features | into the guest (discard) | echo (both ways at once) |",
             "|---|---|---|---|"]
    for name, row in results.items():
        cells = []
        for mode in ("discard", "echo"):
            value = median(row[mode])
            cells.append(f"{value:.1f} ({value / median(linux[mode]):.2f}×)")
        lines.append(f"| {name} | {row['features']} | {cells[0]} | {cells[1]} |")
    bench_support.write_report("pvh_bulk", "\n".join(lines), {"args": {k: str(v) for k, v in vars(args).items()},
                                                              "results": results}, LOG_DIR)


if __name__ == "__main__":
    main()
