#!/usr/bin/env python3
"""HTTP and HTTPS static files: examples/static-site on the hosted target against
nginx serving the same files with the same certificate, on the same machine, in
one run, as ratios of requests per second (wrk), with latency percentiles.

    sudo python3 bench/http_static.py          # about 25 minutes; --help for options

The script builds what it measures (the command is printed and recorded):
    scripts/make-test-certs build/bench/http_static/certs
    ./morgana configure examples/static-site --target hosted --preset hosted \\
        --crunch tls=build/bench/http_static/certs/tls --crunch site=build/bench/http_static/site
    ./morgana build examples/static-site --target hosted
The site is a copy of examples/static-site/site plus large.bin (100 KiB of random
bytes), so that both servers serve a small page and a larger file.

Topology (namespaces are created here and removed on every exit path):

    mgh<pid>-cli   the client side: wrk, curl, openssl (pinned to CPU 0)
      tap0 10.0.0.1/24 <-tap fd-> static-site --net=tap0 --ipv4=10.0.0.2/24 --tls=0    (HTTP)
      tap1 10.0.1.1/24 <-tap fd-> static-site --net=tap1 --ipv4=10.0.1.2/24 --tls=443  (HTTPS)
      veth c0 10.1.0.1/24 <-> s0 in mgh<pid>-srv:
         10.1.0.2  nginx, worker_processes 1, pinned to CPU 1
         10.1.0.3  nginx, worker_processes auto (2 here), not pinned
    mgh<pid>-lo    loopback only: the same four servers, static-site with --net=socket
                   (the host kernel's sockets) on 127.0.0.2 (HTTP) and 127.0.0.3 (HTTPS),
                   nginx on 127.0.0.4 (1 worker, CPU 1) and 127.0.0.5 (auto); wrk there too

Every Morgana process is pinned to CPU 1 (it is single-threaded). wrk runs with
`-t1 -c64 --latency` on CPU 0. Each repetition runs every workload on every server
in turn, so load from other work on the machine falls on all of them alike; the
tables give medians and the ratios' range within repetitions.
"""

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import bench_support
from bench_support import (OUT_DIR, ROOT, SERVER_CPU, Failure, Server, install_signal_handlers, load_average,
                           machine_facts, run)

WORK_DIR = OUT_DIR / "http_static"
SITE_SOURCE = ROOT / "examples" / "static-site" / "site"
PREFIX = "mgh"
HOST_NAME = "static-site.test"  # in the test certificate's names
LARGE_FILE = "large.bin"
LARGE_SIZE = 100 * 1024


# --- what is served ----------------------------------------------------------------------------

