#!/usr/bin/env python3
"""examples/git-site against git's own daemon, curl and a webhook sender:

  hosted (--net=socket on loopback, plain HTTP):
  - started before the remote answers: every page is 503 with Retry-After
    while the pull is retried with backoff; once `git daemon` starts, the
    app serves the branch's head (the log names it and its file count);
  - every file of the head tree byte-exact (curl); `dir/` → dir/index.html,
    `dir` → 301; ETag is "<blob id>"; Last-Modified is `git log -1` of the
    path; If-None-Match → 304; a symlink is not served;
  - a push, then a webhook signed each forge's way (GitHub's
    X-Hub-Signature-256, Gitea's X-Gitea-Signature, GitLab's X-Gitlab-Token)
    → 202, and the new content, ETag and date are served;
  - a response held back by a client that does not read finishes byte-exact
    from the old tree after a push and webhook swapped in the new one;
  - a push, then webhooks with a wrong signature, a wrong token, a malformed
    one and none → 401 each, and no pull (the pulls that follow are exactly
    those of the correct webhooks; the counters printed on SIGTERM agree);
  - --branch=draft with --pull-interval=1s and no webhook: the draft branch
    is served, and a push to it shows without any request;
  - a remote gone: a webhook's pull fails, is logged, and the old tree stays;
  - --remote=https:// (git http-backend behind Python's TLS, the test CA in
    the ca store): cloned and served; with another CA's certificate in the
    store the pull is refused and the site stays 503;
  - on a tap device in a namespace (root only; skipped, and said so,
    otherwise), Morgana's own stack: cloned from git daemon at 10.0.0.1,
    every file byte-exact, a push plus signed webhook served;
  - refused at boot (status 2): a webhook path without a secret, an https
    remote without trust anchors.
  pvh (QEMU with user networking, TCG, no root): the image clones from `git
  daemon` on the host at 10.0.2.2, serves every file byte-exact over HTTPS
  (a test CA; curl --cacert through hostfwd) with HSTS and HTTP's 301; a
  push plus a signed webhook makes the new content visible; a wrong
  signature gets 401 and no pull.

Only the tap part needs root; the daemon, the apps and QEMU are stopped by
PID at the end, also on failure.
Environment: MORGANA_GIT_SITE (hosted binary; default: built by ./morgana for
hosted, preset hosted-asan), MORGANA_GIT_SITE_PVH (the pvh image; default:
built by ./morgana with build/test-certs/tls crunched in).
"""

import contextlib
import email.utils
import hashlib
import hmac
import http.server
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import git_http_backend
import harness
from git_wire_test import GIT_ENV, free_port, start_daemon
from harness import ROOT, TestFailure

# No space: on pvh it is one boot argument in QEMU's -append, which splits at spaces.
SECRET = "s3cret:the-webhook/shared+secret"
HOOK = "/hooks/push"
BOOT_TIMEOUT = 60  # a pull retried with backoff, then a clone: seconds, unless the machine is very loaded
PULL_TIMEOUT = 60
PVH_BOOT_TIMEOUT = 120
CERTS = ROOT / "build" / "test-certs"  # shared with static_site_test: a test CA, a certificate for localhost
SERVING = r"serving ([0-9a-f]{40}) \((\d+) files\)"
# Every line that ends a pull: a new tree, the same head, or a failure.
PULL_ENDED = re.compile(r"git-site (?:info|warn|error): (?:serving [0-9a-f]{40} \(|pulled: |pull from .* failed)")


