#!/usr/bin/env python3
"""The pvh image as a Xen PVH guest (Xen 4.17 nested in QEMU, tests/system/xen_support.py):
examples/hello prints through the PV console, says it found Xen, keeps Xen's wall
clock and sleeps on the event channel callback / APIC timer, and xl reports a
poweroff; examples/crash with `extra = "--crash=null"` (the .xl's boot arguments
reach the app) prints its fault report and backtrace on the PV console and xl
reports a crash; an unknown argument in `extra =` stops the image through the same
parser as on QEMU. The very same ELF files then boot in QEMU microvm (serial
console, isa-debug-exit): one image, both hypervisors."""

import re
import subprocess

import harness
import xen_support

# QEMU's exit status for a status written to isa-debug-exit: (status << 1) | 1.
QEMU_STATUS_OK = 1
QEMU_STATUS_CPU_EXCEPTION = (126 << 1) | 1
QEMU_TIMEOUT = 120


def boot_microvm(t, image, append, label):
    """Boots IMAGE in QEMU microvm with the serial console on a log; returns (status, output)."""
    log_path = t.log_dir / f"{label}.log"
    command = ["qemu-system-x86_64", "-M", "microvm", "-cpu", "max", "-m", "64", "-nographic", "-no-reboot",
               "-nodefaults", "-serial", "stdio", "-device", "isa-debug-exit", "-kernel", str(image),
               "-append", append]
    t.show_log_on_failure(log_path, f"{label} ({' '.join(command)})")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=harness._die_with_parent)
        t.cleanup.add_process(process, label)
        try:
            status = process.wait(timeout=QEMU_TIMEOUT)
        except subprocess.TimeoutExpired:
            harness.stop_process(process, label)
            raise harness.TestFailure(f"{label}: QEMU still running after {QEMU_TIMEOUT} s")
    return status, log_path.read_text(errors="replace").replace("\r", "")


def check_hello(t, where, output):
    t.check(re.search(r"hello info: hello before sleep: monotonic [\d.]+ s, wall \d+\.\d+ s \((20[2-9]\d)-", output),
            f"{where}: hello prints its clocks, the wall clock set (not the epoch)", output[-800:])
    t.check("hello info: hello: slept" in output, f"{where}: hello wakes from its one-second sleep", output[-800:])
    t.check("morgana: exit status 0" in output, f"{where}: hello reports exit status 0", output[-800:])


def check_crash(t, where, output):
    t.check("CPU exception 14 (#PF page fault)" in output and "write to 0x0000000000000000" in output,
            f"{where}: crash --crash=null reports the page fault at address 0", output[-1500:])
    t.check(re.search(r"#\d+\s+0x[0-9a-f]+ [^\n]*write_through_null", output),
            f"{where}: the backtrace names the faulting function (write_through_null)", output[-1500:])


def part_xen(t, hello, crash):
    guests = [xen_support.Guest("hello", hello, extra="--logs=*:info"),
              xen_support.Guest("crash", crash, extra="--crash=null"),
              xen_support.Guest("badarg", hello, extra="--frobnicate=1")]
    script = "".join(f"guest_start {g.name} {g.config_path} && guest_wait {g.name} 300\n" for g in guests)
    result = xen_support.run_xen(t, script, guests=guests)
    t.check(result.status == 0, "dom0: every guest was created and ended", result.run_log()[-800:])

    console = result.guest_console("hello").replace("\r", "")
    t.check(re.search(r"pvh info: hypervisor: Xen 4\.\d+ \(PVH guest; PV console\)", console),
            "Xen: hello logs that it found Xen and uses the PV console", console[:800])
    check_hello(t, "Xen", console)
    t.check(result.shutdown("hello") == ("poweroff", 0), "Xen: xl reports hello's poweroff (reason 0)",
            f"{result.shutdown('hello')}: {result.xl_log('hello')[-400:]}")

    console = result.guest_console("crash").replace("\r", "")
    check_crash(t, "Xen", console)
    t.check("morgana: stopping after a CPU exception, exit status 126" in console,
            "Xen: crash flushes its last line to the PV console before shutting down", console[-600:])
    t.check(result.shutdown("crash") == ("crash", 3), "Xen: xl reports crash's crash (reason 3)",
            f"{result.shutdown('crash')}: {result.xl_log('crash')[-400:]}")

    console = result.guest_console("badarg").replace("\r", "")
    t.check("unknown argument '--frobnicate'" in console and "morgana: exit status 2" in console,
            "Xen: an unknown argument in extra = stops the image through the boot argument parser", console[-600:])
    t.check(result.shutdown("badarg") == ("crash", 3), "Xen: a nonzero exit status ends the domain as a crash",
            f"{result.shutdown('badarg')}")


def part_qemu(t, hello, crash):
    status, output = boot_microvm(t, hello, "--logs=*:info", "hello-microvm")
    t.check(status == QEMU_STATUS_OK, "QEMU microvm: the same hello image exits with status 0", f"QEMU status {status}")
    t.check(re.search(r'pvh info: hypervisor: "(TCGTCGTCGTCG|KVMKVMKVM)"', output),
            "QEMU microvm: hello logs the hypervisor it found (not Xen)", output[:600])
    check_hello(t, "QEMU microvm", output)
    status, output = boot_microvm(t, crash, "--crash=null", "crash-microvm")
    t.check(status == QEMU_STATUS_CPU_EXCEPTION, "QEMU microvm: the same crash image stops with status 126",
            f"QEMU status {status}")
    check_crash(t, "QEMU microvm", output)


def test(t):
    hello = harness.build_app("examples/hello", "pvh")
    crash = harness.build_app("examples/crash", "pvh")
    t.run_part(lambda t: part_xen(t, hello, crash))
    t.run_part(lambda t: part_qemu(t, hello, crash))


if __name__ == "__main__":
    harness.main(test, needs_root=False)
