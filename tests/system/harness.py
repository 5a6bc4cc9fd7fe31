"""Shared setup for system tests: a network namespace per test with a tap
device, Morgana's echo example started inside it, and cleanup that always runs.

Topology (each test gets its own, uniquely named namespace):

    namespace mgt<pid>-<test>-<random>
      tap0  10.0.0.1/24   Linux's side
        |  (tap file descriptor)
      echo  10.0.0.2/24   build/hosted-asan/echo --net=tap0 ...

Cleanup kills every started process by PID (SIGTERM, then SIGKILL), deletes
tap devices and namespaces. It runs when the test ends, fails, raises, or gets
SIGINT/SIGTERM/SIGHUP (the handlers turn the signal into SystemExit, so the
`finally` in main() and the atexit hook run). Processes also get SIGKILL
from the kernel when the test process dies (PR_SET_PDEATHSIG), and the next
run deletes namespaces whose test process is gone.

Run a test directly as root: python3 tests/system/ping_test.py
Environment: MORGANA_ECHO (binary, default build/hosted-asan/echo),
MORGANA_TEST_SEED (random sizes and payloads), MORGANA_KEEP_LOGS (print logs).
"""

import atexit
import contextlib
import ctypes
import fcntl
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ECHO = Path(os.environ.get("MORGANA_ECHO", ROOT / "build" / "hosted-asan" / "echo"))
LOG_ROOT = ROOT / "build" / "system-tests"

LINUX_ADDRESS = "10.0.0.1"
ECHO_ADDRESS = "10.0.0.2"
PREFIX = 24
ECHO_MAC = "02:00:5e:00:00:02"  # locally administered; given with --mac so tests know it
TAP = "tap0"
ECHO_PORT = 7
NAMESPACE_PREFIX = "mgt"

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


class TestFailure(Exception):
    """A failed requirement that makes the rest of the test meaningless."""


def log_tail(path, lines=40):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as error:
        return f"(cannot read {path}: {error})"
    return "\n".join(text.splitlines()[-lines:])


class Cleanup:
    """Everything a test started or created, undone in reverse order."""

    def __init__(self):
        self.processes = []  # (Popen, label)
        self.namespaces = []
        self.done = False

    def add_process(self, process, label):
        self.processes.append((process, label))

    def add_namespace(self, name):
        self.namespaces.append(name)

    def run(self):
        if self.done:
            return
        self.done = True
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(number, signal.SIG_IGN)  # a second Ctrl-C must not cut cleanup short
        for process, label in reversed(self.processes):
            stop_process(process, label)
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "-n", name, "link", "del", TAP], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            result = subprocess.run(["ip", "netns", "del", name], capture_output=True, text=True)
            if result.returncode != 0:
                print(f"cleanup: cannot delete namespace {name}: {result.stderr.strip()}", file=sys.stderr)


def stop_process(process, label, grace=3.0):
    """SIGTERM, then SIGKILL after `grace` seconds; by PID only."""
    if process.poll() is not None:
        return process.returncode
    try:
        os.kill(process.pid, signal.SIGTERM)
        return process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        print(f"cleanup: {label} (pid {process.pid}) ignored SIGTERM; killing it", file=sys.stderr)
        os.kill(process.pid, signal.SIGKILL)
        return process.wait()
    except ProcessLookupError:
        return process.wait()


def process_alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_for_log(log_path, process, pattern, timeout, label):
    """The first match of `pattern` (multi-line) in the log at `log_path`, which `process` writes;
    fails when the process exits or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    regex = re.compile(pattern, re.MULTILINE)
    while True:
        match = regex.search(Path(log_path).read_text(errors="replace"))
        if match:
            return match
        if process.poll() is not None:
            raise TestFailure(f"{label} exited with status {process.returncode} before logging /{pattern}/")
        if time.monotonic() > deadline:
            raise TestFailure(f"{label} did not log /{pattern}/ within {timeout} s")
        time.sleep(0.05)


def remove_stale_namespaces():
    """Namespaces left by test runs whose process died without cleaning up."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.fullmatch(NAMESPACE_PREFIX + r"(\d+)-.*", name)
        if match and not process_alive(int(match.group(1))):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
            print(f"removed namespace {name} left by a test run that died ({len(pids)} processes killed)")


