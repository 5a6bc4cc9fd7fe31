# Shared by the tests/system/pvh_*_test.sh scripts; source it after `cd` to the
# repository root, then call pvh_setup.

# pvh_setup TEST APP [IMAGE]: sets $image (IMAGE, or build/pvh/APP.elf built
# first with preset pvh) and $log_dir (build/system-tests/TEST, created);
# installs a cleanup that kills every QEMU whose PID is in $qemu_pids and then
# runs the function pvh_extra_cleanup if the script defines one.
pvh_setup() {
  local test=$1 app=$2
  image=${3:-}
  if [[ -z $image ]]; then
    image=build/pvh/$app.elf
    if [[ ! -f build/pvh/CMakeCache.txt ]]; then
      cmake --preset pvh >/dev/null || { echo "$test: cmake --preset pvh failed" >&2; exit 1; }
    fi
    cmake --build build/pvh --target "$app" >/dev/null || { echo "$test: building $app failed" >&2; exit 1; }
  fi
  [[ -f $image ]] || { echo "$test: no image at $image" >&2; exit 1; }
  log_dir=build/system-tests/$test
  mkdir -p "$log_dir"
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
