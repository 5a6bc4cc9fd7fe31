#!/usr/bin/env python3
"""Stores read from directories at boot on the hosted target (--store=NAME=DIR):

  - examples/static-site built without TLS keys, booted with
    --store=site=TMPDIR,tls=CERTDIR/tls --tls=443, serves every file of TMPDIR
    byte-exact over HTTPS (the sample site plus files it does not have, one
    reached through a symbolic link inside TMPDIR) with the SHA-256 as ETag,
    never gzip (a directory store has no variants); dotfiles and .git stay
    hidden;
  - a bad --store value (a missing directory, no '=', a symbolic link leading
    outside DIR) stops the application with status 2 and a message naming
    --store.

Topology: harness.py's namespace, static-site at 10.0.0.2 (static_site_test's
curl helper and names).
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import harness
from harness import ROOT
from static_site_test import CERTS, HOST, SITE, Curl

EXTRA = {
    "notes/not-in-the-sample.txt": b"served from a directory given at boot\n",
    "notes/binary.bin": bytes(range(256)) * 300,
    "empty.txt": b"",
}
HIDDEN = {".secret": b"dotfiles stay out\n", ".git/config": b"[core]\n"}


def build_static_site():
    """static-site (ASan) without --crunch: the sample site built in, no TLS keys."""
    return harness.build_app("examples/static-site", "hosted", preset="hosted-asan")


def make_site(directory):
    shutil.copytree(SITE, directory)
    for name, content in {**EXTRA, **HIDDEN}.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
    os.symlink("notes/not-in-the-sample.txt", directory / "alias.txt")


def served_files(directory):
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts))


def part_serving(t, ns, binary, site):
    curl = Curl(t, ns)
    app = harness.Echo(t, ns, "--ipv4=10.0.0.2/24", f"--store=site={site},tls={CERTS / 'tls'}", "--tls=443",
                       label="static-site-store", binary=binary)
    app.wait_for(r"serving", timeout=20)
    files = served_files(site)
    t.check("alias.txt" in files and "notes/not-in-the-sample.txt" in files, "the site holds files beyond the sample")
    t.check(app.wait_for(rf"store site: {len(files)} files", timeout=1), f"the log counts the store's {len(files)} files")
    for name in files:
        expected = (site / name).read_bytes()
        status, headers, body = curl(f"https://{HOST}/{name}", "-H", "Accept-Encoding: gzip")
        t.check(status == 200 and body == expected, f"https: /{name} byte-exact ({len(expected)} bytes)",
                f"status {status}, {len(body)} bytes, expected {len(expected)}")
        t.check(headers.get("etag") == f'"{hashlib.sha256(expected).hexdigest()}"' and
                "content-encoding" not in headers, f"https: /{name} has its SHA-256 as ETag, no gzip",
                f"etag {headers.get('etag')}, content-encoding {headers.get('content-encoding')}")
    _, headers, _ = curl(f"https://{HOST}/index.html")
    t.check(headers.get("content-type", "").startswith("text/html") and
            headers.get("strict-transport-security") == "max-age=31536000", "https: media type and HSTS",
            str(headers))
    for name in HIDDEN:
        status, _, _ = curl(f"https://{HOST}/{name}")
        t.check(status == 404, f"https: /{name} is not served", f"status {status}")
    app.stop()


def part_bad_values(t, binary, site, scratch):
    outside = scratch / "outside.txt"
    outside.write_bytes(b"not part of the site\n")
    escaping = scratch / "escaping"
    escaping.mkdir()
    (escaping / "fine.txt").write_bytes(b"fine\n")
    os.symlink(outside, escaping / "leak.txt")
    cases = [
        (f"site={scratch / 'missing'}", str(scratch / "missing")),
        (str(site), "is not NAME=DIR"),
        (f"site={escaping}", "symbolic link leads outside"),
        (f"site={site},site={site}", "store 'site' given twice"),
    ]
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    for value, detail in cases:
        result = subprocess.run([str(binary), f"--store={value}"], capture_output=True, text=True, timeout=30,
                                env=env)
        t.check(result.returncode == 2 and f"argument '--store={value}'" in result.stdout and
                detail in result.stdout and "stopping: bad boot argument" in result.stdout,
                f"--store={value.replace(str(scratch), 'TMP')} stops with status 2 naming --store ({detail})",
                f"status {result.returncode}: {result.stdout.strip()[-400:]}")


def test(t):
    harness.test_certs()
    binary = build_static_site()
    t.require(binary.is_file(), f"static-site built without TLS keys: {binary}")
    with tempfile.TemporaryDirectory(prefix="directory_store_test-") as scratch:
        scratch = Path(scratch)
        site = scratch / "site"
        make_site(site)
        t.run_part(lambda t: part_bad_values(t, binary, site, scratch))
        ns = t.namespace()
        t.run_part(lambda t: part_serving(t, ns, binary, site))


if __name__ == "__main__":
    harness.main(test)
