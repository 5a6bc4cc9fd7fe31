#include "morgana/platform/pvh/virtio_pci.h"

namespace morgana::pvh::virtio {
namespace {

constexpr std::uint16_t pci_vendor = 0x1af4;
constexpr std::uint16_t pci_transitional_first = 0x1000, pci_transitional_last = 0x103f, pci_modern_base = 0x1040;
constexpr std::uint8_t pci_subsystem_id = 0x2e;

// 4.1.4: struct virtio_pci_cap, and cfg_type values.
constexpr std::uint8_t capability_vendor = 0x09;
constexpr std::uint8_t cap_cfg_type = 3, cap_bar = 4, cap_offset = 8, cap_length = 12, cap_notify_off_multiplier = 16;
constexpr std::size_t common_cfg_size = 0x38; // through queue_device
constexpr std::uint8_t pci_cap_common_cfg = 1, pci_cap_notify_cfg = 2, pci_cap_isr_cfg = 3, pci_cap_device_cfg = 4;

std::uint8_t at(std::uint8_t capability, std::uint8_t field) { return static_cast<std::uint8_t>(capability + field); }

} // namespace

std::optional<std::uint32_t> pci_device_type(pci::ConfigSpace& config, const pci::Function& function) {
  if (function.vendor_id != pci_vendor) return std::nullopt;
  if (function.device_id >= pci_transitional_first && function.device_id <= pci_transitional_last)
    return config.read16(function.address, pci_subsystem_id);
  if (function.device_id > pci_modern_base && function.device_id <= pci_modern_base + 0x3f)
    return function.device_id - pci_modern_base;
  return std::nullopt;
}

std::optional<PciLayout> find_pci_layout(pci::ConfigSpace& config, pci::Address address) {
  PciLayout layout;
  for (auto cap = pci::find_capability(config, address, capability_vendor); cap;
       cap = pci::find_capability(config, address, capability_vendor, cap)) {
    auto type = config.read8(address, at(cap, cap_cfg_type));
    auto bar = pci::bar(config, address, config.read8(address, at(cap, cap_bar)));
    if (!bar) continue;
    auto registers = bar->at(config.read32(address, at(cap, cap_offset)));
    Registers* slot = type == pci_cap_common_cfg   ? &layout.common
                      : type == pci_cap_notify_cfg ? &layout.notify
                      : type == pci_cap_isr_cfg    ? &layout.isr
                      : type == pci_cap_device_cfg ? &layout.device
                                                   : nullptr;
    if (!slot || slot->valid()) continue;
    auto length = config.read32(address, at(cap, cap_length));
    if (type == pci_cap_common_cfg && length < common_cfg_size) continue;
    *slot = registers;
    if (type == pci_cap_notify_cfg)
      layout.notify_off_multiplier = config.read32(address, at(cap, cap_notify_off_multiplier));
  }
  if (!layout.common.valid() || !layout.notify.valid() || !layout.isr.valid()) return std::nullopt;
  return layout;
}

} // namespace morgana::pvh::virtio
