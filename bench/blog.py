#!/usr/bin/env python3
"""The blog (examples/blog) against issue 11's goals, in one run: requests/s of an article
page against static-site and nginx serving the same bytes; the refresh after one changed
post of a 1,000-post repository against a full render (CPU and wall time); the stripped
size of the PVH image; the smallest QEMU -m at which it boots, clones 100 posts and serves.

    sudo python3 bench/blog.py                 # about 10 minutes; --help for options
    python3 bench/blog.py --parts refresh,size,memory     # no root needed for these

Parts (--parts, all by default):
  http     examples/blog (preset hosted) serving a generated 100-post repository from a
           local `git daemon`, static-site with the blog's article page crunched in, and
           nginx (1 worker, pinned) serving that file; wrk -t1 on CPU 0 fetches the article
           with keep-alive and with one request per connection. On taps from a client
           namespace (nginx over a veth) and over loopback in a namespace (--net=socket), as
           bench/http_static.py sets them up. The article is taken from the blog itself
           (a first run over loopback) and written to build/bench/blog/site/PATH.html.
           Ratios: blog / static-site (goal >= 0.95) and blog / nginx.
  refresh  bench/blog_refresh (preset hosted) fetches a generated 1,000-post repository
           whose last commit edits one post, then times a full render of the commit before
           it (dates from scratch, TreeStore, render) and the refresh to the last commit
           (dates incremental, TreeStore reusing the previous, render given the previous
           snapshot), process CPU and wall; it checks once that the refreshed snapshot
           serves what a full render does. Goals: refresh < 5% of full, < 50 ms CPU.
  size     examples/blog built for pvh (preset pvh): `llvm-strip-19 -o - IMAGE | wc -c`
           (goal <= 1.5 MiB).
  memory   that image in QEMU (microvm, TCG, user networking) cloning a generated 100-post
           repository from `git daemon` on the host (10.0.2.2): the smallest -m (MiB) at
           which `/` and an article answer 200 with the blog's bytes; doubling, then a
           bisection (goal <= 16 MiB).

Namespaces are named mgl<pid>-* and removed on every exit path; processes are stopped by
PID. Logs and the raw measurements are in build/bench/blog/ and build/bench/blog.json.
"""

import argparse
import contextlib
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import bench_support
import blog_repository
import http_static
from bench_support import (OUT_DIR, ROOT, SERVER_CPU, Failure, Server, die_with_parent, free_port,
                           install_signal_handlers, load_average, machine_facts, run)

NAME = "blog"
WORK_DIR = OUT_DIR / NAME
LOG_DIR = WORK_DIR / "logs"
PREFIX = "mgl"
PARTS = ("http", "refresh", "size", "memory")
SERVERS = ("blog", "static-site", "nginx")
TRANSPORTS = ("tap", "loopback")
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent",
           "PATH": "/usr/bin:/bin"}
SIZE_GOAL = 1.5 * 1024 * 1024
MEMORY_GOAL = 16
REFRESH_SHARE_GOAL = 0.05
REFRESH_CPU_GOAL_MS = 50
BOOT_TIMEOUT = 120  # seconds for a guest to clone, render and answer (TCG, a small -m)


