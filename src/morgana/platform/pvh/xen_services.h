#pragma once

// What the Xen devices (xenstore client, netfront) need from the hypervisor
// and the clock, as an interface: in the image an adapter over the
// hypercalls (xen_hypervisor.h); in unit tests a simulated Xen whose back
// ends run when the device waits.

#include <cstdint>

#include "morgana/core/result.h"

namespace morgana::pvh::xen {

class Services {
public:
  virtual ~Services() = default;

  // EVTCHNOP_send on one of our bound ports.
  [[nodiscard]] virtual Result<void> notify(std::uint32_t port) = 0;
  // EVTCHNOP_alloc_unbound: a port of ours that `remote_domain` may bind to.
  [[nodiscard]] virtual Result<std::uint32_t> alloc_unbound(std::uint16_t remote_domain) = 0;
  // Lets the port's events through to the guest.
  virtual void unmask(std::uint32_t port) = 0;
  // Tests and clears the port's pending event.
  [[nodiscard]] virtual bool take_pending(std::uint32_t port) = 0;
  // The guest frame number of the page holding `address`.
  [[nodiscard]] virtual std::uint64_t gfn(const void* address) const = 0;

  [[nodiscard]] virtual std::int64_t now_ns() = 0;
  // Returns when an event may have arrived on `port`, or at `deadline_ns`
  // (or sooner: callers check their ring and their deadline again).
  virtual void wait(std::uint32_t port, std::int64_t deadline_ns) = 0;
};

} // namespace morgana::pvh::xen
