"""The Xen-in-QEMU harness: Debian's Xen 4.17 booted in QEMU (TCG) with a dom0 of
Debian's kernel and a busybox initramfs holding the Xen toolstack, which creates
guests with `xl` and reports back over a serial port. Used by the system tests
(tests/system/xen_support.py) and by `./morgana run APP --target pvh --xen`.

Layout of one run:

  QEMU -M pc, -kernel xen (multiboot), one module: dom0's kernel, whose initrd is
  the cached dom0 initramfs (build/xen/dom0-initramfs.cpio.gz) followed by a
  per-run cpio archive (Linux unpacks concatenated archives as one) with
  /xen/run.sh, the guests' kernels and .xl files.
  COM1 (file or stdio): Xen's and dom0's console. COM2: the results (dom0's
  /results and /var/log/xen, base64 between markers), so Xen's own messages on
  COM1 never mix into them.
  dom0: xenbr0 at 10.0.0.1/24 with dnsmasq leasing 10.0.0.2-99 to guests; eth0 on
  QEMU user networking when ports are forwarded.

The recipe (package set, CPU flags, module order, daemons) is the one in
/work/shared/DESIGN.md, "Facts". Needs the packages scripts/setup installs and the
.debs it downloads into build/xen/debs (`python3 tools/xen/xenharness.py download`).
"""

import base64
import ctypes
import fcntl
import gzip
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
XEN_DIR = ROOT / "build" / "xen"
DEB_DIR = XEN_DIR / "debs"
DOM0_INITRAMFS = XEN_DIR / "dom0-initramfs.cpio.gz"
XEN_BINARY = XEN_DIR / "xen-4.17-amd64"

# Taken with `apt-get download` and unpacked into the initramfs, never installed on
# the host: xen-utils would start services meant for a real dom0.
DEBIAN_PACKAGES = [
    "xen-hypervisor-4.17-amd64", "xen-utils-4.17", "xenstore-utils", "libxenmisc4.17", "libxencall1",
    "libxenevtchn1", "libxenforeignmemory1", "libxengnttab1", "libxendevicemodel1", "libxenhypfs1",
    "libxenstore4", "libxentoolcore1", "libxentoollog1", "libyajl2",
]
# Loaded in this order: xenfs needs privcmd; xl needs all of the first five.
# bridge and xen-netback: the guests' network; e1000: dom0's NIC on QEMU user networking.
MODULES = ["xen-privcmd", "xenfs", "xen-evtchn", "xen-gntdev", "xen-gntalloc", "llc", "stp", "bridge",
           "xen-netback", "e1000"]
XEN_TOOLS = ["xl", "xenstored", "xenconsoled", "xen-init-dom0", "xenconsole"]
XENSTORE_TOOLS = ["xenstore-read", "xenstore-write", "xenstore-ls", "xenstore-list", "xenstore-rm"]
# From the host (same Debian release), with the libraries ldd names. date: coreutils' (at
# /usr/bin/date; /bin/date is busybox's), whose %N gives benchmarks nanoseconds.
HOST_TOOLS = ["socat", "curl", "openssl", "dnsmasq", "date"]
HOST_FILES = ["/etc/ssl/openssl.cnf", "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"]  # xl's threads need libgcc_s

QEMU_MEMORY_MB = 1536
XEN_COMMAND_LINE = "console=com1 com1=115200,8n1 dom0_mem=768M loglvl=all guest_loglvl=all"
DOM0_COMMAND_LINE = "console=hvc0 loglevel=4"
PR_SET_PDEATHSIG = 1
SHUTDOWN_REASONS = {0: "poweroff", 1: "reboot", 2: "suspend", 3: "crash", 4: "watchdog", 5: "soft_reset"}


class HarnessError(Exception):
    """The harness cannot be built or run; the message says what is missing."""