def repository(posts):
    """A generated repository with `posts` articles, served from WORK_DIR/repo-POSTS/blog.git."""
    base = WORK_DIR / f"repo-{posts}"
    if base.exists():
        shutil.rmtree(base)
    info = blog_repository.generate(base / "blog.git", posts)
    info["base"] = base
    # An article in the index's folder, from the middle of the history.
    info["article"] = next(p for p in info["articles"][posts // 3:] if p.startswith("Posts/"))
    return info


def git_daemon_command(base, port, address):
    return ["git", "daemon", "--export-all", f"--base-path={base}", f"--port={port}", f"--listen={address}",
            "--reuseaddr", "--verbose"]


@contextlib.contextmanager
def local_process(command, label, wait_for, timeout=30):
    """`command` started here (no namespace), its output in LOG_DIR/LABEL.log, waited for until
    a line matches `wait_for`; stopped by PID on leaving."""
    log_path = LOG_DIR / f"{label}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=GIT_ENV if command[0] == "git" else None, preexec_fn=die_with_parent)
    try:
        deadline = time.monotonic() + timeout
        while not re.search(wait_for, log_path.read_text(errors="replace")):
            if process.poll() is not None:
                raise Failure(f"{label} exited ({process.returncode}): {log_path.read_text(errors='replace')[-1500:]}")
            if time.monotonic() > deadline:
                raise Failure(f"{label} did not log /{wait_for}/ within {timeout} s ({log_path})")
            time.sleep(0.05)
        yield process, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def curl(url, timeout=30):
    """(status, body) of a GET."""
    body_path = LOG_DIR / "curl.body"
    result = run(["curl", "-sS", "--http1.1", "-o", str(body_path), "-w", "%{http_code}", "--max-time",
                  str(timeout), url], check=False, timeout=timeout + 10)
    if result.returncode != 0:
        return None, result.stderr.strip()
    return int(result.stdout), body_path.read_bytes()


# --- the article page, and the builds --------------------------------------------------------------

def article_page(args, repo):
    """The article's HTML as the hosted blog serves it over loopback, written where static-site and
    nginx serve it (WORK_DIR/site/PATH.html)."""
    daemon_port, http_port = free_port(), free_port()
    with local_process(git_daemon_command(repo["base"], daemon_port, "127.0.0.1"), "git-daemon-article",
                       r"Ready to rumble"), \
         local_process([str(args.blog), "--net=socket", "--socket-address=127.0.0.1", f"--port={http_port}",
                        "--tls=0", f"--remote=git://127.0.0.1:{daemon_port}/blog.git"], "blog-article",
                       rf"serving {repo['head']} \("):
        status, body = curl(f"http://127.0.0.1:{http_port}/{repo['article']}")
    if status != 200 or b"<html" not in body:
        raise Failure(f"the blog did not serve /{repo['article']}: {status} {body[:200]!r}")
    site = WORK_DIR / "site"
    if site.exists():
        shutil.rmtree(site)
    page = site / f"{repo['article']}.html"
    page.parent.mkdir(parents=True)
    page.write_bytes(body)
    # nginx's workers run as nobody.
    for path in (WORK_DIR, site, page.parent):
        path.chmod(0o755)
    page.chmod(0o644)
    return site, page


# --- http --------------------------------------------------------------------------------------

class HttpBench(bench_support.HttpBench):
    PREFIX = PREFIX

    def __init__(self, args):
        super().__init__(args, LOG_DIR)
        self.paths = {}  # server label -> the article's path there

    def blog(self, namespace, net_arguments, remote, label):
        command = [str(self.args.blog), *net_arguments, "--port=80", "--tls=0", f"--remote={remote}",
                   "--logs=http:warn"]
        return self.spawn(namespace, command, label, rf"serving {self.args.repo['head']} \(", cpu=SERVER_CPU)

    def static_site(self, namespace, net_arguments, label):
        command = [str(self.args.static_site), *net_arguments, "--port=80", "--tls=0", "--logs=http:warn"]
        return self.spawn(namespace, command, label, r"serving", cpu=SERVER_CPU)

    def add(self, label, namespace, address, process, path):
        self.servers[label] = Server(label, label.split()[0], namespace, address, address, {"http": process})
        self.paths[label] = path

    def setup(self):
        repo, page_path = self.args.repo, self.args.page.relative_to(self.args.site).as_posix()
        git_daemon = git_daemon_command(repo["base"], 9418, "{address}")
        if "tap" in self.args.transports:
            cli, srv = self.namespace("cli"), self.namespace("srv")
            run(["ip", "-n", cli, "link", "add", "c0", "type", "veth", "peer", "name", "s0", "netns", srv])
            run(["ip", "-n", cli, "addr", "add", "10.1.0.1/24", "dev", "c0"])
            run(["ip", "-n", srv, "addr", "add", "10.1.0.2/24", "dev", "s0"])
            for namespace, device in ((cli, "c0"), (srv, "s0")):
                run(["ip", "-n", namespace, "link", "set", device, "up"])
            for tap, subnet in (("tap0", "10.0.0"), ("tap1", "10.0.1")):
                run(["ip", "-n", cli, "tuntap", "add", "dev", tap, "mode", "tap"])
                run(["ip", "-n", cli, "addr", "add", f"{subnet}.1/24", "dev", tap])
                run(["ip", "-n", cli, "link", "set", tap, "up"])
            self.spawn(cli, [part.format(address="10.0.0.1") for part in git_daemon], "git-daemon-tap",
                       r"Ready to rumble")
            self.add("blog tap", cli, "10.0.0.2",
                     self.blog(cli, ["--net=tap0", "--ipv4=10.0.0.2/24"], "git://10.0.0.1/blog.git", "blog-tap"),
                     repo["article"])
            self.add("static-site tap", cli, "10.0.1.2",
                     self.static_site(cli, ["--net=tap1", "--ipv4=10.0.1.2/24"], "static-site-tap"), page_path)
            self.add("nginx veth", cli, "10.1.0.2", self.nginx(srv, "10.1.0.2", 1, "nginx-veth", SERVER_CPU),
                     page_path)
        if "loopback" in self.args.transports:
            lo = self.namespace("lo")
            for address in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
                run(["ip", "-n", lo, "addr", "add", f"{address}/8", "dev", "lo"])
            self.spawn(lo, [part.format(address="127.0.0.1") for part in git_daemon], "git-daemon-loopback",
                       r"Ready to rumble")
            self.add("blog loopback", lo, "127.0.0.2",
                     self.blog(lo, ["--net=socket", "--socket-address=127.0.0.2"], "git://127.0.0.1/blog.git",
                               "blog-loopback"), repo["article"])
            self.add("static-site loopback", lo, "127.0.0.3",
                     self.static_site(lo, ["--net=socket", "--socket-address=127.0.0.3"], "static-site-loopback"),
                     page_path)
            self.add("nginx loopback", lo, "127.0.0.4",
                     self.nginx(lo, "127.0.0.4", 1, "nginx-loopback", SERVER_CPU), page_path)
            for label in ("blog loopback", "static-site loopback"):
                self.wait_listening(lo, self.servers[label].address["http"], 80, label)

    def check(self):
        """Every server answers the article with 200 and exactly the page's bytes."""
        expected = self.args.page.read_bytes()
        body_path = LOG_DIR / "check.body"
        for label, server in self.servers.items():
            result = self.client(server, "curl", "-sS", "--http1.1", "-o", str(body_path), "-w", "%{http_code}",
                                 "--max-time", "20", server.url("http", self.paths[label]), check=False)
            body = body_path.read_bytes() if body_path.exists() else b""
            if result.returncode != 0 or result.stdout != "200" or body != expected:
                raise Failure(f"{label}: /{self.paths[label]}: {result.stdout or result.stderr.strip()}, "
                              f"{len(body)} bytes (expected 200 and the page's {len(expected)})")
            body_path.unlink()


def measure_http(args):
    results = {"runs": []}
    bench = HttpBench(args)
    with bench_support.exit_on_failure(NAME, bench.cleanup):
        bench.setup()
        bench.check()
        print(f"  http: every server serves the article's {args.page.stat().st_size} bytes", flush=True)
        workloads = [("keep-alive", False), ("close", True)]
        for label, server in bench.servers.items():  # warm-up, not recorded
            for _, close in workloads:
                bench.wrk(server, "http", close, bench.paths[label], 1)
        for repetition in range(args.repetitions):
            for workload, close in workloads:
                for label, server in bench.servers.items():
                    outcome = bench.wrk(server, "http", close, bench.paths[label], args.seconds)
                    outcome.pop("raw")
                    outcome.update(server=label, workload=workload, repetition=repetition)
                    results["runs"].append(outcome)
                    errors = sum(outcome["errors"].values()) + outcome["non_2xx"]
                    print(f"  #{repetition} {workload:10} {label:22} {outcome['requests_per_second']:9.0f} req/s  "
                          f"p99 {outcome['p99_ms']:.2f} ms  server busy {outcome['server_busy']:.0%}"
                          + (f"  ERRORS {errors}" if errors else ""), flush=True)
    return results


def report_http(args, results, say):
    runs = results["runs"]
    say(f"### Article page: requests/s\n")
    say(f"`/{args.repo['article']}` of the {args.memory_posts}-post repository, {args.page.stat().st_size} bytes "
        f"of HTML, plain HTTP; wrk -t1 -c{args.connections} -d{args.seconds}s on CPU 0, every server on CPU 1 "
        f"(nginx: 1 worker); medians of {args.repetitions} repetitions, busy = server CPU / wall.\n")
    say("| workload | server | requests/s | min-max | p99 ms | server busy | server CPU µs/request | errors |")
    say("|---|---|---:|---:|---:|---:|---:|---:|")
    for workload, label, rows, rates, errors in bench_support.wrk_rows(runs):
        say(f"| {workload} | {label} | {statistics.median(rates):.0f} | {min(rates):.0f}-{max(rates):.0f} | "
            f"{statistics.median(r['p99_ms'] for r in rows):.2f} | "
            f"{statistics.median(r['server_busy'] for r in rows):.2f} | "
            f"{statistics.median(1e6 * r['server_busy'] / r['requests_per_second'] for r in rows):.1f} | "
            f"{errors} |")
    say("\nRatios of the medians, blog / peer [range of the ratios within a repetition]:\n")
    say("| workload | transport | blog / static-site (goal >= 0.95) | blog / nginx |")
    say("|---|---|---:|---:|")
    peers = {"tap": ("static-site tap", "nginx veth"), "loopback": ("static-site loopback", "nginx loopback")}
    results["ratios"] = {}
    for workload in dict.fromkeys(r["workload"] for r in runs):
        for transport in args.transports:
            cells = []
            for peer in peers[transport]:
                by_repetition = {}
                for r in runs:
                    if r["workload"] == workload and r["server"] in (f"blog {transport}", peer):
                        by_repetition.setdefault(r["repetition"], {})[r["server"]] = r["requests_per_second"]
                ratios = [v[f"blog {transport}"] / v[peer] for v in by_repetition.values() if len(v) == 2]
                medians = [statistics.median(r["requests_per_second"] for r in runs
                                             if r["workload"] == workload and r["server"] == s)
                           for s in (f"blog {transport}", peer)]
                ratio = medians[0] / medians[1]
                results["ratios"][f"{workload} {transport} / {peer}"] = ratio
                cells.append(f"{ratio:.2f} [{min(ratios):.2f}-{max(ratios):.2f}]")
            say(f"| {workload} | {transport} | " + " | ".join(cells) + " |")
    say("")


# --- refresh -----------------------------------------------------------------------------------

FIELDS = ("cpu_us", "wall_us", "history_us", "tree_us", "render_us", "articles", "rendered", "pages")


def measure_refresh(args):
    repo = repository(args.posts)
    port = free_port()
    command = [str(args.refresh), "--net=socket", f"--remote=git://127.0.0.1:{port}/blog.git",
               f"--repetitions={args.repetitions}"]
    with local_process(git_daemon_command(repo["base"], port, "127.0.0.1"), "git-daemon-refresh", r"Ready to rumble"):
        result = run(command, timeout=1800)
        instructions = refresh_instructions(command) if args.callgrind else None
    (LOG_DIR / "blog_refresh.log").write_text(result.stdout + result.stderr)
    phases = {"full": [], "refresh": [], "check": []}
    for phase, values in re.findall(r"^blog_refresh: (full|refresh|check) (cpu_us .*)$", result.stdout, re.MULTILINE):
        numbers = dict(zip(values.split()[::2], map(int, values.split()[1::2])))
        phases[phase].append({field: numbers[field] for field in FIELDS})
    checked = re.search(r"^blog_refresh: checked (\d+) entries", result.stdout, re.MULTILINE)
    if len(phases["full"]) != args.repetitions or len(phases["refresh"]) != args.repetitions or not checked:
        raise Failure(f"blog_refresh printed an unexpected report: {result.stdout[-1500:]}")
    return {"posts": args.posts, "changed": repo["changed"], "checked_entries": int(checked.group(1)),
            "instructions": instructions,
            "command": " ".join(command[:1] + ["--net=socket", "--remote=git://127.0.0.1:PORT/blog.git"]
                                + command[3:]).replace(str(ROOT) + "/", ""), **phases}


def refresh_instructions(command):
    """Instructions of one refresh and one full render (of the last commit: blog_refresh's check), from
    one run under callgrind dumping after each rendered head (debug info stripped: Debian's valgrind
    cannot read clang-19's DWARF 5)."""
    stripped = WORK_DIR / "blog_refresh.stripped"
    run(["llvm-objcopy-19", "--strip-debug", command[0], str(stripped)])
    out = WORK_DIR / "callgrind.out"
    for old in WORK_DIR.glob("callgrind.out*"):
        old.unlink()
    run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-after=*render_head*",
         str(stripped), *command[1:-1], "--repetitions=1"], timeout=3600)
    # Dumps: 1 the fetch and the full render, 2 the refresh, 3 the check's full render.
    totals = {}
    for part, phase in ((2, "refresh"), (3, "full")):
        summary = re.search(r"^summary: (\d+)", Path(f"{out}.{part}").read_text(), re.MULTILINE)
        if not summary:
            raise Failure(f"no summary in {out}.{part}")
        totals[phase] = int(summary.group(1))
    return totals


