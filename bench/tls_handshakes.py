#!/usr/bin/env python3
"""Full TLS handshakes per second: examples/static-site (hosted target, BearSSL) against
nginx with OpenSSL, the same certificate (EC P-256, leaf + intermediate), on the same
machine, in one run, as a ratio.

    sudo python3 bench/tls_handshakes.py       # about 6 minutes; --help for options

The servers, namespaces, site, keys and the static-site build are bench/http_static.py's
(see there): static-site on a tap device and with --net=socket on loopback, nginx on
a veth and on loopback; servers pinned to CPU 1, clients to CPU 0. The client is
`openssl s_time -connect ADDR:443 -new -time N` (a new session per connection, so
every handshake is a full one: ECDHE key exchange and an ECDSA signature on the
server), one process or several in parallel. A connection counts when its handshake
completes; s_time sends no request. The rate is the sum of the clients' connections
over the wall time; the server's CPU time per handshake comes from /proc.

    sudo python3 bench/tls_handshakes.py --callgrind [--binary PATH] [--seconds 20]

counts instructions instead (they do not depend on the machine's load, so one run shows
a change): static-site with --net=socket under callgrind, `openssl s_time -new` against
it on loopback, the counts zeroed after a warm-up second and written when the server
stops, divided by the full handshakes the server signed (calls of ServerStream::do_sign).
"""

import argparse
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

import bench_support
import http_static as hs
from bench_support import CLIENT_CPU, Failure

DEFAULT_SERVERS = ("morgana tap", "nginx veth", "nginx-auto veth", "morgana loopback", "nginx loopback",
                   "nginx-auto loopback")


def s_time(bench, server, mode, clients, seconds):
    """Runs `clients` s_time processes at once; returns handshakes/s and server CPU per handshake."""
    address = f"{server.address['https']}:443"
    command = ["ip", "netns", "exec", server.client_namespace, "taskset", "-c", str(CLIENT_CPU), "openssl",
               "s_time", "-connect", address, f"-{mode}", "-time", str(seconds)]
    process = server.processes["https"]
    cpu_before = bench_support.tree_cpu(process.pid)
    started = time.monotonic()
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             preexec_fn=bench_support.die_with_parent) for _ in range(clients)]
    outputs = [r.communicate(timeout=seconds + 60)[0] for r in runs]
    elapsed = time.monotonic() - started
    server_cpu = bench_support.tree_cpu(process.pid) - cpu_before
    count = 0
    for run, output in zip(runs, outputs):
        # The first "N connections in" line is the mode asked for (-new or -reuse).
        match = re.search(r"^(\d+) connections in [0-9.]+s;", output, re.MULTILINE)
        if run.returncode != 0 or not match:
            raise Failure(f"{' '.join(command[4:])} failed ({run.returncode}): {output[-800:]}")
        count += int(match.group(1))
    if process.poll() is not None:
        raise Failure(f"{server.label} (https) exited with status {process.returncode} during s_time")
    return {"handshakes": count, "seconds": elapsed, "per_second": count / elapsed,
            "server_cpu_ms": 1000 * server_cpu / count if count else None, "server_busy": server_cpu / elapsed,
            "command": " ".join(command[4:])}


def report(args, results, facts):
    lines = hs.report_preamble(results, facts)
    say = lines.append
    runs = results["runs"]
    servers = list(dict.fromkeys(r["server"] for r in runs))
    say(f"openssl s_time -{'/-'.join(args.modes)} -time {args.seconds}; medians of {args.repetitions} "
        "repetitions; server busy = the server's CPU time / wall time.")
    say("")
    say("| handshakes | clients | server | handshakes/s | min-max | server CPU ms per handshake | server busy |")
    say("|---|---:|---|---:|---:|---:|---:|")
    for mode in args.modes:
        for clients in args.clients:
            for label in servers:
                rows = [r for r in runs if (r["mode"], r["clients"], r["server"]) == (mode, clients, label)]
                rates = [r["per_second"] for r in rows]
                say(f"| {'full (-new)' if mode == 'new' else 'resumed (-reuse)'} | {clients} | {label} "
                    f"| {statistics.median(rates):.0f} | {min(rates):.0f}-{max(rates):.0f} "
                    f"| {statistics.median([r['server_cpu_ms'] for r in rows]):.2f} "
                    f"| {statistics.median([r['server_busy'] for r in rows]):.2f} |")
    say("")
    say("Ratios, Morgana / peer: handshakes/s (ratio of medians [range within a repetition]); "
        "server CPU per handshake, peer / Morgana (above 1: Morgana uses less).")
    say("")
    say("| handshakes | clients | Morgana | peer | handshakes/s | CPU per handshake, peer / Morgana |")
    say("|---|---:|---|---|---:|---:|")
    for mode in args.modes:
        for clients in args.clients:
            for ours, peers in hs.COMPARISONS:
                for peer in peers:
                    if ours not in servers or peer not in servers:
                        continue
                    pick = {label: [r for r in runs if (r["mode"], r["clients"], r["server"]) == (mode, clients, label)]
                            for label in (ours, peer)}
                    by_repetition = {}
                    for label, rows in pick.items():
                        for r in rows:
                            by_repetition.setdefault(r["repetition"], {})[label] = r["per_second"]
                    ratios = [v[ours] / v[peer] for v in by_repetition.values() if ours in v and v.get(peer)]
                    mine = statistics.median([r["per_second"] for r in pick[ours]])
                    theirs = statistics.median([r["per_second"] for r in pick[peer]])
                    cpu = (statistics.median([r["server_cpu_ms"] for r in pick[peer]])
                           / statistics.median([r["server_cpu_ms"] for r in pick[ours]]))
                    say(f"| {'full' if mode == 'new' else 'resumed'} | {clients} | {ours} | {peer} "
                        f"| {mine / theirs:.2f} [{min(ratios):.2f}-{max(ratios):.2f}] | {cpu:.2f} |")
    bench_support.write_report("tls_handshakes", "\n".join(lines), results)