def files_of(directory):
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def prepare_site(work_dir):
    """A copy of the example's site plus a 100 KiB file of random bytes (fixed seed); left
    as it is when it already holds exactly that (a given --binary was built from it)."""
    site = work_dir / "site"
    wanted = files_of(SITE_SOURCE)
    wanted[LARGE_FILE] = random.Random(20261126).randbytes(LARGE_SIZE)
    if not site.is_dir() or files_of(site) != wanted:
        if site.exists():
            shutil.rmtree(site)
        for name, data in wanted.items():
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            (site / name).write_bytes(data)
    os.chmod(work_dir, 0o755)  # nginx's workers run as nobody
    for path in [site, *site.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return site


def prepare_certs(work_dir):
    """Test keys from scripts/make-test-certs; kept across runs (a given --binary holds them)."""
    certs = work_dir / "certs"
    if not all((certs / name).is_file() for name in ("ca.pem", "tls/server.pem", "tls/server.key")):
        run([str(ROOT / "scripts" / "make-test-certs"), str(certs)])
    return certs


def build_static_site(target, preset, certs, site, work_dir):
    """Configures static-site with the bench's site and keys crunched in and builds it; returns (copy of
    the artifact, the commands)."""
    return bench_support.build_app("examples/static-site", target, preset, [f"tls={certs / 'tls'}", f"site={site}"],
                                   work_dir)


# --- the servers -------------------------------------------------------------------------------

class Bench(bench_support.HttpBench):
    PREFIX = PREFIX

    def __init__(self, args):
        super().__init__(args, bench_logs(args))

    def morgana(self, namespace, net_arguments, tls_port, label):
        # No log line per request (nginx runs with access_log off).
        command = [str(self.args.binary), *net_arguments, "--port=80", f"--tls={tls_port}", "--logs=http:warn",
                   *self.args.morgana_args.split()]
        return self.spawn(namespace, command, label, r"serving", cpu=SERVER_CPU)

    def setup(self, wanted):
        """Starts the servers whose labels are in `wanted`; fills self.servers."""
        cli = self.namespace("cli")
        if any(label.endswith("tap") or "veth" in label for label in wanted):
            srv = self.namespace("srv")
            run(["ip", "-n", cli, "link", "add", "c0", "type", "veth", "peer", "name", "s0", "netns", srv])
            run(["ip", "-n", cli, "addr", "add", "10.1.0.1/24", "dev", "c0"])
            run(["ip", "-n", srv, "addr", "add", "10.1.0.2/24", "dev", "s0"])
            run(["ip", "-n", srv, "addr", "add", "10.1.0.3/24", "dev", "s0"])
            for namespace, device in ((cli, "c0"), (srv, "s0")):
                run(["ip", "-n", namespace, "link", "set", device, "up"])
        if "morgana tap" in wanted:
            processes = {}
            for scheme, tap, subnet, tls in (("http", "tap0", "10.0.0", 0), ("https", "tap1", "10.0.1", 443)):
                run(["ip", "-n", cli, "tuntap", "add", "dev", tap, "mode", "tap"])
                run(["ip", "-n", cli, "addr", "add", f"{subnet}.1/24", "dev", tap])
                run(["ip", "-n", cli, "link", "set", tap, "up"])
                processes[scheme] = self.morgana(cli, [f"--net={tap}", f"--ipv4={subnet}.2/24"], tls,
                                                 f"morgana-tap-{scheme}")
            self.servers["morgana tap"] = Server("morgana tap", "morgana", cli, "10.0.0.2", "10.0.1.2", processes)
        for label, address, workers, cpu in (("nginx veth", "10.1.0.2", 1, SERVER_CPU),
                                             ("nginx-auto veth", "10.1.0.3", "auto", None)):
            if label in wanted:
                process = self.nginx(srv, address, workers, label.replace(" ", "-"), cpu)
                self.servers[label] = Server(label, "nginx", cli, address, address,
                                             {"http": process, "https": process})
        if any("loopback" in label for label in wanted):
            lo = self.namespace("lo")
            for address in ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"):
                run(["ip", "-n", lo, "addr", "add", f"{address}/8", "dev", "lo"])
            if "morgana loopback" in wanted:
                processes = {}
                for scheme, address, tls in (("http", "127.0.0.2", 0), ("https", "127.0.0.3", 443)):
                    processes[scheme] = self.morgana(lo, ["--net=socket", f"--socket-address={address}"], tls,
                                                     f"morgana-loopback-{scheme}")
                    self.wait_listening(lo, address, 80, f"morgana-loopback-{scheme}")
                self.servers["morgana loopback"] = Server("morgana loopback", "morgana", lo, "127.0.0.2",
                                                          "127.0.0.3", processes)
            for label, address, workers, cpu in (("nginx loopback", "127.0.0.4", 1, SERVER_CPU),
                                                 ("nginx-auto loopback", "127.0.0.5", "auto", None)):
                if label in wanted:
                    process = self.nginx(lo, address, workers, label.replace(" ", "-"), cpu)
                    self.servers[label] = Server(label, "nginx", lo, address, address,
                                                 {"http": process, "https": process})

    # checks

    def fetch(self, server, scheme, path):
        """(status, headers, body) from curl in the client's namespace."""
        host = server.address[scheme]
        port = 443 if scheme == "https" else 80
        body_path = self.log_dir / "fetch.body"
        result = self.client(server, "curl", "-sS", "--http1.1", "-D", "-", "-o", str(body_path),
                             "--max-time", "20", "--cacert", str(self.args.certs / "ca.pem"),
                             "--resolve", f"{HOST_NAME}:{port}:{host}", f"{scheme}://{HOST_NAME}/{path}",
                             check=False)
        if result.returncode != 0:
            raise Failure(f"{server.label}: curl {scheme}://{host}/{path} failed: {result.stderr.strip()}")
        head = re.split(r"\n\s*\n", result.stdout.strip())[-1].splitlines()  # the last response's head
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
        return int(head[0].split()[1]), headers, body_path.read_bytes()

    def check(self, server, paths):
        """Every file the benchmark fetches comes back whole with 200 (and HSTS over HTTPS);
        returns what the server's TLS negotiates with OpenSSL's defaults."""
        for scheme in ("http", "https"):
            for path in paths:
                status, headers, body = self.fetch(server, scheme, path)
                expected = (self.args.site / path).read_bytes()
                if status != 200 or body != expected:
                    raise Failure(f"{server.label}: {scheme} /{path}: status {status}, {len(body)} bytes "
                                  f"(expected 200 and the file's {len(expected)} bytes)")
                if scheme == "https" and "strict-transport-security" not in headers:
                    raise Failure(f"{server.label}: https /{path} has no Strict-Transport-Security header")
        hello = self.client(server, "openssl", "s_client", "-connect", f"{server.address['https']}:443",
                            "-servername", HOST_NAME, "-CAfile", str(self.args.certs / "ca.pem"),
                            check=False, timeout=30)
        negotiated = re.search(r"^New, (\S+), Cipher is (\S+)", hello.stdout, re.MULTILINE)
        verified = re.search(r"Verify return code: (\d+)", hello.stdout)
        if not negotiated:
            raise Failure(f"{server.label}: openssl s_client found no TLS session: {hello.stdout[-800:]}")
        return {"protocol": negotiated.group(1), "cipher": negotiated.group(2),
                "verify": verified.group(1) if verified else None}



# --- the run -----------------------------------------------------------------------------------

SERVERS = ("morgana tap", "nginx veth", "nginx-auto veth", "morgana loopback", "nginx loopback",
           "nginx-auto loopback")
# (Morgana's row, its peers): ratios are taken against each peer.
COMPARISONS = (("morgana tap", ("nginx veth", "nginx-auto veth")),
               ("morgana loopback", ("nginx loopback", "nginx-auto loopback")))


def workloads(args):
    return [(scheme, close, path) for scheme in ("http", "https") for close in (False, True)
            for path in args.paths
            if args.workloads is None or workload_name((scheme, close, path)) in args.workloads]


def workload_name(workload):
    scheme, close, path = workload
    return f"{scheme.upper()} {'close' if close else 'keep-alive'} /{path}"


def loss_counters(server, scheme):
    """Where a tail comes from: frames the image's tap dropped on their way in
    (its TX dropped: the image did not read them in time) and the client
    kernel's retransmissions (nstat, the client's namespace)."""
    counters = {}
    if server.kind == "morgana" and server.label.endswith("tap"):
        tap = "tap0" if scheme == "http" else "tap1"
        text = run(["ip", "-n", server.client_namespace, "-s", "link", "show", tap]).stdout
        match = re.search(r"TX:[^\n]*\n\s*\d+\s+\d+\s+\d+\s+(\d+)", text)
        counters["tap_tx_dropped"] = int(match.group(1)) if match else None
    text = run(["ip", "netns", "exec", server.client_namespace, "nstat", "-asz", "TcpRetransSegs",
                "TcpExtTCPTimeouts"]).stdout
    for name, key in (("TcpRetransSegs", "retransmits"), ("TcpExtTCPTimeouts", "timeouts")):
        match = re.search(rf"^{name}\s+(\d+)", text, re.MULTILINE)
        counters[key] = int(match.group(1)) if match else None
    return counters


def measure(bench, args):
    results = {"runs": [], "checks": {}}
    for label, server in bench.servers.items():
        results["checks"][label] = bench.check(server, args.paths)
        print(f"  {label}: files check out; TLS {results['checks'][label]}", flush=True)
    for label, server in bench.servers.items():  # warm-up, not recorded
        for workload in workloads(args):
            bench.wrk(server, *workload, 1)
    for repetition in range(args.repetitions):
        for workload in workloads(args):
            for label, server in bench.servers.items():
                before = loss_counters(server, workload[0])
                outcome = bench.wrk(server, *workload, args.seconds)
                after = loss_counters(server, workload[0])
                outcome["losses"] = {k: after[k] - before[k] for k in after if after[k] is not None and
                                     before.get(k) is not None}
                outcome.update(server=label, workload=workload_name(workload), repetition=repetition)
                results["runs"].append(outcome)
                errors = sum(outcome["errors"].values()) + outcome["non_2xx"]
                print(f"  #{repetition} {workload_name(workload):30} {label:20} "
                      f"{outcome['requests_per_second']:9.0f} req/s  p50 {outcome['p50_ms']:.2f} ms  "
                      f"p99 {outcome['p99_ms']:.2f} ms  server busy {outcome['server_busy']:.0%}  "
                      f"client busy {outcome['client_busy']:.0%}  "
                      + " ".join(f"{k} {v}" for k, v in outcome["losses"].items())
                      + (f"  ERRORS {errors}" if errors else ""),
                      flush=True)
    return results


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def report_preamble(results, facts):
    """The report's first lines (also tls_handshakes'): the facts and what TLS each server chose."""
    return facts + ["", "TLS with OpenSSL's client defaults (openssl s_client): " + "; ".join(
        f"{label}: {c['protocol']} {c['cipher']}" for label, c in results["checks"].items()), ""]


def report(args, results, facts):
    lines = report_preamble(results, facts)
    say = lines.append
    runs = results["runs"]
    servers = list(dict.fromkeys(r["server"] for r in runs))
    names = list(dict.fromkeys(r["workload"] for r in runs))
    say(f"wrk -t1 -c{args.connections} -d{args.seconds}s --latency; medians of {args.repetitions} "
        f"repetitions; latency in ms; busy = CPU time / wall time (1.00 = one CPU).")
    say("")
    say("Losses per run (medians): tap TX dropped = frames the image's tap dropped on their way in; "
        "retransmits and timeouts = the client kernel's (nstat TcpRetransSegs, TcpExtTCPTimeouts).")
    say("")
    say("| workload | server | requests/s | min-max | p50 | p99 | server busy | wrk busy | errors "
        "| tap TX dropped | client retransmits | client timeouts |")
    say("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def loss(rows, key):
        value = median([r.get("losses", {}).get(key) for r in rows])
        return "-" if value is None else f"{value:.0f}"

    for name, label, rows, rates, errors in bench_support.wrk_rows(runs):
        say(f"| {name} | {label} | {median(rates):.0f} | {min(rates):.0f}-{max(rates):.0f} "
            f"| {median([r['p50_ms'] for r in rows]):.2f} | {median([r['p99_ms'] for r in rows]):.2f} "
            f"| {median([r['server_busy'] for r in rows]):.2f} | {median([r['client_busy'] for r in rows]):.2f} "
            f"| {errors} | {loss(rows, 'tap_tx_dropped')} | {loss(rows, 'retransmits')} "
            f"| {loss(rows, 'timeouts')} |")
    say("")
    say("Requests/s ratios, Morgana / peer: ratio of the medians [range of the ratios within a repetition].")
    say("")
    header = [(ours, peer) for ours, peers in COMPARISONS for peer in peers if ours in servers and peer in servers]
    say("| workload | " + " | ".join(f"{ours} / {peer}" for ours, peer in header) + " |")
    say("|---|" + "---:|" * len(header))
    for name in names:
        cells = []
        for ours, peer in header:
            by_repetition = {}
            for r in runs:
                if r["workload"] == name and r["server"] in (ours, peer):
                    by_repetition.setdefault(r["repetition"], {})[r["server"]] = r["requests_per_second"]
            ratios = [v[ours] / v[peer] for v in by_repetition.values() if ours in v and v.get(peer)]
            mine = median([r["requests_per_second"] for r in runs if r["workload"] == name and r["server"] == ours])
            theirs = median([r["requests_per_second"] for r in runs if r["workload"] == name and r["server"] == peer])
            cells.append(f"{mine / theirs:.2f} [{min(ratios):.2f}-{max(ratios):.2f}]" if theirs and ratios else "-")
        say(f"| {name} | " + " | ".join(cells) + " |")
    for r in runs:
        r.pop("raw", None)
    bench_support.write_report("http_static", "\n".join(lines), results, bench_logs(args))


def bench_logs(args):
    return args.work_dir / "logs"


def common_setup(args):
    """Site, keys and the static-site binary (built unless --binary is given)."""
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.site = prepare_site(args.work_dir)
    args.certs = prepare_certs(args.work_dir)
    if args.binary is None:
        args.binary, args.build_command = build_static_site("hosted", args.preset, args.certs, args.site,
                                                            args.work_dir)
    else:
        args.build_command = f"(given) {args.binary}"


def add_common_options(parser):
    parser.add_argument("--binary", type=Path,
                        help="a static-site binary built with this bench's site and keys (default: build it)")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help=f"servers to run, comma-separated (default {','.join(SERVERS)})")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--preset", default="hosted",
                        help="CMake preset static-site is built with (default hosted; hosted-asan to reuse "
                        "a test build's objects, numbers then include AddressSanitizer's cost)")
    parser.add_argument("--morgana-args", default="",
                        help="more arguments for static-site, e.g. '--offload=none' (default: none)")


