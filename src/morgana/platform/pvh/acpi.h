#pragma once

// The image's ACPI tables, read in place (firmware keeps them in reserved
// memory below 4 GiB): the MADT for the I/O APICs and the DSDT for the
// interrupt lines of virtio-mmio devices on microvm, which QEMU lists only
// there when ACPI is on. Without ACPI (microvm with acpi=off) every lookup
// comes back empty. The parsing is in acpi_tables.h.

#include <cstdint>
#include <optional>
#include <string_view>

#include "morgana/core/bytes.h"
#include "morgana/platform/pvh/acpi_tables.h"

namespace morgana::pvh::acpi {

// Finds the RSDP at `rsdp_address` (the PVH loader's hint), else by scanning
// the BIOS area (ACPI 6.5, 5.2.5.1). Idempotent.
void init(std::uint64_t rsdp_address);

// Tables::find_table and Tables::memory_resource_interrupt on the image's tables.
[[nodiscard]] Bytes find_table(std::string_view signature);
[[nodiscard]] std::optional<std::uint32_t> memory_resource_interrupt(std::uint64_t base);

} // namespace morgana::pvh::acpi
