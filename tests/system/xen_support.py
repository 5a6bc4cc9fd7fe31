"""System tests under a real Xen: Debian's Xen 4.17 in QEMU (TCG) with a busybox
dom0 that creates the guests with `xl` (tools/xen/xenharness.py does the work;
this module ties it to harness.Test: logs in the test's directory, shown on
failure, QEMU killed by PID when the test dies).

One call boots Xen, runs a dom0 shell script and returns what came back:

    guest = xen_support.deployed_guest("examples/hello")    # or Guest(NAME, KERNEL, extra=...)
    result = xen_support.run_xen(test, guests=[guest], script=f'''
        guest_start hello {guest.config_path}
        guest_wait hello 300
    ''')
    result.guest_console("hello")      # the guest's PV console (xenconsoled's log)
    result.shutdown("hello")           # ("poweroff", 0), ("crash", 3), ... from xl; None: still running
    result.status, result.run_log()    # the script's exit status and output

In the script (run by dom0's /bin/sh in /xen, `set -e` not implied), the
functions of tools/xen/dom0-lib.sh: guest_start NAME CONFIG [SECONDS],
guest_wait NAME [SECONDS], guest_console NAME ERE [SECONDS], guest_address NAME,
guest_forward NAME PORT [ADDRESS] (with run_xen's forwards: a host port reaches the guest);
busybox (ping, ip, nc, wget), socat, curl, openssl, xl, xenstore-*, and
/usr/bin/date (coreutils: +%s%N for timings; busybox's date has no %N). Files a test
wants back go to /results (dom0's /results/* and /var/log/xen/** come back in
result.files). The guests' network: bridge xenbr0, dom0 at 10.0.0.1/24, dnsmasq
leasing 10.0.0.2-99. A boot takes one to two minutes under TCG on a loaded host.
"""

import json
import sys
from pathlib import Path

import harness

sys.path.insert(0, str(harness.ROOT / "tools" / "xen"))
import xenharness  # noqa: E402
import xl_domain  # noqa: E402  (the .xl text ./morgana deploy --format xen writes too)

DOM0_ADDRESS = "10.0.0.1"
RUN_TIMEOUT = 1200  # s: boot (~1-2 min), the script, the report; nested TCG on a busy host is slow
LINUX_GUEST_DIR = harness.ROOT / "build" / "xen" / "linux-guest"


class Guest:
    """A PVH guest: its kernel (and ramdisk) go into dom0 under /xen/guests/NAME/, with an .xl that names
    them there; `config` (the text of an .xl, e.g. from ./morgana deploy --format xen) replaces the
    generated one, with its kernel at the path it names (the file is placed at that path in dom0)."""

    def __init__(self, name, kernel, extra="", ramdisk=None, memory=64, mac=None, config=None, on_crash="preserve"):
        self.name = name
        self.kernel = Path(kernel)
        self.ramdisk = Path(ramdisk) if ramdisk else None
        self.directory = f"/xen/guests/{name}"
        self.config_path = f"{self.directory}/{name}.xl"
        if config is None:
            config = xl_domain.pvh_domain(name, f"{self.directory}/kernel", memory, extra, mac=mac,
                                          ramdisk=f"{self.directory}/ramdisk" if self.ramdisk else None,
                                          on_crash=on_crash)
            self.files = {f"{self.directory}/kernel": self.kernel}
            if self.ramdisk:
                self.files[f"{self.directory}/ramdisk"] = self.ramdisk
        else:
            self.files = {str(kernel_path(config)): self.kernel}
        self.config = config
        self.files[self.config_path] = config.encode()


def kernel_path(config):
    """The kernel = "..." of an .xl's text."""
    for line in config.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "kernel":
            return Path(json.loads(value.strip()))
    raise harness.TestFailure("the .xl names no kernel")


def linux_guest(name, extra="", **options):
    """Debian's kernel with bench/linux-guest's initramfs (DHCP, TCP echo on port 7; extra may add
    linux-guest.crash), as a Xen PVH guest. `quiet`: its boot takes minutes nested under TCG, and every
    console line costs dom0 time too."""
    harness.run([str(harness.ROOT / "bench" / "linux-guest" / "build.sh"), str(LINUX_GUEST_DIR)], timeout=300)
    kernel = Path((LINUX_GUEST_DIR / "kernel").read_text().strip())
    return Guest(name, kernel, extra=f"console=hvc0 quiet {extra}".strip(), ramdisk=LINUX_GUEST_DIR / "initramfs.cpio.gz",
                 memory=128, **options)


def deployed_guest(app_dir, *configure_options, boot_arguments=()):
    """APP_DIR's pvh image (configured with `configure_options`, e.g. --crunch NAME=DIR or -- BAKED-ARGUMENTS)
    as a Guest created from the .xl `./morgana deploy APP_DIR --format xen -- BOOT_ARGUMENTS` writes,
    unchanged: its kernel goes to the host path the .xl names."""
    image = harness.build_app(app_dir, "pvh", *configure_options)
    command = [str(harness.ROOT / "morgana"), "deploy", str(harness.ROOT / app_dir), "--format", "xen"]
    result = harness.run(command + (["--", *boot_arguments] if boot_arguments else []), timeout=900)
    config = Path(result.stdout.strip().splitlines()[-1]).read_text()
    if kernel_path(config) != image:
        raise harness.TestFailure(f"deploy's .xl names {kernel_path(config)}, not the image {image}")
    return Guest(image.stem, image, config=config)


def run_xen(test, script, guests=(), files=None, timeout=RUN_TIMEOUT, label="xen", forwards=()):
    """Boots Xen in QEMU, runs `script` in dom0 with the guests' files in place; returns
    xenharness.Result. Fails the test (TestFailure) when the harness cannot build, boot or report.
    `forwards` [(host port, dom0 port)]: QEMU forwards 127.0.0.1's ports to dom0 (guest_forward relays
    them on to a guest); the test talks to them from another thread while this call waits."""
    directory = test.log_dir / label
    everything = dict(files or {})
    for guest in guests:
        everything.update(guest.files)
    console = directory / "console.log"
    test.show_log_on_failure(console, f"{label}: Xen and dom0 console")
    try:
        result = xenharness.run(directory, script, everything, timeout=timeout, forwards=forwards, console_path=console,
                                log=lambda line: print("  " + line, flush=True))
    except xenharness.HarnessError as error:
        raise harness.TestFailure(f"{label}: {error}") from None
    for path, data in result.files.items():
        # Everything dom0 sent back, for whoever reads the logs after a failure.
        (directory / "results" / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (directory / "results" / path.lstrip("/")).write_bytes(data)
    test.show_log_on_failure(directory / "results" / "results" / "run.log", f"{label}: the dom0 script's output")
    return result
