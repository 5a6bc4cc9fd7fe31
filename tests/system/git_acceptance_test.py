#!/usr/bin/env python3
"""Morgana's git Repository (tests/git_repo_app, --net=socket) against real git
servers, for a repository made with git itself (git_test_repos.py: a few
hundred commits with merges, renames and deletions, a 10 MB file, an empty
tree, symlinks, a submodule entry, non-ASCII paths, tags, repacked with
--depth=4095):

  - servers: `git daemon` (the client speaking v2, and forced to v0), and
    `git http-backend` behind nginx through fcgiwrap, over http (v2 and v0)
    and https with a test CA (the app trusts it through its store "trust");
  - for each, one app run clones main and follows a branch the test moves
    once the app has printed what it holds (the app fetches until it sees
    the move, --wait-for-change): +1, +10 and +1,000 commits, then a
    force-push (history rewritten). After every fetch, the app's head, listing, blob
    digest (every blob read) and log count equal git's (`git ls-tree -r`,
    `git cat-file`, `git rev-list --count`) and a fresh clone's of the same
    commit; each later fetch takes a thin pack of exactly the new objects;
  - the head's per-path dates (--dates: git::PathHistory through
    git::TreeStore) cloned over https equal `git log`'s for every path
    (git_dates_test.py compares them on histories made for dates);
  - failures, from git_broken_server.py (real upload-pack output for the
    first fetch, the second one damaged): the server killed mid-pack (smart
    HTTP, and git:// v2 and v0 through a proxy that cuts the connection), a
    truncated pack, a flipped byte in the pack and in its trailer, a delta
    copying past its base (an OFS_DELTA on a base in the pack, a REF_DELTA
    on a blob held from the clone), an ERR line, a 404 on info/refs. Each
    fetch fails with an error naming the problem, and the app (--keep-going)
    still holds and lists the first clone's state.

The runs are independent and go in parallel. No namespaces and no root
needed; every server and app is stopped by PID at the end, also on failure.
Environment: MORGANA_GIT_REPO_APP (default: tests/git_repo_app built by ./morgana for hosted, preset hosted-asan).
"""

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import harness
from git_broken_server import ERR_TEXT
from git_dates_test import app_steps, compare, expected_dates
from git_repository_test import App, listing
from git_test_repos import EMPTY_TREE, make_rich_repository
from git_wire_test import GIT_ENV, free_port, git, start_daemon
from harness import ROOT, TestFailure
from nginx_support import listen, start_nginx

REFETCH_AFTER = "300ms"  # between the app's fetches while it waits for the test to move its branch
APP_TIMEOUT = 180
FOLLOWED_STAGES = ("plus1", "plus10", "plus1000", "rewritten")
FCGIWRAP_PROCESSES = 4
BROKEN_CASES = (  # git_broken_server.py's mode, what the failure must say
    ("killed", r"connection closed"),
    ("truncated", r"pack ends early"),
    ("flipped", r"zlib|SHA-1|declared size"),
    ("trailer", r"pack trailer does not match its SHA-1"),
    ("ofs-delta", r"delta copies past the end of its base"),
    ("ref-delta", r"delta copies past the end of its base"),
    ("err", re.escape(f"the server sent an error (ERR): {ERR_TEXT}")),
    ("404", r"no repository at that URL \(404\)"),
)

NGINX_HTTP = """\
  client_max_body_size 0;
  upstream fcgiwrap {{
{upstreams}
  }}
  server {{
{listen}
    location / {{
      fastcgi_pass fcgiwrap;
      fastcgi_param SCRIPT_FILENAME {backend};
      fastcgi_param GIT_PROJECT_ROOT {project_root};
      fastcgi_param GIT_HTTP_EXPORT_ALL 1;
      fastcgi_param GIT_PROTOCOL $http_git_protocol;
      fastcgi_param PATH_INFO $uri;
      fastcgi_param QUERY_STRING $query_string;
      fastcgi_param REQUEST_METHOD $request_method;
      fastcgi_param CONTENT_TYPE $content_type;
      fastcgi_param CONTENT_LENGTH $content_length;
      fastcgi_param GATEWAY_INTERFACE CGI/1.1;
      fastcgi_param SERVER_PROTOCOL $server_protocol;
      fastcgi_param REMOTE_ADDR $remote_addr;
      fastcgi_param REMOTE_USER $remote_user;
    }}
  }}"""