def git(*arguments, cwd=None, env=None):
    result = subprocess.run(["git", *arguments], cwd=cwd, env=env or GIT_ENV, capture_output=True, timeout=60)
    if result.returncode != 0:
        raise TestFailure(f"git {' '.join(arguments)} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


class Repository:
    """A working repository pushing to a bare one under `base` (what the daemon serves), with dated commits."""

    def __init__(self, t, work):
        self.t = t
        self.source = work / "source"
        self.base = work / "served"
        self.base.mkdir(parents=True)
        self.bare = self.base / "site.git"
        self.when = 1_700_000_000  # each commit a day after the last, so dates tell commits apart
        git("init", "-q", "-b", "main", str(self.source))
        rng = random.Random(t.seed)
        self.write("index.html", "<!doctype html><title>git-site</title><p>home</p>\n")
        self.write("about/index.html", "<!doctype html><title>about</title><p>about</p>\n")
        self.write("css/site.css", "body { color: #123; }\n")
        self.write("docs/a file.txt", "a name with a space\n")
        self.write("img/logo.bin", bytes(rng.randrange(256) for _ in range(70_000)))
        self.write("big.bin", bytes(rng.randrange(256) for _ in range(400_000)))
        os.symlink("index.html", self.source / "link.html")
        self.commit("first")
        self.write("about/index.html", "<!doctype html><title>about</title><p>about, edited</p>\n")
        self.write("css/site.css", "body { color: #456; }\n")
        self.commit("second")
        git("branch", "draft", cwd=self.source)
        git("clone", "-q", "--bare", str(self.source), str(self.bare))
        git("remote", "add", "served", str(self.bare), cwd=self.source)

    def write(self, path, content):
        target = self.source / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)

    def commit(self, message):
        self.when += 86_400
        date = f"@{self.when} +0200"
        env = dict(GIT_ENV, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        git("add", "-A", cwd=self.source, env=env)
        git("commit", "-qm", message, cwd=self.source, env=env)
        return self.head()

    def push(self, branch="main"):
        git("push", "-q", "served", branch, cwd=self.source)
        return self.head()

    def head(self):
        return git("rev-parse", "HEAD", cwd=self.source).decode().strip()

    def checkout(self, branch):
        git("checkout", "-q", branch, cwd=self.source)

    def tree(self, rev):
        """[(mode, blob id, path)] of every non-directory entry of `rev`."""
        entries = []
        for line in git("ls-tree", "-r", "-z", rev, cwd=self.bare).split(b"\0"):
            if line:
                info, _, path = line.partition(b"\t")
                mode, _, blob = info.decode().split()
                entries.append((mode, blob, path.decode()))
        return entries

    def blob(self, blob):
        return git("cat-file", "blob", blob, cwd=self.bare)

    def last_modified(self, rev, path):
        seconds = git("log", "-1", "--format=%at", rev, "--", path, cwd=self.bare).decode().strip()
        return email.utils.formatdate(int(seconds), usegmt=True)


class Curl:
    """curl against the site; every call returns (status, headers dict, body bytes)."""

    def __init__(self, base_url, *options, namespace=None):
        self.base_url = base_url
        self.options = options
        self.prefix = ["ip", "netns", "exec", namespace.name] if namespace else []

    def __call__(self, path, *options, timeout=30):
        command = [*self.prefix, "curl", "-sS", "--http1.1", "-D", "-", "-o", "-", "--max-time", str(timeout),
                   *self.options,
                   *options, self.base_url + path]
        result = subprocess.run(command, capture_output=True, timeout=timeout + 10)
        if result.returncode != 0:
            raise TestFailure(f"curl {' '.join(options)} {path} failed ({result.returncode}): "
                              f"{result.stderr.decode(errors='replace').strip()}")
        head, _, body = result.stdout.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers, body

    def post(self, path, body, headers):
        options = ["-X", "POST", "--data-binary", "@-", "-H", "Content-Type: application/json"]
        for name, value in headers.items():
            options += ["-H", f"{name}: {value}"]
        command = [*self.prefix, "curl", "-sS", "--http1.1", "-D", "-", "-o", "/dev/null", "--max-time", "30",
                   *self.options,
                   *options, self.base_url + path]
        result = subprocess.run(command, input=body, capture_output=True, timeout=40)
        if result.returncode != 0:
            raise TestFailure(f"curl POST {path} failed: {result.stderr.decode(errors='replace').strip()}")
        return int(result.stdout.split(b" ", 2)[1])


def signature(body, secret=SECRET):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(head):
    return json.dumps({"ref": "refs/heads/main", "after": head}).encode()


# Each forge's way of signing a push, as (name, headers for a body).
FORGES = [
    ("GitHub", lambda body: {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + signature(body)}),
    ("Gitea", lambda body: {"X-Gitea-Event": "push", "X-Gitea-Signature": signature(body),
                            "X-Hub-Signature-256": "sha256=" + signature(body)}),
    ("GitLab", lambda body: {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}),
]
# Requests that must be refused, as (what, headers for a body).
FORGERIES = [
    ("a signature of another body", lambda body: {"X-Hub-Signature-256": "sha256=" + signature(body + b" ")}),
    ("a signature with another secret", lambda body: {"X-Gitea-Signature": signature(body, SECRET + "!")}),
    ("a wrong GitLab token", lambda body: {"X-Gitlab-Token": SECRET[:-1]}),
    ("a malformed signature", lambda body: {"X-Hub-Signature-256": "sha256=" + signature(body)[:-1]}),
    ("no signature", lambda body: {"X-GitHub-Event": "push"}),
]


class Process:
    """An app or QEMU started here, output to a log, stopped by PID."""

    def __init__(self, t, command, label):
        self.t = t
        self.label = label
        self.log_path = t.log_dir / f"{label}.log"
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env=env)
        t.cleanup.add_process(self.process, label)
        t.show_log_on_failure(self.log_path, f"{label} ({' '.join(map(str, command))})")

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern, timeout):
        return harness.wait_for_log(self.log_path, self.process, pattern, timeout, self.label)

    def wait_serving(self, head, timeout=PULL_TIMEOUT):
        return self.wait_for(rf"serving {head} \((\d+) files\)", timeout)

    def pulls_ended(self, since=0):
        return len(PULL_ENDED.findall(self.log()[since:]))

    def stop_with_counters(self):
        status = harness.stop_process(self.process, self.label)
        text = self.log()
        self.t.check(status == 128 + signal.SIGTERM, f"{self.label} exits with status 143 on SIGTERM", f"{status}")
        self.t.check(not re.search(r"Sanitizer|runtime error:", text), f"{self.label}: no sanitizer report")
        _, found, after = text.rpartition("\ncounters:\n")
        self.t.check(bool(found), f"{self.label} prints counters on SIGTERM")
        return {m.group(1): int(m.group(2)) for m in re.finditer(r"^  (\S+) (\d+)$", after, re.M)}


