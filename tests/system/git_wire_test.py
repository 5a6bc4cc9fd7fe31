#!/usr/bin/env python3
"""Morgana's git client (tests/git_wire_app, --net=socket) against git's own
daemon on loopback:

  - a repository made here with git (commits on two branches, an annotated
    and a lightweight tag) served by `git daemon` on 127.0.0.1 at a free port;
  - with protocol v2 and again forced to v0: the refs the app prints equal
    `git ls-remote`'s (peeled tags included), HEAD's symref is named, and the
    pack it writes is accepted by `git index-pack --stdin` and `git
    verify-pack`, holding exactly the objects of `git rev-list --objects --all`;
  - the same over smart HTTP: `git http-backend` behind a small HTTP server
    (git_http_backend.py, which passes Git-Protocol through), v2 and v0;
  - a shallow fetch (--depth=1) in both versions names its shallow commit and
    its pack is accepted;
  - refusals, each with its reason: a repository the daemon does not export
    (the server's ERR text), a SHA-256 repository, an ssh:// URL.

No namespaces and no root needed; the daemon and the HTTP server are stopped
by PID at the end, also on failure.
Environment: MORGANA_GIT_WIRE_APP (default: tests/git_wire_app built by ./morgana for hosted, preset hosted-asan).
"""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import harness
from harness import TestFailure

APP_TIMEOUT = 60
GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="Morgana Test", GIT_AUTHOR_EMAIL="test@morgana.invalid",
               GIT_COMMITTER_NAME="Morgana Test", GIT_COMMITTER_EMAIL="test@morgana.invalid",
               GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def git(*arguments, cwd=None, stdin=None, check=True, env=None):
    result = subprocess.run(["git", *arguments], cwd=cwd, env=dict(GIT_ENV, **(env or {})), input=stdin,
                            capture_output=True, timeout=60)
    if check and result.returncode != 0:
        raise TestFailure(f"git {' '.join(arguments)} failed: {result.stderr.decode(errors='replace').strip()}")
    return result


def make_repository(work):
    source = work / "source"
    git("init", "-q", "-b", "main", str(source))
    for number, (path, text) in enumerate([("README.md", "# blog\n"), ("posts/one.md", "one\n"),
                                          ("posts/two.md", "two\n")], 1):
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_text(text)
        git("add", ".", cwd=source)
        git("commit", "-qm", f"commit {number}", cwd=source)
        if number == 2:
            git("tag", "-a", "v1", "-m", "version 1", cwd=source)
            git("tag", "light", cwd=source)
    git("checkout", "-qb", "draft", cwd=source)
    (source / "posts" / "draft.md").write_text("draft\n")
    git("add", ".", cwd=source)
    git("commit", "-qm", "a draft", cwd=source)
    git("checkout", "-q", "main", cwd=source)
    base = work / "served"
    base.mkdir()
    git("clone", "-q", "--bare", str(source), str(base / "repo.git"))
    git("init", "-q", "--bare", "--object-format=sha256", str(base / "sha256.git"))
    return base


def start_daemon(t, base, port):
    log_path = t.log_dir / "git-daemon.log"
    with open(log_path, "wb") as log:
        daemon = subprocess.Popen(["git", "daemon", "--export-all", f"--base-path={base}", f"--port={port}",
                                   "--listen=127.0.0.1", "--reuseaddr", "--verbose"], stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=GIT_ENV)
    t.cleanup.add_process(daemon, "git daemon")
    t.show_log_on_failure(log_path, "git daemon")
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return daemon
        except OSError:
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise TestFailure("git daemon did not start listening")
            time.sleep(0.05)


def start_http_backend(t, base, port):
    """git http-backend behind tests/system/git_http_backend.py (run by this interpreter, so its PID is ours)."""
    log_path = t.log_dir / "git-http-backend.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parent / "git_http_backend.py"),
                                   str(base), str(port)], stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=GIT_ENV)
    t.cleanup.add_process(server, "git http-backend server")
    t.show_log_on_failure(log_path, "git http-backend server")
    harness.wait_for_log(log_path, server, r"^listening$", 10, "git http-backend server")
    return server


class App:
    def __init__(self, t, binary):
        self.t = t
        self.binary = binary
        self.runs = 0

    def __call__(self, remote, *options):
        self.runs += 1
        log_path = self.t.log_dir / f"git_wire_app-{self.runs}.log"
        command = [str(self.binary), "--net=socket", f"--remote={remote}", *options]
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
        try:
            completed = subprocess.run(command, capture_output=True, timeout=APP_TIMEOUT, env=env,
                                       stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"git_wire_app {' '.join(options)} did not finish within {APP_TIMEOUT} s")
        output = (completed.stdout + completed.stderr).decode(errors="replace")
        log_path.write_text(output)
        self.t.show_log_on_failure(log_path, f"git_wire_app {' '.join(command[1:])}")
        self.t.check(not re.search(r"Sanitizer|runtime error:", output), f"run {self.runs}: no sanitizer report")
        return completed.returncode, output


