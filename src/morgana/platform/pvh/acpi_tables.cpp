#include "morgana/platform/pvh/acpi_tables.h"

#include <algorithm>

namespace morgana::pvh::acpi {
namespace {

// ACPI 6.5, 5.2.6: the System Description Table Header.
constexpr std::size_t header_size = 36;
constexpr std::size_t max_table_size = 1 << 20;
// 5.2.5.3: the RSDP; its first 20 bytes carry the ACPI 1.0 checksum.
constexpr std::string_view rsdp_signature = "RSD PTR ";
constexpr std::size_t rsdp_v1_size = 20, rsdp_v2_size = 36;
// 5.2.5.1: the BIOS read-only area holds the RSDP on a 16-byte boundary. (The
// EBDA, the other place, is found through a pointer in the unmapped null page.)
constexpr std::uint64_t bios_area_start = 0xe0000, bios_area_end = 0x100000;
// 5.2.9: FADT fields.
constexpr std::size_t fadt_dsdt = 40, fadt_x_dsdt = 140;
// 6.4.3.4 and 6.4.3.6: large resource descriptor tags.
constexpr std::uint8_t memory32_fixed_tag = 0x86, extended_interrupt_tag = 0x89;
constexpr std::uint16_t memory32_fixed_length = 9;
constexpr std::size_t memory32_fixed_size = 12;
// 5.2.12: MADT entries after the 44-byte table start.
constexpr std::size_t madt_entries = 44;
constexpr std::uint8_t madt_io_apic = 1, madt_interrupt_source_override = 2;
// 5.2.12.5, table 5.26: MPS INTI flags, polarity in bits 1:0.
constexpr std::uint16_t inti_polarity_mask = 0x3, inti_active_low = 0x3;

} // namespace

std::optional<std::uint8_t> u8(Bytes table, std::size_t offset) {
  if (offset >= table.size()) return std::nullopt;
  return std::to_integer<std::uint8_t>(table[offset]);
}

std::optional<std::uint16_t> le16(Bytes table, std::size_t offset) {
  if (offset > table.size() || table.size() - offset < 2) return std::nullopt;
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(table[offset]) |
                                    std::to_integer<unsigned>(table[offset + 1]) << 8);
}

std::optional<std::uint32_t> le32(Bytes table, std::size_t offset) {
  auto low = le16(table, offset), high = le16(table, offset + 2);
  if (!low || !high) return std::nullopt;
  return std::uint32_t{*low} | std::uint32_t{*high} << 16;
}

std::optional<std::uint64_t> le64(Bytes table, std::size_t offset) {
  auto low = le32(table, offset), high = le32(table, offset + 4);
  if (!low || !high) return std::nullopt;
  return std::uint64_t{*low} | std::uint64_t{*high} << 32;
}

bool checksum_ok(Bytes bytes) {
  std::uint8_t sum = 0;
  for (auto b : bytes) sum = static_cast<std::uint8_t>(sum + std::to_integer<std::uint8_t>(b));
  return sum == 0;
}

Tables Tables::locate(const Memory& memory, std::uint64_t rsdp_address) {
  Tables tables(memory);
  if (tables.is_rsdp(rsdp_address)) {
    tables.m_rsdp = rsdp_address;
    return tables;
  }
  for (auto address = bios_area_start; address < bios_area_end; address += 16) {
    if (tables.is_rsdp(address)) {
      tables.m_rsdp = address;
      break;
    }
  }
  return tables;
}

bool Tables::is_rsdp(std::uint64_t address) const {
  if (address == 0) return false;
  auto bytes = m_memory->read(address, rsdp_v1_size);
  return bytes.size() == rsdp_v1_size && as_string(bytes.first(rsdp_signature.size())) == rsdp_signature &&
         checksum_ok(bytes);
}

