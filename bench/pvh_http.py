#!/usr/bin/env python3
"""HTTP and HTTPS requests per second in QEMU: examples/static-site as a PVH image against
nginx in a Linux guest (Debian's kernel, busybox initramfs with the host's nginx) on the
same QEMU machine, serving the same files with the same certificate, in one run, as a
ratio; and the stripped size of the static-site image with TLS.

    python3 bench/pvh_http.py                  # about 10 minutes under TCG; no root needed

The script builds what it measures (the commands are printed and recorded):
    scripts/make-test-certs build/bench/http_static/certs
    ./morgana configure examples/static-site --target pvh \\
        --crunch tls=build/bench/http_static/certs/tls --crunch site=build/bench/http_static/site
    ./morgana build examples/static-site --target pvh
    bench/linux-guest/build.sh build/bench/linux-guest-nginx --nginx CONF SITE TLS
The site is bench/http_static.py's (the example's site plus a 100 KiB large.bin), and
nginx's configuration is that script's, with one worker (the guest has one vCPU).

Both guests take their address from QEMU's user network by DHCP; QEMU forwards two
free ports on 127.0.0.1 to the guest's 80 and 443. QEMU (all its threads) is pinned to
CPU 1 and wrk (`-t1 -c64 --latency`) to CPU 0. Only one guest runs at a time. Each
repetition boots static-site with --tls=0 (plain HTTP serves the files; with TLS on it
answers 301), then with --tls=443, then the Linux guest (both ports at once), and runs
the workloads against each. The tables give medians.
"""

import argparse
import gzip
import os
import platform
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import bench_support
import http_static as hs
from bench_support import CLIENT_CPU, OUT_DIR, ROOT, Failure, linux_append
from http_static import HOST_NAME, LARGE_FILE

LOG_DIR = OUT_DIR / "pvh_http"
LINUX_GUEST_DIR = OUT_DIR / "linux-guest-nginx"
SIZE_GOAL = 1024 * 1024
SERVING = {"morgana": re.compile(r"serving"), "linux": re.compile(r"linux-guest: serving")}
BOOT_TIMEOUT = {"morgana": 30, "linux": 90}


