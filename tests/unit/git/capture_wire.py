#!/usr/bin/env python3
"""Regenerates git_captures.h: real bytes from git's own server for the unit tests.

Makes a small repository with git (fixed dates, so ids are stable), serves it
with `git daemon` on 127.0.0.1 (a free port, stopped by PID), talks protocol v2
and v0 to it over a plain socket, asks `git http-backend` (as CGI) for the
smart HTTP advertisement, and writes every exchange as a C++ string literal.
The unit tests only read the header; they never run git.

  python3 tests/unit/git/capture_wire.py    # rewrites tests/unit/git/git_captures.h
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "git_captures.h"
FLUSH, DELIM = b"0000", b"0001"


def pkt(text):
    data = text.encode() if isinstance(text, str) else text
    return b"%04x" % (len(data) + 4) + data


def git(*args, cwd=None, env=None):
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True).stdout


def make_repositories(base):
    env = dict(os.environ, GIT_AUTHOR_DATE="2026-01-01T00:00:00Z", GIT_COMMITTER_DATE="2026-01-01T00:00:00Z",
               GIT_AUTHOR_NAME="Morgana Test", GIT_AUTHOR_EMAIL="test@morgana.invalid",
               GIT_COMMITTER_NAME="Morgana Test", GIT_COMMITTER_EMAIL="test@morgana.invalid")
    work = base / "work"
    git("init", "-q", "-b", "main", str(work), env=env)
    files = [("README.md", "# hello\n", "first"), ("posts/one.md", "post one\n", "second"),
             ("posts/two.md", "post two\n", "third")]
    for index, (name, text, message) in enumerate(files):
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
        git("add", ".", cwd=work, env=env)
        git("commit", "-qm", message, cwd=work, env=env)
        if index == 1:
            git("tag", "-a", "v1", "-m", "version 1", cwd=work, env=env)
            git("tag", "light", cwd=work, env=env)
    git("checkout", "-qb", "draft", cwd=work, env=env)
    (work / "posts/draft.md").write_text("draft\n")
    git("add", ".", cwd=work, env=env)
    git("commit", "-qm", "draft", cwd=work, env=env)
    git("checkout", "-q", "main", cwd=work, env=env)
    git("clone", "-q", "--bare", str(work), str(base / "repo.git"))
    git("init", "-q", "--bare", "--object-format=sha256", str(base / "sha256.git"))
    git("init", "-q", "--bare", str(base / "empty.git"))
    refs = {}
    for line in git("show-ref", cwd=base / "repo.git").decode().splitlines():
        oid, name = line.split()
        refs[name] = oid
    refs["second"] = git("rev-parse", "main~1", cwd=base / "repo.git").decode().strip()
    return refs


def read_until_flush(sock, buffer):
    while True:
        i = 0
        while i + 4 <= len(buffer):
            length = int(buffer[i:i + 4], 16)
            if length == 0:
                return buffer[:i + 4], buffer[i + 4:]
            i += 4 if length < 4 else length
        chunk = sock.recv(65536)
        if not chunk:
            return buffer, b""
        buffer += chunk


def session(port, header, request=None):
    """(advertisement up to its flush, response to `request` up to the end of the stream)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(3)
        sock.sendall(pkt(header))
        advertisement, rest = read_until_flush(sock, b"")
        if request is None:
            return advertisement, b""
        sock.sendall(request)
        response = rest
        try:
            while chunk := sock.recv(65536):
                response += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return advertisement, response


def literal(name, data):
    out, line = [], ""
    for byte in data:
        char = chr(byte)
        piece = char if 0x20 <= byte < 0x7f and char not in '"\\?' else f"\\{byte:03o}"
        line += piece
        if char == "\n" or len(line) > 100:
            out.append(line)
            line = ""
    if line:
        out.append(line)
    body = "\n".join(f'    "{part}"' for part in out) or '    ""'
    return f"inline constexpr std::string_view {name}{{\n{body},\n    {len(data)}}};\n"


def main():
    with tempfile.TemporaryDirectory() as temporary:
        base = Path(temporary)
        refs = make_repositories(base)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        daemon = subprocess.Popen(["git", "daemon", "--export-all", f"--base-path={base}", f"--port={port}",
                                   "--listen=127.0.0.1", "--reuseaddr"], stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port)).close()
                    break
                except OSError:
                    time.sleep(0.05)
            captures = capture(port, refs, base)
        finally:
            os.kill(daemon.pid, signal.SIGTERM)
            daemon.wait()
    text = ["// Generated by tests/unit/git/capture_wire.py from git " +
            git("--version").decode().split()[-1] + "'s own server: do not edit.",
            "#pragma once", "", "#include <string_view>", "", "namespace morgana::git::captured {", ""]
    for name, value in refs.items():
        text.append(f'inline constexpr std::string_view {name.replace("refs/", "").replace("/", "_")}_id = '
                    f'"{value}";')
    text.append("")
    for name, data in captures:
        text.append(literal(name, data))
    text.append("} // namespace morgana::git::captured")
    OUT.write_text("\n".join(text) + "\n")
    print(f"wrote {OUT}")


