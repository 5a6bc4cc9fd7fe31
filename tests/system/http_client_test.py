#!/usr/bin/env python3
"""examples/fetch (Morgana's HTTP client, --net=socket) against nginx on loopback:

  - HTTP and HTTPS pages byte-exact (length and SHA-256 with --digest; the
    text of a small page as printed), the status line and header fields;
  - HTTPS verified against a CA baked in with --crunch ca=DIR (only ca.pem
    from scripts/make-test-certs);
  - a redirect printed as it is by default and followed with --max-redirects,
    over HTTP and HTTPS;
  - a chunked body (nginx's SSI output has no Content-Length);
  - a 404 with its body; HEAD without one;
  - https://127.0.0.1 (no SNI; the certificate names the address as an
    iPAddress);
  - refusals: a certificate for another host name (wrong.test mapped to
    127.0.0.1 with --connect-to), one for another IP address (nginx also on
    127.0.0.2), a server signed by a CA not baked in, https in a build without
    CA, a connection refused.

No namespaces and no root needed: nginx listens on 127.0.0.1 at free ports,
runs in the foreground from a temporary configuration, and is stopped by PID.
"""

import hashlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import ROOT, TestFailure  # noqa: E402
from nginx_support import listen, start_nginx  # noqa: E402

FETCH_TIMEOUT = 30


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_fetch(work, name, crunch_dir):
    """Builds examples/fetch (ASan) with `crunch_dir` as the store "ca" (none when None);
    returns a copy of the binary in `work`, since the next build replaces it."""
    crunch = ["--crunch", f"ca={crunch_dir}"] if crunch_dir else []
    built = harness.build_app("examples/fetch", "hosted", *crunch, preset="hosted-asan")
    copy = work / name
    shutil.copy2(built, copy)
    return copy


NGINX_HTTP = """\
  types {{ text/html html; text/plain txt; application/octet-stream bin; }}
  default_type application/octet-stream;
  gzip off;
  keepalive_timeout 30s;
  server {{
{listen}
    root {work}/www;
    location = /old {{ return 301 /index.html; }}
    location /chunked/ {{ ssi on; }}
  }}"""


class Fetch:
    """One examples/fetch binary; each call runs it and returns a Result."""

    def __init__(self, t, binary, label):
        self.t = t
        self.binary = binary
        self.label = label
        self.runs = 0

    def __call__(self, url, *options):
        self.runs += 1
        log_path = self.t.log_dir / f"{self.label}-{self.runs}.log"
        command = [str(self.binary), "--net=socket", f"--url={url}", "--timeout=10s", "--connect-timeout=5s",
                   *options]
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
        try:
            completed = subprocess.run(command, capture_output=True, timeout=FETCH_TIMEOUT, env=env,
                                       stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"fetch {url} did not finish within {FETCH_TIMEOUT} s")
        output = completed.stdout + completed.stderr
        log_path.write_bytes(output)
        self.t.show_log_on_failure(log_path, f"{self.label} {' '.join(options)} {url}")
        result = Result(completed.returncode, output)
        self.t.check(not re.search(rb"Sanitizer|runtime error:", output), f"{self.label} {url}: no sanitizer report")
        return result


class Result:
    def __init__(self, status, output):
        self.status = status
        self.output = output
        self.text = output.decode("latin-1")
        self.code = None
        self.headers = {}
        self.body = b""
        match = re.search(rb"^HTTP/1\.[01] (\d{3}) [^\n]*\n", output, re.MULTILINE)
        if match:
            self.code = int(match.group(1))
            head_end = output.find(b"\n\n", match.start())
            for line in output[match.end():head_end].decode("latin-1").split("\n"):
                name, _, value = line.partition(": ")
                self.headers[name.lower()] = value
            # The body runs up to the counters boot prints at exit.
            self.body = output[head_end + 2:output.rfind(b"counters:\n")]
        digest = re.search(r"^body: (\d+) bytes sha256 ([0-9a-f]{64})$", self.text, re.MULTILINE)
        self.digest = (int(digest.group(1)), digest.group(2)) if digest else None


def expect_page(t, fetch, url, content, what, *options):
    result = fetch(url, "--digest", *options)
    expected = (len(content), hashlib.sha256(content).hexdigest())
    t.check(result.status == 0 and result.code == 200 and result.digest == expected, f"{what}: byte-exact",
            f"exit {result.status}, status {result.code}, digest {result.digest}, expected {expected}")
    return result


def expect_refusal(t, fetch, url, pattern, what, *options):
    result = fetch(url, *options)
    t.check(result.status == 1 and result.code is None and re.search(pattern, result.text), what,
            f"exit {result.status}, output: {result.text.strip()[-400:]}")