def measure(bench, args):
    results = {"checks": {}, "runs": []}
    for label, server in bench.servers.items():
        results["checks"][label] = bench.check(server, ["index.html"])
        s_time(bench, server, "new", 1, 1)  # warm-up, not recorded
    for repetition in range(args.repetitions):
        for mode in args.modes:
            for clients in args.clients:
                for label, server in bench.servers.items():
                    outcome = s_time(bench, server, mode, clients, args.seconds)
                    outcome.update(server=label, mode=mode, clients=clients, repetition=repetition)
                    results["runs"].append(outcome)
                    print(f"  #{repetition} -{mode} {clients} clients {label:20} {outcome['per_second']:8.0f}/s  "
                          f"server {outcome['server_cpu_ms']:.2f} ms CPU per handshake, "
                          f"busy {outcome['server_busy']:.0%}", flush=True)
    return results


def handshakes_in(profile):
    """Calls of ServerStream::do_sign in a callgrind dump: one per full handshake."""
    names, total, signing = {}, 0, False
    for line in profile.read_text().splitlines():
        match = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
        if match:
            if match.group(2):
                names[match.group(1)] = match.group(2)
            signing = line.startswith("cfn=") and names.get(match.group(1), "").startswith(
                "morgana::tls::ServerStream::do_sign")
        elif line.startswith("calls=") and signing:
            total += int(line.split("=")[1].split()[0])
    return total


def callgrind(args):
    """--callgrind: instructions per full handshake, printed with the costliest functions."""
    work_dir = bench_support.OUT_DIR / "tls_callgrind"
    work_dir.mkdir(parents=True, exist_ok=True)
    hs.common_setup(args)
    stripped = work_dir / "static-site.stripped"  # valgrind cannot read clang 19's DWARF 5
    bench_support.run([shutil.which("llvm-objcopy-19") or "objcopy", "--strip-debug", str(args.binary),
                       str(stripped)])
    for old in work_dir.glob("callgrind.out*"):
        old.unlink()
    port = bench_support.free_port()
    log = work_dir / "static-site.log"
    with open(log, "w") as output:
        server = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={work_dir}/callgrind.out",
                                   str(stripped), "--net=socket", "--port=0", f"--tls={port}", "--logs=http:warn",
                                   *args.morgana_args.split()],
                                  stdout=output, stderr=subprocess.STDOUT, preexec_fn=bench_support.die_with_parent)
    try:
        deadline = time.monotonic() + 120
        while "serving" not in log.read_text():
            if server.poll() is not None or time.monotonic() > deadline:
                raise Failure(f"static-site under callgrind did not start: {log.read_text()[-800:]}")
            time.sleep(0.5)

        def s_time(seconds):
            return bench_support.run(["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-time",
                                      str(seconds)], timeout=seconds + 120).stdout

        s_time(1)  # the first connection and code paths touched once
        bench_support.run(["callgrind_control", "--zero", str(server.pid)])
        output = s_time(args.seconds)
    finally:
        # Callgrind writes the counts since --zero when the server exits; its shutdown
        # adds a few thousand instructions per handshake at most.
        server.send_signal(signal.SIGINT)
        server.wait(timeout=120)
    dump = work_dir / "callgrind.out"
    if not dump.exists():
        raise Failure(f"callgrind wrote no profile: {log.read_text()[-800:]}")
    instructions = int(re.search(r"^totals: (\d+)", dump.read_text(), re.M).group(1))
    count = handshakes_in(dump)
    if count == 0:
        raise Failure(f"no full handshake counted; s_time said: {output[-800:]}")
    print(f"{instructions:,} instructions for {count} full handshakes (openssl s_time -new): "
          f"{instructions // count:,} per handshake ({dump}; static-site: {args.build_command})")
    annotated = bench_support.run(["callgrind_annotate", "--threshold=100", str(dump)]).stdout
    print("costliest functions, own instructions per handshake:")
    shown = 0
    for line in annotated.splitlines():
        match = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*?:(.*?) \[", line)
        own = int(match.group(1).replace(",", "")) if match else 0
        # Functions on the stack when the counts were zeroed (main, the event loop) show
        # all that ran below them as their own.
        if match and own < instructions // 2 and shown < 15:
            print(f"  {own // count:>10,}  {match.group(2)[:100]}")
            shown += 1


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    hs.add_common_options(parser)
    parser.set_defaults(servers=",".join(DEFAULT_SERVERS))
    parser.add_argument("--seconds", type=int, default=10, help="s_time -time (default 10)")
    parser.add_argument("--repetitions", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--clients", default="1,8", help="s_time processes in parallel, one row each (default 1,8)")
    parser.add_argument("--modes", default="new", help="new (full handshakes), reuse (resumed) (default new)")
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions per full handshake under callgrind instead (--seconds of s_time)")
    args = parser.parse_args()
    if args.callgrind:
        with bench_support.exit_on_failure("tls_handshakes", lambda: None):
            callgrind(args)
        return
    args.clients = [int(c) for c in args.clients.split(",") if c]
    args.modes = [m for m in args.modes.split(",") if m]
    if any(m not in ("new", "reuse") for m in args.modes):
        sys.exit("tls_handshakes: --modes takes new and/or reuse")
    hs.run_hosted(args, "tls_handshakes", measure, report)


if __name__ == "__main__":
    main()
