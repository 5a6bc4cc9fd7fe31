#!/usr/bin/env python3
"""Xen benchmarks: examples/echo as a Xen PVH guest against a Linux PVH guest (Debian's
kernel with bench/linux-guest's busybox initramfs) on the same Xen, in one run: time from
`xl create` to the first answered TCP request, and TCP throughput over netfront.

    python3 bench/xen.py                    # about 11 minutes with the default 3 repetitions, 18 with 5

One Xen boot (Xen 4.17 nested in QEMU under TCG, tests/system/xen_support.py). Dom0's script
runs, for each repetition, each guest in turn (interleaved), alone on the machine:
  boot     `date +%s%N` just before `xl create`, then a probe every 0.25 s (socat, 2 s
           timeouts) that sends a line to TCP echo (port 7); the time its line comes
           back, first of all probes, is the boot's end.
  echo     N MiB from dom0 through the guest's TCP echo and back (both directions at
           once), checked byte for byte; time until the guest closed.
  discard  N MiB from dom0 into the guest's TCP discard (port 9); time until the guest
           closed, which it does once it read everything.
Both guests get the same memory, a fixed MAC and a static address (Morgana: --ipv4=; Linux:
linux-guest.ipv4=, instead of its DHCP), and dom0 forgets the address's neighbour entry
before each boot. Absolute numbers under nested emulation mean little; the ratios are the
result. Logs and the raw numbers: build/bench/xen/.
"""

import argparse
import statistics
import sys
import time

import bench_support
from bench_support import OUT_DIR, ROOT, Failure

sys.path.insert(0, str(ROOT / "tests" / "system"))
import harness  # noqa: E402
import xen_support  # noqa: E402
from xen_support import xenharness  # noqa: E402

LOG_DIR = OUT_DIR / "xen"
KINDS = ("morgana", "linux")
ADDRESS = {"morgana": "10.0.0.50", "linux": "10.0.0.51"}
MAC = {"morgana": "00:16:3e:00:00:50", "linux": "00:16:3e:00:00:51"}  # Xen's OUI
BOOT_TIMEOUT = 600  # s a guest may take to answer its first request, nested under TCG
TRANSFER_TIMEOUT = 300  # s of silence after which a transfer gives up
TRANSFERS = {"echo": 7, "discard": 9}
MEMORY = 128  # MiB, each guest: what xen_support.linux_guest gives the Linux guest

# Dom0's functions. boot NAME CONFIG ADDRESS REPETITION appends "NAME REPETITION ANSWERED STARTED" to
# /results/boot: nanoseconds from `xl create` to the first answer ("none" when no probe was answered) and to
# xl's saying it started the domain. transfer NAME ADDRESS KIND PORT REPETITION appends
# "NAME KIND REPETITION NANOSECONDS BYTES-BACK SAME" to /results/transfer.
DOM0_FUNCTIONS = r"""
now() { /usr/bin/date +%s%N; }

boot() {
  rm -f /tmp/answered
  ip neigh flush to "$3" dev xenbr0 >/dev/null 2>&1 # "Nothing to flush" on the first boot
  start=$(now)
  xl create -F "$2" >"/results/xl-$1-$4.log" 2>&1 &
  echo $! >"/tmp/xl-$1.pid"
  deadline=$(($(date +%s) + BOOT_TIMEOUT))
  probe=0
  built=none
  while [ ! -s /tmp/answered ] && [ "$(date +%s)" -lt "$deadline" ]; do
    # xl create -F says "Waiting for domain" once it has built the domain and started it.
    if [ "$built" = none ] && grep -q "Waiting for domain" "/results/xl-$1-$4.log"; then
      built=$(($(now) - start))
    fi
    # The time the line comes back, not when socat ends: a probe whose SYN went out before the guest
    # listened waits on retransmission, a later one need not.
    (echo "probe $probe" | socat -T 2 - "TCP:$3:7,connect-timeout=2" 2>/dev/null |
      { read -r reply && [ "$reply" = "probe $probe" ] && now >>/tmp/answered; }) &
    probe=$((probe + 1))
    sleep 0.25
  done
  if [ -s /tmp/answered ]; then
    echo "$1 $4 $(($(sort -n /tmp/answered | head -n 1) - start)) $built" >>/results/boot
  else
    echo "$1 $4 none $built" >>/results/boot
  fi
  sleep 3 # the probes still in flight end
}

transfer() {
  start=$(now)
  socat -T TRANSFER_TIMEOUT -t TRANSFER_TIMEOUT - "TCP:$2:$4" </tmp/sent >/tmp/back 2>"/results/socat-$1-$3-$5.log"
  end=$(now)
  same=no
  if cmp -s /tmp/sent /tmp/back; then same=yes; fi
  echo "$1 $3 $5 $((end - start)) $(wc -c </tmp/back) $same" >>/results/transfer
}

stop() {
  xl destroy "$1" && guest_wait "$1" 120
}
""".replace("BOOT_TIMEOUT", str(BOOT_TIMEOUT)).replace("TRANSFER_TIMEOUT", str(TRANSFER_TIMEOUT))


