#!/usr/bin/env python3
"""Instructions per HTTP response: examples/static-site on a tap device (our own TCP stack)
under callgrind, counting only the requests (the counts are zeroed after a warm-up fetch and
dumped after the last response), divided by the number of responses. Instruction counts do not
depend on the machine's load, so a change to the send path shows as a difference in one run.

    sudo python3 bench/http_callgrind.py                    # builds static-site (preset hosted)
    sudo python3 bench/http_callgrind.py --binary PATH --requests 200 --path large.bin

The site and keys are bench/http_static.py's (its large.bin is 100 KiB). The client is a
keep-alive Python loop in the namespace (the responses are read whole and their length checked);
with --close each request opens its own connection.

    mgc<pid>-cli   tap0 10.0.0.1/24 <-tap fd-> valgrind --tool=callgrind static-site --net=tap0
"""

import argparse
import os
import re
import shutil
import sys
import time

import bench_support
import http_static
from bench_support import OUT_DIR, Failure, install_signal_handlers, run

WORK_DIR = OUT_DIR / "http_callgrind"

CLIENT = r"""
import http.client, sys
host, path, count, close, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", int(sys.argv[5])
connection = None
for _ in range(count):
    if connection is None:
        connection = http.client.HTTPConnection(host, 80, timeout=60)
    connection.request("GET", "/" + path, headers={"Connection": "close"} if close else {})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200 or len(body) != size:
        sys.exit(f"status {response.status}, {len(body)} bytes (expected 200 and {size})")
    if close:
        connection.close()
        connection = None
"""


class Bench(bench_support.NamespaceBench):
    PREFIX = "mgc"
    KILL_LEFTOVERS = True
    SPAWN_TIMEOUT_NAMES_LOG = True


def totals(path):
    return int(re.search(r"^totals: (\d+)", path.read_text(), re.M).group(1))


def measure(args, bench, binary):
    stripped = WORK_DIR / "static-site.stripped"  # valgrind cannot read clang 19's DWARF 5
    objcopy = shutil.which("llvm-objcopy-19") or "objcopy"
    run([objcopy, "--strip-debug", str(binary), str(stripped)])
    profile = WORK_DIR / "callgrind.out"
    for old in WORK_DIR.glob("callgrind.out*"):
        old.unlink()
    cli = bench.namespace("cli")
    run(["ip", "-n", cli, "tuntap", "add", "dev", "tap0", "mode", "tap"])
    run(["ip", "-n", cli, "addr", "add", "10.0.0.1/24", "dev", "tap0"])
    run(["ip", "-n", cli, "link", "set", "tap0", "up"])
    process = bench.spawn(cli, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}", str(stripped),
                                "--net=tap0", "--ipv4=10.0.0.2/24", "--port=80", "--tls=0", "--logs=http:warn"],
                          "static-site-callgrind", r"serving")
    size = (args.site / args.path).stat().st_size

    def fetch(count):
        run(["ip", "netns", "exec", cli, sys.executable, "-c", CLIENT, "10.0.0.2", args.path, str(count),
             "1" if args.close else "0", str(size)], timeout=1800)

    fetch(3)  # ARP, the first connection, code paths touched once
    run(["callgrind_control", "--zero", str(process.pid)])
    fetch(args.requests)
    run(["callgrind_control", "--dump", str(process.pid)])
    deadline = time.monotonic() + 60
    while not list(WORK_DIR.glob("callgrind.out.*")):
        if time.monotonic() > deadline:
            raise Failure("callgrind wrote no dump")
        time.sleep(0.2)
    time.sleep(1)  # the dump is written while we look
    dump = sorted(WORK_DIR.glob("callgrind.out.*"))[-1]
    return totals(dump), dump


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", help="a static-site binary built with http_static.py's site and keys "
                                         "(default: build it with preset hosted)")
    parser.add_argument("--requests", type=int, default=200, help="responses counted (default 200)")
    parser.add_argument("--path", default=http_static.LARGE_FILE, help="file fetched (default large.bin, 100 KiB)")
    parser.add_argument("--close", action="store_true", help="a connection per request")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespace and tap device): sudo python3 ...")
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    args.site = http_static.prepare_site(http_static.WORK_DIR)
    certs = http_static.prepare_certs(http_static.WORK_DIR)
    if args.binary:
        binary = args.binary
    else:
        binary, _ = http_static.build_static_site("hosted", "hosted", certs, args.site, WORK_DIR)
    install_signal_handlers()
    bench = Bench(args, WORK_DIR / "logs")
    try:
        instructions, dump = measure(args, bench, binary)
    except Failure as failure:
        sys.exit(f"http_callgrind: {failure}")
    finally:
        bench.cleanup()
    mode = "a connection per request" if args.close else "keep-alive"
    print(f"{instructions:,} instructions for {args.requests} responses of /{args.path} ({mode}): "
          f"{instructions // args.requests:,} per response ({dump})")


if __name__ == "__main__":
    main()