def check_tree(t, repo, curl, rev, label, hsts=False):
    """Every file of `rev` byte-exact with ETag = blob id and Last-Modified from git log; symlinks not served."""
    files = 0
    for mode, blob, path in repo.tree(rev):
        url_path = "/" + path.replace(" ", "%20")
        status, headers, body = curl(url_path)
        if mode == "120000":
            t.check(status == 404, f"{label}: the symlink {path} is not served", f"{status}")
            continue
        files += 1
        expected = repo.blob(blob)
        t.check(status == 200 and body == expected,
                f"{label}: {path} byte-exact ({len(expected)} bytes)", f"{status}, {len(body)} bytes")
        t.check(headers.get("etag") == f'"{blob}"', f"{label}: {path} ETag is its blob id", headers.get("etag"))
        t.check(headers.get("last-modified") == repo.last_modified(rev, path),
                f"{label}: {path} Last-Modified is git log's {repo.last_modified(rev, path)}",
                headers.get("last-modified"))
        if hsts:
            t.check(headers.get("strict-transport-security", "").startswith("max-age="), f"{label}: {path} HSTS")
    return files


def check_directories(t, repo, curl, label):
    status, _, body = curl("/about/")
    t.check(status == 200 and body == (repo.source / "about" / "index.html").read_bytes(),
            f"{label}: /about/ is about/index.html", f"{status} {body[:80]!r}")
    status, headers, _ = curl("/about")
    t.check(status == 301 and headers.get("location", "").endswith("/about/"), f"{label}: /about → 301 /about/",
            f"{status} {headers.get('location')}")
    status, _, body = curl("/")
    t.check(status == 200 and body == (repo.source / "index.html").read_bytes(), f"{label}: / is index.html")
    status, headers, _ = curl("/index.html")
    etag = headers.get("etag", "")
    status, _, body = curl("/index.html", "-H", f"If-None-Match: {etag}")
    t.check(status == 304 and body == b"", f"{label}: If-None-Match with the ETag → 304", f"{status}")
    status, _, _ = curl("/index.html", "-H", 'If-None-Match: "0000000000000000000000000000000000000000"')
    t.check(status == 200, f"{label}: If-None-Match with another ETag → 200", f"{status}")
    status, _, _ = curl("/missing.html")
    t.check(status == 404, f"{label}: a missing path → 404", f"{status}")


