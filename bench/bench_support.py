"""Plumbing shared by the benchmark scripts in bench/: child processes that die with the
script, network namespaces that are removed on every exit path, signal handling, QEMU's
forwarded ports and the Linux guest's command line, and the reports' output files.

The scripts run as `python3 bench/X.py`, so this module is imported as `bench_support`.
"""

import contextlib
import ctypes
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
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


# --- HTTP servers measured with wrk (http_static, tls_handshakes, pvh_http, blog) ----------------

# The server under test runs on CPU 1 (Morgana is single-threaded), its clients on CPU 0.
SERVER_CPU = 1
CLIENT_CPU = 0

# nginx as one would run it in production for static files; {placeholders} are filled in.
NGINX_CONF = """\
# worker_processes 1 matches static-site's single core; 'auto' is one worker per CPU.
worker_processes {workers};
worker_rlimit_nofile 8192;
daemon off;
pid {work}/nginx.pid;
error_log stderr warn;
events {{
    worker_connections 4096;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    open_file_cache max=1000 inactive=60s;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;

    # Mozilla's "intermediate" settings, TLS 1.2 only (static-site's BearSSL has no 1.3).
    ssl_protocols TLSv1.2;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:SSL:10m;
    ssl_session_timeout 1d;
    ssl_session_tickets off;

    server {{
        listen {address}:80;
        root {site};
        index index.html;
        error_page 404 /404.html;
    }}
    server {{
        listen {address}:443 ssl;
        ssl_certificate {certs}/server.pem;
        ssl_certificate_key {certs}/server.key;
        add_header Strict-Transport-Security "max-age=63072000" always;
        root {site};
        index index.html;
        error_page 404 /404.html;
    }}
}}
"""


def process_tree(pid):
    """pid and its descendants (nginx's master and workers)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                queue += [int(child) for child in (task / "children").read_text().split()]
    return found


def tree_cpu(pid):
    """User + system seconds of a process and its live descendants."""
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def milliseconds(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_wrk(output):
    rate = re.search(r"^Requests/sec:\s*([0-9.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+), ([0-9.]+\w+) read", output, re.MULTILINE)
    if not rate or not total:
        raise Failure(f"cannot read wrk's output: {output[-1000:]}")
    percentiles = {int(p): milliseconds(v) for p, v in re.findall(r"^\s*(50|75|90|99)%\s+(\S+)", output, re.MULTILINE)}
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_second": float(rate.group(1)),
        "requests": int(total.group(1)),
        "p50_ms": percentiles.get(50),
        "p99_ms": percentiles.get(99),
        "errors": {name: int(value) for name, value in
                   zip(("connect", "read", "write", "timeout"), errors.groups())} if errors else {},
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def machine_facts(started):
    cpu_model = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    return [f"date: {time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(started))}; {os.cpu_count()} CPUs, "
            f"{cpu_model.group(1) if cpu_model else 'unknown CPU'}; Linux {platform.release()}",
            f"{run(['nginx', '-v']).stderr.strip()}; {run(['openssl', 'version']).stdout.strip()}; "
            f"{run(['wrk', '--version'], check=False).stdout.splitlines()[0].split(' Copyright')[0]}"]


def wrk_rows(runs):
    """For each workload and server (in the order they first ran) that has runs: (workload, server,
    its runs, their requests/s, their socket errors and non-2xx responses)."""
    for workload in dict.fromkeys(r["workload"] for r in runs):
        for server in dict.fromkeys(r["server"] for r in runs):
            rows = [r for r in runs if r["workload"] == workload and r["server"] == server]
            if rows:
                errors = sum(sum(r["errors"].values()) + r["non_2xx"] for r in rows)
                yield workload, server, rows, [r["requests_per_second"] for r in rows], errors


def build_app(app_dir, target, preset=None, crunch=(), work_dir=None):
    """Configures and builds the application in `app_dir` (crunch: "STORE=DIR" arguments) for `target`;
    returns (the artifact, the commands run, relative to the repository). With `work_dir`, the artifact is
    a copy there, as the next build of the same application replaces it."""
    configure = ["./morgana", "configure", str(app_dir), "--target", target]
    if preset:
        configure += ["--preset", preset]
    for store in crunch:
        configure += ["--crunch", str(store)]
    build = ["./morgana", "build", str(app_dir), "--target", target]
    for command in (configure, build):
        print("+ " + " ".join(command), flush=True)
        result = run(command, timeout=1800, cwd=ROOT)
    artifact = Path(result.stdout.strip().splitlines()[-1])
    if work_dir is not None:
        copy = work_dir / f"{artifact.name}.{target}"
        shutil.copy2(artifact, copy)
        artifact = copy
    shown = " && ".join(" ".join(map(str, c)) for c in (configure, build))
    return artifact, shown.replace(str(ROOT) + "/", "")


class Server:
    """One server under test, with where its clients run and the processes to account."""

    def __init__(self, label, kind, client_namespace, http, https, processes):
        self.label = label
        self.kind = kind  # "morgana" or "nginx"
        self.client_namespace = client_namespace
        self.address = {"http": http, "https": https}  # scheme -> host (ports 80 and 443)
        self.processes = processes  # scheme -> Popen whose process tree does the work

    def url(self, scheme, path):
        return f"{scheme}://{self.address[scheme]}/{path}"


class HttpBench(NamespaceBench):
    """Servers in namespaces (self.servers: label -> Server) driven by wrk from their client
    namespace; args.connections is wrk's -c, args.site and args.certs what nginx serves."""

    # nginx's workers are the master's children: the master stops them on SIGTERM;
    # anything left in a namespace (it should be nothing) is killed by PID in cleanup.
    KILL_LEFTOVERS = True
    SPAWN_TIMEOUT_NAMES_LOG = True

    def __init__(self, args, log_dir):
        super().__init__(args, log_dir)
        self.servers = {}

    def wait_listening(self, namespace, address, port, label):
        deadline = time.monotonic() + 30
        while True:
            probe = run(["ip", "netns", "exec", namespace, "python3", "-c",
                         "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)",
                         address, str(port)], check=False)
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise Failure(f"{label}: nothing accepts on {address}:{port}")
            time.sleep(0.2)

    def nginx(self, namespace, address, workers, label, cpu):
        work = self.args.work_dir / f"nginx-{label}"
        work.mkdir(parents=True, exist_ok=True)
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(workers=workers, work=work, address=address, site=self.args.site,
                                          certs=self.args.certs / "tls"))
        run(["ip", "netns", "exec", namespace, "nginx", "-t", "-q", "-c", str(conf)])
        process = self.spawn(namespace, ["nginx", "-c", str(conf)], label, r"", cpu=cpu)
        for port in (80, 443):
            self.wait_listening(namespace, address, port, label)
        return process

    def client(self, server, *command, timeout=60, check=True):
        return run(["ip", "netns", "exec", server.client_namespace, "taskset", "-c", str(CLIENT_CPU), *command],
                   timeout=timeout, check=check)

    def wrk(self, server, scheme, close, path, seconds):
        url = server.url(scheme, path)
        command = ["ip", "netns", "exec", server.client_namespace, "taskset", "-c", str(CLIENT_CPU), "wrk",
                   "-t1", f"-c{self.args.connections}", f"-d{seconds}s", "--latency"]
        if close:
            command += ["-H", "Connection: close"]
        command.append(url)
        out_path = self.log_dir / "wrk.out"
        process = server.processes[scheme]
        cpu_before = tree_cpu(process.pid)
        started = time.monotonic()
        with open(out_path, "w") as out:
            wrk = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   preexec_fn=die_with_parent)
        _, status, usage = os.wait4(wrk.pid, 0)
        wrk.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
        server_cpu = tree_cpu(process.pid) - cpu_before
        output = out_path.read_text(errors="replace")
        if wrk.returncode != 0:
            raise Failure(f"wrk {url} failed ({wrk.returncode}): {output[-1000:]}")
        if process.poll() is not None:
            raise Failure(f"{server.label} ({scheme}) exited with status {process.returncode} during wrk {url}")
        outcome = parse_wrk(output)
        outcome.update(server_busy=server_cpu / elapsed, client_busy=(usage.ru_utime + usage.ru_stime) / elapsed,
                       command=" ".join(command[4:]), raw=output)
        return outcome


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