class Bench:
    def __init__(self, args):
        self.args = args
        self.guests = []

    def cleanup(self):
        for guest in self.guests:
            guest.stop()
        self.guests.clear()

    def boot(self, kind, label, boot_arguments=None):
        guest = bench_support.ForwardedGuest(self.args, kind, label, boot_arguments, LOG_DIR)
        self.guests.append(guest)
        deadline = time.monotonic() + BOOT_TIMEOUT[kind]
        while not any(SERVING[kind].search(line) for line in list(guest.lines)):
            if not guest.alive():
                raise Failure(f"{label}: QEMU exited ({guest.process.returncode}): {guest.tail()}")
            if time.monotonic() > deadline:
                raise Failure(f"{label}: no 'serving' within {BOOT_TIMEOUT[kind]} s: {guest.tail()}")
            time.sleep(0.1)
        # The log line can come before the server accepts (nginx starts in the background),
        # and QEMU accepts forwarded connections even when nothing in the guest listens.
        while True:
            scheme = "https" if boot_arguments and "--tls=443" in boot_arguments else "http"
            try:
                if self.fetch(guest, scheme, "index.html")[0] == 200:
                    return guest
            except Failure:
                pass
            if not guest.alive() or time.monotonic() > deadline:
                raise Failure(f"{label}: logged 'serving' but does not answer {scheme}: {guest.tail()}")
            time.sleep(0.2)

    def forget(self, guest):
        guest.stop()
        self.guests.remove(guest)

    def fetch(self, guest, scheme, path):
        port = guest.ports[scheme]
        body_path = LOG_DIR / "fetch.body"
        result = hs.run(["curl", "-sS", "--http1.1", "-D", "-", "-o", str(body_path), "--max-time", "30",
                         "--cacert", str(self.args.certs / "ca.pem"), "--resolve", f"{HOST_NAME}:{port}:127.0.0.1",
                         f"{scheme}://{HOST_NAME}:{port}/{path}"], check=False, timeout=60)
        if result.returncode != 0:
            raise Failure(f"{guest.label}: curl {scheme} /{path} failed: {result.stderr.strip()}")
        head = re.split(r"\n\s*\n", result.stdout.strip())[-1].splitlines()
        return int(head[0].split()[1]), body_path.read_bytes()

    def check(self, guest, schemes):
        for scheme in schemes:
            for path in self.args.paths:
                status, body = self.fetch(guest, scheme, path)
                expected = (self.args.site / path).read_bytes()
                if status != 200 or body != expected:
                    raise Failure(f"{guest.label}: {scheme} /{path}: status {status}, {len(body)} bytes "
                                  f"(expected 200 and the file's {len(expected)} bytes)")

    def wrk(self, guest, scheme, close, path, seconds):
        url = f"{scheme}://127.0.0.1:{guest.ports[scheme]}/{path}"
        command = ["taskset", "-c", str(CLIENT_CPU), "wrk", "-t1", f"-c{self.args.connections}", f"-d{seconds}s",
                   "--latency", "--timeout", "10s"]
        if close:
            command += ["-H", "Connection: close"]
        command.append(url)
        cpu_before = bench_support.tree_cpu(guest.process.pid)
        started = time.monotonic()
        result = hs.run(command, check=False, timeout=seconds + 120)
        elapsed = time.monotonic() - started
        qemu_cpu = bench_support.tree_cpu(guest.process.pid) - cpu_before
        if result.returncode != 0:
            raise Failure(f"wrk {url} failed ({result.returncode}): {result.stdout[-1000:]}{result.stderr[-500:]}")
        if not guest.alive():
            raise Failure(f"{guest.label}: QEMU exited during wrk {url}: {guest.tail()}")
        outcome = bench_support.parse_wrk(result.stdout)
        outcome.update(qemu_busy=qemu_cpu / elapsed, command=" ".join(command[3:]))
        return outcome


def workloads(args):
    return [w for w in ((s, c, p) for s in ("http", "https") for c in (False, True) for p in args.paths)
            if hs.workload_name(w) in args.workloads]


def build_linux_guest(args):
    work = LINUX_GUEST_DIR / "nginx"
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "nginx.conf"
    # The host benchmark's configuration; the guest has one vCPU, so one worker ('auto' is also 1).
    conf.write_text(bench_support.NGINX_CONF.format(workers=1, work="/tmp/nginx", address="0.0.0.0",
                                                    site="/srv/site", certs="/etc/nginx/tls"))
    command = [str(ROOT / "bench" / "linux-guest" / "build.sh"), str(LINUX_GUEST_DIR), "--nginx", str(conf),
               str(args.site), str(args.certs / "tls")]
    result = hs.run(command, timeout=300)
    print(result.stdout.strip())
    args.kernel = Path((LINUX_GUEST_DIR / "kernel").read_text().strip())
    args.initramfs = LINUX_GUEST_DIR / "initramfs.cpio.gz"


def sizes(args):
    stripped = LOG_DIR / "static-site.stripped.elf"
    hs.run(["llvm-strip-19", "-o", str(stripped), str(args.image)])
    data = stripped.read_bytes()
    return {"stripped": len(data), "unstripped": args.image.stat().st_size,
            "stripped_gzip": len(gzip.compress(data, 9)), "linux_kernel": args.kernel.stat().st_size,
            "linux_initramfs": args.initramfs.stat().st_size,
            "linux_initramfs_uncompressed": len(gzip.decompress(args.initramfs.read_bytes()))}