def start_logged(t, command, label, env=None):
    log_path = t.log_dir / f"{label}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    t.cleanup.add_process(process, label)
    t.show_log_on_failure(log_path, label)
    return process, log_path


def start_git_nginx(t, work, project_root, certs):
    """nginx passing requests to `git http-backend` through fcgiwrap processes on unix sockets;
    returns (http port, https port)."""
    work.mkdir(parents=True)
    # A short directory: a unix socket's path must fit in 108 bytes, which one under the log directory may not.
    socket_dir = Path(tempfile.mkdtemp(prefix="morgana-fcgiwrap-"))
    atexit.register(shutil.rmtree, socket_dir, True)
    # fcgiwrap -c N leaves its children behind when stopped: single-process instances instead, each ours.
    sockets = [socket_dir / f"{number}.sock" for number in range(FCGIWRAP_PROCESSES)]
    for number, path in enumerate(sockets):
        start_logged(t, ["fcgiwrap", "-s", f"unix:{path}"], f"fcgiwrap-{number}", env=GIT_ENV)
    if not harness.wait_until(lambda: all(path.exists() for path in sockets), 10):
        raise TestFailure("fcgiwrap did not create its sockets")
    backend = Path(git("--exec-path").stdout.decode().strip()) / "git-http-backend"
    http_port, https_port = free_port(), free_port()
    start_nginx(t, work, NGINX_HTTP.format(listen=listen(http_port, https_port, certs), backend=backend,
                                           project_root=project_root,
                                           upstreams="\n".join(f"    server unix:{path};" for path in sockets)),
                https_port)
    return http_port, https_port


class ParallelApp(App):
    """git_repo_app runs from several threads at once."""

    def __init__(self, t, binary):
        super().__init__(t, binary)
        self.lock = threading.Lock()

    def start(self, remote, *options):
        with self.lock:
            return super().start(remote, *options)


def states(output):
    """Each state the app printed (after a fetch, or held after a failed one): a dict of head, pack
    ((objects, thin deltas) or None), listing, blobs (the --blob-digest line) and log (commits)."""
    found, chunk = [], []
    for line in output.splitlines(keepends=True):
        chunk.append(line)
        log = re.match(r"git_repo_app: log (\d+) commits$", line)
        if not log:
            continue
        text = "".join(chunk)
        chunk = []
        head = re.search(r"^git_repo_app: (?:held )?head ([0-9a-f]{40}) ", text, re.M)
        pack = re.search(r"^git_repo_app: pack (\d+) objects (\d+) thin", text, re.M)
        blobs = re.search(r"^git_repo_app: blobs (.*)$", text, re.M)
        found.append({"head": head and head.group(1), "pack": pack and (int(pack.group(1)), int(pack.group(2))),
                      "listing": listing(text), "blobs": blobs and blobs.group(1), "log": int(log.group(1))})
    return found


def wait_for_states(process, log_path, count, timeout):
    """Whether the app has printed `count` states before exiting or `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if len(re.findall(r"^git_repo_app: log \d+ commits$", text, re.M)) >= count:
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


class Expected:
    """git's own view of a commit of the repository, computed once per commit."""

    def __init__(self, repository):
        self.repository = repository
        self.lock = threading.Lock()
        self.cache = {}

    def __call__(self, commit):
        with self.lock:
            if commit not in self.cache:
                blobs, size, digest = self.repository.blob_digest(commit)
                self.cache[commit] = {"head": commit, "listing": self.repository.listing(commit),
                                      "blobs": f"{blobs} bytes {size} sha256 {digest}",
                                      "log": self.repository.commit_count(commit)}
            return self.cache[commit]


