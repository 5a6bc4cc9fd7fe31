#!/usr/bin/env python3
"""Morgana's git Repository (tests/git_repo_app, --net=socket) against git's
own daemon on loopback:

  - a repository made here with git (commits, a subdirectory, an executable,
    a symlink, a submodule entry, a tag) served by `git daemon` on 127.0.0.1
    at a free port: the app clones it and its listing of the head tree equals
    `git ls-tree -r HEAD` byte for byte;
  - while the app waits, 3 commits are pushed: its second fetch ends on the
    new head, with a thin pack holding fewer objects than the clone's, and
    its log holds every commit;
  - cmark (/work/shared/corpora/cmark.bundle, cloned bare and served the same
    way): the listing equals `git ls-tree -r HEAD`.

No namespaces and no root needed; the daemon and the app are stopped by PID
at the end, also on failure.
Environment: MORGANA_GIT_REPO_APP (default: tests/git_repo_app built by ./morgana for hosted, preset hosted-asan).
"""

import os
import re
import subprocess
import time
from pathlib import Path

import harness
from git_wire_test import free_port, git, start_daemon
from harness import TestFailure

APP_TIMEOUT = 120
REFETCH_AFTER = 4
CMARK_BUNDLE = Path("/work/shared/corpora/cmark.bundle")


def commit(source, message, *paths):
    git("add", *(paths or ["-A"]), cwd=source)
    git("commit", "-qm", message, cwd=source)