def measure(bench, args):
    results = {"size": sizes(args), "runs": []}
    # (label, kind, boot arguments, schemes it serves)
    # No log line per request (nginx runs with access_log off; each line also costs serial port exits).
    guests = [("morgana", "morgana", ["--port=80", "--tls=0", "--logs=http:warn"], ("http",)),
              ("morgana", "morgana", ["--port=80", "--tls=443", "--logs=http:warn"], ("https",)),
              ("linux", "linux", None, ("http", "https"))]
    chosen = workloads(args)
    for repetition in range(args.repetitions):
        for label, kind, boot_arguments, schemes in guests:
            mine = [w for w in chosen if w[0] in schemes]
            if not mine:
                continue
            tag = f"{label}-{'-'.join(schemes)}-{repetition}"
            booted = time.monotonic()
            guest = bench.boot(kind, tag, boot_arguments)
            try:
                print(f"  {tag}: serving after {time.monotonic() - booted:.1f} s", flush=True)
                bench.check(guest, sorted({w[0] for w in mine}))
                for workload in mine:  # warm-up, not recorded
                    bench.wrk(guest, *workload, 2)
                for workload in mine:
                    outcome = bench.wrk(guest, *workload, args.seconds)
                    outcome.update(guest=label, workload=hs.workload_name(workload), repetition=repetition,
                                   boot_arguments=boot_arguments)
                    results["runs"].append(outcome)
                    errors = sum(outcome["errors"].values()) + outcome["non_2xx"]
                    print(f"  #{repetition} {outcome['workload']:30} {label:8} {outcome['requests_per_second']:8.0f} "
                          f"req/s  p50 {outcome['p50_ms']:.2f} ms  p99 {outcome['p99_ms']:.2f} ms  "
                          f"QEMU busy {outcome['qemu_busy']:.0%}" + (f"  ERRORS {errors}" if errors else ""),
                          flush=True)
            finally:
                bench.forget(guest)
    return results


def report(args, results, facts):
    lines = []
    say = lines.append
    for fact in facts:
        say(fact)
    say("")
    size = results["size"]
    linux_total = size["linux_kernel"] + size["linux_initramfs"]
    say("| image | bytes |")
    say("|---|---:|")
    say(f"| static-site.elf with TLS, after llvm-strip-19 | {size['stripped']:,} |")
    say(f"| (the same, gzip -9, for reference) | {size['stripped_gzip']:,} |")
    say(f"| (static-site.elf before stripping) | {size['unstripped']:,} |")
    say(f"| Linux guest: vmlinuz + initramfs.cpio.gz with nginx ({size['linux_initramfs_uncompressed']:,} bytes "
        f"unpacked) | {linux_total:,} |")
    say("")
    say(f"Goal: image <= 1 MiB ({SIZE_GOAL:,} bytes) stripped: "
        f"{'met' if size['stripped'] <= SIZE_GOAL else 'NOT met'} ({size['stripped'] / SIZE_GOAL:.2f} MiB).")
    say("")
    runs = results["runs"]
    say(f"wrk -t1 -c{args.connections} -d{args.seconds}s --latency --timeout 10s through QEMU's port forwards; "
        f"medians of {args.repetitions} repetitions; latency in ms; QEMU busy = QEMU's CPU time / wall time.")
    say("")
    say("| workload | guest | requests/s | min-max | p50 | p99 | QEMU busy | errors |")
    say("|---|---|---:|---:|---:|---:|---:|---:|")
    names = list(dict.fromkeys(r["workload"] for r in runs))
    for name in names:
        for guest in ("morgana", "linux"):
            rows = [r for r in runs if r["workload"] == name and r["guest"] == guest]
            if not rows:
                continue
            rates = [r["requests_per_second"] for r in rows]
            errors = sum(sum(r["errors"].values()) + r["non_2xx"] for r in rows)
            say(f"| {name} | {guest} | {statistics.median(rates):.0f} | {min(rates):.0f}-{max(rates):.0f} "
                f"| {statistics.median([r['p50_ms'] for r in rows]):.2f} "
                f"| {statistics.median([r['p99_ms'] for r in rows]):.2f} "
                f"| {statistics.median([r['qemu_busy'] for r in rows]):.2f} | {errors} |")
    say("")
    say("Morgana / Linux guest, requests/s: ratio of the medians [range within a repetition]. "
        "Goal: >= 2 (HTTP keep-alive).")
    say("")
    say("| workload | Morgana / Linux |")
    say("|---|---:|")
    for name in names:
        by_repetition = {}
        for r in runs:
            if r["workload"] == name:
                by_repetition.setdefault(r["repetition"], {})[r["guest"]] = r["requests_per_second"]
        ratios = [v["morgana"] / v["linux"] for v in by_repetition.values() if "morgana" in v and v.get("linux")]
        medians = {g: statistics.median([r["requests_per_second"] for r in runs
                                         if r["workload"] == name and r["guest"] == g] or [0]) for g in ("morgana", "linux")}
        if ratios and medians["linux"]:
            say(f"| {name} | {medians['morgana'] / medians['linux']:.2f} [{min(ratios):.2f}-{max(ratios):.2f}] |")
    bench_support.write_report("pvh_http", "\n".join(lines), results, LOG_DIR)


