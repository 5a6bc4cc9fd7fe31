#!/usr/bin/env python3
"""Boot arguments on the hosted target: --help lists every argument with its
default and exits 0; an unknown or malformed argument stops the image with a
message naming it and status 2. (The PVH side is in pvh_hello_test.sh.)"""

import subprocess

import harness
from harness import ECHO


def echo(*arguments):
    return subprocess.run([str(ECHO), *arguments], capture_output=True, text=True, timeout=30)


def test(t):
    result = echo("--help")
    t.check(result.returncode == 0 and all(f"--{name}" in result.stdout for name in
                                           ("ipv4=VALUE", "net=VALUE", "logs=VALUE", "tcp-msl=VALUE", "dns-servers")),
            "--help lists the stack's, the platform's and the app's arguments and exits 0",
            f"status {result.returncode}: {result.stdout[:600]}")
    t.check("(default: 30s)" in result.stdout, "--help shows defaults (tcp-msl 30s)", result.stdout[:600])

    cases = [
        (("--frobnicate=1",), "unknown argument '--frobnicate'"),
        (("--ipv4=10.0.0.300/24",), "argument '--ipv4=10.0.0.300/24'"),
        (("--ipv4=10.0.0.2",), "argument '--ipv4=10.0.0.2'"),
        (("--tcp-msl=soon",), "argument '--tcp-msl=soon'"),
        (("--logs=arp:loud",), "argument '--logs=arp:loud'"),
        (("--ipv4",), "argument '--ipv4' needs a value"),
        (("--mtu=1500", "--mtu=9000"), "argument '--mtu' given twice"),
        (("plain-word",), "argument 'plain-word'"),
    ]
    for arguments, message in cases:
        result = echo(*arguments)
        t.check(result.returncode == 2 and message in result.stdout and "stopping" in result.stdout,
                f"{' '.join(arguments)} stops the image naming the argument",
                f"status {result.returncode}: {result.stdout.strip()[:300]}")


if __name__ == "__main__":
    harness.main(test)
