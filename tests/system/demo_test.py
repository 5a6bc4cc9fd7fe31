#!/usr/bin/env python3
"""scripts/demo, the README's main command, run as a user would but with
--check: it makes the sample blog repository, serves it with git daemon,
configures examples/blog for pvh as the seed configured Canopy (a name with
spaces baked in), builds it, writes the Xen domain file, boots the image in
QEMU (TCG, user networking, no root), and fetches the URLs it prints with curl
and the test CA; its status is 0 only when the blog served each. Checked here:
that status, the .xl it shows (kernel, memory, the baked arguments with the
quoted name, an empty extra), that nothing it started is left running, that
a taken port stops it before it starts anything, and that in its interactive
form Ctrl-C (SIGINT to its process group, as a terminal sends it) stops QEMU
and git daemon.

examples/blog/morgana-pvh.conf, which the demo rewrites, is put back."""

import os
import signal
import socket
import subprocess
from pathlib import Path

import harness
from harness import ROOT
from morgana_command_test import restore_configurations, save_configurations

# Not the sample's own .config/blog_name ("full stack engineer"): the title shows the baked --name won.
NAME = "a full stack engineer, checked"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_demo(t, label, environment, *arguments):
    """scripts/demo as the leader of a session (and process group) of its own; returns (process, log path)."""
    log = t.log_dir / f"{label}.log"
    t.show_log_on_failure(log, label)
    with open(log, "w") as output:
        process = subprocess.Popen([str(ROOT / "scripts" / "demo"), *arguments], cwd=ROOT, stdout=output,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=dict(os.environ, **environment), start_new_session=True)
    t.cleanup.add_process(process, label)
    return process, log


def demo(t, label, environment, timeout):
    """scripts/demo --check to its end; returns (status, output, session id)."""
    process, log = start_demo(t, label, environment, "--check")
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        harness.stop_process(process, label, grace=20)
        raise harness.TestFailure(f"{label} did not finish within {timeout} s") from None
    return status, log.read_text(errors="replace"), process.pid


def leftovers(session):
    """Processes still in the demo's session (it was started as the leader of a new one)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(stat.parent.name)
    return found


def test(t):
    saved = save_configurations(["examples/blog"])
    try:
        ports = {"DEMO_HTTP_PORT": free_port(), "DEMO_HTTPS_PORT": free_port(), "DEMO_GIT_PORT": free_port()}
        environment = {key: str(port) for key, port in ports.items()} | {"DEMO_NAME": NAME}
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", ports["DEMO_GIT_PORT"]))
            taken.listen()
            status, output, _ = demo(t, "demo-port-taken", environment, 120)
        t.check(status == 1 and f"port {ports['DEMO_GIT_PORT']} on 127.0.0.1 is taken" in output
                and "git daemon" not in output, "a taken port stops the demo before it starts anything",
                f"status {status}: {output[-500:]}")

        status, output, session = demo(t, "demo", environment, 1800)
        https = f"https://localhost:{ports['DEMO_HTTPS_PORT']}"
        t.check(status == 0 and "every check passed" in output,
                "scripts/demo --check: the blog booted in QEMU served the URLs the demo prints", f"status {status}")
        for needle, what in [(f"ok: {https}/ is titled with the configured name \"{NAME}\"", "the title"),
                             (f"ok: {https}/Posts/Welcome is the article", "an article"),
                             (f"ok: {https}/atom links under {https}/", "the feed"),
                             (f"redirects to {https}/", "HTTP's redirect")]:
            t.check(needle in output, f"the demo checked {what}", needle)
        xl = [line[4:] for line in output.splitlines() if line.startswith("  | ")]
        remote = f"git://10.0.2.2:{ports['DEMO_GIT_PORT']}/blog.git"
        for line in [f'kernel = "{ROOT}/build/app-blog-pvh/blog.elf"', 'type = "pvh"', "memory = 256", 'extra = ""',
                     f'# Baked into the image by ./morgana configure: --remote={remote} --index-page=Posts '
                     f'--name="{NAME}" --tls=443 --port=80']:
            t.check(line in xl, f"the demo shows the .xl: {line}", "\n".join(xl))
        # The demo led a session of its own: whatever it started and left running is still in it (git daemon's
        # children end as their connections close, so a little time is given).
        t.check(harness.wait_until(lambda: not leftovers(session), 10), "the demo stopped QEMU and git daemon",
                f"left running: {leftovers(session)}")

        # Interactive: the serial console on stdout until Ctrl-C.
        process, log = start_demo(t, "demo-interactive", environment)
        harness.wait_for_log(log, process, r"blog info: serving [0-9a-f]{40}", 600, "scripts/demo")
        os.killpg(process.pid, signal.SIGINT)
        status = process.wait(timeout=60)
        t.check(status == 130, "Ctrl-C ends the interactive demo (status 130)", f"status {status}")
        t.check(harness.wait_until(lambda: not leftovers(process.pid), 10),
                "Ctrl-C stopped QEMU and git daemon", f"left running: {leftovers(process.pid)}")
    finally:
        restore_configurations(saved)


if __name__ == "__main__":
    harness.main(test, needs_root=False)
