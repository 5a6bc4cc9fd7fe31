#!/usr/bin/env python3
"""The ./morgana command: help, configure (the file it writes, --list), refusals
(which stop before CMake runs: bad options, a required store left out, a
crunched directory without a key the manifest names), a real PVH build from the
configuration alone and deployment files for QEMU, Xen and Firecracker (no
command line unless one follows --), and two apps built at once by two
./morgana processes, each in its own build directory.

The configurations this test writes into examples/ and tests/ are put back as
they were (content and time) when it ends."""

import json
import os
import shlex
import shutil
import socket
import subprocess
import tomllib
from pathlib import Path

import harness
from harness import ROOT

# The applications whose configurations the test writes.
TOUCHED = ["examples/hello", "examples/echo", "tests/crunch_app"]


def morgana(*arguments, timeout=30):
    return subprocess.run([str(ROOT / "morgana"), *arguments], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def last_line(result):
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def save_configurations(apps=TOUCHED):
    saved = {}
    for app in apps:
        for target in ("hosted", "pvh"):
            path = ROOT / app / f"morgana-{target}.conf"
            saved[path] = (path.read_bytes(), path.stat().st_mtime_ns) if path.exists() else None
    return saved


def restore_configurations(saved):
    for path, state in saved.items():
        if state is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(state[0])
            os.utime(path, ns=(state[1], state[1]))


def test_help(t):
    result = morgana("--help")
    t.check(result.returncode == 0 and "build" in result.stdout and "configure" in result.stdout,
            "morgana --help lists the configure and build commands", result.stdout + result.stderr)
    result = morgana("build", "--help")
    t.check(result.returncode == 0 and "--target" in result.stdout and "--preset" in result.stdout,
            "morgana build --help lists --target and --preset", result.stdout + result.stderr)
    result = morgana("configure", "--help")
    t.check(result.returncode == 0 and all(n in result.stdout for n in ("--target", "--crunch", "--memory", "--list",
                                                                         "boot-arguments", "morgana-TARGET.conf")),
            "morgana configure --help explains the options and the file", result.stdout + result.stderr)
    for command in ("run", "deploy"):
        result = morgana(command, "--help")
        t.check(result.returncode == 0 and "--target" in result.stdout, f"morgana {command} --help explains itself",
                result.stdout + result.stderr)


def test_configure(t):
    """configure on a copy of examples/static-site: the file, and --list."""
    app = t.log_dir / "static-site"
    shutil.copytree(ROOT / "examples" / "static-site", app, ignore=shutil.ignore_patterns("morgana-*.conf"))
    keys = t.log_dir / "keys"
    keys.mkdir()
    for name in ("server.pem", "server.key"):
        (keys / name).write_text("not a real key\n")
    result = morgana("configure", str(app), "--target", "pvh", "--crunch", f"tls={keys}", "--memory", "96", "--",
                     "--tls=443", "--port=80")
    path = app / "morgana-pvh.conf"
    t.require(result.returncode == 0 and last_line(result) == str(path),
              "configure --target pvh writes APP-DIR/morgana-pvh.conf and prints its path last",
              f"{result.returncode}: {result.stdout} {result.stderr}")
    text = path.read_text()
    lines = text.splitlines()
    t.check(lines[0].startswith("# Morgana configuration of ") and lines[0].endswith(" for the pvh target.") and
            lines[1].startswith("# Written by: ./morgana configure ") and lines[1].endswith(" -- --tls=443 --port=80")
            and lines[2].startswith("# Read by ./morgana build/run/deploy "),
            "the file says what it is, the command that wrote it and who reads it", text)
    t.check("# MiB" in text and "# baked into the image as defaults" in text and "[crunch]" in text,
            "the file documents memory, boot-arguments and [crunch]", text)
    data = tomllib.loads(text)
    t.check(data == {"target": "pvh", "preset": "pvh", "memory": 96, "boot-arguments": ["--tls=443", "--port=80"],
                     "crunch": {"tls": str(keys)}}, "the file is TOML with the configured values", repr(data))

    result = morgana("configure", str(app), "--list")
    listing = result.stdout
    t.check(result.returncode == 0 and all(n in listing for n in (
        "Serves a website", "site", "required", "default site/", "tls", "contains server.pem, server.key",
        "--port", "uint16, default 80", "HTTP port (0: none)", "--max-connections", "size, default 1024",
        "--redirect-port", "no default")), "configure --list shows the stores and settings with type, default, help",
        listing + result.stderr)
    t.check(f"pvh: {keys}" in listing and "pvh: 443" in listing and "pvh: 80" in listing and "memory 96 MiB" in listing,
            "configure --list shows the configured values", listing)
    result = morgana("configure", "examples/hello", "--list")
    t.check(result.returncode == 0 and "stores: none" in result.stdout and "settings: none" in result.stdout,
            "configure --list on an app without stores or settings says so", result.stdout + result.stderr)

    # A crunched directory without a key the manifest names stops the build before CMake.
    (keys / "server.key").unlink()
    result = morgana("build", str(app), "--target", "pvh")
    t.check(result.returncode == 2 and "the store 'tls'" in result.stderr and "lacks server.key" in result.stderr
            and "+ cmake" not in result.stderr and not result.stdout,
            "build stops before compiling when a crunched store lacks a 'contains' key", result.stderr)


def test_stores(t):
    """tests/crunch_app needs the store 'data', which has no default."""
    for target, hosted_hint in (("pvh", False), ("hosted", True)):
        t.require(morgana("configure", "tests/crunch_app", "--target", target).returncode == 0,
                  f"configure tests/crunch_app --target {target} (no stores)")
        result = morgana("build", "tests/crunch_app")
        expected = ("morgana build: tests/crunch_app needs the store 'data' (the directory to dump): give it with "
                    "./morgana configure tests/crunch_app --crunch data=DIR")
        if hosted_hint:
            expected += " or boot with --store=data=DIR"
        t.check(result.returncode == 2 and expected in result.stderr and "+ cmake" not in result.stderr and
                not result.stdout, f"{target}: build without the required store stops before compiling, naming the "
                                   "store and the flag", result.stderr)
        t.check(f"target {target} as configured in tests/crunch_app/morgana-{target}.conf" in result.stderr,
                f"{target}: build without --target says which configuration it uses", result.stderr)


def test_refusals(t):
    refusals = [
        (("build", "examples/echo", "--target", "xen"), "unknown target 'xen'", "an unknown target"),
        (("build", "examples/echo", "--frobnicate"), "unrecognized arguments", "an unknown flag"),
        (("build", "examples/echo", "--target", "hosted", "--preset", "fuzz"), "preset 'fuzz'",
         "a preset that builds no app"),
        (("build", "examples/no-such-app"), "does not exist", "a missing application directory"),
        (("build", "tests/system"), "has no .cpp files", "a directory without sources"),
        (("build", "examples/static-site", "--target", "pvh", "--crunch", "nope=examples"), "has no store 'nope'",
         "a store the manifest does not declare"),
        (("frobnicate",), "invalid choice", "an unknown command"),
        (("deploy", "examples/echo", "--target", "hosted", "--format", "xen"), "use --target pvh",
         "deploying a hosted build"),
        (("run", "examples/echo", "--forward", "80"), "expected HOSTPORT:GUESTPORT", "a malformed --forward"),
        (("run", "examples/echo", "--target", "hosted", "--xen"), "--xen boots a PVH image",
         "running a hosted build under Xen"),
        (("deploy", "examples/hello", "--format", "xen", "--memory", "0"), "expected a positive number of MiB",
         "no guest memory"),
        (("configure", "examples/echo"), "--target is required", "configure without a target"),
        (("configure", "examples/echo", "--target", "pvh", "--", "--echo-port=65536"),
         "65536 is out of range for uint16", "a baked setting out of its type's range"),
        (("configure", "examples/echo", "--target", "pvh", "--", '--resolve="a b"'), "a double quote cannot be given",
         "a baked argument with a double quote (the command line's grouping)"),
        (("configure", "examples/echo", "--target", "pvh", "--", "--resolve=a\nb"), "control characters",
         "a baked argument over two lines"),
        (("run", "examples/echo", "--target", "pvh", "--", '--logs="*:info'), "a double quote cannot be given",
         "a boot argument with a double quote, before building"),
        (("configure", "examples/echo", "--target", "pvh", "--", "echo-port=7"), "expected --name=value",
         "a baked argument without --"),
        (("configure", "examples/static-site", "--target", "pvh", "--crunch", "tls=no/such/dir"), "is not a directory",
         "a missing crunch directory"),
        ((), "usage", "no command"),
    ]
    for arguments, message, what in refusals:
        result = morgana(*arguments)
        t.check(result.returncode == 2 and message in result.stderr and not result.stdout,
                f"morgana refuses {what} with a clear message and status 2",
                f"status {result.returncode}, stderr: {result.stderr.strip()}")


def test_pvh_build_and_deploy(t):
    t.require(morgana("configure", "examples/hello", "--target", "pvh", "--memory", "48", "--",
                      "--logs=*:debug").returncode == 0, "configure examples/hello --target pvh")
    result = morgana("build", "examples/hello", timeout=1800)
    image = last_line(result)
    t.check(result.returncode == 0 and image == str(ROOT / "build" / "app-hello-pvh" / "hello.elf"),
            "build with no flags after configure builds in build/app-hello-pvh and prints the image's path last",
            f"{result.returncode}: {image} {result.stderr[-2000:]}")
    t.check("-DMORGANA_APP_ARGUMENTS=--logs=*:debug" in result.stderr and "-DMORGANA_ONLY_APP=ON" in result.stderr,
            "build passes the configured arguments and builds the app alone", result.stderr[-2000:])

    bare = {"qemu": ("run-qemu.sh", ["qemu-system-x86_64", "-kernel", "virtio-net-device", "-m 48"], ["-append"]),
            "xen": ("hello.xl", ['type = "pvh"', "kernel = ", 'extra = ""', "memory = 48", "on_crash",
                                 "# Baked into the image by ./morgana configure: --logs=*:debug\n"], ["--logs=*:info"]),
            "firecracker": ("hello-firecracker.json", ['"kernel_image_path"', '"boot_args": ""',
                                                       '"mem_size_mib": 48'], ["--logs"])}
    for fmt, (file_name, needles, absent) in bare.items():
        result = morgana("deploy", "examples/hello", "--format", fmt, timeout=600)
        path = last_line(result)
        text = open(path).read() if path.endswith(file_name) else ""
        t.check(result.returncode == 0 and all(n in text for n in needles) and not any(a in text for a in absent),
                f"deploy --format {fmt} writes {file_name} with the configured memory and no command line "
                "(the configured arguments are baked in)", f"{result.returncode}: {path}: {text[:600]} "
                                                           f"{result.stderr[-500:]}")

    # A word with spaces goes in double quotes, as the image splits its command line (the xl string escapes
    # them, and the backslash); JSON and the shell script quote as they do.
    command_line = '--logs=*:info --note="full stack\\engineer"'
    given = {"qemu": ["-append " + shlex.quote(command_line)],
             "xen": ['extra = "--logs=*:info --note=\\"full stack\\\\engineer\\""'],
             "firecracker": [f'"boot_args": {json.dumps(command_line)}']}
    for fmt, needles in given.items():
        result = morgana("deploy", "examples/hello", "--format", fmt, "--memory", "80", "--", "--logs=*:info",
                         "--note=full stack\\engineer", timeout=600)
        path = last_line(result)
        text = open(path).read() if Path(path).is_file() else ""
        t.check(result.returncode == 0 and all(n in text for n in needles) and "80" in text,
                f"deploy --format {fmt} -- ARGS puts ARGS on the command line (a word with spaces quoted), "
                "--memory overrides",
                f"{result.returncode}: {path}: {text[:600]} {result.stderr[-500:]}")


def snapshot(directory):
    return {p: p.stat().st_mtime_ns for p in directory.rglob("*") if p.is_file()}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_runs(t, name, artifact):
    """Runs a built app on the host's sockets and checks it answers (echo: a line back; static-site: a page)."""
    port = free_port()
    settings = {"echo": [f"--echo-port={port}", f"--discard-port={free_port()}", f"--source-port={free_port()}"],
                "static-site": [f"--port={port}", "--tls=0"]}[name]
    log_path = t.log_dir / f"run-{name}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([artifact, "--net=socket", "--socket-address=127.0.0.1", *settings], stdout=log,
                                   stderr=subprocess.STDOUT)
    t.cleanup.add_process(process, name)
    t.show_log_on_failure(log_path, name)
    harness.wait_for_log(log_path, process, r"serving on", 60, name)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        request = b"ping\n" if name == "echo" else b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        connection.sendall(request)
        answer = connection.recv(4096)
    t.check(answer == b"ping\n" if name == "echo" else answer.startswith(b"HTTP/1.1 200"),
            f"{name}, built at the same time as the other, runs and answers", repr(answer[:200]))
    harness.stop_process(process, name)