// A table at `address`, checksum verified; empty when absent or corrupt.
Bytes Tables::table_at(std::uint64_t address) const {
  if (address == 0) return {};
  auto header = m_memory->read(address, header_size);
  if (header.size() != header_size) return {};
  auto length = le32(header, 4).value_or(0);
  if (length < header_size || length > max_table_size) return {};
  auto table = m_memory->read(address, length);
  return table.size() == length && checksum_ok(table) ? table : Bytes{};
}

// The XSDT when the RSDP is version 2 and has one (5.2.8), else the RSDT (5.2.7).
Bytes Tables::root_table(std::size_t& entry_size) const {
  if (m_rsdp == 0) return {};
  auto rsdp = m_memory->read(m_rsdp, rsdp_v1_size);
  if (rsdp.size() != rsdp_v1_size) return {};
  // Revision 2 on: 36 bytes, the extended checksum covering them all.
  if (u8(rsdp, 15).value_or(0) >= 2) {
    auto extended = m_memory->read(m_rsdp, rsdp_v2_size);
    if (extended.size() == rsdp_v2_size && checksum_ok(extended)) {
      if (auto xsdt = table_at(le64(extended, 24).value_or(0)); !xsdt.empty()) {
        entry_size = 8;
        return xsdt;
      }
    }
  }
  entry_size = 4;
  return table_at(le32(rsdp, 16).value_or(0));
}

Bytes Tables::find_table(std::string_view signature) const {
  if (signature == "DSDT") {
    // 5.2.9: X_DSDT when the FADT is long enough and sets it, else DSDT.
    auto fadt = find_table("FACP");
    auto address = le64(fadt, fadt_x_dsdt).value_or(0);
    if (address == 0) address = le32(fadt, fadt_dsdt).value_or(0);
    return table_at(address);
  }
  std::size_t entry_size = 0;
  auto root = root_table(entry_size);
  for (std::size_t offset = header_size; offset + entry_size <= root.size(); offset += entry_size) {
    auto address = entry_size == 8 ? le64(root, offset).value_or(0) : le32(root, offset).value_or(0);
    auto table = table_at(address);
    if (!table.empty() && as_string(table.first(4)) == signature) return table;
  }
  return {};
}

std::optional<std::uint32_t> Tables::memory_resource_interrupt(std::uint64_t base) const {
  auto dsdt = find_table("DSDT");
  for (std::size_t i = header_size; i + memory32_fixed_size < dsdt.size(); ++i) {
    if (u8(dsdt, i) != memory32_fixed_tag || le16(dsdt, i + 1) != memory32_fixed_length) continue;
    if (le32(dsdt, i + 4) != base) continue;
    auto next = i + memory32_fixed_size;
    auto length = le16(dsdt, next + 1).value_or(0);
    auto count = u8(dsdt, next + 4).value_or(0);
    // Flags and table length take two bytes, then one 32-bit number per interrupt.
    if (u8(dsdt, next) != extended_interrupt_tag || count == 0 || length < 6) return std::nullopt;
    return le32(dsdt, next + 5);
  }
  return std::nullopt;
}

Madt Madt::parse(Bytes table) {
  Madt madt;
  for (std::size_t offset = madt_entries; offset + 2 <= table.size();) {
    auto type = u8(table, offset).value_or(0);
    auto length = u8(table, offset + 1).value_or(0);
    if (length < 2) break;
    auto entry = table.subspan(offset, std::min<std::size_t>(length, table.size() - offset));
    if (type == madt_io_apic && madt.io_apic_count < max_io_apics) {
      auto address = le32(entry, 4), gsi_base = le32(entry, 8);
      if (address && gsi_base) madt.io_apics[madt.io_apic_count++] = {*address, *gsi_base};
    } else if (type == madt_interrupt_source_override && madt.override_count < max_overrides) {
      auto irq = u8(entry, 3);
      auto gsi = le32(entry, 4);
      auto flags = le16(entry, 8);
      if (irq && gsi && flags)
        madt.overrides[madt.override_count++] = {*irq, *gsi, (*flags & inti_polarity_mask) == inti_active_low};
    }
    offset += length;
  }
  return madt;
}

} // namespace morgana::pvh::acpi
