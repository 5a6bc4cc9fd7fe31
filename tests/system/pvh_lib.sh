# Shared by the tests/system/pvh_*_test.sh scripts; source it after `cd` to the
# repository root, then call pvh_setup.

# pvh_setup TEST APP [IMAGE]: sets $log_dir (build/system-tests/TEST, created)
# and $image: IMAGE, or APP (examples/APP, else tests/APP) configured for pvh
# with no options and built by ./morgana (build/app-APP-pvh/APP.elf);
# installs a cleanup that kills every QEMU whose PID is in $qemu_pids and then
# runs the function pvh_extra_cleanup if the script defines one.
pvh_setup() {
  local test=$1 app=$2
  image=${3:-}
  log_dir=build/system-tests/$test
  mkdir -p "$log_dir"
  if [[ -z $image ]]; then
    local dir=examples/$app
    [[ -d $dir ]] || dir=tests/$app
    ./morgana configure "$dir" --target pvh >/dev/null 2>"$log_dir/build.log" &&
      image=$(./morgana build "$dir" --target pvh 2>>"$log_dir/build.log" | tail -1) || {
      tail -30 "$log_dir/build.log" >&2
      echo "$test: building $dir failed (log: $log_dir/build.log)" >&2
      exit 1
    }
  fi
  [[ -f $image ]] || { echo "$test: no image at $image" >&2; exit 1; }
  qemu_pids=()
  failures=0
  trap pvh_cleanup EXIT
  trap 'exit 130' INT TERM HUP
}

pvh_cleanup() {
  local pid
  for pid in "${qemu_pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "${qemu_pids[@]}"; do wait "$pid" 2>/dev/null; done
  if declare -F pvh_extra_cleanup >/dev/null; then pvh_extra_cleanup; fi
}

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# pvh_boot LOG MACHINE CPU ARGS...: boots $image in QEMU in the background (its
# PID kept for cleanup) with ARGS as the kernel command line, waits at most
# 60 s, leaves the output in LOG and sets $status to QEMU's exit status.
pvh_boot() {
  local log=$1 machine=$2 cpu=$3
  shift 3
  qemu-system-x86_64 -M "$machine" -cpu "$cpu" -m 64 -nographic -no-reboot -nodefaults -serial stdio \
    -device isa-debug-exit -kernel "$image" -append "$*" </dev/null >"$log" 2>&1 &
  local pid=$!
  qemu_pids+=("$pid")
  local waited=0
  while kill -0 "$pid" 2>/dev/null && ((waited < 600)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    fail "$log: QEMU still running after 60 s; killed"
  fi
  wait "$pid"
  status=$?
}
