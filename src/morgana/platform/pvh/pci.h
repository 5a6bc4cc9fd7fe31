#pragma once

// PCI as virtio-pci needs it: enumeration, BARs, the capability list and
// MSI-X, over a configuration space that the image reaches through mechanism
// #1 (ports 0xcf8/0xcfc, port_config_space()) and host tests fake. Firmware
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

// Every function's configuration space (6.1).
class ConfigSpace {
public:
  ConfigSpace() = default;
  ConfigSpace(const ConfigSpace&) = delete;
  ConfigSpace& operator=(const ConfigSpace&) = delete;
  virtual ~ConfigSpace() = default;

  // Whether a host bridge answers at all (mechanism #1 is absent on microvm).
  [[nodiscard]] virtual bool present() = 0;
  // The aligned dword holding `offset`; all ones where no function answers.
  [[nodiscard]] virtual std::uint32_t read32(Address address, std::uint8_t offset) = 0;
  virtual void write32(Address address, std::uint8_t offset, std::uint32_t value) = 0;
  // Writes only the word at `offset` (a multiple of 2), leaving the rest of the dword.
  virtual void write16(Address address, std::uint8_t offset, std::uint16_t value) = 0;

  [[nodiscard]] std::uint16_t read16(Address address, std::uint8_t offset) {
    return static_cast<std::uint16_t>(read32(address, offset) >> ((offset & 2) * 8));
  }
  [[nodiscard]] std::uint8_t read8(Address address, std::uint8_t offset) {
    return static_cast<std::uint8_t>(read32(address, offset) >> ((offset & 3) * 8));
  }
};

// The machine's configuration space, through mechanism #1 (3.2.2.3.2).
[[nodiscard]] ConfigSpace& port_config_space();

// Every function on every bus (a brute-force scan: 256 buses of 32 devices).
[[nodiscard]] std::vector<Function> enumerate(ConfigSpace& config);

// A BAR as its registers encode it (6.2.5.1).
struct BarInfo {
  bool io = false;
  bool wide = false;      // a 64-bit memory BAR, spanning this index and the next
  std::uint64_t base = 0; // the port or the memory address
};

// The BAR at `index`, or nullopt when there is no such BAR or it is unassigned (base 0).
[[nodiscard]] std::optional<BarInfo> decode_bar(ConfigSpace& config, Address address, std::uint8_t index);

// A BAR's registers, or nullopt when unassigned or, for memory, beyond the
// 4 GiB that paging maps outside RAM.
[[nodiscard]] std::optional<Registers> bar(ConfigSpace& config, Address address, std::uint8_t index);

// The offset of the first capability with `id` after the one at `after` (0:
// from the start of the list, 6.7); 0 when there is none.
[[nodiscard]] std::uint8_t find_capability(ConfigSpace& config, Address address, std::uint8_t id,
                                           std::uint8_t after = 0);

// Turns on I/O and memory decoding and bus mastering (DMA).
void enable(ConfigSpace& config, Address address);

// 6.8.2: points MSI-X table entry 0 at `vector` on local APIC `apic_id`, masks
// the other entries, enables MSI-X and disables INTx. Fails when the function
// has no MSI-X capability or its table is unreachable.
[[nodiscard]] Result<void> enable_msix(ConfigSpace& config, Address address, std::uint8_t vector, std::uint8_t apic_id);

} // namespace morgana::pvh::pci
