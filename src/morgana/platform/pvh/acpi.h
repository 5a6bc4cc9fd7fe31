#pragma once

// The few ACPI tables device discovery needs, read in place (firmware keeps
// them in reserved memory below 4 GiB): the MADT for the I/O APICs and the
// DSDT for the interrupt lines of virtio-mmio devices on microvm, which QEMU
// lists only there when ACPI is on. Without ACPI (microvm with acpi=off)
// every lookup comes back empty.

#include <cstdint>
#include <optional>
#include <string_view>

#include "morgana/core/bytes.h"

namespace morgana::pvh::acpi {

// Finds the RSDP at `rsdp_address` (the PVH loader's hint), else by scanning
// the EBDA and the BIOS area (ACPI 6.5, 5.2.5.1). Idempotent.
void init(std::uint64_t rsdp_address);

// The whole table with this signature ("APIC", "FACP", "DSDT"), header
// included, checksum verified; empty when there is none.
[[nodiscard]] Bytes find_table(std::string_view signature);

// The interrupt of the device whose resources in the DSDT hold a 32-bit fixed
// memory range starting at `base` followed by an extended interrupt
// descriptor (ACPI 6.5, 6.4.3.4 and 6.4.3.6), as QEMU writes virtio-mmio
// devices' _CRS. A byte scan, not an AML interpreter.
[[nodiscard]] std::optional<std::uint32_t> memory_resource_interrupt(std::uint64_t base);

// Little-endian reads within a table; nullopt past its end.
[[nodiscard]] std::optional<std::uint16_t> le16(Bytes table, std::size_t offset);
[[nodiscard]] std::optional<std::uint32_t> le32(Bytes table, std::size_t offset);
[[nodiscard]] std::optional<std::uint64_t> le64(Bytes table, std::size_t offset);
[[nodiscard]] std::optional<std::uint8_t> u8(Bytes table, std::size_t offset);

} // namespace morgana::pvh::acpi
