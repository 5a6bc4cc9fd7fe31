#include "morgana/platform/pvh/ioapic.h"

#include "morgana/platform/pvh/acpi.h"
#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh::ioapic {
namespace {

// 82093AA I/O APIC datasheet, 3.0: an index register and a data window.
constexpr std::uintptr_t ioregsel = 0x00, iowin = 0x10;
constexpr std::uint32_t ioapicver = 0x01, ioredtbl = 0x10;
constexpr std::uint32_t redirection_masked = 1u << 16, redirection_active_low = 1u << 13;
constexpr std::uint64_t default_address = 0xfec00000;

constexpr std::size_t max_io_apics = acpi::Madt::max_io_apics;

struct IoApic {
  std::uint64_t address;
  std::uint32_t gsi_base;
  std::uint32_t pins;
};
using Override = acpi::Madt::InterruptOverride;
struct State {
  bool initialised = false;
  IoApic io_apics[max_io_apics] = {};
  std::size_t io_apic_count = 0;
  acpi::Madt madt;
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

const Override* override_for_gsi(std::uint32_t gsi) {
  for (const auto& source_override : g_state.madt.override_list())
    if (source_override.gsi == gsi) return &source_override;
  return nullptr;
}

} // namespace

void init() {
  if (g_state.initialised) return;
  g_state.initialised = true;
  g_state.madt = acpi::Madt::parse(acpi::find_table("APIC"));
  for (const auto& io_apic : g_state.madt.io_apic_list()) add_io_apic(io_apic.address, io_apic.gsi_base);
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
  for (const auto& source_override : g_state.madt.override_list())
    if (source_override.irq == irq) return source_override.gsi;
  return irq;
}

} // namespace morgana::pvh::ioapic
