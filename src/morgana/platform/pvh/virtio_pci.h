#pragma once

// Virtio over PCI (virtio 1.1, 4.1), the part that only reads configuration
// space: which functions are virtio devices of which type, and where the
// modern interface's structures are. The transports are in virtio.cpp.

#include <cstdint>
#include <optional>

#include "morgana/platform/pvh/pci.h"
#include "morgana/platform/pvh/registers.h"

namespace morgana::pvh::virtio {

// 4.1.2: the device type (5) of a virtio function: a modern ID is 0x1040 +
// type, a transitional one (0x1000..0x103f) has it in the subsystem ID.
// nullopt for other functions.
[[nodiscard]] std::optional<std::uint32_t> pci_device_type(pci::ConfigSpace& config, const pci::Function& function);

// 4.1.4: the modern interface's structures, from the first usable vendor
// capability of each type (4.1.4.1).
struct PciLayout {
  Registers common, notify, isr, device;
  std::uint32_t notify_off_multiplier = 0;
};

// nullopt unless the common, notify and ISR structures are all there (a
// legacy-only device).
[[nodiscard]] std::optional<PciLayout> find_pci_layout(pci::ConfigSpace& config, pci::Address address);

} // namespace morgana::pvh::virtio
