#pragma once

// What the platform asks of a network device, whichever hypervisor provides
// it: virtio-net (QEMU, Firecracker) or netfront (Xen).

#include <cstddef>
#include <cstdint>
#include <span>

#include "morgana/core/format.h"
#include "morgana/core/mac_address.h"
#include "morgana/core/net_offload.h"
#include "morgana/core/result.h"

namespace morgana::pvh {

class NetDevice {
public:
  NetDevice() = default;
  NetDevice(const NetDevice&) = delete;
  NetDevice& operator=(const NetDevice&) = delete;
  virtual ~NetDevice() = default;

  [[nodiscard]] virtual MacAddress mac() const = 0;
  // The IP MTU (without the Ethernet header).
  [[nodiscard]] virtual std::uint16_t mtu() const = 0;
  // The offloads negotiated with the device (within allowed_net_offloads()).
  [[nodiscard]] virtual NetOffloads offloads() const = 0;
  // Whether the device interrupts; otherwise it must be polled.
  [[nodiscard]] virtual bool interrupts() const = 0;

  // Copies one received frame into `frame` and what the device says about it
  // into `offload`; 0 when none waits. A frame longer than `frame` is dropped
  // with Errc::no_space.
  [[nodiscard]] virtual Result<std::size_t> read(std::span<std::byte> frame, FrameOffload& offload) = 0;
  // Queues one frame for transmission; Errc::would_block when every transmit
  // buffer is still with the device, Errc::no_space when it exceeds the MTU
  // (or max_tso_frame with tso4).
  [[nodiscard]] virtual Result<void> write(std::span<const std::byte> frame, const FrameOffload& offload) = 0;
  // Before the CPU halts: acknowledges the device's interrupt or event, hands
  // it the receive buffers refilled since, and returns whether frames wait
  // (then the CPU must not halt).
  [[nodiscard]] virtual bool input_pending() = 0;

  virtual void format(FormatSink& sink) const = 0;
};

} // namespace morgana::pvh