def report_refresh(args, results, say):
    say("### Refresh after one changed post\n")
    say(f"A generated repository of {results['posts']} posts (2-5 KB of markdown, 1-4 tags of 20, three "
        f"folders), one commit a day; its last commit edits {results['changed']}. bench/blog_refresh (preset "
        f"hosted) fetches it once, then, {args.repetitions} times: a full render of the commit before the last "
        f"(dates from scratch, TreeStore, render) and the refresh to the last (dates incremental, TreeStore "
        f"reusing, render with the previous snapshot). Process CPU and wall time in ms, medians. The refreshed "
        f"snapshot was checked to serve what a full render serves ({results['checked_entries']} entries).\n")
    say("| render | CPU ms | wall ms | dates ms | TreeStore ms | render ms | articles rendered | pages rendered |")
    say("|---|---:|---:|---:|---:|---:|---:|---:|")
    med = {}
    for phase in ("full", "refresh"):
        rows = results[phase]
        med[phase] = {f: statistics.median(r[f] for r in rows) for f in FIELDS}
        m = med[phase]
        say(f"| {phase} | {m['cpu_us'] / 1000:.1f} | {m['wall_us'] / 1000:.1f} | {m['history_us'] / 1000:.1f} | "
            f"{m['tree_us'] / 1000:.1f} | {m['render_us'] / 1000:.1f} | {m['rendered']:.0f} of "
            f"{m['articles']:.0f} | {m['pages']:.0f} |")
    share = med["refresh"]["cpu_us"] / med["full"]["cpu_us"]
    cpu_ms = med["refresh"]["cpu_us"] / 1000
    results["share"], results["refresh_cpu_ms"] = share, cpu_ms
    say(f"\nRefresh / full render, CPU: {share:.1%} (goal < {REFRESH_SHARE_GOAL:.0%}: "
        f"{'met' if share < REFRESH_SHARE_GOAL else 'missed'}); refresh CPU {cpu_ms:.1f} ms (goal < "
        f"{REFRESH_CPU_GOAL_MS} ms: {'met' if cpu_ms < REFRESH_CPU_GOAL_MS else 'missed'}).\n")
    if results["instructions"]:
        counts = results["instructions"]
        say(f"Instructions (callgrind, one run): refresh {counts['refresh']:,}, full render {counts['full']:,}: "
            f"{counts['refresh'] / counts['full']:.2%}.\n")