def push_and_hook(t, repo, app, curl, forge, sign, number):
    """A new css/site.css pushed, then the webhook signed `forge`'s way: 202 and the new file served."""
    repo.write("css/site.css", f"body {{ color: #{number:03}; }} /* {forge} */\n")
    repo.commit(f"css for {forge}")
    head = repo.push()
    body = payload(head)
    status = curl.post(HOOK, body, sign(body))
    t.check(status == 202, f"{forge}-signed webhook → 202", f"{status}")
    app.wait_serving(head)
    status, headers, served = curl("/css/site.css")
    t.check(status == 200 and served == (repo.source / "css" / "site.css").read_bytes(),
            f"after a push and a {forge}-signed webhook, the new css is served", f"{served!r}")
    blob = git("rev-parse", f"{head}:css/site.css", cwd=repo.bare).decode().strip()
    t.check(headers.get("etag") == f'"{blob}"' and headers.get("last-modified") == repo.last_modified(head,
                                                                                                      "css/site.css"),
            f"{forge}: the new css has its new blob id and date", f"{headers}")
    return head


def check_forgeries_refused(t, repo, app, curl):
    """A push, then forged webhooks: 401 each and no pull; then a correct one pulls once. Returns
    (forgeries sent, the new head)."""
    old_css = curl("/css/site.css")[2]
    repo.write("css/site.css", "body { color: red; } /* not yet */\n")
    repo.commit("pushed, announced only by forgeries")
    head = repo.push()
    body = payload(head)
    since = len(app.log())
    for what, sign in FORGERIES:
        status = curl.post(HOOK, body, sign(body))
        t.check(status == 401, f"a webhook with {what} → 401", f"{status}")
    t.check(curl("/css/site.css")[2] == old_css, "after the forged webhooks, the old css is still served")
    # Two correct webhooks, each awaited: had a forgery started a pull, a third pull would have ended by then.
    t.check(curl.post(HOOK, body, FORGES[0][1](body)) == 202, "then a correct webhook → 202")
    app.wait_serving(head)
    t.check(curl.post(HOOK, body, FORGES[2][1](body)) == 202, "and another → 202")
    app.wait_for(rf"pulled: refs/heads/main is still {head}", PULL_TIMEOUT)
    ended = app.pulls_ended(since)
    t.check(ended == 2, "the forged webhooks pulled nothing: 2 pulls ended after them, one per correct webhook",
            f"{ended} pulls ended")
    return len(FORGERIES), head


def push_and_pull(t, repo, app, curl, what):
    """A commit of what is in the working tree pushed, then a GitHub-signed webhook; returns the new head once served."""
    repo.commit(what)
    head = repo.push()
    body = payload(head)
    t.check(curl.post(HOOK, body, FORGES[0][1](body)) == 202, f"{what}: the webhook → 202")
    app.wait_serving(head)
    return head


