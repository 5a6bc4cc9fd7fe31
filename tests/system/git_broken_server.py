#!/usr/bin/env python3
"""Git servers that fail on purpose, for git_acceptance_test.py.

  python3 tests/system/git_broken_server.py PROJECT_ROOT PORT MODE
  python3 tests/system/git_broken_server.py --daemon=DAEMON_PORT PORT killed

Serves PROJECT_ROOT's repo.git through `git http-backend` (as
git_http_backend.py does) for a first fetch. A later fetch (its GET of
info/refs starts round 2) is answered from PROJECT_ROOT's new.git (the same
repository one commit further on), with the reply that carries the pack
damaged according to MODE:

  killed     half the response sent, then the server kills itself (SIGKILL)
  truncated  the pack cut short (the response itself well framed)
  flipped    one byte in the middle of the pack flipped
  trailer    one byte of the pack's trailer (its SHA-1) flipped
  ofs-delta  the pack replaced by one whose OFS_DELTA copies past the end of
             its base (in the pack), with a correct trailer
  ref-delta  the same with a REF_DELTA on a blob the client holds (a thin pack)
  err        an ERR line in the middle of the pack's side-band stream
  404        the GET of info/refs answered 404

Protocol v2 replies only (the client asks for v2).

With --daemon, a git:// proxy in front of `git daemon` on DAEMON_PORT (whose
base path holds repo.git and new.git): the first connection passes through,
a later one asks for new.git instead of repo.git and is cut (reset) in the
middle of the first pkt-line of pack data, v2 or v0, as if the server died.

Prints "listening" once the socket is bound; runs until killed.
"""

import hashlib
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import zlib

from git_http_backend import Handler, serve

FLUSH = b"0000"
ERR_TEXT = "upload-pack: simulated failure for the test"


def pkt(payload):
    return f"{len(payload) + 4:04x}".encode() + payload


def pkt_lines(content):
    """The pkt-lines of `content`: payloads, or None for flush/delim/response-end."""
    lines, position = [], 0
    while position < len(content):
        length = int(content[position:position + 4], 16)
        lines.append(content[position + 4:position + length] if length >= 4 else None)
        position += max(length, 4)
    return lines


def split_pack(content):
    """(the lines before the pack's side-band data, including "packfile", the pack) of a v2 fetch
    response; None when it carries no pack."""
    lines = pkt_lines(content)
    if b"packfile\n" not in lines:
        return None
    start = lines.index(b"packfile\n") + 1
    prefix = b"".join(FLUSH if line is None else pkt(line) for line in lines[:start])
    pack = b"".join(line[1:] for line in lines[start:] if line and line[0] == 1)
    return prefix, pack


def side_band(data):
    return b"".join(pkt(b"\x01" + data[i:i + 65515]) for i in range(0, len(data), 65515))


def entry_header(kind, size):
    header = [(kind << 4) | (size & 15)]
    size >>= 4
    while size:
        header[-1] |= 0x80
        header.append(size & 0x7F)
        size >>= 7
    return bytes(header)


def ofs_delta_offset(distance):
    encoded = [distance & 0x7F]
    distance >>= 7
    while distance:
        distance -= 1
        encoded.insert(0, 0x80 | (distance & 0x7F))
        distance >>= 7
    return bytes(encoded)


def delta_varint(value):
    encoded = bytearray()
    while True:
        encoded.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(encoded)


def delta_copying_past(base_size):
    """A delta on a base of `base_size` bytes (under 64 KiB) whose one copy instruction reads 10 bytes
    past its end; the result size it declares matches the copy."""
    size = base_size + 10
    return delta_varint(base_size) + delta_varint(size) + bytes([0x80 | 0x10 | 0x20, size & 0xFF, size >> 8])


def pack_of(*entries):
    pack = b"PACK" + (2).to_bytes(4, "big") + len(entries).to_bytes(4, "big") + b"".join(entries)
    return pack + hashlib.sha1(pack).digest()


def ofs_delta_past_base_pack():
    """A blob and an OFS_DELTA on it copying past its end; header, sizes and trailer all correct."""
    base = b"hello, base\n"
    delta = delta_copying_past(len(base))
    first = entry_header(3, len(base)) + zlib.compress(base)
    second = entry_header(6, len(delta)) + ofs_delta_offset(len(first)) + zlib.compress(delta)
    return pack_of(first, second)


def ref_delta_past_base_pack(repository):
    """A thin pack: a REF_DELTA on a blob the client holds (README.md of REPOSITORY's head) copying
    past its end."""
    def git(*arguments):
        return subprocess.run(["git", *arguments], cwd=repository, capture_output=True, check=True).stdout.strip()

    base_id = git("rev-parse", "HEAD:README.md").decode()
    delta = delta_copying_past(int(git("cat-file", "-s", base_id)))
    return pack_of(entry_header(7, len(delta)) + bytes.fromhex(base_id) + zlib.compress(delta))


