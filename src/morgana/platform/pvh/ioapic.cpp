#include "morgana/platform/pvh/ioapic.h"

#include <algorithm>

#include "morgana/platform/pvh/acpi.h"
#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh::ioapic {
namespace {

// 82093AA I/O APIC datasheet, 3.0: an index register and a data window.
constexpr std::uintptr_t ioregsel = 0x00, iowin = 0x10;
constexpr std::uint32_t ioapicver = 0x01, ioredtbl = 0x10;
constexpr std::uint32_t redirection_masked = 1u << 16, redirection_active_low = 1u << 13;
constexpr std::uint64_t default_address = 0xfec00000;

// ACPI 6.5, 5.2.12: MADT entries after the 44-byte table start.
constexpr std::size_t madt_entries = 44;
constexpr std::uint8_t madt_io_apic = 1, madt_interrupt_source_override = 2;
// 5.2.12.5, table 5.26: MPS INTI flags, polarity in bits 1:0.
constexpr std::uint16_t inti_polarity_mask = 0x3, inti_active_low = 0x3;

constexpr std::size_t max_io_apics = 8, max_overrides = 16;

struct IoApic {
  std::uint64_t address;
  std::uint32_t gsi_base;
  std::uint32_t pins;
};
struct Override {
  std::uint8_t irq;
  std::uint32_t gsi;
  bool active_low;
};
struct State {
  bool initialised = false;
  IoApic io_apics[max_io_apics] = {};
  std::size_t io_apic_count = 0;
  Override overrides[max_overrides] = {};
  std::size_t override_count = 0;
};
constinit State g_state{};

std::uint32_t read(const IoApic& io_apic, std::uint32_t reg) {
  *x86::physical<volatile std::uint32_t>(io_apic.address + ioregsel) = reg;
  return *x86::physical<volatile std::uint32_t>(io_apic.address + iowin);
}

void write(const IoApic& io_apic, std::uint32_t reg, std::uint32_t value) {
  *x86::physical<volatile std::uint32_t>(io_apic.address + ioregsel) = reg;
  *x86::physical<volatile std::uint32_t>(io_apic.address + iowin) = value;
}

void add_io_apic(std::uint64_t address, std::uint32_t gsi_base) {
  if (g_state.io_apic_count == max_io_apics || address == 0 || address >= (std::uint64_t{4} << 30)) return;
  IoApic io_apic{address, gsi_base, 0};
  auto version = read(io_apic, ioapicver);
  if (version == 0xffffffff) return; // nothing answers there
  io_apic.pins = ((version >> 16) & 0xff) + 1;
  g_state.io_apics[g_state.io_apic_count++] = io_apic;
}

void read_madt(Bytes madt) {
  for (std::size_t offset = madt_entries; offset + 2 <= madt.size();) {
    auto type = acpi::u8(madt, offset).value_or(0);
    auto length = acpi::u8(madt, offset + 1).value_or(0);
    if (length < 2) return;
    auto entry = madt.subspan(offset, std::min<std::size_t>(length, madt.size() - offset));
    if (type == madt_io_apic) {
      auto address = acpi::le32(entry, 4), gsi_base = acpi::le32(entry, 8);
      if (address && gsi_base) add_io_apic(*address, *gsi_base);
    } else if (type == madt_interrupt_source_override && g_state.override_count < max_overrides) {
      auto irq = acpi::u8(entry, 3);
      auto gsi = acpi::le32(entry, 4);
      auto flags = acpi::le16(entry, 8);
      if (irq && gsi && flags)
        g_state.overrides[g_state.override_count++] = {*irq, *gsi, (*flags & inti_polarity_mask) == inti_active_low};
    }
    offset += length;
  }
}

const Override* override_for_gsi(std::uint32_t gsi) {
  for (std::size_t i = 0; i < g_state.override_count; ++i)
    if (g_state.overrides[i].gsi == gsi) return &g_state.overrides[i];
  return nullptr;
}

} // namespace

void init() {
  if (g_state.initialised) return;
  g_state.initialised = true;
  read_madt(acpi::find_table("APIC"));
  if (g_state.io_apic_count == 0) add_io_apic(default_address, 0);
}

Result<void> route(std::uint32_t gsi, std::uint8_t vector, std::uint8_t apic_id) {
  for (std::size_t i = 0; i < g_state.io_apic_count; ++i) {
    const auto& io_apic = g_state.io_apics[i];
    if (gsi < io_apic.gsi_base || gsi - io_apic.gsi_base >= io_apic.pins) continue;
    auto pin = gsi - io_apic.gsi_base;
    const auto* source_override = override_for_gsi(gsi);
    // 82093AA, 3.2.4: fixed delivery, physical destination, edge-triggered.
    std::uint32_t low = vector;
    if (source_override && source_override->active_low) low |= redirection_active_low;
    write(io_apic, ioredtbl + 2 * pin, redirection_masked);
    write(io_apic, ioredtbl + 2 * pin + 1, std::uint32_t{apic_id} << 24);
    write(io_apic, ioredtbl + 2 * pin, low);
    return {};
  }
  return fail(Errc::not_found, "no I/O APIC serves this interrupt");
}

std::uint32_t gsi_for_isa_irq(std::uint8_t irq) {
  for (std::size_t i = 0; i < g_state.override_count; ++i)
    if (g_state.overrides[i].irq == irq) return g_state.overrides[i].gsi;
  return irq;
}

} // namespace morgana::pvh::ioapic