def check_machine():
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces and tap devices): sudo python3 ...")
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs 2 CPUs (the server on CPU 1, the client on CPU 0)")
    for tool in ("wrk", "nginx", "openssl", "curl", "taskset", "ip"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing (scripts/setup)")


def run_hosted(args, name, measure_runs, write_report):
    """The whole run of a hosted bench (this one, tls_handshakes): the servers in --servers
    set up, measure_runs(bench, args) -> results, the servers gone, write_report(args, results, facts)."""
    wanted = [s for s in args.servers.split(",") if s]
    for label in wanted:
        if label not in SERVERS:
            sys.exit(f"{name}: unknown server '{label}' (one of {', '.join(SERVERS)})")
    check_machine()
    install_signal_handlers()
    bench_support.remove_stale_namespaces(PREFIX)
    started = time.time()
    load_before = load_average()
    bench = None
    with bench_support.exit_on_failure(name, lambda: bench and bench.cleanup()):
        common_setup(args)
        bench = Bench(args)
        bench.setup(wanted)
        results = measure_runs(bench, args)
    load_after = load_average()
    facts = machine_facts(started) + [
        f"static-site: {args.build_command}",
        f"load average before {load_before}, after {load_after}; the run took {time.time() - started:.0f} s"]
    results["facts"] = facts
    write_report(args, results, facts)


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    add_common_options(parser)
    parser.add_argument("--seconds", type=int, default=10, help="wrk -d per run (default 10)")
    parser.add_argument("--repetitions", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk -c (default 64)")
    parser.add_argument("--paths", default=f"index.html,{LARGE_FILE}",
                        help=f"files to fetch (default index.html,{LARGE_FILE})")
    parser.add_argument("--workloads",
                        help="only these, comma-separated, e.g. 'HTTP keep-alive /index.html' (their files "
                        "replace --paths; default: HTTP and HTTPS, keep-alive and close, for each of --paths)")
    args = parser.parse_args()
    args.paths = [p for p in args.paths.split(",") if p]
    if args.workloads is not None:
        args.workloads = [w for w in args.workloads.split(",") if w]
        args.paths = list(dict.fromkeys(w.rpartition("/")[2] for w in args.workloads))
        known = [workload_name((s, c, p)) for s in ("http", "https") for c in (False, True) for p in args.paths]
        for w in args.workloads:
            if w not in known:
                sys.exit(f"http_static: unknown workload '{w}' (e.g. 'HTTP keep-alive /index.html')")
    run_hosted(args, "http_static", measure, report)


if __name__ == "__main__":
    main()