def _die_with_parent():
    """In the child before exec: SIGKILL when the test process dies, even by SIGKILL."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


class Namespace:
    """A network namespace with one tap device, Linux's address on it."""

    def __init__(self, test, role="net", linux_cidr=f"{LINUX_ADDRESS}/{PREFIX}"):
        self.test = test
        self.name = f"{NAMESPACE_PREFIX}{os.getpid()}-{role}-{secrets.token_hex(3)}"
        run(["ip", "netns", "add", self.name])
        test.cleanup.add_namespace(self.name)
        self.ip("link", "set", "lo", "up")
        # IPv4 only: Linux's IPv6 chatter (router and neighbour solicitations,
        # MLD) would add to the echo's drop counters that tests read.
        self.run("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        self.ip("tuntap", "add", "dev", TAP, "mode", "tap")
        if linux_cidr:
            self.ip("addr", "add", linux_cidr, "dev", TAP)
        self.ip("link", "set", TAP, "up")
        self.linux_mac = re.search(r"link/ether (\S+)", self.ip("link", "show", TAP)).group(1)

    def ip(self, *arguments):
        return run(["ip", "-n", self.name, *arguments]).stdout

    def run(self, *command, check=True, timeout=60):
        return run(["ip", "netns", "exec", self.name, *command], check=check, timeout=timeout)

    def spawn(self, command, log_path, label):
        """Starts `command` inside the namespace, output to log_path; cleaned up by PID."""
        log = open(log_path, "wb")
        env = dict(os.environ)
        # Report sanitizer findings in the log and stop; leaks are checked by unit tests.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        process = subprocess.Popen(["ip", "netns", "exec", self.name, *command], stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                   start_new_session=True, preexec_fn=_die_with_parent)
        log.close()
        self.test.cleanup.add_process(process, label)
        return process

    @contextlib.contextmanager
    def entered(self):
        """Runs the block with this thread inside the namespace (sockets made
        there stay there)."""
        original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(target)
            yield self
        finally:
            _setns(original)
            os.close(original)
            os.close(target)

    def neighbour_mac(self, address):
        text = self.ip("neigh", "show", address, "dev", TAP)
        match = re.search(r"lladdr (\S+)", text)
        return match.group(1) if match else None

    def ping(self, address, size=56, count=3, interval=0.2, wait=2):
        """True when every echo request of `size` bytes got its reply."""
        result = self.run("ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", str(wait), "-s",
                          str(size), address, check=False, timeout=count * (interval + wait) + 10)
        received = re.search(r"(\d+) received", result.stdout)
        return result.returncode == 0 and received and int(received.group(1)) == count, result.stdout.strip()


def wait_until(condition, timeout, interval=0.05):
    """Polls condition() until it is true (returns True) or timeout seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(command, check=True, timeout=60):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise TestFailure(f"'{' '.join(command)}' failed ({result.returncode}): {result.stderr.strip()}")
    return result


def build_app(app_dir, target, *configure_options, preset=None, timeout=900):
    """Configures APP_DIR (relative to the repository) for TARGET with exactly CONFIGURE_OPTIONS
    (--crunch NAME=DIR, -- BOOT-ARGUMENTS), as a user would, then builds it in its own directory
    (build/app-APP-PRESET); returns the artifact's path, build's last line. Tests run in parallel take turns
    per app and target: the configuration file and the build directory are shared."""
    morgana, app = str(ROOT / "morgana"), str(ROOT / app_dir)
    presets = ["--preset", preset] if preset else []
    with locked(ROOT / "build" / f"app-{Path(app_dir).name}-{target}.lock"):
        run([morgana, "configure", app, "--target", target, *presets, *configure_options])
        result = run([morgana, "build", app, "--target", target], timeout=timeout)
    return Path(result.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def locked(path):
    """Holds an exclusive lock on the file at `path` (made if missing) for the block, waiting for it first;
    the kernel drops it if the process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def test_certs(name="test-certs", *names):
    """build/NAME made by scripts/make-test-certs (a test CA and a certificate for localhost, 127.0.0.1 and
    NAMES), once: kept afterwards, because images crunch it in and a new certificate would rebuild them. Tests
    running in parallel take turns, so none reads a half-written directory."""
    directory = ROOT / "build" / name
    with locked(directory.with_name(name + ".lock")):
        if not (directory / "tls" / "server.key").is_file():
            run([str(ROOT / "scripts" / "make-test-certs"), str(directory), *names])
    return directory


class Echo:
    """Morgana's examples/echo (or another application given as `binary`),
    running inside a namespace on its tap0."""

    def __init__(self, test, namespace, *arguments, label="echo", mac=ECHO_MAC, binary=ECHO):
        if not Path(binary).is_file():
            raise TestFailure(f"{binary} is missing; build it with: cmake --build --preset hosted-asan")
        self.test = test
        self.label = label
        self.mac = mac
        self.log_path = test.log_dir / f"{label}.log"
        self.command = [str(binary), f"--net={TAP}", f"--mac={mac}", *arguments]
        self.process = namespace.spawn(self.command, self.log_path, label)
        self.counters = None
        test.show_log_on_failure(self.log_path, f"{label} ({' '.join(self.command)})")

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern, timeout=10.0):
        """The first match of `pattern` in the log; fails when the echo exits or time runs out."""
        return wait_for_log(self.log_path, self.process, pattern, timeout, self.label)

    def wait_serving(self, timeout=10.0):
        return self.wait_for(r"serving (?:UDP )?on (\d+\.\d+\.\d+\.\d+)", timeout)

    def stop(self):
        """SIGTERM; returns the counters it prints ({name: value}, non-zero ones)."""
        status = stop_process(self.process, self.label)
        text = self.log()
        self.test.check(status == 128 + signal.SIGTERM, f"{self.label} exits with status 143 on SIGTERM",
                        f"status {status}")
        self.test.check(not re.search(r"Sanitizer|runtime error:", text), f"{self.label}: no sanitizer report")
        counters = {}
        _, found, after = text.rpartition("\ncounters:\n")
        self.test.check(bool(found), f"{self.label} prints counters on SIGTERM")
        for line in after.splitlines():
            match = re.fullmatch(r"  (\S+) (\d+)", line)
            if match:
                counters[match.group(1)] = int(match.group(2))
        self.counters = counters
        return counters


