#!/usr/bin/env python3
"""Per-path dates of git::PathHistory / git::TreeStore (tests/git_repo_app
--dates, --net=socket) against git log itself, for every path of the head:

  last-modified = git log -1 --format=%at -- PATH
  created       = git log --reverse --diff-filter=A --format=%at -- PATH | head -1

(%at: the author date in epoch seconds, the instant %aI prints in the
author's zone), with core.quotepath=off and --literal-pathspecs so names with
spaces, globs and non-ASCII letters are taken as they are.

  - a history made here with git (a few hundred commits, seeded): merges
    where a path differs from every parent, merges taking the second parent's
    version, an octopus, an "ours" merge, an evil merge adding a file,
    renames, deletions and paths added again, executables, symlinks, a
    submodule entry, author dates out of order; served by `git daemon`;
  - the app follows the branch: after the clone, then 1 pushed commit, then
    10, then a merge of a branch forked long ago, then a force-push; every
    step's dates equal git's, and the update stats show the linear pushes
    walked exactly the new commits (a counted property, not a timing);
  - a shallow fetch (--depth) against git's own shallow clone at that depth,
    then both fetch 3 more commits: the dates of the oldest commits held, and
    the app says "shallow";
  - cmark (/work/shared/corpora/cmark.bundle, thousands of commits with
    merges), every path.

No root needed; the daemon and the app are stopped by PID, also on failure.
Environment: MORGANA_GIT_REPO_APP (default: tests/git_repo_app built by ./morgana for hosted, preset hosted-asan).
"""

import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import harness
from git_repository_test import app_and_work_dir
from git_wire_test import GIT_ENV, free_port, git, start_daemon
from harness import TestFailure

CMARK_BUNDLE = Path("/work/shared/corpora/cmark.bundle")
APP_TIMEOUT = 180
BASE_TIME = 1_500_000_000
SHALLOW_DEPTH = 25


