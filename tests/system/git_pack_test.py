#!/usr/bin/env python3
"""Indexes the pack of a real repository with Morgana's git layer and checks
every object against git's own listing (tests/unit/git/corpus_test.cpp does
the checking; the unit tests cannot run git themselves).

Clones /work/shared/corpora/cmark.bundle (MORGANA_GIT_BUNDLE) bare into a
temporary directory, repacks it twice (`git repack -adf`, then with
`--depth=4095 --window=250` for long delta chains), and for each pack runs the
unit test binary (MORGANA_UNIT_TESTS, default build/hosted-asan/unit_tests,
built if it is a CMake build's) with MORGANA_GIT_CORPUS=<the .pack> and
MORGANA_GIT_CORPUS_OBJECTS=<git cat-file --batch-all-objects --batch-check>.
Needs no root and no network. Exit 0 when every check passes, 1 otherwise.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = Path(os.environ.get("MORGANA_GIT_BUNDLE", "/work/shared/corpora/cmark.bundle"))
UNIT_TESTS = Path(os.environ.get("MORGANA_UNIT_TESTS", ROOT / "build" / "hosted-asan" / "unit_tests"))

failures = []


def check(condition, what):
    print(f"{'ok  ' if condition else 'FAIL'} {what}")
    if not condition:
        failures.append(what)
    return condition


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env=dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")).stdout


def unit_tests():
    if "MORGANA_UNIT_TESTS" not in os.environ and (UNIT_TESTS.parent / "build.ninja").is_file():
        built = subprocess.run(["cmake", "--build", str(UNIT_TESTS.parent), "--target", "unit_tests"],
                               capture_output=True, text=True, timeout=1800)
        if not check(built.returncode == 0, f"build {UNIT_TESTS}"):
            print(built.stdout[-3000:], built.stderr[-3000:])
            return None
    return UNIT_TESTS if check(UNIT_TESTS.is_file(), f"{UNIT_TESTS} exists") else None


def index_pack(binary, repository, label):
    packs = sorted((repository / "objects" / "pack").glob("*.pack"))
    if not check(len(packs) == 1, f"{label}: one pack after repack ({len(packs)})"):
        return
    listing = repository / "objects.txt"
    listing.write_text(git("cat-file", "--batch-all-objects", "--batch-check", cwd=repository))
    count = len(listing.read_text().splitlines())
    print(f"     {label}: {packs[0].name}, {packs[0].stat().st_size} bytes, {count} objects")
    started = time.monotonic()
    result = subprocess.run(
        [str(binary), "--gtest_filter=GitCorpus.*", "--gtest_brief=1"], capture_output=True, text=True,
        timeout=1800, env=dict(os.environ, MORGANA_GIT_CORPUS=str(packs[0]), MORGANA_GIT_CORPUS_OBJECTS=str(listing)))
    elapsed = time.monotonic() - started
    for line in result.stdout.splitlines():
        if line.startswith("corpus:"):
            print(f"     {line}")
    ran = "1 test" in result.stdout and "SKIPPED" not in result.stdout
    if not check(result.returncode == 0 and ran, f"{label}: every object's id, type, size and parse match git's "
                                                  f"({elapsed:.1f} s)"):
        print(result.stdout[-4000:], result.stderr[-4000:])


def main():
    if not check(BUNDLE.is_file(), f"bundle {BUNDLE} exists"):
        return 1
    binary = unit_tests()
    if binary is None:
        return 1
    with tempfile.TemporaryDirectory(prefix="morgana-git-pack-") as scratch:
        for label, options in [("repack -adf", []), ("repack -adf --depth=4095 --window=250",
                                                      ["--depth=4095", "--window=250"])]:
            repository = Path(scratch) / re.sub(r"\W+", "-", label)
            git("clone", "-q", "--bare", str(BUNDLE), str(repository))
            git("repack", "-adfq", *options, cwd=repository)
            index_pack(binary, repository, label)
    if failures:
        print(f"git_pack_test: {len(failures)} checks failed")
        return 1
    print("git_pack_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