def narrow(passes, low, high):
    """The smallest value in (low, high] for which passes(value) holds, given that it fails at
    `low` and holds at `high` (and, above the answer, everywhere): a bisection."""
    while high - low > 1:
        middle = (low + high) // 2
        if passes(middle):
            high = middle
        else:
            low = middle
    return high


def smallest_passing(passes, start, limit):
    """The smallest value (above 0, at most `limit`) for which passes(value) holds: doubling
    from `start` until it holds, then a bisection; None when it fails at the limit."""
    low, high = 0, start
    while not passes(high):
        low, high = high, high * 2
        if high > limit:
            return None
    return narrow(passes, low, high)

NET_DEVICE = {"microvm": "virtio-net-device", "pc": "virtio-net-pci"}


class ForwardedGuest:
    """One QEMU process (args.machine, args.memory; kind "morgana": args.image with `boot_arguments`,
    else Linux: args.kernel and args.initramfs) pinned to SERVER_CPU, ports 80 and 443 forwarded from
    127.0.0.1 (self.ports); its serial log goes to log_dir/LABEL.log and self.lines."""

    def __init__(self, args, kind, label, boot_arguments, log_dir):
        self.kind = kind
        self.label = label
        self.ports = {"http": free_port(), "https": free_port()}
        self.log_path = log_dir / f"{label}.log"
        forwards = ",".join(f"hostfwd=tcp:127.0.0.1:{self.ports[s]}-:{p}" for s, p in (("http", 80), ("https", 443)))
        command = ["taskset", "-c", str(SERVER_CPU), "qemu-system-x86_64", "-M", args.machine, "-cpu", "max",
                   "-m", str(args.memory), "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
                   "-device", "isa-debug-exit", "-netdev", f"user,id=n0,{forwards}",
                   "-device", f"{NET_DEVICE[args.machine]},netdev=n0"]
        if kind == "morgana":
            command += ["-kernel", str(args.image), "-append", " ".join(boot_arguments)]
        else:
            command += ["-kernel", str(args.kernel), "-initrd", str(args.initramfs), "-append", linux_append()]
        self.command = command
        self.lines = []
        # taskset execs QEMU: the PID is QEMU's.
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        started = time.monotonic()
        with open(self.log_path, "w") as log:
            log.write(" ".join(self.command) + "\n")
            for raw in self.process.stdout:
                line = raw.decode(errors="replace").rstrip("\r\n")
                self.lines.append(line)
                log.write(f"[host {time.monotonic() - started:8.3f}] {line}\n")
                log.flush()

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        kill_guest(self.process, self.reader)

    def tail(self, count=8):
        return " | ".join(self.lines[-count:])