class Sniffer:
    """Collects every frame on a tap device (from the Linux side) in a thread."""

    PACKET_OUTGOING = 4

    def __init__(self, namespace, device=TAP):
        with namespace.entered():
            self.socket = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.socket.bind((device, 0))
        self.socket.settimeout(0.1)
        self.frames = []  # (bytes, incoming: bool)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._collect, daemon=True)
        self.thread.start()

    def _collect(self):
        while not self.stopping.is_set():
            try:
                data, address = self.socket.recvfrom(65535)
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                return
            with self.lock:
                self.frames.append((data, address[2] != self.PACKET_OUTGOING))

    def received(self):
        """Frames the echo sent (incoming to Linux)."""
        with self.lock:
            return [data for data, incoming in self.frames if incoming]

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.socket.close()


class RawLink:
    """Sends hand-made Ethernet frames into a tap device from the Linux side."""

    def __init__(self, namespace, device=TAP):
        with namespace.entered():
            self.socket = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.socket.bind((device, 0))

    def send(self, frame):
        sent = self.socket.send(frame)
        if sent != len(frame):
            raise TestFailure(f"AF_PACKET sent {sent} of {len(frame)} bytes")

    def close(self):
        self.socket.close()


class Test:
    """One system test: checks (recorded, never aborting), requirements
    (TestFailure aborts), logs shown on failure, and cleanup."""

    def __init__(self, name):
        self.name = name
        self.cleanup = Cleanup()
        self.failures = []
        self.checks = 0
        self.logs = []
        self.log_dir = LOG_ROOT / name
        shutil.rmtree(self.log_dir, ignore_errors=True)
        self.log_dir.mkdir(parents=True)
        seed = os.environ.get("MORGANA_TEST_SEED") or str(secrets.randbits(32))
        self.seed = int(seed)
        self.random = random.Random(self.seed)

    def check(self, condition, what, detail=""):
        self.checks += 1
        if condition:
            print(f"  ok    {what}", flush=True)
        else:
            print(f"  FAIL  {what}" + (f": {detail}" if detail else ""), flush=True)
            self.failures.append(what)
        return bool(condition)

    def require(self, condition, what, detail=""):
        if not self.check(condition, what, detail):
            raise TestFailure(what)

    def run_part(self, part):
        """Runs part(test); a TestFailure in it ends only that part."""
        try:
            part(self)
        except TestFailure as failure:
            self._record(failure)

    def _record(self, failure):
        if not self.failures or self.failures[-1] != str(failure):
            self.check(False, str(failure))

    def show_log_on_failure(self, path, label):
        self.logs.append((Path(path), label))

    def namespace(self, role="net", **options):
        return Namespace(self, role, **options)


def main(test_function, needs_root=True):
    """Runs test_function(test) with cleanup on every path; exits 0 only when all checks passed.
    A test that makes namespaces or taps needs root; one on loopback only says needs_root=False."""
    name = Path(sys.argv[0]).stem
    if needs_root and os.geteuid() != 0:
        print(f"{name}: needs root (network namespaces, /dev/net/tun)", file=sys.stderr)
        sys.exit(2)

    def on_signal(number, _frame):
        raise SystemExit(128 + number)

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, on_signal)
    if needs_root:
        remove_stale_namespaces()
    test = Test(name)
    atexit.register(test.cleanup.run)
    print(f"{name} (seed {test.seed}; logs in {test.log_dir.relative_to(ROOT)})", flush=True)
    started = time.monotonic()
    try:
        test_function(test)
    except TestFailure as failure:
        test._record(failure)
    except (SystemExit, KeyboardInterrupt) as stop:
        code = stop.code if isinstance(stop, SystemExit) else 128 + signal.SIGINT
        test.check(False, f"interrupted (status {code})")
    except Exception as error:  # a bug in the test itself still cleans up and reports
        test.check(False, f"test raised {type(error).__name__}: {error}")
        import traceback
        traceback.print_exc()
    finally:
        test.cleanup.run()
    if test.failures or os.environ.get("MORGANA_KEEP_LOGS"):
        for path, label in test.logs:
            print(f"  --- last lines of {label} [{path.relative_to(ROOT)}]:")
            print("    " + log_tail(path).replace("\n", "\n    "))
    elapsed = time.monotonic() - started
    passed = test.checks - len(test.failures)
    print(f"{name}: {passed} passed, {len(test.failures)} failed ({elapsed:.1f} s)", flush=True)
    sys.exit(1 if test.failures else 0)
