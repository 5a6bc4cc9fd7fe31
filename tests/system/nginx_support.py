"""nginx for system tests on loopback: one foreground process (no master,
no daemon) from a configuration written into a work directory, with its own
pid file, logs and temporary directories there; stopped by PID with the
test's cleanup."""

import socket
import subprocess

import harness
from harness import TestFailure

CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log info;
events {{ worker_connections 256; }}
http {{
  access_log {work}/nginx-access.log;
  client_body_temp_path {work}/tmp/body;
  proxy_temp_path {work}/tmp/proxy;
  fastcgi_temp_path {work}/tmp/fastcgi;
  uwsgi_temp_path {work}/tmp/uwsgi;
  scgi_temp_path {work}/tmp/scgi;
{http}
}}
"""


def listen(http_port, https_port, certs):
    """A server block's directives for http and https on 127.0.0.1, with the certificate of
    scripts/make-test-certs CERTS (for localhost and 127.0.0.1)."""
    return (f"    listen 127.0.0.1:{http_port};\n    listen 127.0.0.1:{https_port} ssl;\n    server_name localhost;\n"
            f"    ssl_certificate {certs}/tls/server.pem;\n    ssl_certificate_key {certs}/tls/server.key;")


def start_nginx(t, work, http, port):
    """Starts nginx with `http` as the rest of its http block (its servers, listening on 127.0.0.1)
    and returns it once it accepts connections on `port`."""
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    config = work / "nginx.conf"
    config.write_text(CONFIG.format(work=work, http=http))
    error_log = work / "nginx-error.log"
    nginx_log = t.log_dir / "nginx.log"
    with open(nginx_log, "wb") as log:
        nginx = subprocess.Popen(["nginx", "-c", str(config), "-p", str(work), "-e", str(error_log)], stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    t.cleanup.add_process(nginx, "nginx")
    t.show_log_on_failure(nginx_log, "nginx")
    t.show_log_on_failure(error_log, "nginx error log")

    def listening():
        if nginx.poll() is not None:
            raise TestFailure(f"nginx exited with status {nginx.returncode}: "
                              f"{harness.log_tail(error_log) if error_log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    t.require(harness.wait_until(listening, 10), "nginx listens on 127.0.0.1")
    return nginx
