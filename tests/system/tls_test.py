#!/usr/bin/env python3
"""Morgana's TLS against OpenSSL, with tests/tls_app on the hosted target and
the host's sockets (--net=socket), all on 127.0.0.1 inside a network namespace
this test creates:

  - our server (EC and RSA certificates for localhost): openssl s_client
    completes a handshake with each suite we offer and verifies the chain;
    s_client -reconnect resumes the session;
  - our server refuses TLS 1.0 and 1.1 (OpenSSL 3 offers them only at
    @SECLEVEL=0), CBC-only offers, and, from ClientHellos made here, RC4 and
    NULL suites (a ClientHello made the same way with an ECDHE-GCM suite gets
    a ServerHello, so the refusals are ours);
  - our client fetches from openssl s_server -www, and refuses s_server with a
    certificate for another name, an untrusted one, and an expired one, saying why.

Certificates: tests/unit/tls/testdata (made by its make_certs.sh).
Environment: MORGANA_TLS_APP (default: tests/tls_app configured for hosted with preset hosted-asan and built by ./morgana).
"""

import os
import re
import socket
import struct
import subprocess

import harness

ROOT = harness.ROOT
CERTS = ROOT / "tests" / "unit" / "tls" / "testdata"
SERVER_PORT = 8443
OPENSSL_PORT = 9443

EC_SUITES = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"]
RSA_SUITES = ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"]


def tls_app():
    given = os.environ.get("MORGANA_TLS_APP")
    if given:
        return given
    return str(harness.build_app("tests/tls_app", "hosted", preset="hosted-asan"))


def in_namespace(namespace, command, stdin_text="", timeout=20):
    return subprocess.run(["ip", "netns", "exec", namespace.name, *command], input=stdin_text, capture_output=True,
                          text=True, timeout=timeout)


def s_client(namespace, *options, port=SERVER_PORT, name="localhost"):
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", name,
               "-CAfile", str(CERTS / "ca.pem"), *options]
    result = in_namespace(namespace, command)
    return result.returncode, result.stdout + result.stderr


def negotiated(output):
    match = re.search(r"Cipher is (\S+)", output)
    return match.group(1) if match else None


def client_hello(suites):
    """A TLS 1.2 ClientHello (RFC 5246 §7.4.1.2) offering `suites`, with SNI,
    supported groups P-256/X25519, point formats and signature algorithms."""

    def extension(kind, body):
        return struct.pack("!HH", kind, len(body)) + body

    name = b"localhost"
    sni = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    groups = struct.pack("!HHH", 4, 23, 29)
    point_formats = bytes([1, 0])
    algorithms = [0x0403, 0x0401, 0x0503, 0x0501]
    signatures = struct.pack("!H", 2 * len(algorithms)) + b"".join(struct.pack("!H", a) for a in algorithms)
    extensions = (extension(0, sni) + extension(10, groups) + extension(11, point_formats) +
                  extension(13, signatures))
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" + struct.pack("!H", 2 * len(suites)) +
            b"".join(struct.pack("!H", s) for s in suites) + b"\x01\x00" +
            struct.pack("!H", len(extensions)) + extensions)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def first_record(namespace, hello):
    """Sends `hello` to our server from inside the namespace; returns the first record's (type, first body byte)."""
    with namespace.entered():
        with socket.create_connection(("127.0.0.1", SERVER_PORT), timeout=5) as connection:
            connection.sendall(hello)
            data = b""
            while len(data) < 6:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                data += chunk
    if len(data) < 6:
        return None
    return data[0], data[5]