def dom0_script(guests, repetitions, megabytes):
    lines = [DOM0_FUNCTIONS, f"head -c {megabytes * 1024 * 1024} /dev/urandom >/tmp/sent",
             "touch /results/boot /results/transfer"]
    for repetition in range(repetitions):
        for kind in KINDS:
            guest, address = guests[kind], ADDRESS[kind]
            lines.append(f"echo 'bench: {kind} #{repetition}'")
            lines.append(f"boot {guest.name} {guest.config_path} {address} {repetition}")
            for transfer, port in TRANSFERS.items():
                lines.append(f"transfer {guest.name} {address} {transfer} {port} {repetition}")
            lines.append(f"stop {guest.name}")
    return "\n".join(lines) + "\n"


def parse(result):
    """The boot and transfer rows dom0 wrote, as dictionaries."""
    boots, transfers = [], []
    for line in result.text("/results/boot").splitlines():
        name, repetition, nanoseconds, built = line.split()
        boots.append({"kind": name, "repetition": int(repetition),
                      "seconds": None if nanoseconds == "none" else int(nanoseconds) / 1e9,
                      "built": None if built == "none" else int(built) / 1e9})
    for line in result.text("/results/transfer").splitlines():
        name, kind, repetition, nanoseconds, back, same = line.split()
        transfers.append({"kind": name, "transfer": kind, "repetition": int(repetition),
                          "seconds": int(nanoseconds) / 1e9, "bytes_back": int(back), "same": same == "yes"})
    return boots, transfers


def valid(transfer):
    """An echo must bring every byte back; a discard brings nothing back."""
    if transfer["transfer"] == "echo":
        return transfer["same"]
    return transfer["bytes_back"] == 0


def extra_line(guest):
    """The extra = line of the guest's .xl."""
    return next(line for line in guest.config.splitlines() if line.startswith("extra"))


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    values = [v for v in values if v is not None]
    return f"{min(values):.2f}-{max(values):.2f}" if values else "-"