# --- pvh: size and memory ----------------------------------------------------------------------

def measure_size(args):
    stripped = run(["sh", "-c", 'llvm-strip-19 -o - "$1" | wc -c', "sh", str(args.image)]).stdout
    return {"stripped": int(stripped), "unstripped": args.image.stat().st_size}


def report_size(results, say):
    size = results["stripped"]
    say("### PVH image size\n")
    say(f"`llvm-strip-19 -o - build/app-blog-pvh/blog.elf | wc -c`: {size} bytes = {size / 2**20:.2f} MiB "
        f"(goal <= 1.5 MiB: {'met' if size <= SIZE_GOAL else 'missed'}); unstripped "
        f"{results['unstripped'] / 2**20:.1f} MiB.\n")


def boots_and_serves(args, repo, daemon_port, memory, trials):
    """Boots the image with -m `memory`: True when it clones, renders and serves `/` and the article
    with the bytes the hosted blog serves."""
    guest_args = types.SimpleNamespace(machine="microvm", memory=memory, image=args.image)
    label = f"pvh-m{memory}"
    boot = ["--remote=" + f"git://10.0.2.2:{daemon_port}/blog.git", "--tls=0", "--port=80"]
    guest = bench_support.ForwardedGuest(guest_args, "morgana", label, boot, LOG_DIR)
    detail, ok = "", False
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT
        serving = re.compile(rf"serving {repo['head']} \(")
        while not any(serving.search(line) for line in list(guest.lines)):
            if not guest.alive():
                detail = f"QEMU exited ({guest.process.returncode}): {guest.tail(4)}"
                break
            failed = next((line for line in list(guest.lines) if "out of memory" in line), None)
            if failed:  # a pull that ran out of memory is retried with backoff, never to succeed
                detail = failed
                break
            if time.monotonic() > deadline:
                detail = f"not serving within {BOOT_TIMEOUT} s: {guest.tail(4)}"
                break
            time.sleep(0.2)
        else:
            port = guest.ports["http"]
            index, _ = curl(f"http://127.0.0.1:{port}/")
            status, body = curl(f"http://127.0.0.1:{port}/{repo['article']}")
            ok = index == 200 and status == 200 and body == args.pvh_expected
            detail = f"/ {index}, /{repo['article']} {status}" + ("" if ok else f" ({len(body)} bytes)")
            if ok and not guest.alive():
                ok, detail = False, f"QEMU exited after serving: {guest.tail(4)}"
    finally:
        guest.stop()
    trials.append({"memory": memory, "serves": ok, "detail": detail, "log": label + ".log"})
    print(f"  memory -m {memory}: {'serves' if ok else 'fails'} ({detail[:160]})", flush=True)
    return ok


