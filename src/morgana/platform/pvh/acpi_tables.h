#pragma once

// ACPI tables (ACPI 6.5, chapter 5) read in place through a small view of
// physical memory: the RSDP, the RSDT or XSDT, any table by signature with its
// checksum verified, the MADT's I/O APICs and interrupt source overrides, and
// the interrupt lines QEMU lists for virtio-mmio devices in the DSDT. No
// hardware access of its own, so that host tests run it over byte arrays.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "morgana/core/bytes.h"

namespace morgana::pvh::acpi {

// Physical memory as the tables are found in it.
class Memory {
public:
  Memory() = default;
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
  virtual ~Memory() = default;

  // The `size` bytes at physical `address`; empty when they cannot be read.
  [[nodiscard]] virtual Bytes read(std::uint64_t address, std::size_t size) const = 0;
};

// Little-endian reads within a table; nullopt past its end.
[[nodiscard]] std::optional<std::uint16_t> le16(Bytes table, std::size_t offset);
[[nodiscard]] std::optional<std::uint32_t> le32(Bytes table, std::size_t offset);
[[nodiscard]] std::optional<std::uint64_t> le64(Bytes table, std::size_t offset);
[[nodiscard]] std::optional<std::uint8_t> u8(Bytes table, std::size_t offset);

// 5.2.5.3 and 5.2.6: every byte of a checksummed structure sums to zero.
[[nodiscard]] bool checksum_ok(Bytes bytes);

class Tables {
public:
  // No RSDP: every lookup comes back empty.
  constexpr explicit Tables(const Memory& memory) : m_memory(&memory) {}

  // Finds the RSDP at `rsdp_address` (the PVH loader's hint), else on a
  // 16-byte boundary in the BIOS area (5.2.5.1).
  [[nodiscard]] static Tables locate(const Memory& memory, std::uint64_t rsdp_address);

  [[nodiscard]] std::uint64_t rsdp() const { return m_rsdp; }

  // The whole table with this signature ("APIC", "FACP", "DSDT"), header
  // included, checksum verified; empty when there is none. The DSDT is found
  // through the FADT (5.2.9), the others through the XSDT when the RSDP is
  // revision 2 and has one (5.2.8), else the RSDT (5.2.7).
  [[nodiscard]] Bytes find_table(std::string_view signature) const;

  // The interrupt of the device whose resources in the DSDT hold a 32-bit
  // fixed memory range starting at `base` followed by an extended interrupt
  // descriptor (6.4.3.4 and 6.4.3.6), as QEMU writes virtio-mmio devices'
  // _CRS. A byte scan, not an AML interpreter.
  [[nodiscard]] std::optional<std::uint32_t> memory_resource_interrupt(std::uint64_t base) const;

private:
  [[nodiscard]] bool is_rsdp(std::uint64_t address) const;
  [[nodiscard]] Bytes table_at(std::uint64_t address) const;
  [[nodiscard]] Bytes root_table(std::size_t& entry_size) const;

  const Memory* m_memory;
  std::uint64_t m_rsdp = 0;
};

// 5.2.12: what the MADT says about interrupt routing. Entries beyond the
// capacity, and entries too short for their fields, are ignored.
struct Madt {
  struct IoApic {
    std::uint64_t address;
    std::uint32_t gsi_base;
  };
  struct InterruptOverride {
    std::uint8_t irq; // the ISA IRQ
    std::uint32_t gsi;
    bool active_low; // 5.2.12.5: MPS INTI polarity
  };
  static constexpr std::size_t max_io_apics = 8, max_overrides = 16;

  IoApic io_apics[max_io_apics] = {};
  std::size_t io_apic_count = 0;
  InterruptOverride overrides[max_overrides] = {};
  std::size_t override_count = 0;

  [[nodiscard]] static Madt parse(Bytes table);
  [[nodiscard]] std::span<const IoApic> io_apic_list() const { return {io_apics, io_apic_count}; }
  [[nodiscard]] std::span<const InterruptOverride> override_list() const { return {overrides, override_count}; }
};

} // namespace morgana::pvh::acpi
