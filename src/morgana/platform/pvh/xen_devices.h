#pragma once

// The paravirtual devices of a PVH guest on Xen: the grant table mapped into
// the image, the xenstore connection, and a netfront for each vif the
// toolstack configured (device/vif/N). The hypercalls reach the devices'
// logic through an adapter over xen_hypervisor.h.

#include <memory>
#include <vector>

#include "morgana/platform/pvh/net_device.h"

namespace morgana::pvh::xen {

// Needs xen::present(). Connects every vif (each within a deadline), logs each
// and each that fails, and returns the connected ones. Interrupts stay off:
// waits halt until Xen's event callback or the APIC timer.
[[nodiscard]] std::vector<std::unique_ptr<NetDevice>> start_net_devices();

} // namespace morgana::pvh::xen
