#!/usr/bin/env bash
# Boots examples/crash as a PVH image under QEMU (TCG) once per way of
# failing (--crash=...), on -M microvm and -M pc, and checks that each one
# stops the image with its report (vector, faulting address, registers,
# backtrace with function names from the image's symbol table, the addr2line
# command) and a non-zero status: CPU exceptions exit 126 (QEMU's 253),
# aborts 125 (QEMU's 251). --crash=none must exit 0 (QEMU's 1).
#
# Usage: tests/system/pvh_fault_test.sh [IMAGE]
#   IMAGE defaults to examples/crash configured and built for pvh by ./morgana
#   (build/app-crash-pvh/crash.elf).
# Needs qemu-system-x86_64; not root. Logs: build/system-tests/pvh_fault/.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

# shellcheck source=tests/system/pvh_lib.sh
source tests/system/pvh_lib.sh
pvh_setup pvh_fault crash "${1:-}"

# boot LOG MACHINE ARGS...: pvh_boot on a CPU with every feature.
boot() {
  local log=$1 machine=$2
  shift 2
  pvh_boot "$log" "$machine" max "$@"
}

# expect MODE QEMU_STATUS PATTERN...: every extended regular expression must
# match the output of --crash=MODE, on both machines.
expect() {
  local mode=$1 expected=$2
  shift 2
  local machine log pattern
  for machine in microvm pc; do
    log=$log_dir/$mode-$machine.log
    boot "$log" "$machine" "--crash=$mode"
    if ((status != expected)); then
      fail "$mode on $machine: QEMU exit status $status, expected $expected"
    fi
    grep -aq "crash: --crash=$mode" "$log" || fail "$mode on $machine: the application did not start"
    for pattern in "$@"; do
      grep -aEq -- "$pattern" "$log" || fail "$mode on $machine: no line matching '$pattern'"
    done
    if ((expected != 1)) && grep -aq "still running after" "$log"; then
      fail "$mode on $machine: the image kept running"
    fi
    echo "$mode on $machine: QEMU status $status"
  done
}

exception='CPU exception'
backtrace='^  #0  0x[0-9a-f]{16}'
registers='rip 0x[0-9a-f]{16} rsp 0x[0-9a-f]{16}'
addr2line='^source lines: addr2line -f -C -i -e <image>.elf( 0x[0-9a-f]+)+.?$'
# frame N FUNCTION: backtrace line N names FUNCTION (examples/crash/main.cpp).
frame() { echo "^  #$1 +0x[0-9a-f]{16} $2\+0x[0-9a-f]+.?\$"; }
anonymous='\(anonymous namespace\)'

expect null 253 "$exception 14 \(#PF page fault\)" 'write to 0x0000000000000000 \(page not mapped\): the null page' \
  "$registers" "$backtrace" "$(frame 0 "$anonymous::write_through_null")" "$(frame 1 "$anonymous::crash")" \
  "$addr2line" 'exit status 126'
expect stack-overflow 253 "$exception 14 \(#PF page fault\)" "guard page .*stack overflow" "$registers" "$backtrace" \
  "$(frame 0 "$anonymous::recurse")" "$(frame 1 "$anonymous::recurse")" 'more times' "$addr2line" 'exit status 126'
expect write-text 253 "$exception 14 \(#PF page fault\)" 'write to 0x[0-9a-f]+ \(page protection\): text' 'W\^X' \
  "$backtrace" "$(frame 0 "$anonymous::write_into_text")" "$(frame 1 "$anonymous::crash")" "$addr2line" \
  'exit status 126'
expect exec-data 253 "$exception 14 \(#PF page fault\)" 'instruction fetch from 0x[0-9a-f]+ \(page protection\)' \
  'not executable' "$backtrace" 'exit status 126'
expect divide 253 "$exception 0 \(#DE divide error\)" "$registers" "$backtrace" 'exit status 126'
expect smash-stack 251 'morgana abort: stack smashing detected' "$backtrace" 'exit status 125'
expect abort 251 'morgana abort: crash: --crash=abort' "$backtrace" 'exit status 125'
expect none 1 'crash: still running after --crash=none' 'morgana: exit status 0'

if ((failures)); then
  echo "pvh_fault_test: $failures checks failed; logs in $log_dir"
  exit 1
fi
echo "pvh_fault_test: passed"
