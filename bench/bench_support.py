"""Plumbing shared by the benchmark scripts in bench/: child processes that die with the
script, network namespaces that are removed on every exit path, signal handling, QEMU's
forwarded ports and the Linux guest's command line, and the reports' output files.

The scripts run as `python3 bench/X.py`, so this module is imported as `bench_support`.
"""

import contextlib
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "build" / "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Failure(Exception):
    pass


def run(command, check=True, timeout=120, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                            **kwargs)
    if check and result.returncode != 0:
        raise Failure(f"'{' '.join(map(str, command))}' failed ({result.returncode}): "
                      f"{(result.stderr or result.stdout).strip()[-2000:]}")
    return result


def die_with_parent():
    """preexec_fn for children: SIGKILL when this script dies, however it dies."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def process_alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def install_signal_handlers():
    """SIGINT, SIGTERM and SIGHUP exit through the scripts' finally blocks (cleanup)."""
    def on_signal(number, _frame):
        raise SystemExit(128 + number)

    for number in SIGNALS:
        signal.signal(number, on_signal)


def load_average():
    return Path("/proc/loadavg").read_text().split()[0]


@contextlib.contextmanager
def exit_on_failure(name, cleanup):
    """A Failure ends the script with status 1 and its message; cleanup() runs on every exit path."""
    try:
        yield
    except Failure as failure:
        print(f"{name}: {failure}", file=sys.stderr)
        sys.exit(1)
    finally:
        cleanup()


def write_report(name, text, data, logs=None):
    """Prints the report and writes it to build/bench/NAME.md, with `data` in NAME.json."""
    print("\n" + text)
    (OUT_DIR / f"{name}.md").write_text(text + "\n")
    (OUT_DIR / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"\n(also in {(OUT_DIR / f'{name}.md').relative_to(ROOT)} and {name}.json"
          + (f"; logs in {logs.relative_to(ROOT)}/)" if logs else ")"))


# --- network namespaces and the processes in them ----------------------------------------------

def remove_stale_namespaces(prefix):
    """Namespaces PREFIX<pid>-* left by runs that were killed outright (their PID is gone)."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.fullmatch(prefix + r"(\d+)-.*", name)
        if match and not process_alive(int(match.group(1))):
            for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
            print(f"removed namespace {name} left by a run that died")


class NamespaceBench:
    """Namespaces named PREFIX<pid>-ROLE and logged processes started in them; cleanup()
    stops the processes (last first) and deletes the namespaces."""

    PREFIX = None
    # Kill (by PID) whatever is still in a namespace before deleting it.
    KILL_LEFTOVERS = False
    # Name the log file in the message when a process does not log what it should.
    SPAWN_TIMEOUT_NAMES_LOG = False

    def __init__(self, args, log_dir):
        self.args = args
        self.processes = []  # (Popen, label)
        self.namespaces = []
        self.cleaned = False
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def namespace(self, role):
        name = f"{self.PREFIX}{os.getpid()}-{role}"
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        run(["ip", "-n", name, "link", "set", "lo", "up"])
        run(["ip", "netns", "exec", name, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
             "net.ipv6.conf.default.disable_ipv6=1"])
        return name

    def spawn(self, namespace, command, label, wait_for, cpu=None):
        """Starts `command` in `namespace` (pinned to `cpu` if given), its output in LABEL.log,
        and waits up to 30 s for a line matching `wait_for`."""
        log_path = self.log_dir / f"{label}.log"
        log = open(log_path, "wb")
        pinned = ["taskset", "-c", str(cpu)] if cpu is not None else []
        # ip netns exec and taskset exec the command: the PID is the server's own.
        process = subprocess.Popen(["ip", "netns", "exec", namespace, *pinned, *command], stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, preexec_fn=die_with_parent)
        log.close()
        self.processes.append((process, label))
        deadline = time.monotonic() + 30
        while not re.search(wait_for, log_path.read_text(errors="replace")):
            if process.poll() is not None:
                raise Failure(f"{label} exited with status {process.returncode}: "
                              f"{log_path.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                raise Failure(f"{label} did not log /{wait_for}/ within 30 s"
                              + (f" ({log_path})" if self.SPAWN_TIMEOUT_NAMES_LOG else ""))
            time.sleep(0.05)
        return process

    def stop(self, process, label):
        if process.poll() is not None:
            return process.returncode
        try:
            os.kill(process.pid, signal.SIGTERM)
            return process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            print(f"cleanup: {label} (pid {process.pid}) ignored SIGTERM; killing it", file=sys.stderr)
            os.kill(process.pid, signal.SIGKILL)
            return process.wait()
        except ProcessLookupError:
            return process.wait()

    def cleanup(self):
        if self.cleaned:
            return
        self.cleaned = True
        for number in SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        for process, label in reversed(self.processes):
            self.stop(process, label)
        for name in reversed(self.namespaces):
            if self.KILL_LEFTOVERS:
                for pid in run(["ip", "netns", "pids", name], check=False).stdout.split():
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        print(f"cleanup: pid {pid} still in {name}; killing it", file=sys.stderr)
                        os.kill(int(pid), signal.SIGKILL)
            result = subprocess.run(["ip", "netns", "del", name], capture_output=True, text=True)
            if result.returncode != 0:
                print(f"cleanup: cannot delete namespace {name}: {result.stderr.strip()}", file=sys.stderr)


# --- QEMU guests --------------------------------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def linux_append():
    """The Linux guest's command line. Debian boots with "quiet" by default. panic=-1
    turns a panic into a reboot, which -no-reboot turns into QEMU exiting, so a failed
    low-memory boot ends at once. Under TCG on a busy host the kernel's TSC calibration
    against the PIT fails now and then, and microvm has no HPET or ACPI PM timer to fall
    back on: the boot hangs after "tsc: Unable to calibrate against PIT". So the guest is
    told the TSC rate (TCG's TSC runs at the host's) and that the TSC is reliable."""
    mhz = re.search(r"^cpu MHz\s*:\s*([0-9.]+)", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    khz = round(float(mhz.group(1)) * 1000) if mhz else None
    return "console=ttyS0 panic=-1 quiet tsc=reliable" + (f" tsc_early_khz={khz}" if khz else "")


def kill_guest(process, reader):
    """Kills a QEMU process (a guest has nothing to lose) and waits for its log reader."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    process.wait()
    reader.join(5)
