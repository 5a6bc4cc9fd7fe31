"""Helpers for system tests that boot PVH images in QEMU attached to a tap
device in a test namespace (harness.py's topology: Linux at 10.0.0.1 on tap0,
the guest's virtio-net on the same tap)."""

import os
import re
import subprocess
from pathlib import Path

import harness
from harness import ECHO_MAC, TAP, TestFailure

MACHINES = {"microvm": "virtio-net-device", "pc": "virtio-net-pci"}
# Under TCG the image serves about 0.1 s after QEMU starts; a loaded host may take longer.
BOOT_TIMEOUT = 30
# Lines that mean the image is in trouble.
TROUBLE = re.compile(r"morgana abort|CPU exception|stopping|Sanitizer|for want of memory")


def build_image(app_dir, *configure_options):
    """Configures APP_DIR for the pvh target (with options such as --crunch NAME=DIR) and builds it; returns
    the image."""
    return harness.build_app(app_dir, "pvh", *configure_options)


def echo_image(t):
    """examples/echo's PVH image: MORGANA_PVH_IMAGE, else configured and built by ./morgana; checks that it exists."""
    try:
        image = Path(os.environ["MORGANA_PVH_IMAGE"]) if os.environ.get("MORGANA_PVH_IMAGE") else \
            build_image("examples/echo")
    except (TestFailure, subprocess.TimeoutExpired) as error:
        raise TestFailure(f"cannot build the PVH echo image: {error}") from None
    t.require(image.is_file(), f"the PVH image {image} exists")
    return image


class PvhGuest:
    """A PVH image in QEMU on the namespace's tap0 (QEMU stopped by PID at cleanup); `append` None boots
    without a command line (the image's configured arguments only); `device` replaces the machine's
    virtio-net device (e.g. "virtio-net-pci,disable-modern=on")."""

    def __init__(self, test, namespace, image, machine, append, label, memory_mb=64, device=None):
        self.test = test
        self.label = label
        self.log_path = test.log_dir / f"{label}.log"
        self.command = ["qemu-system-x86_64", "-M", machine, "-cpu", "max", "-m", str(memory_mb), "-nographic",
                        "-no-reboot", "-nodefaults", "-serial", "stdio", "-device", "isa-debug-exit", "-kernel", str(image),
                        *(["-append", append] if append is not None else []), "-netdev", f"tap,id=n0,ifname={TAP},script=no,downscript=no",
                        "-device", f"{device or MACHINES[machine]},netdev=n0,mac={ECHO_MAC}"]
        test.show_log_on_failure(self.log_path, f"{label} ({' '.join(self.command)})")
        self.process = namespace.spawn(self.command, self.log_path, label)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern, timeout=BOOT_TIMEOUT):
        return harness.wait_for_log(self.log_path, self.process, pattern, timeout, f"{self.label} (QEMU)")

    def wait_serving(self, app="echo"):
        return self.wait_for(app + r" info: serving on (\d+\.\d+\.\d+\.\d+)")

    def stop(self, check):
        """Stops QEMU; `check` records that the image was still running and logged no trouble."""
        running = self.process.poll() is None
        harness.stop_process(self.process, self.label)
        trouble = [line for line in self.log().splitlines() if TROUBLE.search(line)]
        check(running and not trouble, f"{self.label}: the image ran to the end without trouble in its log",
              f"running {running}, {trouble[:5]}")