class History:
    """A work tree whose commits get increasing committer dates and scattered author dates."""

    def __init__(self, source, rng):
        self.source = source
        self.rng = rng
        self.count = 0
        self.files = []  # paths main may change, rename or delete
        self.deleted = []
        self.serial = 0

    def env(self):
        self.count += 1
        committed = BASE_TIME + 3600 * self.count
        # Authored up to 20 days before or 2 days after: out of commit order.
        authored = committed + self.rng.randint(-20 * 86400, 2 * 86400)
        zone = self.rng.choice(["+0000", "+0530", "-0800", "+1300"])
        return dict(GIT_ENV, GIT_AUTHOR_DATE=f"@{authored} {zone}", GIT_COMMITTER_DATE=f"@{committed} +0000")

    def run(self, *arguments, check=True):
        return run_git(self.source, arguments, env=self.env() if arguments[0] in ("commit", "merge") else GIT_ENV,
                       check=check)

    def write(self, path, text, executable=False):
        full = self.source / path
        full.parent.mkdir(parents=True, exist_ok=True)
        if full.is_symlink():
            full.unlink()
        full.write_text(text)
        full.chmod(0o755 if executable else 0o644)

    def commit(self, message):
        self.run("add", "-A")
        self.run("commit", "-q", "--allow-empty", "-m", message)

    def new_name(self):
        self.serial += 1
        folder = self.rng.choice(["gen", "gen/sub", "docs/a b", "ünï", "x"])
        return f"{folder}/file {self.serial}.txt" if self.serial % 3 == 0 else f"{folder}/f{self.serial}.md"

    def random_change(self):
        """One change on main: modify, add, delete, rename, re-add, chmod, or a symlink."""
        kind = self.rng.choice(["modify", "modify", "modify", "add", "delete", "rename", "readd", "chmod", "link"])
        if kind == "modify" and self.files:
            path = self.rng.choice(self.files)
            full = self.source / path
            if not full.is_symlink():
                full.write_text(full.read_text() + f"change {self.count}\n")
                return
        if kind == "delete" and len(self.files) > 5:
            path = self.rng.choice(self.files)
            (self.source / path).unlink()
            self.files.remove(path)
            self.deleted.append(path)
            return
        if kind == "rename" and self.files:
            path = self.rng.choice(self.files)
            target = self.new_name()
            (self.source / target).parent.mkdir(parents=True, exist_ok=True)
            os.rename(self.source / path, self.source / target)
            self.files.remove(path)
            self.files.append(target)
            self.deleted.append(path)
            return
        if kind == "readd" and self.deleted:
            path = self.rng.choice(self.deleted)
            if not (self.source / path).exists():
                self.deleted.remove(path)
                self.write(path, f"again {self.count}\n")
                self.files.append(path)
                return
        if kind == "chmod" and self.files:
            path = self.rng.choice(self.files)
            full = self.source / path
            if not full.is_symlink():
                full.chmod(full.stat().st_mode ^ 0o111)
                return
        if kind == "link":
            path = self.new_name() + ".link"
            (self.source / path).parent.mkdir(parents=True, exist_ok=True)
            os.symlink("../README.md", self.source / path)
            self.files.append(path)
            return
        path = self.new_name()
        self.write(path, f"new {self.count}\n")
        self.files.append(path)

    def linear(self, commits):
        for _ in range(commits):
            for _ in range(self.rng.randint(1, 3)):
                self.random_change()
            self.commit(f"change {self.count}")

    def branch(self, name, base, commits, shared):
        """A branch from `base` changing its own files and the `shared` ones; back on main after."""
        self.run("checkout", "-q", "-b", name, base)
        for number in range(commits):
            self.write(f"{name}/own {number}.txt", f"{name} {number}\n")
            for path in shared:
                full = self.source / path
                if full.exists():
                    full.write_text(full.read_text() + f"{name} {number}\n")
            self.commit(f"{name} {number}")
        self.run("checkout", "-q", "main")

    def merge(self, *branches, options=()):
        result = self.run("merge", "-q", "--no-ff", *options, "-m", f"merge {' '.join(branches)}", *branches,
                          check=False)
        if result.returncode != 0:
            raise TestFailure(f"git merge {branches}: {result.stdout.decode()} {result.stderr.decode()}")

    def reset(self, commit):
        """Moves main back to `commit`, forgetting the paths that no longer exist."""
        self.run("reset", "-q", "--hard", commit)
        self.files = [path for path in self.files if os.path.lexists(self.source / path)]
        self.deleted = [path for path in self.deleted if not os.path.lexists(self.source / path)]

    def head(self):
        return self.run("rev-parse", "HEAD").stdout.decode().strip()


def run_git(cwd, arguments, env=GIT_ENV, check=True):
    result = subprocess.run(["git", *arguments], cwd=cwd, env=env, capture_output=True, timeout=120)
    if check and result.returncode != 0:
        raise TestFailure(f"git {' '.join(arguments)} failed: {result.stderr.decode(errors='replace').strip()}")
    return result