def check_in_flight(t, repo, app, curl, port, path="huge.bin"):
    """A response held back by a reader that does not read finishes from the tree it started with, after a
    push and webhook replaced it (ASan would see a value freed with the old tree; the blog uses this for its
    snapshots, with a `path` under static/). The file is larger than
    the kernel's largest socket buffers (tcp_wmem 4 MiB), so the server cannot have sent it all."""
    before = random.Random(t.seed).randbytes(6 << 20)
    repo.write(path, before)
    push_and_pull(t, repo, app, curl, f"in flight: {path} added")
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(30)
        sock.connect(("127.0.0.1", port))
        client = f"127.0.0.1:{sock.getsockname()[1]}"
        sock.sendall(f"GET /{path} HTTP/1.1\r\nHost: site\r\nConnection: close\r\n\r\n".encode())
        answer = sock.recv(1024)
        repo.write(path, before[::-1])
        push_and_pull(t, repo, app, curl, f"in flight: {path} reversed")
        t.require(f'{client} "GET /{path}"' not in app.log(),
                  "in flight: the held response is still being sent when the new tree is served")
        t.check(curl(f"/{path}")[2] == before[::-1], f"in flight: new requests get the new {path}")
        while chunk := sock.recv(1 << 20):
            answer += chunk
    _, _, held = answer.partition(b"\r\n\r\n")
    t.check(held == before, f"in flight: the response begun before the swap finishes with the old {path}",
            f"{len(held)} bytes")


def hosted_binary():
    if os.environ.get("MORGANA_GIT_SITE"):
        return Path(os.environ["MORGANA_GIT_SITE"])
    return harness.build_app("examples/git-site", "hosted", preset="hosted-asan")


def part_hosted(t):
    binary = hosted_binary()
    work = t.log_dir / "hosted"
    repo = Repository(t, work)
    daemon_port, http_port = free_port(), free_port()
    app = Process(t, [binary, "--net=socket", f"--port={http_port}", "--tls=0",
                      f"--remote=git://127.0.0.1:{daemon_port}/site.git", f"--webhook-path={HOOK}",
                      f"--webhook-secret={SECRET}"], "git-site")
    curl = Curl(f"http://127.0.0.1:{http_port}")
    app.wait_for(r"git-site warn: nothing to serve yet; pulling again in", BOOT_TIMEOUT)
    status, headers, _ = curl("/index.html")
    t.check(status == 503 and headers.get("retry-after", "").isdigit() and int(headers["retry-after"]) >= 1,
            "before the first pull succeeds: 503 with Retry-After", f"{status} {headers}")

    daemon = start_daemon(t, repo.base, daemon_port)
    head = git("rev-parse", "main", cwd=repo.bare).decode().strip()
    match = app.wait_for(SERVING, BOOT_TIMEOUT)
    entries = repo.tree(head)
    t.check(match.group(1) == head and int(match.group(2)) == len(entries),
            f"once git daemon answers, the app serves main's head with its {len(entries)} files",
            match.group(0))
    boot_failures = len(re.findall(r"nothing to serve yet", app.log()))
    files = check_tree(t, repo, curl, head, "hosted")
    t.check(files == len(entries) - 1, f"hosted: {files} files checked")
    check_directories(t, repo, curl, "hosted")

    for number, (forge, sign) in enumerate(FORGES):
        head = push_and_hook(t, repo, app, curl, forge, sign, number)
    check_in_flight(t, repo, app, curl, http_port)
    forged, head = check_forgeries_refused(t, repo, app, curl)
    check_tree(t, repo, curl, head, "hosted, after the pushes")

    # The remote gone: a pull fails, is logged, and the tree served stays.
    harness.stop_process(daemon, "git daemon")
    before = curl("/css/site.css")[2]
    since = len(app.log())
    t.check(curl.post(HOOK, b"{}", FORGES[0][1](b"{}")) == 202, "with the remote gone, a webhook → 202")
    app.wait_for(r"git-site error: pull from .* failed", PULL_TIMEOUT)
    status, _, body = curl("/css/site.css")
    t.check(status == 200 and body == before and app.pulls_ended(since) == 1,
            "a failed pull is logged and the old tree is still served", f"{status} {body!r}")
    start_daemon(t, repo.base, daemon_port)

    counters = app.stop_with_counters()
    # One for each forge, two in flight, two after the forgeries, one with the remote gone.
    accepted = len(FORGES) + 2 + 2 + 1
    expected = {"http.webhook_accepted": accepted, "http.webhook_refused": forged,
                "git_site.pulls": boot_failures + 1 + accepted, "git_site.pulls_failed": boot_failures + 1,
                "git_site.trees_served": 1 + len(FORGES) + 2 + 1}
    got = {name: counters.get(name, 0) for name in expected}
    t.check(got == expected, "the counters agree: refused webhooks counted, no pull for them", f"{got} != {expected}")

    part_branch_and_interval(t, binary, repo, daemon_port)