def new_objects(repository, commit, previous):
    return len(git("rev-list", "--objects", commit, "--not", previous, cwd=repository.bare).stdout.splitlines())


def check_state(t, label, state, expected):
    for key in ("head", "listing", "blobs", "log"):
        detail = "" if key == "listing" else f"{state[key]} != {expected[key]}"
        if key == "listing" and state[key] != expected[key]:
            got, want = state[key].splitlines(), expected[key].splitlines()
            different = [(a, b) for a, b in zip(got, want) if a != b][:2]
            detail = f"{len(got)} lines vs {len(want)}; first differences {different}"
        t.check(state[key] == expected[key], f"{label}: {key} equals git's", detail)


def follow(t, app, repository, expected, name, remote, options):
    """Clones the branch follow-NAME, then moves it through the stages as the app fetches again."""
    branch = f"follow-{name}"
    repository.move(branch, repository.head)
    process, log_path = app.start(remote, f"--branch={branch}", f"--refetch-after={REFETCH_AFTER}", "--wait-for-change",
                                  f"--refetches={len(FOLLOWED_STAGES)}", "--blob-digest", *options)
    for number, stage in enumerate(FOLLOWED_STAGES, 1):
        if not wait_for_states(process, log_path, number, APP_TIMEOUT):
            break
        repository.move(branch, repository.stages[stage])
    status, output = app.finish(process, log_path)
    t.check(status == 0, f"{name}: the app clones and fetches {len(FOLLOWED_STAGES)} times (exit 0)",
            f"exit {status}: {output.strip()[-300:]}")
    found = states(output)
    t.require(len(found) == 1 + len(FOLLOWED_STAGES), f"{name}: the app printed every state", f"{len(found)}")
    if remote.startswith("http"):
        # Each fetch's requests after the first go on the same connection, nginx's chunked replies read to their end.
        reused = re.search(r"^\s*http\.client\.reused (\d+)$", output, re.M)
        t.check(reused and int(reused.group(1)) >= len(found), f"{name}: the requests of a fetch share a connection",
                f"{reused and reused.group(0).strip()}")
    check_state(t, f"{name} clone", found[0], expected(repository.head))
    previous = repository.head
    for stage, state in zip(FOLLOWED_STAGES, found[1:]):
        commit = repository.stages[stage]
        check_state(t, f"{name} {stage}", state, expected(commit))
        objects = new_objects(repository, commit, previous)
        t.check(state["pack"] is not None and state["pack"][0] == objects,
                f"{name} {stage}: the pack holds just the {objects} new objects", f"{state['pack']}")
        if stage != "rewritten":
            t.check(state["pack"] is not None and state["pack"][1] > 0,
                    f"{name} {stage}: the pack is thin (deltas on bases held before)", f"{state['pack']}")
        previous = commit
    return found


def fresh_clone(t, app, repository, expected, stage, remote):
    branch = f"fresh-{stage}"
    repository.move(branch, repository.stages[stage])
    status, output = app.run(remote, f"--branch={branch}", "--blob-digest")
    t.check(status == 0, f"fresh clone of {stage}: exit 0", f"exit {status}: {output.strip()[-300:]}")
    found = states(output)
    t.require(len(found) == 1, f"fresh clone of {stage}: one state printed")
    check_state(t, f"fresh clone of {stage}", found[0], expected(repository.stages[stage]))
    return found[0]


