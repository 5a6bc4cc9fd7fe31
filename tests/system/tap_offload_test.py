#!/usr/bin/env python3
"""Offloads on the hosted tap (IFF_VNET_HDR, TUNSETOFFLOAD) against Linux's
stack: examples/echo runs with --offload=all, none, and each feature on its
own (tx-csum, tx-csum,tso, rx-csum, rx-csum,gro). Each run echoes 10 MB of
random bytes with socat, byte-exact each way, and then checks that:
- the "tap ... up" line names the offloads the device uses;
- the kernel got them: `ethtool -k tap0` shows the tap's tx-checksumming on
  exactly when the image takes partial checksums (rx-csum), and its TSO on
  exactly when the image takes coalesced frames (gro): the tap's transmit is
  the image's receive;
- the image's counters show each feature used exactly when it is on:
  ethernet.checksum_offload_sent (tx-csum), ethernet.tso_frames_sent and
  tcp.tso_segments_sent (tso), ethernet.checksum_offloaded (rx-csum),
  ethernet.gso_frames_received (gro); no bad checksums either way (Linux's
  TcpInCsumErrors stays 0, the image's tcp.bad_checksum too).

Topology: harness.py's (namespace with tap0 10.0.0.1/24, echo 10.0.0.2/24),
a new namespace per setting.
"""

import hashlib
import re
import time

import harness
from harness import ECHO_ADDRESS, ECHO_PORT, PREFIX, TAP

SIZE = 10 * 1024 * 1024
TRANSFER_TIMEOUT = 240

# --offload value -> (tx-csum, rx-csum, tso, gro) the device then uses.
SETTINGS = {
    "all": (True, True, True, True),
    "none": (False, False, False, False),
    "tx-csum": (True, False, False, False),
    "tx-csum,tso": (True, False, True, False),
    "rx-csum": (False, True, False, False),
    "rx-csum,gro": (False, True, False, True),
}


def ethtool_features(ns):
    """{feature: 'on'/'off'} from `ethtool -k tap0` in the namespace."""
    output = ns.run("ethtool", "-k", TAP).stdout
    return {match.group(1): match.group(2) for match in re.finditer(r"^\s*([\w-]+): (on|off)", output, re.MULTILINE)}


def linux_checksum_errors(ns):
    output = ns.run("nstat", "-asz", "TcpInCsumErrors").stdout
    match = re.search(r"TcpInCsumErrors\s+(\d+)", output)
    return int(match.group(1)) if match else 0


def echo_transfer(t, ns, label):
    payload = t.random.randbytes(SIZE)
    sent_path = t.log_dir / f"sent-{label}.bin"
    echoed_path = t.log_dir / f"echoed-{label}.bin"
    sent_path.write_bytes(payload)
    started = time.monotonic()
    socat = ns.spawn(["socat", "-b", "65536", "-t", "60", f"OPEN:{sent_path},rdonly!!CREATE:{echoed_path}",
                      f"TCP:{ECHO_ADDRESS}:{ECHO_PORT}"], t.log_dir / f"socat-{label}.log", f"socat-{label}")
    finished = harness.wait_until(lambda: socat.poll() is not None, TRANSFER_TIMEOUT, interval=0.2)
    elapsed = time.monotonic() - started
    t.require(finished, f"[{label}] socat finishes within {TRANSFER_TIMEOUT} s")
    echoed = echoed_path.read_bytes() if echoed_path.exists() else b""
    t.check(len(echoed) == SIZE and hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest(),
            f"[{label}] {SIZE} bytes come back byte-exact ({elapsed:.1f} s, {SIZE / elapsed / 1e6:.1f} MB/s each way)",
            f"{len(echoed)} bytes came back")
    sent_path.unlink()
    echoed_path.unlink(missing_ok=True)


def run_setting(t, setting, expected):
    tx_csum, rx_csum, tso, gro = expected
    label = setting.replace(",", "+")
    ns = t.namespace(f"off-{label}")
    echo = harness.Echo(t, ns, f"--ipv4={ECHO_ADDRESS}/{PREFIX}", f"--offload={setting}", label=f"echo-{label}")
    echo.wait_serving()
    up = re.search(r"tap \S+ up, .*offloads (\S+)", echo.log())
    t.check(up and up.group(1) == setting, f"[{label}] the tap up line names offloads {setting}",
            up.group(0) if up else "no tap up line")
    features = ethtool_features(ns)
    t.check(features.get("tx-checksumming") == ("on" if rx_csum else "off"),
            f"[{label}] the kernel's tap checksums for the image's receive: "
            f"tx-checksumming {'on' if rx_csum else 'off'}", f"{features.get('tx-checksumming')}")
    t.check(features.get("tcp-segmentation-offload") == ("on" if gro else "off"),
            f"[{label}] the kernel's tap segments for the image's receive: "
            f"tcp-segmentation-offload {'on' if gro else 'off'}", f"{features.get('tcp-segmentation-offload')}")
    errors_before = linux_checksum_errors(ns)
    echo_transfer(t, ns, label)
    t.check(linux_checksum_errors(ns) == errors_before, f"[{label}] Linux saw no TCP checksum errors")
    time.sleep(0.5)  # the closing handshake's last ACKs arrive
    counters = echo.stop()

    def used(counter, on, what):
        value = counters.get(counter, 0)
        t.check((value > 0) == on, f"[{label}] {counter} {'> 0' if on else '= 0'} ({what} {'on' if on else 'off'})",
                f"{counter} {value}")

    used("ethernet.checksum_offload_sent", tx_csum, "tx-csum")
    used("ethernet.tso_frames_sent", tso, "tso")
    used("tcp.tso_segments_sent", tso, "tso")
    used("ethernet.checksum_offloaded", rx_csum, "rx-csum")
    used("ethernet.gso_frames_received", gro, "gro")
    for counter in ("tcp.bad_checksum", "ethernet.oversized", "ethernet.device_errors"):
        t.check(counters.get(counter, 0) == 0, f"[{label}] {counter} is 0", f"{counters.get(counter)}")
    print(f"        ({label}: {counters.get('ethernet.frames_sent', 0)} frames sent, "
          f"{counters.get('ethernet.tso_frames_sent', 0)} TSO; {counters.get('ethernet.frames_received', 0)} "
          f"received, {counters.get('ethernet.gso_frames_received', 0)} coalesced)")


def test(t):
    for setting, expected in SETTINGS.items():
        t.run_part(lambda t, setting=setting, expected=expected: run_setting(t, setting, expected))


if __name__ == "__main__":
    harness.main(test)
