#!/usr/bin/env python3
"""Boot arguments on the hosted target: --help lists every argument with its
default and exits 0; an unknown or malformed argument stops the image with a
message naming it and status 2. On pvh (examples/hello in QEMU, TCG): double
quotes on the kernel command line group words and are removed, in both of
Linux's forms, given to QEMU directly and through ./morgana run; an
unterminated quote stops the image naming the argument. (More of the PVH side
is in pvh_hello_test.sh; a name with spaces baked in by ./morgana configure is
in demo_test.py.)"""

import subprocess

import harness
from harness import ECHO, ROOT
from morgana_command_test import restore_configurations, save_configurations


def echo(*arguments):
    return subprocess.run([str(ECHO), *arguments], capture_output=True, text=True, timeout=30)


def test(t):
    t.run_part(part_hosted)
    t.run_part(part_pvh)


def part_hosted(t):
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



def boot_pvh(image, append):
    """QEMU with `append` as the kernel command line; the image stops by itself (status 2 when it refuses)."""
    command = ["qemu-system-x86_64", "-M", "microvm", "-cpu", "max", "-m", "64", "-nographic", "-no-reboot",
               "-nodefaults", "-serial", "stdio", "-device", "isa-debug-exit", "-kernel", str(image), "-append", append]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def part_pvh(t):
    saved = save_configurations(["examples/hello"])
    try:
        image = harness.build_app("examples/hello", "pvh")
        # A bad value that names itself in the message: the message shows what the image made of the quotes.
        for append in ('--tcp-msl=1s "--logs=arp:very loud"', '--tcp-msl=1s --logs="arp:very loud"'):
            result = boot_pvh(image, append)
            t.check(result.returncode == 5 and "argument '--logs=arp:very loud'" in result.stdout,
                    f"pvh: -append '{append}' is one argument --logs=arp:very loud (status 2: QEMU's 5)",
                    f"status {result.returncode}: {result.stdout.strip()[-300:]}")
        result = boot_pvh(image, '--tcp-msl=1s --logs="arp:debug --counters')
        t.check(result.returncode == 5 and "argument '--logs=\"arp:debug --counters': unterminated double quote"
                in result.stdout and "morgana: stopping: bad boot argument" in result.stdout,
                "pvh: an unterminated quote stops the image naming the argument as written",
                f"status {result.returncode}: {result.stdout.strip()[-300:]}")
        result = subprocess.run([str(ROOT / "morgana"), "run", "examples/hello", "--target", "pvh", "--accel", "tcg",
                                 "--", "--logs=arp:very loud"], capture_output=True, text=True, cwd=ROOT, timeout=600)
        t.check(result.returncode == 2 and "argument '--logs=arp:very loud'" in result.stdout
                and "-append '--logs=\"arp:very loud\"'" in result.stderr,
                "pvh: ./morgana run -- '--logs=arp:very loud' quotes it on QEMU's -append; the image sees one argument",
                f"status {result.returncode}: {result.stdout.strip()[-300:]} {result.stderr.strip()[-300:]}")
    finally:
        restore_configurations(saved)


if __name__ == "__main__":
    harness.main(test)