def start_broken_server(t, label, *arguments):
    """git_broken_server.py with `arguments`; returns (its process, its log) once it listens."""
    server, server_log = start_logged(t, [sys.executable, str(Path(__file__).resolve().parent /
                                                              "git_broken_server.py"), *arguments],
                                      f"git_broken_server-{label}", env=dict(GIT_ENV, PYTHONDONTWRITEBYTECODE="1"))
    harness.wait_for_log(server_log, server, r"^listening$", 10, f"git_broken_server {label}")
    return server, server_log


def refetch_fails(t, app, repository, expected, label, remote, pattern, *options):
    """A clone, then a fetch that fails saying /pattern/; the app (--keep-going) still holds the clone."""
    status, output = app.run(remote, "--refetch-after=1s", "--keep-going", "--blob-digest", *options)
    failure = re.search(r"^git_repo_app: fetch failed: (.*)$", output, re.M)
    t.check(status != 0 and failure and re.search(pattern, failure.group(1)),
            f"{label}: the second fetch fails, saying /{pattern}/",
            f"exit {status}: {failure.group(1) if failure else output.strip()[-300:]}")
    found = states(output)
    t.check(len(found) == 2 and "git_repo_app: held head" in output,
            f"{label}: after the failure the app lists the state it still holds", f"{len(found)} states")
    for which, state in zip(("clone", "held after the failure"), found):
        check_state(t, f"{label} {which}", state, expected(repository.head))


def broken(t, app, repository, expected, mode, pattern):
    """git_broken_server.py's smart HTTP failure MODE."""
    port = free_port()
    server, server_log = start_broken_server(t, mode, str(repository.bare.parent), str(port), mode)
    refetch_fails(t, app, repository, expected, mode, f"http://127.0.0.1:{port}/repo.git", pattern)
    if mode == "killed":
        t.check(server.wait(timeout=10) == -9 and "killed mid-pack" in server_log.read_text(),
                "killed: the server died in the middle of the pack")
    harness.stop_process(server, f"git_broken_server {mode}")


def daemon_killed(t, app, repository, expected, daemon_port, version):
    """git daemon behind git_broken_server.py's git:// proxy, which cuts the second fetch mid-pack."""
    label = f"git-v{version} killed"
    port = free_port()
    proxy, proxy_log = start_broken_server(t, f"daemon-v{version}", f"--daemon={daemon_port}", str(port))
    refetch_fails(t, app, repository, expected, label, f"git://127.0.0.1:{port}/repo.git",
                  r"reading from 127\.0\.0\.1:\d+: closed", f"--protocol={version}")
    t.check("killed mid-pack" in proxy_log.read_text(), f"{label}: the connection was cut in the middle of the pack")
    harness.stop_process(proxy, f"git_broken_server daemon-v{version}")


def add_next_repository(repository):
    """new.git beside the repository, sharing its objects, main one commit further on: what
    git_broken_server.py serves for a second fetch."""
    new = repository.bare.parent / "new.git"
    git("init", "-q", "--bare", "-b", "main", str(new))
    (new / "objects" / "info" / "alternates").write_text(f"{repository.bare / 'objects'}\n")
    git("update-ref", "refs/heads/main", repository.stages["plus1"], cwd=new)