def download_packages(log=print):
    """Downloads the .debs the dom0 needs into build/xen/debs (skipped when all are there)."""
    DEB_DIR.mkdir(parents=True, exist_ok=True)
    missing = [p for p in DEBIAN_PACKAGES if not list(DEB_DIR.glob(f"{p}_*.deb"))]
    if not missing:
        log("xen: packages present in " + str(DEB_DIR.relative_to(ROOT)))
        return
    log("xen: downloading " + " ".join(missing))
    result = subprocess.run(["apt-get", "download", *missing], cwd=DEB_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        raise HarnessError(f"apt-get download failed: {result.stderr.strip()}")


def host_kernel():
    """Debian's newest kernel in /boot and its version; dom0 runs it with its own modules."""
    kernels = sorted(Path("/boot").glob("vmlinuz-*"), key=lambda p: [int(n) if n.isdigit() else n for n in
                                                                   re.split(r"(\d+)", p.name)])
    if not kernels:
        raise HarnessError("no /boot/vmlinuz-* (scripts/setup installs linux-image-amd64)")
    kernel = kernels[-1]
    version = kernel.name.removeprefix("vmlinuz-")
    if not Path(f"/lib/modules/{version}").is_dir():
        raise HarnessError(f"no /lib/modules/{version} for {kernel}")
    return kernel, version


def debs():
    found = []
    for package in DEBIAN_PACKAGES:
        matches = sorted(DEB_DIR.glob(f"{package}_*.deb"))
        if not matches:
            raise HarnessError(f"{package} is not in {DEB_DIR}: run scripts/setup")
        found.append(matches[-1])
    return found


class Archive:
    """A cpio archive (newc, as the kernel's initramfs unpacker reads) built in memory."""

    def __init__(self):
        self.entries = {}  # path without leading slash: (mode, data bytes)

    def add_directory(self, path):
        path = path.strip("/")
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            self.entries.setdefault("/".join(parts[:i]), (0o040755, b""))

    def add_file(self, path, data, mode=0o644):
        path = path.strip("/")
        if "/" in path:
            self.add_directory(path.rpartition("/")[0])
        self.entries[path] = (0o100000 | mode, data)

    def add_host_file(self, host_path, path=None):
        """A host file at `path` (default: the same path), symlinks resolved, mode kept."""
        real = Path(host_path).resolve()
        self.add_file(path or str(host_path), real.read_bytes(), real.stat().st_mode & 0o777)

    def bytes(self):
        out = bytearray()

        def entry(number, name, mode, data):
            name_bytes = name.encode() + b"\0"
            header = b"070701" + b"".join(b"%08X" % v for v in (
                number, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_bytes), 0))
            out.extend(header + name_bytes)
            out.extend(b"\0" * (-len(out) % 4))
            out.extend(data)
            out.extend(b"\0" * (-len(out) % 4))

        for number, path in enumerate(sorted(self.entries), start=1):
            mode, data = self.entries[path]
            entry(number, path, mode, data)
        entry(0, "TRAILER!!!", 0, b"")
        return bytes(out)


def libraries(binary, library_path=None):
    """The shared libraries (and loader) `binary` needs, as ldd resolves them."""
    env = dict(os.environ, LC_ALL="C")
    if library_path:
        env["LD_LIBRARY_PATH"] = str(library_path)
    result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise HarnessError(f"ldd {binary}: {result.stderr.strip()}")
    if "not found" in result.stdout:
        raise HarnessError(f"ldd {binary}: missing libraries:\n{result.stdout}")
    return re.findall(r"(/\S+) \(0x", result.stdout)


def module_file(version, name):
    result = subprocess.run(["modinfo", "-k", version, "-F", "filename", name], capture_output=True, text=True)
    path = result.stdout.strip()
    if result.returncode != 0 or not path:
        raise HarnessError(f"no kernel module {name} for {version}")
    if path.endswith(".ko"):
        return Path(path).read_bytes()
    raise HarnessError(f"cannot unpack module {path}")


def dom0_inputs():
    """What the dom0 initramfs is made of; a change in any of it rebuilds it."""
    kernel, version = host_kernel()
    inputs = [str(kernel), version, *(p.name for p in debs()), Path(__file__).read_bytes().hex()]
    for name in ("dom0-init", "dom0-lib.sh", "vif-bridge"):
        inputs.append((HERE / name).read_bytes().hex())
    for tool in HOST_TOOLS + ["busybox"]:
        path = shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin")
        if not path:
            raise HarnessError(f"no {tool} on the host: run scripts/setup")
        inputs.append(f"{path} {Path(path).stat().st_mtime_ns}")
    return hashlib.sha256("\n".join(inputs).encode()).hexdigest()


