#include "morgana/platform/pvh/acpi.h"

#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh::acpi {
namespace {

// ACPI 6.5, 5.2.6: the System Description Table Header.
constexpr std::size_t header_size = 36;
constexpr std::size_t max_table_size = 1 << 20;
constexpr std::uint64_t four_gib = std::uint64_t{4} << 30; // what paging maps besides RAM
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

struct State {
  bool initialised = false;
  std::uint64_t rsdp = 0;
};
constinit State g_state{};

Bytes physical_bytes(std::uint64_t address, std::size_t size) {
  if (address == 0 || address >= four_gib || size > four_gib - address) return {};
  return {x86::physical<const std::byte>(address), size};
}

bool checksum_ok(Bytes bytes) {
  std::uint8_t sum = 0;
  for (auto b : bytes) sum = static_cast<std::uint8_t>(sum + std::to_integer<std::uint8_t>(b));
  return sum == 0;
}

bool is_rsdp(std::uint64_t address) {
  auto bytes = physical_bytes(address, rsdp_v1_size);
  return !bytes.empty() && as_string(bytes.first(rsdp_signature.size())) == rsdp_signature && checksum_ok(bytes);
}

// A table at `address`, checksum verified; empty when absent or corrupt.
Bytes table_at(std::uint64_t address) {
  auto header = physical_bytes(address, header_size);
  if (header.empty()) return {};
  auto length = le32(header, 4).value_or(0);
  if (length < header_size || length > max_table_size) return {};
  auto table = physical_bytes(address, length);
  return checksum_ok(table) ? table : Bytes{};
}

// The XSDT when the RSDP is version 2 and has one (5.2.8), else the RSDT (5.2.7).
Bytes root_table(std::size_t& entry_size) {
  auto rsdp = physical_bytes(g_state.rsdp, rsdp_v2_size);
  if (rsdp.empty()) return {};
  // Revision 2 on: the extended checksum covers all 36 bytes.
  if (u8(rsdp, 15).value_or(0) >= 2 && checksum_ok(rsdp)) {
    if (auto xsdt = table_at(le64(rsdp, 24).value_or(0)); !xsdt.empty()) {
      entry_size = 8;
      return xsdt;
    }
  }
  entry_size = 4;
  return table_at(le32(rsdp, 16).value_or(0));
}

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

void init(std::uint64_t rsdp_address) {
  if (g_state.initialised) return;
  g_state.initialised = true;
  if (is_rsdp(rsdp_address)) {
    g_state.rsdp = rsdp_address;
    return;
  }
  for (auto address = bios_area_start; address < bios_area_end; address += 16) {
    if (is_rsdp(address)) {
      g_state.rsdp = address;
      return;
    }
  }
}

Bytes find_table(std::string_view signature) {
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

std::optional<std::uint32_t> memory_resource_interrupt(std::uint64_t base) {
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

} // namespace morgana::pvh::acpi
