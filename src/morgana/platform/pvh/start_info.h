#pragma once

// What the PVH loader tells the image: the command line and the physical
// memory map (xen/include/public/arch-x86/hvm/start_info.h, version 1). Both
// are copied out of loader memory at boot, before that memory is reused.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace morgana::pvh {

struct MemoryRegion {
  std::uint64_t address;
  std::uint64_t size;
  std::uint32_t type; // 1 = RAM, 2 = reserved, 3 = ACPI, 4 = NVS, 5 = unusable

  [[nodiscard]] std::uint64_t end() const { return address + size; }
  [[nodiscard]] bool is_ram() const { return type == ram; }
  static constexpr std::uint32_t ram = 1;
};

struct StartInfo {
  std::span<char> command_line; // the copy: the boot arguments are split in place
  std::span<const MemoryRegion> memory_map;
  std::uint64_t rsdp_address;
};

// Reads and copies the loader's hvm_start_info at `address`; stops the image
// when its magic number is wrong (not started by a PVH loader).
StartInfo read_start_info(std::uint64_t address);

} // namespace morgana::pvh