def make_history(work, rng):
    source = work / "source"
    git("init", "-q", "-b", "main", str(source))
    history = History(source, rng)
    history.write("README.md", "# dates\n")
    for path in ["src/main.c", "docs/guide.md", "docs/a b/with space.md", "ünï/çødé.txt", "weird [x]*?.md",
                 "deep/a/b/c/d.txt", "shared.txt", "tsp.txt", "docs/old.md"]:
        history.write(path, "".join(f"{path} line {i}\n" for i in range(60)) if path == "shared.txt" else f"{path}\n")
        history.files.append(path)
    history.write("run.sh", "#!/bin/sh\n", executable=True)
    history.files.remove("shared.txt")  # main changes it only in ways that merge cleanly
    history.files.remove("tsp.txt")
    history.files.remove("docs/old.md")  # changed only by a branch forked long ago
    history.commit("first")
    history.linear(20)
    # A submodule entry (a gitlink; its directory left empty, as unpopulated), changed later.
    first = history.run("rev-list", "--max-parents=0", "HEAD").stdout.decode().strip()
    (source / "vendor" / "lib").mkdir(parents=True)
    history.run("update-index", "--add", "--cacheinfo", f"160000,{first},vendor/lib")
    history.commit("a submodule")
    history.linear(10)
    history.run("update-index", "--cacheinfo", f"160000,{history.head()},vendor/lib")
    history.commit("the submodule moves")
    history.linear(10)
    for episode in range(8):
        # A merge where shared.txt differs from both parents (each side changed other lines).
        history.branch(f"topic{episode}", "HEAD", rng.randint(1, 4), ["shared.txt"])
        text = (history.source / "shared.txt").read_text().splitlines(keepends=True)
        text[0] = f"main {episode}\n"
        (history.source / "shared.txt").write_text("".join(text))
        history.linear(2)
        history.merge(f"topic{episode}")
        history.linear(rng.randint(10, 20))
    # tsp.txt: both sides change its one line; the merge takes the second parent's whole file.
    history.branch("theirs", "HEAD", 1, ["tsp.txt"])
    history.write("tsp.txt", "main's version\n")
    history.commit("main changes tsp.txt")
    history.merge("theirs", options=("-X", "theirs"))
    if run_git(source, ["diff", "--quiet", "HEAD^2", "HEAD", "--", "tsp.txt"], check=False).returncode != 0:
        raise TestFailure("the merge took the second parent's tsp.txt")
    # An octopus of two branches from long ago.
    history.branch("octo1", "HEAD~30", 2, [])
    history.branch("octo2", "HEAD~50", 2, [])
    history.merge("octo1", "octo2")
    history.linear(20)
    # An "ours" merge: the branch's files never reach main.
    history.branch("dropped", "HEAD~5", 2, ["README.md"])
    history.merge("dropped", options=("-s", "ours"))
    # An evil merge: a file only the merge adds.
    history.branch("evil", "HEAD", 1, [])
    history.run("merge", "-q", "--no-ff", "--no-commit", "evil")
    history.write("added by merge.txt", "evil\n")
    history.commit("evil merge")
    history.linear(60)
    return history


def git_dates(repository, path):
    """(last-modified, created) as git log prints them, in epoch seconds (0: none)."""
    base = ["-c", "core.quotepath=off", "--literal-pathspecs", "log"]
    last = run_git(repository, [*base, "-1", "--format=%at", "HEAD", "--", path]).stdout.decode().split()
    added = run_git(repository, [*base, "--reverse", "--diff-filter=A", "--format=%at", "HEAD", "--",
                                 path]).stdout.decode().split()
    return int(last[0]) if last else 0, int(added[0]) if added else 0


def expected_dates(repository):
    paths = run_git(repository, ["ls-tree", "-r", "-z", "--name-only", "HEAD"]).stdout.decode().split("\0")
    paths = [path for path in paths if path]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(paths, pool.map(lambda path: git_dates(repository, path), paths)))


def app_steps(output):
    """Each "dates done" step: (head, shallow, {path: (last-modified, created)}, (commits, trees, paths))."""
    steps = []
    dates = {}
    stats = None
    for line in output.splitlines():
        if not line.startswith("git_repo_app: "):
            continue
        line = line[len("git_repo_app: "):]
        if match := re.fullmatch(r"history commits (\d+) trees (\d+) paths (\d+)", line):
            stats = tuple(int(value) for value in match.groups())
        elif match := re.fullmatch(r"date (-?\d+) (-?\d+) (.*)", line):
            dates[match[3]] = (int(match[1]), int(match[2]))
        elif match := re.fullmatch(r"dates done ([0-9a-f]{40}) (complete|shallow)", line):
            steps.append((match[1], match[2] == "shallow", dates, stats))
            dates = {}
    return steps