def test_tls(test):
    app = tls_app()
    namespace = test.namespace("tls")
    server_log = test.log_dir / "tls_app_server.log"
    test.show_log_on_failure(server_log, "tls_app --serve")
    namespace.spawn([app, "--net=socket", f"--serve={SERVER_PORT}",
                     f"--cert={CERTS / 'ec_server.pem'},{CERTS / 'rsa_server.pem'}",
                     f"--key={CERTS / 'ec_server.key'},{CERTS / 'rsa_server_pkcs8.key'}"], server_log, "tls_app --serve")
    test.require(harness.wait_until(lambda: "serving TLS" in server_log.read_text(errors="replace"), 10),
                 "our TLS server starts")

    def suites(test):
        for suite in EC_SUITES + RSA_SUITES:
            status, output = s_client(namespace, "-tls1_2", "-cipher", suite)
            test.check(negotiated(output) == suite and "Verify return code: 0 (ok)" in output,
                       f"s_client negotiates {suite} and verifies the chain", output[-300:])

    def refusals(test):
        for version in ["-tls1", "-tls1_1"]:
            status, output = s_client(namespace, version, "-cipher", "DEFAULT:@SECLEVEL=0")
            # Our protocol_version alert comes in a TLS 1.2 record, which OpenSSL limited to
            # an older version reports as "wrong version number".
            refused = "alert protocol version" in output or "wrong version number" in output
            test.check(status != 0 and negotiated(output) in (None, "(NONE)") and refused,
                       f"refuses s_client {version}", output[-300:])
        status, output = s_client(namespace, "-tls1_2", "-cipher", "AES128-SHA:ECDHE-ECDSA-AES128-SHA")
        test.check(status != 0 and negotiated(output) in (None, "(NONE)") and "handshake failure" in output,
                   "refuses a CBC-only s_client (handshake_failure alert)", output[-300:])
        # 0x16 handshake, 0x02 ServerHello; 0x15 alert, 0x02 fatal.
        accepted = first_record(namespace, client_hello([0xC02B]))
        test.check(accepted == (0x16, 0x02), "answers our own ClientHello for ECDHE-ECDSA-AES128-GCM with a ServerHello",
                   str(accepted))
        for label, suites_offered in [("RC4", [0x0005, 0x0004, 0xC011, 0xC007]), ("NULL", [0x0001, 0x0002, 0x003B])]:
            refused = first_record(namespace, client_hello(suites_offered))
            test.check(refused in (None, (0x15, 0x02)), f"refuses a ClientHello offering only {label} suites",
                       str(refused))

    def resumption(test):
        status, output = s_client(namespace, "-tls1_2", "-reconnect")
        reused = output.count("Reused, TLSv1.2")
        test.check(reused >= 1, f"s_client -reconnect resumes the session ({reused} reused)", output[-300:])

    def our_client(test):
        status, output = fetch(namespace, app, SERVER_PORT, "localhost", "hello")
        test.check(status == 0 and "answer: hello" in output, "our client gets its line echoed by our server",
                   output[-300:])
        for cert, key, name, expected, what in [
                ("ec_server.pem", "ec_server.key", "localhost", None, "fetches from openssl s_server -www"),
                ("rsa_server.pem", "rsa_server.key", "www.example.test", None, "fetches from s_server with RSA"),
                ("ec_server.pem", "ec_server.key", "wrong.test", "BR_ERR_X509_BAD_SERVER_NAME",
                 "refuses s_server's certificate for another name"),
                ("untrusted.pem", "ec_server.key", "localhost", "BR_ERR_X509_NOT_TRUSTED",
                 "refuses s_server's untrusted certificate"),
                ("expired.pem", "ec_server.key", "localhost", "BR_ERR_X509_EXPIRED",
                 "refuses s_server's expired certificate")]:
            log = test.log_dir / f"s_server_{cert}_{name}.log"
            server = namespace.spawn(["openssl", "s_server", "-accept", str(OPENSSL_PORT), "-www", "-cert",
                                      str(CERTS / cert), "-key", str(CERTS / key)], log, "openssl s_server")
            try:
                test.require(harness.wait_until(lambda: "ACCEPT" in log.read_text(errors="replace"), 10),
                             "openssl s_server starts")
                status, output = fetch(namespace, app, OPENSSL_PORT, name, "GET / HTTP/1.0")
                if expected is None:
                    test.check(status == 0 and "HTTP/1.0 200 ok" in output, f"our client {what}", output[-400:])
                else:
                    test.check(status == 1 and "fetch failed" in output and expected in output,
                               f"our client {what} ({expected})", output[-400:])
            finally:
                harness.stop_process(server, "openssl s_server")

    for part in (suites, refusals, resumption, our_client):
        test.run_part(part)


def fetch(namespace, app, port, name, line):
    result = in_namespace(namespace, [app, "--net=socket", f"--fetch=127.0.0.1:{port}", f"--ca={CERTS / 'ca.pem'}",
                                      f"--name={name}", f"--send={line}", "--timeout=5s"])
    return result.returncode, result.stdout + result.stderr


if __name__ == "__main__":
    harness.main(test_tls)
