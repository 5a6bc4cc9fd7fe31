#pragma once

// PCI through configuration mechanism #1 (ports 0xcf8/0xcfc): enumeration,
// BARs, the capability list and MSI-X, as virtio-pci needs them. Firmware
// (SeaBIOS on -M pc) has assigned the BARs and interrupt lines already.

#include <cstdint>
#include <optional>
#include <vector>

#include "morgana/core/format.h"
#include "morgana/core/result.h"
#include "morgana/platform/pvh/registers.h"

namespace morgana::pvh::pci {

struct Address {
  std::uint8_t bus = 0, device = 0, function = 0;
  void format(FormatSink& sink) const; // "00:03.0"
};

struct Function {
  Address address;
  std::uint16_t vendor_id = 0, device_id = 0;
};

// PCI Local Bus 3.0, 6.1: configuration space header offsets.
inline constexpr std::uint8_t config_command = 0x04, config_status = 0x06, config_header_type = 0x0e,
                              config_bar0 = 0x10, config_capabilities = 0x34, config_interrupt_line = 0x3c,
                              config_interrupt_pin = 0x3d;

[[nodiscard]] std::uint32_t read32(Address address, std::uint8_t offset);
[[nodiscard]] std::uint16_t read16(Address address, std::uint8_t offset);
[[nodiscard]] std::uint8_t read8(Address address, std::uint8_t offset);
void write32(Address address, std::uint8_t offset, std::uint32_t value);
void write16(Address address, std::uint8_t offset, std::uint16_t value);

// Whether a host bridge answers mechanism #1 (not on microvm).
[[nodiscard]] bool present();

// Every function on every bus (a brute-force scan: 256 buses of 32 devices).
[[nodiscard]] std::vector<Function> enumerate();

// A BAR's registers (6.2.5.1), or nullopt when unassigned or, for memory,
// beyond the 4 GiB that paging maps outside RAM.
[[nodiscard]] std::optional<Registers> bar(Address address, std::uint8_t index);

// The offset of the first capability with `id` after the one at `after` (0:
// from the start of the list, 6.7); 0 when there is none.
[[nodiscard]] std::uint8_t find_capability(Address address, std::uint8_t id, std::uint8_t after = 0);

// Turns on I/O and memory decoding and bus mastering (DMA).
void enable(Address address);

// 6.8.2: points MSI-X table entry 0 at `vector` on local APIC `apic_id`, masks
// the other entries, enables MSI-X and disables INTx. Fails when the function
// has no MSI-X capability or its table is unreachable.
[[nodiscard]] Result<void> enable_msix(Address address, std::uint8_t vector, std::uint8_t apic_id);

} // namespace morgana::pvh::pci