def test_concurrent_builds(t):
    apps = ("examples/echo", "examples/static-site")
    for app in apps:
        # hosted-asan: the library objects come from the test command's own build (ccache).
        t.require(morgana("configure", app, "--target", "hosted", "--preset", "hosted-asan").returncode == 0,
                  f"configure {app} --target hosted")
    logs = {}
    processes = {}
    for app in apps:
        name = Path(app).name
        logs[name] = open(t.log_dir / f"build-{name}.log", "w")
        processes[name] = subprocess.Popen([str(ROOT / "morgana"), "build", app], cwd=ROOT, stdout=subprocess.PIPE,
                                           stderr=logs[name], text=True)
        t.cleanup.add_process(processes[name], f"./morgana build {app}")
        t.show_log_on_failure(t.log_dir / f"build-{name}.log", f"./morgana build {app}")
    outputs = {name: process.communicate(timeout=3600)[0] for name, process in processes.items()}
    for name, process in processes.items():
        logs[name].close()
        artifact = outputs[name].strip().splitlines()[-1] if outputs[name].strip() else ""
        t.check(process.returncode == 0 and artifact == str(ROOT / "build" / f"app-{name}-hosted-asan" / name),
                f"{name} built at the same time as the other, in build/app-{name}-hosted-asan",
                f"status {process.returncode}: {artifact}")
        if process.returncode == 0:
            check_runs(t, name, artifact)

    site_dir = ROOT / "build" / "app-static-site-hosted-asan"
    before = snapshot(site_dir)
    (ROOT / "examples" / "echo" / "main.cpp").touch()
    result = morgana("build", "examples/echo", timeout=1800)
    after = snapshot(site_dir)
    t.check(result.returncode == 0, "echo rebuilds after a change", result.stderr[-1500:])
    t.check(before == after and before, "rebuilding echo leaves static-site's build directory alone",
            f"changed: {[str(p) for p in after if before.get(p) != after[p]][:10]}")


def test(t):
    saved = save_configurations()
    try:
        test_help(t)
        t.run_part(test_configure)
        t.run_part(test_stores)
        test_refusals(t)
        t.run_part(test_pvh_build_and_deploy)
        t.run_part(test_concurrent_builds)
    finally:
        restore_configurations(saved)


if __name__ == "__main__":
    harness.main(test)
