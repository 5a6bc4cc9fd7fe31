"""The Xen harness itself (tests/system/xen_support.py, tools/xen/): one boot of Xen in
QEMU whose dom0 creates, with xl,

  - a Linux PVH guest (Debian's kernel, bench/linux-guest's initramfs) that takes an
    address from dom0's dnsmasq, prints its marker and powers off: the marker comes
    back from its PV console, and xl's "poweroff";
  - the same guest left running: ping from dom0 (plain and fragmented) and TCP echo
    across the bridge, then `xl shutdown`;
  - the same guest panicking: xl reports "crash", and on_crash = "preserve" keeps it;
  - examples/hello's PVH image from the .xl that `./morgana deploy --format xen`
    writes, unchanged: the domain is created, then destroyed. What hello prints under
    Xen, and how it ends, is the platform's test (tests/system/xen_platform_test.py
    once Xen support lands); this one proves the .xl and its kernel path boot here.

Plus the report parser on a cut-short stream (no Xen needed). Runs as any user; a
boot takes minutes under TCG. Logs: build/system-tests/xen_harness_test/xen/.
"""

import re

import harness
import xen_support
import xenharness
from harness import ROOT

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


def deployed_hello():
    """examples/hello for pvh and the .xl ./morgana deploy --format xen writes for it."""
    image = harness.build_app("examples/hello", "pvh")
    result = harness.run([str(ROOT / "morgana"), "deploy", "examples/hello", "--format", "xen"], timeout=900)
    config_path = result.stdout.strip().splitlines()[-1]
    with open(config_path) as config:
        return image, config.read()


def test(t):
    check_report_parser(t)
    poweroff = xen_support.linux_guest("poweroff", "linux-guest.poweroff")
    network = xen_support.linux_guest("network")
    crash = xen_support.linux_guest("crash", "linux-guest.crash")
    image, config = deployed_hello()
    hello = xen_support.Guest("hello", image, config=config)
    t.check(str(xen_support.kernel_path(config)) == str(image), "deploy's .xl names the image by its host path",
            config)

    result = xen_support.run_xen(t, guests=[poweroff, network, crash, hello], script=f"""
guest_start poweroff {poweroff.config_path} && guest_wait poweroff 600

guest_start network {network.config_path}
address=$(guest_address network 600)
echo "network guest at $address"
ping -c 3 -W 10 "$address" >/results/ping 2>&1
ping -c 3 -W 10 -s 4000 "$address" >/results/ping-fragmented 2>&1
echo "across the bridge" | nc -w 10 "$address" 7 >/results/echo 2>&1
xl shutdown network && guest_wait network 600

guest_start crash {crash.config_path} && guest_wait crash 600
xl list crash >/results/crash-list 2>&1
xl destroy crash

guest_start hello {hello.config_path}
xl list hello >/results/hello-list 2>&1
xl destroy hello && guest_wait hello 120
""")
    t.check(result.status == 0, "the dom0 script ran to its end", f"status {result.status}")

    console = result.guest_console("poweroff")
    t.check(re.search(MARKER, console), "the Linux guest's marker comes back from its PV console",
            console[-500:])
    t.check(result.shutdown("poweroff") == ("poweroff", 0), "xl reports the Linux guest's poweroff",
            result.xl_log("poweroff"))

    ping, fragmented = result.text("/results/ping"), result.text("/results/ping-fragmented")
    t.check("3 packets received" in ping, "dom0 pings the guest across xenbr0", ping)
    t.check("3 packets received" in fragmented, "dom0 pings the guest with 4000-byte (fragmented) packets",
            fragmented)
    echoed = result.text("/results/echo")
    t.check(echoed == "across the bridge\n", "the guest echoes a line over TCP", repr(echoed))
    t.check(result.shutdown("network") == ("poweroff", 0), "xl shutdown powers the networked guest off",
            result.xl_log("network"))

    t.check(result.shutdown("crash") == ("crash", 3), "xl reports the panicking guest's crash",
            result.xl_log("crash"))
    crash_list = result.text("/results/crash-list")
    t.check(re.search(r"^crash\s+\d+.*c", crash_list, re.MULTILINE),
            "on_crash = \"preserve\" keeps the crashed domain", crash_list)

    hello_list = result.text("/results/hello-list")
    t.check(re.search(r"^hello\s+\d+\s+64\s+1\s", hello_list, re.MULTILINE),
            "deploy's .xl creates examples/hello's domain (64 MiB, 1 vCPU)", hello_list)
    t.check(result.shutdown("hello") is None and "has been destroyed" in result.xl_log("hello"),
            "the hello domain is destroyed by xl destroy", result.xl_log("hello"))


if __name__ == "__main__":
    harness.main(test, needs_root=False)