def part_branch_and_interval(t, binary, repo, daemon_port):
    """--branch=draft, pulled every second, no webhook: a push to draft shows by itself."""
    repo.checkout("draft")
    repo.write("index.html", "<!doctype html><title>draft</title><p>draft home</p>\n")
    repo.commit("draft home")
    draft = repo.push("draft")
    http_port = free_port()
    app = Process(t, [binary, "--net=socket", f"--port={http_port}", "--tls=0", "--branch=draft",
                      "--pull-interval=1s", f"--remote=git://127.0.0.1:{daemon_port}/site.git"], "git-site-draft")
    curl = Curl(f"http://127.0.0.1:{http_port}")
    app.wait_serving(draft, BOOT_TIMEOUT)
    t.check(curl("/")[2] == (repo.source / "index.html").read_bytes(), "--branch=draft serves draft's index.html")
    repo.write("notes/new.txt", "added on draft\n")
    repo.commit("a new file on draft")
    draft = repo.push("draft")
    app.wait_serving(draft, PULL_TIMEOUT)
    status, headers, body = curl("/notes/new.txt")
    t.check(status == 200 and body == b"added on draft\n",
            "--pull-interval=1s picks up a push to draft without a webhook", f"{status} {body!r}")
    status, _, _ = curl(HOOK, "-X", "POST", "-d", "{}")
    t.check(status in (404, 405), f"without --webhook-path, a POST to {HOOK} pulls nothing ({status})")
    counters = app.stop_with_counters()
    t.check(counters.get("http.webhook_accepted", 0) == 0 and counters.get("git_site.trees_served") == 2,
            "the draft run served 2 trees, by the interval alone", f"{counters}")
    repo.checkout("main")


def part_refusals(t):
    binary = hosted_binary()
    remote = "--remote=git://127.0.0.1:9/site.git"
    for arguments, what, reason in [
        ([remote, f"--webhook-path={HOOK}"], "a webhook path without a secret", "--webhook-path and --webhook-secret"),
        ([remote, f"--webhook-secret={SECRET}"], "a webhook secret without a path",
         "--webhook-path and --webhook-secret"),
        ([remote, "--webhook-path=hook", f"--webhook-secret={SECRET}"], "a webhook path without '/'",
         "--webhook-path=hook"),
        (["--remote=https://127.0.0.1/site.git"], "an https remote without trust anchors", "trust anchors"),
        (["--remote=ssh://example.org/site.git"], "an ssh remote", "--remote=ssh"),
        ([], "no --remote", "--remote=URL is required"),
    ]:
        result = subprocess.run([str(binary), "--net=socket", "--port=0", "--tls=0", *arguments],
                                capture_output=True, text=True, timeout=60)
        t.check(result.returncode == 2 and reason in result.stdout + result.stderr,
                f"refused at boot with status 2: {what}", f"{result.returncode}: {result.stdout[-400:]}")


