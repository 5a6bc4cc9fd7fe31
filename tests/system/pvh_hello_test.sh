#!/usr/bin/env bash
# Boots examples/hello as a PVH image under QEMU (TCG) on -M microvm and -M pc
# and checks what it prints: the wall clock within a minute of the host's, a
# one-second sleep observed on both clocks (and in the host's own time), exit
# status 0 through isa-debug-exit (QEMU's status 1). A third boot on a CPU
# without RDRAND/RDSEED checks that the image still runs and says why random
# numbers fail. Bad boot arguments stop the image with a message naming them.
#
# Usage: tests/system/pvh_hello_test.sh [IMAGE]
#   IMAGE defaults to examples/hello configured and built for pvh by ./morgana
#   (build/app-hello-pvh/hello.elf).
# Needs qemu-system-x86_64; not root. Logs: build/system-tests/pvh_hello/.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

# shellcheck source=tests/system/pvh_lib.sh
source tests/system/pvh_lib.sh
pvh_setup pvh_hello hello "${1:-}"

# boot NAME MACHINE CPU ARGS...: runs QEMU in the background (its PID kept for
# cleanup), waits at most 60 s, leaves the output in $log_dir/NAME.log and
# sets $status (QEMU's exit status) and $elapsed (host seconds).
boot() {
  local name=$1 machine=$2 cpu=$3
  shift 3
  local start end
  start=$(date +%s.%N)
  pvh_boot "$log_dir/$name.log" "$machine" "$cpu" "$@"
  end=$(date +%s.%N)
  elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
}

# field LOG WHEN KEY: the number after "KEY " on the "hello WHEN:" line.
field() {
  grep -a "hello $2:" "$1" | head -1 | sed -n "s/.* $3 \([0-9.]*\) s.*/\1/p"
}

check_hello() {
  local name=$1 log=$log_dir/$1.log
  local host_now mono_before mono_after wall_before wall_after slept
  host_now=$(date +%s)
  if ((status != 1)); then
    fail "$name: QEMU exit status $status, expected 1 (image status 0 via isa-debug-exit)"
  fi
  grep -aq "morgana: exit status 0" "$log" || fail "$name: no 'morgana: exit status 0'"
  mono_before=$(field "$log" "before sleep" monotonic)
  mono_after=$(field "$log" "after sleep" monotonic)
  wall_before=$(field "$log" "before sleep" wall)
  wall_after=$(field "$log" "after sleep" wall)
  slept=$(grep -a "hello: slept" "$log" | sed -n 's/.*slept \([0-9.]*\) s.*/\1/p')
  if [[ -z $mono_before || -z $mono_after || -z $wall_before || -z $wall_after || -z $slept ]]; then
    fail "$name: missing clock lines"
    return
  fi
  awk -v w="$wall_before" -v h="$host_now" 'BEGIN { d = w - h; exit !(d > -60 && d < 60) }' ||
    fail "$name: wall clock $wall_before is not within a minute of the host's $host_now"
  # At least the second asked for; the upper bounds only catch a clock that runs wild (the
  # machine is shared, so a late wake-up is no failure).
  awk -v s="$slept" 'BEGIN { exit !(s >= 1.0 && s < 10) }' || fail "$name: slept $slept s, expected 1 s"
  awk -v a="$mono_before" -v b="$mono_after" 'BEGIN { d = b - a; exit !(d >= 1.0 && d < 10) }' ||
    fail "$name: monotonic clock advanced $mono_before -> $mono_after across the sleep"
  awk -v a="$wall_before" -v b="$wall_after" 'BEGIN { d = b - a; exit !(d >= 0.9 && d < 10) }' ||
    fail "$name: wall clock advanced $wall_before -> $wall_after across the sleep"
  awk -v e="$elapsed" 'BEGIN { exit !(e >= 1.0) }' || fail "$name: QEMU ran $elapsed s on the host, less than the sleep"
  echo "$name: slept $slept s (monotonic $mono_before -> $mono_after), wall $wall_before vs host $host_now," \
    "QEMU $elapsed s, status $status"
}

boot microvm microvm max --logs=*:info
check_hello microvm
boot pc pc max --logs=*:info
check_hello pc

boot no-rdrand microvm qemu64 --logs=*:info
check_hello no-rdrand
grep -aq "no RDSEED or RDRAND" "$log_dir/no-rdrand.log" || fail "no-rdrand: no warning about missing entropy"

# A bad boot argument stops the image with a message naming it and status 2 (QEMU's 5).
boot bad-argument microvm max --frobnicate=1
((status == 5)) || fail "bad-argument: QEMU exit status $status, expected 5 (image status 2)"
grep -aq "unknown argument '--frobnicate'" "$log_dir/bad-argument.log" ||
  fail "bad-argument: no message naming --frobnicate"
boot bad-value microvm max --logs=arp:loud
((status == 5)) || fail "bad-value: QEMU exit status $status, expected 5 (image status 2)"
grep -aq "argument '--logs=arp:loud'" "$log_dir/bad-value.log" || fail "bad-value: no message naming --logs"

if ((failures)); then
  echo "pvh_hello_test: $failures checks failed; logs in $log_dir"
  exit 1
fi
echo "pvh_hello_test: passed"
