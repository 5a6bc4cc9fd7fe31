# shellcheck shell=dash
# Functions for the per-run dom0 script (/xen/run.sh sources this file, installed
# as /etc/xen-harness.sh). Each guest runs under `xl create -F`, whose output (the
# "Domain N has shut down, reason code R" line included) goes to
# /results/xl-NAME.log, which the harness reads back.

# guest_start NAME CONFIG [SECONDS]: creates the domain; fails when xl gives up or
# the domain does not exist within SECONDS (default 120).
guest_start() {
  xl create -F "$2" >"/results/xl-$1.log" 2>&1 &
  echo $! >"/tmp/xl-$1.pid"
  waited=0
  until xl domid "$1" >/dev/null 2>&1; do
    if ! kill -0 "$(cat "/tmp/xl-$1.pid")" 2>/dev/null; then
      echo "guest_start: xl create of $1 failed"
      return 1
    fi
    [ "$waited" -lt "${3:-120}" ] || { echo "guest_start: no domain $1 after $waited s"; return 1; }
    sleep 1
    waited=$((waited + 1))
  done
  echo "guest_start: $1 is domain $(xl domid "$1")"
  # The guest's console, live on dom0's (COM1), for whoever watches a run.
  tail -n +1 -F "/var/log/xen/console/guest-$1.log" 2>/dev/null |
    while IFS= read -r line; do echo "[$1] $line"; done >/dev/console &
}

# guest_wait NAME [SECONDS]: waits until the domain has ended (its xl exited); fails
# after SECONDS (default 120).
guest_wait() {
  waited=0
  while kill -0 "$(cat "/tmp/xl-$1.pid")" 2>/dev/null; do
    [ "$waited" -lt "${2:-120}" ] || { echo "guest_wait: $1 still running after $waited s"; return 1; }
    sleep 1
    waited=$((waited + 1))
  done
  echo "guest_wait: $1 ended"
}

# guest_console NAME PATTERN [SECONDS]: waits until the guest's console log matches
# the extended regular expression PATTERN.
guest_console() {
  waited=0
  until grep -Eq "$2" "/var/log/xen/console/guest-$1.log" 2>/dev/null; do
    [ "$waited" -lt "${3:-120}" ] || { echo "guest_console: $1 did not print /$2/ in $waited s"; return 1; }
    sleep 1
    waited=$((waited + 1))
  done
}

# guest_address NAME [SECONDS]: prints the IPv4 address dnsmasq leased to the guest's
# first vif (whose MAC xenstore has once libxl added the device, after the domain
# exists).
guest_address() {
  waited=0
  until domid=$(xl domid "$1" 2>/dev/null) &&
    mac=$(xenstore-read "/local/domain/0/backend/vif/$domid/0/mac" 2>/dev/null) &&
    address=$(awk -v mac="$mac" '$2 == mac {print $3}' /var/lib/misc/dnsmasq.leases 2>/dev/null) &&
    [ -n "$address" ]; do
    [ "$waited" -lt "${2:-120}" ] || { echo "guest_address: no lease for $1 (MAC ${mac:-unknown}) after $waited s" >&2; return 1; }
    sleep 1
    waited=$((waited + 1))
  done
  echo "$address"
}

# guest_forward NAME PORT [ADDRESS]: relays dom0's TCP PORT (where QEMU forwards a host
# port when the run has forwards) to the same port of the guest, at ADDRESS or the
# address it leased, in the background once the address is known. socat logs each
# connection to /results/forward-NAME-PORT.log ("exiting with status 0" when one ends).
guest_forward() {
  (
    address=${3:-$(guest_address "$1" 600)} || exit 1
    exec socat -d -d TCP-LISTEN:"$2",fork,reuseaddr "TCP:$address:$2"
  ) 2>"/results/forward-$1-$2.log" &
}
