"""The Xen harness itself (tests/system/xen_support.py, tools/xen/): one boot of Xen in
QEMU whose dom0 creates, with xl,

  - a Linux PVH guest (Debian's kernel, bench/linux-guest's initramfs) that takes an
    address from dom0's dnsmasq and prints its marker, which comes back from its PV
    console; ping from dom0 (plain and fragmented), TCP echo across the bridge and
    through a host port that QEMU forwards to dom0 and guest_forward relays to the
    guest; then `xl shutdown`, and xl reports a poweroff;
  - the same guest panicking: xl reports "crash", and on_crash = "preserve" keeps it;
  - examples/hello's PVH image from the .xl that `./morgana deploy --format xen`
    writes, unchanged: the domain runs and powers off (what hello prints under Xen is
    tests/system/xen_guest_test.py's); this one proves the .xl and its kernel path
    boot here.

Plus the report parser on a cut-short stream (no Xen needed). Runs as any user; the
run takes about ten minutes under TCG. Logs: build/system-tests/xen_harness_test/xen/.
"""

import re
import socket
import threading
import time

import harness
import xen_support
import xenharness

MARKER = r"linux-guest: serving echo on port 7 \((10\.0\.0\.\d+)/24\)"


def check_report_parser(test):
    complete = "noise\n=== file /results/a 3\nYWJj\n=== end\n"
    test.check(xenharness.parse_results(complete) == {"/results/a": b"abc"}, "the report parser reads a file")
    for broken, what in (("=== file /results/a 3\nYWJj\n", "a report without its end"),
                         ("=== file /results/a 4\nYWJj\n=== end\n", "a file shorter than announced")):
        try:
            xenharness.parse_results(broken)
            test.check(False, f"the report parser refuses {what}")
        except xenharness.HarnessError:
            test.check(True, f"the report parser refuses {what}")


class EchoThroughForward:
    """From the host, in a thread: a line to 127.0.0.1:PORT (QEMU -> dom0 -> guest_forward -> the guest's
    TCP echo), again until it comes back or `stop` is set."""

    LINE = b"through the forwarded port\n"

    def __init__(self, port):
        self.port = port
        self.reply = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=30) as connection:
                    connection.sendall(self.LINE)
                    connection.shutdown(socket.SHUT_WR)
                    data = b""
                    while chunk := connection.recv(4096):
                        data += chunk
                if data:  # QEMU accepts and closes while nothing listens in dom0: an empty reply
                    self.reply = data
                    return
            except OSError:
                pass
            time.sleep(2)

    def finish(self):
        self.stop.set()
        self.thread.join()
        return self.reply


def test(t):
    check_report_parser(t)
    network = xen_support.linux_guest("network")
    crash = xen_support.linux_guest("crash", "linux-guest.crash")
    hello = xen_support.deployed_guest("examples/hello")

    host_port = harness.free_port()
    forwarded = EchoThroughForward(host_port)
    result = xen_support.run_xen(t, guests=[network, crash, hello], forwards=[(host_port, 7)], script=f"""
guest_start network {network.config_path}
guest_console network "linux-guest: serving" 900
address=$(guest_address network 60)
echo "$address" >/results/address
ping -c 3 -W 10 "$address" >/results/ping 2>&1
ping -c 3 -W 10 -s 4000 "$address" >/results/ping-fragmented 2>&1
echo "across the bridge" | nc -w 10 "$address" 7 >/results/echo 2>&1
guest_forward network 7 "$address"
waited=0
until grep -q "exiting with status" /results/forward-network-7.log || [ $waited -ge 600 ]; do
  sleep 1
  waited=$((waited + 1))
done
xl shutdown network && guest_wait network 600

guest_start crash {crash.config_path} && guest_wait crash 600
xl list crash >/results/crash-list 2>&1
xl destroy crash

guest_start hello {hello.config_path} && guest_wait hello 300
""")
    t.check(result.status == 0, "the dom0 script ran to its end", f"status {result.status}")

    console = result.guest_console("network")
    marker = re.search(MARKER, console)
    t.check(marker, "the Linux guest's marker comes back from its PV console", console[-500:])
    leased = result.text("/results/address").strip()
    t.check(marker and marker.group(1) == leased, "guest_address finds the address the guest took by DHCP",
            f"leased {leased!r}")

    ping, fragmented = result.text("/results/ping"), result.text("/results/ping-fragmented")
    t.check("3 packets received" in ping, "dom0 pings the guest across xenbr0", ping)
    t.check("3 packets received" in fragmented, "dom0 pings the guest with 4000-byte (fragmented) packets",
            fragmented)
    echoed = result.text("/results/echo")
    t.check(echoed == "across the bridge\n", "the guest echoes a line over TCP", repr(echoed))
    reply = forwarded.finish()
    t.check(reply == EchoThroughForward.LINE, "a forwarded host port reaches the guest through dom0 (guest_forward)",
            f"{reply!r}; {result.text('/results/forward-network-7.log')[-300:]}")
    t.check(result.shutdown("network") == ("poweroff", 0), "xl reports the Linux guest's poweroff after xl shutdown",
            result.xl_log("network"))

    t.check(result.shutdown("crash") == ("crash", 3), "xl reports the panicking guest's crash",
            result.xl_log("crash"))
    crash_list = result.text("/results/crash-list")
    t.check(re.search(r"^crash\s+\d+.*c", crash_list, re.MULTILINE),
            "on_crash = \"preserve\" keeps the crashed domain", crash_list)

    t.check(result.shutdown("hello") == ("poweroff", 0),
            "deploy's .xl boots examples/hello unchanged: it runs and xl reports a poweroff (0)",
            f"{result.shutdown('hello')}: {result.xl_log('hello')}")


if __name__ == "__main__":
    harness.main(test, needs_root=False)
