#!/usr/bin/env python3
"""A smart HTTP git server for system tests: serves `git http-backend` (CGI)
over HTTP/1.1 on 127.0.0.1, passing Git-Protocol through as git's own web
server setups do, so protocol v2 works.

  python3 tests/system/git_http_backend.py PROJECT_ROOT PORT

Prints "listening" once the socket is bound; runs until killed.
"""

import http.server
import os
import subprocess
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.backend()

    def do_POST(self):
        self.backend()

    def backend(self):
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.reply(*self.run_backend(path, query, body))

    def run_backend(self, path, query, body):
        """git http-backend's answer to the request (its path and query given): (status, fields, content)."""
        env = dict(os.environ, GIT_PROJECT_ROOT=self.server.project_root, GIT_HTTP_EXPORT_ALL="1",
                   GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD=self.command, PATH_INFO=path, QUERY_STRING=query,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""), CONTENT_LENGTH=str(len(body)),
                   REMOTE_ADDR=self.client_address[0], REMOTE_USER="", SERVER_PROTOCOL="HTTP/1.1")
        if "Git-Protocol" in self.headers:
            env["HTTP_GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        output = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, content = output.partition(b"\r\n\r\n")
        status = 200
        fields = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                fields.append((name, value.strip()))
        return status, fields, content

    def reply(self, status, fields, content):
        self.send_response(status)
        for name, value in fields:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, pattern, *arguments):
        sys.stderr.write(f"{self.command} {self.path} {pattern % arguments}\n")


def serve(handler, project_root, port, configure=None):
    """Serves until killed; `configure(server)` may set what `handler` needs."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.project_root = project_root
    if configure:
        configure(server)
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(Handler, sys.argv[1], int(sys.argv[2]))