def make_repository(work):
    source = work / "source"
    git("init", "-q", "-b", "main", str(source))
    (source / "README.md").write_text("# site\n" + "".join(f"line {i}\n" for i in range(200)))
    (source / "src" / "lib").mkdir(parents=True)
    (source / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    for i in range(6):
        (source / "src" / "lib" / f"part{i}.c").write_text(f"int part{i}(void) {{ return {i}; }}\n")
    (source / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (source / "run.sh").chmod(0o755)
    os.symlink("README.md", source / "link")
    commit(source, "first")
    first = git("rev-parse", "HEAD", cwd=source).stdout.decode().strip()
    # A submodule entry (a gitlink) without a .gitmodules: ls-tree lists it all the same.
    git("update-index", "--add", "--cacheinfo", f"160000,{first},vendor/lib", cwd=source)
    (source / "vendor" / "lib").mkdir(parents=True)  # an unpopulated submodule
    (source / "docs").mkdir()
    (source / "docs" / "guide.md").write_text("# guide\n")
    commit(source, "second", "docs")
    git("tag", "-a", "v1", "-m", "version 1", cwd=source)
    base = work / "served"
    base.mkdir()
    git("clone", "-q", "--bare", str(source), str(base / "repo.git"))
    git("remote", "add", "served", str(base / "repo.git"), cwd=source)
    return source, base


def push_commits(source, count):
    for number in range(count):
        readme = source / "README.md"
        readme.write_text(readme.read_text() + f"more {number}\n")
        (source / "src" / "lib" / f"part{number}.c").write_text(f"int part{number}(void) {{ return -1; }}\n")
        commit(source, f"update {number}", "README.md", "src")
    git("push", "-q", "served", "main", cwd=source)
    return git("rev-parse", "HEAD", cwd=source).stdout.decode().strip()


class App:
    def __init__(self, t, binary):
        self.t = t
        self.binary = binary
        self.runs = 0

    def start(self, remote, *options):
        self.runs += 1
        log_path = self.t.log_dir / f"git_repo_app-{self.runs}.log"
        command = [str(self.binary), "--net=socket", f"--remote={remote}", *options]
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env)
        self.t.cleanup.add_process(process, f"git_repo_app run {self.runs}")
        self.t.show_log_on_failure(log_path, f"git_repo_app {' '.join(command[1:])}")
        return process, log_path

    def finish(self, process, log_path):
        try:
            status = process.wait(timeout=APP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"git_repo_app did not finish within {APP_TIMEOUT} s")
        output = log_path.read_text(errors="replace")
        self.t.check(not re.search(r"Sanitizer|runtime error:", output), f"run {self.runs}: no sanitizer report")
        return status, output

    def run(self, remote, *options):
        return self.finish(*self.start(remote, *options))


def listing(output, number=0):
    """The `number`th listing the app printed (one per state: after each fetch, and the state held after a
    failed one), as `git ls-tree -r` prints it."""
    sections = output.split("git_repo_app: listed\n")
    if number >= len(sections):
        return ""
    return "".join(line + "\n" for line in re.findall(r"^git_repo_app: tree (.*)$", sections[number], re.M))


def packs(output):
    """(objects, deltas on bases held before) of each pack fetched."""
    return [(int(objects), int(thin)) for objects, thin in
            re.findall(r"^git_repo_app: pack (\d+) objects (\d+) thin", output, re.M)]


def heads(output):
    return re.findall(r"^git_repo_app: head ([0-9a-f]{40}) ", output, re.M)


def wait_for_line(process, log_path, pattern, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, log_path.read_text(errors="replace"), re.M):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def app_and_work_dir(t):
    """The app (MORGANA_GIT_REPO_APP, or built) and an empty work directory in the test's logs."""
    binary = os.environ.get("MORGANA_GIT_REPO_APP") or harness.build_app("tests/git_repo_app", "hosted",
                                                                          preset="hosted-asan")
    work = t.log_dir / "work"
    work.mkdir()
    return App(t, binary), work


def test(t):
    app, work = app_and_work_dir(t)
    source, base = make_repository(work)
    served = base / "repo.git"
    expected = git("ls-tree", "-r", "HEAD", cwd=served).stdout.decode()
    t.require("160000 commit" in expected and "120000 blob" in expected and "100755 blob" in expected,
              "git ls-tree -r lists a submodule entry, a symlink and an executable")
    port = free_port()
    daemon = start_daemon(t, base, port)

    process, log_path = app.start(f"git://127.0.0.1:{port}/repo.git", f"--refetch-after={REFETCH_AFTER}s")
    listed = wait_for_line(process, log_path, r"^git_repo_app: listed$", APP_TIMEOUT)
    # Push while the app waits to fetch again.
    new_head = push_commits(source, 3)
    status, output = app.finish(process, log_path)
    t.require(listed, "the app clones and lists the head tree", output.strip()[-500:])
    t.check(status == 0, "the app exits 0", f"exit {status}")
    old_head = git("rev-parse", "HEAD~3", cwd=served).stdout.decode().strip()
    t.check(heads(output)[:1] == [old_head], "the clone's head is the remote's main", f"{heads(output)}")
    t.check(listing(output) == expected, "the listing equals git ls-tree -r HEAD byte for byte",
            f"{listing(output)!r} != {expected!r}")
    t.check(heads(output)[1:] == [new_head], "the second fetch ends on the pushed head", f"{heads(output)}")
    counts = packs(output)
    new_objects = len(git("rev-list", "--objects", f"{old_head}..{new_head}", cwd=served).stdout.splitlines())
    all_objects = len(git("rev-list", "--objects", new_head, cwd=served).stdout.splitlines())
    t.check(len(counts) == 2 and counts[1][0] == new_objects and new_objects < all_objects,
            f"the second fetch took only the {new_objects} new objects (a clone takes {all_objects})", f"{counts}")
    t.check(len(counts) == 2 and counts[1][1] > 0, "the second pack is thin: deltas on bases the clone brought",
            f"{counts}")
    commits = int(git("rev-list", "--count", "HEAD", cwd=served).stdout.decode().strip())
    t.check(f"git_repo_app: log {commits} commits\n" in output, f"the log walks all {commits} commits")

    if CMARK_BUNDLE.is_file():
        git("clone", "-q", "--bare", str(CMARK_BUNDLE), str(base / "cmark.git"))
        expected = git("ls-tree", "-r", "HEAD", cwd=base / "cmark.git").stdout.decode()
        status, output = app.run(f"git://127.0.0.1:{port}/cmark.git")
        t.check(status == 0, "cmark: the app clones it (exit 0)", f"exit {status}: {output.strip()[-300:]}")
        got = listing(output)
        t.check(got == expected, "cmark: the listing equals git ls-tree -r HEAD byte for byte",
                f"{len(got.splitlines())} lines vs {len(expected.splitlines())}")
    else:
        t.check(False, f"{CMARK_BUNDLE} is present")

    t.check(harness.stop_process(daemon, "git daemon") is not None, "git daemon stopped")


if __name__ == "__main__":
    harness.main(test, needs_root=False)
