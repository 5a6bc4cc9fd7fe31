#!/usr/bin/env python3
"""The ./morgana command: help, refusals (which stop before CMake runs), and a
real PVH build and deployment files for QEMU, Xen and Firecracker."""

import subprocess

import harness
from harness import ROOT


def morgana(*arguments):
    return subprocess.run([str(ROOT / "morgana"), *arguments], capture_output=True, text=True, cwd=ROOT, timeout=30)


def test(t):
    result = morgana("--help")
    t.check(result.returncode == 0 and "build" in result.stdout, "morgana --help lists the build command",
            result.stdout + result.stderr)
    result = morgana("build", "--help")
    t.check(result.returncode == 0 and "--target" in result.stdout and "--preset" in result.stdout,
            "morgana build --help lists --target and --preset", result.stdout + result.stderr)

    for command in ("run", "deploy"):
        result = morgana(command, "--help")
        t.check(result.returncode == 0 and "--target" in result.stdout, f"morgana {command} --help explains itself",
                result.stdout + result.stderr)

    result = subprocess.run([str(ROOT / "morgana"), "build", "examples/hello", "--target", "pvh"], capture_output=True,
                            text=True, cwd=ROOT, timeout=900)
    image = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    t.check(result.returncode == 0 and image.endswith("/build/pvh/hello.elf"),
            "build --target pvh prints the image's path last", f"{result.returncode}: {result.stderr[-2000:]}")

    expectations = {"qemu": ("run-qemu.sh", ["qemu-system-x86_64", "-kernel", "virtio-net-device", "--logs=*:debug"]),
                    "xen": ("hello.xl", ['type = "pvh"', "kernel = ", 'extra = "--logs=*:debug"', "on_crash"]),
                    "firecracker": ("hello-firecracker.json", ['"kernel_image_path"', '"boot_args": "--logs=*:debug"'])}
    for fmt, (file_name, needles) in expectations.items():
        result = morgana("deploy", "examples/hello", "--format", fmt, "--", "--logs=*:debug")
        path = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        text = open(path).read() if path.endswith(file_name) else ""
        t.check(result.returncode == 0 and all(n in text for n in needles),
                f"deploy --format {fmt} writes {file_name} with the image and boot arguments",
                f"{result.returncode}: {path}: {text[:500]} {result.stderr[-500:]}")

    refusals = [
        (("build", "examples/echo", "--target", "xen"), "unknown target 'xen'", "an unknown target"),
        (("build", "examples/echo", "--frobnicate"), "unrecognized arguments", "an unknown flag"),
        (("build", "examples/echo", "--preset", "fuzz"), "preset 'fuzz'", "a preset that builds no app"),
        (("build", "examples/no-such-app"), "does not exist", "a missing application directory"),
        (("build", "tests/system"), "has no .cpp files", "a directory without sources"),
        (("frobnicate",), "invalid choice", "an unknown command"),
        (("deploy", "examples/echo", "--target", "hosted", "--format", "xen"), "use --target pvh",
         "deploying a hosted build"),
        (("run", "examples/echo", "--forward", "80"), "expected HOSTPORT:GUESTPORT", "a malformed --forward"),
        ((), "usage", "no command"),
    ]
    for arguments, message, what in refusals:
        result = morgana(*arguments)
        t.check(result.returncode == 2 and message in result.stderr and not result.stdout,
                f"morgana refuses {what} with a clear message and status 2",
                f"status {result.returncode}, stderr: {result.stderr.strip()}")


if __name__ == "__main__":
    harness.main(test)