# Keep-alive and one request per connection, HTTP and HTTPS, both files (the close rows need
# c82734e or later: before it, TIME-WAIT kept each connection's buffers and the guest ran out of memory).
DEFAULT_WORKLOADS = tuple(f"{scheme} {mode} /{path}" for scheme in ("HTTP", "HTTPS") for mode in ("keep-alive", "close")
                          for path in ("index.html", LARGE_FILE))


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--image", type=Path, help="a static-site PVH image built with this bench's site and keys "
                        "(default: build it)")
    parser.add_argument("--machine", default="microvm", choices=sorted(bench_support.NET_DEVICE), help="QEMU -M (default microvm)")
    parser.add_argument("--memory", type=int, default=256, help="QEMU -m for both guests, MiB (default 256)")
    parser.add_argument("--seconds", type=int, default=10, help="wrk -d per run (default 10)")
    parser.add_argument("--repetitions", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk -c (default 64)")
    parser.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                        help=f"comma-separated (default {','.join(DEFAULT_WORKLOADS)})")
    args = parser.parse_args()
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.paths = sorted({w.rpartition("/")[2] for w in args.workloads}, key=lambda p: p != "index.html")
    args.work_dir = hs.WORK_DIR
    for tool in ("qemu-system-x86_64", "llvm-strip-19", "wrk", "curl", "taskset", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"pvh_http: {tool} is missing (scripts/setup)")
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("pvh_http: needs 2 CPUs (QEMU on CPU 1, wrk on CPU 0)")
    bench_support.install_signal_handlers()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for stale in LOG_DIR.glob("*.log"):
        stale.unlink()
    started = time.time()
    load_before = bench_support.load_average()
    bench = Bench(args)
    with bench_support.exit_on_failure("pvh_http", bench.cleanup):
        args.work_dir.mkdir(parents=True, exist_ok=True)
        args.site = hs.prepare_site(args.work_dir)
        args.certs = hs.prepare_certs(args.work_dir)
        if args.image is None:
            args.image, args.build_command = hs.build_static_site("pvh", None, args.certs, args.site, args.work_dir)
        else:
            args.build_command = f"(given) {args.image}"
        args.image = args.image.resolve()
        build_linux_guest(args)
        results = measure(bench, args)
    load_after = bench_support.load_average()
    qemu = hs.run(["qemu-system-x86_64", "--version"]).stdout.splitlines()[0]
    cpu_model = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    facts = [f"date: {time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(started))}; {os.cpu_count()} CPUs, "
             f"{cpu_model.group(1) if cpu_model else 'unknown CPU'}; host Linux {platform.release()}; {qemu}, TCG; "
             f"-M {args.machine} -m {args.memory}",
             f"static-site: {args.build_command}",
             f"Linux guest: {args.kernel} + {args.initramfs.relative_to(ROOT)} (nginx "
             f"{hs.run(['nginx', '-v']).stderr.strip().split('/')[-1]}), -append '{linux_append()}'",
             f"load average before {load_before}, after {load_after}; the run took {time.time() - started:.0f} s"]
    results["facts"] = facts
    report(args, results, facts)


if __name__ == "__main__":
    main()