class TapApp(harness.Echo):
    """git-site on the namespace's tap0 (harness.Echo's setup), waited for as Process is."""

    def wait_serving(self, head, timeout=PULL_TIMEOUT):
        return self.wait_for(rf"serving {head} \((\d+) files\)", timeout)


def part_tap(t):
    """On a tap device with Morgana's own stack (root: a namespace): cloned from git daemon at 10.0.0.1,
    every file byte-exact, a signed webhook pulls a push."""
    if os.geteuid() != 0:
        print("  skip  the tap part needs root (a network namespace); run as root to include it", flush=True)
        return
    binary = hosted_binary()
    repo = Repository(t, t.log_dir / "tap")
    ns = t.namespace("tap")
    port = free_port()
    daemon_log = t.log_dir / "git-daemon-tap.log"
    ns.spawn(["git", "daemon", "--export-all", f"--base-path={repo.base}", f"--port={port}",
              f"--listen={harness.LINUX_ADDRESS}", "--reuseaddr"], daemon_log, "git daemon (tap)")
    t.show_log_on_failure(daemon_log, "git daemon (tap)")

    def daemon_listening():
        with ns.entered(), socket.socket() as probe:
            return probe.connect_ex((harness.LINUX_ADDRESS, port)) == 0

    t.require(harness.wait_until(daemon_listening, 10), "tap: git daemon listens on 10.0.0.1")
    app = TapApp(t, ns, f"--ipv4={harness.ECHO_ADDRESS}/{harness.PREFIX}", "--port=80", "--tls=0",
                       f"--remote=git://{harness.LINUX_ADDRESS}:{port}/site.git", f"--webhook-path={HOOK}",
                       f"--webhook-secret={SECRET}", label="git-site-tap", binary=binary)
    head = git("rev-parse", "main", cwd=repo.bare).decode().strip()
    app.wait_serving(head, BOOT_TIMEOUT)
    curl = Curl(f"http://{harness.ECHO_ADDRESS}", namespace=ns)
    files = check_tree(t, repo, curl, head, "tap")
    t.check(files == len(repo.tree(head)) - 1, f"tap: {files} files checked")
    push_and_hook(t, repo, app, curl, "GitHub", FORGES[0][1], 9)
    counters = app.stop()
    t.check(counters.get("git_site.trees_served") == 2 and counters.get("http.webhook_accepted") == 1,
            "tap: 2 trees served, the second on the webhook", f"{counters}")


@contextlib.contextmanager
def https_git_server(base):
    """git http-backend (git_http_backend.Handler) over TLS with the test certificate, in a thread of this
    process; yields its port."""
    class Handler(git_http_backend.Handler):
        def log_message(self, pattern, *arguments):
            pass  # the app's log says what it fetched

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.project_root = str(base)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERTS / "tls" / "server.pem", CERTS / "tls" / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def part_https_remote(t):
    """--remote=https://: cloned through the TLS client, verified against the ca store; a remote signed by
    another CA is refused, and the site stays 503."""
    harness.test_certs()
    binary = hosted_binary()
    repo = Repository(t, t.log_dir / "https")
    trusted, other = t.log_dir / "ca-trusted", t.log_dir / "ca-other"
    trusted.mkdir()
    shutil.copy(CERTS / "ca.pem", trusted / "ca.pem")
    harness.run([str(ROOT / "scripts" / "make-test-certs"), str(other)])
    head = git("rev-parse", "main", cwd=repo.bare).decode().strip()
    with https_git_server(repo.base) as port:
        for ca, label in ((trusted, "trusted"), (other, "untrusted")):
            http_port = free_port()
            app = Process(t, [binary, "--net=socket", f"--port={http_port}", "--tls=0", f"--store=ca={ca}",
                              f"--remote=https://localhost:{port}/site.git"], f"git-site-https-{label}")
            curl = Curl(f"http://127.0.0.1:{http_port}")
            if label == "trusted":
                app.wait_serving(head, BOOT_TIMEOUT)
                t.check(curl("/big.bin")[2] == (repo.source / "big.bin").read_bytes(),
                        "an https remote verified against the ca store is cloned and served")
            else:
                app.wait_for(r"git-site error: pull from https://.* failed: .*", BOOT_TIMEOUT)
                t.check(curl("/index.html")[0] == 503,
                        "an https remote whose certificate the ca store does not trust: pull refused, still 503")
            app.stop_with_counters()