def compare(t, label, got, expected):
    wrong = [f"{path}: app {got.get(path)} git {dates}" for path, dates in expected.items() if got.get(path) != dates]
    extra = sorted(set(got) - set(expected))
    t.check(not wrong and not extra,
            f"{label}: all {len(expected)} paths' last-modified and created dates equal git log's",
            f"{len(wrong)} differ, e.g. {wrong[:5]}; extra {extra[:5]}")


def wait_step(process, log_path, count):
    """The app's `count`th step, once printed."""
    deadline = time.monotonic() + APP_TIMEOUT
    while time.monotonic() < deadline:
        output = log_path.read_text(errors="replace")
        steps = app_steps(output)
        if len(steps) >= count:
            return steps[count - 1]
        if "dates failed" in output or process.poll() is not None:
            break
        time.sleep(0.1)
    raise TestFailure(f"the app printed dates for step {count}")


def check_cmark(t, app, base, port):
    """cmark from scratch, then from 800 first-parent commits back brought up to date (77 merges on the way)."""
    cmark = base / "cmark.git"
    git("clone", "-q", "--bare", str(CMARK_BUNDLE), str(cmark))
    remote = f"git://127.0.0.1:{port}/cmark.git"
    expected = expected_dates(cmark)
    commits = int(git("rev-list", "--count", "HEAD", cwd=cmark).stdout.decode())
    status, output = app.run(remote, "--dates")
    t.check(status == 0, "cmark: the app exits 0", f"exit {status}: {output.strip()[-300:]}")
    steps = app_steps(output)
    if t.check(len(steps) == 1, "cmark: the app prints the dates"):
        _, shallow, got, stats = steps[0]
        print(f"  cmark: {commits} commits; stats commits {stats[0]} trees {stats[1]} paths {stats[2]}")
        t.check(not shallow and stats[0] == commits, f"cmark: all {commits} commits walked", f"{stats}")
        compare(t, "cmark", got, expected)

    branch = git("symbolic-ref", "HEAD", cwd=cmark).stdout.decode().strip()
    head = git("rev-parse", "HEAD", cwd=cmark).stdout.decode().strip()
    old = git("rev-parse", "HEAD~800", cwd=cmark).stdout.decode().strip()
    git("update-ref", branch, old, cwd=cmark)
    expected_old = expected_dates(cmark)
    process, log_path = app.start(remote, "--dates", "--date-updates=1", "--refetch-after=1s")
    got_head, _, got, stats = wait_step(process, log_path, 1)
    t.check(got_head == old, "cmark 800 commits back: the app is on that head")
    compare(t, "cmark 800 commits back", got, expected_old)
    git("update-ref", branch, head, cwd=cmark)
    got_head, _, got, stats = wait_step(process, log_path, 2)
    new = int(git("rev-list", "--count", f"{old}..{head}", cwd=cmark).stdout.decode())
    print(f"  cmark brought up to date: {new} new commits; stats commits {stats[0]} trees {stats[1]} paths {stats[2]}")
    t.check(got_head == head, "cmark brought up to date: the app is on the head")
    compare(t, "cmark brought up to date (incrementally)", got, expected)
    t.check(stats[0] == new, f"cmark brought up to date: the update walked exactly the {new} new commits",
            f"walked {stats[0]}")
    status, output = app.finish(process, log_path)
    t.check(status == 0, "cmark brought up to date: the app exits 0", f"exit {status}: {output.strip()[-300:]}")


