#!/usr/bin/env python3
"""Git over git:// (issue 10): tests/git_repo_app on the hosted target (--net=socket)
against git itself, both fetching the cmark history from one local `git daemon`, in one
run:

  - full clone: git_repo_app against `git clone --bare --quiet`: wall time, CPU
    (user+sys) and peak RSS, with the peak RSS against the pack's size;
  - incremental fetch of one new commit (git_repo_app --refetch-after, one commit pushed
    while it waits) against `git fetch` into a bare clone: CPU, as a share of each
    side's full-clone CPU;
  - per-path dates (git_repo_app --dates, when the app has it) against `git log -1` and
    `git log --reverse --diff-filter=A` for every path of the head tree, with every date
    checked against git's.

    python3 bench/git_clone.py                  # about 2.5 minutes; --help for --runs, --binary

It ends by printing its docs/BENCHMARKS.md section (also written to build/bench/git_clone.md,
the raw runs to git_clone.json, the apps' output to build/bench/git_clone/logs/).

The script builds what it measures (the commands are printed and recorded):
    ./morgana configure tests/git_repo_app --target hosted --preset hosted
    ./morgana build tests/git_repo_app --target hosted
The served repository is a bare clone of /work/shared/corpora/cmark.bundle made in a
temporary directory (removed at the end); `git daemon` serves it on 127.0.0.1 at a free
port. No root and no namespaces; the daemon and the apps are stopped by PID.

How each figure is measured (see docs/BENCHMARKS.md):
  - every measured command runs under bench/rusage_exec.c (built here with cc), which
    forks it, waits with wait4() and writes wall time (ns), user and system CPU (us) and
    ru_maxrss. Linux fills that rusage with the child's own CPU plus that of every
    descendant it waited for (git clone waits for index-pack and rev-list), and its
    ru_maxrss with the largest peak RSS of any one of those processes. A small wrapper
    is needed because Linux carries the peak RSS across exec: a child forked straight
    from Python would start at Python's 10-15 MiB;
  - git's processes run side by side (clone beside index-pack), so for git the sum of
    VmRSS over the process tree is also sampled every 2 ms ("tree, sampled": a lower
    bound of the true peak of the sum);
  - the incremental fetch's CPU: the app's CPU time so far (/proc/PID/schedstat, ns) read
    once it printed "listed" and sleeps, subtracted from its total CPU at exit. That is
    the second fetch plus the app's `log` of up to 1000 commits after it; the same run
    with nothing new to fetch is reported beside it. One more run under callgrind, with
    the counts dumped (callgrind_control) at "listed", gives the fetch's instructions
    apart from the log's (--no-callgrind skips it).
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_support
from bench_support import OUT_DIR, ROOT, Failure, die_with_parent, exit_on_failure, free_port, \
    install_signal_handlers, load_average, run, write_report

NAME = "git_clone"
WORK_DIR = OUT_DIR / NAME
RUSAGE_EXEC = WORK_DIR / "rusage_exec"
BUNDLE = Path("/work/shared/corpora/cmark.bundle")
APP_DIR = "tests/git_repo_app"
APP_TIMEOUT = 300
REFETCH_AFTER = 3  # s: long enough to push a commit while the app waits
# A git that reads no user or system configuration and commits as a fixed author.
GIT_ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null", GIT_AUTHOR_NAME="bench",
               GIT_AUTHOR_EMAIL="bench@example.com", GIT_COMMITTER_NAME="bench",
               GIT_COMMITTER_EMAIL="bench@example.com", LC_ALL="C")
GOAL_MEMORY_FACTOR = 1.5
GOAL_INCREMENTAL_PERCENT = 1.0


def git(*arguments, cwd=None, timeout=120):
    return run(["git", *arguments], cwd=cwd, env=GIT_ENV, timeout=timeout).stdout


# --- measuring one process (and its descendants) ------------------------------------------------

def descendants(pid):
    """pid and every process below it (by /proc/*/stat's ppid)."""
    children = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            ppid = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def tree_rss_kib(pid):
    total = 0
    for member in descendants(pid):
        with contextlib.suppress(OSError):
            match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{member}/status").read_text(), re.M)
            total += int(match.group(1)) if match else 0
    return total


def cpu_ns(pid):
    """CPU time of a running single-threaded process so far (sum_exec_runtime, ns)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


class Measured:
    """One child process run under rusage_exec, measured: wall (s), cpu (s, user+sys), maxrss (KiB),
    tree_rss (KiB, sampled sum over the tree, when asked for), status, output (when captured).
    on_poll(self) is called every 10 ms while it runs; self.pid is the command's PID."""

    def __init__(self, command, cwd=None, env=None, output=None, sample_tree=False, on_poll=None,
                 timeout=APP_TIMEOUT):
        self.command = [str(c) for c in command]
        descriptor, name = tempfile.mkstemp(prefix="rusage-", dir=WORK_DIR)
        os.close(descriptor)
        result = Path(name)
        stdout = open(output, "wb") if output else subprocess.DEVNULL
        wrapper = subprocess.Popen([str(RUSAGE_EXEC), str(result), *self.command], cwd=cwd, env=env, stdout=stdout,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        if output:
            stdout.close()
        self.pid = None
        self.tree_rss = 0
        deadline = time.monotonic() + timeout
        try:
            while wrapper.poll() is None:
                if self.pid is None:
                    children = descendants(wrapper.pid)[1:]
                    self.pid = children[0] if children else None
                if self.pid is not None:
                    if sample_tree:
                        self.tree_rss = max(self.tree_rss, tree_rss_kib(self.pid))
                    if on_poll:
                        on_poll(self)
                if time.monotonic() > deadline:
                    raise Failure(f"'{' '.join(self.command)}' did not finish within {timeout} s")
                time.sleep(0.002 if sample_tree else 0.01)
        except BaseException:
            for pid in reversed(descendants(wrapper.pid)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            wrapper.wait()
            raise
        fields = result.read_text().split() if wrapper.returncode == 0 else []
        result.unlink()
        if len(fields) != 5:
            raise Failure(f"rusage_exec {' '.join(self.command)} failed ({wrapper.returncode})")
        self.wall = int(fields[0]) / 1e9
        self.cpu = (int(fields[1]) + int(fields[2])) / 1e6
        self.maxrss = int(fields[3])
        self.status = int(fields[4])
        self.output = Path(output).read_text(errors="replace") if output else ""

    def check(self, label):
        if self.status != 0:
            raise Failure(f"{label}: '{' '.join(self.command)}' exited with {self.status}: "
                          f"{self.output.strip()[-1500:]}")
        return self


def build_rusage_exec():
    source = ROOT / "bench" / "rusage_exec.c"
    if not RUSAGE_EXEC.exists() or RUSAGE_EXEC.stat().st_mtime < source.stat().st_mtime:
        run(["cc", "-O2", "-Wall", "-o", str(RUSAGE_EXEC), str(source)])


# --- the served repository ----------------------------------------------------------------------

class Served:
    """A bare clone of the bundle under a temporary base directory, served by git daemon; a
    working clone of it to push new commits from."""

    def __init__(self, temp):
        self.base = temp / "served"
        self.base.mkdir()
        self.repo = self.base / "cmark.git"
        git("clone", "-q", "--bare", str(BUNDLE), str(self.repo))
        self.pack_size = sum(p.stat().st_size for p in (self.repo / "objects" / "pack").glob("*.pack"))
        self.objects = int(re.search(r"in-pack: (\d+)", git("count-objects", "-v", cwd=self.repo)).group(1))
        self.commits = int(git("rev-list", "--count", "HEAD", cwd=self.repo))
        self.branch = git("symbolic-ref", "--short", "HEAD", cwd=self.repo).strip()
        self.work = temp / "work"
        git("clone", "-q", str(self.repo), str(self.work))
        self.pushed = 0
        self.port = free_port()
        self.daemon = subprocess.Popen(["git", "daemon", "--export-all", f"--base-path={self.base}",
                                        f"--port={self.port}", "--listen=127.0.0.1", "--reuseaddr"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                       env=GIT_ENV, preexec_fn=die_with_parent)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.daemon.poll() is not None or time.monotonic() > deadline:
                    raise Failure("git daemon did not start listening")
                time.sleep(0.05)
        self.url = f"git://127.0.0.1:{self.port}/cmark.git"

    def head(self):
        return git("rev-parse", "HEAD", cwd=self.repo).strip()

    def push_commit(self):
        """One new commit on the served branch (one changed file at the top: a blob, a tree, a commit)."""
        self.pushed += 1
        changes = self.work / "bench-changes.txt"
        with open(changes, "a") as f:
            f.write(f"change {self.pushed}\n")
        git("add", changes.name, cwd=self.work)
        git("commit", "-qm", f"bench change {self.pushed}", cwd=self.work)
        git("push", "-q", "origin", f"HEAD:{self.branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work).strip()

    def stop(self):
        if self.daemon.poll() is None:
            os.kill(self.daemon.pid, signal.SIGTERM)
            try:
                self.daemon.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.daemon.pid, signal.SIGKILL)
                self.daemon.wait()


# --- the three comparisons ----------------------------------------------------------------------

def app_lines(output, kind):
    return re.findall(rf"^git_repo_app: {kind} (.*)$", output, re.M)


def pack_line(output):
    """(objects, thin, bytes) of each pack the app fetched."""
    return [tuple(map(int, m)) for m in
            re.findall(r"^git_repo_app: pack (\d+) objects (\d+) thin (\d+) bytes", output, re.M)]


def measure_clones(args, binary, served, temp, logs):
    """Alternating runs of our clone and git's; returns {"ours": [...], "git": [...]} of dicts."""
    results = {"ours": [], "git": []}
    expected_head = served.head()
    for number in range(1, args.runs + 1):
        ours = Measured([binary, "--net=socket", f"--remote={served.url}"], output=logs / f"clone-ours-{number}.log",
                        timeout=APP_TIMEOUT).check("our clone")
        packs = pack_line(ours.output)
        heads = app_lines(ours.output, "head")
        if len(packs) != 1 or not heads or not heads[0].startswith(expected_head):
            raise Failure(f"our clone {number}: expected one pack and head {expected_head}, got "
                          f"{packs} {heads} ({logs / f'clone-ours-{number}.log'})")
        results["ours"].append({"wall": ours.wall, "cpu": ours.cpu, "maxrss": ours.maxrss, "objects": packs[0][0],
                                "bytes": packs[0][2]})
        target = temp / f"git-clone-{number}.git"
        theirs = Measured(["git", "clone", "--bare", "--quiet", served.url, target], env=GIT_ENV,
                          output=logs / f"clone-git-{number}.log", sample_tree=True).check("git clone")
        if git("rev-parse", "HEAD", cwd=target).strip() != expected_head:
            raise Failure(f"git clone {number} did not end on {expected_head}")
        received = sum(p.stat().st_size for p in (target / "objects" / "pack").glob("*.pack"))
        results["git"].append({"wall": theirs.wall, "cpu": theirs.cpu, "maxrss": theirs.maxrss,
                               "tree_rss": theirs.tree_rss, "bytes": received})
        shutil.rmtree(target)
        print(f"clone {number}/{args.runs}: ours {ours.wall:.3f} s, {ours.cpu:.3f} s CPU, {ours.maxrss} KiB; "
              f"git {theirs.wall:.3f} s, {theirs.cpu:.3f} s CPU, {theirs.maxrss} KiB "
              f"(tree {theirs.tree_rss} KiB)", flush=True)
    return results


def measure_baseline(binary, temp, served, logs):
    """Our app's peak RSS cloning a repository of one commit and one file: what the process
    holds whatever it clones (code, libc, the stack, the event loop)."""
    tiny = temp / "tiny"
    git("init", "-q", "-b", "main", str(tiny))
    (tiny / "a.txt").write_text("a\n")
    git("add", "a.txt", cwd=tiny)
    git("commit", "-qm", "one", cwd=tiny)
    git("clone", "-q", "--bare", str(tiny), str(served.base / "tiny.git"))
    url = f"git://127.0.0.1:{served.port}/tiny.git"
    runs = [Measured([binary, "--net=socket", f"--remote={url}"], output=logs / "baseline.log").check("tiny clone")
            for _ in range(3)]
    return min(r.maxrss for r in runs)


def measure_incremental(args, binary, served, temp, logs):
    """Per run: the app clones, and while it waits (--refetch-after) one commit is pushed or not;
    its CPU after "listed" is the second fetch (and its log). Then git: a bare clone made before the
    push, `git fetch` of the new commit into it. Returns {"ours": [...], "ours_nothing": [...], "git": [...]}."""
    results = {"ours": [], "ours_nothing": [], "git": []}
    for number in range(1, args.runs + 1):
        for push in (True, False):
            label = f"refetch-{'one' if push else 'none'}-{number}"
            target = temp / f"git-fetch-{number}.git"
            if push:
                git("clone", "-q", "--bare", served.url, str(target))
            state = {"pushed": None, "asleep_cpu": None}

            def on_poll(measured, state=state, push=push):
                if state["asleep_cpu"] is not None:
                    return
                text = (logs / f"{label}.log").read_text(errors="replace")
                if "git_repo_app: listed\n" in text:
                    state["asleep_cpu"] = cpu_ns(measured.pid) / 1e9
                    if push:
                        state["pushed"] = served.push_commit()

            ours = Measured([binary, "--net=socket", f"--remote={served.url}", f"--refetch-after={REFETCH_AFTER}s"],
                            output=logs / f"{label}.log", on_poll=on_poll).check(f"our {label}")
            if state["asleep_cpu"] is None:
                raise Failure(f"{label}: the app never printed 'listed'")
            heads = app_lines(ours.output, "head")
            packs = pack_line(ours.output)
            if push:
                if len(heads) != 2 or not heads[1].startswith(state["pushed"]) or len(packs) != 2:
                    raise Failure(f"{label}: the second fetch did not bring {state['pushed']}: {heads} {packs}")
            elif len(heads) != 2 or heads[0] != heads[1] or "git_repo_app: pack none" not in ours.output:
                raise Failure(f"{label}: the second fetch should have brought nothing: {heads}")
            entry = {"cpu_total": ours.cpu, "cpu_after_listed": ours.cpu - state["asleep_cpu"],
                     "second_pack": packs[1] if push else None}
            results["ours" if push else "ours_nothing"].append(entry)
            if push:
                fetch = Measured(["git", "fetch", "--quiet", served.url, f"+refs/heads/{served.branch}:"
                                  f"refs/heads/{served.branch}"], cwd=target, env=GIT_ENV,
                                 output=logs / f"git-fetch-{number}.log").check("git fetch")
                if git("rev-parse", served.branch, cwd=target).strip() != state["pushed"]:
                    raise Failure(f"git fetch {number} did not bring {state['pushed']}")
                results["git"].append({"cpu": fetch.cpu, "wall": fetch.wall})
                shutil.rmtree(target)
            print(f"{label}: ours {entry['cpu_after_listed'] * 1000:.1f} ms CPU after 'listed' "
                  f"(total {ours.cpu:.3f} s)" + (f"; git fetch {results['git'][-1]['cpu'] * 1000:.1f} ms CPU"
                                                 if push else ""), flush=True)
    return results


def callgrind_log_callers(profile, caller):
    """Instructions spent in Repository::log called from `caller` (inclusive), from callgrind_annotate's tree."""
    text = run(["callgrind_annotate", "--inclusive=yes", "--tree=caller", "--threshold=100", str(profile)]).stdout
    callers = []
    for line in text.splitlines():
        match = re.match(r"\s*([\d,]+) \([^)]*\)\s+([<*])\s+(.*)$", line)
        if not match:
            callers = []
            continue
        count, kind, name = int(match.group(1).replace(",", "")), match.group(2), match.group(3)
        if kind == "<":
            callers.append((count, name))
        elif "Repository::log(morgana::git::ObjectId const&, unsigned long) [" in name:
            return sum(c for c, n in callers if caller in n)
        else:
            callers = []
    raise Failure(f"{profile}: no Repository::log in callgrind_annotate's output")


def measure_callgrind(binary, served, temp, logs):
    """Instructions (callgrind) up to "listed" (start, clone, listing) and after it (the second fetch of
    one pushed commit, then the app's log): callgrind_control dumps the counts at "listed", so the
    second part holds only what follows. The log the app runs after its fetch is taken out by name."""
    stripped = temp / "git_repo_app.stripped"  # valgrind 3.19 cannot read clang 19's DWARF 5
    objcopy = shutil.which("llvm-objcopy-19") or "objcopy"
    run([objcopy, "--strip-debug", str(binary), str(stripped)])
    profile = temp / "callgrind.out"
    log_path = logs / "callgrind-app.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}", str(stripped),
                                    "--net=socket", f"--remote={served.url}", "--refetch-after=15s", "--timeout=600s"],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   preexec_fn=die_with_parent)
    try:
        deadline = time.monotonic() + APP_TIMEOUT
        while "git_repo_app: listed\n" not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise Failure(f"the app under callgrind did not list the tree ({log_path})")
            time.sleep(0.1)
        run(["callgrind_control", "--dump", str(process.pid)])
        pushed = served.push_commit()
        process.wait(timeout=APP_TIMEOUT)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    output = log_path.read_text(errors="replace")
    heads = app_lines(output, "head")
    if process.returncode != 0 or len(heads) != 2 or not heads[1].startswith(pushed):
        raise Failure(f"the app under callgrind did not fetch {pushed} ({log_path})")

    def totals(path):
        return int(re.search(r"^totals: (\d+)", path.read_text(), re.M).group(1))

    first, second = profile.with_name(profile.name + ".1"), profile
    app_log = callgrind_log_callers(second, "app_main")
    for path in (first, second):
        shutil.copy2(path, logs / path.name)
    print(f"callgrind: {totals(first):,} instructions to 'listed', {totals(second):,} after it "
          f"({app_log:,} in the app's log)", flush=True)
    return {"clone": totals(first), "after_listed": totals(second), "app_log": app_log,
            "fetch": totals(second) - app_log, "second_pack": pack_line(output)[1]}


def parse_date(text):
    """An instant from an ISO 8601 date (git's %aI) or seconds since the epoch."""
    if re.fullmatch(r"-?\d+", text):
        return datetime.datetime.fromtimestamp(int(text), datetime.timezone.utc)
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def git_dates(repo, paths):
    """{path: (last modified, created)} the way Canopy finds them: two `git log` per path."""
    dates = {}
    for path in paths:
        last = git("log", "-1", "--format=%aI", "--", path, cwd=repo).strip()
        added = git("log", "--reverse", "--diff-filter=A", "--format=%aI", "--", path, cwd=repo).splitlines()
        dates[path] = (last, added[0] if added else "")
    return dates


def measure_dates(args, binary, served, temp, logs):
    """Our app with --dates against without (extra CPU), and git log per path; every date compared."""
    help_text = run([str(binary), "--help"], check=False).stdout
    if "--dates" not in help_text:
        return None
    paths = [line.split("\t", 1)[1] for line in git("ls-tree", "-r", "HEAD", cwd=served.repo).splitlines()]
    results = {"paths": len(paths), "ours_with": [], "ours_without": [], "git": [], "mismatches": []}
    for number in range(1, args.runs + 1):
        without = Measured([binary, "--net=socket", f"--remote={served.url}"],
                           output=logs / f"dates-without-{number}.log").check("our clone without --dates")
        with_dates = Measured([binary, "--net=socket", f"--remote={served.url}", "--dates"],
                              output=logs / f"dates-with-{number}.log").check("our clone with --dates")
        results["ours_without"].append({"cpu": without.cpu, "wall": without.wall, "maxrss": without.maxrss})
        results["ours_with"].append({"cpu": with_dates.cpu, "wall": with_dates.wall, "maxrss": with_dates.maxrss})
        # git log for every path, timed as one process tree: this script re-run in --git-dates mode.
        peer = Measured([sys.executable, __file__, "--git-dates", str(served.repo)],
                        output=logs / f"dates-git-{number}.log").check("git log per path")
        results["git"].append({"cpu": peer.cpu, "wall": peer.wall})
        print(f"dates {number}/{args.runs}: ours +{(with_dates.cpu - without.cpu) * 1000:.0f} ms CPU; "
              f"git log per path {peer.wall:.2f} s, {peer.cpu:.2f} s CPU", flush=True)
    # Correctness: the app's dates against git's, for every path of the head tree.
    ours = {}
    for line in app_lines(with_dates.output, "date"):
        fields = line.split(" ", 2)
        if len(fields) != 3:
            raise Failure(f"--dates printed 'date {line}', not 'date LAST CREATED PATH'")
        ours[fields[2]] = (fields[0], fields[1])
    history = app_lines(with_dates.output, "history")
    results["history_line"] = history[0] if history else None
    expected = git_dates(served.repo, paths)
    for path in paths:
        if path not in ours:
            results["mismatches"].append(f"{path}: no date line")
            continue
        for what, mine, theirs in zip(("last modified", "created"), ours[path], expected[path]):
            try:
                same = parse_date(mine) == parse_date(theirs)
            except ValueError:
                same = False
            if not same:
                results["mismatches"].append(f"{path}: {what} {mine}, git says {theirs}")
    extra = sorted(set(ours) - set(paths))
    results["mismatches"] += [f"{path}: dated by the app, not in the head tree" for path in extra]
    return results


def git_dates_main(repo):
    """--git-dates mode: the peer's work alone, in its own process so that wait4 accounts for it."""
    git_dates(Path(repo), [line.split("\t", 1)[1] for line in git("ls-tree", "-r", "HEAD", cwd=repo).splitlines()])


# --- the report ---------------------------------------------------------------------------------

def med(values):
    return statistics.median(values)


def report(args, data):
    served, clones, baseline = data["served"], data["clones"], data["baseline_kib"]
    ours, theirs = clones["ours"], clones["git"]
    pack_kib = served["pack_size"] / 1024
    lines = [f"## Git clone, incremental fetch and per-path dates against git (hosted, git://)", "",
             f"Run of {data['date']}, tree at {data['commit']}, `--runs {args.runs}`; load average "
             f"{data['load_before']} before, {data['load_after']} after; {data['seconds']:.0f} s.", "",
             "### Command", "", "```sh", data["build"], f"python3 bench/git_clone.py --runs {args.runs}", "```", "",
             f"Served: a bare clone of cmark.bundle ({served['commits']} commits, {served['objects']} objects; "
             f"its pack is {served['pack_size']:,} bytes), `git daemon` on 127.0.0.1. "
             f"Machine: {data['machine']}.", "",
             "### Full clone", "",
             f"Median [min] over {args.runs} runs, ours and git's alternating. Pack size: the served "
             f"repository's `.pack`, {served['pack_size']:,} bytes; our app received "
             f"{ours[0]['bytes']:,} bytes ({ours[0]['objects']} objects), git {theirs[0]['bytes']:,}.", "",
             "| | wall s | CPU s (user+sys) | peak RSS KiB | peak RSS / pack |",
             "|---|---:|---:|---:|---:|"]

    def row(name, runs, key_rss="maxrss"):
        rss = [r[key_rss] for r in runs]
        return (f"| {name} | {med([r['wall'] for r in runs]):.3f} [{min(r['wall'] for r in runs):.3f}] | "
                f"{med([r['cpu'] for r in runs]):.3f} [{min(r['cpu'] for r in runs):.3f}] | "
                f"{med(rss):,.0f} [{min(rss):,}] | {med(rss) / pack_kib:.2f} |")

    lines.append(row("git_repo_app (wait4 ru_maxrss)", ours))
    lines.append(row("git clone --bare (wait4: largest process of the tree)", theirs))
    lines.append(row("git clone --bare (sum over the tree, sampled every 2 ms)", theirs, "tree_rss"))
    lines.append(f"| git_repo_app cloning a 1-commit repository (the fixed part) | | | {baseline:,} | |")
    above = med([r["maxrss"] for r in ours]) - baseline
    lines += ["", f"Ours above that fixed part: {above:,.0f} KiB = {above / pack_kib:.2f} × the pack.", ""]
    wall_ratio = med([r["wall"] for r in ours]) / med([r["wall"] for r in theirs])
    cpu_ratio = med([r["cpu"] for r in ours]) / med([r["cpu"] for r in theirs])
    rss_ratio = med([r["maxrss"] for r in ours]) / med([r["tree_rss"] for r in theirs])
    lines += [f"Ratios ours / git (medians): wall {wall_ratio:.2f}, CPU {cpu_ratio:.2f}, "
              f"peak RSS {rss_ratio:.2f} (against git's sampled tree sum).", ""]

    inc = data["incremental"]
    clone_cpu_ours = med([r["cpu"] for r in ours])
    clone_cpu_git = med([r["cpu"] for r in theirs])
    one = med([r["cpu_after_listed"] for r in inc["ours"]])
    nothing = med([r["cpu_after_listed"] for r in inc["ours_nothing"]])
    git_fetch = med([r["cpu"] for r in inc["git"]])
    pack2 = inc["ours"][0]["second_pack"]
    lines += ["### Incremental fetch of one commit", "",
              f"CPU of the second fetch, median [min] of {args.runs} runs, and as a share of the same side's "
              f"median full-clone CPU. Ours: the app's CPU from its \"listed\" line (asleep) to its exit, i.e. "
              f"the fetch plus a `log` of up to 1000 commits; second pack {pack2[0]} objects, {pack2[1]} thin, "
              f"{pack2[2]} bytes.", "",
              "| | CPU ms | share of a full clone's CPU |", "|---|---:|---:|",
              f"| git_repo_app, one new commit | {one * 1000:.1f} [{min(r['cpu_after_listed'] for r in inc['ours']) * 1000:.1f}] "
              f"| {one / clone_cpu_ours * 100:.2f}% |",
              f"| git_repo_app, nothing new (same steps) | {nothing * 1000:.1f} "
              f"[{min(r['cpu_after_listed'] for r in inc['ours_nothing']) * 1000:.1f}] "
              f"| {nothing / clone_cpu_ours * 100:.2f}% |",
              f"| git fetch into a bare clone, one new commit | {git_fetch * 1000:.1f} "
              f"[{min(r['cpu'] for r in inc['git']) * 1000:.1f}] | {git_fetch / clone_cpu_git * 100:.2f}% |", ""]
    grind = data["callgrind"]
    if grind:
        fetch_share = grind["fetch"] / grind["clone"] * 100
        lines += [f"Instructions under callgrind (user space of the app, one run; counts dumped at \"listed\"): "
                  f"start, clone and listing {grind['clone']:,}; after \"listed\" {grind['after_listed']:,}, of which "
                  f"the app's own `log` of 1000 commits {grind['app_log']:,} and the second fetch "
                  f"(connect, ls-refs, negotiation with up to 32 haves, a pack of {grind['second_pack'][0]} objects) "
                  f"{grind['fetch']:,}: **{fetch_share:.3f}%** of the clone's.", ""]

    dates = data["dates"]
    lines += ["### Per-path dates", ""]
    if dates is None:
        lines += ["skipped: git_repo_app has no --dates yet", ""]
        dates_goal = None
    else:
        extra = med([w["cpu"] - o["cpu"] for w, o in zip(dates["ours_with"], dates["ours_without"])])
        git_cpu = med([r["cpu"] for r in dates["git"]])
        git_wall = med([r["wall"] for r in dates["git"]])
        lines += [f"{dates['paths']} paths in the head tree. Ours: CPU of a clone with --dates minus one "
                  f"without (medians of {args.runs}); app's line: `history {dates['history_line']}`. git: "
                  f"`git log -1 --format=%aI -- PATH` and `git log --reverse --diff-filter=A --format=%aI -- PATH` "
                  f"for every path, run from a Python process (its start, about 20 ms, is included), the whole "
                  f"process tree timed.", "",
                  "| | wall s | CPU s | peak RSS KiB |", "|---|---:|---:|---:|",
                  f"| git_repo_app --dates, extra over a clone | | {extra:.3f} | "
                  f"{med([r['maxrss'] for r in dates['ours_with']]):,.0f} (without: "
                  f"{med([r['maxrss'] for r in dates['ours_without']]):,.0f}) |",
                  f"| git log per path (2 × {dates['paths']} runs) | {git_wall:.2f} | {git_cpu:.2f} | |", "",
                  f"CPU ratio ours / git: {extra / git_cpu:.3f}.", "",
                  f"Dates that differ from git's: {len(dates['mismatches'])} "
                  f"(of {2 * dates['paths']})" + ("" if not dates["mismatches"] else ": " +
                                                  "; ".join(dates["mismatches"][:5])), ""]
        dates_goal = len(dates["mismatches"]) == 0

    def verdict(ok):
        return "**met**" if ok else "**not met**"

    memory_factor = med([r["maxrss"] for r in ours]) / pack_kib
    incremental_percent = one / clone_cpu_ours * 100
    grind = data["callgrind"]
    incremental = f"CPU from \"listed\" to exit (with the app's log of 1000 commits and its exit): {incremental_percent:.2f}%"
    if grind:
        share = grind["fetch"] / grind["clone"] * 100
        incremental = (f"{verdict(share < GOAL_INCREMENTAL_PERCENT / 10)} by instructions, taking \"well under\" as "
                       f"under a tenth ({share:.3f}%); {incremental}")
    lines += ["### Goals", "",
              f"- clone time ≤ git's: {verdict(wall_ratio <= 1)} (wall ratio {wall_ratio:.2f}; CPU ratio "
              f"{cpu_ratio:.2f})",
              f"- peak memory ≤ {GOAL_MEMORY_FACTOR} × the pack: {verdict(memory_factor <= GOAL_MEMORY_FACTOR)} "
              f"({memory_factor:.2f} × for the whole process; {above / pack_kib:.2f} × above the fixed part)",
              f"- incremental fetch of one commit well under {GOAL_INCREMENTAL_PERCENT:g}% of a full clone's CPU: "
              f"{incremental}"]
    if dates_goal is not None:
        lines.append(f"- per-path dates agree with git's for every path: {verdict(dates_goal)}")
    return "\n".join(lines)


def machine_note():
    cpu = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
    memory = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    git_version = run(["git", "--version"]).stdout.strip()
    return (f"{os.cpu_count()} CPUs ({cpu.group(1) if cpu else '?'}), {int(memory.group(1)) // 1048576} GiB, "
            f"Linux {platform.release()}, {git_version}")


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--runs", type=int, default=5, help="runs of each measurement (default 5)")
    parser.add_argument("--binary", type=Path, help="a built git_repo_app (default: build it, preset hosted)")
    parser.add_argument("--no-callgrind", action="store_true",
                        help="skip the incremental fetch's instruction count under callgrind (about 1 minute)")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="print the section again from a run's raw data (build/bench/git_clone.json)")
    parser.add_argument("--git-dates", metavar="REPO", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render:
        data = json.loads(args.render.read_text())
        args.runs = data["runs"]
        print(report(args, data))
        return
    if args.git_dates:
        git_dates_main(args.git_dates)
        return
    if not BUNDLE.is_file():
        sys.exit(f"{NAME}: {BUNDLE} is missing")
    install_signal_handlers()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    logs = WORK_DIR / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    temp = Path(tempfile.mkdtemp(prefix="git_clone-"))
    state = {}

    def cleanup():
        if "served" in state:
            state["served"].stop()
        shutil.rmtree(temp, ignore_errors=True)

    with exit_on_failure(NAME, cleanup):
        build_rusage_exec()
        if args.binary:
            binary, build = args.binary, f"(given: --binary {args.binary})"
        else:
            binary, build = bench_support.build_app(APP_DIR, "hosted", "hosted")
        started = time.monotonic()
        data = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "commit": run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).stdout.strip(),
                "load_before": load_average(), "machine": machine_note(), "build": build, "runs": args.runs}
        served = state["served"] = Served(temp)
        data["served"] = {"pack_size": served.pack_size, "objects": served.objects, "commits": served.commits}
        data["baseline_kib"] = measure_baseline(binary, temp, served, logs)
        data["clones"] = measure_clones(args, binary, served, temp, logs)
        data["dates"] = measure_dates(args, binary, served, temp, logs)
        if data["dates"] is None:
            print("skipped: git_repo_app has no --dates yet")
        # Last: it pushes commits, so the clones above all fetch the same history.
        data["incremental"] = measure_incremental(args, binary, served, temp, logs)
        data["callgrind"] = None if args.no_callgrind else measure_callgrind(binary, served, temp, logs)
        data["seconds"] = time.monotonic() - started
        data["load_after"] = load_average()
        # The raw runs first: a report that fails to render loses nothing.
        (OUT_DIR / f"{NAME}.json").write_text(json.dumps(data, indent=1) + "\n")
        write_report(NAME, report(args, data), data, logs)


if __name__ == "__main__":
    main()