def test(t):
    for tool in ("nginx", "fcgiwrap"):
        if not shutil.which(tool):
            raise TestFailure(f"{tool} is not installed (scripts/setup installs it)")
    binary = os.environ.get("MORGANA_GIT_REPO_APP") or harness.build_app("tests/git_repo_app", "hosted",
                                                                          preset="hosted-asan")
    app = ParallelApp(t, binary)
    work = t.log_dir / "work"
    served = work / "served"
    served.mkdir(parents=True)
    started = time.monotonic()
    repository = make_rich_repository(served)
    print(f"  (test repository made in {time.monotonic() - started:.1f} s: "
          f"{repository.commit_count(repository.head)} commits on main)", flush=True)
    expected = Expected(repository)
    first = expected(repository.head)
    t.require(all(kind in first["listing"] for kind in ("160000 commit", "120000 blob", "100755 blob", "ñandú/",
                                                        "dir with spaces/")),
              "git ls-tree -r lists a submodule entry, symlinks, executables, non-ASCII and spaced paths")
    t.require(git("cat-file", "-e", f"{repository.head}:empty dir", cwd=repository.bare, check=False).returncode == 0,
              "the head commit's tree holds an empty subtree")
    history = git("log", "--format=%T %P", "--name-status", "-M", repository.head, cwd=repository.bare).stdout.decode()
    merges = len(re.findall(r"^[0-9a-f]{40} [0-9a-f]{40} [0-9a-f]{40}$", history, re.M))
    renames, deletions = len(re.findall(r"^R\d+\t", history, re.M)), len(re.findall(r"^D\t", history, re.M))
    t.require(merges and renames and deletions and f"\n{EMPTY_TREE} " in f"\n{history}" and repository.tags,
              "main's history has merges, renames, deletions, an empty root tree, and annotated tags",
              f"{merges} merges, {renames} renames, {deletions} deletions, tags {repository.tags}")

    certs = work / "certs"
    harness.run([str(ROOT / "scripts" / "make-test-certs"), str(certs)])
    daemon_port = free_port()
    start_daemon(t, served, daemon_port)
    http_port, https_port = start_git_nginx(t, work / "nginx", served, certs)
    daemon = f"git://127.0.0.1:{daemon_port}/repo.git"
    servers = (("git-v2", daemon, ["--protocol=2"]), ("git-v0", daemon, ["--protocol=0"]),
               ("http-v2", f"http://127.0.0.1:{http_port}/repo.git", ["--protocol=2"]),
               ("http-v0", f"http://127.0.0.1:{http_port}/repo.git", ["--protocol=0"]),
               ("https-v2", f"https://localhost:{https_port}/repo.git", ["--protocol=2", f"--store=trust={certs}"]))
    add_next_repository(repository)

    followed, fresh = {}, {}

    def part(function, *arguments):
        def run(t):
            function(t, *arguments)
        return lambda: t.run_part(run)

    def follow_part(t, name, remote, options):
        followed[name] = follow(t, app, repository, expected, name, remote, options)

    def dates_part(t, remote, options):
        status, output = app.run(remote, "--dates", *options)
        t.check(status == 0, "dates: the app exits 0", f"exit {status}: {output.strip()[-300:]}")
        steps = app_steps(output)
        if t.check(len(steps) == 1, "dates: the app prints the head's dates", f"{len(steps)} steps"):
            head, shallow, got, _ = steps[0]
            t.check(head == repository.head and not shallow, "dates: of main's head, from the whole history")
            compare(t, "dates", got, expected_dates(repository.bare))

    def fresh_part(t, stage):
        fresh[stage] = fresh_clone(t, app, repository, expected, stage, daemon)

    # The followers mostly wait; the other runs share a few workers.
    with ThreadPoolExecutor(max_workers=len(servers)) as followers, ThreadPoolExecutor(max_workers=3) as others:
        jobs = [followers.submit(part(follow_part, *server)) for server in servers]
        jobs += [others.submit(part(dates_part, *servers[-1][1:]))]
        jobs += [others.submit(part(fresh_part, stage)) for stage in FOLLOWED_STAGES]
        jobs += [others.submit(part(broken, app, repository, expected, *case)) for case in BROKEN_CASES]
        jobs += [others.submit(part(daemon_killed, app, repository, expected, daemon_port, version))
                 for version in (2, 0)]
        for job in jobs:
            job.result()

    for name, found in followed.items():
        for stage, state in zip(FOLLOWED_STAGES, found[1:]):
            if stage in fresh:
                same = all(state[key] == fresh[stage][key] for key in ("head", "listing", "blobs", "log"))
                t.check(same, f"{name} {stage}: the same state as a fresh clone of that commit")


if __name__ == "__main__":
    harness.main(test, needs_root=False)