def damaged(mode, content, project_root):
    parts = split_pack(content)
    if parts is None:
        return None
    prefix, pack = parts
    if mode == "truncated":
        return prefix + side_band(pack[:len(pack) * 2 // 3]) + FLUSH
    if mode in ("flipped", "trailer"):
        flipped = bytearray(pack)
        flipped[len(pack) // 2 if mode == "flipped" else -7] ^= 0x01
        return prefix + side_band(bytes(flipped)) + FLUSH
    if mode == "ofs-delta":
        return prefix + side_band(ofs_delta_past_base_pack()) + FLUSH
    if mode == "ref-delta":
        return prefix + side_band(ref_delta_past_base_pack(os.path.join(project_root, "repo.git"))) + FLUSH
    if mode == "err":
        return prefix + side_band(pack[:len(pack) // 3]) + pkt(f"ERR {ERR_TEXT}\n".encode())
    return None


class BrokenHandler(Handler):
    def backend(self):
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            if self.command == "GET" and path.endswith("/info/refs"):
                self.server.round += 1
            later = self.server.round > 1
        mode = self.server.mode
        if later and mode == "404" and path.endswith("/info/refs"):
            self.reply(404, [("Content-Type", "text/plain")], b"Not Found\n")
            return
        status, fields, content = self.run_backend(path.replace("/repo.git/", "/new.git/") if later else path,
                                                   query, body)
        if later and self.command == "POST" and mode == "killed" and split_pack(content):
            self.send_response(status)
            for name, value in fields:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content[:len(content) // 2])
            self.wfile.flush()
            sys.stderr.write("killed mid-pack\n")
            os.kill(os.getpid(), signal.SIGKILL)
        if later and self.command == "POST":
            content = damaged(mode, content, self.server.project_root) or content
        self.reply(status, fields, content)


def read_exactly(stream, count):
    data = b""
    while len(data) < count:
        piece = stream.recv(count - len(data))
        if not piece:
            raise ConnectionError("closed")
        data += piece
    return data


def read_pkt(stream):
    """The next raw pkt-line (length included) from a socket."""
    head = read_exactly(stream, 4)
    length = int(head, 16)
    return head + (read_exactly(stream, length - 4) if length > 4 else b"")


def reset(connection):
    """Closes with a RST, as the kernel does for a process killed with unread data."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def proxy_connection(client, daemon_port, later):
    """Relays one git:// connection; a later one goes to new.git and is cut in its pack. One thread
    does both directions, so that closing the sockets sends their RST at once (a recv blocked in
    another thread would hold a socket open)."""
    request = read_pkt(client)
    if later:
        request = pkt(request[4:].replace(b" /repo.git\0", b" /new.git\0", 1))
    daemon = socket.create_connection(("127.0.0.1", daemon_port))
    daemon.sendall(request)
    from_daemon = b""
    cut = False
    try:
        while True:
            readable, _, _ = select.select([client, daemon], [], [])
            if client in readable:
                data = client.recv(65536)
                if not data:
                    break
                daemon.sendall(data)
            if daemon in readable:
                data = daemon.recv(65536)
                if not data:
                    break
                if not later:
                    client.sendall(data)
                    continue
                from_daemon += data
                # Whole pkt-lines through, up to the first of pack data (side-band channel 1): half of it.
                while len(from_daemon) >= 4:
                    length = max(int(from_daemon[:4], 16), 4)
                    if len(from_daemon) < length:
                        break
                    line, from_daemon = from_daemon[:length], from_daemon[length:]
                    if length > 5 and line[4] == 1:
                        client.sendall(line[:length // 2])
                        sys.stderr.write("killed mid-pack\n")
                        cut = True
                        return
                    client.sendall(line)
    finally:
        for end in (client, daemon):
            if cut:
                reset(end)
            else:  # what was relayed must arrive: a reset could drop it
                try:
                    end.shutdown(socket.SHUT_WR)
                except OSError:
                    pass  # the peer has gone already
                end.close()


def serve_daemon_proxy(port, daemon_port):
    listener = socket.create_server(("127.0.0.1", port))
    print("listening", flush=True)
    for number in range(1 << 30):
        client, _ = listener.accept()
        threading.Thread(target=proxy_connection, args=(client, daemon_port, number > 0), daemon=True).start()


def main():
    if sys.argv[1].startswith("--daemon="):
        serve_daemon_proxy(int(sys.argv[2]), int(sys.argv[1].removeprefix("--daemon=")))
        return
    project_root, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    def configure(server):
        server.mode, server.round, server.lock = mode, 0, threading.Lock()

    serve(BrokenHandler, project_root, port, configure)


if __name__ == "__main__":
    main()
