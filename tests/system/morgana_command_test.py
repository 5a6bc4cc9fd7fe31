#!/usr/bin/env python3
"""The ./morgana command's help and its refusals (no build is started: each
case stops before CMake runs)."""

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

    result = morgana("build", "examples/echo", "--target", "pvh")
    t.check(result.returncode == 2 and "target pvh is not available yet (issue: PVH target)" in result.stderr,
            "--target pvh says it is not available yet and exits 2", f"{result.returncode}: {result.stderr}")

    refusals = [
        (("build", "examples/echo", "--target", "xen"), "unknown target 'xen'", "an unknown target"),
        (("build", "examples/echo", "--frobnicate"), "unrecognized arguments", "an unknown flag"),
        (("build", "examples/echo", "--preset", "fuzz"), "preset 'fuzz'", "a preset that builds no app"),
        (("build", "examples/no-such-app"), "does not exist", "a missing application directory"),
        (("build", "tests/system"), "has no .cpp files", "a directory without sources"),
        (("deploy",), "invalid choice", "an unknown command"),
        ((), "usage", "no command"),
    ]
    for arguments, message, what in refusals:
        result = morgana(*arguments)
        t.check(result.returncode == 2 and message in result.stderr and not result.stdout,
                f"morgana refuses {what} with a clear message and status 2",
                f"status {result.returncode}, stderr: {result.stderr.strip()}")


if __name__ == "__main__":
    harness.main(test)