def printed_refs(output):
    return sorted(f"{oid}\t{name}" for oid, name in re.findall(r"^git_wire_app: ref (\S+) (\S+)$", output, re.M))


def check_pack(t, work, pack, label, expected_objects=None):
    """index-pack --stdin into a fresh repository, and verify-pack; returns the object count."""
    if not pack.is_file() or pack.stat().st_size < 32:
        t.check(False, f"{label}: the pack file was written")
        return None
    check_repo = work / f"check-{label}"
    git("init", "-q", "--bare", str(check_repo))
    indexed = git("index-pack", "--stdin", cwd=check_repo, stdin=pack.read_bytes(), check=False)
    t.check(indexed.returncode == 0, f"{label}: git index-pack --stdin accepts the pack",
            indexed.stderr.decode(errors="replace").strip())
    git("index-pack", str(pack), check=False)
    verified = git("verify-pack", "-v", str(pack), check=False)
    t.check(verified.returncode == 0, f"{label}: git verify-pack accepts the pack",
            verified.stderr.decode(errors="replace").strip())
    objects = len(re.findall(rb"^[0-9a-f]{40} (?:commit|tree|blob|tag) ", verified.stdout, re.M))
    if expected_objects is not None:
        t.check(objects == expected_objects, f"{label}: the pack holds the {expected_objects} objects of "
                "git rev-list --objects --all", f"{objects} objects")
    return objects


def test(t):
    binary = os.environ.get("MORGANA_GIT_WIRE_APP") or harness.build_app("tests/git_wire_app", "hosted",
                                                                          preset="hosted-asan")
    app = App(t, binary)
    work = t.log_dir / "work"
    work.mkdir()
    base = make_repository(work)
    port = free_port()
    daemon = start_daemon(t, base, port)
    remote = f"git://127.0.0.1:{port}/repo.git"

    listed = git("ls-remote", remote).stdout.decode()
    expected_refs = sorted(listed.splitlines())
    all_objects = len(git("rev-list", "--objects", "--all", cwd=base / "repo.git").stdout.decode().splitlines())
    t.require(len(expected_refs) == 6 and all_objects > 10, "git ls-remote lists the repository",
              f"{expected_refs} / {all_objects} objects")

    http_port = free_port()
    http_server = start_http_backend(t, base, http_port)
    http_remote = f"http://127.0.0.1:{http_port}/repo.git"

    for url, version, transport in ((remote, 2, "git"), (remote, 0, "git"), (http_remote, 2, "http"),
                                    (http_remote, 0, "http")):
        label = f"v{version}"
        name = f"{transport}-{label}"
        pack = work / f"full-{name}.pack"
        status, output = app(url, f"--protocol={version}", f"--pack-out={pack}")
        t.check(status == 0, f"{name}: the app lists and fetches (exit 0)", f"exit {status}")
        t.check(f"git_wire_app: protocol {label}\n" in output, f"{name}: the app spoke protocol {label}")
        t.check(printed_refs(output) == expected_refs, f"{name}: refs equal git ls-remote's (peeled tags too)",
                f"{printed_refs(output)} != {expected_refs}")
        t.check("git_wire_app: symref HEAD refs/heads/main" in output, f"{name}: HEAD is a symref to main")
        check_pack(t, work, pack, name, all_objects)

        shallow_pack = work / f"shallow-{name}.pack"
        status, output = app(url, f"--protocol={version}", f"--pack-out={shallow_pack}", "--depth=1")
        t.check(status == 0 and re.search(r"^git_wire_app: shallow [0-9a-f]{40}$", output, re.M),
                f"{name}: a shallow fetch names its shallow commits", f"exit {status}")
        objects = check_pack(t, work, shallow_pack, f"shallow-{name}")
        t.check(objects is not None and objects < all_objects, f"{name}: the shallow pack holds fewer objects",
                f"{objects}")

    status, output = app(f"git://127.0.0.1:{port}/missing.git")
    t.check(status != 0 and "access denied or repository not exported: /missing.git" in output,
            "a repository the daemon does not serve: the server's ERR text is shown", output.strip()[-300:])
    status, output = app(f"git://127.0.0.1:{port}/sha256.git", "--protocol=2")
    t.check(status != 0 and "SHA-256" in output, "a SHA-256 repository is refused, saying so",
            output.strip()[-300:])
    status, output = app("ssh://git@127.0.0.1/repo.git")
    t.check(status != 0 and "only git:// and http(s)://" in output, "an ssh:// URL is refused, saying so",
            output.strip()[-300:])

    status, output = app(f"http://127.0.0.1:{http_port}/missing.git")
    t.check(status != 0 and "no repository at that URL (404)" in output, "smart HTTP: a missing repository is named",
            output.strip()[-300:])

    t.check(harness.stop_process(daemon, "git daemon") is not None, "git daemon stopped")
    t.check(harness.stop_process(http_server, "git http-backend server") is not None, "HTTP server stopped")


if __name__ == "__main__":
    harness.main(test, needs_root=False)