def pvh_image(certs):
    if os.environ.get("MORGANA_GIT_SITE_PVH"):
        return Path(os.environ["MORGANA_GIT_SITE_PVH"])
    # As a user would: the keys crunched in, the service's ports baked; the remote and secret at boot.
    return harness.build_app("examples/git-site", "pvh", "--crunch", f"tls={certs / 'tls'}", "--", "--tls=443",
                             "--port=80")


def boot_pvh(t, image, append, http_port, https_port, label):
    """The image in QEMU (microvm, user networking: the host is 10.0.2.2), ports 80 and 443 forwarded."""
    netdev = f"user,id=n0,hostfwd=tcp:127.0.0.1:{http_port}-:80,hostfwd=tcp:127.0.0.1:{https_port}-:443"
    return Process(t, ["qemu-system-x86_64", "-M", "microvm", "-cpu", "max", "-m", "256", "-nographic",
                       "-no-reboot", "-nodefaults", "-serial", "stdio", "-device", "isa-debug-exit", "-kernel",
                       str(image), "-append", append, "-netdev", netdev, "-device", "virtio-net-device,netdev=n0"],
                   label)


def stop_pvh(t, guest):
    """Stops the guest; it must have been running, without an abort, a CPU exception or a sanitizer report."""
    running = guest.process.poll() is None
    harness.stop_process(guest.process, guest.label)
    trouble = [line for line in guest.log().splitlines() if re.search(r"morgana abort|CPU exception|Sanitizer",
                                                                        line)]
    t.check(running and not trouble, "pvh: the image ran to the end without trouble", f"{running} {trouble[:5]}")


def part_pvh(t):
    harness.test_certs()
    certs = CERTS
    image = pvh_image(certs)
    work = t.log_dir / "pvh"
    repo = Repository(t, work)
    daemon_port, http_port, https_port = free_port(), free_port(), free_port()
    start_daemon(t, repo.base, daemon_port)
    # The host's loopback is 10.0.2.2 to a guest on QEMU's user networking (its DHCP gives 10.0.2.15).
    append = f"--remote=git://10.0.2.2:{daemon_port}/site.git --webhook-path={HOOK} --webhook-secret={SECRET}"
    guest = boot_pvh(t, image, append, http_port, https_port, "git-site-pvh")
    head = git("rev-parse", "main", cwd=repo.bare).decode().strip()
    guest.wait_serving(head, PVH_BOOT_TIMEOUT)
    curl = Curl(f"https://localhost:{https_port}", "--cacert", str(certs / "ca.pem"))
    files = check_tree(t, repo, curl, head, "pvh over HTTPS", hsts=True)
    t.check(files == len(repo.tree(head)) - 1, f"pvh: {files} files checked over HTTPS")
    status, headers, _ = Curl(f"http://localhost:{http_port}")("/about/")
    t.check(status == 301 and headers.get("location", "").startswith("https://localhost"),
            "pvh: plain HTTP → 301 to HTTPS", f"{status} {headers.get('location')}")

    push_and_hook(t, repo, guest, curl, "GitHub", FORGES[0][1], 7)
    check_forgeries_refused(t, repo, guest, curl)
    stop_pvh(t, guest)


def test(t):
    t.run_part(part_refusals)
    t.run_part(part_hosted)
    t.run_part(part_https_remote)
    t.run_part(part_tap)
    t.run_part(part_pvh)


if __name__ == "__main__":
    harness.main(test, needs_root=False)