def measure_memory(args):
    repo = repository(args.memory_posts)
    port = free_port()
    trials = []
    # The guest's pages must be the hosted blog's, byte for byte (same repository, same settings).
    with local_process(git_daemon_command(repo["base"], port, "127.0.0.1"), "git-daemon-memory", r"Ready to rumble"):
        http_port = free_port()
        with local_process([str(args.blog), "--net=socket", "--socket-address=127.0.0.1", f"--port={http_port}",
                            "--tls=0", f"--remote=git://127.0.0.1:{port}/blog.git"], "blog-memory-reference",
                           rf"serving {repo['head']} \("):
            status, args.pvh_expected = curl(f"http://127.0.0.1:{http_port}/{repo['article']}")
        if status != 200:
            raise Failure(f"the hosted blog did not serve /{repo['article']}: {status}")
        minimum = bench_support.smallest_passing(lambda m: boots_and_serves(args, repo, port, m, trials),
                                                 args.memory_start, args.memory_limit)
    return {"posts": args.memory_posts, "minimum": minimum, "trials": trials}


def report_memory(args, results, say):
    say("### Smallest memory\n")
    minimum = results["minimum"]
    say(f"The PVH image in `qemu-system-x86_64 -M microvm -cpu max -m M` (TCG, user networking) with "
        f"`--remote=git://10.0.2.2:PORT/blog.git --tls=0 --port=80`, cloning a generated {results['posts']}-post "
        f"repository from `git daemon` on the host: the smallest M (MiB) at which `/` and an article answer 200 "
        f"with the hosted blog's bytes: **{minimum if minimum else f'more than {args.memory_limit}'}** "
        f"(goal <= {MEMORY_GOAL} MiB: {'met' if minimum and minimum <= MEMORY_GOAL else 'missed'}).\n")
    say("Trials: " + "; ".join(f"-m {t['memory']} {'serves' if t['serves'] else 'fails: ' + t['detail'][:100]}"
                               for t in results["trials"]) + "\n")


