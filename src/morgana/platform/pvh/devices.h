#pragma once

// The devices a pvh image drives: virtio network (and entropy) devices on PCI
// and MMIO, or on Xen its netfronts, found once at start. Their interrupts all arrive on one vector
// whose only job is to wake the halted CPU; platform::yield asks here before
// halting whether a device already has work, and how long it may halt.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "morgana/platform/pvh/virtio_net.h"
#include "morgana/platform/pvh/virtio_rng.h"

namespace morgana::pvh::devices {

// Finds and starts the devices; logs each, and each that fails to start.
// `mmio_arguments` are the command line's virtio_mmio.device= words.
void start(std::span<const std::string_view> mmio_arguments, std::uint64_t rsdp_address);

[[nodiscard]] std::size_t net_count();
[[nodiscard]] NetDevice& net(std::size_t index);
// The first entropy device, or null.
[[nodiscard]] VirtioRng* rng();

// Before halting: acknowledges device interrupts and returns whether input
// waits already (then the CPU must not halt).
[[nodiscard]] bool work_pending();

// Whether a device cannot interrupt, so that halts must end after
// `poll_interval_ns` to poll it.
[[nodiscard]] bool needs_polling();
inline constexpr std::int64_t poll_interval_ns = 1'000'000;

} // namespace morgana::pvh::devices
