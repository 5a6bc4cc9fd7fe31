#!/usr/bin/env python3
"""examples/echo as a PVH image under QEMU (TCG) on a tap device with a vnet_hdr
backend, the one on which QEMU's virtio-net offers checksum offload, TSO both
ways, mergeable receive buffers and EVENT_IDX (user-mode networking offers no
offloads). One boot per case below: --offload=all on each virtio transport
(virtio-mmio v1 on microvm, legacy and modern PCI on pc), --offload=none, and
each offload off on its own (tx-csum goes with tso, rx-csum with gro: the one
needs the other). Each boot:

  - the image's log names the features negotiated with the device, exactly
    those the setting allows (mrg-rxbuf and event-idx always, not being
    offloads), in virtio-net's line and in the device line;
  - MORGANA_PVH_OFFLOAD_MB (default 10) MB of random bytes written to the echo
    port come back byte-exact while as many are read from the source port,
    Linux in the namespace as the peer (its TCP sends TSO-sized frames and
    partial checksums into the tap when the image took GUEST_TSO4/GUEST_CSUM).

Needs root and qemu-system-x86_64. Environment: MORGANA_PVH_IMAGE (default:
examples/echo built for pvh by ./morgana), MORGANA_PVH_OFFLOAD_CASES (a comma-
separated subset of the case names below), and those of harness.py.
"""

import os
import random
import re
import threading
import time

import harness
import pvh_support
import tcp_impaired_test
from harness import ECHO_ADDRESS, PREFIX
from pvh_support import PvhGuest

MEGABYTES = float(os.environ.get("MORGANA_PVH_OFFLOAD_MB", "10"))
SIZE = int(MEGABYTES * 1024 * 1024)
# Under TCG on a loaded machine the echo moves a few MB/s; a stall is a failure long before this.
RUN_TIMEOUT = 120 + SIZE / 200_000

TRANSPORTS = {
    "mmio": ("microvm", "virtio-net-device"),
    "pci-legacy": ("pc", "virtio-net-pci,disable-modern=on"),
    "pci-modern": ("pc", "virtio-net-pci,disable-legacy=on"),
}
# The offload features each --offload word lets the driver take (virtio_net_queues.h).
FEATURES = {"tx-csum": "csum", "tso": "host-tso4", "rx-csum": "guest-csum", "gro": "guest-tso4"}
ALWAYS = {"mrg-rxbuf", "event-idx"}
# name: (transport, --offload value)
CASES = {
    "all-mmio": ("mmio", "all"),
    "all-pci-legacy": ("pci-legacy", "all"),
    "all-pci-modern": ("pci-modern", "all"),
    "none": ("pci-modern", "none"),
    "no-tx-csum": ("mmio", "rx-csum,gro"),
    "no-rx-csum": ("pci-legacy", "tx-csum,tso"),
    "no-tso": ("pci-modern", "tx-csum,rx-csum,gro"),
    "no-gro": ("mmio", "tx-csum,rx-csum,tso"),
}


def expected_features(setting):
    words = FEATURES.keys() if setting == "all" else [] if setting == "none" else setting.split(",")
    return {FEATURES[word] for word in words} | ALWAYS


def run_case(t, image, name, seed):
    transport, setting = CASES[name]
    machine, device = TRANSPORTS[transport]
    ns = t.namespace(f"offload-{name}")
    echo = PvhGuest(t, ns, image, machine, f"--ipv4={ECHO_ADDRESS}/{PREFIX} --offload={setting}", f"echo-{name}",
                    device=device)
    try:
        echo.wait_serving()
        negotiated = echo.wait_for(r"virtio-net info: .*: features ([a-z0-9 -]*[a-z0-9])").group(1).split()
        t.check(set(negotiated) == expected_features(setting),
                f"{name}: {transport} with --offload={setting} negotiates {' '.join(sorted(expected_features(setting)))}",
                f"negotiated {negotiated}")
        t.check(re.search(r"devices info: net0: virtio-net at .*features " + re.escape(" ".join(negotiated)),
                          echo.log()) is not None, f"{name}: the device line names the same features")
        data = random.Random(seed).randbytes(SIZE)
        started = time.monotonic()
        # Run.guarded needs only a check method: a failure or a bug in a thread becomes a failed check.
        guarded = tcp_impaired_test.Run.guarded
        parts = [threading.Thread(target=guarded, args=(t, tcp_impaired_test.into_echo, t, ns, data), daemon=True),
                 threading.Thread(target=guarded, args=(t, tcp_impaired_test.out_of_source, t, ns, SIZE), daemon=True)]
        for part in parts:
            part.start()
        for part in parts:
            part.join(max(0.0, started + RUN_TIMEOUT - time.monotonic()))
        t.check(not any(part.is_alive() for part in parts), f"{name}: the transfers end within {RUN_TIMEOUT:.0f} s")
        link = ns.ip("-s", "link", "show", harness.TAP)
        print(f"{name}: {transport}, --offload={setting}: {' '.join(negotiated)}; "
              f"{time.monotonic() - started:.1f} s; tap: {' '.join(link.split())[-160:]}", flush=True)
    finally:
        echo.stop(t.check)


def test(t):
    image = pvh_support.echo_image(t)
    names = os.environ.get("MORGANA_PVH_OFFLOAD_CASES", ",".join(CASES)).split(",")
    unknown = [name for name in names if name not in CASES]
    t.require(not unknown, f"the cases asked for exist ({', '.join(CASES)})", f"unknown: {unknown}")
    for name in names:
        seed = t.random.getrandbits(31)
        t.run_part(lambda test, name=name, seed=seed: run_case(test, image, name, seed))


if __name__ == "__main__":
    harness.main(test)