def report(args, boots, transfers, started, load_before, load_after, guests, result):
    lines = []
    say = lines.append
    say(bench_support.machine_facts(started)[0])
    say(f"Xen: {xenharness.XEN_BINARY.name} in qemu-system-x86_64 -M pc (TCG, one vCPU shared by dom0 and the "
        f"guest), dom0_mem=768M; guests: {MEMORY} MiB, one vCPU, vif on xenbr0")
    say(f"Morgana: {guests['morgana'].kernel.relative_to(ROOT)}, {extra_line(guests['morgana'])}; "
        f"Linux: {guests['linux'].kernel} + {xen_support.LINUX_GUEST_DIR.relative_to(ROOT)}/initramfs.cpio.gz, "
        f"{extra_line(guests['linux'])}")
    say(f"load average before {load_before}, after {load_after}; {args.repetitions} repetitions, interleaved; "
        "medians")
    say("")
    say("Time from `xl create` to the first answered TCP echo request (seconds, dom0's clock):")
    say("")
    say("| guest | first answer | min-max | domain started | answered |")
    say("|---|---:|---:|---:|---:|")
    medians = {}
    for kind in KINDS:
        values = [b["seconds"] for b in boots if b["kind"] == kind]
        medians[kind] = median_or_none(values)
        answered = sum(v is not None for v in values)
        shown = "failed" if medians[kind] is None else f"{medians[kind]:.2f}"
        built = median_or_none([b["built"] for b in boots if b["kind"] == kind])
        say(f"| {kind} | {shown} | {spread(values)} | {'-' if built is None else f'{built:.2f}'} | "
            f"{answered}/{len(values)} |")
    say("")
    say("'domain started': when `xl create -F` printed \"Waiting for domain\" (it has built the domain, loaded "
        "the kernel and ramdisk, and unpaused it), as seen by dom0's polling every 0.25 s.")
    say("")
    if medians["morgana"] and medians["linux"]:
        by_repetition = {b["repetition"]: b["seconds"] for b in boots if b["kind"] == "linux" and b["seconds"]}
        ratios = [by_repetition[b["repetition"]] / b["seconds"] for b in boots
                  if b["kind"] == "morgana" and b["seconds"] and b["repetition"] in by_repetition]
        say(f"Linux / Morgana: {medians['linux'] / medians['morgana']:.1f}x (per repetition "
            f"{min(ratios):.1f}-{max(ratios):.1f}).")
    else:
        say("No ratio: a guest never answered.")
    say("")
    say(f"TCP throughput over netfront, {args.megabytes} MiB from dom0 (MiB/s of payload; echo: the same bytes "
        "back at once, checked):")
    say("")
    say("| transfer | guest | median MiB/s | min-max | median s | valid |")
    say("|---|---|---:|---:|---:|---:|")
    rates = {}
    for transfer in TRANSFERS:
        for kind in KINDS:
            rows = [t for t in transfers if t["kind"] == kind and t["transfer"] == transfer]
            good = [t for t in rows if valid(t)]
            values = [args.megabytes / t["seconds"] for t in good]
            rates[(transfer, kind)] = median_or_none(values)
            if values:
                say(f"| {transfer} | {kind} | {statistics.median(values):.2f} | {spread(values)} | "
                    f"{statistics.median(t['seconds'] for t in good):.1f} | {len(good)}/{len(rows)} |")
            else:
                say(f"| {transfer} | {kind} | failed | | | 0/{len(rows)} |")
    say("")
    for transfer in TRANSFERS:
        ours, theirs = rates[(transfer, "morgana")], rates[(transfer, "linux")]
        say(f"{transfer}: Morgana / Linux = " + (f"{ours / theirs:.2f}" if ours and theirs else "no ratio") + ".")
    for t in transfers:
        if not valid(t):
            say(f"invalid: {t['kind']} {t['transfer']} #{t['repetition']}: {t['bytes_back']} bytes back, "
                f"same: {t['same']} (socat log: {LOG_DIR.relative_to(ROOT)}/results/results/"
                f"socat-{t['kind']}-{t['transfer']}-{t['repetition']}.log)")
    for kind in KINDS:
        if any(b["seconds"] is None for b in boots if b["kind"] == kind):
            say(f"{kind} did not answer; its console ends: {result.guest_console(kind)[-600:]!r}")
    bench_support.write_report("xen", "\n".join(lines),
                               {"boot": boots, "transfer": transfers, "megabytes": args.megabytes,
                                "memory": MEMORY}, LOG_DIR)


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--repetitions", type=int, default=3, help="boots and transfers of each guest (default 3)")
    parser.add_argument("--megabytes", type=int, default=10, help="MiB per transfer (default 10)")
    args = parser.parse_args()
    if args.repetitions < 1 or args.megabytes < 1:
        sys.exit("xen: --repetitions and --megabytes must be at least 1")

    bench_support.install_signal_handlers()
    started = time.time()
    load_before = bench_support.load_average()
    with bench_support.exit_on_failure("xen", lambda: None):
        try:
            image = harness.build_app("examples/echo", "pvh")
            guests = {
                "morgana": xen_support.Guest("morgana", image, extra=f"--ipv4={ADDRESS['morgana']}/24",
                                             memory=MEMORY, mac=MAC["morgana"]),
                "linux": xen_support.linux_guest("linux", extra=f"linux-guest.ipv4={ADDRESS['linux']}/24",
                                                 mac=MAC["linux"]),
            }
        except harness.TestFailure as error:
            raise Failure(str(error)) from None
        files = {}
        for guest in guests.values():
            files.update(guest.files)
        # Boot (one to two minutes), then per repetition and guest: a Linux boot takes about a minute, each
        # transfer tens of seconds.
        timeout = 600 + args.repetitions * len(KINDS) * (BOOT_TIMEOUT // 2 + 2 * TRANSFER_TIMEOUT // 3)
        print(f"xen: booting Xen; the dom0 script's output follows (logs in {LOG_DIR.relative_to(ROOT)}/)",
              flush=True)
        try:
            result = xenharness.run(LOG_DIR, dom0_script(guests, args.repetitions, args.megabytes), files,
                                    timeout=timeout, log=lambda line: print("  " + line, flush=True))
        except xenharness.HarnessError as error:
            raise Failure(str(error)) from None
        for path, data in result.files.items():
            (LOG_DIR / "results" / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (LOG_DIR / "results" / path.lstrip("/")).write_bytes(data)
        boots, transfers = parse(result)
        if not boots:
            raise Failure(f"dom0 reported no boots (status {result.status}); its output: {result.run_log()[-2000:]}")
    load_after = bench_support.load_average()
    report(args, boots, transfers, started, load_before, load_after, guests, result)
    print(f"finished in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