def capture(port, refs, base):
    main_id, draft, v1, second = refs["refs/heads/main"], refs["refs/heads/draft"], refs["refs/tags/v1"], refs["second"]
    v2 = "git-upload-pack /repo.git\0host=127.0.0.1\0\0version=2\0"
    v0 = "git-upload-pack /repo.git\0host=127.0.0.1\0"
    out = []
    advertisement, response = session(port, v2, pkt("command=ls-refs\n") + pkt("object-format=sha1\n") + DELIM +
                                      pkt("peel\n") + pkt("symrefs\n") + pkt("ref-prefix HEAD\n") +
                                      pkt("ref-prefix refs/heads/\n") + pkt("ref-prefix refs/tags/\n") + FLUSH)
    out += [("v2_advertisement", advertisement), ("v2_ls_refs_response", response)]
    _, response = session(port, v2, pkt("command=fetch\n") + pkt("object-format=sha1\n") + DELIM +
                          pkt("ofs-delta\n") + pkt(f"want {main_id}\n") + pkt(f"want {draft}\n") +
                          pkt(f"want {v1}\n") + pkt("done\n") + FLUSH)
    out.append(("v2_fetch_full_response", response))
    _, response = session(port, v2, pkt("command=fetch\n") + DELIM + pkt("ofs-delta\n") + pkt("no-progress\n") +
                          pkt(f"want {main_id}\n") + pkt(f"have {second}\n") + pkt(f"have {'1' * 40}\n") + FLUSH)
    out.append(("v2_fetch_acknowledgments_response", response))
    _, response = session(port, v2, pkt("command=fetch\n") + DELIM + pkt("ofs-delta\n") + pkt("no-progress\n") +
                          pkt(f"want {main_id}\n") + pkt("deepen 1\n") + pkt("done\n") + FLUSH)
    out.append(("v2_fetch_deepen_response", response))
    _, response = session(port, v2, pkt("command=fetch\n") + DELIM + pkt(f"want {'2' * 40}\n") + pkt("done\n") +
                          FLUSH)
    out.append(("v2_fetch_not_our_ref_response", response))
    out.append(("v2_not_found_advertisement",
                session(port, "git-upload-pack /nope.git\0host=127.0.0.1\0\0version=2\0")[0]))
    out.append(("v2_sha256_advertisement",
                session(port, "git-upload-pack /sha256.git\0host=127.0.0.1\0\0version=2\0")[0]))
    _, response = session(port, "git-upload-pack /empty.git\0host=127.0.0.1\0\0version=2\0",
                          pkt("command=ls-refs\n") + DELIM + pkt("symrefs\n") + pkt("unborn\n") + FLUSH)
    out.append(("v2_empty_ls_refs_response", response))
    advertisement, response = session(port, v0, pkt(
        f"want {main_id} multi_ack_detailed side-band-64k ofs-delta agent=morgana/0.1\n") + pkt(f"want {draft}\n") +
        pkt(f"want {v1}\n") + FLUSH + pkt("done\n"))
    out += [("v0_advertisement", advertisement), ("v0_fetch_full_response", response)]
    _, response = session(port, v0, pkt(f"want {main_id} multi_ack_detailed side-band-64k ofs-delta no-progress\n") +
                          FLUSH + pkt(f"have {second}\n") + pkt(f"have {'1' * 40}\n") + pkt("done\n"))
    out.append(("v0_fetch_have_response", response))
    _, response = session(port, v0, pkt(
        f"want {main_id} multi_ack_detailed side-band-64k ofs-delta shallow no-progress\n") + pkt("deepen 1\n") +
        FLUSH + pkt("done\n"))
    out.append(("v0_fetch_deepen_response", response))
    _, response = session(port, v0, pkt(f"want {main_id} multi_ack_detailed ofs-delta no-progress\n") + FLUSH +
                          pkt("done\n"))
    out.append(("v0_fetch_no_side_band_response", response))
    out.append(("v0_empty_advertisement", session(port, "git-upload-pack /empty.git\0host=127.0.0.1\0")[0]))
    env = dict(os.environ, GIT_PROJECT_ROOT=str(base), GIT_HTTP_EXPORT_ALL="1", GATEWAY_INTERFACE="CGI/1.1",
               REQUEST_METHOD="GET", QUERY_STRING="service=git-upload-pack", PATH_INFO="/repo.git/info/refs")
    cgi = subprocess.run(["git", "http-backend"], env=env, check=True, capture_output=True).stdout
    out.append(("http_v0_info_refs_body", cgi.split(b"\r\n\r\n", 1)[1]))
    return out


if __name__ == "__main__":
    sys.exit(main())