def build_dom0(log=print):
    """The Xen binary, dom0's kernel and its initramfs, rebuilt when their inputs change. One build at a
    time: a test and a benchmark may start together."""
    XEN_DIR.mkdir(parents=True, exist_ok=True)
    with open(XEN_DIR / "dom0-initramfs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return build_dom0_locked(log)


def build_dom0_locked(log):
    kernel, version = host_kernel()
    stamp = XEN_DIR / "dom0-initramfs.inputs"
    digest = dom0_inputs()
    if DOM0_INITRAMFS.is_file() and XEN_BINARY.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return XEN_BINARY, kernel, DOM0_INITRAMFS
    log(f"xen: building the dom0 initramfs in {DOM0_INITRAMFS.relative_to(ROOT)}")
    unpacked = XEN_DIR / "unpacked"
    shutil.rmtree(unpacked, ignore_errors=True)
    unpacked.mkdir(parents=True)
    for deb in debs():
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    XEN_BINARY.write_bytes(gzip.decompress((unpacked / "boot" / "xen-4.17-amd64.gz").read_bytes()))

    archive = Archive()
    busybox = Path("/usr/bin/busybox")
    ldd = subprocess.run(["ldd", str(busybox)], capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    if "not a dynamic executable" not in ldd.stdout + ldd.stderr:
        raise HarnessError(f"{busybox} is not static (scripts/setup installs busybox-static)")
    archive.add_host_file(busybox, "bin/busybox")
    for directory in ("dev", "proc", "sys", "tmp", "run", "var/run", "var/log", "var/lib", "root"):
        archive.add_directory(directory)
    archive.add_file("init", (HERE / "dom0-init").read_bytes(), 0o755)
    archive.add_file("etc/xen-harness.sh", (HERE / "dom0-lib.sh").read_bytes())
    archive.add_file("etc/xen/scripts/vif-bridge", (HERE / "vif-bridge").read_bytes(), 0o755)
    archive.add_file("etc/udhcpc.script", (ROOT / "bench" / "linux-guest" / "udhcpc.script").read_bytes(), 0o755)
    archive.add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    archive.add_file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    archive.add_file("etc/modules", "".join(m + "\n" for m in MODULES).encode())
    for module in MODULES:
        archive.add_file(f"lib/modules/{module}.ko", module_file(version, module))

    xen_libraries = unpacked / "usr" / "lib" / "x86_64-linux-gnu"
    binaries = [(unpacked / "usr/lib/xen-4.17/bin" / t, f"usr/lib/xen-4.17/bin/{t}") for t in XEN_TOOLS]
    binaries += [(unpacked / "usr/bin" / t, f"usr/bin/{t}") for t in XENSTORE_TOOLS]
    binaries += [(Path(shutil.which(t, path="/usr/sbin:/usr/bin")), None) for t in HOST_TOOLS]
    for binary, path in binaries:
        archive.add_host_file(binary, path or str(binary))
        for library in libraries(binary, xen_libraries):
            target = library
            if Path(library).is_relative_to(unpacked):
                target = "/" + str(Path(library).relative_to(unpacked))
            archive.add_host_file(library, target)
    for host_file in HOST_FILES:
        archive.add_host_file(host_file)
    # xl complains without /etc/xen/xl.conf (empty: the defaults); its state directories must exist.
    for directory in ("var/lib/xen", "var/log/xen", "var/run/xen", "etc/xen/auto"):
        archive.add_directory(directory)
    archive.add_file("etc/xen/xl.conf", b"# the defaults\n")

    temporary = DOM0_INITRAMFS.with_suffix(".tmp")
    temporary.write_bytes(gzip.compress(archive.bytes(), compresslevel=6, mtime=0))
    temporary.rename(DOM0_INITRAMFS)
    stamp.write_text(digest)
    shutil.rmtree(unpacked, ignore_errors=True)
    log(f"xen: dom0 initramfs {DOM0_INITRAMFS.stat().st_size} bytes")
    return XEN_BINARY, kernel, DOM0_INITRAMFS


def run_archive(script, files):
    """The per-run cpio: /xen/run.sh (`script`, a shell script body that may use the functions in
    tools/xen/dom0-lib.sh) and `files` {path in dom0: bytes or host Path}."""
    archive = Archive()
    archive.add_file("xen/run.sh", ("#!/bin/sh\n. /etc/xen-harness.sh\n" + script).encode(), 0o755)
    for path, content in files.items():
        data = Path(content).read_bytes() if isinstance(content, Path) else content
        archive.add_file(path, data, 0o755)
    return archive.bytes()


def qemu_command(xen, kernel, initrd, console, results, forwards=()):
    """QEMU booting Xen with dom0; `console` and `results` are QEMU character devices (e.g.
    file:PATH, stdio) for COM1 and COM2; `forwards` [(host port, dom0 port)] on 127.0.0.1."""
    command = ["qemu-system-x86_64", "-M", "pc", "-cpu", "qemu64,+svm,+npt,+rdrand", "-m", str(QEMU_MEMORY_MB),
               "-display", "none", "-nodefaults", "-no-reboot", "-serial", console, "-serial", results,
               "-kernel", str(xen), "-append", XEN_COMMAND_LINE,
               "-initrd", f"{kernel} {DOM0_COMMAND_LINE},{initrd}"]
    if forwards:
        hostfwd = "".join(f",hostfwd=tcp:127.0.0.1:{h}-:{g}" for h, g in forwards)
        command += ["-netdev", f"user,id=n0{hostfwd}", "-device", "e1000,netdev=n0"]
    return command


def prepare_run(directory, script, files, log=print):
    """Writes DIRECTORY/initrd (dom0's initramfs followed by the run's archive); returns (xen, kernel, initrd)."""
    xen, kernel, base = build_dom0(log)
    if "," in str(directory) or " " in str(directory):
        raise HarnessError(f"QEMU's -initrd cannot name files under {directory} (comma or space)")
    directory.mkdir(parents=True, exist_ok=True)
    initrd = directory / "initrd"
    with open(initrd, "wb") as out:
        out.write(base.read_bytes())
        out.write(gzip.compress(run_archive(script, files), compresslevel=1, mtime=0))
    return xen, kernel, initrd


def parse_results(text):
    """{path: bytes} from COM2's "=== file PATH SIZE" / base64 / "=== end" stream; raises HarnessError
    when the stream is cut short or a file's size does not match."""
    files = {}
    current, size, lines = None, 0, []
    ended = False
    for line in text.replace("\r", "").splitlines():
        match = re.fullmatch(r"=== file (\S+) (\d+)", line)
        if match or line == "=== end":
            if current is not None:
                data = base64.b64decode("".join(lines))
                if len(data) != size:
                    raise HarnessError(f"result {current}: {len(data)} bytes arrived of {size}")
                files[current] = data
            if not match:
                ended = True
                break
            current, size, lines = match.group(1), int(match.group(2)), []
        elif current is not None:
            lines.append(line)
    if not ended:
        raise HarnessError("dom0's report ended early (no '=== end' on COM2)")
    return files


class Result:
    """What a run brought back: dom0's files, the run script's status, and the serial console."""

    def __init__(self, files, console):
        self.files = files
        self.console = console
        self.status = int(files.get("/results/status", b"-1").decode().strip() or -1)

    def text(self, path):
        return self.files.get(path, b"").decode(errors="replace")

    def run_log(self):
        return self.text("/results/run.log")

    def guest_console(self, name):
        """What guest NAME printed on its PV console (xenconsoled's log)."""
        return self.text(f"/var/log/xen/console/guest-{name}.log")

    def xl_log(self, name):
        """The output of `xl create -F` for guest NAME."""
        return self.text(f"/results/xl-{name}.log")

    def shutdown(self, name):
        """How guest NAME ended, from xl: (reason, code), e.g. ("poweroff", 0), or None while it ran."""
        match = re.search(r"Domain \d+ has shut down, reason code (\d+)", self.xl_log(name))
        if not match:
            return None
        code = int(match.group(1))
        return SHUTDOWN_REASONS.get(code, f"reason {code}"), code


def die_with_parent():
    """In QEMU's process before exec: SIGKILL when the process that started it dies, even by SIGKILL."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_qemu(directory, script, files, console, forwards, log):
    """Starts QEMU on a prepared run; returns (process, results path). `console`: a QEMU character device."""
    directory = Path(directory)
    xen, kernel, initrd = prepare_run(directory, script, files or {}, log)
    results = directory / "results.log"
    results.unlink(missing_ok=True)
    command = qemu_command(xen, kernel, initrd, console, f"file:{results}", forwards)
    (directory / "qemu-command").write_text(" ".join(command) + "\n")
    interactive = console == "stdio"
    qemu = subprocess.Popen(command, stdin=None if interactive else subprocess.DEVNULL,
                            stdout=None if interactive else subprocess.PIPE,
                            stderr=None if interactive else subprocess.STDOUT, preexec_fn=die_with_parent)
    return qemu, results


def run(directory, script, files=None, timeout=600, forwards=(), console_path=None, log=print):
    """Boots Xen with dom0 running `script`; returns a Result. QEMU is killed (by PID) when the
    run takes longer than `timeout` seconds or this function is interrupted."""
    console = Path(console_path or Path(directory) / "console.log")
    console.unlink(missing_ok=True)
    qemu, results = start_qemu(directory, script, files, f"file:{console}", forwards, log)
    try:
        output, _ = qemu.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(qemu)
        raise HarnessError(f"Xen in QEMU did not finish within {timeout} s (console: {console})")
    except BaseException:
        stop(qemu)
        raise
    console_text = console.read_text(errors="replace") if console.exists() else ""
    if qemu.returncode != 0:
        raise HarnessError(f"QEMU exited with status {qemu.returncode}: {output.decode(errors='replace').strip()}")
    files = parse_results(results.read_text(errors="replace") if results.exists() else "")
    return Result(files, console_text)


def person_script(name, config_path, ports, address=None):
    """dom0's script for `./morgana run --xen`: creates guest NAME (guest_start shows its console on COM1),
    relays each dom0 port in `ports` to the same port of the guest (at `address`, else the address dnsmasq
    leased it), waits until the guest ends and says how it ended."""
    relays = "".join(f"guest_forward {name} {port}{' ' + address if address else ''}\n" for port in ports)
    return f"""guest_start {name} {config_path} || exit 1
{relays}guest_wait {name} 2000000000
grep -h "has shut down" /results/xl-{name}.log
"""


def run_for_person(directory, name, config, kernel, forwards, address=None):
    """Boots Xen in QEMU with guest NAME (.xl text `config`, whose kernel = names `kernel`'s host path) and
    the console on this terminal; forwards [(host port, guest port)] from 127.0.0.1. Returns 0 when the
    guest powered off, 1 otherwise (130 on Ctrl-C)."""
    config_path = f"/xen/{name}.xl"
    files = {config_path: config.encode(), str(kernel): Path(kernel)}
    script = person_script(name, config_path, [g for _, g in forwards], address)
    # Host port -> dom0's same-numbered port as the guest's (QEMU), dom0 -> guest (socat).
    qemu, results = start_qemu(directory, script, files, "stdio", forwards, print)

    def interrupted(_number, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)  # QEMU must not outlive a `kill` of morgana
    try:
        qemu.wait()
    except KeyboardInterrupt:
        stop(qemu)
        return 130
    try:
        result = Result(parse_results(results.read_text(errors="replace") if results.exists() else ""), "")
    except HarnessError as error:
        print(f"xen: {error}", file=sys.stderr)
        return 1
    ended = result.shutdown(name)
    print(f"xen: {name} ended: {ended[0] if ended else 'unknown'}", file=sys.stderr)
    return 0 if ended == ("poweroff", 0) else 1


def stop(process, grace=3.0):
    """SIGTERM, then SIGKILL, by PID."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


if __name__ == "__main__":
    if sys.argv[1:] == ["download"]:
        download_packages()
    elif sys.argv[1:] == ["build"]:
        print(*build_dom0(), sep="\n")
    else:
        print("usage: xenharness.py download|build", file=sys.stderr)
        sys.exit(2)