# --- the run -----------------------------------------------------------------------------------

def build(args):
    """What the parts need, each built once; the commands for the report."""
    commands = []
    if {"http", "memory"} & args.parts:
        args.blog, command = bench_support.build_app("examples/blog", "hosted", "hosted", work_dir=WORK_DIR)
        commands.append(command)
    if "refresh" in args.parts:
        args.refresh, command = bench_support.build_app("bench/blog_refresh", "hosted", "hosted", work_dir=WORK_DIR)
        commands.append(command)
    if {"size", "memory"} & args.parts:
        args.image, command = bench_support.build_app("examples/blog", "pvh", work_dir=WORK_DIR)
        commands.append(command)
    return commands


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated (default {','.join(PARTS)})")
    parser.add_argument("--seconds", type=int, default=10, help="wrk -d per run (default 10)")
    parser.add_argument("--repetitions", type=int, default=3,
                        help="repetitions of the wrk runs and of the renders (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk -c (default 64)")
    parser.add_argument("--transports", default=",".join(TRANSPORTS),
                        help=f"http part: comma-separated (default {','.join(TRANSPORTS)})")
    parser.add_argument("--posts", type=int, default=1000, help="refresh part: posts in the repository (default 1000)")
    parser.add_argument("--memory-posts", type=int, default=100,
                        help="http and memory parts: posts in the repository (default 100)")
    parser.add_argument("--callgrind", action="store_true",
                        help="refresh part: also count instructions under callgrind (a few minutes more)")
    parser.add_argument("--memory-start", type=int, default=16, help="memory part: first -m tried, MiB (default 16)")
    parser.add_argument("--memory-limit", type=int, default=512, help="memory part: largest -m, MiB (default 512)")
    args = parser.parse_args()
    args.parts = {p for p in args.parts.split(",") if p}
    args.transports = [t for t in args.transports.split(",") if t]
    if args.parts - set(PARTS) or set(args.transports) - set(TRANSPORTS):
        sys.exit(f"{NAME}: parts are {', '.join(PARTS)}; transports {', '.join(TRANSPORTS)}")
    if "http" in args.parts:
        http_static.check_machine()
    args.work_dir = WORK_DIR  # nginx's working directories
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    install_signal_handlers()
    bench_support.remove_stale_namespaces(PREFIX)
    started, load_before = time.time(), load_average()
    results = {}
    with bench_support.exit_on_failure(NAME, lambda: None):
        commands = build(args)
        if "refresh" in args.parts:
            results["refresh"] = measure_refresh(args)
        if "size" in args.parts:
            results["size"] = measure_size(args)
        if "memory" in args.parts:
            results["memory"] = measure_memory(args)
        if "http" in args.parts:
            args.repo = repository(args.memory_posts)
            args.site, args.page = article_page(args, args.repo)
            args.certs = http_static.prepare_certs(WORK_DIR)  # nginx's configuration has a TLS server too
            args.static_site, command = bench_support.build_app(
                "examples/static-site", "hosted", "hosted", [f"site={args.site}"], WORK_DIR)
            commands.append(command)
            results["http"] = measure_http(args)
    lines = machine_facts(started) if "http" in args.parts else []
    lines += [f"load average before {load_before}, after {load_average()}; the run took "
              f"{time.time() - started:.0f} s", "", "Built with:", ""] + [f"    {c}" for c in commands] + [""]
    if "http" in results:
        report_http(args, results["http"], lines.append)
    if "refresh" in results:
        report_refresh(args, results["refresh"], lines.append)
    if "size" in results:
        report_size(results["size"], lines.append)
    if "memory" in results:
        report_memory(args, results["memory"], lines.append)
    results["facts"] = lines[:2]
    bench_support.write_report(NAME, "\n".join(lines).rstrip() + "\n", results, LOG_DIR)


if __name__ == "__main__":
    main()