def test(t):
    for tool in ("nginx", "openssl"):
        if not shutil.which(tool):
            raise TestFailure(f"{tool} is not installed")
    work = Path(tempfile.mkdtemp(prefix="httpclient-test-"))
    try:
        run(t, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(t, work):
    certs = work / "certs"
    other = work / "other-certs"
    harness.run([str(ROOT / "scripts" / "make-test-certs"), str(certs)])
    harness.run([str(ROOT / "scripts" / "make-test-certs"), str(other)])
    trusted_ca = work / "ca"
    other_ca = work / "other-ca"
    for source, target in ((certs, trusted_ca), (other, other_ca)):
        target.mkdir()
        shutil.copy2(source / "ca.pem", target / "ca.pem")

    fetch = Fetch(t, build_fetch(work, "fetch-trusting", trusted_ca), "fetch")
    fetch_other = Fetch(t, build_fetch(work, "fetch-other-ca", other_ca), "fetch-other-ca")
    fetch_no_ca = Fetch(t, build_fetch(work, "fetch-no-ca", None), "fetch-no-ca")

    www = work / "www"
    (www / "chunked").mkdir(parents=True)
    index = ("<!doctype html><title>fetch test</title><p>" + secrets.token_hex(40) + "</p>\n").encode()
    (www / "index.html").write_bytes(index)
    big = t.random.randbytes(300_000)
    (www / "big.bin").write_bytes(big)
    part = ("part " + secrets.token_hex(2000) + "\n").encode()
    (www / "part.txt").write_bytes(part)
    (www / "chunked" / "page.html").write_bytes(b"start\n<!--# include virtual=\"/part.txt\" -->end\n")
    chunked_expected = b"start\n" + part + b"end\n"
    http_port, https_port = free_port(), free_port()
    # 127.0.0.2 too: another address of the loopback, which the certificate does not name.
    listening = listen(http_port, https_port, certs) + f"\n    listen 127.0.0.2:{https_port} ssl;"
    nginx = start_nginx(t, work, NGINX_HTTP.format(work=work, listen=listening), https_port)
    base = f"http://127.0.0.1:{http_port}"
    secure = f"https://localhost:{https_port}"

    # Plain HTTP.
    small = fetch(f"{base}/index.html")
    t.check(small.status == 0 and small.code == 200 and small.body == index, "http: a page as printed",
            f"exit {small.status}, status {small.code}, body {small.body[:80]!r}")
    t.check(small.headers.get("content-type") == "text/html" and
            small.headers.get("content-length") == str(len(index)), "http: header fields printed",
            str(small.headers))
    expect_page(t, fetch, f"{base}/big.bin", big, "http: 300 kB binary")
    head = fetch(f"{base}/big.bin", "--method=HEAD")
    t.check(head.status == 0 and head.code == 200 and head.headers.get("content-length") == str(len(big)) and
            head.body == b"", "http: HEAD has the length and no body", f"{head.code} {head.headers} {head.body[:40]!r}")
    missing = fetch(f"{base}/missing.html")
    t.check(missing.status == 0 and missing.code == 404 and b"404 Not Found" in missing.body,
            "http: 404 with its body", f"exit {missing.status}, status {missing.code}")

    # Redirects.
    moved = fetch(f"{base}/old")
    t.check(moved.code == 301 and moved.headers.get("location") == f"{base}/index.html",
            "http: a 301 is printed as it is by default", f"{moved.code} {moved.headers}")
    expect_page(t, fetch, f"{base}/old", index, "http: redirect followed", "--max-redirects=3")
    expect_page(t, fetch, f"{secure}/old", index, "https: redirect followed", "--max-redirects=3")

    # Chunked.
    chunked = expect_page(t, fetch, f"{base}/chunked/page.html", chunked_expected, "http: chunked SSI page")
    t.check(chunked.headers.get("transfer-encoding") == "chunked" and "content-length" not in chunked.headers,
            "http: the SSI page came chunked", str(chunked.headers))
    expect_page(t, fetch, f"{secure}/chunked/page.html", chunked_expected, "https: chunked SSI page")

    # HTTPS.
    tls_small = fetch(f"{secure}/index.html")
    t.check(tls_small.status == 0 and tls_small.code == 200 and tls_small.body == index, "https: a page as printed",
            f"exit {tls_small.status}, status {tls_small.code}: {tls_small.text.strip()[-300:]}")
    expect_page(t, fetch, f"{secure}/big.bin", big, "https: 300 kB binary")
    expect_page(t, fetch, f"https://static-site.test:{https_port}/index.html", index,
                "https: another name of the certificate via --connect-to",
                "--connect-to=static-site.test:127.0.0.1")
    expect_page(t, fetch, f"https://127.0.0.1:{https_port}/big.bin", big, "https: by IP address")

    # Refusals.
    expect_refusal(t, fetch, f"https://wrong.test:{https_port}/", r"TLS with wrong\.test.*BR_ERR_X509_BAD_SERVER_NAME",
                   "https: a certificate for another host name is refused", "--connect-to=wrong.test:127.0.0.1")
    expect_refusal(t, fetch, f"https://127.0.0.2:{https_port}/",
                   r"TLS with 127\.0\.0\.2.*certificate not valid for the IP address connected to",
                   "https: a certificate for another IP address is refused")
    expect_refusal(t, fetch_other, f"{secure}/", r"TLS with localhost.*BR_ERR_X509_NOT_TRUSTED",
                   "https: a server from an untrusted CA is refused")
    t.check(fetch_other(f"{base}/index.html").code == 200, "the other-CA build still fetches plain HTTP")
    expect_refusal(t, fetch_no_ca, f"{secure}/", r"refusing https: no trust anchors",
                   "https: refused in a build without CA")
    closed_port = free_port()
    expect_refusal(t, fetch, f"http://127.0.0.1:{closed_port}/", rf"connect to 127\.0\.0\.1:{closed_port}: "
                   r"connection refused", "a refused connection is named")
    expect_refusal(t, fetch, "http://[::1]/", r"IPv6 address literals", "an IPv6 URL is refused")

    status = harness.stop_process(nginx, "nginx")
    t.check(status is not None, "nginx stopped")


if __name__ == "__main__":
    harness.main(test, needs_root=False)