def test(t):
    app, work = app_and_work_dir(t)
    print(f"  seed {t.seed}")
    history = make_history(work, t.random)
    base = work / "served"
    base.mkdir()
    served = base / "repo.git"
    git("clone", "-q", "--bare", str(history.source), str(served))
    git("remote", "add", "served", str(served), cwd=history.source)
    commits = int(git("rev-list", "--count", "HEAD", cwd=served).stdout.decode())
    merges = int(git("rev-list", "--count", "--merges", "HEAD", cwd=served).stdout.decode())
    print(f"  history: {commits} commits, {merges} merges")
    port = free_port()
    daemon = start_daemon(t, base, port)
    remote = f"git://127.0.0.1:{port}/repo.git"

    def push(force=False):
        git("push", "-q", *(["-f"] if force else []), "served", "main", cwd=history.source)
        return history.head()

    process, log_path = app.start(remote, "--dates", "--date-updates=4", "--refetch-after=1s")
    steps = []

    def step(label, head, walked=None):
        number = len(steps) + 1
        got_head, shallow, got, stats = wait_step(process, log_path, number)
        steps.append(stats)
        t.check(got_head == head, f"{label}: the app is on the pushed head", f"{got_head} != {head}")
        t.check(not shallow, f"{label}: the history is complete")
        compare(t, label, got, expected_dates(served))
        print(f"  {label}: stats commits {stats[0]} trees {stats[1]} paths {stats[2]}")
        if walked is not None:
            t.check(stats[0] == walked, f"{label}: the update walked exactly the {walked} new commits",
                    f"walked {stats[0]}")
        return stats

    stats = step("clone", history.head())
    t.check(stats[0] == commits, f"clone: the first update walks all {commits} commits", f"{stats}")

    def new_commits(old):
        return int(git("rev-list", "--count", f"{old}..main", cwd=served).stdout.decode())

    before = history.head()
    history.linear(1)
    step("1 more commit", push(), walked=new_commits(before))
    before = history.head()
    history.linear(10)
    step("10 more commits", push(), walked=new_commits(before))
    # A branch forked long ago, adding files and changing old ones, merged:
    # only its commits and the merge are walked, not the history below the fork.
    before = history.head()
    history.branch("old-topic", "HEAD~120", 3, ["shared.txt", "docs/old.md"])
    history.merge("old-topic", options=("-X", "theirs"))
    step("a merge of a branch forked 120 commits ago", push(), walked=new_commits(before))
    # A force-push: history rewritten below the head the app holds.
    history.reset("HEAD~8")
    history.linear(2)
    stats = step("a force-push", push(force=True))
    total = int(git("rev-list", "--count", "HEAD", cwd=served).stdout.decode())
    # The 2 new commits are walked first, looking for the previous head; then everything again.
    t.check(stats[0] == total + 2, f"force-push: the dates are computed again over all {total} commits", f"{stats}")
    status, output = app.finish(process, log_path)
    t.check(status == 0, "the app exits 0", f"exit {status}: {output.strip()[-300:]}")

    # Shallow: git's own clone at the same depth is the reference, then the same fetch of 3 more commits.
    shallow_clone = work / "shallow"
    git("clone", "-q", "--bare", f"--depth={SHALLOW_DEPTH}", f"file://{served}", str(shallow_clone))
    process, log_path = app.start(remote, "--dates", f"--depth={SHALLOW_DEPTH}", "--date-updates=1",
                                  "--refetch-after=1s")
    for number, label in enumerate([f"shallow (depth {SHALLOW_DEPTH})", "shallow, 3 commits later"], 1):
        if number == 2:
            history.linear(3)
            push()
            git("fetch", "-q", f"--depth={SHALLOW_DEPTH}", "origin", "+main:main", cwd=shallow_clone)
        got_head, shallow, got, _ = wait_step(process, log_path, number)
        t.check(got_head == history.head(), f"{label}: the app is on the pushed head")
        t.check(shallow, f"{label}: the app says the history is cut")
        compare(t, label, got, expected_dates(shallow_clone))
    status, output = app.finish(process, log_path)
    t.check(status == 0, "shallow: the app exits 0", f"exit {status}: {output.strip()[-300:]}")

    if CMARK_BUNDLE.is_file():
        check_cmark(t, app, base, port)
    else:
        t.check(False, f"{CMARK_BUNDLE} is present")

    t.check(harness.stop_process(daemon, "git daemon") is not None, "git daemon stopped")


if __name__ == "__main__":
    harness.main(test, needs_root=False)
